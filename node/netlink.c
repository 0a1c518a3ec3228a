/* SPDX-License-Identifier: MIT */
/*
 * rtnetlink configuration of the TUN interface (see netlink.h).
 *
 * Netlink messages are a local kernel ABI in host byte order, so they are
 * built from the uapi structs (struct nlmsghdr, ifinfomsg, ifaddrmsg, rtattr)
 * the way iproute2 and libmnl do; replies are copied out with memcpy after a
 * length check, never dereferenced past what recv() returned. Only replies
 * from the kernel (port id 0) with our sequence number count.
 *
 * Must not grow a general netlink library: one request, one ack, in order.
 * Must not log; the caller logs the errbuf.
 */
#include "node/netlink.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "common/err.h"

enum {
	MSG_MAX = 256,	     /* our requests: header, body, three attributes */
	ACK_MAX = 8192,	     /* an ack with an extended-ack message fits easily */
	ACK_TIMEOUT_S = 5,   /* the kernel answers in sendmsg(); this is a safety net */
	WHY_MAX = 128,	     /* kernel extended ack text kept */
	MTU_MAX = 65535,     /* IFLA_MTU is u32, but no link carries more */
	MTU_MIN_IPV6 = 1280, /* RFC 8200 5; below it the kernel drops IPv6 from the link */
};

/* One request being built; the union keeps it aligned for struct nlmsghdr. */
struct msg {
	union {
		struct nlmsghdr h;
		uint8_t b[MSG_MAX];
	} u;
	bool bad; /* an attribute did not fit */
};

struct nl {
	int fd;
	uint32_t seq;
};

static void *msg_init(struct msg *m, uint16_t type, uint16_t flags, size_t body)
{
	memset(m, 0, sizeof(*m));
	m->u.h.nlmsg_len = NLMSG_LENGTH(body);
	m->u.h.nlmsg_type = type;
	m->u.h.nlmsg_flags = (uint16_t)(NLM_F_REQUEST | NLM_F_ACK | flags);
	return NLMSG_DATA(&m->u.h);
}

static void msg_attr(struct msg *m, uint16_t type, const void *data, size_t len)
{
	size_t off = NLMSG_ALIGN(m->u.h.nlmsg_len);
	struct rtattr rta;

	if (off > sizeof(m->u.b) || RTA_SPACE(len) > sizeof(m->u.b) - off) {
		m->bad = true;
		return;
	}
	rta.rta_len = (unsigned short)RTA_LENGTH(len);
	rta.rta_type = type;
	memcpy(m->u.b + off, &rta, sizeof(rta));
	memset(m->u.b + off + RTA_LENGTH(0), 0, RTA_SPACE(len) - RTA_LENGTH(0));
	if (len)
		memcpy(m->u.b + off + RTA_LENGTH(0), data, len);
	m->u.h.nlmsg_len = (uint32_t)(off + RTA_SPACE(len));
}

/* Opens a nested attribute; returns its offset for msg_nest_end (0 if it did not fit). */
static size_t msg_nest_begin(struct msg *m, uint16_t type)
{
	size_t off = NLMSG_ALIGN(m->u.h.nlmsg_len);

	msg_attr(m, type, NULL, 0);
	return m->bad ? 0 : off;
}

static void msg_nest_end(struct msg *m, size_t off)
{
	struct rtattr rta;

	if (m->bad || off == 0)
		return;
	memcpy(&rta, m->u.b + off, sizeof(rta));
	rta.rta_len = (unsigned short)(m->u.h.nlmsg_len - off);
	memcpy(m->u.b + off, &rta, sizeof(rta));
}

