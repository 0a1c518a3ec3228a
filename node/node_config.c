/* SPDX-License-Identifier: MIT */
/*
 * Parses and validates cairn-node's configuration with libconfig.
 */
#include "node/node_config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "common/cfg.h"

void cn_node_config_defaults(struct cn_node_config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->state_dir, sizeof(c->state_dir), "/var/lib/cairn");
	snprintf(c->control_socket, sizeof(c->control_socket), "/run/cairn/node.sock");
	snprintf(c->log_level, sizeof(c->log_level), "info");
	snprintf(c->tun_name, sizeof(c->tun_name), "cairn0");
	c->mtu = 1340; /* a relayed packet then fits 1500 bytes over IPv6 (docs/CONFIG.md) */
	c->relay_transport = CN_RELAY_AUTO;
	c->ice = true;
	c->dns = true;
	c->dns_overlay = true;
	cn_addr_parse("127.0.0.99:53", &c->dns_listen[0]);
	c->ndns_listen = 1;
	c->deploy_port = 7946;
	snprintf(c->deploy_groups[0], sizeof(c->deploy_groups[0]), "deployers");
	c->ndeploy_groups = 1;
	c->deploy_keep = 3;
	c->deploy_max_mb = 4096;
	c->deploy_hook_timeout = 60;
	c->offload = true;
	c->udp_gso = true;
	c->workers = 0;
	c->nat_birthday = true;
	c->nat_port_mapping = true;
	c->nat_port = 0;
}

static int read_nat(const config_setting_t *g, struct cn_node_config *c, struct cn_errbuf *e)
{
	static const char *const names[] = {"birthday", "port_mapping", "port", NULL};
	uint32_t port = c->nat_port;

	if (!config_setting_is_group(g)) {
		cn_errbuf_set(e, "line %d: 'nat' must be a group", config_setting_source_line(g));
		return -CN_EFORMAT;
	}
	if (cn_cfg_check_members(g, names, "nat.", e) ||
	    cn_cfg_bool(g, "birthday", &c->nat_birthday, e) ||
	    cn_cfg_bool(g, "port_mapping", &c->nat_port_mapping, e) ||
	    cn_cfg_uint(g, "port", 0, 65535, &port, e))
		return -CN_EFORMAT;
	c->nat_port = (uint16_t)port;
	return 0;
}

static int read_dataplane(const config_setting_t *g, struct cn_node_config *c, struct cn_errbuf *e)
{
	static const char *const names[] = {"offload", "udp_gso", "workers", NULL};

	if (!config_setting_is_group(g)) {
		cn_errbuf_set(e, "line %d: 'dataplane' must be a group",
			      config_setting_source_line(g));
		return -CN_EFORMAT;
	}
	if (cn_cfg_check_members(g, names, "dataplane.", e) ||
	    cn_cfg_bool(g, "offload", &c->offload, e) ||
	    cn_cfg_bool(g, "udp_gso", &c->udp_gso, e) ||
	    cn_cfg_uint(g, "workers", 0, CN_NODE_WORKERS_MAX, &c->workers, e))
		return -CN_EFORMAT;
	return 0;
}

/* A peer-list group name: a lowercase DNS label. */
static bool group_name_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

