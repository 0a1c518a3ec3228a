/* SPDX-License-Identifier: MIT */
/*
 * Data messages sealed and opened off the loop (see session_batch.h). The
 * wire format and the order of checks are session.c's; tests and the fuzz
 * target compare the two byte for byte and verdict for verdict.
 *
 * Attacker model as in session.c: nothing in the session changes before a
 * tag verified (open touches no session at all), and accept moves the
 * replay window only for a counter the AEAD authenticated.
 */
#include "crypto/session_batch.h"

#include <sodium.h>
#include <string.h>

#include "common/err.h"
#include "crypto/session.h"
#include "crypto/session_int.h"

static uint64_t age(const struct cn_session *s, uint64_t now_ms)
{
	return now_ms > s->created_ms ? now_ms - s->created_ms : 0;
}

int cn_session_batch_reserve(struct cn_session *s, uint64_t now_ms, size_t n, uint64_t *first,
			     struct cn_session_seal_key *k)
{
	*first = 0;
	sodium_memzero(k, sizeof(*k));
	switch (s->state) {
	case CN_SESSION_EMPTY:
	case CN_SESSION_UNCONFIRMED:
		return -CN_ESTATE;
	case CN_SESSION_ESTABLISHED:
		break;
	}
	if (n == 0)
		return -CN_EINVAL;
	if (age(s, now_ms) >= CN_SESSION_REJECT_AFTER_TIME_MS)
		return -CN_EEXPIRED;
	/* The last one reserved must still be below the limit, as encrypt checks per packet. */
	if (s->send_counter >= CN_SESSION_REJECT_AFTER_MESSAGES ||
	    n > CN_SESSION_REJECT_AFTER_MESSAGES - s->send_counter)
		return -CN_EEXHAUSTED;
	memcpy(k->key, s->send_key, sizeof(k->key));
	k->remote_index = s->remote_index;
	*first = s->send_counter;
	s->send_counter += n;
	return 0;
}

int cn_session_batch_seal(const struct cn_session_seal_key *k, uint64_t counter, const uint8_t *pt,
			  size_t pt_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	return cn_session_seal_raw(k->key, k->remote_index, counter, pt, pt_len, out, out_cap,
				   out_len);
}

int cn_session_batch_open_key(const struct cn_session *s, uint64_t now_ms,
			      struct cn_session_open_key *k)
{
	sodium_memzero(k, sizeof(*k));
	switch (s->state) {
	case CN_SESSION_EMPTY:
		return -CN_ESTATE;
	case CN_SESSION_UNCONFIRMED:
	case CN_SESSION_ESTABLISHED:
		break;
	}
	if (age(s, now_ms) >= CN_SESSION_REJECT_AFTER_TIME_MS)
		return -CN_EEXPIRED;
	memcpy(k->key, s->recv_key, sizeof(k->key));
	k->local_index = s->local_index;
	return 0;
}

int cn_session_batch_open(const struct cn_session_open_key *k, const uint8_t *msg, size_t len,
			  uint8_t *pt, size_t pt_cap, size_t *pt_len, uint64_t *counter)
{
	return cn_session_open_raw(k->key, k->local_index, false, msg, len, pt, pt_cap, pt_len,
				   counter);
}

int cn_session_batch_accept(struct cn_session *s, uint64_t counter, bool *newest)
{
	uint64_t next_before = s->replay.next;
	int ret;

	if (newest)
		*newest = false;
	switch (s->state) {
	case CN_SESSION_EMPTY:
		return -CN_ESTATE;
	case CN_SESSION_UNCONFIRMED:
	case CN_SESSION_ESTABLISHED:
		break;
	}
	ret = cn_replay_check(&s->replay, counter);
	if (ret)
		return ret;
	if (newest)
		*newest = counter >= next_before;
	switch (s->state) {
	case CN_SESSION_UNCONFIRMED:
		s->state = CN_SESSION_ESTABLISHED; /* the initiator holds the keys */
		break;
	case CN_SESSION_EMPTY:
	case CN_SESSION_ESTABLISHED:
		break;
	}
	return 0;
}

void cn_session_batch_seal_key_wipe(struct cn_session_seal_key *k)
{
	sodium_memzero(k, sizeof(*k));
}

void cn_session_batch_open_key_wipe(struct cn_session_open_key *k)
{
	sodium_memzero(k, sizeof(*k));
}
