/* SPDX-License-Identifier: MIT */
/*
 * cairn-node --check: the start-up checks of cn_node_new that touch only
 * files (key, peer lists), without opening the TUN device or sockets.
 * Applies the same rule for which list is in force (the newer of the
 * configured file and the state directory's copy, both verified).
 */
#include "node/node_check.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/file.h"
#include "crypto/keys.h"
#include "crypto/peerlist.h"
#include "node/node_config.h"

/* The state directory's copy; node.c keeps it under the same name. */
#define STATE_LIST_FILE "peers.conf"

static int load(const struct cn_node_config *cfg, const char *path, struct cn_peerlist **out,
		struct cn_errbuf *e)
{
	struct cn_errbuf pe = {{0}};
	char *text = NULL;
	size_t len = 0;
	int ret;

	*out = NULL;
	ret = cn_file_read(path, CN_PEERLIST_MAX_BYTES, &text, &len, &pe);
	if (ret == 0)
		ret = cn_peerlist_load((const uint8_t *)text, len, cfg->root_key, 0,
				       (int64_t)time(NULL), out, &pe);
	free(text);
	if (ret)
		cn_errbuf_set(e, "%s: %s", path, pe.msg);
	return ret;
}

int cn_node_check(const struct cn_node_config *cfg, char *summary, size_t cap, struct cn_errbuf *e)
{
	struct cn_identity *id = NULL;
	struct cn_peerlist *pl = NULL, *state = NULL;
	struct cn_errbuf se = {{0}};
	const struct cn_pl_peer *self;
	char path[CN_NODE_PATH_MAX + 16], fpr[CN_KEY_FPR_LEN + 1];
	int ret;

	summary[0] = '\0';
	ret = cn_keyfile_read(cfg->identity_key, &id, e);
	if (ret)
		goto out;
	ret = load(cfg, cfg->peer_list, &pl, e);
	snprintf(path, sizeof(path), "%s/%s", cfg->state_dir, STATE_LIST_FILE);
	if (load(cfg, path, &state, &se) == 0 && (!pl || state->serial > pl->serial) &&
	    (!pl || strcmp(state->network, pl->network) == 0)) {
		cn_peerlist_free(pl);
		pl = state;
		state = NULL;
		ret = 0;
	}
	if (ret)
		goto out;
	self = cn_peerlist_find_key(pl, id->ed_pk);
	if (!self) {
		cn_key_fingerprint(id->ed_pk, fpr);
		cn_errbuf_set(e,
			      "this node's key %s... is not in the peer list (serial %" PRId64
			      "); add it with 'cairn invite' or 'cairn peers add'",
			      fpr, pl->serial);
		ret = -CN_EUNKNOWN;
		goto out;
	}
	snprintf(summary, cap, "node %s of network %s, peer list serial %" PRId64 " (%zu peers)",
		 self->name, pl->network, pl->serial, pl->npeers);
out:
	cn_identity_free(id);
	cn_peerlist_free(pl);
	cn_peerlist_free(state);
	return ret;
}
