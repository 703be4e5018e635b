/* Unit tests of include/config.h: defaults of SPEC §3, values, path
 * resolution, strict validation with "FILE:LINE: key: why" errors, and
 * config_locate. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

struct fixture {
	char dir[64];
	char path[128];	/* DIR/cybil.conf */
	char cwd[PATH_MAX];	/* restored after config_locate tests */
	char err[2048];
	struct config *cfg;
	char *text;		/* a generated config, freed at teardown */
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
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/cybil-test-config-XXXXXX");
	if (!mkdtemp(fx->dir) || !getcwd(fx->cwd, sizeof(fx->cwd))) {
		free(fx);
		return -1;
	}
	snprintf(fx->path, sizeof(fx->path), "%s/cybil.conf", fx->dir);
	unsetenv("CYBIL_CONFIG");
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;
	int rc;

	config_free(fx->cfg);
	free(fx->text);
	rc = chdir(fx->cwd);
	unsetenv("CYBIL_CONFIG");
	if (nftw(fx->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) < 0)
		rc = -1;
	free(fx);
	return rc;
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* Writes TEXT as the config and loads it; fails the test if refused. */
static struct config *
load_ok(struct fixture *fx, const char *text)
{
	config_free(fx->cfg);
	fx->cfg = NULL;
	write_file(fx->path, text);
	fx->err[0] = '\0';
	if (config_load(fx->path, &fx->cfg, fx->err, sizeof(fx->err)) != 0)
		fail_msg("config refused: %s", fx->err);
	assert_non_null(fx->cfg);
	return fx->cfg;
}

/* Writes TEXT as the config and checks that loading it fails with
 * "PATH:LINE: KEY: ..." (or "PATH:LINE: ..." without KEY) and that the
 * message contains WHY_PART when given. */
static void
expect_error(struct fixture *fx, const char *text, int line, const char *key,
	const char *why_part)
{
	char prefix[PATH_MAX + 200];
	struct config *cfg = (struct config *)&cfg;	/* not NULL */
	int rc;

	write_file(fx->path, text);
	fx->err[0] = '\0';
	rc = config_load(fx->path, &cfg, fx->err, sizeof(fx->err));
	if (rc == 0) {
		config_free(cfg);
		fail_msg("config accepted; expected an error at line %d%s%s",
			line, key ? " for " : "", key ? key : "");
	}
	assert_int_equal(rc, -1);
	assert_null(cfg);
	if (key)
		snprintf(prefix, sizeof(prefix), "%s:%d: %s: ", fx->path, line,
			key);
	else
		snprintf(prefix, sizeof(prefix), "%s:%d: ", fx->path, line);
	if (strncmp(fx->err, prefix, strlen(prefix)) != 0)
		fail_msg("error \"%s\" does not start with \"%s\"", fx->err,
			prefix);
	if (why_part && !strstr(fx->err, why_part))
		fail_msg("error \"%s\" lacks \"%s\"", fx->err, why_part);
}

/* PATH joined to the fixture's folder. */
static const char *
in_dir(const struct fixture *fx, const char *rel, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s", fx->dir, rel);
	return buf;
}

/* ------------------------------------------------------------------ */
/* Defaults */

static void
test_global_defaults_when_keys_absent(void **state)
{
	struct fixture *fx = *state;
	struct config *cfg = load_ok(fx, "# nothing but a comment\n");
	char buf[512];

	assert_string_equal(cfg->path, fx->path);
	assert_string_equal(cfg->dir, fx->dir);
	assert_string_equal(cfg->store_path,
		in_dir(fx, "var/cybil.db", buf, sizeof(buf)));
	assert_string_equal(cfg->blobs_dir,
		in_dir(fx, "var/blobs", buf, sizeof(buf)));
	assert_string_equal(cfg->evidence_dir,
		in_dir(fx, "var/evidence", buf, sizeof(buf)));
	assert_false(cfg->syslog);

	assert_int_equal(cfg->fetch_parallel, 16);
	assert_int_equal(cfg->fetch_per_host, 4);
	assert_int_equal(cfg->fetch_timeout, 30);
	assert_int_equal(cfg->fetch_deadline, 3600);
	assert_int_equal(cfg->fetch_max_bytes, 50ull * 1024 * 1024);
	assert_int_equal(cfg->fetch_redirects, 5);
	assert_int_equal(cfg->fetch_retries, 3);
	assert_int_equal(cfg->fetch_retry_after_max, 300);
	assert_string_equal(cfg->user_agent, "cybil/" CYBIL_VERSION);
	assert_null(cfg->ca_file);
	assert_false(cfg->allow_private);

	assert_int_equal(cfg->parse_max_records, 100000);
	assert_int_equal(cfg->parse_max_field, 1024 * 1024);
	assert_int_equal(cfg->parse_entity_budget, 1024 * 1024);
	assert_string_equal(cfg->language, "en");

	assert_string_equal(cfg->publish_dir,
		in_dir(fx, "var/public", buf, sizeof(buf)));
	assert_string_equal(cfg->publish_key,
		in_dir(fx, "var/keys/cybil.key", buf, sizeof(buf)));
	assert_int_equal(cfg->publish_expires, 7 * 86400);
	assert_int_equal(cfg->publish_keep, 20);
	assert_int_equal(cfg->publish_max_drop, 1000);
	assert_int_equal(cfg->publish_level, 3);
	assert_int_equal(cfg->publish_threads, 2);
	assert_null(cfg->publish_title);
	assert_null(cfg->publish_name);
	assert_null(cfg->publish_licence);
	assert_null(cfg->publish_homepage);

	assert_string_equal(cfg->review_listen, "127.0.0.1:8470");
	assert_null(cfg->review_tls_cert);
	assert_null(cfg->review_tls_key);
	assert_int_equal(cfg->secure_cookies, -1);
	assert_int_equal(cfg->review_session_ttl, 8 * 3600);

	assert_int_equal(cfg->nsources, 0);
	assert_null(config_source(cfg, "anything"));
}

