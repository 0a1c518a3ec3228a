/* SPDX-License-Identifier: MIT */
/*
 * UDP links (relay_int.h): the sockets, reading with recvmmsg (UDP_GRO on
 * link sockets: one read may hold many datagrams of one sender, split
 * here, common/udpbatch.h), telling STUN from link messages, and the batch
 * of datagrams sent with one sendmmsg per socket.
 *
 * Every datagram of a batch is handled on its own, in arrival order, with
 * every per-packet rule (handshake guard, rate limits, path validation,
 * counters): a bad one is dropped and counted and the rest go on.
 *
 * Sending: datagrams a callback produces are queued (up to SEND_BATCH) and
 * leave at the end of each received batch, or from an event activated with
 * the first queued datagram, which runs right after the callback that
 * queued it. At the flush each socket's datagrams are grouped per
 * destination (each destination's in order) so that a run of equal-size
 * datagrams to one node leaves as one UDP GSO message. A datagram the
 * socket refuses is dropped and counted.
 */
#include "relay/relay_int.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "nat/stun.h"

enum {
	SOCKBUF_BYTES = 4 << 20,
	READ_ROUNDS = 8, /* batches per readable event, so other sockets get a turn */
};

void cn_relay_udp_flush(struct cn_relay *r)
{
	bool done[CN_RELAY_SEND_BATCH] = {false};

	/* Per socket, in the order sockets first appear. */
	for (unsigned int i = 0; i < r->nsq; i++) {
		struct relay_udp *u = r->sq[i].u;
		size_t k = 0, sent = 0;

		if (done[i])
			continue;
		for (unsigned int j = i; j < r->nsq; j++) {
			struct relay_udp_out *q = &r->sq[j];

			if (done[j] || q->u != u)
				continue;
			done[j] = true;
			r->tx[k++] = (struct cn_udpbatch_msg){
				q->data, q->len, (const struct sockaddr *)&q->to, q->tolen};
		}
		cn_udpbatch_group(r->tx, k);
		cn_udpbatch_send(&u->ub_tx, u->fd, r->tx, k, &sent);
		/* A full socket buffer drops the rest of this socket's batch. */
		r->m.drop_buffer_full += k - sent;
	}
	r->nsq = 0;
}

static void flush_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	cn_relay_udp_flush(arg);
}

int cn_relay_udp_start(struct cn_relay *r, struct cn_errbuf *e)
{
	r->flush = event_new(r->base, -1, 0, flush_cb, r);
	if (!r->flush) {
		cn_errbuf_set(e, "out of memory");
		return -CN_ENOMEM;
	}
	return 0;
}

int cn_relay_udp_write(struct relay_link *l, size_t len)
{
	return cn_relay_udp_write_to(l, len, (const struct sockaddr *)&l->addr.ss, l->addr.len);
}

int cn_relay_udp_write_to(struct relay_link *l, size_t len, const struct sockaddr *to,
			  socklen_t tolen)
{
	struct cn_relay *r = l->r;

	if (len <= CN_RELAY_UDP_DGRAM_MAX && r->flush) {
		struct relay_udp_out *q;

		if (r->nsq == CN_RELAY_SEND_BATCH)
			cn_relay_udp_flush(r);
		q = &r->sq[r->nsq++];
		q->u = l->udp;
		memcpy(&q->to, to, tolen);
		q->tolen = tolen;
		q->len = len;
		memcpy(q->data, r->out + CN_TCP_FRAME_HDR, len);
		if (r->nsq == 1)
			event_active(r->flush, EV_TIMEOUT, 0);
		return 0;
	}
	if (sendto(l->udp->fd, r->out + CN_TCP_FRAME_HDR, len, MSG_DONTWAIT, to, tolen) < 0) {
		r->m.drop_buffer_full++;
		return -CN_EIO;
	}
	return 0;
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
		cn_relay_stun_answer(r, u->fd, buf, len, sa, salen);
		return;
	}
	if (cn_handshake_classify(buf, len, &type, &index) != 0) {
		r->m.drop_bad_packet++;
		return;
	}
	switch (type) {
	case CN_MSG_INITIATION:
		cn_relay_link_initiation(r, NULL, u, sa, salen, buf, len);
		return;
	case CN_MSG_DATA:
		l = cn_relay_link_by_index(r, index);
		if (!l || l->kind != CN_RELAY_LINK_UDP) {
			r->m.drop_no_session++;
			return;
		}
		cn_relay_link_data(l, buf, len, sa, salen);
		return;
	case CN_MSG_RESPONSE:
		r->m.drop_bad_packet++;
		return;
	}
}

