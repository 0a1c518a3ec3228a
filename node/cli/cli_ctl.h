/* SPDX-License-Identifier: MIT */
/*
 * The local node's control socket, from the command line (cli_ctl.c): one
 * request line, one answer read to the end. Answers in JSON are parsed
 * with jansson (docs/DESIGN.md says why a library and why this one).
 */
#ifndef CN_NODE_CLI_CLI_CTL_H
#define CN_NODE_CLI_CLI_CTL_H

#include <stdbool.h>

#define CN_CLI_DEFAULT_SOCKET "/run/cairn/node.sock"

struct json_t;

/*
 * Sends line to the node at socket_path and reads the whole answer into
 * *reply (NUL-terminated, caller frees). On failure prints one error line
 * naming cmd (unless quiet) and returns CN_EXIT_FAIL.
 */
int cn_cli_ctl_ask(const char *cmd, const char *socket_path, const char *line, bool quiet,
		   char **reply);

/*
 * As cn_cli_ctl_ask, then parses the answer as one JSON object; the caller
 * owns the result (json_decref). NULL on failure, with one error line
 * (unless quiet).
 */
struct json_t *cn_cli_ctl_json(const char *cmd, const char *socket_path, const char *line,
			       bool quiet);

#endif
