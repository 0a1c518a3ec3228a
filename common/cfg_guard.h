/* SPDX-License-Identifier: MIT */
/*
 * A guard for text on its way to libconfig 1.5 (Debian 12): what that
 * parser would get wrong or handle badly is refused first, with its line.
 *   - NUL bytes (it reads a C string and would stop there) and @include
 *     (1.5 opens include files even when parsing a string);
 *   - integers it misreads: outside int32 without an L suffix they wrap
 *     (4294967297 reads as 1), outside int64 with one they saturate;
 *   - unterminated block comments (accepted, dropping the rest);
 *   - strings where its grammar takes none (it leaks the token: 1.5 has no
 *     bison %destructor);
 *   - nesting deeper than 8, groups of more than 32 settings (it checks
 *     duplicate names in O(n^2)), lists of more than max_entries entries
 *     (grown one realloc at a time).
 * Used by the peer list and by the daemons' configuration files. Pure.
 * Revisit when libconfig is upgraded: it mirrors 1.5's scanner.
 */
#ifndef CN_COMMON_CFG_GUARD_H
#define CN_COMMON_CFG_GUARD_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/*
 * 0, or -CN_EFORMAT / -CN_ETOOBIG with e set to "line N: reason"; `what`
 * names the document in messages ("a peer list", "a configuration file").
 */
int cn_cfg_prescan(const char *s, size_t n, unsigned int max_entries, const char *what,
		   struct cn_errbuf *e);

/* 1-based line number of buf[off]. */
unsigned long cn_cfg_line_at(const uint8_t *buf, size_t off);

/*
 * Sets e (may be NULL) to "line N: " and the formatted text, or the text
 * alone when line is 0; returns code. For the parsers of libconfig text.
 */
__attribute__((format(printf, 4, 5))) int cn_cfg_fail(struct cn_errbuf *e, unsigned long line,
						      int code, const char *fmt, ...);

#endif
