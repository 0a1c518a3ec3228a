/* SPDX-License-Identifier: MIT */
/*
 * TUN device creation (see tun.h). Linux only: /dev/net/tun, the TUNSETIFF
 * ioctl and, for offloads, TUNSETVNETHDRSZ/TUNSETVNETLE/TUNSETOFFLOAD and
 * SIOCSIFTXQLEN. Must not configure addresses (netlink.c does) nor read or
 * write packets (the data plane does).
 */
#include "node/tun.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/err.h"
#include "node/offload.h"

/* Debian 12's uapi headers (Linux 6.1) lack the UDP segmentation offloads of Linux 6.2. */
#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#endif
#ifndef TUN_F_USO6
#define TUN_F_USO6 0x40
#endif

static const char tun_path[] = "/dev/net/tun";

_Static_assert(CN_TUN_NAME_MAX == IFNAMSIZ, "interface name buffer is the kernel's");

static int tun_create(const char *want_name, short flags, char name[static CN_TUN_NAME_MAX],
		      int *fd, struct cn_errbuf *e)
{
	struct ifreq ifr;
	int ret = -CN_EIO;
	int saved;
	int tfd = -1;

	name[0] = '\0';
	*fd = -1;
	if (!want_name)
		want_name = "";
	if (strlen(want_name) >= IFNAMSIZ) {
		cn_errbuf_set(e, "TUN name '%s' is longer than %d characters", want_name,
			      IFNAMSIZ - 1);
		return -CN_EINVAL;
	}

	tfd = open(tun_path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (tfd < 0) {
		saved = errno;
		cn_errbuf_set(e, "open %s: %s%s", tun_path, strerror(saved),
			      saved == ENOENT ? " (is the tun module loaded?)" : "");
		errno = saved;
		goto out;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = flags;
	memcpy(ifr.ifr_name, want_name, strlen(want_name));
	if (ioctl(tfd, TUNSETIFF, &ifr) < 0) {
		saved = errno;
		cn_errbuf_set(e, "create TUN '%s': %s%s", want_name[0] ? want_name : "tun%d",
			      strerror(saved),
			      saved == EPERM   ? " (needs CAP_NET_ADMIN)"
			      : saved == EBUSY ? " (name in use by another device or process)"
					       : "");
		errno = saved;
		goto out;
	}
	ifr.ifr_name[IFNAMSIZ - 1] = '\0';
	memcpy(name, ifr.ifr_name, IFNAMSIZ);
	*fd = tfd;
	tfd = -1;
	ret = 0;
out:
	if (tfd >= 0) {
		saved = errno;
		close(tfd);
		errno = saved;
	}
	return ret;
}

int cn_tun_open(const char *want_name, char name[static CN_TUN_NAME_MAX], int *fd,
		struct cn_errbuf *e)
{
	return tun_create(want_name, IFF_TUN | IFF_NO_PI, name, fd, e);
}

const char *cn_tun_offload_name(enum cn_tun_offload o)
{
	switch (o) {
	case CN_TUN_OFFLOAD_NONE:
		return "none";
	case CN_TUN_OFFLOAD_TSO:
		return "tso";
	case CN_TUN_OFFLOAD_USO:
		return "tso+uso";
	}
	return "?";
}

int cn_tun_open_offload(const char *want_name, char name[static CN_TUN_NAME_MAX], int *fd,
			enum cn_tun_offload *got, struct cn_errbuf *e)
{
	static const unsigned int tries[] = {
		TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_USO4 | TUN_F_USO6,
		TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6,
	};
	static const enum cn_tun_offload levels[] = {CN_TUN_OFFLOAD_USO, CN_TUN_OFFLOAD_TSO};
	int hdrsz = CN_VNET_HDR_LEN, le = 1, tfd = -1, ret, saved;
	size_t i;

	*got = CN_TUN_OFFLOAD_NONE;
	*fd = -1;
	ret = tun_create(want_name, IFF_TUN | IFF_NO_PI | IFF_VNET_HDR, name, &tfd, e);
	if (ret)
		return ret;
	ret = -CN_EIO;
	if (ioctl(tfd, TUNSETVNETHDRSZ, &hdrsz) < 0) {
		saved = errno;
		cn_errbuf_set(e, "TUN %s: virtio header size %d: %s", name, hdrsz, strerror(saved));
		errno = saved;
		goto out;
	}
	/*
	 * offload.c reads the header as little-endian. Legacy virtio headers are
	 * in host order, so only a big-endian host needs this to succeed.
	 */
	if (ioctl(tfd, TUNSETVNETLE, &le) < 0 && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__) {
		saved = errno;
		cn_errbuf_set(e, "TUN %s: little-endian virtio header: %s", name, strerror(saved));
		errno = saved;
		goto out;
	}
	for (i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
		if (ioctl(tfd, TUNSETOFFLOAD, tries[i]) == 0) {
			*got = levels[i];
			break;
		}
	}
	/* Nothing accepted: make sure no offload is left on, headers stay plain. */
	if (i == sizeof(tries) / sizeof(tries[0]) && ioctl(tfd, TUNSETOFFLOAD, 0u) < 0) {
		saved = errno;
		cn_errbuf_set(e, "TUN %s: turning offloads off: %s", name, strerror(saved));
		errno = saved;
		goto out;
	}
	*fd = tfd;
	tfd = -1;
	ret = 0;
out:
	if (tfd >= 0) {
		saved = errno;
		close(tfd);
		errno = saved;
		name[0] = '\0';
		*got = CN_TUN_OFFLOAD_NONE;
	}
	return ret;
}

/* One SIOC[GS]IFTXQLEN on a throwaway socket (the ioctl needs some socket). */
static int txqlen_ioctl(const char *name, unsigned long req, unsigned int *qlen,
			struct cn_errbuf *e)
{
	struct ifreq ifr;
	int s, saved, ret = -CN_EIO;

	if (!name || strlen(name) >= IFNAMSIZ) {
		cn_errbuf_set(e, "bad interface name for the TX queue length");
		return -CN_EINVAL;
	}
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, name, strlen(name));
	ifr.ifr_qlen = (int)*qlen;
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0 || ioctl(s, req, &ifr) < 0) {
		saved = errno;
		cn_errbuf_set(e, "%s TX queue length of %s: %s",
			      req == SIOCSIFTXQLEN ? "set" : "get", name, strerror(saved));
		if (s >= 0)
			close(s);
		errno = saved;
		return ret;
	}
	close(s);
	*qlen = (unsigned int)ifr.ifr_qlen;
	return 0;
}

int cn_tun_set_txqlen(const char *name, unsigned int qlen, struct cn_errbuf *e)
{
	if (qlen == 0 || qlen > INT_MAX) {
		cn_errbuf_set(e, "TX queue length %u out of range", qlen);
		return -CN_EINVAL;
	}
	return txqlen_ioctl(name, SIOCSIFTXQLEN, &qlen, e);
}

int cn_tun_get_txqlen(const char *name, unsigned int *qlen, struct cn_errbuf *e)
{
	*qlen = 0;
	return txqlen_ioctl(name, SIOCGIFTXQLEN, qlen, e);
}
