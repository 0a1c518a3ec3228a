/* SPDX-License-Identifier: MIT */
/*
 * cairn-node --check (node_check.c): what the node verifies at start that
 * needs no network and no privileges, so a package, a unit's ExecStartPre
 * or an admin can test a configuration before starting the node.
 */
#ifndef CN_NODE_NODE_CHECK_H
#define CN_NODE_NODE_CHECK_H

#include <stddef.h>

#include "common/err.h"

struct cn_node_config;

/*
 * The identity key reads (mode 0600 enforced by the key file reader); the
 * newer of peer_list and state_dir/peers.conf (the copy a running node
 * keeps; a missing one is fine) verifies against root_key and has not
 * expired; this node's key is in it. On success summary gets one line
 * (node name, network, serial). Returns 0 or a -CN_E* with e set.
 */
int cn_node_check(const struct cn_node_config *cfg, char *summary, size_t cap, struct cn_errbuf *e);

#endif
