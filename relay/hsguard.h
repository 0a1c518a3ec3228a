/* SPDX-License-Identifier: MIT */
/*
 * Admission of handshake messages before any X25519, the one call the
 * node's receive path and the relay's initiation path make per initiation
 * (or response): the cookie check (crypto/cookie.h), the load decision
 * and the per-source rate limit (relay/ratelimit.h), in that order:
 *
 *   1. length, header and mac1 (one hash): else DROP, silently;
 *   2. under load (more than `load_threshold` messages a second went on to
 *      Noise, with a second of hysteresis, or the caller says it is busy,
 *      e.g. its pending handshakes are over a threshold): a valid mac2 for
 *      the source is required, else SEND_REPLY with a 64-byte cookie reply
 *      written to the caller's buffer (smaller than the message);
 *   3. the source's token bucket: empty -> DROP;
 *   4. OK: the message goes on to Noise, and counts as load.
 *
 * So garbage and messages for other keys never take a token, forged
 * sources never get past step 2 once the flood makes the daemon busy, and
 * a source that proves its address is still limited to `rate` per second.
 *
 * Pure (`now` is monotonic ms), caller storage (about 170 KiB with the
 * limiter's table: heap or daemon struct, not the stack).
 */
#ifndef CN_RELAY_HSGUARD_H
#define CN_RELAY_HSGUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "crypto/cookie.h"
#include "relay/ratelimit.h"

struct cn_hsguard {
	struct cn_cookie_checker ck;
	struct cn_cookie_load load;
	struct cn_ratelimiter rl;
	uint64_t replies, dropped_mac, dropped_rate, admitted; /* counters for metrics */
};

/*
 * For a daemon whose static X25519 key is x_pk: rate and burst per source
 * (0 = 20 and 40, the relay's defaults), load_threshold messages per
 * second (0 = CN_COOKIE_LOAD_DEFAULT).
 */
void cn_hsguard_init(struct cn_hsguard *g, const uint8_t x_pk[static CN_KEY_LEN], uint32_t rate,
		     uint32_t burst, uint32_t load_threshold);
void cn_hsguard_wipe(struct cn_hsguard *g);

/*
 * The verdict for msg (a type 1 or 2 message) from src at now; busy: the
 * caller's own overload signal (ORed with the rate of admitted messages).
 * On SEND_REPLY, reply (CN_COOKIE_REPLY_LEN bytes) holds what to send back
 * to src the way msg came.
 */
enum cn_cookie_verdict cn_hsguard_admit(struct cn_hsguard *g, const uint8_t *msg, size_t len,
					const struct sockaddr *src, bool busy, uint64_t now,
					uint8_t reply[static CN_COOKIE_REPLY_LEN]);

/* Whether g is under load at now (for status and metrics). */
bool cn_hsguard_under_load(const struct cn_hsguard *g, uint64_t now);

#endif
