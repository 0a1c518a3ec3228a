/* SPDX-License-Identifier: MIT */
/*
 * The signed peer list: signature check over the exact bytes, strict parse
 * and validation of the libconfig text, and the lookups daemons use.
 *
 * The bytes come from relays and files, so every input is hostile until
 * the signature checks out, and still treated with care after: libconfig
 * 1.5 never sees a NUL byte, an @include, an integer it would silently
 * wrap, or shapes that make it slow (see prescan()). Every refusal leaves a
 * one-line reason in the cn_errbuf, with the line number when known.
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

#define SIG_MARK       "cairn-signature:"
#define NO_INCLUDE_DIR "/nonexistent/cairn-peerlist-has-no-includes"
#define NAME_RULE      "lowercase letters, digits and '-', 1 to 63, no '-' at either end"

enum {
	SIG_PREFIX_LEN = sizeof(CN_PEERLIST_SIG_PREFIX) - 1,
	SIG_MARK_LEN = sizeof(SIG_MARK) - 1,
	CONTEXT_LEN = sizeof(CN_PEERLIST_SIG_CONTEXT), /* with its NUL, on purpose */
	MAX_DEPTH = 8,				       /* our format nests 3 deep: ( { [ */
	MAX_GROUP_SETTINGS = 32,		       /* libconfig adds members in O(n^2) */
	TOKEN_SHOWN = 24, /* characters of a bad number quoted in messages */
};

_Static_assert(CN_PEERLIST_SIG_LINE_LEN == 27 + 88 + 1, "signature line layout");

/* The five sorted indexes over peers[]. */
enum pl_index {
	IDX_KEY,
	IDX_NAME,
	IDX_IP4,
	IDX_IP6,
	IDX_XKEY,
	IDX_COUNT_,
};

/* ---- characters, names, messages -------------------------------------- */

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_lower(char c)
{
	return c >= 'a' && c <= 'z';
}

static bool is_alpha(char c)
{
	return is_lower(c) || (c >= 'A' && c <= 'Z');
}

/* One DNS label under cn_peerlist_name_valid's rules, s[0..n). */
static bool label_valid(const char *s, size_t n)
{
	if (n == 0 || n > CN_NAME_MAX || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_lower(s[i]) && !is_digit(s[i]) && s[i] != '-')
			return false;
	return true;
}

bool cn_peerlist_name_valid(const char *name)
{
	if (!name)
		return false;
	return label_valid(name, strnlen(name, CN_NAME_MAX + 1));
}

bool cn_pl_domain_valid(const char *s)
{
	size_t n, start = 0;

	if (!s)
		return false;
	n = strnlen(s, CN_DOMAIN_MAX + 1);
	if (n == 0 || n > CN_DOMAIN_MAX)
		return false;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != '.')
			continue;
		if (!label_valid(s + start, i - start))
			return false;
		start = i + 1;
	}
	return true;
}

bool cn_pl_host_valid(const char *s)
{
	uint8_t a[16];
	size_t n, lab = 0;
	bool numeric = true;
	char prev = '.';

	if (!s)
		return false;
	n = strnlen(s, CN_HOST_MAX + 1);
	if (n == 0 || n > CN_HOST_MAX)
		return false;
	if (inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1)
		return true;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '.') {
			if (lab == 0 || prev == '-')
				return false;
			lab = 0;
			numeric = true;
		} else {
			/* '_' starts SRV labels ("_cairn._udp.example.net"), then a letter or
			 * digit. */
			if (!is_alpha(c) && !is_digit(c) && c != '-' &&
			    !(c == '_' && lab == 0 && i + 1 < n &&
			      (is_alpha(s[i + 1]) || is_digit(s[i + 1]))))
				return false;
			if ((lab == 0 && c == '-') || ++lab > CN_NAME_MAX)
				return false;
			if (!is_digit(c))
				numeric = false;
		}
		prev = c;
	}
	/*
	 * No empty or trailing label, and an all-digit last label is a
	 * mistyped IPv4 literal ("10.0.1"), which resolvers would read as a
	 * different address.
	 */
	return lab != 0 && prev != '-' && !numeric;
}

