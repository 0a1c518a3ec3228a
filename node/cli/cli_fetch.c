/* SPDX-License-Identifier: MIT */
/*
 * The signed peer list from a relay, for `cairn join`: an authenticated
 * TCP relay link with this machine's key, HAVE_LIST 0 ("I hold nothing"),
 * and the LIST_CHUNKs the relay answers with, reassembled by listrx.c (TCP
 * keeps them in order). Returns the bytes as sent: the caller verifies
 * them against the root key. TCP because a relay closes a TCP connection
 * whose key is not in its list, so "not enrolled yet" shows at once; over
 * UDP it would be silence until a timeout.
 */
#include "node/cli/cli_fetch.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "common/err.h"
#include "node/listrx.h"
#include "relay/link.h"
#include "relay/relay_client.h"

struct fetch {
	struct event_base *base;
	bool was_up;
	bool done;
	struct cn_listrx rx;
	char why[160];
};

static void fetch_up(struct cn_relay_client *c, void *arg)
{
	struct fetch *f = arg;
	struct cn_link_msg m = {.type = CN_LINK_HAVE_LIST, .serial = 0};
	int ret = cn_relay_client_send(c, &m);

	f->was_up = true;
	if (ret) {
		snprintf(f->why, sizeof(f->why), "cannot ask for the list: %s", cn_strerror(ret));
		event_base_loopbreak(f->base);
	}
}

static void fetch_down(struct cn_relay_client *c, void *arg, const char *why)
{
	struct fetch *f = arg;

	(void)c;
	snprintf(f->why, sizeof(f->why), "%s", why);
	event_base_loopbreak(f->base);
}

static void fetch_msg(struct cn_relay_client *c, void *arg, const struct cn_link_msg *m)
{
	struct fetch *f = arg;
	int ret;

	(void)c;
	if (m->type != CN_LINK_LIST_CHUNK || f->done)
		return;
	ret = cn_listrx_add(&f->rx, m->serial, m->total, m->offset, m->data, m->data_len);
	if (ret < 0) {
		snprintf(f->why, sizeof(f->why), "the relay's list: %s",
			 ret == -CN_ETOOBIG ? "over the size limit" : cn_strerror(ret));
		event_base_loopbreak(f->base);
	} else if (ret == 1) {
		f->done = true;
		event_base_loopbreak(f->base);
	}
}

int cn_cli_fetch_list(const struct cn_identity *id, const char *network,
		      const uint8_t relay_key[CN_KEY_LEN], const struct cn_addr *addr,
		      int timeout_s, char **out, size_t *len, char *why, size_t why_cap)
{
	struct cn_relay_client_cbs cbs = {fetch_up, fetch_down, fetch_msg, NULL};
	struct cn_relay_client_opts o = {.id = id, .network = network, .addr = *addr};
	struct cn_relay_client *c = NULL;
	struct fetch f = {0};
	struct cn_errbuf e = {{0}};
	struct timeval tv = {timeout_s, 0};
	int ret = -CN_ENOMEM;

	*out = NULL;
	*len = 0;
	why[0] = '\0';
	memcpy(o.relay_key, relay_key, CN_KEY_LEN);
	f.base = event_base_new();
	if (!f.base)
		goto out;
	signal(SIGPIPE, SIG_IGN);
	c = cn_relay_client_new(f.base, &o, &cbs, &f, &e);
	if (!c) {
		snprintf(why, why_cap, "%s", e.msg);
		ret = -CN_EIO;
		goto out;
	}
	event_base_loopexit(f.base, &tv);
	event_base_dispatch(f.base);
	if (f.done) {
		*out = (char *)cn_listrx_take(&f.rx, len);
		ret = 0;
	} else if (!f.was_up && strstr(f.why, "closed by the relay")) {
		snprintf(why, why_cap, "the relay refused this key (not in its list yet)");
		ret = -CN_EUNKNOWN;
	} else {
		snprintf(why, why_cap, "%s", f.why[0] ? f.why : "no list within the time limit");
		ret = f.why[0] ? -CN_EIO : -CN_ETIMEDOUT;
	}
out:
	cn_relay_client_free(c);
	if (f.base)
		event_base_free(f.base);
	cn_listrx_wipe(&f.rx);
	return ret;
}
