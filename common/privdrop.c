/* SPDX-License-Identifier: MIT */
/*
 * Dropping privileges (privdrop.h). The order matters and follows the
 * kernel's rules (capabilities(7)):
 *   1. bounding set first: dropping from it needs CAP_SETPCAP in the
 *      effective set, which the uid change takes away;
 *   2. PR_SET_KEEPCAPS, then groups, gid, uid (gid before uid: after the
 *      uid change CAP_SETGID is no longer effective); without KEEPCAPS
 *      the kernel clears the permitted set when the last uid 0 goes;
 *   3. capset lowers permitted and effective to what is kept, ambient
 *      cleared, no_new_privs, not dumpable;
 *   4. a check that getting root back fails.
 */
#include "common/privdrop.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/log.h"

enum {
	CAP_MAX_PROBE = 64,
	GIVE_DEPTH_MAX = 16,
};

static int cap_get(uint64_t *eff, uint64_t *prm, uint64_t *inh)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];

	memset(d, 0, sizeof(d));
	if (syscall(SYS_capget, &h, d) != 0)
		return -errno;
	*eff = d[0].effective | (uint64_t)d[1].effective << 32;
	*prm = d[0].permitted | (uint64_t)d[1].permitted << 32;
	*inh = d[0].inheritable | (uint64_t)d[1].inheritable << 32;
	return 0;
}

static int cap_set(uint64_t eff, uint64_t prm, uint64_t inh)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];

	d[0].effective = (uint32_t)eff;
	d[1].effective = (uint32_t)(eff >> 32);
	d[0].permitted = (uint32_t)prm;
	d[1].permitted = (uint32_t)(prm >> 32);
	d[0].inheritable = (uint32_t)inh;
	d[1].inheritable = (uint32_t)(inh >> 32);
	return syscall(SYS_capset, &h, d) == 0 ? 0 : -errno;
}

/*
 * Drops every capability outside keep from the bounding set. Needs
 * CAP_SETPCAP; without it (an unprivileged start, whose bounding set the
 * service manager chose) nothing is done: no_new_privs already stops exec
 * from gaining anything. 0 or -errno.
 */
static int bounding_drop(uint64_t keep)
{
	uint64_t eff = 0, prm = 0, inh = 0;

	if (cap_get(&eff, &prm, &inh) != 0 || !(eff & CN_CAP(CAP_SETPCAP)))
		return 0;
	for (int c = 0; c < CAP_MAX_PROBE; c++) {
		int in = prctl(PR_CAPBSET_READ, c, 0, 0, 0);

		if (in < 0)
			break; /* past the kernel's last capability */
		if (in == 1 && !(keep & CN_CAP(c)) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0)
			return -errno;
	}
	return 0;
}

int cn_privdrop_caps(uint64_t *effective, uint64_t *permitted)
{
	uint64_t inh = 0;

	return cap_get(effective, permitted, &inh) == 0 ? 0 : -CN_EIO;
}

int cn_privdrop_lookup(const char *user, uid_t *uid, gid_t *gid, struct cn_errbuf *e)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	int err;

	if (!user || !user[0]) {
		cn_errbuf_set(e, "empty user name");
		return -CN_EINVAL;
	}
	err = getpwnam_r(user, &pw, buf, sizeof(buf), &res);
	if (err != 0 || !res) {
		cn_errbuf_set(e, "no user %s%s%s", user, err ? ": " : "", err ? strerror(err) : "");
		return -CN_ENOTFOUND;
	}
	*uid = pw.pw_uid;
	*gid = pw.pw_gid;
	return 0;
}

