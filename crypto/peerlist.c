/* SPDX-License-Identifier: MIT */
/*
 * The signed peer list's parse: strict reading and validation of the
 * libconfig text into a struct cn_peerlist, and the load that checks the
 * signature first (peerlist.h). Beside it: peerlist_sig.c (the signature),
 * peerlist_text.c (names, hosts, prefixes and addresses as text),
 * peerlist_index.c (the indexes and lookups), peerlist_edit.c (building
 * and editing a list's text) and peerlist_update.c (the update rules).
 *
 * The bytes come from relays and files, so every input is hostile until
 * the signature checks out, and still treated with care after: libconfig
 * 1.5 never sees a NUL byte, an @include, an integer it would silently
 * wrap, or shapes that make it slow (cn_cfg_prescan). Every refusal leaves
 * a one-line reason in the cn_errbuf, with the line number when known.
 *
 * Pure: no clock reads (now is a parameter), no logging, no file access
 * (libconfig's include directory points nowhere as a second guard).
 */
#include "crypto/peerlist.h"

#include "common/cfg_guard.h"

#include <arpa/inet.h>
#include <libconfig.h>
#include <limits.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "crypto/peerlist_int.h"

#define NO_INCLUDE_DIR "/nonexistent/cairn-peerlist-has-no-includes"
#define NAME_RULE      "lowercase letters, digits and '-', 1 to 63, no '-' at either end"

/* ---- reading settings --------------------------------------------------- */

/* The group being read and how messages name it ("", "peer 'x': "). */
struct where {
	const config_setting_t *g;
	char who[CN_NAME_MAX + 24];
	struct cn_errbuf *e;
};

static unsigned int line_of(const config_setting_t *s)
{
	return s ? config_setting_source_line(s) : 0;
}

static int missing(const struct where *w, const char *name)
{
	return cn_cfg_fail(w->e, line_of(w->g), -CN_EFORMAT, "%smissing setting '%s'", w->who,
			   name);
}

/*
 * Gets member name of w->g as a string: 0 and *v if present, 1 if absent,
 * negative (message set) if of another type. libconfig's lookup helpers
 * would report a wrong type as absent.
 */
static int get_string(const struct where *w, const char *name, const char **v, unsigned int *line)
{
	const config_setting_t *s = config_setting_get_member(w->g, name);

	*v = NULL;
	*line = line_of(w->g);
	if (!s)
		return 1;
	*line = line_of(s);
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return cn_cfg_fail(w->e, *line, -CN_EFORMAT,
				   "%s'%s' must be a string in double quotes", w->who, name);
	*v = config_setting_get_string(s);
	return *v ? 0 : cn_cfg_fail(w->e, *line, -CN_EFORMAT, "%s'%s' is empty", w->who, name);
}

/* As get_string, for an integer (32-bit, or 64-bit written with L). */
static int get_integer(const struct where *w, const char *name, long long *v, unsigned int *line)
{
	const config_setting_t *s = config_setting_get_member(w->g, name);

	*v = 0;
	*line = line_of(w->g);
	if (!s)
		return 1;
	*line = line_of(s);
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
		*v = config_setting_get_int(s);
		return 0;
	case CONFIG_TYPE_INT64:
		*v = config_setting_get_int64(s);
		return 0;
	default:
		return cn_cfg_fail(w->e, *line, -CN_EFORMAT, "%s'%s' must be an integer", w->who,
				   name);
	}
}

/* Refuses settings not in known (NULL-terminated): typos must not pass. */
static int check_known(const struct where *w, const char *const *known)
{
	int n = config_setting_length(w->g);

	for (int i = 0; i < n; i++) {
		const config_setting_t *s = config_setting_get_elem(w->g, (unsigned int)i);
		const char *name = s ? config_setting_name(s) : NULL;
		bool ok = false;

		for (size_t k = 0; name && known[k] && !ok; k++)
			ok = strcmp(name, known[k]) == 0;
		if (!ok)
			return cn_cfg_fail(w->e, line_of(s), -CN_EFORMAT,
					   "%sunknown setting '%.40s'", w->who, name ? name : "?");
	}
	return 0;
}

