/* SPDX-License-Identifier: MIT */
/*
 * cairn-relay: reads its configuration, opens its sockets and reads its
 * key, drops its privileges (to the configured 'user', no capabilities),
 * then runs until SIGTERM or SIGINT and re-reads the peer list on SIGHUP.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include <event2/event.h>
#include <sodium.h>

#include "common/daemon.h"
#include "common/err.h"
#include "common/log.h"
#include "common/privdrop.h"
#include "relay/relay.h"
#include "relay/relay_config.h"

static const char usage[] =
	"usage: cairn-relay --config FILE [--check] [--log-level LEVEL]\n"
	"\n"
	"The cairn relay: STUN for nodes behind NAT, authenticated rendezvous and\n"
	"blind forwarding of end-to-end encrypted packets between nodes that have\n"
	"no direct path. Admits only keys in the network's signed peer list.\n"
	"\n"
	"  -c, --config FILE      configuration file (see docs/CONFIG.md)\n"
	"      --check            validate the configuration and peer list, then exit\n"
	"  -l, --log-level LEVEL  err, warn, info or debug (overrides the file)\n"
	"  -h, --help             show this help\n"
	"      --version          print the version\n"
	"\n"
	"Signals: SIGHUP re-reads the peer list file; SIGTERM and SIGINT stop.\n"
	"Once started it runs as the configured 'user' (default cairn, if it\n"
	"exists) without capabilities (see docs/DESIGN.md).\n";

static void reload(void *relay)
{
	cn_relay_reload(relay);
}

/*
 * One descriptor per TCP link plus a few: raise the soft limit (and, as
 * root, the hard one) so max_connections is reachable.
 */
static void raise_fd_limit(uint32_t max_connections)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)max_connections + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
		return;
	if (rl.rlim_max < want) {
		struct rlimit up = {want, want};

		if (setrlimit(RLIMIT_NOFILE, &up) == 0)
			return;
	}
	rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
	setrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur < want)
		cn_log_warn("open file limit %lu is below max_connections %u",
			    (unsigned long)rl.rlim_cur, max_connections);
}

int main(int argc, char **argv)
{
	struct cn_relay_config cfg;
	struct cn_errbuf e = {{0}};
	struct event_base *base = NULL;
	struct cn_relay *relay = NULL;
	struct cn_daemon_args args;
	int ret = 1;

	cn_log_set_ident("cairn-relay");
	ret = cn_daemon_parse_args(argc, argv, "cairn-relay", CN_VERSION, usage, &args);
	if (ret >= 0)
		return ret;
	ret = 1;
	if (sodium_init() < 0) {
		cn_log_err("cannot initialise libsodium");
		return 1;
	}
	if (cn_relay_config_load(args.config_path, &cfg, &e)) {
		cn_log_err("%s", e.msg);
		return 1;
	}
	if (cn_daemon_set_log_level(args.log_level, cfg.log_level))
		return 2;
	if (args.check) {
		if (cn_relay_check(&cfg, &e)) {
			cn_log_err("%s", e.msg);
			return 1;
		}
		printf("%s: configuration, key and peer list are valid\n", args.config_path);
		return 0;
	}
	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit(cfg.limits.max_connections);
	base = event_base_new();
	if (!base) {
		cn_log_err("cannot create the event loop");
		return 1;
	}
	relay = cn_relay_new(base, &cfg, &e);
	if (!relay) {
		cn_log_err("%s", e.msg);
		goto out;
	}
	{
		/* Everything privileged is done: sockets bound, key read, fd limit raised. */
		const char *dirs[] = {cfg.state_dir, NULL};

		if (cn_privdrop_daemon(cfg.user, 0, dirs, cfg.identity_key, &e)) {
			cn_log_err("dropping privileges: %s", e.msg);
			goto out;
		}
	}
	cn_log_info("cairn-relay %s running", CN_VERSION);
	ret = cn_daemon_run(base, reload, relay);
out:
	cn_relay_free(relay);
	event_base_free(base);
	return ret;
}
