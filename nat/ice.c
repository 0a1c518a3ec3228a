/* SPDX-License-Identifier: MIT */
/*
 * ICE session on libnice (see ice.h, docs/ICE.md). An I/O shell: libnice
 * owns the sockets until the takeover; this file owns the agent, one
 * libevent timer and one libevent "defer" event per session.
 *
 * libnice signals arrive inside glib dispatch (or inside our own calls into
 * libnice). Their handlers only record what happened and activate `defer`;
 * run() then advances the state machine and calls the caller back from a
 * plain libevent callback, where freeing the agent and reentering cn_ice_*
 * is safe. The one exception is `recv`, which runs inside libnice's socket
 * callback for speed; a cn_ice_free there is finished via
 * cn_glib_loop_defer.
 *
 * Attacker model: the remote SDP comes from an authenticated peer, but is
 * still checked in full (cn_ice_sdp_check, nat/ice_sdp.c) because
 * libnice's parser has sharp edges: a truncated candidate line hands NULL
 * to string functions, a second ice-ufrag leaks, and a bad line after good
 * ones leaves half the candidates applied.
 */
#include "nat/ice.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <nice/agent.h>

#include "common/clock.h"
#include "common/log.h"
#include "nat/glib_event.h"

enum {
	COMPONENT = 1,
	MAX_LOCAL_CANDS = 64, /* read from libnice before sorting and capping */
	/* TURN deallocation before a handover: 1 RTT plus Ta pacing normally;
	 * libnice gives up by itself after ~5 s, so this is only a backstop. */
	RELEASE_MS = 6000,
	/* A selected pair is taken this long after selection even if libnice
	 * still checks higher-priority pairs (see run()). */
	SELECTED_GRACE_MS = 300,
};

enum cn_ice_state {
	ST_GATHERING, /* candidates being gathered; local SDP not yet signalled */
	ST_CHECKING,  /* local SDP signalled; checks run once the remote SDP is set */
	ST_LINGER,    /* READY on a direct pair; answering the peer's checks */
	ST_RELEASING, /* direct pair; libnice deallocating TURN before the handover */
	ST_TURN,      /* selected with a relayed local candidate; data via libnice */
	ST_DIRECT,    /* socket handed to the caller; agent freed */
	ST_FAILED,    /* `failed` reported; agent freed */
};

struct cn_ice {
	struct cn_glib_loop *g;
	NiceAgent *agent;
	guint stream_id;
	struct cn_ice_cbs cbs;
	void *arg;
	enum cn_ice_state state;
	bool force_relay;
	unsigned int nturn;

	/* Recorded by libnice signal handlers, consumed by run(). */
	bool nice_gathered, nice_ready, nice_failed, nice_closed;
	/* libnice selected (nominated) a pair while other pairs were still in
	 * progress; when, for the SELECTED_GRACE_MS rule in run(). */
	uint64_t nice_selected_ms;
	struct close_op *close_op; /* nice_agent_close_async in flight for us */

	bool remote_set, remote_done;
	bool closing;	    /* cn_ice_free called; no more callbacks */
	unsigned int in_cb; /* inside a caller callback */

	/* Monotonic ms; 0 = not armed. */
	uint64_t t_new, gather_deadline, check_deadline, linger_deadline, release_deadline;
	unsigned int check_timeout_ms, linger_ms;

	struct event *timer; /* earliest armed deadline */
	struct event *defer; /* run() after a libnice signal */
	struct cn_glib_deferred reap;
	gulong sig_gather, sig_state, sig_selected;
};

/* ---- session ---- */

static const char *type_name(NiceCandidateType t)
{
	switch (t) {
	case NICE_CANDIDATE_TYPE_HOST:
		return "host";
	case NICE_CANDIDATE_TYPE_SERVER_REFLEXIVE:
		return "srflx";
	case NICE_CANDIDATE_TYPE_PEER_REFLEXIVE:
		return "prflx";
	case NICE_CANDIDATE_TYPE_RELAYED:
		return "relay";
	}
	return "unknown";
}

static void drop_recv(NiceAgent *agent, guint stream_id, guint component_id, guint len, gchar *buf,
		      gpointer data)
{
	(void)agent;
	(void)stream_id;
	(void)component_id;
	(void)len;
	(void)buf;
	(void)data;
}

/*
 * Stops every callback into this session. keep_reading: libnice goes on
 * reading (and dropping) datagrams, so it still sees the answers to its
 * TURN deallocations; otherwise it stops reading the sockets at all.
 */
