/* SPDX-License-Identifier: MIT */
/*
 * Building and editing peer lists, and their canonical text: what the CLI
 * (`cairn network init`, `cairn peers`) uses before signing.
 *
 * Every edit validates with the parser's own rules (peerlist_int.h),
 * prepares all memory first and commits last, so an error leaves the list
 * exactly as it was. No edit touches serial: the caller bumps it once per
 * signed release. Pure: no clock, no files, no logging.
 */
#include "crypto/peerlist.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "crypto/peerlist_int.h"

#define NAME_RULE "lowercase letters, digits and '-', 1 to 63, no '-' at either end"

/* Frees the five indexes; the caller rebuilds or drops the list. */
static void index_free(struct cn_peerlist *pl)
{
	free(pl->by_key);
	free(pl->by_name);
	free(pl->by_ip4);
	free(pl->by_ip6);
	free(pl->by_xkey);
	pl->by_key = pl->by_name = pl->by_ip4 = pl->by_ip6 = pl->by_xkey = NULL;
}

/*
 * Makes next (a copy of *pl with a new peers array) current: frees the old
 * peers array (not what its entries own) and indexes. Cannot fail.
 */
static void commit_peers(struct cn_peerlist *pl, const struct cn_peerlist *next)
{
	free(pl->peers);
	index_free(pl);
	*pl = *next;
}

/* A copy of pl over new_peers (n entries), indexed; pl itself untouched. */
static int stage_peers(const struct cn_peerlist *pl, struct cn_pl_peer *new_peers, size_t n,
		       struct cn_peerlist *next, struct cn_errbuf *e)
{
	int ret;

	*next = *pl;
	next->peers = new_peers;
	next->npeers = n;
	next->by_key = next->by_name = next->by_ip4 = next->by_ip6 = next->by_xkey = NULL;
	ret = cn_pl_index_build(next);
	if (ret)
		cn_errbuf_set(e, "out of memory indexing the peer list");
	return ret;
}

int cn_peerlist_new(const char *network, const char *domain, const char *prefix4,
		    const char *prefix6, struct cn_peerlist **out, struct cn_errbuf *e)
{
	char shown[CN_PL_SHOWN_LEN];
	struct cn_peerlist *pl = NULL;
	const char *why;
	int ret = -CN_EFORMAT;

	if (out)
		*out = NULL;
	if (!network || !domain || !prefix4 || !prefix6 || !out) {
		cn_errbuf_set(e, "peer list new: missing argument");
		return -CN_EINVAL;
	}
	if (!cn_peerlist_name_valid(network)) {
		cn_errbuf_set(e, "network name '%s' is not valid (" NAME_RULE ")",
			      cn_pl_shown(network, shown));
		goto out;
	}
	if (!cn_pl_domain_valid(domain)) {
		cn_errbuf_set(e,
			      "domain '%s' is not a valid DNS name (labels of " NAME_RULE
			      ", joined by '.')",
			      cn_pl_shown(domain, shown));
		goto out;
	}
	ret = -CN_ENOMEM;
	pl = calloc(1, sizeof(*pl));
	if (!pl) {
		cn_errbuf_set(e, "out of memory creating the peer list");
		goto out;
	}
	ret = -CN_EFORMAT;
	why = cn_pl_prefix_parse(AF_INET, prefix4, pl->prefix4, &pl->prefix4_len);
	if (why) {
		cn_errbuf_set(e, "prefix4 '%s' %s (like \"10.99.0.0/16\")",
			      cn_pl_shown(prefix4, shown), why);
		goto out;
	}
	why = cn_pl_prefix_parse(AF_INET6, prefix6, pl->prefix6, &pl->prefix6_len);
	if (why) {
		cn_errbuf_set(e, "prefix6 '%s' %s (like \"fd99:cafe::/64\")",
			      cn_pl_shown(prefix6, shown), why);
		goto out;
	}
	memcpy(pl->network, network, strlen(network) + 1);
	memcpy(pl->domain, domain, strlen(domain) + 1);
	pl->serial = 1;
	*out = pl;
	pl = NULL;
	ret = 0;
out:
	cn_peerlist_free(pl);
	return ret;
}

/*
 * Refuses key (and x_key, its X25519 form) when a peer or relay already
 * has it, or a key that differs only in the Ed25519 sign bit and so has
 * the same X25519 form. who names the entry being added.
 */
