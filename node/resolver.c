/* SPDX-License-Identifier: MIT */
/*
 * c-ares 1.18 on libevent (see resolver.h for the contract). An I/O shell:
 * owns the c-ares channel, its sockets' events and one timer; logs failed
 * lookups at debug level only.
 *
 * Integration (docs: shared NOTES-deps section 2): c-ares tells us which
 * sockets it wants watched through its socket-state callback, and we keep
 * one persistent event per socket; readiness and the single timer both call
 * ares_process_fd(), and the timer is re-armed from ares_timeout() after
 * every processing step and every submission, so retries and timeouts fire
 * without any polling.
 *
 * Re-entrancy: user callbacks never run inside c-ares. The c-ares completion
 * callbacks only copy results into a `struct query` and queue it; a deferred
 * event delivers the queue. That makes literals (answered synchronously)
 * deferred like everything else, and lets a user callback free the resolver:
 * ares_destroy() is then never called from inside ares_process_fd().
 *
 * c-ares 1.18 quirks handled here:
 *  - ares_getaddrinfo() ignores ARES_FLAG_NOSEARCH and walks the resolv.conf
 *    search list; giving ARES_OPT_DOMAINS with zero domains is what stops it.
 *  - ares_getaddrinfo(AF_UNSPEC) does not recognise IPv4 literals (its IPv6
 *    check overwrites the IPv4 result) and sends them to DNS; literals are
 *    therefore answered here without c-ares.
 *  - ares_send() keeps the caller's query ID, so the raw path swaps in a
 *    random ID and restores the client's on the answer.
 *  - ARES_FLAG_EDNS is not set: on a FORMERR answer 1.18 strips 11 bytes off
 *    the end of the query assuming it added an OPT record itself, which would
 *    corrupt forwarded queries. Without it, UDP answers over 512 bytes are
 *    refetched over TCP.
 *  - During ares_destroy() a getaddrinfo whose A half had already answered
 *    completes with ARES_SUCCESS, not ARES_EDESTRUCTION, so completions are
 *    dropped on the resolver's `dying` flag, never on the status.
 */
#include "node/resolver.h"

#include <ares.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"
#include "common/queue_compat.h"

enum {
	DNS_HDR_LEN = 12,
	DNS_MSG_MAX = 65535,
	NAME_TEXT_MAX = 253, /* without the optional trailing dot */
};

enum qkind {
	Q_ADDR,
	Q_SRV,
	Q_RAW,
};

/* One submitted query; owned by c-ares until its completion callback, then by r->done. */
struct query {
	TAILQ_ENTRY(query) link;
	struct cn_resolver *r;
	enum qkind kind;
	cn_resolve_addr_cb addr_cb;
	cn_resolve_srv_cb srv_cb;
	cn_resolve_raw_cb raw_cb;
	void *arg;
	int status;
	uint16_t port; /* Q_ADDR */
	uint8_t id[2]; /* Q_RAW: the client's query ID, big-endian */
	struct cn_addr *addrs;
	struct cn_srv *srv;
	uint8_t *answer;
	size_t n;			 /* entries in addrs or srv, bytes in answer */
	char name[CN_RESOLVER_NAME_MAX]; /* for log lines; "" for raw */
};

TAILQ_HEAD(query_list, query);

/* A socket c-ares asked us to watch. */
struct sock {
	struct sock *next;
	ares_socket_t fd;
	short what;
	struct event *ev;
};

struct cn_resolver {
	struct event_base *base;
	ares_channel ch;
	bool lib_init;
	bool dying;	 /* in cn_resolver_free: drop completions */
	bool in_deliver; /* deliver_cb is running callbacks: it frees r if dying */
	struct sock *socks;
	struct event *timer;   /* c-ares's next timeout */
	struct event *deliver; /* runs callbacks of r->done */
	struct query_list done;
	unsigned int outstanding; /* submitted, callback not yet run */
};

static void query_free(struct query *q)
{
	if (!q)
		return;
	free(q->addrs);
	free(q->srv);
	free(q->answer);
	free(q);
}

