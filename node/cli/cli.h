/* SPDX-License-Identifier: MIT */
/*
 * The `cairn` command line: shared helpers and one entry point per command
 * group. Every command prints errors as one line "cairn: CMD: reason" and
 * returns the process exit status (0 ok, 1 failure, 2 usage).
 */
#ifndef CN_NODE_CLI_H
#define CN_NODE_CLI_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	CN_EXIT_OK = 0,
	CN_EXIT_FAIL = 1,
	CN_EXIT_USAGE = 2,
};

/* Prints "cairn: <cmd>: <message>" to stderr; returns CN_EXIT_FAIL. */
int cn_cli_fail(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "cairn: <cmd>: <message>" and "try 'cairn <cmd> --help'"; returns CN_EXIT_USAGE. */
int cn_cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

int cn_cli_keygen(int argc, char **argv);
int cn_cli_pubkey(int argc, char **argv);
int cn_cli_network(int argc, char **argv);
/* The files `cairn network init` makes in its directory, which `cairn peers` defaults to. */
#define CN_CLI_NETWORK_LIST	"peers.conf"
#define CN_CLI_NETWORK_ROOT_KEY "root.key"
#define CN_CLI_NETWORK_ROOT_PUB "root.pub"
struct cn_identity;
/* Signs body with root and writes the signed list to path atomically (cli_peers.c). */
int cn_cli_sign_and_write(const char *cmd, const char *path, const char *body, size_t len,
			  const struct cn_identity *root);
struct cn_peerlist;
/*
 * Formats pl and writes it to path atomically, signed with root, or unsigned
 * when root is NULL (cli_peers.c).
 */
int cn_cli_save_list(const char *cmd, const char *path, const struct cn_peerlist *pl,
		     const struct cn_identity *root);
/* Raises pl's serial by one, failing (with the message printed) at INT64_MAX. */
int cn_cli_bump_serial(const char *cmd, struct cn_peerlist *pl);
int cn_cli_peers(int argc, char **argv);
/* cairn status, cairn ping (cli_status.c): ask the local node. */
int cn_cli_status(int argc, char **argv);
int cn_cli_ping(int argc, char **argv);
/*
 * A relay host from the peer list (IP literal, host name, or SRV name
 * starting with '_') and port to an address of family (AF_UNSPEC for any);
 * an SRV name's port replaces port when port_from_srv. Blocking
 * (cli_resolve.c).
 */
struct cn_addr;
int cn_cli_resolve(const char *host, uint16_t port, bool port_from_srv, int family, int socktype,
		   struct cn_addr *out);
/* cairn netcheck (cli_netcheck.c). */
int cn_cli_netcheck(int argc, char **argv);
/* cairn deploy push|rollback|list (cli_deploy.c, docs/DEPLOY.md). */
int cn_cli_deploy(int argc, char **argv);
/* cairn invite (cli_invite.c), cairn join (cli_join.c): enrolment with a token. */
int cn_cli_invite(int argc, char **argv);
int cn_cli_join(int argc, char **argv);
/* cairn peers publish (cli_publish.c). */
int cn_cli_publish(const char *list, const char *relay, const char *key, const char *address,
		   bool udp, int nargs);

#endif
