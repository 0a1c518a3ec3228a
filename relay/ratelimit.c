/* SPDX-License-Identifier: MIT */
#include "relay/ratelimit.h"

#include <netinet/in.h>
#include <sodium.h>
#include <string.h>

void cn_ratelimit_init(struct cn_ratelimiter *rl, uint32_t rate, uint32_t burst)
{
	memset(rl, 0, sizeof(*rl));
	rl->rate = rate ? rate : 1;
	rl->burst = burst ? burst : 1;
	randombytes_buf(rl->hash_key, sizeof(rl->hash_key));
}

static void addr_bytes(const struct sockaddr *sa, uint8_t out[16])
{
	memset(out, 0, 16);
	if (sa->sa_family == AF_INET) {
		out[10] = 0xff;
		out[11] = 0xff;
		memcpy(out + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		memcpy(out, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
	}
}

bool cn_ratelimit_allow(struct cn_ratelimiter *rl, const struct sockaddr *sa, uint64_t now_ms)
{
	uint8_t addr[16], h[crypto_shorthash_BYTES];
	struct cn_ratelimit_slot *s;
	uint64_t full = (uint64_t)rl->burst * 1000, elapsed;
	uint32_t idx;

	addr_bytes(sa, addr);
	crypto_shorthash(h, addr, sizeof(addr), rl->hash_key);
	memcpy(&idx, h, sizeof(idx));
	s = &rl->slots[idx % CN_RATELIMIT_SLOTS];
	if (!s->used || memcmp(s->addr, addr, 16) != 0) {
		/*
		 * A different address holds this slot. Take it over only once it
		 * would have refilled anyway; until then the two share a bucket,
		 * which errs on the side of refusing.
		 */
		if (s->used && now_ms - s->last_ms < (uint64_t)rl->burst * 1000 / rl->rate)
			goto take;
		memcpy(s->addr, addr, 16);
		s->used = true;
		s->tokens_milli = full;
		s->last_ms = now_ms;
	}
take:
	elapsed = now_ms >= s->last_ms ? now_ms - s->last_ms : 0;
	s->tokens_milli += elapsed * rl->rate;
	if (s->tokens_milli > full)
		s->tokens_milli = full;
	s->last_ms = now_ms;
	if (s->tokens_milli < 1000)
		return false;
	s->tokens_milli -= 1000;
	return true;
}
