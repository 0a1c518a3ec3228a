/* SPDX-License-Identifier: MIT */
/*
 * cairn-relay's daemon core (see relay.h and docs/RELAY.md).
 *
 * What a link is: one authenticated Noise session between a node (the
 * initiator) and this relay, over a TCP connection or over UDP from one
 * address. A peer may hold one TCP and one UDP link at a time; a newer link
 * of the same kind replaces the older once its first packet confirms it.
 * The admin link of the network's root key may only upload peer lists.
 *
 * What the relay cannot do: read or alter forwarded packets. A SEND carries
 * a node-to-node packet already encrypted end to end; the relay re-wraps it
 * in the receiver's link session with the sender's authenticated key.
 *
 * Timers: one periodic sweep (SWEEP_MS) closes links that are idle
 * (limits.idle_timeout), handshakes not confirmed and TCP frames not
 * finished within limits.frame_timeout, and list uploads that stalled.
 * A sweep over every link once a second costs microseconds per thousand
 * links and needs no per-link timer.
 *
 * Abuse limits: a fixed table of token buckets per source address for
 * initiations, a cap on links not yet authenticated, a cap on all links,
 * a cap on bytes queued to one TCP link (then packets to it are dropped and
 * counted), a cap on frame size, a cap on concurrent list uploads. A TCP
 * client that sends anything but a valid handshake first, a frame over the
 * cap or a packet that fails authentication is disconnected; bad UDP input
 * is dropped and counted (UDP sources can be spoofed).
 */
#include "relay/relay.h"

#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <sodium.h>

#include "common/addr.h"
#include "common/clock.h"
#include "common/file.h"
#include "common/log.h"
#include "common/queue_compat.h"
#include "crypto/handshake.h"
#include "crypto/keys.h"
#include "crypto/peerlist.h"
#include "crypto/session.h"
#include "nat/stun.h"
#include "relay/link.h"
#include "relay/ratelimit.h"
#include "relay/relay_config.h"

enum {
	SWEEP_MS = 1000,
	UDP_BATCH = 32,
	UDP_BUF = 65536,
	UDP_DGRAM_MAX = 2048, /* node link datagrams are MTU-sized; larger ones are dropped */
	MAX_UPLOADS = 4,
	LIST_UDP_BURST = 256, /* list chunks per link per sweep over UDP (~300 KB) */
	SEND_BATCH = 64,      /* UDP datagrams queued before a sendmmsg */
	UPLOAD_TIMEOUT_MS = 30000,
	INDEX_SLOT_BITS = 20, /* max_connections <= 2^20 */
	SOCKBUF_BYTES = 4 << 20,
};
_Static_assert(1000000 < (1u << INDEX_SLOT_BITS), "slot bits cover max_connections");

#define STATE_LIST_FILE "peers.conf"
#define SOFTWARE	"cairn-relay"

enum link_kind {
	LINK_TCP,
	LINK_UDP,
};

enum link_state {
	LINK_NEW,	/* TCP connected, no initiation yet */
	LINK_RESPONDED, /* response sent, waiting for the first packet */
	LINK_UP,	/* authenticated */
};

struct relay_peer;
struct relay_udp;

struct relay_link {
	struct cn_relay *r;
	enum link_kind kind;
	enum link_state state;
	uint32_t index; /* the session's local index; its slot is index & SLOT_MASK */
	struct bufferevent *bev;
	struct relay_udp *udp; /* UDP: the socket it uses */
	struct cn_addr addr;   /* remote address */
	char addr_text[CN_ADDR_TEXT_MAX];
	struct cn_session sess;
	/* TCP only: a rekey handshake's session until its first packet
	 * (allocated then: most links never need one). */
	struct cn_session *next;
	struct relay_peer *peer; /* who authenticated; NULL before */
	bool watch;
	TAILQ_ENTRY(relay_link) watch_entry; /* on r->watchers while watch */
	/* Sending the list in force, paced (list_pump): next offset, or
	 * sending false. */
	bool list_sending;
	uint32_t list_off;
	uint64_t list_serial;
	uint64_t have_serial; /* the list serial the node said it holds */
	uint64_t created_ms, last_rx_ms, partial_since_ms;
	uint8_t *upload;
	uint32_t upload_total, upload_got;
	uint64_t upload_serial, upload_started_ms;
	TAILQ_ENTRY(relay_link) entry;
	/*
	 * Backpressure between TCP links: a TCP link whose packets go to a
	 * TCP link with a full output queue stops being read (it waits on
	 * that link) until the queue drains below a quarter of the cap.
	 */
	struct relay_link *waiting_on;
	TAILQ_HEAD(, relay_link) waiters;
	TAILQ_ENTRY(relay_link) wait_entry;
};
TAILQ_HEAD(link_list, relay_link);

struct relay_peer {
	struct cn_handshake_peer hs; /* first: the lookup returns &hs */
	uint8_t key[CN_KEY_LEN];     /* Ed25519, as in the list */
	char name[CN_NAME_MAX + 1];
	bool admin;		      /* the network's root key */
	struct relay_link *tcp, *udp; /* authenticated links */
};

struct relay_udp {
	struct cn_relay *r;
	int fd;
	bool stun_only;
	struct event *ev;
};

struct cn_relay {
	struct event_base *base;
	struct cn_relay_config cfg;
	struct cn_identity *id;
	struct cn_handshake_local local;
	char network[CN_NAME_MAX + 1];
	/* The list in force, its signed text (what nodes get), and per-peer
	 * state in the list's order plus the root's admin record. */
	struct cn_peerlist *pl;
	char *pl_text;
	size_t pl_len;
	struct relay_peer *peers;
	size_t npeers;
	struct relay_peer admin;
	/* Links: all of them, and by index slot. */
	struct link_list links;
	TAILQ_HEAD(, relay_link) watchers; /* links that asked for presence */
	struct relay_link **slots;
	uint32_t nslots, *free_slots, nfree;
	uint32_t nlinks, npending, nuploads;
	struct cn_ratelimiter rl;
	struct evconnlistener *tcp_listeners[CN_RELAY_MAX_LISTEN];
	unsigned int ntcp;
	struct relay_udp udps[2 * CN_RELAY_MAX_LISTEN];
	unsigned int nudp;
	struct evhttp *http;
	struct evhttp_bound_socket *http_sock;
	struct event *sweep;
	/*
	 * UDP datagrams to send, flushed with one sendmmsg per socket by an
	 * event activated when the first one is queued: it runs right after
	 * the callback that queued them, so nothing waits longer than that.
	 */
	struct udp_out {
		int fd;
		struct sockaddr_storage to;
		socklen_t tolen;
		size_t len;
		uint8_t data[UDP_DGRAM_MAX];
	} sq[SEND_BATCH];
	unsigned int nsq;
	struct event *flush;
	struct cn_relay_metrics m;
	struct cn_ratelimit log_rl;
	/* Scratch buffers for one packet in and out. */
	uint8_t in[UDP_BUF];
	uint8_t out[CN_TCP_FRAME_HDR + CN_TCP_FRAME_MAX];
	struct sockaddr_storage from[UDP_BATCH];
	uint8_t bufs[UDP_BATCH][UDP_DGRAM_MAX];
	bool closing; /* shutting down: no presence notices */
};

#define SLOT_MASK ((1u << INDEX_SLOT_BITS) - 1)

static void link_close(struct relay_link *l, const char *why);
static int link_send(struct relay_link *l, const struct cn_link_msg *m, bool control);
static void send_list(struct relay_link *l);

/* ---- peer table ---------------------------------------------------------- */

static struct cn_handshake_peer *lookup_xkey(void *ctx, const uint8_t x_pk[CN_KEY_LEN])
{
	struct cn_relay *r = ctx;
	const struct cn_pl_peer *p;

	if (sodium_memcmp(r->admin.hs.x_pk, x_pk, CN_KEY_LEN) == 0)
		return &r->admin.hs;
	p = r->pl ? cn_peerlist_find_xkey(r->pl, x_pk) : NULL;
	return p ? &r->peers[p - r->pl->peers].hs : NULL;
}

