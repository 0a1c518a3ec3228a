/* SPDX-License-Identifier: MIT */
/*
 * Node-to-node control message codec; layout in ctlmsg.h.
 */
#include "node/ctlmsg.h"

#include "common/bytes.h"

/* SDP text from libnice: printable ASCII plus line breaks. */
static int sdp_valid(const uint8_t *p, size_t n)
{
	if (n == 0 || n > CN_CTL_SDP_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((p[i] < 0x20 || p[i] > 0x7e) && p[i] != '\n' && p[i] != '\r')
			return 0;
	return 1;
}

/* A unicast host address: not unspecified, not multicast (v4 224/4, v6 ff00::/8). */
static int addr_valid(const uint8_t *a, size_t n)
{
	size_t i;

	if (n != 4 && n != 16)
		return 0;
	for (i = 0; i < n && a[i] == 0; i++)
		;
	if (i == n)
		return 0;
	if (n == 4)
		return (a[0] & 0xf0) != 0xe0;
	return a[0] != 0xff;
}

/* The trailing family (4 or 6) and address of CANDIDATE and BDAY_HARD:
 * the address must end the message exactly. */
static int read_addr(struct cn_rd *r, struct cn_ctl_msg *m)
{
	uint8_t fam = cn_rd_u8(r);
	size_t n = fam == 4 ? 4 : 16;

	if (!cn_rd_ok(r))
		return -CN_ESHORT;
	if (fam != 4 && fam != 6)
		return -CN_EFORMAT;
	if (!cn_rd_bytes(r, m->addr, n))
		return -CN_ESHORT;
	if (cn_rd_left(r))
		return -CN_EFORMAT;
	m->addr_len = (uint8_t)n;
	return addr_valid(m->addr, n) ? 0 : -CN_EFORMAT;
}

static void write_addr(struct cn_wr *w, const struct cn_ctl_msg *m)
{
	cn_wr_u8(w, m->addr_len == 4 ? 4 : 6);
	cn_wr_bytes(w, m->addr, m->addr_len);
}

static int bday_hard_valid(const struct cn_ctl_msg *m)
{
	return m->token != 0 && m->sockets >= 1 && m->sockets <= CN_CTL_BDAY_SOCKETS_MAX &&
	       m->port_lo >= 1 && m->port_lo <= m->port_hi && m->rate >= 1 &&
	       m->rate <= CN_CTL_BDAY_RATE_MAX && m->duration_ms >= 1 &&
	       m->duration_ms <= CN_CTL_BDAY_DURATION_MAX;
}

int cn_ctl_decode(const uint8_t *buf, size_t len, struct cn_ctl_msg *m)
{
	struct cn_rd r;
	uint8_t path, t;

	*m = (struct cn_ctl_msg){0};
	if (len < 1)
		return -CN_ESHORT;
	if (len > CN_CTL_MSG_MAX)
		return -CN_ETOOBIG;
	cn_rd_init(&r, buf, len);
	t = cn_rd_u8(&r);
	m->type = (enum cn_ctl_type)t;
	switch (t) {
	case CN_CTL_ICE_SDP:
		m->gen = cn_rd_u32be(&r);
		m->seen = cn_rd_u32be(&r);
		if (!cn_rd_ok(&r))
			return -CN_ESHORT;
		m->sdp_len = cn_rd_left(&r);
		m->sdp = (const char *)cn_rd_take(&r, m->sdp_len);
		if (m->gen == 0 || !sdp_valid((const uint8_t *)m->sdp, m->sdp_len))
			return -CN_EFORMAT;
		break;
	case CN_CTL_PROBE:
		m->id = cn_rd_u64be(&r);
		break;
	case CN_CTL_PROBE_REPLY:
		m->id = cn_rd_u64be(&r);
		path = cn_rd_u8(&r);
		if (cn_rd_ok(&r) && path > CN_CTL_PATH_TURN)
			return -CN_EFORMAT;
		m->path = (enum cn_ctl_path)path;
		break;
	case CN_CTL_ICE_DONE:
		m->gen = cn_rd_u32be(&r);
		if (cn_rd_ok(&r) && m->gen == 0)
			return -CN_EFORMAT;
		break;
	case CN_CTL_CANDIDATE: {
		uint8_t kind = cn_rd_u8(&r);
		int ret;

		m->port = cn_rd_u16be(&r);
		ret = read_addr(&r, m);
		if (ret)
			return ret;
		if (kind < CN_CTL_CAND_PCP || kind > CN_CTL_CAND_MAX_ || m->port == 0)
			return -CN_EFORMAT;
		m->cand = (enum cn_ctl_cand)kind;
		break;
	}
	case CN_CTL_BDAY_HARD: {
		int ret;

		m->token = cn_rd_u64be(&r);
		m->sockets = cn_rd_u16be(&r);
		m->port_lo = cn_rd_u16be(&r);
		m->port_hi = cn_rd_u16be(&r);
		m->rate = cn_rd_u16be(&r);
		m->duration_ms = cn_rd_u32be(&r);
		ret = read_addr(&r, m);
		if (ret)
			return ret;
		if (!bday_hard_valid(m))
			return -CN_EFORMAT;
		break;
	}
	case CN_CTL_BDAY_PROBE:
	case CN_CTL_BDAY_ACK:
		m->token = cn_rd_u64be(&r);
		m->seq = cn_rd_u32be(&r);
		m->port = cn_rd_u16be(&r);
		if (cn_rd_ok(&r) && (m->token == 0 || m->port == 0))
			return -CN_EFORMAT;
		break;
	case CN_CTL_PMTU_PROBE:
		m->pmtu_id = cn_rd_u32be(&r);
		m->size = cn_rd_u16be(&r);
		if (!cn_rd_ok(&r))
			return -CN_ESHORT;
		if (m->size != len)
			return -CN_EFORMAT;
		/* The padding is zeros: a probe carries nothing else. */
		while (cn_rd_left(&r))
			if (cn_rd_u8(&r) != 0)
				return -CN_EFORMAT;
		break;
	case CN_CTL_PMTU_ACK:
		m->pmtu_id = cn_rd_u32be(&r);
		m->size = cn_rd_u16be(&r);
		if (cn_rd_ok(&r) && (m->size < CN_CTL_PMTU_MIN || m->size > CN_CTL_MSG_MAX))
			return -CN_EFORMAT;
		break;
	default:
		return -CN_EFORMAT;
	}
	if (!cn_rd_ok(&r))
		return -CN_ESHORT;
	if (cn_rd_left(&r))
		return -CN_EFORMAT;
	return 0;
}

int cn_ctl_encode(const struct cn_ctl_msg *m, uint8_t *out, size_t cap, size_t *out_len)
{
	struct cn_wr w;

	*out_len = 0;
	cn_wr_init(&w, out, cap);
	cn_wr_u8(&w, (uint8_t)m->type);
	switch ((int)m->type) {
	case CN_CTL_ICE_SDP:
		if (m->gen == 0 || !m->sdp || !sdp_valid((const uint8_t *)m->sdp, m->sdp_len))
			return -CN_EINVAL;
		cn_wr_u32be(&w, m->gen);
		cn_wr_u32be(&w, m->seen);
		cn_wr_bytes(&w, m->sdp, m->sdp_len);
		break;
	case CN_CTL_PROBE:
		cn_wr_u64be(&w, m->id);
		break;
	case CN_CTL_PROBE_REPLY:
		if (m->path > CN_CTL_PATH_TURN)
			return -CN_EINVAL;
		cn_wr_u64be(&w, m->id);
		cn_wr_u8(&w, (uint8_t)m->path);
		break;
	case CN_CTL_ICE_DONE:
		if (m->gen == 0)
			return -CN_EINVAL;
		cn_wr_u32be(&w, m->gen);
		break;
	case CN_CTL_CANDIDATE:
		if (m->cand < CN_CTL_CAND_PCP || m->cand > CN_CTL_CAND_MAX_ || m->port == 0 ||
		    !addr_valid(m->addr, m->addr_len))
			return -CN_EINVAL;
		cn_wr_u8(&w, (uint8_t)m->cand);
		cn_wr_u16be(&w, m->port);
		write_addr(&w, m);
		break;
	case CN_CTL_BDAY_HARD:
		if (!bday_hard_valid(m) || !addr_valid(m->addr, m->addr_len))
			return -CN_EINVAL;
		cn_wr_u64be(&w, m->token);
		cn_wr_u16be(&w, m->sockets);
		cn_wr_u16be(&w, m->port_lo);
		cn_wr_u16be(&w, m->port_hi);
		cn_wr_u16be(&w, m->rate);
		cn_wr_u32be(&w, m->duration_ms);
		write_addr(&w, m);
		break;
	case CN_CTL_BDAY_PROBE:
	case CN_CTL_BDAY_ACK:
		if (m->token == 0 || m->port == 0)
			return -CN_EINVAL;
		cn_wr_u64be(&w, m->token);
		cn_wr_u32be(&w, m->seq);
		cn_wr_u16be(&w, m->port);
		break;
	case CN_CTL_PMTU_PROBE: {
		uint8_t *pad;

		if (m->size < CN_CTL_PMTU_MIN || m->size > CN_CTL_MSG_MAX)
			return -CN_EINVAL;
		cn_wr_u32be(&w, m->pmtu_id);
		cn_wr_u16be(&w, m->size);
		pad = cn_wr_take(&w, (size_t)m->size - CN_CTL_PMTU_MIN);
		if (pad)
			memset(pad, 0, (size_t)m->size - CN_CTL_PMTU_MIN);
		break;
	}
	case CN_CTL_PMTU_ACK:
		if (m->size < CN_CTL_PMTU_MIN || m->size > CN_CTL_MSG_MAX)
			return -CN_EINVAL;
		cn_wr_u32be(&w, m->pmtu_id);
		cn_wr_u16be(&w, m->size);
		break;
	default:
		return -CN_EINVAL;
	}
	if (!cn_wr_ok(&w))
		return -CN_ETOOBIG;
	*out_len = w.len;
	return 0;
}
