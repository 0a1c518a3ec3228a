/* SPDX-License-Identifier: MIT */
/*
 * Strict helpers for the daemons' libconfig files: every reader names the
 * setting and its line in a one-line error, unknown settings are refused,
 * wrong types are errors (libconfig reports them as "missing").
 */
#ifndef CN_COMMON_CFG_H
#define CN_COMMON_CFG_H

#include <libconfig.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"
#include "common/err.h"

/*
 * Reads path (capped at 64 KiB, no NUL bytes, no @include) into cfg.
 * On failure cfg is destroyed and e says "path: line N: reason".
 */
int cn_cfg_read_file(const char *path, config_t *cfg, struct cn_errbuf *e);
/* Same for a string (tests); e has no path prefix. */
int cn_cfg_read_string(const char *text, config_t *cfg, struct cn_errbuf *e);

/*
 * Reads a configuration from a file (path set) or a string (text set; path
 * NULL) and hands it to from(), which fills out. One-line errors name the
 * path and line. The function both daemons' loaders are made of.
 */
typedef int (*cn_cfg_from_fn)(const config_t *cfg, void *out, struct cn_errbuf *e);
int cn_cfg_load(const char *path, const char *text, cn_cfg_from_fn from, void *out,
		struct cn_errbuf *e);

/* Refuses any member of group whose name is not in names (NULL-terminated). */
int cn_cfg_check_members(const config_setting_t *group, const char *const *names, const char *where,
			 struct cn_errbuf *e);
/* A string member copied into out; absent: unchanged unless required. */
int cn_cfg_string(const config_setting_t *g, const char *name, bool required, char *out, size_t cap,
		  struct cn_errbuf *e);
/* An integer member in [min, max]; absent: unchanged. */
int cn_cfg_uint(const config_setting_t *g, const char *name, uint32_t min, uint32_t max,
		uint32_t *out, struct cn_errbuf *e);
int cn_cfg_bool(const config_setting_t *g, const char *name, bool *out, struct cn_errbuf *e);
/* An array of "addr:port" strings, at most max; absent: *n = 0. */
int cn_cfg_addrs(const config_setting_t *g, const char *name, struct cn_addr *out, unsigned int max,
		 unsigned int *n, struct cn_errbuf *e);
/* A log level name: err, warn, info, debug. */
bool cn_cfg_log_level_valid(const char *s);

#endif
