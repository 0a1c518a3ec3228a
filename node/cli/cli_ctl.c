/* SPDX-License-Identifier: MIT */
/*
 * The control socket client of the command line: `cairn status`, `cairn
 * ping` and `cairn join` (which waits for the node it started). The node
 * answers one request line and closes; answers are capped at REPLY_MAX and
 * bounded in time so a stuck node cannot hang the command.
 */
#include "node/cli/cli_ctl.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "node/cli/cli.h"

enum { REPLY_MAX = 1 << 20, REPLY_TIMEOUT_MS = 5000 };

/* Prints the failure unless quiet; always returns CN_EXIT_FAIL. */
__attribute__((format(printf, 3, 4))) static int fail(const char *cmd, bool quiet, const char *fmt,
						      ...)
{
	char msg[512];
	va_list ap;

	if (quiet)
		return CN_EXIT_FAIL;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return cn_cli_fail(cmd, "%s", msg);
}

int cn_cli_ctl_ask(const char *cmd, const char *socket_path, const char *line, bool quiet,
		   char **reply)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	char *buf = NULL;
	size_t len = 0;
	int fd = -1, ret = CN_EXIT_FAIL;

	*reply = NULL;
	if (strlen(socket_path) >= sizeof(sun.sun_path))
		return fail(cmd, quiet, "socket path too long");
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", socket_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		fail(cmd, quiet, "cannot reach cairn-node at %s: %s (is it running? are you root?)",
		     socket_path, strerror(errno));
		goto out;
	}
	if (write(fd, line, strlen(line)) != (ssize_t)strlen(line) || write(fd, "\n", 1) != 1) {
		fail(cmd, quiet, "cannot send to cairn-node: %s", strerror(errno));
		goto out;
	}
	buf = malloc(REPLY_MAX + 1);
	if (!buf)
		goto out;
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		ssize_t r;

		if (poll(&pfd, 1, REPLY_TIMEOUT_MS) <= 0) {
			fail(cmd, quiet, "cairn-node did not answer within %d s",
			     REPLY_TIMEOUT_MS / 1000);
			goto out;
		}
		r = read(fd, buf + len, REPLY_MAX - len);
		if (r < 0) {
			fail(cmd, quiet, "reading the answer: %s", strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len == REPLY_MAX) {
			fail(cmd, quiet, "answer too long");
			goto out;
		}
	}
	buf[len] = '\0';
	*reply = buf;
	buf = NULL;
	ret = CN_EXIT_OK;
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	return ret;
}

struct json_t *cn_cli_ctl_json(const char *cmd, const char *socket_path, const char *line,
			       bool quiet)
{
	json_error_t err;
	json_t *j;
	char *reply = NULL;

	if (cn_cli_ctl_ask(cmd, socket_path, line, quiet, &reply))
		return NULL;
	/* One object; anything after it (other than the closing newline) is refused. */
	j = json_loads(reply, JSON_REJECT_DUPLICATES, &err);
	free(reply);
	if (!j) {
		fail(cmd, quiet, "cairn-node answered malformed JSON: %s (line %d)", err.text,
		     err.line);
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		fail(cmd, quiet, "cairn-node answered JSON that is not an object");
		return NULL;
	}
	return j;
}
