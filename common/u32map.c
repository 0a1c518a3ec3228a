/* SPDX-License-Identifier: MIT */
#include "common/u32map.h"

#include <stdlib.h>

#include "common/err.h"

static size_t slot_of(uint32_t key, size_t cap)
{
	/* Fibonacci hashing spreads even sequential keys. */
	return (size_t)((key * UINT32_C(2654435769)) & (cap - 1));
}

static int grow(struct cn_u32map *m)
{
	size_t cap = m->cap ? m->cap * 2 : 16;
	struct cn_u32map_slot *slots = calloc(cap, sizeof(*slots));

	if (!slots)
		return -CN_ENOMEM;
	for (size_t i = 0; i < m->cap; i++) {
		size_t j;

		if (!m->slots[i].key)
			continue;
		j = slot_of(m->slots[i].key, cap);
		while (slots[j].key)
			j = (j + 1) & (cap - 1);
		slots[j] = m->slots[i];
	}
	free(m->slots);
	m->slots = slots;
	m->cap = cap;
	return 0;
}

int cn_u32map_put(struct cn_u32map *m, uint32_t key, void *val)
{
	size_t i;

	if (key == 0)
		return -CN_EINVAL;
	if (cn_u32map_get(m, key))
		return -CN_EEXIST;
	if ((m->len + 1) * 2 > m->cap && grow(m))
		return -CN_ENOMEM;
	i = slot_of(key, m->cap);
	while (m->slots[i].key)
		i = (i + 1) & (m->cap - 1);
	m->slots[i].key = key;
	m->slots[i].val = val;
	m->len++;
	return 0;
}

void *cn_u32map_get(const struct cn_u32map *m, uint32_t key)
{
	size_t i;

	if (!m->cap || key == 0)
		return NULL;
	for (i = slot_of(key, m->cap); m->slots[i].key; i = (i + 1) & (m->cap - 1))
		if (m->slots[i].key == key)
			return m->slots[i].val;
	return NULL;
}

void *cn_u32map_del(struct cn_u32map *m, uint32_t key)
{
	size_t i, j;
	void *val;

	if (!m->cap || key == 0)
		return NULL;
	for (i = slot_of(key, m->cap); m->slots[i].key != key; i = (i + 1) & (m->cap - 1))
		if (!m->slots[i].key)
			return NULL;
	val = m->slots[i].val;
	/* Backward shift: move later entries of the run into the hole. */
	for (j = (i + 1) & (m->cap - 1); m->slots[j].key; j = (j + 1) & (m->cap - 1)) {
		size_t home = slot_of(m->slots[j].key, m->cap);

		/* Move j to i if its home is not in the cyclic range (i, j]. */
		if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
			m->slots[i] = m->slots[j];
			i = j;
		}
	}
	m->slots[i].key = 0;
	m->slots[i].val = NULL;
	m->len--;
	return val;
}

void cn_u32map_free(struct cn_u32map *m)
{
	free(m->slots);
	m->slots = NULL;
	m->cap = m->len = 0;
}
