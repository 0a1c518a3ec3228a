/* SPDX-License-Identifier: MIT */
/*
 * A hash map from non-zero 32-bit keys (session indexes, chosen at random
 * by this process, so no hash flooding) to pointers: open addressing,
 * linear probing, backward-shift deletion, grows at half load.
 * All-zero is an empty map. Pure.
 */
#ifndef CN_COMMON_U32MAP_H
#define CN_COMMON_U32MAP_H

#include <stddef.h>
#include <stdint.h>

struct cn_u32map_slot {
	uint32_t key; /* 0: empty */
	void *val;
};

struct cn_u32map {
	struct cn_u32map_slot *slots;
	size_t cap; /* power of two, or 0 */
	size_t len;
};

/* 0, -CN_EINVAL (key 0), -CN_EEXIST, -CN_ENOMEM. */
int cn_u32map_put(struct cn_u32map *m, uint32_t key, void *val);
void *cn_u32map_get(const struct cn_u32map *m, uint32_t key);
/* Returns the removed value, or NULL. */
void *cn_u32map_del(struct cn_u32map *m, uint32_t key);
void cn_u32map_free(struct cn_u32map *m);

#endif
