#include "file.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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
