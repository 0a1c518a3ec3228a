/* SPDX-License-Identifier: MIT */
/*
 * cairn-node's life cycle (node.h, docs/NODE.md): creates the peer engine
 * and the shells around it, in order, and takes them down again. The
 * engine (engine.h) holds the peer logic; node_int.h lists which file owns
 * which concern.
 */
#include "node/node.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/http.h>
#include <sodium.h>

#include "common/clock.h"
#include "common/file.h"
#include "crypto/keys.h"
#include "deploy/server.h"
#include "nat/glib_event.h"
#include "node/dns_io.h"
#include "node/netlink.h"
#include "node/node_int.h"
#include "node/resolver.h"
#include "node/tai_floor.h"
#include "node/tun.h"
#include "relay/relay_client.h"

/* ---- the engine's ops that belong to no other shell ---- */

static void peer_gone(void *ctx, struct cn_peer *p)
{
	struct node_peer_io *io = p->io;

	if (!io)
		return;
	node_bday_close(ctx, p);
	node_direct_close(p);
	free(io);
	p->io = NULL;
}

static void endpoints_changed(void *ctx)
{
	struct cn_node *n = ctx;

	n->endpoints_dirty = true;
	node_timer_wake(n, cn_clock_ms());
}

static void wake_at(void *ctx, uint64_t when)
{
	node_timer_wake(ctx, when);
}

static uint64_t now_us(void *ctx)
{
	(void)ctx;
	return cn_clock_us();
}

static void wall_clock(void *ctx, uint64_t *sec, uint32_t *nsec)
{
	struct cn_node *n = ctx;

	cn_clock_wall(sec, nsec);
	if (n->clock_offset_s < 0 && (uint64_t)-n->clock_offset_s > *sec)
		*sec = 0;
	else
		*sec = (uint64_t)((int64_t)*sec + n->clock_offset_s);
}

int64_t node_wall_seconds(const struct cn_node *n)
{
	uint64_t sec = 0;
	uint32_t nsec = 0;

	wall_clock((void *)(uintptr_t)n, &sec, &nsec);
	return (int64_t)sec;
}

static void floor_path(const struct cn_node *n, char *out, size_t cap)
{
	snprintf(out, cap, "%s/%s", n->cfg.state_dir, NODE_STATE_TAI_FLOOR_FILE);
}

static int persist_floor(void *ctx, const uint8_t floor[CN_TAI64N_LEN])
{
	struct cn_node *n = ctx;
	char path[CN_NODE_PATH_MAX + 32], text[CN_TAI_FLOOR_TEXT_LEN + 1];
	struct cn_errbuf e = {{0}};

	floor_path(n, path, sizeof(path));
	cn_tai_floor_format(floor, text);
	if (cn_file_write_atomic(path, text, CN_TAI_FLOOR_TEXT_LEN, 0600, &e) != 0) {
		cn_log_warn("cannot keep the handshake timestamp floor: %s; after a restart with "
			    "a clock behind, peers may refuse this node for a while",
			    e.msg);
		return -CN_EIO;
	}
	return 0;
}

/* The floor the last run kept (a missing file is the first start; a bad one is ignored). */
static void load_floor(struct cn_node *n)
{
	char path[CN_NODE_PATH_MAX + 32];
	struct cn_tai_floor f;
	struct cn_errbuf e = {{0}};
	char *text = NULL;
	size_t len = 0;

	cn_tai_floor_init(&f);
	floor_path(n, path, sizeof(path));
	if (access(path, F_OK) == 0) {
		if (cn_file_read(path, 64, &text, &len, &e) != 0)
			cn_log_warn("%s; handshake timestamps follow the clock alone", e.msg);
		else if (cn_tai_floor_parse(&f, text, len) != 0)
			cn_log_warn(
				"%s: not a timestamp floor (ignored; handshake timestamps follow "
				"the clock alone)",
				path);
		free(text);
	}
	cn_engine_set_tai_floor(n->eng, &f);
}

/* The test-only clock offset (docs/NODE.md "Clock"). */
static void read_clock_offset(struct cn_node *n)
{
	const char *v = getenv(NODE_CLOCK_OFFSET_ENV);
	char *end = NULL;
	long long s;

	if (!v || !*v)
		return;
	s = strtoll(v, &end, 10);
	if (*end || s < -(1LL << 40) || s > (1LL << 40)) {
		cn_log_warn("%s=%s is not a number of seconds; ignored", NODE_CLOCK_OFFSET_ENV, v);
		return;
	}
	n->clock_offset_s = s;
	cn_log_warn("test clock offset: the wall clock is taken %lld s %s", s < 0 ? -s : s,
		    s < 0 ? "behind" : "ahead");
}

