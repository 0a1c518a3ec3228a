/* SPDX-License-Identifier: MIT */
/*
 * Peer list reassembly from LIST_CHUNKs (listrx.h). The link decoder
 * already refuses chunks past their total; the checks are repeated here so
 * this file is safe on its own.
 */
#include "node/listrx.h"

#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "crypto/peerlist.h"

int cn_listrx_add(struct cn_listrx *rx, uint64_t serial, uint32_t total, uint32_t offset,
		  const uint8_t *data, size_t len)
{
	if (len == 0)
		return 0;
	if (total > CN_PEERLIST_MAX_BYTES || offset > total || len > total - offset)
		return -CN_ETOOBIG;
	if (offset == 0) {
		uint8_t *nb = realloc(rx->buf, total);

		if (!nb)
			return -CN_ENOMEM;
		rx->buf = nb;
		rx->serial = serial;
		rx->total = total;
		rx->got = 0;
	}
	if (!rx->buf || serial != rx->serial || total != rx->total || offset != rx->got ||
	    rx->got == rx->total)
		return 0;
	memcpy(rx->buf + rx->got, data, len);
	rx->got += (uint32_t)len;
	return rx->got == rx->total;
}

uint8_t *cn_listrx_take(struct cn_listrx *rx, size_t *len)
{
	uint8_t *b = NULL;

	*len = 0;
	if (rx->buf && rx->got == rx->total) {
		b = rx->buf;
		*len = rx->total;
		rx->buf = NULL;
	}
	cn_listrx_wipe(rx);
	return b;
}

void cn_listrx_wipe(struct cn_listrx *rx)
{
	free(rx->buf);
	memset(rx, 0, sizeof(*rx));
}
