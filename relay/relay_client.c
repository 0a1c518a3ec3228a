/* SPDX-License-Identifier: MIT */
/*
 * Node side of a relay link; see relay_client.h.
 */
#include "relay/relay_client.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <sodium.h>

#include "common/clock.h"
#include "common/udpbatch.h"
#include "crypto/cookie.h"
#include "crypto/handshake.h"
#include "crypto/keyring.h"
#include "crypto/rand.h"
#include "crypto/session.h"
#include "crypto/session_batch.h"
#include "relay/link.h"
#include "relay/relay_client_int.h"

void client_go_down(struct cn_relay_client *c, const char *why)
{
	if (c->state == CLIENT_DOWN)
		return;
	c->state = CLIENT_DOWN;
	if (c->bev)
		bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	if (c->udp_ev)
		event_del(c->udp_ev);
	if (c->tick)
		event_del(c->tick);
	if (c->probe_ev)
		event_del(c->probe_ev);
	cn_pathwatch_end(&c->watch);
	if (c->cbs.down)
		c->cbs.down(c, c->arg, why);
}

/*
 * Sends len bytes placed at c->out + CN_TCP_FRAME_HDR. data: a SEND, which
 * is dropped (and counted) rather than queued past the data cap.
 */
static int raw_send(struct cn_relay_client *c, size_t len, bool data)
{
	if (c->bev) {
		size_t queued = evbuffer_get_length(bufferevent_get_output(c->bev));

		if (data && queued + CN_TCP_FRAME_HDR + len > CN_RELAY_CLIENT_TCP_DATA_MAX) {
			c->drops++;
			return -CN_ETOOBIG;
		}
		if (queued + CN_TCP_FRAME_HDR + len > CN_RELAY_CLIENT_TCP_QUEUE_MAX) {
			/* Not even control gets through: the relay stopped reading.
			 * Going down here would run the owner's callback (which
			 * frees the client) under the owner's own call. */
			c->overflow = true;
			event_active(c->tick, EV_TIMEOUT, 0);
			return -CN_ETOOBIG;
		}
		cn_tcp_frame_header(len, c->out);
		if (bufferevent_write(c->bev, c->out, CN_TCP_FRAME_HDR + len) != 0)
			return -CN_EIO;
	} else if (send(c->fd, c->out + CN_TCP_FRAME_HDR, len, MSG_DONTWAIT) < 0) {
		return -CN_EIO;
	}
	c->last_tx_ms = cn_clock_ms();
	return 0;
}

int client_send_initiation(struct cn_relay_client *c)
{
	uint8_t ts[CN_TAI64N_LEN];
	struct timespec now;
	uint32_t index;
	int ret;

	if (c->o.timestamp) {
		c->o.timestamp(c->o.timestamp_arg, ts);
	} else {
		clock_gettime(CLOCK_REALTIME, &now);
		cn_handshake_tai64n(ts, (uint64_t)now.tv_sec, (uint32_t)now.tv_nsec);
	}
	do {
		index = randombytes_random();
	} while (index == 0 || cn_keyring_owns(&c->keys, index));
	ret = cn_keyring_initiate(&c->keys, &c->local, c->relay_x, index, ts,
				  c->out + CN_TCP_FRAME_HDR);
	if (ret)
		return ret;
	c->hs_sent_ms = cn_clock_ms();
	return raw_send(c,
			cn_cookie_jar_stamp(&c->jar, c->out + CN_TCP_FRAME_HDR,
					    CN_HANDSHAKE_INITIATION_LEN, CN_TCP_FRAME_MAX,
					    c->hs_sent_ms),
			false);
}