/* A required name setting, validated and copied to out. */
static int read_name(const struct where *w, const char *setting, const char *what,
		     char out[static CN_NAME_MAX + 1])
{
	char shown[CN_PL_SHOWN_LEN];
	const char *s;
	unsigned int line;
	int ret = get_string(w, setting, &s, &line);

	if (ret < 0)
		return ret;
	if (ret > 0)
		return missing(w, setting);
	if (!cn_peerlist_name_valid(s))
		return cn_cfg_fail(w->e, line, -CN_EFORMAT,
				   "%s%s '%s' is not valid (" NAME_RULE ")", w->who, what,
				   cn_pl_shown(s, shown));
	memcpy(out, s, strlen(s) + 1);
	return 0;
}

static int read_key(const struct where *w, uint8_t key[static CN_KEY_LEN],
		    uint8_t x_key[static CN_KEY_LEN])
{
	char shown[CN_PL_SHOWN_LEN];
	const char *s;
	unsigned int line;
	size_t n;
	int ret = get_string(w, "key", &s, &line);

	if (ret < 0)
		return ret;
	if (ret > 0)
		return missing(w, "key");
	n = strlen(s);
	if (n != CN_KEY_TEXT_LEN)
		return cn_cfg_fail(w->e, line, -CN_EKEY,
				   "%skey is %zu characters; expected %d of base64", w->who, n,
				   CN_KEY_TEXT_LEN);
	if (!cn_b64_canonical(s, n) || cn_key_from_text(s, n, key) != 0 ||
	    cn_key_ed_to_x(key, x_key) != 0)
		return cn_cfg_fail(w->e, line, -CN_EKEY,
				   "%skey '%s' is not a usable Ed25519 public key", w->who,
				   cn_pl_shown(s, shown));
	return 0;
}

/* An optional port: def when absent, else 1..65535. */
static int read_port(const struct where *w, const char *name, uint16_t def, uint16_t *port)
{
	long long v;
	unsigned int line;
	int ret = get_integer(w, name, &v, &line);

	*port = def;
	if (ret < 0)
		return ret;
	if (ret > 0)
		return 0;
	if (v < 1 || v > 65535)
		return cn_cfg_fail(w->e, line, -CN_EFORMAT,
				   "%s%s %lld is out of range (1 to 65535)", w->who, name, v);
	*port = (uint16_t)v;
	return 0;
}

/*
 * Names an entry for messages: "peer 'board1': " once its name reads as a
 * valid name, "peer #3: " (1-based) before or otherwise.
 */
static void entry_label(struct where *w, const char *kind, size_t idx)
{
	const config_setting_t *s = config_setting_get_member(w->g, "name");
	const char *name = s && config_setting_type(s) == CONFIG_TYPE_STRING
				   ? config_setting_get_string(s)
				   : NULL;

	if (cn_peerlist_name_valid(name))
		snprintf(w->who, sizeof(w->who), "%s '%s': ", kind, name);
	else
		snprintf(w->who, sizeof(w->who), "%s #%zu: ", kind, idx + 1);
}

