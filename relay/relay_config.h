/* SPDX-License-Identifier: MIT */
/*
 * cairn-relay's configuration file (libconfig syntax; docs/CONFIG.md):
 *
 *   identity_key = "/etc/cairn/relay.key";
 *   root_key = "<root public key, base64>";
 *   peer_list = "/etc/cairn/peers.conf";
 *   state_dir = "/var/lib/cairn-relay";
 *   log_level = "info";
 *   user = "cairn-relay";    # after start run as this user ("" = cairn if it exists)
 *   listen = {
 *     tcp = [ "0.0.0.0:443" ];        # node links over TCP
 *     udp = [ "0.0.0.0:443" ];        # node links over UDP (STUN answered too)
 *     stun = [ "0.0.0.0:3478" ];      # STUN binding service
 *     metrics = "127.0.0.1:9586";     # Prometheus /metrics and /health; "" = off
 *   };
 *   limits = { max_connections = 10000; ... };   # see struct cn_relay_limits
 *
 * Unknown settings are refused so that a typo cannot silently fall back to
 * a default.
 */
#ifndef CN_RELAY_RELAY_CONFIG_H
#define CN_RELAY_RELAY_CONFIG_H

#include <stdint.h>

#include "common/addr.h"
#include "common/err.h"
#include "crypto/keys.h"

enum {
	CN_RELAY_MAX_LISTEN = 8, /* per kind */
	CN_PATH_MAX_LEN = 1024,
};

struct cn_relay_limits {
	uint32_t max_connections;	 /* authenticated and pending links */
	uint32_t max_pending_handshakes; /* links not yet authenticated */
	uint32_t handshake_rate;	 /* per source address, per second */
	uint32_t handshake_load;	 /* handshakes/s past which mac2 is required (cookies) */
	uint32_t handshake_burst;
	uint32_t max_frame;	   /* TCP frame cap, <= 65535 */
	uint32_t max_buffered;	   /* bytes queued to one TCP link before drops */
	uint32_t idle_timeout_ms;  /* no authenticated traffic: link closed */
	uint32_t frame_timeout_ms; /* a started frame or handshake must finish */
};

struct cn_relay_config {
	char identity_key[CN_PATH_MAX_LEN];
	uint8_t root_key[CN_KEY_LEN];
	char peer_list[CN_PATH_MAX_LEN];
	char state_dir[CN_PATH_MAX_LEN];
	char log_level[16];
	char user[64]; /* run as this user after start; "" = "cairn" if it exists */
	struct cn_addr tcp[CN_RELAY_MAX_LISTEN];
	unsigned int ntcp;
	struct cn_addr udp[CN_RELAY_MAX_LISTEN];
	unsigned int nudp;
	struct cn_addr stun[CN_RELAY_MAX_LISTEN];
	unsigned int nstun;
	struct cn_addr metrics;
	bool metrics_on;
	struct cn_relay_limits limits;
};

/* Defaults for every optional setting. */
void cn_relay_config_defaults(struct cn_relay_config *c);
/* Reads and validates path; e gets "path:line: reason" on failure. */
int cn_relay_config_load(const char *path, struct cn_relay_config *c, struct cn_errbuf *e);
/* Same, from a string (tests, fuzzing). */
int cn_relay_config_parse(const char *text, struct cn_relay_config *c, struct cn_errbuf *e);

#endif
