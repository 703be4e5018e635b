/* The run lock of SPEC §2: an exclusive flock(2) on STORE.lock beside the
 * store. The kernel drops it when its holder dies, so a killed run never
 * leaves a stale lock. A stage started by `cybil run` inherits the lock
 * through CYBIL_LOCK_FD instead of taking it. */
#ifndef CYBIL_LOCK_H
#define CYBIL_LOCK_H

#include <stddef.h>

#define LOCK_ENV "CYBIL_LOCK_FD"

enum {
	LOCK_HELD = 0,		/* taken or inherited */
	LOCK_BUSY = 1,		/* another run holds it: exit 75 */
	LOCK_ERROR = -1
};

struct run_lock {
	int fd;
	int inherited;
};

/* Takes the lock of the store at STORE_PATH without waiting, or adopts
 * the one named by CYBIL_LOCK_FD if it is the same file. Returns LOCK_HELD,
 * LOCK_BUSY or LOCK_ERROR, with a message in ERR for the last two. */
int lock_acquire(const char *store_path, struct run_lock *lock, char *err,
	size_t errlen);
/* Lets child processes inherit the lock: clears close-on-exec and sets
 * CYBIL_LOCK_FD. Returns 0 or -1. */
int lock_share_with_children(const struct run_lock *lock);
/* Releases a lock this process took; an inherited one stays with its
 * owner. */
void lock_release(struct run_lock *lock);

#endif
