/* SPDX-License-Identifier: MIT */
/*
 * A floor under the TAI64N timestamps this node puts in its handshake
 * initiations (docs/PROTOCOL.md section 4), so they keep increasing across
 * reboots whatever the wall clock says. A responder refuses an initiation
 * whose timestamp is not above the last one it accepted from us; a board
 * without a battery-backed clock that boots in 1970 (or in the year its
 * image was built) would otherwise be refused by every peer until its clock
 * passed the old value, i.e. unreachable.
 *
 * The rule: a timestamp handed out is the wall clock's label, or one tick
 * (2^24 ns, the whitening step of cn_handshake_tai64n) above the last one
 * handed out, whichever is greater. The floor is kept in a small file in
 * the state directory (docs/NODE.md "Clock"), written atomically and
 * rarely: when a timestamp would pass the value on disk, the node first
 * writes a value CN_TAI_FLOOR_AHEAD_S seconds beyond it, and sends only
 * then. Every timestamp ever sent is therefore at most the value on disk,
 * and after a restart the first one is above it. With a sane clock that is
 * one write per hour at most (and only while handshakes happen); with a
 * clock stuck at boot time, one write per 214,000 initiations (an hour of
 * 16.8 ms ticks).
 *
 * File: 24 lowercase hex digits (the 12-byte label) and a newline.
 *
 * Pure: the caller reads and writes the file (cn_file_read,
 * cn_file_write_atomic) and the wall clock.
 */
#ifndef CN_NODE_TAI_FLOOR_H
#define CN_NODE_TAI_FLOOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

enum {
	CN_TAI_LEN = 12,
	CN_TAI_FLOOR_AHEAD_S = 3600,
	CN_TAI_FLOOR_TEXT_LEN = 2 * CN_TAI_LEN + 1, /* hex and newline */
	CN_TAI_TICK_NS = 1 << 24,
};

struct cn_tai_floor {
	uint8_t last[CN_TAI_LEN];      /* greatest label handed out (or loaded) */
	uint8_t persisted[CN_TAI_LEN]; /* on disk: every label handed out is <= it */
};

/* No file yet: everything zero (the first label is the clock's). */
void cn_tai_floor_init(struct cn_tai_floor *f);

/* Loads the file's text: 0, or -CN_EFORMAT (not 24 hex digits and an
 * optional newline, nanoseconds >= 10^9, not a post-1970 TAI64 label). The
 * caller logs and, on error, starts from cn_tai_floor_init: the peers then
 * judge by the clock alone, as without this file. */
int cn_tai_floor_parse(struct cn_tai_floor *f, const char *text, size_t len);
void cn_tai_floor_format(const uint8_t label[static CN_TAI_LEN],
			 char out[static CN_TAI_FLOOR_TEXT_LEN + 1]);

/*
 * The label for a new initiation, from `clock` (cn_handshake_tai64n of the
 * wall clock): max(clock, last + tick). Returns true if the caller must
 * first persist `floor_out` (label + AHEAD): write it, then call
 * cn_tai_floor_persisted. If the write fails, send anyway and log: the
 * cost is only that after a reboot with a bad clock peers may refuse us
 * until the clock passes, never a replay.
 */
bool cn_tai_floor_next(struct cn_tai_floor *f, const uint8_t clock[static CN_TAI_LEN],
		       uint8_t out[static CN_TAI_LEN], uint8_t floor_out[static CN_TAI_LEN]);
void cn_tai_floor_persisted(struct cn_tai_floor *f, const uint8_t floor[static CN_TAI_LEN]);

/* Unix seconds of a label (for logs and for node/listclock.h). */
int64_t cn_tai_unix_seconds(const uint8_t label[static CN_TAI_LEN]);

#endif
