/* SPDX-License-Identifier: MIT */
/*
 * Parses and validates cairn-relay's configuration with libconfig.
 */
#include "relay/relay_config.h"

#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cfg.h"

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
		.handshake_load = 64,
		.max_frame = 65535,
		.max_buffered = 1 << 20,
		.idle_timeout_ms = 90 * 1000,
		.frame_timeout_ms = 10 * 1000,
	};
}

static int from_config(const config_t *cfg, struct cn_relay_config *c, struct cn_errbuf *e);

static int from_any(const config_t *cfg, void *out, struct cn_errbuf *e)
{
	return from_config(cfg, out, e);
}

int cn_relay_config_parse(const char *text, struct cn_relay_config *c, struct cn_errbuf *e)
{
	cn_relay_config_defaults(c);
	return cn_cfg_load(NULL, text, from_any, c, e);
}

static int from_config(const config_t *cfg, struct cn_relay_config *c, struct cn_errbuf *e)
{
	static const char *const top_names[] = {"identity_key", "root_key",  "peer_list",
						"state_dir",	"log_level", "listen",
						"limits",	"user",	     NULL};
	static const char *const listen_names[] = {"tcp", "udp", "stun", "metrics", NULL};
	static const char *const limit_names[] = {"max_connections", "max_pending_handshakes",
						  "handshake_rate",  "handshake_burst",
						  "handshake_load",  "max_frame",
						  "max_buffered",    "idle_timeout",
						  "frame_timeout",   NULL};
	const config_setting_t *root, *listen, *limits;
	char root_text[CN_KEY_TEXT_LEN + 8] = "", metrics[CN_ADDR_TEXT_MAX] = "";
	uint32_t idle_s, frame_s;

	root = config_root_setting(cfg);
	if (cn_cfg_check_members(root, top_names, "", e))
		return -CN_EFORMAT;
	if (cn_cfg_string(root, "identity_key", true, c->identity_key, sizeof(c->identity_key),
			  e) ||
	    cn_cfg_string(root, "root_key", true, root_text, sizeof(root_text), e) ||
	    cn_cfg_string(root, "peer_list", true, c->peer_list, sizeof(c->peer_list), e) ||
	    cn_cfg_string(root, "state_dir", false, c->state_dir, sizeof(c->state_dir), e) ||
	    cn_cfg_string(root, "log_level", false, c->log_level, sizeof(c->log_level), e) ||
	    cn_cfg_string(root, "user", false, c->user, sizeof(c->user), e))
		return -CN_EFORMAT;
	if (cn_key_from_text(root_text, strlen(root_text), c->root_key)) {
		cn_errbuf_set(e, "'root_key' is not a public key (44 characters of base64)");
		return -CN_EFORMAT;
	}
	if (!cn_cfg_log_level_valid(c->log_level)) {
		cn_errbuf_set(e, "'log_level' must be err, warn, info or debug");
		return -CN_EFORMAT;
	}
	listen = config_setting_get_member(root, "listen");
	if (!listen || !config_setting_is_group(listen)) {
		cn_errbuf_set(e, "missing group 'listen' (tcp, udp, stun, metrics)");
		return -CN_EFORMAT;
	}
	if (cn_cfg_check_members(listen, listen_names, "listen.", e) ||
	    cn_cfg_addrs(listen, "tcp", c->tcp, CN_RELAY_MAX_LISTEN, &c->ntcp, e) ||
	    cn_cfg_addrs(listen, "udp", c->udp, CN_RELAY_MAX_LISTEN, &c->nudp, e) ||
	    cn_cfg_addrs(listen, "stun", c->stun, CN_RELAY_MAX_LISTEN, &c->nstun, e) ||
	    cn_cfg_string(listen, "metrics", false, metrics, sizeof(metrics), e))
		return -CN_EFORMAT;
	if (c->ntcp + c->nudp == 0) {
		cn_errbuf_set(e, "'listen' needs at least one tcp or udp address for node links");
		return -CN_EFORMAT;
	}
	if (metrics[0]) {
		if (cn_addr_parse(metrics, &c->metrics)) {
			cn_errbuf_set(e, "'listen.metrics': '%s' is not \"address:port\"", metrics);
			return -CN_EFORMAT;
		}
		c->metrics_on = true;
	}
	limits = config_setting_get_member(root, "limits");
	if (limits) {
		idle_s = c->limits.idle_timeout_ms / 1000;
		frame_s = c->limits.frame_timeout_ms / 1000;
		if (!config_setting_is_group(limits)) {
			cn_errbuf_set(e, "'limits' must be a group");
			return -CN_EFORMAT;
		}
		if (cn_cfg_check_members(limits, limit_names, "limits.", e) ||
		    cn_cfg_uint(limits, "max_connections", 1, 1000000, &c->limits.max_connections,
				e) ||
		    cn_cfg_uint(limits, "max_pending_handshakes", 1, 1000000,
				&c->limits.max_pending_handshakes, e) ||
		    cn_cfg_uint(limits, "handshake_rate", 1, 100000, &c->limits.handshake_rate,
				e) ||
		    cn_cfg_uint(limits, "handshake_burst", 1, 100000, &c->limits.handshake_burst,
				e) ||
		    cn_cfg_uint(limits, "handshake_load", 1, 1000000, &c->limits.handshake_load,
				e) ||
		    cn_cfg_uint(limits, "max_frame", 256, 65535, &c->limits.max_frame, e) ||
		    cn_cfg_uint(limits, "max_buffered", 65536, 1 << 30, &c->limits.max_buffered,
				e) ||
		    cn_cfg_uint(limits, "idle_timeout", 5, 86400, &idle_s, e) ||
		    cn_cfg_uint(limits, "frame_timeout", 1, 3600, &frame_s, e))
			return -CN_EFORMAT;
		c->limits.idle_timeout_ms = idle_s * 1000;
		c->limits.frame_timeout_ms = frame_s * 1000;
	}
	return 0;
}

int cn_relay_config_load(const char *path, struct cn_relay_config *c, struct cn_errbuf *e)
{
	cn_relay_config_defaults(c);
	return cn_cfg_load(path, NULL, from_any, c, e);
}
