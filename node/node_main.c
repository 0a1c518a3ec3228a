/* SPDX-License-Identifier: MIT */
/*
 * cairn-node: reads its configuration, runs the node until SIGTERM or
 * SIGINT, re-reads the peer list on SIGHUP.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <event2/event.h>
#include <sodium.h>

#include "common/err.h"
#include "common/log.h"
#include "node/node.h"
#include "node/node_config.h"

static const char usage[] =
	"usage: cairn-node --config FILE [--log-level LEVEL]\n"
	"\n"
	"The cairn node: gives this machine its overlay address on a TUN device\n"
	"and reaches every peer of the signed peer list end to end encrypted,\n"
	"through a relay at once and directly (ICE) as soon as a path is found.\n"
	"\n"
	"  -c, --config FILE      configuration file (see docs/CONFIG.md)\n"
	"  -l, --log-level LEVEL  err, warn, info or debug (overrides the file)\n"
	"  -h, --help             show this help\n"
	"      --version          print the version\n"
	"\n"
	"Signals: SIGHUP re-reads the peer list file; SIGTERM and SIGINT stop.\n"
	"Query a running node with 'cairn status' and 'cairn ping NAME'.\n";

static void on_hup(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	cn_log_info("SIGHUP: re-reading the peer list");
	cn_node_reload(arg);
}

static void on_stop(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	cn_log_info("%s: shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	event_base_loopbreak(arg);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"log-level", required_argument, NULL, 'l'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	const char *config_path = NULL, *level_text = NULL;
	struct cn_node_config cfg;
	struct cn_errbuf e = {{0}};
	struct event_base *base = NULL;
	struct cn_node *node = NULL;
	struct event *ev_hup = NULL, *ev_term = NULL, *ev_int = NULL;
	enum cn_log_level level;
	int c, ret = 1;

	cn_log_set_ident("cairn-node");
	while ((c = getopt_long(argc, argv, "c:l:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config_path = optarg;
			break;
		case 'l':
			level_text = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		case 'V':
			printf("cairn-node %s\n", CN_VERSION);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (!config_path || optind != argc) {
		fputs(usage, stderr);
		return 2;
	}
	if (sodium_init() < 0) {
		cn_log_err("cannot initialise libsodium");
		return 1;
	}
	if (cn_node_config_load(config_path, &cfg, &e)) {
		cn_log_err("%s", e.msg);
		return 1;
	}
	if (cn_log_parse_level(level_text ? level_text : cfg.log_level, &level)) {
		cn_log_err("unknown log level '%s'", level_text);
		return 2;
	}
	cn_log_set_level(level);
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
	ev_hup = evsignal_new(base, SIGHUP, on_hup, node);
	ev_term = evsignal_new(base, SIGTERM, on_stop, base);
	ev_int = evsignal_new(base, SIGINT, on_stop, base);
	if (!ev_hup || !ev_term || !ev_int || event_add(ev_hup, NULL) || event_add(ev_term, NULL) ||
	    event_add(ev_int, NULL)) {
		cn_log_err("cannot install signal handlers");
		goto out;
	}
	event_base_dispatch(base);
	ret = 0;
out:
	if (ev_hup)
		event_free(ev_hup);
	if (ev_term)
		event_free(ev_term);
	if (ev_int)
		event_free(ev_int);
	cn_node_free(node);
	if (base)
		event_base_free(base);
	return ret;
}