static int map_status(int st)
{
	switch (st) {
	case ARES_SUCCESS:
		return 0;
	case ARES_ENODATA:
	case ARES_ENOTFOUND:
	case ARES_ENONAME:
		return -CN_ENOTFOUND;
	case ARES_ETIMEOUT:
		return -CN_ETIMEDOUT;
	case ARES_ENOMEM:
		return -CN_ENOMEM;
	case ARES_EBADNAME:
	case ARES_EBADQUERY:
	case ARES_EBADSTR:
	case ARES_EBADFAMILY:
		return -CN_EINVAL;
	default:
		return -CN_EIO;
	}
}

static const char *kind_name(enum qkind k)
{
	switch (k) {
	case Q_ADDR:
		return "A/AAAA";
	case Q_SRV:
		return "SRV";
	case Q_RAW:
		return "forwarded query";
	}
	return "?";
}

static void rearm(struct cn_resolver *r)
{
	struct timeval tv, *tvp;

	tvp = ares_timeout(r->ch, NULL, &tv);
	if (!tvp)
		evtimer_del(r->timer);
	else if (evtimer_add(r->timer, tvp) < 0)
		cn_log_err("resolver: cannot arm the DNS timer");
}

static void sock_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cn_resolver *r = arg;

	/* May free this very event (socket-state callback); do not touch it after. */
	ares_process_fd(r->ch, (what & EV_READ) ? fd : ARES_SOCKET_BAD,
			(what & EV_WRITE) ? fd : ARES_SOCKET_BAD);
	rearm(r);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cn_resolver *r = arg;

	(void)fd;
	(void)what;
	ares_process_fd(r->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	rearm(r);
}

/*
 * c-ares's socket-state callback: readable/writable both 0 means the socket
 * is about to be closed (c-ares calls this before close, so event_del sees a
 * live fd). If an event cannot be set up the socket stays unwatched and its
 * queries end by timeout: bounded, never stuck.
 */
static void sock_state_cb(void *data, ares_socket_t fd, int readable, int writable)
{
	struct cn_resolver *r = data;
	struct sock **pp, *s;
	short what = (short)((readable ? EV_READ : 0) | (writable ? EV_WRITE : 0));

	for (pp = &r->socks; *pp && (*pp)->fd != fd; pp = &(*pp)->next)
		;
	s = *pp;
	if (s && s->what == what && s->ev)
		return;
	if (s) {
		event_free(s->ev);
		s->ev = NULL;
		s->what = 0;
		if (!what) {
			*pp = s->next;
			free(s);
			return;
		}
	} else {
		if (!what)
			return;
		s = calloc(1, sizeof(*s));
		if (!s)
			goto fail;
		s->fd = fd;
		s->next = r->socks;
		r->socks = s;
	}
	s->ev = event_new(r->base, fd, (short)(what | EV_PERSIST), sock_cb, r);
	if (!s->ev || event_add(s->ev, NULL) < 0) {
		event_free(s->ev);
		s->ev = NULL;
		goto fail;
	}
	s->what = what;
	return;
fail:
	cn_log_err("resolver: cannot watch DNS socket %d; its queries will time out", (int)fd);
}

/* Queues a finished query for delivery, or drops it while the resolver is being freed. */
static void complete(struct query *q)
{
	struct cn_resolver *r = q->r;

	if (r->dying) {
		query_free(q);
		return;
	}
	if (q->status) {
		free(q->addrs);
		free(q->srv);
		free(q->answer);
		q->addrs = NULL;
		q->srv = NULL;
		q->answer = NULL;
		q->n = 0;
	}
	TAILQ_INSERT_TAIL(&r->done, q, link);
	event_active(r->deliver, EV_TIMEOUT, 0);
}

static void log_failure(const struct query *q, int ares_status)
{
	cn_log_debug("resolver: %s %s: %s", kind_name(q->kind), q->name,
		     ares_strerror(ares_status));
}

static void fill_addr(struct cn_addr *a, int family, const void *ip, uint16_t port)
{
	memset(a, 0, sizeof(*a));
	if (family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&a->ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		memcpy(&s6->sin6_addr, ip, sizeof(s6->sin6_addr));
		a->len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&a->ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		memcpy(&s4->sin_addr, ip, sizeof(s4->sin_addr));
		a->len = sizeof(*s4);
	}
}

