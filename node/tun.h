/* SPDX-License-Identifier: MIT */
/*
 * The node's TUN device: a layer-3 interface whose packets the node reads and
 * writes as whole IP packets (IFF_TUN|IFF_NO_PI: no packet-info prefix, no
 * virtio-net header yet). Addresses, MTU and link state are set separately
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

#endif
