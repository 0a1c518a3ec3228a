/* SPDX-License-Identifier: MIT */
/*
 * GMainContext driven by libevent (see glib_event.h). An I/O shell: it owns
 * libevent events and polls fds; it never reads or writes them, glib's
 * sources do that during dispatch.
 *
 * Invariant: between two cycles, `prepared` says a prepare + query ran and
 * `fds` holds what it asked for; the next cycle must check() exactly that
 * set before preparing again (glib's contract).
 */
#include "nat/glib_event.h"

#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <glib.h>
#include <nice/debug.h>

#include "common/log.h"

/* GPollFD events are poll(2) bits on Linux; revents are copied across as is. */
_Static_assert(G_IO_IN == POLLIN && G_IO_OUT == POLLOUT && G_IO_PRI == POLLPRI &&
		       G_IO_ERR == POLLERR && G_IO_HUP == POLLHUP && G_IO_NVAL == POLLNVAL,
	       "GIOCondition bits differ from poll(2)");

enum {
	FDS_INIT = 8,
	FDS_MAX = 1024, /* glib never polls this many for a few agents; a bound on growth */
};

/* libnice's log domains (agent/, socket/, stun/, random/ meson.build). */
static const char *const nice_domains[] = {"libnice", "libnice-socket", "libnice-stun",
					   "libnice-random"};
#define N_DOMAINS (sizeof(nice_domains) / sizeof(nice_domains[0]))

struct watch {
	int fd;
	short what; /* EV_READ / EV_WRITE */
	struct event *ev;
};

struct cn_glib_loop {
	struct event_base *base;
	GMainContext *ctx;
	struct event *timer; /* glib's next timeout */
	struct event *kick;  /* forces a cycle */
	struct event *defer; /* runs `deferred` */
	bool kick_pending;
	bool prepared; /* a query ran; fds must be checked next */
	bool resync;   /* re-register every watch at the next sync */
	gint max_prio;
	GPollFD *fds;
	struct pollfd *pfds; /* poll(2) copy of fds */
	int nfds, cap;
	struct watch *watches;
	unsigned int nwatch, capwatch;
	struct cn_glib_deferred *deferred;
	unsigned int holds;
	guint log_ids[N_DOMAINS];
	struct cn_ratelimit log_rl;
};

static uint64_t mono_ms(void)
{
	return (uint64_t)(g_get_monotonic_time() / 1000);
}

static void nice_log(const gchar *domain, GLogLevelFlags level, const gchar *msg, gpointer data)
{
	struct cn_glib_loop *g = data;

	/* libnice warns about things a remote party can cause: rate limit. */
	if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL))
		cn_log_ratelimited(&g->log_rl, mono_ms(), CN_LOG_ERR, "%s: %s", domain, msg);
	else if (level & G_LOG_LEVEL_WARNING)
		cn_log_ratelimited(&g->log_rl, mono_ms(), CN_LOG_WARN, "%s: %s", domain, msg);
	else
		cn_log_debug("%s: %s", domain, msg);
}

static void cycle(struct cn_glib_loop *g);

static void on_event(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	cycle(arg);
}

/* Union of what glib wants on fd, in libevent terms. */
static short fd_what(const struct cn_glib_loop *g, int fd)
{
	short what = 0;

	for (int i = 0; i < g->nfds; i++) {
		if (g->fds[i].fd != fd)
			continue;
		if (g->fds[i].events & (G_IO_IN | G_IO_PRI))
			what |= EV_READ;
		if (g->fds[i].events & G_IO_OUT)
			what |= EV_WRITE;
	}
	return what;
}

static bool watched(const struct cn_glib_loop *g, int fd)
{
	for (unsigned int i = 0; i < g->nwatch; i++)
		if (g->watches[i].fd == fd)
			return true;
	return false;
}

static void drop_watches(struct cn_glib_loop *g)
{
	for (unsigned int i = 0; i < g->nwatch; i++)
		event_free(g->watches[i].ev);
	g->nwatch = 0;
}

