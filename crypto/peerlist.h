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
 * The signature line is the last line of the file and ends in '\n'. It
 * signs CN_PEERLIST_SIG_CONTEXT including its terminating NUL, followed by
 * every byte before that line. Loading verifies the signature before
 * libconfig sees a byte, refuses NUL bytes and @include, then parses only
 * the signed bytes and validates strictly (unknown settings, wrong types,
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
	CN_PEERLIST_MAX_BYTES = 4 << 20, /* 16384 peers with a few groups each */
	CN_PEERLIST_MAX_PEERS = 16384,
	CN_PEERLIST_MAX_RELAYS = 16,
	CN_PEERLIST_MAX_GROUPS = 16, /* per peer */
	CN_NAME_MAX = 63,	     /* a DNS label */
	CN_DOMAIN_MAX = 253,
	CN_HOST_MAX = 253,
	/* The whole signature line: prefix, 88 characters of base64, '\n'. */
	CN_PEERLIST_SIG_LINE_LEN = sizeof(CN_PEERLIST_SIG_PREFIX) - 1 + CN_SIG_TEXT_LEN + 1,
};

struct cn_pl_relay {
	char name[CN_NAME_MAX + 1];
	uint8_t key[CN_KEY_LEN];   /* Ed25519 public key */
	uint8_t x_key[CN_KEY_LEN]; /* its X25519 form, the Noise static key */
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
	char (*groups)[CN_NAME_MAX + 1]; /* ngroups names, owned by the list */
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
	/*
	 * Lookup indexes into peers[] (npeers entries each, sorted), rebuilt
	 * after every change. NULL when npeers is 0. by_xkey sorts by x_key.
	 */
	size_t *by_key, *by_name, *by_ip4, *by_ip6, *by_xkey;
};

/*
 * Checks the signature line of buf against root_pk. On success *body_len
 * is the length of the signed text (everything before the signature line).
 * -CN_ESIG if the line is missing, malformed, not the last line, appears
 * twice, or the signature is wrong; -CN_ETOOBIG over CN_PEERLIST_MAX_BYTES.
 * Looks at bytes only: it does not parse.
 */
int cn_peerlist_verify(const uint8_t *buf, size_t len, const uint8_t root_pk[static CN_KEY_LEN],
		       size_t *body_len, struct cn_errbuf *e);

/*
 * Signs body (which must end in '\n' and hold no "cairn-signature:") with
 * the root identity. *out (malloc'd, caller frees) receives body followed by
 * the signature line and a terminating NUL; *out_len its length without the
 * NUL. Signs bytes as given: run cn_peerlist_parse on body first.
 */
int cn_peerlist_sign(const uint8_t *body, size_t len, const struct cn_identity *root, char **out,
		     size_t *out_len, struct cn_errbuf *e);

/*
 * Parses and validates text without checking any signature (for the
 * editing tools). A trailing signature line, if present, is a comment to
 * libconfig and so ignored. On success *out is a new list
 * (cn_peerlist_free). Errors: -CN_ETOOBIG (size or count caps), -CN_EFORMAT
 * (syntax, types, values, unknown settings), -CN_EKEY (unusable key),
 * -CN_EEXIST (duplicate name, key or address), -CN_ENOMEM. e gets one line,
 * "line N: " first when the line is known.
 */
int cn_peerlist_parse(const uint8_t *buf, size_t len, struct cn_peerlist **out,
		      struct cn_errbuf *e);

/*
 * What daemons call: verify against root_pk, parse the signed part,
 * validate, refuse a peer or relay using the root key itself (-CN_EKEY),
 * then refuse a serial lower than held_serial (-CN_EROLLBACK; pass 0 when
 * none is held; an equal serial is accepted) and a list whose expiry is
 * <= now (unix seconds; -CN_EEXPIRED).
 */
int cn_peerlist_load(const uint8_t *buf, size_t len, const uint8_t root_pk[static CN_KEY_LEN],
		     int64_t held_serial, int64_t now, struct cn_peerlist **out,
		     struct cn_errbuf *e);

/*
 * The one rule for "may this list replace the one held", used by the node
 * and the relay for every source (a file, the state copy, a relay's
 * LIST_CHUNKs, an upload): cn_peerlist_load's checks (signature, parse,
 * serial not below held's, not expired at now), then the same network as
 * held (-CN_EFORMAT otherwise). held may be NULL (nothing held yet: any
 * network). Returns 0 with *out a new list (caller owns) when it replaces
 * held, 0 with *out NULL when it has held's serial (nothing new).
 * peerlist_update.c.
 */
