#define _GNU_SOURCE	/* mkostemp */
#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int
make_dir(const char *dir)
{
	struct stat st;

	if (mkdir(dir, 0755) == 0)
		return 0;
	if (errno != EEXIST)
		return -1;
	if (stat(dir, &st) < 0)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return 0;
}

int
file_make_parent_dirs(const char *path)
{
	char *dir = strdup(path), *p;
	int rc = -1, saved;

	if (!dir)
		return -1;
	p = strrchr(dir, '/');
	if (!p || p == dir) {
		rc = 0;
		goto out;
	}
	*p = '\0';
	for (p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (make_dir(dir) < 0)
			goto out;
		*p = '/';
	}
	rc = make_dir(dir);
out:
	saved = errno;
	free(dir);
	errno = saved;
	return rc;
}

int
file_sync_dir(const char *dir)
{
	int fd, rc, saved;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	rc = fsync(fd);
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

int
file_sync_parent(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int rc, saved;

	if (!slash)
		return file_sync_dir(".");
	if (slash == path)
		return file_sync_dir("/");
	if (!(dir = strndup(path, (size_t)(slash - path))))
		return -1;
	rc = file_sync_dir(dir);
	saved = errno;
	free(dir);
	errno = saved;
	return rc;
}

int
file_parent_writable(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int rc, saved;

	if (!slash)
		return access(".", W_OK);
	if (slash == path)
		return access("/", W_OK);
	if (!(dir = strndup(path, (size_t)(slash - path))))
		return -1;
	rc = access(dir, W_OK);
	saved = errno;
	free(dir);
	errno = saved;
	return rc;
}

int
file_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, p, len)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int __attribute__((format(printf, 4, 5)))
fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return rc;
}

/* Reads FD to its end into BUF of CAP bytes; *LEN gets the count. */
static int
read_up_to(int fd, char *buf, size_t cap, size_t *len)
{
	ssize_t n;

	*len = 0;
	while (*len < cap) {
		if ((n = read(fd, buf + *len, cap - *len)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			break;
		*len += (size_t)n;
	}
	return 0;
}

int
file_read_all(const char *path, size_t max, char **out, size_t *lenout,
	char *err, size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	size_t len, cap;
	int fd, rc = FILE_ERROR;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return fail(err, errlen, FILE_ERROR, "%s: %s", path,
			strerror(errno));
	if (fstat(fd, &st) < 0) {
		fail(err, errlen, rc, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = fail(err, errlen, FILE_REFUSED, "%s: not a regular file",
			path);
		goto out;
	}
	if ((uint64_t)st.st_size > max) {
		rc = fail(err, errlen, FILE_REFUSED, "%s: larger than %zu "
			"bytes", path, max);
		goto out;
	}
	/* Room for one byte more than its size, to notice a file that
	 * grew while it was read. */
	cap = (size_t)st.st_size + 1;
	if (!(buf = malloc(cap + 1))) {
		fail(err, errlen, rc, "out of memory");
		goto out;
	}
	if (read_up_to(fd, buf, cap, &len) < 0) {
		fail(err, errlen, rc, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (len == cap) {
		fail(err, errlen, rc, "%s: changed while it was read", path);
		goto out;
	}
	buf[len] = '\0';
	*out = buf;
	*lenout = len;
	buf = NULL;
	rc = FILE_OK;
out:
	free(buf);
	close(fd);
	return rc;
}

int
file_replace(const char *path, const void *data, size_t len, mode_t mode,
	char *err, size_t errlen)
{
	size_t n = strlen(path) + sizeof(".XXXXXX");
	char *tmp = malloc(n);
	int fd, rc = -1;

	if (!tmp)
		return fail(err, errlen, -1, "out of memory");
	snprintf(tmp, n, "%s.XXXXXX", path);
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
		fail(err, errlen, -1, "cannot create %s: %s", tmp,
			strerror(errno));
		free(tmp);
		return -1;
	}
	if (fchmod(fd, mode) < 0 || file_write_all(fd, data, len) < 0 ||
	    fsync(fd) < 0) {
		fail(err, errlen, -1, "%s: %s", tmp, strerror(errno));
		close(fd);
		goto out;
	}
	if (close(fd) != 0 || rename(tmp, path) < 0) {
		fail(err, errlen, -1, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (file_sync_parent(path) < 0) {
		fail(err, errlen, -1, "%s: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (rc < 0)
		unlink(tmp);
	free(tmp);
	return rc;
}

static int
remove_entry(const char *path, const struct stat *st, int flag,
	struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		return rmdir(path);
	return unlink(path);
}

int
file_remove_tree(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlink(path);
	return nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}
