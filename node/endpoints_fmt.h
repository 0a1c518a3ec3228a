/* SPDX-License-Identifier: MIT */
/*
 * The endpoints file's lines (pure): "NAME LOCAL_PORT REMOTE" for each peer
 * whose direct path worked, so a node restarted with every relay down can
 * reopen the same local port towards the same remote. The file is the
 * node's own, but it is read back at start, so its parser treats it as
 * untrusted input (tests/fuzz/fuzz_endpoints.c).
 */
#ifndef CN_NODE_ENDPOINTS_FMT_H
#define CN_NODE_ENDPOINTS_FMT_H

#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"
#include "crypto/peerlist.h"

struct cn_endpoint_line {
	char name[CN_NAME_MAX + 1];
	uint16_t local_port; /* 1..65535 */
	struct cn_addr remote;
};

/*
 * Parses one line (len bytes, no newline). Returns 0 with *out set, 1 for a
 * blank or comment line, -CN_EFORMAT for anything else (a name that is not
 * a peer name, a port out of range, a bad address, trailing text).
 */
int cn_endpoint_line_parse(const char *line, size_t len, struct cn_endpoint_line *out);
/* Writes "name port remote\n" into buf (cap bytes); returns its length or -CN_ETOOBIG. */
int cn_endpoint_line_format(const struct cn_endpoint_line *l, char *buf, size_t cap);

#endif