/* Mirrors fds into persistent libevent events, keeping unchanged ones. */
static void sync_watches(struct cn_glib_loop *g)
{
	unsigned int kept = 0;

	if (g->resync)
		drop_watches(g);
	g->resync = false;
	for (unsigned int i = 0; i < g->nwatch; i++) {
		struct watch *w = &g->watches[i];

		if (fd_what(g, w->fd) == w->what) {
			g->watches[kept++] = *w;
			continue;
		}
		event_free(w->ev);
	}
	g->nwatch = kept;
	for (int i = 0; i < g->nfds; i++) {
		int fd = g->fds[i].fd;
		short what;
		struct event *ev;

		if (fd < 0 || watched(g, fd))
			continue;
		what = fd_what(g, fd);
		if (!what)
			continue;
		if (g->nwatch == g->capwatch) {
			unsigned int cap = g->capwatch ? 2 * g->capwatch : FDS_INIT;
			struct watch *w = realloc(g->watches, cap * sizeof(*w));

			if (!w)
				goto nomem;
			g->watches = w;
			g->capwatch = cap;
		}
		ev = event_new(g->base, fd, (short)(what | EV_PERSIST), on_event, g);
		if (!ev)
			goto nomem;
		if (event_add(ev, NULL) != 0) {
			event_free(ev);
			goto nomem;
		}
		g->watches[g->nwatch++] = (struct watch){.fd = fd, .what = what, .ev = ev};
	}
	return;
nomem:
	/* Retry the whole set shortly rather than lose an fd for good. */
	cn_log_ratelimited(&g->log_rl, mono_ms(), CN_LOG_ERR,
			   "glib loop: cannot watch fds (out of memory); retrying");
	g->resync = true;
	cn_glib_loop_kick(g);
}

static bool grow_fds(struct cn_glib_loop *g, int n)
{
	GPollFD *fds;
	struct pollfd *pfds;

	if (n > FDS_MAX)
		return false;
	fds = realloc(g->fds, (size_t)n * sizeof(*fds));
	if (!fds)
		return false;
	g->fds = fds;
	pfds = realloc(g->pfds, (size_t)n * sizeof(*pfds));
	if (!pfds)
		return false;
	g->pfds = pfds;
	g->cap = n;
	return true;
}

/* Polls the queried fds into their revents, waiting at most timeout ms. */
static void poll_fds(struct cn_glib_loop *g, int timeout)
{
	for (int i = 0; i < g->nfds; i++) {
		g->pfds[i].fd = g->fds[i].fd;
		g->pfds[i].events = (short)g->fds[i].events;
		g->pfds[i].revents = 0;
	}
	if (poll(g->pfds, (nfds_t)g->nfds, timeout) < 0)
		for (int i = 0; i < g->nfds; i++)
			g->pfds[i].revents = 0;
	for (int i = 0; i < g->nfds; i++)
		g->fds[i].revents = (gushort)g->pfds[i].revents;
}

static void check_dispatch(struct cn_glib_loop *g)
{
	g->prepared = false;
	if (g_main_context_check(g->ctx, g->max_prio, g->fds, g->nfds))
		g_main_context_dispatch(g->ctx);
}

/* prepare + query into fds; returns glib's timeout (0: a source is ready, -1: none). */
static gint prepare_query(struct cn_glib_loop *g)
{
	gboolean ready;
	gint timeout = -1;
	int n;

	ready = g_main_context_prepare(g->ctx, &g->max_prio);
	for (;;) {
		n = g_main_context_query(g->ctx, g->max_prio, &timeout, g->fds, g->cap);
		if (n <= g->cap)
			break;
		if (!grow_fds(g, n)) {
			/* Poll the first cap fds; come back soon for the rest. */
			cn_log_ratelimited(&g->log_rl, mono_ms(), CN_LOG_ERR,
					   "glib loop: %d fds to poll, cannot grow to that", n);
			n = g->cap;
			timeout = 10;
			break;
		}
	}
	g->nfds = n;
	g->prepared = true;
	return ready ? 0 : timeout;
}

static void cycle(struct cn_glib_loop *g)
{
	gint timeout;

	g->kick_pending = false;
	if (g->prepared) {
		/* libevent said something is ready; poll says exactly what. */
		poll_fds(g, 0);
		check_dispatch(g);
	}
	timeout = prepare_query(g);
	sync_watches(g);
	if (timeout < 0) {
		evtimer_del(g->timer);
	} else {
		struct timeval tv = {.tv_sec = timeout / 1000, .tv_usec = (timeout % 1000) * 1000};

		evtimer_add(g->timer, &tv);
	}
}

/*
 * At teardown: runs the context on its own (blocking, bounded) until every
 * hold is released, e.g. TURN allocations deallocated.
 */
