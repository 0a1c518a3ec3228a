/* SPDX-License-Identifier: MIT */
/*
 * cairn join TOKEN: the new node's half of enrolment (cli_invite.c is the
 * admin's). Creates this machine's key if there is none (0600; it never
 * leaves the machine: only its public key is printed), fetches the signed
 * peer list from a relay of the token (cli_fetch.c), checks it against the
 * token's root key, network and serial and that it holds this key, then
 * writes the list and a configuration checked by the node's own parser,
 * and starts cairn-node (systemd when it runs the machine, else in the
 * foreground by exec).
 *
 * While the relay refuses the key (the admin has not run `cairn invite
 * NAME --key KEY` yet) it says what to run and retries until --wait runs
 * out. Nothing is written before the list is verified.
 */
#include "node/cli/cli.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <pwd.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/addr.h"
#include "common/err.h"
#include "common/file.h"
#include "crypto/keys.h"
#include "crypto/peerlist.h"
#include "node/cli/cli_ctl.h"
#include "node/cli/cli_fetch.h"
#include "node/cli/token.h"
#include "node/node_config.h"

extern char **environ;

enum {
	FETCH_TIMEOUT_S = 15, /* one relay: connect, handshake, whole list */
	RETRY_S = 3,	      /* between rounds while the key is not listed */
	START_WAIT_S = 30,    /* a systemd-started node's first relay link */
	CONF_MAX = 4096,
};

static const char usage[] =
	"usage: cairn join TOKEN [options]\n"
	"       cairn join --key-only [--key FILE]\n"
	"\n"
	"Joins this machine to the network of TOKEN (printed by 'cairn invite' on\n"
	"the admin's machine): creates this machine's key if needed and prints its\n"
	"public key, fetches the signed peer list from a relay, checks it against the\n"
	"token's root key, writes the list and the node's configuration, and starts\n"
	"cairn-node. The secret key never leaves this machine.\n"
	"\n"
	"  --key-only          only create the key (if missing) and print its public\n"
	"                      key, for 'cairn invite NAME --key KEY'\n"
	"  --key FILE          identity key (default /etc/cairn/node.key)\n"
	"  --config FILE       configuration to write (default /etc/cairn/node.conf)\n"
	"  --list FILE         peer list to write (default /etc/cairn/peers.conf)\n"
	"  --state-dir DIR     the node's state (default /var/lib/cairn)\n"
	"  --socket PATH       control socket (default " CN_CLI_DEFAULT_SOCKET ")\n"
	"  --start MODE        auto (default: systemd when it runs this machine, else\n"
	"                      exec), systemd, exec (become cairn-node) or no\n"
	"  --node PATH         cairn-node for --start exec (default: beside cairn)\n"
	"  --wait SECONDS      keep retrying while the relays refuse this key\n"
	"                      (default 600; 0 = one try)\n"
	"  --address HOST:PORT reach the relay there instead of its listed host\n"
	"  --force             replace an existing configuration\n"
	"  -h, --help          show this help\n";

struct join_opts {
	const char *key, *config, *list, *state_dir, *socket, *node, *address, *start;
	long wait_s;
	bool key_only, force;
};

/*
 * The packaged service runs as "cairn" and must read its key: when root
 * runs this and that user exists, a root-owned key goes to it.
 */
static int give_to_service(const char *path)
{
	struct passwd *pw = geteuid() == 0 ? getpwnam("cairn") : NULL;
	struct stat st;

	if (!pw || stat(path, &st) != 0 || st.st_uid != 0)
		return 0;
	if (chown(path, pw->pw_uid, pw->pw_gid) != 0)
		return cn_cli_fail("join", "chown %s: %s", path, strerror(errno));
	return 0;
}

/* The key at path, created (0600) when there is none; *created says which. */
static int load_or_create_key(const char *path, struct cn_identity **id, bool *created)
{
	struct cn_errbuf e = {{0}};
	int ret;

	*created = false;
	if (access(path, F_OK) == 0) {
		if (cn_keyfile_read(path, id, &e))
			return cn_cli_fail("join", "%s", e.msg);
		return give_to_service(path);
	}
	ret = cn_identity_generate(id);
	if (ret)
		return cn_cli_fail("join", "cannot generate a key: %s", cn_strerror(ret));
	if (cn_keyfile_write(path, *id, false, &e)) {
		cn_identity_free(*id);
		*id = NULL;
		return cn_cli_fail("join", "%s", e.msg);
	}
	*created = true;
	return give_to_service(path);
}

