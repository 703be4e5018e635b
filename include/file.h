/* Files and folders. */
#ifndef CYBIL_FILE_H
#define CYBIL_FILE_H

/* Creates the folders leading to PATH (mkdir -p of its dirname, mode
 * 0755). Returns 0, or -1 with errno set. */
int file_make_parent_dirs(const char *path);

#endif