int cn_relay_client_send(struct cn_relay_client *c, const struct cn_link_msg *m)
{
	uint8_t *body = c->out + CN_TCP_FRAME_HDR;
	uint64_t now = cn_clock_ms();
	struct cn_session *s = cn_keyring_sending(&c->keys, now);
	size_t pt_len = 0, len = 0;
	int ret;

	if (c->state != CLIENT_UP || !s)
		return -CN_ESTATE;
	ret = cn_link_encode(m, body + CN_SESSION_HEADER_LEN,
			     CN_TCP_FRAME_MAX - CN_SESSION_OVERHEAD, &pt_len);
	if (ret)
		return ret;
	if (!c->bev && pt_len + CN_SESSION_OVERHEAD > UDP_DGRAM_MAX)
		return -CN_ETOOBIG;
	ret = cn_session_encrypt(s, now, body + CN_SESSION_HEADER_LEN, pt_len, body,
				 CN_TCP_FRAME_MAX, &len);
	if (ret)
		return ret;
	ret = raw_send(c, len, m->type == CN_LINK_SEND);
	if (ret == 0 && m->type == CN_LINK_SEND)
		client_maybe_probe(c, now);
	if (ret == 0 && !cn_keyring_pending(&c->keys) && cn_session_should_rekey_on_send(s, now))
		(void)client_send_initiation(c);
	return ret;
}

static int send_keepalive(struct cn_relay_client *c)
{
	uint8_t *body = c->out + CN_TCP_FRAME_HDR;
	uint64_t now = cn_clock_ms();
	struct cn_session *s = cn_keyring_sending(&c->keys, now);
	size_t len = 0;
	int ret;

	if (!s)
		return -CN_ESTATE;
	ret = cn_session_encrypt(s, now, body + CN_SESSION_HEADER_LEN, 0, body, CN_TCP_FRAME_MAX,
				 &len);
	return ret ? ret : raw_send(c, len, false);
}

int cn_relay_client_send_packet(struct cn_relay_client *c, const uint8_t dst[static CN_KEY_LEN],
				const uint8_t *packet, size_t len)
{
	struct cn_link_msg m = {.type = CN_LINK_SEND, .key = dst, .data = packet, .data_len = len};

	return cn_relay_client_send(c, &m);
}

/* After SENDs went out at now: the probe and rekey rules of cn_relay_client_send. */
static void after_sends(struct cn_relay_client *c, struct cn_session *s, uint64_t now)
{
	c->last_tx_ms = now;
	client_maybe_probe(c, now);
	if (c->state == CLIENT_UP && !cn_keyring_pending(&c->keys) &&
	    cn_session_should_rekey_on_send(s, now))
		(void)client_send_initiation(c);
}

/* UDP: seals up to TX_BATCH SENDs as a batch and sends them in one go. */
static int send_chunk(struct cn_relay_client *c, struct cn_session *s, uint64_t now,
		      const uint8_t dst[static CN_KEY_LEN], const struct cn_relay_client_pkt *pk,
		      size_t n, size_t *sent)
{
	struct client_udp *u = c->u;
	struct cn_session_seal_key sk;
	uint64_t first = 0;
	size_t k = 0;
	int ret;

	*sent = 0;
	ret = cn_session_batch_reserve(s, now, n, &first, &sk);
	if (ret)
		return ret;
	for (k = 0; k < n && ret == 0; k++) {
		struct cn_link_msg m = {.type = CN_LINK_SEND,
					.key = dst,
					.data = pk[k].data,
					.data_len = pk[k].len};
		uint8_t *body = u->txbuf[k];
		size_t pt_len = 0, len = 0;

		ret = cn_link_encode(&m, body + CN_SESSION_HEADER_LEN,
				     UDP_DGRAM_MAX - CN_SESSION_OVERHEAD, &pt_len);
		if (ret == 0)
			ret = cn_session_batch_seal(&sk, first + k, body + CN_SESSION_HEADER_LEN,
						    pt_len, body, UDP_DGRAM_MAX, &len);
		if (ret)
			break; /* this one and the rest are not sent (their counters unused) */
		u->tx[k] = (struct cn_udpbatch_msg){body, len, NULL, 0};
	}
	cn_session_batch_seal_key_wipe(&sk);
	if (k && cn_udpbatch_send(&u->ub_tx, c->fd, u->tx, k, sent) != 0 && ret == 0)
		ret = -CN_EIO;
	return ret;
}

