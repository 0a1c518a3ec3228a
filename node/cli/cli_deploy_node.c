/* SPDX-License-Identifier: MIT */
/*
 * cairn deploy: one node's deploy server, reached at its overlay address
 * through the local cairn-node (blocking sockets, every wait bounded), the
 * frames of the deploy protocol, and the RESULT that ends each request.
 */
#include "node/cli/cli_deploy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/err.h"

int cn_cli_deploy_dial(const struct target *t, unsigned int port, char *err, size_t cap)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	struct pollfd pfd;
	struct timeval tv = {IO_TIMEOUT_MS / 1000, 0};
	socklen_t sl = sizeof(int);
	int fd, soerr = 0, flags;

	memcpy(&sin.sin_addr, t->ip4, 4);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(err, cap, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 && errno != EINPROGRESS) {
		snprintf(err, cap, "connect: %s", strerror(errno));
		goto fail;
	}
	pfd.fd = fd;
	pfd.events = POLLOUT;
	if (poll(&pfd, 1, CONNECT_TIMEOUT_MS) != 1) {
		snprintf(err, cap, "connect: no answer in %d s (node down?)",
			 CONNECT_TIMEOUT_MS / 1000);
		goto fail;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr != 0) {
		snprintf(err, cap, "connect: %s", strerror(soerr ? soerr : errno));
		goto fail;
	}
	flags = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
fail:
	close(fd);
	return -1;
}

int cn_cli_deploy_send_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n > 0) {
		ssize_t w = send(fd, b, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

static int recv_all(int fd, uint8_t *p, size_t n, int timeout_ms)
{
	while (n > 0) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		ssize_t r;

		if (poll(&pfd, 1, timeout_ms) != 1) {
			errno = ETIMEDOUT;
			return -1;
		}
		r = recv(fd, p, n, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = ECONNRESET;
			return -1;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* Reads one frame into buf (CN_DPROTO_FRAME_MAX); payload at buf + CN_DPROTO_HDR. */
int cn_cli_deploy_recv_frame(int fd, uint8_t *buf, uint8_t *type, size_t *plen, int timeout_ms,
			     char *err, size_t cap)
{
	int ret;

	if (recv_all(fd, buf, CN_DPROTO_HDR, timeout_ms) != 0) {
		snprintf(err, cap, "%s",
			 errno == ETIMEDOUT ? "no answer (timeout)"
					    : "connection closed by the node");
		return -1;
	}
	ret = cn_dproto_peek(buf, CN_DPROTO_HDR, type, plen);
	if (ret && ret != -CN_ESHORT) {
		snprintf(err, cap, "bad frame from the node");
		return -1;
	}
	if (recv_all(fd, buf + CN_DPROTO_HDR, *plen, timeout_ms) != 0) {
		snprintf(err, cap, "connection closed mid-frame");
		return -1;
	}
	return 0;
}

void cn_cli_deploy_human(double v, char *out, size_t cap)
{
	if (v >= 1 << 30)
		snprintf(out, cap, "%.1f GiB", v / (1 << 30));
	else if (v >= 1 << 20)
		snprintf(out, cap, "%.1f MiB", v / (1 << 20));
	else if (v >= 1 << 10)
		snprintf(out, cap, "%.1f KiB", v / (1 << 10));
	else
		snprintf(out, cap, "%.0f B", v);
}

static void print_tail(const char *name, const uint8_t *tail, size_t n)
{
	if (!n)
		return;
	fprintf(stderr, "%s: hook output (last %zu bytes):\n", name, n);
	fwrite(tail, 1, n, stderr);
	if (tail[n - 1] != '\n')
		fputc('\n', stderr);
}

/* Reads the RESULT that ends every request into out; prints the hook's output. */
void cn_cli_deploy_read_result(int fd, uint8_t *buf, const struct target *t, int timeout_ms,
			       struct outcome *out)
{
	static struct cn_dproto_result r;
	uint8_t type;
	size_t plen;

	if (cn_cli_deploy_recv_frame(fd, buf, &type, &plen, timeout_ms, out->msg, sizeof(out->msg)))
		return;
	if (type != CN_DPROTO_RESULT ||
	    cn_dproto_result_decode(buf + CN_DPROTO_HDR, plen, &r) != 0) {
		snprintf(out->msg, sizeof(out->msg), "unexpected answer from the node");
		return;
	}
	out->done = true;
	out->ok = r.status == CN_DSTATUS_OK;
	out->status = r.status;
	out->hook_ran = r.hook_ran;
	out->hook_exit = r.hook_exit;
	snprintf(out->msg, sizeof(out->msg), "%s", r.msg);
	print_tail(t->name, r.tail, r.tail_len);
}

const char *cn_cli_deploy_result_word(const struct outcome *o)
{
	if (o->ok)
		return "ok";
	if (o->done)
		return cn_dproto_status_name(o->status);
	return "failed";
}