static void
test_empty_sections_keep_defaults(void **state)
{
	struct fixture *fx = *state;
	struct config *cfg = load_ok(fx, "[store]\n[log]\n[fetch]\n[parse]\n"
		"[publish]\n[review]\n");

	assert_int_equal(cfg->fetch_parallel, 16);
	assert_int_equal(cfg->publish_keep, 20);
	assert_string_equal(cfg->language, "en");
	assert_int_equal(cfg->nsources, 0);
}

static void
test_source_defaults_per_kind(void **state)
{
	static const struct {
		const char *name, *kind, *record_kind;
		enum source_kind value;
		bool robots;
	} kinds[] = {
		{ "r", "rss", "news", SOURCE_RSS, false },
		{ "a", "atom", "news", SOURCE_ATOM, false },
		{ "h", "html", "page", SOURCE_HTML, true },
		{ "i", "iati", "project", SOURCE_IATI, false },
		{ "o", "oai-pmh", "publication", SOURCE_OAI_PMH, false },
	};
	struct fixture *fx = *state;
	struct config *cfg;
	char text[4096];
	size_t used = 0;

	for (size_t i = 0; i < 5; i++)
		used += (size_t)snprintf(text + used, sizeof(text) - used,
			"[source \"%s\"]\nkind = %s\n"
			"url = https://Feeds.Example.ORG:8443/%s?x=1\n\n",
			kinds[i].name, kinds[i].kind, kinds[i].kind);
	cfg = load_ok(fx, text);
	assert_int_equal(cfg->nsources, 5);
	for (size_t i = 0; i < 5; i++) {
		const struct source_config *src = config_source(cfg,
			kinds[i].name);

		assert_non_null(src);
		assert_ptr_equal(src, &cfg->sources[i]);
		assert_string_equal(src->name, kinds[i].name);
		assert_int_equal(src->kind, kinds[i].value);
		assert_string_equal(config_kind_name(src->kind),
			kinds[i].kind);
		assert_non_null(strstr(src->url, "https://Feeds.Example.ORG"));
		assert_string_equal(src->record_kind, kinds[i].record_kind);
		assert_false(src->consent_public);
		assert_true(src->repend_on_change);
		assert_int_equal(src->gone_max_share, 2000);
		assert_int_equal(src->interval, 86400);
		assert_null(src->licence);
		assert_null(src->attribution);
		assert_false(src->allow_file);
		assert_int_equal(src->robots, kinds[i].robots);
		assert_null(src->follow);
		assert_int_equal(src->nfollow_hosts, 1);
		assert_string_equal(src->follow_hosts[0],
			"feeds.example.org");
		assert_int_equal(src->follow_max, 500);
		assert_null(src->record);
		assert_int_equal(src->nfields, 0);
		assert_string_equal(src->oai_prefix, "oai_dc");
		assert_null(src->oai_set);
		assert_int_equal(src->line, 1 + 4 * (int)i);
	}
}

/* ------------------------------------------------------------------ */
/* Values */

