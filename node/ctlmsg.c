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

int cn_ctl_decode(const uint8_t *buf, size_t len, struct cn_ctl_msg *m)
{
	struct cn_rd r;
	uint8_t path;

	*m = (struct cn_ctl_msg){0};
	if (len < 1)
		return -CN_ESHORT;
	if (len > CN_CTL_MSG_MAX)
		return -CN_ETOOBIG;
	cn_rd_init(&r, buf, len);
	m->type = (enum cn_ctl_type)cn_rd_u8(&r);
	switch (m->type) {
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
	switch (m->type) {
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
	default:
		return -CN_EINVAL;
	}
	if (!cn_wr_ok(&w))
		return -CN_ETOOBIG;
	*out_len = w.len;
	return 0;
}
