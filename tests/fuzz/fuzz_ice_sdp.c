/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the remote SDP check (nat/ice_sdp.h) on arbitrary
 * text. Beyond not crashing: an accepted text holds only printable ASCII
 * and newlines, exactly one ufrag and one pwd line, a candidate count in
 * 1..CN_ICE_MAX_CANDIDATES that matches its "a=candidate:" lines, and is
 * still accepted with a final newline added (it is optional) and not with
 * an empty line added; a refusal leaves *ncand 0. Any disagreement aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "nat/ice_sdp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
	if (!cond)
		abort();
}

static unsigned int count_lines(const char *s, const char *prefix)
{
	size_t k = strlen(prefix);
	unsigned int n = 0;

	for (const char *p = s; *p;) {
		const char *nl = strchr(p, '\n');

		if (strncmp(p, prefix, k) == 0)
			n++;
		if (!nl)
			break;
		p = nl + 1;
	}
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s, *t;
	unsigned int n = 99, n2 = 99;
	size_t len;
	int ret;

	if (size > CN_ICE_SDP_MAX + 16)
		return 0;
	s = malloc(size + 3);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	ret = cn_ice_sdp_check(s, &n);
	check(ret == 0 || ret == -CN_EFORMAT || ret == -CN_ETOOBIG);
	check(ret == cn_ice_sdp_check(s, NULL));
	if (ret != 0) {
		check(n == 0);
		free(s);
		return 0;
	}
	len = strlen(s);
	check(len <= CN_ICE_SDP_MAX);
	for (size_t i = 0; i < len; i++)
		check(s[i] == '\n' || (s[i] >= 0x20 && s[i] <= 0x7e));
	check(n >= 1 && n <= CN_ICE_MAX_CANDIDATES);
	check(count_lines(s, "a=candidate:") == n);
	check(count_lines(s, "a=ice-ufrag:") == 1);
	check(count_lines(s, "a=ice-pwd:") == 1);
	t = s;
	if (len > 0 && s[len - 1] != '\n' && len < CN_ICE_SDP_MAX) {
		t[len] = '\n';
		t[len + 1] = '\0';
		check(cn_ice_sdp_check(t, &n2) == 0 && n2 == n);
		len++;
	}
	if (len < CN_ICE_SDP_MAX) {
		t[len] = '\n'; /* an empty line */
		t[len + 1] = '\0';
		check(cn_ice_sdp_check(t, &n2) == -CN_EFORMAT && n2 == 0);
	}
	free(s);
	return 0;
}