static int read_top(const config_setting_t *root, struct cn_peerlist *pl, struct cn_errbuf *e)
{
	static const char *const known[] = {"version", "network", "serial", "expires", "domain",
					    "prefix4", "prefix6", "relays", "peers",   NULL};
	struct where w = {.g = root, .who = "", .e = e};
	char shown[CN_PL_SHOWN_LEN];
	const char *s, *why;
	long long v;
	unsigned int line;
	int ret;

	/* Version first: a newer format gets "unsupported", not "unknown setting". */
	ret = get_integer(&w, "version", &v, &line);
	if (ret)
		return ret < 0 ? ret : missing(&w, "version");
	if (v != CN_PEERLIST_VERSION)
		return cn_cfg_fail(e, line, -CN_EFORMAT,
				   "unsupported version %lld (this build reads %d)", v,
				   CN_PEERLIST_VERSION);
	ret = check_known(&w, known);
	if (ret)
		return ret;
	ret = read_name(&w, "network", "network name", pl->network);
	if (ret)
		return ret;

	ret = get_integer(&w, "serial", &v, &line);
	if (ret)
		return ret < 0 ? ret : missing(&w, "serial");
	if (v <= 0)
		return cn_cfg_fail(e, line, -CN_EFORMAT, "serial %lld must be greater than 0", v);
	pl->serial = v;

	ret = get_integer(&w, "expires", &v, &line);
	if (ret < 0)
		return ret;
	if (ret == 0 && v < 0)
		return cn_cfg_fail(e, line, -CN_EFORMAT,
				   "expires %lld must be 0 (never) or a time in unix seconds", v);
	pl->expires = ret == 0 ? v : 0;

	ret = get_string(&w, "domain", &s, &line);
	if (ret)
		return ret < 0 ? ret : missing(&w, "domain");
	if (!cn_pl_domain_valid(s))
		return cn_cfg_fail(e, line, -CN_EFORMAT,
				   "domain '%s' is not a valid DNS name (labels of " NAME_RULE
				   ", joined by '.')",
				   cn_pl_shown(s, shown));
	memcpy(pl->domain, s, strlen(s) + 1);

	ret = get_string(&w, "prefix4", &s, &line);
	if (ret)
		return ret < 0 ? ret : missing(&w, "prefix4");
	why = cn_pl_prefix_parse(AF_INET, s, pl->prefix4, &pl->prefix4_len);
	if (why)
		return cn_cfg_fail(e, line, -CN_EFORMAT, "prefix4 '%s' %s (like \"10.99.0.0/16\")",
				   cn_pl_shown(s, shown), why);

	ret = get_string(&w, "prefix6", &s, &line);
	if (ret)
		return ret < 0 ? ret : missing(&w, "prefix6");
	why = cn_pl_prefix_parse(AF_INET6, s, pl->prefix6, &pl->prefix6_len);
	if (why)
		return cn_cfg_fail(e, line, -CN_EFORMAT,
				   "prefix6 '%s' %s (like \"fd99:cafe::/64\")",
				   cn_pl_shown(s, shown), why);
	return 0;
}

/*
 * The list setting name of root (absent: 0 entries), checked to be a list
 * of at most max groups. *n is its length.
 */
static int get_list(const config_setting_t *root, const char *name, size_t max,
		    const config_setting_t **list, size_t *n, struct cn_errbuf *e)
{
	const config_setting_t *s = config_setting_get_member(root, name);
	int len;

	*list = NULL;
	*n = 0;
	if (!s)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_LIST)
		return cn_cfg_fail(e, line_of(s), -CN_EFORMAT,
				   "'%s' must be a list of groups: %s = ( { ... }, { ... } );",
				   name, name);
	len = config_setting_length(s);
	if (len < 0 || (size_t)len > max)
		return cn_cfg_fail(e, line_of(s), -CN_ETOOBIG, "%d %s; at most %zu are allowed",
				   len, name, max);
	*list = s;
	*n = (size_t)len;
	return 0;
}

/* Element idx of a list, checked to be a group; w is set up to read it. */
static int get_entry(const config_setting_t *list, size_t idx, const char *kind, struct where *w)
{
	const config_setting_t *g = config_setting_get_elem(list, (unsigned int)idx);

	w->g = g;
	if (!g || config_setting_type(g) != CONFIG_TYPE_GROUP)
		return cn_cfg_fail(w->e, g ? line_of(g) : line_of(list), -CN_EFORMAT,
				   "%s #%zu must be a group { name = ...; ... }", kind, idx + 1);
	entry_label(w, kind, idx);
	return 0;
}

static int read_relay(const config_setting_t *list, size_t idx, struct cn_pl_relay *r,
		      struct cn_errbuf *e)
{
	static const char *const known[] = {"name", "key", "host", "port", "stun_port", NULL};
	struct where w = {.e = e};
	char shown[CN_PL_SHOWN_LEN];
	const char *s;
	unsigned int line;
	int ret;

