/* SPDX-License-Identifier: MIT */
/*
 * Token buckets per source address, in a fixed table so that an attacker
 * with many addresses costs bounded memory: for handshake initiations and
 * STUN requests (cn_ratelimit_allow: tokens refill with time), and byte
 * credit against amplification (cn_ratelimit_credit_*: tokens are only
 * what the source itself sent, so what is answered to an address never
 * exceeds what came from it).
 * Addresses are hashed with a secret key (SipHash via libsodium's
 * crypto_shorthash), so colliding on purpose with a victim's bucket needs
 * the key. An entry idle for longer than a full refill is reused.
 *
 * Pure: `now_ms` is a parameter.
 */
#ifndef CN_RELAY_RATELIMIT_H
#define CN_RELAY_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

enum { CN_RATELIMIT_SLOTS = 4096 };

struct cn_ratelimit_slot {
	uint8_t addr[16]; /* IPv4 as ::ffff:a.b.c.d; the port is ignored */
	uint64_t last_ms;
	uint64_t tokens_milli; /* tokens * 1000 */
	bool used;
};

struct cn_ratelimiter {
	uint8_t hash_key[16];
	uint32_t rate;	/* tokens per second */
	uint32_t burst; /* bucket size */
	struct cn_ratelimit_slot slots[CN_RATELIMIT_SLOTS];
};

/* Sets rate and burst and draws a fresh hash key. */
void cn_ratelimit_init(struct cn_ratelimiter *rl, uint32_t rate, uint32_t burst);
/* True if a handshake from sa may proceed now (and takes a token). */
bool cn_ratelimit_allow(struct cn_ratelimiter *rl, const struct sockaddr *sa, uint64_t now_ms);

/*
 * Byte credit: a separate ratelimiter initialised with burst = the most
 * credit an address may hold (bytes); rate is unused. credit_add adds the bytes sa sent (capped);
 * credit_take spends n bytes if sa holds that much, else takes nothing and
 * returns false. No credit ever comes from the clock.
 */
void cn_ratelimit_credit_add(struct cn_ratelimiter *rl, const struct sockaddr *sa, uint64_t now_ms,
			     uint32_t n);
bool cn_ratelimit_credit_take(struct cn_ratelimiter *rl, const struct sockaddr *sa, uint64_t now_ms,
			      uint32_t n);

#endif
