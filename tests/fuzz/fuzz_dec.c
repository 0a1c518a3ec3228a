/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the decimal field parser (common/dec.h) against a slow
 * reference that compares the digits as text with the bound's (no
 * arithmetic that could wrap, and no 128-bit type: armhf has none). The
 * first byte picks the form and the digit cap, the next eight the bound;
 * the rest is the field. Both must agree on every input, value included.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/dec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool reference(const char *s, size_t n, size_t cap, uint64_t max, bool canonical,
		      uint64_t *out)
{
	char m[24];
	size_t mn, z = 0;
	uint64_t v = 0;

	if (n == 0 || n > cap || (canonical && n > 1 && s[0] == '0'))
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	/* Compared as text with max's digits: no arithmetic that could wrap. */
	while (z + 1 < n && s[z] == '0')
		z++;
	mn = (size_t)snprintf(m, sizeof(m), "%llu", (unsigned long long)max);
	if (n - z > mn || (n - z == mn && memcmp(s + z, m, mn) > 0))
		return false;
	for (size_t i = z; i < n; i++)
		v = v * 10 + (uint64_t)(s[i] - '0');
	*out = v;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t max = 0, got = 0, want = 0;
	enum cn_dec_form form;
	size_t cap;
	bool ok, ref;

	if (size < 9)
		return 0;
	form = data[0] & 0x80 ? CN_DEC_CANONICAL : CN_DEC_ANY;
	cap = data[0] & 0x7f;
	memcpy(&max, data + 1, sizeof(max));
	ok = cn_dec_parse((const char *)data + 9, size - 9, cap, max, form, &got);
	ref = reference((const char *)data + 9, size - 9, cap, max, form == CN_DEC_CANONICAL,
			&want);
	if (ok != ref || (ok && got != want))
		abort();
	return 0;
}