static void
test_global_values_parsed(void **state)
{
	struct fixture *fx = *state;
	struct config *cfg = load_ok(fx,
		"[store]\n"
		"path = /srv/cybil/store.db\n"
		"blobs = blobs\n"
		"evidence = ../evidence\n"
		"[log]\n"
		"syslog = yes\n"
		"[fetch]\n"
		"parallel = 8\n"
		"per_host = 2\n"
		"timeout = 1m30s\n"
		"deadline = 2h\n"
		"max_bytes = 4K\n"
		"redirects = 0\n"
		"retries = 20\n"
		"retry_after_max = 0\n"
		"user_agent = mybot/VERSION (+https://example.org/VERSION)\n"
		"ca_file = ca.pem\n"
		"allow_private = on\n"
		"[parse]\n"
		"max_records = 7\n"
		"max_field = 64\n"
		"entity_budget = 0\n"
		"language = pt-BR\n"
		"[publish]\n"
		"dir = /var/www/cybil\n"
		"key = keys/k.key\n"
		"expires = 1d\n"
		"keep = 3\n"
		"max_drop = 12.5%\n"
		"level = 19\n"
		"threads = 1\n"
		"title = The Cybil portal\n"
		"name = cybil-portal_1.0\n"
		"licence = CC-BY-4.0\n"
		"homepage = https://cybilportal.example/\n"
		"[review]\n"
		"listen = 0.0.0.0:9000\n"
		"tls_cert = tls/cert.pem\n"
		"tls_key = /etc/tls/key.pem\n"
		"secure_cookies = yes\n"
		"session_ttl = 30m\n");
	char buf[512];

	assert_string_equal(cfg->store_path, "/srv/cybil/store.db");
	assert_string_equal(cfg->blobs_dir, in_dir(fx, "blobs", buf,
		sizeof(buf)));
	assert_string_equal(cfg->evidence_dir, in_dir(fx, "../evidence", buf,
		sizeof(buf)));
	assert_true(cfg->syslog);
	assert_int_equal(cfg->fetch_parallel, 8);
	assert_int_equal(cfg->fetch_per_host, 2);
	assert_int_equal(cfg->fetch_timeout, 90);
	assert_int_equal(cfg->fetch_deadline, 7200);
	assert_int_equal(cfg->fetch_max_bytes, 4096);
	assert_int_equal(cfg->fetch_redirects, 0);
	assert_int_equal(cfg->fetch_retries, 20);
	assert_int_equal(cfg->fetch_retry_after_max, 0);
	assert_string_equal(cfg->user_agent, "mybot/" CYBIL_VERSION
		" (+https://example.org/" CYBIL_VERSION ")");
	assert_string_equal(cfg->ca_file, in_dir(fx, "ca.pem", buf,
		sizeof(buf)));
	assert_true(cfg->allow_private);
	assert_int_equal(cfg->parse_max_records, 7);
	assert_int_equal(cfg->parse_max_field, 64);
	assert_int_equal(cfg->parse_entity_budget, 0);
	assert_string_equal(cfg->language, "pt-BR");
	assert_string_equal(cfg->publish_dir, "/var/www/cybil");
	assert_string_equal(cfg->publish_key, in_dir(fx, "keys/k.key", buf,
		sizeof(buf)));
	assert_int_equal(cfg->publish_expires, 86400);
	assert_int_equal(cfg->publish_keep, 3);
	assert_int_equal(cfg->publish_max_drop, 1250);
	assert_int_equal(cfg->publish_level, 19);
	assert_int_equal(cfg->publish_threads, 1);
	assert_string_equal(cfg->publish_title, "The Cybil portal");
	assert_string_equal(cfg->publish_name, "cybil-portal_1.0");
	assert_string_equal(cfg->publish_licence, "CC-BY-4.0");
	assert_string_equal(cfg->publish_homepage,
		"https://cybilportal.example/");
	assert_string_equal(cfg->review_listen, "0.0.0.0:9000");
	assert_string_equal(cfg->review_tls_cert, in_dir(fx, "tls/cert.pem",
		buf, sizeof(buf)));
	assert_string_equal(cfg->review_tls_key, "/etc/tls/key.pem");
	assert_int_equal(cfg->secure_cookies, 1);
	assert_int_equal(cfg->review_session_ttl, 1800);
}

static void
test_source_values_parsed(void **state)
{
	struct fixture *fx = *state;
	struct config *cfg = load_ok(fx,
		"[source \"ejcn-pages\"]\n"
		"kind = html\n"
		"url = https://www.Example.org/actors/\n"
		"record_kind = actor\n"
		"consent = public\n"
		"repend_on_change = no\n"
		"gone_max_share = 12.5%\n"
		"interval = 1h30m\n"
		"licence = CC-BY-4.0\n"
		"attribution = Example org\n"
		"robots = no\n"
		"follow = //a[@class='next']/@href\n"
		"follow_hosts = WWW.Example.org, docs.example.org\n"
		"follow_max = 10\n"
		"record = //article\n"
		"field.title = .//h1\n"
		"field.published_at = .//time/@datetime\n"
		"\n"
		"[source \"oai\"]\n"
		"kind = oai-pmh\n"
		"url = https://repo.example.org/oai\n"
		"oai_prefix = oai_datacite\n"
		"oai_set = cyber:capacity\n");
	const struct source_config *h = config_source(cfg, "ejcn-pages");
	const struct source_config *o = config_source(cfg, "oai");

	assert_int_equal(cfg->nsources, 2);
	assert_non_null(h);
	assert_non_null(o);
	assert_int_equal(h->kind, SOURCE_HTML);
	assert_string_equal(h->url, "https://www.Example.org/actors/");
	assert_string_equal(h->record_kind, "actor");
	assert_true(h->consent_public);
	assert_false(h->repend_on_change);
	assert_int_equal(h->gone_max_share, 1250);
	assert_int_equal(h->interval, 5400);
	assert_string_equal(h->licence, "CC-BY-4.0");
	assert_string_equal(h->attribution, "Example org");
	assert_false(h->robots);
	assert_string_equal(h->follow, "//a[@class='next']/@href");
	assert_int_equal(h->nfollow_hosts, 2);
	assert_string_equal(h->follow_hosts[0], "www.example.org");
	assert_string_equal(h->follow_hosts[1], "docs.example.org");
	assert_int_equal(h->follow_max, 10);
	assert_string_equal(h->record, "//article");
	assert_int_equal(h->nfields, 2);
	assert_string_equal(h->fields[0].name, "title");
	assert_string_equal(h->fields[0].xpath, ".//h1");
	assert_string_equal(h->fields[1].name, "published_at");
	assert_string_equal(h->fields[1].xpath, ".//time/@datetime");
	assert_int_equal(h->line, 1);

	assert_int_equal(o->kind, SOURCE_OAI_PMH);
	assert_string_equal(o->oai_prefix, "oai_datacite");
	assert_string_equal(o->oai_set, "cyber:capacity");
	assert_string_equal(o->record_kind, "publication");
	assert_int_equal(o->line, 19);
}

