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
 * The same, but only for queries that arrive through network device
 * ifname (NULL or "" = any): SO_BINDTODEVICE before bind(), UDP and TCP.
 * For the overlay address pass the TUN's name: Linux takes packets for a
 * local address on every interface (weak host model), so without it a LAN
 * neighbour that routes the overlay prefix to this host could query the
 * node; bound, it sees only what a peer's session delivered through the
 * TUN. This host's own queries to the overlay address still arrive (the
 * kernel delivers them as if from the device that holds the address;
 * tests/lab/test_dns_bind.sh checks it). Failing to bind to the device is
 * an error (-CN_EIO), not a warning: the listener would be open to the LAN.
 */
int cn_dns_server_listen_on(struct cn_dns_server *s, const struct cn_addr *addr, const char *ifname,
			    struct cn_errbuf *e);
/*
 * Closes everything. Free the resolver first: forwarded queries still
 * pending are then dropped without a callback.
 */
void cn_dns_server_free(struct cn_dns_server *s);

#endif
