/* SPDX-License-Identifier: MIT */
/*
 * The peer list at the relay (relay_int.h): the table of admitted keys
 * built from the list in force, replacing that list (from the file, the
 * state copy or an upload: one rule, cn_peerlist_load_update), keeping it
 * in the state directory, pacing it out to nodes that are behind, and
 * reassembling uploads.
 *
 * Memory stays bounded however many links are behind: a link being sent
 * the list holds an offset into the one text in force, never a copy.
 * Uploads: at most CN_RELAY_MAX_UPLOADS at a time and one per peer (over
 * its TCP and UDP links together: two peers cannot hold every slot), each
 * at most CN_PEERLIST_MAX_BYTES, chunks in order; dropped by the sweep when
 * not finished within CN_RELAY_UPLOAD_TIMEOUT_MS or without a chunk for
 * CN_RELAY_UPLOAD_STALL_MS.
 */
#include "relay/relay_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <sodium.h>

#include "common/clock.h"
#include "common/file.h"
#include "crypto/keys.h"
#include "crypto/peerlist.h"

struct cn_handshake_peer *cn_relay_lookup_xkey(void *ctx, const uint8_t x_pk[CN_KEY_LEN])
{
	struct cn_relay *r = ctx;
	const struct cn_pl_peer *p;

	if (sodium_memcmp(r->admin.hs.x_pk, x_pk, CN_KEY_LEN) == 0)
		return &r->admin.hs;
	p = r->pl ? cn_peerlist_find_xkey(r->pl, x_pk) : NULL;
	return p ? &r->peers[p - r->pl->peers].hs : NULL;
}

/*
 * Installs pl (taking ownership of pl and text) as the list in force:
 * rebuilds the peer table keeping timestamps and links of keys that stay,
 * closes links of keys that left, and offers the list to connected nodes.
 *
 * keep (may be NULL) is the link whose upload brought pl: the caller is
 * still using it, so if its key left it is not closed here but detached
 * (no peer record any more) and *keep_removed is set; the caller closes it
 * when done with it.
 */
static int install_list(struct cn_relay *r, struct cn_peerlist *pl, char *text, size_t len,
			struct relay_link *keep, bool *keep_removed)
{
	struct relay_peer *peers = NULL, *old = r->peers;
	size_t nold = r->npeers;
	struct relay_link *l, *tmp;

	peers = calloc(pl->npeers ? pl->npeers : 1, sizeof(*peers));
	if (!peers)
		return -CN_ENOMEM;
	for (size_t i = 0; i < pl->npeers; i++) {
		cn_handshake_peer_init(&peers[i].hs, pl->peers[i].x_key);
		memcpy(peers[i].key, pl->peers[i].key, CN_KEY_LEN);
		snprintf(peers[i].name, sizeof(peers[i].name), "%s", pl->peers[i].name);
	}
	/* Carry over what the old table knew about keys that stay. */
	for (size_t i = 0; i < nold; i++) {
		const struct cn_pl_peer *p = cn_peerlist_find_key(pl, old[i].key);
		struct relay_peer *np;

		if (!p)
			continue;
		np = &peers[p - pl->peers];
		memcpy(np->hs.last_ts, old[i].hs.last_ts, CN_TAI64N_LEN);
		np->tcp = old[i].tcp;
		np->udp = old[i].udp;
		old[i].tcp = old[i].udp = NULL;
	}
	/* Re-point links at the new records; links of removed keys go. */
	TAILQ_FOREACH_SAFE (l, &r->links, entry, tmp) {
		const struct cn_pl_peer *p;

		if (!l->peer || l->peer->admin)
			continue;
		p = cn_peerlist_find_key(pl, l->peer->key);
		if (!p) {
			char fpr[CN_KEY_FPR_LEN + 1];

			cn_key_fingerprint(l->peer->key, fpr);
			cn_log_info("link %s: key %s... (%s) is no longer in the peer list: "
				    "disconnected",
				    l->addr_text, fpr, l->peer->name);
			r->m.links_closed_removed++;
			l->peer = NULL; /* its record is in the old table */
			if (l == keep)
				*keep_removed = true;
			else
				cn_relay_link_close(l, NULL);
			continue;
		}
		l->peer = &peers[p - pl->peers];
	}
	free(r->peers);
	cn_peerlist_free(r->pl);
	free(r->pl_text);
	r->peers = peers;
	r->npeers = pl->npeers;
	r->pl = pl;
	r->pl_text = text;
	r->pl_len = len;
	r->m.list_serial = pl->serial;
	snprintf(r->network, sizeof(r->network), "%s", pl->network);
	/* Offer the new list to every node that told us what it holds. */
	TAILQ_FOREACH_SAFE (l, &r->links, entry, tmp)
		if (l->state == CN_RELAY_LINK_UP && l->peer && !l->peer->admin && l->have_serial &&
		    (uint64_t)pl->serial > l->have_serial)
			cn_relay_list_send(l);
	return 0;
}

