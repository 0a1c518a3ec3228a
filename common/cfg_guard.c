/* SPDX-License-Identifier: MIT */
/*
 * libconfig 1.5 text guard; see cfg_guard.h.
 */
#include "common/cfg_guard.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

enum {
	MAX_DEPTH = 8,		 /* our formats nest 3 deep: ( { [ */
	MAX_GROUP_SETTINGS = 32, /* libconfig adds members in O(n^2) */
	TOKEN_SHOWN = 24,	 /* characters of a bad number quoted in messages */
};

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_xdigit(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

unsigned long cn_cfg_line_at(const uint8_t *buf, size_t off)
{
	unsigned long line = 1;

	for (size_t i = 0; i < off; i++)
		line += buf[i] == '\n';
	return line;
}

int cn_cfg_fail(struct cn_errbuf *e, unsigned long line, int code, const char *fmt, ...)
{
	char msg[sizeof(e->msg)];
	va_list ap;

	if (!e)
		return code;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line)
		cn_errbuf_set(e, "line %lu: %s", line, msg);
	else
		cn_errbuf_set(e, "%s", msg);
	return code;
}

static size_t run_digits(const char *s, size_t n, size_t i)
{
	while (i < n && is_digit(s[i]))
		i++;
	return i;
}

/* Length of an exponent [eE][-+]?[0-9]+ starting at s[i], or 0. */
static size_t exp_len(const char *s, size_t n, size_t i)
{
	size_t j;

	if (i >= n || (s[i] != 'e' && s[i] != 'E'))
		return 0;
	j = i + 1;
	if (j < n && (s[j] == '-' || s[j] == '+'))
		j++;
	if (j >= n || !is_digit(s[j]))
		return 0;
	return run_digits(s, n, j) - i;
}

/* libconfig 1.5's number tokens, as its flex scanner matches them. */
struct num {
	size_t len; /* characters in the token; 0 if not a number */
	bool is_int;
	bool hex;
	bool l64; /* L or LL suffix: a 64-bit integer */
};

/*
 * Flex takes the longest match and, on a tie, the earliest rule: float,
 * integer, integer64, hex, hex64. Mirrors these (scanner.l of 1.5):
 *   float     [-+]?([0-9]*)?\.[0-9]*([eE][-+]?[0-9]+)?
 *             | [-+]?([0-9]+)(\.[0-9]*)?[eE][-+]?[0-9]+
 *   integer   [-+]?[0-9]+        integer64  [-+]?[0-9]+L(L)?
 *   hex       0[Xx][0-9A-Fa-f]+  hex64      0[Xx][0-9A-Fa-f]+L(L)?
 */
static struct num num_scan(const char *s, size_t n)
{
	struct num r = {0};
	size_t i = 0, d, k, flt = 0, dec = 0, dec64 = 0, hex = 0, hex64 = 0;

	if (n && (s[0] == '-' || s[0] == '+'))
		i = 1;
	d = run_digits(s, n, i);
	if (d < n && s[d] == '.') {
		k = run_digits(s, n, d + 1);
		flt = k + exp_len(s, n, k);
	}
	if (d > i) {
		k = exp_len(s, n, d);
		if (k && d + k > flt)
			flt = d + k;
		dec = d;
		if (d < n && s[d] == 'L')
			dec64 = (d + 1 < n && s[d + 1] == 'L') ? d + 2 : d + 1;
	}
	if (n >= 3 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && is_xdigit(s[2])) {
		for (hex = 3; hex < n && is_xdigit(s[hex]);)
			hex++;
		if (hex < n && s[hex] == 'L')
			hex64 = (hex + 1 < n && s[hex + 1] == 'L') ? hex + 2 : hex + 1;
	}
	r.len = flt;
	if (dec > r.len) {
		r = (struct num){.len = dec, .is_int = true};
	}
	if (dec64 > r.len) {
		r = (struct num){.len = dec64, .is_int = true, .l64 = true};
	}
	if (hex > r.len) {
		r = (struct num){.len = hex, .is_int = true, .hex = true};
	}
	if (hex64 > r.len) {
		r = (struct num){.len = hex64, .is_int = true, .hex = true, .l64 = true};
	}
	return r;
}

