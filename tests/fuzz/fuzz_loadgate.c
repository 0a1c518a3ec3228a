/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the /proc/stat "cpu" line parser and the load gate rule
 * (common/loadgate.h). A parse either fails leaving the outputs alone or
 * gives idle <= total; the rule, fed the parsed figures and clocks taken
 * from the input, never reads out of bounds and keeps its counts in step.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/loadgate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
	if (!cond)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t idle = 1, total = 0;
	struct cn_loadgate g;
	struct cn_loadgate_sample s = {0};
	size_t at = 0;

	if (cn_loadgate_parse_stat((const char *)data, size, &idle, &total) != 0) {
		check(idle == 1 && total == 0);
	} else {
		check(idle <= total);
	}
	/* Then the input again as samples: 4 x 8 bytes each. */
	cn_loadgate_init(&g, data && size ? data[0] : 0);
	while (size - at >= 32) {
		bool share;

		memcpy(&s.wall_us, data + at, 8);
		memcpy(&s.self_us, data + at + 8, 8);
		memcpy(&s.idle_ticks, data + at + 16, 8);
		memcpy(&s.total_ticks, data + at + 24, 8);
		at += 32;
		share = cn_loadgate_update(&g, &s);
		check(share == g.share);
		check(!share || g.windows_shared > 0);
	}
	return 0;
}