static int key_taken(const struct cn_peerlist *pl, const uint8_t key[static CN_KEY_LEN],
		     const uint8_t x_key[static CN_KEY_LEN], const char *who, struct cn_errbuf *e)
{
	const struct cn_pl_peer *p = cn_peerlist_find_xkey(pl, x_key);

	if (p) {
		if (memcmp(p->key, key, CN_KEY_LEN) == 0)
			cn_errbuf_set(e, "%s: key already used by peer '%s'", who, p->name);
		else
			cn_errbuf_set(e, "%s: key has the same X25519 form as the key of peer '%s'",
				      who, p->name);
		return -CN_EEXIST;
	}
	for (size_t i = 0; i < pl->nrelays; i++) {
		if (memcmp(pl->relays[i].x_key, x_key, CN_KEY_LEN) == 0) {
			cn_errbuf_set(e, "%s: key %s relay '%s'", who,
				      memcmp(pl->relays[i].key, key, CN_KEY_LEN) == 0
					      ? "already used by"
					      : "has the same X25519 form as the key of",
				      pl->relays[i].name);
			return -CN_EEXIST;
		}
	}
	return 0;
}

static int copy_groups(struct cn_pl_peer *p, const char *const *groups, size_t n, const char *who,
		       struct cn_errbuf *e)
{
	char shown[CN_PL_SHOWN_LEN];

	if (n > CN_PEERLIST_MAX_GROUPS) {
		cn_errbuf_set(e, "%s: %zu groups; at most %d are allowed", who, n,
			      CN_PEERLIST_MAX_GROUPS);
		return -CN_ETOOBIG;
	}
	if (n == 0)
		return 0;
	p->groups = calloc(n, sizeof(*p->groups));
	if (!p->groups) {
		cn_errbuf_set(e, "out of memory adding a peer");
		return -CN_ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		if (!cn_peerlist_name_valid(groups[i])) {
			cn_errbuf_set(e, "%s: group name '%s' is not valid (" NAME_RULE ")", who,
				      cn_pl_shown(groups[i], shown));
			return -CN_EFORMAT;
		}
		if (cn_peer_in_group(p, groups[i])) {
			cn_errbuf_set(e, "%s: group '%s' is listed twice", who, groups[i]);
			return -CN_EEXIST;
		}
		memcpy(p->groups[p->ngroups++], groups[i], strlen(groups[i]) + 1);
	}
	return 0;
}

/* ---- host numbers: the address bits below the prefix -------------------- */

static uint32_t host4_max(const struct cn_peerlist *pl)
{
	/* The last number is the broadcast address; prefix4_len is 8..30. */
	return (UINT32_C(1) << (32 - pl->prefix4_len)) - 2;
}

static uint64_t host6_max(const struct cn_peerlist *pl)
{
	unsigned int bits = 128 - pl->prefix6_len;

	return bits >= 64 ? UINT64_MAX : (UINT64_C(1) << bits) - 1;
}

static uint64_t host4_of(const struct cn_peerlist *pl, const uint8_t a[4])
{
	uint32_t v = ((uint32_t)a[0] << 24) | ((uint32_t)a[1] << 16) | ((uint32_t)a[2] << 8) | a[3];

	return v & ((UINT32_C(1) << (32 - pl->prefix4_len)) - 1);
}

/* The host number of an IPv6 address, or UINT64_MAX when over 64 bits. */
static uint64_t host6_of(const struct cn_peerlist *pl, const uint8_t a[16])
{
	uint64_t v = 0;

	/* Host bits above the low 64 mean a number no search will reach. */
	for (size_t i = 0; i < 8; i++) {
		unsigned int keep =
			pl->prefix6_len > 8 * i ? pl->prefix6_len - 8 * (unsigned int)i : 0;
		uint8_t m = keep >= 8 ? 0xff : (uint8_t)(0xff << (8 - keep));

		if (a[i] & (uint8_t)~m)
			return UINT64_MAX;
	}
	for (size_t i = 8; i < 16; i++)
		v = (v << 8) | a[i];
	return host6_max(pl) == UINT64_MAX ? v : v & host6_max(pl);
}

static void addr4_of(const struct cn_peerlist *pl, uint64_t h, uint8_t out[4])
{
	for (size_t i = 0; i < 4; i++)
		out[i] = pl->prefix4[i] | (uint8_t)(h >> (24 - 8 * i));
}

static void addr6_of(const struct cn_peerlist *pl, uint64_t h, uint8_t out[16])
{
	memcpy(out, pl->prefix6, 16);
	for (size_t i = 0; i < 8; i++)
		out[8 + i] |= (uint8_t)(h >> (56 - 8 * i));
}

