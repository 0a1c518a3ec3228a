/* SPDX-License-Identifier: MIT */
/*
 * Batched UDP I/O (see udpbatch.h). Linux: sendmmsg/recvmmsg, UDP_SEGMENT
 * (Linux 4.18) and UDP_GRO (5.0). Must not allocate, log or block.
 */
#include "common/udpbatch.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <string.h>

#include "common/err.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

enum { UDP_PAYLOAD_MAX = 65507 }; /* 65535 - 20 (IPv4) - 8 (UDP) */

_Static_assert(CMSG_SPACE(sizeof(int)) <= 32, "control buffer fits a UDP_GRO/UDP_SEGMENT cmsg");
_Static_assert((int)CN_UDPBATCH_GSO_BYTES <= (int)UDP_PAYLOAD_MAX,
	       "a GSO message fits one IP datagram");

/* Forced first (root ignores net.core.*mem_max), then the capped call. */
static bool set_buf(int fd, int force_opt, int opt, int size)
{
	if (setsockopt(fd, SOL_SOCKET, force_opt, &size, sizeof(size)) == 0)
		return true;
	(void)setsockopt(fd, SOL_SOCKET, opt, &size, sizeof(size));
	return false;
}

static int get_int(int fd, int level, int opt, int *v)
{
	socklen_t l = sizeof(*v);

	*v = 0;
	return getsockopt(fd, level, opt, v, &l);
}

int cn_udpbatch_setup(int fd, int bufsize, bool want_gro, struct cn_udpbatch_caps *caps)
{
	int type = 0, v = 0, one = 1;
	bool f1, f2;

	if (!caps || fd < 0 || bufsize < 0)
		return -CN_EINVAL;
	memset(caps, 0, sizeof(*caps));
	if (get_int(fd, SOL_SOCKET, SO_TYPE, &type) < 0)
		return -CN_EIO;
	if (type != SOCK_DGRAM) {
		errno = ENOTSUP;
		return -CN_EIO;
	}
	if (bufsize > 0) {
		f1 = set_buf(fd, SO_RCVBUFFORCE, SO_RCVBUF, bufsize);
		f2 = set_buf(fd, SO_SNDBUFFORCE, SO_SNDBUF, bufsize);
		caps->forced = f1 && f2;
	}
	(void)get_int(fd, SOL_SOCKET, SO_RCVBUF, &caps->rcvbuf);
	(void)get_int(fd, SOL_SOCKET, SO_SNDBUF, &caps->sndbuf);
	/* Reading the option proves the kernel knows it (ENOPROTOOPT otherwise). */
	caps->gso = get_int(fd, IPPROTO_UDP, UDP_SEGMENT, &v) == 0;
	if (want_gro)
		caps->gro = setsockopt(fd, IPPROTO_UDP, UDP_GRO, &one, sizeof(one)) == 0;
	return 0;
}

void cn_udpbatch_init(struct cn_udpbatch *b, const struct cn_udpbatch_caps *caps)
{
	memset(b, 0, sizeof(*b));
	b->gso = caps && caps->gso;
	b->gro = caps && caps->gro;
}

void cn_udpbatch_set_gso(struct cn_udpbatch *b, bool on)
{
	/* Turning it on again after the kernel said EIO would only fail again. */
	b->gso = on && !b->stats.gso_off;
}

bool cn_udpbatch_gso(const struct cn_udpbatch *b)
{
	return b->gso;
}

static bool same_dest(const struct cn_udpbatch_msg *a, const struct cn_udpbatch_msg *c)
{
	if (!a->to || !c->to)
		return !a->to && !c->to;
	return a->tolen == c->tolen && memcmp(a->to, c->to, a->tolen) == 0;
}

/*
 * Builds up to CN_UDPBATCH_MAX messages from m[0..n): runs of equal-size
 * datagrams to one destination become one GSO message when gso. Returns the
 * number of messages; cnt[k] is how many datagrams message k carries.
 */
