/* SPDX-License-Identifier: MIT */
/*
 * cairn-relay's life cycle (relay.h; the daemon's files are listed in
 * relay_int.h): loading the identity and the peer list, binding every
 * listener, the periodic sweep, SIGHUP's reload, --check, and the end.
 *
 * Timers: one periodic sweep (CN_RELAY_SWEEP_MS) closes links that are
 * idle (limits.idle_timeout), handshakes not confirmed and TCP frames not
 * finished within limits.frame_timeout, drops list uploads that stalled
 * or ran out of time, expires the previous session of rekeyed links, and
 * continues list and WATCH snapshot sending over UDP. A sweep over every
 * link once a second costs microseconds per thousand links and needs no
 * per-link timer.
 */
#include "relay/relay.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <sodium.h>

#include "common/clock.h"
#include "common/file.h"
#include "crypto/keys.h"
#include "crypto/peerlist.h"
#include "relay/relay_int.h"

static void sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cn_relay *r = arg;
	struct relay_link *l, *tmp;
	uint64_t now = cn_clock_ms();
	const struct cn_relay_limits *lim = &r->cfg.limits;

	(void)fd;
	(void)what;
	TAILQ_FOREACH_SAFE (l, &r->links, entry, tmp) {
		if (l->state != CN_RELAY_LINK_UP && now - l->created_ms > lim->frame_timeout_ms) {
			r->m.links_closed_stalled++;
			cn_relay_link_close(l, l->kind == CN_RELAY_LINK_TCP ? "no handshake in time"
									    : NULL);
		} else if (l->partial_since_ms &&
			   now - l->partial_since_ms > lim->frame_timeout_ms) {
			r->m.links_closed_stalled++;
			cn_relay_link_close(l, "stalled in the middle of a frame");
		} else if (now - l->last_rx_ms > lim->idle_timeout_ms) {
			r->m.links_closed_idle++;
			cn_relay_link_close(l, "idle");
		} else if (cn_relay_list_upload_late(l, now)) {
			cn_relay_list_upload_drop(l);
		} else if (l->kind == CN_RELAY_LINK_UDP) {
			cn_relay_list_pump(l);
			cn_relay_forward_snapshot_pump(l);
		}
	}
	TAILQ_FOREACH (l, &r->links, entry)
		cn_keyring_expire(&l->keys, now);
	cn_relay_metrics_links(r);
}

static int read_initial_list(struct cn_relay *r, struct cn_errbuf *e)
{
	char state_path[CN_PATH_MAX_LEN + 32];
	struct cn_errbuf fe = {{0}}, se = {{0}};
	char *buf = NULL;
	size_t len = 0;
	int ret_file, ret_state = -CN_ENOTFOUND;

	ret_file = cn_file_read(r->cfg.peer_list, CN_PEERLIST_MAX_BYTES, &buf, &len, &fe);
	if (ret_file == 0)
		ret_file = cn_relay_list_load(r, buf, len, r->cfg.peer_list, &fe);
	snprintf(state_path, sizeof(state_path), "%s/%s", r->cfg.state_dir,
		 CN_RELAY_STATE_LIST_FILE);
	buf = NULL;
	if (cn_file_read(state_path, CN_PEERLIST_MAX_BYTES, &buf, &len, &se) == 0)
		ret_state = cn_relay_list_load(r, buf, len, state_path, &se);
	if (ret_file && ret_file != -CN_EROLLBACK)
		cn_log_warn("%s", fe.msg);
	if (ret_state && ret_state != -CN_ENOTFOUND && ret_state != -CN_EROLLBACK)
		cn_log_warn("%s", se.msg);
	if (!r->pl) {
		cn_errbuf_set(e, "no valid peer list: %s", fe.msg);
		return ret_file ? ret_file : -CN_ENOTFOUND;
	}
	cn_log_info("peer list: network %s, serial %" PRId64 ", %zu peers, %zu relays", r->network,
		    r->pl->serial, r->pl->npeers, r->pl->nrelays);
	return 0;
}

/* Everything but the sockets: identity, root key, state directory, list. */
static struct cn_relay *relay_load(struct event_base *base, const struct cn_relay_config *cfg,
				   struct cn_errbuf *e)
{
	struct cn_relay *r;
	uint8_t root_x[CN_KEY_LEN];

	r = calloc(1, sizeof(*r));
	if (!r) {
		cn_errbuf_set(e, "out of memory");
		return NULL;
	}
	r->base = base;
	r->cfg = *cfg;
	TAILQ_INIT(&r->links);
	TAILQ_INIT(&r->watchers);
	cn_relay_stun_init(r);
	if (cn_keyfile_read(cfg->identity_key, &r->id, e))
		goto fail;
	cn_hsguard_init(&r->guard, r->id->x_pk, cfg->limits.handshake_rate,
			cfg->limits.handshake_burst, cfg->limits.handshake_load);
	if (cn_key_ed_to_x(cfg->root_key, root_x)) {
		cn_errbuf_set(e, "root key unusable");
		goto fail;
	}
	cn_handshake_peer_init(&r->admin.hs, root_x);
	memcpy(r->admin.key, cfg->root_key, CN_KEY_LEN);
	snprintf(r->admin.name, sizeof(r->admin.name), "root");
	r->admin.admin = true;
	if (mkdir(cfg->state_dir, 0700) != 0 && errno != EEXIST) {
		cn_errbuf_set(e, "state directory %s: %s", cfg->state_dir, strerror(errno));
		goto fail;
	}
	if (read_initial_list(r, e))
		goto fail;
	if (cn_peerlist_find_relay_key(r->pl, r->id->ed_pk) == NULL) {
		char fpr[CN_KEY_FPR_LEN + 1];

		cn_key_fingerprint(r->id->ed_pk, fpr);
		cn_log_warn("this relay's key %s... is not among the peer list's relays; nodes "
			    "will not find it",
			    fpr);
	}
	return r;
fail:
	cn_relay_free(r);
	return NULL;
}

