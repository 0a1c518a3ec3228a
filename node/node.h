/* SPDX-License-Identifier: MIT */
/*
 * cairn-node's daemon core: the I/O shell that owns the TUN device, the
 * relay links, the per-peer sessions and paths (relay, direct via ICE,
 * TURN), the control socket, and the signed peer list. docs/NODE.md has
 * the behaviour; node/node_main.c is the thin executable around it.
 */
#ifndef CN_NODE_NODE_H
#define CN_NODE_NODE_H

#include "common/err.h"

struct event_base;
struct cn_node;
struct cn_node_config;

/*
 * Creates the node: reads its key and the peer list (the newer of the
 * configured file and the state directory's copy), opens and configures
 * the TUN device, opens the control socket, connects to the relays and
 * restores the direct paths it remembers. NULL (e says why) on failure.
 */
struct cn_node *cn_node_new(struct event_base *base, const struct cn_node_config *cfg,
			    struct cn_errbuf *e);
void cn_node_free(struct cn_node *n);
/* SIGHUP: re-read the peer list file; a newer valid list takes effect at once. */
int cn_node_reload(struct cn_node *n);

#endif
