/* SPDX-License-Identifier: MIT */
/*
 * cairn peers add|remove|relay-add|relay-remove|sign|verify|show:
 * maintaining a signed peer list without editing it by hand (cairn
 * network init, which makes the first one, is in cli_network.c).
 *
 * Editing commands parse the list (its signature is not needed to edit),
 * apply the change, raise the serial by one and write the canonical text
 * back unsigned, atomically. `peers sign` then signs the exact bytes.
 */
#include "node/cli/cli.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>

#include "common/err.h"
#include "common/file.h"
#include "crypto/keys.h"
#include "crypto/peerlist.h"

/* Parsed from every peers subcommand; unused fields stay at their defaults. */
struct peers_opts {
	const char *list;
	const char *root_key;
	const char *root_pub;
	const char *groups;
	const char *ipv4;
	const char *ipv6;
	long port, stun_port;
	long expires_days; /* -1: unchanged */
	bool no_expiry;
	bool json;
	int64_t held_serial;
	const char *relay;   /* publish: relay name in the list */
	const char *key;     /* publish: identity to authenticate with */
	const char *address; /* publish: HOST:PORT instead of the list's */
	bool udp;	     /* publish over UDP */
};

static const char peers_usage[] =
	"usage: cairn peers COMMAND [options]\n"
	"\n"
	"  add NAME KEY [--groups G1,G2] [--ipv4 ADDR] [--ipv6 ADDR]\n"
	"      add a peer; KEY is what 'cairn keygen' printed on that machine;\n"
	"      overlay addresses are assigned unless given\n"
	"  remove NAME\n"
	"  relay-add NAME KEY HOST [--port N] [--stun-port N]\n"
	"      add a relay (port default 443, STUN port default 3478)\n"
	"  relay-remove NAME\n"
	"  sign [--root-key FILE] [--expires-in DAYS | --no-expiry]\n"
	"      sign the list with the root key (default root.key beside the list)\n"
	"  verify [--root KEY | --root-key FILE] [--held-serial N]\n"
	"      check signature, contents, expiry and (with --held-serial) rollback;\n"
	"      the root public key defaults to root.pub beside the list\n"
	"  show [--json] [--root KEY]\n"
	"      print the list; with a root key (or root.pub beside the list) the\n"
	"      signature is checked too\n"
	"  publish --relay NAME [--key FILE] [--udp] [--address HOST:PORT]\n"
	"      upload the signed list to a relay of the list, which checks it and\n"
	"      pushes it to every connected node; authenticates with FILE (default\n"
	"      root.key beside the list; any key in the list works too)\n"
	"\n"
	"Common options:\n"
	"  -l, --list FILE   the peer list (default peers.conf)\n"
	"  -h, --help        show this help\n"
	"\n"
	"add, remove, relay-add and relay-remove raise the serial and leave the\n"
	"list unsigned; run 'cairn peers sign' afterwards.\n";

/* A file beside the list: dirname(list)/name. */
static void beside(const char *list, const char *name, char out[PATH_MAX])
{
	char tmp[PATH_MAX];

	snprintf(tmp, sizeof(tmp), "%s", list);
	snprintf(out, PATH_MAX, "%s/%s", dirname(tmp), name);
}

/* Reads a public key from text or from a file holding the text. */
static int read_root_pub(const char *cmd, const char *text, const char *list,
			 uint8_t pk[CN_KEY_LEN], bool *found)
{
	char path[PATH_MAX];
	char *buf = NULL;
	size_t len = 0;
	struct cn_errbuf e = {{0}};
	int ret;

	*found = false;
	if (text) {
		if (cn_key_from_text(text, strlen(text), pk))
			return cn_cli_fail(
				cmd, "'%s' is not a public key (44 characters of base64)", text);
		*found = true;
		return 0;
	}
	beside(list, CN_CLI_NETWORK_ROOT_PUB, path);
	ret = cn_file_read(path, 256, &buf, &len, &e);
	if (ret)
		return 0; /* no root.pub: caller decides whether that is fatal */
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	ret = cn_key_from_text(buf, len, pk);
	free(buf);
	if (ret)
		return cn_cli_fail(cmd, "%s: not a public key", path);
	*found = true;
	return 0;
}

