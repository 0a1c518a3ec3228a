/* SPDX-License-Identifier: MIT */
/*
 * Transport sessions and the data message; see session.h for the format and
 * the rules. Pure: time comes in as now_ms, buffers from the caller.
 *
 * Attacker model: every input byte may be forged. Nothing about the session
 * changes before the tag verified, so forged packets cost one AEAD check
 * and leave the replay window, the confirmation state and the counters as
 * they were.
 */
#include "crypto/session.h"
#include "crypto/session_int.h"

#include <sodium.h>
#include <string.h>

#include "common/bytes.h"
#include "common/err.h"
#include "crypto/handshake.h" /* CN_MSG_DATA */

_Static_assert(CN_SESSION_REJECT_AFTER_MESSAGES < UINT64_MAX - CN_REPLAY_WINDOW,
	       "received counters stay below the replay window's limit");
_Static_assert(CN_SESSION_REKEY_AFTER_MESSAGES < CN_SESSION_REJECT_AFTER_MESSAGES, "rekey first");
_Static_assert(CN_SESSION_REKEY_AFTER_TIME_MS < CN_SESSION_REKEY_ON_RECEIVE_MS &&
		       CN_SESSION_REKEY_ON_RECEIVE_MS < CN_SESSION_REJECT_AFTER_TIME_MS,
	       "rekey before reject");

/* A clock that appears to run backwards (it should not) counts as age 0. */
static uint64_t age(const struct cn_session *s, uint64_t now_ms)
{
	return now_ms > s->created_ms ? now_ms - s->created_ms : 0;
}

void cn_session_init(struct cn_session *s, const uint8_t send_key[static CN_NOISE_CIPHER_KEY_LEN],
		     const uint8_t recv_key[static CN_NOISE_CIPHER_KEY_LEN], uint32_t local_index,
		     uint32_t remote_index, bool initiator, uint64_t now_ms)
{
	sodium_memzero(s, sizeof(*s));
	memcpy(s->send_key, send_key, sizeof(s->send_key));
	memcpy(s->recv_key, recv_key, sizeof(s->recv_key));
	s->local_index = local_index;
	s->remote_index = remote_index;
	s->initiator = initiator;
	s->created_ms = now_ms;
	cn_replay_init(&s->replay);
	s->state = initiator ? CN_SESSION_ESTABLISHED : CN_SESSION_UNCONFIRMED;
}

void cn_session_wipe(struct cn_session *s)
{
	sodium_memzero(s, sizeof(*s));
}

/*
 * The wire work of a data message, shared with session_batch.c
 * (session_int.h): header and AEAD under key for counter; no state.
 */
int cn_session_seal_raw(const uint8_t key[static CN_NOISE_CIPHER_KEY_LEN], uint32_t remote_index,
			uint64_t counter, const uint8_t *pt, size_t pt_len, uint8_t *out,
			size_t out_cap, size_t *out_len)
{
	static const uint8_t reserved[3];
	struct cn_wr w;
	uint8_t *ct;

	*out_len = 0;
	if (pt_len > SIZE_MAX - CN_SESSION_OVERHEAD || out_cap < pt_len + CN_SESSION_OVERHEAD)
		return -CN_EINVAL;
	cn_wr_init(&w, out, pt_len + CN_SESSION_OVERHEAD);
	cn_wr_u8(&w, CN_MSG_DATA);
	cn_wr_bytes(&w, reserved, sizeof(reserved));
	cn_wr_u32le(&w, remote_index);
	cn_wr_u64le(&w, counter);
	/* Leaves pt alone when pt == out + header: in place. */
	ct = cn_wr_take(&w, pt_len + CN_NOISE_TAG_LEN);
	if (!cn_wr_ok(&w) || !ct)
		return -CN_EINVAL;
	cn_noise_encrypt(key, counter, out, CN_SESSION_HEADER_LEN, pt, pt_len, ct);
	*out_len = w.len;
	return 0;
}

/*
 * Parses a data message for local_index (header, reserved bytes, index,
 * counter limit) and opens it under key into pt; *counter is its counter.
 * expired: the session's age refuses it (checked after the header, as
 * before). Moves no window.
 */
