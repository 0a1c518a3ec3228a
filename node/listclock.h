/* SPDX-License-Identifier: MIT */
/*
 * The rule for a node whose clock disagrees with its peer list's expiry
 * (docs/NODE.md "Clock"): stay reachable, say so loudly, and still honour
 * what expiry protects.
 *
 * Expiry is judged at the trusted time: the wall clock, but never earlier
 * than the TAI floor (node/tai_floor.h) minus its lead, a time this node's
 * clock has already shown. A board that boots in 1970 therefore cannot
 * make an expired list valid again.
 *
 *   OK          not expired (or no expiry)
 *   GRACE       expired at the trusted time, for less than CN_LISTCLOCK_GRACE_MS
 *               of this run's uptime (monotonic, immune to clock jumps):
 *               everything keeps working; warn at once and then hourly; do
 *               not serve the list to others; ask relays for a newer one
 *               every CN_LISTCLOCK_REFRESH_MS
 *   RESTRICTED  expired for longer: relay links (to receive a newer list)
 *               and the local control socket only; no peer sessions
 *
 * A newer list that is valid at the trusted time ends the expired state at
 * once; so does a trusted time that falls back below the expiry (a clock
 * corrected backwards, with no floor above it).
 *
 * Pure: times are parameters.
 */
#ifndef CN_NODE_LISTCLOCK_H
#define CN_NODE_LISTCLOCK_H

#include <stdbool.h>
#include <stdint.h>

#define CN_LISTCLOCK_GRACE_MS	(7ULL * 24 * 3600 * 1000)
#define CN_LISTCLOCK_WARN_MS	(3600ULL * 1000)
#define CN_LISTCLOCK_REFRESH_MS (60ULL * 1000)

enum cn_listclock_verdict {
	CN_LIST_OK,
	CN_LIST_GRACE,
	CN_LIST_RESTRICTED,
};

struct cn_listclock {
	uint64_t grace_ms; /* the grace period; 0: CN_LISTCLOCK_GRACE_MS (others: tests) */
	bool expired;
	uint64_t since_ms;     /* monotonic: when the expiry was first seen */
	uint64_t next_warn_ms; /* monotonic */
};

struct cn_listclock_result {
	enum cn_listclock_verdict verdict;
	bool warn;		/* log the warning now */
	int64_t trusted_now;	/* unix seconds the verdict used */
	uint64_t grace_left_ms; /* GRACE: uptime left before RESTRICTED */
};

/* The trusted time: max(wall_s, floor_s); floor_s 0 = no floor. */
int64_t cn_listclock_trusted_now(int64_t wall_s, int64_t floor_s);

/*
 * Evaluates the held list's expiry (unix seconds, 0 = never) now: at load
 * and then at least every minute and after every list change. The state
 * remembers when the expiry was first seen, for the grace period; a
 * replaced list is checked with the same state (cn_listclock_reset when
 * the new list is valid is done here).
 */
struct cn_listclock_result cn_listclock_check(struct cn_listclock *s, int64_t expires,
					      int64_t wall_s, int64_t floor_s, uint64_t mono_ms);

#endif