static int load_list(struct cn_relay *r, char *buf, size_t len, const char *source,
		     struct relay_link *keep, bool *keep_removed, struct cn_errbuf *e)
{
	struct cn_peerlist *pl = NULL;
	struct cn_errbuf pe = {{0}};
	int ret;

	ret = cn_peerlist_load_update((const uint8_t *)buf, len, r->cfg.root_key, r->pl,
				      (int64_t)time(NULL), &pl, &pe);
	if (ret || !pl) {
		if (ret)
			cn_errbuf_set(e, "%s: %s", source, pe.msg[0] ? pe.msg : cn_strerror(ret));
		free(buf);
		return ret; /* refused, or the serial in force: nothing new */
	}
	ret = install_list(r, pl, buf, len, keep, keep_removed);
	if (ret) {
		cn_errbuf_set(e, "%s: %s", source, cn_strerror(ret));
		cn_peerlist_free(pl);
		free(buf);
		return ret;
	}
	/* The network never changes (the update rule), so neither does the prologue. */
	if (!r->local.id && cn_handshake_local_init(&r->local, r->id, r->network) != 0) {
		cn_errbuf_set(e, "%s: network name unusable", source);
		return -CN_EINVAL;
	}
	return 0;
}

int cn_relay_list_load(struct cn_relay *r, char *buf, size_t len, const char *source,
		       struct cn_errbuf *e)
{
	bool unused = false;

	return load_list(r, buf, len, source, NULL, &unused, e);
}

void cn_relay_list_save(struct cn_relay *r)
{
	char path[CN_PATH_MAX_LEN + 32];
	struct cn_errbuf e = {{0}};

	snprintf(path, sizeof(path), "%s/%s", r->cfg.state_dir, CN_RELAY_STATE_LIST_FILE);
	if (cn_file_write_atomic(path, r->pl_text, r->pl_len, 0644, &e))
		cn_log_warn("cannot keep the peer list in the state directory: %s", e.msg);
}

/*
 * Sends the next chunks of the list in force to l: over TCP while its
 * output queue is below a quarter of max_buffered (the write callback
 * continues), over UDP LIST_UDP_BURST chunks per call (the sweep
 * continues). A newer list restarts from the beginning.
 */
void cn_relay_list_pump(struct relay_link *l)
{
	struct cn_relay *r = l->r;
	unsigned int burst = 0;

	if (!l->list_sending || !r->pl)
		return;
	if (l->list_serial != (uint64_t)r->pl->serial) {
		l->list_serial = (uint64_t)r->pl->serial;
		l->list_off = 0;
	}
	while (l->list_off < r->pl_len) {
		uint32_t n = (uint32_t)(r->pl_len - l->list_off);
		struct cn_link_msg c;

		if (l->kind == CN_RELAY_LINK_TCP
			    ? evbuffer_get_length(bufferevent_get_output(l->bev)) >
				      r->cfg.limits.max_buffered / 4
			    : burst++ >= CN_RELAY_LIST_UDP_BURST)
			return;
		if (n > CN_LINK_CHUNK_DATA_MAX)
			n = CN_LINK_CHUNK_DATA_MAX;
		c = (struct cn_link_msg){.type = CN_LINK_LIST_CHUNK,
					 .serial = l->list_serial,
					 .total = (uint32_t)r->pl_len,
					 .offset = l->list_off,
					 .data = (const uint8_t *)r->pl_text + l->list_off,
					 .data_len = n};
		if (cn_relay_link_send(l, &c, true))
			return;
		r->m.list_chunks_sent++;
		l->list_off += n;
	}
	l->list_sending = false;
}

