/* SPDX-License-Identifier: MIT */
/*
 * cairn-node: reads its configuration, starts the node (TUN, sockets, key
 * read: the part that needs root), drops its privileges, then runs until
 * SIGTERM or SIGINT and re-reads the peer list on SIGHUP.
 */
#include <linux/capability.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <sodium.h>

#include "common/daemon.h"
#include "common/err.h"
#include "common/log.h"
#include "common/privdrop.h"
#include "node/node.h"
#include "node/node_check.h"
#include "node/node_config.h"

static const char usage[] =
	"usage: cairn-node --config FILE [--check] [--log-level LEVEL]\n"
	"\n"
	"The cairn node: gives this machine its overlay address on a TUN device\n"
	"and reaches every peer of the signed peer list end to end encrypted,\n"
	"through a relay at once and directly (ICE) as soon as a path is found.\n"
	"\n"
	"  -c, --config FILE      configuration file (see docs/CONFIG.md)\n"
	"      --check            check the configuration, key and peer list (this\n"
	"                         node's key listed, signature, expiry), then exit\n"
	"  -l, --log-level LEVEL  err, warn, info or debug (overrides the file)\n"
	"  -h, --help             show this help\n"
	"      --version          print the version\n"
	"\n"
	"Signals: SIGHUP re-reads the peer list file; SIGTERM and SIGINT stop.\n"
	"Once started it runs as the configured 'user' (default cairn, if it\n"
	"exists) with only CAP_NET_ADMIN (see docs/DESIGN.md).\n"
	"Query a running node with 'cairn status' and 'cairn ping NAME'.\n";

static void reload(void *node)
{
	cn_node_reload(node);
}

/*
 * What the node keeps after start (docs/DESIGN.md, "What each process can
 * do"): CAP_NET_ADMIN (the TUN's address and routes; larger socket buffers
 * for direct paths), CAP_NET_BIND_SERVICE when it serves DNS or deploy on
 * a port below 1024 (so such a listener can be opened again), and
 * CAP_SETUID/CAP_SETGID only when the deploy hook must run as a user other
 * than the node's. Hands the state and deploy directories to the user; the
 * key file stays root's.
 */
static int drop_privileges(const struct cn_node_config *cfg, struct cn_errbuf *e)
{
	const char *dirs[] = {cfg->state_dir, cfg->deploy ? cfg->deploy_dir : "", NULL};
	uint64_t keep = CN_CAP(CAP_NET_ADMIN);
	bool low = cfg->dns && cfg->dns_overlay;
	uid_t node_uid = geteuid(), hook_uid;
	gid_t gid;

	for (unsigned int i = 0; cfg->dns && i < cfg->ndns_listen; i++)
		low |= cn_addr_port((const struct sockaddr *)&cfg->dns_listen[i].ss) < 1024;
	low |= cfg->deploy && cfg->deploy_port < 1024;
	if (low)
		keep |= CN_CAP(CAP_NET_BIND_SERVICE);
	if (cfg->deploy && cfg->deploy_hook[0] && cfg->deploy_hook_user[0]) {
		struct cn_errbuf le = {{0}};

		cn_privdrop_lookup(cfg->user[0] ? cfg->user : CN_PRIVDROP_DEFAULT_USER, &node_uid,
				   &gid, &le);
		if (cn_privdrop_lookup(cfg->deploy_hook_user, &hook_uid, &gid, e) != 0)
			return -CN_ENOTFOUND;
		if (hook_uid != node_uid) {
			cn_log_warn("deploy.hook_user %s is not the node's user: the node keeps "
				    "CAP_SETUID and CAP_SETGID to start the hook as that user",
				    cfg->deploy_hook_user);
			keep |= CN_CAP(CAP_SETUID) | CN_CAP(CAP_SETGID);
		}
	}
	return cn_privdrop_daemon(cfg->user, keep, dirs, cfg->identity_key, e);
}

int main(int argc, char **argv)
{
	struct cn_node_config cfg;
	struct cn_errbuf e = {{0}};
	struct event_base *base = NULL;
	struct cn_node *node = NULL;
	struct cn_daemon_args args;
	int ret = 1;

	cn_log_set_ident("cairn-node");
	ret = cn_daemon_parse_args(argc, argv, "cairn-node", CN_VERSION, usage, &args);
	if (ret >= 0)
		return ret;
	ret = 1;
	if (sodium_init() < 0) {
		cn_log_err("cannot initialise libsodium");
		return 1;
	}
	if (cn_node_config_load(args.config_path, &cfg, &e)) {
		cn_log_err("%s", e.msg);
		return 1;
	}
	if (cn_daemon_set_log_level(args.log_level, cfg.log_level))
		return 2;
	if (args.check) {
		char summary[256];

		if (cn_node_check(&cfg, summary, sizeof(summary), &e)) {
			cn_log_err("%s", e.msg);
			return 1;
		}
		printf("%s: configuration, key and peer list are valid: %s\n", args.config_path,
		       summary);
		return 0;
	}
	signal(SIGPIPE, SIG_IGN);
	base = event_base_new();
	if (!base) {
		cn_log_err("cannot create the event loop");
		return 1;
	}
	node = cn_node_new(base, &cfg, &e);
	if (!node) {
		cn_log_err("%s", e.msg);
		goto out;
	}
	if (drop_privileges(&cfg, &e)) {
		cn_log_err("dropping privileges: %s", e.msg);
		goto out;
	}
	ret = cn_daemon_run(base, reload, node);
out:
	cn_node_free(node);
	if (base)
		event_base_free(base);
	return ret;
}