	ret = get_entry(list, idx, "relay", &w);
	if (!ret)
		ret = check_known(&w, known);
	if (!ret)
		ret = read_name(&w, "name", "name", r->name);
	if (!ret)
		ret = read_key(&w, r->key, r->x_key);
	if (ret)
		return ret;
	ret = get_string(&w, "host", &s, &line);
	if (ret)
		return ret < 0 ? ret : missing(&w, "host");
	if (!cn_pl_host_valid(s))
		return cn_cfg_fail(e, line, -CN_EFORMAT,
				   "%shost '%s' is not an IP address or a hostname", w.who,
				   cn_pl_shown(s, shown));
	memcpy(r->host, s, strlen(s) + 1);
	ret = read_port(&w, "port", CN_PL_PORT_DEFAULT, &r->port);
	if (!ret)
		ret = read_port(&w, "stun_port", CN_PL_STUN_PORT_DEFAULT, &r->stun_port);
	return ret;
}

static int read_groups(const struct where *w, struct cn_pl_peer *p)
{
	const config_setting_t *gs = config_setting_get_member(w->g, "groups");
	char shown[CN_PL_SHOWN_LEN];
	int n;

	if (!gs)
		return 0;
	if (config_setting_type(gs) != CONFIG_TYPE_ARRAY)
		return cn_cfg_fail(
			w->e, line_of(gs), -CN_EFORMAT,
			"%s'groups' must be an array of names: groups = [ \"a\", \"b\" ];", w->who);
	n = config_setting_length(gs);
	if (n < 0 || n > CN_PEERLIST_MAX_GROUPS)
		return cn_cfg_fail(w->e, line_of(gs), -CN_ETOOBIG,
				   "%s%d groups; at most %d are allowed", w->who, n,
				   CN_PEERLIST_MAX_GROUPS);
	if (n == 0)
		return 0;
	p->groups = calloc((size_t)n, sizeof(*p->groups));
	if (!p->groups)
		return cn_cfg_fail(w->e, 0, -CN_ENOMEM, "out of memory reading the peer list");
	for (int i = 0; i < n; i++) {
		const config_setting_t *g = config_setting_get_elem(gs, (unsigned int)i);
		const char *s = g && config_setting_type(g) == CONFIG_TYPE_STRING
					? config_setting_get_string(g)
					: NULL;

		if (!s)
			return cn_cfg_fail(
				w->e, line_of(gs), -CN_EFORMAT,
				"%s'groups' must be an array of names: groups = [ \"a\", \"b\" ];",
				w->who);
		if (!cn_peerlist_name_valid(s))
			return cn_cfg_fail(w->e, line_of(gs), -CN_EFORMAT,
					   "%sgroup name '%s' is not valid (" NAME_RULE ")", w->who,
					   cn_pl_shown(s, shown));
		if (cn_peer_in_group(p, s))
			return cn_cfg_fail(w->e, line_of(gs), -CN_EEXIST,
					   "%sgroup '%s' is listed twice", w->who, s);
		memcpy(p->groups[p->ngroups++], s, strlen(s) + 1);
	}
	return 0;
}

static int read_peer(const config_setting_t *list, size_t idx, const struct cn_peerlist *pl,
		     struct cn_pl_peer *p, struct cn_errbuf *e)
{
	static const char *const known[] = {"name", "key", "ipv4", "ipv6", "groups", NULL};
	struct where w = {.e = e};
	char shown[CN_PL_SHOWN_LEN], pfx[CN_PL_PREFIX_TEXT];
	const char *s, *why;
	unsigned int line;
	int ret;

	ret = get_entry(list, idx, "peer", &w);
	if (!ret)
		ret = check_known(&w, known);
	if (!ret)
		ret = read_name(&w, "name", "name", p->name);
	if (!ret)
		ret = read_key(&w, p->key, p->x_key);
	if (ret)
		return ret;

