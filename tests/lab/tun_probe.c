/* SPDX-License-Identifier: MIT */
/*
 * Test helper for tests/lab/test_tun.sh, run inside a private network
 * namespace as root: opens a TUN with cn_tun_open, configures it with
 * cn_netlink_configure (10.99.0.1/16, fd99::1/64, MTU 1380), checks the
 * error paths, prints "ready <ifname>" and waits for "go" on stdin while the
 * script inspects the interface with ip(8). Then it checks packet flow both
 * ways for IPv4 and IPv6:
 *
 *   1. a UDP datagram sent to .7 / ::7 is read from the TUN fd and parsed by
 *      cn_ip_parse with the right source, destination, protocol and length;
 *   2. a UDP reply written into the TUN reaches the sending socket;
 *   3. the ICMP unreachable built by cn_icmp_unreachable for the next
 *      datagram, written into the TUN, reaches the socket's error queue as
 *      host/address unreachable from the expected address.
 *
 * Finally it reports (without failing) whether an unreachable whose source
 * is the node's own overlay address is delivered. Every wait is bounded.
 * Prints "FAIL: ..." and exits 1 on the first failure, 0 when all passed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "node/ippkt.h"
#include "node/netlink.h"
#include "node/tun.h"

enum {
	WAIT_MS = 3000,		/* any one packet or error */
	GO_WAIT_MS = 30000,	/* the script's ip(8) checks */
	MARTIAN_WAIT_MS = 1000, /* informational check only */
	PORT = 7777,
	MTU = 1380,
};

static const uint8_t me4[4] = {10, 99, 0, 1};
static const uint8_t peer4[4] = {10, 99, 0, 7};
static const uint8_t me6[16] = {0xfd, 0x99, [15] = 1};
static const uint8_t peer6[16] = {0xfd, 0x99, [15] = 7};

static unsigned long skipped; /* other packets the kernel sent into the TUN */

