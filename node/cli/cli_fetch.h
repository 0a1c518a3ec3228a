/* SPDX-License-Identifier: MIT */
/*
 * Fetching the signed peer list from one relay (cli_fetch.c), for `cairn
 * join`. Blocking, bounded by timeout_s.
 */
#ifndef CN_NODE_CLI_CLI_FETCH_H
#define CN_NODE_CLI_CLI_FETCH_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/keys.h"

struct cn_addr;
struct cn_identity;

/*
 * Connects to the relay at addr (pinned to relay_key) over TCP with id,
 * asks for the list of network and returns its bytes in *out (caller
 * frees; unverified). -CN_EUNKNOWN: the relay closed the link before it was
 * up (id is not in the relay's list); -CN_ETIMEDOUT; -CN_EIO with why set.
 */
int cn_cli_fetch_list(const struct cn_identity *id, const char *network,
		      const uint8_t relay_key[CN_KEY_LEN], const struct cn_addr *addr,
		      int timeout_s, char **out, size_t *len, char *why, size_t why_cap);

#endif
