/* SPDX-License-Identifier: MIT */
/*
 * Reassembling a peer list from a relay's LIST_CHUNKs (docs/RELAY.md):
 * chunks of one serial arrive in order from offset 0; a chunk at offset 0
 * (a newer list adopted by the relay) starts over. Anything else is
 * ignored, so a confused or hostile relay can waste only its own link.
 * Pure: no I/O; memory is capped by CN_PEERLIST_MAX_BYTES.
 */
#ifndef CN_NODE_CLI_LISTRX_H
#define CN_NODE_CLI_LISTRX_H

#include <stddef.h>
#include <stdint.h>

/* An all-zero struct is an empty assembler. */
struct cn_listrx {
	uint8_t *buf; /* total bytes, owned */
	uint64_t serial;
	uint32_t total, got;
};

/*
 * Adds one chunk. Returns 1 when the list is complete (rx->buf holds
 * rx->total bytes), 0 when more is needed or the chunk was ignored (not the
 * next one of the list being assembled), -CN_ETOOBIG for a total over
 * CN_PEERLIST_MAX_BYTES or a chunk past it, -CN_ENOMEM. Empty chunks are
 * ignored.
 */
int cn_listrx_add(struct cn_listrx *rx, uint64_t serial, uint32_t total, uint32_t offset,
		  const uint8_t *data, size_t len);

/* Hands over the complete list (caller frees) and empties rx. */
uint8_t *cn_listrx_take(struct cn_listrx *rx, size_t *len);

/* Frees what rx holds; rx is empty afterwards. */
void cn_listrx_wipe(struct cn_listrx *rx);

#endif