const char *cn_pl_shown(const char *s, char out[static CN_PL_SHOWN_LEN])
{
	enum { KEEP = CN_PL_SHOWN_LEN - 4 };
	size_t i;

	for (i = 0; s && s[i] && i < KEEP; i++)
		out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	if (s && s[i]) {
		memcpy(out + i, "...", 3);
		i += 3;
	}
	out[i] = '\0';
	return out;
}

/* ---- prefixes and addresses --------------------------------------------- */

/* The network mask byte i of a prefix of length plen. */
static uint8_t mask_byte(unsigned int plen, size_t i)
{
	if (plen >= 8 * (i + 1))
		return 0xff;
	if (plen <= 8 * i)
		return 0;
	return (uint8_t)(0xff << (8 - (plen - 8 * i)));
}

const char *cn_pl_prefix_parse(int af, const char *s, uint8_t *addr, unsigned int *len)
{
	char a[INET6_ADDRSTRLEN];
	uint8_t tmp[16];
	const char *slash, *p;
	size_t bytes = af == AF_INET ? 4 : 16;
	unsigned int lo = af == AF_INET ? CN_PL_PREFIX4_MIN : CN_PL_PREFIX6_MIN;
	unsigned int hi = af == AF_INET ? CN_PL_PREFIX4_MAX : CN_PL_PREFIX6_MAX;
	unsigned int v = 0;

	slash = strchr(s, '/');
	if (!slash)
		return "is not of the form address/length";
	if (slash == s || (size_t)(slash - s) >= sizeof(a))
		return "has an invalid address";
	memcpy(a, s, (size_t)(slash - s));
	a[slash - s] = '\0';
	if (inet_pton(af, a, tmp) != 1)
		return af == AF_INET ? "has an invalid IPv4 address"
				     : "has an invalid IPv6 address";
	p = slash + 1;
	/* Decimal, no sign, no leading zero: one spelling per length. */
	if (!is_digit(*p) || (p[0] == '0' && p[1] != '\0'))
		return "has an invalid length";
	for (; is_digit(*p); p++) {
		v = v * 10 + (unsigned int)(*p - '0');
		if (v > 128)
			return "has an invalid length";
	}
	if (*p != '\0')
		return "has an invalid length";
	if (v < lo || v > hi)
		return af == AF_INET ? "has a length outside 8 to 30"
				     : "has a length outside 48 to 120";
	for (size_t i = 0; i < bytes; i++)
		if (tmp[i] & (uint8_t)~mask_byte(v, i))
			return "has host bits set";
	memcpy(addr, tmp, bytes);
	*len = v;
	return NULL;
}

void cn_pl_prefix_text(int af, const uint8_t *addr, unsigned int len,
		       char out[static CN_PL_PREFIX_TEXT])
{
	char a[INET6_ADDRSTRLEN];

	if (!inet_ntop(af, addr, a, sizeof(a)))
		snprintf(a, sizeof(a), "?");
	snprintf(out, CN_PL_PREFIX_TEXT, "%s/%u", a, len);
}

/* Shared by the IPv4 and IPv6 checks; bcast is false for IPv6. */
static const char *host_check(const uint8_t *a, const uint8_t *prefix, unsigned int plen,
			      size_t bytes, bool bcast)
{
	bool zero = true, ones = true;

	for (size_t i = 0; i < bytes; i++) {
		uint8_t m = mask_byte(plen, i);

		if ((a[i] & m) != prefix[i])
			return "is outside the prefix";
		if (a[i] & (uint8_t)~m)
			zero = false;
		if ((a[i] | m) != 0xff)
			ones = false;
	}
	if (zero)
		return "is the network address of the prefix";
	if (bcast && ones)
		return "is the broadcast address of the prefix";
	return NULL;
}