static void addr_done(void *arg, int status, int timeouts, struct ares_addrinfo *res)
{
	struct query *q = arg;
	const struct ares_addrinfo_node *node;
	static const int families[] = {AF_INET6, AF_INET};
	size_t i, n = 0;

	(void)timeouts;
	if (q->r->dying)
		goto out;
	q->status = map_status(status);
	if (q->status) {
		log_failure(q, status);
		goto out;
	}
	q->addrs = calloc(CN_RESOLVER_MAX_ADDRS, sizeof(*q->addrs));
	if (!q->addrs) {
		q->status = -CN_ENOMEM;
		goto out;
	}
	for (i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
		for (node = res ? res->nodes : NULL; node && n < CN_RESOLVER_MAX_ADDRS;
		     node = node->ai_next) {
			if (node->ai_family != families[i] || !node->ai_addr)
				continue;
			if (node->ai_family == AF_INET6 &&
			    node->ai_addrlen >= (ares_socklen_t)sizeof(struct sockaddr_in6))
				fill_addr(
					&q->addrs[n++], AF_INET6,
					&((const struct sockaddr_in6 *)(const void *)node->ai_addr)
						 ->sin6_addr,
					q->port);
			else if (node->ai_family == AF_INET &&
				 node->ai_addrlen >= (ares_socklen_t)sizeof(struct sockaddr_in))
				fill_addr(&q->addrs[n++], AF_INET,
					  &((const struct sockaddr_in *)(const void *)node->ai_addr)
						   ->sin_addr,
					  q->port);
		}
	}
	q->n = n;
	if (!n) {
		q->status = -CN_ENOTFOUND;
		log_failure(q, ARES_ENODATA);
	}
out:
	if (res)
		ares_freeaddrinfo(res);
	complete(q);
}

static void srv_done(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct query *q = arg;
	struct ares_srv_reply *list = NULL;
	const struct ares_srv_reply *s;
	size_t count = 0, n = 0, len;

	(void)timeouts;
	if (q->r->dying)
		goto out;
	if (status == ARES_SUCCESS)
		status = ares_parse_srv_reply(abuf, alen, &list);
	q->status = map_status(status);
	if (q->status) {
		log_failure(q, status);
		goto out;
	}
	for (s = list; s; s = s->next)
		count++;
	q->srv = calloc(count ? count : 1, sizeof(*q->srv));
	if (!q->srv) {
		q->status = -CN_ENOMEM;
		goto out;
	}
	for (s = list; s; s = s->next) {
		len = s->host ? strlen(s->host) : 0;
		if (len && s->host[len - 1] == '.')
			len--;
		/* "." (RFC 2782: not available) and names we cannot hold are no target. */
		if (!len || len >= CN_RESOLVER_NAME_MAX)
			continue;
		memcpy(q->srv[n].host, s->host, len);
		q->srv[n].host[len] = '\0';
		q->srv[n].port = s->port;
		q->srv[n].priority = s->priority;
		q->srv[n].weight = s->weight;
		n++;
	}
	if (!n) {
		q->status = -CN_ENOTFOUND;
		log_failure(q, ARES_ENODATA);
		goto out;
	}
	cn_resolver_srv_order(q->srv, n, NULL, NULL);
	q->n = n < CN_RESOLVER_MAX_SRV ? n : CN_RESOLVER_MAX_SRV;
out:
	if (list)
		ares_free_data(list);
	complete(q);
}

static void raw_done(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct query *q = arg;

	(void)timeouts;
	if (q->r->dying) {
		complete(q);
		return;
	}
	if (status == ARES_SUCCESS && (!abuf || alen < DNS_HDR_LEN))
		status = ARES_EBADRESP;
	q->status = map_status(status);
	if (q->status) {
		log_failure(q, status);
	} else if (!(q->answer = malloc((size_t)alen))) {
		q->status = -CN_ENOMEM;
	} else {
		memcpy(q->answer, abuf, (size_t)alen);
		q->answer[0] = q->id[0];
		q->answer[1] = q->id[1];
		q->n = (size_t)alen;
	}
	complete(q);
}

