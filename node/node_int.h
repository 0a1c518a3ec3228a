/* SPDX-License-Identifier: MIT */
/*
 * cairn-node's internal structs, shared by the daemon's shell files (the
 * engine's own state is in engine_int.h). One file per concern:
 *   node.c        life cycle: new, free, reload; the engine's ops table
 *   timers.c      the one timer: engine deadlines, relay retries, control
 *                 pings, the endpoints file
 *   tun_io.c      the TUN device: batch reads into the engine, writes
 *   direct.c      direct sockets: adopt, read, send, close
 *   dataplane.c   the fast data path (dataplane.offload): super-packet TUN
 *                 reads, UDP GSO/GRO batches, coalesced TUN writes, workers
 *   endpoints.c   the endpoints file: save and restore (format in endpoints_fmt.c)
 *   ice_glue.c    libnice agents for the engine's ICE requests
 *   relays.c      relay links: resolve, connect, backoff, messages
 *   netwatch.c    address and route changes (rtnetlink): probe, gather again
 *   natsock.c     the node-wide UDP socket (NAT kind by STUN, birthday's
 *                 easy side) and the birthday sockets (hard side)
 *   portmap_glue.c  the gateway's port mapping of the node-wide socket
 *   list.c        the peer list: load, adopt, list chunks from relays
 *   control.c     the control socket and its commands
 *   status.c      `cairn status` text and JSON, from one snapshot
 *   metrics.c     the HTTP metrics endpoint
 *   names.c       the DNS zone glue and upstream servers
 *   deploy_glue.c the deploy listener's authorisation
 */
#ifndef CN_NODE_NODE_INT_H
#define CN_NODE_NODE_INT_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include <jansson.h>

#include "common/addr.h"
#include "common/log.h"
#include "common/queue_compat.h"
#include "crypto/peerlist.h"
#include "nat/stun.h"
#include "node/dns.h"
#include "node/engine.h"
#include "node/listclock.h"
#include "node/listrx.h"
#include "node/node_config.h"

struct event;
struct event_base;
struct evbuffer;
struct evconnlistener;
struct evhttp;
struct bufferevent;
struct cn_identity;
struct cn_relay_client;
struct cn_link_msg;
struct cn_resolver;
struct cn_dns_server;
struct cn_deployd;
struct cn_ice;
struct cn_glib_loop;
struct node_bday;
struct cn_portmap;
struct node_dp;

enum {
	NODE_BATCH = 32,
	NODE_DGRAM_MAX = 2048,
	NODE_RELAY_BACKOFF_MIN_MS = 1000,
	NODE_RELAY_BACKOFF_MAX_MS = 30000,
	NODE_RELAY_UP_TIMEOUT_MS = 5000,
	NODE_CONTROL_PING_TIMEOUT_MS = 2000,
	NODE_CONTROL_MAX_CLIENTS = 16,
};

struct cn_node;

enum { NODE_NETWATCH_HOOKS_MAX = 4 };

/* Runs after an underlay change settled (netwatch.c), e.g. the port mapper's renewal. */
typedef void (*node_netwatch_fn)(struct cn_node *n, void *arg);

#define NODE_STATE_LIST_FILE	  "peers.conf"
#define NODE_STATE_ENDPOINTS_FILE "endpoints"
#define NODE_STATE_TAI_FLOOR_FILE "tai_floor"
/* Test only (docs/NODE.md "Clock"): seconds added to the wall clock, read once at start. */
#define NODE_CLOCK_OFFSET_ENV	  "CN_TEST_CLOCK_OFFSET_S"
/* Test only (docs/NODE.md "Clock"): the expired list's grace period in seconds, read at start. */
#define NODE_LIST_GRACE_ENV	  "CN_TEST_LIST_GRACE_S"

/* What the shell holds for one peer (cn_peer.io): its direct socket and ICE agent. */
struct node_peer_io {
	struct cn_node *n;
	int dfd; /* -1: none */
	struct event *dev;
	struct cn_ice *ice;
	struct node_bday *bday; /* birthday sockets (natsock.c), NULL: none */
};

/* The node-wide UDP socket (natsock.c). */
struct node_natsock {
	int fd; /* -1: none (nat.birthday off) */
	struct event *ev;
	uint16_t port;
	enum cn_nat_kind kind;
	/* The STUN round: to the relay's STUN port [0] and link port [1]. */
	uint8_t tid[2][12];
	struct cn_stun_addr mapped[2];
	unsigned int tries;
	bool round_done;
	uint64_t next_ms;
};

