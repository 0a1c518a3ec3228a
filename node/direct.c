/* SPDX-License-Identifier: MIT */
/*
 * Direct sockets (node_int.h): one UDP socket per peer with a direct path,
 * taken over from ICE or opened from the endpoints file. The engine knows
 * the endpoint and whether the path is up; this file owns the descriptor,
 * reads it in batches into the engine and sends what the engine asks.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/clock.h"
#include "common/err.h"
#include "crypto/handshake.h"
#include "node/node_int.h"

enum { DIRECT_SOCKBUF = 4 << 20 };

struct node_peer_io *node_peer_io(struct cn_node *n, struct cn_peer *p)
{
	struct node_peer_io *io = p->io;

	if (!io) {
		io = calloc(1, sizeof(*io));
		if (!io)
			return NULL;
		io->n = n;
		io->dfd = -1;
		p->io = io;
	}
	return io;
}

static void direct_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cn_peer *p = arg;
	struct node_peer_io *io = p->io;
	struct cn_node *n = io->n;
	struct mmsghdr msgs[NODE_BATCH];
	struct iovec iov[NODE_BATCH];
	uint64_t now = cn_clock_ms();
	int got;

	(void)what;
	if (n->dp) {
		node_dp_direct_read(n, p, fd);
		return;
	}
	memset(msgs, 0, sizeof(msgs));
	for (int i = 0; i < NODE_BATCH; i++) {
		iov[i].iov_base = n->bufs[i];
		iov[i].iov_len = NODE_DGRAM_MAX;
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		msgs[i].msg_hdr.msg_name = &n->from[i];
		msgs[i].msg_hdr.msg_namelen = sizeof(n->from[i]);
	}
	got = recvmmsg(fd, msgs, NODE_BATCH, MSG_DONTWAIT, NULL);
	for (int i = 0; i < got; i++) {
		uint8_t *b = n->bufs[i];
		size_t len = msgs[i].msg_len;
		struct cn_addr src;

		/* STUN (libnice's last checks, stray probes) is not ours. */
		if (len == 0 || b[0] < CN_MSG_INITIATION ||
		    (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) ||
		    cn_addr_set(&src, (const struct sockaddr *)&n->from[i],
				msgs[i].msg_hdr.msg_namelen) != 0)
			continue;
		cn_engine_receive(n->eng, now, p, CN_CTL_PATH_DIRECT, -1, b, len, &src);
		/* The engine may have replaced this peer's socket (it never frees p here). */
		if (io->dfd != fd)
			return;
	}
}

void node_direct_close(struct cn_peer *p)
{
	struct node_peer_io *io = p->io;

	if (!io)
		return;
	if (io->dev)
		event_free(io->dev);
	io->dev = NULL;
	if (io->dfd >= 0)
		close(io->dfd);
	io->dfd = -1;
}

/* Takes fd (owned from now on, closed on failure) as p's direct socket. */
int node_direct_adopt(struct cn_node *n, struct cn_peer *p, int fd)
{
	struct node_peer_io *io = node_peer_io(n, p);
	int bufsz = DIRECT_SOCKBUF;

	if (!io) {
		close(fd);
		return -CN_ENOMEM;
	}
	node_direct_close(p);
	io->dfd = fd;
	if (n->dp) {
		node_dp_socket(n, fd); /* larger buffers, UDP_GRO */
	} else {
		if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bufsz, sizeof(bufsz)) != 0)
			setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof(bufsz));
		if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &bufsz, sizeof(bufsz)) != 0)
			setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof(bufsz));
	}
	evutil_make_socket_nonblocking(fd);
	io->dev = event_new(n->base, fd, EV_READ | EV_PERSIST, direct_read_cb, p);
	if (!io->dev || event_add(io->dev, NULL) != 0) {
		node_direct_close(p);
		return -CN_ENOMEM;
	}
	return 0;
}

int node_direct_send(void *ctx, struct cn_peer *p, const struct cn_addr *to, const uint8_t *msg,
		     size_t len)
{
	struct node_peer_io *io = p->io;

	(void)ctx;
	if (!io || io->dfd < 0)
		return -CN_ESTATE;
	if (sendto(io->dfd, msg, len, MSG_DONTWAIT, (const struct sockaddr *)&to->ss, to->len) < 0)
		return -CN_EIO;
	return 0;
}
