/* SPDX-License-Identifier: MIT */
#include "common/daemon.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <event2/event.h>

#include "common/log.h"

struct hup {
	void (*fn)(void *arg);
	void *arg;
};

static void on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct hup *h = arg;

	(void)sig;
	(void)what;
	cn_log_info("SIGHUP: re-reading the peer list");
	h->fn(h->arg);
}

static void on_stop(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	cn_log_info("%s: shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	event_base_loopbreak(arg);
}

int cn_daemon_run(struct event_base *base, void (*on_hup_fn)(void *arg), void *arg)
{
	struct hup h = {on_hup_fn, arg};
	struct event *ev_hup = evsignal_new(base, SIGHUP, on_hup, &h);
	struct event *ev_term = evsignal_new(base, SIGTERM, on_stop, base);
	struct event *ev_int = evsignal_new(base, SIGINT, on_stop, base);
	int ret = 1;

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
	return ret;
}

int cn_daemon_parse_args(int argc, char **argv, const char *ident, const char *version,
			 const char *usage, struct cn_daemon_args *out)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},    {"check", no_argument, NULL, 'C'},
		{"log-level", required_argument, NULL, 'l'}, {"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},	     {NULL, 0, NULL, 0},
	};
	int c;

	memset(out, 0, sizeof(*out));
	while ((c = getopt_long(argc, argv, "c:l:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			out->config_path = optarg;
			break;
		case 'C':
			out->check = true;
			break;
		case 'l':
			out->log_level = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		case 'V':
			printf("%s %s\n", ident, version);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (!out->config_path || optind != argc) {
		fputs(usage, stderr);
		return 2;
	}
	return -1;
}

int cn_daemon_set_log_level(const char *cmdline, const char *config)
{
	enum cn_log_level level;

	if (cn_log_parse_level(cmdline ? cmdline : config, &level)) {
		cn_log_err("unknown log level '%s'", cmdline ? cmdline : config);
		return 2;
	}
	cn_log_set_level(level);
	return 0;
}
