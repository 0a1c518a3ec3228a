/* SPDX-License-Identifier: MIT */
/*
 * The peer list's sorted indexes (by key, name, IPv4, IPv6 and X25519 key)
 * and every lookup daemons make in a list (peerlist.h, peerlist_int.h).
 */
#include <stdlib.h>
#include <string.h>

#include "crypto/peerlist.h"
#include "crypto/peerlist_int.h"

static int field_cmp(enum cn_pl_index k, const void *v, const struct cn_pl_peer *p)
{
	/* Public keys and addresses: ordering, not secrecy, so memcmp is right. */
	switch (k) {
	case CN_PL_IDX_KEY:
		return memcmp(v, p->key, CN_KEY_LEN);
	case CN_PL_IDX_NAME:
		return strcmp(v, p->name);
	case CN_PL_IDX_IP4:
		return memcmp(v, p->ip4, sizeof(p->ip4));
	case CN_PL_IDX_IP6:
		return memcmp(v, p->ip6, sizeof(p->ip6));
	case CN_PL_IDX_XKEY:
		return memcmp(v, p->x_key, CN_KEY_LEN);
	case CN_PL_IDX_COUNT_:
		break;
	}
	return 0;
}

static const void *field_of(enum cn_pl_index k, const struct cn_pl_peer *p)
{
	switch (k) {
	case CN_PL_IDX_KEY:
		return p->key;
	case CN_PL_IDX_NAME:
		return p->name;
	case CN_PL_IDX_IP4:
		return p->ip4;
	case CN_PL_IDX_IP6:
		return p->ip6;
	case CN_PL_IDX_XKEY:
		return p->x_key;
	case CN_PL_IDX_COUNT_:
		break;
	}
	return NULL;
}

/* Sorts peer pointers by field, then by position: equal runs keep file order. */
static int sort_cmp(enum cn_pl_index k, const void *a, const void *b)
{
	const struct cn_pl_peer *pa = *(const struct cn_pl_peer *const *)a;
	const struct cn_pl_peer *pb = *(const struct cn_pl_peer *const *)b;
	int c = field_cmp(k, field_of(k, pa), pb);

	return c ? c : (pa > pb) - (pa < pb);
}

static int sort_key(const void *a, const void *b)
{
	return sort_cmp(CN_PL_IDX_KEY, a, b);
}

static int sort_name(const void *a, const void *b)
{
	return sort_cmp(CN_PL_IDX_NAME, a, b);
}

static int sort_ip4(const void *a, const void *b)
{
	return sort_cmp(CN_PL_IDX_IP4, a, b);
}

static int sort_ip6(const void *a, const void *b)
{
	return sort_cmp(CN_PL_IDX_IP6, a, b);
}

static int sort_xkey(const void *a, const void *b)
{
	return sort_cmp(CN_PL_IDX_XKEY, a, b);
}

static size_t **index_slot(struct cn_peerlist *pl, enum cn_pl_index k)
{
	switch (k) {
	case CN_PL_IDX_KEY:
		return &pl->by_key;
	case CN_PL_IDX_NAME:
		return &pl->by_name;
	case CN_PL_IDX_IP4:
		return &pl->by_ip4;
	case CN_PL_IDX_IP6:
		return &pl->by_ip6;
	case CN_PL_IDX_XKEY:
		return &pl->by_xkey;
	case CN_PL_IDX_COUNT_:
		break;
	}
	return NULL;
}

static const size_t *index_of(const struct cn_peerlist *pl, enum cn_pl_index k)
{
	switch (k) {
	case CN_PL_IDX_KEY:
		return pl->by_key;
	case CN_PL_IDX_NAME:
		return pl->by_name;
	case CN_PL_IDX_IP4:
		return pl->by_ip4;
	case CN_PL_IDX_IP6:
		return pl->by_ip6;
	case CN_PL_IDX_XKEY:
		return pl->by_xkey;
	case CN_PL_IDX_COUNT_:
		break;
	}
	return NULL;
}

