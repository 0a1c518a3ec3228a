/* SPDX-License-Identifier: MIT */
#include "common/file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/durable.h"

int cn_file_read(const char *path, size_t max, char **out, size_t *len, struct cn_errbuf *e)
{
	char *buf = NULL;
	size_t n = 0, cap;
	struct stat st;
	int fd, ret = -CN_EIO;

	*out = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		cn_errbuf_set(e, "%s: cannot open: %s", path, strerror(errno));
		return -CN_EIO;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		cn_errbuf_set(e, "%s: not a regular file", path);
		goto out;
	}
	if ((size_t)st.st_size > max) {
		cn_errbuf_set(e, "%s: %lld bytes, more than the %zu allowed", path,
			      (long long)st.st_size, max);
		ret = -CN_ETOOBIG;
		goto out;
	}
	/* Read to EOF rather than trusting st_size: the file may change. */
	cap = (size_t)st.st_size + 1;
	buf = malloc(cap + 1);
	if (!buf) {
		ret = -CN_ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t r = read(fd, buf + n, cap - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			cn_errbuf_set(e, "%s: cannot read: %s", path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n == cap) {
			cn_errbuf_set(e, "%s: changed while being read", path);
			goto out;
		}
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	buf = NULL;
	ret = 0;
out:
	free(buf);
	close(fd);
	return ret;
}

int cn_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
			 struct cn_errbuf *e)
{
	char tmp[PATH_MAX];
	int fd = -1, ret = -CN_EIO;
	bool tmp_made = false;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof(tmp)) {
		cn_errbuf_set(e, "%s: path too long", path);
		return -CN_EINVAL;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0) {
		cn_errbuf_set(e, "%s: cannot create: %s", tmp, strerror(errno));
		goto out;
	}
	tmp_made = true;
	if (fchmod(fd, mode) != 0 || cn_write_all(fd, data, len) != 0 || fsync(fd) != 0) {
		cn_errbuf_set(e, "%s: cannot write: %s", tmp, strerror(errno));
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		cn_errbuf_set(e, "%s: cannot write: %s", tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		cn_errbuf_set(e, "%s: cannot rename into place: %s", path, strerror(errno));
		goto out;
	}
	tmp_made = false;
	cn_dirsync(path); /* the rename itself */
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	if (tmp_made)
		unlink(tmp);
	return ret;
}
