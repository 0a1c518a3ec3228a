/* SPDX-License-Identifier: MIT */
/*
 * cairn status, cairn ping: ask the local cairn-node over its control
 * socket (unix, root only; cli_ctl.c). The node formats the status table;
 * JSON answers are parsed with jansson, so a malformed answer is an error
 * here instead of being passed on.
 */
#include "node/cli/cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "node/cli/cli_ctl.h"

#define DEFAULT_SOCKET CN_CLI_DEFAULT_SOCKET

static const char status_usage[] =
	"usage: cairn status [--json] [--socket PATH]\n"
	"\n"
	"Shows this node, its relays and every peer: overlay address, path\n"
	"(direct, relay or turn), remote endpoint, the path's MTU (the largest\n"
	"packet it carries, as probed), round-trip time, bytes each way and the\n"
	"time since the last handshake.\n"
	"\n"
	"  --json          machine-readable output\n"
	"  --socket PATH   the node's control socket (default " DEFAULT_SOCKET ")\n"
	"  -h, --help      show this help\n";

int cn_cli_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"socket", required_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *sock = DEFAULT_SOCKET;
	char *reply = NULL;
	bool json = false;
	json_t *j;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 's':
			sock = optarg;
			break;
		case 'h':
			fputs(status_usage, stdout);
			return CN_EXIT_OK;
		default:
			return cn_cli_usage_error("status", "bad option");
		}
	}
	if (optind != argc)
		return cn_cli_usage_error("status", "unexpected argument '%s'", argv[optind]);
	if (!json) {
		if (cn_cli_ctl_ask("status", sock, "status text", false, &reply))
			return CN_EXIT_FAIL;
		fputs(reply, stdout);
		free(reply);
		return CN_EXIT_OK;
	}
	j = cn_cli_ctl_json("status", sock, "status", false);
	if (!j)
		return CN_EXIT_FAIL;
	c = json_dumpf(j, stdout, JSON_COMPACT);
	json_decref(j);
	if (c != 0 || putchar('\n') == EOF)
		return cn_cli_fail("status", "cannot write the answer");
	return CN_EXIT_OK;
}

static const char ping_usage[] =
	"usage: cairn ping NAME [-c COUNT] [-i SECONDS] [--socket PATH]\n"
	"\n"
	"Sends probes to peer NAME through its end-to-end session and prints, for\n"
	"each answer, the path the probe took (direct, relay or turn), the path the\n"
	"answer came back on and the round-trip time.\n"
	"\n"
	"  -c COUNT        number of probes (default 4, 0 = until interrupted)\n"
	"  -i SECONDS      interval (default 1)\n"
	"  --socket PATH   the node's control socket (default " DEFAULT_SOCKET ")\n"
	"  -h, --help      show this help\n";

/* A string member of o, or "?" when absent or not a string. */
static const char *str_of(const json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));

	return v ? v : "?";
}

int cn_cli_ping(int argc, char **argv)
{
	static const struct option opts[] = {
		{"socket", required_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *sock = DEFAULT_SOCKET, *name;
	char line[128];
	long count = 4, interval = 1, answered = 0, sent = 0;
	char *end;
	int c;

	while ((c = getopt_long(argc, argv, "c:i:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			count = strtol(optarg, &end, 10);
			if (*end || count < 0)
				return cn_cli_usage_error("ping", "-c takes a count >= 0");
			break;
		case 'i':
			interval = strtol(optarg, &end, 10);
			if (*end || interval < 0 || interval > 3600)
				return cn_cli_usage_error("ping", "-i takes seconds (0-3600)");
			break;
		case 's':
			sock = optarg;
			break;
		case 'h':
			fputs(ping_usage, stdout);
			return CN_EXIT_OK;
		default:
			return cn_cli_usage_error("ping", "bad option");
		}
	}
	if (optind + 1 != argc)
		return cn_cli_usage_error("ping", "takes one peer NAME");
	name = argv[optind];
	if (strlen(name) > 63)
		return cn_cli_usage_error("ping", "'%s' is not a peer name", name);
	snprintf(line, sizeof(line), "ping %s", name);
	for (long i = 0; count == 0 || i < count; i++) {
		json_t *j;

		if (i && interval)
			sleep((unsigned int)interval);
		j = cn_cli_ctl_json("ping", sock, line, false);
		if (!j)
			return CN_EXIT_FAIL;
		sent++;
		if (json_is_true(json_object_get(j, "ok"))) {
			json_t *rtt = json_object_get(j, "rtt_us");

			printf("reply from %s: path %s, back %s, rtt %.2f ms\n", name,
			       str_of(j, "path"), str_of(j, "reply_path"),
			       json_is_number(rtt) ? json_number_value(rtt) / 1000 : 0.0);
			answered++;
		} else {
			const char *err = str_of(j, "error");

			if (strstr(err, "no peer named")) {
				json_decref(j);
				return cn_cli_fail("ping", "%s: not in the peer list", name);
			}
			printf("no reply from %s: %s\n", name, err);
		}
		fflush(stdout);
		json_decref(j);
	}
	printf("%ld probes, %ld answered\n", sent, answered);
	return answered ? CN_EXIT_OK : CN_EXIT_FAIL;
}
