/* SPDX-License-Identifier: MIT */
/*
 * Network changes (node_int.h): a netlink socket on the event loop joined
 * to RTMGRP_IPV4_IFADDR, RTMGRP_IPV6_IFADDR, RTMGRP_IPV4_ROUTE and
 * RTMGRP_IPV6_ROUTE. Each datagram is judged by cn_nlevent_decode (pure):
 * changes on the overlay's own TUN, host or link scope addresses and
 * other tables do not count. A burst of changes (a renumbering is a
 * delete, an add and a route) settles for SETTLE_MS, then, once:
 *   - the engine probes every direct path and gathers candidates again for
 *     peers without one (cn_engine_network_changed);
 *   - relay links whose local address is gone reconnect at once;
 *   - the hooks run (the port mapper renews its mapping there).
 * A receive overrun (ENOBUFS: changes were lost) counts as a change.
 * Without the socket (a kernel without it, a sandbox), the node runs on
 * and finds changes the slow way (keepalives, probes under traffic).
 */
#include <errno.h>
#include <net/if.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <event2/event.h>

#include "common/clock.h"
#include "node/nlevent.h"
#include "node/node_int.h"

enum {
	SETTLE_MS = 50,
	READS_PER_EVENT = 16,
};

static void nw_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cn_node *n = arg;
	uint8_t buf[8192];

	(void)what;
	for (int i = 0; i < READS_PER_EVENT; i++) {
		struct sockaddr_nl from;
		socklen_t flen = sizeof(from);
		struct cn_nlevent ev;
		ssize_t len = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from,
				       &flen);
		int ret;

		if (len < 0) {
			if (errno == ENOBUFS) {
				n->nw_addr_changes++; /* lost some: assume the worst */
				continue;
			}
			break;
		}
		/* Only the kernel speaks on these groups. */
		if (flen != sizeof(from) || from.nl_pid != 0)
			continue;
		ret = cn_nlevent_decode(buf, (size_t)len, n->tun_ifindex, &ev);
		if (ret) {
			cn_log_ratelimited(
				&n->rl_log, cn_clock_ms(), CN_LOG_WARN,
				"network: malformed netlink notification (%zd bytes) ignored", len);
			continue;
		}
		n->nw_addr_changes += ev.addr_changes;
		n->nw_route_changes += ev.route_changes;
	}
	if ((n->nw_addr_changes || n->nw_route_changes) && !n->nw_due_ms) {
		n->nw_due_ms = cn_clock_ms() + SETTLE_MS;
		node_timer_wake(n, n->nw_due_ms);
	}
}

int node_netwatch_open(struct cn_node *n)
{
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK,
				 .nl_groups = RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR |
					      RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE};
	int fd, bufsz = 1 << 18;

	n->nw_fd = -1;
	n->tun_ifindex = if_nametoindex(n->tun_name);
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		cn_log_warn("network: cannot watch address and route changes (%s); found by "
			    "keepalives instead",
			    strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof(bufsz));
	n->nw_ev = event_new(n->base, fd, EV_READ | EV_PERSIST, nw_read_cb, n);
	if (!n->nw_ev || event_add(n->nw_ev, NULL) != 0) {
		cn_log_warn("network: cannot watch the netlink socket");
		if (n->nw_ev)
			event_free(n->nw_ev);
		n->nw_ev = NULL;
		close(fd);
		return -1;
	}
	n->nw_fd = fd;
	return 0;
}

void node_netwatch_close(struct cn_node *n)
{
	if (n->nw_ev)
		event_free(n->nw_ev);
	n->nw_ev = NULL;
	if (n->nw_fd >= 0)
		close(n->nw_fd);
	n->nw_fd = -1;
}

int node_netwatch_hook_add(struct cn_node *n, node_netwatch_fn fn, void *arg)
{
	if (n->nw_nhooks == NODE_NETWATCH_HOOKS_MAX)
		return -CN_ETOOBIG;
	n->nw_hooks[n->nw_nhooks].fn = fn;
	n->nw_hooks[n->nw_nhooks].arg = arg;
	n->nw_nhooks++;
	return 0;
}

uint64_t node_netwatch_tick(struct cn_node *n, uint64_t now)
{
	if (!n->nw_due_ms)
		return UINT64_MAX;
	if (now < n->nw_due_ms)
		return n->nw_due_ms;
	cn_log_info("network: %u address and %u route changes; probing paths, gathering "
		    "candidates again",
		    n->nw_addr_changes, n->nw_route_changes);
	n->nw_due_ms = 0;
	n->nw_addr_changes = n->nw_route_changes = 0;
	n->nw_events++;
	cn_engine_network_changed(n->eng, now);
	node_relays_local_check(n);
	for (unsigned int i = 0; i < n->nw_nhooks; i++)
		n->nw_hooks[i].fn(n, n->nw_hooks[i].arg);
	return UINT64_MAX;
}