int cn_relay_client_send_packets(struct cn_relay_client *c, const uint8_t dst[static CN_KEY_LEN],
				 const struct cn_relay_client_pkt *pk, size_t n, size_t *sent)
{
	uint64_t now = cn_clock_ms();
	struct cn_session *s = cn_keyring_sending(&c->keys, now);
	int ret = 0;

	*sent = 0;
	if (c->state != CLIENT_UP || !s)
		return -CN_ESTATE;
	if (!c->u)
		return -CN_ESTATE; /* TCP: the caller sends one frame each (cap, drops, fallbacks)
				    */
	while (*sent < n && ret == 0) {
		size_t k = n - *sent < TX_BATCH ? n - *sent : TX_BATCH, took = 0;

		ret = send_chunk(c, s, now, dst, pk + *sent, k, &took);
		*sent += took;
	}
	if (*sent)
		after_sends(c, s, now);
	return ret;
}

int cn_relay_client_publish(struct cn_relay_client *c, const uint8_t *list, size_t len,
			    uint64_t serial)
{
	size_t off = 0;
	int ret = 0;

	if (len == 0 || len > UINT32_MAX)
		return -CN_EINVAL;
	while (off < len && ret == 0) {
		size_t n = len - off > CN_LINK_CHUNK_DATA_MAX ? CN_LINK_CHUNK_DATA_MAX : len - off;
		struct cn_link_msg m = {.type = CN_LINK_LIST_CHUNK,
					.serial = serial,
					.total = (uint32_t)len,
					.offset = (uint32_t)off,
					.data = list + off,
					.data_len = n};

		ret = cn_relay_client_send(c, &m);
		off += n;
	}
	return ret;
}

int cn_relay_client_ping(struct cn_relay_client *c)
{
	struct cn_link_msg m = {.type = CN_LINK_PING};

	c->ping_nonce = cn_rand_u64();
	c->ping_sent_us = cn_clock_us();
	m.nonce = c->ping_nonce;
	return cn_relay_client_send(c, &m);
}

int cn_relay_client_local(const struct cn_relay_client *c, struct cn_addr *out)
{
	int fd = c->bev ? bufferevent_getfd(c->bev) : c->fd;
	socklen_t len = sizeof(out->ss);

	memset(out, 0, sizeof(*out));
	if (fd < 0 || getsockname(fd, (struct sockaddr *)&out->ss, &len) != 0)
		return -CN_ESTATE;
	out->len = len;
	return 0;
}

bool cn_relay_client_is_up(const struct cn_relay_client *c)
{
	return c->state == CLIENT_UP;
}

uint64_t cn_relay_client_rtt_us(const struct cn_relay_client *c)
{
	return c->rtt_us;
}

uint64_t cn_relay_client_probe_failures(const struct cn_relay_client *c)
{
	return c->probe_failures;
}

uint64_t cn_relay_client_timer_wakeups(const struct cn_relay_client *c)
{
	return c->wakeups;
}

uint64_t cn_relay_client_drops(const struct cn_relay_client *c)
{
	return c->drops;
}

size_t cn_relay_client_queued(const struct cn_relay_client *c)
{
	return c->bev ? evbuffer_get_length(bufferevent_get_output(c->bev)) : 0;
}

static void became_up(struct cn_relay_client *c)
{
	struct cn_link_msg m;

	c->state = CLIENT_UP;
	c->hs_retry_ms = 0;
	event_del(c->probe_ev);
	/* The first packet confirms the session to the relay. */
	if (c->o.held_serial) {
		m = (struct cn_link_msg){.type = CN_LINK_HAVE_LIST, .serial = c->o.held_serial};
		cn_relay_client_send(c, &m);
	} else {
		send_keepalive(c);
	}
	if (c->o.watch) {
		m = (struct cn_link_msg){.type = CN_LINK_WATCH, .flag = 1};
		cn_relay_client_send(c, &m);
	}
	if (c->cbs.up)
		c->cbs.up(c, c->arg);
}

