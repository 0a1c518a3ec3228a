/* SPDX-License-Identifier: MIT */
/*
 * Relay link message codec and TCP framing; see link.h for the layout.
 * Every field is read through a bounds-checked cursor; lengths are checked
 * per type before anything is trusted.
 */
#include "relay/link.h"

#include <string.h>

#include "common/bytes.h"

_Static_assert(CN_LINK_PACKET_MAX == 65470, "link packet cap");
_Static_assert(CN_LINK_MSG_MAX + 32 <= CN_TCP_FRAME_MAX, "link message fits a TCP frame");
_Static_assert(CN_LINK_TOKEN_LEN == 8, "a path challenge is as long as a PING's nonce");

int cn_link_decode(const uint8_t *buf, size_t len, struct cn_link_msg *m)
{
	struct cn_rd r;

	memset(m, 0, sizeof(*m));
	if (len < 1)
		return -CN_ESHORT;
	if (len > CN_LINK_MSG_MAX)
		return -CN_ETOOBIG;
	cn_rd_init(&r, buf, len);
	m->type = (enum cn_link_type)cn_rd_u8(&r);
	switch (m->type) {
	case CN_LINK_SEND:
	case CN_LINK_RECV:
		m->key = cn_rd_take(&r, CN_LINK_KEY_LEN);
		if (!m->key)
			return -CN_ESHORT;
		m->data_len = cn_rd_left(&r);
		m->data = cn_rd_take(&r, m->data_len);
		if (m->data_len == 0)
			return -CN_EFORMAT;
		break;
	case CN_LINK_NOT_HERE:
		m->key = cn_rd_take(&r, CN_LINK_KEY_LEN);
		break;
	case CN_LINK_PRESENCE:
		m->key = cn_rd_take(&r, CN_LINK_KEY_LEN);
		m->flag = cn_rd_u8(&r);
		if (cn_rd_ok(&r) && m->flag > 1)
			return -CN_EFORMAT;
		break;
	case CN_LINK_WATCH:
		m->flag = cn_rd_u8(&r);
		if (cn_rd_ok(&r) && m->flag > 1)
			return -CN_EFORMAT;
		break;
	case CN_LINK_LIST_CHUNK:
		m->serial = cn_rd_u64be(&r);
		m->total = cn_rd_u32be(&r);
		m->offset = cn_rd_u32be(&r);
		if (!cn_rd_ok(&r))
			return -CN_ESHORT;
		m->data_len = cn_rd_left(&r);
		m->data = cn_rd_take(&r, m->data_len);
		if (m->data_len == 0 || m->data_len > CN_LINK_CHUNK_DATA_MAX ||
		    m->offset >= m->total || m->data_len > m->total - m->offset)
			return -CN_EFORMAT;
		break;
	case CN_LINK_LIST_RESULT:
		m->serial = cn_rd_u64be(&r);
		m->flag = cn_rd_u8(&r);
		if (cn_rd_ok(&r) && m->flag > CN_LINK_LIST_TOOBIG)
			return -CN_EFORMAT;
		break;
	case CN_LINK_PING:
	case CN_LINK_PONG:
		m->nonce = cn_rd_u64be(&r);
		break;
	case CN_LINK_HAVE_LIST:
		m->serial = cn_rd_u64be(&r);
		break;
	case CN_LINK_BYE:
		break;
	case CN_LINK_PATH_CHALLENGE:
	case CN_LINK_PATH_RESPONSE:
		m->token = cn_rd_take(&r, CN_LINK_TOKEN_LEN);
		break;
	default:
		return -CN_EFORMAT;
	}
	if (!cn_rd_ok(&r))
		return -CN_ESHORT;
	if (cn_rd_left(&r) != 0)
		return -CN_EFORMAT;
	return 0;
}

