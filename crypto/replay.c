/* SPDX-License-Identifier: MIT */
/*
 * Anti-replay window; see replay.h. Bit for counter c: word (c / 64) mod
 * CN_REPLAY_WORDS, bit c mod 64. Pure.
 */
#include "crypto/replay.h"

#include <string.h>

#include "common/err.h"

_Static_assert((CN_REPLAY_WORDS & (CN_REPLAY_WORDS - 1)) == 0, "ring size is a power of two");
_Static_assert(CN_REPLAY_WINDOW >= 2048, "DESIGN section 4: at least 2048 packets");

static size_t word_of(uint64_t counter)
{
	return (size_t)((counter / CN_REPLAY_WORD_BITS) & (CN_REPLAY_WORDS - 1));
}

void cn_replay_init(struct cn_replay *r)
{
	memset(r, 0, sizeof(*r));
}

int cn_replay_check(struct cn_replay *r, uint64_t counter)
{
	uint64_t mask = UINT64_C(1) << (counter % CN_REPLAY_WORD_BITS);
	uint64_t *word;

	if (counter == UINT64_MAX)
		return -CN_EREPLAY;
	if (counter >= r->next) {
		/*
		 * New greatest counter: clear the words after the one holding the
		 * current greatest, up to and including counter's word. A jump of
		 * more than the ring clears it all. With nothing accepted yet the
		 * ring is still all zero.
		 */
		if (r->next > 0) {
			uint64_t cur = (r->next - 1) / CN_REPLAY_WORD_BITS;
			uint64_t jump = counter / CN_REPLAY_WORD_BITS - cur;

			if (jump > CN_REPLAY_WORDS)
				jump = CN_REPLAY_WORDS;
			for (uint64_t i = 1; i <= jump; i++)
				r->bits[(cur + i) & (CN_REPLAY_WORDS - 1)] = 0;
		}
		r->next = counter + 1;
		r->bits[word_of(counter)] |= mask;
		return 0;
	}
	/* counter < next: inside the window if next - counter <= WINDOW. */
	if (r->next - counter > CN_REPLAY_WINDOW)
		return -CN_EREPLAY;
	word = &r->bits[word_of(counter)];
	if (*word & mask)
		return -CN_EREPLAY;
	*word |= mask;
	return 0;
}