static int read_deploy(const config_setting_t *g, struct cn_node_config *c, struct cn_errbuf *e)
{
	static const char *const names[] = {"enabled",	 "port", "groups", "keep",
					    "hook",	 "dir",	 "max_mb", "hook_timeout",
					    "hook_user", NULL};
	const config_setting_t *groups;
	int n;

	if (!config_setting_is_group(g)) {
		cn_errbuf_set(e, "line %d: 'deploy' must be a group",
			      config_setting_source_line(g));
		return -CN_EFORMAT;
	}
	if (cn_cfg_check_members(g, names, "deploy.", e) ||
	    cn_cfg_bool(g, "enabled", &c->deploy, e) ||
	    cn_cfg_uint(g, "port", 1, 65535, &c->deploy_port, e) ||
	    cn_cfg_uint(g, "keep", 1, 100, &c->deploy_keep, e) ||
	    cn_cfg_uint(g, "max_mb", 1, 65536, &c->deploy_max_mb, e) ||
	    cn_cfg_uint(g, "hook_timeout", 1, 3600, &c->deploy_hook_timeout, e) ||
	    cn_cfg_string(g, "hook", false, c->deploy_hook, sizeof(c->deploy_hook), e) ||
	    cn_cfg_string(g, "dir", false, c->deploy_dir, sizeof(c->deploy_dir), e) ||
	    cn_cfg_string(g, "hook_user", false, c->deploy_hook_user, sizeof(c->deploy_hook_user),
			  e))
		return -CN_EFORMAT;
	if (c->deploy_hook[0] && c->deploy_hook[0] != '/') {
		cn_errbuf_set(e, "'deploy.hook' must be an absolute path (or \"\" for none)");
		return -CN_EFORMAT;
	}
	if (c->deploy_dir[0] && c->deploy_dir[0] != '/') {
		cn_errbuf_set(e, "'deploy.dir' must be an absolute path");
		return -CN_EFORMAT;
	}
	groups = config_setting_get_member(g, "groups");
	if (!groups)
		return 0;
	n = config_setting_is_array(groups) ? config_setting_length(groups) : -1;
	if (n < 1 || n > CN_NODE_MAX_DEPLOY_GROUPS) {
		cn_errbuf_set(e, "line %d: 'deploy.groups' must be an array of 1 to %d group names",
			      config_setting_source_line(groups), CN_NODE_MAX_DEPLOY_GROUPS);
		return -CN_EFORMAT;
	}
	for (int i = 0; i < n; i++) {
		const char *v = config_setting_get_string_elem(groups, i);

		if (!v || !group_name_valid(v)) {
			cn_errbuf_set(e, "line %d: 'deploy.groups': '%s' is not a group name",
				      config_setting_source_line(groups), v ? v : "?");
			return -CN_EFORMAT;
		}
		snprintf(c->deploy_groups[i], sizeof(c->deploy_groups[i]), "%s", v);
	}
	c->ndeploy_groups = (unsigned int)n;
	return 0;
}

static int read_dns(const config_setting_t *g, struct cn_node_config *c, struct cn_errbuf *e)
{
	static const char *const names[] = {"enabled", "listen", "overlay", "upstream", NULL};
	const config_setting_t *listen;

	if (!config_setting_is_group(g)) {
		cn_errbuf_set(e, "line %d: 'dns' must be a group", config_setting_source_line(g));
		return -CN_EFORMAT;
	}
	if (cn_cfg_check_members(g, names, "dns.", e) || cn_cfg_bool(g, "enabled", &c->dns, e) ||
	    cn_cfg_bool(g, "overlay", &c->dns_overlay, e) ||
	    cn_cfg_string(g, "upstream", false, c->dns_upstream, sizeof(c->dns_upstream), e))
		return -CN_EFORMAT;
	listen = config_setting_get_member(g, "listen");
	if (listen &&
	    cn_cfg_addrs(g, "listen", c->dns_listen, CN_NODE_MAX_DNS_LISTEN, &c->ndns_listen, e))
		return -CN_EFORMAT;
	/* Each upstream must be "addr:port": c-ares would take names silently. */
	for (char *p = c->dns_upstream; *p;) {
		char one[CN_ADDR_TEXT_MAX];
		struct cn_addr a;
		size_t n = strcspn(p, ",");

		if (n == 0 || n >= sizeof(one)) {
			cn_errbuf_set(e, "'dns.upstream' must be \"address:port,...\"");
			return -CN_EFORMAT;
		}
		memcpy(one, p, n);
		one[n] = '\0';
		if (cn_addr_parse(one, &a) != 0) {
			cn_errbuf_set(e, "'dns.upstream': '%s' is not \"address:port\"", one);
			return -CN_EFORMAT;
		}
		p += n + (p[n] == ',');
	}
	return 0;
}

