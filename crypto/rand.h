/* SPDX-License-Identifier: MIT */
/*
 * Random identifiers (probe, ping and challenge ids, tokens, seeds): one
 * libsodium call for 64 bits, where two randombytes_random() calls cost
 * two getrandom() system calls.
 */
#ifndef CN_CRYPTO_RAND_H
#define CN_CRYPTO_RAND_H

#include <stdint.h>

#include <sodium.h>

static inline uint64_t cn_rand_u64(void)
{
	uint64_t v;

	randombytes_buf(&v, sizeof(v));
	return v;
}

#endif
