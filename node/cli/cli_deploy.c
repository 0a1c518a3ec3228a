/* SPDX-License-Identifier: MIT */
/*
 * cairn deploy push|rollback|list (docs/DEPLOY.md): the pusher's side of
 * the deploy protocol, with blocking sockets. Targets are peer or group
 * names from the peer list, reached at their overlay addresses: the local
 * cairn-node carries the connection, so this runs on a node. The manifest
 * is signed with the node's identity key; the receiving node checks that
 * the key is the one of the overlay address the connection comes from.
 *
 * This file: options, targets, list and rollback; pushes are in
 * cli_deploy_push.c, the connection to a node in cli_deploy_node.c.
 */
#include "node/cli/cli_deploy.h"
#include "node/cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/file.h"

static const char usage[] =
	"usage: cairn deploy push TARGET FILE [--name APP] [--version V] [--activate]\n"
	"                    [--parallel N] [--keep-going] [--rate-limit KBPS]\n"
	"       cairn deploy rollback TARGET APP [--to VERSION]\n"
	"       cairn deploy list TARGET [APP]\n"
	"\n"
	"TARGET is a peer name or a group name from the peer list (also as\n"
	"NAME.DOMAIN or GROUP.group.DOMAIN). Runs on a node: connections go to the\n"
	"targets' overlay addresses through the local cairn-node.\n"
	"\n"
	"Options:\n"
	"  --name APP        application name (default: FILE's name up to the first '.')\n"
	"  --version V       version (default: the first 12 hex digits of the BLAKE2b hash)\n"
	"  --activate        make it current and run the node's activation hook\n"
	"  --parallel N      group pushes: members at a time (default 1)\n"
	"  --keep-going      group pushes: do not stop at the first failure\n"
	"  --rate-limit KBPS send at most KBPS kilobytes per second\n"
	"  --to VERSION      rollback: this version (default: the one before current)\n"
	"  --key FILE        identity key (default " DEFAULT_KEY ")\n"
	"  --list FILE       peer list (default " DEFAULT_LIST ")\n"
	"  --port PORT       deploy port on the nodes (default 7946)\n"
	"  --timeout S       seconds to wait for a node's result (default 300)\n"
	"\n"
	"Exit status: 0 when every target succeeded, 1 otherwise, 2 usage.\n";

int cn_cli_deploy_load_list(const char *cmd, const char *path, struct cn_peerlist **pl)
{
	struct cn_errbuf e = {{0}};
	char *text = NULL;
	size_t len;
	int ret;

	ret = cn_file_read(path, CN_PEERLIST_MAX_BYTES, &text, &len, &e);
	if (!ret)
		ret = cn_peerlist_parse((const uint8_t *)text, len, pl, &e);
	free(text);
	if (ret)
		return cn_cli_fail(cmd, "%s", e.msg);
	return 0;
}

/* Peer NAME, group NAME, NAME.DOMAIN, NAME.group.DOMAIN. */
int cn_cli_deploy_resolve(const char *cmd, const struct cn_peerlist *pl, const char *arg,
			  struct target **out, size_t *n)
{
	char name[CN_DOMAIN_MAX + 1];
	size_t dl = strlen(pl->domain), al = strlen(arg), count;
	const struct cn_pl_peer *p, **members = NULL;
	bool group_only = false;

	*out = NULL;
	*n = 0;
	snprintf(name, sizeof(name), "%s", arg);
	if (al > dl + 1 && !strcmp(arg + al - dl, pl->domain) && arg[al - dl - 1] == '.') {
		name[al - dl - 1] = '\0';
		if (strlen(name) > 6 && !strcmp(name + strlen(name) - 6, ".group")) {
			name[strlen(name) - 6] = '\0';
			group_only = true;
		}
	}
	p = group_only ? NULL : cn_peerlist_find_name(pl, name);
	if (p) {
		*out = calloc(1, sizeof(**out));
		if (!*out)
			return cn_cli_fail(cmd, "out of memory");
		snprintf((*out)->name, sizeof((*out)->name), "%s", p->name);
		memcpy((*out)->ip4, p->ip4, 4);
		*n = 1;
		return 0;
	}
	members = calloc(MAX_TARGETS, sizeof(*members));
	if (!members)
		return cn_cli_fail(cmd, "out of memory");
	count = cn_peerlist_group_members(pl, name, members, MAX_TARGETS);
	if (count == 0 || count > MAX_TARGETS) {
		free(members);
		return count ? cn_cli_fail(cmd, "group '%s' has over %d members", name, MAX_TARGETS)
			     : cn_cli_fail(cmd, "'%s' is neither a peer nor a group in the list",
					   arg);
	}
	*out = calloc(count, sizeof(**out));
	if (!*out) {
		free(members);
		return cn_cli_fail(cmd, "out of memory");
	}
	for (size_t i = 0; i < count; i++) {
		snprintf((*out)[i].name, sizeof((*out)[i].name), "%s", members[i]->name);
		memcpy((*out)[i].ip4, members[i]->ip4, 4);
	}
	*n = count;
	free(members);
	return 0;
}