int cn_session_open_raw(const uint8_t key[static CN_NOISE_CIPHER_KEY_LEN], uint32_t local_index,
			bool expired, const uint8_t *msg, size_t len, uint8_t *pt, size_t pt_cap,
			size_t *pt_len, uint64_t *counter)
{
	struct cn_rd r;
	const uint8_t *rsv, *ct;
	uint64_t c;
	uint32_t receiver;
	uint8_t type;
	size_t ct_len;
	int ret;

	*pt_len = 0;
	*counter = 0;
	if (len < CN_SESSION_OVERHEAD)
		return -CN_ESHORT;
	cn_rd_init(&r, msg, len);
	type = cn_rd_u8(&r);
	rsv = cn_rd_take(&r, 3);
	receiver = cn_rd_u32le(&r);
	c = cn_rd_u64le(&r);
	ct_len = cn_rd_left(&r);
	ct = cn_rd_take(&r, ct_len);
	if (!cn_rd_ok(&r) || !rsv || !ct)
		return -CN_ESHORT;
	if (type != CN_MSG_DATA || (rsv[0] | rsv[1] | rsv[2]) != 0)
		return -CN_EFORMAT;
	if (receiver != local_index)
		return -CN_EUNKNOWN;
	/* Cheap refusals before the AEAD: we would never send such a counter. */
	if (c >= CN_SESSION_REJECT_AFTER_MESSAGES)
		return -CN_EEXHAUSTED;
	if (expired)
		return -CN_EEXPIRED;
	if (pt_cap < ct_len - CN_NOISE_TAG_LEN)
		return -CN_EINVAL;
	ret = cn_noise_decrypt(key, c, msg, CN_SESSION_HEADER_LEN, ct, ct_len, pt);
	if (ret)
		return ret;
	*pt_len = ct_len - CN_NOISE_TAG_LEN;
	*counter = c;
	return 0;
}

int cn_session_encrypt(struct cn_session *s, uint64_t now_ms, const uint8_t *pt, size_t pt_len,
		       uint8_t *out, size_t out_cap, size_t *out_len)
{
	int ret;

	*out_len = 0;
	switch (s->state) {
	case CN_SESSION_EMPTY:
	case CN_SESSION_UNCONFIRMED: /* the initiator may not hold these keys yet */
		return -CN_ESTATE;
	case CN_SESSION_ESTABLISHED:
		break;
	}
	if (age(s, now_ms) >= CN_SESSION_REJECT_AFTER_TIME_MS)
		return -CN_EEXPIRED;
	if (s->send_counter >= CN_SESSION_REJECT_AFTER_MESSAGES)
		return -CN_EEXHAUSTED;
	ret = cn_session_seal_raw(s->send_key, s->remote_index, s->send_counter, pt, pt_len, out,
				  out_cap, out_len);
	if (ret == 0)
		s->send_counter++;
	return ret;
}

int cn_session_decrypt(struct cn_session *s, uint64_t now_ms, const uint8_t *msg, size_t len,
		       uint8_t *pt, size_t pt_cap, size_t *pt_len)
{
	uint64_t counter = 0;
	size_t n = 0;
	int ret;

	*pt_len = 0;
	switch (s->state) {
	case CN_SESSION_EMPTY:
		return -CN_ESTATE;
	case CN_SESSION_UNCONFIRMED:
	case CN_SESSION_ESTABLISHED:
		break;
	}
	ret = cn_session_open_raw(s->recv_key, s->local_index,
				  age(s, now_ms) >= CN_SESSION_REJECT_AFTER_TIME_MS, msg, len, pt,
				  pt_cap, &n, &counter);
	if (ret)
		return ret;
	/* Only an authentic counter may move the window. */
	ret = cn_replay_check(&s->replay, counter);
	if (ret) {
		sodium_memzero(pt, n);
		return ret;
	}
	switch (s->state) {
	case CN_SESSION_UNCONFIRMED:
		s->state = CN_SESSION_ESTABLISHED; /* the initiator holds the keys */
		break;
	case CN_SESSION_EMPTY:
	case CN_SESSION_ESTABLISHED:
		break;
	}
	*pt_len = n;
	return 0;
}

bool cn_session_expired(const struct cn_session *s, uint64_t now_ms)
{
	switch (s->state) {
	case CN_SESSION_EMPTY:
		return true;
	case CN_SESSION_UNCONFIRMED:
	case CN_SESSION_ESTABLISHED:
		break;
	}
	return age(s, now_ms) >= CN_SESSION_REJECT_AFTER_TIME_MS ||
	       s->send_counter >= CN_SESSION_REJECT_AFTER_MESSAGES;
}

bool cn_session_should_rekey_on_send(const struct cn_session *s, uint64_t now_ms)
{
	switch (s->state) {
	case CN_SESSION_EMPTY:
		return false; /* nothing to renew; the caller handshakes anyway */
	case CN_SESSION_UNCONFIRMED:
	case CN_SESSION_ESTABLISHED:
		break;
	}
	return s->send_counter >= CN_SESSION_REKEY_AFTER_MESSAGES ||
	       (s->initiator && age(s, now_ms) >= CN_SESSION_REKEY_AFTER_TIME_MS);
}

bool cn_session_should_rekey_on_receive(const struct cn_session *s, uint64_t now_ms)
{
	switch (s->state) {
	case CN_SESSION_EMPTY:
		return false;
	case CN_SESSION_UNCONFIRMED:
	case CN_SESSION_ESTABLISHED:
		break;
	}
	return s->initiator && age(s, now_ms) >= CN_SESSION_REKEY_ON_RECEIVE_MS;
}