static struct relay_peer *peer_of(struct cn_handshake_peer *hs)
{
	return (struct relay_peer *)hs; /* hs is the first member */
}

static void metrics_links(struct cn_relay *r)
{
	struct relay_link *l;

	r->m.links_tcp = r->m.links_udp = r->m.links_pending = 0;
	TAILQ_FOREACH (l, &r->links, entry) {
		if (l->state != LINK_UP)
			r->m.links_pending++;
		else if (l->kind == LINK_TCP)
			r->m.links_tcp++;
		else
			r->m.links_udp++;
	}
}

static void presence_broadcast(struct cn_relay *r, const uint8_t key[CN_KEY_LEN], bool here)
{
	struct cn_link_msg m = {.type = CN_LINK_PRESENCE, .key = key, .flag = here ? 1 : 0};
	struct relay_link *l;

	TAILQ_FOREACH (l, &r->watchers, watch_entry)
		if (l->state == LINK_UP && l->peer &&
		    sodium_memcmp(l->peer->key, key, CN_KEY_LEN) != 0)
			link_send(l, &m, true);
}

/*
 * Installs pl (taking ownership of pl and text) as the list in force:
 * rebuilds the peer table keeping timestamps and links of keys that stay,
 * closes links of keys that left, and offers the list to connected nodes.
 */
static int install_list(struct cn_relay *r, struct cn_peerlist *pl, char *text, size_t len)
{
	struct relay_peer *peers = NULL, *old = r->peers;
	size_t nold = r->npeers;
	struct relay_link *l, *tmp;

	peers = calloc(pl->npeers ? pl->npeers : 1, sizeof(*peers));
	if (!peers)
		return -CN_ENOMEM;
	for (size_t i = 0; i < pl->npeers; i++) {
		cn_handshake_peer_init(&peers[i].hs, pl->peers[i].x_key);
		memcpy(peers[i].key, pl->peers[i].key, CN_KEY_LEN);
		snprintf(peers[i].name, sizeof(peers[i].name), "%s", pl->peers[i].name);
	}
	/* Carry over what the old table knew about keys that stay. */
	for (size_t i = 0; i < nold; i++) {
		const struct cn_pl_peer *p = cn_peerlist_find_key(pl, old[i].key);
		struct relay_peer *np;

		if (!p)
			continue;
		np = &peers[p - pl->peers];
		memcpy(np->hs.last_ts, old[i].hs.last_ts, CN_TAI64N_LEN);
		np->tcp = old[i].tcp;
		np->udp = old[i].udp;
		old[i].tcp = old[i].udp = NULL;
	}
	/* Re-point links at the new records; links of removed keys go. */
	TAILQ_FOREACH_SAFE (l, &r->links, entry, tmp) {
		const struct cn_pl_peer *p;

		if (!l->peer || l->peer->admin)
			continue;
		p = cn_peerlist_find_key(pl, l->peer->key);
		if (!p) {
			char fpr[CN_KEY_FPR_LEN + 1];

			cn_key_fingerprint(l->peer->key, fpr);
			cn_log_info("link %s: key %s... (%s) is no longer in the peer list: "
				    "disconnected",
				    l->addr_text, fpr, l->peer->name);
			r->m.links_closed_removed++;
			l->peer = NULL; /* its record is in the old table */
			link_close(l, NULL);
			continue;
		}
		l->peer = &peers[p - pl->peers];
	}
	free(r->peers);
	cn_peerlist_free(r->pl);
	free(r->pl_text);
	r->peers = peers;
	r->npeers = pl->npeers;
	r->pl = pl;
	r->pl_text = text;
	r->pl_len = len;
	r->m.list_serial = pl->serial;
	snprintf(r->network, sizeof(r->network), "%s", pl->network);
	/* Offer the new list to every node that told us what it holds. */
	TAILQ_FOREACH_SAFE (l, &r->links, entry, tmp)
		if (l->state == LINK_UP && l->peer && !l->peer->admin && l->have_serial &&
		    (uint64_t)pl->serial > l->have_serial)
			send_list(l);
	return 0;
}

/*
 * Loads a signed list from buf: verified against the root key, newer than
 * held (or any when held is 0), not expired. Takes ownership of buf.
 */
static int load_list(struct cn_relay *r, char *buf, size_t len, const char *source,
		     struct cn_errbuf *e)
{
	struct cn_peerlist *pl = NULL;
	struct cn_errbuf pe = {{0}};
	int64_t held = r->pl ? r->pl->serial : 0;
	int ret;

	ret = cn_peerlist_load((const uint8_t *)buf, len, r->cfg.root_key, held,
			       (int64_t)time(NULL), &pl, &pe);
	if (ret) {
		cn_errbuf_set(e, "%s: %s", source, pe.msg[0] ? pe.msg : cn_strerror(ret));
		free(buf);
		return ret;
	}
	if (r->pl && pl->serial == r->pl->serial) {
		cn_peerlist_free(pl);
		free(buf);
		return 0; /* nothing new */
	}
	if (r->pl && strcmp(pl->network, r->pl->network) != 0) {
		cn_errbuf_set(e, "%s: network '%s' is not this relay's network '%s'", source,
			      pl->network, r->pl->network);
		cn_peerlist_free(pl);
		free(buf);
		return -CN_EFORMAT;
	}
	ret = install_list(r, pl, buf, len);
	if (ret) {
		cn_errbuf_set(e, "%s: %s", source, cn_strerror(ret));
		cn_peerlist_free(pl);
		free(buf);
		return ret;
	}
	/* The network never changes (checked above), so neither does the prologue. */
	if (!r->local.id && cn_handshake_local_init(&r->local, r->id, r->network) != 0) {
		cn_errbuf_set(e, "%s: network name unusable", source);
		return -CN_EINVAL;
	}
	return 0;
}

static void save_list(struct cn_relay *r)
{
	char path[CN_PATH_MAX_LEN + 32];
	struct cn_errbuf e = {{0}};

	snprintf(path, sizeof(path), "%s/%s", r->cfg.state_dir, STATE_LIST_FILE);
	if (cn_file_write_atomic(path, r->pl_text, r->pl_len, 0644, &e))
		cn_log_warn("cannot keep the peer list in the state directory: %s", e.msg);
}

/* ---- links ---------------------------------------------------------------- */

static struct relay_link *link_new(struct cn_relay *r, enum link_kind kind,
				   const struct sockaddr *sa, socklen_t salen)
{
	struct relay_link *l;
	uint32_t slot, gen;

	if (r->nfree == 0)
		return NULL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	slot = r->free_slots[--r->nfree];
	do {
		gen = randombytes_uniform(1u << (32 - INDEX_SLOT_BITS));
		l->index = (gen << INDEX_SLOT_BITS) | slot;
	} while (l->index == 0);
	r->slots[slot] = l;
	TAILQ_INIT(&l->waiters);
	l->r = r;
	l->kind = kind;
	l->state = LINK_NEW;
	memcpy(&l->addr.ss, sa, salen);
	l->addr.len = salen;
	cn_addr_format(sa, l->addr_text);
	l->created_ms = l->last_rx_ms = cn_clock_ms();
	TAILQ_INSERT_TAIL(&r->links, l, entry);
	r->nlinks++;
	r->npending++;
	return l;
}

static struct relay_link *link_by_index(struct cn_relay *r, uint32_t index)
{
	uint32_t slot = index & SLOT_MASK;
	struct relay_link *l;

	if (slot >= r->nslots)
		return NULL;
	l = r->slots[slot];
	return l && l->index == index ? l : NULL;
}

/* Lets every link paused on l read again. */
static void release_waiters(struct relay_link *l)
{
	struct relay_link *w;

	while ((w = TAILQ_FIRST(&l->waiters)) != NULL) {
		TAILQ_REMOVE(&l->waiters, w, wait_entry);
		w->waiting_on = NULL;
		bufferevent_enable(w->bev, EV_READ);
	}
}

