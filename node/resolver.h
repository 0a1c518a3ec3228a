/* SPDX-License-Identifier: MIT */
/*
 * Asynchronous DNS for cairn-node on its libevent loop, with c-ares 1.18:
 * addresses (A and AAAA) of relay and peer names, SRV records (RFC 2782
 * order), and raw forwarding of complete DNS messages for the node's own
 * DNS server. Nothing here blocks after cn_resolver_new().
 *
 * Callback contract (all three query kinds):
 *  - A submission that returns 0 gets exactly one callback, from the event
 *    loop, never from inside the submitting call (even for literals, which
 *    need no DNS), unless the resolver is freed first: then never.
 *  - A submission that returns an error gets no callback.
 *  - Results passed to a callback are borrowed for the duration of the call.
 *  - A callback may submit new queries and may free the resolver; after
 *    cn_resolver_free() no other callback of that resolver runs.
 *  - Callbacks are delivered in completion order.
 *
 * Status codes passed to callbacks: 0; -CN_ENOTFOUND (NXDOMAIN, no records
 * of the type, SRV target "."); -CN_ETIMEDOUT (no answer from any
 * server within the bound below); -CN_EIO (SERVFAIL, REFUSED, connection
 * refused, unusable answers); -CN_EINVAL (name c-ares refuses); -CN_ENOMEM.
 * Failures are logged at debug level with c-ares's reason.
 *
 * Lookup policy: DNS only. /etc/hosts is not read (ARES_OPT_LOOKUPS "b"):
 * relay names must mean the same thing on every node, and c-ares 1.18 reads
 * the hosts file synchronously on each lookup. Names are queried exactly as
 * given, with no search domains (no resolv.conf "search", no HOSTALIASES);
 * use fully qualified names. IP literals and "localhost" (RFC 6761: ::1 and
 * 127.0.0.1) are answered without any DNS traffic.
 *
 * Timing bound: each try sends to every server in turn, waiting timeout_ms
 * for the first try and doubling the wait on each later try, so with S
 * servers a query gives up after about S * timeout_ms * (2^tries - 1).
 *
 * Timers and events (all on the caller's event_base): one persistent event
 * per c-ares socket, created and changed from c-ares's socket-state callback;
 * one timer re-armed from ares_timeout() after every submission and every
 * processing step (it drives retries and timeouts; nothing polls); one
 * deferred event that delivers completed queries to their callbacks.
 *
 * Not thread safe: use a resolver from its event_base's thread only.
 */
#ifndef CN_NODE_RESOLVER_H
#define CN_NODE_RESOLVER_H

#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"
#include "common/err.h"

struct event_base;
struct cn_resolver;

enum {
	CN_RESOLVER_MAX_ADDRS = 16,    /* addresses passed to one addr callback */
	CN_RESOLVER_MAX_SRV = 32,      /* SRV targets passed to one srv callback */
	CN_RESOLVER_MAX_PENDING = 256, /* queries submitted and not yet delivered */
	CN_RESOLVER_NAME_MAX = 256,    /* a domain name in text, with its NUL */
	CN_RESOLVER_DEFAULT_TIMEOUT_MS = 1000,
	CN_RESOLVER_DEFAULT_TRIES = 3,
	CN_RESOLVER_MAX_TIMEOUT_MS = 30000,
	CN_RESOLVER_MAX_TRIES = 8,
};

/*
 * Creates a resolver on base (borrowed; must outlive the resolver).
 * servers_csv: NULL to use the nameservers of /etc/resolv.conf (read once,
 * here), or "ip[:port],..." with IPv6 as "[ip6]:port" (c-ares's CSV format).
 * timeout_ms and tries: 0 for CN_RESOLVER_DEFAULT_*; at most
 * CN_RESOLVER_MAX_*. Returns NULL on error, and e says why.
 */
struct cn_resolver *cn_resolver_new(struct event_base *base, const char *servers_csv,
				    unsigned int timeout_ms, unsigned int tries,
				    struct cn_errbuf *e);

/*
 * Frees r (NULL is a no-op), including from inside one of its callbacks.
 * Pending and completed-but-undelivered queries are dropped: their callbacks
 * never run, so a caller that gives each query a heap-allocated arg must
 * track those args itself. (Running callbacks during teardown would call into
 * owners that are themselves half torn down.)
 */