static void quiesce(struct cn_ice *ice, bool keep_reading)
{
	if (ice->timer)
		evtimer_del(ice->timer);
	if (ice->defer)
		event_del(ice->defer);
	if (!ice->agent)
		return;
	if (ice->sig_gather)
		g_signal_handler_disconnect(ice->agent, ice->sig_gather);
	if (ice->sig_state)
		g_signal_handler_disconnect(ice->agent, ice->sig_state);
	if (ice->sig_selected)
		g_signal_handler_disconnect(ice->agent, ice->sig_selected);
	ice->sig_gather = ice->sig_state = ice->sig_selected = 0;
	if (ice->stream_id)
		nice_agent_attach_recv(ice->agent, ice->stream_id, COMPONENT,
				       cn_glib_loop_context(ice->g),
				       keep_reading ? drop_recv : NULL, NULL);
}

/*
 * TURN deallocation: nice_agent_close_async sends a zero-lifetime Refresh
 * per allocation and completes on the answers or after libnice's STUN
 * retransmissions (~4.5 s). The GTask it creates holds a reference to the
 * agent until then and completes on the thread-default context, hence the
 * push. `ice` is cleared when the session stops caring.
 */
struct close_op {
	struct cn_ice *ice;
	struct cn_glib_loop *g;
};

static void on_closed(GObject *src, GAsyncResult *res, gpointer data)
{
	struct close_op *op = data;

	(void)src;
	(void)res;
	if (op->ice) {
		op->ice->close_op = NULL;
		op->ice->nice_closed = true;
		event_active(op->ice->defer, EV_TIMEOUT, 0);
	}
	cn_glib_loop_unhold(op->g);
	free(op);
}

static struct close_op *start_close(struct cn_ice *ice)
{
	GMainContext *ctx = cn_glib_loop_context(ice->g);
	struct close_op *op = calloc(1, sizeof(*op));

	if (!op)
		return NULL;
	op->ice = ice;
	op->g = ice->g;
	g_main_context_push_thread_default(ctx);
	nice_agent_close_async(ice->agent, on_closed, op);
	g_main_context_pop_thread_default(ctx);
	cn_glib_loop_hold(ice->g);
	cn_glib_loop_kick(ice->g);
	return op;
}

/*
 * Frees the agent. Never from inside glib dispatch. The fd watches go first
 * (glib_event.h, cn_glib_loop_flush), so a socket we dup()ed is not left
 * registered with the event loop. With TURN allocations not yet released,
 * the agent deallocates them in the background (its sockets close when
 * that ends, and it reads and drops datagrams meanwhile: a source left
 * without a reader would make glib spin); otherwise it and its sockets are
 * gone on return. handing_over: there is no background part (hand_over
 * waited for it), so the socket is closed on return.
 */
static void release_agent(struct cn_ice *ice, bool handing_over)
{
	bool background = false;
	GObject *probe;

	if (!ice->agent)
		return;
	/* After a handover libnice must not read the socket, even to see the
	 * answer to a TURN deallocation that is still under way. */
	quiesce(ice, !handing_over);
	cn_glib_loop_flush(ice->g);
	if (ice->close_op) {
		ice->close_op->ice = NULL;
		ice->close_op = NULL;
		background = true;
	} else if (ice->nturn && !ice->nice_closed) {
		struct close_op *op = start_close(ice);

		if (op)
			op->ice = NULL;
		background = op != NULL;
	}
	if (!background && ice->stream_id)
		nice_agent_remove_stream(ice->agent, ice->stream_id);
	ice->stream_id = 0;
	probe = G_OBJECT(ice->agent);
	g_object_add_weak_pointer(probe, (gpointer *)&probe);
	g_object_unref(ice->agent);
	ice->agent = NULL;
	if (probe) {
		/* Expected while deallocating TURN; otherwise a leak of open sockets. */
		if (!background)
			cn_log_warn("ice: libnice agent outlived its release");
		g_object_remove_weak_pointer(probe, (gpointer *)&probe);
	}
	cn_glib_loop_kick(ice->g);
}

static void destroy(struct cn_ice *ice)
{
	release_agent(ice, false);
	if (ice->timer)
		event_free(ice->timer);
	if (ice->defer)
		event_free(ice->defer);
	free(ice);
}

static void reap(struct cn_glib_deferred *d)
{
	destroy((struct cn_ice *)(void *)((char *)d - offsetof(struct cn_ice, reap)));
}

