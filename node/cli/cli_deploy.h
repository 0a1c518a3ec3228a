/* SPDX-License-Identifier: MIT */
/*
 * cairn deploy, the command's private parts (docs/DEPLOY.md): the options,
 * targets and outcomes shared by cli_deploy.c (options, targets, list,
 * rollback), cli_deploy_push.c (pushes to one node and to groups) and
 * cli_deploy_node.c (the connection to one node's deploy server).
 */
#ifndef CN_NODE_CLI_CLI_DEPLOY_H
#define CN_NODE_CLI_CLI_DEPLOY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/peerlist.h"
#include "deploy/manifest.h"
#include "deploy/proto.h"

#define DEFAULT_KEY  "/etc/cairn/node.key"
#define DEFAULT_LIST "/etc/cairn/peers.conf"

enum {
	CONNECT_TIMEOUT_MS = 10000,
	IO_TIMEOUT_MS = 60000,
	MAX_TARGETS = 1024,
	CHUNK = CN_DPROTO_DATA_MAX,
};

struct opts {
	const char *key, *list, *name, *version, *to;
	bool activate, keep_going;
	unsigned int parallel, port, timeout_s;
	uint64_t rate; /* bytes per second, 0 = unlimited */
};

struct target {
	char name[CN_NAME_MAX + 1];
	uint8_t ip4[4];
};

/* What one push reports (also through a pipe from a child). */
struct outcome {
	bool done; /* a RESULT arrived */
	bool ok;
	uint8_t status;
	bool hook_ran;
	int32_t hook_exit;
	uint64_t resumed_at;
	double secs;
	char msg[CN_DPROTO_MSG_MAX + 1];
};

struct job {
	const struct opts *o;
	const char *path;
	int fd;
	uint64_t size;
	const uint8_t *manifest;
	size_t manifest_len;
	struct cn_deploy_manifest m;
	bool bar; /* a progress bar (terminal, one push at a time) */
};

/* cli_deploy.c: the peer list and TARGET (peer, group, NAME.DOMAIN, NAME.group.DOMAIN). */
int cn_cli_deploy_load_list(const char *cmd, const char *path, struct cn_peerlist **pl);
/* *out (caller frees) gets *n targets; prints the error and returns CN_EXIT_FAIL. */
int cn_cli_deploy_resolve(const char *cmd, const struct cn_peerlist *pl, const char *arg,
			  struct target **out, size_t *n);

/* cli_deploy_push.c: cairn deploy push TARGET FILE. */
int cn_cli_deploy_push(const struct opts *o, const char *target, const char *file);

/* cli_deploy_node.c: one node's deploy server over the overlay (blocking). */
/* A connected socket to t's deploy port, or -1 with err set. */
int cn_cli_deploy_dial(const struct target *t, unsigned int port, char *err, size_t cap);
int cn_cli_deploy_send_all(int fd, const void *p, size_t n);
/* Reads one frame into buf (CN_DPROTO_FRAME_MAX); payload at buf + CN_DPROTO_HDR. */
int cn_cli_deploy_recv_frame(int fd, uint8_t *buf, uint8_t *type, size_t *plen, int timeout_ms,
			     char *err, size_t cap);
/* Reads the RESULT that ends every request into out; prints the hook's output. */
void cn_cli_deploy_read_result(int fd, uint8_t *buf, const struct target *t, int timeout_ms,
			       struct outcome *out);
/* "1.5 MiB" */
void cn_cli_deploy_human(double v, char *out, size_t cap);
/* One word for an outcome: ok, refused, failed, ... */
const char *cn_cli_deploy_result_word(const struct outcome *o);

#endif
