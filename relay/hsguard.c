/* SPDX-License-Identifier: MIT */
/*
 * Handshake admission (hsguard.h): cookie check, load, per-source limit.
 * Pure.
 */
#include "relay/hsguard.h"

#include <sodium.h>
#include <string.h>

enum {
	DEFAULT_RATE = 20,
	DEFAULT_BURST = 40,
};

void cn_hsguard_init(struct cn_hsguard *g, const uint8_t x_pk[static CN_KEY_LEN], uint32_t rate,
		     uint32_t burst, uint32_t load_threshold)
{
	memset(g, 0, sizeof(*g));
	cn_cookie_checker_init(&g->ck, x_pk);
	g->load.threshold = load_threshold;
	cn_ratelimit_init(&g->rl, rate ? rate : DEFAULT_RATE, burst ? burst : DEFAULT_BURST);
}

void cn_hsguard_wipe(struct cn_hsguard *g)
{
	sodium_memzero(g, sizeof(*g));
}

bool cn_hsguard_under_load(const struct cn_hsguard *g, uint64_t now)
{
	return cn_cookie_under_load(&g->load, now);
}

enum cn_cookie_verdict cn_hsguard_admit(struct cn_hsguard *g, const uint8_t *msg, size_t len,
					const struct sockaddr *src, bool busy, uint64_t now,
					uint8_t reply[static CN_COOKIE_REPLY_LEN])
{
	bool under = busy || cn_cookie_under_load(&g->load, now);
	enum cn_cookie_verdict v = cn_cookie_check(&g->ck, msg, len, src, under, now);

	switch (v) {
	case CN_COOKIE_DROP:
		g->dropped_mac++;
		return v;
	case CN_COOKIE_SEND_REPLY:
		if (cn_cookie_reply_create(&g->ck, msg, len, src, now, reply) != 0) {
			g->dropped_mac++;
			return CN_COOKIE_DROP;
		}
		g->replies++;
		return v;
	case CN_COOKIE_OK:
		break;
	}
	if (!cn_ratelimit_allow(&g->rl, src, now)) {
		g->dropped_rate++;
		return CN_COOKIE_DROP;
	}
	cn_cookie_load_note(&g->load, now);
	g->admitted++;
	return CN_COOKIE_OK;
}
