/* SPDX-License-Identifier: MIT */
/*
 * The peer list in force (node_int.h, docs/PEERLIST.md): loaded from the
 * configured file (at start and on SIGHUP), from the state directory's
 * copy, or reassembled from a relay's LIST_CHUNKs; every source passes the
 * same rule (cn_peerlist_load_update: signature, serial, expiry, network).
 * Adopting a list hands it to the engine (peers), reconciles the relay
 * links, updates the DNS zone and keeps a copy in the state directory.
 *
 * Expiry follows the clock rule (listclock.h, docs/NODE.md "Clock"): it is
 * judged at the trusted time (the wall clock, never below the handshake
 * timestamp floor); an expired list is still taken when nothing is held
 * (start-up) or when it has a higher serial than an expired held one; the
 * held list is judged again every minute, with a warning at once and
 * hourly, and `cairn status` shows it.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/file.h"
#include "crypto/keys.h"
#include "node/node_int.h"
#include "relay/link.h"
#include "relay/relay_client.h"

/* Relays: keep links to relays that stay, drop the others, add new ones. */
static void reconcile_relays(struct cn_node *n, const struct cn_peerlist *pl)
{
	struct node_relay *r, *rt;

	TAILQ_FOREACH_SAFE (r, &n->relays, entry, rt) {
		const struct cn_pl_relay *pr = cn_peerlist_find_relay_key(pl, r->key);

		if (!pr) {
			cn_log_info("relay %s: removed from the peer list", r->name);
			node_relay_free(n, r);
		} else if (strcmp(pr->host, r->host) != 0 || pr->port != r->port ||
			   pr->stun_port != r->stun_port) {
			/* Same key, new place: the loop below makes it again. */
			cn_log_info("relay %s: moved to %s port %u", r->name, pr->host, pr->port);
			node_relay_free(n, r);
		}
	}
	for (size_t i = 0; i < pl->nrelays; i++) {
		bool have = false;

		TAILQ_FOREACH (r, &n->relays, entry)
			if (cn_key_equal(r->key, pl->relays[i].key))
				have = true;
		if (!have)
			node_relay_new(n, &pl->relays[i]);
	}
}

/*
 * Makes pl (owned from now on, with its signed text) the list in force.
 * source names where it came from, for the log.
 */
static int adopt(struct cn_node *n, struct cn_peerlist *pl, char *text, size_t len,
		 const char *source)
{
	const struct cn_pl_peer *self = cn_peerlist_find_key(pl, n->id->ed_pk);
	char path[CN_NODE_PATH_MAX + 32];
	struct cn_errbuf e = {{0}};
	int ret;

	/* The engine maps its peers onto the new list while the old one still exists. */
	ret = cn_engine_set_list(n->eng, pl, self, cn_clock_ms());
	if (ret) {
		cn_peerlist_free(pl);
		free(text);
		return ret;
	}
	reconcile_relays(n, pl);
	cn_peerlist_free(n->pl);
	free(n->pl_text);
	n->pl = pl;
	n->pl_text = text;
	n->pl_len = len;
	n->self = self;
	if (!self) {
		cn_log_err("%s: this node's key is not in peer list serial %" PRId64
			   "; no peer will talk to it",
			   source, pl->serial);
	} else {
		snprintf(n->self_name, sizeof(n->self_name), "%s", self->name);
		memcpy(n->self_ip4, self->ip4, 4);
		memcpy(n->self_ip6, self->ip6, 16);
	}
	snprintf(path, sizeof(path), "%s/%s", n->cfg.state_dir, NODE_STATE_LIST_FILE);
	if (cn_file_write_atomic(path, text, len, 0644, &e))
		cn_log_warn("cannot keep the peer list in the state directory: %s", e.msg);
	n->lists_adopted++;
	node_zone_update(n);
	cn_log_info("%s: peer list serial %" PRId64 " in force: %zu peers, %zu relays", source,
		    pl->serial, cn_engine_npeers(n->eng), pl->nrelays);
	return 0;
}

static int64_t trusted_now(const struct cn_node *n)
{
	return cn_listclock_trusted_now(node_wall_seconds(n), cn_engine_floor_seconds(n->eng));
}

/* Asks every relay link up for a newer list (it sends one when it has it). */
static void ask_relays(struct cn_node *n)
{
	struct node_relay *r;
	struct cn_link_msg m = {.type = CN_LINK_HAVE_LIST, .serial = (uint64_t)n->pl->serial};

	TAILQ_FOREACH (r, &n->relays, entry)
		if (r->up && r->c)
			(void)cn_relay_client_send(r->c, &m);
}