int cn_relay_check(const struct cn_relay_config *cfg, struct cn_errbuf *e)
{
	struct cn_relay *r = relay_load(NULL, cfg, e);

	if (!r)
		return -CN_EINVAL;
	cn_relay_free(r);
	return 0;
}

struct cn_relay *cn_relay_new(struct event_base *base, const struct cn_relay_config *cfg,
			      struct cn_errbuf *e)
{
	struct cn_relay *r;
	struct timeval tv = {CN_RELAY_SWEEP_MS / 1000, (CN_RELAY_SWEEP_MS % 1000) * 1000};

	r = relay_load(base, cfg, e);
	if (!r)
		return NULL;
	r->nslots = cfg->limits.max_connections;
	r->slots = calloc(r->nslots, sizeof(*r->slots));
	r->free_slots = calloc(r->nslots, sizeof(*r->free_slots));
	if (!r->slots || !r->free_slots) {
		cn_errbuf_set(e, "out of memory for %u connections", r->nslots);
		goto fail;
	}
	for (uint32_t i = 0; i < r->nslots; i++)
		r->free_slots[i] = r->nslots - 1 - i;
	r->nfree = r->nslots;
	for (unsigned int i = 0; i < cfg->ntcp; i++)
		if (cn_relay_tcp_listen(r, &cfg->tcp[i], e))
			goto fail;
	for (unsigned int i = 0; i < cfg->nudp; i++)
		if (cn_relay_udp_open(r, &cfg->udp[i], false, e))
			goto fail;
	for (unsigned int i = 0; i < cfg->nstun; i++)
		if (cn_relay_udp_open(r, &cfg->stun[i], true, e))
			goto fail;
	if (cfg->metrics_on && cn_relay_metrics_start(r, e))
		goto fail;
	if (cn_relay_udp_start(r, e) || cn_relay_link_start(r, e))
		goto fail;
	r->sweep = event_new(base, -1, EV_PERSIST, sweep_cb, r);
	if (!r->sweep || event_add(r->sweep, &tv) != 0) {
		cn_errbuf_set(e, "cannot start the sweep timer");
		goto fail;
	}
	return r;
fail:
	cn_relay_free(r);
	return NULL;
}

void cn_relay_free(struct cn_relay *r)
{
	struct relay_link *l;

	if (!r)
		return;
	r->closing = true;
	cn_hsguard_wipe(&r->guard);
	cn_relay_udp_flush(r);
	while ((l = TAILQ_FIRST(&r->links)) != NULL)
		cn_relay_link_close(l, NULL);
	if (r->flush)
		event_free(r->flush);
	if (r->reap)
		event_free(r->reap);
	for (unsigned int i = 0; i < r->ntcp; i++)
		evconnlistener_free(r->tcp_listeners[i]);
	for (unsigned int i = 0; i < r->nudp; i++) {
		event_free(r->udps[i].ev);
		close(r->udps[i].fd);
	}
	if (r->http)
		evhttp_free(r->http);
	if (r->sweep)
		event_free(r->sweep);
	free(r->slots);
	free(r->free_slots);
	free(r->peers);
	cn_peerlist_free(r->pl);
	free(r->pl_text);
	cn_identity_free(r->id);
	sodium_memzero(&r->local, sizeof(r->local));
	free(r);
}

int cn_relay_reload(struct cn_relay *r)
{
	struct cn_errbuf e = {{0}};
	int64_t before = r->pl->serial;
	char *buf = NULL;
	size_t len = 0;
	int ret;

	ret = cn_file_read(r->cfg.peer_list, CN_PEERLIST_MAX_BYTES, &buf, &len, &e);
	if (ret == 0)
		ret = cn_relay_list_load(r, buf, len, r->cfg.peer_list, &e);
	if (ret) {
		cn_log_warn("reload: %s; keeping serial %" PRId64, e.msg, r->pl->serial);
		return ret;
	}
	if (r->pl->serial == before) {
		cn_log_info("reload: %s has serial %" PRId64 ", already in force", r->cfg.peer_list,
			    before);
		return 0;
	}
	cn_log_info("reload: peer list serial %" PRId64 " adopted (%zu peers)", r->pl->serial,
		    r->npeers);
	r->m.lists_accepted++;
	cn_relay_list_save(r);
	return 0;
}

const struct cn_relay_metrics *cn_relay_get_metrics(struct cn_relay *r)
{
	cn_relay_metrics_links(r);
	return &r->m;
}

static int sock_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (fd < 0 || getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		return -1;
	return cn_addr_port((const struct sockaddr *)&ss);
}

int cn_relay_tcp_port(const struct cn_relay *r)
{
	return r->ntcp ? sock_port(evconnlistener_get_fd(r->tcp_listeners[0])) : -1;
}

int cn_relay_udp_port(const struct cn_relay *r)
{
	for (unsigned int i = 0; i < r->nudp; i++)
		if (!r->udps[i].stun_only)
			return sock_port(r->udps[i].fd);
	return -1;
}

int cn_relay_stun_port(const struct cn_relay *r)
{
	for (unsigned int i = 0; i < r->nudp; i++)
		if (r->udps[i].stun_only)
			return sock_port(r->udps[i].fd);
	return -1;
}

int cn_relay_metrics_port(const struct cn_relay *r)
{
	return r->http_sock ? sock_port(evhttp_bound_socket_get_fd(r->http_sock)) : -1;
}
