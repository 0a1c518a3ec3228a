/* SPDX-License-Identifier: MIT */
/*
 * The content-addressed artifact store (store.h). File-system changes go
 * through s->ops (failure injection in tests); reads (stat, readdir,
 * readlink, read) use libc directly. No logging: the server logs what
 * these return.
 */
#include "deploy/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

struct cn_store {
	char dir[CN_STORE_PATH_MAX];
	struct cn_store_ops ops;
	unsigned int keep;
};

struct cn_store_upload {
	struct cn_store *s;
	struct cn_deploy_manifest m;
	int fd;
	uint64_t have;
	bool complete; /* the object exists already */
	crypto_generichash_state st;
	char part[CN_STORE_PATH_MAX];
};

/* ---- paths and small wrappers ---------------------------------------------------------- */

__attribute__((format(printf, 3, 4))) static int path(char *out, size_t cap, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, cap, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= cap ? -CN_EINVAL : 0;
}

static int io_fail(struct cn_errbuf *e, const char *what, const char *p)
{
	cn_errbuf_set(e, "%s %s: %s", what, p, strerror(errno ? errno : EIO));
	return -CN_EIO;
}

static int fsync_dir(struct cn_store *s, const char *p, struct cn_errbuf *e)
{
	int fd = s->ops.open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	int ret = 0;

	if (fd < 0)
		return io_fail(e, "opening", p);
	if (s->ops.fsync(fd) != 0)
		ret = io_fail(e, "syncing", p);
	s->ops.close(fd);
	return ret;
}

/* Writes all n bytes; a write of 0 bytes counts as a full disk. */
static int write_all(struct cn_store *s, int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = s->ops.write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = ENOSPC;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Replaces dir/name with data: dir/name.tmp, fsync, rename, fsync dir. */
static int write_atomic(struct cn_store *s, const char *dir, const char *name, const uint8_t *data,
			size_t len, struct cn_errbuf *e)
{
	char p[CN_STORE_PATH_MAX], tmp[CN_STORE_PATH_MAX];
	int fd = -1, ret = -CN_EIO;

	if (path(p, sizeof(p), "%s/%s", dir, name) || path(tmp, sizeof(tmp), "%s.tmp", p))
		return -CN_EINVAL;
	fd = s->ops.open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0444);
	if (fd < 0)
		return io_fail(e, "creating", tmp);
	if (write_all(s, fd, data, len) != 0) {
		io_fail(e, "writing", tmp);
		goto out;
	}
	if (s->ops.fsync(fd) != 0) {
		io_fail(e, "syncing", tmp);
		goto out;
	}
	ret = s->ops.close(fd);
	fd = -1;
	if (ret != 0) {
		ret = io_fail(e, "closing", tmp);
		goto out;
	}
	if (s->ops.rename(tmp, p) != 0) {
		ret = io_fail(e, "renaming", tmp);
		goto out;
	}
	ret = fsync_dir(s, dir, e);
out:
	if (fd >= 0)
		s->ops.close(fd);
	if (ret)
		s->ops.unlink(tmp);
	return ret;
}

/* Removes a version directory (or its temporary): its known files, then itself. */
static int remove_version_dir(struct cn_store *s, const char *vdir)
{
	static const char *const names[] = {"artifact", "manifest", "manifest.tmp"};
	char p[CN_STORE_PATH_MAX];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!path(p, sizeof(p), "%s/%s", vdir, names[i]))
			s->ops.unlink(p);
	return s->ops.rmdir(vdir) == 0 || errno == ENOENT ? 0 : -CN_EIO;
}

static int obj_path(struct cn_store *s, const uint8_t hash[static CN_DEPLOY_HASH_LEN], char *out,
		    size_t cap)
{
	char hex[CN_DEPLOY_HASH_HEX_LEN + 1];

	cn_deploy_hash_hex(hash, hex);
	return path(out, cap, "%s/objects/%s", s->dir, hex);
}

