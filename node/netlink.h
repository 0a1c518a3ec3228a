/* SPDX-License-Identifier: MIT */
/*
 * Configures the node's TUN interface over rtnetlink (NETLINK_ROUTE): MTU,
 * the overlay IPv4 and IPv6 addresses with their prefix lengths, link up.
 * Talks to the kernel directly, one request at a time, each acknowledged
 * (NLM_F_ACK) and checked; never runs ip(8).
 *
 * An I/O shell: opens one short-lived netlink socket per call, does not log
 * (the caller logs the one-line reason in the errbuf, which quotes the
 * kernel's extended ack message when there is one). Needs CAP_NET_ADMIN in
 * the interface's network namespace.
 */
#ifndef CN_NODE_NETLINK_H
#define CN_NODE_NETLINK_H

#include <stdint.h>

struct cn_errbuf;

/*
 * In this order: sets the MTU of ifname; adds ip4/prefix4_len; when ip6 is
 * given, turns off IPv6 link-local address generation on the link
 * (IN6_ADDR_GEN_MODE_NONE: no fe80:: address, so the kernel sends no router
 * solicitations or MLD reports into the TUN) and adds ip6/prefix6_len with
 * IFA_F_NODAD (usable at once, never "tentative"; a TUN is IFF_NOARP, which
 * skips DAD anyway); sets the link up. The kernel then adds the prefix routes
 * through the device ("10.99.0.0/16 dev X proto kernel scope link src
 * 10.99.0.1", "fd99::/64 dev X proto kernel metric 256").
 *
 * ip4 or ip6 may be NULL to skip that family. mtu must be 1..65535, and at
 * least 1280 when ip6 is given (the kernel disables IPv6 on a link below
 * that); the kernel enforces the device's own range (68..65535 for a TUN).
 * prefix4_len must be 1..32, prefix6_len 1..128.
 *
 * Idempotent: an address already present with the same prefix length is
 * replaced in place (NLM_F_REPLACE), so a second call with the same arguments
 * succeeds. Addresses the device has beyond these are left alone.
 *
 * Returns 0, -CN_EINVAL (arguments), -CN_ENOTFOUND (no such interface) or
 * -CN_EIO (socket or kernel refusal, errno set to the kernel's error). A
 * failure can leave the earlier steps done.
 */
int cn_netlink_configure(const char *ifname, unsigned int mtu, const uint8_t *ip4,
			 unsigned int prefix4_len, const uint8_t *ip6, unsigned int prefix6_len,
			 struct cn_errbuf *e);

#endif
