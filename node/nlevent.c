/* SPDX-License-Identifier: MIT */
/*
 * rtnetlink notifications judged for the underlay; see nlevent.h.
 */
#include "node/nlevent.h"

#include <string.h>

#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "common/bytes.h"
#include "common/err.h"

_Static_assert(sizeof(struct nlmsghdr) == CN_NLEVENT_HDR_LEN, "nlmsghdr");
_Static_assert(sizeof(struct ifaddrmsg) == CN_NLEVENT_IFADDR_LEN, "ifaddrmsg");
_Static_assert(sizeof(struct rtmsg) == CN_NLEVENT_RTMSG_LEN, "rtmsg");
_Static_assert(sizeof(struct rtattr) == CN_NLEVENT_RTA_HDR_LEN, "rtattr");

/* Netlink is in host byte order. */
static uint32_t rd_u32h(struct cn_rd *r)
{
	uint32_t v = 0;

	cn_rd_bytes(r, &v, sizeof(v));
	return v;
}

static uint16_t rd_u16h(struct cn_rd *r)
{
	uint16_t v = 0;

	cn_rd_bytes(r, &v, sizeof(v));
	return v;
}

static size_t align4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

/* An address message's payload: 1 when it counts, 0 when not, -1 malformed. */
static int judge_addr(struct cn_rd *p, uint32_t ignore)
{
	uint8_t scope;
	uint32_t ifindex;

	cn_rd_u8(p); /* family */
	cn_rd_u8(p); /* prefixlen */
	cn_rd_u8(p); /* flags */
	scope = cn_rd_u8(p);
	ifindex = rd_u32h(p);
	if (!cn_rd_ok(p))
		return -1;
	/* Attributes are not needed to judge; their framing is not checked either. */
	if (ifindex == ignore || scope == RT_SCOPE_HOST || scope == RT_SCOPE_LINK)
		return 0;
	return 1;
}

/* A route message's payload: 1 when it counts, 0 when not, -1 malformed. */
static int judge_route(struct cn_rd *p, uint32_t ignore)
{
	uint32_t table, oif = 0;

	cn_rd_u8(p); /* family */
	cn_rd_u8(p); /* dst_len */
	cn_rd_u8(p); /* src_len */
	cn_rd_u8(p); /* tos */
	table = cn_rd_u8(p);
	cn_rd_take(p, 3); /* protocol, scope, type */
	rd_u32h(p);	  /* flags */
	if (!cn_rd_ok(p))
		return -1;
	while (cn_rd_left(p) > 0) {
		uint16_t alen, atype;
		const uint8_t *val;
		struct cn_rd v;

		alen = rd_u16h(p);
		atype = rd_u16h(p);
		if (!cn_rd_ok(p) || alen < CN_NLEVENT_RTA_HDR_LEN)
			return -1;
		val = cn_rd_take(p, alen - CN_NLEVENT_RTA_HDR_LEN);
		if (!val)
			return -1;
		cn_rd_init(&v, val, alen - CN_NLEVENT_RTA_HDR_LEN);
		if ((atype == RTA_OIF || atype == RTA_TABLE) && cn_rd_left(&v) == 4) {
			if (atype == RTA_OIF)
				oif = rd_u32h(&v);
			else
				table = rd_u32h(&v);
		}
		/* Padding to 4 bytes (the last attribute may end the message without it). */
		if (cn_rd_left(p) > 0)
			cn_rd_take(p, align4(alen) - alen);
		if (!cn_rd_ok(p))
			return -1;
	}
	if (table != RT_TABLE_MAIN || (oif && oif == ignore))
		return 0;
	return 1;
}

int cn_nlevent_decode(const uint8_t *buf, size_t len, uint32_t ignore_ifindex,
		      struct cn_nlevent *out)
{
	struct cn_rd r;
	struct cn_nlevent ev = {0};

	memset(out, 0, sizeof(*out));
	cn_rd_init(&r, buf, len);
	while (cn_rd_left(&r) > 0) {
		uint32_t mlen;
		uint16_t type;
		const uint8_t *payload;
		struct cn_rd p;
		int k = 0;

		mlen = rd_u32h(&r);
		type = rd_u16h(&r);
		cn_rd_take(&r, 10); /* flags, sequence, port id */
		if (!cn_rd_ok(&r) || mlen < CN_NLEVENT_HDR_LEN ||
		    mlen - CN_NLEVENT_HDR_LEN > cn_rd_left(&r))
			return -CN_EFORMAT;
		payload = cn_rd_take(&r, mlen - CN_NLEVENT_HDR_LEN);
		cn_rd_init(&p, payload, mlen - CN_NLEVENT_HDR_LEN);
		ev.messages++;
		switch (type) {
		case RTM_NEWADDR:
		case RTM_DELADDR:
			k = judge_addr(&p, ignore_ifindex);
			if (k > 0)
				ev.addr_changes++;
			break;
		case RTM_NEWROUTE:
		case RTM_DELROUTE:
			k = judge_route(&p, ignore_ifindex);
			if (k > 0)
				ev.route_changes++;
			break;
		default:
			break;
		}
		if (k < 0)
			return -CN_EFORMAT;
		/* The next message starts 4-aligned; the last may end the datagram unpadded. */
		if (cn_rd_left(&r) > 0 && !cn_rd_take(&r, align4(mlen) - mlen))
			return -CN_EFORMAT;
	}
	*out = ev;
	return 0;
}
