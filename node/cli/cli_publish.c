/* SPDX-License-Identifier: MIT */
/*
 * cairn peers publish: uploads a signed peer list to a relay over an
 * authenticated relay link and waits for the relay's verdict. The list is
 * checked locally first (the signature against the root public key beside
 * the list or in the root key file) so an obviously bad upload never leaves
 * the machine.
 */
#include "node/cli/cli.h"

#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "common/addr.h"
#include "common/file.h"
#include "crypto/keys.h"
#include "crypto/peerlist.h"
#include "relay/link.h"
#include "relay/relay_client.h"

enum { PUBLISH_TIMEOUT_S = 15 };

struct publish {
	struct event_base *base;
	const uint8_t *text;
	size_t len;
	int64_t serial;
	int result; /* -1: none yet */
	char why[160];
};

static void pub_up(struct cn_relay_client *c, void *arg)
{
	struct publish *p = arg;
	int ret = cn_relay_client_publish(c, p->text, p->len, (uint64_t)p->serial);

	if (ret) {
		snprintf(p->why, sizeof(p->why), "cannot send the list: %s", cn_strerror(ret));
		event_base_loopbreak(p->base);
	}
}

static void pub_down(struct cn_relay_client *c, void *arg, const char *why)
{
	struct publish *p = arg;

	(void)c;
	snprintf(p->why, sizeof(p->why), "%s", why);
	event_base_loopbreak(p->base);
}

static void pub_msg(struct cn_relay_client *c, void *arg, const struct cn_link_msg *m)
{
	struct publish *p = arg;

	(void)c;
	if (m->type != CN_LINK_LIST_RESULT || m->serial != (uint64_t)p->serial)
		return;
	p->result = m->flag;
	event_base_loopbreak(p->base);
}

int cn_cli_publish(const char *list, const char *relay, const char *key, const char *address,
		   bool udp, int nargs)
{
	const char *cmd = "peers publish";
	struct cn_relay_client_cbs cbs = {pub_up, pub_down, pub_msg, NULL};
	struct cn_relay_client_opts o = {.udp = udp};
	struct publish p = {.result = -1};
	struct cn_relay_client *c = NULL;
	struct cn_identity *id = NULL;
	struct cn_peerlist *pl = NULL;
	struct cn_errbuf e = {{0}};
	const struct cn_pl_relay *rl = NULL;
	char key_path[PATH_MAX], tmp[PATH_MAX], pub_path[PATH_MAX];
	char *text = NULL, *pub = NULL;
	size_t len = 0, pub_len = 0;
	uint8_t root_pk[CN_KEY_LEN];
	struct timeval tv = {PUBLISH_TIMEOUT_S, 0};
	static const char *const status[] = {
		"accepted: the relay now serves it and pushes it to connected nodes",
		"the relay already holds this serial",
		"refused: the relay holds a newer serial (rollback)",
		"refused: the relay could not verify it",
		"refused: too large",
	};
	int ret = CN_EXIT_FAIL;

	if (nargs != 0)
		return cn_cli_usage_error("peers", "publish takes no arguments");
	if (!relay)
		return cn_cli_usage_error("peers", "publish needs --relay NAME");
	snprintf(tmp, sizeof(tmp), "%s", list);
	if (key)
		snprintf(key_path, sizeof(key_path), "%s", key);
	else
		snprintf(key_path, sizeof(key_path), "%s/root.key", dirname(tmp));
	snprintf(tmp, sizeof(tmp), "%s", list);
	snprintf(pub_path, sizeof(pub_path), "%s/root.pub", dirname(tmp));
	if (cn_keyfile_read(key_path, &id, &e))
		return cn_cli_fail(cmd, "%s", e.msg);
	/* The root public key: root.pub beside the list. */
	if (cn_file_read(pub_path, 256, &pub, &pub_len, &e)) {
		cn_cli_fail(cmd, "%s (needed to check the list before upload)", e.msg);
		goto out;
	}
	while (pub_len && (pub[pub_len - 1] == '\n' || pub[pub_len - 1] == '\r'))
		pub_len--;
	if (cn_key_from_text(pub, pub_len, root_pk)) {
		cn_cli_fail(cmd, "%s: not a public key", pub_path);
		goto out;
	}
	if (cn_file_read(list, CN_PEERLIST_MAX_BYTES, &text, &len, &e) ||
	    cn_peerlist_load((const uint8_t *)text, len, root_pk, 0, (int64_t)time(NULL), &pl,
			     &e)) {
		cn_cli_fail(cmd, "%s: %s", list, e.msg);
		goto out;
	}
	for (size_t i = 0; i < pl->nrelays; i++)
		if (strcmp(pl->relays[i].name, relay) == 0)
			rl = &pl->relays[i];
	if (!rl) {
		cn_cli_fail(cmd, "no relay named '%s' in %s", relay, list);
		goto out;
	}
	if (address ? cn_addr_parse(address, &o.addr)
		    : cn_cli_resolve(rl->host, rl->port, true, AF_UNSPEC, SOCK_STREAM, &o.addr)) {
		cn_cli_fail(cmd, "cannot resolve %s", address ? address : rl->host);
		goto out;
	}
	o.id = id;
	o.network = pl->network;
	memcpy(o.relay_key, rl->key, CN_KEY_LEN);
	p.base = event_base_new();
	p.text = (const uint8_t *)text;
	p.len = len;
	p.serial = pl->serial;
	if (!p.base)
		goto out;
	signal(SIGPIPE, SIG_IGN);
	c = cn_relay_client_new(p.base, &o, &cbs, &p, &e);
	if (!c) {
		cn_cli_fail(cmd, "relay %s: %s", relay, e.msg);
		goto out;
	}
	event_base_loopexit(p.base, &tv);
	event_base_dispatch(p.base);
	if (p.result < 0) {
		cn_cli_fail(cmd, "relay %s: %s", relay, p.why[0] ? p.why : "no answer within 15 s");
		goto out;
	}
	if (p.result > CN_LINK_LIST_CURRENT) {
		cn_cli_fail(cmd, "relay %s: serial %" PRId64 " %s", relay, pl->serial,
			    status[p.result]);
		goto out;
	}
	printf("relay %s: serial %" PRId64 " %s\n", relay, pl->serial, status[p.result]);
	ret = CN_EXIT_OK;
out:
	cn_relay_client_free(c);
	if (p.base)
		event_base_free(p.base);
	cn_identity_free(id);
	cn_peerlist_free(pl);
	free(text);
	free(pub);
	return ret;
}
