/* SPDX-License-Identifier: MIT */
/*
 * TCP links (relay_int.h): the listeners, accepting within the connection
 * caps, the u16 framing (relay/link.h) read out of a bufferevent, and the
 * write callback that lets paused senders and the list pump continue.
 *
 * A connection must start with an initiation; anything else, a frame over
 * max_frame or a zero-length frame cuts it at once. A frame that is not
 * finished within frame_timeout is the sweep's business (partial_since_ms).
 */
#include "relay/relay_int.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>

#include "common/clock.h"

static void read_cb(struct bufferevent *bev, void *arg)
{
	struct relay_link *l = arg;
	struct cn_relay *r = l->r;
	struct evbuffer *in = bufferevent_get_input(bev);
	uint32_t slot = l->slot, id = l->id;

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
			cn_relay_link_close(l, ret == -CN_ETOOBIG ? "frame over the size limit"
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
			cn_relay_link_close(l, "out of memory");
			return;
		}
		memcpy(r->in, msg, msg_len);
		evbuffer_drain(in, used);
		l->partial_since_ms = 0;
		ret = cn_handshake_classify(r->in, msg_len, &type, &rindex);
		if (ret == 0 && type == CN_MSG_INITIATION) {
			cn_relay_link_initiation(r, l, NULL, (const struct sockaddr *)&l->addr.ss,
						 l->addr.len, r->in, msg_len);
		} else if (ret == 0 && type == CN_MSG_DATA && l->state != CN_RELAY_LINK_NEW) {
			cn_relay_link_data(l, r->in, msg_len, NULL, 0);
		} else {
			r->m.links_closed_garbage++;
			cn_relay_link_close(l, l->state == CN_RELAY_LINK_NEW
						       ? "did not start with a handshake"
						       : "unexpected message");
			return;
		}
		/* The handlers may have closed and freed l, or doomed it. */
		if (!cn_relay_link_alive(r, l, slot, id) || l->doomed)
			return;
	}
}

/* The output queue drained below the low watermark. */
static void write_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	cn_relay_forward_release_waiters(arg);
	cn_relay_list_pump(arg);
	cn_relay_forward_snapshot_pump(arg);
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct relay_link *l = arg;

	(void)bev;
	if (what & BEV_EVENT_EOF)
		cn_relay_link_close(l, "connection closed by peer");
	else if (what & BEV_EVENT_ERROR)
		cn_relay_link_close(l, strerror(EVUTIL_SOCKET_ERROR()));
}

static void accept_cb(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa,
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
	l = cn_relay_link_new(r, CN_RELAY_LINK_TCP, sa, (socklen_t)salen);
	if (!l) {
		r->m.tcp_refused++;
		evutil_closesocket(fd);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	l->bev = bufferevent_socket_new(r->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!l->bev) {
		evutil_closesocket(fd);
		cn_relay_link_close(l, "out of memory");
		return;
	}
	r->m.tcp_accepted++;
	bufferevent_setcb(l->bev, read_cb, write_cb, event_cb, l);
	bufferevent_setwatermark(l->bev, EV_WRITE, r->cfg.limits.max_buffered / 4, 0);
	bufferevent_enable(l->bev, EV_READ | EV_WRITE);
}

int cn_relay_tcp_listen(struct cn_relay *r, const struct cn_addr *a, struct cn_errbuf *e)
{
	char text[CN_ADDR_TEXT_MAX];
	struct evconnlistener *lis;

	cn_addr_format((const struct sockaddr *)&a->ss, text);
	lis = evconnlistener_new_bind(r->base, accept_cb, r,
				      LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
					      LEV_OPT_CLOSE_ON_EXEC,
				      1024, (const struct sockaddr *)&a->ss, (int)a->len);
	if (!lis) {
		cn_errbuf_set(e, "tcp %s: cannot listen: %s", text, strerror(errno));
		return -CN_EIO;
	}
	r->tcp_listeners[r->ntcp++] = lis;
	cn_log_info("listening on %s/tcp", text);
	return 0;
}