static bool ip_literal(const char *s)
{
	uint8_t buf[16];

	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

static int read_ice(const config_setting_t *ice, struct cn_node_config *c, struct cn_errbuf *e)
{
	static const char *const names[] = {"enabled", "interfaces", "turn", NULL};
	static const char *const turn_names[] = {"host", "port", "username", "password", NULL};
	const config_setting_t *ifs, *turn;
	int n;

	if (!config_setting_is_group(ice)) {
		cn_errbuf_set(e, "line %d: 'ice' must be a group", config_setting_source_line(ice));
		return -CN_EFORMAT;
	}
	if (cn_cfg_check_members(ice, names, "ice.", e) || cn_cfg_bool(ice, "enabled", &c->ice, e))
		return -CN_EFORMAT;
	ifs = config_setting_get_member(ice, "interfaces");
	if (ifs) {
		n = config_setting_is_array(ifs) ? config_setting_length(ifs) : -1;
		if (n < 0 || n > CN_NODE_MAX_IFADDRS) {
			cn_errbuf_set(e,
				      "line %d: 'ice.interfaces' must be an array of at most %d "
				      "addresses",
				      config_setting_source_line(ifs), CN_NODE_MAX_IFADDRS);
			return -CN_EFORMAT;
		}
		for (int i = 0; i < n; i++) {
			const char *v = config_setting_get_string_elem(ifs, i);

			if (!v || !ip_literal(v)) {
				cn_errbuf_set(e,
					      "line %d: 'ice.interfaces': '%s' is not an address",
					      config_setting_source_line(ifs), v ? v : "?");
				return -CN_EFORMAT;
			}
			snprintf(c->ice_ifaddrs[i], sizeof(c->ice_ifaddrs[i]), "%s", v);
		}
		c->nice_ifaddrs = (unsigned int)n;
	}
	turn = config_setting_get_member(ice, "turn");
	if (!turn)
		return 0;
	n = config_setting_is_list(turn) ? config_setting_length(turn) : -1;
	if (n < 0 || n > CN_NODE_MAX_TURN) {
		cn_errbuf_set(e, "line %d: 'ice.turn' must be a list of at most %d groups",
			      config_setting_source_line(turn), CN_NODE_MAX_TURN);
		return -CN_EFORMAT;
	}
	for (int i = 0; i < n; i++) {
		const config_setting_t *t = config_setting_get_elem(turn, (unsigned int)i);
		struct cn_node_turn *nt = &c->turn[i];
		uint32_t port = 3478;

		if (!config_setting_is_group(t)) {
			cn_errbuf_set(e, "line %d: 'ice.turn' entries must be groups",
				      config_setting_source_line(t));
			return -CN_EFORMAT;
		}
		if (cn_cfg_check_members(t, turn_names, "ice.turn.", e) ||
		    cn_cfg_string(t, "host", true, nt->host, sizeof(nt->host), e) ||
		    cn_cfg_uint(t, "port", 1, 65535, &port, e) ||
		    cn_cfg_string(t, "username", false, nt->username, sizeof(nt->username), e) ||
		    cn_cfg_string(t, "password", false, nt->password, sizeof(nt->password), e))
			return -CN_EFORMAT;
		if (!ip_literal(nt->host)) {
			cn_errbuf_set(e, "line %d: 'ice.turn.host' must be an IP address",
				      config_setting_source_line(t));
			return -CN_EFORMAT;
		}
		nt->port = (uint16_t)port;
	}
	c->nturn = (unsigned int)n;
	return 0;
}

static int from_config(const config_t *cfg, struct cn_node_config *c, struct cn_errbuf *e)
{
	static const char *const top[] = {"identity_key",
					  "root_key",
					  "peer_list",
					  "state_dir",
					  "control_socket",
					  "log_level",
					  "tun",
					  "relays",
					  "ice",
					  "dns",
					  "metrics",
					  "deploy",
					  "user",
					  "dataplane",
					  "nat",
					  NULL};
	static const char *const tun_names[] = {"name", "mtu", NULL};
	static const char *const relay_names[] = {"transport", NULL};
	const config_setting_t *root = config_root_setting(cfg), *g;
	char root_text[CN_KEY_TEXT_LEN + 8] = "", transport[16] = "auto";

	if (cn_cfg_check_members(root, top, "", e) ||
	    cn_cfg_string(root, "identity_key", true, c->identity_key, sizeof(c->identity_key),
			  e) ||
	    cn_cfg_string(root, "root_key", true, root_text, sizeof(root_text), e) ||
	    cn_cfg_string(root, "peer_list", true, c->peer_list, sizeof(c->peer_list), e) ||
	    cn_cfg_string(root, "state_dir", false, c->state_dir, sizeof(c->state_dir), e) ||
	    cn_cfg_string(root, "control_socket", false, c->control_socket,
			  sizeof(c->control_socket), e) ||
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
	g = config_setting_get_member(root, "tun");
	if (g && (!config_setting_is_group(g) || cn_cfg_check_members(g, tun_names, "tun.", e) ||
		  cn_cfg_string(g, "name", false, c->tun_name, sizeof(c->tun_name), e) ||
		  cn_cfg_uint(g, "mtu", 1280, 9000, &c->mtu, e))) {
		if (!e->msg[0])
			cn_errbuf_set(e, "'tun' must be a group");
		return -CN_EFORMAT;
	}
	g = config_setting_get_member(root, "relays");
	if (g &&
	    (!config_setting_is_group(g) || cn_cfg_check_members(g, relay_names, "relays.", e) ||
	     cn_cfg_string(g, "transport", false, transport, sizeof(transport), e))) {
		if (!e->msg[0])
			cn_errbuf_set(e, "'relays' must be a group");
		return -CN_EFORMAT;
	}
	if (!strcmp(transport, "auto")) {
		c->relay_transport = CN_RELAY_AUTO;
	} else if (!strcmp(transport, "udp")) {
		c->relay_transport = CN_RELAY_UDP;
	} else if (!strcmp(transport, "tcp")) {
		c->relay_transport = CN_RELAY_TCP;
	} else {
		cn_errbuf_set(e, "'relays.transport' must be auto, udp or tcp");
		return -CN_EFORMAT;
	}
	g = config_setting_get_member(root, "ice");
	if (g && read_ice(g, c, e))
		return -CN_EFORMAT;
	g = config_setting_get_member(root, "dns");
	if (g && read_dns(g, c, e))
		return -CN_EFORMAT;
	g = config_setting_get_member(root, "deploy");
	if (g && read_deploy(g, c, e))
		return -CN_EFORMAT;
	g = config_setting_get_member(root, "dataplane");
	if (g && read_dataplane(g, c, e))
		return -CN_EFORMAT;
	g = config_setting_get_member(root, "nat");
	if (g && read_nat(g, c, e))
		return -CN_EFORMAT;
	{
		char metrics[CN_ADDR_TEXT_MAX] = "";

		if (cn_cfg_string(root, "metrics", false, metrics, sizeof(metrics), e))
			return -CN_EFORMAT;
		if (metrics[0]) {
			if (cn_addr_parse(metrics, &c->metrics) != 0) {
				cn_errbuf_set(e, "'metrics': '%s' is not \"address:port\"",
					      metrics);
				return -CN_EFORMAT;
			}
			c->metrics_on = true;
		}
	}
	return 0;
}

static int from_any(const config_t *cfg, void *out, struct cn_errbuf *e)
{
	return from_config(cfg, out, e);
}

int cn_node_config_parse(const char *text, struct cn_node_config *c, struct cn_errbuf *e)
{
	cn_node_config_defaults(c);
	return cn_cfg_load(NULL, text, from_any, c, e);
}

int cn_node_config_load(const char *path, struct cn_node_config *c, struct cn_errbuf *e)
{
	cn_node_config_defaults(c);
	return cn_cfg_load(path, NULL, from_any, c, e);
}