/* Closes and frees l; why (may be NULL) is logged at info level. */
static void link_close(struct relay_link *l, const char *why)
{
	struct cn_relay *r = l->r;
	bool was_up = l->state == LINK_UP;
	struct relay_peer *p = l->peer;

	if (why)
		cn_log_info("link %s%s%s: closed: %s", l->addr_text, p ? " " : "", p ? p->name : "",
			    why);
	if (p) {
		if (p->tcp == l)
			p->tcp = NULL;
		if (p->udp == l)
			p->udp = NULL;
		if (was_up && !p->admin && !p->tcp && !p->udp && !r->closing)
			presence_broadcast(r, p->key, false);
	}
	release_waiters(l);
	if (l->watch)
		TAILQ_REMOVE(&r->watchers, l, watch_entry);
	if (l->waiting_on)
		TAILQ_REMOVE(&l->waiting_on->waiters, l, wait_entry);
	if (l->bev)
		bufferevent_free(l->bev);
	if (l->upload) {
		free(l->upload);
		r->nuploads--;
	}
	r->slots[l->index & SLOT_MASK] = NULL;
	r->free_slots[r->nfree++] = l->index & SLOT_MASK;
	TAILQ_REMOVE(&r->links, l, entry);
	r->nlinks--;
	if (!was_up)
		r->npending--;
	cn_session_wipe(&l->sess);
	if (l->next) {
		cn_session_wipe(l->next);
		free(l->next);
	}
	free(l);
}

/* Sends one encrypted message (already in r->out after the frame header). */
/* Sends every queued UDP datagram, one sendmmsg per run of the same socket. */
static void udp_flush(struct cn_relay *r)
{
	struct mmsghdr msgs[SEND_BATCH];
	struct iovec iov[SEND_BATCH];
	unsigned int i = 0;

	while (i < r->nsq) {
		unsigned int k = 0;
		int fd = r->sq[i].fd, sent;

		while (i + k < r->nsq && r->sq[i + k].fd == fd) {
			struct udp_out *q = &r->sq[i + k];

			iov[k] = (struct iovec){q->data, q->len};
			msgs[k] = (struct mmsghdr){.msg_hdr = {.msg_name = &q->to,
							       .msg_namelen = q->tolen,
							       .msg_iov = &iov[k],
							       .msg_iovlen = 1}};
			k++;
		}
		sent = sendmmsg(fd, msgs, k, MSG_DONTWAIT);
		if (sent < 0)
			sent = 0;
		/* A full socket buffer drops the rest of this run. */
		r->m.drop_buffer_full += k - (unsigned int)sent;
		i += k;
	}
	r->nsq = 0;
}

static void flush_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	udp_flush(arg);
}

static int link_write(struct relay_link *l, size_t len, bool control)
{
	struct cn_relay *r = l->r;

	if (l->kind == LINK_TCP) {
		struct evbuffer *out = bufferevent_get_output(l->bev);

		if (!control && evbuffer_get_length(out) + len > r->cfg.limits.max_buffered) {
			r->m.drop_buffer_full++;
			return -CN_ETOOBIG;
		}
		cn_tcp_frame_header(len, r->out);
		return bufferevent_write(l->bev, r->out, CN_TCP_FRAME_HDR + len) == 0 ? 0 : -CN_EIO;
	}
	if (len <= UDP_DGRAM_MAX && r->flush) {
		struct udp_out *q;

		if (r->nsq == SEND_BATCH)
			udp_flush(r);
		q = &r->sq[r->nsq++];
		q->fd = l->udp->fd;
		memcpy(&q->to, &l->addr.ss, l->addr.len);
		q->tolen = l->addr.len;
		q->len = len;
		memcpy(q->data, r->out + CN_TCP_FRAME_HDR, len);
		if (r->nsq == 1)
			event_active(r->flush, EV_TIMEOUT, 0);
		return 0;
	}
	if (sendto(l->udp->fd, r->out + CN_TCP_FRAME_HDR, len, MSG_DONTWAIT,
		   (const struct sockaddr *)&l->addr.ss, l->addr.len) < 0) {
		r->m.drop_buffer_full++;
		return -CN_EIO;
	}
	return 0;
}

/* Encodes, encrypts and sends m on l. control: not subject to the buffer cap. */
static int link_send(struct relay_link *l, const struct cn_link_msg *m, bool control)
{
	struct cn_relay *r = l->r;
	uint8_t *body = r->out + CN_TCP_FRAME_HDR;
	size_t pt_len = 0, len = 0;
	int ret;

	if (l->state != LINK_UP)
		return -CN_ESTATE;
	/* Plaintext in place after the session header: no copy. */
	ret = cn_link_encode(m, body + CN_SESSION_HEADER_LEN,
			     CN_TCP_FRAME_MAX - CN_SESSION_OVERHEAD, &pt_len);
	if (ret == 0)
		ret = cn_session_encrypt(&l->sess, cn_clock_ms(), body + CN_SESSION_HEADER_LEN,
					 pt_len, body, CN_TCP_FRAME_MAX, &len);
	if (ret) {
		r->m.drop_no_session++;
		return ret;
	}
	return link_write(l, len, control);
}

/*
 * Sends the next chunks of the list in force to l: over TCP while its
 * output queue is below a quarter of max_buffered (the write callback
 * continues), over UDP LIST_UDP_BURST chunks per call (the sweep
 * continues). A newer list restarts from the beginning. Memory stays
 * bounded however many links are behind.
 */
static void list_pump(struct relay_link *l)
{
	struct cn_relay *r = l->r;
	unsigned int burst = 0;

	if (!l->list_sending || !r->pl)
		return;
	if (l->list_serial != (uint64_t)r->pl->serial) {
		l->list_serial = (uint64_t)r->pl->serial;
		l->list_off = 0;
	}
	while (l->list_off < r->pl_len) {
		uint32_t n = (uint32_t)(r->pl_len - l->list_off);
		struct cn_link_msg c;

		if (l->kind == LINK_TCP ? evbuffer_get_length(bufferevent_get_output(l->bev)) >
						  r->cfg.limits.max_buffered / 4
					: burst++ >= LIST_UDP_BURST)
			return;
		if (n > CN_LINK_CHUNK_DATA_MAX)
			n = CN_LINK_CHUNK_DATA_MAX;
		c = (struct cn_link_msg){.type = CN_LINK_LIST_CHUNK,
					 .serial = l->list_serial,
					 .total = (uint32_t)r->pl_len,
					 .offset = l->list_off,
					 .data = (const uint8_t *)r->pl_text + l->list_off,
					 .data_len = n};
		if (link_send(l, &c, true))
			return;
		r->m.list_chunks_sent++;
		l->list_off += n;
	}
	l->list_sending = false;
}

static void send_list(struct relay_link *l)
{
	l->list_sending = true;
	l->list_serial = (uint64_t)l->r->pl->serial;
	l->list_off = 0;
	l->have_serial = l->list_serial;
	list_pump(l);
}

static void finish_upload(struct relay_link *l)
{
	struct cn_relay *r = l->r;
	struct cn_errbuf e = {{0}};
	struct cn_link_msg res = {.type = CN_LINK_LIST_RESULT, .serial = l->upload_serial};
	int64_t before = r->pl->serial;
	char *buf = (char *)l->upload;
	size_t len = l->upload_total;
	int ret;

	l->upload = NULL;
	r->nuploads--;
	ret = load_list(r, buf, len, "uploaded list", &e);
	if (ret == 0 && r->pl->serial > before) {
		res.flag = CN_LINK_LIST_ACCEPTED;
		r->m.lists_accepted++;
		cn_log_info("link %s: peer list serial %" PRId64
			    " uploaded and adopted (%zu peers)",
			    l->addr_text, r->pl->serial, r->npeers);
		save_list(r);
		/* install_list may have closed links, but never the uploader's
		 * own unless its key left the list. */
	} else if (ret == 0) {
		res.flag = CN_LINK_LIST_CURRENT;
	} else {
		res.flag = ret == -CN_EROLLBACK ? CN_LINK_LIST_OLDER : CN_LINK_LIST_INVALID;
		r->m.lists_refused++;
		cn_log_warn("link %s: uploaded peer list refused: %s", l->addr_text, e.msg);
	}
	link_send(l, &res, true);
}

