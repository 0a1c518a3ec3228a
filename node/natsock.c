/* SPDX-License-Identifier: MIT */
/*
 * The node-wide UDP socket and the birthday sockets (node_int.h; the
 * engine's side is engine_bday.c).
 *
 * The node-wide socket is bound once at start (nat.port, 0: any port) and
 * kept for the node's life, so its NAT mapping is stable: unlike the
 * per-peer sockets libnice makes for each ICE run, it has one reflexive
 * address worth announcing. It serves the easy side of birthday attempts
 * (probes go out from it; the path found is it) and tells what kind of NAT
 * this node is behind.
 *
 * Classification (why STUN to one relay's two ports): every CLASSIFY_MS,
 * and at once when the first relay link comes up, it sends a STUN Binding
 * Request to a relay's STUN port and to its UDP link port (the relay
 * answers STUN on both; netcheck does the same). One external port for
 * both is an endpoint-independent mapping (easy), two ports an
 * endpoint-dependent one (hard); an external address that is one of ours
 * is no NAT. This needs one relay and one round trip, where comparing the
 * reflexive ports libnice gathered would need two STUN servers in every
 * ICE run and reaches the engine only after ICE has started; RFC 5780's
 * CHANGE-REQUEST needs a server with two addresses, which the relay is
 * not. The requests are repeated (three tries a round, 500 ms apart; the
 * next round after 2 s while the kind is still unknown); a round with an
 * answer on one port only changes nothing. A round answered on both ports
 * ends there: the next is CLASSIFY_MS later.
 *
 * Birthday sockets (hard side): up to nat/birthday.h's 256 per attempt,
 * one at a time as the engine asks (bday_open); each is read for the
 * probe that finds it; the one that wins becomes the peer's direct socket
 * (node_direct_adopt), the rest are closed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/util.h>
#include <sodium.h>

#include "common/clock.h"
#include "common/err.h"
#include "crypto/handshake.h"
#include "nat/stun.h"
#include "node/node_int.h"

enum {
	CLASSIFY_MS = 25000, /* also keeps the socket's mapping alive */
	CLASSIFY_TRY_MS = 500,
	CLASSIFY_TRIES = 3,
	CLASSIFY_RETRY_MS = 2000,
};

struct node_bday_sock {
	struct cn_peer *p;
	uint16_t index;
	int fd;
	struct event *ev;
};

/* What the shell holds for one peer's birthday attempt (node_peer_io.bday). */
struct node_bday {
	struct node_bday_sock s[CN_BDAY_SOCKETS_MAX];
	uint16_t n; /* opened: s[0..n-1], fd -1 once closed */
};

static bool is_local(const struct cn_stun_addr *m)
{
	struct ifaddrs *ifa = NULL;
	bool found = false;

	if (m->family != CN_STUN_FAMILY_IPV4 || getifaddrs(&ifa) != 0)
		return false;
	for (struct ifaddrs *i = ifa; i && !found; i = i->ifa_next)
		if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET &&
		    memcmp(&((struct sockaddr_in *)i->ifa_addr)->sin_addr, m->ip, 4) == 0)
			found = true;
	freeifaddrs(ifa);
	return found;
}

static void classified(struct cn_node *n, uint64_t now)
{
	struct node_natsock *ns = &n->natsock;
	const struct cn_stun_addr *a = &ns->mapped[0], *b = &ns->mapped[1];
	enum cn_nat_kind kind;
	struct cn_addr refl = {0};
	struct sockaddr_in *s4 = (struct sockaddr_in *)&refl.ss;
	static const char *const names[] = {"unknown", "none", "easy", "hard"};

	if (!a->family || !b->family)
		return;
	if (a->family != CN_STUN_FAMILY_IPV4)
		return;
	if (memcmp(a->ip, b->ip, 4) != 0 || a->port != b->port)
		kind = CN_NAT_HARD;
	else if (is_local(a))
		kind = CN_NAT_NONE;
	else
		kind = CN_NAT_EASY;
	s4->sin_family = AF_INET;
	s4->sin_port = htons(a->port);
	memcpy(&s4->sin_addr, a->ip, 4);
	refl.len = sizeof(*s4);
	if (kind != ns->kind)
		cn_log_info("NAT of the node-wide socket (port %u): %s, seen as %s:%u and %u",
			    ns->port, names[kind], inet_ntoa(s4->sin_addr), a->port, b->port);
	ns->kind = kind;
	/* Answered: the next round is a whole CLASSIFY_MS away (not the next try's 500 ms). */
	ns->round_done = true;
	ns->next_ms = now + CLASSIFY_MS;
	cn_engine_nat_kind(n->eng, now, kind, &refl);
}