const char *cn_pl_ip4_parse(const struct cn_peerlist *pl, const char *s, uint8_t ip4[4])
{
	uint8_t a[4];
	const char *why;

	if (strnlen(s, INET_ADDRSTRLEN) >= INET_ADDRSTRLEN || inet_pton(AF_INET, s, a) != 1)
		return "is not an IPv4 address";
	why = host_check(a, pl->prefix4, pl->prefix4_len, 4, true);
	if (!why)
		memcpy(ip4, a, 4);
	return why;
}

const char *cn_pl_ip6_parse(const struct cn_peerlist *pl, const char *s, uint8_t ip6[16])
{
	uint8_t a[16];
	const char *why;

	if (strnlen(s, INET6_ADDRSTRLEN) >= INET6_ADDRSTRLEN || inet_pton(AF_INET6, s, a) != 1)
		return "is not an IPv6 address";
	why = host_check(a, pl->prefix6, pl->prefix6_len, 16, false);
	if (!why)
		memcpy(ip6, a, 16);
	return why;
}

/* ---- signature ---------------------------------------------------------- */

/* CN_PEERLIST_SIG_CONTEXT, its NUL, then body: the bytes Ed25519 signs. */
static uint8_t *signed_message(const uint8_t *body, size_t len)
{
	uint8_t *msg = malloc(CONTEXT_LEN + len);

	if (!msg)
		return NULL;
	memcpy(msg, CN_PEERLIST_SIG_CONTEXT, CONTEXT_LEN);
	if (len)
		memcpy(msg + CONTEXT_LEN, body, len);
	return msg;
}