static void drain(struct cn_glib_loop *g)
{
	uint64_t end = mono_ms() + CN_GLIB_DRAIN_MS;

	if (g->prepared) {
		poll_fds(g, 0);
		check_dispatch(g);
	}
	while (g->holds) {
		uint64_t now = mono_ms();
		gint timeout;

		if (now >= end) {
			cn_log_warn("glib loop: %u libnice agent(s) still closing after %u ms; "
				    "abandoning them",
				    g->holds, (unsigned int)CN_GLIB_DRAIN_MS);
			break;
		}
		timeout = prepare_query(g);
		if (timeout < 0 || (uint64_t)timeout > end - now)
			timeout = (gint)(end - now);
		poll_fds(g, timeout);
		check_dispatch(g);
	}
}

static void run_deferred(struct cn_glib_loop *g)
{
	while (g->deferred) {
		struct cn_glib_deferred *d = g->deferred;

		g->deferred = d->next;
		d->next = NULL;
		d->fn(d);
	}
}

static void on_defer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	run_deferred(arg);
}

struct cn_glib_loop *cn_glib_loop_new(struct event_base *base)
{
	struct cn_glib_loop *g = NULL;
	bool debug = cn_log_get_level() >= CN_LOG_DEBUG;

	g = calloc(1, sizeof(*g));
	if (!g)
		goto fail;
	g->base = base;
	g->ctx = g_main_context_new();
	if (!g_main_context_acquire(g->ctx)) {
		/* A new context has no owner: cannot happen. */
		g_main_context_unref(g->ctx);
		g->ctx = NULL;
		goto fail;
	}
	g->timer = evtimer_new(base, on_event, g);
	g->kick = event_new(base, -1, 0, on_event, g);
	g->defer = event_new(base, -1, 0, on_defer, g);
	if (!g->timer || !g->kick || !g->defer || !grow_fds(g, FDS_INIT))
		goto fail;

	/* libnice reads NICE_DEBUG / G_MESSAGES_DEBUG once; respect them if set. */
	if (!g_getenv("NICE_DEBUG") && !g_getenv("G_MESSAGES_DEBUG")) {
		if (debug)
			nice_debug_enable(FALSE); /* STUN-level tracing only via NICE_DEBUG=stun */
		else
			nice_debug_disable(TRUE);
	}
	for (size_t i = 0; i < N_DOMAINS; i++)
		g->log_ids[i] =
			g_log_set_handler(nice_domains[i],
					  (GLogLevelFlags)(G_LOG_LEVEL_MASK | G_LOG_FLAG_FATAL |
							   G_LOG_FLAG_RECURSION),
					  nice_log, g);

	cn_glib_loop_kick(g);
	return g;
fail:
	cn_log_err("glib loop: out of memory");
	cn_glib_loop_free(g);
	return NULL;
}

GMainContext *cn_glib_loop_context(struct cn_glib_loop *g)
{
	return g->ctx;
}

struct event_base *cn_glib_loop_base(struct cn_glib_loop *g)
{
	return g->base;
}

void cn_glib_loop_kick(struct cn_glib_loop *g)
{
	if (g->kick_pending)
		return;
	g->kick_pending = true;
	event_active(g->kick, EV_TIMEOUT, 0);
}

void cn_glib_loop_flush(struct cn_glib_loop *g)
{
	drop_watches(g);
	g->resync = true;
	cn_glib_loop_kick(g);
}

void cn_glib_loop_defer(struct cn_glib_loop *g, struct cn_glib_deferred *d)
{
	d->next = g->deferred;
	g->deferred = d;
	event_active(g->defer, EV_TIMEOUT, 0);
}

void cn_glib_loop_hold(struct cn_glib_loop *g)
{
	g->holds++;
}

void cn_glib_loop_unhold(struct cn_glib_loop *g)
{
	if (g->holds)
		g->holds--;
}

void cn_glib_loop_free(struct cn_glib_loop *g)
{
	if (!g)
		return;
	run_deferred(g);
	if (g->ctx)
		drain(g);
	drop_watches(g);
	free(g->watches);
	if (g->timer)
		event_free(g->timer);
	if (g->kick)
		event_free(g->kick);
	if (g->defer)
		event_free(g->defer);
	for (size_t i = 0; i < N_DOMAINS; i++)
		if (g->log_ids[i])
			g_log_remove_handler(nice_domains[i], g->log_ids[i]);
	if (g->ctx) {
		g_main_context_release(g->ctx);
		g_main_context_unref(g->ctx);
	}
	free(g->fds);
	free(g->pfds);
	free(g);
}
