/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: lines of the node's endpoints file (node/endpoints_fmt.c).
 * Every line of the input is parsed; what parses must format back to a
 * line that parses to the same endpoint.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "node/endpoints_fmt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	size_t pos = 0;

	while (pos <= size) {
		const char *nl = memchr(text + pos, '\n', size - pos);
		size_t len = nl ? (size_t)(nl - (text + pos)) : size - pos;
		struct cn_endpoint_line l, again;
		char buf[256];
		int n;

		if (cn_endpoint_line_parse(text + pos, len, &l) == 0) {
			n = cn_endpoint_line_format(&l, buf, sizeof(buf));
			if (n <= 0 || buf[n - 1] != '\n' ||
			    cn_endpoint_line_parse(buf, (size_t)n - 1, &again) != 0 ||
			    strcmp(l.name, again.name) != 0 || l.local_port != again.local_port ||
			    !cn_addr_equal((const struct sockaddr *)&l.remote.ss,
					   (const struct sockaddr *)&again.remote.ss))
				abort();
		}
		pos += len + 1;
	}
	return 0;
}