/*
 * One round over the token's relays: 0 with a verified list holding our
 * key, -CN_EUNKNOWN when every relay that answered does not know the key
 * yet, another error otherwise (why says the last reason).
 */
static int fetch_round(const struct join_opts *o, const struct cn_token *t,
		       const struct cn_identity *id, struct cn_peerlist **pl, char **text,
		       size_t *len, char *why, size_t why_cap)
{
	int last = -CN_ENOTFOUND;

	for (size_t i = 0; i < t->nrelays; i++) {
		const struct cn_token_relay *r = &t->relays[i];
		struct cn_errbuf e = {{0}};
		struct cn_addr addr;
		char *buf = NULL;
		size_t n = 0;
		int ret;

		if (o->address ? cn_addr_parse(o->address, &addr)
			       : cn_cli_resolve(r->host, r->port, true, AF_UNSPEC, SOCK_STREAM,
						&addr)) {
			snprintf(why, why_cap, "relay %s: cannot resolve %s", r->name,
				 o->address ? o->address : r->host);
			last = -CN_ENOTFOUND;
			continue;
		}
		ret = cn_cli_fetch_list(id, t->network, r->key, &addr, FETCH_TIMEOUT_S, &buf, &n,
					why, why_cap);
		if (ret) {
			char tmp[160];

			snprintf(tmp, sizeof(tmp), "%s", why);
			snprintf(why, why_cap, "relay %s: %s", r->name, tmp);
			if (ret == -CN_EUNKNOWN || last != -CN_EUNKNOWN)
				last = ret;
			continue;
		}
		/* The token's serial is the floor: an older list is a stale or lying relay. */
		ret = cn_peerlist_load((const uint8_t *)buf, n, t->root_key, (int64_t)t->serial,
				       (int64_t)time(NULL), pl, &e);
		if (ret == 0 && strcmp((*pl)->network, t->network) != 0) {
			snprintf(e.msg, sizeof(e.msg), "network %s, not the token's %s",
				 (*pl)->network, t->network);
			ret = -CN_EFORMAT;
		}
		if (ret == 0 && !cn_peerlist_find_key(*pl, id->ed_pk)) {
			snprintf(e.msg, sizeof(e.msg),
				 "its list (serial %lld) does not hold this key",
				 (long long)(*pl)->serial);
			ret = -CN_EUNKNOWN;
		}
		if (ret) {
			cn_peerlist_free(*pl);
			*pl = NULL;
			free(buf);
			snprintf(why, why_cap, "relay %s: list refused: %s", r->name, e.msg);
			last = ret;
			continue;
		}
		*text = buf;
		*len = n;
		return 0;
	}
	return last;
}

/* Creates the directory holding path (one level, 0755) when missing. */
static int ensure_parent(const char *path)
{
	char tmp[PATH_MAX];
	const char *dir;

	snprintf(tmp, sizeof(tmp), "%s", path);
	dir = dirname(tmp);
	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		return cn_cli_fail("join", "mkdir %s: %s", dir, strerror(errno));
	return 0;
}

static int write_config(const struct join_opts *o, const struct cn_token *t,
			const struct cn_peerlist *pl)
{
	struct cn_node_config check;
	struct cn_errbuf e = {{0}};
	char root[CN_KEY_TEXT_LEN + 1], text[CONF_MAX];
	int n;

	cn_key_to_text(t->root_key, root);
	n = snprintf(text, sizeof(text),
		     "# Written by 'cairn join' for network %s (peer list serial %lld).\n"
		     "# Every setting is documented in docs/CONFIG.md.\n"
		     "identity_key = \"%s\";\n"
		     "root_key = \"%s\";\n"
		     "peer_list = \"%s\";\n"
		     "state_dir = \"%s\";\n"
		     "control_socket = \"%s\";\n"
		     "log_level = \"info\";\n",
		     t->network, (long long)pl->serial, o->key, root, o->list, o->state_dir,
		     o->socket);
	if (n < 0 || (size_t)n >= sizeof(text))
		return cn_cli_fail("join", "configuration too long (paths?)");
	/* The node's own parser: what is written is what cairn-node accepts. */
	if (cn_node_config_parse(text, &check, &e))
		return cn_cli_fail("join", "configuration refused: %s", e.msg);
	if (ensure_parent(o->config))
		return CN_EXIT_FAIL;
	if (cn_file_write_atomic(o->config, text, (size_t)n, 0644, &e))
		return cn_cli_fail("join", "%s", e.msg);
	return 0;
}