__attribute__((format(printf, 1, 2), noreturn)) static void die(const char *fmt, ...)
{
	va_list ap;

	printf("FAIL: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	exit(1);
}

static void ok(const char *what)
{
	printf("ok: %s\n", what);
	fflush(stdout);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void wr16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Waits up to ms for events on fd; returns revents, 0 on timeout. */
static short wait_fd(int fd, short events, int ms)
{
	struct pollfd p = {.fd = fd, .events = events};
	long long end = now_ms() + ms;

	for (;;) {
		long long left = end - now_ms();
		int r;

		if (left <= 0)
			return 0;
		r = poll(&p, 1, (int)left);
		if (r > 0)
			return p.revents;
		if (r < 0 && errno != EINTR)
			die("poll: %s", strerror(errno));
	}
}

/* Reads TUN packets until a UDP one to dst arrives; others are counted and skipped. */
static size_t read_udp_to(int tfd, int version, const uint8_t *dst, uint8_t *buf, size_t cap,
			  struct cn_ip_info *ip)
{
	long long end = now_ms() + WAIT_MS;

	while (now_ms() < end) {
		ssize_t n;

		if (!(wait_fd(tfd, POLLIN, (int)(end - now_ms())) & POLLIN))
			break;
		n = read(tfd, buf, cap);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			die("read TUN: %s", strerror(errno));
		}
		if (cn_ip_parse(buf, (size_t)n, ip) != 0)
			die("TUN gave %zd bytes cn_ip_parse refuses", n);
		if (ip->version == version && ip->proto == CN_IPPROTO_UDP &&
		    memcmp(ip->dst, dst, ip->addr_len) == 0)
			return (size_t)n;
		skipped++;
	}
	die("no IPv%d UDP packet read from the TUN within %d ms", version, WAIT_MS);
}

/* A UDP reply to the datagram req, payload msg, as the peer would send it. */
static size_t udp_reply(const uint8_t *req, const struct cn_ip_info *ri, const char *msg,
			uint8_t *out)
{
	size_t plen = strlen(msg), hl = ri->version == 4 ? 20 : 40, ul = 8 + plen;
	struct cn_ip_info oi;
	uint16_t c;

	memset(out, 0, hl + ul);
	if (ri->version == 4) {
		out[0] = 0x45;
		wr16(out + 2, (unsigned)(hl + ul));
		wr16(out + 6, 0x4000);
		out[8] = 64;
		out[9] = CN_IPPROTO_UDP;
		memcpy(out + 12, ri->dst, 4);
		memcpy(out + 16, ri->src, 4);
		wr16(out + 10, cn_ip_csum_fold(cn_ip_csum_add(0, out, 20)));
	} else {
		out[0] = 0x60;
		wr16(out + 4, (unsigned)ul);
		out[6] = CN_IPPROTO_UDP;
		out[7] = 64;
		memcpy(out + 8, ri->dst, 16);
		memcpy(out + 24, ri->src, 16);
	}
	memcpy(out + hl, req + ri->hdr_len + 2, 2); /* source port: their destination */
	memcpy(out + hl + 2, req + ri->hdr_len, 2);
	wr16(out + hl + 4, (unsigned)ul);
	memcpy(out + hl + 8, msg, plen);
	if (cn_ip_parse(out, hl + ul, &oi) != 0)
		die("own UDP reply does not parse");
	c = cn_ip_csum_fold(
		cn_ip_csum_add(cn_ip_csum_pseudo(&oi, CN_IPPROTO_UDP, (uint32_t)ul), out + hl, ul));
	wr16(out + hl + 6, c ? c : 0xffff);
	return hl + ul;
}

static int udp_socket(int family)
{
	struct sockaddr_in a4 = {.sin_family = AF_INET, .sin_port = htons(PORT)};
	struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = htons(PORT)};
	int one = 1;
	int s = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (s < 0)
		die("socket: %s", strerror(errno));
	memcpy(&a4.sin_addr, peer4, 4);
	memcpy(&a6.sin6_addr, peer6, 16);
	if (family == AF_INET) {
		if (setsockopt(s, IPPROTO_IP, IP_RECVERR, &one, sizeof(one)) < 0 ||
		    connect(s, (struct sockaddr *)&a4, sizeof(a4)) < 0)
			die("IPv4 UDP socket: %s", strerror(errno));
	} else {
		if (setsockopt(s, IPPROTO_IPV6, IPV6_RECVERR, &one, sizeof(one)) < 0 ||
		    connect(s, (struct sockaddr *)&a6, sizeof(a6)) < 0)
			die("IPv6 UDP socket: %s", strerror(errno));
	}
	return s;
}

/*
 * Waits up to ms for an ICMP error on s's error queue. Returns true and checks
 * it is (type, code) from the address `from`, or returns false on timeout.
 */
static bool icmp_error(int s, int version, uint8_t type, uint8_t code, const uint8_t *from, int ms)
{
	uint8_t data[256];
	union {
		struct cmsghdr c;
		uint8_t b[512];
	} ctl;
	struct iovec iov = {.iov_base = data, .iov_len = sizeof(data)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	struct cmsghdr *c;

	if (!(wait_fd(s, 0, ms) & POLLERR))
		return false;
	mh.msg_control = ctl.b;
	mh.msg_controllen = sizeof(ctl.b);
	if (recvmsg(s, &mh, MSG_ERRQUEUE) < 0)
		die("recvmsg(MSG_ERRQUEUE): %s", strerror(errno));
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		struct sock_extended_err ee;
		const struct sockaddr *off;

		if (!((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR) ||
		      (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR)))
			continue;
		memcpy(&ee, CMSG_DATA(c), sizeof(ee));
		off = (const struct sockaddr *)SO_EE_OFFENDER(
			(struct sock_extended_err *)CMSG_DATA(c));
		if (ee.ee_origin != (version == 4 ? SO_EE_ORIGIN_ICMP : SO_EE_ORIGIN_ICMP6))
			die("IPv%d error queue: origin %u, not ICMP", version, ee.ee_origin);
		if (ee.ee_type != type || ee.ee_code != code)
			die("IPv%d error queue: type %u code %u, want %u/%u", version, ee.ee_type,
			    ee.ee_code, type, code);
		if (ee.ee_errno != EHOSTUNREACH)
			die("IPv%d error queue: errno %s", version, strerror((int)ee.ee_errno));
		if (version == 4) {
			struct sockaddr_in sin;

			memcpy(&sin, off, sizeof(sin));
			if (sin.sin_family != AF_INET || memcmp(&sin.sin_addr, from, 4) != 0)
				die("IPv4 ICMP error from the wrong address");
		} else {
			struct sockaddr_in6 sin6;

			memcpy(&sin6, off, sizeof(sin6));
			if (sin6.sin6_family != AF_INET6 || memcmp(&sin6.sin6_addr, from, 16) != 0)
				die("IPv6 ICMP error from the wrong address");
		}
		return true;
	}
	die("IPv%d error queue entry without an extended error", version);
}

