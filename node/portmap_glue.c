/* SPDX-License-Identifier: MIT */
/*
 * Port mapping for the node-wide socket (node_int.h, nat/portmap.h): asks
 * the default gateway (PCP, NAT-PMP, UPnP-IGD) to forward an external UDP
 * port to natsock.c's socket and tells the engine (cn_engine_mapped), which
 * announces it to every peer as a CANDIDATE; a peer checks it with a PROBE
 * from its own node-wide socket and, answered from there, takes it as a
 * direct path (engine_bday.c).
 *
 * Which local port: the node-wide socket's, bound once for the node's life.
 * The per-peer sockets libnice opens change with every ICE run, and a
 * mapping made for one would have to be made again for each run and each
 * peer; one mapping of a stable socket serves every peer, including two
 * symmetric NATs where neither ICE nor birthday can work (PROTOCOL.md
 * "CANDIDATE"). The mapped address is not given to libnice as a remote
 * candidate: nat/ice.c takes one remote SDP per session and libnice checks
 * from its own sockets, not the mapped one; the engine's own check over
 * the mapped socket needs neither.
 */
#include <arpa/inet.h>
#include <string.h>

#include "common/clock.h"
#include "nat/portmap.h"
#include "node/node_int.h"

static void mapped(void *arg, const struct cn_portmap_event *ev)
{
	struct cn_node *n = arg;
	struct cn_addr a = {0};
	char text[INET_ADDRSTRLEN];
	static const char *const proto[] = {"none", "PCP", "NAT-PMP", "UPnP-IGD"};

	if (ev->lost || ev->proto == CN_PORTMAP_NONE) {
		cn_log_info("port mapping of UDP %u lost", n->natsock.port);
		cn_engine_mapped(n->eng, cn_clock_ms(), NULL, 0);
		return;
	}
	(void)cn_addr_set(&a, (const struct sockaddr *)&ev->external, sizeof(ev->external));
	inet_ntop(AF_INET, &ev->external.sin_addr, text, sizeof(text));
	cn_log_info("port mapping: %s:%u -> UDP %u by %s, %u s", text, ntohs(ev->external.sin_port),
		    n->natsock.port, proto[ev->proto <= CN_PORTMAP_UPNP ? ev->proto : 0],
		    ev->lifetime_s);
	/* The protocols' values are the CANDIDATE kinds (nat/portmap.h). */
	cn_engine_mapped(n->eng, cn_clock_ms(), &a, (enum cn_ctl_cand)ev->proto);
}

void node_portmap_open(struct cn_node *n)
{
	struct cn_portmap_config c = {.local_port = n->natsock.port};

	if (n->natsock.fd < 0)
		return;
	/* No gateway (a public host) or no socket: logged there, the node runs on. */
	n->portmap = cn_portmap_new(n->base, &c, mapped, n);
}

void node_nat_network_changed(struct cn_node *n)
{
	if (n->portmap)
		cn_portmap_restart(n->portmap);
	if (n->natsock.fd >= 0) {
		/* The old kind and reflexive address may be wrong now: a new STUN round. */
		n->natsock.tries = 0;
		n->natsock.next_ms = 0;
		n->natsock.kind = CN_NAT_UNKNOWN;
		cn_engine_nat_kind(n->eng, cn_clock_ms(), CN_NAT_UNKNOWN, NULL);
		node_timer_wake(n, cn_clock_ms());
	}
}

void node_portmap_close(struct cn_node *n)
{
	cn_portmap_free(n->portmap); /* deletes the mapping; waits at most 2 s for UPnP */
	n->portmap = NULL;
}
