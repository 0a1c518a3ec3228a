/* SPDX-License-Identifier: MIT */
/*
 * cairn network init: a new network's root key, its public half and the
 * first signed (empty) peer list. `cairn peers` (cli_peers.c) maintains
 * the list from there.
 */
#include "node/cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "common/err.h"
#include "common/file.h"
#include "crypto/keys.h"
#include "crypto/peerlist.h"

static const char network_usage[] =
	"usage: cairn network init --name NET [--dir DIR] [--domain DOMAIN]\n"
	"                          [--prefix4 CIDR] [--prefix6 CIDR]\n"
	"\n"
	"Creates a new network in DIR (default .): the root key DIR/root.key\n"
	"(mode 0600; keep it offline), its public key in DIR/root.pub (give it\n"
	"to every node and relay) and a signed, empty peer list DIR/peers.conf\n"
	"with serial 1. Refuses to touch a DIR that already has either file.\n"
	"\n"
	"  --name NET        network name, a DNS label: [a-z0-9-], 1-63 characters\n"
	"  --dir DIR         where to create the files (default .)\n"
	"  --domain DOMAIN   DNS domain for peer names (default NET.cairn)\n"
	"  --prefix4 CIDR    overlay IPv4 prefix (default 10.99.0.0/16)\n"
	"  --prefix6 CIDR    overlay IPv6 prefix (default: a random ULA /64)\n"
	"  -h, --help        show this help\n";

static void random_ula(char out[64])
{
	uint8_t g[5];

	/* RFC 4193: fd00::/8 plus a 40-bit random global ID, subnet 0. */
	randombytes_buf(g, sizeof(g));
	snprintf(out, 64, "fd%02x:%02x%02x:%02x%02x::/64", g[0], g[1], g[2], g[3], g[4]);
}

int cn_cli_network(int argc, char **argv)
{
	static const struct option opts[] = {
		{"name", required_argument, NULL, 'n'},
		{"dir", required_argument, NULL, 'd'},
		{"domain", required_argument, NULL, 'D'},
		{"prefix4", required_argument, NULL, '4'},
		{"prefix6", required_argument, NULL, '6'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *name = NULL, *dir = ".", *domain = NULL, *prefix4 = "10.99.0.0/16";
	const char *prefix6 = NULL;
	char domain_buf[CN_DOMAIN_MAX + 2], ula[64], key_path[PATH_MAX], pub_path[PATH_MAX];
	char list_path[PATH_MAX], pub_text[CN_KEY_TEXT_LEN + 2];
	struct cn_identity *root = NULL;
	struct cn_peerlist *pl = NULL;
	struct cn_errbuf e = {{0}};
	struct stat st;
	char *body = NULL;
	size_t body_len = 0;
	int c, ret = CN_EXIT_FAIL;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(network_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? CN_EXIT_USAGE : CN_EXIT_OK;
	}
	if (strcmp(argv[1], "init") != 0)
		return cn_cli_usage_error("network", "unknown subcommand '%s'", argv[1]);
	argc--;
	argv++;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			name = optarg;
			break;
		case 'd':
			dir = optarg;
			break;
		case 'D':
			domain = optarg;
			break;
		case '4':
			prefix4 = optarg;
			break;
		case '6':
			prefix6 = optarg;
			break;
		case 'h':
			fputs(network_usage, stdout);
			return CN_EXIT_OK;
		default:
			return cn_cli_usage_error("network", "bad option");
		}
	}
	if (optind != argc)
		return cn_cli_usage_error("network", "unexpected argument '%s'", argv[optind]);
	if (!name)
		return cn_cli_usage_error("network", "--name is required");
	if (!domain) {
		snprintf(domain_buf, sizeof(domain_buf), "%s.cairn", name);
		domain = domain_buf;
	}
	if (!prefix6) {
		random_ula(ula);
		prefix6 = ula;
	}
	snprintf(key_path, sizeof(key_path), "%s/%s", dir, CN_CLI_NETWORK_ROOT_KEY);
	snprintf(pub_path, sizeof(pub_path), "%s/%s", dir, CN_CLI_NETWORK_ROOT_PUB);
	snprintf(list_path, sizeof(list_path), "%s/%s", dir, CN_CLI_NETWORK_LIST);
	if (stat(list_path, &st) == 0)
		return cn_cli_fail("network", "%s exists; refusing to replace a network",
				   list_path);
	/* Validate everything before creating any file. */
	if (cn_peerlist_new(name, domain, prefix4, prefix6, &pl, &e))
		return cn_cli_fail("network", "%s", e.msg);
	pl->serial = 1;
	if (cn_peerlist_format(pl, &body, &body_len)) {
		cn_cli_fail("network", "cannot format the list");
		goto out;
	}
	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		cn_cli_fail("network", "cannot create %s: %s", dir, strerror(errno));
		goto out;
	}
	if (cn_identity_generate(&root)) {
		cn_cli_fail("network", "cannot generate the root key");
		goto out;
	}
	if (cn_keyfile_write(key_path, root, false, &e)) {
		cn_cli_fail("network", "%s", e.msg);
		goto out;
	}
	cn_key_to_text(root->ed_pk, pub_text);
	strcat(pub_text, "\n");
	if (cn_file_write_atomic(pub_path, pub_text, strlen(pub_text), 0644, &e)) {
		cn_cli_fail("network", "%s", e.msg);
		goto out;
	}
	if (cn_cli_sign_and_write("network", list_path, body, body_len, root))
		goto out;
	printf("network %s created in %s\n", name, dir);
	printf("  root key:    %s (secret: keep it offline)\n", key_path);
	printf("  root public: %s", pub_text);
	printf("  peer list:   %s (serial 1, signed)\n", list_path);
	printf("  domain %s, prefixes %s and %s\n", domain, prefix4, prefix6);
	ret = CN_EXIT_OK;
out:
	free(body);
	cn_identity_free(root);
	cn_peerlist_free(pl);
	return ret;
}
