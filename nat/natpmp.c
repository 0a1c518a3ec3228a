/* SPDX-License-Identifier: MIT */
/*
 * NAT-PMP (RFC 6886) codec; layout in natpmp.h.
 */
#include "nat/natpmp.h"

#include "common/bytes.h"

static bool opcode_known(unsigned op)
{
	return op == CN_NATPMP_OP_ADDR || op == CN_NATPMP_OP_MAP_UDP || op == CN_NATPMP_OP_MAP_TCP;
}

static size_t full_len(enum cn_natpmp_opcode op)
{
	return op == CN_NATPMP_OP_ADDR ? CN_NATPMP_ADDR_RESP_LEN : CN_NATPMP_MAP_RESP_LEN;
}

int cn_natpmp_request_encode(const struct cn_natpmp_request *rq, uint8_t *out, size_t cap,
			     size_t *out_len)
{
	struct cn_wr w;

	*out_len = 0;
	if (!opcode_known(rq->opcode))
		return -CN_EINVAL;
	if (rq->opcode != CN_NATPMP_OP_ADDR && rq->internal_port == 0)
		return -CN_EINVAL;
	cn_wr_init(&w, out, cap);
	cn_wr_u8(&w, CN_NATPMP_VERSION);
	cn_wr_u8(&w, (uint8_t)rq->opcode);
	if (rq->opcode != CN_NATPMP_OP_ADDR) {
		cn_wr_u16be(&w, 0);
		cn_wr_u16be(&w, rq->internal_port);
		cn_wr_u16be(&w, rq->suggested_port);
		cn_wr_u32be(&w, rq->lifetime);
	}
	if (!cn_wr_ok(&w))
		return -CN_ETOOBIG;
	*out_len = w.len;
	return 0;
}

int cn_natpmp_request_decode(const uint8_t *buf, size_t len, struct cn_natpmp_request *rq)
{
	struct cn_rd r;
	uint8_t op;

	*rq = (struct cn_natpmp_request){0};
	if (len < CN_NATPMP_ADDR_REQ_LEN)
		return -CN_ESHORT;
	cn_rd_init(&r, buf, len);
	if (cn_rd_u8(&r) != CN_NATPMP_VERSION)
		return -CN_EFORMAT;
	op = cn_rd_u8(&r);
	if (!opcode_known(op))
		return -CN_EFORMAT;
	rq->opcode = (enum cn_natpmp_opcode)op;
	if (op == CN_NATPMP_OP_ADDR)
		return len == CN_NATPMP_ADDR_REQ_LEN ? 0 : -CN_EFORMAT;
	if (len < CN_NATPMP_MAP_REQ_LEN)
		return -CN_ESHORT;
	if (len > CN_NATPMP_MAP_REQ_LEN)
		return -CN_EFORMAT;
	if (cn_rd_u16be(&r) != 0)
		return -CN_EFORMAT;
	rq->internal_port = cn_rd_u16be(&r);
	rq->suggested_port = cn_rd_u16be(&r);
	rq->lifetime = cn_rd_u32be(&r);
	if (rq->internal_port == 0)
		return -CN_EFORMAT;
	return cn_rd_ok(&r) ? 0 : -CN_ESHORT;
}

int cn_natpmp_response_encode(const struct cn_natpmp_response *rs, uint8_t *out, size_t cap,
			      size_t *out_len)
{
	struct cn_wr w;

	*out_len = 0;
	if (!opcode_known(rs->opcode) || (rs->result == CN_NATPMP_SUCCESS && !rs->full))
		return -CN_EINVAL;
	cn_wr_init(&w, out, cap);
	cn_wr_u8(&w, CN_NATPMP_VERSION);
	cn_wr_u8(&w, (uint8_t)(CN_NATPMP_RESP_BIT | rs->opcode));
	cn_wr_u16be(&w, rs->result);
	cn_wr_u32be(&w, rs->epoch);
	if (rs->full) {
		if (rs->opcode == CN_NATPMP_OP_ADDR) {
			cn_wr_bytes(&w, rs->external_ip, 4);
		} else {
			cn_wr_u16be(&w, rs->internal_port);
			cn_wr_u16be(&w, rs->external_port);
			cn_wr_u32be(&w, rs->lifetime);
		}
	}
	if (!cn_wr_ok(&w))
		return -CN_ETOOBIG;
	*out_len = w.len;
	return 0;
}

int cn_natpmp_response_decode(const uint8_t *buf, size_t len, struct cn_natpmp_response *rs)
{
	struct cn_rd r;
	uint8_t op;

	*rs = (struct cn_natpmp_response){0};
	if (len < CN_NATPMP_ERR_LEN)
		return -CN_ESHORT;
	cn_rd_init(&r, buf, len);
	if (cn_rd_u8(&r) != CN_NATPMP_VERSION)
		return -CN_EFORMAT;
	op = cn_rd_u8(&r);
	if (!(op & CN_NATPMP_RESP_BIT) || !opcode_known(op & ~CN_NATPMP_RESP_BIT))
		return -CN_EFORMAT;
	rs->opcode = (enum cn_natpmp_opcode)(op & ~CN_NATPMP_RESP_BIT);
	rs->result = cn_rd_u16be(&r);
	rs->epoch = cn_rd_u32be(&r);
	if (len == CN_NATPMP_ERR_LEN)
		return rs->result != CN_NATPMP_SUCCESS ? 0 : -CN_ESHORT;
	if (len < full_len(rs->opcode))
		return -CN_ESHORT;
	if (len > full_len(rs->opcode))
		return -CN_EFORMAT;
	rs->full = true;
	if (rs->opcode == CN_NATPMP_OP_ADDR) {
		cn_rd_bytes(&r, rs->external_ip, 4);
	} else {
		rs->internal_port = cn_rd_u16be(&r);
		rs->external_port = cn_rd_u16be(&r);
		rs->lifetime = cn_rd_u32be(&r);
		if (rs->result == CN_NATPMP_SUCCESS && rs->internal_port == 0)
			return -CN_EFORMAT;
	}
	return cn_rd_ok(&r) ? 0 : -CN_ESHORT;
}