static bool free4(const struct cn_peerlist *pl, uint64_t h, uint8_t out[4])
{
	if (h < 1 || h > host4_max(pl))
		return false;
	addr4_of(pl, h, out);
	return cn_peerlist_find_ip4(pl, out) == NULL;
}

static bool free6(const struct cn_peerlist *pl, uint64_t h, uint8_t out[16])
{
	if (h < 1 || h > host6_max(pl))
		return false;
	addr6_of(pl, h, out);
	return cn_peerlist_find_ip6(pl, out) == NULL;
}

/*
 * The lowest free host numbers. n peers hold at most n numbers per prefix,
 * so the lowest free one is at most n + 1, and the lowest free in both at
 * most 2n + 1.
 */
static int lowest4(const struct cn_peerlist *pl, uint8_t out[4], struct cn_errbuf *e)
{
	char pfx[CN_PL_PREFIX_TEXT];

	for (uint64_t h = 1; h <= (uint64_t)pl->npeers + 1; h++)
		if (free4(pl, h, out))
			return 0;
	cn_pl_prefix_text(AF_INET, pl->prefix4, pl->prefix4_len, pfx);
	cn_errbuf_set(e, "prefix4 %s has no free address", pfx);
	return -CN_EEXHAUSTED;
}

static int lowest6(const struct cn_peerlist *pl, uint8_t out[16], struct cn_errbuf *e)
{
	char pfx[CN_PL_PREFIX_TEXT];

	for (uint64_t h = 1; h <= (uint64_t)pl->npeers + 1; h++)
		if (free6(pl, h, out))
			return 0;
	cn_pl_prefix_text(AF_INET6, pl->prefix6, pl->prefix6_len, pfx);
	cn_errbuf_set(e, "prefix6 %s has no free address", pfx);
	return -CN_EEXHAUSTED;
}

/* A given address: valid for the prefix and free. */
static int take_given(const struct cn_peerlist *pl, int af, const char *s, uint8_t *out,
		      const char *who, struct cn_errbuf *e)
{
	char shown[CN_PL_SHOWN_LEN], pfx[CN_PL_PREFIX_TEXT], a[INET6_ADDRSTRLEN];
	const struct cn_pl_peer *p;
	const char *why;

	why = af == AF_INET ? cn_pl_ip4_parse(pl, s, out) : cn_pl_ip6_parse(pl, s, out);
	if (why) {
		if (af == AF_INET)
			cn_pl_prefix_text(af, pl->prefix4, pl->prefix4_len, pfx);
		else
			cn_pl_prefix_text(af, pl->prefix6, pl->prefix6_len, pfx);
		cn_errbuf_set(e, "%s: %s '%s' %s %s", who, af == AF_INET ? "ipv4" : "ipv6",
			      cn_pl_shown(s, shown), why, pfx);
		return -CN_EFORMAT;
	}
	p = af == AF_INET ? cn_peerlist_find_ip4(pl, out) : cn_peerlist_find_ip6(pl, out);
	if (p) {
		cn_errbuf_set(e, "%s: %s %s already used by peer '%s'", who,
			      af == AF_INET ? "ipv4" : "ipv6",
			      inet_ntop(af, out, a, sizeof(a)) ? a : "?", p->name);
		return -CN_EEXIST;
	}
	return 0;
}

static int choose_addresses(const struct cn_peerlist *pl, const char *ip4, const char *ip6,
			    uint8_t out4[4], uint8_t out6[16], const char *who, struct cn_errbuf *e)
{
	int ret;

	if (ip4) {
		ret = take_given(pl, AF_INET, ip4, out4, who, e);
		if (ret)
			return ret;
	}
	if (ip6) {
		ret = take_given(pl, AF_INET6, ip6, out6, who, e);
		if (ret)
			return ret;
	}
	if (ip4 && ip6)
		return 0;
	/* One given: the other follows its host number when that one is free. */
	if (ip4)
		return free6(pl, host4_of(pl, out4), out6) ? 0 : lowest6(pl, out6, e);
	if (ip6)
		return free4(pl, host6_of(pl, out6), out4) ? 0 : lowest4(pl, out4, e);
	for (uint64_t h = 1; h <= 2 * (uint64_t)pl->npeers + 1; h++)
		if (free4(pl, h, out4) && free6(pl, h, out6))
			return 0;
	ret = lowest4(pl, out4, e);
	return ret ? ret : lowest6(pl, out6, e);
}

