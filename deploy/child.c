/* SPDX-License-Identifier: MIT */
/* A program run in a child process under a deadline (see child.h). */
#include "deploy/child.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/privdrop.h"

struct cn_child {
	pid_t pid; /* -1 once reaped */
	int fd;	   /* the output pipe, -1 at EOF */
	struct event *ev_out, *ev_poll;
	uint64_t deadline_ms;
	unsigned int timeout_s;
	bool killed;
	cn_child_done_fn done;
	void *arg;
	uint8_t tail[CN_CHILD_TAIL_MAX];
	size_t tail_len;
	char what[512]; /* for messages (spec.what) */
};

static void tail_add(struct cn_child *c, const uint8_t *p, size_t n)
{
	if (n >= sizeof(c->tail)) {
		memcpy(c->tail, p + n - sizeof(c->tail), sizeof(c->tail));
		c->tail_len = sizeof(c->tail);
		return;
	}
	if (c->tail_len + n > sizeof(c->tail)) {
		size_t drop = c->tail_len + n - sizeof(c->tail);

		memmove(c->tail, c->tail + drop, c->tail_len - drop);
		c->tail_len -= drop;
	}
	memcpy(c->tail + c->tail_len, p, n);
	c->tail_len += n;
}

static void out_read(struct cn_child *c)
{
	uint8_t buf[4096];
	ssize_t r;

	while (c->fd >= 0) {
		r = read(c->fd, buf, sizeof(buf));
		if (r > 0) {
			tail_add(c, buf, (size_t)r);
			continue;
		}
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		event_del(c->ev_out);
		close(c->fd);
		c->fd = -1;
	}
}

static void out_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	out_read(arg);
}

static void finish(struct cn_child *c, int status)
{
	c->pid = -1;
	event_del(c->ev_poll);
	c->done(c->arg, status, c->killed, c->tail, c->tail_len); /* may free c */
}

static void poll_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cn_child *c = arg;
	int status;
	pid_t p;

	(void)fd;
	(void)what;
	p = waitpid(c->pid, &status, WNOHANG);
	if (p == c->pid) {
		out_read(c); /* what is left in the pipe */
		finish(c, status);
		return;
	}
	if (p < 0 && errno == ECHILD) {
		finish(c, 255 << 8);
		return;
	}
	if (!c->killed && cn_clock_ms() >= c->deadline_ms) {
		cn_log_warn("deploy: %s ran %u s: killing it", c->what, c->timeout_s);
		kill(-c->pid, SIGKILL);
		c->killed = true;
	}
}

/* Closes every descriptor from 3 up except keep (in the child). */
static int close_all_but(int keep)
{
	if (keep > 3 && close_range(3, (unsigned int)keep - 1, 0) != 0 && errno != ENOSYS)
		return -1;
	if (close_range((unsigned int)keep + 1, ~0U, 0) == 0)
		return 0;
	if (errno != ENOSYS)
		return -1;
	for (int fd = 3; fd < 65536; fd++) /* a kernel before 5.9 */
		if (fd != keep)
			close(fd);
	return 0;
}

/*
 * The child's side of the fork, up to exec. Async-signal-safe calls only
 * (the parent may have threads: GLib's). On failure the errno goes to
 * errfd and the child exits 127.
 */
__attribute__((noreturn)) static void child_main(const struct cn_child_spec *s, int outfd,
						 int errfd)
{
	struct sigaction dfl;
	sigset_t none;
	int err, nul;

	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &dfl, NULL); /* EINVAL for SIGKILL/SIGSTOP: fine */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* Its own group, killed as one. */
	if (setpgid(0, 0) != 0)
		goto fail;
	nul = open("/dev/null", O_RDONLY);
	if (nul < 0 || dup2(nul, 0) < 0 || dup2(outfd, 1) < 0 || dup2(outfd, 2) < 0)
		goto fail;
	if (close_all_but(errfd) != 0)
		goto fail;
	if (chdir(s->dir) != 0)
		goto fail;
	err = cn_privdrop_child(s->uid, s->gid);
	if (err) {
		errno = -err;
		goto fail;
	}
	execve(s->path, s->argv, s->envp);
