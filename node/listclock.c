/* SPDX-License-Identifier: MIT */
/*
 * Peer list expiry against an untrusted clock; rule in listclock.h.
 */
#include "node/listclock.h"

int64_t cn_listclock_trusted_now(int64_t wall_s, int64_t floor_s)
{
	return floor_s > wall_s ? floor_s : wall_s;
}

struct cn_listclock_result cn_listclock_check(struct cn_listclock *s, int64_t expires,
					      int64_t wall_s, int64_t floor_s, uint64_t mono_ms)
{
	struct cn_listclock_result r = {.verdict = CN_LIST_OK};
	uint64_t age, grace = s->grace_ms ? s->grace_ms : CN_LISTCLOCK_GRACE_MS;

	r.trusted_now = cn_listclock_trusted_now(wall_s, floor_s);
	if (expires == 0 || expires > r.trusted_now) {
		*s = (struct cn_listclock){.grace_ms = s->grace_ms};
		return r;
	}
	if (!s->expired) {
		s->expired = true;
		s->since_ms = mono_ms;
		s->next_warn_ms = mono_ms;
	}
	age = mono_ms >= s->since_ms ? mono_ms - s->since_ms : 0;
	if (age < grace) {
		r.verdict = CN_LIST_GRACE;
		r.grace_left_ms = grace - age;
	} else {
		r.verdict = CN_LIST_RESTRICTED;
	}
	if (mono_ms >= s->next_warn_ms) {
		r.warn = true;
		s->next_warn_ms = mono_ms + CN_LISTCLOCK_WARN_MS;
	}
	return r;
}