/*
 * True if libconfig 1.5 reads the integer token exactly. It does not for
 * values outside int32 without an L suffix (they wrap: 4294967297 reads
 * as 1) nor outside int64 with one (they saturate).
 */
static bool num_fits(const char *s, const struct num *t)
{
	unsigned long long v = 0, lim;
	const unsigned long long cap = 1ULL << 63;
	bool neg = s[0] == '-';
	size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;

	if (t->hex) {
		for (i = 2; i < t->len && is_xdigit(s[i]); i++) {
			unsigned int x = is_digit(s[i]) ? (unsigned int)(s[i] - '0')
							: (unsigned int)(lower(s[i]) - 'a' + 10);
			if (v > (cap >> 4))
				return false;
			v = (v << 4) | x;
		}
		return v <= (t->l64 ? cap - 1 : (unsigned long long)INT32_MAX);
	}
	for (; i < t->len && is_digit(s[i]); i++) {
		if (v > cap / 10)
			return false;
		v = v * 10 + (unsigned long long)(s[i] - '0');
	}
	lim = t->l64 ? cap - 1 : (unsigned long long)INT32_MAX;
	return v <= lim + (neg ? 1 : 0);
}

/* The previous token, as far as where a string may start is concerned. */
enum prev_tok {
	PREV_OTHER, /* start of text, name, number, ';', closing bracket, ... */
	PREV_EQUALS,
	PREV_OPEN, /* '[' or '(' */
	PREV_COMMA,
	PREV_STRING,
};

/*
 * Whether libconfig 1.5's grammar takes a string here: as a value after '='
 * or ':', as an element after '[' or '(' or after a ',' inside them, or
 * glued to the string before it. Anywhere else a string is a syntax error,
 * and libconfig leaks the string token it fails on (1.5 has no bison
 * %destructor), so such text is refused before libconfig scans it.
 */
static bool string_may_start(enum prev_tok prev, char innermost)
{
	switch (prev) {
	case PREV_EQUALS:
	case PREV_OPEN:
	case PREV_STRING:
		return true;
	case PREV_COMMA:
		return innermost == '[' || innermost == '(';
	case PREV_OTHER:
		break;
	}
	return false;
}

/*
 * Bytes libconfig must never see: a NUL (it reads a C string and would
 * stop there, silently) and @include anywhere (1.5 opens include files
 * even when parsing a string; case-insensitive for good measure).
 */
static int raw_check(const char *s, size_t n, const char *what, struct cn_errbuf *e)
{
	static const char inc[] = "@include";
	const char *p = memchr(s, '\0', n);

	if (p)
		return cn_cfg_fail(e, cn_cfg_line_at((const uint8_t *)s, (size_t)(p - s)),
				   -CN_EFORMAT, "NUL byte; %s is text", what);
	for (size_t i = 0; i + sizeof(inc) - 1 <= n; i++) {
		size_t k = 0;

		while (k < sizeof(inc) - 1 && lower(s[i + k]) == inc[k])
			k++;
		if (k == sizeof(inc) - 1)
			return cn_cfg_fail(e, cn_cfg_line_at((const uint8_t *)s, i), -CN_EFORMAT,
					   "'@include' is not allowed in %s", what);
	}
	return 0;
}

static int number_check(const char *s, const struct num *t, unsigned long line, struct cn_errbuf *e)
{
	int shown = t->len > TOKEN_SHOWN ? TOKEN_SHOWN : (int)t->len;

	if (!t->is_int || num_fits(s, t))
		return 0;
	if (t->l64)
		return cn_cfg_fail(e, line, -CN_EFORMAT,
				   "integer '%.*s' is out of the 64-bit range", shown, s);
	return cn_cfg_fail(
		e, line, -CN_EFORMAT,
		"integer '%.*s' is out of the 32-bit range; write '%.*sL' for a 64-bit value",
		shown, s, shown, s);
}

