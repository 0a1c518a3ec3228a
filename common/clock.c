/* SPDX-License-Identifier: MIT */
/* Clock reads for the daemons (clock.h). */
#include "common/clock.h"

#include <stdlib.h>
#include <time.h>

uint64_t cn_clock_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

uint64_t cn_clock_ms(void)
{
	return cn_clock_us() / 1000;
}

void cn_clock_wall(uint64_t *sec, uint32_t *nsec)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	*sec = (uint64_t)ts.tv_sec;
	*nsec = (uint32_t)ts.tv_nsec;
}
