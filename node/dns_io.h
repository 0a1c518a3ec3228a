/* SPDX-License-Identifier: MIT */
/*
 * The node's name service, the I/O shell around node/dns.c: UDP and TCP
 * listeners, answers for the overlay zone, and forwarding of every other
 * name upstream through the c-ares resolver, answers passed back unchanged
 * (only the message ID is the client's again). docs/DNS.md.
 *
 * Limits: at most DNS_MAX_FORWARDS queries forwarded at once (more get
 * SERVFAIL), at most DNS_MAX_TCP TCP connections, each closed after
 * DNS_TCP_IDLE_S seconds without a query; malformed input is answered
 * FORMERR or dropped by the responder, never crashes the node.
 */
#ifndef CN_NODE_DNS_IO_H
#define CN_NODE_DNS_IO_H

#include "common/addr.h"
#include "common/err.h"

struct event_base;
struct cn_dns_zone;
struct cn_resolver;
struct cn_dns_server;

/*
 * zone and resolver are borrowed and must outlive the server (the node
 * updates the zone in place when the peer list changes); resolver may be
 * NULL (then every forwarded query gets SERVFAIL). Listens on nothing yet.
 */
struct cn_dns_server *cn_dns_server_new(struct event_base *base, const struct cn_dns_zone *zone,
					struct cn_resolver *resolver);
/* Adds a UDP and a TCP listener on addr. 0 or -CN_EIO with e saying why. */
int cn_dns_server_listen(struct cn_dns_server *s, const struct cn_addr *addr, struct cn_errbuf *e);
/*
 * Closes everything. Free the resolver first: forwarded queries still
 * pending are then dropped without a callback.
 */
void cn_dns_server_free(struct cn_dns_server *s);

#endif