int cn_peerlist_add_peer(struct cn_peerlist *pl, const char *name,
			 const uint8_t key[static CN_KEY_LEN], const char *const *groups,
			 size_t ngroups, const char *ip4, const char *ip6, struct cn_errbuf *e)
{
	char shown[CN_PL_SHOWN_LEN], who[CN_NAME_MAX + 16];
	struct cn_pl_peer p = {0};
	struct cn_pl_peer *peers = NULL;
	struct cn_peerlist next;
	int ret = -CN_EFORMAT;

	if (!pl || !name || !key || (ngroups && !groups)) {
		cn_errbuf_set(e, "add peer: missing argument");
		return -CN_EINVAL;
	}
	if (!cn_peerlist_name_valid(name)) {
		cn_errbuf_set(e, "peer name '%s' is not valid (" NAME_RULE ")",
			      cn_pl_shown(name, shown));
		goto out;
	}
	snprintf(who, sizeof(who), "peer '%s'", name);
	ret = -CN_ETOOBIG;
	if (pl->npeers >= CN_PEERLIST_MAX_PEERS) {
		cn_errbuf_set(e, "%s: the list already has %d peers, the limit", who,
			      CN_PEERLIST_MAX_PEERS);
		goto out;
	}
	ret = -CN_EEXIST;
	if (cn_peerlist_find_name(pl, name)) {
		cn_errbuf_set(e, "%s already exists", who);
		goto out;
	}
	ret = -CN_EKEY;
	if (cn_key_ed_to_x(key, p.x_key) != 0) {
		cn_errbuf_set(e, "%s: key is not a usable Ed25519 public key", who);
		goto out;
	}
	ret = key_taken(pl, key, p.x_key, who, e);
	if (ret)
		goto out;
	ret = copy_groups(&p, groups, ngroups, who, e);
	if (ret)
		goto out;
	ret = choose_addresses(pl, ip4, ip6, p.ip4, p.ip6, who, e);
	if (ret)
		goto out;
	memcpy(p.name, name, strlen(name) + 1);
	memcpy(p.key, key, CN_KEY_LEN);

	ret = -CN_ENOMEM;
	peers = malloc((pl->npeers + 1) * sizeof(*peers));
	if (!peers) {
		cn_errbuf_set(e, "out of memory adding a peer");
		goto out;
	}
	if (pl->npeers)
		memcpy(peers, pl->peers, pl->npeers * sizeof(*peers));
	peers[pl->npeers] = p;
	ret = stage_peers(pl, peers, pl->npeers + 1, &next, e);
	if (ret)
		goto out;
	commit_peers(pl, &next);
	/* The list owns both now. */
	peers = NULL;
	p.groups = NULL;
	ret = 0;
out:
	free(peers);
	cn_pl_peer_wipe(&p);
	return ret;
}

int cn_peerlist_remove_peer(struct cn_peerlist *pl, const char *name, struct cn_errbuf *e)
{
	char shown[CN_PL_SHOWN_LEN];
	struct cn_pl_peer *peers = NULL, gone;
	struct cn_peerlist next;
	const struct cn_pl_peer *p;
	size_t i, n;
	int ret;

	if (!pl || !name) {
		cn_errbuf_set(e, "remove peer: missing argument");
		return -CN_EINVAL;
	}
	p = cn_peerlist_find_name(pl, name);
	if (!p) {
		cn_errbuf_set(e, "no peer named '%s'", cn_pl_shown(name, shown));
		return -CN_ENOTFOUND;
	}
	i = (size_t)(p - pl->peers);
	n = pl->npeers - 1;
	if (n) {
		peers = malloc(n * sizeof(*peers));
		if (!peers) {
			cn_errbuf_set(e, "out of memory removing a peer");
			return -CN_ENOMEM;
		}
		memcpy(peers, pl->peers, i * sizeof(*peers));
		memcpy(peers + i, pl->peers + i + 1, (n - i) * sizeof(*peers));
	}
	ret = stage_peers(pl, peers, n, &next, e);
	if (ret) {
		free(peers);
		return ret;
	}
	gone = pl->peers[i];
	commit_peers(pl, &next);
	cn_pl_peer_wipe(&gone);
	return 0;
}

