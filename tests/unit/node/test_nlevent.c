/* SPDX-License-Identifier: MIT */
/*
 * node/nlevent.c: rtnetlink notifications judged for the underlay: what
 * counts, what is ignored (the TUN, host/link scope, other tables), several
 * messages in one datagram, and malformed framing refused whole.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include "common/err.h"
#include "node/nlevent.h"

enum { TUN = 7, ETH = 2 };

struct dgram {
	uint8_t b[1024];
	size_t len;
};

/* Appends one message (header + payload), padded to 4 bytes. */
static void add_msg(struct dgram *d, uint16_t type, const void *payload, size_t plen)
{
	struct nlmsghdr h = {.nlmsg_len = (uint32_t)(sizeof(h) + plen), .nlmsg_type = type};

	memcpy(d->b + d->len, &h, sizeof(h));
	memcpy(d->b + d->len + sizeof(h), payload, plen);
	d->len += NLMSG_ALIGN(sizeof(h) + plen);
}

static void add_addr(struct dgram *d, uint16_t type, uint8_t scope, uint32_t ifindex)
{
	struct ifaddrmsg m = {.ifa_family = AF_INET,
			      .ifa_prefixlen = 24,
			      .ifa_scope = scope,
			      .ifa_index = ifindex};

	add_msg(d, type, &m, sizeof(m));
}

/* A route with RTA_TABLE and RTA_OIF attributes. */
static void add_route(struct dgram *d, uint16_t type, uint32_t table, uint32_t oif)
{
	uint8_t p[sizeof(struct rtmsg) + 16];
	struct rtmsg m = {.rtm_family = AF_INET, .rtm_table = table < 256 ? (uint8_t)table : 0};
	struct rtattr a = {.rta_len = 8, .rta_type = RTA_TABLE};

	memcpy(p, &m, sizeof(m));
	memcpy(p + sizeof(m), &a, sizeof(a));
	memcpy(p + sizeof(m) + 4, &table, 4);
	a.rta_type = RTA_OIF;
	memcpy(p + sizeof(m) + 8, &a, sizeof(a));
	memcpy(p + sizeof(m) + 12, &oif, 4);
	add_msg(d, type, p, sizeof(p));
}

static struct cn_nlevent decode_ok(const struct dgram *d)
{
	struct cn_nlevent ev;

	assert_int_equal(cn_nlevent_decode(d->b, d->len, TUN, &ev), 0);
	return ev;
}

static void test_counted(void **state)
{
	struct dgram d = {0};
	struct cn_nlevent ev;

	(void)state;
	add_addr(&d, RTM_DELADDR, RT_SCOPE_UNIVERSE, ETH);
	add_addr(&d, RTM_NEWADDR, RT_SCOPE_UNIVERSE, ETH);
	add_route(&d, RTM_NEWROUTE, RT_TABLE_MAIN, ETH);
	ev = decode_ok(&d);
	assert_int_equal(ev.addr_changes, 2);
	assert_int_equal(ev.route_changes, 1);
	assert_int_equal(ev.messages, 3);
}

static void test_ignored(void **state)
{
	struct dgram d = {0};
	struct cn_nlevent ev;

	(void)state;
	add_addr(&d, RTM_NEWADDR, RT_SCOPE_UNIVERSE, TUN); /* the overlay's own */
	add_addr(&d, RTM_NEWADDR, RT_SCOPE_HOST, ETH);	   /* loopback-like */
	add_addr(&d, RTM_NEWADDR, RT_SCOPE_LINK, ETH);	   /* IPv6 link-local */
	add_route(&d, RTM_NEWROUTE, RT_TABLE_LOCAL, ETH);
	add_route(&d, RTM_NEWROUTE, RT_TABLE_MAIN, TUN);
	add_msg(&d, NLMSG_DONE, "\0\0\0\0", 4);
	add_msg(&d, RTM_NEWLINK, "abcdefgh", 8);
	ev = decode_ok(&d);
	assert_int_equal(ev.addr_changes, 0);
	assert_int_equal(ev.route_changes, 0);
	assert_int_equal(ev.messages, 7);
	/* A table above 255 is given only by RTA_TABLE. */
	d.len = 0;
	add_route(&d, RTM_DELROUTE, 1000, ETH);
	assert_int_equal(decode_ok(&d).route_changes, 0);
}

static void refused(const uint8_t *b, size_t len)
{
	struct cn_nlevent ev = {.addr_changes = 9};

	assert_int_equal(cn_nlevent_decode(b, len, TUN, &ev), -CN_EFORMAT);
	assert_int_equal(ev.addr_changes, 0);
	assert_int_equal(ev.messages, 0);
}

static void test_malformed(void **state)
{
	struct dgram d = {0};
	struct nlmsghdr h;
	uint32_t v;

	(void)state;
	add_addr(&d, RTM_NEWADDR, RT_SCOPE_UNIVERSE, ETH);
	/* A header cut short, and trailing bytes after a good message. */
	refused(d.b, 10);
	d.b[d.len] = 1;
	refused(d.b, d.len + 3);
	/* A length below the header, and one past the datagram. */
	memcpy(&h, d.b, sizeof(h));
	h.nlmsg_len = 8;
	memcpy(d.b, &h, sizeof(h));
	refused(d.b, d.len);
	h.nlmsg_len = (uint32_t)d.len + 4;
	memcpy(d.b, &h, sizeof(h));
	refused(d.b, d.len);
	/* An address message shorter than its ifaddrmsg. */
	h.nlmsg_len = sizeof(h) + 4;
	memcpy(d.b, &h, sizeof(h));
	refused(d.b, sizeof(h) + 4);
	/* A route attribute shorter than its header, and one past the message. */
	d.len = 0;
	add_route(&d, RTM_NEWROUTE, RT_TABLE_MAIN, ETH);
	v = 2;
	memcpy(d.b + sizeof(h) + sizeof(struct rtmsg), &v, 2);
	refused(d.b, d.len);
	v = 200;
	memcpy(d.b + sizeof(h) + sizeof(struct rtmsg), &v, 2);
	refused(d.b, d.len);
	/* Empty is fine: nothing changed. */
	assert_int_equal(decode_ok(&(struct dgram){0}).messages, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counted),
		cmocka_unit_test(test_ignored),
		cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