int cn_peerlist_verify(const uint8_t *buf, size_t len, const uint8_t root_pk[static CN_KEY_LEN],
		       size_t *body_len, struct cn_errbuf *e)
{
	uint8_t sig[CN_SIG_LEN];
	uint8_t *msg = NULL;
	const uint8_t *mark, *b64, *nl;
	const char *b64_end = NULL;
	size_t start, sig_bin_len = 0;
	unsigned long line;
	int ret = -CN_ESIG;

	if (body_len)
		*body_len = 0;
	if (!buf || !root_pk || !body_len)
		return cn_cfg_fail(e, 0, -CN_EINVAL, "peer list verify: missing argument");
	if (len > CN_PEERLIST_MAX_BYTES)
		return cn_cfg_fail(e, 0, -CN_ETOOBIG, "peer list is %zu bytes; the limit is %d",
				   len, CN_PEERLIST_MAX_BYTES);
	mark = memmem(buf, len, SIG_MARK, SIG_MARK_LEN);
	if (!mark) {
		cn_cfg_fail(e, 0, ret, "no signature line (the last line must be '%s<signature>')",
			    CN_PEERLIST_SIG_PREFIX);
		goto out;
	}
	start = (size_t)(mark - buf);
	while (start > 0 && buf[start - 1] != '\n')
		start--;
	line = cn_cfg_line_at(buf, start);
	nl = memmem(mark + 1, len - (size_t)(mark + 1 - buf), SIG_MARK, SIG_MARK_LEN);
	if (nl) {
		cn_cfg_fail(
			e, cn_cfg_line_at(buf, (size_t)(nl - buf)), ret,
			"'%s' appears again (first on line %lu); a list has one signature line, "
			"the last",
			SIG_MARK, line);
		goto out;
	}
	if (len - start < SIG_PREFIX_LEN ||
	    memcmp(buf + start, CN_PEERLIST_SIG_PREFIX, SIG_PREFIX_LEN) != 0) {
		cn_cfg_fail(e, line, ret, "malformed signature line (must start with '%s')",
			    CN_PEERLIST_SIG_PREFIX);
		goto out;
	}
	if (start == 0) {
		cn_cfg_fail(e, line, ret, "signature line with no text before it");
		goto out;
	}
	b64 = buf + start + SIG_PREFIX_LEN;
	nl = memchr(b64, '\n', len - start - SIG_PREFIX_LEN);
	if (!nl) {
		cn_cfg_fail(e, line, ret, "signature line does not end with a newline");
		goto out;
	}
	if (nl - b64 != CN_SIG_TEXT_LEN) {
		cn_cfg_fail(e, line, ret, "signature is %zu characters; expected %d of base64",
			    (size_t)(nl - b64), CN_SIG_TEXT_LEN);
		goto out;
	}
	if ((size_t)(nl + 1 - buf) != len) {
		cn_cfg_fail(e, line, ret,
			    "%zu bytes follow the signature line; it must be the last line",
			    len - (size_t)(nl + 1 - buf));
		goto out;
	}
	/* libsodium checks padding and unused bits; b64_alphabet the characters. */
	if (!cn_b64_canonical((const char *)b64, CN_SIG_TEXT_LEN) ||
	    sodium_base642bin(sig, sizeof(sig), (const char *)b64, CN_SIG_TEXT_LEN, NULL,
			      &sig_bin_len, &b64_end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    sig_bin_len != CN_SIG_LEN || b64_end != (const char *)b64 + CN_SIG_TEXT_LEN) {
		cn_cfg_fail(e, line, ret, "signature is not valid base64");
		goto out;
	}
	msg = signed_message(buf, start);
	if (!msg) {
		ret = cn_cfg_fail(e, 0, -CN_ENOMEM,
				  "out of memory checking the peer list signature");
		goto out;
	}
	if (cn_sig_verify(root_pk, msg, CONTEXT_LEN + start, sig) != 0) {
		cn_cfg_fail(
			e, line, ret,
			"signature does not match the network root key (list altered, or signed "
			"by another key)");
		goto out;
	}
	*body_len = start;
	ret = 0;
out:
	free(msg);
	return ret;
}

int cn_peerlist_sign(const uint8_t *body, size_t len, const struct cn_identity *root, char **out,
		     size_t *out_len, struct cn_errbuf *e)
{
	uint8_t sig[CN_SIG_LEN];
	uint8_t *msg = NULL;
	const uint8_t *mark;
	char *text = NULL;
	int ret;

	if (out)
		*out = NULL;
	if (out_len)
		*out_len = 0;
	if (!body || !root || !out || !out_len)
		return cn_cfg_fail(e, 0, -CN_EINVAL, "peer list sign: missing argument");
	if (len == 0 || body[len - 1] != '\n')
		return cn_cfg_fail(e, 0, -CN_EFORMAT, "text to sign must end with a newline");
	if (len > CN_PEERLIST_MAX_BYTES - CN_PEERLIST_SIG_LINE_LEN)
		return cn_cfg_fail(e, 0, -CN_ETOOBIG,
				   "peer list is %zu bytes; signed, the limit is %d", len,
				   CN_PEERLIST_MAX_BYTES - CN_PEERLIST_SIG_LINE_LEN);
	mark = memmem(body, len, SIG_MARK, SIG_MARK_LEN);
	if (mark)
		return cn_cfg_fail(e, cn_cfg_line_at(body, (size_t)(mark - body)), -CN_EFORMAT,
				   "text to sign already holds '%s'", SIG_MARK);
	ret = -CN_ENOMEM;
	msg = signed_message(body, len);
	text = malloc(len + CN_PEERLIST_SIG_LINE_LEN + 1);
	if (!msg || !text) {
		cn_cfg_fail(e, 0, ret, "out of memory signing the peer list");
		goto out;
	}
	ret = cn_identity_sign(root, msg, CONTEXT_LEN + len, sig);
	if (ret) {
		cn_cfg_fail(e, 0, ret, "cannot sign with the root key");
		goto out;
	}
	memcpy(text, body, len);
	memcpy(text + len, CN_PEERLIST_SIG_PREFIX, SIG_PREFIX_LEN);
	sodium_bin2base64(text + len + SIG_PREFIX_LEN, CN_SIG_TEXT_LEN + 1, sig, sizeof(sig),
			  sodium_base64_VARIANT_ORIGINAL);
	text[len + CN_PEERLIST_SIG_LINE_LEN - 1] = '\n';
	text[len + CN_PEERLIST_SIG_LINE_LEN] = '\0';
	*out = text;
	*out_len = len + CN_PEERLIST_SIG_LINE_LEN;
	text = NULL;
	ret = 0;
out:
	free(msg);
	free(text);
	return ret;
}

/* ---- before libconfig sees the text ------------------------------------- */

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

/* ---- indexes ------------------------------------------------------------ */

static int field_cmp(enum pl_index k, const void *v, const struct cn_pl_peer *p)
{
	/* Public keys and addresses: ordering, not secrecy, so memcmp is right. */
	switch (k) {
	case IDX_KEY:
		return memcmp(v, p->key, CN_KEY_LEN);
	case IDX_NAME:
		return strcmp(v, p->name);
	case IDX_IP4:
		return memcmp(v, p->ip4, sizeof(p->ip4));
	case IDX_IP6:
		return memcmp(v, p->ip6, sizeof(p->ip6));
	case IDX_XKEY:
		return memcmp(v, p->x_key, CN_KEY_LEN);
	case IDX_COUNT_:
		break;
	}
	return 0;
}

static const void *field_of(enum pl_index k, const struct cn_pl_peer *p)
{
	switch (k) {
	case IDX_KEY:
		return p->key;
	case IDX_NAME:
		return p->name;
	case IDX_IP4:
		return p->ip4;
	case IDX_IP6:
		return p->ip6;
	case IDX_XKEY:
		return p->x_key;
	case IDX_COUNT_:
		break;
	}
	return NULL;
}

/* Sorts peer pointers by field, then by position: equal runs keep file order. */
static int sort_cmp(enum pl_index k, const void *a, const void *b)
{
	const struct cn_pl_peer *pa = *(const struct cn_pl_peer *const *)a;
	const struct cn_pl_peer *pb = *(const struct cn_pl_peer *const *)b;
	int c = field_cmp(k, field_of(k, pa), pb);

	return c ? c : (pa > pb) - (pa < pb);
}

static int sort_key(const void *a, const void *b)
{
	return sort_cmp(IDX_KEY, a, b);
}

static int sort_name(const void *a, const void *b)
{
	return sort_cmp(IDX_NAME, a, b);
}

static int sort_ip4(const void *a, const void *b)
{
	return sort_cmp(IDX_IP4, a, b);
}

static int sort_ip6(const void *a, const void *b)
{
	return sort_cmp(IDX_IP6, a, b);
}

static int sort_xkey(const void *a, const void *b)
{
	return sort_cmp(IDX_XKEY, a, b);
}

static size_t **index_slot(struct cn_peerlist *pl, enum pl_index k)
{
	switch (k) {
	case IDX_KEY:
		return &pl->by_key;
	case IDX_NAME:
		return &pl->by_name;
	case IDX_IP4:
		return &pl->by_ip4;
	case IDX_IP6:
		return &pl->by_ip6;
	case IDX_XKEY:
		return &pl->by_xkey;
	case IDX_COUNT_:
		break;
	}
	return NULL;
}

static const size_t *index_of(const struct cn_peerlist *pl, enum pl_index k)
{
	switch (k) {
	case IDX_KEY:
		return pl->by_key;
	case IDX_NAME:
		return pl->by_name;
	case IDX_IP4:
		return pl->by_ip4;
	case IDX_IP6:
		return pl->by_ip6;
	case IDX_XKEY:
		return pl->by_xkey;
	case IDX_COUNT_:
		break;
	}
	return NULL;
}

int cn_pl_index_build(struct cn_peerlist *pl)
{
	static int (*const sorter[IDX_COUNT_])(const void *, const void *) = {
		[IDX_KEY] = sort_key, [IDX_NAME] = sort_name, [IDX_IP4] = sort_ip4,
		[IDX_IP6] = sort_ip6, [IDX_XKEY] = sort_xkey,
	};
	size_t *idx[IDX_COUNT_] = {NULL};
	const struct cn_pl_peer **tmp = NULL;
	size_t n = pl->npeers;
	int ret = -CN_ENOMEM;

	if (n) {
		tmp = malloc(n * sizeof(*tmp));
		if (!tmp)
			goto out;
		for (int k = 0; k < IDX_COUNT_; k++) {
			idx[k] = malloc(n * sizeof(*idx[k]));
			if (!idx[k])
				goto out;
		}
		for (int k = 0; k < IDX_COUNT_; k++) {
			for (size_t i = 0; i < n; i++)
				tmp[i] = &pl->peers[i];
			qsort(tmp, n, sizeof(*tmp), sorter[k]);
			for (size_t i = 0; i < n; i++)
				idx[k][i] = (size_t)(tmp[i] - pl->peers);
		}
	}
	for (int k = 0; k < IDX_COUNT_; k++) {
		size_t **slot = index_slot(pl, (enum pl_index)k);

		free(*slot);
		*slot = idx[k];
		idx[k] = NULL;
	}
	ret = 0;
out:
	for (int k = 0; k < IDX_COUNT_; k++)
		free(idx[k]);
	free(tmp);
	return ret;
}

/*
 * The first entry (in file order) equal in field k to an earlier one:
 * *dup and the earliest it repeats, *orig. False if none.
 */
static bool first_dup(const struct cn_peerlist *pl, enum pl_index k, size_t *dup, size_t *orig)
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

	if (first_dup(pl, IDX_NAME, &d, &o))
		return cn_cfg_fail(e, member_line(peers, d, "name"), -CN_EEXIST,
				   "peer '%s' is listed twice (first on line %u)",
				   pl->peers[d].name, member_line(peers, o, "name"));
	if (first_dup(pl, IDX_KEY, &d, &o))
		return cn_cfg_fail(e, member_line(peers, d, "key"), -CN_EEXIST,
				   "peer '%s': key already used by peer '%s'", pl->peers[d].name,
				   pl->peers[o].name);
	/* -P and P (the sign bit) differ as Ed25519 keys but share one X25519 key. */
	if (first_dup(pl, IDX_XKEY, &d, &o))
		return cn_cfg_fail(
			e, member_line(peers, d, "key"), -CN_EEXIST,
			"peer '%s': key has the same X25519 form as the key of peer '%s'",
			pl->peers[d].name, pl->peers[o].name);
	if (first_dup(pl, IDX_IP4, &d, &o))
		return cn_cfg_fail(e, member_line(peers, d, "ipv4"), -CN_EEXIST,
				   "peer '%s': ipv4 %s already used by peer '%s'",
				   pl->peers[d].name,
				   inet_ntop(AF_INET, pl->peers[d].ip4, a, sizeof(a)) ? a : "?",
				   pl->peers[o].name);
	if (first_dup(pl, IDX_IP6, &d, &o))
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
	for (int k = 0; k < IDX_COUNT_; k++)
		free(*index_slot(pl, (enum pl_index)k));
	free(pl);
}