fail:
	err = errno;
	if (write(errfd, &err, sizeof(err)) < 0) {
		/* nothing left to tell */
	}
	_exit(127);
}

/* Kills the group of a child still running and reaps it. */
static void kill_reap(struct cn_child *c)
{
	int status;

	if (c->pid <= 0)
		return;
	kill(-c->pid, SIGKILL);
	while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR)
		;
	c->pid = -1;
}

void cn_child_free(struct cn_child *c)
{
	if (!c)
		return;
	kill_reap(c);
	if (c->ev_out)
		event_free(c->ev_out);
	if (c->ev_poll)
		event_free(c->ev_poll);
	if (c->fd >= 0)
		close(c->fd);
	free(c);
}

pid_t cn_child_pid(const struct cn_child *c)
{
	return c->pid;
}

int cn_child_start(struct event_base *base, const struct cn_child_spec *s, cn_child_done_fn done,
		   void *arg, struct cn_child **out, struct cn_errbuf *e)
{
	struct cn_child *c;
	struct timeval poll_tv = {0, CN_CHILD_POLL_MS * 1000};
	int p[2] = {-1, -1}, ep[2] = {-1, -1}, ret = -CN_EIO, err = 0;
	ssize_t got;

	*out = NULL;
	if (!base || !s || !s->path || !s->argv || !s->envp || !s->dir || !done)
		return -CN_EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -CN_ENOMEM;
	c->fd = -1;
	c->pid = -1;
	c->done = done;
	c->arg = arg;
	c->timeout_s = s->timeout_s;
	snprintf(c->what, sizeof(c->what), "%s", s->what ? s->what : s->path);
	c->ev_poll = event_new(base, -1, EV_PERSIST, poll_cb, c);
	if (!c->ev_poll || pipe2(p, O_CLOEXEC) != 0 || pipe2(ep, O_CLOEXEC) != 0) {
		cn_errbuf_set(e, "cannot run %s: %s", c->what,
			      c->ev_poll ? strerror(errno) : "out of memory");
		goto out;
	}
	c->pid = fork();
	if (c->pid < 0) {
		cn_errbuf_set(e, "cannot run %s: fork: %s", c->what, strerror(errno));
		goto out;
	}
	if (c->pid == 0)
		child_main(s, p[1], ep[1]); /* does not return */
	setpgid(c->pid, c->pid); /* also here: a kill(-pid) may come before the child's */
	close(p[1]);
	p[1] = -1;
	close(ep[1]);
	ep[1] = -1;
	/* EOF: exec succeeded (the pipe closed on exec); an int: the failed step's errno. */
	do
		got = read(ep[0], &err, sizeof(err));
	while (got < 0 && errno == EINTR);
	if (got == (ssize_t)sizeof(err)) {
		kill_reap(c);
		cn_errbuf_set(e, "cannot run %s: %s", c->what, strerror(err));
		goto out;
	}
	c->fd = p[0];
	p[0] = -1;
	fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
	c->deadline_ms = cn_clock_ms() + (uint64_t)s->timeout_s * 1000;
	c->ev_out = event_new(base, c->fd, EV_READ | EV_PERSIST, out_cb, c);
	if (!c->ev_out || event_add(c->ev_out, NULL) || event_add(c->ev_poll, &poll_tv)) {
		/* Cannot watch it: cn_child_free kills and reaps it rather than leave a zombie. */
		cn_errbuf_set(e, "cannot watch %s", c->what);
		goto out;
	}
	*out = c;
	c = NULL;
	ret = 0;
out:
	for (int i = 0; i < 2; i++) {
		if (p[i] >= 0)
			close(p[i]);
		if (ep[i] >= 0)
			close(ep[i]);
	}
	cn_child_free(c);
	return ret;
}
