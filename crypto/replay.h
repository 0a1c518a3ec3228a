/* SPDX-License-Identifier: MIT */
/*
 * Sliding anti-replay window for transport counters (RFC 6479 style, as in
 * WireGuard): a ring of CN_REPLAY_BITS bits in 64-bit words. The window is
 * the CN_REPLAY_WINDOW counters ending with the greatest one accepted (g):
 * g - (CN_REPLAY_WINDOW - 1) .. g. Inside it every counter is tracked one by
 * one, so packets reordered by the network are accepted once each;
 * duplicates and older counters are refused, greater ones move it forward.
 *
 * The ring keeps one word more than the window: moving the window forward
 * clears whole words, and the word holding the greatest counter is never
 * cleared, so every counter inside the window keeps its own bit.
 *
 * Pure and constant-size (1 KiB): no allocation. Call cn_replay_check only
 * after the packet's authentication tag verified, or a forged counter would
 * move the window and make the genuine packets look old.
 */
#ifndef CN_CRYPTO_REPLAY_H
#define CN_CRYPTO_REPLAY_H

#include <stdint.h>

enum {
	CN_REPLAY_WORD_BITS = 64,
	CN_REPLAY_BITS = 8192,
	CN_REPLAY_WORDS = CN_REPLAY_BITS / CN_REPLAY_WORD_BITS,
	CN_REPLAY_WINDOW = CN_REPLAY_BITS - CN_REPLAY_WORD_BITS, /* 8128 counters */
};

/* All-zero is the empty window (nothing accepted yet). */
struct cn_replay {
	uint64_t next; /* greatest counter accepted + 1; 0: none yet */
	uint64_t bits[CN_REPLAY_WORDS];
};

void cn_replay_init(struct cn_replay *r);

/*
 * Check and update in one step: 0 if counter was not seen before and lies
 * inside the window (it is then marked seen and may advance the window),
 * -CN_EREPLAY if it is a duplicate, older than the window, or UINT64_MAX
 * (which has no successor to store). On -CN_EREPLAY r is unchanged.
 */
int cn_replay_check(struct cn_replay *r, uint64_t counter);

#endif
