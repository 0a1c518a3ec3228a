/* SPDX-License-Identifier: MIT */
/*
 * cairn status, cairn ping: ask the local cairn-node over its control
 * socket (unix, root only). The node does the formatting; this is a thin
 * client that prints what it answers.
 */
#include "node/cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_SOCKET "/run/cairn/node.sock"

enum { REPLY_MAX = 1 << 20, REPLY_TIMEOUT_MS = 5000 };

/* Sends one command line and reads the whole reply into a NUL-terminated buffer. */
static int ask(const char *cmd, const char *socket_path, const char *line, char **reply)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	char *buf = NULL;
	size_t len = 0;
	int fd, ret = CN_EXIT_FAIL;

	*reply = NULL;
	if (strlen(socket_path) >= sizeof(sun.sun_path))
		return cn_cli_fail(cmd, "socket path too long");
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", socket_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		cn_cli_fail(cmd, "cannot reach cairn-node at %s: %s (is it running? are you root?)",
			    socket_path, strerror(errno));
		goto out;
	}
	if (write(fd, line, strlen(line)) != (ssize_t)strlen(line) || write(fd, "\n", 1) != 1) {
		cn_cli_fail(cmd, "cannot send to cairn-node: %s", strerror(errno));
		goto out;
	}
	buf = malloc(REPLY_MAX + 1);
	if (!buf)
		goto out;
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		ssize_t r;

		if (poll(&pfd, 1, REPLY_TIMEOUT_MS) <= 0) {
			cn_cli_fail(cmd, "cairn-node did not answer within %d s",
				    REPLY_TIMEOUT_MS / 1000);
			goto out;
		}
		r = read(fd, buf + len, REPLY_MAX - len);
		if (r < 0) {
			cn_cli_fail(cmd, "reading the answer: %s", strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len == REPLY_MAX) {
			cn_cli_fail(cmd, "answer too long");
			goto out;
		}
	}
	buf[len] = '\0';
	*reply = buf;
	buf = NULL;
	ret = CN_EXIT_OK;
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	return ret;
}

static const char status_usage[] =
	"usage: cairn status [--json] [--socket PATH]\n"
	"\n"
	"Shows this node, its relays and every peer: overlay address, path\n"
	"(direct, relay or turn), remote endpoint, round-trip time, bytes each way\n"
	"and the time since the last handshake.\n"
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
	if (ask("status", sock, json ? "status" : "status text", &reply))
		return CN_EXIT_FAIL;
	fputs(reply, stdout);
	free(reply);
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

/* Pulls "key":"value" or "key":number out of a flat JSON object. */
static void json_field(const char *json, const char *key, char *out, size_t cap)
{
	char pat[64];
	const char *p;
	size_t i = 0;

	out[0] = '\0';
	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(json, pat);
	if (!p)
		return;
	p += strlen(pat);
	if (*p == '"')
		p++;
	while (*p && *p != '"' && *p != ',' && *p != '}' && i + 1 < cap)
		out[i++] = *p++;
	out[i] = '\0';
}

int cn_cli_ping(int argc, char **argv)
{
	static const struct option opts[] = {
		{"socket", required_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *sock = DEFAULT_SOCKET, *name;
	char line[128], path[16], back[16], rtt[32], err[160];
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
		char *reply = NULL;

		if (i && interval)
			sleep((unsigned int)interval);
		if (ask("ping", sock, line, &reply))
			return CN_EXIT_FAIL;
		sent++;
		if (strstr(reply, "\"ok\":true")) {
			json_field(reply, "path", path, sizeof(path));
			json_field(reply, "reply_path", back, sizeof(back));
			json_field(reply, "rtt_us", rtt, sizeof(rtt));
			printf("reply from %s: path %s, back %s, rtt %.2f ms\n", name, path, back,
			       strtod(rtt, NULL) / 1000);
			answered++;
		} else {
			json_field(reply, "error", err, sizeof(err));
			if (strstr(err, "no peer named")) {
				free(reply);
				return cn_cli_fail("ping", "%s: not in the peer list", name);
			}
			printf("no reply from %s: %s\n", name, err);
		}
		fflush(stdout);
		free(reply);
	}
	printf("%ld probes, %ld answered\n", sent, answered);
	return answered ? CN_EXIT_OK : CN_EXIT_FAIL;
}
