/* SPDX-License-Identifier: MIT */
/* The fast-failure watch of one path under traffic (pathwatch.h). */
#include "common/pathwatch.h"

static uint64_t at_least(uint64_t floor_ms, uint64_t rtts, uint64_t rtt_ms)
{
	uint64_t ms = rtts * rtt_ms;

	return ms > floor_ms ? ms : floor_ms;
}

uint64_t cn_pathwatch_bound(uint64_t rtt_ms)
{
	return at_least(CN_PATHWATCH_BOUND_MS, 3, rtt_ms);
}

uint64_t cn_pathwatch_quiet(uint64_t rtt_ms)
{
	return at_least(CN_PATHWATCH_QUIET_MS, 2, rtt_ms);
}

/* When the next probe goes, as time since the watch began. */
static uint64_t probe_due(const struct cn_pathwatch *w, uint64_t rtt_ms)
{
	uint64_t bound = cn_pathwatch_bound(rtt_ms), wait;

	if (w->probes)
		return bound / 2;
	/* The first waits for the packet's own answer, never past the second's time. */
	wait = at_least(CN_PATHWATCH_ANSWER_MS, 2, rtt_ms);
	return wait < bound / 3 ? wait : bound / 3;
}

bool cn_pathwatch_sent(struct cn_pathwatch *w, uint64_t now, uint64_t last_rx_ms, uint64_t rtt_ms)
{
	if (w->on || now - last_rx_ms < cn_pathwatch_quiet(rtt_ms))
		return false;
	*w = (struct cn_pathwatch){.on = true, .probes = 0, .start_ms = now};
	return true;
}

void cn_pathwatch_start_probed(struct cn_pathwatch *w, uint64_t now)
{
	*w = (struct cn_pathwatch){.on = true, .probes = 1, .start_ms = now};
}

void cn_pathwatch_end(struct cn_pathwatch *w)
{
	w->on = false;
}

uint64_t cn_pathwatch_deadline(const struct cn_pathwatch *w, uint64_t rtt_ms)
{
	if (!w->on)
		return UINT64_MAX;
	return w->start_ms + (w->probes < 2 ? probe_due(w, rtt_ms) : cn_pathwatch_bound(rtt_ms));
}

enum cn_pathwatch_act cn_pathwatch_tick(struct cn_pathwatch *w, uint64_t now, uint64_t rtt_ms)
{
	if (!w->on || now < cn_pathwatch_deadline(w, rtt_ms))
		return CN_PATHWATCH_WAIT;
	if (w->probes < 2) {
		w->probes++;
		return CN_PATHWATCH_PROBE;
	}
	w->on = false;
	return CN_PATHWATCH_LOST;
}