static void
test_relative_paths_resolved_against_config_folder(void **state)
{
	struct fixture *fx = *state;
	char sub[128], conf[256], buf[512], err[1024];
	struct config *cfg = NULL;

	/* The config sits in a sub-folder; the process's cwd is elsewhere. */
	in_dir(fx, "etc", sub, sizeof(sub));
	assert_int_equal(mkdir(sub, 0700), 0);
	snprintf(conf, sizeof(conf), "%s/cybil.conf", sub);
	write_file(conf, "[store]\npath = db/cybil.db\nblobs = /abs/blobs\n"
		"[publish]\ndir = ./public\n");
	if (config_load(conf, &cfg, err, sizeof(err)) != 0)
		fail_msg("refused: %s", err);
	assert_string_equal(cfg->dir, sub);
	assert_string_equal(cfg->store_path, in_dir(fx, "etc/db/cybil.db",
		buf, sizeof(buf)));
	assert_string_equal(cfg->blobs_dir, "/abs/blobs");
	assert_string_equal(cfg->publish_dir, in_dir(fx, "etc/./public", buf,
		sizeof(buf)));
	/* A default path follows the config's folder too. */
	assert_string_equal(cfg->evidence_dir, in_dir(fx, "etc/var/evidence",
		buf, sizeof(buf)));
	config_free(cfg);
}

static void
test_relative_config_path_keeps_relative_paths(void **state)
{
	struct fixture *fx = *state;
	struct config *cfg = NULL;
	char err[1024];

	assert_int_equal(chdir(fx->dir), 0);
	write_file("cybil.conf", "[store]\npath = db/x.db\n");
	if (config_load("cybil.conf", &cfg, err, sizeof(err)) != 0)
		fail_msg("refused: %s", err);
	assert_string_equal(cfg->dir, ".");
	assert_string_equal(cfg->store_path, "db/x.db");
	config_free(cfg);
	assert_int_equal(mkdir("sub", 0700), 0);
	write_file("sub/c.conf", "[store]\npath = db/x.db\n");
	if (config_load("sub/c.conf", &cfg, err, sizeof(err)) != 0)
		fail_msg("refused: %s", err);
	assert_string_equal(cfg->dir, "sub");
	assert_string_equal(cfg->store_path, "sub/db/x.db");
	config_free(cfg);
}

static void
test_long_line_accepted(void **state)
{
	struct fixture *fx = *state;
	size_t n = 5000;
	char *text = malloc(n + 64), *ua = malloc(n + 1);
	struct config *cfg;

	assert_non_null(text);
	assert_non_null(ua);
	memset(ua, 'u', n);
	ua[n] = '\0';
	snprintf(text, n + 64, "[fetch]\nuser_agent = %s\nparallel = 2\n", ua);
	cfg = load_ok(fx, text);
	assert_int_equal(strlen(cfg->user_agent), n);
	assert_string_equal(cfg->user_agent, ua);
	assert_int_equal(cfg->fetch_parallel, 2);
	free(text);
	free(ua);
}

/* A line of LEN bytes (before its newline) that sets user_agent. */
static char *
config_with_line_of(struct fixture *fx, size_t len, size_t line_no)
{
	size_t used = 0, start;
	char *text;

	free(fx->text);
	text = fx->text = malloc(len + line_no + 16);

	assert_non_null(text);
	used += (size_t)sprintf(text, "[fetch]\n");
	for (size_t i = 2; i < line_no; i++)
		text[used++] = '\n';
	start = used;
	used += (size_t)sprintf(text + used, "user_agent = ");
	while (used - start < len)
		text[used++] = 'x';
	text[used++] = '\n';
	text[used] = '\0';
	return text;
}

static void
test_line_of_8188_bytes_accepted(void **state)
{
	struct fixture *fx = *state;
	char *text = config_with_line_of(fx, 8188, 2);
	struct config *cfg = load_ok(fx, text);

	assert_int_equal(strlen(cfg->user_agent),
		8188 - strlen("user_agent = "));
}

static void
test_line_over_8189_bytes_refused(void **state)
{
	struct fixture *fx = *state;
	char *text = config_with_line_of(fx, 9000, 3);

	expect_error(fx, text, 3, NULL, "line too long");
	text = config_with_line_of(fx, 8190, 4);
	expect_error(fx, text, 4, NULL, "line too long");
}

/* The pre-scan counts the newline into the line's length, so the longest
 * line accepted is 8188 bytes although the message (and inih's buffer)
 * allow 8189. */
static void
test_bug_line_of_exactly_8189_bytes_refused(void **state)
{
	struct fixture *fx = *state;
	char *text = config_with_line_of(fx, 8189, 2);
	struct config *cfg = load_ok(fx, text);

	assert_int_equal(strlen(cfg->user_agent),
		8189 - strlen("user_agent = "));
}

