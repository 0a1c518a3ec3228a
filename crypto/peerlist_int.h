/* SPDX-License-Identifier: MIT */
/*
 * Internals shared by peerlist.c (verify, parse, lookups) and
 * peerlist_edit.c (build and edit lists, canonical text). Not an API: only
 * those two files include this. Both must apply the same rules, so the
 * rules live here once.
 */
#ifndef CN_CRYPTO_PEERLIST_INT_H
#define CN_CRYPTO_PEERLIST_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cn_peerlist;
struct cn_pl_peer;

enum {
	CN_PL_PORT_DEFAULT = 443,
	CN_PL_STUN_PORT_DEFAULT = 3478,
	CN_PL_PREFIX4_MIN = 8,
	CN_PL_PREFIX4_MAX = 30,
	CN_PL_PREFIX6_MIN = 48,
	CN_PL_PREFIX6_MAX = 120,
	CN_PL_SHOWN_LEN = 72,	/* user text quoted in messages, with "..." and NUL */
	CN_PL_PREFIX_TEXT = 64, /* "ffff:...:ffff/128" and NUL fit */
};

/* A valid DNS name: labels that pass cn_peerlist_name_valid, dot-separated. */
bool cn_pl_domain_valid(const char *s);
/* An IPv4/IPv6 literal or a hostname (letters, digits, '-', '.'). */
bool cn_pl_host_valid(const char *s);

/*
 * Parses "address/length" for af (AF_INET or AF_INET6) under the length
 * limits above. Returns NULL on success, else a reason to append after the
 * quoted text ("has host bits set").
 */
const char *cn_pl_prefix_parse(int af, const char *s, uint8_t *addr, unsigned int *len);
void cn_pl_prefix_text(int af, const uint8_t *addr, unsigned int len,
		       char out[static CN_PL_PREFIX_TEXT]);

/*
 * Parses an overlay address and checks it is a host address of the list's
 * prefix (inside it, not the network address, not the IPv4 broadcast
 * address). NULL on success, else a reason as above. Does not check that
 * the address is free.
 */
const char *cn_pl_ip4_parse(const struct cn_peerlist *pl, const char *s, uint8_t ip4[4]);
const char *cn_pl_ip6_parse(const struct cn_peerlist *pl, const char *s, uint8_t ip6[16]);

/* The five sorted indexes over peers[] (peerlist_index.c). */
enum cn_pl_index {
	CN_PL_IDX_KEY,
	CN_PL_IDX_NAME,
	CN_PL_IDX_IP4,
	CN_PL_IDX_IP6,
	CN_PL_IDX_XKEY,
	CN_PL_IDX_COUNT_,
};

/*
 * Rebuilds the lookup indexes of pl from pl->peers. On failure (-CN_ENOMEM)
 * pl is unchanged, old indexes included.
 */
int cn_pl_index_build(struct cn_peerlist *pl);
/* Frees the indexes (NULL after). */
void cn_pl_index_free(struct cn_peerlist *pl);
/*
 * The first entry (in file order) equal in field k to an earlier one:
 * *dup and the earliest it repeats, *orig. False if none. Needs the
 * indexes built.
 */
bool cn_pl_first_dup(const struct cn_peerlist *pl, enum cn_pl_index k, size_t *dup, size_t *orig);

/* Frees what one peer owns (its groups), not the peer itself. */
void cn_pl_peer_wipe(struct cn_pl_peer *p);

/*
 * Copies s for a one-line message: at most about 60 printable ASCII
 * characters, anything else shown as '?', "..." when cut. Returns out.
 */
const char *cn_pl_shown(const char *s, char out[static CN_PL_SHOWN_LEN]);

#endif
