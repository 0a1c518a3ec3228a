/* SPDX-License-Identifier: MIT */
/*
 * TAI64N timestamp floor across reboots; rule and file in tai_floor.h.
 */
#include "node/tai_floor.h"

#include <string.h>

#include "common/bytes.h"

#define TAI_BASE     ((UINT64_C(1) << 62) + 10) /* label of unix second 0 */
#define NSEC_PER_SEC 1000000000u

static void split(const uint8_t l[CN_TAI_LEN], uint64_t *sec, uint32_t *nsec)
{
	struct cn_rd r;

	cn_rd_init(&r, l, CN_TAI_LEN);
	*sec = cn_rd_u64be(&r);
	*nsec = cn_rd_u32be(&r);
}

static void join(uint8_t l[CN_TAI_LEN], uint64_t sec, uint32_t nsec)
{
	struct cn_wr w;

	cn_wr_init(&w, l, CN_TAI_LEN);
	cn_wr_u64be(&w, sec);
	cn_wr_u32be(&w, nsec);
}

/* l + seconds s + nanoseconds ns (ns < 10^9), carrying. */
static void add(uint8_t out[CN_TAI_LEN], const uint8_t l[CN_TAI_LEN], uint64_t s, uint32_t ns)
{
	uint64_t sec;
	uint32_t nsec;

	split(l, &sec, &nsec);
	nsec += ns;
	if (nsec >= NSEC_PER_SEC) {
		nsec -= NSEC_PER_SEC;
		sec++;
	}
	/* Keep the whitening: nanoseconds stay a multiple of the tick. */
	nsec &= ~(uint32_t)(CN_TAI_TICK_NS - 1);
	join(out, sec + s, nsec);
}

static bool is_zero(const uint8_t l[CN_TAI_LEN])
{
	for (int i = 0; i < CN_TAI_LEN; i++)
		if (l[i])
			return false;
	return true;
}

void cn_tai_floor_init(struct cn_tai_floor *f)
{
	memset(f, 0, sizeof(*f));
}

int cn_tai_floor_parse(struct cn_tai_floor *f, const char *text, size_t len)
{
	uint8_t l[CN_TAI_LEN];
	uint64_t sec;
	uint32_t nsec;

	if (len == 2 * CN_TAI_LEN + 1 && text[len - 1] == '\n')
		len--;
	if (len != 2 * CN_TAI_LEN)
		return -CN_EFORMAT;
	for (size_t i = 0; i < len; i++) {
		char c = text[i];
		unsigned d;

		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else
			return -CN_EFORMAT;
		if (i % 2 == 0)
			l[i / 2] = (uint8_t)(d << 4);
		else
			l[i / 2] |= (uint8_t)d;
	}
	split(l, &sec, &nsec);
	if (nsec >= NSEC_PER_SEC || sec < TAI_BASE || sec >= (UINT64_C(1) << 63))
		return -CN_EFORMAT;
	memcpy(f->last, l, CN_TAI_LEN);
	memcpy(f->persisted, l, CN_TAI_LEN);
	return 0;
}

void cn_tai_floor_format(const uint8_t label[static CN_TAI_LEN],
			 char out[static CN_TAI_FLOOR_TEXT_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";

	for (int i = 0; i < CN_TAI_LEN; i++) {
		out[2 * i] = hex[label[i] >> 4];
		out[2 * i + 1] = hex[label[i] & 15];
	}
	out[2 * CN_TAI_LEN] = '\n';
	out[2 * CN_TAI_LEN + 1] = '\0';
}

bool cn_tai_floor_next(struct cn_tai_floor *f, const uint8_t clock[static CN_TAI_LEN],
		       uint8_t out[static CN_TAI_LEN], uint8_t floor_out[static CN_TAI_LEN])
{
	uint8_t next[CN_TAI_LEN];

	memcpy(out, clock, CN_TAI_LEN);
	if (!is_zero(f->last)) {
		add(next, f->last, 0, CN_TAI_TICK_NS);
		if (memcmp(out, next, CN_TAI_LEN) < 0)
			memcpy(out, next, CN_TAI_LEN);
	}
	memcpy(f->last, out, CN_TAI_LEN);
	memset(floor_out, 0, CN_TAI_LEN);
	if (memcmp(out, f->persisted, CN_TAI_LEN) <= 0)
		return false;
	add(floor_out, out, CN_TAI_FLOOR_AHEAD_S, 0);
	return true;
}

void cn_tai_floor_persisted(struct cn_tai_floor *f, const uint8_t floor[static CN_TAI_LEN])
{
	if (memcmp(floor, f->persisted, CN_TAI_LEN) > 0)
		memcpy(f->persisted, floor, CN_TAI_LEN);
}

int64_t cn_tai_unix_seconds(const uint8_t label[static CN_TAI_LEN])
{
	uint64_t sec;
	uint32_t nsec;

	split(label, &sec, &nsec);
	if (sec < TAI_BASE)
		return 0;
	return (int64_t)(sec - TAI_BASE);
}
