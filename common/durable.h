/* SPDX-License-Identifier: MIT */
/*
 * The pieces of a crash-safe file write that common/file.c and the key
 * files of crypto/keys.c share: write all of a buffer, and once the
 * fsynced temporary file has been renamed (or linked) to its name, fsync
 * the directory too, or a power cut can take the new name back.
 *
 * Header-only (cn_headers): crypto/ uses it without linking anything.
 */
#ifndef CN_COMMON_DURABLE_H
#define CN_COMMON_DURABLE_H

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <unistd.h>

/* Writes all n bytes (EINTR retried); -1 with errno on failure. */
static inline int cn_write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* fsyncs the directory path is in. Best effort: the file itself is already durable. */
static inline void cn_dirsync(const char *path)
{
	char dir[PATH_MAX];
	int fd;

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return;
	fd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
}

#endif