static void deliver_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cn_resolver *r = arg;
	struct query_list batch = TAILQ_HEAD_INITIALIZER(batch);
	struct query *q;

	(void)fd;
	(void)what;
	/* Only what is queued now: queries completing during callbacks re-activate us. */
	TAILQ_CONCAT(&batch, &r->done, link);
	r->in_deliver = true;
	while ((q = TAILQ_FIRST(&batch))) {
		TAILQ_REMOVE(&batch, q, link);
		if (!r->dying) { /* freed by a callback: drop the rest */
			r->outstanding--;
			switch (q->kind) {
			case Q_ADDR:
				q->addr_cb(q->arg, q->status, q->addrs, q->n);
				break;
			case Q_SRV:
				q->srv_cb(q->arg, q->status, q->srv, q->n);
				break;
			case Q_RAW:
				q->raw_cb(q->arg, q->status, q->answer, q->n);
				break;
			}
		}
		query_free(q);
	}
	r->in_deliver = false;
	if (r->dying)
		free(r); /* the rest of cn_resolver_free already ran */
}

struct cn_resolver *cn_resolver_new(struct event_base *base, const char *servers_csv,
				    unsigned int timeout_ms, unsigned int tries,
				    struct cn_errbuf *e)
{
	struct cn_resolver *r = NULL, *ret = NULL;
	struct ares_options o;
	char lookups[] = "b";
	int st;

	if (!base) {
		cn_errbuf_set(e, "resolver: no event base");
		goto out;
	}
	if (!timeout_ms)
		timeout_ms = CN_RESOLVER_DEFAULT_TIMEOUT_MS;
	if (!tries)
		tries = CN_RESOLVER_DEFAULT_TRIES;
	if (timeout_ms > CN_RESOLVER_MAX_TIMEOUT_MS || tries > CN_RESOLVER_MAX_TRIES) {
		cn_errbuf_set(e, "DNS timeout %u ms / %u tries over the limit (%d ms, %d tries)",
			      timeout_ms, tries, CN_RESOLVER_MAX_TIMEOUT_MS, CN_RESOLVER_MAX_TRIES);
		goto out;
	}
	if (servers_csv && !servers_csv[0]) {
		/* c-ares 1.18 would take "" as success and keep resolv.conf's servers. */
		cn_errbuf_set(e, "empty DNS server list");
		goto out;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		cn_errbuf_set(e, "resolver: out of memory");
		goto out;
	}
	r->base = base;
	TAILQ_INIT(&r->done);
	st = ares_library_init(ARES_LIB_INIT_ALL);
	if (st != ARES_SUCCESS) {
		cn_errbuf_set(e, "c-ares init: %s", ares_strerror(st));
		goto out;
	}
	r->lib_init = true;
	r->timer = evtimer_new(base, timer_cb, r);
	r->deliver = event_new(base, -1, 0, deliver_cb, r);
	if (!r->timer || !r->deliver) {
		cn_errbuf_set(e, "resolver: cannot create events");
		goto out;
	}

	memset(&o, 0, sizeof(o));
	o.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES;
	o.timeout = (int)timeout_ms; /* milliseconds with ARES_OPT_TIMEOUTMS */
	o.tries = (int)tries;
	o.domains = NULL; /* zero search domains: see the quirks above */
	o.ndomains = 0;
	o.lookups = lookups;
	o.sock_state_cb = sock_state_cb;
	o.sock_state_cb_data = r;
	st = ares_init_options(&r->ch, &o,
			       ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES |
				       ARES_OPT_DOMAINS | ARES_OPT_LOOKUPS |
				       ARES_OPT_SOCK_STATE_CB);
	if (st != ARES_SUCCESS) {
		r->ch = NULL;
		cn_errbuf_set(e, "c-ares channel: %s", ares_strerror(st));
		goto out;
	}
	if (servers_csv) {
		st = ares_set_servers_ports_csv(r->ch, servers_csv);
		if (st != ARES_SUCCESS) {
			cn_errbuf_set(e,
				      "DNS servers '%s': %s (want ip[:port] or [ip6]:port, "
				      "comma-separated)",
				      servers_csv, ares_strerror(st));
			goto out;
		}
	}
	ret = r;
	r = NULL;
out:
	cn_resolver_free(r);
	return ret;
}

