/* SPDX-License-Identifier: MIT */
/*
 * PLPMTUD (RFC 8899) state machine; states and timers in pmtu.h.
 */
#include "node/pmtu.h"

void cn_pmtu_init(struct cn_pmtu *p, uint16_t base, uint16_t max, uint64_t now_ms)
{
	*p = (struct cn_pmtu){0};
	p->base = base;
	p->max = max < base ? base : max;
	p->plpmtu = base;
	p->hi = p->max;
	if (base == 0) {
		p->state = CN_PMTU_DISABLED;
		return;
	}
	p->state = CN_PMTU_BASE_STATE;
	p->timer_ms = now_ms; /* probe base at once */
}

void cn_pmtu_disable(struct cn_pmtu *p)
{
	p->state = CN_PMTU_DISABLED;
	p->outstanding = false;
	p->plpmtu = p->base;
}

/* Enters BASE: PLPMTU back to base, probe base soon. */
static void to_base(struct cn_pmtu *p, uint64_t now_ms, uint16_t cap)
{
	p->state = CN_PMTU_BASE_STATE;
	p->plpmtu = p->base;
	p->outstanding = false;
	p->probe_count = 0;
	p->hi = cap;
	p->tried_max = false;
	p->timer_ms = now_ms;
}

static void to_complete(struct cn_pmtu *p, uint64_t now_ms)
{
	p->state = CN_PMTU_SEARCH_COMPLETE;
	p->outstanding = false;
	p->probe_count = 0;
	p->raise_ms = now_ms + CN_PMTU_RAISE_MS;
	p->confirm_ms = now_ms + CN_PMTU_CONFIRM_MS;
}

static void to_searching(struct cn_pmtu *p, uint64_t now_ms)
{
	p->state = CN_PMTU_SEARCHING;
	p->lo = p->plpmtu;
	p->outstanding = false;
	p->probe_count = 0;
	p->timer_ms = now_ms;
	if (p->lo >= p->hi || p->hi - p->lo < CN_PMTU_STEP)
		to_complete(p, now_ms);
}

/* The size to probe next while searching. */
static uint16_t search_size(struct cn_pmtu *p)
{
	if (!p->tried_max)
		return p->hi;
	return (uint16_t)(p->lo + (p->hi - p->lo + 1) / 2);
}

/* A size failed MAX_PROBES times. */
static void size_failed(struct cn_pmtu *p, uint64_t now_ms)
{
	p->probe_count = 0;
	p->outstanding = false;
	switch (p->state) {
	case CN_PMTU_BASE_STATE:
		p->state = CN_PMTU_ERROR;
		p->plpmtu = p->base;
		p->timer_ms = now_ms + CN_PMTU_ERROR_RETRY_MS;
		return;
	case CN_PMTU_ERROR:
		p->timer_ms = now_ms + CN_PMTU_ERROR_RETRY_MS;
		return;
	case CN_PMTU_SEARCHING:
		p->tried_max = true;
		p->hi = (uint16_t)(p->probed - 1);
		p->timer_ms = now_ms;
		if (p->hi < p->lo || p->hi - p->lo < CN_PMTU_STEP)
			to_complete(p, now_ms);
		return;
	case CN_PMTU_SEARCH_COMPLETE:
		/* The confirmation of PLPMTU failed: a black hole. */
		to_base(p, now_ms, p->max);
		return;
	case CN_PMTU_DISABLED:
		return;
	}
}

static uint64_t send_probe(struct cn_pmtu *p, uint16_t size, uint64_t now_ms,
			   struct cn_pmtu_probe *out)
{
	p->outstanding = true;
	p->probed = size;
	p->id++;
	p->timer_ms = now_ms + CN_PMTU_PROBE_TIMER_MS;
	*out = (struct cn_pmtu_probe){.send = true, .id = p->id, .size = size};
	return p->timer_ms;
}

uint64_t cn_pmtu_next(struct cn_pmtu *p, uint64_t now_ms, struct cn_pmtu_probe *out)
{
	*out = (struct cn_pmtu_probe){0};
	if (p->state == CN_PMTU_DISABLED)
		return 0;
	if (p->outstanding) {
		if (now_ms < p->timer_ms)
			return p->timer_ms;
		p->outstanding = false;
		if (++p->probe_count >= CN_PMTU_MAX_PROBES)
			size_failed(p, now_ms);
		else
			p->timer_ms = now_ms; /* the same size again, now */
	}
	switch (p->state) {
	case CN_PMTU_DISABLED:
		return 0;
	case CN_PMTU_BASE_STATE:
	case CN_PMTU_ERROR:
		if (now_ms < p->timer_ms)
			return p->timer_ms;
		return send_probe(p, p->base, now_ms, out);
	case CN_PMTU_SEARCHING:
		if (now_ms < p->timer_ms)
			return p->timer_ms;
		return send_probe(p, p->probe_count ? p->probed : search_size(p), now_ms, out);
	case CN_PMTU_SEARCH_COMPLETE:
		if (p->probe_count || now_ms >= p->confirm_ms) {
			/* Confirming PLPMTU (RFC 8899 5.2 CONFIRMATION_TIMER). */
			p->confirm_ms = now_ms + CN_PMTU_CONFIRM_MS;
			return send_probe(p, p->plpmtu, now_ms, out);
		}
		if (now_ms >= p->raise_ms) {
			p->hi = p->max;
			p->tried_max = false;
			to_searching(p, now_ms);
			if (p->state == CN_PMTU_SEARCHING)
				return send_probe(p, search_size(p), now_ms, out);
			return p->raise_ms < p->confirm_ms ? p->raise_ms : p->confirm_ms;
		}
		return p->raise_ms < p->confirm_ms ? p->raise_ms : p->confirm_ms;
	}
	return 0;
}

int cn_pmtu_on_ack(struct cn_pmtu *p, uint32_t id, uint16_t size, uint64_t now_ms)
{
	if (!p->outstanding || id != p->id || size != p->probed)
		return -CN_EUNKNOWN;
	p->outstanding = false;
	p->probe_count = 0;
	switch (p->state) {
	case CN_PMTU_DISABLED:
		return -CN_EUNKNOWN;
	case CN_PMTU_BASE_STATE:
	case CN_PMTU_ERROR:
		p->plpmtu = p->base;
		to_searching(p, now_ms);
		return 0;
	case CN_PMTU_SEARCHING:
		if (!p->tried_max)
			p->tried_max = true;
		p->plpmtu = size;
		p->lo = size;
		p->timer_ms = now_ms;
		if (p->lo >= p->hi || p->hi - p->lo < CN_PMTU_STEP)
			to_complete(p, now_ms);
		return 0;
	case CN_PMTU_SEARCH_COMPLETE:
		p->confirm_ms = now_ms + CN_PMTU_CONFIRM_MS;
		return 0;
	}
	return 0;
}

void cn_pmtu_on_black_hole(struct cn_pmtu *p, uint64_t now_ms)
{
	if (p->state == CN_PMTU_DISABLED || p->plpmtu <= p->base)
		return;
	to_base(p, now_ms, p->max);
}

void cn_pmtu_on_ptb(struct cn_pmtu *p, uint16_t size, uint64_t now_ms)
{
	/* Below base is not believable (RFC 8899 4.6.2: ignore); at or above
	 * PLPMTU changes nothing we rely on. */
	if (p->state == CN_PMTU_DISABLED || size < p->base || size >= p->plpmtu)
		return;
	to_base(p, now_ms, size);
}
