/* SPDX-License-Identifier: MIT */
/*
 * Batched UDP I/O for the data planes (node and relay): many datagrams per
 * system call both ways, with the kernel's segmentation offloads when the
 * socket has them.
 *
 *  - Send: cn_udpbatch_send hands a batch to one sendmmsg(2). With GSO on,
 *    each run of equal-size datagrams to one destination (the last of a run
 *    may be shorter) becomes one message with a UDP_SEGMENT control message:
 *    the kernel splits it into the same datagrams on the wire, but the stack
 *    is crossed once per run instead of once per datagram.
 *  - Receive: cn_udpbatch_recv reads with one recvmmsg(2). With UDP_GRO on
 *    the socket, one message may hold many datagrams of one sender, with
 *    their size in a UDP_GRO control message; they are handed back split,
 *    as views into the caller's buffers (no copy).
 *
 * An I/O shell over a socket the caller owns: no allocation, no logging
 * (errors come back with errno kept for the caller's one log line), no
 * libevent. Some kernels and drivers mangle or refuse UDP GSO (Tailscale
 * issues #13041, #19777): a GSO send failing with EIO turns GSO off on that
 * batch state for good, and the caller can turn it off with
 * cn_udpbatch_set_gso (a config switch).
 */
#ifndef CN_COMMON_UDPBATCH_H
#define CN_COMMON_UDPBATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

enum {
	CN_UDPBATCH_MAX = 64,	       /* messages per cn_udpbatch_send / _recv call */
	CN_UDPBATCH_GSO_SEGS = 64,     /* datagrams per GSO message (Linux UDP_MAX_SEGMENTS) */
	CN_UDPBATCH_GSO_BYTES = 65000, /* bytes per GSO message: within one IP datagram */
	CN_UDPBATCH_GRO_SEGS = 64,     /* datagrams one GRO read may hold (UDP_GRO_CNT_MAX) */
	CN_UDPBATCH_GRO_BUF = 65535,   /* a receive buffer that fits any GRO read */
};

/* What cn_udpbatch_setup found on a socket. */
struct cn_udpbatch_caps {
	bool gso;   /* UDP_SEGMENT available */
	bool gro;   /* UDP_GRO switched on: reads may hold many datagrams */
	int rcvbuf; /* socket buffer sizes the kernel reports after setup */
	int sndbuf;
	bool forced; /* SO_RCVBUFFORCE/SO_SNDBUFFORCE worked (else capped by rmem_max) */
};

/*
 * Sizes the socket's buffers (SO_RCVBUFFORCE/SO_SNDBUFFORCE, which need
 * CAP_NET_ADMIN, else SO_RCVBUF/SO_SNDBUF capped by net.core.*mem_max),
 * probes UDP_SEGMENT, and switches UDP_GRO on if want_gro (then every read
 * must go through cn_udpbatch_recv, which splits what the kernel merged).
 * bufsize 0 leaves the buffers alone. Never fails for a missing offload
 * (caps says what is there); returns -CN_EINVAL for a bad fd or negative
 * bufsize, -CN_EIO (errno kept) if the socket is not UDP.
 */
int cn_udpbatch_setup(int fd, int bufsize, bool want_gro, struct cn_udpbatch_caps *caps);

/* One datagram to send. to == NULL: the socket's connected peer. */
struct cn_udpbatch_msg {
	uint8_t *p;
	size_t len;
	const struct sockaddr *to;
	socklen_t tolen;
};

/* One datagram received: a view into the caller's buffer, valid until it is reused. */
struct cn_udpbatch_rx {
	uint8_t *p;
	size_t len;
	const struct sockaddr *from; /* into the cn_udpbatch, valid until the next recv */
	socklen_t fromlen;
};

/* Counters since cn_udpbatch_init, for status/metrics. */
struct cn_udpbatch_stats {
	uint64_t send_calls;  /* sendmmsg calls */
	uint64_t gso_msgs;    /* messages sent with UDP_SEGMENT */
	uint64_t sent;	      /* datagrams the kernel took */
	uint64_t send_failed; /* datagrams refused (not EAGAIN) */
	uint64_t recv_calls;  /* recvmmsg calls */
	uint64_t received;    /* datagrams handed back */
	uint64_t gro_msgs;    /* reads that held more than one datagram */
	uint64_t truncated;   /* reads dropped: longer than the buffer */
	uint64_t gso_off;     /* 1 once GSO was turned off after EIO */
};

