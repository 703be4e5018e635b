#include "lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file.h"
#include "units.h"

static char *
lock_path(const char *store_path)
{
	size_t n = strlen(store_path) + sizeof(".lock");
	char *p = malloc(n);

	if (p)
		snprintf(p, n, "%s.lock", store_path);
	return p;
}

/* Is the inherited descriptor named by CYBIL_LOCK_FD the lock file at
 * PATH, already locked by our parent? Locking it again through the same
 * open file succeeds at once; a stranger's descriptor would not. */
static int
adopt_inherited(const char *path)
{
	const char *env = getenv(LOCK_ENV), *why;
	struct stat fd_st, path_st;
	uint64_t fd;

	if (!env || units_parse_uint(env, 0, 65535, &fd, &why) < 0)
		return -1;
	if (fstat((int)fd, &fd_st) < 0 || stat(path, &path_st) < 0 ||
	    fd_st.st_dev != path_st.st_dev || fd_st.st_ino != path_st.st_ino)
		return -1;
	if (flock((int)fd, LOCK_EX | LOCK_NB) < 0)
		return -1;
	return (int)fd;
}

/* The pid written by the holder, for a helpful message. */
static long
holder_pid(int fd)
{
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

static void
record_pid(int fd)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());

	/* Only informative: a failure here does not weaken the lock. */
	if (ftruncate(fd, 0) == 0 && pwrite(fd, buf, (size_t)n, 0) < 0)
		return;
}

int
lock_acquire(const char *store_path, struct run_lock *lock, char *err,
	size_t errlen)
{
	char *path = lock_path(store_path);
	int fd, rc = LOCK_ERROR;
	long pid;

	lock->fd = -1;
	lock->inherited = 0;
	if (!path) {
		snprintf(err, errlen, "out of memory");
		return LOCK_ERROR;
	}
	if ((fd = adopt_inherited(path)) >= 0) {
		lock->fd = fd;
		lock->inherited = 1;
		rc = LOCK_HELD;
		goto out;
	}
	if (file_make_parent_dirs(path) < 0) {
		snprintf(err, errlen, "%s: cannot create its folder: %s", path,
			strerror(errno));
		goto out;
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK) {
			char holder[32] = "";

			if ((pid = holder_pid(fd)) > 0)
				snprintf(holder, sizeof(holder), " (pid %ld)",
					pid);
			snprintf(err, errlen, "%s is locked by another run%s; "
				"try later", store_path, holder);
			rc = LOCK_BUSY;
		} else {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		}
		close(fd);
		goto out;
	}
	record_pid(fd);
	lock->fd = fd;
	rc = LOCK_HELD;
out:
	free(path);
	return rc;
}

int
lock_share_with_children(const struct run_lock *lock)
{
	char buf[16];
	int flags = fcntl(lock->fd, F_GETFD);

	if (flags < 0 || fcntl(lock->fd, F_SETFD, flags & ~FD_CLOEXEC) < 0)
		return -1;
	snprintf(buf, sizeof(buf), "%d", lock->fd);
	return setenv(LOCK_ENV, buf, 1);
}

void
lock_release(struct run_lock *lock)
{
	if (lock->fd >= 0 && !lock->inherited)
		close(lock->fd);
	lock->fd = -1;
}