void cn_relay_udp_batch(struct relay_udp *u, const struct cn_udpbatch_rx *rx, size_t n)
{
	struct cn_relay *r = u->r;

	for (size_t i = 0; i < n; i++) {
		/* Node link datagrams are MTU-sized: a larger one is not ours. */
		if (rx[i].len > CN_RELAY_UDP_DGRAM_MAX) {
			r->m.drop_bad_packet++;
			continue;
		}
		udp_packet(u, rx[i].p, rx[i].len, rx[i].from, rx[i].fromlen);
	}
	/* What this batch forwarded leaves now, not a loop iteration later. */
	cn_relay_udp_flush(r);
}

static void read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct relay_udp *u = arg;
	struct cn_relay *r = u->r;
	uint8_t *bufs[CN_RELAY_UDP_READS];

	(void)what;
	for (int i = 0; i < CN_RELAY_UDP_READS; i++)
		bufs[i] = r->bufs[i];
	for (int round = 0; round < READ_ROUNDS; round++) {
		uint64_t trunc = u->ub_rx.stats.truncated;
		size_t got = 0;
		int ret = cn_udpbatch_recv(&u->ub_rx, fd, bufs, CN_UDPBATCH_GRO_BUF,
					   CN_RELAY_UDP_READS, r->rx, CN_RELAY_UDP_ITEMS, &got);

		/* Reads longer than the buffer were dropped: counted as before. */
		r->m.drop_bad_packet += u->ub_rx.stats.truncated - trunc;
		if (ret != 0 || got == 0)
			return;
		cn_relay_udp_batch(u, r->rx, got);
		/* Fewer datagrams than reads asked for: the socket is drained. */
		if (got < CN_RELAY_UDP_READS)
			return;
	}
}

int cn_relay_udp_open(struct cn_relay *r, const struct cn_addr *a, bool stun_only,
		      struct cn_errbuf *e)
{
	struct relay_udp *u = &r->udps[r->nudp];
	char text[CN_ADDR_TEXT_MAX];
	struct cn_udpbatch_caps caps = {0};
	int fd, one = 1;

	cn_addr_format((const struct sockaddr *)&a->ss, text);
	fd = socket(a->ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		cn_errbuf_set(e, "udp %s: socket: %s", text, strerror(errno));
		return -CN_EIO;
	}
	if (a->ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	/*
	 * Large buffers (forced as root: the namespace's rmem_max may be
	 * small); UDP_GRO on link sockets (STUN-only ones answer single
	 * requests), UDP GSO for the sends where the kernel has it.
	 */
	cn_udpbatch_setup(fd, SOCKBUF_BYTES, !stun_only, &caps);
	cn_udpbatch_init(&u->ub_tx, &caps);
	cn_udpbatch_init(&u->ub_rx, &caps);
	if (bind(fd, (const struct sockaddr *)&a->ss, a->len) != 0) {
		cn_errbuf_set(e, "udp %s: bind: %s", text, strerror(errno));
		close(fd);
		return -CN_EIO;
	}
	u->r = r;
	u->fd = fd;
	u->stun_only = stun_only;
	u->ev = event_new(r->base, fd, EV_READ | EV_PERSIST, read_cb, u);
	if (!u->ev || event_add(u->ev, NULL) != 0) {
		cn_errbuf_set(e, "udp %s: cannot watch the socket", text);
		if (u->ev)
			event_free(u->ev);
		u->ev = NULL;
		close(fd);
		return -CN_ENOMEM;
	}
	r->nudp++;
	cn_log_info("listening on %s/udp%s", text, stun_only ? " (STUN)" : "");
	return 0;
}