struct node_relay {
	struct cn_node *n;
	unsigned int idx; /* engine relay slot, stable while the relay is listed */
	char name[CN_NAME_MAX + 1];
	uint8_t key[CN_KEY_LEN];
	char host[CN_HOST_MAX + 1];
	uint16_t port, stun_port;
	struct cn_addr addr; /* where the link goes (and its STUN service) */
	bool literal;	     /* host is an IP address: addr was set once */
	bool have_addr;	     /* addr is set */
	/*
	 * One link per transport (0: UDP, 1: TCP). With transport = auto both
	 * are tried at once and UDP is kept when it answers (TCP meanwhile).
	 * c is the link in use (UDP when up), up whether one is.
	 */
	struct node_relay_link {
		struct cn_relay_client *c;
		bool up, dead; /* dead: went down, freed at the next tick */
		uint64_t started_ms, next_try_ms, backoff_ms, up_ms;
	} t[2];
	struct cn_relay_client *c;
	bool up, use_tcp;
	uint64_t next_resolve_ms, resolved_ms;
	struct cn_listrx list; /* list chunks being received */
	bool resolving;	       /* its host name is being resolved */
	TAILQ_ENTRY(node_relay) entry;
};

struct control_client {
	struct cn_node *n;
	struct bufferevent *bev;
	uint64_t ping_id, ping_sent_us, ping_deadline_ms;
	struct cn_peer *ping_peer;
	LIST_ENTRY(control_client) entry;
};

struct cn_node {
	struct event_base *base;
	struct cn_node_config cfg;
	struct cn_identity *id;
	struct cn_engine *eng;
	struct cn_peerlist *pl;
	char *pl_text;
	size_t pl_len;
	const struct cn_pl_peer *self;
	char self_name[CN_NAME_MAX + 1];
	uint8_t self_ip4[4], self_ip6[16];
	TAILQ_HEAD(, node_relay) relays;
	int tun_fd;
	bool tun_vnet;	    /* every TUN packet has a virtio header (offload on) */
	struct node_dp *dp; /* the fast data path's state, NULL when off */
	char tun_name[IFNAMSIZ];
	struct event *tun_ev, *timer;
	uint64_t timer_at; /* when the timer fires, 0: not armed */
	uint64_t trim_at;  /* when the heap's free pages go back next (timers.c) */
	struct cn_glib_loop *glib;
	struct node_natsock natsock;
	struct cn_portmap *portmap; /* NULL: off or no gateway */
	struct evconnlistener *control;
	struct evhttp *http;
	struct cn_resolver *resolver;
	struct cn_dns_zone zone;
	struct cn_dns_server *dns;
	struct cn_deployd *deployd; /* deploy listener (docs/DEPLOY.md), NULL when off */
	LIST_HEAD(, control_client) clients;
	unsigned int nclients;
	uint64_t lists_adopted;
	struct cn_ratelimit rl_log;
	bool endpoints_dirty;
	int64_t clock_offset_s; /* NODE_CLOCK_OFFSET_ENV; 0 outside tests */
	/* list.c: the expiry rule (listclock.h) */
	struct cn_listclock lc;
	struct cn_listclock_result lc_last;
	uint64_t lc_next_ms;
	/* netwatch.c */
	int nw_fd;
	struct event *nw_ev;
	uint32_t tun_ifindex;
	uint64_t nw_due_ms; /* the settled change is acted on then (0: none pending) */
	unsigned int nw_addr_changes, nw_route_changes;
	uint64_t nw_events; /* settled changes acted on */
	struct {
		node_netwatch_fn fn;
		void *arg;
	} nw_hooks[NODE_NETWATCH_HOOKS_MAX];
	unsigned int nw_nhooks;
	uint8_t buf[CN_ENGINE_PKT_MAX + 64];
	uint8_t bufs[NODE_BATCH][NODE_DGRAM_MAX];
	struct sockaddr_storage from[NODE_BATCH];
};

/* node.c: the engine's ops. */
extern const struct cn_engine_ops cn_node_engine_ops;

/* timers.c */
int node_timer_open(struct cn_node *n);
/* Something is due at `when` (monotonic ms): the timer fires no later. */
void node_timer_wake(struct cn_node *n, uint64_t when);

/* tun_io.c */
int node_tun_open(struct cn_node *n, struct cn_errbuf *e);
int node_tun_write(void *ctx, const uint8_t *pkt, size_t len);

/* dataplane.c (only with n->dp) */
enum cn_tun_offload;
/* Allocates n->dp for a TUN opened with offloads `got`; logs what is in use. */
int node_dp_open(struct cn_node *n, enum cn_tun_offload got, struct cn_errbuf *e);
void node_dp_free(struct cn_node *n);
/* Sizes a direct socket's buffers and switches UDP_GRO on it. */
void node_dp_socket(struct cn_node *n, int fd);
void node_dp_tun_read(struct cn_node *n, int fd);
void node_dp_direct_read(struct cn_node *n, struct cn_peer *p, int fd);
/* Engine ops of the batch path. */
int node_dp_send_direct_batch(void *ctx, struct cn_peer *p, const struct cn_addr *to,
			      struct cn_engine_tx *const *dg, size_t n, size_t *sent);
int node_dp_tun_queue(void *ctx, const uint8_t *pkt, size_t len);
void node_dp_tun_flush(void *ctx);
void node_dp_parallel(void *ctx, void (*fn)(void *arg, void *item), void *arg, void *const *items,
		      size_t n);

