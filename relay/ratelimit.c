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

/* sa's slot: a slot it takes over starts with fresh_milli tokens. */
static struct cn_ratelimit_slot *slot_of(struct cn_ratelimiter *rl, const struct sockaddr *sa,
					 uint64_t now_ms, uint64_t fresh_milli)
{
	uint8_t addr[16], h[crypto_shorthash_BYTES];
	struct cn_ratelimit_slot *s;
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
			return s;
		memcpy(s->addr, addr, 16);
		s->used = true;
		s->tokens_milli = fresh_milli;
		s->last_ms = now_ms;
	}
	return s;
}

bool cn_ratelimit_allow(struct cn_ratelimiter *rl, const struct sockaddr *sa, uint64_t now_ms)
{
	uint64_t full = (uint64_t)rl->burst * 1000, elapsed;
	struct cn_ratelimit_slot *s = slot_of(rl, sa, now_ms, full);

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

/*
 * sa's credit slot, never shared: one address must not spend what another
 * sent. Two candidate slots per address (two halves of the hash), so two
 * active addresses rarely contend; when both candidates are held by other
 * addresses active within the last second, the one idle longer is taken
 * over and its credit is lost (which only ever withholds answers).
 */
static struct cn_ratelimit_slot *credit_slot(struct cn_ratelimiter *rl, const struct sockaddr *sa,
					     uint64_t now_ms)
{
	uint8_t addr[16], h[crypto_shorthash_BYTES];
	struct cn_ratelimit_slot *c[2], *s;
	uint32_t idx[2];

	addr_bytes(sa, addr);
	crypto_shorthash(h, addr, sizeof(addr), rl->hash_key);
	memcpy(&idx[0], h, sizeof(idx[0]));
	memcpy(&idx[1], h + 4, sizeof(idx[1]));
	c[0] = &rl->slots[idx[0] % CN_RATELIMIT_SLOTS];
	c[1] = &rl->slots[idx[1] % CN_RATELIMIT_SLOTS];
	for (int i = 0; i < 2; i++)
		if (c[i]->used && memcmp(c[i]->addr, addr, 16) == 0)
			return c[i];
	s = !c[0]->used ? c[0] : !c[1]->used ? c[1] : c[0]->last_ms <= c[1]->last_ms ? c[0] : c[1];
	memcpy(s->addr, addr, 16);
	s->used = true;
	s->tokens_milli = 0;
	s->last_ms = now_ms;
	return s;
}

void cn_ratelimit_credit_add(struct cn_ratelimiter *rl, const struct sockaddr *sa, uint64_t now_ms,
			     uint32_t n)
{
	uint64_t full = (uint64_t)rl->burst * 1000;
	struct cn_ratelimit_slot *s = credit_slot(rl, sa, now_ms);

	s->tokens_milli += (uint64_t)n * 1000;
	if (s->tokens_milli > full)
		s->tokens_milli = full;
	s->last_ms = now_ms;
}

bool cn_ratelimit_credit_take(struct cn_ratelimiter *rl, const struct sockaddr *sa, uint64_t now_ms,
			      uint32_t n)
{
	struct cn_ratelimit_slot *s = credit_slot(rl, sa, now_ms);

	s->last_ms = now_ms;
	if (s->tokens_milli < (uint64_t)n * 1000)
		return false;
	s->tokens_milli -= (uint64_t)n * 1000;
	return true;
}
