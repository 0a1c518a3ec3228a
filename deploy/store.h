/* SPDX-License-Identifier: MIT */
/*
 * The node's content-addressed artifact store (docs/DEPLOY.md):
 *
 *   DIR/objects/<blake2b hex>           verified artifacts, read-only
 *   DIR/partial/<blake2b hex>           a resumable upload; never a version
 *   DIR/apps/<app>/<version>/artifact   hard link to the object
 *   DIR/apps/<app>/<version>/manifest   the signed manifest as received
 *   DIR/apps/<app>/current              symlink -> <version>
 *
 * Every change is write-to-temporary, fsync, rename, fsync the directory:
 * a crash leaves the old state or the new one. An object appears only after
 * its size and hash were checked; a version directory appears (rename of
 * "<app>/.tmp-<version>") only whole; `current` is replaced by renaming a
 * new symlink over it. Objects are garbage-collected when no version links
 * them (link count 1). cn_store_open removes temporaries a crash left.
 *
 * Every call that changes the file system goes through struct
 * cn_store_ops, so tests inject short writes, ENOSPC and crashes. No
 * logging: errors come back as -CN_E* with a reason in e. Not thread-safe;
 * one writer per store (the node's deploy server serialises requests).
 */
#ifndef CN_DEPLOY_STORE_H
#define CN_DEPLOY_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"
#include "deploy/manifest.h"

struct cn_store;
struct cn_store_upload;

/* libc signatures; NULL members fall back to libc. */
struct cn_store_ops {
	int (*open)(const char *path, int flags, mode_t mode);
	ssize_t (*write)(int fd, const void *buf, size_t n);
	int (*fsync)(int fd);
	int (*close)(int fd);
	int (*ftruncate)(int fd, off_t len);
	int (*rename)(const char *from, const char *to);
	int (*unlink)(const char *path);
	int (*link)(const char *from, const char *to);
	int (*symlink)(const char *target, const char *path);
	int (*mkdir)(const char *path, mode_t mode);
	int (*rmdir)(const char *path);
};

enum {
	CN_STORE_KEEP_MAX = 100,
	CN_STORE_VERSIONS_MAX = 256, /* per app, as listed */
	CN_STORE_PATH_MAX = 4096,
};

struct cn_store_entry {
	char app[CN_DEPLOY_APP_MAX + 1];
	char version[CN_DEPLOY_VERSION_MAX + 1];
	struct cn_deploy_manifest m;
	bool current;
};

/*
 * Opens (creating 0700 directories as needed) the store at dir, keeping
 * `keep` versions per app (1..CN_STORE_KEEP_MAX) besides the current one.
 * ops may be NULL (libc); it must outlive the store. *out: cn_store_free.
 */
int cn_store_open(const char *dir, const struct cn_store_ops *ops, unsigned int keep,
		  struct cn_store **out, struct cn_errbuf *e);
void cn_store_free(struct cn_store *s);

/*
 * Starts receiving the artifact m describes. *offset is how many bytes the
 * store already holds: m->size when the object exists, the verified length
 * of a partial upload (re-read and hashed again) to resume, or 0. The
 * upload owns an open partial file until finish or abort.
 */
int cn_store_upload_begin(struct cn_store *s, const struct cn_deploy_manifest *m,
			  struct cn_store_upload **out, uint64_t *offset, struct cn_errbuf *e);
/* Appends; -CN_ETOOBIG past m->size. A failed write removes the partial. */
int cn_store_upload_write(struct cn_store_upload *u, const uint8_t *p, size_t n,
			  struct cn_errbuf *e);
uint64_t cn_store_upload_have(const struct cn_store_upload *u);
/*
 * Checks size and hash (-CN_EDECRYPT on a mismatch, partial removed),
 * fsyncs and renames the partial into objects/. Frees u in every case.
 */
int cn_store_upload_finish(struct cn_store_upload *u, struct cn_errbuf *e);
/*
 * Stops an upload: keep_partial (a dropped connection) fsyncs what arrived
 * for a later resume; otherwise the partial is removed. Frees u; NULL ok.
 */
void cn_store_upload_abort(struct cn_store_upload *u, bool keep_partial);

/*
 * -CN_EEXIST if app/version exists with another hash (versions are
 * immutable), 0 otherwise. For refusing a push before its bytes arrive.
 */
int cn_store_check_version(struct cn_store *s, const struct cn_deploy_manifest *m,
			   struct cn_errbuf *e);
/*
 * Makes app/version from an existing object and the signed manifest bytes.
 * Same version and hash again: the manifest (its time) is replaced.
 */
int cn_store_install(struct cn_store *s, const struct cn_deploy_manifest *m,
		     const uint8_t *manifest, size_t manifest_len, struct cn_errbuf *e);
/*
 * Points app's `current` at version (which must exist). prev (cap bytes)
 * receives the version it pointed at before, "" when none.
 */
int cn_store_activate(struct cn_store *s, const char *app, const char *version, char *prev,
		      size_t cap, struct cn_errbuf *e);
/* Removes `current` (a first activation whose hook failed). */
int cn_store_deactivate(struct cn_store *s, const char *app, struct cn_errbuf *e);
/* The current version of app into ver; -CN_ENOTFOUND when none. */
int cn_store_current(struct cn_store *s, const char *app, char *ver, size_t cap);
/* The newest version (by manifest time) older than current; -CN_ENOTFOUND. */
int cn_store_previous(struct cn_store *s, const char *app, char *ver, size_t cap,
		      struct cn_errbuf *e);
/* Keeps the current version and the `keep` newest others; collects objects. */
int cn_store_prune(struct cn_store *s, const char *app, struct cn_errbuf *e);
/*
 * Versions of app (NULL or "": every app), newest first per app, at most
 * cap. Unreadable entries are skipped.
 */
int cn_store_list(struct cn_store *s, const char *app, struct cn_store_entry *out, size_t cap,
		  size_t *count, struct cn_errbuf *e);
/* DIR/apps/<app>/<version>/artifact and the version directory. */
int cn_store_artifact_path(struct cn_store *s, const char *app, const char *version, char *out,
			   size_t cap);
int cn_store_version_dir(struct cn_store *s, const char *app, const char *version, char *out,
			 size_t cap);

#endif