/* Threads of this process (/proc/self/task), or -1. */
static int thread_count(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

int cn_privdrop_to(uid_t uid, gid_t gid, uint64_t keep, struct cn_errbuf *e)
{
	uint64_t eff = 0, prm = 0, inh = 0;
	uid_t r, ef, s;
	int err, threads = thread_count();

	/*
	 * Capabilities, the bounding set and no_new_privs belong to a thread:
	 * another thread alive now would keep all of them.
	 */
	if (threads != 1) {
		cn_errbuf_set(e, "%d threads: privileges must be dropped before any thread starts",
			      threads);
		return -CN_ESTATE;
	}
	if (geteuid() == 0 && uid != 0) {
		err = bounding_drop(keep);
		if (err) {
			cn_errbuf_set(e, "dropping the bounding set: %s", strerror(-err));
			return -CN_EIO;
		}
		if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0 || setgroups(1, &gid) != 0 ||
		    setresgid(gid, gid, gid) != 0 || setresuid(uid, uid, uid) != 0) {
			cn_errbuf_set(e, "becoming uid %u gid %u: %s", (unsigned int)uid,
				      (unsigned int)gid, strerror(errno));
			return -CN_EIO;
		}
		prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	} else if (uid != geteuid()) {
		cn_errbuf_set(e, "cannot become uid %u as uid %u", (unsigned int)uid,
			      (unsigned int)geteuid());
		return -CN_EPERM;
	} else {
		err = bounding_drop(keep);
		if (err) {
			cn_errbuf_set(e, "dropping the bounding set: %s", strerror(-err));
			return -CN_EIO;
		}
	}
	if (cap_get(&eff, &prm, &inh) != 0) {
		cn_errbuf_set(e, "capget: %s", strerror(errno));
		return -CN_EIO;
	}
	keep &= prm;
	/* EINVAL: a kernel before 4.3 has no ambient set, so nothing to clear. */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) {
		cn_errbuf_set(e, "clearing the ambient capabilities: %s", strerror(errno));
		return -CN_EIO;
	}
	if (cap_set(keep, keep, 0) != 0) {
		cn_errbuf_set(e, "capset: %s", strerror(errno));
		return -CN_EIO;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
		cn_errbuf_set(e, "prctl: %s", strerror(errno));
		return -CN_EIO;
	}
	/* Check, do not trust: all three uids changed, and root does not come back. */
	if (getresuid(&r, &ef, &s) != 0 || r != uid || ef != uid || s != uid) {
		cn_errbuf_set(e, "uid did not change to %u", (unsigned int)uid);
		return -CN_EIO;
	}
	if (uid != 0 && !(keep & CN_CAP(CAP_SETUID)) && setuid(0) != -1) {
		cn_errbuf_set(e, "could become root again after dropping privileges");
		return -CN_EIO;
	}
	return 0;
}

/* "cap_net_admin,cap_setuid" for the log line; "none" for an empty mask. */
static void caps_text(uint64_t m, char *out, size_t cap)
{
	static const struct {
		int c;
		const char *name;
	} names[] = {
		{CAP_NET_ADMIN, "cap_net_admin"}, {CAP_NET_BIND_SERVICE, "cap_net_bind_service"},
		{CAP_NET_RAW, "cap_net_raw"},	  {CAP_SETUID, "cap_setuid"},
		{CAP_SETGID, "cap_setgid"},
	};
	size_t n = 0;

	out[0] = '\0';
	for (int c = 0; c < CAP_MAX_PROBE && n < cap; c++) {
		const char *name = NULL;
		char other[16];

		if (!(m & CN_CAP(c)))
			continue;
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (names[i].c == c)
				name = names[i].name;
		if (!name) {
			snprintf(other, sizeof(other), "cap_%d", c);
			name = other;
		}
		n += (size_t)snprintf(out + n, cap - n, "%s%s", n ? "," : "", name);
	}
	if (!out[0])
		snprintf(out, cap, "none");
}

int cn_privdrop_daemon(const char *user, uint64_t keep, const char *const dirs[],
		       const char *except, struct cn_errbuf *e)
{
	const char *name = user && user[0] ? user : CN_PRIVDROP_DEFAULT_USER;
	struct cn_errbuf le = {{0}};
	char caps[256];
	uint64_t eff = 0, prm = 0;
	uid_t uid;
	gid_t gid;
	int ret;

	ret = cn_privdrop_lookup(name, &uid, &gid, &le);
	if (ret == -CN_ENOTFOUND && !(user && user[0])) {
		/* No dedicated user: stay who we are, but with only the kept capabilities. */
		cn_log_warn("no user %s: running on as uid %u with capabilities lowered; create it "
			    "(useradd --system %s) or set 'user'",
			    name, (unsigned int)geteuid(), name);
		uid = geteuid();
		gid = getegid();
	} else if (ret) {
		cn_errbuf_set(e, "user: %s", le.msg);
		return ret;
	} else if (uid != geteuid() && geteuid() != 0) {
		/* Started unprivileged as someone else (e.g. by systemd): stay that user. */
		cn_log_warn("running as uid %u, not as %s (uid %u): without root the user cannot "
			    "change",
			    (unsigned int)geteuid(), name, (unsigned int)uid);
		uid = geteuid();
		gid = getegid();
	}
	/* What the daemon writes later must be the new user's. */
	if (geteuid() == 0 && uid != 0)
		for (size_t i = 0; dirs && dirs[i]; i++)
			if (dirs[i][0] && cn_privdrop_give_dir(dirs[i], uid, gid, except, e) != 0)
				return -CN_EIO;
	ret = cn_privdrop_to(uid, gid, keep, e);
	if (ret)
		return ret;
	cn_privdrop_caps(&eff, &prm);
	caps_text(prm, caps, sizeof(caps));
	cn_log_info("running as uid %u gid %u, capabilities %s, no_new_privs", (unsigned int)uid,
		    (unsigned int)gid, caps);
	return 0;
}

