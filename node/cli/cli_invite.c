/* SPDX-License-Identifier: MIT */
/*
 * cairn invite NAME --key KEY: the admin's half of enrolment. Adds the
 * peer to the list, raises the serial, signs with the root key and writes
 * the list once (a failure at any step leaves the old list untouched),
 * uploads it to the list's relays so the new key can authenticate at once,
 * and prints the token for `cairn join`.
 *
 * Without --key nothing is added: the token carries the current serial and
 * the board's `cairn join` creates its key, prints it and waits until a
 * relay serves a list that holds it (the admin then runs this command with
 * --key); for a peer listed already it is that peer's token again. Keys never travel: only public
 * keys and the token (no secret) do.
 */
#include "node/cli/cli.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/file.h"
#include "crypto/keys.h"
#include "crypto/peerlist.h"
#include "node/cli/token.h"

static const char usage[] =
	"usage: cairn invite NAME [--key KEY] [--groups G1,G2] [--ipv4 ADDR] [--ipv6 ADDR]\n"
	"                    [-l LIST] [--root-key FILE] [--no-publish] [--address HOST:PORT]\n"
	"\n"
	"Enrols a new node in one step and prints the token for 'cairn join' on it.\n"
	"With --key (the public key 'cairn join --key-only' printed on the new node):\n"
	"adds peer NAME, signs the list with the root key, uploads it to every relay\n"
	"of the list and prints the token. Without --key: prints a token and changes\n"
	"nothing (for a peer listed already, or for a node whose 'cairn join' prints\n"
	"its key and waits for this command with --key).\n"
	"The token holds the network name, the root public key, the relays and the\n"
	"list's serial: nothing secret.\n"
	"\n"
	"  --key KEY            the new node's public key\n"
	"  --groups G1,G2       its groups\n"
	"  --ipv4/--ipv6 ADDR   overlay addresses (assigned when not given)\n"
	"  -l, --list FILE      the peer list (default peers.conf)\n"
	"  --root-key FILE      the root key (default root.key beside the list)\n"
	"  --no-publish         do not upload the list to the relays\n"
	"  --address HOST:PORT  reach the relays there instead of their listed host\n"
	"                       (one relay lists only)\n"
	"  -h, --help           show this help\n";

struct invite_opts {
	const char *list, *root_key, *key, *groups, *ipv4, *ipv6, *address;
	bool publish;
};

static int split_groups(const char *cmd, char *copy, const char **groups, size_t *n)
{
	char *save = NULL;

	*n = 0;
	for (char *g = strtok_r(copy, ",", &save); g; g = strtok_r(NULL, ",", &save)) {
		if (*n == CN_PEERLIST_MAX_GROUPS)
			return cn_cli_fail(cmd, "more than %d groups", CN_PEERLIST_MAX_GROUPS);
		groups[(*n)++] = g;
	}
	return 0;
}

/* The token for pl: its network, the root key, serial and first relays. */
static int make_token(const struct cn_peerlist *pl, const uint8_t root_pk[CN_KEY_LEN],
		      char out[CN_TOKEN_TEXT_MAX])
{
	struct cn_token t = {.serial = (uint64_t)pl->serial};

	snprintf(t.network, sizeof(t.network), "%s", pl->network);
	memcpy(t.root_key, root_pk, CN_KEY_LEN);
	for (size_t i = 0; i < pl->nrelays && t.nrelays < CN_TOKEN_MAX_RELAYS; i++) {
		struct cn_token_relay *r = &t.relays[t.nrelays++];

		snprintf(r->name, sizeof(r->name), "%s", pl->relays[i].name);
		memcpy(r->key, pl->relays[i].key, CN_KEY_LEN);
		snprintf(r->host, sizeof(r->host), "%s", pl->relays[i].host);
		r->port = pl->relays[i].port;
	}
	return cn_token_encode(&t, out, CN_TOKEN_TEXT_MAX);
}