/* Removes an object no version links any more. */
static void collect_object(struct cn_store *s, const uint8_t hash[static CN_DEPLOY_HASH_LEN])
{
	char p[CN_STORE_PATH_MAX];
	struct stat st;

	if (obj_path(s, hash, p, sizeof(p)) == 0 && lstat(p, &st) == 0 && S_ISREG(st.st_mode) &&
	    st.st_nlink == 1)
		s->ops.unlink(p);
}

static int read_small(const char *p, uint8_t *buf, size_t cap, size_t *len)
{
	int fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	size_t n = 0;
	ssize_t r;

	*len = 0;
	if (fd < 0)
		return -CN_EIO;
	while (n < cap && (r = read(fd, buf + n, cap - n)) > 0)
		n += (size_t)r;
	close(fd);
	if (n == cap)
		return -CN_ETOOBIG;
	*len = n;
	return 0;
}

static int read_manifest(struct cn_store *s, const char *app, const char *version,
			 struct cn_deploy_manifest *m)
{
	uint8_t buf[CN_DEPLOY_MANIFEST_MAX + 1];
	char p[CN_STORE_PATH_MAX];
	size_t len;
	int ret;

	memset(m, 0, sizeof(*m));
	if (path(p, sizeof(p), "%s/apps/%s/%s/manifest", s->dir, app, version))
		return -CN_EINVAL;
	ret = read_small(p, buf, sizeof(buf), &len);
	if (ret)
		return ret;
	ret = cn_deploy_manifest_decode(buf, len, m);
	if (ret)
		return ret;
	/* The directory names must agree with what was signed. */
	if (strcmp(m->app, app) != 0 || strcmp(m->version, version) != 0)
		return -CN_EFORMAT;
	return 0;
}

/* ---- open, clean up -------------------------------------------------------------------- */

static int mkdir_one(struct cn_store *s, const char *p, struct cn_errbuf *e)
{
	if (s->ops.mkdir(p, 0700) != 0 && errno != EEXIST)
		return io_fail(e, "creating", p);
	return 0;
}

static int mkdir_p(struct cn_store *s, const char *dir, struct cn_errbuf *e)
{
	char p[CN_STORE_PATH_MAX];

	if (path(p, sizeof(p), "%s", dir))
		return -CN_EINVAL;
	for (char *c = p + 1; *c; c++) {
		if (*c != '/')
			continue;
		*c = '\0';
		if (mkdir_one(s, p, e))
			return -CN_EIO;
		*c = '/';
	}
	return mkdir_one(s, p, e);
}

/* What a crash can leave: .tmp-<version> directories, current.tmp, *.tmp files. */
static void clean_app(struct cn_store *s, const char *adir)
{
	char p[CN_STORE_PATH_MAX];
	DIR *d = opendir(adir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d)) != NULL) {
		if (path(p, sizeof(p), "%s/%s", adir, de->d_name))
			continue;
		if (!strncmp(de->d_name, ".tmp-", 5)) {
			remove_version_dir(s, p);
		} else if (!strcmp(de->d_name, "current.tmp")) {
			s->ops.unlink(p);
		} else if (de->d_name[0] != '.' && strcmp(de->d_name, "current") != 0) {
			char m[CN_STORE_PATH_MAX];

			if (!path(m, sizeof(m), "%s/manifest.tmp", p))
				s->ops.unlink(m);
		}
	}
	closedir(d);
}

static void clean(struct cn_store *s)
{
	char p[CN_STORE_PATH_MAX], q[CN_STORE_PATH_MAX];
	struct dirent *de;
	struct stat st;
	DIR *d;

	if (path(p, sizeof(p), "%s/apps", s->dir) == 0 && (d = opendir(p)) != NULL) {
		while ((de = readdir(d)) != NULL)
			if (cn_deploy_app_valid(de->d_name) &&
			    !path(q, sizeof(q), "%s/%s", p, de->d_name))
				clean_app(s, q);
		closedir(d);
	}
	/* Objects no version links: a crash between storing and installing. */
	if (path(p, sizeof(p), "%s/objects", s->dir) == 0 && (d = opendir(p)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.' || path(q, sizeof(q), "%s/%s", p, de->d_name))
				continue;
			if (lstat(q, &st) == 0 && (!S_ISREG(st.st_mode) || st.st_nlink == 1))
				s->ops.unlink(q);
		}
		closedir(d);
	}
}