static size_t build(struct cn_udpbatch *b, const struct cn_udpbatch_msg *m, size_t n, bool gso,
		    uint8_t cnt[CN_UDPBATCH_MAX])
{
	size_t k = 0, i = 0, j, bytes;

	while (i < n && k < CN_UDPBATCH_MAX) {
		struct msghdr *h = &b->mh[k].msg_hdr;

		memset(&b->mh[k], 0, sizeof(b->mh[k]));
		j = i + 1;
		bytes = m[i].len;
		/* Grow the run: same size and destination; a shorter one ends it. */
		while (gso && j < n && j - i < CN_UDPBATCH_GSO_SEGS && m[j].len <= m[i].len &&
		       bytes + m[j].len <= CN_UDPBATCH_GSO_BYTES && same_dest(&m[i], &m[j])) {
			bytes += m[j].len;
			j++;
			if (m[j - 1].len < m[i].len)
				break;
		}
		/* iov index = datagram index within this call (j <= CN_UDPBATCH_MAX). */
		for (size_t d = i; d < j; d++) {
			b->iov[d].iov_base = m[d].p;
			b->iov[d].iov_len = m[d].len;
		}
		h->msg_iov = &b->iov[i];
		h->msg_iovlen = j - i;
		if (m[i].to) {
			memcpy(&b->name[k], m[i].to, m[i].tolen);
			h->msg_name = &b->name[k];
			h->msg_namelen = m[i].tolen;
		}
		if (j - i > 1) {
			struct cmsghdr *c;
			uint16_t seg = (uint16_t)m[i].len;

			memset(b->ctl[k].b, 0, sizeof(b->ctl[k].b));
			h->msg_control = b->ctl[k].b;
			h->msg_controllen = CMSG_SPACE(sizeof(seg));
			c = CMSG_FIRSTHDR(h);
			c->cmsg_level = IPPROTO_UDP;
			c->cmsg_type = UDP_SEGMENT;
			c->cmsg_len = CMSG_LEN(sizeof(seg));
			memcpy(CMSG_DATA(c), &seg, sizeof(seg));
		}
		cnt[k++] = (uint8_t)(j - i);
		i = j;
	}
	return k;
}

void cn_udpbatch_group(struct cn_udpbatch_msg *m, size_t n)
{
	struct cn_udpbatch_msg t;
	size_t done = 0, i, j;

	/*
	 * done: m[0..done) is grouped. Take the destination of m[done] and pull
	 * each later datagram to it forward, shifting the others back by one:
	 * both moves keep relative order.
	 */
	while (done < n) {
		const struct cn_udpbatch_msg head = m[done];

		done++;
		for (i = done; i < n; i++) {
			if (!same_dest(&head, &m[i]))
				continue;
			t = m[i];
			for (j = i; j > done; j--)
				m[j] = m[j - 1];
			m[done++] = t;
		}
	}
}