	ret = get_string(&w, "ipv4", &s, &line);
	if (ret)
		return ret < 0 ? ret : missing(&w, "ipv4");
	why = cn_pl_ip4_parse(pl, s, p->ip4);
	if (why) {
		cn_pl_prefix_text(AF_INET, pl->prefix4, pl->prefix4_len, pfx);
		return cn_cfg_fail(e, line, -CN_EFORMAT, "%sipv4 '%s' %s %s", w.who,
				   cn_pl_shown(s, shown), why, pfx);
	}
	ret = get_string(&w, "ipv6", &s, &line);
	if (ret)
		return ret < 0 ? ret : missing(&w, "ipv6");
	why = cn_pl_ip6_parse(pl, s, p->ip6);
	if (why) {
		cn_pl_prefix_text(AF_INET6, pl->prefix6, pl->prefix6_len, pfx);
		return cn_cfg_fail(e, line, -CN_EFORMAT, "%sipv6 '%s' %s %s", w.who,
				   cn_pl_shown(s, shown), why, pfx);
	}
	return read_groups(&w, p);
}

static unsigned int member_line(const config_setting_t *list, size_t idx, const char *name)
{
	const config_setting_t *g = config_setting_get_elem(list, (unsigned int)idx);

	return line_of(g ? config_setting_get_member(g, name) : NULL);
}

/* How a clash of X25519 keys reads: the same key, or its sign-bit twin. */
static const char *clash_words(const uint8_t a[static CN_KEY_LEN],
			       const uint8_t b[static CN_KEY_LEN])
{
	return memcmp(a, b, CN_KEY_LEN) == 0 ? "already used by"
					     : "has the same X25519 form as the key of";
}

/* Names, keys and addresses must each name one peer; keys one peer or relay. */
static int check_unique(const struct cn_peerlist *pl, const config_setting_t *peers,
			const config_setting_t *relays, struct cn_errbuf *e)
{
	char a[INET6_ADDRSTRLEN];
	size_t d = 0, o = 0;

	if (cn_pl_first_dup(pl, CN_PL_IDX_NAME, &d, &o))
		return cn_cfg_fail(e, member_line(peers, d, "name"), -CN_EEXIST,
				   "peer '%s' is listed twice (first on line %u)",
				   pl->peers[d].name, member_line(peers, o, "name"));
	if (cn_pl_first_dup(pl, CN_PL_IDX_KEY, &d, &o))
		return cn_cfg_fail(e, member_line(peers, d, "key"), -CN_EEXIST,
				   "peer '%s': key already used by peer '%s'", pl->peers[d].name,
				   pl->peers[o].name);
	/* -P and P (the sign bit) differ as Ed25519 keys but share one X25519 key. */
	if (cn_pl_first_dup(pl, CN_PL_IDX_XKEY, &d, &o))
		return cn_cfg_fail(
			e, member_line(peers, d, "key"), -CN_EEXIST,
			"peer '%s': key has the same X25519 form as the key of peer '%s'",
			pl->peers[d].name, pl->peers[o].name);
	if (cn_pl_first_dup(pl, CN_PL_IDX_IP4, &d, &o))
		return cn_cfg_fail(e, member_line(peers, d, "ipv4"), -CN_EEXIST,
				   "peer '%s': ipv4 %s already used by peer '%s'",
				   pl->peers[d].name,
				   inet_ntop(AF_INET, pl->peers[d].ip4, a, sizeof(a)) ? a : "?",
				   pl->peers[o].name);
	if (cn_pl_first_dup(pl, CN_PL_IDX_IP6, &d, &o))
		return cn_cfg_fail(e, member_line(peers, d, "ipv6"), -CN_EEXIST,
				   "peer '%s': ipv6 %s already used by peer '%s'",
				   pl->peers[d].name,
				   inet_ntop(AF_INET6, pl->peers[d].ip6, a, sizeof(a)) ? a : "?",
				   pl->peers[o].name);
	for (size_t i = 0; i < pl->nrelays; i++) {
		const struct cn_pl_relay *r = &pl->relays[i];
		const struct cn_pl_peer *p;

		for (size_t j = 0; j < i; j++) {
			if (strcmp(r->name, pl->relays[j].name) == 0)
				return cn_cfg_fail(e, member_line(relays, i, "name"), -CN_EEXIST,
						   "relay '%s' is listed twice (first on line %u)",
						   r->name, member_line(relays, j, "name"));
			if (memcmp(r->x_key, pl->relays[j].x_key, CN_KEY_LEN) == 0)
				return cn_cfg_fail(e, member_line(relays, i, "key"), -CN_EEXIST,
						   "relay '%s': key %s relay '%s'", r->name,
						   clash_words(r->key, pl->relays[j].key),
						   pl->relays[j].name);
		}
		p = cn_peerlist_find_xkey(pl, r->x_key);
		if (p)
			return cn_cfg_fail(e, member_line(peers, (size_t)(p - pl->peers), "key"),
					   -CN_EEXIST, "peer '%s': key %s relay '%s'", p->name,
					   clash_words(p->key, r->key), r->name);
	}
	return 0;
}

