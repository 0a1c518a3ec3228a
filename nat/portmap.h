/* SPDX-License-Identifier: MIT */
/*
 * Port mapping: asks the default gateway to forward one external UDP port
 * to a local port (the node's direct socket), so peers can reach this node
 * without hole punching. An I/O shell on the daemon's libevent loop.
 *
 * Order: PCP (RFC 6887, nat/pcp.h), then NAT-PMP (RFC 6886,
 * nat/natpmp.h), then UPnP-IGD (miniupnpc). The first that grants a
 * mapping wins; the callback reports the external address:port (a
 * candidate for ICE and a CANDIDATE control message, node/ctlmsg.h). The
 * mapping is renewed at about half its lifetime (jittered, RFC 6887
 * 11.2.1), made again 0.5..5 s after the gateway's epoch says it lost its
 * state (RFC 6887 8.5 and 14.1.3, also on an ANNOUNCE), and deleted on free.
 *
 * Timers (one libevent timer per object, re-armed to the next deadline):
 *   PCP retransmit     3 s, doubling, +-10% jitter, CN_PORTMAP_PCP_TRIES
 *                      tries (RFC 6887 8.1.1 IRT 3 s; bounded here)
 *   NAT-PMP retransmit 250 ms, doubling, CN_PORTMAP_NATPMP_TRIES tries
 *                      per request (RFC 6886 3.1 allows 9)
 *   renew              lifetime * (0.5 .. 0.625) (PCP 11.2.1; also NAT-PMP, UPnP)
 *   retry after all    60 s doubling to 30 min, jittered
 *     protocols failed
 * A PCP or NAT-PMP request answered by ICMP port unreachable (ECONNREFUSED
 * on the connected socket) moves to the next protocol at once.
 *
 * Restarts of the gateway are seen in the epoch of every answer (renewals
 * included) and in an ANNOUNCE or unsolicited NAT-PMP address answer that
 * reaches our socket. The multicast ones (224.0.0.1 port 5350) are not
 * listened for: that needs a socket on port 5350 shared with every other
 * client on the host; the next renewal (at most 5/8 of the lifetime away)
 * catches the restart instead.
 *
 * UPnP runs off the loop thread: discovery (SSDP, upnpDiscover), the
 * device description fetch and the SOAP calls are blocking, and a broken
 * or hostile router can stretch an HTTP answer over minutes (miniupnpc
 * bounds each receive, not the whole answer). A worker thread does one
 * job at a time on its own copies of the inputs and hands the result back
 * through a pipe the loop watches; the loop thread owns everything else.
 * Free waits at most CN_PORTMAP_FREE_WAIT_MS for a running job or the
 * final delete, then lets the worker finish on its own (it owns its job).
 *
 * IPv4 only: the gateway is the IPv4 default route's, the mapping a UDP
 * port on its IPv4 external address (IPv6 needs no NAT mapping; its
 * firewall pinholes would be PCP MAP with an IPv6 client address, left for
 * later).
 *
 * Answers are from the gateway (the connected socket drops anything else)
 * but not trusted: every answer goes through a strict decoder, a PCP
 * answer must echo our nonce, protocol and internal port, an external
 * address must be unicast IPv4 and a port non-zero, and any bad answer is
 * one rate-limited log line and otherwise ignored.
 */
#ifndef CN_NAT_PORTMAP_H
#define CN_NAT_PORTMAP_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

struct event_base;
struct cn_portmap;

/* Values match enum cn_ctl_cand (node/ctlmsg.h). */
enum cn_portmap_proto {
	CN_PORTMAP_NONE = 0,
	CN_PORTMAP_PCP = 1,
	CN_PORTMAP_NATPMP = 2,
	CN_PORTMAP_UPNP = 3,
};

enum {
	CN_PORTMAP_USE_PCP = 1 << 0,
	CN_PORTMAP_USE_NATPMP = 1 << 1,
	CN_PORTMAP_USE_UPNP = 1 << 2,
	CN_PORTMAP_USE_ALL = 7,
	CN_PORTMAP_PCP_TRIES = 3,
	CN_PORTMAP_NATPMP_TRIES = 4,
	CN_PORTMAP_LIFETIME_DEFAULT = 7200, /* seconds, requested */
	CN_PORTMAP_UPNP_DISCOVER_MS = 2000,
	CN_PORTMAP_FREE_WAIT_MS = 2000,
};

struct cn_portmap_config {
	uint16_t local_port;	   /* UDP port to map; required */
	struct in_addr gateway;	   /* 0: the default route's (/proc/net/route) */
	unsigned protocols;	   /* CN_PORTMAP_USE_* mask; 0: all */
	uint32_t lifetime_s;	   /* 0: CN_PORTMAP_LIFETIME_DEFAULT */
	uint16_t server_port;	   /* 0: 5351; tests use another */
	unsigned upnp_discover_ms; /* 0: CN_PORTMAP_UPNP_DISCOVER_MS */
};

/* What the callback is told. */
struct cn_portmap_event {
	enum cn_portmap_proto proto; /* NONE with lost: nothing mapped now */
	bool lost;		     /* the previous mapping is gone */
	struct sockaddr_in external; /* the mapped address (when !lost) */
	uint32_t lifetime_s;	     /* granted (UPnP: 0 = permanent) */
};

/* Called on the loop thread: a new or changed mapping, or its loss. The
 * callback may not free the portmap. */
typedef void (*cn_portmap_cb)(void *arg, const struct cn_portmap_event *ev);

/*
 * Starts mapping at once. Returns NULL (logged) if the config is unusable
 * (no local port), no gateway is known, or a socket/pipe/event fails.
 * cfg is copied.
 */
struct cn_portmap *cn_portmap_new(struct event_base *base, const struct cn_portmap_config *cfg,
				  cn_portmap_cb cb, void *arg);
/*
 * Deletes the mapping (PCP/NAT-PMP: one request with lifetime 0, not
 * waited for; UPnP: DeletePortMapping, waited for at most
 * CN_PORTMAP_FREE_WAIT_MS) and frees. NULL is a no-op.
 */
void cn_portmap_free(struct cn_portmap *pm);

/* The network changed (new address, new default route: node/netlink):
 * forget the gateway's epoch and map again from PCP. */
void cn_portmap_restart(struct cn_portmap *pm);

/* The current mapping, if any: true and *ev filled. */
bool cn_portmap_current(const struct cn_portmap *pm, struct cn_portmap_event *ev);

#endif