static int list_one(const struct opts *o, const struct target *t, const char *app)
{
	static struct cn_dproto_entry ent[CN_DPROTO_LIST_MAX];
	struct cn_dproto_req q;
	struct outcome res;
	uint8_t *buf = malloc(CN_DPROTO_FRAME_MAX), type;
	size_t len, plen, count;
	int fd, ret = CN_EXIT_FAIL;

	memset(&q, 0, sizeof(q));
	memset(&res, 0, sizeof(res));
	snprintf(q.app, sizeof(q.app), "%s", app ? app : "");
	if (!buf)
		return cn_cli_fail("deploy", "out of memory");
	fd = cn_cli_deploy_dial(t, o->port, res.msg, sizeof(res.msg));
	if (fd < 0)
		goto out;
	if (cn_dproto_list_encode(&q, buf, CN_DPROTO_FRAME_MAX, &len) ||
	    cn_cli_deploy_send_all(fd, buf, len) ||
	    cn_cli_deploy_recv_frame(fd, buf, &type, &plen, IO_TIMEOUT_MS, res.msg,
				     sizeof(res.msg)))
		goto out;
	if (type == CN_DPROTO_RESULT) {
		static struct cn_dproto_result r;

		if (cn_dproto_result_decode(buf + CN_DPROTO_HDR, plen, &r) == 0) {
			res.done = true;
			res.status = r.status;
			memcpy(res.msg, r.msg, sizeof(res.msg));
		}
		goto out;
	}
	if (type != CN_DPROTO_LIST_REPLY ||
	    cn_dproto_list_reply_decode(buf + CN_DPROTO_HDR, plen, ent, CN_DPROTO_LIST_MAX,
					&count)) {
		snprintf(res.msg, sizeof(res.msg), "unexpected answer from the node");
		goto out;
	}
	printf("%s:\n  %-20s %-24s %-10s %-14s %-20s %s\n", t->name, "APP", "VERSION", "SIZE",
	       "BLAKE2B", "PUSHED (UTC)", "CURRENT");
	for (size_t i = 0; i < count; i++) {
		char hex[CN_DEPLOY_HASH_HEX_LEN + 1], sz[32], when[32];
		time_t tt = (time_t)ent[i].time;
		struct tm tm;

		cn_deploy_hash_hex(ent[i].hash, hex);
		cn_cli_deploy_human((double)ent[i].size, sz, sizeof(sz));
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", gmtime_r(&tt, &tm));
		printf("  %-20s %-24s %-10s %-14.12s %-20s %s\n", ent[i].app, ent[i].version, sz,
		       hex, when, ent[i].current ? "*" : "");
	}
	if (count == 0)
		printf("  (nothing deployed)\n");
	ret = CN_EXIT_OK;
out:
	if (ret)
		cn_cli_fail("deploy", "%s: %s: %s", t->name, cn_cli_deploy_result_word(&res),
			    res.msg);
	if (fd >= 0)
		close(fd);
	free(buf);
	return ret;
}

static int rollback_one(const struct opts *o, const struct target *t, const char *app)
{
	struct cn_dproto_req q;
	struct outcome res;
	uint8_t *buf = malloc(CN_DPROTO_FRAME_MAX);
	size_t len;
	int fd;

	memset(&q, 0, sizeof(q));
	memset(&res, 0, sizeof(res));
	snprintf(q.app, sizeof(q.app), "%s", app);
	snprintf(q.version, sizeof(q.version), "%s", o->to ? o->to : "");
	if (!buf)
		return cn_cli_fail("deploy", "out of memory");
	fd = cn_cli_deploy_dial(t, o->port, res.msg, sizeof(res.msg));
	if (fd >= 0) {
		if (cn_dproto_rollback_encode(&q, buf, CN_DPROTO_FRAME_MAX, &len) ||
		    cn_cli_deploy_send_all(fd, buf, len))
			snprintf(res.msg, sizeof(res.msg), "cannot send: %s", strerror(errno));
		else
			cn_cli_deploy_read_result(fd, buf, t, (int)o->timeout_s * 1000, &res);
		close(fd);
	}
	free(buf);
	if (!res.ok)
		return cn_cli_fail("deploy", "%s: %s: %s", t->name, cn_cli_deploy_result_word(&res),
				   res.msg);
	printf("%s: ok: %s\n", t->name, res.msg);
	return CN_EXIT_OK;
}

