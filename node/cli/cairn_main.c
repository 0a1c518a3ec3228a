/* SPDX-License-Identifier: MIT */
/*
 * `cairn`: the command line front end. Dispatches to node/cli/cli_*.c.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "node/cli/cli.h"

static const char usage[] =
	"usage: cairn <command> [options]\n"
	"\n"
	"Keys:\n"
	"  keygen [-o FILE] [--force]     create an identity key file (mode 0600) and\n"
	"                                 print its public key\n"
	"  pubkey [-k FILE]               print the public key of a key file\n"
	"\n"
	"Network administration (where the root key is kept, ideally offline):\n"
	"  network init --name NET ...    create a root key and a signed, empty peer list\n"
	"  peers add NAME KEY ...         add a peer (overlay addresses assigned)\n"
	"  peers remove NAME              remove a peer\n"
	"  peers relay-add NAME KEY HOST  add a relay\n"
	"  peers relay-remove NAME        remove a relay\n"
	"  peers sign                     sign the peer list with the root key\n"
	"  peers verify                   check a peer list's signature and contents\n"
	"  peers show                     print a peer list as a table or JSON\n"
	"\n"
	"  peers publish --relay NAME     upload the signed list to a relay\n"
	"  invite NAME --key KEY          add, sign, publish and print a join token\n"
	"\n"
	"On a new node:\n"
	"  join TOKEN                     fetch and check the list, write the\n"
	"                                 configuration, start cairn-node\n"
	"  join --key-only                create this machine's key, print it\n"
	"\n"
	"On a node (talks to the local cairn-node):\n"
	"  status [--json]                peers, paths, endpoints, RTT, traffic\n"
	"  ping NAME                      probe a peer; each reply names its path\n"
	"  netcheck                       NAT type, public address, relay latencies\n"
	"  deploy push TARGET FILE        signed push to a node or group over the overlay\n"
	"  deploy rollback TARGET APP     switch back to the previous version\n"
	"  deploy list TARGET [APP]       versions a node holds\n"
	"\n"
	"Run 'cairn <command> --help' for the options of each command.\n";

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (sodium_init() < 0) {
		fprintf(stderr, "cairn: cannot initialise libsodium\n");
		return CN_EXIT_FAIL;
	}
	if (!cmd) {
		fputs(usage, stderr);
		return CN_EXIT_USAGE;
	}
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
		fputs(usage, stdout);
		return CN_EXIT_OK;
	}
	if (strcmp(cmd, "--version") == 0) {
		printf("cairn %s\n", CN_VERSION);
		return CN_EXIT_OK;
	}
	/* Each command sees argv[0] = its own name, as getopt expects. */
	if (strcmp(cmd, "keygen") == 0)
		return cn_cli_keygen(argc - 1, argv + 1);
	if (strcmp(cmd, "pubkey") == 0)
		return cn_cli_pubkey(argc - 1, argv + 1);
	if (strcmp(cmd, "network") == 0)
		return cn_cli_network(argc - 1, argv + 1);
	if (strcmp(cmd, "peers") == 0)
		return cn_cli_peers(argc - 1, argv + 1);
	if (strcmp(cmd, "invite") == 0)
		return cn_cli_invite(argc - 1, argv + 1);
	if (strcmp(cmd, "join") == 0)
		return cn_cli_join(argc - 1, argv + 1);
	if (strcmp(cmd, "status") == 0)
		return cn_cli_status(argc - 1, argv + 1);
	if (strcmp(cmd, "ping") == 0)
		return cn_cli_ping(argc - 1, argv + 1);
	if (strcmp(cmd, "netcheck") == 0)
		return cn_cli_netcheck(argc - 1, argv + 1);
	if (strcmp(cmd, "deploy") == 0)
		return cn_cli_deploy(argc - 1, argv + 1);
	fprintf(stderr, "cairn: unknown command '%s'; run 'cairn --help'\n", cmd);
	return CN_EXIT_USAGE;
}