static int sys_open(const char *p, int flags, mode_t mode)
{
	return open(p, flags, mode);
}

int cn_store_open(const char *dir, const struct cn_store_ops *ops, unsigned int keep,
		  struct cn_store **out, struct cn_errbuf *e)
{
	static const char *const subdirs[] = {"objects", "partial", "apps"};
	struct cn_store *s = NULL;
	char p[CN_STORE_PATH_MAX];
	int ret = -CN_EINVAL;

	*out = NULL;
	if (keep < 1 || keep > CN_STORE_KEEP_MAX || !dir[0]) {
		cn_errbuf_set(e, "store: keep must be 1..%d", CN_STORE_KEEP_MAX);
		return -CN_EINVAL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -CN_ENOMEM;
	if (path(s->dir, sizeof(s->dir), "%s", dir) || strlen(dir) > CN_STORE_PATH_MAX / 2) {
		cn_errbuf_set(e, "store: directory name too long");
		goto out;
	}
	if (ops)
		s->ops = *ops;
	s->ops.open = s->ops.open ? s->ops.open : sys_open;
	s->ops.write = s->ops.write ? s->ops.write : write;
	s->ops.fsync = s->ops.fsync ? s->ops.fsync : fsync;
	s->ops.close = s->ops.close ? s->ops.close : close;
	s->ops.ftruncate = s->ops.ftruncate ? s->ops.ftruncate : ftruncate;
	s->ops.rename = s->ops.rename ? s->ops.rename : rename;
	s->ops.unlink = s->ops.unlink ? s->ops.unlink : unlink;
	s->ops.link = s->ops.link ? s->ops.link : link;
	s->ops.symlink = s->ops.symlink ? s->ops.symlink : symlink;
	s->ops.mkdir = s->ops.mkdir ? s->ops.mkdir : mkdir;
	s->ops.rmdir = s->ops.rmdir ? s->ops.rmdir : rmdir;
	s->keep = keep;
	ret = mkdir_p(s, dir, e);
	for (size_t i = 0; !ret && i < sizeof(subdirs) / sizeof(subdirs[0]); i++) {
		ret = path(p, sizeof(p), "%s/%s", s->dir, subdirs[i]);
		if (!ret)
			ret = mkdir_one(s, p, e);
	}
	if (ret)
		goto out;
	clean(s);
	*out = s;
	s = NULL;
out:
	free(s);
	return ret;
}

void cn_store_free(struct cn_store *s)
{
	free(s);
}

/* ---- uploads ----------------------------------------------------------------------------- */

/* Hashes what a partial file holds; the fd ends at its end. */
static int hash_existing(struct cn_store_upload *u, uint64_t len)
{
	uint8_t *buf = malloc(1 << 16);
	uint64_t done = 0;
	int ret = -CN_EIO;

	if (!buf)
		return -CN_ENOMEM;
	if (lseek(u->fd, 0, SEEK_SET) != 0)
		goto out;
	while (done < len) {
		size_t want = len - done < (1 << 16) ? (size_t)(len - done) : (1 << 16);
		ssize_t r = read(u->fd, buf, want);

		if (r <= 0)
			goto out;
		crypto_generichash_update(&u->st, buf, (size_t)r);
		done += (uint64_t)r;
	}
	ret = 0;
out:
	free(buf);
	return ret;
}

int cn_store_upload_begin(struct cn_store *s, const struct cn_deploy_manifest *m,
			  struct cn_store_upload **out, uint64_t *offset, struct cn_errbuf *e)
{
	struct cn_store_upload *u = NULL;
	char obj[CN_STORE_PATH_MAX], hex[CN_DEPLOY_HASH_HEX_LEN + 1];
	struct stat st;
	int ret = -CN_EINVAL;

