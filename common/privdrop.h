/* SPDX-License-Identifier: MIT */
/*
 * Dropping privileges (docs/DESIGN.md, "What each process can do"): a
 * daemon opens its TUN, its sockets and reads its key as root, then calls
 * cn_privdrop_daemon to become an unprivileged user that keeps only the
 * capabilities later work needs; a child about to exec a program that must
 * hold no privilege at all (the deploy hook) calls cn_privdrop_child.
 *
 * Linux only, through the raw capget/capset system calls (no libcap: the
 * three 64-bit masks below are all we need, and it keeps the build free of
 * one more library; see DESIGN.md). Capabilities are given as masks of
 * CN_CAP(CAP_...) bits.
 *
 * After cn_privdrop_daemon: real, effective and saved uid and gid are the
 * user's, supplementary groups only its primary group, permitted =
 * effective = keep, inheritable and ambient empty, every other capability
 * out of the bounding set, no_new_privs set (exec can never gain
 * privileges: setuid bits and file capabilities are ignored), not dumpable
 * (no ptrace or /proc/PID/mem by the same uid, no core with the key).
 */
#ifndef CN_COMMON_PRIVDROP_H
#define CN_COMMON_PRIVDROP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"

#define CN_CAP(c)		 (UINT64_C(1) << (c))
#define CN_PRIVDROP_DEFAULT_USER "cairn"

/*
 * The uid and primary gid of user. -CN_ENOTFOUND if there is no such
 * user, -CN_EINVAL for an empty name.
 */
int cn_privdrop_lookup(const char *user, uid_t *uid, gid_t *gid, struct cn_errbuf *e);

/*
 * Becomes uid/gid keeping only the capabilities in keep (see above). As
 * root: the full change. Already unprivileged (e.g. started by systemd as
 * the user with ambient capabilities): only lowers the capability sets to
 * keep and sets no_new_privs; uid must then be the current one
 * (-CN_EPERM otherwise). Capabilities in keep that the process does not
 * hold are not gained. The process must have one thread (capabilities
 * are per thread): -CN_ESTATE otherwise, before any change. 0, or
 * -CN_EIO / -CN_EPERM with e saying which step failed; on failure the
 * process must exit (its state is between).
 */
int cn_privdrop_to(uid_t uid, gid_t gid, uint64_t keep, struct cn_errbuf *e);

/*
 * For a daemon's main, once its TUN, sockets and key are open: user is the
 * configured `user` setting, "" meaning CN_PRIVDROP_DEFAULT_USER if that
 * exists. As root, first gives each directory of the NULL-terminated dirs
 * (state the daemon writes later) to that user (cn_privdrop_give_dir,
 * `except` = the key file), then cn_privdrop_to. When the default user
 * does not exist, or the process is not root, it stays who it is but
 * still lowers its capabilities to keep; one warning line says so. A
 * configured user that does not exist is an error. Logs one line with
 * the resulting uid and capabilities. 0 or an error with e set (exit).
 */
int cn_privdrop_daemon(const char *user, uint64_t keep, const char *const dirs[],
		       const char *except, struct cn_errbuf *e);

/*
 * In a forked child, before exec: becomes uid/gid with no capability in
 * any set (ambient cleared, bounding set emptied when the process may),
 * no_new_privs set. Only async-signal-safe calls (the parent may have had
 * threads). To change to another uid the process must hold CAP_SETUID and
 * CAP_SETGID in its permitted set (root has them). 0 or -errno of the step
 * that failed.
 */
int cn_privdrop_child(uid_t uid, gid_t gid);

/*
 * Before the drop: makes dir and everything under it (not following
 * symbolic links, at most 16 levels deep) owned by uid/gid, so the daemon
 * can still write its state afterwards. A regular file with the same
 * device and inode as `except` (the identity key, if someone put it there)
 * is left alone: it stays unreadable to the user. A missing dir is not an
 * error. 0 or -CN_EIO.
 */
int cn_privdrop_give_dir(const char *dir, uid_t uid, gid_t gid, const char *except,
			 struct cn_errbuf *e);

/* The calling process's effective and permitted capability masks. 0 or -CN_EIO. */
int cn_privdrop_caps(uint64_t *effective, uint64_t *permitted);

#endif