int cn_peerlist_load_update(const uint8_t *buf, size_t len,
			    const uint8_t root_pk[static CN_KEY_LEN],
			    const struct cn_peerlist *held, int64_t now, struct cn_peerlist **out,
			    struct cn_errbuf *e);

/* Frees the list and everything it owns; NULL is a no-op. */
void cn_peerlist_free(struct cn_peerlist *pl);

/* Lookups: O(log n); NULL when absent. Pointers live until the list changes. */
const struct cn_pl_peer *cn_peerlist_find_key(const struct cn_peerlist *pl,
					      const uint8_t key[static CN_KEY_LEN]);
/* By X25519 key: who is behind a Noise static key. */
const struct cn_pl_peer *cn_peerlist_find_xkey(const struct cn_peerlist *pl,
					       const uint8_t x_key[static CN_KEY_LEN]);
const struct cn_pl_peer *cn_peerlist_find_name(const struct cn_peerlist *pl, const char *name);
const struct cn_pl_peer *cn_peerlist_find_ip4(const struct cn_peerlist *pl, const uint8_t ip4[4]);
const struct cn_pl_peer *cn_peerlist_find_ip6(const struct cn_peerlist *pl, const uint8_t ip6[16]);
/* Relays: linear (at most CN_PEERLIST_MAX_RELAYS). */
const struct cn_pl_relay *cn_peerlist_find_relay_key(const struct cn_peerlist *pl,
						     const uint8_t key[static CN_KEY_LEN]);
const struct cn_pl_relay *cn_peerlist_find_relay_name(const struct cn_peerlist *pl,
						      const char *name);
/*
 * Fills out[] with up to cap members of group (in peers[] order) and
 * returns how many members the group has in all (may exceed cap). Linear.
 */
size_t cn_peerlist_group_members(const struct cn_peerlist *pl, const char *group,
				 const struct cn_pl_peer **out, size_t cap);
bool cn_peer_in_group(const struct cn_pl_peer *p, const char *group);

/* Name rules: a lowercase DNS label [a-z0-9-]{1,63}, no leading/trailing '-'. */
bool cn_peerlist_name_valid(const char *name);

/*
 * True if both lists hold the same settings, relays and peers in the same
 * order (what cn_peerlist_format writes). Indexes are not compared.
 */
bool cn_peerlist_equal(const struct cn_peerlist *a, const struct cn_peerlist *b);

/*
 * Editing (peerlist_edit.c), for `cairn network init` and `cairn peers`.
 * Each validates its input with the rules of cn_peerlist_parse, refuses
 * duplicates with a precise reason in e, and leaves the list unchanged on
 * error. None of them touches serial: the caller bumps it before signing.
 */
/* A new empty list: serial 1, no expiry, no relays, no peers. */
int cn_peerlist_new(const char *network, const char *domain, const char *prefix4,
		    const char *prefix6, struct cn_peerlist **out, struct cn_errbuf *e);
/*
 * ip4/ip6 may be NULL: the lowest free host number (from 1) in the prefix
 * is assigned, the same host number in both when possible (given one, the
 * other follows it). groups may be NULL when ngroups is 0.
 * -CN_EEXIST name, key or address taken; -CN_EEXHAUSTED prefix full;
 * -CN_ETOOBIG CN_PEERLIST_MAX_PEERS reached.
 */
int cn_peerlist_add_peer(struct cn_peerlist *pl, const char *name,
			 const uint8_t key[static CN_KEY_LEN], const char *const *groups,
			 size_t ngroups, const char *ip4, const char *ip6, struct cn_errbuf *e);
/* -CN_ENOTFOUND if no peer has that name. Keeps the order of the others. */
int cn_peerlist_remove_peer(struct cn_peerlist *pl, const char *name, struct cn_errbuf *e);
/* port or stun_port 0 selects the default (443, 3478). */
int cn_peerlist_add_relay(struct cn_peerlist *pl, const char *name,
			  const uint8_t key[static CN_KEY_LEN], const char *host, uint16_t port,
			  uint16_t stun_port, struct cn_errbuf *e);
int cn_peerlist_remove_relay(struct cn_peerlist *pl, const char *name, struct cn_errbuf *e);
/*
 * Canonical text of the list (no signature line), parseable by
 * cn_peerlist_parse into an equal list: one line per setting, one line per
 * relay and per peer, in array order. *out is malloc'd, NUL-terminated;
 * *out_len excludes the NUL. -CN_ETOOBIG if the text plus a signature line
 * would exceed CN_PEERLIST_MAX_BYTES.
 */
int cn_peerlist_format(const struct cn_peerlist *pl, char **out, size_t *out_len);

#endif
