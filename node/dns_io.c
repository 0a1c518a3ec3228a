/* SPDX-License-Identifier: MIT */
/*
 * The node's name service: listeners and forwarding (dns_io.h).
 */
#include "node/dns_io.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "common/log.h"
#include "common/queue_compat.h"
#include "node/dns.h"
#include "node/resolver.h"

enum {
	DNS_MAX_LISTEN = 8,
	DNS_MAX_FORWARDS = 128,
	DNS_MAX_TCP = 32,
	DNS_TCP_IDLE_S = 10,
};

struct dns_tcp;

/* One query on its way upstream. */
struct dns_fwd {
	struct cn_dns_server *s;
	struct cn_dns_query q; /* for a SERVFAIL or truncated answer of our own */
	int udp_fd;	       /* UDP: where to answer from, and to whom */
	struct sockaddr_storage from;
	socklen_t fromlen;
	struct dns_tcp *tcp; /* TCP: the connection (NULL once it closed) */
	TAILQ_ENTRY(dns_fwd) entry;
	TAILQ_ENTRY(dns_fwd) tcp_entry;
};

struct dns_tcp {
	struct cn_dns_server *s;
	struct bufferevent *bev;
	TAILQ_HEAD(, dns_fwd) fwds;
	LIST_ENTRY(dns_tcp) entry;
};

struct dns_udp {
	struct cn_dns_server *s;
	int fd;
	struct event *ev;
};

struct cn_dns_server {
	struct event_base *base;
	const struct cn_dns_zone *zone;
	struct cn_resolver *resolver;
	struct dns_udp udp[DNS_MAX_LISTEN];
	struct evconnlistener *tcp[DNS_MAX_LISTEN];
	unsigned int nudp, ntcp;
	TAILQ_HEAD(, dns_fwd) fwds;
	unsigned int nfwds;
	LIST_HEAD(, dns_tcp) conns;
	unsigned int nconns;
	uint8_t in[CN_DNS_TCP_MAX];
	uint8_t out[CN_DNS_TCP_MAX + 2];
};

static void tcp_close(struct dns_tcp *c)
{
	struct dns_fwd *f;

	/* Forwards still pending answer nobody once they come back. */
	while ((f = TAILQ_FIRST(&c->fwds)) != NULL) {
		TAILQ_REMOVE(&c->fwds, f, tcp_entry);
		f->tcp = NULL;
	}
	LIST_REMOVE(c, entry);
	c->s->nconns--;
	bufferevent_free(c->bev);
	free(c);
}

static void tcp_send(struct dns_tcp *c, const uint8_t *msg, size_t len)
{
	uint8_t hdr[2];

	if (cn_dns_tcp_frame_encode(len, hdr) == 0) {
		bufferevent_write(c->bev, hdr, sizeof(hdr));
		bufferevent_write(c->bev, msg, len);
	}
}

/* Sends an answer of our own (rcode, TC) for a forwarded query. */
static void fwd_reply_empty(struct dns_fwd *f, unsigned int rcode, bool tc)
{
	struct cn_dns_server *s = f->s;
	size_t len = 0;

	if (cn_dns_encode_empty(&f->q, rcode, tc, s->out, sizeof(s->out), &len) != 0)
		return;
	if (f->tcp)
		tcp_send(f->tcp, s->out, len);
	else if (f->udp_fd >= 0)
		(void)sendto(f->udp_fd, s->out, len, MSG_DONTWAIT, (struct sockaddr *)&f->from,
			     f->fromlen);
}

static void fwd_free(struct dns_fwd *f)
{
	TAILQ_REMOVE(&f->s->fwds, f, entry);
	f->s->nfwds--;
	if (f->tcp)
		TAILQ_REMOVE(&f->tcp->fwds, f, tcp_entry);
	free(f);
}

static void fwd_answer(void *arg, int status, const uint8_t *answer, size_t len)
{
	struct dns_fwd *f = arg;
	enum cn_dns_transport t = f->tcp ? CN_DNS_TCP : CN_DNS_UDP;

	if (status != 0) {
		/* c-ares hides SERVFAIL, REFUSED and timeouts: say so ourselves. */
		fwd_reply_empty(f, CN_DNS_SERVFAIL, false);
	} else if (len > cn_dns_reply_limit(&f->q, t)) {
		fwd_reply_empty(f, CN_DNS_NOERROR, true); /* the client retries over TCP */
	} else if (f->tcp) {
		tcp_send(f->tcp, answer, len);
	} else if (f->udp_fd >= 0) {
		(void)sendto(f->udp_fd, answer, len, MSG_DONTWAIT, (struct sockaddr *)&f->from,
			     f->fromlen);
	}
	fwd_free(f);
}