static void natsock_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cn_node *n = arg;
	struct node_natsock *ns = &n->natsock;
	uint64_t now = cn_clock_ms();

	(void)what;
	for (int i = 0; i < NODE_BATCH; i++) {
		struct cn_addr src = {0};
		socklen_t sl = sizeof(src.ss);
		ssize_t got = recvfrom(fd, n->buf, NODE_DGRAM_MAX, MSG_DONTWAIT,
				       (struct sockaddr *)&src.ss, &sl);

		if (got <= 0)
			return;
		src.len = sl;
		/* A session message: type 1..4 and three zero bytes; STUN has its length there. */
		if (got >= 4 && n->buf[0] >= CN_MSG_INITIATION && n->buf[0] <= CN_MSG_DATA &&
		    !n->buf[1] && !n->buf[2] && !n->buf[3]) {
			cn_engine_receive_nat(n->eng, now, NULL, -1, n->buf, (size_t)got, &src);
			continue;
		}
		for (int k = 0; k < 2; k++) {
			struct cn_stun_addr m;

			if (cn_stun_decode_binding_response(n->buf, (size_t)got, ns->tid[k], &m) ==
			    0) {
				ns->mapped[k] = m;
				classified(n, now);
			}
		}
	}
}

int node_natsock_open(struct cn_node *n, struct cn_errbuf *e)
{
	struct node_natsock *ns = &n->natsock;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(n->cfg.nat_port)};
	socklen_t al = sizeof(a);

	ns->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (ns->fd < 0 || bind(ns->fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    getsockname(ns->fd, (struct sockaddr *)&a, &al) != 0) {
		cn_errbuf_set(e, "node-wide UDP socket (nat.port %u): %s", n->cfg.nat_port,
			      strerror(errno));
		node_natsock_close(n);
		return -CN_EIO;
	}
	ns->port = ntohs(a.sin_port);
	ns->ev = event_new(n->base, ns->fd, EV_READ | EV_PERSIST, natsock_read_cb, n);
	if (!ns->ev || event_add(ns->ev, NULL) != 0) {
		cn_errbuf_set(e, "node-wide UDP socket: cannot watch it");
		node_natsock_close(n);
		return -CN_ENOMEM;
	}
	return 0;
}

void node_natsock_close(struct cn_node *n)
{
	struct node_natsock *ns = &n->natsock;

	if (ns->ev)
		event_free(ns->ev);
	ns->ev = NULL;
	if (ns->fd >= 0)
		close(ns->fd);
	ns->fd = -1;
}

/* Two Binding Requests: the relay's STUN port and its link port. */
static void classify_send(struct cn_node *n, const struct node_relay *r)
{
	struct node_natsock *ns = &n->natsock;

	for (int k = 0; k < 2; k++) {
		struct cn_addr to = r->addr;
		uint8_t req[CN_STUN_MSG_MAX];
		size_t len = 0;

		if (k == 0)
			((struct sockaddr_in *)&to.ss)->sin_port = htons(r->stun_port);
		if (cn_stun_encode_binding_request(ns->tid[k], CN_STUN_CLIENT_SOFTWARE, req,
						   sizeof(req), &len) == 0)
			sendto(ns->fd, req, len, MSG_DONTWAIT, (const struct sockaddr *)&to.ss,
			       to.len);
	}
}

uint64_t node_natsock_tick(struct cn_node *n, uint64_t now)
{
	struct node_natsock *ns = &n->natsock;
	struct node_relay *r, *use = NULL;

	if (ns->fd < 0)
		return UINT64_MAX;
	TAILQ_FOREACH (r, &n->relays, entry)
		if (r->up && r->have_addr && r->addr.ss.ss_family == AF_INET && r->stun_port) {
			use = r;
			break;
		}
	if (!use)
		return now + CLASSIFY_MS; /* looked at again when a link comes up (relays.c) */
	if (now < ns->next_ms)
		return ns->next_ms;
	if (ns->tries == 0 || ns->round_done || ns->tries >= CLASSIFY_TRIES) {
		/* A new round: new transaction ids, answers of the last one forgotten. */
		randombytes_buf(ns->tid, sizeof(ns->tid));
		memset(ns->mapped, 0, sizeof(ns->mapped));
		ns->round_done = false;
		ns->tries = 0;
	}
	classify_send(n, use);
	ns->tries++;
	if (ns->tries < CLASSIFY_TRIES)
		ns->next_ms = now + CLASSIFY_TRY_MS;
	else /* unanswered while the kind is unknown: again soon */
		ns->next_ms = now + (ns->kind == CN_NAT_UNKNOWN ? CLASSIFY_RETRY_MS : CLASSIFY_MS);
	return ns->next_ms;
}

