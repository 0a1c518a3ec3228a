/* SPDX-License-Identifier: MIT */
/*
 * Parses and validates cairn-relay's configuration with libconfig.
 */
#include "relay/relay_config.h"

#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/file.h"

enum { CONFIG_MAX_BYTES = 64 * 1024 };

void cn_relay_config_defaults(struct cn_relay_config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->state_dir, sizeof(c->state_dir), "/var/lib/cairn-relay");
	snprintf(c->log_level, sizeof(c->log_level), "info");
	c->limits = (struct cn_relay_limits){
		.max_connections = 10000,
		.max_pending_handshakes = 1024,
		.handshake_rate = 20,
		.handshake_burst = 40,
		.max_frame = 65535,
		.max_buffered = 1 << 20,
		.idle_timeout_ms = 90 * 1000,
		.frame_timeout_ms = 10 * 1000,
	};
}

static bool known(const char *name, const char *const *names)
{
	for (; *names; names++)
		if (strcmp(name, *names) == 0)
			return true;
	return false;
}

/* Refuses any member of group not in names. */
static int check_members(const config_setting_t *group, const char *const *names, const char *where,
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

static int get_string(const config_setting_t *g, const char *name, bool required, char *out,
		      size_t cap, struct cn_errbuf *e)
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

static int get_uint(const config_setting_t *g, const char *name, uint32_t min, uint32_t max,
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

static int get_addrs(const config_setting_t *g, const char *name, struct cn_addr *out,
		     unsigned int *n, struct cn_errbuf *e)
{
	const config_setting_t *s = config_setting_get_member(g, name);
	int len;

	*n = 0;
	if (!s)
		return 0;
	if (!config_setting_is_array(s)) {
		cn_errbuf_set(e,
			      "line %d: 'listen.%s' must be an array of \"address:port\" strings",
			      config_setting_source_line(s), name);
		return -CN_EFORMAT;
	}
	len = config_setting_length(s);
	if (len > CN_RELAY_MAX_LISTEN) {
		cn_errbuf_set(e, "line %d: 'listen.%s' has more than %d addresses",
			      config_setting_source_line(s), name, CN_RELAY_MAX_LISTEN);
		return -CN_EFORMAT;
	}
	for (int i = 0; i < len; i++) {
		const char *v = config_setting_get_string_elem(s, i);

		if (!v || cn_addr_parse(v, &out[i]) != 0) {
			cn_errbuf_set(e, "line %d: 'listen.%s': '%s' is not \"address:port\"",
				      config_setting_source_line(s), name, v ? v : "?");
			return -CN_EFORMAT;
		}
	}
	*n = (unsigned int)len;
	return 0;
}

int cn_relay_config_parse(const char *text, struct cn_relay_config *c, struct cn_errbuf *e)
{
	static const char *const top_names[] = {"identity_key", "root_key",  "peer_list",
						"state_dir",	"log_level", "listen",
						"limits",	NULL};
	static const char *const listen_names[] = {"tcp", "udp", "stun", "metrics", NULL};
	static const char *const limit_names[] = {"max_connections",
						  "max_pending_handshakes",
						  "handshake_rate",
						  "handshake_burst",
						  "max_frame",
						  "max_buffered",
						  "idle_timeout",
						  "frame_timeout",
						  NULL};
	config_t cfg;
	const config_setting_t *root, *listen, *limits;
	char root_text[CN_KEY_TEXT_LEN + 8] = "", metrics[CN_ADDR_TEXT_MAX] = "";
	uint32_t idle_s, frame_s;
	int ret = -CN_EFORMAT;

	cn_relay_config_defaults(c);
	/* Same hardening as the peer list: no includes from a config either. */
	if (strstr(text, "@include")) {
		cn_errbuf_set(e, "@include is not allowed");
		return -CN_EFORMAT;
	}
	config_init(&cfg);
	config_set_include_dir(&cfg, "/nonexistent/cairn-no-includes");
	if (config_read_string(&cfg, text) != CONFIG_TRUE) {
		cn_errbuf_set(e, "line %d: %s", config_error_line(&cfg), config_error_text(&cfg));
		goto out;
	}
	root = config_root_setting(&cfg);
	if (check_members(root, top_names, "", e))
		goto out;
	if (get_string(root, "identity_key", true, c->identity_key, sizeof(c->identity_key), e) ||
	    get_string(root, "root_key", true, root_text, sizeof(root_text), e) ||
	    get_string(root, "peer_list", true, c->peer_list, sizeof(c->peer_list), e) ||
	    get_string(root, "state_dir", false, c->state_dir, sizeof(c->state_dir), e) ||
	    get_string(root, "log_level", false, c->log_level, sizeof(c->log_level), e))
		goto out;
	if (cn_key_from_text(root_text, strlen(root_text), c->root_key)) {
		cn_errbuf_set(e, "'root_key' is not a public key (44 characters of base64)");
		goto out;
	}
	if (strcmp(c->log_level, "err") && strcmp(c->log_level, "warn") &&
	    strcmp(c->log_level, "info") && strcmp(c->log_level, "debug")) {
		cn_errbuf_set(e, "'log_level' must be err, warn, info or debug");
		goto out;
	}
	listen = config_setting_get_member(root, "listen");
	if (!listen || !config_setting_is_group(listen)) {
		cn_errbuf_set(e, "missing group 'listen' (tcp, udp, stun, metrics)");
		goto out;
	}
	if (check_members(listen, listen_names, "listen.", e) ||
	    get_addrs(listen, "tcp", c->tcp, &c->ntcp, e) ||
	    get_addrs(listen, "udp", c->udp, &c->nudp, e) ||
	    get_addrs(listen, "stun", c->stun, &c->nstun, e) ||
	    get_string(listen, "metrics", false, metrics, sizeof(metrics), e))
		goto out;
	if (c->ntcp + c->nudp == 0) {
		cn_errbuf_set(e, "'listen' needs at least one tcp or udp address for node links");
		goto out;
	}
	if (metrics[0]) {
		if (cn_addr_parse(metrics, &c->metrics)) {
			cn_errbuf_set(e, "'listen.metrics': '%s' is not \"address:port\"", metrics);
			goto out;
		}
		c->metrics_on = true;
	}
	limits = config_setting_get_member(root, "limits");
	if (limits) {
		idle_s = c->limits.idle_timeout_ms / 1000;
		frame_s = c->limits.frame_timeout_ms / 1000;
		if (!config_setting_is_group(limits)) {
			cn_errbuf_set(e, "'limits' must be a group");
			goto out;
		}
		if (check_members(limits, limit_names, "limits.", e) ||
		    get_uint(limits, "max_connections", 1, 1000000, &c->limits.max_connections,
			     e) ||
		    get_uint(limits, "max_pending_handshakes", 1, 1000000,
			     &c->limits.max_pending_handshakes, e) ||
		    get_uint(limits, "handshake_rate", 1, 100000, &c->limits.handshake_rate, e) ||
		    get_uint(limits, "handshake_burst", 1, 100000, &c->limits.handshake_burst, e) ||
		    get_uint(limits, "max_frame", 256, 65535, &c->limits.max_frame, e) ||
		    get_uint(limits, "max_buffered", 65536, 1 << 30, &c->limits.max_buffered, e) ||
		    get_uint(limits, "idle_timeout", 5, 86400, &idle_s, e) ||
		    get_uint(limits, "frame_timeout", 1, 3600, &frame_s, e))
			goto out;
		c->limits.idle_timeout_ms = idle_s * 1000;
		c->limits.frame_timeout_ms = frame_s * 1000;
	}
	ret = 0;
out:
	config_destroy(&cfg);
	return ret;
}

int cn_relay_config_load(const char *path, struct cn_relay_config *c, struct cn_errbuf *e)
{
	struct cn_errbuf inner = {{0}};
	char *text = NULL;
	size_t len = 0;
	int ret;

	ret = cn_file_read(path, CONFIG_MAX_BYTES, &text, &len, e);
	if (ret)
		return ret; /* e already names the path */
	if (memchr(text, '\0', len)) {
		snprintf(inner.msg, sizeof(inner.msg), "contains a NUL byte");
		ret = -CN_EFORMAT;
	}
	if (ret == 0)
		ret = cn_relay_config_parse(text, c, &inner);
	free(text);
	if (ret)
		cn_errbuf_set(e, "%s: %s", path, inner.msg);
	return ret;
}
