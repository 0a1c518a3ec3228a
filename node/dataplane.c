/* SPDX-License-Identifier: MIT */
/*
 * The fast data path's shell (node_int.h; docs/DESIGN.md "Data plane"),
 * used when dataplane.offload is on and the TUN took IFF_VNET_HDR:
 *
 *   TUN read (super-packet) -> cn_offload_segment straight into datagram
 *   buffers -> cn_engine_tun_batch (routing per packet, counters on the
 *   loop, sealing through node_dp_parallel) -> node_dp_send_direct_batch
 *   (cn_udpbatch_send: one sendmmsg, UDP_SEGMENT runs)
 *
 *   direct socket readable -> cn_udpbatch_recv (recvmmsg, UDP_GRO reads
 *   split) -> cn_engine_receive_batch (opening through node_dp_parallel,
 *   replay window and every rule on the loop) -> node_dp_tun_queue
 *   (cn_gro_add) -> node_dp_tun_flush (cn_gro_flush_iov, one TUN writev
 *   per flow run: built headers, then the payloads where they were opened)
 *
 * Crypto workers (dataplane.workers): node_dp_parallel runs a batch on
 * the pool with the loop thread taking slices too (cn_workpool_run) and
 * returns when it is whole, so the engine stays single-threaded and
 * synchronous; the pool starts at the first batch big enough, after the
 * daemon dropped its privileges (threads made before would keep them).
 * Memory is fixed: the buffers below, allocated once when the TUN opens.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/loadgate.h"
#include "common/udpbatch.h"
#include "common/workpool.h"
#include "crypto/handshake.h"
#include "node/node_int.h"
#include "node/offload.h"
#include "node/tun.h"

enum {
	DP_TX_ITEMS = 256, /* datagrams per send batch */
	DP_TUN_READS = 64, /* TUN reads per send batch at most (unsegmented packets: UDP, ACKs) */
	DP_RX_BUFS = 8,	   /* recvmmsg buffers (GRO reads) */
	DP_RX_ITEMS = DP_RX_BUFS * CN_UDPBATCH_GRO_SEGS, /* datagrams per receive batch */
	DP_SOCKBUF = 8 << 20, /* forced socket buffers: bursts, not drops */
	DP_PARALLEL_MIN = 16, /* smaller batches are sealed on the loop */
	DP_RD_CAP = CN_VNET_HDR_LEN + CN_OFFLOAD_PKT_MAX,
};

struct node_dp {
	struct cn_udpbatch ub_tx, ub_rx;
	bool gso, udp_gro; /* what the sockets get (config and probe) */
	bool ub_ready;	   /* ub_tx/ub_rx took the first socket's capabilities */
	unsigned int want_workers;
	struct cn_workpool *pool;
	bool pool_failed;
	struct cn_loadgate gate; /* whether workers would help now */
	int stat_fd;		 /* /proc/stat, for the gate (-1: none; the gate stays shut) */
	uint64_t gate_next_us;
	unsigned long long gate_alone; /* big batches the gate kept on the loop */
	unsigned int gro_flags;
	struct cn_gro gro;
	uint8_t rd[DP_RD_CAP];
	struct cn_engine_tx tx[DP_TX_ITEMS];
	uint8_t txbuf[DP_TX_ITEMS][NODE_DGRAM_MAX];
	uint8_t rxbuf[DP_RX_BUFS][CN_UDPBATCH_GRO_BUF];
	struct cn_udpbatch_rx rx[DP_RX_ITEMS];
	struct cn_engine_rx erx[DP_RX_ITEMS];
	struct cn_gro_vec gout[CN_GRO_BATCH_MAX];
	struct iovec giov[CN_GRO_IOV_MAX];
	uint8_t ghdrs[CN_GRO_HDRS_MAX]; /* headers of the TUN writes; payloads stay in rxbuf */
};

