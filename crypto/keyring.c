/* SPDX-License-Identifier: MIT */
/* Key rotation for one Noise peer (keyring.h). */
#include "crypto/keyring.h"

#include <stdlib.h>

#include <sodium.h>

#include "common/err.h"

void cn_keyring_init(struct cn_keyring *k, cn_keyring_release_fn release, void *ctx)
{
	sodium_memzero(k, sizeof(*k));
	k->release = release;
	k->release_ctx = ctx;
}

static void drop(struct cn_keyring *k, struct cn_session **slot)
{
	struct cn_session *s = *slot;

	*slot = NULL;
	if (!s)
		return;
	if (k->release && s->local_index)
		k->release(k->release_ctx, s->local_index);
	cn_session_wipe(s);
	free(s);
}

void cn_keyring_abandon(struct cn_keyring *k)
{
	uint32_t index = k->hs_index;

	if (k->hs) {
		cn_handshake_wipe(k->hs);
		free(k->hs);
		k->hs = NULL;
	}
	k->hs_index = 0;
	if (index && k->release)
		k->release(k->release_ctx, index);
}

void cn_keyring_clear(struct cn_keyring *k)
{
	drop(k, &k->cur);
	drop(k, &k->prev);
	drop(k, &k->next);
	cn_keyring_abandon(k);
}

struct cn_session *cn_keyring_find(const struct cn_keyring *k, uint32_t index)
{
	if (index == 0)
		return NULL;
	if (k->cur && k->cur->local_index == index)
		return k->cur;
	if (k->next && k->next->local_index == index)
		return k->next;
	if (k->prev && k->prev->local_index == index)
		return k->prev;
	return NULL;
}

bool cn_keyring_owns(const struct cn_keyring *k, uint32_t index)
{
	return index != 0 && (index == k->hs_index || cn_keyring_find(k, index));
}

struct cn_session *cn_keyring_sending(const struct cn_keyring *k, uint64_t now_ms)
{
	if (!k->cur || k->cur->state != CN_SESSION_ESTABLISHED ||
	    cn_session_expired(k->cur, now_ms))
		return NULL;
	return k->cur;
}

bool cn_keyring_pending(const struct cn_keyring *k)
{
	return k->hs_index != 0;
}

int cn_keyring_initiate(struct cn_keyring *k, const struct cn_handshake_local *local,
			const uint8_t peer_x_pk[static CN_KEY_LEN], uint32_t index,
			const uint8_t ts[static CN_TAI64N_LEN],
			uint8_t out[static CN_HANDSHAKE_INITIATION_LEN])
{
	int ret;

	cn_keyring_abandon(k);
	if (index == 0)
		return -CN_EINVAL;
	k->hs = calloc(1, sizeof(*k->hs));
	if (!k->hs)
		return -CN_ENOMEM;
	ret = cn_handshake_create_initiation(k->hs, local, peer_x_pk, index, ts, NULL, out);
	if (ret) {
		cn_keyring_abandon(k);
		return ret;
	}
	k->hs_index = index;
	return 0;
}

/* s becomes current; the old current becomes previous. */
static void rotate_in(struct cn_keyring *k, struct cn_session *s)
{
	drop(k, &k->prev);
	k->prev = k->cur;
	k->cur = s;
}

int cn_keyring_consume_response(struct cn_keyring *k, const uint8_t *msg, size_t len,
				uint64_t now_ms)
{
	struct cn_session *s;
	int ret;

	if (!k->hs_index)
		return -CN_ESTATE;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -CN_ENOMEM;
	ret = cn_handshake_consume_response(k->hs, msg, len, now_ms, s);
	if (ret) {
		free(s);
		return ret;
	}
	/* The index now belongs to the session: free the handshake, keep the index. */
	cn_handshake_wipe(k->hs);
	free(k->hs);
	k->hs = NULL;
	k->hs_index = 0;
	rotate_in(k, s);
	return 0;
}

int cn_keyring_respond(struct cn_keyring *k, struct cn_handshake *hs, uint32_t index,
		       uint64_t now_ms, uint8_t out[static CN_HANDSHAKE_RESPONSE_LEN])
{
	struct cn_session *s = calloc(1, sizeof(*s));
	int ret;

	if (!s || index == 0) {
		cn_handshake_wipe(hs);
		free(s);
		return s ? -CN_EINVAL : -CN_ENOMEM;
	}
	ret = cn_handshake_create_response(hs, index, NULL, now_ms, out, s);
	cn_handshake_wipe(hs);
	if (ret) {
		cn_session_wipe(s);
		free(s);
		return ret;
	}
	drop(k, &k->next);
	k->next = s;
	return 0;
}

bool cn_keyring_received(struct cn_keyring *k, struct cn_session *s)
{
	if (!s || s != k->next)
		return false;
	k->next = NULL;
	rotate_in(k, s);
	return true;
}

void cn_keyring_expire(struct cn_keyring *k, uint64_t now_ms)
{
	if (k->prev && cn_session_expired(k->prev, now_ms))
		drop(k, &k->prev);
}