/* Hands the queued RECVs of a read batch to the owner. */
static void recv_flush(struct cn_relay_client *c)
{
	struct client_udp *u = c->u;
	size_t n;

	if (!u || !u->nrq)
		return;
	n = u->nrq;
	u->nrq = 0;
	if (c->state != CLIENT_DOWN)
		c->cbs.recv_batch(c, c->arg, u->rq, n);
}

/* One message from the relay (a handshake response or data). */
static void handle_packet(struct cn_relay_client *c, uint8_t *msg, size_t len)
{
	enum cn_msg_type type;
	uint32_t index;
	struct cn_session *s;
	struct cn_link_msg m;
	size_t pt_len = 0;
	uint64_t now = cn_clock_ms();

	if (len && msg[0] == CN_MSG_COOKIE_REPLY) {
		/* The relay is under load: prove our address with the cookie, at once. */
		if (cn_keyring_pending(&c->keys) &&
		    cn_cookie_consume_reply(&c->jar, msg, len, now) == 0)
			client_send_initiation(c);
		return;
	}
	if (cn_handshake_classify(msg, len, &type, &index) != 0)
		return;
	if (type == CN_MSG_RESPONSE) {
		/* The new session becomes current, the old one previous (receive only). */
		if (cn_keyring_consume_response(&c->keys, msg, len, now) != 0)
			return;
		client_heard(c, now);
		if (c->state == CLIENT_HANDSHAKE)
			became_up(c);
		else
			send_keepalive(c); /* confirm the rekeyed session */
		return;
	}
	if (type != CN_MSG_DATA)
		return;
	s = cn_keyring_find(&c->keys, index);
	if (!s || cn_session_decrypt(s, now, msg, len, msg + CN_SESSION_HEADER_LEN,
				     len - CN_SESSION_HEADER_LEN, &pt_len) != 0)
		return;
	client_heard(c, now);
	if (pt_len == 0 || cn_link_decode(msg + CN_SESSION_HEADER_LEN, pt_len, &m) != 0)
		return;
	if (m.type == CN_LINK_PONG) {
		if (m.nonce == c->ping_nonce && c->ping_sent_us) {
			c->rtt_us = cn_clock_us() - c->ping_sent_us;
			c->ping_sent_us = 0;
		}
		return;
	}
	if (m.type == CN_LINK_PING) {
		struct cn_link_msg pong = {.type = CN_LINK_PONG, .nonce = m.nonce};

		cn_relay_client_send(c, &pong);
		return;
	}
	if (m.type == CN_LINK_RECV && c->u && c->u->batching && c->cbs.recv_batch &&
	    c->u->nrq < RX_ITEMS) {
		/* m.data points into msg, which is the client's own buffer. */
		c->u->rq[c->u->nrq++] =
			(struct cn_relay_client_recv){m.key, msg + (m.data - msg), m.data_len};
		return;
	}
	if (m.type == CN_LINK_PATH_CHALLENGE) {
		/* Our address changed (NAT rebinding): prove we receive here. The
		 * answer leaves from the socket the challenge reached. */
		struct cn_link_msg resp = {.type = CN_LINK_PATH_RESPONSE, .token = m.token};

		cn_relay_client_send(c, &resp);
		return;
	}
	recv_flush(c); /* what came before this message acts first */
	if (c->cbs.msg)
		c->cbs.msg(c, c->arg, &m);
}