static unsigned int resolve_workers(unsigned int w)
{
	long c;

	if (w)
		return w;
	c = sysconf(_SC_NPROCESSORS_ONLN);
	return c > 0 && c <= CN_WORKPOOL_THREADS_MAX ? (unsigned int)c : 1;
}

int node_dp_open(struct cn_node *n, enum cn_tun_offload got, struct cn_errbuf *e)
{
	struct node_dp *dp = calloc(1, sizeof(*dp));
	struct cn_udpbatch_caps caps = {0};
	long cpus = sysconf(_SC_NPROCESSORS_ONLN); /* what /proc/stat's "cpu" line sums */
	int fd;

	if (!dp) {
		cn_errbuf_set(e, "out of memory for the data path");
		return -CN_ENOMEM;
	}
	/* What a UDP socket offers here, for the log line (each socket is set up again). */
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		cn_udpbatch_setup(fd, 0, n->cfg.udp_gso, &caps);
		close(fd);
	}
	dp->gso = n->cfg.udp_gso && caps.gso;
	dp->udp_gro = n->cfg.udp_gso && caps.gro;
	dp->want_workers = resolve_workers(n->cfg.workers);
	cn_loadgate_init(&dp->gate, cpus > 0 ? (unsigned int)cpus : 1);
	/* Opened now: whatever the daemon's later privileges, the gate can read it. */
	dp->stat_fd = dp->want_workers > 1 ? open("/proc/stat", O_RDONLY | O_CLOEXEC) : -1;
	if (dp->want_workers > 1 && dp->stat_fd < 0)
		cn_log_warn("dataplane: cannot read /proc/stat (%s); crypto stays on the loop",
			    strerror(errno));
	dp->gro_flags = CN_GRO_TCP | (got == CN_TUN_OFFLOAD_USO ? CN_GRO_UDP : 0);
	cn_gro_init(&dp->gro, dp->gro_flags);
	n->dp = dp;
	cn_log_info("dataplane: TUN offloads %s, UDP GSO %s, GRO %s, crypto %s (%u)",
		    cn_tun_offload_name(got), dp->gso ? "on" : "off", dp->udp_gro ? "on" : "off",
		    dp->want_workers > 1 ? "threads: the loop and workers" : "on the loop",
		    dp->want_workers);
	return 0;
}

void node_dp_free(struct cn_node *n)
{
	if (!n->dp)
		return;
	if (n->dp->gate.windows_shared || n->dp->gate.windows_alone)
		cn_log_info("dataplane: load gate: workers wanted in %llu windows of %d ms, not in "
			    "%llu; %llu big batches kept on the loop",
			    n->dp->gate.windows_shared, CN_LOADGATE_WINDOW_MS,
			    n->dp->gate.windows_alone, n->dp->gate_alone);
	if (n->dp->pool) {
		struct cn_workpool_stats st;

		cn_workpool_get_stats(n->dp->pool, &st);
		cn_log_info(
			"dataplane: crypto batches shared with workers %llu (helped %llu), "
			"on the loop alone %llu; slices of shared batches %llu, by workers %llu",
			st.run_woken, st.run_helped, st.run_alone, st.slices_woken,
			st.slices_helped);
	}
	cn_workpool_free(n->dp->pool);
	if (n->dp->stat_fd >= 0)
		close(n->dp->stat_fd);
	sodium_memzero(n->dp, sizeof(*n->dp)); /* plaintext of the last batches */
	free(n->dp);
	n->dp = NULL;
}

void node_dp_socket(struct cn_node *n, int fd)
{
	struct node_dp *dp = n->dp;
	struct cn_udpbatch_caps caps = {0};

	if (cn_udpbatch_setup(fd, DP_SOCKBUF, dp->udp_gro, &caps) != 0)
		return;
	if (!dp->ub_ready) {
		dp->ub_ready = true;
		cn_udpbatch_init(&dp->ub_tx, &caps);
		cn_udpbatch_init(&dp->ub_rx, &caps);
		cn_udpbatch_set_gso(&dp->ub_tx, dp->gso);
	}
}

/* ---- send ---- */