static void send_str(int s, const char *msg)
{
	if (send(s, msg, strlen(msg), 0) != (ssize_t)strlen(msg))
		die("send: %s", strerror(errno));
}

static void flow(int tfd, int version)
{
	const uint8_t *me = version == 4 ? me4 : me6;
	const uint8_t *peer = version == 4 ? peer4 : peer6;
	uint8_t type = version == 4 ? 3 : 1, code = version == 4 ? 1 : 3;
	uint8_t pkt[2048], out[CN_ICMP_UNREACH_MAX];
	struct cn_ip_info ip;
	char got[64];
	size_t n, len;
	ssize_t r;
	int s = udp_socket(version == 4 ? AF_INET : AF_INET6);
	int ret;

	/* 1. Local datagram out through the TUN. */
	send_str(s, "cairn out");
	n = read_udp_to(tfd, version, peer, pkt, sizeof(pkt), &ip);
	if (memcmp(ip.src, me, ip.addr_len) != 0)
		die("IPv%d: source is not our overlay address", version);
	if (ip.total_len != n || ip.total_len != ip.hdr_len + 8 + strlen("cairn out"))
		die("IPv%d: total length %zu for a %zd-byte read", version, ip.total_len, n);
	if (memcmp(pkt + ip.hdr_len + 8, "cairn out", 9) != 0)
		die("IPv%d: payload differs", version);
	printf("ok: IPv%d UDP read from the TUN and parsed (%zu bytes)\n", version, n);

	/* 2. A reply written into the TUN is delivered. */
	len = udp_reply(pkt, &ip, "cairn in", out);
	if (write(tfd, out, len) != (ssize_t)len)
		die("write TUN: %s", strerror(errno));
	if (!(wait_fd(s, POLLIN, WAIT_MS) & POLLIN))
		die("IPv%d: UDP reply written into the TUN never reached the socket", version);
	r = recv(s, got, sizeof(got), 0);
	if (r != 8 || memcmp(got, "cairn in", 8) != 0)
		die("IPv%d: socket got %zd wrong bytes", version, r);
	printf("ok: IPv%d UDP written into the TUN delivered to the socket\n", version);

	/* 3. The unreachable, from the destination's address. */
	send_str(s, "no such peer");
	n = read_udp_to(tfd, version, peer, pkt, sizeof(pkt), &ip);
	ret = cn_icmp_unreachable(pkt, n, ip.dst, out, sizeof(out), &len);
	if (ret)
		die("cn_icmp_unreachable: %s", cn_strerror(ret));
	if (write(tfd, out, len) != (ssize_t)len)
		die("write TUN: %s", strerror(errno));
	if (!icmp_error(s, version, type, code, peer, WAIT_MS))
		die("IPv%d: unreachable written into the TUN never reached the socket", version);
	printf("ok: IPv%d ICMP unreachable (%zu bytes, from the destination) delivered: "
	       "socket error queue has type %u code %u, EHOSTUNREACH\n",
	       version, len, type, code);

	/* 4. Informational: the same from the node's own overlay address. */
	send_str(s, "from myself");
	n = read_udp_to(tfd, version, peer, pkt, sizeof(pkt), &ip);
	ret = cn_icmp_unreachable(pkt, n, me, out, sizeof(out), &len);
	if (ret)
		die("cn_icmp_unreachable: %s", cn_strerror(ret));
	if (write(tfd, out, len) != (ssize_t)len)
		die("write TUN: %s", strerror(errno));
	printf("info: IPv%d unreachable whose source is our own overlay address: %s\n", version,
	       icmp_error(s, version, type, code, me, MARTIAN_WAIT_MS)
		       ? "delivered"
		       : "NOT delivered (dropped by the kernel)");
	close(s);
	fflush(stdout);
}