	*out = NULL;
	*offset = 0;
	u = calloc(1, sizeof(*u));
	if (!u)
		return -CN_ENOMEM;
	u->s = s;
	u->m = *m;
	u->fd = -1;
	cn_deploy_hash_hex(m->hash, hex);
	if (obj_path(s, m->hash, obj, sizeof(obj)) ||
	    path(u->part, sizeof(u->part), "%s/partial/%s", s->dir, hex))
		goto out;
	if (lstat(obj, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size == m->size) {
		u->complete = true;
		u->have = m->size;
		goto done;
	}
	crypto_generichash_init(&u->st, NULL, 0, CN_DEPLOY_HASH_LEN);
	u->fd = s->ops.open(u->part, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (u->fd < 0 || fstat(u->fd, &st) != 0) {
		ret = io_fail(e, "opening", u->part);
		goto out;
	}
	if ((uint64_t)st.st_size > m->size || hash_existing(u, (uint64_t)st.st_size) != 0) {
		/* Longer than the artifact or unreadable: start over. */
		crypto_generichash_init(&u->st, NULL, 0, CN_DEPLOY_HASH_LEN);
		if (s->ops.ftruncate(u->fd, 0) != 0 || lseek(u->fd, 0, SEEK_SET) != 0) {
			ret = io_fail(e, "truncating", u->part);
			goto out;
		}
		st.st_size = 0;
	}
	u->have = (uint64_t)st.st_size;
done:
	*offset = u->have;
	*out = u;
	u = NULL;
	ret = 0;
out:
	if (u) {
		if (u->fd >= 0)
			s->ops.close(u->fd);
		free(u);
	}
	return ret;
}

uint64_t cn_store_upload_have(const struct cn_store_upload *u)
{
	return u->have;
}

static void upload_drop(struct cn_store_upload *u)
{
	if (u->fd >= 0)
		u->s->ops.close(u->fd);
	u->fd = -1;
	if (!u->complete)
		u->s->ops.unlink(u->part);
}

int cn_store_upload_write(struct cn_store_upload *u, const uint8_t *p, size_t n,
			  struct cn_errbuf *e)
{
	if (u->complete || u->fd < 0) {
		cn_errbuf_set(e, "no upload in progress");
		return -CN_ESTATE;
	}
	if (n > u->m.size - u->have) {
		cn_errbuf_set(e, "more bytes than the manifest's %llu",
			      (unsigned long long)u->m.size);
		return -CN_ETOOBIG;
	}
	if (write_all(u->s, u->fd, p, n) != 0) {
		int ret = io_fail(e, "writing", u->part);

		/* What was written is not known: drop the partial and free the space. */
		upload_drop(u);
		return ret;
	}
	crypto_generichash_update(&u->st, p, n);
	u->have += n;
	return 0;
}

int cn_store_upload_finish(struct cn_store_upload *u, struct cn_errbuf *e)
{
	struct cn_store *s = u->s;
	uint8_t got[CN_DEPLOY_HASH_LEN];
	char obj[CN_STORE_PATH_MAX], dir[CN_STORE_PATH_MAX];
	int ret = -CN_EIO;

	if (u->complete) {
		ret = 0;
		goto out;
	}
	if (u->fd < 0) {
		cn_errbuf_set(e, "upload failed earlier");
		ret = -CN_ESTATE;
		goto out;
	}
	if (u->have != u->m.size) {
		cn_errbuf_set(e, "got %llu of %llu bytes", (unsigned long long)u->have,
			      (unsigned long long)u->m.size);
		ret = -CN_ESHORT;
		goto drop;
	}
	crypto_generichash_final(&u->st, got, sizeof(got));
	if (sodium_memcmp(got, u->m.hash, sizeof(got)) != 0) {
		cn_errbuf_set(e, "the bytes do not match the manifest's BLAKE2b-256 hash");
		ret = -CN_EDECRYPT;
		goto drop;
	}
	if (obj_path(s, u->m.hash, obj, sizeof(obj)) ||
	    path(dir, sizeof(dir), "%s/objects", s->dir)) {
		ret = -CN_EINVAL;
		goto drop;
	}
	if (fchmod(u->fd, 0555) != 0 || s->ops.fsync(u->fd) != 0) {
		ret = io_fail(e, "syncing", u->part);
		goto drop;
	}
	ret = s->ops.close(u->fd);
	u->fd = -1;
	if (ret != 0) {
		ret = io_fail(e, "closing", u->part);
		goto drop;
	}
	if (s->ops.rename(u->part, obj) != 0) {
		ret = io_fail(e, "renaming", u->part);
		goto drop;
	}
	ret = fsync_dir(s, dir, e);
	goto out;
drop:
	upload_drop(u);
out:
	if (u->fd >= 0)
		s->ops.close(u->fd);
	sodium_memzero(&u->st, sizeof(u->st));
	free(u);
	return ret;
}

void cn_store_upload_abort(struct cn_store_upload *u, bool keep_partial)
{
	if (!u)
		return;
	if (keep_partial && u->fd >= 0)
		u->s->ops.fsync(u->fd);
	else
		upload_drop(u);
	if (u->fd >= 0)
		u->s->ops.close(u->fd);
	free(u);
}

/* ---- versions ---------------------------------------------------------------------------- */

int cn_store_version_dir(struct cn_store *s, const char *app, const char *version, char *out,
			 size_t cap)
{
	if (!cn_deploy_app_valid(app) || !cn_deploy_version_valid(version))
		return -CN_EINVAL;
	return path(out, cap, "%s/apps/%s/%s", s->dir, app, version);
}

int cn_store_artifact_path(struct cn_store *s, const char *app, const char *version, char *out,
			   size_t cap)
{
	if (!cn_deploy_app_valid(app) || !cn_deploy_version_valid(version))
		return -CN_EINVAL;
	return path(out, cap, "%s/apps/%s/%s/artifact", s->dir, app, version);
}

int cn_store_check_version(struct cn_store *s, const struct cn_deploy_manifest *m,
			   struct cn_errbuf *e)
{
	struct cn_deploy_manifest old;

	if (read_manifest(s, m->app, m->version, &old) != 0)
		return 0;
	if (sodium_memcmp(old.hash, m->hash, CN_DEPLOY_HASH_LEN) != 0) {
		cn_errbuf_set(e, "%s %s exists with other content; versions are immutable", m->app,
			      m->version);
		return -CN_EEXIST;
	}
	return 0;
}

int cn_store_install(struct cn_store *s, const struct cn_deploy_manifest *m,
		     const uint8_t *manifest, size_t manifest_len, struct cn_errbuf *e)
{
	char adir[CN_STORE_PATH_MAX], vdir[CN_STORE_PATH_MAX], tmp[CN_STORE_PATH_MAX];
	char obj[CN_STORE_PATH_MAX], art[CN_STORE_PATH_MAX], apps[CN_STORE_PATH_MAX];
	struct stat st;
	int ret;

	if (cn_store_version_dir(s, m->app, m->version, vdir, sizeof(vdir)) ||
	    path(adir, sizeof(adir), "%s/apps/%s", s->dir, m->app) ||
	    path(apps, sizeof(apps), "%s/apps", s->dir) ||
	    path(tmp, sizeof(tmp), "%s/.tmp-%s", adir, m->version) ||
	    path(art, sizeof(art), "%s/artifact", tmp) || obj_path(s, m->hash, obj, sizeof(obj)))
		return -CN_EINVAL;
	ret = cn_store_check_version(s, m, e);
	if (ret)
		return ret;
	if (lstat(obj, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != m->size) {
		cn_errbuf_set(e, "object for %s %s missing", m->app, m->version);
		return -CN_ENOTFOUND;
	}
	if (lstat(adir, &st) != 0) {
		if (mkdir_one(s, adir, e) || fsync_dir(s, apps, e))
			return -CN_EIO;
	}
	if (lstat(vdir, &st) == 0) /* same version, same hash: newer manifest */
		return write_atomic(s, vdir, "manifest", manifest, manifest_len, e);
	remove_version_dir(s, tmp);
	if (mkdir_one(s, tmp, e))
		return -CN_EIO;
	ret = -CN_EIO;
	if (s->ops.link(obj, art) != 0) {
		io_fail(e, "linking", art);
		goto out;
	}
	ret = write_atomic(s, tmp, "manifest", manifest, manifest_len, e);
	if (ret)
		goto out;
	ret = -CN_EIO;
	if (s->ops.rename(tmp, vdir) != 0) {
		io_fail(e, "renaming", tmp);
		goto out;
	}
	ret = fsync_dir(s, adir, e);
out:
	if (ret)
		remove_version_dir(s, tmp);
	return ret;
}

int cn_store_current(struct cn_store *s, const char *app, char *ver, size_t cap)
{
	char p[CN_STORE_PATH_MAX], buf[CN_DEPLOY_VERSION_MAX + 2];
	ssize_t n;

	if (cap)
		ver[0] = '\0';
	if (!cn_deploy_app_valid(app) || path(p, sizeof(p), "%s/apps/%s/current", s->dir, app))
		return -CN_EINVAL;
	n = readlink(p, buf, sizeof(buf) - 1);
	if (n <= 0 || (size_t)n >= sizeof(buf) - 1)
		return -CN_ENOTFOUND;
	buf[n] = '\0';
	if (!cn_deploy_version_valid(buf) || (size_t)n >= cap)
		return -CN_EFORMAT;
	memcpy(ver, buf, (size_t)n + 1);
	return 0;
}

int cn_store_activate(struct cn_store *s, const char *app, const char *version, char *prev,
		      size_t cap, struct cn_errbuf *e)
{
	char vdir[CN_STORE_PATH_MAX], adir[CN_STORE_PATH_MAX], cur[CN_STORE_PATH_MAX];
	char tmp[CN_STORE_PATH_MAX];
	struct stat st;
	int ret = -CN_EIO;

	if (cap)
		prev[0] = '\0';
	if (cn_store_version_dir(s, app, version, vdir, sizeof(vdir)) ||
	    path(adir, sizeof(adir), "%s/apps/%s", s->dir, app) ||
	    path(cur, sizeof(cur), "%s/current", adir) || path(tmp, sizeof(tmp), "%s.tmp", cur))
		return -CN_EINVAL;
	if (lstat(vdir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		cn_errbuf_set(e, "%s %s is not in the store", app, version);
		return -CN_ENOTFOUND;
	}
	cn_store_current(s, app, prev, cap);
	s->ops.unlink(tmp);
	if (s->ops.symlink(version, tmp) != 0) {
		io_fail(e, "creating", tmp);
		goto out;
	}
	if (s->ops.rename(tmp, cur) != 0) {
		io_fail(e, "renaming", tmp);
		goto out;
	}
	ret = fsync_dir(s, adir, e);
out:
	if (ret)
		s->ops.unlink(tmp);
	return ret;
}

int cn_store_deactivate(struct cn_store *s, const char *app, struct cn_errbuf *e)
{
	char adir[CN_STORE_PATH_MAX], cur[CN_STORE_PATH_MAX];

	if (!cn_deploy_app_valid(app) || path(adir, sizeof(adir), "%s/apps/%s", s->dir, app) ||
	    path(cur, sizeof(cur), "%s/current", adir))
		return -CN_EINVAL;
	if (s->ops.unlink(cur) != 0 && errno != ENOENT)
		return io_fail(e, "removing", cur);
	return fsync_dir(s, adir, e);
}

/* Newest first; equal times by version name, descending. */
static int entry_cmp(const void *a, const void *b)
{
	const struct cn_store_entry *x = a, *y = b;
	int c = strcmp(x->app, y->app);

	if (c)
		return c;
	if (x->m.time != y->m.time)
		return x->m.time > y->m.time ? -1 : 1;
	return -strcmp(x->version, y->version);
}

static void list_app(struct cn_store *s, const char *app, struct cn_store_entry *out, size_t cap,
		     size_t *n)
{
	char p[CN_STORE_PATH_MAX], cur[CN_DEPLOY_VERSION_MAX + 1];
	struct dirent *de;
	DIR *d;

	if (path(p, sizeof(p), "%s/apps/%s", s->dir, app) || (d = opendir(p)) == NULL)
		return;
	cn_store_current(s, app, cur, sizeof(cur));
	while (*n < cap && (de = readdir(d)) != NULL) {
		struct cn_store_entry *en = &out[*n];

		if (!cn_deploy_version_valid(de->d_name) || !strcmp(de->d_name, "current") ||
		    !strcmp(de->d_name, "current.tmp"))
			continue;
		memset(en, 0, sizeof(*en));
		if (read_manifest(s, app, de->d_name, &en->m) != 0)
			continue;
		/* read_manifest checked both names against the signed ones. */
		memcpy(en->app, en->m.app, sizeof(en->app));
		memcpy(en->version, en->m.version, sizeof(en->version));
		en->current = !strcmp(cur, de->d_name);
		(*n)++;
	}
	closedir(d);
}

int cn_store_list(struct cn_store *s, const char *app, struct cn_store_entry *out, size_t cap,
		  size_t *count, struct cn_errbuf *e)
{
	char p[CN_STORE_PATH_MAX];
	struct dirent *de;
	DIR *d;
	size_t n = 0;

	*count = 0;
	if (app && app[0]) {
		if (!cn_deploy_app_valid(app))
			return -CN_EINVAL;
		list_app(s, app, out, cap, &n);
	} else {
		if (path(p, sizeof(p), "%s/apps", s->dir))
			return -CN_EINVAL;
		d = opendir(p);
		if (!d)
			return io_fail(e, "reading", p);
		while ((de = readdir(d)) != NULL)
			if (cn_deploy_app_valid(de->d_name))
				list_app(s, de->d_name, out, cap, &n);
		closedir(d);
	}
	qsort(out, n, sizeof(out[0]), entry_cmp);
	*count = n;
	return 0;
}

/* The versions of app, newest first, in a malloc'd array. */
static int list_one(struct cn_store *s, const char *app, struct cn_store_entry **out, size_t *n,
		    struct cn_errbuf *e)
{
	struct cn_store_entry *v = calloc(CN_STORE_VERSIONS_MAX, sizeof(*v));
	int ret;

	*out = NULL;
	if (!v)
		return -CN_ENOMEM;
	ret = cn_store_list(s, app, v, CN_STORE_VERSIONS_MAX, n, e);
	if (ret) {
		free(v);
		return ret;
	}
	*out = v;
	return 0;
}

int cn_store_previous(struct cn_store *s, const char *app, char *ver, size_t cap,
		      struct cn_errbuf *e)
{
	struct cn_store_entry *v;
	size_t n;
	int ret;

	if (cap)
		ver[0] = '\0';
	ret = list_one(s, app, &v, &n, e);
	if (ret)
		return ret;
	ret = -CN_ENOTFOUND;
	for (size_t i = 0; i < n; i++) {
		if (!v[i].current)
			continue;
		if (i + 1 < n && strlen(v[i + 1].version) < cap) {
			snprintf(ver, cap, "%s", v[i + 1].version);
			ret = 0;
		}
		break;
	}
	if (ret)
		cn_errbuf_set(e, "%s has no version before the current one", app);
	free(v);
	return ret;
}

int cn_store_prune(struct cn_store *s, const char *app, struct cn_errbuf *e)
{
	struct cn_store_entry *v;
	char vdir[CN_STORE_PATH_MAX];
	size_t n, kept = 0;
	int ret;

	ret = list_one(s, app, &v, &n, e);
	if (ret)
		return ret;
	for (size_t i = 0; i < n; i++) {
		if (v[i].current || kept < s->keep) {
			kept++;
			continue;
		}
		if (cn_store_version_dir(s, app, v[i].version, vdir, sizeof(vdir)) == 0 &&
		    remove_version_dir(s, vdir) == 0)
			collect_object(s, v[i].m.hash);
	}
	free(v);
	return 0;
}