static int load_unsigned(const char *cmd, const char *path, struct cn_peerlist **pl)
{
	struct cn_errbuf e = {{0}};
	char *buf = NULL;
	size_t len = 0;
	int ret;

	ret = cn_file_read(path, CN_PEERLIST_MAX_BYTES, &buf, &len, &e);
	if (ret == 0) {
		ret = cn_peerlist_parse((const uint8_t *)buf, len, pl, &e);
		free(buf);
	}
	if (ret)
		return cn_cli_fail(cmd, "%s: %s", path, e.msg[0] ? e.msg : cn_strerror(ret));
	return 0;
}

static int write_list(const char *cmd, const char *path, const char *text, size_t len)
{
	struct cn_errbuf e = {{0}};

	if (cn_file_write_atomic(path, text, len, 0644, &e))
		return cn_cli_fail(cmd, "%s", e.msg);
	return 0;
}

int cn_cli_sign_and_write(const char *cmd, const char *path, const char *body, size_t len,
			  const struct cn_identity *root)
{
	struct cn_errbuf e = {{0}};
	char *signed_text = NULL;
	size_t signed_len = 0;
	int ret;

	ret = cn_peerlist_sign((const uint8_t *)body, len, root, &signed_text, &signed_len, &e);
	if (ret)
		return cn_cli_fail(cmd, "cannot sign: %s", e.msg[0] ? e.msg : cn_strerror(ret));
	ret = write_list(cmd, path, signed_text, signed_len);
	free(signed_text);
	return ret;
}

int cn_cli_save_list(const char *cmd, const char *path, const struct cn_peerlist *pl,
		     const struct cn_identity *root)
{
	char *text = NULL;
	size_t len = 0;
	int ret;

	ret = cn_peerlist_format(pl, &text, &len);
	if (ret)
		return cn_cli_fail(cmd, "cannot format the list: %s", cn_strerror(ret));
	ret = root ? cn_cli_sign_and_write(cmd, path, text, len, root)
		   : write_list(cmd, path, text, len);
	free(text);
	return ret;
}

int cn_cli_bump_serial(const char *cmd, struct cn_peerlist *pl)
{
	if (pl->serial == INT64_MAX)
		return cn_cli_fail(cmd, "serial cannot grow any further");
	pl->serial++;
	return 0;
}

