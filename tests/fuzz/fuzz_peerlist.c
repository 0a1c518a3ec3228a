/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the peer list. Every input goes to
 * cn_peerlist_parse (unsigned path, what the CLI runs on files) and to
 * cn_peerlist_load with a fixed root key (what daemons run on bytes from
 * relays). Beyond "no crash, no leak", it checks invariants and aborts on
 * a violation:
 *   - a list that parses formats to text that parses to an equal list, and
 *     that text formats to the same bytes again;
 *   - every peer is found by its key, X25519 key, name and addresses;
 *   - a list that loads also parses, to an equal list (the signature line
 *     is a comment to libconfig);
 *   - removing a peer and adding it back with its own addresses works.
 *
 * The root key is fixed: seed = 32 bytes of 0xf2 (see ROOT_PK). The seed
 * corpus in corpus/fuzz_peerlist/ holds lists signed with it, so load()
 * gets past the signature check to the parser.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "crypto/keys.h"
#include "crypto/peerlist.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Ed25519 public key of seed 0xf2 x 32 (cn_identity_from_seed). */
static const uint8_t ROOT_PK[CN_KEY_LEN] = {
	0x70, 0x08, 0x2a, 0xe9, 0xf9, 0x88, 0x61, 0xb5, 0x14, 0xd4, 0x84,
	0x6b, 0xc5, 0xe0, 0x2f, 0xb0, 0x96, 0xfb, 0x36, 0xca, 0x95, 0x3c,
	0x92, 0x83, 0x09, 0x09, 0x81, 0x6d, 0xcf, 0x38, 0xa0, 0xa1,
};

enum { LOOKUP_MAX = 64 }; /* peers checked per input, to keep runs fast */

static void check_lookups(const struct cn_peerlist *pl)
{
	for (size_t i = 0; i < pl->npeers && i < LOOKUP_MAX; i++) {
		const struct cn_pl_peer *p = &pl->peers[i];

		if (cn_peerlist_find_key(pl, p->key) != p ||
		    cn_peerlist_find_xkey(pl, p->x_key) != p ||
		    cn_peerlist_find_name(pl, p->name) != p ||
		    cn_peerlist_find_ip4(pl, p->ip4) != p || cn_peerlist_find_ip6(pl, p->ip6) != p)
			abort();
		for (size_t g = 0; g < p->ngroups; g++)
			if (cn_peerlist_group_members(pl, p->groups[g], NULL, 0) == 0)
				abort();
	}
	for (size_t i = 0; i < pl->nrelays; i++)
		if (cn_peerlist_find_relay_name(pl, pl->relays[i].name) != &pl->relays[i])
			abort();
}

/* Formats pl, parses the text back, and checks both agree. */
static void check_roundtrip(const struct cn_peerlist *pl)
{
	struct cn_peerlist *back = NULL;
	char *text = NULL, *again = NULL;
	size_t len = 0, len2 = 0;
	int ret;

	ret = cn_peerlist_format(pl, &text, &len);
	if (ret == -CN_ETOOBIG)
		return; /* canonical text can be longer than a compact input */
	if (ret != 0 || cn_peerlist_parse((const uint8_t *)text, len, &back, NULL) != 0 ||
	    !cn_peerlist_equal(pl, back))
		abort();
	if (cn_peerlist_format(back, &again, &len2) != 0 || len2 != len ||
	    memcmp(text, again, len) != 0)
		abort();
	cn_peerlist_free(back);
	free(text);
	free(again);
}

/* Remove the first peer, then add it back with its own addresses and groups. */
static void check_edit(struct cn_peerlist *pl)
{
	const char *groups[CN_PEERLIST_MAX_GROUPS];
	char name[CN_NAME_MAX + 1], a4[INET_ADDRSTRLEN], a6[INET6_ADDRSTRLEN];
	char(*gcopy)[CN_NAME_MAX + 1] = NULL;
	uint8_t key[CN_KEY_LEN];
	size_t ng;

	if (pl->npeers == 0)
		return;
	memcpy(name, pl->peers[0].name, sizeof(name));
	memcpy(key, pl->peers[0].key, sizeof(key));
	ng = pl->peers[0].ngroups;
	if (ng) {
		gcopy = malloc(ng * sizeof(*gcopy));
		if (!gcopy)
			abort();
		memcpy(gcopy, pl->peers[0].groups, ng * sizeof(*gcopy));
	}
	for (size_t i = 0; i < ng; i++)
		groups[i] = gcopy[i];
	if (!inet_ntop(AF_INET, pl->peers[0].ip4, a4, sizeof(a4)) ||
	    !inet_ntop(AF_INET6, pl->peers[0].ip6, a6, sizeof(a6)))
		abort();
	if (cn_peerlist_remove_peer(pl, name, NULL) != 0 || cn_peerlist_find_name(pl, name))
		abort();
	if (cn_peerlist_add_peer(pl, name, key, groups, ng, a4, a6, NULL) != 0)
		abort();
	if (cn_peerlist_find_key(pl, key) != &pl->peers[pl->npeers - 1])
		abort();
	free(gcopy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cn_peerlist *pl = NULL, *loaded = NULL;
	struct cn_errbuf e = {{0}};
	int parsed;

	parsed = cn_peerlist_parse(data, size, &pl, &e);
	if (parsed == 0) {
		check_lookups(pl);
		check_roundtrip(pl);
	}
	if (cn_peerlist_load(data, size, ROOT_PK, 0, 0, &loaded, &e) == 0) {
		if (parsed != 0 || !cn_peerlist_equal(pl, loaded))
			abort();
		check_lookups(loaded);
		check_edit(loaded);
		check_lookups(loaded);
	}
	cn_peerlist_free(loaded);
	cn_peerlist_free(pl);
	return 0;
}