int cn_pl_index_build(struct cn_peerlist *pl)
{
	static int (*const sorter[CN_PL_IDX_COUNT_])(const void *, const void *) = {
		[CN_PL_IDX_KEY] = sort_key,   [CN_PL_IDX_NAME] = sort_name,
		[CN_PL_IDX_IP4] = sort_ip4,   [CN_PL_IDX_IP6] = sort_ip6,
		[CN_PL_IDX_XKEY] = sort_xkey,
	};
	size_t *idx[CN_PL_IDX_COUNT_] = {NULL};
	const struct cn_pl_peer **tmp = NULL;
	size_t n = pl->npeers;
	int ret = -CN_ENOMEM;

	if (n) {
		tmp = malloc(n * sizeof(*tmp));
		if (!tmp)
			goto out;
		for (int k = 0; k < CN_PL_IDX_COUNT_; k++) {
			idx[k] = malloc(n * sizeof(*idx[k]));
			if (!idx[k])
				goto out;
		}
		for (int k = 0; k < CN_PL_IDX_COUNT_; k++) {
			for (size_t i = 0; i < n; i++)
				tmp[i] = &pl->peers[i];
			qsort(tmp, n, sizeof(*tmp), sorter[k]);
			for (size_t i = 0; i < n; i++)
				idx[k][i] = (size_t)(tmp[i] - pl->peers);
		}
	}
	for (int k = 0; k < CN_PL_IDX_COUNT_; k++) {
		size_t **slot = index_slot(pl, (enum cn_pl_index)k);

		free(*slot);
		*slot = idx[k];
		idx[k] = NULL;
	}
	ret = 0;
out:
	for (int k = 0; k < CN_PL_IDX_COUNT_; k++)
		free(idx[k]);
	free(tmp);
	return ret;
}

bool cn_pl_first_dup(const struct cn_peerlist *pl, enum cn_pl_index k, size_t *dup, size_t *orig)
{
	const size_t *idx = index_of(pl, k);
	size_t run = 0;
	bool found = false;

	for (size_t i = 1; i < pl->npeers; i++) {
		const struct cn_pl_peer *a = &pl->peers[idx[run]], *b = &pl->peers[idx[i]];

		if (field_cmp(k, field_of(k, a), b) != 0) {
			run = i;
			continue;
		}
		if (!found || idx[i] < *dup) {
			*dup = idx[i];
			*orig = idx[run];
			found = true;
		}
	}
	return found;
}

void cn_pl_index_free(struct cn_peerlist *pl)
{
	for (int k = 0; k < CN_PL_IDX_COUNT_; k++) {
		size_t **slot = index_slot(pl, (enum cn_pl_index)k);

		free(*slot);
		*slot = NULL;
	}
}

/* ---- lookups ------------------------------------------------------------ */

/* bsearch key: the value sought and the list it indexes into. */
struct needle {
	const struct cn_peerlist *pl;
	enum cn_pl_index k;
	const void *v;
};

static int needle_cmp(const void *key, const void *el)
{
	const struct needle *nd = key;

	return field_cmp(nd->k, nd->v, &nd->pl->peers[*(const size_t *)el]);
}

static const struct cn_pl_peer *find(const struct cn_peerlist *pl, enum cn_pl_index k,
				     const void *v)
{
	struct needle nd = {.pl = pl, .k = k, .v = v};
	const size_t *idx, *hit;

	if (!pl || !v || pl->npeers == 0)
		return NULL;
	idx = index_of(pl, k);
	if (!idx)
		return NULL;
	hit = bsearch(&nd, idx, pl->npeers, sizeof(*idx), needle_cmp);
	return hit ? &pl->peers[*hit] : NULL;
}

const struct cn_pl_peer *cn_peerlist_find_key(const struct cn_peerlist *pl,
					      const uint8_t key[static CN_KEY_LEN])
{
	return find(pl, CN_PL_IDX_KEY, key);
}

const struct cn_pl_peer *cn_peerlist_find_xkey(const struct cn_peerlist *pl,
					       const uint8_t x_key[static CN_KEY_LEN])
{
	return find(pl, CN_PL_IDX_XKEY, x_key);
}