/* direct.c */
struct node_peer_io *node_peer_io(struct cn_node *n, struct cn_peer *p);
int node_direct_adopt(struct cn_node *n, struct cn_peer *p, int fd);
void node_direct_close(struct cn_peer *p);
int node_direct_send(void *ctx, struct cn_peer *p, const struct cn_addr *to, const uint8_t *msg,
		     size_t len);

/* endpoints.c */
void node_endpoints_save(struct cn_node *n);
void node_endpoints_restore(struct cn_node *n);

/* ice_glue.c */
int node_ice_start(void *ctx, struct cn_peer *p, bool controlling);
void node_ice_stop(void *ctx, struct cn_peer *p);
int node_ice_remote_sdp(void *ctx, struct cn_peer *p, const char *sdp);
void node_ice_remote_done(void *ctx, struct cn_peer *p);
int node_ice_send(void *ctx, struct cn_peer *p, const uint8_t *msg, size_t len);

/* relays.c */
struct node_relay *node_relay_new(struct cn_node *n, const struct cn_pl_relay *pr);
void node_relay_free(struct cn_node *n, struct node_relay *r);
struct node_relay *node_relay_first_up(struct cn_node *n);
int node_relay_send(void *ctx, unsigned int relay, const uint8_t key[CN_KEY_LEN],
		    const uint8_t *msg, size_t len);
int node_relay_send_batch(void *ctx, unsigned int relay, const uint8_t key[CN_KEY_LEN],
			  struct cn_engine_tx *const *dg, size_t n, size_t *sent);
/* Retries and transport switches due at now; returns the next deadline. */
uint64_t node_relays_tick(struct cn_node *n, uint64_t now);

/* Relay links whose local address is no longer on this host reconnect at once. */
void node_relays_local_check(struct cn_node *n);

/* netwatch.c */
/* Joins the rtnetlink address and route groups; -1 (logged) when it cannot. */
int node_netwatch_open(struct cn_node *n);
void node_netwatch_close(struct cn_node *n);
/* Acts on a settled change due at now; returns the next deadline. */
uint64_t node_netwatch_tick(struct cn_node *n, uint64_t now);
/* fn(n, arg) runs after each settled change; -CN_ETOOBIG past NODE_NETWATCH_HOOKS_MAX. */
int node_netwatch_hook_add(struct cn_node *n, node_netwatch_fn fn, void *arg);
/* natsock.c */
int node_natsock_open(struct cn_node *n, struct cn_errbuf *e);
void node_natsock_close(struct cn_node *n);
/* STUN rounds due at now; returns the next deadline. */
uint64_t node_natsock_tick(struct cn_node *n, uint64_t now);
/* A relay link came up: classify now if not yet done. */
void node_natsock_relay_up(struct cn_node *n);
int node_natsock_send(void *ctx, const struct cn_addr *to, const uint8_t *msg, size_t len);
int node_bday_open(void *ctx, struct cn_peer *p, uint16_t index, const struct cn_addr *to,
		   const uint8_t *msg, size_t len);
int node_bday_send(void *ctx, struct cn_peer *p, uint16_t index, const struct cn_addr *to,
		   const uint8_t *msg, size_t len);
void node_bday_adopt(void *ctx, struct cn_peer *p, uint16_t index);
void node_bday_close(void *ctx, struct cn_peer *p);

/* portmap_glue.c */
void node_portmap_open(struct cn_node *n);
void node_portmap_close(struct cn_node *n);
/* An address or route changed (netlink): map again, classify the NAT again. */
void node_nat_network_changed(struct cn_node *n);

/* list.c */
/* Loads a signed list from a file if it is newer than the one in force. */
int node_list_load_file(struct cn_node *n, const char *path, bool quiet_missing,
			struct cn_errbuf *e);
/* A LIST_CHUNK from relay r. */
void node_list_chunk(struct node_relay *r, const struct cn_link_msg *m);
/* The wall clock the node goes by (with the test offset), unix seconds. */
int64_t node_wall_seconds(const struct cn_node *n);
/* The list expiry rule at now (every CN_LISTCLOCK_REFRESH_MS); returns the next deadline. */
uint64_t node_list_clock_tick(struct cn_node *n, uint64_t now);

/* control.c */
int node_control_open(struct cn_node *n, struct cn_errbuf *e);
void node_control_close(struct cn_node *n);
void node_control_probe_reply(void *ctx, struct cn_peer *p, uint64_t id, enum cn_ctl_path there,
			      enum cn_ctl_path back);
/* Ping timeouts due at now; returns the next deadline. */
uint64_t node_control_tick(struct cn_node *n, uint64_t now);

/* status.c */
void node_status_json(struct cn_node *n, struct evbuffer *b);
void node_status_text(struct cn_node *n, struct evbuffer *b);
/* Appends v (owned: released here) as one compact JSON line to b. */
void node_json_send(struct evbuffer *b, json_t *v);

/* metrics.c */
int node_metrics_open(struct cn_node *n, struct cn_errbuf *e);

/* names.c */
int node_names_open(struct cn_node *n, struct cn_errbuf *e);
void node_zone_update(struct cn_node *n);

/* deploy_glue.c */
int node_deploy_open(struct cn_node *n, struct cn_errbuf *e);

#endif