/* The test-only grace period of an expired list (docs/NODE.md "Clock"). */
static void read_list_grace(struct cn_node *n)
{
	const char *v = getenv(NODE_LIST_GRACE_ENV);
	char *end = NULL;
	long long s;

	if (!v || !*v)
		return;
	s = strtoll(v, &end, 10);
	if (*end || s < 1 || s > 7LL * 24 * 3600) {
		cn_log_warn("%s=%s is not a number of seconds from 1 to 604800; ignored",
			    NODE_LIST_GRACE_ENV, v);
		return;
	}
	n->lc.grace_ms = (uint64_t)s * 1000;
	cn_log_warn("test list grace period: an expired list restricts the node after %lld s", s);
}

static void engine_log(void *ctx, enum cn_log_level level, bool ratelimited, const char *msg)
{
	struct cn_node *n = ctx;

	if (ratelimited)
		cn_log_ratelimited(&n->rl_log, cn_clock_ms(), level, "%s", msg);
	else
		cn_log(level, "%s", msg);
}

const struct cn_engine_ops cn_node_engine_ops = {
	.send_direct = node_direct_send,
	.send_turn = node_ice_send,
	.send_relay = node_relay_send,
	.send_relay_batch = node_relay_send_batch,
	.tun_write = node_tun_write,
	.send_direct_batch = node_dp_send_direct_batch,
	.tun_queue = node_dp_tun_queue,
	.tun_flush = node_dp_tun_flush,
	.parallel = node_dp_parallel,
	.ice_start = node_ice_start,
	.ice_stop = node_ice_stop,
	.ice_remote_sdp = node_ice_remote_sdp,
	.ice_remote_done = node_ice_remote_done,
	.peer_gone = peer_gone,
	.probe_reply = node_control_probe_reply,
	.endpoints_changed = endpoints_changed,
	.wake_at = wake_at,
	.now_us = now_us,
	.wall_clock = wall_clock,
	.persist_floor = persist_floor,
	.send_shared = node_natsock_send,
	.bday_open = node_bday_open,
	.bday_send = node_bday_send,
	.bday_adopt = node_bday_adopt,
	.bday_close = node_bday_close,
	.log = engine_log,
};

static void nat_changed(struct cn_node *n, void *arg)
{
	(void)arg;
	node_nat_network_changed(n);
}

/* ---- life cycle ---- */

int cn_node_reload(struct cn_node *n)
{
	struct cn_errbuf e = {{0}};
	int64_t before = n->pl->serial;
	int ret = node_list_load_file(n, n->cfg.peer_list, false, &e);

	if (ret)
		cn_log_warn("reload: %s; keeping serial %" PRId64, e.msg, n->pl->serial);
	else if (n->pl->serial == before)
		cn_log_info("reload: %s has serial %" PRId64 ", already in force", n->cfg.peer_list,
			    before);
	return ret;
}

/* The newer of the configured file and the copy kept from relays. */
static int load_first_list(struct cn_node *n, struct cn_errbuf *e)
{
	struct cn_errbuf fe = {{0}}, se = {{0}};
	char state_list[CN_NODE_PATH_MAX + 32];
	int ret_file, ret_state;

	ret_file = node_list_load_file(n, n->cfg.peer_list, false, &fe);
	snprintf(state_list, sizeof(state_list), "%s/%s", n->cfg.state_dir, NODE_STATE_LIST_FILE);
	ret_state = node_list_load_file(n, state_list, true, &se);
	if (ret_state && se.msg[0] && ret_state != -CN_EROLLBACK)
		cn_log_warn("%s", se.msg);
	if (!n->pl) {
		cn_errbuf_set(e, "no valid peer list: %s", fe.msg);
		return -CN_ENOTFOUND;
	}
	if (ret_file && ret_file != -CN_EROLLBACK)
		cn_log_warn("%s", fe.msg);
	return 0;
}

struct cn_node *cn_node_new(struct event_base *base, const struct cn_node_config *cfg,
			    struct cn_errbuf *e)
{
	struct cn_node *n;
	char fpr[CN_KEY_FPR_LEN + 1];
	struct cn_engine_config ec = {0};