int cn_link_encode(const struct cn_link_msg *m, uint8_t *out, size_t cap, size_t *out_len)
{
	struct cn_wr w;

	*out_len = 0;
	cn_wr_init(&w, out, cap);
	cn_wr_u8(&w, (uint8_t)m->type);
	switch (m->type) {
	case CN_LINK_SEND:
	case CN_LINK_RECV:
		if (!m->key || m->data_len == 0 || m->data_len > CN_LINK_PACKET_MAX)
			return m->data_len > CN_LINK_PACKET_MAX ? -CN_ETOOBIG : -CN_EINVAL;
		cn_wr_bytes(&w, m->key, CN_LINK_KEY_LEN);
		cn_wr_bytes(&w, m->data, m->data_len);
		break;
	case CN_LINK_NOT_HERE:
		if (!m->key)
			return -CN_EINVAL;
		cn_wr_bytes(&w, m->key, CN_LINK_KEY_LEN);
		break;
	case CN_LINK_PRESENCE:
		if (!m->key || m->flag > 1)
			return -CN_EINVAL;
		cn_wr_bytes(&w, m->key, CN_LINK_KEY_LEN);
		cn_wr_u8(&w, m->flag);
		break;
	case CN_LINK_WATCH:
		if (m->flag > 1)
			return -CN_EINVAL;
		cn_wr_u8(&w, m->flag);
		break;
	case CN_LINK_LIST_CHUNK:
		if (m->data_len == 0 || m->data_len > CN_LINK_CHUNK_DATA_MAX ||
		    m->offset >= m->total || m->data_len > m->total - m->offset)
			return -CN_EINVAL;
		cn_wr_u64be(&w, m->serial);
		cn_wr_u32be(&w, m->total);
		cn_wr_u32be(&w, m->offset);
		cn_wr_bytes(&w, m->data, m->data_len);
		break;
	case CN_LINK_LIST_RESULT:
		if (m->flag > CN_LINK_LIST_TOOBIG)
			return -CN_EINVAL;
		cn_wr_u64be(&w, m->serial);
		cn_wr_u8(&w, m->flag);
		break;
	case CN_LINK_PING:
	case CN_LINK_PONG:
		cn_wr_u64be(&w, m->nonce);
		break;
	case CN_LINK_HAVE_LIST:
		cn_wr_u64be(&w, m->serial);
		break;
	case CN_LINK_BYE:
		break;
	case CN_LINK_PATH_CHALLENGE:
	case CN_LINK_PATH_RESPONSE:
		if (!m->token)
			return -CN_EINVAL;
		cn_wr_bytes(&w, m->token, CN_LINK_TOKEN_LEN);
		break;
	default:
		return -CN_EINVAL;
	}
	if (!cn_wr_ok(&w))
		return -CN_ETOOBIG;
	*out_len = w.len;
	return 0;
}

int cn_tcp_frame_next(const uint8_t *buf, size_t len, size_t max, const uint8_t **msg,
		      size_t *msg_len, size_t *consumed)
{
	size_t n;

	*msg = NULL;
	*msg_len = 0;
	*consumed = 0;
	if (len < CN_TCP_FRAME_HDR)
		return -CN_ESHORT;
	n = ((size_t)buf[0] << 8) | buf[1];
	if (n == 0)
		return -CN_EFORMAT;
	if (n > max)
		return -CN_ETOOBIG;
	if (len - CN_TCP_FRAME_HDR < n)
		return -CN_ESHORT;
	*msg = buf + CN_TCP_FRAME_HDR;
	*msg_len = n;
	*consumed = CN_TCP_FRAME_HDR + n;
	return 0;
}

int cn_tcp_frame_header(size_t len, uint8_t hdr[static CN_TCP_FRAME_HDR])
{
	if (len == 0 || len > CN_TCP_FRAME_MAX)
		return -CN_EINVAL;
	hdr[0] = (uint8_t)(len >> 8);
	hdr[1] = (uint8_t)len;
	return 0;
}
