/* SPDX-License-Identifier: MIT */
/*
 * The deploy protocol codec (proto.h). Pure: no sockets, no clock, no logs.
 * Order in every decoder: length caps, fields, trailing bytes.
 */
#include "deploy/proto.h"

#include <string.h>

#include "common/bytes.h"

enum {
	PUSH_MAX = 4 + CN_DEPLOY_MANIFEST_MAX,
	RESULT_MAX = 1 + 1 + 4 + 2 + CN_DPROTO_MSG_MAX + 2 + CN_DPROTO_TAIL_MAX,
	LIST_MAX = 2 + CN_DEPLOY_APP_MAX,
	ROLLBACK_MAX = 3 + CN_DEPLOY_APP_MAX + CN_DEPLOY_VERSION_MAX,
};

static size_t type_cap(uint8_t type)
{
	switch (type) {
	case CN_DPROTO_PUSH:
		return PUSH_MAX;
	case CN_DPROTO_ACCEPT:
		return 8;
	case CN_DPROTO_DATA:
		return CN_DPROTO_DATA_MAX;
	case CN_DPROTO_RESULT:
		return RESULT_MAX;
	case CN_DPROTO_LIST:
		return LIST_MAX;
	case CN_DPROTO_LIST_REPLY:
		return CN_DPROTO_PAYLOAD_MAX;
	case CN_DPROTO_ROLLBACK:
		return ROLLBACK_MAX;
	}
	return 0;
}

int cn_dproto_peek(const uint8_t *buf, size_t len, uint8_t *type, size_t *payload_len)
{
	struct cn_rd r;
	uint32_t n;
	size_t cap;

	*type = 0;
	*payload_len = 0;
	if (len < CN_DPROTO_HDR)
		return -CN_ESHORT;
	cn_rd_init(&r, buf, len);
	*type = cn_rd_u8(&r);
	n = cn_rd_u32be(&r);
	cap = type_cap(*type);
	if (cap == 0)
		return -CN_EFORMAT;
	if (n > cap)
		return -CN_ETOOBIG;
	*payload_len = n;
	return len - CN_DPROTO_HDR >= n ? 0 : -CN_ESHORT;
}

void cn_dproto_header(uint8_t hdr[static CN_DPROTO_HDR], uint8_t type, size_t len)
{
	hdr[0] = type;
	hdr[1] = (uint8_t)(len >> 24);
	hdr[2] = (uint8_t)(len >> 16);
	hdr[3] = (uint8_t)(len >> 8);
	hdr[4] = (uint8_t)len;
}

/* Starts a frame; the caller fixes the length with finish(). */
static void start(struct cn_wr *w, uint8_t *out, size_t cap, uint8_t type)
{
	cn_wr_init(w, out, cap);
	cn_wr_u8(w, type);
	cn_wr_u32be(w, 0);
}

static int finish(struct cn_wr *w, uint8_t *out, size_t *len)
{
	if (!cn_wr_ok(w))
		return -CN_ETOOBIG;
	cn_dproto_header(out, out[0], w->len - CN_DPROTO_HDR);
	*len = w->len;
	return 0;
}

static void wr_str8(struct cn_wr *w, const char *s)
{
	size_t n = strlen(s);

	cn_wr_u8(w, (uint8_t)n);
	cn_wr_bytes(w, s, n);
}

/* A u8-length string of at most max bytes; empty allowed; no NUL inside. */
static bool rd_str8(struct cn_rd *r, char *out, size_t max)
{
	size_t n = cn_rd_u8(r);

	if (!cn_rd_ok(r) || n > max || !cn_rd_bytes(r, out, n))
		return false;
	out[n] = '\0';
	return strlen(out) == n;
}

/* Maps an exhausted reader to -CN_ESHORT, leftovers to -CN_EFORMAT. */
static int rd_end(const struct cn_rd *r)
{
	if (!cn_rd_ok(r))
		return -CN_ESHORT;
	return cn_rd_left(r) ? -CN_EFORMAT : 0;
}

int cn_dproto_push_encode(const struct cn_dproto_push *p, uint8_t *out, size_t cap, size_t *len)
{
	struct cn_wr w;

	*len = 0;
	if (p->manifest_len == 0 || p->manifest_len > CN_DEPLOY_MANIFEST_MAX)
		return -CN_EINVAL;
	start(&w, out, cap, CN_DPROTO_PUSH);
	cn_wr_u8(&w, CN_DPROTO_VERSION);
	cn_wr_u8(&w, p->activate ? 1 : 0);
	cn_wr_u16be(&w, (uint16_t)p->manifest_len);
	cn_wr_bytes(&w, p->manifest, p->manifest_len);
	return finish(&w, out, len);
}