static void
test_indented_line_is_not_a_continuation(void **state)
{
	struct fixture *fx = *state;
	struct config *cfg = load_ok(fx, "[fetch]\nparallel = 4\n"
		"    timeout = 5s\n\tretries = 1\n");

	assert_int_equal(cfg->fetch_parallel, 4);
	assert_int_equal(cfg->fetch_timeout, 5);
	assert_int_equal(cfg->fetch_retries, 1);
	/* And an indented line that is not a key is an error, not part of
	 * the value above it. */
	expect_error(fx, "[fetch]\nuser_agent = a\n   more words\n", 3, NULL,
		NULL);
}

static void
test_comments_and_spacing(void **state)
{
	struct fixture *fx = *state;
	struct config *cfg = load_ok(fx, "; a comment\n# another\n"
		"[fetch]  \n  parallel=9  \nper_host   =   3\n");

	assert_int_equal(cfg->fetch_parallel, 9);
	assert_int_equal(cfg->fetch_per_host, 3);
}

static void
test_file_url_with_allow_file_accepted(void **state)
{
	struct fixture *fx = *state;
	struct config *cfg = load_ok(fx, "[source \"local\"]\nkind = rss\n"
		"url = file:///srv/feeds/feed.xml\nallow_file = yes\n");

	assert_int_equal(cfg->nsources, 1);
	assert_true(cfg->sources[0].allow_file);
	assert_string_equal(cfg->sources[0].url, "file:///srv/feeds/feed.xml");
}

static void
test_loopback_listen_needs_no_tls(void **state)
{
	static const char *const ok[] = { "127.0.0.1:1", "localhost:8470",
		"[::1]:8470", "127.0.0.2:65535" };
	struct fixture *fx = *state;
	char text[256];

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(text, sizeof(text), "[review]\nlisten = %s\n", ok[i]);
		assert_string_equal(load_ok(fx, text)->review_listen, ok[i]);
	}
}

/* ------------------------------------------------------------------ */
/* Errors */

static void
test_error_unknown_key(void **state)
{
	struct fixture *fx = *state;

	expect_error(fx, "[fetch]\nparallel = 4\nbogus = 1\n", 3, "bogus",
		"unknown key");
	expect_error(fx, "[source \"s\"]\nkind = rss\nurl = https://e.org/\n"
		"colour = red\n", 4, "colour", "unknown key");
	/* A key of another section is unknown here. */
	expect_error(fx, "[store]\n\nparallel = 4\n", 3, "parallel",
		"unknown key");
}

static void
test_error_unknown_section(void **state)
{
	struct fixture *fx = *state;

	expect_error(fx, "[fetch]\nparallel = 4\n[bogus]\nx = 1\n", 3,
		"[bogus]", "unknown section");
	expect_error(fx, "[Fetch]\nparallel = 4\n", 1, "[Fetch]",
		"unknown section");
	expect_error(fx, "[sources \"x\"]\nkind = rss\n", 1, NULL, NULL);
	expect_error(fx, "[source x]\nkind = rss\n", 1, NULL, NULL);
	expect_error(fx, "[source \"a b\"]\nkind = rss\n", 1, NULL, NULL);
}

static void
test_error_unknown_section_without_keys_at_end(void **state)
{
	struct fixture *fx = *state;

	expect_error(fx, "[fetch]\nparallel = 4\n\n[bogus]\n", 4, "[bogus]",
		"unknown section");
	/* Even without a trailing newline. */
	expect_error(fx, "[fetch]\nparallel = 4\n[bogus]", 3, "[bogus]",
		"unknown section");
}

static void
test_error_bad_value(void **state)
{
	struct fixture *fx = *state;

	expect_error(fx, "[fetch]\nparallel = many\n", 2, "parallel", NULL);
	expect_error(fx, "[fetch]\ntimeout = 1h30\n", 2, "timeout", NULL);
	expect_error(fx, "[fetch]\nmax_bytes = 5MB\n", 2, "max_bytes", NULL);
	expect_error(fx, "[log]\nsyslog = maybe\n", 2, "syslog", NULL);
	expect_error(fx, "[publish]\nmax_drop = 10\n", 2, "max_drop", NULL);
	expect_error(fx, "[parse]\nlanguage = english!\n", 2, "language",
		NULL);
	expect_error(fx, "[publish]\nname = Cybil\n", 2, "name", NULL);
	expect_error(fx, "[publish]\nhomepage = ftp://x.org/\n", 2, "homepage",
		NULL);
	expect_error(fx, "[review]\nsecure_cookies = sometimes\n", 2,
		"secure_cookies", NULL);
	expect_error(fx, "[review]\nlisten = 8470\n", 2, "listen", NULL);
	expect_error(fx, "[store]\npath =\n", 2, "path", "empty");
	expect_error(fx, "[fetch]\nuser_agent =\n", 2, "user_agent", "empty");
	expect_error(fx, "[source \"s\"]\nkind = rss\nurl = https://e.org/\n"
		"interval = soon\n", 4, "interval", NULL);
	expect_error(fx, "[source \"s\"]\nkind = rss\nurl = https://e.org/\n"
		"record_kind = News\n", 4, "record_kind", NULL);
}