static int invite(const struct invite_opts *o, const char *name)
{
	const char *cmd = "invite";
	struct cn_identity *root = NULL;
	struct cn_peerlist *pl = NULL;
	struct cn_errbuf e = {{0}};
	char key_path[PATH_MAX], tmp[PATH_MAX], token[CN_TOKEN_TEXT_MAX];
	char *buf = NULL, *groups_copy = NULL;
	const char *groups[CN_PEERLIST_MAX_GROUPS];
	size_t len = 0, ngroups = 0, published = 0;
	uint8_t key[CN_KEY_LEN];
	int ret = CN_EXIT_FAIL;

	if (!cn_peerlist_name_valid(name))
		return cn_cli_usage_error(cmd, "'%s' is not a peer name (a lowercase DNS label)",
					  name);
	if (o->key && cn_key_from_text(o->key, strlen(o->key), key))
		return cn_cli_fail(cmd, "'%s' is not a public key (44 characters of base64)",
				   o->key);
	if (o->root_key) {
		snprintf(key_path, sizeof(key_path), "%s", o->root_key);
	} else {
		snprintf(tmp, sizeof(tmp), "%s", o->list);
		snprintf(key_path, sizeof(key_path), "%s/root.key", dirname(tmp));
	}
	if (o->groups && o->groups[0]) {
		groups_copy = strdup(o->groups);
		if (!groups_copy || split_groups(cmd, groups_copy, groups, &ngroups))
			goto out;
	}
	if (cn_keyfile_read(key_path, &root, &e)) {
		cn_cli_fail(cmd, "%s", e.msg);
		goto out;
	}
	if (cn_file_read(o->list, CN_PEERLIST_MAX_BYTES, &buf, &len, &e) ||
	    cn_peerlist_parse((const uint8_t *)buf, len, &pl, &e)) {
		cn_cli_fail(cmd, "%s: %s", o->list, e.msg);
		goto out;
	}
	if (pl->nrelays == 0) {
		cn_cli_fail(cmd,
			    "%s has no relay: a new node finds its network through one "
			    "('cairn peers relay-add')",
			    o->list);
		goto out;
	}
	if (!o->key) {
		/* Nothing changes: a token for a peer listed already (its board lost
		 * the token, or reinstalls with the same key), or one for a board
		 * whose key is still to come. */
		bool listed = cn_peerlist_find_name(pl, name) != NULL;

		if (make_token(pl, root->ed_pk, token)) {
			cn_cli_fail(cmd, "cannot encode the token");
			goto out;
		}
		printf("On %s, run:\n\n  cairn join %s\n\n", name, token);
		if (!listed)
			printf("It prints its public key and waits; then run here:\n"
			       "  cairn invite %s --key KEY%s%s -l %s\n",
			       name, o->groups ? " --groups " : "", o->groups ? o->groups : "",
			       o->list);
		ret = CN_EXIT_OK;
		goto out;
	}
	if (cn_peerlist_add_peer(pl, name, key, groups, ngroups, o->ipv4, o->ipv6, &e)) {
		cn_cli_fail(cmd, "%s", e.msg);
		goto out;
	}
	if (cn_cli_bump_serial(cmd, pl) || cn_cli_save_list(cmd, o->list, pl, root))
		goto out;
	{
		const struct cn_pl_peer *p = cn_peerlist_find_name(pl, name);
		char a4[INET_ADDRSTRLEN], a6[INET6_ADDRSTRLEN];

		inet_ntop(AF_INET, p->ip4, a4, sizeof(a4));
		inet_ntop(AF_INET6, p->ip6, a6, sizeof(a6));
		printf("added peer %s: %s %s; %s signed, serial %" PRId64 "\n", name, a4, a6,
		       o->list, pl->serial);
	}
	if (o->publish) {
		for (size_t i = 0; i < pl->nrelays; i++)
			if (cn_cli_publish(o->list, pl->relays[i].name, o->root_key, o->address,
					   false, 0) == CN_EXIT_OK)
				published++;
		if (published == 0)
			fprintf(stderr,
				"cairn: invite: no relay took serial %" PRId64
				"; %s's join waits until one does ('cairn peers publish')\n",
				pl->serial, name);
	}
	if (make_token(pl, root->ed_pk, token)) {
		cn_cli_fail(cmd, "cannot encode the token");
		goto out;
	}
	printf("\nOn %s, run:\n\n  cairn join %s\n\n", name, token);
	ret = o->publish && published == 0 ? CN_EXIT_FAIL : CN_EXIT_OK;
out:
	cn_identity_free(root);
	cn_peerlist_free(pl);
	free(buf);
	free(groups_copy);
	return ret;
}

int cn_cli_invite(int argc, char **argv)
{
	static const struct option opts[] = {
		{"key", required_argument, NULL, 'k'},	{"groups", required_argument, NULL, 'g'},
		{"ipv4", required_argument, NULL, '4'}, {"ipv6", required_argument, NULL, '6'},
		{"list", required_argument, NULL, 'l'}, {"root-key", required_argument, NULL, 'K'},
		{"no-publish", no_argument, NULL, 'N'}, {"address", required_argument, NULL, 'a'},
		{"help", no_argument, NULL, 'h'},	{NULL, 0, NULL, 0},
	};
	struct invite_opts o = {.list = "peers.conf", .publish = true};
	int c;

	while ((c = getopt_long(argc, argv, "l:h", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			o.key = optarg;
			break;
		case 'g':
			o.groups = optarg;
			break;
		case '4':
			o.ipv4 = optarg;
			break;
		case '6':
			o.ipv6 = optarg;
			break;
		case 'l':
			o.list = optarg;
			break;
		case 'K':
			o.root_key = optarg;
			break;
		case 'N':
			o.publish = false;
			break;
		case 'a':
			o.address = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return CN_EXIT_OK;
		default:
			return cn_cli_usage_error("invite", "bad option");
		}
	}
	if (optind + 1 != argc)
		return cn_cli_usage_error("invite", "takes one NAME");
	return invite(&o, argv[optind]);
}