/* Runs argv, waits, returns its exit status (or -1). */
static int run(char *const argv[])
{
	pid_t pid;
	int st;

	if (posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ) != 0)
		return -1;
	if (waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Waits for the node's first relay link; prints what it says. */
static int wait_node_up(const struct join_opts *o)
{
	time_t deadline = time(NULL) + START_WAIT_S;

	while (time(NULL) < deadline) {
		json_t *j = cn_cli_ctl_json("join", o->socket, "status", true);
		json_t *relays = j ? json_object_get(j, "relays") : NULL;
		size_t i;
		json_t *r;

		json_array_foreach(relays, i, r)
		{
			if (json_is_true(json_object_get(r, "up"))) {
				printf("cairn-node is up: %s %s, relay %s linked\n",
				       json_string_value(json_object_get(j, "node")),
				       json_string_value(json_object_get(j, "ipv4")),
				       json_string_value(json_object_get(r, "name")));
				json_decref(j);
				return CN_EXIT_OK;
			}
		}
		json_decref(j);
		sleep(1);
	}
	return cn_cli_fail("join",
			   "cairn-node has no relay link after %d s ('journalctl -u "
			   "cairn-node')",
			   START_WAIT_S);
}

/* cairn-node beside this program: bin/ in an install, ../ in a build tree. */
static void default_node(char *out, size_t cap)
{
	char self[PATH_MAX], tmp[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	const char *dir;

	snprintf(out, cap, "cairn-node");
	if (n <= 0)
		return;
	self[n] = '\0';
	snprintf(tmp, sizeof(tmp), "%s", self);
	dir = dirname(tmp);
	snprintf(out, cap, "%s/cairn-node", dir);
	if (access(out, X_OK) == 0)
		return;
	snprintf(out, cap, "%s/../cairn-node", dir);
	if (access(out, X_OK) == 0)
		return;
	snprintf(out, cap, "cairn-node");
}

static int start_node(const struct join_opts *o)
{
	const char *mode = o->start;
	char node[PATH_MAX];

	if (strcmp(mode, "auto") == 0)
		mode = access("/run/systemd/system", F_OK) == 0 ? "systemd" : "exec";
	if (strcmp(mode, "no") == 0) {
		printf("start it with: cairn-node --config %s\n", o->config);
		return CN_EXIT_OK;
	}
	if (strcmp(mode, "systemd") == 0) {
		char a0[] = "systemctl", a1[] = "enable", a2[] = "--now",
		     a3[] = "cairn-node.service";
		char *const argv[] = {a0, a1, a2, a3, NULL};

		if (run(argv) != 0)
			return cn_cli_fail("join", "systemctl enable --now cairn-node failed");
		return wait_node_up(o);
	}
	if (o->node)
		snprintf(node, sizeof(node), "%s", o->node);
	else
		default_node(node, sizeof(node));
	printf("starting %s --config %s\n", node, o->config);
	fflush(stdout);
	{
		char opt[] = "--config", conf[PATH_MAX];
		char *const argv[] = {node, opt, conf, NULL};

		snprintf(conf, sizeof(conf), "%s", o->config);
		execvp(node, argv);
	}
	return cn_cli_fail("join", "cannot run %s: %s", node, strerror(errno));
}

static int join(const struct join_opts *o, const char *token_text)
{
	struct cn_identity *id = NULL;
	struct cn_peerlist *pl = NULL;
	struct cn_errbuf e = {{0}};
	struct cn_token t;
	char pub[CN_KEY_TEXT_LEN + 1], why[256] = "";
	char *text = NULL;
	size_t len = 0;
	bool created, told = false;
	time_t deadline;
	int ret = CN_EXIT_FAIL, r;

	if (token_text) {
		r = cn_token_decode(token_text, strlen(token_text), &t);
		if (r)
			return cn_cli_fail("join",
					   "not a cairn token (%s): copy the whole "
					   "'cairn1:...' line 'cairn invite' printed",
					   r == -CN_EDECRYPT ? "its check does not match: mistyped?"
					   : r == -CN_ESHORT ? "cut short"
							     : "malformed");
		if (!o->force && access(o->config, F_OK) == 0)
			return cn_cli_fail("join",
					   "%s exists (this machine has joined a network?); "
					   "--force replaces it",
					   o->config);
	}
	if (ensure_parent(o->key) || load_or_create_key(o->key, &id, &created))
		goto out; /* id may be set: the key read, its chown failed */
	cn_key_to_text(id->ed_pk, pub);
	if (o->key_only) {
		printf("%s\n", pub);
		ret = CN_EXIT_OK;
		goto out;
	}
	printf("this node's public key: %s (%s %s)\n", pub, created ? "new, in" : "from", o->key);
	deadline = time(NULL) + o->wait_s;
	for (;;) {
		r = fetch_round(o, &t, id, &pl, &text, &len, why, sizeof(why));
		if (r == 0)
			break;
		if (r != -CN_EUNKNOWN || time(NULL) + RETRY_S > deadline) {
			cn_cli_fail("join", "%s", why);
			goto out;
		}
		if (!told) {
			printf("%s\nwaiting up to %ld s; on the admin's machine run:\n"
			       "  cairn invite NAME --key %s\n",
			       why, (long)(deadline - time(NULL)), pub);
			fflush(stdout);
			told = true;
		}
		sleep(RETRY_S);
	}
	{
		const struct cn_pl_peer *me = cn_peerlist_find_key(pl, id->ed_pk);
		char a4[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, me->ip4, a4, sizeof(a4));
		printf("joined network %s as %s.%s (%s), peer list serial %lld verified\n",
		       pl->network, me->name, pl->domain, a4, (long long)pl->serial);
	}
	if (ensure_parent(o->list) || cn_file_write_atomic(o->list, text, len, 0644, &e) != 0) {
		if (e.msg[0])
			cn_cli_fail("join", "%s", e.msg);
		goto out;
	}
	if (write_config(o, &t, pl))
		goto out;
	printf("wrote %s and %s\n", o->config, o->list);
	cn_identity_free(id);
	id = NULL;
	ret = start_node(o);
out:
	cn_identity_free(id);
	cn_peerlist_free(pl);
	free(text);
	return ret;
}

int cn_cli_join(int argc, char **argv)
{
	static const struct option opts[] = {
		{"key-only", no_argument, NULL, 'K'},
		{"key", required_argument, NULL, 'k'},
		{"config", required_argument, NULL, 'c'},
		{"list", required_argument, NULL, 'l'},
		{"state-dir", required_argument, NULL, 'd'},
		{"socket", required_argument, NULL, 's'},
		{"start", required_argument, NULL, 'S'},
		{"node", required_argument, NULL, 'n'},
		{"wait", required_argument, NULL, 'w'},
		{"address", required_argument, NULL, 'a'},
		{"force", no_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct join_opts o = {
		.key = "/etc/cairn/node.key",
		.config = "/etc/cairn/node.conf",
		.list = "/etc/cairn/peers.conf",
		.state_dir = "/var/lib/cairn",
		.socket = CN_CLI_DEFAULT_SOCKET,
		.start = "auto",
		.wait_s = 600,
	};
	char *end;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'K':
			o.key_only = true;
			break;
		case 'k':
			o.key = optarg;
			break;
		case 'c':
			o.config = optarg;
			break;
		case 'l':
			o.list = optarg;
			break;
		case 'd':
			o.state_dir = optarg;
			break;
		case 's':
			o.socket = optarg;
			break;
		case 'S':
			if (strcmp(optarg, "auto") && strcmp(optarg, "systemd") &&
			    strcmp(optarg, "exec") && strcmp(optarg, "no"))
				return cn_cli_usage_error(
					"join", "--start takes auto, systemd, exec or no");
			o.start = optarg;
			break;
		case 'n':
			o.node = optarg;
			break;
		case 'w':
			errno = 0;
			o.wait_s = strtol(optarg, &end, 10);
			if (errno || *end || o.wait_s < 0 || o.wait_s > 86400)
				return cn_cli_usage_error("join", "--wait takes seconds (0-86400)");
			break;
		case 'a':
			o.address = optarg;
			break;
		case 'f':
			o.force = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return CN_EXIT_OK;
		default:
			return cn_cli_usage_error("join", "bad option");
		}
	}
	if (o.key_only ? optind != argc : optind + 1 != argc)
		return cn_cli_usage_error("join", o.key_only ? "--key-only takes no TOKEN"
							     : "takes one TOKEN");
	return join(&o, o.key_only ? NULL : argv[optind]);
}