static void
test_error_out_of_range(void **state)
{
	struct fixture *fx = *state;

	expect_error(fx, "; line 1\n; line 2\n[fetch]\nper_host = 2\n\n"
		"# line 6\nparallel = 0\n", 7, "parallel", "allowed: 1 to 1024");
	expect_error(fx, "[fetch]\nparallel = 1025\n", 2, "parallel",
		"too large");
	expect_error(fx, "[fetch]\nmax_bytes = 1023\n", 2, "max_bytes",
		"too small");
	expect_error(fx, "[publish]\nexpires = 59s\n", 2, "expires",
		"too small");
	expect_error(fx, "[publish]\nlevel = 20\n", 2, "level", NULL);
	expect_error(fx, "[publish]\nmax_drop = 100.5%\n", 2, "max_drop",
		NULL);
	expect_error(fx, "[review]\nsession_ttl = 91d\n", 2, "session_ttl",
		NULL);
	expect_error(fx, "[review]\nlisten = 127.0.0.1:70000\n", 2, "listen",
		NULL);
}

static void
test_error_duplicate_key(void **state)
{
	struct fixture *fx = *state;

	expect_error(fx, "[fetch]\nparallel = 4\ntimeout = 5s\nparallel = 5\n",
		4, "parallel", "line 2");
	expect_error(fx, "[source \"s\"]\nkind = rss\nurl = https://e.org/\n"
		"url = https://f.org/\n", 4, "url", "line 3");
	expect_error(fx, "[source \"s\"]\nkind = html\nurl = https://e.org/\n"
		"record = //div\nfield.t = .//h1\nfield.t = .//h2\n", 6,
		"field.t", NULL);
}

static void
test_duplicate_key_in_other_source_is_fine(void **state)
{
	struct fixture *fx = *state;
	struct config *cfg = load_ok(fx, "[source \"a\"]\nkind = rss\n"
		"url = https://a.org/\n[source \"b\"]\nkind = rss\n"
		"url = https://b.org/\n");

	assert_int_equal(cfg->nsources, 2);
	assert_string_equal(cfg->sources[1].url, "https://b.org/");
}

static void
test_error_duplicate_source(void **state)
{
	struct fixture *fx = *state;

	expect_error(fx, "[source \"x\"]\nkind = rss\nurl = https://e.org/\n"
		"\n[source \"x\"]\nkind = atom\nurl = https://f.org/\n", 5,
		"[source \"x\"]", "duplicate");
	assert_non_null(strstr(fx->err, "line 1"));
}

static void
test_error_source_without_keys(void **state)
{
	struct fixture *fx = *state;

	expect_error(fx, "[fetch]\nparallel = 2\n[source \"x\"]\n", 3, "kind",
		"missing");
	assert_non_null(strstr(fx->err, "[source \"x\"]"));
}

static void
test_error_source_missing_url(void **state)
{
	struct fixture *fx = *state;

	expect_error(fx, "[source \"x\"]\nkind = rss\n", 1, "url", "missing");
	expect_error(fx, "\n[source \"y\"]\nurl = https://e.org/\n", 2,
		"kind", "missing");
}

static void
test_error_bad_kind(void **state)
{
	struct fixture *fx = *state;

	expect_error(fx, "[source \"x\"]\nurl = https://e.org/\nkind = json\n",
		3, "kind", NULL);
	expect_error(fx, "[source \"x\"]\nkind = RSS\nurl = https://e.org/\n",
		2, "kind", NULL);
}

static void
test_error_consent_granted_refused(void **state)
{
	struct fixture *fx = *state;

	expect_error(fx, "[source \"x\"]\nkind = rss\nurl = https://e.org/\n"
		"consent = granted\n", 4, "consent", NULL);
	expect_error(fx, "[source \"x\"]\nkind = rss\nurl = https://e.org/\n"
		"consent = withdrawn\n", 4, "consent", NULL);
}

static void
test_error_file_url_without_allow_file(void **state)
{
	struct fixture *fx = *state;

	expect_error(fx, "[source \"x\"]\nkind = rss\n"
		"url = file:///etc/passwd\n", 3, "url", "allow_file");
	expect_error(fx, "[source \"x\"]\nkind = rss\n"
		"url = file:///etc/passwd\nallow_file = no\n", 3, "url",
		"allow_file");
}

static void
test_error_other_url_schemes(void **state)
{
	struct fixture *fx = *state;

	expect_error(fx, "[source \"x\"]\nkind = rss\n"
		"url = ftp://ftp.example.org/feed.xml\n", 3, "url", NULL);
	expect_error(fx, "[source \"x\"]\nkind = rss\n"
		"url = ftp://ftp.example.org/feed.xml\nallow_file = yes\n", 3,
		"url", NULL);
	expect_error(fx, "[source \"x\"]\nkind = rss\nurl = /feed.xml\n", 3,
		"url", NULL);
	expect_error(fx, "[source \"x\"]\nkind = rss\nurl = example.org\n", 3,
		"url", NULL);
}