static void handle_chunk(struct relay_link *l, const struct cn_link_msg *m)
{
	struct cn_relay *r = l->r;
	struct cn_link_msg res = {.type = CN_LINK_LIST_RESULT, .serial = m->serial};

	if (m->total > CN_PEERLIST_MAX_BYTES) {
		res.flag = CN_LINK_LIST_TOOBIG;
		link_send(l, &res, true);
		return;
	}
	if (m->offset == 0) {
		if (!l->upload && r->nuploads >= MAX_UPLOADS) {
			r->m.drop_bad_message++;
			return; /* the uploader retries */
		}
		if (!l->upload)
			r->nuploads++;
		free(l->upload);
		l->upload = malloc(m->total);
		if (!l->upload) {
			r->nuploads--;
			return;
		}
		l->upload_total = m->total;
		l->upload_got = 0;
		l->upload_serial = m->serial;
		l->upload_started_ms = cn_clock_ms();
	}
	/* Chunks must come in order and agree on size and serial. */
	if (!l->upload || m->offset != l->upload_got || m->total != l->upload_total ||
	    m->serial != l->upload_serial) {
		r->m.drop_bad_message++;
		return;
	}
	memcpy(l->upload + l->upload_got, m->data, m->data_len);
	l->upload_got += (uint32_t)m->data_len;
	if (l->upload_got == l->upload_total)
		finish_upload(l);
}

/* Forwards a SEND from l to the peer it names. */
static void handle_send(struct relay_link *l, const struct cn_link_msg *m)
{
	struct cn_relay *r = l->r;
	const struct cn_pl_peer *p = cn_peerlist_find_key(r->pl, m->key);
	struct relay_peer *dst = p ? &r->peers[p - r->pl->peers] : NULL;
	struct relay_link *out = NULL;
	struct cn_link_msg recv = {.type = CN_LINK_RECV,
				   .key = l->peer->key,
				   .data = m->data,
				   .data_len = m->data_len};

	/*
	 * A peer may hold a UDP and a TCP link; use the one it was last heard
	 * on (a node that lost UDP keeps its TCP link alive, and a UDP link
	 * whose node vanished goes quiet), UDP when both are equally fresh.
	 */
	if (dst) {
		out = dst->udp ? dst->udp : dst->tcp;
		if (dst->udp && dst->tcp && dst->tcp->last_rx_ms > dst->udp->last_rx_ms)
			out = dst->tcp;
	}
	if (!out) {
		struct cn_link_msg nh = {.type = CN_LINK_NOT_HERE, .key = m->key};

		r->m.packets_not_here++;
		link_send(l, &nh, false);
		return;
	}
	if (out->kind == LINK_TCP && l->kind == LINK_TCP && !l->waiting_on &&
	    evbuffer_get_length(bufferevent_get_output(out->bev)) >
		    r->cfg.limits.max_buffered / 2) {
		/* out is falling behind: stop reading from l until it catches up. */
		bufferevent_disable(l->bev, EV_READ);
		l->waiting_on = out;
		TAILQ_INSERT_TAIL(&out->waiters, l, wait_entry);
		r->m.backpressure_pauses++;
	}
	if (link_send(out, &recv, false) != 0) {
		/* That link could not take it at once: try the other one. */
		struct relay_link *other = out == dst->udp ? dst->tcp : dst->udp;

		if (!other || link_send(other, &recv, false) != 0)
			return;
	}
	r->m.packets_forwarded++;
	r->m.bytes_forwarded += m->data_len;
}

static void handle_message(struct relay_link *l, const uint8_t *pt, size_t len)
{
	struct cn_relay *r = l->r;
	struct cn_link_msg m;
	int ret;

	if (len == 0)
		return; /* keepalive */
	ret = cn_link_decode(pt, len, &m);
	if (ret) {
		r->m.drop_bad_message++;
		cn_log_ratelimited(&r->log_rl, cn_clock_ms(), CN_LOG_WARN,
				   "link %s %s: malformed link message: %s", l->addr_text,
				   l->peer->name, cn_strerror(ret));
		return;
	}
	switch (m.type) {
	case CN_LINK_SEND:
		if (l->peer->admin)
			r->m.drop_bad_message++;
		else
			handle_send(l, &m);
		break;
	case CN_LINK_WATCH:
		if (m.flag && !l->watch && !l->peer->admin) {
			/* A snapshot first: every peer here now; changes follow. */
			for (size_t i = 0; i < r->npeers; i++) {
				struct cn_link_msg pm = {.type = CN_LINK_PRESENCE,
							 .key = r->peers[i].key,
							 .flag = 1};

				if (&r->peers[i] != l->peer && (r->peers[i].udp || r->peers[i].tcp))
					link_send(l, &pm, true);
			}
		}
		if (m.flag && !l->watch && !l->peer->admin)
			TAILQ_INSERT_TAIL(&r->watchers, l, watch_entry);
		else if (!m.flag && l->watch)
			TAILQ_REMOVE(&r->watchers, l, watch_entry);
		l->watch = m.flag && !l->peer->admin;
		break;
	case CN_LINK_HAVE_LIST:
		l->have_serial = m.serial ? m.serial : 1;
		if (r->pl && (uint64_t)r->pl->serial > m.serial)
			send_list(l);
		break;
	case CN_LINK_LIST_CHUNK:
		handle_chunk(l, &m);
		break;
	case CN_LINK_PING: {
		struct cn_link_msg pong = {.type = CN_LINK_PONG, .nonce = m.nonce};

		link_send(l, &pong, true);
		break;
	}
	case CN_LINK_PONG:
		break;
	case CN_LINK_BYE:
		link_close(l, "closed by the node");
		break;
	case CN_LINK_RECV:
	case CN_LINK_NOT_HERE:
	case CN_LINK_PRESENCE:
	case CN_LINK_LIST_RESULT:
		r->m.drop_bad_message++; /* relay-to-node messages */
		break;
	}
}

/* The link's first authenticated packet: it replaces the peer's older link. */
static void link_confirm(struct relay_link *l)
{
	struct cn_relay *r = l->r;
	struct relay_peer *p = l->peer;
	struct relay_link **slot = l->kind == LINK_TCP ? &p->tcp : &p->udp;
	bool was_here = p->tcp || p->udp;
	char fpr[CN_KEY_FPR_LEN + 1];

	l->state = LINK_UP;
	r->npending--;
	if (*slot && *slot != l) {
		r->m.links_closed_replaced++;
		link_close(*slot, "replaced by a newer link");
	}
	*slot = l;
	cn_key_fingerprint(p->key, fpr);
	cn_log_info("link %s: %s %s (%s...) up over %s", l->addr_text, p->admin ? "admin" : "peer",
		    p->name, fpr, l->kind == LINK_TCP ? "TCP" : "UDP");
	if (!was_here && !p->admin)
		presence_broadcast(r, p->key, true);
}

/*
 * An initiation arrived: on l (TCP) or, for UDP, from sa on u. Runs the
 * limits, the handshake and sends the response.
 */
