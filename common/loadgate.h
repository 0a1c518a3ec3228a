/* SPDX-License-Identifier: MIT */
/*
 * Whether crypto workers would help now (docs/DESIGN.md "Every core"):
 * a pure rule over CPU-time samples, which the data path's shell takes
 * every CN_LOADGATE_WINDOW_MS while batches run.
 *
 * Workers help one flow only when the daemon's one loop thread cannot keep
 * up alone (the daemon uses a whole core) and another core has time to
 * spare. Otherwise a woken worker costs futex calls, context switches and
 * cache traffic for nothing, and on a machine whose cores are full it
 * takes its core from the application or the other processes on the way
 * (measured: two nodes and iperf3 on two cores move 2-17% more without
 * workers). So over each window:
 *
 *   busy  = the daemon's CPU time / wall time            (cores)
 *   spare = the machine's idle cores + (busy - 1 if > 1)  (what the daemon's
 *           threads beyond one core use would be idle without them)
 *   share = busy >= CN_LOADGATE_BUSY_MIN_PCT% and spare >= CN_LOADGATE_SPARE_MIN_PCT%
 *
 * A node that is not saturated never starts its workers at all.
 */
#ifndef CN_COMMON_LOADGATE_H
#define CN_COMMON_LOADGATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	CN_LOADGATE_WINDOW_MS = 250,
	CN_LOADGATE_BUSY_MIN_PCT = 97,	/* of one core: the loop alone is the limit */
	CN_LOADGATE_SPARE_MIN_PCT = 50, /* of one core idle, or used beyond one core */
};

/* One sample: monotonic time, the daemon's CPU time, /proc/stat's totals. */
struct cn_loadgate_sample {
	uint64_t wall_us;
	uint64_t self_us;
	uint64_t idle_ticks;  /* idle + iowait, every CPU */
	uint64_t total_ticks; /* user to steal (guest time is inside user), every CPU */
};

struct cn_loadgate {
	unsigned int ncpu;
	bool have; /* last is a sample */
	bool share;
	struct cn_loadgate_sample last;
	/* The last window's figures, in percent of one core (for logs and tests). */
	unsigned int busy_pct, spare_pct;
	unsigned long long windows_shared, windows_alone;
};

/* ncpu: the machine's online CPUs (those /proc/stat's "cpu" line sums). */
void cn_loadgate_init(struct cn_loadgate *g, unsigned int ncpu);

/*
 * Takes a sample and returns whether to share batches with workers until
 * the next one. A sample less than half a window after the last, or whose
 * clocks went backwards, changes nothing.
 */
bool cn_loadgate_update(struct cn_loadgate *g, const struct cn_loadgate_sample *s);

/*
 * Parses the aggregate "cpu" line at the start of /proc/stat's text (buf
 * need not be NUL-terminated): idle + iowait and the sum of the first 8
 * fields, in clock ticks (guest and guest_nice are already counted in user and nice,
 * so they are not added). Returns 0, or -CN_EFORMAT when the text does not start
 * with such a line (at least 4 fields, each a decimal that fits, the sum
 * too).
 */
int cn_loadgate_parse_stat(const char *buf, size_t len, uint64_t *idle, uint64_t *total);

#endif
