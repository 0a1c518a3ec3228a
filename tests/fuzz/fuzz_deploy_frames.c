/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: deploy frame reassembly. The deploy server (deploy/server.c
 * read_cb) finds frames in a TCP stream that arrives in pieces: it calls
 * cn_dproto_peek on the 5-byte header alone, treats -CN_ESHORT as "wait",
 * -CN_ETOOBIG / -CN_EFORMAT as the end of the connection, and takes the
 * frame once header + payload_len bytes are there. This target runs that
 * same loop over the input cut into pieces of sizes drawn from its first
 * four bytes, and the one-shot loop over the whole input, and aborts
 * unless both see the same frames (type, length, offset) and end the same
 * way (refused at the same offset, or waiting on the same leftover). Also:
 * a header alone always gives the payload length when the type is known
 * and the length within its cap, and no frame exceeds CN_DPROTO_FRAME_MAX.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "deploy/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { MAX_FRAMES = 4096 };

struct seen {
	size_t n;
	uint8_t type[MAX_FRAMES];
	size_t len[MAX_FRAMES], at[MAX_FRAMES];
	size_t end; /* offset of the refused header, or of the unfinished rest */
	int how;    /* 0: waiting for more; 1: refused */
};

static void check(int cond)
{
	if (!cond)
		abort();
}

/* One pass of read_cb's loop over buf[0..len) from *at; false once refused. */
static bool drain(const uint8_t *buf, size_t len, size_t *at, struct seen *s)
{
	for (;;) {
		size_t avail = len - *at, plen;
		uint8_t type;
		int ret;

		if (avail < CN_DPROTO_HDR)
			return true;
		ret = cn_dproto_peek(buf + *at, CN_DPROTO_HDR, &type, &plen);
		if (ret == -CN_ETOOBIG || ret == -CN_EFORMAT) {
			s->how = 1;
			s->end = *at;
			return false;
		}
		check(ret == 0 || ret == -CN_ESHORT);
		check(ret == 0 ? plen == 0 : plen > 0);
		check(CN_DPROTO_HDR + plen <= CN_DPROTO_FRAME_MAX);
		if (avail < CN_DPROTO_HDR + plen)
			return true;
		/* With the whole frame the same call agrees. */
		{
			uint8_t t2;
			size_t p2;

			check(cn_dproto_peek(buf + *at, CN_DPROTO_HDR + plen, &t2, &p2) == 0);
			check(t2 == type && p2 == plen);
		}
		if (s->n == MAX_FRAMES)
			return false;
		s->type[s->n] = type;
		s->len[s->n] = plen;
		s->at[s->n] = *at;
		s->n++;
		*at += CN_DPROTO_HDR + plen;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct seen whole, pieces;
	uint32_t rng;
	size_t at = 0, got = 0;
	bool go = true;

	if (size < 4)
		return 0;
	rng = (uint32_t)data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16 |
	      (uint32_t)data[3] << 24;
	data += 4;
	size -= 4;
	memset(&whole, 0, sizeof(whole));
	memset(&pieces, 0, sizeof(pieces));
	if (drain(data, size, &at, &whole))
		whole.end = at;
	/* The same stream in pieces of 1..64 bytes (or 1..4096 when bit 0 is set). */
	at = 0;
	while (go && got < size) {
		size_t piece;

		rng = rng * 1103515245u + 12345u;
		piece = 1 + (rng >> 16) % ((rng & 1) ? 4096 : 64);
		got += piece < size - got ? piece : size - got;
		go = drain(data, got, &at, &pieces);
	}
	if (go)
		pieces.end = at;
	check(whole.n == pieces.n && whole.how == pieces.how && whole.end == pieces.end);
	for (size_t i = 0; i < whole.n; i++)
		check(whole.type[i] == pieces.type[i] && whole.len[i] == pieces.len[i] &&
		      whole.at[i] == pieces.at[i]);
	return 0;
}