static void handle_initiation(struct cn_relay *r, struct relay_link *l, struct relay_udp *u,
			      const struct sockaddr *sa, socklen_t salen, const uint8_t *msg,
			      size_t len)
{
	struct cn_handshake hs;
	struct cn_handshake_peer *hp = NULL;
	struct cn_session sess;
	uint8_t *resp = r->out + CN_TCP_FRAME_HDR;
	bool rekey = l && l->state != LINK_NEW;
	uint64_t now = cn_clock_ms();
	int ret;

	memset(&sess, 0, sizeof(sess));
	if (!cn_ratelimit_allow(&r->rl, sa, now)) {
		r->m.handshake_ratelimited++;
		return;
	}
	if (!l && r->npending >= r->cfg.limits.max_pending_handshakes) {
		r->m.handshake_pending_full++;
		return;
	}
	ret = cn_handshake_consume_initiation(&hs, &r->local, msg, len, lookup_xkey, r, &hp);
	if (ret) {
		char a[CN_ADDR_TEXT_MAX];

		switch (ret) {
		case -CN_EUNKNOWN:
			r->m.handshake_fail_unknown++;
			break;
		case -CN_EREPLAY:
			r->m.handshake_fail_replay++;
			break;
		case -CN_EDECRYPT:
		case -CN_EKEY:
			r->m.handshake_fail_auth++;
			break;
		default:
			r->m.handshake_fail_format++;
			break;
		}
		cn_addr_format(sa, a);
		cn_log_ratelimited(&r->log_rl, now, CN_LOG_WARN, "handshake from %s refused: %s", a,
				   ret == -CN_EUNKNOWN ? "key not in the peer list"
						       : cn_strerror(ret));
		if (l && l->kind == LINK_TCP && l->state == LINK_NEW) {
			r->m.links_closed_garbage++;
			link_close(l, NULL);
		}
		return;
	}
	if (rekey && peer_of(hp) != l->peer) {
		/* Another identity on an authenticated TCP connection: refuse. */
		cn_handshake_wipe(&hs);
		r->m.handshake_fail_auth++;
		link_close(l, "a different key tried to take over the connection");
		return;
	}
	if (!l) {
		l = link_new(r, LINK_UDP, sa, salen);
		if (!l) {
			cn_handshake_wipe(&hs);
			r->m.handshake_pending_full++;
			return;
		}
		l->udp = u;
	}
	if (rekey && !l->next) {
		l->next = calloc(1, sizeof(*l->next));
		if (!l->next) {
			cn_handshake_wipe(&hs);
			return;
		}
	}
	ret = cn_handshake_create_response(&hs, l->index, NULL, now, resp,
					   rekey ? l->next : &l->sess);
	cn_handshake_wipe(&hs);
	if (ret) {
		r->m.handshake_fail_format++;
		if (!rekey)
			link_close(l, NULL);
		return;
	}
	if (!rekey)
		l->state = LINK_RESPONDED;
	l->peer = peer_of(hp);
	r->m.handshakes_ok++;
	link_write(l, CN_HANDSHAKE_RESPONSE_LEN, true);
}

/*
 * A data message for link l (found by index or connection). For UDP, sa is
 * the datagram's source: a link whose node changed address (NAT rebinding,
 * roaming) follows it once a packet from there authenticates.
 */
static void handle_data(struct relay_link *l, uint8_t *msg, size_t len, const struct sockaddr *sa,
			socklen_t salen)
{
	struct cn_relay *r = l->r;
	struct cn_session *s = &l->sess;
	size_t pt_len = 0;
	uint64_t now = cn_clock_ms();
	int ret;

	if (l->next && l->next->state != CN_SESSION_EMPTY && len >= 8 &&
	    (uint32_t)(msg[4] | msg[5] << 8 | msg[6] << 16 | (uint32_t)msg[7] << 24) ==
		    l->next->local_index)
		s = l->next;
	ret = cn_session_decrypt(s, now, msg, len, msg + CN_SESSION_HEADER_LEN,
				 len - CN_SESSION_HEADER_LEN, &pt_len);
	if (ret) {
		r->m.drop_bad_packet++;
		if (l->kind == LINK_TCP && ret != -CN_EREPLAY) {
			/* Nobody but the peer writes into its TCP stream. */
			r->m.links_closed_garbage++;
			link_close(l, "packet failed authentication");
		}
		return;
	}
	if (s == l->next) {
		/* The rekeyed session is confirmed: it replaces the old one. */
		cn_session_wipe(&l->sess);
		l->sess = *l->next;
		cn_session_wipe(l->next);
	}
	if (l->state == LINK_RESPONDED)
		link_confirm(l);
	l->last_rx_ms = now;
	if (sa && !cn_addr_equal((const struct sockaddr *)&l->addr.ss, sa)) {
		char a[CN_ADDR_TEXT_MAX];

		cn_addr_format(sa, a);
		cn_log_info("link %s %s: moved to %s", l->addr_text, l->peer->name, a);
		memcpy(&l->addr.ss, sa, salen);
		l->addr.len = salen;
		snprintf(l->addr_text, sizeof(l->addr_text), "%s", a);
	}
	handle_message(l, msg + CN_SESSION_HEADER_LEN, pt_len);
}

/* ---- TCP ----------------------------------------------------------------- */

static void tcp_read_cb(struct bufferevent *bev, void *arg)
{
	struct relay_link *l = arg;
	struct cn_relay *r = l->r;
	struct evbuffer *in = bufferevent_get_input(bev);
	uint32_t index = l->index;

	for (;;) {
		size_t avail = evbuffer_get_length(in), msg_len, used;
		uint8_t hdr[CN_TCP_FRAME_HDR];
		const uint8_t *msg, *p;
		enum cn_msg_type type;
		uint32_t rindex;
		int ret;

		if (avail == 0) {
			l->partial_since_ms = 0;
			return;
		}
		if (avail < CN_TCP_FRAME_HDR) {
			if (!l->partial_since_ms)
				l->partial_since_ms = cn_clock_ms();
			return;
		}
		/* The header alone tells a zero or oversized frame: cut at once. */
		evbuffer_copyout(in, hdr, sizeof(hdr));
		ret = cn_tcp_frame_next(hdr, sizeof(hdr), r->cfg.limits.max_frame, &msg, &msg_len,
					&used);
		if (ret != -CN_ESHORT) {
			r->m.links_closed_garbage++;
			link_close(l, ret == -CN_ETOOBIG ? "frame over the size limit"
							 : "malformed frame");
			return;
		}
		msg_len = ((size_t)hdr[0] << 8) | hdr[1];
		if (avail < CN_TCP_FRAME_HDR + msg_len) {
			if (!l->partial_since_ms)
				l->partial_since_ms = cn_clock_ms();
			return;
		}
		p = evbuffer_pullup(in, (ssize_t)(CN_TCP_FRAME_HDR + msg_len));
		if (!p || cn_tcp_frame_next(p, CN_TCP_FRAME_HDR + msg_len, r->cfg.limits.max_frame,
					    &msg, &msg_len, &used) != 0) {
			link_close(l, "out of memory");
			return;
		}
		memcpy(r->in, msg, msg_len);
		evbuffer_drain(in, used);
		l->partial_since_ms = 0;
		ret = cn_handshake_classify(r->in, msg_len, &type, &rindex);
		if (ret == 0 && type == CN_MSG_INITIATION) {
			handle_initiation(r, l, NULL, (const struct sockaddr *)&l->addr.ss,
					  l->addr.len, r->in, msg_len);
		} else if (ret == 0 && type == CN_MSG_DATA && l->state != LINK_NEW) {
			handle_data(l, r->in, msg_len, NULL, 0);
		} else {
			r->m.links_closed_garbage++;
			link_close(l, l->state == LINK_NEW ? "did not start with a handshake"
							   : "unexpected message");
			return;
		}
		/* The handlers may have closed and freed l. */
		if (link_by_index(r, index) != l)
			return;
	}
}

/* The output queue drained below the low watermark. */
static void tcp_write_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	release_waiters(arg);
	list_pump(arg);
}

static void tcp_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct relay_link *l = arg;

	(void)bev;
	if (what & BEV_EVENT_EOF)
		link_close(l, "connection closed by peer");
	else if (what & BEV_EVENT_ERROR)
		link_close(l, strerror(EVUTIL_SOCKET_ERROR()));
}