void node_dp_tun_read(struct cn_node *n, int fd)
{
	struct node_dp *dp = n->dp;
	uint8_t *segp[CN_OFFLOAD_SEGS_MAX];
	size_t seglen[CN_OFFLOAD_SEGS_MAX];
	size_t nt = 0;
	uint64_t now;

	for (int r = 0; r < DP_TUN_READS && DP_TX_ITEMS - nt >= CN_OFFLOAD_SEGS_MAX; r++) {
		ssize_t got = read(fd, dp->rd, sizeof(dp->rd));
		size_t nseg = 0;
		int ret;

		if (got <= 0)
			break;
		/* Segments land after the data header, so sealing is in place. */
		for (size_t i = 0; i < CN_OFFLOAD_SEGS_MAX; i++)
			segp[i] = dp->txbuf[nt + i] + CN_ENGINE_TX_HEADROOM;
		ret = cn_offload_segment(dp->rd, (size_t)got, segp,
					 NODE_DGRAM_MAX - CN_ENGINE_TX_OVERHEAD,
					 CN_OFFLOAD_SEGS_MAX, seglen, &nseg);
		if (ret) {
			cn_log_ratelimited(&n->rl_log, cn_clock_ms(), CN_LOG_WARN,
					   "TUN: dropped a packet of %zd bytes: %s", got,
					   cn_strerror(ret));
			continue;
		}
		for (size_t i = 0; i < nseg; i++) {
			dp->tx[nt].buf = dp->txbuf[nt];
			dp->tx[nt].len = seglen[i];
			dp->tx[nt].cap = NODE_DGRAM_MAX;
			nt++;
		}
	}
	if (!nt)
		return;
	now = cn_clock_ms();
	cn_engine_tun_batch(n->eng, now, dp->tx, nt);
}

int node_dp_send_direct_batch(void *ctx, struct cn_peer *p, const struct cn_addr *to,
			      struct cn_engine_tx *const *dg, size_t n, size_t *sent)
{
	struct cn_node *node = ctx;
	struct node_peer_io *io = p->io;
	struct cn_udpbatch_msg m[CN_ENGINE_BATCH_MAX];

	*sent = 0;
	if (!io || io->dfd < 0 || !node->dp || n > CN_ENGINE_BATCH_MAX)
		return -CN_ESTATE;
	for (size_t i = 0; i < n; i++)
		m[i] = (struct cn_udpbatch_msg){dg[i]->buf, dg[i]->len,
						(const struct sockaddr *)&to->ss, to->len};
	return cn_udpbatch_send(&node->dp->ub_tx, io->dfd, m, n, sent);
}

/* ---- receive ---- */

void node_dp_direct_read(struct cn_node *n, struct cn_peer *p, int fd)
{
	struct node_dp *dp = n->dp;
	uint8_t *bufs[DP_RX_BUFS];
	size_t got = 0, k = 0;

	for (int i = 0; i < DP_RX_BUFS; i++)
		bufs[i] = dp->rxbuf[i];
	if (cn_udpbatch_recv(&dp->ub_rx, fd, bufs, CN_UDPBATCH_GRO_BUF, DP_RX_BUFS, dp->rx,
			     DP_RX_ITEMS, &got) != 0 ||
	    got == 0)
		return;
	for (size_t i = 0; i < got; i++) {
		struct cn_engine_rx *r = &dp->erx[k];

		/* STUN (libnice's last checks, stray probes) is not ours. */
		if (dp->rx[i].len == 0 || dp->rx[i].p[0] < CN_MSG_INITIATION ||
		    cn_addr_set(&r->src, (const struct sockaddr *)dp->rx[i].from,
				dp->rx[i].fromlen) != 0)
			continue;
		r->msg = dp->rx[i].p;
		r->len = dp->rx[i].len;
		k++;
	}
	cn_engine_receive_batch(n->eng, cn_clock_ms(), p, CN_CTL_PATH_DIRECT, -1, dp->erx, k);
}

