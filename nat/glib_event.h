/* SPDX-License-Identifier: MIT */
/*
 * One private GMainContext driven from a libevent loop on the same thread
 * (NOTES-deps.md section 1, option a; docs/ICE.md), so libnice runs inside the
 * daemon's single event loop without a second thread.
 *
 * Each "cycle" does what g_main_context_iteration() does, split around the
 * libevent wait: check + dispatch what the last query asked for (revents
 * from a zero-timeout poll()), then prepare + query again and mirror the
 * answer into libevent. The fd set is diffed between cycles: an fd whose
 * wanted events did not change keeps its persistent libevent event, so a
 * steady state (checks in progress, TURN data) costs no epoll_ctl calls.
 *
 * Events this object owns on the caller's event_base:
 *  - one persistent event per distinct fd glib polls (EV_READ for
 *    G_IO_IN/G_IO_PRI, EV_WRITE for G_IO_OUT; an fd glib polls for
 *    G_IO_ERR/G_IO_HUP only is not watched: poll reports those anyway);
 *  - one timer mirroring glib's next timeout (armed at 0 when prepare says a
 *    source is ready, deleted when glib has no timeout);
 *  - one "kick" event (see cn_glib_loop_kick);
 *  - one "defer" event that runs cn_glib_loop_defer() work.
 *
 * Not thread-safe: everything, including every call into libnice on this
 * context, must happen on the thread that runs the event_base. glib only
 * wakes its context for sources added from *other* threads, which is why
 * calls into libnice from libevent code need a kick.
 *
 * Process-wide side effects of cn_glib_loop_new: libnice's debug output is
 * switched off unless the cairn log level is debug (or NICE_DEBUG /
 * G_MESSAGES_DEBUG is set in the environment), and glib log messages of the
 * libnice domains are routed to common/log.h (warnings rate limited).
 */
#ifndef CN_NAT_GLIB_EVENT_H
#define CN_NAT_GLIB_EVENT_H

struct event_base;
struct cn_glib_loop;
/* glib's own typedef; repeating an identical typedef is valid C11. */
typedef struct _GMainContext GMainContext;

/*
 * Creates the adapter and its private GMainContext, which this thread
 * acquires for the adapter's lifetime. NULL on allocation failure (logged).
 * base is borrowed and must outlive the adapter.
 */
struct cn_glib_loop *cn_glib_loop_new(struct event_base *base);

/* The private context (borrowed): give it to nice_agent_new*() and
 * nice_agent_attach_recv(). */
GMainContext *cn_glib_loop_context(struct cn_glib_loop *g);

/* The event_base given to cn_glib_loop_new (borrowed). */
struct event_base *cn_glib_loop_base(struct cn_glib_loop *g);

/*
 * Makes the next loop iteration run a cycle, so sources and timeouts added
 * by a call into libnice from libevent code are seen at once. Call after
 * any such call. Cheap and idempotent until the cycle runs.
 */
void cn_glib_loop_kick(struct cn_glib_loop *g);

/*
 * Drops every fd watch now and kicks; the next cycle re-registers whatever
 * glib still polls. Call right before anything that closes sockets glib
 * polls (freeing an agent, removing a stream): the event loop then never
 * holds a registration for a closed fd (whose number may be reused at once)
 * or for an fd that was dup()ed and stays open (epoll would keep reporting
 * the dup under the old number).
 */
void cn_glib_loop_flush(struct cn_glib_loop *g);

/*
 * Deferred work: fn(d) runs from a libevent callback soon, outside any glib
 * dispatch; work still pending when the adapter is freed runs in
 * cn_glib_loop_free. d is caller storage that must stay valid until fn
 * runs (fn may free it). For releasing libnice objects from inside their
 * own callbacks.
 */
struct cn_glib_deferred {
	void (*fn)(struct cn_glib_deferred *d);
	struct cn_glib_deferred *next; /* private */
};
void cn_glib_loop_defer(struct cn_glib_loop *g, struct cn_glib_deferred *d);

/*
 * Work in the background that needs the context to keep running after its
 * owner is gone (a libnice agent deallocating its TURN allocations):
 * cn_glib_loop_free runs the context until every hold is released, for at
 * most CN_GLIB_DRAIN_MS.
 */
enum { CN_GLIB_DRAIN_MS = 2000 };
void cn_glib_loop_hold(struct cn_glib_loop *g);
void cn_glib_loop_unhold(struct cn_glib_loop *g);

/*
 * Runs pending deferred work, then the context until every hold is
 * released (blocking, bounded by CN_GLIB_DRAIN_MS: a shutdown path), then
 * unregisters every event and releases the context. Free every session on
 * the context first (cn_ice_free). NULL is a no-op.
 */
void cn_glib_loop_free(struct cn_glib_loop *g);

#endif
