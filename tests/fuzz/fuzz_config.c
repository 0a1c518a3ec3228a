/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the node's and the relay's configuration parsers (libconfig
 * plus our validation) on arbitrary text.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "node/node_config.h"
#include "relay/relay_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cn_node_config nc;
	struct cn_relay_config rc;
	struct cn_errbuf e;
	char *text;

	if (size > 16384 || sodium_init() < 0)
		return 0;
	/* The file readers refuse NUL bytes; the parsers see C strings. */
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (!memchr(data, '\0', size)) {
		(void)cn_node_config_parse(text, &nc, &e);
		(void)cn_relay_config_parse(text, &rc, &e);
	}
	free(text);
	return 0;
}