static void tcp_read_cb(struct bufferevent *bev, void *arg)
{
	struct cn_relay_client *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	c->in_callback = true;
	while (c->state != CLIENT_DOWN) {
		size_t avail = evbuffer_get_length(in), msg_len, used;
		const uint8_t *msg, *p;
		int ret;

		if (avail < CN_TCP_FRAME_HDR)
			break;
		p = evbuffer_pullup(in, CN_TCP_FRAME_HDR);
		msg_len = ((size_t)p[0] << 8) | p[1];
		if (avail < CN_TCP_FRAME_HDR + msg_len && msg_len != 0)
			break;
		p = evbuffer_pullup(in, (ssize_t)(CN_TCP_FRAME_HDR + msg_len));
		ret = cn_tcp_frame_next(p, CN_TCP_FRAME_HDR + msg_len, CN_TCP_FRAME_MAX, &msg,
					&msg_len, &used);
		if (ret) {
			client_go_down(c, "malformed frame from the relay");
			break;
		}
		memcpy(c->in, msg, msg_len);
		evbuffer_drain(in, used);
		handle_packet(c, c->in, msg_len);
	}
	c->in_callback = false;
	if (c->free_pending)
		cn_relay_client_free(c);
}

static void tcp_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct cn_relay_client *c = arg;
	char why[128];

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		int one = 1;

		setsockopt(bufferevent_getfd(c->bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c->state = CLIENT_HANDSHAKE;
		if (client_send_initiation(c))
			client_go_down(c, "cannot start the handshake");
		return;
	}
	if (what & BEV_EVENT_EOF) {
		client_go_down(c, "connection closed by the relay");
	} else if (what & BEV_EVENT_ERROR) {
		snprintf(why, sizeof(why), "connection failed: %s",
			 evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		client_go_down(c, why);
	}
}

/*
 * UDP readable: recvmmsg batches (GRO reads split), each datagram handled
 * in order; the RECVs of a batch reach the owner in one recv_batch call.
 */
static void udp_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cn_relay_client *c = arg;
	struct client_udp *u = c->u;
	uint8_t *bufs[RX_BUFS];

	(void)what;
	for (int i = 0; i < RX_BUFS; i++)
		bufs[i] = u->rxbuf[i];
	c->in_callback = true;
	for (int round = 0; round < RX_ROUNDS && c->state != CLIENT_DOWN; round++) {
		size_t got = 0;

		if (cn_udpbatch_recv(&u->ub_rx, fd, bufs, CN_UDPBATCH_GRO_BUF, RX_BUFS, u->rx,
				     RX_ITEMS, &got) != 0) {
			if (errno == ECONNREFUSED)
				client_go_down(c, "relay UDP port unreachable");
			break;
		}
		u->batching = true;
		for (size_t i = 0; i < got && c->state != CLIENT_DOWN; i++)
			if (u->rx[i].len <= UDP_DGRAM_MAX)
				handle_packet(c, u->rx[i].p, u->rx[i].len);
		recv_flush(c);
		u->batching = false;
		if (got < RX_BUFS)
			break; /* the socket is drained (a GRO read holds many) */
	}
	c->in_callback = false;
	if (c->free_pending)
		cn_relay_client_free(c);
}

struct cn_relay_client *cn_relay_client_new(struct event_base *base,
					    const struct cn_relay_client_opts *o,
					    const struct cn_relay_client_cbs *cbs, void *arg,
					    struct cn_errbuf *e)
{
	struct cn_relay_client *c;
	const struct sockaddr *sa = (const struct sockaddr *)&o->addr.ss;

