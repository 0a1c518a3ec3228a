/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the enrolment token `cairn join` reads. What decodes must
 * encode again and decode to the same fields.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "node/cli/token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char text[CN_TOKEN_TEXT_MAX];
	struct cn_token t, u;

	if (sodium_init() < 0)
		abort();
	if (cn_token_decode((const char *)data, size, &t) != 0)
		return 0;
	if (cn_token_encode(&t, text, sizeof(text)) != 0 ||
	    cn_token_decode(text, strlen(text), &u) != 0 || memcmp(&t, &u, sizeof(t)) != 0)
		abort();
	return 0;
}