static void tcp_accept_cb(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa,
			  int salen, void *arg)
{
	struct cn_relay *r = arg;
	struct relay_link *l;
	int one = 1;

	(void)lis;
	if (r->nlinks >= r->cfg.limits.max_connections ||
	    r->npending >= r->cfg.limits.max_pending_handshakes) {
		r->m.tcp_refused++;
		evutil_closesocket(fd);
		return;
	}
	l = link_new(r, LINK_TCP, sa, (socklen_t)salen);
	if (!l) {
		r->m.tcp_refused++;
		evutil_closesocket(fd);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	l->bev = bufferevent_socket_new(r->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!l->bev) {
		evutil_closesocket(fd);
		link_close(l, "out of memory");
		return;
	}
	r->m.tcp_accepted++;
	bufferevent_setcb(l->bev, tcp_read_cb, tcp_write_cb, tcp_event_cb, l);
	bufferevent_setwatermark(l->bev, EV_WRITE, r->cfg.limits.max_buffered / 4, 0);
	bufferevent_enable(l->bev, EV_READ | EV_WRITE);
}

/* ---- UDP and STUN -------------------------------------------------------- */

static void stun_answer(struct cn_relay *r, int fd, const uint8_t *buf, size_t len,
			const struct sockaddr *sa, socklen_t salen)
{
	struct cn_stun_request req;
	struct cn_stun_addr mapped = {0};
	uint8_t out[CN_STUN_MSG_MAX];
	size_t out_len = 0;
	int ret;

	if (cn_stun_decode_request(buf, len, &req) != 0) {
		r->m.stun_bad++;
		return;
	}
	r->m.stun_requests++;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

		mapped.family = CN_STUN_FAMILY_IPV4;
		mapped.port = ntohs(s4->sin_port);
		memcpy(mapped.ip, &s4->sin_addr, 4);
	} else {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

		mapped.family = CN_STUN_FAMILY_IPV6;
		mapped.port = ntohs(s6->sin6_port);
		memcpy(mapped.ip, &s6->sin6_addr, 16);
	}
	switch (cn_stun_request_reply(&req)) {
	case CN_STUN_REPLY_NONE:
		return;
	case CN_STUN_REPLY_SUCCESS:
		ret = cn_stun_encode_binding_response(&req, &mapped, SOFTWARE, out, sizeof(out),
						      &out_len);
		break;
	case CN_STUN_REPLY_UNKNOWN:
		ret = cn_stun_encode_unknown_response(&req, SOFTWARE, out, sizeof(out), &out_len);
		break;
	default:
		return;
	}
	if (ret == 0)
		(void)sendto(fd, out, out_len, MSG_DONTWAIT, sa, salen);
}

static void udp_packet(struct relay_udp *u, uint8_t *buf, size_t len, const struct sockaddr *sa,
		       socklen_t salen)
{
	struct cn_relay *r = u->r;
	enum cn_msg_type type;
	uint32_t index;
	struct relay_link *l;

	/*
	 * STUN shares the link port: RFC 8489 requests carry the cookie, and
	 * libnice's requests (no cookie) and every other Binding Request start
	 * with 0x00, a byte no link message starts with (types 1, 2, 4).
	 */
	if (u->stun_only || cn_stun_is_stun(buf, len) || (len > 0 && buf[0] == 0x00)) {
		stun_answer(r, u->fd, buf, len, sa, salen);
		return;
	}
	if (cn_handshake_classify(buf, len, &type, &index) != 0) {
		r->m.drop_bad_packet++;
		return;
	}
	switch (type) {
	case CN_MSG_INITIATION:
		handle_initiation(r, NULL, u, sa, salen, buf, len);
		return;
	case CN_MSG_DATA:
		l = link_by_index(r, index);
		if (!l || l->kind != LINK_UDP) {
			r->m.drop_no_session++;
			return;
		}
		handle_data(l, buf, len, sa, salen);
		return;
	case CN_MSG_RESPONSE:
		r->m.drop_bad_packet++;
		return;
	}
}

static void udp_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct relay_udp *u = arg;
	struct cn_relay *r = u->r;
	struct sockaddr_storage *from = r->from;
	uint8_t(*bufs)[UDP_DGRAM_MAX] = r->bufs;
	struct mmsghdr msgs[UDP_BATCH];
	struct iovec iov[UDP_BATCH];
	int n;

	(void)what;
	for (int round = 0; round < 8; round++) {
		memset(msgs, 0, sizeof(msgs));
		for (int i = 0; i < UDP_BATCH; i++) {
			iov[i].iov_base = bufs[i];
			iov[i].iov_len = UDP_DGRAM_MAX;
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
			msgs[i].msg_hdr.msg_name = &from[i];
			msgs[i].msg_hdr.msg_namelen = sizeof(from[0]);
		}
		n = recvmmsg(fd, msgs, UDP_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return;
		for (int i = 0; i < n; i++) {
			if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
				r->m.drop_bad_packet++;
				continue;
			}
			udp_packet(u, bufs[i], msgs[i].msg_len, (const struct sockaddr *)&from[i],
				   msgs[i].msg_hdr.msg_namelen);
		}
		/* What this batch forwarded leaves now, not a loop iteration later. */
		udp_flush(r);
		if (n < UDP_BATCH)
			return;
	}
}

static int udp_open(struct cn_relay *r, const struct cn_addr *a, bool stun_only,
		    struct cn_errbuf *e)
{
	struct relay_udp *u = &r->udps[r->nudp];
	char text[CN_ADDR_TEXT_MAX];
	int fd, bufsz = SOCKBUF_BYTES, one = 1;

	cn_addr_format((const struct sockaddr *)&a->ss, text);
	fd = socket(a->ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		cn_errbuf_set(e, "udp %s: socket: %s", text, strerror(errno));
		return -CN_EIO;
	}
	if (a->ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	/* Large buffers (forced as root: the namespace's rmem_max may be small). */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bufsz, sizeof(bufsz)) != 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof(bufsz));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &bufsz, sizeof(bufsz)) != 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof(bufsz));
	if (bind(fd, (const struct sockaddr *)&a->ss, a->len) != 0) {
		cn_errbuf_set(e, "udp %s: bind: %s", text, strerror(errno));
		close(fd);
		return -CN_EIO;
	}
	u->r = r;
	u->fd = fd;
	u->stun_only = stun_only;
	u->ev = event_new(r->base, fd, EV_READ | EV_PERSIST, udp_read_cb, u);
	if (!u->ev || event_add(u->ev, NULL) != 0) {
		cn_errbuf_set(e, "udp %s: cannot watch the socket", text);
		close(fd);
		return -CN_ENOMEM;
	}
	r->nudp++;
	cn_log_info("listening on %s/udp%s", text, stun_only ? " (STUN)" : "");
	return 0;
}

/* ---- metrics -------------------------------------------------------------- */

