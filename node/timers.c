/* SPDX-License-Identifier: MIT */
/*
 * cairn-node's one timer (node_int.h). It is armed to the earliest of the
 * engine's deadlines (cn_engine_tick), the relay links' retries and
 * transport switches (node_relays_tick), the control socket's ping
 * timeouts (node_control_tick), a settled network change
 * (node_netwatch_tick) and the node-wide socket's STUN rounds
 * (node_natsock_tick); anything that makes a new deadline reports
 * it with node_timer_wake. An idle node wakes only when something is due.
 * The endpoints file is written from here, once per batch of changes.
 *
 * And the heap is trimmed from here: TRIM_FIRST_MS after start, then at
 * most every TRIM_MS, free pages inside the heap go back to the kernel
 * (malloc_trim). Start-up (the list parsed, ICE, the first handshakes) and
 * a transfer's buffers leave freed blocks between live ones that glibc
 * only returns from the heap's top; on a board that is a quarter of the
 * node's unique memory (tests/bench/run_footprint_bench.sh). The walk
 * costs well under a millisecond for a heap of a few megabytes; it adds at
 * most one wake-up a minute.
 */
#include <malloc.h>

#include <event2/event.h>

#include "common/clock.h"
#include "node/node_int.h"

enum { TIMER_MAX_MS = 60000, TRIM_FIRST_MS = 10000, TRIM_MS = 60000 };

static uint64_t earliest(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static void arm(struct cn_node *n, uint64_t when, uint64_t now)
{
	uint64_t ms = when > now ? when - now : 0;
	struct timeval tv;

	/* Nothing due (no peers, no relays): look again once a minute anyway. */
	if (ms > TIMER_MAX_MS) {
		ms = TIMER_MAX_MS;
		when = now + ms;
	}
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	n->timer_at = when;
	/*
	 * Inside a callback libevent measures from the time its loop woke, a
	 * little before `now`: without this the timer fires that little early
	 * and spins on 1 ms waits until the deadline (an idle node's wake-ups).
	 */
	event_base_update_cache_time(n->base);
	event_add(n->timer, &tv);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cn_node *n = arg;
	uint64_t now = cn_clock_ms(), next;

	(void)fd;
	(void)what;
	n->timer_at = 0;
	next = cn_engine_tick(n->eng, now);
	next = earliest(next, node_relays_tick(n, now));
	next = earliest(next, node_control_tick(n, now));
	next = earliest(next, node_netwatch_tick(n, now));
	next = earliest(next, node_list_clock_tick(n, now));
	next = earliest(next, node_natsock_tick(n, now));
	if (now >= n->trim_at) {
		malloc_trim(0);
		n->trim_at = now + TRIM_MS;
	}
	next = earliest(next, n->trim_at);
	if (n->endpoints_dirty)
		node_endpoints_save(n);
	/* A wake reported while this ran may have armed the timer earlier. */
	if (n->timer_at && n->timer_at <= next)
		return;
	arm(n, next, now);
}

int node_timer_open(struct cn_node *n)
{
	n->timer = event_new(n->base, -1, 0, timer_cb, n);
	n->trim_at = cn_clock_ms() + TRIM_FIRST_MS;
	return n->timer ? 0 : -1;
}

void node_timer_wake(struct cn_node *n, uint64_t when)
{
	if (!n->timer || (n->timer_at && n->timer_at <= when))
		return;
	arm(n, when, cn_clock_ms());
}