/* The held list against the clock rule, now; logs what changed. */
static void judge(struct cn_node *n, uint64_t now)
{
	bool was_expired = n->lc_last.verdict != CN_LIST_OK;
	struct cn_listclock_result r = cn_listclock_check(
		&n->lc, n->pl->expires, node_wall_seconds(n), cn_engine_floor_seconds(n->eng), now);

	n->lc_last = r;
	n->lc_next_ms = now + CN_LISTCLOCK_REFRESH_MS;
	/* The grace period's end is judged when it comes, not up to a minute later. */
	if (r.verdict == CN_LIST_GRACE && r.grace_left_ms < CN_LISTCLOCK_REFRESH_MS)
		n->lc_next_ms = now + r.grace_left_ms;
	node_timer_wake(n, n->lc_next_ms);
	/* Rule 3: the engine closes sessions and starts none past the grace period. */
	if ((r.verdict == CN_LIST_RESTRICTED) != cn_engine_restricted(n->eng))
		cn_log_info("peer list serial %" PRId64 ": peer sessions %s", n->pl->serial,
			    r.verdict == CN_LIST_RESTRICTED
				    ? "closed and refused (relay links and the control socket stay)"
				    : "allowed again");
	cn_engine_set_restricted(n->eng, r.verdict == CN_LIST_RESTRICTED, now);
	if (r.verdict == CN_LIST_OK) {
		if (was_expired)
			cn_log_info("peer list serial %" PRId64
				    " is valid at the trusted time %" PRId64
				    "; the expired state is over",
				    n->pl->serial, r.trusted_now);
		return;
	}
	if (r.warn && r.verdict == CN_LIST_GRACE)
		cn_log_warn("peer list serial %" PRId64 " expired at %" PRId64
			    "; this node's clock says %" PRId64 " (trusted time %" PRId64
			    "); fix the clock (NTP/RTC) or publish a newer list; peer sessions "
			    "stop in %" PRIu64 " hours",
			    n->pl->serial, n->pl->expires, node_wall_seconds(n), r.trusted_now,
			    r.grace_left_ms / 3600000);
	else if (r.warn)
		cn_log_err("peer list serial %" PRId64 " expired at %" PRId64
			   " and its grace period is over (trusted time %" PRId64
			   "); publish a newer list or fix the clock",
			   n->pl->serial, n->pl->expires, r.trusted_now);
	ask_relays(n);
}

uint64_t node_list_clock_tick(struct cn_node *n, uint64_t now)
{
	if (!n->pl)
		return UINT64_MAX;
	if (now >= n->lc_next_ms)
		judge(n, now);
	return n->lc_next_ms;
}

/* Checks text (owned) with the one rule and adopts it when it is newer. */
static int offer(struct cn_node *n, char *text, size_t len, const char *source, struct cn_errbuf *e)
{
	struct cn_peerlist *pl = NULL;
	struct cn_errbuf pe = {{0}};
	int ret = cn_peerlist_load_update((const uint8_t *)text, len, n->cfg.root_key, n->pl,
					  trusted_now(n), &pl, &pe);

	/*
	 * Expired at the trusted time: still taken when nothing is held (a
	 * board whose clock runs ahead must stay reachable; judge() warns and
	 * counts the grace period) or when it is newer than an expired held
	 * list (strictly better; the clock then decides). Otherwise refused.
	 */
	if (ret == -CN_EEXPIRED && (!n->pl || n->lc.expired)) {
		struct cn_peerlist *late = NULL;

		if (cn_peerlist_load_update((const uint8_t *)text, len, n->cfg.root_key, n->pl, 0,
					    &late, &pe) == 0 &&
		    (!late || !n->pl || late->serial > n->pl->serial)) {
			pl = late; /* NULL: the serial in force, nothing new */
			ret = 0;
		} else {
			cn_peerlist_free(late);
		}
	}
	if (ret || !pl) {
		if (ret)
			cn_errbuf_set(e, "%s: %s", source, pe.msg[0] ? pe.msg : cn_strerror(ret));
		free(text);
		return ret;
	}
	ret = adopt(n, pl, text, len, source);
	if (ret)
		cn_errbuf_set(e, "%s: peer list not adopted: %s", source, cn_strerror(ret));
	else
		judge(n, cn_clock_ms());
	return ret;
}

int node_list_load_file(struct cn_node *n, const char *path, bool quiet_missing,
			struct cn_errbuf *e)
{
	struct cn_errbuf fe = {{0}};
	char *text = NULL;
	size_t len = 0;
	int ret = cn_file_read(path, CN_PEERLIST_MAX_BYTES, &text, &len, &fe);

	if (ret) {
		if (!quiet_missing)
			cn_errbuf_set(e, "%s", fe.msg);
		return ret;
	}
	return offer(n, text, len, path, e);
}

void node_list_chunk(struct node_relay *r, const struct cn_link_msg *m)
{
	struct cn_errbuf e = {{0}};
	char label[CN_NAME_MAX + 16];
	char *text;
	size_t len = 0;
	int ret;

	if (cn_listrx_add(&r->list, m->serial, m->total, m->offset, m->data, m->data_len) != 1)
		return;
	text = (char *)cn_listrx_take(&r->list, &len);
	if (!text)
		return;
	snprintf(label, sizeof(label), "relay %s", r->name);
	ret = offer(r->n, text, len, label, &e);
	if (ret && ret != -CN_EROLLBACK)
		cn_log_warn("%s", e.msg);
}
