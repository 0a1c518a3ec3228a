/* SPDX-License-Identifier: MIT */
/*
 * cairn-node's configuration file (libconfig syntax; docs/CONFIG.md):
 *
 *   identity_key = "/etc/cairn/node.key";
 *   root_key = "<root public key>";
 *   peer_list = "/etc/cairn/peers.conf";
 *   state_dir = "/var/lib/cairn";
 *   control_socket = "/run/cairn/node.sock";
 *   log_level = "info";
 *   user = "cairn";          # after start run as this user ("" = cairn if it exists)
 *   tun = { name = "cairn0"; mtu = 1340; };
 *   relays = { transport = "auto"; };        # auto, udp or tcp
 *   ice = { enabled = true; interfaces = [ "192.168.1.10" ];
 *           turn = ( { host = "192.0.2.7"; port = 3478; username = "u"; password = "p"; } ); };
 *   dns = { enabled = true; listen = [ "127.0.0.99:53" ]; overlay = true;
 *           upstream = "192.0.2.53:53,198.51.100.53:53"; };   # "" = /etc/resolv.conf
 *   metrics = "127.0.0.1:9587";                             # "" (default) = off
 *   deploy = { enabled = false; port = 7946; groups = [ "deployers" ]; keep = 3;
 *              hook = "/etc/cairn/activate"; dir = "/var/lib/cairn/deploy";
 *              max_mb = 4096; hook_timeout = 60;
 *              hook_user = "cairn-hook"; };                    # docs/DEPLOY.md
 *   dataplane = { offload = true; udp_gso = true; workers = 0; };   # 0 = one per CPU
 *   nat = { birthday = true; port_mapping = true; port = 0; };   # 0 = any port
 *
 * Which peer this node is follows from its key's place in the peer list.
 */
#ifndef CN_NODE_NODE_CONFIG_H
#define CN_NODE_NODE_CONFIG_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/addr.h"
#include "common/err.h"
#include "crypto/keys.h"

enum {
	CN_NODE_PATH_MAX = 1024,
	CN_NODE_MAX_TURN = 2,
	CN_NODE_MAX_IFADDRS = 8,
	CN_NODE_MAX_DNS_LISTEN = 4,
	CN_NODE_MAX_DEPLOY_GROUPS = 8,
};

enum cn_relay_transport {
	CN_RELAY_AUTO, /* UDP, and TCP as well when UDP gets no answer */
	CN_RELAY_UDP,
	CN_RELAY_TCP,
};

struct cn_node_turn {
	char host[64]; /* IP literal */
	uint16_t port;
	char username[64];
	char password[64];
};

struct cn_node_config {
	char identity_key[CN_NODE_PATH_MAX];
	uint8_t root_key[CN_KEY_LEN];
	char peer_list[CN_NODE_PATH_MAX];
	char state_dir[CN_NODE_PATH_MAX];
	char control_socket[108]; /* sun_path */
	char log_level[16];
	char user[64]; /* run as this user after start; "" = "cairn" if it exists */
	char tun_name[IFNAMSIZ];
	uint32_t mtu;
	enum cn_relay_transport relay_transport;
	bool ice;
	char ice_ifaddrs[CN_NODE_MAX_IFADDRS][64];
	unsigned int nice_ifaddrs;
	struct cn_node_turn turn[CN_NODE_MAX_TURN];
	unsigned int nturn;
	bool dns;	  /* serve the overlay names */
	bool dns_overlay; /* also on the overlay IPv4 address, port 53 */
	struct cn_addr dns_listen[CN_NODE_MAX_DNS_LISTEN];
	unsigned int ndns_listen;
	char dns_upstream[256]; /* "addr:port,..."; "" = the system's resolv.conf */
	struct cn_addr metrics; /* Prometheus /metrics */
	bool metrics_on;
	/* Pushes over the overlay (docs/DEPLOY.md). */
	bool deploy;
	uint32_t deploy_port;
	char deploy_groups[CN_NODE_MAX_DEPLOY_GROUPS][64]; /* peers in these may push */
	unsigned int ndeploy_groups;
	uint32_t deploy_keep;
	char deploy_hook[CN_NODE_PATH_MAX]; /* "" = none */
	char deploy_dir[CN_NODE_PATH_MAX];  /* "" = state_dir/deploy */
	uint32_t deploy_max_mb;
	uint32_t deploy_hook_timeout; /* seconds */
	char deploy_hook_user[64];    /* "" = the node's own user */
	/* The fast path (docs/DESIGN.md "Data plane"). */
	bool offload;	  /* TUN with TSO/USO super-packets and daemon-side GRO */
	bool udp_gso;	  /* UDP_SEGMENT sends and UDP_GRO receives on underlay sockets */
	uint32_t workers; /* crypto worker threads; 0 = one per online CPU, 1 = on the loop */
	/* Hard-NAT traversal (docs/NODE.md "Hard NATs"). */
	bool nat_birthday;     /* the birthday technique (and the node-wide socket it uses) */
	bool nat_port_mapping; /* ask the gateway to map the node-wide socket (PCP, NAT-PMP, UPnP)
				*/
	uint16_t nat_port;     /* the node-wide UDP socket's port; 0: any */
};

enum { CN_NODE_WORKERS_MAX = 64 };

void cn_node_config_defaults(struct cn_node_config *c);
int cn_node_config_load(const char *path, struct cn_node_config *c, struct cn_errbuf *e);
int cn_node_config_parse(const char *text, struct cn_node_config *c, struct cn_errbuf *e);

#endif
