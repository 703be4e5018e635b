/* Unit tests of include/log.h: one line per event on stderr, in the form
 * "LEVEL program: source=NAME message", filtered by level, with control
 * characters replaced. stderr is redirected to a temp file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

struct fixture {
	char dir[64];
	char file[128];
	int saved_stderr;	/* the real stderr while capturing */
	char *text;		/* what was captured */
};

static int
setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	int fd;

	if (!fx)
		return -1;
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/cybil-test-log-XXXXXX");
	if (!mkdtemp(fx->dir)) {
		free(fx);
		return -1;
	}
	snprintf(fx->file, sizeof(fx->file), "%s/stderr", fx->dir);
	fd = open(fx->file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return -1;
	fflush(stderr);
	fx->saved_stderr = dup(STDERR_FILENO);
	if (fx->saved_stderr < 0 || dup2(fd, STDERR_FILENO) < 0)
		return -1;
	close(fd);
	log_open("cybil-test");
	*state = fx;
	return 0;
}

/* Puts stderr back (once). */
static void
restore_stderr(struct fixture *fx)
{
	if (fx->saved_stderr < 0)
		return;
	fflush(stderr);
	dup2(fx->saved_stderr, STDERR_FILENO);
	close(fx->saved_stderr);
	fx->saved_stderr = -1;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;
	int rc = 0;

	restore_stderr(fx);
	log_set_level(LOG_LEVEL_INFO);
	free(fx->text);
	if (unlink(fx->file) < 0 || rmdir(fx->dir) < 0)
		rc = -1;
	free(fx);
	return rc;
}

/* Stops capturing and returns everything written to stderr. */
static const char *
captured(struct fixture *fx)
{
	FILE *f;
	long n;

	restore_stderr(fx);
	f = fopen(fx->file, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	free(fx->text);
	fx->text = malloc((size_t)n + 1);
	assert_non_null(fx->text);
	assert_int_equal(fread(fx->text, 1, (size_t)n, f), (size_t)n);
	fx->text[n] = '\0';
	fclose(f);
	return fx->text;
}

static size_t
count_char(const char *s, char c)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == c;
	return n;
}

static void
test_default_level_is_info(void **state)
{
	struct fixture *fx = *state;

	/* Runs first: nothing has set a level yet. */
	assert_int_equal(log_get_level(), LOG_LEVEL_INFO);
	log_info("shown");
	log_debug("hidden");
	assert_string_equal(captured(fx), "INFO cybil-test: shown\n");
}

static void
test_line_with_source(void **state)
{
	struct fixture *fx = *state;

	log_event(LOG_LEVEL_WARN, "news-feed", "got %d items from %s", 3,
		"https://e.example/feed");
	log_event(LOG_LEVEL_ERROR, "s1", "failed");
	assert_string_equal(captured(fx),
		"WARN cybil-test: source=news-feed got 3 items from "
		"https://e.example/feed\n"
		"ERROR cybil-test: source=s1 failed\n");
}

static void
test_line_without_source(void **state)
{
	struct fixture *fx = *state;

	log_open("cybil-fetch");
	log_error("cannot open %s", "x.db");
	log_warn("slow");
	log_info("%d done", 12);
	log_event(LOG_LEVEL_INFO, NULL, "explicit NULL source");
	assert_string_equal(captured(fx),
		"ERROR cybil-fetch: cannot open x.db\n"
		"WARN cybil-fetch: slow\n"
		"INFO cybil-fetch: 12 done\n"
		"INFO cybil-fetch: explicit NULL source\n");
}

static void
test_levels_above_threshold_dropped(void **state)
{
	struct fixture *fx = *state;

	log_set_level(LOG_LEVEL_WARN);
	assert_int_equal(log_get_level(), LOG_LEVEL_WARN);
	log_debug("d1");
	log_info("i1");
	log_warn("w1");
	log_error("e1");
	log_set_level(LOG_LEVEL_ERROR);
	log_warn("w2");
	log_error("e2");
	log_set_level(LOG_LEVEL_DEBUG);
	log_debug("d3");
	log_event(LOG_LEVEL_DEBUG, "src", "d4");
	assert_string_equal(captured(fx),
		"WARN cybil-test: w1\n"
		"ERROR cybil-test: e1\n"
		"ERROR cybil-test: e2\n"
		"DEBUG cybil-test: d3\n"
		"DEBUG cybil-test: source=src d4\n");
}

static void
test_control_characters_replaced(void **state)
{
	struct fixture *fx = *state;
	const char *out;

	log_event(LOG_LEVEL_WARN, "s", "title: %s", "evil\nINFO cybil-test: "
		"forged\rline\tend\x1b[31m\x7f!");
	out = captured(fx);
	assert_int_equal(count_char(out, '\n'), 1);
	assert_null(strchr(out, '\r'));
	assert_null(strchr(out, '\t'));
	assert_null(strchr(out, '\x1b'));
	assert_null(strchr(out, '\x7f'));
	assert_string_equal(out, "WARN cybil-test: source=s title: "
		"evil?INFO cybil-test: forged?line?end?[31m?!\n");
}

static void
test_newline_in_format_replaced(void **state)
{
	struct fixture *fx = *state;

	log_info("two\nlines\n");
	assert_string_equal(captured(fx), "INFO cybil-test: two?lines?\n");
}

static void
test_utf8_and_percent_kept(void **state)
{
	struct fixture *fx = *state;

	log_info("%s", "caf\xc3\xa9 100%s \xe2\x80\x94 ok");
	assert_string_equal(captured(fx),
		"INFO cybil-test: caf\xc3\xa9 100%s \xe2\x80\x94 ok\n");
}

static void
test_long_message_stays_one_line(void **state)
{
	struct fixture *fx = *state;
	size_t n = 20000;
	char *big = malloc(n + 1);
	const char *out;

	assert_non_null(big);
	memset(big, 'a', n);
	big[n] = '\0';
	big[n / 2] = '\n';
	log_event(LOG_LEVEL_ERROR, "s", "%s", big);
	free(big);
	out = captured(fx);
	assert_int_equal(count_char(out, '\n'), 1);
	assert_int_equal(out[strlen(out) - 1], '\n');
	assert_int_equal(strncmp(out, "ERROR cybil-test: source=s aaa", 30),
		0);
	/* Cut, not the whole document. */
	assert_true(strlen(out) < n);
	assert_true(strlen(out) > 1000);
}

static void
vlog_helper(enum log_level level, const char *source, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
vlog_helper(enum log_level level, const char *source, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_eventv(level, source, fmt, ap);
	va_end(ap);
}

static void
test_log_eventv(void **state)
{
	struct fixture *fx = *state;

	vlog_helper(LOG_LEVEL_INFO, "v", "%s=%d", "x", 42);
	vlog_helper(LOG_LEVEL_DEBUG, "v", "dropped");
	assert_string_equal(captured(fx), "INFO cybil-test: source=v x=42\n");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_default_level_is_info),
		T(test_line_with_source),
		T(test_line_without_source),
		T(test_levels_above_threshold_dropped),
		T(test_control_characters_replaced),
		T(test_newline_in_format_replaced),
		T(test_utf8_and_percent_kept),
		T(test_long_message_stays_one_line),
		T(test_log_eventv),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
