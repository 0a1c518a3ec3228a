/* SPDX-License-Identifier: MIT */
/*
 * PCP (RFC 6887) codec and epoch check; layout in pcp.h.
 */
#include "nat/pcp.h"

#include "common/bytes.h"

enum {
	R_BIT = 0x80,
	OPT_HDR_LEN = 4,
};

static void write_map(struct cn_wr *w, const struct cn_pcp_map *m)
{
	static const uint8_t zero[3];

	cn_wr_bytes(w, m->nonce, sizeof(m->nonce));
	cn_wr_u8(w, m->protocol);
	cn_wr_bytes(w, zero, sizeof(zero));
	cn_wr_u16be(w, m->internal_port);
	cn_wr_u16be(w, m->external_port);
	cn_wr_bytes(w, m->external_ip, sizeof(m->external_ip));
}

static void read_map(struct cn_rd *r, struct cn_pcp_map *m)
{
	cn_rd_bytes(r, m->nonce, sizeof(m->nonce));
	m->protocol = cn_rd_u8(r);
	cn_rd_take(r, 3); /* reserved: ignored on receipt (RFC 6887 11.1) */
	m->internal_port = cn_rd_u16be(r);
	m->external_port = cn_rd_u16be(r);
	cn_rd_bytes(r, m->external_ip, sizeof(m->external_ip));
}

/*
 * Options fill the rest of the message exactly: each is a 4-byte header and
 * its data padded to 4 bytes (RFC 6887 7.3). Returns 0 or -CN_EFORMAT.
 */
static int skip_options(struct cn_rd *r, unsigned *count)
{
	*count = 0;
	while (cn_rd_left(r) > 0) {
		uint16_t n;
		size_t padded;

		if (cn_rd_left(r) < OPT_HDR_LEN)
			return -CN_EFORMAT;
		cn_rd_u8(r); /* code */
		cn_rd_u8(r); /* reserved */
		n = cn_rd_u16be(r);
		padded = ((size_t)n + 3) & ~(size_t)3;
		if (cn_rd_left(r) < padded)
			return -CN_EFORMAT;
		cn_rd_take(r, padded);
		(*count)++;
	}
	return 0;
}

/* Length rules shared by every PCP message. */
static int check_len(size_t len)
{
	if (len < CN_PCP_HDR_LEN)
		return -CN_ESHORT;
	if (len > CN_PCP_MSG_MAX)
		return -CN_ETOOBIG;
	if (len % 4)
		return -CN_EFORMAT;
	return 0;
}

int cn_pcp_request_encode(const struct cn_pcp_request *rq, uint8_t *out, size_t cap,
			  size_t *out_len)
{
	struct cn_wr w;

	*out_len = 0;
	if (rq->opcode != CN_PCP_OP_MAP || rq->map.protocol == 0 || rq->map.internal_port == 0)
		return -CN_EINVAL;
	cn_wr_init(&w, out, cap);
	cn_wr_u8(&w, CN_PCP_VERSION);
	cn_wr_u8(&w, (uint8_t)rq->opcode);
	cn_wr_u16be(&w, 0);
	cn_wr_u32be(&w, rq->lifetime);
	cn_wr_bytes(&w, rq->client_ip, sizeof(rq->client_ip));
	write_map(&w, &rq->map);
	if (!cn_wr_ok(&w))
		return -CN_ETOOBIG;
	*out_len = w.len;
	return 0;
}

int cn_pcp_request_decode(const uint8_t *buf, size_t len, struct cn_pcp_request *rq)
{
	struct cn_rd r;
	uint8_t op;
	int ret;

	*rq = (struct cn_pcp_request){0};
	ret = check_len(len);
	if (ret)
		return ret;
	cn_rd_init(&r, buf, len);
	if (cn_rd_u8(&r) != CN_PCP_VERSION)
		return -CN_EFORMAT;
	op = cn_rd_u8(&r);
	if (op != CN_PCP_OP_MAP) /* R bit set, ANNOUNCE or another opcode */
		return -CN_EFORMAT;
	rq->opcode = CN_PCP_OP_MAP;
	cn_rd_u16be(&r);
	rq->lifetime = cn_rd_u32be(&r);
	cn_rd_bytes(&r, rq->client_ip, sizeof(rq->client_ip));
	if (cn_rd_left(&r) < CN_PCP_MAP_LEN)
		return -CN_ESHORT;
	read_map(&r, &rq->map);
	if (rq->map.protocol == 0 || rq->map.internal_port == 0)
		return -CN_EFORMAT;
	return skip_options(&r, &rq->n_options);
}

