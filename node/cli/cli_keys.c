/* SPDX-License-Identifier: MIT */
/*
 * cairn keygen, cairn pubkey.
 */
#include "node/cli/cli.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "crypto/keys.h"

/* "cairn: CMD: message" on stderr, no newline. */
__attribute__((format(printf, 2, 0))) static void complain(const char *cmd, const char *fmt,
							   va_list ap)
{
	fprintf(stderr, "cairn: %s: ", cmd);
	vfprintf(stderr, fmt, ap);
}

int cn_cli_fail(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	complain(cmd, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return CN_EXIT_FAIL;
}

int cn_cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	complain(cmd, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\ntry 'cairn %s --help'\n", cmd);
	return CN_EXIT_USAGE;
}

static const char keygen_usage[] =
	"usage: cairn keygen [-o FILE] [--force]\n"
	"\n"
	"Creates a new Ed25519 identity key, writes its secret seed to FILE\n"
	"(default ./cairn.key) with mode 0600, and prints the public key, the text\n"
	"to give to 'cairn peers add'. An existing FILE is never replaced unless\n"
	"--force is given.\n"
	"\n"
	"  -o, --output FILE   where to write the key (default cairn.key)\n"
	"  -f, --force         replace FILE if it exists\n"
	"  -h, --help          show this help\n";

int cn_cli_keygen(int argc, char **argv)
{
	static const struct option opts[] = {
		{"output", required_argument, NULL, 'o'},
		{"force", no_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *path = "cairn.key";
	struct cn_identity *id = NULL;
	struct cn_errbuf e = {{0}};
	char text[CN_KEY_TEXT_LEN + 1];
	bool force = false;
	int c, ret;

	while ((c = getopt_long(argc, argv, "o:fh", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			path = optarg;
			break;
		case 'f':
			force = true;
			break;
		case 'h':
			fputs(keygen_usage, stdout);
			return CN_EXIT_OK;
		default:
			return cn_cli_usage_error("keygen", "bad option");
		}
	}
	if (optind != argc)
		return cn_cli_usage_error("keygen", "unexpected argument '%s'", argv[optind]);
	ret = cn_identity_generate(&id);
	if (ret)
		return cn_cli_fail("keygen", "cannot generate a key: %s", cn_strerror(ret));
	ret = cn_keyfile_write(path, id, force, &e);
	if (ret) {
		cn_identity_free(id);
		return cn_cli_fail("keygen", "%s", e.msg);
	}
	cn_key_to_text(id->ed_pk, text);
	cn_identity_free(id);
	printf("%s\n", text);
	return CN_EXIT_OK;
}

static const char pubkey_usage[] =
	"usage: cairn pubkey [-k FILE]\n"
	"\n"
	"Prints the public key of the identity key in FILE (default ./cairn.key).\n"
	"\n"
	"  -k, --key FILE   key file (default cairn.key)\n"
	"  -h, --help       show this help\n";

int cn_cli_pubkey(int argc, char **argv)
{
	static const struct option opts[] = {
		{"key", required_argument, NULL, 'k'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *path = "cairn.key";
	struct cn_identity *id = NULL;
	struct cn_errbuf e = {{0}};
	char text[CN_KEY_TEXT_LEN + 1];
	int c;

	while ((c = getopt_long(argc, argv, "k:h", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			path = optarg;
			break;
		case 'h':
			fputs(pubkey_usage, stdout);
			return CN_EXIT_OK;
		default:
			return cn_cli_usage_error("pubkey", "bad option");
		}
	}
	if (optind != argc)
		return cn_cli_usage_error("pubkey", "unexpected argument '%s'", argv[optind]);
	if (cn_keyfile_read(path, &id, &e))
		return cn_cli_fail("pubkey", "%s", e.msg);
	cn_key_to_text(id->ed_pk, text);
	cn_identity_free(id);
	printf("%s\n", text);
	return CN_EXIT_OK;
}