static void
test_error_html_keys_on_rss_source(void **state)
{
	struct fixture *fx = *state;

	expect_error(fx, "[source \"x\"]\nkind = rss\nurl = https://e.org/\n"
		"\nrecord = //item\n", 5, "record", "html");
	expect_error(fx, "[source \"x\"]\nkind = rss\nurl = https://e.org/\n"
		"follow = //a/@href\n", 4, "follow", "html");
	expect_error(fx, "[source \"x\"]\nkind = atom\nurl = https://e.org/\n"
		"follow_hosts = e.org\n", 4, "follow_hosts", "html");
	expect_error(fx, "[source \"x\"]\nkind = iati\nurl = https://e.org/\n"
		"follow_max = 3\n", 4, "follow_max", "html");
	/* field.NAME is named as written. */
	expect_error(fx, "[source \"x\"]\nkind = rss\nurl = https://e.org/\n"
		"# c\n\nfield.title = .//h1\n", 6, "field.title", "html");
	expect_error(fx, "[source \"x\"]\nkind = html\nurl = https://e.org/\n"
		"oai_set = abc\n", 4, "oai_set", "oai-pmh");
}

static void
test_error_field_without_record(void **state)
{
	struct fixture *fx = *state;

	expect_error(fx, "[source \"x\"]\nkind = html\nurl = https://e.org/\n"
		"follow = //a/@href\nfield.title = .//h1\nfield.body = .//p\n",
		5, "field.title", "record");
}

static void
test_error_invalid_xpath(void **state)
{
	struct fixture *fx = *state;

	expect_error(fx, "[source \"x\"]\nkind = html\nurl = https://e.org/\n"
		"record = //div[\n", 4, "record", "XPath");
	expect_error(fx, "[source \"x\"]\nkind = html\nurl = https://e.org/\n"
		"follow = ((//a\n", 4, "follow", "XPath");
	expect_error(fx, "[source \"x\"]\nkind = html\nurl = https://e.org/\n"
		"record = //div\nfield.title = ]]\n", 5, "field.title", "XPath");
}

static void
test_error_bad_field_name(void **state)
{
	struct fixture *fx = *state;

	expect_error(fx, "[source \"x\"]\nkind = html\nurl = https://e.org/\n"
		"record = //div\nfield.Title = .//h1\n", 5, "field.Title", NULL);
	expect_error(fx, "[source \"x\"]\nkind = html\nurl = https://e.org/\n"
		"record = //div\nfield. = .//h1\n", 5, "field.", NULL);
}

static void
test_error_key_before_any_section(void **state)
{
	struct fixture *fx = *state;

	expect_error(fx, "parallel = 4\n[fetch]\n", 1, "parallel",
		"outside any section");
	expect_error(fx, "# comment\n\nparallel = 4\n", 3, "parallel",
		"outside any section");
}

static void
test_error_syntax(void **state)
{
	struct fixture *fx = *state;

	expect_error(fx, "[fetch]\nparallel = 4\nthis line has no equals\n"
		"timeout = 5s\n", 3, NULL, "syntax");
	expect_error(fx, "[fetch\nparallel = 4\n", 1, NULL, NULL);
}

static void
test_error_non_loopback_listen_without_tls(void **state)
{
	struct fixture *fx = *state;

	expect_error(fx, "[review]\n\nlisten = 0.0.0.0:8470\n", 3, "listen",
		"tls");
	expect_error(fx, "[review]\nlisten = 192.0.2.1:8470\n"
		"tls_cert = c.pem\n", 2, "listen", "tls");
	expect_error(fx, "[review]\nlisten = review.example.org:443\n", 2,
		"listen", "tls");
	expect_error(fx, "[review]\ntls_key = k.pem\n", 2, "tls_key",
		"together");
}

/* The loopback test is a string prefix: a host NAME starting "127." is
 * taken for a loopback address, so the console could listen on a public
 * address without TLS. */
static void
test_bug_listen_hostname_starting_127_counts_as_loopback(void **state)
{
	struct fixture *fx = *state;

	expect_error(fx, "[review]\nlisten = 127.attacker.example:8470\n", 2,
		"listen", "tls");
}

static void
test_error_missing_file(void **state)
{
	struct fixture *fx = *state;
	struct config *cfg = (struct config *)&cfg;
	char missing[256], expected[512];

	in_dir(fx, "nope.conf", missing, sizeof(missing));
	assert_int_equal(config_load(missing, &cfg, fx->err, sizeof(fx->err)),
		-1);
	assert_null(cfg);
	snprintf(expected, sizeof(expected), "%s: cannot open", missing);
	if (strncmp(fx->err, expected, strlen(expected)) != 0)
		fail_msg("error \"%s\" does not start with \"%s\"", fx->err,
			expected);
}

static void
test_source_name_of_40_chars_accepted(void **state)
{
	struct fixture *fx = *state;
	char name[41], text[256];
	struct config *cfg;

	memset(name, 'n', 40);
	name[40] = '\0';
	snprintf(text, sizeof(text), "[source \"%s\"]\nkind = rss\n"
		"url = https://e.org/\n", name);
	cfg = load_ok(fx, text);
	assert_non_null(config_source(cfg, name));
	assert_string_equal(cfg->sources[0].name, name);
}

/* inih cuts section names at 49 bytes, so a longer source name is refused
 * on its header line rather than losing its keys. */
