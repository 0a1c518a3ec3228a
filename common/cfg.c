/* SPDX-License-Identifier: MIT */
#include "common/cfg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cfg_guard.h"
#include "common/file.h"

enum { CFG_MAX_BYTES = 64 * 1024 };

int cn_cfg_read_string(const char *text, config_t *cfg, struct cn_errbuf *e)
{
	int ret;

	config_init(cfg);
	/* The peer list's hardening: what libconfig 1.5 would misread is refused. */
	ret = cn_cfg_prescan(text, strlen(text), 64, "a configuration file", e);
	if (ret) {
		config_destroy(cfg);
		return ret;
	}
	config_set_include_dir(cfg, "/nonexistent/cairn-no-includes");
	if (config_read_string(cfg, text) != CONFIG_TRUE) {
		cn_errbuf_set(e, "line %d: %s", config_error_line(cfg), config_error_text(cfg));
		config_destroy(cfg);
		return -CN_EFORMAT;
	}
	return 0;
}

int cn_cfg_read_file(const char *path, config_t *cfg, struct cn_errbuf *e)
{
	struct cn_errbuf inner = {{0}};
	char *text = NULL;
	size_t len = 0;
	int ret;

	ret = cn_file_read(path, CFG_MAX_BYTES, &text, &len, e);
	if (ret)
		return ret; /* e already names the path */
	if (memchr(text, '\0', len)) {
		cn_errbuf_set(e, "%s: contains a NUL byte", path);
		free(text);
		return -CN_EFORMAT;
	}
	ret = cn_cfg_read_string(text, cfg, &inner);
	free(text);
	if (ret)
		cn_errbuf_set(e, "%s: %s", path, inner.msg);
	return ret;
}

int cn_cfg_load(const char *path, const char *text, cn_cfg_from_fn from, void *out,
		struct cn_errbuf *e)
{
	struct cn_errbuf inner = {{0}};
	config_t cfg;
	int ret;

	ret = path ? cn_cfg_read_file(path, &cfg, e) : cn_cfg_read_string(text, &cfg, e);
	if (ret)
		return ret;
	ret = from(&cfg, out, path ? &inner : e);
	config_destroy(&cfg);
	if (ret && path)
		cn_errbuf_set(e, "%s: %s", path, inner.msg);
	return ret;
}

static bool known(const char *name, const char *const *names)
{
	for (; *names; names++)
		if (strcmp(name, *names) == 0)
			return true;
	return false;
}

int cn_cfg_check_members(const config_setting_t *group, const char *const *names, const char *where,
			 struct cn_errbuf *e)
{
	int n = config_setting_length(group);

	for (int i = 0; i < n; i++) {
		const config_setting_t *s = config_setting_get_elem(group, (unsigned int)i);
		const char *name = config_setting_name(s);

		if (!name || !known(name, names)) {
			cn_errbuf_set(e, "line %d: unknown setting '%s%s'",
				      config_setting_source_line(s), where, name ? name : "?");
			return -CN_EFORMAT;
		}
	}
	return 0;
}

int cn_cfg_string(const config_setting_t *g, const char *name, bool required, char *out, size_t cap,
		  struct cn_errbuf *e)
{
	const config_setting_t *s = config_setting_get_member(g, name);
	const char *v;

	if (!s) {
		if (required) {
			cn_errbuf_set(e, "missing setting '%s'", name);
			return -CN_EFORMAT;
		}
		return 0;
	}
	v = config_setting_get_string(s);
	if (!v) {
		cn_errbuf_set(e, "line %d: '%s' must be a string", config_setting_source_line(s),
			      name);
		return -CN_EFORMAT;
	}
	if (strlen(v) >= cap) {
		cn_errbuf_set(e, "line %d: '%s' is too long", config_setting_source_line(s), name);
		return -CN_EFORMAT;
	}
	snprintf(out, cap, "%s", v);
	return 0;
}

int cn_cfg_uint(const config_setting_t *g, const char *name, uint32_t min, uint32_t max,
		uint32_t *out, struct cn_errbuf *e)
{
	const config_setting_t *s = config_setting_get_member(g, name);
	long long v;

	if (!s)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_INT &&
	    config_setting_type(s) != CONFIG_TYPE_INT64) {
		cn_errbuf_set(e, "line %d: '%s' must be an integer", config_setting_source_line(s),
			      name);
		return -CN_EFORMAT;
	}
	v = config_setting_get_int64(s);
	if (v < (long long)min || v > (long long)max) {
		cn_errbuf_set(e, "line %d: '%s' must be between %u and %u",
			      config_setting_source_line(s), name, min, max);
		return -CN_EFORMAT;
	}
	*out = (uint32_t)v;
	return 0;
}

int cn_cfg_bool(const config_setting_t *g, const char *name, bool *out, struct cn_errbuf *e)
{
	const config_setting_t *s = config_setting_get_member(g, name);

	if (!s)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
		cn_errbuf_set(e, "line %d: '%s' must be true or false",
			      config_setting_source_line(s), name);
		return -CN_EFORMAT;
	}
	*out = config_setting_get_bool(s);
	return 0;
}

int cn_cfg_addrs(const config_setting_t *g, const char *name, struct cn_addr *out, unsigned int max,
		 unsigned int *n, struct cn_errbuf *e)
{
	const config_setting_t *s = config_setting_get_member(g, name);
	int len;

	*n = 0;
	if (!s)
		return 0;
	if (!config_setting_is_array(s)) {
		cn_errbuf_set(e, "line %d: '%s' must be an array of \"address:port\" strings",
			      config_setting_source_line(s), name);
		return -CN_EFORMAT;
	}
	len = config_setting_length(s);
	if (len > (int)max) {
		cn_errbuf_set(e, "line %d: '%s' has more than %u addresses",
			      config_setting_source_line(s), name, max);
		return -CN_EFORMAT;
	}
	for (int i = 0; i < len; i++) {
		const char *v = config_setting_get_string_elem(s, i);

		if (!v || cn_addr_parse(v, &out[i]) != 0) {
			cn_errbuf_set(e, "line %d: '%s': '%s' is not \"address:port\"",
				      config_setting_source_line(s), name, v ? v : "?");
			return -CN_EFORMAT;
		}
	}
	*n = (unsigned int)len;
	return 0;
}

bool cn_cfg_log_level_valid(const char *s)
{
	return !strcmp(s, "err") || !strcmp(s, "warn") || !strcmp(s, "info") || !strcmp(s, "debug");
}
