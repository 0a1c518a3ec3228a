/* SPDX-License-Identifier: MIT */
/*
 * TUN device creation (see tun.h). Linux only: /dev/net/tun and the
 * TUNSETIFF ioctl. Must not configure addresses (netlink.c does) nor read
 * or write packets (the data plane does).
 */
#include "node/tun.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "common/err.h"

static const char tun_path[] = "/dev/net/tun";

_Static_assert(CN_TUN_NAME_MAX == IFNAMSIZ, "interface name buffer is the kernel's");

int cn_tun_open(const char *want_name, char name[static CN_TUN_NAME_MAX], int *fd,
		struct cn_errbuf *e)
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
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
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