int node_dp_tun_queue(void *ctx, const uint8_t *pkt, size_t len)
{
	struct cn_node *n = ctx;
	struct node_dp *dp = n->dp;

	if (!dp)
		return node_tun_write(ctx, pkt, len);
	/* Full: write those first. */
	if (dp->gro.npkt == CN_GRO_BATCH_MAX)
		node_dp_tun_flush(ctx);
	if (cn_gro_add(&dp->gro, pkt, len) != 0)
		return node_tun_write(ctx, pkt, len);
	return 0;
}

void node_dp_tun_flush(void *ctx)
{
	struct cn_node *n = ctx;
	struct node_dp *dp = n->dp;
	size_t nout = 0;

	if (!dp || dp->gro.npkt == 0)
		return;
	/* Headers built apart, payloads written from where they were decrypted: no copy. */
	if (cn_gro_flush_iov(&dp->gro, dp->ghdrs, sizeof(dp->ghdrs), dp->giov, CN_GRO_IOV_MAX,
			     dp->gout, CN_GRO_BATCH_MAX, &nout) != 0) {
		/* Cannot happen with these buffers (sized for a full cn_gro); never keep it. */
		cn_gro_init(&dp->gro, dp->gro_flags);
		return;
	}
	for (size_t i = 0; i < nout; i++)
		if (writev(n->tun_fd, dp->giov + dp->gout[i].iov0, (int)dp->gout[i].niov) < 0)
			cn_log_ratelimited(&n->rl_log, cn_clock_ms(), CN_LOG_WARN,
					   "TUN: a write of %zu bytes failed: %s", dp->gout[i].len,
					   strerror(errno));
	cn_gro_init(&dp->gro, dp->gro_flags);
}

/* ---- crypto workers ---- */

/*
 * The load gate's verdict (common/loadgate.h), sampled at most once a
 * window while big batches run: the daemon's CPU time and /proc/stat's
 * first line. A failed read keeps the last verdict.
 */
static bool dp_gate_open(struct node_dp *dp)
{
	struct cn_loadgate_sample s;
	struct timespec cpu;
	char buf[256];
	ssize_t got;

	if (dp->stat_fd < 0)
		return false;
	s.wall_us = cn_clock_us();
	if (s.wall_us < dp->gate_next_us)
		return dp->gate.share;
	dp->gate_next_us = s.wall_us + CN_LOADGATE_WINDOW_MS * 1000ULL;
	got = pread(dp->stat_fd, buf, sizeof(buf), 0);
	if (got <= 0 || clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu) != 0 ||
	    cn_loadgate_parse_stat(buf, (size_t)got, &s.idle_ticks, &s.total_ticks) != 0)
		return dp->gate.share;
	s.self_us = (uint64_t)cpu.tv_sec * 1000000 + (uint64_t)cpu.tv_nsec / 1000;
	return cn_loadgate_update(&dp->gate, &s);
}

void node_dp_parallel(void *ctx, void (*fn)(void *arg, void *item), void *arg, void *const *items,
		      size_t n)
{
	struct cn_node *node = ctx;
	struct node_dp *dp = node->dp;
	bool big = dp && dp->want_workers > 1 && n >= DP_PARALLEL_MIN;
	bool share = big && dp_gate_open(dp);

	if (big && !share)
		dp->gate_alone++;
	if (share && !dp->pool && !dp->pool_failed) {
		/* The loop is one of the crypto threads: it takes slices too. */
		if (cn_workpool_new(dp->want_workers - 1, &dp->pool) != 0) {
			dp->pool_failed = true;
			cn_log_warn(
				"dataplane: cannot start %u crypto workers; crypto stays on the "
				"loop",
				dp->want_workers);
		}
	}
	/* The loop takes slices too (cn_workpool_run): it never sleeps while work is left. */
	if (!share || !dp->pool || cn_workpool_run(dp->pool, fn, arg, items, n) != 0) {
		for (size_t i = 0; i < n; i++)
			fn(arg, items[i]);
	}
}