/* The root key signs lists and stays offline: no node or relay may hold it. */
static int check_root(const struct cn_peerlist *pl, const uint8_t root_pk[static CN_KEY_LEN],
		      const config_setting_t *peers, const config_setting_t *relays,
		      struct cn_errbuf *e)
{
	uint8_t rx[CN_KEY_LEN];
	const struct cn_pl_peer *p;

	if (cn_key_ed_to_x(root_pk, rx) != 0)
		return cn_cfg_fail(e, 0, -CN_EKEY, "the network root key is not a usable key");
	for (size_t i = 0; i < pl->nrelays; i++)
		if (memcmp(pl->relays[i].x_key, rx, CN_KEY_LEN) == 0)
			return cn_cfg_fail(
				e, member_line(relays, i, "key"), -CN_EKEY,
				"relay '%s': key is the network root key, which must stay "
				"offline",
				pl->relays[i].name);
	p = cn_peerlist_find_xkey(pl, rx);
	if (p)
		return cn_cfg_fail(
			e, member_line(peers, (size_t)(p - pl->peers), "key"), -CN_EKEY,
			"peer '%s': key is the network root key, which must stay offline", p->name);
	return 0;
}

/* ---- parse and load ----------------------------------------------------- */

/* Parse and validate; with root_pk also refuse the root key as a member key. */
static int parse_list(const uint8_t *buf, size_t len, const uint8_t *root_pk,
		      struct cn_peerlist **out, struct cn_errbuf *e)
{
	config_t cfg;
	const config_setting_t *root, *relays, *peers;
	struct cn_peerlist *pl = NULL;
	char *text = NULL;
	bool cfg_live = false;
	size_t n;
	int ret;

	if (!out)
		return cn_cfg_fail(e, 0, -CN_EINVAL, "peer list parse: missing argument");
	*out = NULL;
	if (!buf && len)
		return cn_cfg_fail(e, 0, -CN_EINVAL, "peer list parse: missing argument");
	if (len > CN_PEERLIST_MAX_BYTES)
		return cn_cfg_fail(e, 0, -CN_ETOOBIG, "peer list is %zu bytes; the limit is %d",
				   len, CN_PEERLIST_MAX_BYTES);
	ret = cn_cfg_prescan((const char *)buf, len, CN_PEERLIST_MAX_PEERS, "a peer list", e);
	if (ret)
		return ret;
	ret = -CN_ENOMEM;
	/* libconfig reads a C string: our own copy with the terminator. */
	text = malloc(len + 1);
	pl = calloc(1, sizeof(*pl));
	if (!text || !pl) {
		cn_cfg_fail(e, 0, ret, "out of memory reading the peer list");
		goto out;
	}
	if (len)
		memcpy(text, buf, len);
	text[len] = '\0';
	config_init(&cfg);
	cfg_live = true;
	/* Second guard behind prescan: includes resolve under a directory that does not exist. */
	config_set_include_dir(&cfg, NO_INCLUDE_DIR);
	if (config_read_string(&cfg, text) != CONFIG_TRUE) {
		ret = cn_cfg_fail(
			e,
			(unsigned long)(config_error_line(&cfg) > 0 ? config_error_line(&cfg) : 0),
			-CN_EFORMAT, "%s",
			config_error_text(&cfg) ? config_error_text(&cfg) : "parse error");
		goto out;
	}
	root = config_root_setting(&cfg);
	ret = read_top(root, pl, e);
	if (ret)
		goto out;

