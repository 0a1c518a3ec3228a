/* SPDX-License-Identifier: MIT */
/*
 * Whole-file reads with a size cap and crash-safe whole-file writes, for
 * peer lists, state files and the CLI. Key files have their own code in
 * crypto/keys.c (mode checks, wiping, create without replacing), which
 * shares the durable write's pieces (common/durable.h).
 */
#ifndef CN_COMMON_FILE_H
#define CN_COMMON_FILE_H

#include <stddef.h>
#include <sys/types.h>

#include "common/err.h"

/*
 * Reads all of path into *out (malloc'd, caller frees; a NUL is appended
 * but not counted in *len). -CN_ETOOBIG if larger than max bytes, -CN_EIO
 * otherwise; e gets a one-line reason naming the path.
 */
int cn_file_read(const char *path, size_t max, char **out, size_t *len, struct cn_errbuf *e);

/*
 * Replaces path with data: writes "path.tmp.PID" with mode, fsyncs it,
 * renames it over path and fsyncs the directory. On any failure the old
 * file is untouched and the temporary file removed.
 */
int cn_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
			 struct cn_errbuf *e);

#endif
