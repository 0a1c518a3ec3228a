/* SPDX-License-Identifier: MIT */
/*
 * Unsigned decimal numbers in text fields: ports, prefix lengths, reverse
 * DNS labels, SDP and /proc fields. One rule for all of them, so no
 * parser grows its own overflow or leading-zero bug.
 *
 * Header-only (cn_headers): crypto/ and nat/ use it without linking
 * anything.
 */
#ifndef CN_COMMON_DEC_H
#define CN_COMMON_DEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum cn_dec_form {
	CN_DEC_ANY,	  /* leading zeros allowed ("007" is 7) */
	CN_DEC_CANONICAL, /* one spelling per value: no leading zero unless the value is "0" */
};

/*
 * The n bytes at s as a decimal number: 1 to max_digits digits and
 * nothing else (no sign, no space; s needs no terminator), value at most
 * max (any max up to UINT64_MAX: the check comes before each step, so
 * nothing overflows). On success *out is the value; on failure *out is
 * untouched and the result is false.
 */
static inline bool cn_dec_parse(const char *s, size_t n, size_t max_digits, uint64_t max,
				enum cn_dec_form form, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > max_digits)
		return false;
	if (form == CN_DEC_CANONICAL && n > 1 && s[0] == '0')
		return false;
	for (size_t i = 0; i < n; i++) {
		uint64_t d = (uint64_t)(s[i] - '0');

		if (s[i] < '0' || s[i] > '9' || d > max || v > (max - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

#endif
