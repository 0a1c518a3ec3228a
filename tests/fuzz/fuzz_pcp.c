/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: PCP (RFC 6887) messages as a gateway (or anyone on the LAN)
 * may send them. A response or request that decodes re-encodes without its
 * options to bytes that decode to the same fields; the epoch check runs on
 * every epoch seen.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nat/pcp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Field by field: struct padding is not part of the value. */
static int map_eq(const struct cn_pcp_map *a, const struct cn_pcp_map *b)
{
	return memcmp(a->nonce, b->nonce, sizeof(a->nonce)) == 0 && a->protocol == b->protocol &&
	       a->internal_port == b->internal_port && a->external_port == b->external_port &&
	       memcmp(a->external_ip, b->external_ip, sizeof(a->external_ip)) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[CN_PCP_MSG_MAX];
	struct cn_pcp_response rs, rs2;
	struct cn_pcp_request rq, rq2;
	struct cn_pcp_epoch e = {0};
	size_t len = 0;

	if (cn_pcp_response_decode(data, size, &rs) == 0) {
		if (cn_pcp_response_encode(&rs, out, sizeof(out), &len) != 0 ||
		    cn_pcp_response_decode(out, len, &rs2) != 0)
			abort();
		if (rs.opcode != rs2.opcode || rs.result != rs2.result ||
		    rs.lifetime != rs2.lifetime || rs.epoch != rs2.epoch ||
		    rs.has_map != rs2.has_map || !map_eq(&rs.map, &rs2.map) || rs2.n_options != 0 ||
		    memcmp(out, data, 2) != 0)
			abort();
		(void)cn_pcp_epoch_update(&e, rs.epoch, 10);
		(void)cn_pcp_epoch_update(&e, rs.epoch ^ 0x5a5a, rs.epoch);
	}
	if (cn_pcp_request_decode(data, size, &rq) == 0) {
		if (cn_pcp_request_encode(&rq, out, sizeof(out), &len) != 0 ||
		    len != CN_PCP_MAP_MSG_LEN || cn_pcp_request_decode(out, len, &rq2) != 0)
			abort();
		if (rq.lifetime != rq2.lifetime || !map_eq(&rq.map, &rq2.map) ||
		    memcmp(rq.client_ip, rq2.client_ip, 16) != 0)
			abort();
	}
	return 0;
}