int cn_pcp_response_encode(const struct cn_pcp_response *rs, uint8_t *out, size_t cap,
			   size_t *out_len)
{
	static const uint8_t zero[12];
	struct cn_wr w;

	*out_len = 0;
	if (rs->opcode != CN_PCP_OP_MAP && rs->opcode != CN_PCP_OP_ANNOUNCE)
		return -CN_EINVAL;
	if (rs->opcode == CN_PCP_OP_MAP && rs->result == CN_PCP_SUCCESS && !rs->has_map)
		return -CN_EINVAL;
	if (rs->opcode == CN_PCP_OP_ANNOUNCE && rs->has_map)
		return -CN_EINVAL;
	cn_wr_init(&w, out, cap);
	cn_wr_u8(&w, CN_PCP_VERSION);
	cn_wr_u8(&w, (uint8_t)(R_BIT | rs->opcode));
	cn_wr_u8(&w, 0);
	cn_wr_u8(&w, rs->result);
	cn_wr_u32be(&w, rs->lifetime);
	cn_wr_u32be(&w, rs->epoch);
	cn_wr_bytes(&w, zero, sizeof(zero));
	if (rs->has_map)
		write_map(&w, &rs->map);
	if (!cn_wr_ok(&w))
		return -CN_ETOOBIG;
	*out_len = w.len;
	return 0;
}

int cn_pcp_response_decode(const uint8_t *buf, size_t len, struct cn_pcp_response *rs)
{
	struct cn_rd r;
	uint8_t op;
	int ret;

	*rs = (struct cn_pcp_response){0};
	ret = check_len(len);
	if (ret)
		return ret;
	cn_rd_init(&r, buf, len);
	if (cn_rd_u8(&r) != CN_PCP_VERSION)
		return -CN_EFORMAT;
	op = cn_rd_u8(&r);
	if (!(op & R_BIT))
		return -CN_EFORMAT;
	op &= (uint8_t)~R_BIT;
	if (op != CN_PCP_OP_MAP && op != CN_PCP_OP_ANNOUNCE)
		return -CN_EFORMAT;
	rs->opcode = (enum cn_pcp_opcode)op;
	cn_rd_u8(&r); /* reserved */
	rs->result = cn_rd_u8(&r);
	rs->lifetime = cn_rd_u32be(&r);
	rs->epoch = cn_rd_u32be(&r);
	cn_rd_take(&r, 12);
	if (rs->opcode == CN_PCP_OP_MAP) {
		/* A server answering an error may not echo the body (RFC 6887
		 * 7.2: it copies what it can); a success must carry it. */
		if (cn_rd_left(&r) >= CN_PCP_MAP_LEN) {
			read_map(&r, &rs->map);
			rs->has_map = true;
		} else if (rs->result == CN_PCP_SUCCESS) {
			return -CN_ESHORT;
		}
	}
	if (rs->opcode == CN_PCP_OP_MAP && !rs->has_map && cn_rd_left(&r))
		return -CN_EFORMAT; /* some bytes, but not a body */
	ret = skip_options(&r, &rs->n_options);
	if (ret)
		return ret;
	if (rs->opcode == CN_PCP_OP_MAP && rs->result == CN_PCP_SUCCESS &&
	    (rs->map.protocol == 0 || rs->map.internal_port == 0))
		return -CN_EFORMAT;
	return 0;
}

void cn_pcp_addr_from_v4(uint8_t out[static 16], const uint8_t v4[static 4])
{
	memset(out, 0, 10);
	out[10] = 0xff;
	out[11] = 0xff;
	memcpy(out + 12, v4, 4);
}

bool cn_pcp_addr_to_v4(const uint8_t a[static 16], uint8_t out[static 4])
{
	static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	if (memcmp(a, prefix, sizeof(prefix)) != 0)
		return false;
	memcpy(out, a + 12, 4);
	return true;
}

bool cn_pcp_epoch_update(struct cn_pcp_epoch *e, uint32_t server, uint64_t now_s)
{
	bool ok = true;

	if (e->valid) {
		int64_t cd = (int64_t)(now_s - e->client_s);
		int64_t sd = (int64_t)server - (int64_t)e->server;

		/* Back by more than a second: the server restarted. Back by up
		 * to a second is network delay (the deltas below still apply). */
		if (sd < -1)
			ok = false;
		else if (cd + 2 < sd - sd / 16 || sd + 2 < cd - cd / 16)
			ok = false;
	}
	e->valid = true;
	e->server = server;
	e->client_s = now_s;
	return ok;
}