/* A query the responder left to upstream. */
static void forward(struct cn_dns_server *s, const uint8_t *query, size_t len, int udp_fd,
		    const struct sockaddr *from, socklen_t fromlen, struct dns_tcp *tcp)
{
	struct dns_fwd *f = calloc(1, sizeof(*f));

	if (!f)
		return;
	f->s = s;
	f->udp_fd = udp_fd;
	f->tcp = tcp;
	if (from) {
		memcpy(&f->from, from, fromlen);
		f->fromlen = fromlen;
	}
	TAILQ_INSERT_TAIL(&s->fwds, f, entry);
	s->nfwds++;
	if (tcp)
		TAILQ_INSERT_TAIL(&tcp->fwds, f, tcp_entry);
	if (cn_dns_query_decode(query, len, &f->q) != 0) {
		fwd_free(f);
		return;
	}
	if (!s->resolver || s->nfwds > DNS_MAX_FORWARDS ||
	    cn_resolver_raw(s->resolver, query, len, fwd_answer, f) != 0) {
		fwd_reply_empty(f, CN_DNS_SERVFAIL, false);
		fwd_free(f);
	}
}

static void udp_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns_udp *u = arg;
	struct cn_dns_server *s = u->s;

	(void)what;
	for (int i = 0; i < 32; i++) {
		struct sockaddr_storage from;
		socklen_t fromlen = sizeof(from);
		size_t out_len = 0;
		ssize_t r = recvfrom(fd, s->in, sizeof(s->in), MSG_DONTWAIT,
				     (struct sockaddr *)&from, &fromlen);

		if (r < 0)
			return;
		switch (cn_dns_respond(s->zone, s->in, (size_t)r, CN_DNS_UDP, s->out,
				       CN_DNS_UDP_MAX, &out_len)) {
		case CN_DNS_ANSWER:
			(void)sendto(fd, s->out, out_len, MSG_DONTWAIT, (struct sockaddr *)&from,
				     fromlen);
			break;
		case CN_DNS_FORWARD:
			forward(s, s->in, (size_t)r, fd, (struct sockaddr *)&from, fromlen, NULL);
			break;
		case CN_DNS_DROP:
			break;
		}
	}
}

static void tcp_read_cb(struct bufferevent *bev, void *arg)
{
	struct dns_tcp *c = arg;
	struct cn_dns_server *s = c->s;
	struct evbuffer *in = bufferevent_get_input(bev);

	for (;;) {
		size_t avail = evbuffer_get_length(in), msg_len = 0, used = 0, out_len = 0;
		const uint8_t *msg;
		uint8_t *p;
		int ret;

		if (avail < 2)
			return;
		p = evbuffer_pullup(in, avail < CN_DNS_TCP_MAX + 2 ? -1 : CN_DNS_TCP_MAX + 2);
		ret = cn_dns_tcp_frame_decode(p, avail, &msg, &msg_len, &used);
		if (ret == -CN_ESHORT)
			return;
		if (ret) {
			tcp_close(c);
			return;
		}
		memcpy(s->in, msg, msg_len);
		evbuffer_drain(in, used);
		switch (cn_dns_respond(s->zone, s->in, msg_len, CN_DNS_TCP, s->out, CN_DNS_TCP_MAX,
				       &out_len)) {
		case CN_DNS_ANSWER:
			tcp_send(c, s->out, out_len);
			break;
		case CN_DNS_FORWARD:
			forward(s, s->in, msg_len, -1, NULL, 0, c);
			break;
		case CN_DNS_DROP:
			break;
		}
	}
}

static void tcp_event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)what; /* EOF, error or the idle timeout: all end the connection */
	tcp_close(arg);
}

static void tcp_accept_cb(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa,
			  int salen, void *arg)
{
	struct cn_dns_server *s = arg;
	struct timeval idle = {DNS_TCP_IDLE_S, 0};
	struct dns_tcp *c;

	(void)lis;
	(void)sa;
	(void)salen;
	if (s->nconns >= DNS_MAX_TCP || !(c = calloc(1, sizeof(*c)))) {
		evutil_closesocket(fd);
		return;
	}
	c->s = s;
	TAILQ_INIT(&c->fwds);
	c->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!c->bev) {
		evutil_closesocket(fd);
		free(c);
		return;
	}
	LIST_INSERT_HEAD(&s->conns, c, entry);
	s->nconns++;
	bufferevent_setcb(c->bev, tcp_read_cb, NULL, tcp_event_cb, c);
	bufferevent_set_timeouts(c->bev, &idle, &idle);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