static void configure_checks(const char *name)
{
	struct cn_errbuf e = {{0}};
	int ret;

	ret = cn_netlink_configure(name, MTU, me4, 16, me6, 64, &e);
	if (ret)
		die("cn_netlink_configure: %s: %s", cn_strerror(ret), e.msg);
	ok("cn_netlink_configure 10.99.0.1/16 fd99::1/64 mtu 1380");
	ret = cn_netlink_configure(name, MTU, me4, 16, me6, 64, &e);
	if (ret)
		die("second cn_netlink_configure (idempotent): %s: %s", cn_strerror(ret), e.msg);
	ok("cn_netlink_configure again (idempotent)");

	e.msg[0] = '\0';
	ret = cn_netlink_configure("cnnosuch0", MTU, me4, 16, me6, 64, &e);
	if (ret != -CN_ENOTFOUND || !e.msg[0])
		die("configure of a missing interface returned %d", ret);
	printf("ok: missing interface: %s\n", e.msg);
	e.msg[0] = '\0';
	ret = cn_netlink_configure(name, 1000, me4, 16, me6, 64, &e);
	if (ret != -CN_EINVAL || !e.msg[0])
		die("MTU 1000 with IPv6 returned %d", ret);
	printf("ok: refused before the kernel: %s\n", e.msg);
	e.msg[0] = '\0';
	ret = cn_netlink_configure(name, 60, me4, 16, NULL, 0, &e);
	if (ret != -CN_EIO || errno != EINVAL || !e.msg[0])
		die("MTU 60 returned %d", ret);
	printf("ok: kernel refusal: %s\n", e.msg);
}

/* The IPv6 address is usable at once: bind() fails on a tentative address. */
static void bind_check(void)
{
	struct sockaddr_in6 a6 = {.sin6_family = AF_INET6};
	int s = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	memcpy(&a6.sin6_addr, me6, 16);
	if (s < 0 || bind(s, (struct sockaddr *)&a6, sizeof(a6)) < 0)
		die("bind [fd99::1] right after configure: %s (tentative?)", strerror(errno));
	close(s);
	ok("bind to fd99::1 right after configure (no DAD wait)");
}

int main(void)
{
	struct cn_errbuf e = {{0}};
	char name[CN_TUN_NAME_MAX], bad[CN_TUN_NAME_MAX];
	char line[16] = "";
	int tfd, fl, ret;

	setvbuf(stdout, NULL, _IOLBF, 0);
	ret = cn_tun_open("cntest_name_too_long", bad, &tfd, &e);
	if (ret != -CN_EINVAL || tfd != -1 || bad[0])
		die("over-long TUN name returned %d", ret);
	ret = cn_tun_open("cnt%d", name, &tfd, &e);
	if (ret)
		die("cn_tun_open: %s: %s", cn_strerror(ret), e.msg);
	fl = fcntl(tfd, F_GETFL);
	if (fl < 0 || !(fl & O_NONBLOCK) || !(fcntl(tfd, F_GETFD) & FD_CLOEXEC))
		die("TUN fd is not non-blocking and close-on-exec");
	printf("ok: cn_tun_open -> %s (O_NONBLOCK, FD_CLOEXEC)\n", name);

	configure_checks(name);
	bind_check();

	printf("ready %s\n", name);
	fflush(stdout);
	if (!(wait_fd(0, POLLIN, GO_WAIT_MS) & (POLLIN | POLLHUP)) ||
	    read(0, line, sizeof(line) - 1) <= 0 || strncmp(line, "go", 2) != 0)
		die("no 'go' on stdin within %d ms", GO_WAIT_MS);

	flow(tfd, 4);
	flow(tfd, 6);
	printf("info: %lu other packets read from the TUN and skipped\n", skipped);
	close(tfd);
	printf("PASS\n");
	return 0;
}