void cn_relay_list_send(struct relay_link *l)
{
	l->list_sending = true;
	l->list_serial = (uint64_t)l->r->pl->serial;
	l->list_off = 0;
	l->have_serial = l->list_serial;
	cn_relay_list_pump(l);
}

bool cn_relay_list_upload_late(const struct relay_link *l, uint64_t now)
{
	return l->upload && (now - l->upload_started_ms > CN_RELAY_UPLOAD_TIMEOUT_MS ||
			     now - l->upload_last_ms > CN_RELAY_UPLOAD_STALL_MS);
}

/* Whether l's peer already uploads over its other link. */
static bool peer_uploading(const struct relay_link *l)
{
	const struct relay_peer *p = l->peer;

	return p && ((p->tcp && p->tcp != l && p->tcp->upload) ||
		     (p->udp && p->udp != l && p->udp->upload));
}

void cn_relay_list_upload_drop(struct relay_link *l)
{
	if (!l->upload)
		return;
	free(l->upload);
	l->upload = NULL;
	l->r->nuploads--;
}

static void finish_upload(struct relay_link *l)
{
	struct cn_relay *r = l->r;
	struct cn_errbuf e = {{0}};
	struct cn_link_msg res = {.type = CN_LINK_LIST_RESULT, .serial = l->upload_serial};
	int64_t before = r->pl->serial;
	char *buf = (char *)l->upload;
	size_t len = l->upload_total;
	bool removed = false;
	int ret;

	l->upload = NULL;
	r->nuploads--;
	ret = load_list(r, buf, len, "uploaded list", l, &removed, &e);
	if (ret == 0 && r->pl->serial > before) {
		res.flag = CN_LINK_LIST_ACCEPTED;
		r->m.lists_accepted++;
		cn_log_info("link %s: peer list serial %" PRId64
			    " uploaded and adopted (%zu peers)",
			    l->addr_text, r->pl->serial, r->npeers);
		cn_relay_list_save(r);
	} else if (ret == 0) {
		res.flag = CN_LINK_LIST_CURRENT;
	} else {
		res.flag = ret == -CN_EROLLBACK ? CN_LINK_LIST_OLDER : CN_LINK_LIST_INVALID;
		r->m.lists_refused++;
		cn_log_warn("link %s: uploaded peer list refused: %s", l->addr_text, e.msg);
	}
	cn_relay_link_send(l, &res, true);
	/*
	 * The list just adopted may have removed the uploader's own key:
	 * install_list left its link to us. It goes now, after its answer; the
	 * callers (forward, link data, the TCP read loop) do not touch l
	 * after this returns, as after a BYE.
	 */
	if (removed)
		cn_relay_link_close(l, "its key left the uploaded peer list");
}

void cn_relay_list_chunk(struct relay_link *l, const struct cn_link_msg *m)
{
	struct cn_relay *r = l->r;
	struct cn_link_msg res = {.type = CN_LINK_LIST_RESULT, .serial = m->serial};

	if (m->total > CN_PEERLIST_MAX_BYTES) {
		res.flag = CN_LINK_LIST_TOOBIG;
		cn_relay_link_send(l, &res, true);
		return;
	}
	if (m->offset == 0) {
		if (!l->upload && (r->nuploads >= CN_RELAY_MAX_UPLOADS || peer_uploading(l))) {
			r->m.uploads_refused++;
			return; /* the uploader retries */
		}
		if (!l->upload)
			r->nuploads++;
		free(l->upload);
		l->upload = malloc(m->total);
		if (!l->upload) {
			r->nuploads--;
			return;
		}
		l->upload_total = m->total;
		l->upload_got = 0;
		l->upload_serial = m->serial;
		l->upload_started_ms = cn_clock_ms();
	}
	l->upload_last_ms = cn_clock_ms();
	/* Chunks must come in order and agree on size and serial. */
	if (!l->upload || m->offset != l->upload_got || m->total != l->upload_total ||
	    m->serial != l->upload_serial) {
		r->m.drop_bad_message++;
		return;
	}
	memcpy(l->upload + l->upload_got, m->data, m->data_len);
	l->upload_got += (uint32_t)m->data_len;
	if (l->upload_got == l->upload_total)
		finish_upload(l);
}
