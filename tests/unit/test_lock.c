/* Unit tests of include/lock.h: the run lock (flock on STORE.lock), taken
 * by one process at a time, inherited through CYBIL_LOCK_FD. Other
 * processes are forked children (and, for inheritance across exec, this
 * program run again in "child mode"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lock.h"

/* In child mode (this variable names a store path) the program only
 * calls lock_acquire and exits with one of these codes. */
#define CHILD_ENV "CYBIL_TEST_LOCK_CHILD"

enum child_result {
	CHILD_INHERITED = 10,	/* LOCK_HELD, inherited */
	CHILD_TAKEN = 11,	/* LOCK_HELD, taken afresh */
	CHILD_BUSY = 12,
	CHILD_ERROR = 13,
	CHILD_ODD = 14		/* something else went wrong */
};

struct fixture {
	char dir[64];
	char store[128];	/* DIR/cybil.db (never created) */
	char lockfile[160];	/* DIR/cybil.db.lock */
	struct run_lock lock;
	int other_fd;
};

static int
remove_entry(const char *path, const struct stat *sb, int type,
	struct FTW *ftw)
{
	(void)sb;
	(void)type;
	(void)ftw;
	return remove(path);
}

static int
setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/cybil-test-lock-XXXXXX");
	if (!mkdtemp(fx->dir)) {
		free(fx);
		return -1;
	}
	snprintf(fx->store, sizeof(fx->store), "%s/cybil.db", fx->dir);
	snprintf(fx->lockfile, sizeof(fx->lockfile), "%s.lock", fx->store);
	fx->lock.fd = -1;
	fx->other_fd = -1;
	unsetenv(LOCK_ENV);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;
	int rc = 0;

	if (fx->lock.fd >= 0) {
		fx->lock.inherited = 0;
		lock_release(&fx->lock);
	}
	if (fx->other_fd >= 0)
		close(fx->other_fd);
	unsetenv(LOCK_ENV);
	if (nftw(fx->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) < 0)
		rc = -1;
	free(fx);
	return rc;
}

static int
child_code(int rc, const struct run_lock *lock)
{
	switch (rc) {
	case LOCK_HELD:
		return lock->inherited ? CHILD_INHERITED : CHILD_TAKEN;
	case LOCK_BUSY:
		return CHILD_BUSY;
	case LOCK_ERROR:
		return CHILD_ERROR;
	default:
		return CHILD_ODD;
	}
}

/* Forks a child that calls lock_acquire on STORE and exits with its
 * child_result; its error message comes back in MSG. Returns the code. */
static int
acquire_in_child(const char *store, char *msg, size_t size)
{
	int fds[2], status;
	pid_t pid;
	ssize_t n;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct run_lock lock;
		char err[512] = "";
		int rc;

		close(fds[0]);
		rc = lock_acquire(store, &lock, err, sizeof(err));
		if (write(fds[1], err, strlen(err)) < 0)
			_exit(CHILD_ODD);
		_exit(child_code(rc, &lock));
	}
	close(fds[1]);
	n = read(fds[0], msg, size - 1);
	msg[n > 0 ? n : 0] = '\0';
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void
acquire_ok(struct fixture *fx)
{
	char err[512] = "";

	if (lock_acquire(fx->store, &fx->lock, err, sizeof(err)) != LOCK_HELD)
		fail_msg("lock_acquire: %s", err);
	assert_true(fx->lock.fd >= 0);
	assert_int_equal(fx->lock.inherited, 0);
}