int cn_cli_deploy(int argc, char **argv)
{
	static const struct option lopts[] = {
		{"name", required_argument, NULL, 'n'},
		{"version", required_argument, NULL, 'V'},
		{"activate", no_argument, NULL, 'a'},
		{"parallel", required_argument, NULL, 'P'},
		{"keep-going", no_argument, NULL, 'K'},
		{"rate-limit", required_argument, NULL, 'r'},
		{"to", required_argument, NULL, 't'},
		{"key", required_argument, NULL, 'k'},
		{"list", required_argument, NULL, 'l'},
		{"port", required_argument, NULL, 'p'},
		{"timeout", required_argument, NULL, 'T'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct opts o = {.key = DEFAULT_KEY,
			 .list = DEFAULT_LIST,
			 .parallel = 1,
			 .port = CN_DPROTO_PORT,
			 .timeout_s = 300};
	const char *sub;
	struct cn_peerlist *pl = NULL;
	struct target *t = NULL;
	size_t n = 0;
	int c, ret = CN_EXIT_OK;

	while ((c = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		char *end;
		unsigned long v;

		switch (c) {
		case 'n':
			o.name = optarg;
			break;
		case 'V':
			o.version = optarg;
			break;
		case 'a':
			o.activate = true;
			break;
		case 'K':
			o.keep_going = true;
			break;
		case 't':
			o.to = optarg;
			break;
		case 'k':
			o.key = optarg;
			break;
		case 'l':
			o.list = optarg;
			break;
		case 'P':
		case 'r':
		case 'p':
		case 'T':
			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno || *end || !*optarg || v < 1 ||
			    v > (c == 'p'   ? 65535ul
				 : c == 'r' ? 10000000ul
					    : 86400ul))
				return cn_cli_usage_error("deploy", "bad number '%s'", optarg);
			if (c == 'P')
				o.parallel = (unsigned int)v;
			else if (c == 'r')
				o.rate = (uint64_t)v * 1000;
			else if (c == 'p')
				o.port = (unsigned int)v;
			else
				o.timeout_s = (unsigned int)v;
			break;
		case 'h':
			fputs(usage, stdout);
			return CN_EXIT_OK;
		default:
			return cn_cli_usage_error("deploy", "unknown option");
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		return cn_cli_usage_error("deploy", "push, rollback or list?");
	sub = argv[0];
	if (!strcmp(sub, "push")) {
		if (argc != 3)
			return cn_cli_usage_error("deploy", "push needs TARGET and FILE");
		return cn_cli_deploy_push(&o, argv[1], argv[2]);
	}
	if (strcmp(sub, "rollback") != 0 && strcmp(sub, "list") != 0)
		return cn_cli_usage_error("deploy", "unknown subcommand '%s'", sub);
	if (!strcmp(sub, "rollback") ? argc != 3 : (argc < 2 || argc > 3))
		return cn_cli_usage_error("deploy", "%s needs TARGET%s", sub,
					  !strcmp(sub, "rollback") ? " and APP" : " [APP]");
	if (argc == 3 && !cn_deploy_app_valid(argv[2]))
		return cn_cli_usage_error("deploy", "'%s' is not an app name", argv[2]);
	if (o.to && !cn_deploy_version_valid(o.to))
		return cn_cli_usage_error("deploy", "'%s' is not a version", o.to);
	if (cn_cli_deploy_load_list("deploy", o.list, &pl))
		return CN_EXIT_FAIL;
	if (cn_cli_deploy_resolve("deploy", pl, argv[1], &t, &n)) {
		cn_peerlist_free(pl);
		return CN_EXIT_FAIL;
	}
	for (size_t i = 0; i < n; i++) {
		int r = !strcmp(sub, "list") ? list_one(&o, &t[i], argc == 3 ? argv[2] : NULL)
					     : rollback_one(&o, &t[i], argv[2]);

		if (r)
			ret = r;
	}
	free(t);
	cn_peerlist_free(pl);
	return ret;
}