static int peers_parse_opts(const char *cmd, int argc, char **argv, struct peers_opts *o)
{
	static const struct option opts[] = {
		{"list", required_argument, NULL, 'l'},
		{"root-key", required_argument, NULL, 'K'},
		{"root", required_argument, NULL, 'R'},
		{"groups", required_argument, NULL, 'g'},
		{"ipv4", required_argument, NULL, '4'},
		{"ipv6", required_argument, NULL, '6'},
		{"port", required_argument, NULL, 'p'},
		{"stun-port", required_argument, NULL, 's'},
		{"expires-in", required_argument, NULL, 'x'},
		{"no-expiry", no_argument, NULL, 'X'},
		{"held-serial", required_argument, NULL, 'S'},
		{"json", no_argument, NULL, 'j'},
		{"relay", required_argument, NULL, 'r'},
		{"key", required_argument, NULL, 'k'},
		{"udp", no_argument, NULL, 'U'},
		{"address", required_argument, NULL, 'a'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	char *end;
	int c;

	while ((c = getopt_long(argc, argv, "l:h", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			o->list = optarg;
			break;
		case 'K':
			o->root_key = optarg;
			break;
		case 'R':
			o->root_pub = optarg;
			break;
		case 'g':
			o->groups = optarg;
			break;
		case '4':
			o->ipv4 = optarg;
			break;
		case '6':
			o->ipv6 = optarg;
			break;
		case 'p':
		case 's':
			errno = 0;
			long v = strtol(optarg, &end, 10);

			if (errno || *end || v < 1 || v > 65535)
				return cn_cli_usage_error(cmd, "'%s' is not a port (1-65535)",
							  optarg);
			*(c == 'p' ? &o->port : &o->stun_port) = v;
			break;
		case 'x':
			errno = 0;
			o->expires_days = strtol(optarg, &end, 10);
			if (errno || *end || o->expires_days < 1 || o->expires_days > 36500)
				return cn_cli_usage_error(cmd, "--expires-in takes days (1-36500)");
			break;
		case 'X':
			o->no_expiry = true;
			break;
		case 'S':
			errno = 0;
			o->held_serial = strtoll(optarg, &end, 10);
			if (errno || *end || o->held_serial < 0)
				return cn_cli_usage_error(cmd, "--held-serial takes a number >= 0");
			break;
		case 'j':
			o->json = true;
			break;
		case 'r':
			o->relay = optarg;
			break;
		case 'k':
			o->key = optarg;
			break;
		case 'U':
			o->udp = true;
			break;
		case 'a':
			o->address = optarg;
			break;
		case 'h':
			fputs(peers_usage, stdout);
			return -1;
		default:
			return cn_cli_usage_error(cmd, "bad option");
		}
	}
	return 0;
}

static int cmd_add(const struct peers_opts *o, int nargs, char **args)
{
	const char *cmd = "peers add";
	struct cn_peerlist *pl = NULL;
	struct cn_errbuf e = {{0}};
	uint8_t key[CN_KEY_LEN];
	char *groups_copy = NULL, *save = NULL;
	const char *groups[CN_PEERLIST_MAX_GROUPS + 1];
	size_t ngroups = 0;
	const struct cn_pl_peer *p;
	char a4[INET_ADDRSTRLEN], a6[INET6_ADDRSTRLEN];
	int ret = CN_EXIT_FAIL;

	if (nargs != 2)
		return cn_cli_usage_error("peers", "add takes NAME and KEY");
	if (cn_key_from_text(args[1], strlen(args[1]), key))
		return cn_cli_fail(cmd, "'%s' is not a public key (44 characters of base64)",
				   args[1]);
	if (o->groups && o->groups[0]) {
		groups_copy = strdup(o->groups);
		if (!groups_copy)
			return cn_cli_fail(cmd, "out of memory");
		for (char *g = strtok_r(groups_copy, ",", &save); g;
		     g = strtok_r(NULL, ",", &save)) {
			if (ngroups == CN_PEERLIST_MAX_GROUPS) {
				cn_cli_fail(cmd, "more than %d groups", CN_PEERLIST_MAX_GROUPS);
				goto out;
			}
			groups[ngroups++] = g;
		}
	}
	if (load_unsigned(cmd, o->list, &pl))
		goto out;
	if (cn_peerlist_add_peer(pl, args[0], key, groups, ngroups, o->ipv4, o->ipv6, &e)) {
		cn_cli_fail(cmd, "%s", e.msg);
		goto out;
	}
	if (cn_cli_bump_serial(cmd, pl) || cn_cli_save_list(cmd, o->list, pl, NULL))
		goto out;
	p = cn_peerlist_find_name(pl, args[0]);
	inet_ntop(AF_INET, p->ip4, a4, sizeof(a4));
	inet_ntop(AF_INET6, p->ip6, a6, sizeof(a6));
	printf("added peer %s: %s %s (serial %" PRId64 ", unsigned: run 'cairn peers sign')\n",
	       p->name, a4, a6, pl->serial);
	ret = CN_EXIT_OK;
out:
	free(groups_copy);
	cn_peerlist_free(pl);
	return ret;
}

static int cmd_remove(const struct peers_opts *o, int nargs, char **args, bool relay)
{
	const char *cmd = relay ? "peers relay-remove" : "peers remove";
	struct cn_peerlist *pl = NULL;
	struct cn_errbuf e = {{0}};
	int ret = CN_EXIT_FAIL;

	if (nargs != 1)
		return cn_cli_usage_error("peers", "%s takes NAME",
					  relay ? "relay-remove" : "remove");
	if (load_unsigned(cmd, o->list, &pl))
		return CN_EXIT_FAIL;
	if ((relay ? cn_peerlist_remove_relay(pl, args[0], &e)
		   : cn_peerlist_remove_peer(pl, args[0], &e))) {
		cn_cli_fail(cmd, "%s", e.msg);
		goto out;
	}
	if (cn_cli_bump_serial(cmd, pl) || cn_cli_save_list(cmd, o->list, pl, NULL))
		goto out;
	printf("removed %s %s (serial %" PRId64 ", unsigned: run 'cairn peers sign')\n",
	       relay ? "relay" : "peer", args[0], pl->serial);
	ret = CN_EXIT_OK;
out:
	cn_peerlist_free(pl);
	return ret;
}

static int cmd_relay_add(const struct peers_opts *o, int nargs, char **args)
{
	const char *cmd = "peers relay-add";
	struct cn_peerlist *pl = NULL;
	struct cn_errbuf e = {{0}};
	uint8_t key[CN_KEY_LEN];
	int ret = CN_EXIT_FAIL;

	if (nargs != 3)
		return cn_cli_usage_error("peers", "relay-add takes NAME, KEY and HOST");
	if (cn_key_from_text(args[1], strlen(args[1]), key))
		return cn_cli_fail(cmd, "'%s' is not a public key (44 characters of base64)",
				   args[1]);
	if (load_unsigned(cmd, o->list, &pl))
		return CN_EXIT_FAIL;
	if (cn_peerlist_add_relay(pl, args[0], key, args[2], (uint16_t)o->port,
				  (uint16_t)o->stun_port, &e)) {
		cn_cli_fail(cmd, "%s", e.msg);
		goto out;
	}
	if (cn_cli_bump_serial(cmd, pl) || cn_cli_save_list(cmd, o->list, pl, NULL))
		goto out;
	printf("added relay %s: %s port %ld, STUN %ld (serial %" PRId64
	       ", unsigned: run 'cairn peers sign')\n",
	       args[0], args[2], o->port, o->stun_port, pl->serial);
	ret = CN_EXIT_OK;
out:
	cn_peerlist_free(pl);
	return ret;
}

static int cmd_sign(const struct peers_opts *o, int nargs)
{
	const char *cmd = "peers sign";
	struct cn_peerlist *pl = NULL;
	struct cn_identity *root = NULL;
	struct cn_errbuf e = {{0}};
	char key_path[PATH_MAX], expiry[64] = "never";
	char *buf = NULL, *body = NULL;
	size_t len = 0, body_len = 0;
	int ret = CN_EXIT_FAIL;

	if (nargs != 0)
		return cn_cli_usage_error("peers", "sign takes no arguments");
	if (o->root_key)
		snprintf(key_path, sizeof(key_path), "%s", o->root_key);
	else
		beside(o->list, CN_CLI_NETWORK_ROOT_KEY, key_path);
	if (cn_keyfile_read(key_path, &root, &e))
		return cn_cli_fail(cmd, "%s", e.msg);
	if (cn_file_read(o->list, CN_PEERLIST_MAX_BYTES, &buf, &len, &e)) {
		cn_cli_fail(cmd, "%s", e.msg);
		goto out;
	}
	if (cn_peerlist_parse((const uint8_t *)buf, len, &pl, &e)) {
		cn_cli_fail(cmd, "%s: %s", o->list, e.msg);
		goto out;
	}
	if (o->expires_days > 0 || o->no_expiry) {
		/* Changing the expiry changes the list: a new serial, canonical text. */
		pl->expires = o->no_expiry ? 0 : (int64_t)time(NULL) + o->expires_days * 86400;
		if (cn_cli_bump_serial(cmd, pl) || cn_peerlist_format(pl, &body, &body_len))
			goto out;
	} else {
		/* Sign exactly what is in the file, without any old signature line. */
		char *sig = strstr(buf, "# cairn-signature:");

		body_len = sig ? (size_t)(sig - buf) : len;
		body = malloc(body_len + 2);
		if (!body)
			goto out;
		memcpy(body, buf, body_len);
		if (body_len == 0 || body[body_len - 1] != '\n')
			body[body_len++] = '\n';
	}
	if (cn_cli_sign_and_write(cmd, o->list, body, body_len, root))
		goto out;
	if (pl->expires) {
		time_t t = (time_t)pl->expires;
		struct tm tm;

		strftime(expiry, sizeof(expiry), "%Y-%m-%d %H:%M:%S UTC", gmtime_r(&t, &tm));
	}
	printf("signed %s: network %s, serial %" PRId64 ", %zu peers, %zu relays, expires %s\n",
	       o->list, pl->network, pl->serial, pl->npeers, pl->nrelays, expiry);
	ret = CN_EXIT_OK;
out:
	free(buf);
	free(body);
	cn_peerlist_free(pl);
	cn_identity_free(root);
	return ret;
}

/* Loads the list verified when a root key is known; *verified says which. */
static int load_checked(const char *cmd, const struct peers_opts *o, bool require_root,
			struct cn_peerlist **pl, bool *verified, uint8_t root_pk[CN_KEY_LEN])
{
	struct cn_errbuf e = {{0}};
	struct cn_identity *root = NULL;
	char *buf = NULL;
	size_t len = 0;
	bool found = false;
	int ret;

	*verified = false;
	if (o->root_key) {
		if (cn_keyfile_read(o->root_key, &root, &e))
			return cn_cli_fail(cmd, "%s", e.msg);
		memcpy(root_pk, root->ed_pk, CN_KEY_LEN);
		cn_identity_free(root);
		found = true;
	} else if (read_root_pub(cmd, o->root_pub, o->list, root_pk, &found)) {
		return CN_EXIT_FAIL;
	}
	if (!found && require_root)
		return cn_cli_usage_error(cmd, "no root key: give --root KEY or --root-key FILE, "
					       "or put root.pub beside the list");
	if (!found)
		return load_unsigned(cmd, o->list, pl);
	ret = cn_file_read(o->list, CN_PEERLIST_MAX_BYTES, &buf, &len, &e);
	if (ret == 0)
		ret = cn_peerlist_load((const uint8_t *)buf, len, root_pk, o->held_serial,
				       (int64_t)time(NULL), pl, &e);
	free(buf);
	if (ret)
		return cn_cli_fail(cmd, "%s: %s", o->list, e.msg[0] ? e.msg : cn_strerror(ret));
	*verified = true;
	return 0;
}

static int cmd_verify(const struct peers_opts *o, int nargs)
{
	struct cn_peerlist *pl = NULL;
	uint8_t root_pk[CN_KEY_LEN];
	char fpr[CN_KEY_FPR_LEN + 1];
	bool verified;

	if (nargs != 0)
		return cn_cli_usage_error("peers", "verify takes no arguments");
	if (load_checked("peers verify", o, true, &pl, &verified, root_pk))
		return CN_EXIT_FAIL;
	cn_key_fingerprint(root_pk, fpr);
	printf("ok: %s is signed by root %s...; network %s, serial %" PRId64
	       ", %zu peers, %zu relays\n",
	       o->list, fpr, pl->network, pl->serial, pl->npeers, pl->nrelays);
	cn_peerlist_free(pl);
	return CN_EXIT_OK;
}

/* The list as one JSON object (jansson; key order as written here). */
static int show_json(const struct cn_peerlist *pl, bool verified)
{
	char k[CN_KEY_TEXT_LEN + 1], a4[INET_ADDRSTRLEN + 4], a6[INET6_ADDRSTRLEN + 4];
	char p4[INET_ADDRSTRLEN], p6[INET6_ADDRSTRLEN];
	json_t *relays = json_array(), *peers = json_array(), *doc = NULL;
	int ret = -1;

	if (!relays || !peers)
		goto out;
	for (size_t i = 0; i < pl->nrelays; i++) {
		const struct cn_pl_relay *r = &pl->relays[i];

		cn_key_to_text(r->key, k);
		if (json_array_append_new(relays,
					  json_pack("{s:s, s:s, s:s, s:i, s:i}", "name", r->name,
						    "key", k, "host", r->host, "port", (int)r->port,
						    "stun_port", (int)r->stun_port)))
			goto out;
	}
	for (size_t i = 0; i < pl->npeers; i++) {
		const struct cn_pl_peer *p = &pl->peers[i];
		json_t *groups = json_array();

		if (!groups)
			goto out;
		for (size_t g = 0; g < p->ngroups; g++)
			json_array_append_new(groups, json_string(p->groups[g]));
		cn_key_to_text(p->key, k);
		inet_ntop(AF_INET, p->ip4, a4, sizeof(a4));
		inet_ntop(AF_INET6, p->ip6, a6, sizeof(a6));
		if (json_array_append_new(peers, json_pack("{s:s, s:s, s:s, s:s, s:o}", "name",
							   p->name, "key", k, "ipv4", a4, "ipv6",
							   a6, "groups", groups)))
			goto out;
	}
	inet_ntop(AF_INET, pl->prefix4, p4, sizeof(p4));
	inet_ntop(AF_INET6, pl->prefix6, p6, sizeof(p6));
	snprintf(a4, sizeof(a4), "%s/%u", p4, pl->prefix4_len);
	snprintf(a6, sizeof(a6), "%s/%u", p6, pl->prefix6_len);
	doc = json_pack("{s:s, s:I, s:I, s:b, s:s, s:s, s:s, s:O, s:O}", "network", pl->network,
			"serial", (json_int_t)pl->serial, "expires", (json_int_t)pl->expires,
			"signature_verified", verified, "domain", pl->domain, "prefix4", a4,
			"prefix6", a6, "relays", relays, "peers", peers);
	if (!doc || json_dumpf(doc, stdout, JSON_COMPACT) != 0 || putchar('\n') == EOF)
		goto out;
	ret = 0;
out:
	json_decref(doc);
	json_decref(relays);
	json_decref(peers);
	return ret;
}

static void show_table(const struct cn_peerlist *pl, bool verified)
{
	char k[CN_KEY_TEXT_LEN + 1], a4[INET_ADDRSTRLEN], a6[INET6_ADDRSTRLEN], expiry[64];

	if (pl->expires) {
		time_t t = (time_t)pl->expires;
		struct tm tm;

		strftime(expiry, sizeof(expiry), "%Y-%m-%d %H:%M:%S UTC", gmtime_r(&t, &tm));
	} else {
		snprintf(expiry, sizeof(expiry), "never");
	}
	inet_ntop(AF_INET, pl->prefix4, a4, sizeof(a4));
	inet_ntop(AF_INET6, pl->prefix6, a6, sizeof(a6));
	printf("network %s  serial %" PRId64 "  expires %s  signature %s\n", pl->network,
	       pl->serial, expiry, verified ? "verified" : "NOT CHECKED (no root key given)");
	printf("domain %s  prefixes %s/%u %s/%u\n\n", pl->domain, a4, pl->prefix4_len, a6,
	       pl->prefix6_len);
	printf("%-20s %-46s %-32s %s\n", "RELAY", "KEY", "HOST", "PORT/STUN");
	for (size_t i = 0; i < pl->nrelays; i++) {
		const struct cn_pl_relay *r = &pl->relays[i];

		cn_key_to_text(r->key, k);
		printf("%-20s %-46s %-32s %u/%u\n", r->name, k, r->host, r->port, r->stun_port);
	}
	printf("\n%-20s %-46s %-15s %-28s %s\n", "PEER", "KEY", "IPV4", "IPV6", "GROUPS");
	for (size_t i = 0; i < pl->npeers; i++) {
		const struct cn_pl_peer *p = &pl->peers[i];

		cn_key_to_text(p->key, k);
		inet_ntop(AF_INET, p->ip4, a4, sizeof(a4));
		inet_ntop(AF_INET6, p->ip6, a6, sizeof(a6));
		printf("%-20s %-46s %-15s %-28s ", p->name, k, a4, a6);
		for (size_t g = 0; g < p->ngroups; g++)
			printf("%s%s", g ? "," : "", p->groups[g]);
		printf("%s\n", p->ngroups ? "" : "-");
	}
}

static int cmd_show(const struct peers_opts *o, int nargs)
{
	struct cn_peerlist *pl = NULL;
	uint8_t root_pk[CN_KEY_LEN];
	bool verified;
	int ret = CN_EXIT_OK;

	if (nargs != 0)
		return cn_cli_usage_error("peers", "show takes no arguments");
	if (load_checked("peers show", o, false, &pl, &verified, root_pk))
		return CN_EXIT_FAIL;
	if (!o->json)
		show_table(pl, verified);
	else if (show_json(pl, verified))
		ret = cn_cli_fail("peers show", "cannot write the JSON (out of memory?)");
	cn_peerlist_free(pl);
	return ret;
}

int cn_cli_peers(int argc, char **argv)
{
	struct peers_opts o = {
		.list = CN_CLI_NETWORK_LIST,
		.port = 443,
		.stun_port = 3478,
		.expires_days = -1,
	};
	const char *sub;
	int ret;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(peers_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? CN_EXIT_USAGE : CN_EXIT_OK;
	}
	sub = argv[1];
	argc--;
	argv++;
	ret = peers_parse_opts("peers", argc, argv, &o);
	if (ret)
		return ret < 0 ? CN_EXIT_OK : ret;
	argc -= optind;
	argv += optind;
	if (o.expires_days > 0 && o.no_expiry)
		return cn_cli_usage_error("peers",
					  "--expires-in and --no-expiry exclude each other");
	if (strcmp(sub, "add") == 0)
		return cmd_add(&o, argc, argv);
	if (strcmp(sub, "remove") == 0)
		return cmd_remove(&o, argc, argv, false);
	if (strcmp(sub, "relay-add") == 0)
		return cmd_relay_add(&o, argc, argv);
	if (strcmp(sub, "relay-remove") == 0)
		return cmd_remove(&o, argc, argv, true);
	if (strcmp(sub, "sign") == 0)
		return cmd_sign(&o, argc);
	if (strcmp(sub, "verify") == 0)
		return cmd_verify(&o, argc);
	if (strcmp(sub, "show") == 0)
		return cmd_show(&o, argc);
	if (strcmp(sub, "publish") == 0)
		return cn_cli_publish(o.list, o.relay, o.key, o.address, o.udp, argc);
	return cn_cli_usage_error("peers", "unknown subcommand '%s'", sub);
}