	c = calloc(1, sizeof(*c));
	if (!c) {
		cn_errbuf_set(e, "out of memory");
		return NULL;
	}
	c->base = base;
	c->o = *o;
	c->cbs = *cbs;
	c->arg = arg;
	c->fd = -1;
	cn_keyring_init(&c->keys, NULL, NULL);
	c->last_rx_ms = c->last_tx_ms = cn_clock_ms();
	if (cn_key_ed_to_x(o->relay_key, c->relay_x) ||
	    cn_handshake_local_init(&c->local, o->id, o->network)) {
		cn_errbuf_set(e, "unusable relay key or network name");
		goto fail;
	}
	cn_cookie_jar_init(&c->jar, c->relay_x);
	c->tick = event_new(base, -1, 0, client_tick_cb, c);
	c->probe_ev = event_new(base, -1, 0, client_probe_cb, c);
	if (!c->tick || !c->probe_ev) {
		cn_errbuf_set(e, "cannot start the link timer");
		goto fail;
	}
	if (o->udp) {
		/* Bursts of a TSO read's segments leave at once: buffers the force
		 * variants allow; GSO/GRO as opts.offload says and the kernel has. */
		struct cn_udpbatch_caps caps = {0};

		c->u = calloc(1, sizeof(*c->u));
		c->fd = socket(sa->sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (!c->u || c->fd < 0 || connect(c->fd, sa, o->addr.len) != 0) {
			cn_errbuf_set(e, "udp: %s", c->u ? strerror(errno) : "out of memory");
			goto fail;
		}
		if (cn_udpbatch_setup(c->fd, SOCKBUF, o->offload, &caps) != 0) {
			cn_errbuf_set(e, "udp: %s", strerror(errno));
			goto fail;
		}
		cn_udpbatch_init(&c->u->ub_tx, &caps);
		cn_udpbatch_init(&c->u->ub_rx, &caps);
		cn_udpbatch_set_gso(&c->u->ub_tx, o->offload);
		c->udp_ev = event_new(base, c->fd, EV_READ | EV_PERSIST, udp_read_cb, c);
		if (!c->udp_ev || event_add(c->udp_ev, NULL)) {
			cn_errbuf_set(e, "cannot watch the UDP socket");
			goto fail;
		}
		c->state = CLIENT_HANDSHAKE;
		if (client_send_initiation(c)) {
			cn_errbuf_set(e, "udp: cannot send the handshake: %s", strerror(errno));
			goto fail;
		}
		c->hs_retry_ms = HS_RETRY_MIN_MS;
		client_probe_arm(c, c->hs_sent_ms + c->hs_retry_ms, c->hs_sent_ms);
		client_tick_arm(c, c->hs_sent_ms);
		return c;
	}
	c->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (!c->bev) {
		cn_errbuf_set(e, "out of memory");
		goto fail;
	}
	bufferevent_setcb(c->bev, tcp_read_cb, NULL, tcp_event_cb, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	c->state = CLIENT_CONNECTING;
	if (bufferevent_socket_connect(c->bev, sa, (int)o->addr.len) != 0) {
		cn_errbuf_set(e, "tcp: cannot connect: %s", strerror(errno));
		goto fail;
	}
	client_tick_arm(c, cn_clock_ms());
	return c;
fail:
	cn_relay_client_free(c);
	return NULL;
}

void cn_relay_client_free(struct cn_relay_client *c)
{
	if (!c)
		return;
	if (c->in_callback) {
		/* Freed from one of its own callbacks: finish when it returns. */
		if (c->state == CLIENT_UP && c->udp_ev) {
			struct cn_link_msg bye = {.type = CN_LINK_BYE};

			cn_relay_client_send(c, &bye);
		}
		c->free_pending = true;
		c->state = CLIENT_DOWN;
		return;
	}
	if (c->state == CLIENT_UP && c->udp_ev) {
		/* UDP has no connection to close: say goodbye (best effort). */
		struct cn_link_msg bye = {.type = CN_LINK_BYE};

		cn_relay_client_send(c, &bye);
	}
	if (c->bev)
		bufferevent_free(c->bev);
	if (c->udp_ev)
		event_free(c->udp_ev);
	if (c->fd >= 0)
		close(c->fd);
	if (c->tick)
		event_free(c->tick);
	if (c->probe_ev)
		event_free(c->probe_ev);
	cn_keyring_clear(&c->keys);
	if (c->u) {
		sodium_memzero(c->u, sizeof(*c->u)); /* plaintext of the last batches */
		free(c->u);
	}
	free(c);
}
