/* Files and folders: bounded reads, durable writes and replacements. */
#ifndef CYBIL_FILE_H
#define CYBIL_FILE_H

#include <stddef.h>
#include <sys/types.h>

/* Results of file_read_all. */
enum {
	FILE_OK = 0,
	FILE_ERROR = -1,	/* I/O or memory */
	FILE_REFUSED = -2	/* not a regular file, or too large */
};

/* Creates the folders leading to PATH (mkdir -p of its dirname, mode
 * 0755). Returns 0, or -1 with errno set. */
int file_make_parent_dirs(const char *path);

/* fsync(2) of the folder DIR, or of the folder holding PATH, so that a
 * rename, link or unlink in it is durable. Return 0, or -1 with errno. */
int file_sync_dir(const char *dir);
int file_sync_parent(const char *path);

/* Whether files can be created beside PATH (as SQLite's -wal and -shm
 * must be): 0, or -1 with errno (EROFS, EACCES ...). */
int file_parent_writable(const char *path);

/* Writes all LEN bytes to FD, retrying short writes. Returns 0, or -1
 * with errno set. */
int file_write_all(int fd, const void *data, size_t len);

/* Reads the whole regular file at PATH, at most MAX bytes, into an owned
 * NUL-terminated *OUT of *LEN bytes. A larger file, or one that is not a
 * regular file, is refused before it is read. Returns FILE_OK, or
 * FILE_ERROR or FILE_REFUSED with a message naming PATH in ERR. */
int file_read_all(const char *path, size_t max, char **out, size_t *len,
	char *err, size_t errlen);

/* Replaces (or creates) PATH with the LEN bytes of DATA durably: a temp
 * file beside it with MODE, synced, renamed over PATH, the folder
 * synced. Readers see the old file or the new one, never a part.
 * Returns 0, or -1 with a message naming the file in ERR. */
int file_replace(const char *path, const void *data, size_t len,
	mode_t mode, char *err, size_t errlen);

/* Removes PATH and, when it is a folder, everything in it; symbolic
 * links are removed, never followed. A missing PATH is not an error.
 * Returns 0, or -1 with errno set. */
int file_remove_tree(const char *path);

#endif