	n = calloc(1, sizeof(*n));
	if (!n) {
		cn_errbuf_set(e, "out of memory");
		return NULL;
	}
	n->base = base;
	n->cfg = *cfg;
	n->tun_fd = -1;
	n->nw_fd = -1;
	n->natsock.fd = -1;
	TAILQ_INIT(&n->relays);
	LIST_INIT(&n->clients);
	if (cn_keyfile_read(cfg->identity_key, &n->id, e))
		goto fail;
	if (mkdir(cfg->state_dir, 0700) != 0 && errno != EEXIST) {
		cn_errbuf_set(e, "state directory %s: %s", cfg->state_dir, strerror(errno));
		goto fail;
	}
	ec.ops = &cn_node_engine_ops;
	ec.ctx = n;
	ec.id = n->id;
	ec.ice = cfg->ice;
	ec.mtu = (uint16_t)cfg->mtu; /* 1280..9000 (node_config.c) */
	cn_bday_limits_default(&ec.bday);
	ec.bday.enabled = cfg->nat_birthday;
	/*
	 * 500 packets a second, not the 200 of the defaults: at 200 the socket
	 * openings took 1.3 s and the probing's tail (99%: 1160 probes) another
	 * 5.8 s, and sym-cone missed 10 s in 1 of 6 lab runs; at 500 the same
	 * are 0.5 s and 2.3 s, about 40 KB/s for a few seconds.
	 */
	ec.bday.rate = 500;
	/* The timer first: the engine reports deadlines from its first list on. */
	if (node_timer_open(n)) {
		cn_errbuf_set(e, "cannot start the timer");
		goto fail;
	}
	read_clock_offset(n);
	read_list_grace(n);
	n->eng = cn_engine_new(&ec, e);
	if (!n->eng)
		goto fail;
	/* Before the first list: it is judged at the trusted time, which the floor bounds. */
	load_floor(n);
	if (load_first_list(n, e))
		goto fail;
	cn_key_fingerprint(n->id->ed_pk, fpr);
	if (!n->self) {
		cn_errbuf_set(e,
			      "this node's key %s... is not in the peer list (serial %" PRId64
			      "); add it with 'cairn peers add'",
			      fpr, n->pl->serial);
		goto fail;
	}
	if (node_tun_open(n, e))
		goto fail;
	(void)node_netwatch_open(n); /* logged; the node runs on without it */
	if (cfg->ice) {
		n->glib = cn_glib_loop_new(base);
		if (!n->glib) {
			cn_errbuf_set(e, "cannot start the ICE event adapter");
			goto fail;
		}
	}
	if ((cfg->nat_birthday || cfg->nat_port_mapping) && node_natsock_open(n, e))
		goto fail;
	if (cfg->nat_port_mapping)
		node_portmap_open(n);
	/* A changed underlay: map again and classify the NAT again. */
	node_netwatch_hook_add(n, nat_changed, NULL);
	if (node_control_open(n, e))
		goto fail;
	if (cfg->metrics_on && node_metrics_open(n, e))
		goto fail;
	if (node_names_open(n, e))
		goto fail;
	if (cfg->deploy && node_deploy_open(n, e))
		goto fail;
	cn_log_info("node %s (%s...) up: %s, network %s, %zu peers, %zu relays", n->self_name, fpr,
		    n->tun_name, n->pl->network, cn_engine_npeers(n->eng), n->pl->nrelays);
	node_endpoints_restore(n);
	node_timer_wake(n, cn_clock_ms()); /* connect to the relays now */
	return n;
fail:
	cn_node_free(n);
	return NULL;
}

void cn_node_free(struct cn_node *n)
{
	struct node_relay *r;

	if (!n)
		return;
	if (n->endpoints_dirty && n->pl)
		node_endpoints_save(n);
	node_control_close(n);
	node_netwatch_close(n);
	node_portmap_close(n);
	if (n->http)
		evhttp_free(n->http);
	/* The resolver first: then no forwarded query calls back into the server. */
	cn_resolver_free(n->resolver);
	cn_dns_server_free(n->dns);
	cn_deployd_free(n->deployd);
	while ((r = TAILQ_FIRST(&n->relays)) != NULL)
		node_relay_free(n, r);
	/* The engine frees every peer, and peer_gone their sockets and agents. */
	cn_engine_free(n->eng);
	node_natsock_close(n);
	if (n->glib)
		cn_glib_loop_free(n->glib);
	if (n->timer)
		event_free(n->timer);
	if (n->tun_ev)
		event_free(n->tun_ev);
	if (n->tun_fd >= 0)
		close(n->tun_fd);
	node_dp_free(n);
	cn_peerlist_free(n->pl);
	free(n->pl_text);
	cn_identity_free(n->id);
	free(n);
}