/*
 * Per-socket (or per-loop) batch state: ~16 KiB of headers and control
 * buffers, caller storage, reused across calls. Fields are private.
 */
struct cn_udpbatch {
	bool gso;
	bool gro;
	struct cn_udpbatch_stats stats;
	struct mmsghdr mh[CN_UDPBATCH_MAX];
	struct iovec iov[CN_UDPBATCH_MAX];
	struct sockaddr_storage name[CN_UDPBATCH_MAX];
	union {
		struct cmsghdr align;
		uint8_t b[32]; /* CMSG_SPACE(sizeof(int)) and room */
	} ctl[CN_UDPBATCH_MAX];
};

/* Zeroes b and takes the socket's capabilities: GSO per caps->gso, GRO splitting per caps->gro. */
void cn_udpbatch_init(struct cn_udpbatch *b, const struct cn_udpbatch_caps *caps);

/* Runtime switch: GSO only where it was found (on = false always works). */
void cn_udpbatch_set_gso(struct cn_udpbatch *b, bool on);
bool cn_udpbatch_gso(const struct cn_udpbatch *b);

/*
 * Sends m[0..n) in order, in as few sendmmsg calls as the kernel allows,
 * without blocking. n may exceed CN_UDPBATCH_MAX (sent in chunks). A GSO
 * message the kernel refuses (EINVAL: segment over the route MTU; EIO:
 * driver cannot; then GSO is turned off) is sent again datagram by
 * datagram. A datagram the kernel refuses otherwise (EMSGSIZE,
 * ECONNREFUSED, ENETUNREACH, ...) is dropped and counted; the rest go on.
 * *sent = datagrams the kernel took (always set).
 * Returns 0 when all were taken, -CN_EIO when some were not (errno of the
 * last failure kept; EAGAIN: the socket buffer is full and the rest of the
 * batch was not tried), -CN_EINVAL for bad arguments (len 0 or over
 * 65507, tolen over a sockaddr_storage, NULL pointers): nothing sent.
 */
int cn_udpbatch_send(struct cn_udpbatch *b, int fd, const struct cn_udpbatch_msg *m, size_t n,
		     size_t *sent);

/*
 * Reorders m[0..n) so that datagrams to one destination are adjacent, each
 * destination's datagrams in their original order and destinations in the
 * order they first appear (a stable grouping: A1 B1 A2 B2 -> A1 A2 B1 B2).
 * Order between destinations does not matter on the wire, and adjacent
 * equal-size datagrams to one destination are what GSO can send as one
 * message: a relay or a node talking to many peers at once calls this
 * before cn_udpbatch_send. In place, no allocation; n up to a few hundred
 * (quadratic in the number of destinations).
 */
void cn_udpbatch_group(struct cn_udpbatch_msg *m, size_t n);

/*
 * Reads up to nbufs datagrams (or GRO reads) into bufs[i] (buf_cap bytes
 * each; with GRO on give CN_UDPBATCH_GRO_BUF) with one recvmmsg, without
 * blocking, and hands back every datagram in out[] (*n_out), split at the
 * GRO segment size, in arrival order. Fewer reads are asked for than nbufs
 * if out_cap could not hold them all split (CN_UDPBATCH_GRO_SEGS each with
 * GRO on). A read longer than its buffer (MSG_TRUNC) is dropped and
 * counted, never handed back cut.
 * Returns 0 (also when nothing was waiting: *n_out 0), -CN_EIO (errno kept),
 * -CN_EINVAL (bad arguments, or out_cap below one read's worth).
 */
int cn_udpbatch_recv(struct cn_udpbatch *b, int fd, uint8_t *const bufs[], size_t buf_cap,
		     size_t nbufs, struct cn_udpbatch_rx *out, size_t out_cap, size_t *n_out);

#endif
