/* SPDX-License-Identifier: MIT */
/*
 * The signed peer list: who is in the network, their keys, overlay
 * addresses, groups, and the relays. Text in libconfig syntax, signed by the
 * network's root Ed25519 key over the exact bytes (docs/PEERLIST.md).
 *
 *   version = 1;
 *   network = "demo";
 *   serial = 7;                      # int64 > 0, only ever grows
 *   expires = 1798761600;            # optional, unix seconds; 0 = never
 *   domain = "demo.cairn";
 *   prefix4 = "10.99.0.0/16";
 *   prefix6 = "fd99:cafe::/64";
 *   relays = ( { name = "relay1"; key = "<base64>"; host = "203.0.113.10";
 *                port = 443; stun_port = 3478; } );
 *   peers = ( { name = "board1"; key = "<base64>"; ipv4 = "10.99.0.2";
 *               ipv6 = "fd99:cafe::2"; groups = [ "boards" ]; } );
 *   # cairn-signature: ed25519 <88 characters of base64>
 *
 * The signature line is the last line of the file. It signs
 * CN_PEERLIST_SIG_CONTEXT followed by every byte before that line.
 * Loading verifies the signature before libconfig sees a byte, refuses NUL
 * bytes and @include, then parses and validates strictly (unknown settings,
 * bad names, duplicate names/keys/addresses, addresses outside the prefix).
 *
 * Pure: no clock reads (now is a parameter), no logging. Built as its own
 * library (cn_peerlist: cn_crypto + libconfig) so cn_crypto links only
 * libsodium.
 */
#ifndef CN_CRYPTO_PEERLIST_H
#define CN_CRYPTO_PEERLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "crypto/keys.h"

#define CN_PEERLIST_SIG_PREFIX	"# cairn-signature: ed25519 "
#define CN_PEERLIST_SIG_CONTEXT "cairn peerlist signature v1" /* signed with its NUL */

enum {
	CN_PEERLIST_VERSION = 1,
	CN_PEERLIST_MAX_BYTES = 1 << 20,
	CN_PEERLIST_MAX_PEERS = 16384,
	CN_PEERLIST_MAX_RELAYS = 16,
	CN_PEERLIST_MAX_GROUPS = 16, /* per peer */
	CN_NAME_MAX = 63,	     /* a DNS label */
	CN_DOMAIN_MAX = 253,
	CN_HOST_MAX = 253,
};

struct cn_pl_relay {
	char name[CN_NAME_MAX + 1];
	uint8_t key[CN_KEY_LEN]; /* Ed25519 public key */
	char host[CN_HOST_MAX + 1];
	uint16_t port;	    /* TCP and UDP relay link */
	uint16_t stun_port; /* STUN binding service */
};

struct cn_pl_peer {
	char name[CN_NAME_MAX + 1];
	uint8_t key[CN_KEY_LEN];   /* Ed25519 public key */
	uint8_t x_key[CN_KEY_LEN]; /* its X25519 form, the Noise static key */
	uint8_t ip4[4];
	uint8_t ip6[16];
	char (*groups)[CN_NAME_MAX + 1];
	size_t ngroups;
};

struct cn_peerlist {
	char network[CN_NAME_MAX + 1];
	int64_t serial;
	int64_t expires; /* 0: never */
	char domain[CN_DOMAIN_MAX + 1];
	uint8_t prefix4[4];
	unsigned int prefix4_len;
	uint8_t prefix6[16];
	unsigned int prefix6_len;
	struct cn_pl_relay *relays;
	size_t nrelays;
	struct cn_pl_peer *peers;
	size_t npeers;
	/* Lookup indexes into peers[], rebuilt after every change. */
	size_t *by_key, *by_name, *by_ip4, *by_ip6;
};

/*
 * Checks the signature line of buf against root_pk. On success *body_len
 * is the length of the signed text (everything before the signature line).
 * -CN_ESIG if the line is missing, malformed or the signature is wrong.
 */
int cn_peerlist_verify(const uint8_t *buf, size_t len, const uint8_t root_pk[static CN_KEY_LEN],
		       size_t *body_len, struct cn_errbuf *e);