int cn_peerlist_add_relay(struct cn_peerlist *pl, const char *name,
			  const uint8_t key[static CN_KEY_LEN], const char *host, uint16_t port,
			  uint16_t stun_port, struct cn_errbuf *e)
{
	char shown[CN_PL_SHOWN_LEN], who[CN_NAME_MAX + 16];
	struct cn_pl_relay r = {0}, *relays;
	int ret;

	if (!pl || !name || !key || !host) {
		cn_errbuf_set(e, "add relay: missing argument");
		return -CN_EINVAL;
	}
	if (!cn_peerlist_name_valid(name)) {
		cn_errbuf_set(e, "relay name '%s' is not valid (" NAME_RULE ")",
			      cn_pl_shown(name, shown));
		return -CN_EFORMAT;
	}
	snprintf(who, sizeof(who), "relay '%s'", name);
	if (pl->nrelays >= CN_PEERLIST_MAX_RELAYS) {
		cn_errbuf_set(e, "%s: the list already has %d relays, the limit", who,
			      CN_PEERLIST_MAX_RELAYS);
		return -CN_ETOOBIG;
	}
	if (cn_peerlist_find_relay_name(pl, name)) {
		cn_errbuf_set(e, "%s already exists", who);
		return -CN_EEXIST;
	}
	if (cn_key_ed_to_x(key, r.x_key) != 0) {
		cn_errbuf_set(e, "%s: key is not a usable Ed25519 public key", who);
		return -CN_EKEY;
	}
	ret = key_taken(pl, key, r.x_key, who, e);
	if (ret)
		return ret;
	if (!cn_pl_host_valid(host)) {
		cn_errbuf_set(e, "%s: host '%s' is not an IP address or a hostname", who,
			      cn_pl_shown(host, shown));
		return -CN_EFORMAT;
	}
	relays = realloc(pl->relays, (pl->nrelays + 1) * sizeof(*relays));
	if (!relays) {
		cn_errbuf_set(e, "out of memory adding a relay");
		return -CN_ENOMEM;
	}
	pl->relays = relays;
	memcpy(r.name, name, strlen(name) + 1);
	memcpy(r.key, key, CN_KEY_LEN);
	memcpy(r.host, host, strlen(host) + 1);
	r.port = port ? port : CN_PL_PORT_DEFAULT;
	r.stun_port = stun_port ? stun_port : CN_PL_STUN_PORT_DEFAULT;
	pl->relays[pl->nrelays++] = r;
	return 0;
}

int cn_peerlist_remove_relay(struct cn_peerlist *pl, const char *name, struct cn_errbuf *e)
{
	char shown[CN_PL_SHOWN_LEN];
	const struct cn_pl_relay *r;
	size_t i;

	if (!pl || !name) {
		cn_errbuf_set(e, "remove relay: missing argument");
		return -CN_EINVAL;
	}
	r = cn_peerlist_find_relay_name(pl, name);
	if (!r) {
		cn_errbuf_set(e, "no relay named '%s'", cn_pl_shown(name, shown));
		return -CN_ENOTFOUND;
	}
	i = (size_t)(r - pl->relays);
	memmove(&pl->relays[i], &pl->relays[i + 1], (pl->nrelays - i - 1) * sizeof(*pl->relays));
	if (--pl->nrelays == 0) {
		free(pl->relays);
		pl->relays = NULL;
	}
	return 0;
}

/* ---- canonical text ----------------------------------------------------- */

/* A growing text buffer; once bad, every append is a no-op. */
struct sb {
	char *p;
	size_t len, cap;
	int err;
};