	ret = get_list(root, "relays", CN_PEERLIST_MAX_RELAYS, &relays, &n, e);
	if (ret)
		goto out;
	ret = -CN_ENOMEM;
	if (n && !(pl->relays = calloc(n, sizeof(*pl->relays)))) {
		cn_cfg_fail(e, 0, ret, "out of memory reading the peer list");
		goto out;
	}
	for (pl->nrelays = 0; pl->nrelays < n; pl->nrelays++) {
		ret = read_relay(relays, pl->nrelays, &pl->relays[pl->nrelays], e);
		if (ret)
			goto out;
	}

	ret = get_list(root, "peers", CN_PEERLIST_MAX_PEERS, &peers, &n, e);
	if (ret)
		goto out;
	ret = -CN_ENOMEM;
	if (n && !(pl->peers = calloc(n, sizeof(*pl->peers)))) {
		cn_cfg_fail(e, 0, ret, "out of memory reading the peer list");
		goto out;
	}
	/* npeers counts the entry being read too, so cn_peerlist_free frees its groups. */
	for (size_t i = 0; i < n; i++) {
		pl->npeers = i + 1;
		ret = read_peer(peers, i, pl, &pl->peers[i], e);
		if (ret)
			goto out;
	}

	ret = cn_pl_index_build(pl);
	if (ret) {
		cn_cfg_fail(e, 0, ret, "out of memory indexing the peer list");
		goto out;
	}
	ret = check_unique(pl, peers, relays, e);
	if (ret)
		goto out;
	if (root_pk) {
		ret = check_root(pl, root_pk, peers, relays, e);
		if (ret)
			goto out;
	}
	*out = pl;
	pl = NULL;
	ret = 0;
out:
	if (cfg_live)
		config_destroy(&cfg);
	free(text);
	cn_peerlist_free(pl);
	return ret;
}

int cn_peerlist_parse(const uint8_t *buf, size_t len, struct cn_peerlist **out, struct cn_errbuf *e)
{
	return parse_list(buf, len, NULL, out, e);
}

int cn_peerlist_load(const uint8_t *buf, size_t len, const uint8_t root_pk[static CN_KEY_LEN],
		     int64_t held_serial, int64_t now, struct cn_peerlist **out,
		     struct cn_errbuf *e)
{
	struct cn_peerlist *pl = NULL;
	size_t body_len = 0;
	int ret;

	if (!out)
		return cn_cfg_fail(e, 0, -CN_EINVAL, "peer list load: missing argument");
	*out = NULL;
	/* Verify before parse: unsigned bytes never reach libconfig. */
	ret = cn_peerlist_verify(buf, len, root_pk, &body_len, e);
	if (ret)
		goto out;
	ret = parse_list(buf, body_len, root_pk, &pl, e);
	if (ret)
		goto out;
	if (pl->serial < held_serial) {
		ret = cn_cfg_fail(
			e, 0, -CN_EROLLBACK,
			"serial %lld is lower than serial %lld already held (rollback refused)",
			(long long)pl->serial, (long long)held_serial);
		goto out;
	}
	if (pl->expires != 0 && pl->expires <= now) {
		ret = cn_cfg_fail(e, 0, -CN_EEXPIRED,
				  "list serial %lld expired at %lld (unix time); now is %lld",
				  (long long)pl->serial, (long long)pl->expires, (long long)now);
		goto out;
	}
	*out = pl;
	pl = NULL;
	ret = 0;
out:
	cn_peerlist_free(pl);
	return ret;
}

void cn_pl_peer_wipe(struct cn_pl_peer *p)
{
	free(p->groups);
	p->groups = NULL;
	p->ngroups = 0;
}

void cn_peerlist_free(struct cn_peerlist *pl)
{
	if (!pl)
		return;
	for (size_t i = 0; i < pl->npeers; i++)
		cn_pl_peer_wipe(&pl->peers[i]);
	free(pl->peers);
	free(pl->relays);
	cn_pl_index_free(pl);
	free(pl);
}