/*
 * Walks the text with libconfig 1.5's tokenisation (strings and comments
 * skipped as its scanner skips them, so numbers inside them are not looked
 * at) and refuses, with the line, what it would get wrong or handle badly:
 * integers it would misread, unterminated block comments (which it
 * accepts), nesting deeper than MAX_DEPTH, groups with more than
 * MAX_GROUP_SETTINGS settings (it checks duplicate names in O(n^2): a
 * megabyte of "aN=1;" takes a minute), lists or arrays of more than
 * max_entries entries (it grows them one realloc at a time,
 * which is quadratic under ASan), and strings where its grammar takes none
 * (it leaks them).
 */
int cn_cfg_prescan(const char *s, size_t n, unsigned int max_entries, const char *what,
		   struct cn_errbuf *e)
{
	unsigned int settings[MAX_DEPTH + 1] = {0}, commas[MAX_DEPTH + 1] = {0};
	unsigned long opened_on[MAX_DEPTH + 1] = {0};
	char open[MAX_DEPTH + 1] = {0};
	enum prev_tok prev = PREV_OTHER;
	unsigned int depth = 0;
	unsigned long line = 1;
	size_t i = 0;
	int ret;

	ret = raw_check(s, n, what, e);
	if (ret)
		return ret;
	while (i < n) {
		char c = s[i];

		if (c == '\n' || c == ' ' || c == '\t' || c == '\r' || c == '\f') {
			line += c == '\n';
			i++;
		} else if (c == '"') {
			if (!string_may_start(prev, open[depth]))
				return cn_cfg_fail(e, line, -CN_EFORMAT,
						   "syntax error (unexpected string)");
			prev = PREV_STRING;
			/* Skip escapes two characters at a time, so \" stays inside. */
			for (i++; i < n && s[i] != '"'; i++) {
				if (s[i] == '\\' && i + 1 < n)
					i++;
				line += s[i] == '\n';
			}
			i++;
		} else if (c == '#' || (c == '/' && i + 1 < n && s[i + 1] == '/')) {
			while (i < n && s[i] != '\n')
				i++;
		} else if (c == '/' && i + 1 < n && s[i + 1] == '*') {
			unsigned long open_line = line;

			for (i += 2; i + 1 < n && !(s[i] == '*' && s[i + 1] == '/'); i++)
				line += s[i] == '\n';
			if (i + 1 >= n)
				return cn_cfg_fail(e, open_line, -CN_EFORMAT,
						   "unterminated /* comment");
			i += 2;
		} else if (is_alpha(c) || c == '*') {
			/* A setting name or true/false: digits in it are not numbers. */
			for (i++; i < n && (is_alpha(s[i]) || is_digit(s[i]) || s[i] == '-' ||
					    s[i] == '_' || s[i] == '*');)
				i++;
			prev = PREV_OTHER;
		} else if (c == '{' || c == '(' || c == '[') {
			if (++depth > MAX_DEPTH)
				return cn_cfg_fail(e, line, -CN_EFORMAT,
						   "nested more than %d levels deep", MAX_DEPTH);
			settings[depth] = 0;
			commas[depth] = 0;
			open[depth] = c;
			opened_on[depth] = line;
			prev = c == '{' ? PREV_OTHER : PREV_OPEN;
			i++;
		} else if (c == '}' || c == ')' || c == ']') {
			if (depth > 0)
				depth--;
			prev = PREV_OTHER;
			i++;
		} else if (c == '=' || c == ':') {
			if (++settings[depth] > MAX_GROUP_SETTINGS)
				return cn_cfg_fail(e, line, -CN_EFORMAT,
						   "more than %d settings in one group",
						   MAX_GROUP_SETTINGS);
			prev = PREV_EQUALS;
			i++;
		} else if (c == ',') {
			/* n commas separate n + 1 entries; a group's commas end settings. */
			if (open[depth] != '{' && depth > 0 && ++commas[depth] >= max_entries)
				return cn_cfg_fail(e, opened_on[depth], -CN_ETOOBIG,
						   "list of more than %u entries", max_entries);
			prev = PREV_COMMA;
			i++;
		} else if (is_digit(c) || c == '-' || c == '+' || c == '.') {
			struct num t = num_scan(s + i, n - i);

			prev = PREV_OTHER;
			ret = number_check(s + i, &t, line, e);
			if (ret)
				return ret;
			i += t.len ? t.len : 1;
		} else {
			prev = PREV_OTHER; /* ';' or garbage */
			i++;
		}
	}
	return 0;
}