int cn_privdrop_child(uid_t uid, gid_t gid)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];

	/* Make CAP_SETUID/CAP_SETGID (and CAP_SETPCAP) effective if permitted. */
	memset(d, 0, sizeof(d));
	if (syscall(SYS_capget, &h, d) != 0)
		return -errno;
	d[0].effective = d[0].permitted;
	d[1].effective = d[1].permitted;
	if (syscall(SYS_capset, &h, d) != 0)
		return -errno;
	if (d[0].effective & CN_CAP(CAP_SETPCAP))
		for (int c = 0; c < CAP_MAX_PROBE; c++)
			if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0 && errno == EINVAL)
				break;
	if (uid != geteuid() || gid != getegid()) {
		if (setgroups(1, &gid) != 0 || setresgid(gid, gid, gid) != 0 ||
		    setresuid(uid, uid, uid) != 0)
			return -errno;
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
		return -errno;
	memset(d, 0, sizeof(d));
	if (syscall(SYS_capset, &h, d) != 0)
		return -errno;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return -errno;
	return 0;
}

struct give {
	uid_t uid;
	gid_t gid;
	dev_t except_dev;
	ino_t except_ino;
	bool has_except;
	struct cn_errbuf *e;
};

/* Gives the entries of the open directory dfd (consumed), then recurses. */
static int give_entries(const struct give *g, int dfd, const char *path, int depth)
{
	DIR *d = fdopendir(dfd);
	struct dirent *de;
	int ret = 0;

	if (!d) {
		close(dfd);
		cn_errbuf_set(g->e, "%s: %s", path, strerror(errno));
		return -CN_EIO;
	}
	while (ret == 0 && (de = readdir(d)) != NULL) {
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
			continue; /* gone meanwhile */
		if (g->has_except && S_ISREG(st.st_mode) && st.st_dev == g->except_dev &&
		    st.st_ino == g->except_ino)
			continue;
		if (fchownat(dirfd(d), de->d_name, g->uid, g->gid, AT_SYMLINK_NOFOLLOW) != 0) {
			cn_errbuf_set(g->e, "%s/%s: chown: %s", path, de->d_name, strerror(errno));
			ret = -CN_EIO;
			break;
		}
		if (S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd(d), de->d_name,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (depth >= GIVE_DEPTH_MAX || sub < 0) {
				if (sub >= 0)
					close(sub);
				cn_errbuf_set(g->e, "%s/%s: too deep or unreadable", path,
					      de->d_name);
				ret = -CN_EIO;
				break;
			}
			ret = give_entries(g, sub, de->d_name, depth + 1);
		}
	}
	closedir(d);
	return ret;
}

int cn_privdrop_give_dir(const char *dir, uid_t uid, gid_t gid, const char *except,
			 struct cn_errbuf *e)
{
	struct give g = {.uid = uid, .gid = gid, .e = e};
	struct stat st;
	int fd;

	if (except && except[0] && stat(except, &st) == 0) {
		g.except_dev = st.st_dev;
		g.except_ino = st.st_ino;
		g.has_except = true;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		cn_errbuf_set(e, "%s: %s", dir, strerror(errno));
		return -CN_EIO;
	}
	if (fchown(fd, uid, gid) != 0) {
		cn_errbuf_set(e, "%s: chown: %s", dir, strerror(errno));
		close(fd);
		return -CN_EIO;
	}
	return give_entries(&g, fd, dir, 1);
}