const struct cn_pl_peer *cn_peerlist_find_name(const struct cn_peerlist *pl, const char *name)
{
	return find(pl, CN_PL_IDX_NAME, name);
}

const struct cn_pl_peer *cn_peerlist_find_ip4(const struct cn_peerlist *pl, const uint8_t ip4[4])
{
	return find(pl, CN_PL_IDX_IP4, ip4);
}

const struct cn_pl_peer *cn_peerlist_find_ip6(const struct cn_peerlist *pl, const uint8_t ip6[16])
{
	return find(pl, CN_PL_IDX_IP6, ip6);
}

const struct cn_pl_relay *cn_peerlist_find_relay_key(const struct cn_peerlist *pl,
						     const uint8_t key[static CN_KEY_LEN])
{
	if (!pl || !key)
		return NULL;
	for (size_t i = 0; i < pl->nrelays; i++)
		if (memcmp(pl->relays[i].key, key, CN_KEY_LEN) == 0)
			return &pl->relays[i];
	return NULL;
}

const struct cn_pl_relay *cn_peerlist_find_relay_name(const struct cn_peerlist *pl,
						      const char *name)
{
	if (!pl || !name)
		return NULL;
	for (size_t i = 0; i < pl->nrelays; i++)
		if (strcmp(pl->relays[i].name, name) == 0)
			return &pl->relays[i];
	return NULL;
}

bool cn_peer_in_group(const struct cn_pl_peer *p, const char *group)
{
	if (!p || !group)
		return false;
	for (size_t i = 0; i < p->ngroups; i++)
		if (strcmp(p->groups[i], group) == 0)
			return true;
	return false;
}

size_t cn_peerlist_group_members(const struct cn_peerlist *pl, const char *group,
				 const struct cn_pl_peer **out, size_t cap)
{
	size_t n = 0;

	if (!pl || !group)
		return 0;
	for (size_t i = 0; i < pl->npeers; i++) {
		if (!cn_peer_in_group(&pl->peers[i], group))
			continue;
		if (out && n < cap)
			out[n] = &pl->peers[i];
		n++;
	}
	return n;
}

static bool relay_equal(const struct cn_pl_relay *a, const struct cn_pl_relay *b)
{
	return strcmp(a->name, b->name) == 0 && memcmp(a->key, b->key, CN_KEY_LEN) == 0 &&
	       memcmp(a->x_key, b->x_key, CN_KEY_LEN) == 0 && strcmp(a->host, b->host) == 0 &&
	       a->port == b->port && a->stun_port == b->stun_port;
}

static bool peer_equal(const struct cn_pl_peer *a, const struct cn_pl_peer *b)
{
	if (strcmp(a->name, b->name) != 0 || memcmp(a->key, b->key, CN_KEY_LEN) != 0 ||
	    memcmp(a->x_key, b->x_key, CN_KEY_LEN) != 0 || memcmp(a->ip4, b->ip4, 4) != 0 ||
	    memcmp(a->ip6, b->ip6, 16) != 0 || a->ngroups != b->ngroups)
		return false;
	for (size_t i = 0; i < a->ngroups; i++)
		if (strcmp(a->groups[i], b->groups[i]) != 0)
			return false;
	return true;
}

bool cn_peerlist_equal(const struct cn_peerlist *a, const struct cn_peerlist *b)
{
	if (!a || !b)
		return a == b;
	if (strcmp(a->network, b->network) != 0 || a->serial != b->serial ||
	    a->expires != b->expires || strcmp(a->domain, b->domain) != 0 ||
	    a->prefix4_len != b->prefix4_len || memcmp(a->prefix4, b->prefix4, 4) != 0 ||
	    a->prefix6_len != b->prefix6_len || memcmp(a->prefix6, b->prefix6, 16) != 0 ||
	    a->nrelays != b->nrelays || a->npeers != b->npeers)
		return false;
	for (size_t i = 0; i < a->nrelays; i++)
		if (!relay_equal(&a->relays[i], &b->relays[i]))
			return false;
	for (size_t i = 0; i < a->npeers; i++)
		if (!peer_equal(&a->peers[i], &b->peers[i]))
			return false;
	return true;
}