int cn_dproto_push_decode(const uint8_t *p, size_t n, struct cn_dproto_push *out)
{
	struct cn_rd r;
	uint8_t version, flags;
	size_t mlen;
	int ret;

	memset(out, 0, sizeof(*out));
	if (n > PUSH_MAX)
		return -CN_ETOOBIG;
	cn_rd_init(&r, p, n);
	version = cn_rd_u8(&r);
	flags = cn_rd_u8(&r);
	mlen = cn_rd_u16be(&r);
	if (!cn_rd_ok(&r))
		return -CN_ESHORT;
	if (version != CN_DPROTO_VERSION || (flags & ~1u) || mlen == 0 ||
	    mlen > CN_DEPLOY_MANIFEST_MAX)
		return -CN_EFORMAT;
	out->manifest = cn_rd_take(&r, mlen);
	ret = rd_end(&r);
	if (ret) {
		memset(out, 0, sizeof(*out));
		return ret;
	}
	out->manifest_len = mlen;
	out->activate = flags & 1;
	return 0;
}

int cn_dproto_accept_encode(uint64_t offset, uint8_t *out, size_t cap, size_t *len)
{
	struct cn_wr w;

	*len = 0;
	start(&w, out, cap, CN_DPROTO_ACCEPT);
	cn_wr_u64be(&w, offset);
	return finish(&w, out, len);
}

int cn_dproto_accept_decode(const uint8_t *p, size_t n, uint64_t *offset)
{
	struct cn_rd r;
	int ret;

	*offset = 0;
	cn_rd_init(&r, p, n);
	*offset = cn_rd_u64be(&r);
	ret = rd_end(&r);
	if (ret)
		*offset = 0;
	return ret;
}

static bool printable(const char *s)
{
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e)
			return false;
	return true;
}

void cn_dproto_result_set_msg(struct cn_dproto_result *r, const char *msg)
{
	size_t i;

	for (i = 0; msg[i] && i < CN_DPROTO_MSG_MAX; i++)
		r->msg[i] = (msg[i] >= 0x20 && msg[i] <= 0x7e) ? msg[i] : '?';
	r->msg[i] = '\0';
}

int cn_dproto_result_encode(const struct cn_dproto_result *r, uint8_t *out, size_t cap, size_t *len)
{
	struct cn_wr w;
	size_t mlen = strnlen(r->msg, sizeof(r->msg));

	*len = 0;
	if (r->status >= CN_DSTATUS_MAX_ || mlen > CN_DPROTO_MSG_MAX || !printable(r->msg) ||
	    r->tail_len > CN_DPROTO_TAIL_MAX)
		return -CN_EINVAL;
	start(&w, out, cap, CN_DPROTO_RESULT);
	cn_wr_u8(&w, r->status);
	cn_wr_u8(&w, r->hook_ran ? 1 : 0);
	cn_wr_u32be(&w, (uint32_t)r->hook_exit);
	cn_wr_u16be(&w, (uint16_t)mlen);
	cn_wr_bytes(&w, r->msg, mlen);
	cn_wr_u16be(&w, (uint16_t)r->tail_len);
	cn_wr_bytes(&w, r->tail, r->tail_len);
	return finish(&w, out, len);
}

int cn_dproto_result_decode(const uint8_t *p, size_t n, struct cn_dproto_result *out)
{
	struct cn_rd r;
	uint8_t ran;
	size_t mlen, tlen;
	int ret;

	memset(out, 0, sizeof(*out));
	if (n > RESULT_MAX)
		return -CN_ETOOBIG;
	cn_rd_init(&r, p, n);
	out->status = cn_rd_u8(&r);
	ran = cn_rd_u8(&r);
	out->hook_exit = (int32_t)cn_rd_u32be(&r);
	mlen = cn_rd_u16be(&r);
	if (!cn_rd_ok(&r))
		goto short_;
	if (out->status >= CN_DSTATUS_MAX_ || ran > 1 || mlen > CN_DPROTO_MSG_MAX)
		goto bad;
	if (!cn_rd_bytes(&r, out->msg, mlen))
		goto short_;
	out->msg[mlen] = '\0';
	if (strlen(out->msg) != mlen || !printable(out->msg))
		goto bad;
	tlen = cn_rd_u16be(&r);
	if (!cn_rd_ok(&r))
		goto short_;
	if (tlen > CN_DPROTO_TAIL_MAX)
		goto bad;
	if (!cn_rd_bytes(&r, out->tail, tlen))
		goto short_;
	out->tail_len = tlen;
	out->hook_ran = ran;
	ret = rd_end(&r);
	if (ret) {
		memset(out, 0, sizeof(*out));
		return ret;
	}
	return 0;
short_:
	memset(out, 0, sizeof(*out));
	return -CN_ESHORT;
bad:
	memset(out, 0, sizeof(*out));
	return -CN_EFORMAT;
}

static bool req_valid(const struct cn_dproto_req *q, bool need_app)
{
	if (q->app[0] ? !cn_deploy_app_valid(q->app) : need_app)
		return false;
	return !q->version[0] || cn_deploy_version_valid(q->version);
}

int cn_dproto_list_encode(const struct cn_dproto_req *q, uint8_t *out, size_t cap, size_t *len)
{
	struct cn_wr w;

	*len = 0;
	if (!req_valid(q, false) || q->version[0])
		return -CN_EINVAL;
	start(&w, out, cap, CN_DPROTO_LIST);
	cn_wr_u8(&w, CN_DPROTO_VERSION);
	wr_str8(&w, q->app);
	return finish(&w, out, len);
}