struct cn_dns_server *cn_dns_server_new(struct event_base *base, const struct cn_dns_zone *zone,
					struct cn_resolver *resolver)
{
	struct cn_dns_server *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->base = base;
	s->zone = zone;
	s->resolver = resolver;
	TAILQ_INIT(&s->fwds);
	LIST_INIT(&s->conns);
	return s;
}

/*
 * A socket of type on addr, bound to device ifname first when one is given
 * (SO_BINDTODEVICE before bind(), so not one packet from another interface
 * is ever queued on it). -1 with e set on failure.
 */
static int bound_socket(int type, const struct cn_addr *addr, const char *ifname, const char *what,
			struct cn_errbuf *e)
{
	char text[CN_ADDR_TEXT_MAX];
	int fd, one = 1;

	cn_addr_format((const struct sockaddr *)&addr->ss, text);
	fd = socket(addr->ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	if (addr->ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (type == SOCK_STREAM && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)))
		goto fail;
	if (ifname && ifname[0] &&
	    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname, (socklen_t)strlen(ifname))) {
		cn_errbuf_set(e, "dns %s/%s: cannot bind to device %s: %s", text, what, ifname,
			      strerror(errno));
		close(fd);
		return -1;
	}
	if (bind(fd, (const struct sockaddr *)&addr->ss, addr->len) == 0)
		return fd;
fail:
	cn_errbuf_set(e, "dns %s/%s: %s", text, what, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

int cn_dns_server_listen(struct cn_dns_server *s, const struct cn_addr *addr, struct cn_errbuf *e)
{
	return cn_dns_server_listen_on(s, addr, NULL, e);
}

/* One UDP and one TCP listener on addr, bound to ifname when given. */
static int listen_one(struct cn_dns_server *s, const struct cn_addr *addr, const char *ifname,
		      struct cn_errbuf *e)
{
	char text[CN_ADDR_TEXT_MAX];
	struct dns_udp *u;
	int fd, tfd;

	cn_addr_format((const struct sockaddr *)&addr->ss, text);
	if (s->nudp == DNS_MAX_LISTEN) {
		cn_errbuf_set(e, "dns %s: too many listeners", text);
		return -CN_EINVAL;
	}
	fd = bound_socket(SOCK_DGRAM, addr, ifname, "udp", e);
	if (fd < 0)
		return -CN_EIO;
	u = &s->udp[s->nudp];
	u->s = s;
	u->fd = fd;
	u->ev = event_new(s->base, fd, EV_READ | EV_PERSIST, udp_read_cb, u);
	if (!u->ev || event_add(u->ev, NULL) != 0) {
		cn_errbuf_set(e, "dns %s/udp: cannot watch the socket", text);
		if (u->ev)
			event_free(u->ev);
		close(fd);
		return -CN_ENOMEM;
	}
	s->nudp++;
	tfd = bound_socket(SOCK_STREAM, addr, ifname, "tcp", e);
	if (tfd < 0)
		return -CN_EIO;
	/* evconnlistener_new calls listen() and owns tfd from here. */
	s->tcp[s->ntcp] = evconnlistener_new(
		s->base, tcp_accept_cb, s, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 16, tfd);
	if (!s->tcp[s->ntcp]) {
		cn_errbuf_set(e, "dns %s/tcp: %s", text, strerror(errno));
		close(tfd);
		return -CN_EIO;
	}
	s->ntcp++;
	return 0;
}

int cn_dns_server_listen_on(struct cn_dns_server *s, const struct cn_addr *addr, const char *ifname,
			    struct cn_errbuf *e)
{
	char text[CN_ADDR_TEXT_MAX];
	int ret;

	cn_addr_format((const struct sockaddr *)&addr->ss, text);
	ret = listen_one(s, addr, ifname, e);
	if (ret == 0 && ifname && ifname[0])
		cn_log_info("names served on %s (UDP and TCP), only through %s", text, ifname);
	else if (ret == 0)
		cn_log_info("names served on %s (UDP and TCP)", text);
	return ret;
}

void cn_dns_server_free(struct cn_dns_server *s)
{
	struct dns_tcp *c;
	struct dns_fwd *f;

	if (!s)
		return;
	while ((c = LIST_FIRST(&s->conns)) != NULL)
		tcp_close(c);
	while ((f = TAILQ_FIRST(&s->fwds)) != NULL)
		fwd_free(f);
	for (unsigned int i = 0; i < s->nudp; i++) {
		event_free(s->udp[i].ev);
		close(s->udp[i].fd);
	}
	for (unsigned int i = 0; i < s->ntcp; i++)
		evconnlistener_free(s->tcp[i]);
	free(s);
}
