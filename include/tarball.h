/* Release archives (SPEC §6): deterministic .tar.zst files written with
 * libarchive and read back safely under limits. Named "tarball" so that
 * neither the header nor the tarball_ prefix clashes with libarchive's own
 * <archive.h> and archive_* names.
 *
 * The writer makes a pax-restricted tar of regular files only, sorted by
 * name, uid/gid 0, empty uname/gname, mode 0644, mtime = the release time,
 * no other times and no extended attributes, compressed with libarchive's
 * built-in zstd filter (libzstd); it refuses to run if libarchive would
 * fall back to an external zstd program. The same entries, time, level
 * and threads (threads >= 1) give byte-identical files for a given
 * libarchive and libzstd version.
 *
 * The reader decompresses with libzstd itself, so the cap on uncompressed
 * bytes is exact, and accepts only a tar of regular files with safe,
 * distinct names (tarball_name_valid). */
#ifndef CYBIL_TARBALL_H
#define CYBIL_TARBALL_H

#include <stddef.h>
#include <stdint.h>

#include "hash.h"

/* Longest member name, in bytes. */
#define TARBALL_NAME_MAX 255
/* Zstd settings the writer accepts (levels as libzstd counts them). */
#define TARBALL_LEVEL_MIN 1
#define TARBALL_LEVEL_MAX 19
#define TARBALL_THREADS_MAX 64

/* Reader limits used for a field left 0 in struct tarball_limits. */
#define TARBALL_DEFAULT_MAX_TOTAL ((uint64_t)1 << 30)	/* 1 GiB */
#define TARBALL_DEFAULT_MAX_ENTRY ((uint64_t)512 << 20)	/* 512 MiB */
#define TARBALL_DEFAULT_MAX_ENTRIES 1024

/* One member to write: LEN bytes at DATA, or, when DATA is NULL, the
 * regular file at PATH (read while writing; it must not change). */
struct tarball_entry {
	const char *name;
	const void *data;
	size_t len;
	const char *path;
};

struct tarball_settings {
	int64_t mtime;		/* the release time, seconds since the epoch */
	int level;		/* TARBALL_LEVEL_MIN..TARBALL_LEVEL_MAX */
	int threads;		/* 1..TARBALL_THREADS_MAX; any count gives the
				 * same bytes, 0 (single-threaded zstd) would
				 * not, so it is refused */
};

struct tarball_limits {
	uint64_t max_total;	/* bytes of the whole uncompressed tar
				 * stream: headers, data and padding */
	uint64_t max_entry;	/* bytes of one member's data */
	size_t max_entries;
};

/* A member read back: DATA holds LEN bytes and a NUL after them. */
struct tarball_file {
	char *name;
	unsigned char *data;
	size_t len;
};

/* Called once per member in archive order; return 0 to go on, or -1 with
 * a message in ERR to stop the read with that error. DATA stays valid
 * only during the call. */
typedef int tarball_entry_fn(void *ctx, const char *name, const void *data,
	size_t len, char *err, size_t errlen);

/* Whether NAME may be a member: 1..TARBALL_NAME_MAX bytes of
 * A-Z a-z 0-9 . _ - + in components separated by single '/', no component
 * "." or "..", not absolute, no trailing '/'. Returns 1 or 0. */
int tarball_name_valid(const char *name);

/* Fails unless libarchive has zstd built in (libzstd linked, no external
 * program). Returns 0, or -1 with a message in ERR. */
int tarball_check_zstd(char *err, size_t errlen);

/* The libzstd version libarchive compresses with, or NULL without one;
 * it belongs to what makes a release reproducible. */
const char *tarball_zstd_version(void);

/* Writes the N ENTRIES (in any order; written sorted by name) to PATH as
 * a .tar.zst: a temp file in PATH's folder, fsynced, renamed over PATH,
 * the folder fsynced. hash_init_library() must have run. Returns 0 with
 * the file's sha256 in SHA256 and its size in *BYTES (either may be
 * NULL), or -1 with a message in ERR and no file left behind. */
int tarball_write(const char *path, const struct tarball_entry *entries,
	size_t n, const struct tarball_settings *settings,
	char sha256[HASH_HEX_SIZE], uint64_t *bytes, char *err,
	size_t errlen);

/* Reads the .tar.zst at PATH (or open file FD, read from its current
 * offset and not closed) within LIMITS (NULL: the defaults), calling FN
 * for each member. Refuses anything that is not a zstd-compressed tar of
 * regular files with valid, distinct names; a refused archive may have
 * had earlier members passed to FN. Returns 0, or -1 with a message
 * naming the member in ERR. */
int tarball_read(const char *path, const struct tarball_limits *limits,
	tarball_entry_fn *fn, void *ctx, char *err, size_t errlen);
int tarball_read_fd(int fd, const struct tarball_limits *limits,
	tarball_entry_fn *fn, void *ctx, char *err, size_t errlen);

/* Reads every member of PATH into *OUT (*N of them, in archive order),
 * as tarball_read. Returns 0, or -1 with a message in ERR and nothing to
 * free. */
int tarball_read_all(const char *path, const struct tarball_limits *limits,
	struct tarball_file **out, size_t *n, char *err, size_t errlen);
void tarball_files_free(struct tarball_file *files, size_t n);

#endif