static void http_metrics(struct evhttp_request *req, void *arg)
{
	struct cn_relay *r = arg;
	struct evbuffer *b = evbuffer_new();
	const struct cn_relay_metrics *m = &r->m;

	if (!b) {
		evhttp_send_error(req, 500, NULL);
		return;
	}
	metrics_links(r);
#define G(name, help, v)                                                                     \
	evbuffer_add_printf(b,                                                               \
			    "# HELP cairn_relay_" name " " help "\n# TYPE cairn_relay_" name \
			    " gauge\ncairn_relay_" name " %" PRIu64 "\n",                    \
			    (uint64_t)(v))
#define C(name, help, v)                                                                     \
	evbuffer_add_printf(b,                                                               \
			    "# HELP cairn_relay_" name " " help "\n# TYPE cairn_relay_" name \
			    " counter\ncairn_relay_" name " %" PRIu64 "\n",                  \
			    (uint64_t)(v))
	G("links", "Authenticated links by transport.", 0);
	evbuffer_add_printf(b, "cairn_relay_links{transport=\"tcp\"} %" PRIu64 "\n", m->links_tcp);
	evbuffer_add_printf(b, "cairn_relay_links{transport=\"udp\"} %" PRIu64 "\n", m->links_udp);
	G("links_pending", "Links not yet authenticated.", m->links_pending);
	G("peer_list_serial", "Serial of the peer list in force.", m->list_serial);
	G("peer_list_peers", "Peers in the list in force.", r->npeers);
	C("tcp_accepted_total", "TCP connections accepted.", m->tcp_accepted);
	C("tcp_refused_total", "TCP connections refused at a limit.", m->tcp_refused);
	C("handshakes_total", "Handshakes completed.", m->handshakes_ok);
	evbuffer_add_printf(b, "# HELP cairn_relay_handshake_failures_total Handshakes refused, by "
			       "reason.\n# TYPE cairn_relay_handshake_failures_total counter\n");
	evbuffer_add_printf(
		b,
		"cairn_relay_handshake_failures_total{reason=\"format\"} %" PRIu64 "\n"
		"cairn_relay_handshake_failures_total{reason=\"auth\"} %" PRIu64 "\n"
		"cairn_relay_handshake_failures_total{reason=\"unknown_key\"} %" PRIu64 "\n"
		"cairn_relay_handshake_failures_total{reason=\"replay\"} %" PRIu64 "\n"
		"cairn_relay_handshake_failures_total{reason=\"rate_limited\"} %" PRIu64 "\n"
		"cairn_relay_handshake_failures_total{reason=\"pending_full\"} %" PRIu64 "\n",
		m->handshake_fail_format, m->handshake_fail_auth, m->handshake_fail_unknown,
		m->handshake_fail_replay, m->handshake_ratelimited, m->handshake_pending_full);
	C("packets_forwarded_total", "Packets forwarded between nodes.", m->packets_forwarded);
	C("bytes_forwarded_total", "Payload bytes forwarded between nodes.", m->bytes_forwarded);
	C("backpressure_pauses_total", "Times a TCP link was paused for a slow receiver.",
	  m->backpressure_pauses);
	C("not_here_total", "Packets for peers without a link (answered NOT_HERE).",
	  m->packets_not_here);
	evbuffer_add_printf(b, "# HELP cairn_relay_drops_total Packets dropped, by reason.\n"
			       "# TYPE cairn_relay_drops_total counter\n");
	evbuffer_add_printf(b,
			    "cairn_relay_drops_total{reason=\"buffer_full\"} %" PRIu64 "\n"
			    "cairn_relay_drops_total{reason=\"bad_packet\"} %" PRIu64 "\n"
			    "cairn_relay_drops_total{reason=\"bad_message\"} %" PRIu64 "\n"
			    "cairn_relay_drops_total{reason=\"no_session\"} %" PRIu64 "\n",
			    m->drop_buffer_full, m->drop_bad_packet, m->drop_bad_message,
			    m->drop_no_session);
	evbuffer_add_printf(b, "# HELP cairn_relay_links_closed_total Links closed, by reason.\n"
			       "# TYPE cairn_relay_links_closed_total counter\n");
	evbuffer_add_printf(b,
			    "cairn_relay_links_closed_total{reason=\"idle\"} %" PRIu64 "\n"
			    "cairn_relay_links_closed_total{reason=\"stalled\"} %" PRIu64 "\n"
			    "cairn_relay_links_closed_total{reason=\"garbage\"} %" PRIu64 "\n"
			    "cairn_relay_links_closed_total{reason=\"removed\"} %" PRIu64 "\n"
			    "cairn_relay_links_closed_total{reason=\"replaced\"} %" PRIu64 "\n",
			    m->links_closed_idle, m->links_closed_stalled, m->links_closed_garbage,
			    m->links_closed_removed, m->links_closed_replaced);
	C("stun_requests_total", "STUN binding requests answered or ignored by policy.",
	  m->stun_requests);
	C("stun_malformed_total", "Malformed STUN requests ignored.", m->stun_bad);
	C("peer_lists_accepted_total", "Uploaded peer lists adopted.", m->lists_accepted);
	C("peer_lists_refused_total", "Uploaded peer lists refused.", m->lists_refused);
#undef G
#undef C
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			  "text/plain; version=0.0.4");
	evhttp_send_reply(req, 200, "OK", b);
	evbuffer_free(b);
}

static void http_health(struct evhttp_request *req, void *arg)
{
	struct cn_relay *r = arg;
	struct evbuffer *b = evbuffer_new();

	if (!b) {
		evhttp_send_error(req, 500, NULL);
		return;
	}
	evbuffer_add_printf(b, "ok network=%s serial=%" PRId64 " links=%u\n", r->network,
			    r->pl ? r->pl->serial : 0, r->nlinks);
	evhttp_send_reply(req, 200, "OK", b);
	evbuffer_free(b);
}

/* ---- sweep ---------------------------------------------------------------- */

static void sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cn_relay *r = arg;
	struct relay_link *l, *tmp;
	uint64_t now = cn_clock_ms();
	const struct cn_relay_limits *lim = &r->cfg.limits;

	(void)fd;
	(void)what;
	TAILQ_FOREACH_SAFE (l, &r->links, entry, tmp) {
		if (l->state != LINK_UP && now - l->created_ms > lim->frame_timeout_ms) {
			r->m.links_closed_stalled++;
			link_close(l, l->kind == LINK_TCP ? "no handshake in time" : NULL);
		} else if (l->partial_since_ms &&
			   now - l->partial_since_ms > lim->frame_timeout_ms) {
			r->m.links_closed_stalled++;
			link_close(l, "stalled in the middle of a frame");
		} else if (now - l->last_rx_ms > lim->idle_timeout_ms) {
			r->m.links_closed_idle++;
			link_close(l, "idle");
		} else if (l->upload && now - l->upload_started_ms > UPLOAD_TIMEOUT_MS) {
			free(l->upload);
			l->upload = NULL;
			r->nuploads--;
		} else if (l->list_sending && l->kind == LINK_UDP) {
			list_pump(l);
		}
	}
	metrics_links(r);
}

/* ---- life cycle ------------------------------------------------------------ */

static int read_initial_list(struct cn_relay *r, struct cn_errbuf *e)
{
	char state_path[CN_PATH_MAX_LEN + 32];
	struct cn_errbuf fe = {{0}}, se = {{0}};
	char *buf = NULL;
	size_t len = 0;
	int ret_file, ret_state = -CN_ENOTFOUND;

	ret_file = cn_file_read(r->cfg.peer_list, CN_PEERLIST_MAX_BYTES, &buf, &len, &fe);
	if (ret_file == 0)
		ret_file = load_list(r, buf, len, r->cfg.peer_list, &fe);
	snprintf(state_path, sizeof(state_path), "%s/%s", r->cfg.state_dir, STATE_LIST_FILE);
	buf = NULL;
	if (cn_file_read(state_path, CN_PEERLIST_MAX_BYTES, &buf, &len, &se) == 0)
		ret_state = load_list(r, buf, len, state_path, &se);
	if (ret_file && ret_file != -CN_EROLLBACK)
		cn_log_warn("%s", fe.msg);
	if (ret_state && ret_state != -CN_ENOTFOUND && ret_state != -CN_EROLLBACK)
		cn_log_warn("%s", se.msg);
	if (!r->pl) {
		cn_errbuf_set(e, "no valid peer list: %s", fe.msg);
		return ret_file ? ret_file : -CN_ENOTFOUND;
	}
	cn_log_info("peer list: network %s, serial %" PRId64 ", %zu peers, %zu relays", r->network,
		    r->pl->serial, r->pl->npeers, r->pl->nrelays);
	return 0;
}

/* Everything but the sockets: identity, root key, state directory, list. */
static struct cn_relay *relay_load(struct event_base *base, const struct cn_relay_config *cfg,
				   struct cn_errbuf *e)
{
	struct cn_relay *r;
	uint8_t root_x[CN_KEY_LEN];

