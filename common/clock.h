/* SPDX-License-Identifier: MIT */
/*
 * The one place daemons read the clock. Monotonic time drives every timer
 * and deadline; wall time is only for what leaves the machine (handshake
 * timestamps, list expiry, log and status lines). Pure modules never call
 * these: they take `now` as a parameter.
 */
#ifndef CN_COMMON_CLOCK_H
#define CN_COMMON_CLOCK_H

#include <stdint.h>

/* Monotonic milliseconds and microseconds (CLOCK_MONOTONIC; arbitrary epoch). */
uint64_t cn_clock_ms(void);
uint64_t cn_clock_us(void);
/* Wall-clock seconds and nanoseconds since the Unix epoch (CLOCK_REALTIME). */
void cn_clock_wall(uint64_t *sec, uint32_t *nsec);

#endif