/* ---- lookups ------------------------------------------------------------ */

/* bsearch key: the value sought and the list it indexes into. */
struct needle {
	const struct cn_peerlist *pl;
	enum pl_index k;
	const void *v;
};

static int needle_cmp(const void *key, const void *el)
{
	const struct needle *nd = key;

	return field_cmp(nd->k, nd->v, &nd->pl->peers[*(const size_t *)el]);
}

static const struct cn_pl_peer *find(const struct cn_peerlist *pl, enum pl_index k, const void *v)
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
	return find(pl, IDX_KEY, key);
}

const struct cn_pl_peer *cn_peerlist_find_xkey(const struct cn_peerlist *pl,
					       const uint8_t x_key[static CN_KEY_LEN])
{
	return find(pl, IDX_XKEY, x_key);
}

const struct cn_pl_peer *cn_peerlist_find_name(const struct cn_peerlist *pl, const char *name)
{
	return find(pl, IDX_NAME, name);
}

const struct cn_pl_peer *cn_peerlist_find_ip4(const struct cn_peerlist *pl, const uint8_t ip4[4])
{
	return find(pl, IDX_IP4, ip4);
}

const struct cn_pl_peer *cn_peerlist_find_ip6(const struct cn_peerlist *pl, const uint8_t ip6[16])
{
	return find(pl, IDX_IP6, ip6);
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