/* Around every caller callback made from libevent context: false if the
 * callback freed the session (it is gone now). */
static void cb_enter(struct cn_ice *ice)
{
	ice->in_cb++;
}

static bool cb_leave(struct cn_ice *ice)
{
	if (--ice->in_cb == 0 && ice->closing) {
		destroy(ice);
		return false;
	}
	return true;
}

static void rearm(struct cn_ice *ice, uint64_t now)
{
	uint64_t next = 0, d = 0;
	struct timeval tv;

	switch (ice->state) {
	case ST_GATHERING:
		next = ice->gather_deadline;
		if (ice->check_deadline && ice->check_deadline < next)
			next = ice->check_deadline;
		break;
	case ST_CHECKING:
		next = ice->check_deadline;
		if (ice->nice_selected_ms && !ice->nice_ready &&
		    (!next || ice->nice_selected_ms + SELECTED_GRACE_MS < next))
			next = ice->nice_selected_ms + SELECTED_GRACE_MS;
		break;
	case ST_LINGER:
		next = ice->linger_deadline;
		break;
	case ST_RELEASING:
		next = ice->release_deadline;
		break;
	case ST_TURN:
	case ST_DIRECT:
	case ST_FAILED:
		break;
	}
	if (!next) {
		evtimer_del(ice->timer);
		return;
	}
	if (next > now)
		d = next - now;
	tv.tv_sec = (time_t)(d / 1000);
	tv.tv_usec = (suseconds_t)(d % 1000) * 1000;
	evtimer_add(ice->timer, &tv);
}

/* Frees the agent, then reports; false if the callback freed the session. */
static bool fail(struct cn_ice *ice, const char *why)
{
	cn_log_debug("ice %p: failed after %llu ms: %s", (void *)ice,
		     (unsigned long long)(cn_clock_ms() - ice->t_new), why);
	release_agent(ice, false);
	ice->state = ST_FAILED;
	evtimer_del(ice->timer);
	if (!ice->cbs.failed)
		return true;
	cb_enter(ice);
	ice->cbs.failed(ice->arg, why);
	return cb_leave(ice);
}

static int cmp_prio(const void *a, const void *b)
{
	const NiceCandidate *x = *(NiceCandidate *const *)a, *y = *(NiceCandidate *const *)b;

	return x->priority < y->priority ? 1 : x->priority > y->priority ? -1 : 0;
}

/*
 * Our SDP: credentials plus the UDP candidates gathered so far, best first,
 * capped in count and bytes so the peer's cn_ice_sdp_check accepts it.
 * Returns the candidate count (0: none usable).
 */
static unsigned int build_local_sdp(struct cn_ice *ice, char *out, size_t cap)
{
	NiceCandidate *cands[MAX_LOCAL_CANDS];
	gchar *ufrag = NULL, *pwd = NULL;
	GSList *list = NULL;
	size_t len, nc = 0;
	unsigned int used = 0;
	int w;

	out[0] = '\0';
	if (!nice_agent_get_local_credentials(ice->agent, ice->stream_id, &ufrag, &pwd))
		goto out;
	w = snprintf(out, cap, "a=ice-ufrag:%s\na=ice-pwd:%s\n", ufrag, pwd);
	if (w < 0 || (size_t)w >= cap)
		goto out;
	len = (size_t)w;
	list = nice_agent_get_local_candidates(ice->agent, ice->stream_id, COMPONENT);
	for (GSList *l = list; l && nc < MAX_LOCAL_CANDS; l = l->next) {
		NiceCandidate *c = l->data;

		if (c->transport != NICE_CANDIDATE_TRANSPORT_UDP)
			continue;
		if (ice->force_relay && c->type != NICE_CANDIDATE_TYPE_RELAYED)
			continue;
		cands[nc++] = c;
	}
	qsort(cands, nc, sizeof(cands[0]), cmp_prio);
	for (size_t i = 0; i < nc && used < CN_ICE_MAX_CANDIDATES; i++) {
		gchar *line = nice_agent_generate_local_candidate_sdp(ice->agent, cands[i]);
		size_t n = line ? strlen(line) : 0;

		/* Skip what the peer's check would refuse (e.g. an odd address). */
		if (line && len + n + 1 < cap && cn_ice_sdp_candidate_line_ok(line, n)) {
			memcpy(out + len, line, n);
			out[len + n] = '\n';
			len += n + 1;
			out[len] = '\0';
			used++;
		} else if (line) {
			cn_log_debug("ice %p: not signalling candidate \"%s\"", (void *)ice, line);
		}
		g_free(line);
	}
out:
	for (GSList *l = list; l; l = l->next)
		nice_candidate_free(l->data);
	g_slist_free(list);
	g_free(ufrag);
	g_free(pwd);
	return used;
}

