/* SPDX-License-Identifier: MIT */
/*
 * The TUN device's shell (node_int.h): opens and configures it, reads
 * packets in batches into the engine, writes what the engine delivers.
 */
#include <errno.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/clock.h"
#include "node/netlink.h"
#include "node/node_int.h"
#include "node/tun.h"

static void tun_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cn_node *n = arg;
	uint64_t now = cn_clock_ms();

	(void)what;
	for (int i = 0; i < NODE_BATCH; i++) {
		ssize_t r = read(fd, n->buf, sizeof(n->buf));

		if (r <= 0)
			return;
		cn_engine_tun_packet(n->eng, now, n->buf, (size_t)r);
	}
}

int node_tun_write(void *ctx, const uint8_t *pkt, size_t len)
{
	struct cn_node *n = ctx;

	return write(n->tun_fd, pkt, len) < 0 ? -CN_EIO : 0;
}

int node_tun_open(struct cn_node *n, struct cn_errbuf *e)
{
	const struct cn_node_config *cfg = &n->cfg;

	if (cn_tun_open(cfg->tun_name, n->tun_name, &n->tun_fd, e))
		return -CN_EIO;
	if (cn_netlink_configure(n->tun_name, cfg->mtu, n->self_ip4, n->pl->prefix4_len,
				 n->self_ip6, n->pl->prefix6_len, e)) {
		/* A host with IPv6 disabled still gets the IPv4 overlay. */
		cn_log_warn("%s; continuing with IPv4 only", e->msg);
		if (cn_netlink_configure(n->tun_name, cfg->mtu, n->self_ip4, n->pl->prefix4_len,
					 NULL, 0, e))
			return -CN_EIO;
	}
	n->tun_ev = event_new(n->base, n->tun_fd, EV_READ | EV_PERSIST, tun_read_cb, n);
	if (!n->tun_ev || event_add(n->tun_ev, NULL) != 0) {
		cn_errbuf_set(e, "cannot watch the TUN device");
		return -CN_EIO;
	}
	return 0;
}
