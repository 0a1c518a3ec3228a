/* SPDX-License-Identifier: MIT */
/* The crypto workers' load gate (see loadgate.h). Pure: no clock, no I/O. */
#include "common/loadgate.h"

#include <string.h>

#include "common/dec.h"
#include "common/err.h"

/* user nice system idle iowait irq softirq steal, then guest and guest_nice (in user, nice) */
enum { STAT_FIELDS_MIN = 4, STAT_FIELDS_SUMMED = 8, STAT_FIELDS_MAX = 16 };

void cn_loadgate_init(struct cn_loadgate *g, unsigned int ncpu)
{
	memset(g, 0, sizeof(*g));
	g->ncpu = ncpu ? ncpu : 1;
}

static unsigned int pct(uint64_t num, uint64_t den)
{
	uint64_t v = num * 100 / den;

	return v > 100000 ? 100000 : (unsigned int)v;
}

bool cn_loadgate_update(struct cn_loadgate *g, const struct cn_loadgate_sample *s)
{
	const struct cn_loadgate_sample *l = &g->last;
	uint64_t dwall, dself, didle, dtotal;
	unsigned int idle_pct;

	if (!g->have) {
		g->last = *s;
		g->have = true;
		return g->share;
	}
	if (s->wall_us < l->wall_us || s->self_us < l->self_us || s->idle_ticks < l->idle_ticks ||
	    s->total_ticks < l->total_ticks) {
		g->last = *s; /* a clock or counter restarted: start over from here */
		return g->share;
	}
	dwall = s->wall_us - l->wall_us;
	dtotal = s->total_ticks - l->total_ticks;
	if (dwall < CN_LOADGATE_WINDOW_MS * 1000ULL / 2 || dtotal == 0)
		return g->share; /* too short to tell; the next sample spans more */
	dself = s->self_us - l->self_us;
	didle = s->idle_ticks - l->idle_ticks;
	if (didle > dtotal)
		didle = dtotal;
	g->busy_pct = pct(dself, dwall);
	idle_pct = pct(didle * g->ncpu, dtotal);
	g->spare_pct = idle_pct + (g->busy_pct > 100 ? g->busy_pct - 100 : 0);
	g->share = g->busy_pct >= CN_LOADGATE_BUSY_MIN_PCT &&
		   g->spare_pct >= CN_LOADGATE_SPARE_MIN_PCT;
	if (g->share)
		g->windows_shared++;
	else
		g->windows_alone++;
	g->last = *s;
	return g->share;
}

int cn_loadgate_parse_stat(const char *buf, size_t len, uint64_t *idle, uint64_t *total)
{
	uint64_t f[STAT_FIELDS_MAX], sum = 0;
	size_t i = 3, n = 0; /* after "cpu" */

	if (len < 4 || memcmp(buf, "cpu ", 4) != 0)
		return -CN_EFORMAT;
	for (;;) {
		uint64_t v;
		size_t digits = 0;

		while (i < len && buf[i] == ' ')
			i++;
		if (i >= len || buf[i] == '\n')
			break;
		if (n == STAT_FIELDS_MAX)
			return -CN_EFORMAT;
		while (i + digits < len && buf[i + digits] >= '0' && buf[i + digits] <= '9')
			digits++;
		if (!cn_dec_parse(buf + i, digits, digits, UINT64_MAX, CN_DEC_ANY, &v))
			return -CN_EFORMAT;
		i += digits;
		if (i < len && buf[i] != ' ' && buf[i] != '\n')
			return -CN_EFORMAT;
		if (n < STAT_FIELDS_SUMMED) {
			if (v > UINT64_MAX - sum)
				return -CN_EFORMAT;
			sum += v;
		}
		f[n++] = v;
	}
	/* The line must end here (a truncated read could cut its last number). */
	if (i >= len || n < STAT_FIELDS_MIN)
		return -CN_EFORMAT;
	*idle = f[3] + (n > 4 ? f[4] : 0);
	*total = sum;
	return 0;
}