/* false if the session failed or was freed in the callback. */
static bool signal_local_sdp(struct cn_ice *ice, uint64_t now)
{
	char sdp[CN_ICE_SDP_MAX + 1];
	unsigned int n;

	n = build_local_sdp(ice, sdp, sizeof(sdp));
	if (n == 0) {
		fail(ice, ice->nice_gathered ? "no usable local candidates"
					     : "gathering timed out without candidates");
		return false;
	}
	cn_log_debug("ice %p: %u local candidates after %llu ms%s", (void *)ice, n,
		     (unsigned long long)(now - ice->t_new),
		     ice->nice_gathered ? "" : " (gathering timed out)");
	ice->state = ST_CHECKING;
	if (!ice->check_deadline)
		ice->check_deadline = now + ice->check_timeout_ms;
	if (!ice->cbs.local_sdp)
		return true;
	cb_enter(ice);
	ice->cbs.local_sdp(ice->arg, sdp);
	return cb_leave(ice);
}

struct pair {
	bool relayed;
	struct sockaddr_storage remote;
	socklen_t remote_len;
	const char *ltype, *rtype;
};

static bool selected_pair(struct cn_ice *ice, struct pair *p)
{
	NiceCandidate *local = NULL, *remote = NULL;

	memset(p, 0, sizeof(*p));
	if (!nice_agent_get_selected_pair(ice->agent, ice->stream_id, COMPONENT, &local, &remote) ||
	    !local || !remote)
		return false;
	p->relayed = local->type == NICE_CANDIDATE_TYPE_RELAYED;
	p->ltype = type_name(local->type);
	p->rtype = type_name(remote->type);
	nice_address_copy_to_sockaddr(&remote->addr, (struct sockaddr *)&p->remote);
	if (p->remote.ss_family == AF_INET)
		p->remote_len = sizeof(struct sockaddr_in);
	else if (p->remote.ss_family == AF_INET6)
		p->remote_len = sizeof(struct sockaddr_in6);
	else
		return false;
	return true;
}

static bool report_selected(struct cn_ice *ice, enum cn_ice_path path, int fd, const struct pair *p)
{
	cn_log_debug("ice %p: selected %s %s->%s after %llu ms", (void *)ice,
		     path == CN_ICE_DIRECT ? "direct" : "TURN", p->ltype, p->rtype,
		     (unsigned long long)(cn_clock_ms() - ice->t_new));
	if (!ice->cbs.selected) {
		if (fd >= 0)
			close(fd);
		return true;
	}
	cb_enter(ice);
	ice->cbs.selected(ice->arg, path, fd, (const struct sockaddr *)&p->remote, p->remote_len,
			  p->ltype, p->rtype);
	return cb_leave(ice);
}

/*
 * Hands the selected socket over: dup it, free libnice, report. Reads the
 * pair now rather than at READY, as it may have been updated meanwhile.
 */
static bool hand_over(struct cn_ice *ice)
{
	struct pair p;
	GSocket *gs;
	int fd, fl;

	if (!selected_pair(ice, &p))
		return fail(ice, "no selected pair at takeover");
	/* libnice still polls the socket while it deallocates: never share it. */
	if (ice->close_op)
		return fail(ice, "TURN deallocation did not finish");
	if (p.relayed && ice->nice_closed)
		return fail(ice, "the selected relayed pair lost its TURN allocation");
	if (p.relayed) {
		ice->state = ST_TURN;
		evtimer_del(ice->timer);
		return report_selected(ice, CN_ICE_TURN, -1, &p);
	}
	gs = nice_agent_get_selected_socket(ice->agent, ice->stream_id, COMPONENT);
	if (!gs)
		return fail(ice, "libnice gave no socket for the selected pair");
	fd = fcntl(g_socket_get_fd(gs), F_DUPFD_CLOEXEC, 0);
	g_object_unref(gs);
	if (fd < 0)
		return fail(ice, "cannot duplicate the selected socket");
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		close(fd);
		return fail(ice, "cannot make the selected socket non-blocking");
	}
	release_agent(ice, true);
	ice->state = ST_DIRECT;
	evtimer_del(ice->timer);
	return report_selected(ice, CN_ICE_DIRECT, fd, &p);
}

