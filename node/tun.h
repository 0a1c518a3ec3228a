/* SPDX-License-Identifier: MIT */
/*
 * The node's TUN device: a layer-3 interface whose packets the node reads and
 * writes as whole IP packets (IFF_TUN|IFF_NO_PI: no packet-info prefix), or,
 * opened with cn_tun_open_offload, behind a virtio-net header that lets the
 * kernel hand over and accept 64 KiB TCP/UDP super-packets (node/offload.h
 * splits and builds them). Addresses, MTU and link state are set separately
 * over rtnetlink (node/netlink.h).
 *
 * An I/O shell: opens a device, does not log (the caller logs the one-line
 * reason in the errbuf). Needs CAP_NET_ADMIN; the fd keeps working after the
 * node drops privileges. The device is not persistent: it disappears, with
 * its addresses and routes, when the last fd to it is closed, so a restarted
 * node creates and configures it again.
 */
#ifndef CN_NODE_TUN_H
#define CN_NODE_TUN_H

struct cn_errbuf;

/* Interface name buffer size, the kernel's IFNAMSIZ (15 characters and a NUL). */
enum { CN_TUN_NAME_MAX = 16 };

/*
 * Creates (or attaches to an unused persistent) TUN device named want_name,
 * which may hold a kernel pattern such as "cn%d"; NULL or "" lets the kernel
 * pick "tunN". On success *fd is a non-blocking, close-on-exec descriptor that
 * the caller owns (close it to remove the device) and name holds the actual
 * interface name. Each read(2) returns one IP packet, each write(2) injects
 * one into the local stack.
 * Returns 0, -CN_EINVAL (name too long), -CN_EIO (open or TUNSETIFF failed;
 * errno kept, e.g. EPERM without CAP_NET_ADMIN, EBUSY for a name in use by a
 * device of another kind). *fd is -1 and name "" on error.
 */
int cn_tun_open(const char *want_name, char name[static CN_TUN_NAME_MAX], int *fd,
		struct cn_errbuf *e);

/* What a TUN opened by cn_tun_open_offload hands over and accepts. */
enum cn_tun_offload {
	CN_TUN_OFFLOAD_NONE = 0, /* virtio header on every packet, but no GSO, no partial sums */
	CN_TUN_OFFLOAD_TSO,	 /* TUN_F_CSUM|TSO4|TSO6: TCP super-packets both ways */
	CN_TUN_OFFLOAD_USO,	 /* and TUN_F_USO4|USO6 (Linux >= 6.2): UDP super-packets too */
};

/* "none", "tso", "tso+uso": for the one log line that reports the probe. */
const char *cn_tun_offload_name(enum cn_tun_offload o);

/*
 * As cn_tun_open, but with IFF_VNET_HDR: every read(2) returns, and every
 * write(2) must start with, a 10-byte little-endian struct virtio_net_hdr
 * (TUNSETVNETHDRSZ 10, TUNSETVNETLE). Then asks for offloads, best first:
 * CSUM|TSO4|TSO6|USO4|USO6, else CSUM|TSO4|TSO6, else none (offloads off),
 * and sets *got to what the kernel accepted. Reads then carry super-packets
 * up to 64 KiB (give read(2) CN_VNET_HDR_LEN + 65535 bytes) that
 * cn_offload_segment splits; writes may carry what cn_gro_flush builds (UDP
 * super-packets only with CN_TUN_OFFLOAD_USO).
 * Returns 0 or the errors of cn_tun_open, and -CN_EIO when the kernel refuses
 * IFF_VNET_HDR or the header size (the caller then uses cn_tun_open).
 * On error *fd is -1, name "" and *got CN_TUN_OFFLOAD_NONE.
 */
int cn_tun_open_offload(const char *want_name, char name[static CN_TUN_NAME_MAX], int *fd,
			enum cn_tun_offload *got, struct cn_errbuf *e);

/*
 * Sets the interface's transmit queue length (packets the kernel queues
 * towards the node before dropping: a TUN starts at 500, which a burst of
 * super-packets the node has not read yet overflows) with SIOCSIFTXQLEN.
 * Returns 0, -CN_EINVAL (qlen 0 or over INT_MAX, name too long), -CN_EIO
 * (ioctl failed; errno kept, EPERM without CAP_NET_ADMIN).
 */
int cn_tun_set_txqlen(const char *name, unsigned int qlen, struct cn_errbuf *e);

/* Reads it back (SIOCGIFTXQLEN). Returns 0 or -CN_EIO / -CN_EINVAL as above. */
int cn_tun_get_txqlen(const char *name, unsigned int *qlen, struct cn_errbuf *e);

#endif