void cn_resolver_free(struct cn_resolver *r)
{
	struct sock *s;
	struct query *q;

	if (!r)
		return;
	r->dying = true;
	/* Runs every pending c-ares callback (dropped, as dying) and closes the sockets. */
	if (r->ch)
		ares_destroy(r->ch);
	while ((s = r->socks)) {
		r->socks = s->next;
		event_free(s->ev);
		free(s);
	}
	while ((q = TAILQ_FIRST(&r->done))) {
		TAILQ_REMOVE(&r->done, q, link);
		query_free(q);
	}
	if (r->timer)
		event_free(r->timer);
	if (r->deliver)
		event_free(r->deliver);
	if (r->lib_init)
		ares_library_cleanup();
	/*
	 * Called from a callback: everything else is gone (libevent allows
	 * freeing the running event), but deliver_cb still reads r, and frees it.
	 */
	if (!r->in_deliver)
		free(r);
}

static bool name_ok(const char *name)
{
	size_t len;

	if (!name)
		return false;
	len = strlen(name);
	if (len && name[len - 1] == '.')
		len--;
	return len > 0 && len <= NAME_TEXT_MAX;
}

static int query_new(struct cn_resolver *r, enum qkind kind, void *arg, struct query **out)
{
	struct query *q;

	*out = NULL;
	if (r->dying)
		return -CN_ESTATE;
	if (r->outstanding >= CN_RESOLVER_MAX_PENDING)
		return -CN_EEXHAUSTED;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -CN_ENOMEM;
	q->r = r;
	q->kind = kind;
	q->arg = arg;
	r->outstanding++;
	*out = q;
	return 0;
}

/* Undoes query_new for a query c-ares never saw. */
static void query_drop(struct cn_resolver *r, struct query *q)
{
	r->outstanding--;
	query_free(q);
}

/*
 * IP literals and "localhost" (RFC 6761 section 6.3) without DNS.
 * Returns 1 if answered (q->addrs/n set), 0 if host needs DNS, -CN_ENOMEM.
 */
static int answer_locally(struct query *q, const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (inet_pton(AF_INET, host, &a4) == 1) {
		q->addrs = calloc(1, sizeof(*q->addrs));
		if (!q->addrs)
			return -CN_ENOMEM;
		fill_addr(&q->addrs[0], AF_INET, &a4, q->port);
		q->n = 1;
		return 1;
	}
	if (inet_pton(AF_INET6, host, &a6) == 1) {
		q->addrs = calloc(1, sizeof(*q->addrs));
		if (!q->addrs)
			return -CN_ENOMEM;
		fill_addr(&q->addrs[0], AF_INET6, &a6, q->port);
		q->n = 1;
		return 1;
	}
	if (!strcasecmp(host, "localhost") || !strcasecmp(host, "localhost.")) {
		q->addrs = calloc(2, sizeof(*q->addrs));
		if (!q->addrs)
			return -CN_ENOMEM;
		a4.s_addr = htonl(INADDR_LOOPBACK);
		fill_addr(&q->addrs[0], AF_INET6, &in6addr_loopback, q->port);
		fill_addr(&q->addrs[1], AF_INET, &a4, q->port);
		q->n = 2;
		return 1;
	}
	return 0;
}