/*
 * The peer is done (or its linger ran out). With TURN configured, first let
 * libnice deallocate: the allocations may share the socket we hand over,
 * and their answers must reach libnice, not the caller.
 */
static bool take_over(struct cn_ice *ice, uint64_t now)
{
	struct pair p;

	if (ice->nturn && !ice->nice_closed && !ice->close_op && selected_pair(ice, &p) &&
	    !p.relayed) {
		ice->close_op = start_close(ice);
		if (ice->close_op) {
			ice->state = ST_RELEASING;
			ice->release_deadline = now + RELEASE_MS;
			rearm(ice, now);
			return true;
		}
	}
	return hand_over(ice);
}

/* libnice says READY: selection is final on our side. */
static bool on_ready(struct cn_ice *ice, uint64_t now)
{
	struct pair p;

	if (!selected_pair(ice, &p))
		return fail(ice, "READY without a selected pair");
	cn_log_debug("ice %p: READY %s->%s after %llu ms", (void *)ice, p.ltype, p.rtype,
		     (unsigned long long)(now - ice->t_new));
	ice->state = p.relayed ? ST_TURN : ST_LINGER;
	ice->linger_deadline = now + ice->linger_ms;
	if (ice->cbs.local_done) {
		cb_enter(ice);
		ice->cbs.local_done(ice->arg);
		if (!cb_leave(ice))
			return false;
	}
	if (p.relayed)
		return report_selected(ice, CN_ICE_TURN, -1, &p);
	return true;
}

/* The state machine, from libevent context only. */
static void run(struct cn_ice *ice)
{
	uint64_t now = cn_clock_ms();

	if (ice->closing)
		return;
	if (ice->state == ST_GATHERING && (ice->nice_gathered || now >= ice->gather_deadline))
		if (!signal_local_sdp(ice, now))
			return;
	if (ice->nice_failed && (ice->state == ST_GATHERING || ice->state == ST_CHECKING ||
				 ice->state == ST_LINGER || ice->state == ST_TURN)) {
		fail(ice,
		     ice->state == ST_TURN ? "TURN path failed" : "connectivity checks failed");
		return;
	}
	/*
	 * READY, or a pair selected SELECTED_GRACE_MS ago: with aggressive
	 * nomination libnice holds READY back until every higher-priority pair
	 * has finished, and a pair to an unreachable private address takes its
	 * full retransmission schedule (~2 s) to fail. Higher-priority pairs
	 * that work (same LAN) finish well within the grace.
	 */
	if (ice->state == ST_CHECKING &&
	    (ice->nice_ready ||
	     (ice->nice_selected_ms && now - ice->nice_selected_ms >= SELECTED_GRACE_MS)))
		if (!on_ready(ice, now))
			return;
	if ((ice->state == ST_GATHERING || ice->state == ST_CHECKING) && ice->check_deadline &&
	    now >= ice->check_deadline) {
		fail(ice, "connectivity checks timed out");
		return;
	}
	if (ice->state == ST_LINGER && (ice->remote_done || now >= ice->linger_deadline)) {
		if (!ice->remote_done)
			cn_log_debug("ice %p: peer's done not received; taking the socket over",
				     (void *)ice);
		if (!take_over(ice, now))
			return;
	}
	if (ice->state == ST_RELEASING && (ice->nice_closed || now >= ice->release_deadline)) {
		hand_over(ice);
		return;
	}
	rearm(ice, now);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	run(arg);
}

/* ---- libnice signal handlers: inside glib dispatch or our own calls ---- */

static void on_gathering_done(NiceAgent *agent, guint stream_id, gpointer data)
{
	struct cn_ice *ice = data;

	(void)agent;
	if (stream_id != ice->stream_id)
		return;
	ice->nice_gathered = true;
	event_active(ice->defer, EV_TIMEOUT, 0);
}

static void on_state(NiceAgent *agent, guint stream_id, guint component_id, guint state,
		     gpointer data)
{
	struct cn_ice *ice = data;

	(void)agent;
	if (stream_id != ice->stream_id || component_id != COMPONENT)
		return;
	/* FAILED can be undone (connecting -> failed -> connecting): keep the latest. */
	ice->nice_failed = state == NICE_COMPONENT_STATE_FAILED;
	if (state == NICE_COMPONENT_STATE_READY)
		ice->nice_ready = true;
	event_active(ice->defer, EV_TIMEOUT, 0);
}

