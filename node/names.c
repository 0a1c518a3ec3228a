/* SPDX-License-Identifier: MIT */
/*
 * Names (node_int.h, docs/DNS.md): the DNS zone the responder (dns.c)
 * answers from - the list in force plus group liveness from the engine -
 * and the resolver for everything else: relay host names and forwarded
 * queries, to the configured upstream servers or resolv.conf's.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/file.h"
#include "node/dns_io.h"
#include "node/node_int.h"
#include "node/resolv_conf.h"
#include "node/resolver.h"

enum { RESOLVCONF_MAX_BYTES = 64 * 1024 };

static bool host_of(const struct cn_pl_peer *pp, struct cn_dns_host *out)
{
	if (!pp)
		return false;
	out->name = pp->name;
	memcpy(out->ip4, pp->ip4, 4);
	memcpy(out->ip6, pp->ip6, 16);
	out->ref = pp;
	return true;
}

static bool zone_by_name(void *ctx, const char *name, struct cn_dns_host *out)
{
	struct cn_node *n = ctx;

	return host_of(cn_peerlist_find_name(n->pl, name), out);
}

static bool zone_by_ip4(void *ctx, const uint8_t ip4[4], struct cn_dns_host *out)
{
	struct cn_node *n = ctx;

	return host_of(cn_peerlist_find_ip4(n->pl, ip4), out);
}

static bool zone_by_ip6(void *ctx, const uint8_t ip6[16], struct cn_dns_host *out)
{
	struct cn_node *n = ctx;

	return host_of(cn_peerlist_find_ip6(n->pl, ip6), out);
}

static bool zone_group_next(void *ctx, const char *group, size_t *cursor, struct cn_dns_host *out)
{
	struct cn_node *n = ctx;

	for (size_t i = *cursor; i < n->pl->npeers; i++) {
		if (cn_peer_in_group(&n->pl->peers[i], group)) {
			*cursor = i + 1;
			return host_of(&n->pl->peers[i], out);
		}
	}
	*cursor = n->pl->npeers;
	return false;
}

/* A group's member counts when it is up: this node itself, or a live peer. */
static bool zone_is_live(void *ctx, const struct cn_dns_host *h)
{
	struct cn_node *n = ctx;
	const struct cn_pl_peer *pp = h->ref;
	struct cn_peer *p;

	if (pp == n->self)
		return true;
	p = cn_engine_find_pl(n->eng, pp);
	return p && cn_peer_is_live(p, cn_clock_ms());
}

void node_zone_update(struct cn_node *n)
{
	n->zone.domain = n->pl->domain;
	n->zone.self = n->self ? n->self->name : "";
	n->zone.serial = (uint32_t)n->pl->serial;
	memcpy(n->zone.prefix4, n->pl->prefix4, 4);
	n->zone.prefix4_len = n->pl->prefix4_len;
	memcpy(n->zone.prefix6, n->pl->prefix6, 16);
	n->zone.prefix6_len = n->pl->prefix6_len;
	n->zone.ctx = n;
	n->zone.by_name = zone_by_name;
	n->zone.by_ip4 = zone_by_ip4;
	n->zone.by_ip6 = zone_by_ip6;
	n->zone.group_next = zone_group_next;
	n->zone.is_live = zone_is_live;
}

/*
 * Upstream servers for names outside the overlay: the configured ones, or
 * those of /etc/resolv.conf without this node's own addresses and
 * listeners (a host that points its resolver at the node must not make it
 * forward to itself).
 */
static void upstream_servers(struct cn_node *n, char *csv, size_t cap)
{
	struct cn_addr self[2 + CN_NODE_MAX_DNS_LISTEN];
	char *text = NULL, skipped[256];
	size_t len = 0, nself = 0;
	unsigned int nskipped = 0;
	struct cn_errbuf e = {{0}};
	struct sockaddr_in *s4 = (struct sockaddr_in *)&self[nself].ss;
	struct sockaddr_in6 *s6;

	csv[0] = '\0';
	if (n->cfg.dns_upstream[0]) {
		snprintf(csv, cap, "%s", n->cfg.dns_upstream);
		return;
	}
	if (cn_file_read("/etc/resolv.conf", RESOLVCONF_MAX_BYTES, &text, &len, &e) != 0)
		return;
	memset(self, 0, sizeof(self));
	s4->sin_family = AF_INET;
	memcpy(&s4->sin_addr, n->self_ip4, 4);
	self[nself++].len = sizeof(*s4);
	s6 = (struct sockaddr_in6 *)&self[nself].ss;
	s6->sin6_family = AF_INET6;
	memcpy(&s6->sin6_addr, n->self_ip6, 16);
	self[nself++].len = sizeof(*s6);
	for (unsigned int i = 0; i < n->cfg.ndns_listen && nself < sizeof(self) / sizeof(self[0]);
	     i++)
		self[nself++] = n->cfg.dns_listen[i];
	cn_resolv_conf_upstreams(text, len, self, nself, csv, cap, skipped, sizeof(skipped),
				 &nskipped);
	free(text);
	if (nskipped)
		cn_log_info("upstream DNS: skipping %s from /etc/resolv.conf (this node)", skipped);
}

int node_names_open(struct cn_node *n, struct cn_errbuf *e)
{
	char csv[512];
	struct cn_errbuf re = {{0}};

	node_zone_update(n);
	upstream_servers(n, csv, sizeof(csv));
	/* Also resolves relay host names; without servers those stay unresolved. */
	n->resolver = cn_resolver_new(n->base, csv[0] ? csv : "127.0.0.1:1", 0, 0, &re);
	if (!n->resolver)
		cn_log_warn("no DNS resolver (%s): relay host names and outside names will "
			    "not resolve",
			    re.msg);
	else if (!csv[0])
		cn_log_warn("no upstream DNS server besides this node: outside names get SERVFAIL");
	if (!n->cfg.dns)
		return 0;
	n->dns = cn_dns_server_new(n->base, &n->zone, csv[0] ? n->resolver : NULL);
	if (!n->dns) {
		cn_errbuf_set(e, "out of memory");
		return -CN_ENOMEM;
	}
	for (unsigned int i = 0; i < n->cfg.ndns_listen; i++)
		if (cn_dns_server_listen(n->dns, &n->cfg.dns_listen[i], e))
			return -CN_EIO;
	if (n->cfg.dns_overlay) {
		struct cn_addr a = {.len = sizeof(struct sockaddr_in)};
		struct sockaddr_in *s4 = (struct sockaddr_in *)&a.ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(53);
		memcpy(&s4->sin_addr, n->self_ip4, 4);
		struct cn_addr a6 = {.len = sizeof(struct sockaddr_in6)};
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&a6.ss;
		struct cn_errbuf e6 = {{0}};

		/* Bound to the TUN: a LAN neighbour cannot reach it through the host. */
		if (cn_dns_server_listen_on(n->dns, &a, n->tun_name, e))
			return -CN_EIO;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(53);
		memcpy(&s6->sin6_addr, n->self_ip6, 16);
		/* A host with IPv6 off has no IPv6 overlay address to answer on. */
		if (cn_dns_server_listen_on(n->dns, &a6, n->tun_name, &e6))
			cn_log_warn("DNS on the overlay IPv6 address: %s; IPv4 only", e6.msg);
	}
	return 0;
}
