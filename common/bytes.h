/* SPDX-License-Identifier: MIT */
/*
 * Bounds-checked byte cursors for every wire codec. A reader fails (returns
 * false and marks itself bad) on short input instead of reading past the end;
 * a writer fails on a full buffer. Once bad, every later call fails too, so a
 * codec may run a sequence of reads and check cn_rd_ok() once at the end.
 *
 * Header-only: crypto/ uses it without linking anything but libsodium.
 * Byte order is explicit in every accessor name; nothing here casts a packet
 * to a struct.
 */
#ifndef CN_COMMON_BYTES_H
#define CN_COMMON_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct cn_rd {
	const uint8_t *p;
	size_t n;
	bool bad;
};

struct cn_wr {
	uint8_t *p;
	size_t n;   /* bytes left */
	size_t len; /* bytes written */
	bool bad;
};

static inline void cn_rd_init(struct cn_rd *r, const void *p, size_t n)
{
	r->p = p;
	r->n = n;
	r->bad = false;
}

static inline bool cn_rd_ok(const struct cn_rd *r)
{
	return !r->bad;
}

static inline size_t cn_rd_left(const struct cn_rd *r)
{
	return r->bad ? 0 : r->n;
}

/* Returns a pointer to the next len bytes and advances, or NULL if short. */
static inline const uint8_t *cn_rd_take(struct cn_rd *r, size_t len)
{
	const uint8_t *q;

	if (r->bad || r->n < len) {
		r->bad = true;
		return NULL;
	}
	q = r->p;
	r->p += len;
	r->n -= len;
	return q;
}

static inline bool cn_rd_bytes(struct cn_rd *r, void *dst, size_t len)
{
	const uint8_t *q = cn_rd_take(r, len);

	if (!q)
		return false;
	if (len)
		memcpy(dst, q, len);
	return true;
}

static inline uint8_t cn_rd_u8(struct cn_rd *r)
{
	const uint8_t *q = cn_rd_take(r, 1);

	return q ? q[0] : 0;
}

static inline uint16_t cn_rd_u16be(struct cn_rd *r)
{
	const uint8_t *q = cn_rd_take(r, 2);

	return q ? (uint16_t)((q[0] << 8) | q[1]) : 0;
}

static inline uint32_t cn_rd_u32be(struct cn_rd *r)
{
	const uint8_t *q = cn_rd_take(r, 4);

	return q ? ((uint32_t)q[0] << 24) | ((uint32_t)q[1] << 16) | ((uint32_t)q[2] << 8) | q[3]
		 : 0;
}

static inline uint32_t cn_rd_u32le(struct cn_rd *r)
{
	const uint8_t *q = cn_rd_take(r, 4);

	return q ? ((uint32_t)q[3] << 24) | ((uint32_t)q[2] << 16) | ((uint32_t)q[1] << 8) | q[0]
		 : 0;
}

static inline uint64_t cn_rd_u64le(struct cn_rd *r)
{
	const uint8_t *q = cn_rd_take(r, 8);
	uint64_t v = 0;

	if (!q)
		return 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | q[i];
	return v;
}

static inline uint64_t cn_rd_u64be(struct cn_rd *r)
{
	const uint8_t *q = cn_rd_take(r, 8);
	uint64_t v = 0;

	if (!q)
		return 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | q[i];
	return v;
}

static inline void cn_wr_init(struct cn_wr *w, void *p, size_t n)
{
	w->p = p;
	w->n = n;
	w->len = 0;
	w->bad = false;
}

static inline bool cn_wr_ok(const struct cn_wr *w)
{
	return !w->bad;
}

/* Reserves len bytes and returns where they start, or NULL if full. */
static inline uint8_t *cn_wr_take(struct cn_wr *w, size_t len)
{
	uint8_t *q;

	if (w->bad || w->n < len) {
		w->bad = true;
		return NULL;
	}
	q = w->p;
	w->p += len;
	w->n -= len;
	w->len += len;
	return q;
}

static inline bool cn_wr_bytes(struct cn_wr *w, const void *src, size_t len)
{
	uint8_t *q = cn_wr_take(w, len);

	if (!q)
		return false;
	if (len)
		memcpy(q, src, len);
	return true;
}

static inline bool cn_wr_u8(struct cn_wr *w, uint8_t v)
{
	uint8_t *q = cn_wr_take(w, 1);

	if (q)
		q[0] = v;
	return q != NULL;
}

static inline bool cn_wr_u16be(struct cn_wr *w, uint16_t v)
{
	uint8_t *q = cn_wr_take(w, 2);

	if (q) {
		q[0] = (uint8_t)(v >> 8);
		q[1] = (uint8_t)v;
	}
	return q != NULL;
}

static inline bool cn_wr_u32be(struct cn_wr *w, uint32_t v)
{
	uint8_t *q = cn_wr_take(w, 4);

	if (q)
		for (int i = 0; i < 4; i++)
			q[i] = (uint8_t)(v >> (24 - 8 * i));
	return q != NULL;
}

static inline bool cn_wr_u32le(struct cn_wr *w, uint32_t v)
{
	uint8_t *q = cn_wr_take(w, 4);

	if (q)
		for (int i = 0; i < 4; i++)
			q[i] = (uint8_t)(v >> (8 * i));
	return q != NULL;
}

static inline bool cn_wr_u64le(struct cn_wr *w, uint64_t v)
{
	uint8_t *q = cn_wr_take(w, 8);

	if (q)
		for (int i = 0; i < 8; i++)
			q[i] = (uint8_t)(v >> (8 * i));
	return q != NULL;
}

static inline bool cn_wr_u64be(struct cn_wr *w, uint64_t v)
{
	uint8_t *q = cn_wr_take(w, 8);

	if (q)
		for (int i = 0; i < 8; i++)
			q[i] = (uint8_t)(v >> (56 - 8 * i));
	return q != NULL;
}

#endif
