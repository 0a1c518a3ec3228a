/* SPDX-License-Identifier: MIT */
/*
 * Whether a signed list may replace the one held (peerlist.h,
 * cn_peerlist_load_update): one rule for the node and the relay, whatever
 * brought the list. Pure: the caller supplies the wall-clock time.
 */
#include "crypto/peerlist.h"

#include <string.h>

#include "common/err.h"

int cn_peerlist_load_update(const uint8_t *buf, size_t len,
			    const uint8_t root_pk[static CN_KEY_LEN],
			    const struct cn_peerlist *held, int64_t now, struct cn_peerlist **out,
			    struct cn_errbuf *e)
{
	struct cn_peerlist *pl = NULL;
	int ret;

	*out = NULL;
	ret = cn_peerlist_load(buf, len, root_pk, held ? held->serial : 0, now, &pl, e);
	if (ret)
		return ret;
	if (held && strcmp(pl->network, held->network) != 0) {
		cn_errbuf_set(e, "network '%s' is not this network '%s'", pl->network,
			      held->network);
		cn_peerlist_free(pl);
		return -CN_EFORMAT;
	}
	if (held && pl->serial == held->serial) {
		cn_peerlist_free(pl);
		return 0;
	}
	*out = pl;
	return 0;
}