__attribute__((format(printf, 2, 3))) static void sb_printf(struct sb *b, const char *fmt, ...)
{
	va_list ap;
	size_t need, cap;
	char *p;
	int n;

	if (b->err)
		return;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->err = -CN_EFORMAT;
		return;
	}
	need = b->len + (size_t)n + 1;
	/* Stop early: text this long would not parse once signed. */
	if (need > CN_PEERLIST_MAX_BYTES) {
		b->err = -CN_ETOOBIG;
		return;
	}
	if (need > b->cap) {
		cap = b->cap ? b->cap : 4096;
		while (cap < need)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p) {
			b->err = -CN_ENOMEM;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* int64 needs libconfig's L suffix outside the int32 range. */
static const char *int_suffix(int64_t v)
{
	return (v < INT32_MIN || v > INT32_MAX) ? "L" : "";
}

/*
 * Every string written must be valid for the parser: this also keeps a
 * hand-changed list from injecting quotes or settings into the text.
 */
static bool list_writable(const struct cn_peerlist *pl)
{
	if (!cn_peerlist_name_valid(pl->network) || !cn_pl_domain_valid(pl->domain) ||
	    pl->serial <= 0 || pl->expires < 0 || pl->prefix4_len < CN_PL_PREFIX4_MIN ||
	    pl->prefix4_len > CN_PL_PREFIX4_MAX || pl->prefix6_len < CN_PL_PREFIX6_MIN ||
	    pl->prefix6_len > CN_PL_PREFIX6_MAX || pl->nrelays > CN_PEERLIST_MAX_RELAYS ||
	    pl->npeers > CN_PEERLIST_MAX_PEERS)
		return false;
	for (size_t i = 0; i < pl->nrelays; i++)
		if (!cn_peerlist_name_valid(pl->relays[i].name) ||
		    !cn_pl_host_valid(pl->relays[i].host) || pl->relays[i].port == 0 ||
		    pl->relays[i].stun_port == 0)
			return false;
	for (size_t i = 0; i < pl->npeers; i++) {
		const struct cn_pl_peer *p = &pl->peers[i];

		if (!cn_peerlist_name_valid(p->name) || p->ngroups > CN_PEERLIST_MAX_GROUPS)
			return false;
		for (size_t j = 0; j < p->ngroups; j++)
			if (!cn_peerlist_name_valid(p->groups[j]))
				return false;
	}
	return true;
}

int cn_peerlist_format(const struct cn_peerlist *pl, char **out, size_t *out_len)
{
	char pfx[CN_PL_PREFIX_TEXT], key[CN_KEY_TEXT_LEN + 1];
	char a4[INET_ADDRSTRLEN], a6[INET6_ADDRSTRLEN];
	struct sb b = {0};

	if (out)
		*out = NULL;
	if (out_len)
		*out_len = 0;
	if (!pl || !out || !out_len)
		return -CN_EINVAL;
	if (!list_writable(pl))
		return -CN_EFORMAT;
	sb_printf(&b, "version = %d;\n", CN_PEERLIST_VERSION);
	sb_printf(&b, "network = \"%s\";\n", pl->network);
	sb_printf(&b, "serial = %lld%s;\n", (long long)pl->serial, int_suffix(pl->serial));
	if (pl->expires)
		sb_printf(&b, "expires = %lld%s;\n", (long long)pl->expires,
			  int_suffix(pl->expires));
	sb_printf(&b, "domain = \"%s\";\n", pl->domain);
	cn_pl_prefix_text(AF_INET, pl->prefix4, pl->prefix4_len, pfx);
	sb_printf(&b, "prefix4 = \"%s\";\n", pfx);
	cn_pl_prefix_text(AF_INET6, pl->prefix6, pl->prefix6_len, pfx);
	sb_printf(&b, "prefix6 = \"%s\";\n", pfx);

	sb_printf(&b, "relays = (\n");
	for (size_t i = 0; i < pl->nrelays; i++) {
		const struct cn_pl_relay *r = &pl->relays[i];

		cn_key_to_text(r->key, key);
		sb_printf(&b,
			  "\t{ name = \"%s\"; key = \"%s\"; host = \"%s\"; port = %u; "
			  "stun_port = %u; }%s\n",
			  r->name, key, r->host, (unsigned int)r->port, (unsigned int)r->stun_port,
			  i + 1 < pl->nrelays ? "," : "");
	}
	sb_printf(&b, ");\n");

	sb_printf(&b, "peers = (\n");
	for (size_t i = 0; i < pl->npeers; i++) {
		const struct cn_pl_peer *p = &pl->peers[i];

		cn_key_to_text(p->key, key);
		if (!inet_ntop(AF_INET, p->ip4, a4, sizeof(a4)) ||
		    !inet_ntop(AF_INET6, p->ip6, a6, sizeof(a6))) {
			b.err = -CN_EFORMAT;
			break;
		}
		sb_printf(
			&b,
			"\t{ name = \"%s\"; key = \"%s\"; ipv4 = \"%s\"; ipv6 = \"%s\"; groups = [",
			p->name, key, a4, a6);
		for (size_t j = 0; j < p->ngroups; j++)
			sb_printf(&b, "%s \"%s\"", j ? "," : "", p->groups[j]);
		sb_printf(&b, " ]; }%s\n", i + 1 < pl->npeers ? "," : "");
	}
	sb_printf(&b, ");\n");

	/* Room for the signature line, so the signed file stays under the cap. */
	if (!b.err && b.len + CN_PEERLIST_SIG_LINE_LEN > CN_PEERLIST_MAX_BYTES)
		b.err = -CN_ETOOBIG;
	if (b.err) {
		free(b.p);
		return b.err;
	}
	*out = b.p;
	*out_len = b.len;
	return 0;
}