/* LIST carries an app name (may be empty); ROLLBACK an app and a version. */
static int req_decode(const uint8_t *p, size_t n, struct cn_dproto_req *out, bool rollback)
{
	struct cn_rd r;
	int ret;

	memset(out, 0, sizeof(*out));
	cn_rd_init(&r, p, n);
	if (cn_rd_u8(&r) != CN_DPROTO_VERSION)
		return cn_rd_ok(&r) ? -CN_EFORMAT : -CN_ESHORT;
	if (!rd_str8(&r, out->app, CN_DEPLOY_APP_MAX) ||
	    (rollback && !rd_str8(&r, out->version, CN_DEPLOY_VERSION_MAX)))
		ret = cn_rd_ok(&r) ? -CN_EFORMAT : -CN_ESHORT;
	else
		ret = rd_end(&r);
	if (!ret && !req_valid(out, rollback))
		ret = -CN_EFORMAT;
	if (ret)
		memset(out, 0, sizeof(*out));
	return ret;
}

int cn_dproto_list_decode(const uint8_t *p, size_t n, struct cn_dproto_req *out)
{
	return req_decode(p, n, out, false);
}

int cn_dproto_rollback_encode(const struct cn_dproto_req *q, uint8_t *out, size_t cap, size_t *len)
{
	struct cn_wr w;

	*len = 0;
	if (!req_valid(q, true))
		return -CN_EINVAL;
	start(&w, out, cap, CN_DPROTO_ROLLBACK);
	cn_wr_u8(&w, CN_DPROTO_VERSION);
	wr_str8(&w, q->app);
	wr_str8(&w, q->version);
	return finish(&w, out, len);
}

int cn_dproto_rollback_decode(const uint8_t *p, size_t n, struct cn_dproto_req *out)
{
	return req_decode(p, n, out, true);
}

int cn_dproto_list_reply_encode(const struct cn_dproto_entry *e, size_t count, uint8_t *out,
				size_t cap, size_t *len)
{
	struct cn_wr w;

	*len = 0;
	if (count > CN_DPROTO_LIST_MAX)
		return -CN_EINVAL;
	start(&w, out, cap, CN_DPROTO_LIST_REPLY);
	cn_wr_u16be(&w, (uint16_t)count);
	for (size_t i = 0; i < count; i++) {
		if (!cn_deploy_app_valid(e[i].app) || !cn_deploy_version_valid(e[i].version))
			return -CN_EINVAL;
		wr_str8(&w, e[i].app);
		wr_str8(&w, e[i].version);
		cn_wr_u64be(&w, e[i].size);
		cn_wr_bytes(&w, e[i].hash, CN_DEPLOY_HASH_LEN);
		cn_wr_u64be(&w, (uint64_t)e[i].time);
		cn_wr_u8(&w, e[i].current ? 1 : 0);
	}
	return finish(&w, out, len);
}

int cn_dproto_list_reply_decode(const uint8_t *p, size_t n, struct cn_dproto_entry *out, size_t cap,
				size_t *count)
{
	struct cn_rd r;
	size_t k;
	int ret = -CN_EFORMAT;

	*count = 0;
	cn_rd_init(&r, p, n);
	k = cn_rd_u16be(&r);
	if (!cn_rd_ok(&r))
		return -CN_ESHORT;
	if (k > CN_DPROTO_LIST_MAX)
		return -CN_EFORMAT;
	if (k > cap)
		return -CN_ETOOBIG;
	for (size_t i = 0; i < k; i++) {
		struct cn_dproto_entry *e = &out[i];
		uint8_t flags;

		memset(e, 0, sizeof(*e));
		if (!rd_str8(&r, e->app, CN_DEPLOY_APP_MAX) ||
		    !rd_str8(&r, e->version, CN_DEPLOY_VERSION_MAX))
			goto fail;
		e->size = cn_rd_u64be(&r);
		cn_rd_bytes(&r, e->hash, CN_DEPLOY_HASH_LEN);
		e->time = (int64_t)cn_rd_u64be(&r);
		flags = cn_rd_u8(&r);
		if (!cn_rd_ok(&r))
			goto fail;
		if ((flags & ~1u) || !cn_deploy_app_valid(e->app) ||
		    !cn_deploy_version_valid(e->version))
			goto bad;
		e->current = flags & 1;
	}
	ret = rd_end(&r);
	if (ret)
		return ret;
	*count = k;
	return 0;
fail:
	ret = cn_rd_ok(&r) ? -CN_EFORMAT : -CN_ESHORT;
bad:
	return ret;
}

const char *cn_dproto_status_name(uint8_t status)
{
	static const char *const names[CN_DSTATUS_MAX_] = {
		"ok",	     "refused",	    "bad-signature", "bad-hash", "io-error", "hook-failed",
		"not-found", "bad-request", "busy",	     "too-big",	 "conflict",
	};

	return status < CN_DSTATUS_MAX_ ? names[status] : "unknown";
}