	r = calloc(1, sizeof(*r));
	if (!r) {
		cn_errbuf_set(e, "out of memory");
		return NULL;
	}
	r->base = base;
	r->cfg = *cfg;
	TAILQ_INIT(&r->links);
	TAILQ_INIT(&r->watchers);
	cn_ratelimit_init(&r->rl, cfg->limits.handshake_rate, cfg->limits.handshake_burst);
	if (cn_keyfile_read(cfg->identity_key, &r->id, e))
		goto fail;
	if (cn_key_ed_to_x(cfg->root_key, root_x)) {
		cn_errbuf_set(e, "root key unusable");
		goto fail;
	}
	cn_handshake_peer_init(&r->admin.hs, root_x);
	memcpy(r->admin.key, cfg->root_key, CN_KEY_LEN);
	snprintf(r->admin.name, sizeof(r->admin.name), "root");
	r->admin.admin = true;
	if (mkdir(cfg->state_dir, 0700) != 0 && errno != EEXIST) {
		cn_errbuf_set(e, "state directory %s: %s", cfg->state_dir, strerror(errno));
		goto fail;
	}
	if (read_initial_list(r, e))
		goto fail;
	if (cn_peerlist_find_relay_key(r->pl, r->id->ed_pk) == NULL) {
		char fpr[CN_KEY_FPR_LEN + 1];

		cn_key_fingerprint(r->id->ed_pk, fpr);
		cn_log_warn("this relay's key %s... is not among the peer list's relays; nodes "
			    "will not find it",
			    fpr);
	}
	return r;
fail:
	cn_relay_free(r);
	return NULL;
}

int cn_relay_check(const struct cn_relay_config *cfg, struct cn_errbuf *e)
{
	struct cn_relay *r = relay_load(NULL, cfg, e);

	if (!r)
		return -CN_EINVAL;
	cn_relay_free(r);
	return 0;
}

struct cn_relay *cn_relay_new(struct event_base *base, const struct cn_relay_config *cfg,
			      struct cn_errbuf *e)
{
	struct cn_relay *r;
	struct timeval tv = {SWEEP_MS / 1000, (SWEEP_MS % 1000) * 1000};

	r = relay_load(base, cfg, e);
	if (!r)
		return NULL;
	r->nslots = cfg->limits.max_connections;
	r->slots = calloc(r->nslots, sizeof(*r->slots));
	r->free_slots = calloc(r->nslots, sizeof(*r->free_slots));
	if (!r->slots || !r->free_slots) {
		cn_errbuf_set(e, "out of memory for %u connections", r->nslots);
		goto fail;
	}
	for (uint32_t i = 0; i < r->nslots; i++)
		r->free_slots[i] = r->nslots - 1 - i;
	r->nfree = r->nslots;
	for (unsigned int i = 0; i < cfg->ntcp; i++) {
		char text[CN_ADDR_TEXT_MAX];

		cn_addr_format((const struct sockaddr *)&cfg->tcp[i].ss, text);
		r->tcp_listeners[i] = evconnlistener_new_bind(
			base, tcp_accept_cb, r,
			LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, 1024,
			(const struct sockaddr *)&cfg->tcp[i].ss, (int)cfg->tcp[i].len);
		if (!r->tcp_listeners[i]) {
			cn_errbuf_set(e, "tcp %s: cannot listen: %s", text, strerror(errno));
			goto fail;
		}
		r->ntcp++;
		cn_log_info("listening on %s/tcp", text);
	}
	for (unsigned int i = 0; i < cfg->nudp; i++)
		if (udp_open(r, &cfg->udp[i], false, e))
			goto fail;
	for (unsigned int i = 0; i < cfg->nstun; i++)
		if (udp_open(r, &cfg->stun[i], true, e))
			goto fail;
	if (cfg->metrics_on) {
		char host[CN_ADDR_TEXT_MAX], text[CN_ADDR_TEXT_MAX];
		const struct sockaddr *sa = (const struct sockaddr *)&cfg->metrics.ss;

		cn_addr_format(sa, text);
		r->http = evhttp_new(base);
		if (!r->http) {
			cn_errbuf_set(e, "metrics: out of memory");
			goto fail;
		}
		if (sa->sa_family == AF_INET6) {
			snprintf(host, sizeof(host), "%s", text + 1);
			*strrchr(host, ']') = '\0';
		} else {
			snprintf(host, sizeof(host), "%s", text);
			*strrchr(host, ':') = '\0';
		}
		r->http_sock =
			evhttp_bind_socket_with_handle(r->http, host, (uint16_t)cn_addr_port(sa));
		if (!r->http_sock) {
			cn_errbuf_set(e, "metrics %s: cannot listen: %s", text, strerror(errno));
			goto fail;
		}
		evhttp_set_cb(r->http, "/metrics", http_metrics, r);
		evhttp_set_cb(r->http, "/health", http_health, r);
		evhttp_set_allowed_methods(r->http, EVHTTP_REQ_GET);
		cn_log_info("metrics on http://%s/metrics", text);
	}
	r->flush = event_new(base, -1, 0, flush_cb, r);
	if (!r->flush) {
		cn_errbuf_set(e, "out of memory");
		goto fail;
	}
	r->sweep = event_new(base, -1, EV_PERSIST, sweep_cb, r);
	if (!r->sweep || event_add(r->sweep, &tv) != 0) {
		cn_errbuf_set(e, "cannot start the sweep timer");
		goto fail;
	}
	return r;
fail:
	cn_relay_free(r);
	return NULL;
}

void cn_relay_free(struct cn_relay *r)
{
	struct relay_link *l;

	if (!r)
		return;
	r->closing = true;
	udp_flush(r);
	while ((l = TAILQ_FIRST(&r->links)) != NULL)
		link_close(l, NULL);
	if (r->flush)
		event_free(r->flush);
	for (unsigned int i = 0; i < r->ntcp; i++)
		evconnlistener_free(r->tcp_listeners[i]);
	for (unsigned int i = 0; i < r->nudp; i++) {
		event_free(r->udps[i].ev);
		close(r->udps[i].fd);
	}
	if (r->http)
		evhttp_free(r->http);
	if (r->sweep)
		event_free(r->sweep);
	free(r->slots);
	free(r->free_slots);
	free(r->peers);
	cn_peerlist_free(r->pl);
	free(r->pl_text);
	cn_identity_free(r->id);
	sodium_memzero(&r->local, sizeof(r->local));
	free(r);
}

int cn_relay_reload(struct cn_relay *r)
{
	struct cn_errbuf e = {{0}};
	int64_t before = r->pl->serial;
	char *buf = NULL;
	size_t len = 0;
	int ret;

	ret = cn_file_read(r->cfg.peer_list, CN_PEERLIST_MAX_BYTES, &buf, &len, &e);
	if (ret == 0)
		ret = load_list(r, buf, len, r->cfg.peer_list, &e);
	if (ret) {
		cn_log_warn("reload: %s; keeping serial %" PRId64, e.msg, r->pl->serial);
		return ret;
	}
	if (r->pl->serial == before) {
		cn_log_info("reload: %s has serial %" PRId64 ", already in force", r->cfg.peer_list,
			    before);
		return 0;
	}
	cn_log_info("reload: peer list serial %" PRId64 " adopted (%zu peers)", r->pl->serial,
		    r->npeers);
	r->m.lists_accepted++;
	save_list(r);
	return 0;
}

const struct cn_relay_metrics *cn_relay_get_metrics(struct cn_relay *r)
{
	metrics_links(r);
	return &r->m;
}

static int sock_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (fd < 0 || getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		return -1;
	return cn_addr_port((const struct sockaddr *)&ss);
}

int cn_relay_tcp_port(const struct cn_relay *r)
{
	return r->ntcp ? sock_port(evconnlistener_get_fd(r->tcp_listeners[0])) : -1;
}

int cn_relay_udp_port(const struct cn_relay *r)
{
	for (unsigned int i = 0; i < r->nudp; i++)
		if (!r->udps[i].stun_only)
			return sock_port(r->udps[i].fd);
	return -1;
}

int cn_relay_stun_port(const struct cn_relay *r)
{
	for (unsigned int i = 0; i < r->nudp; i++)
		if (r->udps[i].stun_only)
			return sock_port(r->udps[i].fd);
	return -1;
}

int cn_relay_metrics_port(const struct cn_relay *r)
{
	return r->http_sock ? sock_port(evhttp_bound_socket_get_fd(r->http_sock)) : -1;
}