int cn_udpbatch_send(struct cn_udpbatch *b, int fd, const struct cn_udpbatch_msg *m, size_t n,
		     size_t *sent)
{
	uint8_t cnt[CN_UDPBATCH_MAX];
	size_t i = 0, k, nmsg, chunk;
	bool single = false; /* resend the next message datagram by datagram */
	int r, err = 0;

	if (sent)
		*sent = 0;
	if (!b || !sent || (!m && n))
		return -CN_EINVAL;
	for (i = 0; i < n; i++)
		if (!m[i].p || m[i].len == 0 || m[i].len > UDP_PAYLOAD_MAX ||
		    (m[i].to && m[i].tolen > sizeof(struct sockaddr_storage)))
			return -CN_EINVAL;
	i = 0;
	while (i < n) {
		chunk = n - i < CN_UDPBATCH_MAX ? n - i : CN_UDPBATCH_MAX;
		nmsg = build(b, m + i, chunk, b->gso && !single, cnt);
		single = false;
		b->stats.send_calls++;
		r = sendmmsg(fd, b->mh, (unsigned int)nmsg, MSG_DONTWAIT);
		if (r > 0) {
			for (k = 0; k < (size_t)r; k++) {
				if (cnt[k] > 1)
					b->stats.gso_msgs++;
				i += cnt[k];
				*sent += cnt[k];
			}
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		err = r < 0 ? errno : EIO;
		if (err == EAGAIN || err == EWOULDBLOCK)
			break;
		if (cnt[0] > 1) {
			/* The GSO message failed as a whole: try its datagrams one by one. */
			if (err == EIO) {
				b->gso = false;
				b->stats.gso_off = 1;
			}
			single = true;
			continue;
		}
		b->stats.send_failed++;
		i++;
	}
	b->stats.sent += *sent;
	if (*sent == n)
		return 0;
	errno = err;
	return -CN_EIO;
}

/* The UDP_GRO segment size of a read, or 0 if it holds one datagram. */
static size_t gro_size(struct msghdr *h)
{
	struct cmsghdr *c;
	int v;

	for (c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR(h, c)) {
		if (c->cmsg_level == IPPROTO_UDP && c->cmsg_type == UDP_GRO &&
		    c->cmsg_len >= CMSG_LEN(sizeof(v))) {
			memcpy(&v, CMSG_DATA(c), sizeof(v));
			return v > 0 ? (size_t)v : 0;
		}
	}
	return 0;
}

int cn_udpbatch_recv(struct cn_udpbatch *b, int fd, uint8_t *const bufs[], size_t buf_cap,
		     size_t nbufs, struct cn_udpbatch_rx *out, size_t out_cap, size_t *n_out)
{
	size_t vlen, per = 1, k = 0, len, seg, off;
	int r;

	if (n_out)
		*n_out = 0;
	if (!b || !bufs || !out || !n_out || buf_cap == 0 || nbufs == 0)
		return -CN_EINVAL;
	if (b->gro)
		per = CN_UDPBATCH_GRO_SEGS;
	vlen = nbufs < CN_UDPBATCH_MAX ? nbufs : CN_UDPBATCH_MAX;
	if (vlen > out_cap / per)
		vlen = out_cap / per;
	if (vlen == 0)
		return -CN_EINVAL;
	for (size_t i = 0; i < vlen; i++) {
		struct msghdr *h = &b->mh[i].msg_hdr;

		memset(&b->mh[i], 0, sizeof(b->mh[i]));
		b->iov[i].iov_base = bufs[i];
		b->iov[i].iov_len = buf_cap;
		h->msg_iov = &b->iov[i];
		h->msg_iovlen = 1;
		h->msg_name = &b->name[i];
		h->msg_namelen = sizeof(b->name[i]);
		h->msg_control = b->ctl[i].b;
		h->msg_controllen = sizeof(b->ctl[i].b);
	}
	b->stats.recv_calls++;
	do {
		r = recvmmsg(fd, b->mh, (unsigned int)vlen, MSG_DONTWAIT, NULL);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -CN_EIO;
	for (size_t i = 0; i < (size_t)r; i++) {
		struct msghdr *h = &b->mh[i].msg_hdr;

		len = b->mh[i].msg_len;
		if (h->msg_flags & MSG_TRUNC) {
			b->stats.truncated++;
			continue;
		}
		seg = gro_size(h);
		if (seg == 0 || seg >= len)
			seg = len;
		else
			b->stats.gro_msgs++;
		if (len == 0) { /* an empty datagram is still one */
			if (k < out_cap)
				out[k++] = (struct cn_udpbatch_rx){
					bufs[i], 0, (const struct sockaddr *)&b->name[i],
					h->msg_namelen};
			continue;
		}
		for (off = 0; off < len && k < out_cap; off += seg) {
			out[k].p = bufs[i] + off;
			out[k].len = len - off < seg ? len - off : seg;
			out[k].from = (const struct sockaddr *)&b->name[i];
			out[k].fromlen = h->msg_namelen;
			k++;
		}
		/* Only a kernel past UDP_GRO_CNT_MAX could leave some: dropped, counted. */
		if (off < len)
			b->stats.truncated++;
	}
	b->stats.received += k;
	*n_out = k;
	return 0;
}