static void on_selected(NiceAgent *agent, guint stream_id, guint component_id, gchar *lfoundation,
			gchar *rfoundation, gpointer data)
{
	struct cn_ice *ice = data;

	(void)agent;
	(void)lfoundation;
	(void)rfoundation;
	if (stream_id != ice->stream_id || component_id != COMPONENT || ice->nice_selected_ms)
		return;
	ice->nice_selected_ms = cn_clock_ms();
	event_active(ice->defer, EV_TIMEOUT, 0);
}

static void on_recv(NiceAgent *agent, guint stream_id, guint component_id, guint len, gchar *buf,
		    gpointer data)
{
	struct cn_ice *ice = data;

	(void)agent;
	(void)stream_id;
	(void)component_id;
	if (ice->closing || !ice->cbs.recv || len == 0)
		return;
	ice->in_cb++;
	ice->cbs.recv(ice->arg, (const uint8_t *)buf, len);
	if (--ice->in_cb == 0 && ice->closing) {
		/* Inside libnice's socket callback: finish from the loop. */
		quiesce(ice, true);
		cn_glib_loop_defer(ice->g, &ice->reap);
	}
}

static void on_defer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	run(arg);
}

/* ---- API ---- */

static bool server_ok(const struct cn_ice_server *s, bool turn, struct cn_errbuf *e)
{
	size_t n = strnlen(s->host, sizeof(s->host));

	if (n == sizeof(s->host) || !cn_ice_sdp_ip_literal(s->host, n, false)) {
		cn_errbuf_set(e, "%s server \"%.63s\" is not an IP address", turn ? "TURN" : "STUN",
			      s->host);
		return false;
	}
	if (s->port == 0) {
		cn_errbuf_set(e, "%s server %.63s has port 0", turn ? "TURN" : "STUN", s->host);
		return false;
	}
	if (turn && (!memchr(s->user, '\0', sizeof(s->user)) || !s->user[0] ||
		     !memchr(s->pass, '\0', sizeof(s->pass)) || !s->pass[0])) {
		cn_errbuf_set(e, "TURN server %.63s needs a user and a password", s->host);
		return false;
	}
	return true;
}

static bool config_ok(const struct cn_ice_config *cfg, struct cn_errbuf *e)
{
	if (cfg->stun.host[0] && !server_ok(&cfg->stun, false, e))
		return false;
	if (cfg->nturn > sizeof(cfg->turn) / sizeof(cfg->turn[0])) {
		cn_errbuf_set(e, "at most 2 TURN servers");
		return false;
	}
	for (unsigned int i = 0; i < cfg->nturn; i++)
		if (!server_ok(&cfg->turn[i], true, e))
			return false;
	if (cfg->force_relay && cfg->nturn == 0) {
		cn_errbuf_set(e, "force_relay needs a TURN server");
		return false;
	}
	if (cfg->nlocal_addrs > 32 || (cfg->nlocal_addrs && !cfg->local_addrs)) {
		cn_errbuf_set(e, "bad local address list");
		return false;
	}
	for (unsigned int i = 0; i < cfg->nlocal_addrs; i++) {
		const char *a = cfg->local_addrs[i];
		if (!a || !cn_ice_sdp_ip_literal(a, strnlen(a, INET6_ADDRSTRLEN), false)) {
			cn_errbuf_set(e, "local address \"%.46s\" is not an IP address",
				      a ? a : "(null)");
			return false;
		}
	}
	return true;
}

static bool same_server(const struct cn_ice_server *a, const struct cn_ice_server *b)
{
	struct in6_addr x, y;
	int fx = strchr(a->host, ':') ? AF_INET6 : AF_INET;
	int fy = strchr(b->host, ':') ? AF_INET6 : AF_INET;

	return a->port == b->port && fx == fy && inet_pton(fx, a->host, &x) == 1 &&
	       inet_pton(fy, b->host, &y) == 1 &&
	       memcmp(&x, &y, fx == AF_INET ? sizeof(struct in_addr) : sizeof(x)) == 0;
}

/*
 * A STUN server that is also a TURN server: skip it. The Allocate answer
 * already carries our mapped address (libnice's relay-rflx candidate), and
 * libnice 0.1.21 drops Binding answers from a server it holds an allocation
 * on ("Incorrectly multiplexed STUN message"), so gathering would wait ~2 s
 * for nothing.
 */
