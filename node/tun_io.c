/* SPDX-License-Identifier: MIT */
/*
 * The TUN device's shell (node_int.h): opens and configures it, reads
 * packets in batches into the engine, writes what the engine delivers.
 */
#include <errno.h>
#include <sys/uio.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/clock.h"
#include "node/netlink.h"
#include "node/node_int.h"
#include "node/offload.h"
#include "node/tun.h"

/* Packets the kernel may queue towards the node (a TUN starts at 500): bursts of super-packets. */
enum { TUN_TXQLEN = 10000 };

static void tun_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cn_node *n = arg;
	uint64_t now = cn_clock_ms();

	(void)what;
	if (n->dp) {
		node_dp_tun_read(n, fd);
		return;
	}
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
	uint8_t plain[CN_VNET_HDR_LEN] = {0}; /* all zero: nothing to do */
	struct iovec iov[2] = {{plain, sizeof(plain)}, {(void *)(uintptr_t)pkt, len}};

	if (n->tun_vnet)
		return writev(n->tun_fd, iov, 2) < 0 ? -CN_EIO : 0;
	return write(n->tun_fd, pkt, len) < 0 ? -CN_EIO : 0;
}

int node_tun_open(struct cn_node *n, struct cn_errbuf *e)
{
	const struct cn_node_config *cfg = &n->cfg;
	enum cn_tun_offload got = CN_TUN_OFFLOAD_NONE;

	/* The fast path's datagram buffers hold NODE_DGRAM_MAX bytes, as the old receive path's. */
	if (cfg->offload && cfg->mtu + CN_ENGINE_TX_OVERHEAD > NODE_DGRAM_MAX)
		cn_log_warn("dataplane: tun.mtu %u is over the fast path's %d; offloads off",
			    (unsigned)cfg->mtu, NODE_DGRAM_MAX - CN_ENGINE_TX_OVERHEAD);
	else if (cfg->offload) {
		if (cn_tun_open_offload(cfg->tun_name, n->tun_name, &n->tun_fd, &got, e) == 0) {
			n->tun_vnet = true;
		} else {
			cn_log_warn("dataplane: %s; the TUN runs without offloads", e->msg);
			e->msg[0] = 0;
		}
	}
	if (!n->tun_vnet && cn_tun_open(cfg->tun_name, n->tun_name, &n->tun_fd, e))
		return -CN_EIO;
	if (n->tun_vnet && node_dp_open(n, got, e))
		return -CN_ENOMEM;
	if (!n->tun_vnet)
		cn_log_info("dataplane: single-packet path (offload off or refused)");
	if (cn_tun_set_txqlen(n->tun_name, TUN_TXQLEN, e) != 0) {
		cn_log_warn("%s; the TUN keeps its transmit queue", e->msg);
		e->msg[0] = 0;
	}
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