void node_natsock_relay_up(struct cn_node *n)
{
	if (n->natsock.fd >= 0 && n->natsock.kind == CN_NAT_UNKNOWN) {
		n->natsock.next_ms = 0;
		node_timer_wake(n, cn_clock_ms());
	}
}

int node_natsock_send(void *ctx, const struct cn_addr *to, const uint8_t *msg, size_t len)
{
	struct cn_node *n = ctx;

	if (n->natsock.fd < 0)
		return -CN_ESTATE;
	if (sendto(n->natsock.fd, msg, len, MSG_DONTWAIT, (const struct sockaddr *)&to->ss,
		   to->len) < 0)
		return -CN_EIO;
	return 0;
}

/* ---- birthday sockets ---- */

static void bday_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct node_bday_sock *s = arg;
	struct cn_peer *p = s->p;
	struct cn_node *n = ((struct node_peer_io *)p->io)->n;
	struct cn_addr src = {0};
	socklen_t sl = sizeof(src.ss);
	ssize_t got;

	(void)what;
	got = recvfrom(fd, n->buf, NODE_DGRAM_MAX, MSG_DONTWAIT, (struct sockaddr *)&src.ss, &sl);
	if (got <= 0)
		return;
	src.len = sl;
	/* The engine may adopt this socket or close them all: s is not used after. */
	cn_engine_receive_nat(n->eng, cn_clock_ms(), p, s->index, n->buf, (size_t)got, &src);
}

static void bday_sock_close(struct node_bday_sock *s)
{
	if (s->ev)
		event_free(s->ev);
	s->ev = NULL;
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

void node_bday_close(void *ctx, struct cn_peer *p)
{
	struct node_peer_io *io = p->io;

	(void)ctx;
	if (!io || !io->bday)
		return;
	for (uint16_t i = 0; i < io->bday->n; i++)
		bday_sock_close(&io->bday->s[i]);
	free(io->bday);
	io->bday = NULL;
}

int node_bday_open(void *ctx, struct cn_peer *p, uint16_t index, const struct cn_addr *to,
		   const uint8_t *msg, size_t len)
{
	struct cn_node *n = ctx;
	struct node_peer_io *io = node_peer_io(n, p);
	struct node_bday_sock *s;

	if (!io || index >= CN_BDAY_SOCKETS_MAX)
		return -CN_EINVAL;
	if (!io->bday) {
		io->bday = calloc(1, sizeof(*io->bday));
		if (!io->bday)
			return -CN_ENOMEM;
	}
	if (index != io->bday->n)
		return -CN_EINVAL; /* the engine opens them in order */
	s = &io->bday->s[io->bday->n++];
	s->p = p;
	s->index = index;
	s->fd = socket(to->ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	s->ev = NULL;
	if (s->fd < 0)
		return -CN_EIO; /* out of descriptors: this one stays closed */
	s->ev = event_new(n->base, s->fd, EV_READ | EV_PERSIST, bday_read_cb, s);
	if (!s->ev || event_add(s->ev, NULL) != 0) {
		bday_sock_close(s);
		return -CN_ENOMEM;
	}
	/* The first packet binds it to a port and makes its NAT mapping. */
	if (sendto(s->fd, msg, len, MSG_DONTWAIT, (const struct sockaddr *)&to->ss, to->len) < 0)
		return -CN_EIO;
	return 0;
}

int node_bday_send(void *ctx, struct cn_peer *p, uint16_t index, const struct cn_addr *to,
		   const uint8_t *msg, size_t len)
{
	struct node_peer_io *io = p->io;

	(void)ctx;
	if (!io || !io->bday || index >= io->bday->n || io->bday->s[index].fd < 0)
		return -CN_ESTATE;
	if (sendto(io->bday->s[index].fd, msg, len, MSG_DONTWAIT, (const struct sockaddr *)&to->ss,
		   to->len) < 0)
		return -CN_EIO;
	return 0;
}

void node_bday_adopt(void *ctx, struct cn_peer *p, uint16_t index)
{
	struct cn_node *n = ctx;
	struct node_peer_io *io = p->io;
	int fd;

	if (!io || !io->bday || index >= io->bday->n || io->bday->s[index].fd < 0)
		return;
	fd = io->bday->s[index].fd;
	io->bday->s[index].fd = -1; /* handed over, not closed */
	node_bday_close(n, p);
	node_direct_adopt(n, p, fd);
}