static bool stun_is_turn(const struct cn_ice_config *cfg)
{
	for (unsigned int i = 0; i < cfg->nturn; i++)
		if (same_server(&cfg->stun, &cfg->turn[i]))
			return true;
	return false;
}

struct cn_ice *cn_ice_new(struct cn_glib_loop *g, const struct cn_ice_config *cfg, bool controlling,
			  const struct cn_ice_cbs *cbs, void *arg, struct cn_errbuf *e)
{
	struct cn_ice *ice = NULL, *ret = NULL;
	GMainContext *ctx;
	uint64_t now = cn_clock_ms();

	if (!g || !cfg || !cbs) {
		cn_errbuf_set(e, "missing argument");
		goto out;
	}
	if (!config_ok(cfg, e))
		goto out;
	ctx = cn_glib_loop_context(g);
	ice = calloc(1, sizeof(*ice));
	if (!ice) {
		cn_errbuf_set(e, "out of memory");
		goto out;
	}
	ice->g = g;
	ice->cbs = *cbs;
	ice->arg = arg;
	ice->state = ST_GATHERING;
	ice->force_relay = cfg->force_relay;
	ice->nturn = cfg->nturn;
	ice->reap.fn = reap;
	ice->t_new = now;
	ice->gather_deadline =
		now + (cfg->gather_timeout_ms ? cfg->gather_timeout_ms : CN_ICE_GATHER_TIMEOUT_MS);
	ice->check_timeout_ms =
		cfg->check_timeout_ms ? cfg->check_timeout_ms : CN_ICE_CHECK_TIMEOUT_MS;
	ice->linger_ms = cfg->linger_ms ? cfg->linger_ms : CN_ICE_LINGER_MS;
	ice->timer = evtimer_new(cn_glib_loop_base(g), on_timer, ice);
	ice->defer = event_new(cn_glib_loop_base(g), -1, 0, on_defer, ice);
	if (!ice->timer || !ice->defer) {
		cn_errbuf_set(e, "out of memory");
		goto out;
	}

	/* No consent freshness (construct-only): after the takeover nobody would
	 * answer its checks and the peer's agent would fail (NOTES-deps.md 1).
	 * Aggressive nomination (the default) for the fastest READY. */
	ice->agent = nice_agent_new_full(ctx, NICE_COMPATIBILITY_RFC5245, NICE_AGENT_OPTION_NONE);
	if (!ice->agent) {
		cn_errbuf_set(e, "cannot create a libnice agent");
		goto out;
	}
	g_object_set(ice->agent, "controlling-mode", (gboolean)controlling, "ice-tcp", FALSE,
		     "ice-udp", TRUE, "upnp", FALSE, "force-relay", (gboolean)cfg->force_relay,
		     "keepalive-conncheck", FALSE, NULL);
	if (cfg->stun.host[0] && !stun_is_turn(cfg))
		g_object_set(ice->agent, "stun-server", cfg->stun.host, "stun-server-port",
			     (guint)cfg->stun.port, NULL);
	for (unsigned int i = 0; i < cfg->nlocal_addrs; i++) {
		NiceAddress a;

		nice_address_init(&a);
		if (!nice_address_set_from_string(&a, cfg->local_addrs[i]) ||
		    !nice_agent_add_local_address(ice->agent, &a)) {
			cn_errbuf_set(e, "libnice refused local address %s", cfg->local_addrs[i]);
			goto out;
		}
	}
	ice->sig_gather = g_signal_connect(ice->agent, "candidate-gathering-done",
					   G_CALLBACK(on_gathering_done), ice);
	ice->sig_state =
		g_signal_connect(ice->agent, "component-state-changed", G_CALLBACK(on_state), ice);
	ice->sig_selected =
		g_signal_connect(ice->agent, "new-selected-pair", G_CALLBACK(on_selected), ice);
	ice->stream_id = nice_agent_add_stream(ice->agent, 1);
	if (!ice->stream_id) {
		cn_errbuf_set(e, "cannot add a libnice stream");
		goto out;
	}
	if (cfg->local_port)
		nice_agent_set_port_range(ice->agent, ice->stream_id, COMPONENT, cfg->local_port,
					  cfg->local_port);
	for (unsigned int i = 0; i < cfg->nturn; i++) {
		const struct cn_ice_server *t = &cfg->turn[i];

		if (!nice_agent_set_relay_info(ice->agent, ice->stream_id, COMPONENT, t->host,
					       t->port, t->user, t->pass,
					       NICE_RELAY_TYPE_TURN_UDP)) {
			cn_errbuf_set(e, "libnice refused TURN server %s:%u", t->host,
				      (unsigned int)t->port);
			goto out;
		}
	}
	/* Attached before gathering: libnice reads a socket only with a receiver. */
	if (!nice_agent_attach_recv(ice->agent, ice->stream_id, COMPONENT, ctx, on_recv, ice)) {
		cn_errbuf_set(e, "cannot attach the libnice receiver");
		goto out;
	}
	if (!nice_agent_gather_candidates(ice->agent, ice->stream_id)) {
		if (cfg->local_port)
			cn_errbuf_set(e,
				      "cannot gather candidates (no usable address, or port %u "
				      "in use)",
				      (unsigned int)cfg->local_port);
		else
			cn_errbuf_set(e, "cannot gather candidates (no usable address)");
		goto out;
	}
	rearm(ice, now);
	cn_glib_loop_kick(g);
	cn_log_debug("ice %p: gathering (%s)", (void *)ice,
		     controlling ? "controlling" : "controlled");
	ret = ice;
	ice = NULL;
out:
	if (ice)
		destroy(ice);
	return ret;
}

