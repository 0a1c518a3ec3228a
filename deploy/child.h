/* SPDX-License-Identifier: MIT */
/*
 * A program run in a child process on the event loop, under a deadline,
 * keeping the tail of its output: how the deploy listener runs the
 * activation hook (server.c; docs/DEPLOY.md "The hook").
 *
 * Before exec the child takes its own process group, default signal
 * handling, stdin /dev/null, stdout and stderr into a pipe, closes every
 * other descriptor, changes to the given directory and drops every
 * privilege (cn_privdrop_child: the given user, no capability in any set,
 * no_new_privs); no shell, the environment given and nothing else. An
 * exec failure comes back over a close-on-exec pipe, so cn_child_start
 * reports it instead of a run that exits 127. The loop reads the output
 * pipe (the last CN_CHILD_TAIL_MAX bytes kept), polls waitpid every
 * CN_CHILD_POLL_MS and kills the group once the deadline passed.
 */
#ifndef CN_DEPLOY_CHILD_H
#define CN_DEPLOY_CHILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"

struct event_base;
struct cn_child;

enum {
	CN_CHILD_TAIL_MAX = 4096, /* output bytes kept: the last ones */
	CN_CHILD_POLL_MS = 100,	  /* waitpid and the deadline checked this often */
};

struct cn_child_spec {
	const char *path;  /* run as is: no shell, no PATH search */
	char *const *argv; /* NULL-terminated */
	char *const *envp; /* NULL-terminated: the whole environment */
	const char *dir;   /* the working directory */
	uid_t uid;	   /* run as this user and group, without capabilities */
	gid_t gid;
	unsigned int timeout_s; /* then the process group is killed (SIGKILL) */
	const char *what;	/* for messages: "hook /x for app 1.2" (NULL: path) */
};

/*
 * Called once when the child was reaped: status as waitpid gives it,
 * killed when the deadline struck, tail the last output bytes. The child
 * object may be freed in it; nothing touches it after.
 */
typedef void (*cn_child_done_fn)(void *arg, int status, bool killed, const uint8_t *tail,
				 size_t tail_len);

/*
 * Starts the program. 0 and *out (running, watched on base), or -CN_EIO
 * with the reason in e (no pipe, no fork, the exec failed: nothing left
 * running), -CN_ENOMEM, -CN_EINVAL.
 */
int cn_child_start(struct event_base *base, const struct cn_child_spec *s, cn_child_done_fn done,
		   void *arg, struct cn_child **out, struct cn_errbuf *e);
pid_t cn_child_pid(const struct cn_child *c);
/* Stops watching; a child still running is killed (its group) and reaped. No callback. */
void cn_child_free(struct cn_child *c);

#endif