static void
test_acquire_fresh_path(void **state)
{
	struct fixture *fx = *state;
	char buf[32] = "";
	struct stat st;
	FILE *f;

	acquire_ok(fx);
	assert_int_equal(stat(fx->lockfile, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	/* The holder's pid is written in the file, for messages. */
	f = fopen(fx->lockfile, "r");
	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	assert_int_equal(strtol(buf, NULL, 10), (long)getpid());
	/* Not leaked into programs the holder runs, unless shared. */
	assert_true(fcntl(fx->lock.fd, F_GETFD) & FD_CLOEXEC);
	assert_null(getenv(LOCK_ENV));
}

static void
test_second_acquisition_from_child_is_busy(void **state)
{
	struct fixture *fx = *state;
	char msg[512], pid[32];

	acquire_ok(fx);
	assert_int_equal(acquire_in_child(fx->store, msg, sizeof(msg)),
		CHILD_BUSY);
	assert_non_null(strstr(msg, "locked by another run"));
	assert_non_null(strstr(msg, fx->store));
	snprintf(pid, sizeof(pid), "(pid %ld)", (long)getpid());
	assert_non_null(strstr(msg, pid));
}

static void
test_release_lets_child_take_it(void **state)
{
	struct fixture *fx = *state;
	char msg[512];

	acquire_ok(fx);
	assert_int_equal(acquire_in_child(fx->store, msg, sizeof(msg)),
		CHILD_BUSY);
	lock_release(&fx->lock);
	assert_int_equal(fx->lock.fd, -1);
	assert_int_equal(acquire_in_child(fx->store, msg, sizeof(msg)),
		CHILD_TAKEN);
	/* And this process can take it again. */
	acquire_ok(fx);
}

static void
test_dead_holder_leaves_no_stale_lock(void **state)
{
	struct fixture *fx = *state;
	int ready[2], status;
	char c, err[512] = "";
	pid_t pid;

	assert_int_equal(pipe(ready), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct run_lock lock;

		close(ready[0]);
		if (lock_acquire(fx->store, &lock, err, sizeof(err)) !=
		    LOCK_HELD || write(ready[1], "x", 1) != 1)
			_exit(CHILD_ODD);
		for (;;)
			pause();
	}
	close(ready[1]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
	assert_int_equal(lock_acquire(fx->store, &fx->lock, err, sizeof(err)),
		LOCK_BUSY);
	assert_int_equal(fx->lock.fd, -1);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	acquire_ok(fx);
}

static void
test_shared_lock_is_inherited_by_child(void **state)
{
	struct fixture *fx = *state;
	char msg[512], expected[16];
	const char *env;

	acquire_ok(fx);
	assert_int_equal(lock_share_with_children(&fx->lock), 0);
	env = getenv(LOCK_ENV);
	assert_non_null(env);
	snprintf(expected, sizeof(expected), "%d", fx->lock.fd);
	assert_string_equal(env, expected);
	assert_int_equal(fcntl(fx->lock.fd, F_GETFD) & FD_CLOEXEC, 0);
	assert_int_equal(acquire_in_child(fx->store, msg, sizeof(msg)),
		CHILD_INHERITED);
}

static void
test_inherited_lock_reports_fd(void **state)
{
	struct fixture *fx = *state;
	int status, parent_fd;
	pid_t pid;

	acquire_ok(fx);
	parent_fd = fx->lock.fd;
	assert_int_equal(lock_share_with_children(&fx->lock), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct run_lock lock;
		char err[512];

		if (lock_acquire(fx->store, &lock, err, sizeof(err)) !=
		    LOCK_HELD || lock.inherited != 1 || lock.fd != parent_fd)
			_exit(1);
		/* Releasing an inherited lock leaves the descriptor to its
		 * owner. */
		lock_release(&lock);
		if (lock.fd != -1 || fcntl(parent_fd, F_GETFD) < 0)
			_exit(2);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void
test_shared_lock_is_inherited_across_exec(void **state)
{
	struct fixture *fx = *state;
	int status;
	pid_t pid;

	acquire_ok(fx);
	assert_int_equal(lock_share_with_children(&fx->lock), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char *const argv[] = { (char *)"test_lock", NULL };

		setenv(CHILD_ENV, fx->store, 1);
		execv("/proc/self/exe", argv);
		_exit(CHILD_ODD);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), CHILD_INHERITED);
}

static void
test_unshared_lock_is_not_inherited_across_exec(void **state)
{
	struct fixture *fx = *state;
	int status;
	pid_t pid;

	acquire_ok(fx);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char *const argv[] = { (char *)"test_lock", NULL };
		char fd[16];

		/* Even naming the descriptor does not help: close-on-exec
		 * closed it. */
		snprintf(fd, sizeof(fd), "%d", fx->lock.fd);
		setenv(LOCK_ENV, fd, 1);
		setenv(CHILD_ENV, fx->store, 1);
		execv("/proc/self/exe", argv);
		_exit(CHILD_ODD);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), CHILD_BUSY);
}

static void
test_unrelated_descriptor_not_adopted(void **state)
{
	struct fixture *fx = *state;
	char other[128], msg[512], fd[16];

	acquire_ok(fx);
	snprintf(other, sizeof(other), "%s/other", fx->dir);
	fx->other_fd = open(other, O_RDWR | O_CREAT, 0600);
	assert_true(fx->other_fd >= 0);
	snprintf(fd, sizeof(fd), "%d", fx->other_fd);
	assert_int_equal(setenv(LOCK_ENV, fd, 1), 0);
	assert_int_equal(acquire_in_child(fx->store, msg, sizeof(msg)),
		CHILD_BUSY);
	assert_non_null(strstr(msg, "locked by another run"));
}

static void
test_other_open_of_lock_file_not_adopted(void **state)
{
	struct fixture *fx = *state;
	char msg[512], fd[16];

	/* The same file, opened separately: not the holder's descriptor. */
	acquire_ok(fx);
	fx->other_fd = open(fx->lockfile, O_RDONLY);
	assert_true(fx->other_fd >= 0);
	snprintf(fd, sizeof(fd), "%d", fx->other_fd);
	assert_int_equal(setenv(LOCK_ENV, fd, 1), 0);
	assert_int_equal(acquire_in_child(fx->store, msg, sizeof(msg)),
		CHILD_BUSY);
}

static void
test_bad_environment_values_ignored(void **state)
{
	static const char *const values[] = { "", "abc", "-1", "+3", "99999",
		"3x", "1000", "2" };
	struct fixture *fx = *state;

	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		assert_int_equal(setenv(LOCK_ENV, values[i], 1), 0);
		acquire_ok(fx);
		lock_release(&fx->lock);
	}
}

static void
test_error_when_lock_file_cannot_be_made(void **state)
{
	struct fixture *fx = *state;
	char store[256], err[512] = "";
	struct run_lock lock;
	FILE *f;

	/* A regular file stands where the folder should be. */
	snprintf(store, sizeof(store), "%s/file", fx->dir);
	assert_non_null(f = fopen(store, "w"));
	fclose(f);
	snprintf(store, sizeof(store), "%s/file/cybil.db", fx->dir);
	assert_int_equal(lock_acquire(store, &lock, err, sizeof(err)),
		LOCK_ERROR);
	assert_int_equal(lock.fd, -1);
	assert_non_null(strstr(err, "cybil.db.lock"));
}

/* `cybil run` takes the lock before store_open creates the store's
 * folder, so the lock makes the folder itself (fresh install, no var/). */
static void
test_acquire_creates_store_folder(void **state)
{
	struct fixture *fx = *state;
	char store[256], lockfile[272], err[512] = "";
	struct stat st;

	snprintf(store, sizeof(store), "%s/var/db/cybil.db", fx->dir);
	if (lock_acquire(store, &fx->lock, err, sizeof(err)) != LOCK_HELD)
		fail_msg("lock_acquire: %s", err);
	snprintf(lockfile, sizeof(lockfile), "%s.lock", store);
	assert_int_equal(stat(lockfile, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(acquire_in_child(store, err, sizeof(err)),
		CHILD_BUSY);
}

static int
child_mode(const char *store)
{
	struct run_lock lock;
	char err[512];

	return child_code(lock_acquire(store, &lock, err, sizeof(err)),
		&lock);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_acquire_fresh_path),
		T(test_second_acquisition_from_child_is_busy),
		T(test_release_lets_child_take_it),
		T(test_dead_holder_leaves_no_stale_lock),
		T(test_shared_lock_is_inherited_by_child),
		T(test_inherited_lock_reports_fd),
		T(test_shared_lock_is_inherited_across_exec),
		T(test_unshared_lock_is_not_inherited_across_exec),
		T(test_unrelated_descriptor_not_adopted),
		T(test_other_open_of_lock_file_not_adopted),
		T(test_bad_environment_values_ignored),
		T(test_error_when_lock_file_cannot_be_made),
		T(test_acquire_creates_store_folder),
	};
	const char *child = getenv(CHILD_ENV);

	if (child)
		return child_mode(child);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