int cn_ice_set_remote_sdp(struct cn_ice *ice, const char *sdp)
{
	GSList *cands = NULL;
	gchar *ufrag = NULL, *pwd = NULL;
	unsigned int ncand = 0;
	int added, ret;

	if (!ice || !sdp)
		return -CN_EINVAL;
	if (ice->closing || ice->remote_set ||
	    (ice->state != ST_GATHERING && ice->state != ST_CHECKING))
		return -CN_ESTATE;
	ret = cn_ice_sdp_check(sdp, &ncand);
	if (ret < 0)
		goto out;
	ret = -CN_EFORMAT;
	cands = nice_agent_parse_remote_stream_sdp(ice->agent, ice->stream_id, sdp, &ufrag, &pwd);
	if (!cands || !ufrag || !pwd || g_slist_length(cands) != ncand)
		goto out;
	if (!nice_agent_set_remote_credentials(ice->agent, ice->stream_id, ufrag, pwd))
		goto out;
	added = nice_agent_set_remote_candidates(ice->agent, ice->stream_id, COMPONENT, cands);
	cn_glib_loop_kick(ice->g);
	if (added <= 0)
		goto out;
	ice->remote_set = true;
	if (!ice->check_deadline) {
		ice->check_deadline = cn_clock_ms() + ice->check_timeout_ms;
		rearm(ice, cn_clock_ms());
	}
	cn_log_debug("ice %p: %d remote candidates", (void *)ice, added);
	ret = 0;
out:
	for (GSList *l = cands; l; l = l->next)
		nice_candidate_free(l->data);
	g_slist_free(cands);
	g_free(ufrag);
	g_free(pwd);
	return ret;
}

int cn_ice_set_remote_done(struct cn_ice *ice)
{
	if (!ice)
		return -CN_EINVAL;
	if (ice->closing || ice->remote_done)
		return 0;
	ice->remote_done = true;
	if (ice->state == ST_LINGER)
		event_active(ice->defer, EV_TIMEOUT, 0);
	return 0;
}

int cn_ice_send(struct cn_ice *ice, const uint8_t *buf, size_t len)
{
	gint n;

	if (!ice || !buf || len == 0 || len > CN_ICE_MAX_DATAGRAM)
		return -CN_EINVAL;
	if (ice->closing || ice->state != ST_TURN || !ice->agent)
		return -CN_ESTATE;
	n = nice_agent_send(ice->agent, ice->stream_id, COMPONENT, (guint)len, (const gchar *)buf);
	/* The first sends may start a TURN ChannelBind with its own timer. */
	cn_glib_loop_kick(ice->g);
	return n == (gint)len ? 0 : -CN_EIO;
}

void cn_ice_free(struct cn_ice *ice)
{
	if (!ice || ice->closing)
		return;
	ice->closing = true;
	if (ice->in_cb)
		return; /* finished when the callback returns */
	if (g_main_depth() > 0) {
		/* Inside some libnice callback: never free an agent there. */
		quiesce(ice, true);
		cn_glib_loop_defer(ice->g, &ice->reap);
		return;
	}
	destroy(ice);
}