/*
 * Signs body (which must end in '\n' and hold no signature line) with the
 * root identity. *out (malloc'd, caller frees) receives body followed by the
 * signature line; *out_len its length.
 */
int cn_peerlist_sign(const uint8_t *body, size_t len, const struct cn_identity *root, char **out,
		     size_t *out_len, struct cn_errbuf *e);

/*
 * Parses and validates text without checking any signature (for the
 * editing tools). A trailing signature line, if present, is ignored.
 * On success *out is a new list (cn_peerlist_free).
 */
int cn_peerlist_parse(const uint8_t *buf, size_t len, struct cn_peerlist **out,
		      struct cn_errbuf *e);

/*
 * What daemons call: verify against root_pk, parse, validate, then refuse
 * a serial lower than held_serial (-CN_EROLLBACK; pass 0 when none is held)
 * and a list whose expiry is <= now (unix seconds; -CN_EEXPIRED).
 */
int cn_peerlist_load(const uint8_t *buf, size_t len, const uint8_t root_pk[static CN_KEY_LEN],
		     int64_t held_serial, int64_t now, struct cn_peerlist **out,
		     struct cn_errbuf *e);

void cn_peerlist_free(struct cn_peerlist *pl);

/* Lookups: O(log n); NULL when absent. Pointers live until the list changes. */
const struct cn_pl_peer *cn_peerlist_find_key(const struct cn_peerlist *pl,
					      const uint8_t key[static CN_KEY_LEN]);
const struct cn_pl_peer *cn_peerlist_find_name(const struct cn_peerlist *pl, const char *name);
const struct cn_pl_peer *cn_peerlist_find_ip4(const struct cn_peerlist *pl, const uint8_t ip4[4]);
const struct cn_pl_peer *cn_peerlist_find_ip6(const struct cn_peerlist *pl,
					      const uint8_t ip6[16]);
const struct cn_pl_relay *cn_peerlist_find_relay_key(const struct cn_peerlist *pl,
						     const uint8_t key[static CN_KEY_LEN]);
/*
 * Fills out[] with up to cap members of group (in peers[] order) and
 * returns how many members the group has in all (may exceed cap).
 */
size_t cn_peerlist_group_members(const struct cn_peerlist *pl, const char *group,
				 const struct cn_pl_peer **out, size_t cap);
bool cn_peer_in_group(const struct cn_pl_peer *p, const char *group);

/* Name rules: a lowercase DNS label [a-z0-9-]{1,63}, no leading/trailing '-'. */
bool cn_peerlist_name_valid(const char *name);

/*
 * Editing (peerlist_edit.c), for `cairn network init` and `cairn peers`.
 * Each validates its input, refuses duplicates with a precise reason in e,
 * and leaves the list unchanged on error.
 */
int cn_peerlist_new(const char *network, const char *domain, const char *prefix4,
		    const char *prefix6, struct cn_peerlist **out, struct cn_errbuf *e);
/*
 * ip4/ip6 may be NULL: the lowest free host number in the prefixes is
 * assigned, the same host number in both when possible.
 */
int cn_peerlist_add_peer(struct cn_peerlist *pl, const char *name,
			 const uint8_t key[static CN_KEY_LEN], const char *const *groups,
			 size_t ngroups, const char *ip4, const char *ip6, struct cn_errbuf *e);
int cn_peerlist_remove_peer(struct cn_peerlist *pl, const char *name, struct cn_errbuf *e);
int cn_peerlist_add_relay(struct cn_peerlist *pl, const char *name,
			  const uint8_t key[static CN_KEY_LEN], const char *host, uint16_t port,
			  uint16_t stun_port, struct cn_errbuf *e);
int cn_peerlist_remove_relay(struct cn_peerlist *pl, const char *name, struct cn_errbuf *e);
/*
 * Canonical text of the list (no signature line), parseable by
 * cn_peerlist_parse into an equal list. *out is malloc'd, NUL-terminated.
 */
int cn_peerlist_format(const struct cn_peerlist *pl, char **out, size_t *out_len);

#endif