int cn_resolver_addrs(struct cn_resolver *r, const char *host, uint16_t port, cn_resolve_addr_cb cb,
		      void *arg)
{
	struct ares_addrinfo_hints hints;
	struct query *q;
	int ret;

	if (!r || !cb || !name_ok(host))
		return -CN_EINVAL;
	ret = query_new(r, Q_ADDR, arg, &q);
	if (ret)
		return ret;
	q->addr_cb = cb;
	q->port = port;
	snprintf(q->name, sizeof(q->name), "%s", host);
	ret = answer_locally(q, host);
	if (ret < 0) {
		query_drop(r, q);
		return ret;
	}
	if (ret == 1) {
		complete(q);
		return 0;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	/* No RFC 6724 sort: in 1.18 it opens and connects a probe socket per address. */
	hints.ai_flags = ARES_AI_NOSORT;
	/* No service: the port is set here, so c-ares never consults /etc/services. */
	ares_getaddrinfo(r->ch, host, NULL, &hints, addr_done, q);
	rearm(r);
	return 0;
}

int cn_resolver_srv(struct cn_resolver *r, const char *name, cn_resolve_srv_cb cb, void *arg)
{
	struct query *q;
	int ret;

	if (!r || !cb || !name_ok(name))
		return -CN_EINVAL;
	ret = query_new(r, Q_SRV, arg, &q);
	if (ret)
		return ret;
	q->srv_cb = cb;
	snprintf(q->name, sizeof(q->name), "%s", name);
	ares_query(r->ch, name, ns_c_in, ns_t_srv, srv_done, q);
	rearm(r);
	return 0;
}

int cn_resolver_raw(struct cn_resolver *r, const uint8_t *query, size_t len, cn_resolve_raw_cb cb,
		    void *arg)
{
	struct query *q;
	uint8_t *copy;
	uint32_t id;
	int ret;

	if (!r || !query || !cb || len < DNS_HDR_LEN || len > DNS_MSG_MAX)
		return -CN_EINVAL;
	/* QR clear (a query), exactly one question (c-ares matches answers on it). */
	if ((query[2] & 0x80) || query[4] != 0 || query[5] != 1)
		return -CN_EINVAL;
	ret = query_new(r, Q_RAW, arg, &q);
	if (ret)
		return ret;
	copy = malloc(len);
	if (!copy) {
		query_drop(r, q);
		return -CN_ENOMEM;
	}
	q->raw_cb = cb;
	q->id[0] = query[0];
	q->id[1] = query[1];
	memcpy(copy, query, len);
	id = arc4random();
	copy[0] = (uint8_t)(id >> 8);
	copy[1] = (uint8_t)id;
	ares_send(r->ch, copy, (int)len, raw_done, q); /* copies the message */
	free(copy);
	rearm(r);
	return 0;
}

/* Priority, then weight (zero weights first, as RFC 2782 wants), then name: a total order. */
static int srv_cmp(const void *a, const void *b)
{
	const struct cn_srv *x = a, *y = b;

	if (x->priority != y->priority)
		return (int)x->priority - (int)y->priority;
	if (x->weight != y->weight)
		return (int)x->weight - (int)y->weight;
	return strcmp(x->host, y->host);
}

static uint32_t default_rnd(void *arg, uint32_t bound)
{
	(void)arg;
	return bound == UINT32_MAX ? arc4random() : arc4random_uniform(bound + 1);
}

static void srv_swap(struct cn_srv *a, struct cn_srv *b)
{
	struct cn_srv t;

	if (a == b)
		return;
	t = *a;
	*a = *b;
	*b = t;
}

/*
 * RFC 2782's selection, restated: with the zero-weight records first and a
 * random pick in [0, sum of weights], the chosen record is the first whose
 * running sum reaches the pick. So a pick of 0 chooses a zero-weight record
 * if any remain (which one does not matter: "any order"), and otherwise the
 * choice is the positive-weight record whose running sum first reaches the
 * pick. Selection by swapping keeps this O(n^2) per priority without moving
 * whole arrays.
 */
void cn_resolver_srv_order(struct cn_srv *srv, size_t n, cn_resolver_rnd_fn rnd, void *arg)
{
	size_t start, end, i, j, zero;
	uint64_t sum, run;
	uint32_t pick;

	if (!srv || n < 2)
		return;
	if (!rnd)
		rnd = default_rnd;
	qsort(srv, n, sizeof(*srv), srv_cmp);
	for (start = 0; start < n; start = end) {
		for (end = start + 1; end < n && srv[end].priority == srv[start].priority; end++)
			;
		for (i = start; i + 1 < end; i++) {
			sum = 0;
			zero = end;
			for (j = i; j < end; j++) {
				sum += srv[j].weight;
				if (!srv[j].weight && zero == end)
					zero = j;
			}
			pick = sum ? rnd(arg, sum > UINT32_MAX ? UINT32_MAX : (uint32_t)sum) : 0;
			if (pick == 0 && zero != end) {
				j = zero;
			} else {
				run = 0;
				for (j = i; j < end; j++) {
					run += srv[j].weight;
					if (srv[j].weight && run >= pick)
						break;
				}
				if (j == end) /* rnd out of range: take the last one */
					j = end - 1;
			}
			srv_swap(&srv[i], &srv[j]);
		}
	}
}