static int nl_open(struct nl *nl, struct cn_errbuf *e)
{
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
	struct timeval tv = {.tv_sec = ACK_TIMEOUT_S};
	int one = 1;
	int saved;

	nl->seq = 0;
	nl->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (nl->fd < 0) {
		saved = errno;
		cn_errbuf_set(e, "netlink socket: %s", strerror(saved));
		errno = saved;
		return -CN_EIO;
	}
	/* Best effort: the kernel's reason text, and acks without our request echoed. */
	(void)setsockopt(nl->fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	(void)setsockopt(nl->fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	if (setsockopt(nl->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    bind(nl->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		saved = errno;
		cn_errbuf_set(e, "netlink socket setup: %s", strerror(saved));
		close(nl->fd);
		nl->fd = -1;
		errno = saved;
		return -CN_EIO;
	}
	return 0;
}

/* Copies the NLMSGERR_ATTR_MSG text of an extended ack, if any, into why. */
static void ack_reason(const uint8_t *p, size_t len, const struct nlmsgerr *err, uint16_t flags,
		       char why[static WHY_MAX])
{
	size_t off = sizeof(*err);

	if (!(flags & NLM_F_ACK_TLVS))
		return;
	if (!(flags & NLM_F_CAPPED))
		off += err->msg.nlmsg_len >= NLMSG_HDRLEN ? err->msg.nlmsg_len - NLMSG_HDRLEN : 0;
	off = NLMSG_ALIGN(off);
	while (off <= len && len - off >= NLA_HDRLEN) {
		struct nlattr nla;
		size_t n;

		memcpy(&nla, p + off, sizeof(nla));
		if (nla.nla_len < NLA_HDRLEN || nla.nla_len > len - off)
			return;
		n = nla.nla_len - NLA_HDRLEN;
		if ((nla.nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG && n > 0) {
			if (n >= WHY_MAX)
				n = WHY_MAX - 1;
			memcpy(why, p + off + NLA_HDRLEN, n);
			why[n] = '\0';
			/* The kernel's text is NUL-terminated; stop at the NUL. */
			why[strnlen(why, n)] = '\0';
			return;
		}
		off += NLA_ALIGN(nla.nla_len);
	}
}

/*
 * Sends one request and waits for its ack. Returns 0, or a positive errno:
 * the kernel's refusal (why gets its extended ack text, if any) or a local
 * socket failure (ETIMEDOUT when no ack came within ACK_TIMEOUT_S).
 */
static int nl_talk(struct nl *nl, struct msg *m, char why[static WHY_MAX])
{
	struct sockaddr_nl to = {.nl_family = AF_NETLINK};
	union {
		struct nlmsghdr h;
		uint8_t b[ACK_MAX];
	} buf;
	uint32_t seq;

	why[0] = '\0';
	if (m->bad)
		return EMSGSIZE;
	seq = ++nl->seq;
	m->u.h.nlmsg_seq = seq;
	if (sendto(nl->fd, m->u.b, m->u.h.nlmsg_len, 0, (struct sockaddr *)&to, sizeof(to)) < 0)
		return errno;
	for (;;) {
		struct sockaddr_nl from;
		socklen_t fromlen = sizeof(from);
		ssize_t got;
		size_t left, off = 0;

		got = recvfrom(nl->fd, buf.b, sizeof(buf.b), MSG_TRUNC, (struct sockaddr *)&from,
			       &fromlen);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN || errno == EWOULDBLOCK ? ETIMEDOUT : errno;
		}
		if ((size_t)got > sizeof(buf.b))
			return EMSGSIZE;
		if (fromlen < sizeof(from) || from.nl_pid != 0)
			continue; /* not from the kernel */
		left = (size_t)got;
		while (left >= NLMSG_HDRLEN) {
			struct nlmsghdr h;
			struct nlmsgerr err;

			memcpy(&h, buf.b + off, sizeof(h));
			if (h.nlmsg_len < NLMSG_HDRLEN || h.nlmsg_len > left)
				break;
			if (h.nlmsg_seq == seq && h.nlmsg_type == NLMSG_ERROR) {
				if (h.nlmsg_len < NLMSG_LENGTH(sizeof(err)))
					return EBADMSG;
				memcpy(&err, buf.b + off + NLMSG_HDRLEN, sizeof(err));
				if (err.error == 0)
					return 0;
				ack_reason(buf.b + off + NLMSG_HDRLEN, h.nlmsg_len - NLMSG_HDRLEN,
					   &err, h.nlmsg_flags, why);
				return err.error < 0 ? -err.error : EPROTO;
			}
			/* Anything else (a stale reply) is skipped. */
			if (NLMSG_ALIGN(h.nlmsg_len) >= left)
				break;
			off += NLMSG_ALIGN(h.nlmsg_len);
			left -= NLMSG_ALIGN(h.nlmsg_len);
		}
	}
}

/* Turns an nl_talk result into our error code and a one-line reason. */
static int fail(int err, const char *why, struct cn_errbuf *e, const char *step, const char *ifname)
{
	cn_errbuf_set(e, "%s on %s: %s%s%s%s", step, ifname, strerror(err), why[0] ? " (" : "", why,
		      why[0] ? ")" : "");
	errno = err;
	return err == ENODEV ? -CN_ENOTFOUND : -CN_EIO;
}

static int set_mtu(struct nl *nl, int index, unsigned int mtu, char why[static WHY_MAX])
{
	struct msg m;
	struct ifinfomsg *ifi = msg_init(&m, RTM_NEWLINK, 0, sizeof(*ifi));
	uint32_t v = mtu;

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = index;
	msg_attr(&m, IFLA_MTU, &v, sizeof(v));
	return nl_talk(nl, &m, why);
}

/*
 * No IPv6 link-local address on the TUN (IN6_ADDR_GEN_MODE_NONE): without it
 * the kernel sends router solicitations and MLD reports into the TUN, which
 * the node would read, look up and drop. Must happen before the link is up.
 */
static int set_no_linklocal(struct nl *nl, int index, char why[static WHY_MAX])
{
	struct msg m;
	struct ifinfomsg *ifi = msg_init(&m, RTM_NEWLINK, 0, sizeof(*ifi));
	uint8_t mode = IN6_ADDR_GEN_MODE_NONE;
	size_t spec, inet6;

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = index;
	spec = msg_nest_begin(&m, IFLA_AF_SPEC);
	inet6 = msg_nest_begin(&m, AF_INET6);
	msg_attr(&m, IFLA_INET6_ADDR_GEN_MODE, &mode, sizeof(mode));
	msg_nest_end(&m, inet6);
	msg_nest_end(&m, spec);
	return nl_talk(nl, &m, why);
}

static int set_up(struct nl *nl, int index, char why[static WHY_MAX])
{
	struct msg m;
	struct ifinfomsg *ifi = msg_init(&m, RTM_NEWLINK, 0, sizeof(*ifi));

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = index;
	ifi->ifi_flags = IFF_UP;
	ifi->ifi_change = IFF_UP;
	return nl_talk(nl, &m, why);
}

/*
 * IFA_LOCAL and IFA_ADDRESS both hold the address, as ip(8) sends them: equal
 * means "no peer", so the kernel adds the prefix route for prefix_len (the
 * TUN is IFF_POINTOPOINT, where a different IFA_ADDRESS would name a peer).
 */
static int add_addr(struct nl *nl, int index, int family, const uint8_t *addr,
		    unsigned int prefix_len, uint32_t flags, char why[static WHY_MAX])
{
	struct msg m;
	struct ifaddrmsg *ifa =
		msg_init(&m, RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, sizeof(*ifa));
	size_t alen = family == AF_INET ? 4 : 16;
	int ret;

	ifa->ifa_family = (uint8_t)family;
	ifa->ifa_prefixlen = (uint8_t)prefix_len;
	ifa->ifa_flags = (uint8_t)flags; /* IFA_F_NODAD fits the old 8-bit field */
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (uint32_t)index;
	msg_attr(&m, IFA_LOCAL, addr, alen);
	msg_attr(&m, IFA_ADDRESS, addr, alen);
	if (flags)
		msg_attr(&m, IFA_FLAGS, &flags, sizeof(flags));
	ret = nl_talk(nl, &m, why);
	return ret == EEXIST ? 0 : ret;
}

int cn_netlink_configure(const char *ifname, unsigned int mtu, const uint8_t *ip4,
			 unsigned int prefix4_len, const uint8_t *ip6, unsigned int prefix6_len,
			 struct cn_errbuf *e)
{
	struct nl nl = {.fd = -1};
	char why[WHY_MAX] = "";
	char text[INET6_ADDRSTRLEN];
	char step[INET6_ADDRSTRLEN + 32];
	unsigned int index;
	int err, ret = -CN_EINVAL;

	if (!ifname || !ifname[0] || strlen(ifname) >= IFNAMSIZ) {
		cn_errbuf_set(e, "bad interface name");
		goto out;
	}
	if (mtu == 0 || mtu > MTU_MAX || (ip6 && mtu < MTU_MIN_IPV6)) {
		cn_errbuf_set(e, "MTU %u for %s out of range (1..%d, at least %d with IPv6)", mtu,
			      ifname, MTU_MAX, MTU_MIN_IPV6);
		goto out;
	}
	if ((ip4 && (prefix4_len < 1 || prefix4_len > 32)) ||
	    (ip6 && (prefix6_len < 1 || prefix6_len > 128))) {
		cn_errbuf_set(e, "prefix length for %s out of range", ifname);
		goto out;
	}
	index = if_nametoindex(ifname);
	if (index == 0 || index > (unsigned int)INT32_MAX) {
		err = errno;
		cn_errbuf_set(e, "no interface %s: %s", ifname, strerror(err));
		errno = err;
		ret = err == ENODEV ? -CN_ENOTFOUND : -CN_EIO;
		goto out;
	}
	ret = nl_open(&nl, e);
	if (ret)
		goto out;

	err = set_mtu(&nl, (int)index, mtu, why);
	if (err) {
		snprintf(step, sizeof(step), "set MTU %u", mtu);
		ret = fail(err, why, e, step, ifname);
		goto out;
	}
	if (ip4) {
		err = add_addr(&nl, (int)index, AF_INET, ip4, prefix4_len, 0, why);
		if (err) {
			inet_ntop(AF_INET, ip4, text, sizeof(text));
			snprintf(step, sizeof(step), "add %s/%u", text, prefix4_len);
			ret = fail(err, why, e, step, ifname);
			goto out;
		}
	}
	if (ip6) {
		err = set_no_linklocal(&nl, (int)index, why);
		if (err) {
			ret = fail(err, why, e, "set IPv6 address generation mode none", ifname);
			goto out;
		}
		err = add_addr(&nl, (int)index, AF_INET6, ip6, prefix6_len, IFA_F_NODAD, why);
		if (err) {
			inet_ntop(AF_INET6, ip6, text, sizeof(text));
			snprintf(step, sizeof(step), "add %s/%u", text, prefix6_len);
			ret = fail(err, why, e, step, ifname);
			goto out;
		}
	}
	err = set_up(&nl, (int)index, why);
	if (err) {
		ret = fail(err, why, e, "set link up", ifname);
		goto out;
	}
	ret = 0;
out:
	if (nl.fd >= 0) {
		err = errno;
		close(nl.fd);
		errno = err;
	}
	return ret;
}
