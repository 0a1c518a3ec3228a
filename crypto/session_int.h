/* SPDX-License-Identifier: MIT */
/*
 * The wire work of a transport data message, shared by session.c (one
 * packet, with state) and session_batch.c (counters reserved on the event
 * loop, sealing and opening on any thread). crypto/ only.
 */
#ifndef CN_CRYPTO_SESSION_INT_H
#define CN_CRYPTO_SESSION_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/noise.h"

int cn_session_seal_raw(const uint8_t key[static CN_NOISE_CIPHER_KEY_LEN], uint32_t remote_index,
			uint64_t counter, const uint8_t *pt, size_t pt_len, uint8_t *out,
			size_t out_cap, size_t *out_len);
int cn_session_open_raw(const uint8_t key[static CN_NOISE_CIPHER_KEY_LEN], uint32_t local_index,
			bool expired, const uint8_t *msg, size_t len, uint8_t *pt, size_t pt_cap,
			size_t *pt_len, uint64_t *counter);

#endif