void cn_resolver_free(struct cn_resolver *r);

/*
 * A and AAAA for host (a name, or a bare IPv4/IPv6 literal without brackets),
 * each address with the given port. On success n is 1..CN_RESOLVER_MAX_ADDRS
 * (extra addresses are dropped), IPv6 addresses first, then IPv4, each family
 * in the server's order. A name with only one family answers with that one.
 * On failure addrs is NULL and n 0.
 */
typedef void (*cn_resolve_addr_cb)(void *arg, int status, const struct cn_addr *addrs, size_t n);
/* 0 (callback later), -CN_EINVAL (bad name or NULL cb), -CN_EEXHAUSTED
 * (CN_RESOLVER_MAX_PENDING queries outstanding), -CN_ENOMEM. */
int cn_resolver_addrs(struct cn_resolver *r, const char *host, uint16_t port, cn_resolve_addr_cb cb,
		      void *arg);

/* One SRV target; host has no trailing dot. */
struct cn_srv {
	char host[CN_RESOLVER_NAME_MAX];
	uint16_t port, priority, weight;
};

/*
 * SRV records of name ("_cairn._udp.example.net") ordered as RFC 2782 says
 * clients must try them: ascending priority, and within one priority a
 * weighted random order (cn_resolver_srv_order). On success n is
 * 1..CN_RESOLVER_MAX_SRV; a lone target "." ("service not available here")
 * is -CN_ENOTFOUND. Targets are names: resolve them with cn_resolver_addrs.
 */
typedef void (*cn_resolve_srv_cb)(void *arg, int status, const struct cn_srv *srv, size_t n);
/* Same returns as cn_resolver_addrs. */
int cn_resolver_srv(struct cn_resolver *r, const char *name, cn_resolve_srv_cb cb, void *arg);

/*
 * Orders srv[0..n) in place by RFC 2782: ascending priority; within each
 * priority, repeatedly picks one of the remaining records by the RFC's
 * running-sum rule: with S the remaining weights' sum and a pick uniform in
 * [0, S], a record of weight w is chosen with probability w/(S+1), and the
 * pick of 0 goes to a zero-weight record if any is left (else to the first
 * remaining one). rnd(arg, bound) must return a uniform integer in [0, bound]
 * and is called once per position except the last of each priority; NULL
 * uses arc4random. Before picking, records are sorted by (priority, weight,
 * host), so a given rnd sequence always gives the same order. Pure: exposed
 * for tests and for callers that re-order after a failed target.
 */
typedef uint32_t (*cn_resolver_rnd_fn)(void *arg, uint32_t bound);
void cn_resolver_srv_order(struct cn_srv *srv, size_t n, cn_resolver_rnd_fn rnd, void *arg);

/*
 * Forwards one complete DNS query message (header, one question, optional
 * EDNS and other records) to the upstream servers and returns the answer
 * message unchanged except for its ID, which is the query's: upstream sees a
 * fresh random ID instead of the client's, so clients with predictable IDs do
 * not make upstream answers easier to spoof. NXDOMAIN and other answers with
 * an rcode c-ares accepts arrive with status 0 and their bytes; SERVFAIL,
 * NOTIMP and REFUSED make c-ares try the next server and end as -CN_EIO
 * without bytes (the node's DNS server then answers SERVFAIL itself). An
 * answer over 512 bytes on UDP is fetched again over TCP by c-ares, so the
 * answer may be larger than what the client accepts on UDP: truncating for
 * the client is the caller's job. On failure answer is NULL and len 0.
 */
typedef void (*cn_resolve_raw_cb)(void *arg, int status, const uint8_t *answer, size_t len);
/* 0 (callback later), -CN_EINVAL (not a query: shorter than a header, over
 * 65535 bytes, QR set or QDCOUNT not 1; c-ares could never match an answer to
 * it), -CN_EEXHAUSTED, -CN_ENOMEM. query is copied; the caller keeps it. */
int cn_resolver_raw(struct cn_resolver *r, const uint8_t *query, size_t len, cn_resolve_raw_cb cb,
		    void *arg);

#endif