static void
test_error_source_name_over_40_chars(void **state)
{
	struct fixture *fx = *state;
	char name[66], text[256];

	memset(name, 'n', 41);
	name[41] = '\0';
	snprintf(text, sizeof(text), "[fetch]\nparallel = 2\n"
		"[source \"%s\"]\nkind = rss\nurl = https://e.org/\n", name);
	expect_error(fx, text, 3, NULL, "40");
	memset(name, 'n', 65);
	name[65] = '\0';
	snprintf(text, sizeof(text), "\n[source \"%s\"]\nkind = rss\n"
		"url = https://e.org/\n", name);
	expect_error(fx, text, 2, NULL, NULL);
}

static void
test_field_name_of_64_chars_accepted(void **state)
{
	struct fixture *fx = *state;
	char field[65], text[512];
	struct config *cfg;

	memset(field, 'f', 64);
	field[64] = '\0';
	snprintf(text, sizeof(text), "[source \"h\"]\nkind = html\n"
		"url = https://e.org/\nrecord = //div\nfield.%s = .//h1\n",
		field);
	cfg = load_ok(fx, text);
	assert_int_equal(cfg->sources[0].nfields, 1);
	assert_string_equal(cfg->sources[0].fields[0].name, field);
	/* 65 characters are too many. */
	snprintf(text, sizeof(text), "[source \"h\"]\nkind = html\n"
		"url = https://e.org/\nrecord = //div\nfield.%sg = .//h1\n",
		field);
	expect_error(fx, text, 5, NULL, NULL);
}

/* ------------------------------------------------------------------ */
/* config_locate */

static void
test_locate_option_wins(void **state)
{
	struct fixture *fx = *state;
	const char *option = "/some/where/given.conf";
	bool named = false;

	assert_int_equal(chdir(fx->dir), 0);
	write_file("cybil.conf", "");
	assert_int_equal(setenv("CYBIL_CONFIG", "/from/env.conf", 1), 0);
	assert_ptr_equal(config_locate(option, &named), option);
	assert_true(named);
}

static void
test_locate_environment_next(void **state)
{
	struct fixture *fx = *state;
	bool named = false;
	const char *p;

	assert_int_equal(chdir(fx->dir), 0);
	write_file("cybil.conf", "");
	assert_int_equal(setenv("CYBIL_CONFIG", "/from/env.conf", 1), 0);
	p = config_locate(NULL, &named);
	assert_non_null(p);
	assert_string_equal(p, "/from/env.conf");
	assert_true(named);
	/* An empty variable counts as unset. */
	assert_int_equal(setenv("CYBIL_CONFIG", "", 1), 0);
	named = true;
	p = config_locate(NULL, &named);
	assert_non_null(p);
	assert_string_equal(p, "./cybil.conf");
	assert_false(named);
}

static void
test_locate_current_folder_then_none(void **state)
{
	struct fixture *fx = *state;
	bool named = true;
	const char *p;

	assert_int_equal(chdir(fx->dir), 0);
	write_file("cybil.conf", "");
	p = config_locate(NULL, &named);
	assert_non_null(p);
	assert_string_equal(p, "./cybil.conf");
	assert_false(named);
	assert_int_equal(unlink("cybil.conf"), 0);
	named = true;
	p = config_locate(NULL, &named);
	assert_false(named);
	if (access("/etc/cybil/cybil.conf", F_OK) == 0)
		assert_string_equal(p, "/etc/cybil/cybil.conf");
	else
		assert_null(p);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_global_defaults_when_keys_absent),
		T(test_empty_sections_keep_defaults),
		T(test_source_defaults_per_kind),
		T(test_global_values_parsed),
		T(test_source_values_parsed),
		T(test_relative_paths_resolved_against_config_folder),
		T(test_relative_config_path_keeps_relative_paths),
		T(test_long_line_accepted),
		T(test_line_of_8188_bytes_accepted),
		T(test_line_over_8189_bytes_refused),
		T(test_bug_line_of_exactly_8189_bytes_refused),
		T(test_indented_line_is_not_a_continuation),
		T(test_comments_and_spacing),
		T(test_file_url_with_allow_file_accepted),
		T(test_loopback_listen_needs_no_tls),
		T(test_error_unknown_key),
		T(test_error_unknown_section),
		T(test_error_unknown_section_without_keys_at_end),
		T(test_error_bad_value),
		T(test_error_out_of_range),
		T(test_error_duplicate_key),
		T(test_duplicate_key_in_other_source_is_fine),
		T(test_error_duplicate_source),
		T(test_error_source_without_keys),
		T(test_error_source_missing_url),
		T(test_error_bad_kind),
		T(test_error_consent_granted_refused),
		T(test_error_file_url_without_allow_file),
		T(test_error_other_url_schemes),
		T(test_error_html_keys_on_rss_source),
		T(test_error_field_without_record),
		T(test_error_invalid_xpath),
		T(test_error_bad_field_name),
		T(test_error_key_before_any_section),
		T(test_error_syntax),
		T(test_error_non_loopback_listen_without_tls),
		T(test_bug_listen_hostname_starting_127_counts_as_loopback),
		T(test_error_missing_file),
		T(test_source_name_of_40_chars_accepted),
		T(test_error_source_name_over_40_chars),
		T(test_field_name_of_64_chars_accepted),
		T(test_locate_option_wins),
		T(test_locate_environment_next),
		T(test_locate_current_folder_then_none),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
