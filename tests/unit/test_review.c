/* Unit tests of include/review.h: the portal manager's decisions (SPEC §5)
 * against a temporary store. Records are inserted with SQL the way
 * test_store.c does; they start pending. Every decision is checked in the
 * record row and in its consent_event rows, and every invalid request is
 * checked to change nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "date.h"
#include "hash.h"
#include "review.h"
#include "store.h"

#define RECORD_A "0123456789abcdef0123456789abcdef"
#define RECORD_B "fedcba9876543210fedcba9876543210"
#define RECORD_C "00000000000000000000000000000c0c"
#define UNKNOWN "11111111111111111111111111111111"
#define SHA_ONE \
	"1111111111111111111111111111111111111111111111111111111111111111"
#define SHA_TWO \
	"2222222222222222222222222222222222222222222222222222222222222222"
#define SHA_ZERO \
	"0000000000000000000000000000000000000000000000000000000000000000"
#define BY "manager@example.org"
#define FIELDS "{\"summary\":\"Hello\",\"tags\":[\"b\",\"a\"]," \
	"\"n\":3}"

struct fixture {
	char dir[64];
	char db[128];
	char err[1024];
	struct store *st;
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

static void
exec_ok(sqlite3 *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg ? msg : "?");
}

static void
add_record(sqlite3 *db, const char *id, const char *source,
	const char *external_id)
{
	char sql[1024];

	snprintf(sql, sizeof(sql), "INSERT INTO record_key (source, "
		"external_id, record_id) VALUES ('%s', '%s', '%s')", source,
		external_id, id);
	exec_ok(db, sql);
	snprintf(sql, sizeof(sql), "INSERT INTO record (id, source, kind, "
		"external_id, title, url, fields, content_sha256, first_seen, "
		"last_seen, changed_at, parser, parser_version) "
		"VALUES ('%s', '%s', 'news', '%s', 'A title', "
		"'https://e.example/%s', '%s', '%s', '2024-01-01T00:00:00Z', "
		"'2024-01-01T00:00:00Z', '2024-01-01T00:00:00Z', 'rss', '1')",
		id, source, external_id, external_id, FIELDS, SHA_ZERO);
	exec_ok(db, sql);
}

/* A source "s" with pending records A, B and C, and a source "t" with
 * none. */
static int
setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	sqlite3 *db;

	if (!fx || hash_init_library() < 0)
		return -1;
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/cybil-test-review-XXXXXX");
	if (!mkdtemp(fx->dir)) {
		free(fx);
		return -1;
	}
	snprintf(fx->db, sizeof(fx->db), "%s/cybil.db", fx->dir);
	if (store_open(fx->db, &fx->st, fx->err, sizeof(fx->err)) !=
	    STORE_OK) {
		fprintf(stderr, "store_open: %s\n", fx->err);
		return -1;
	}
	db = store_db(fx->st);
	exec_ok(db, "INSERT INTO source (name, kind, url, added_at) VALUES "
		"('s', 'rss', 'https://s.example/feed', '2024-01-01T00:00:00Z'),"
		" ('t', 'rss', 'https://t.example/feed', "
		"'2024-01-01T00:00:00Z')");
	add_record(db, RECORD_A, "s", "a");
	add_record(db, RECORD_B, "s", "b");
	add_record(db, RECORD_C, "s", "c");
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;
	int rc = 0;

	store_close(fx->st);
	if (nftw(fx->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) < 0)
		rc = -1;
	free(fx);
	return rc;
}

static int64_t
query_int(struct fixture *fx, const char *sql)
{
	sqlite3 *db = store_db(fx->st);
	sqlite3_stmt *stmt;
	int64_t v;

	if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	if (sqlite3_step(stmt) != SQLITE_ROW) {
		sqlite3_finalize(stmt);
		fail_msg("%s: no row", sql);
	}
	v = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	return v;
}

/* The first column of the first row as text: "NULL" for NULL, "(no row)"
 * when there is none. */
static const char *
query_text(struct fixture *fx, char *buf, size_t size, const char *fmt, ...)
{
	sqlite3 *db = store_db(fx->st);
	sqlite3_stmt *stmt;
	char sql[1024];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(stmt, 0);

		snprintf(buf, size, "%s", t ? (const char *)t : "NULL");
	} else {
		snprintf(buf, size, "(no row)");
	}
	sqlite3_finalize(stmt);
	return buf;
}

static int64_t
events(struct fixture *fx)
{
	return query_int(fx, "SELECT count(*) FROM consent_event");
}

/* consent|consent_basis|consent_expires of record ID. */
static const char *
consent_row(struct fixture *fx, const char *id, char *buf, size_t size)
{
	return query_text(fx, buf, size, "SELECT consent || '|' || "
		"coalesce(consent_basis, 'NULL') || '|' || "
		"coalesce(consent_expires, 'NULL') FROM record WHERE id = '%s'",
		id);
}

/* record|old|new|basis|evidence|expires|by|note of the last event. */
static const char *
last_event(struct fixture *fx, char *buf, size_t size)
{
	return query_text(fx, buf, size, "SELECT record_id || '|' || old || "
		"'|' || new || '|' || basis || '|' || coalesce(evidence, "
		"'NULL') || '|' || coalesce(expires, 'NULL') || '|' || by || "
		"'|' || coalesce(note, 'NULL') FROM consent_event "
		"ORDER BY id DESC LIMIT 1");
}

static void
assert_chain_intact(struct fixture *fx)
{
	char why[256];
	int64_t bad = -1;

	assert_int_equal(audit_verify(fx->st, &bad, why, sizeof(why)),
		STORE_OK);
	if (bad != 0)
		fail_msg("audit chain broken at %lld: %s", (long long)bad,
			why);
}

/* The store is usable again after a failed request: no transaction is
 * left open. */
static void
assert_no_transaction(struct fixture *fx)
{
	assert_int_equal(sqlite3_get_autocommit(store_db(fx->st)), 1);
}

static int
decide(struct fixture *fx, enum review_action action, const char *id,
	const char *evidence, const char *expires, size_t *changed)
{
	const char *ids[] = { id };
	struct review_decision d = {
		.action = action, .by = BY, .note = "a note",
		.evidence = evidence, .expires = expires,
	};

	fx->err[0] = '\0';
	return review_decide(fx->st, ids, 1, &d, changed, fx->err,
		sizeof(fx->err));
}

static void
decide_ok(struct fixture *fx, enum review_action action, const char *id,
	const char *evidence, const char *expires)
{
	if (decide(fx, action, id, evidence, expires, NULL) != STORE_OK)
		fail_msg("review_decide %s %s: %s", review_action_basis(
			action), id, fx->err);
}

/* An expiry DAYS days from now, RFC 3339. */
static const char *
days_ahead(long days, char buf[DATE_RFC3339_SIZE])
{
	return date_format_utc(time(NULL) + days * 86400, buf);
}

/* ------------------------------------------------------------------ */

static void
test_action_names(void **state)
{
	static const struct {
		const char *name, *state, *basis;
		int action;
	} t[] = {
		{ "grant", "granted", "owner-consent", REVIEW_GRANT },
		{ "public", "public", "public-source", REVIEW_PUBLIC },
		{ "refuse", "refused", "refused", REVIEW_REFUSE },
		{ "withdraw", "withdrawn", "withdrawn", REVIEW_WITHDRAW },
		{ "reset", "pending", "reset", REVIEW_RESET },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		assert_int_equal(review_action_from_name(t[i].name),
			t[i].action);
		assert_string_equal(review_action_state(t[i].action),
			t[i].state);
		assert_string_equal(review_action_basis(t[i].action),
			t[i].basis);
	}
	assert_int_equal(review_action_from_name("approve"), -1);
	assert_int_equal(review_action_from_name(""), -1);
	assert_int_equal(review_action_from_name("Grant"), -1);
}

static void
test_grant(void **state)
{
	struct fixture *fx = *state;
	char buf[512], want[512], exp[DATE_RFC3339_SIZE];
	size_t changed = 99;

	days_ahead(30, exp);
	assert_int_equal(decide(fx, REVIEW_GRANT, RECORD_A, SHA_ONE, exp,
		&changed), STORE_OK);
	assert_int_equal(changed, 1);
	snprintf(want, sizeof(want), "granted|owner-consent|%s", exp);
	assert_string_equal(consent_row(fx, RECORD_A, buf, sizeof(buf)),
		want);
	snprintf(want, sizeof(want), RECORD_A "|pending|granted|"
		"owner-consent|" SHA_ONE "|%s|" BY "|a note", exp);
	assert_string_equal(last_event(fx, buf, sizeof(buf)), want);
	assert_int_equal(events(fx), 1);
	assert_int_equal(query_int(fx, "SELECT count(*) FROM publishable"),
		1);
	/* A grant by URI, without expiry. */
	decide_ok(fx, REVIEW_GRANT, RECORD_B,
		"mailto:owner@example.org?subject=consent", NULL);
	assert_string_equal(consent_row(fx, RECORD_B, buf, sizeof(buf)),
		"granted|owner-consent|NULL");
	assert_string_equal(last_event(fx, buf, sizeof(buf)), RECORD_B
		"|pending|granted|owner-consent|mailto:owner@example.org"
		"?subject=consent|NULL|" BY "|a note");
	assert_chain_intact(fx);
}

static void
test_grant_again_records_new_evidence(void **state)
{
	struct fixture *fx = *state;
	char buf[512];
	size_t changed = 0;

	decide_ok(fx, REVIEW_GRANT, RECORD_A, SHA_ONE, NULL);
	assert_int_equal(decide(fx, REVIEW_GRANT, RECORD_A, SHA_TWO, NULL,
		&changed), STORE_OK);
	assert_int_equal(changed, 1);
	assert_int_equal(events(fx), 2);
	assert_string_equal(last_event(fx, buf, sizeof(buf)), RECORD_A
		"|granted|granted|owner-consent|" SHA_TWO "|NULL|" BY
		"|a note");
	/* The same for public, with a new URL. */
	decide_ok(fx, REVIEW_PUBLIC, RECORD_B, "https://e.example/b", NULL);
	decide_ok(fx, REVIEW_PUBLIC, RECORD_B, "http://mirror.example/b",
		NULL);
	assert_int_equal(events(fx), 4);
	assert_string_equal(last_event(fx, buf, sizeof(buf)), RECORD_B
		"|public|public|public-source|http://mirror.example/b|NULL|"
		BY "|a note");
	assert_chain_intact(fx);
}

static void
test_public(void **state)
{
	struct fixture *fx = *state;
	char buf[512];
	size_t changed = 0;

	assert_int_equal(decide(fx, REVIEW_PUBLIC, RECORD_A,
		"https://e.example/a", NULL, &changed), STORE_OK);
	assert_int_equal(changed, 1);
	assert_string_equal(consent_row(fx, RECORD_A, buf, sizeof(buf)),
		"public|public-source|NULL");
	assert_string_equal(last_event(fx, buf, sizeof(buf)), RECORD_A
		"|pending|public|public-source|https://e.example/a|NULL|" BY
		"|a note");
	assert_int_equal(query_int(fx, "SELECT count(*) FROM publishable "
		"WHERE id = '" RECORD_A "'"), 1);
}

/* refuse, withdraw and reset: the state and basis, no evidence even when
 * given, and a second identical decision writes nothing. */
static void
test_refuse_withdraw_reset(void **state)
{
	static const struct {
		enum review_action action;
		const char *from, *row;
	} t[] = {
		{ REVIEW_REFUSE, "granted", "refused|refused|NULL" },
		{ REVIEW_WITHDRAW, "refused", "withdrawn|withdrawn|NULL" },
		{ REVIEW_RESET, "withdrawn", "pending|reset|NULL" },
		{ REVIEW_WITHDRAW, "pending", "withdrawn|withdrawn|NULL" },
	};
	struct fixture *fx = *state;
	char buf[512], want[512], exp[DATE_RFC3339_SIZE];
	size_t changed;

	decide_ok(fx, REVIEW_GRANT, RECORD_A, SHA_ONE, days_ahead(3, exp));
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int64_t before = events(fx);
		const char *basis = review_action_basis(t[i].action);

		changed = 99;
		/* Evidence is not carried into a refuse, withdraw or reset. */
		assert_int_equal(decide(fx, t[i].action, RECORD_A, SHA_TWO,
			NULL, &changed), STORE_OK);
		assert_int_equal(changed, 1);
		assert_int_equal(events(fx), before + 1);
		assert_string_equal(consent_row(fx, RECORD_A, buf,
			sizeof(buf)), t[i].row);
		snprintf(want, sizeof(want), RECORD_A "|%s|%s|%s|NULL|NULL|"
			BY "|a note", t[i].from,
			review_action_state(t[i].action), basis);
		assert_string_equal(last_event(fx, buf, sizeof(buf)), want);
		/* Again: already so, nothing written. */
		changed = 99;
		assert_int_equal(decide(fx, t[i].action, RECORD_A, NULL, NULL,
			&changed), STORE_OK);
		assert_int_equal(changed, 0);
		assert_int_equal(events(fx), before + 1);
	}
	assert_int_equal(query_int(fx, "SELECT count(*) FROM publishable"),
		0);
	assert_chain_intact(fx);
}

static void
test_refuse_twice_writes_one_event(void **state)
{
	struct fixture *fx = *state;
	const char *ids[] = { RECORD_A, RECORD_B };
	struct review_decision d = { .action = REVIEW_REFUSE, .by = BY };
	size_t changed = 0;

	decide_ok(fx, REVIEW_REFUSE, RECORD_A, NULL, NULL);
	assert_int_equal(events(fx), 1);
	decide_ok(fx, REVIEW_REFUSE, RECORD_A, NULL, NULL);
	assert_int_equal(events(fx), 1);
	/* A and B: only B changes. */
	assert_int_equal(review_decide(fx->st, ids, 2, &d, &changed, fx->err,
		sizeof(fx->err)), STORE_OK);
	assert_int_equal(changed, 1);
	assert_int_equal(events(fx), 2);
	assert_int_equal(query_int(fx, "SELECT count(*) FROM consent_event "
		"WHERE record_id = '" RECORD_A "'"), 1);
}

static void
test_grant_without_evidence_invalid(void **state)
{
	struct fixture *fx = *state;
	char buf[128];
	size_t changed = 99;

	assert_int_equal(decide(fx, REVIEW_GRANT, RECORD_A, NULL, NULL,
		&changed), REVIEW_INVALID);
	assert_non_null(strstr(fx->err, "evidence"));
	assert_int_equal(changed, 99);
	assert_int_equal(decide(fx, REVIEW_GRANT, RECORD_A, "", NULL, NULL),
		REVIEW_INVALID);
	assert_int_equal(events(fx), 0);
	assert_string_equal(consent_row(fx, RECORD_A, buf, sizeof(buf)),
		"pending|NULL|NULL");
	assert_no_transaction(fx);
	/* The store takes the next, valid decision. */
	decide_ok(fx, REVIEW_GRANT, RECORD_A, SHA_ONE, NULL);
	assert_int_equal(events(fx), 1);
}

static void
test_public_needs_http_url(void **state)
{
	static const char *const bad[] = { NULL, "", "ftp://e.example/a",
		"javascript:alert(1)", "e.example/a", "file:///etc/passwd",
		"httpx://e.example", SHA_ONE };
	struct fixture *fx = *state;
	char buf[128];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(decide(fx, REVIEW_PUBLIC, RECORD_A, bad[i],
			NULL, NULL), REVIEW_INVALID);
		assert_non_null(strstr(fx->err, "URL"));
		assert_no_transaction(fx);
	}
	assert_int_equal(events(fx), 0);
	assert_string_equal(consent_row(fx, RECORD_A, buf, sizeof(buf)),
		"pending|NULL|NULL");
	decide_ok(fx, REVIEW_PUBLIC, RECORD_A, "http://e.example/a", NULL);
}

static void
test_decision_needs_by(void **state)
{
	struct fixture *fx = *state;
	const char *ids[] = { RECORD_A };
	struct review_decision d = { .action = REVIEW_REFUSE, .by = NULL };

	assert_int_equal(review_decide(fx->st, ids, 1, &d, NULL, fx->err,
		sizeof(fx->err)), REVIEW_INVALID);
	d.by = "";
	assert_int_equal(review_decide(fx->st, ids, 1, &d, NULL, fx->err,
		sizeof(fx->err)), REVIEW_INVALID);
	d.by = BY;
	d.action = (enum review_action)42;
	assert_int_equal(review_decide(fx->st, ids, 1, &d, NULL, fx->err,
		sizeof(fx->err)), REVIEW_INVALID);
	assert_int_equal(events(fx), 0);
}

/* One unknown id among several: the whole request is refused and none
 * of the known records changes. */
static void
test_unknown_id_among_several(void **state)
{
	struct fixture *fx = *state;
	const char *ids[] = { RECORD_A, RECORD_B, UNKNOWN, RECORD_C };
	struct review_decision d = { .action = REVIEW_WITHDRAW, .by = BY };
	char buf[128];
	size_t changed = 99;

	decide_ok(fx, REVIEW_PUBLIC, RECORD_C, "https://e.example/c", NULL);
	assert_int_equal(review_decide(fx->st, ids, 4, &d, &changed, fx->err,
		sizeof(fx->err)), REVIEW_INVALID);
	assert_non_null(strstr(fx->err, UNKNOWN));
	assert_int_equal(changed, 99);
	assert_int_equal(events(fx), 1);
	assert_string_equal(consent_row(fx, RECORD_A, buf, sizeof(buf)),
		"pending|NULL|NULL");
	assert_string_equal(consent_row(fx, RECORD_B, buf, sizeof(buf)),
		"pending|NULL|NULL");
	assert_string_equal(consent_row(fx, RECORD_C, buf, sizeof(buf)),
		"public|public-source|NULL");
	assert_no_transaction(fx);
	/* Also when the unknown id comes first, and for a grant. */
	ids[0] = UNKNOWN;
	ids[2] = RECORD_A;
	d.action = REVIEW_GRANT;
	d.evidence = SHA_ONE;
	assert_int_equal(review_decide(fx->st, ids, 4, &d, &changed, fx->err,
		sizeof(fx->err)), REVIEW_INVALID);
	assert_int_equal(events(fx), 1);
	assert_chain_intact(fx);
}

static void
test_expiry_checked(void **state)
{
	struct fixture *fx = *state;
	char buf[128], exp[DATE_RFC3339_SIZE];

	assert_int_equal(decide(fx, REVIEW_GRANT, RECORD_A, SHA_ONE,
		"2000-01-01", NULL), REVIEW_INVALID);
	assert_non_null(strstr(fx->err, "future"));
	assert_int_equal(decide(fx, REVIEW_GRANT, RECORD_A, SHA_ONE,
		date_format_utc(time(NULL) - 60, exp), NULL), REVIEW_INVALID);
	assert_int_equal(decide(fx, REVIEW_GRANT, RECORD_A, SHA_ONE,
		"next tuesday", NULL), REVIEW_INVALID);
	assert_non_null(strstr(fx->err, "not a date"));
	/* Only a grant expires. */
	assert_int_equal(decide(fx, REVIEW_PUBLIC, RECORD_A,
		"https://e.example/a", days_ahead(3, exp), NULL),
		REVIEW_INVALID);
	assert_int_equal(decide(fx, REVIEW_REFUSE, RECORD_A, NULL,
		days_ahead(3, exp), NULL), REVIEW_INVALID);
	assert_int_equal(events(fx), 0);
	assert_string_equal(consent_row(fx, RECORD_A, buf, sizeof(buf)),
		"pending|NULL|NULL");
	/* A date is taken as its midnight UTC, in the store's form. */
	decide_ok(fx, REVIEW_GRANT, RECORD_A, SHA_ONE, "2999-12-31");
	assert_string_equal(consent_row(fx, RECORD_A, buf, sizeof(buf)),
		"granted|owner-consent|2999-12-31T00:00:00Z");
}

static void
test_expire(void **state)
{
	struct fixture *fx = *state;
	char buf[512];
	size_t expired = 99;

	decide_ok(fx, REVIEW_GRANT, RECORD_A, SHA_ONE, "2900-01-01");
	decide_ok(fx, REVIEW_GRANT, RECORD_B, SHA_ONE, "2950-06-01");
	decide_ok(fx, REVIEW_GRANT, RECORD_C, SHA_ONE, NULL);
	assert_int_equal(events(fx), 3);
	/* Nothing has expired yet. */
	assert_int_equal(review_expire(fx->st, "2899-12-31T23:59:59Z",
		"cron", &expired, fx->err, sizeof(fx->err)), STORE_OK);
	assert_int_equal(expired, 0);
	assert_int_equal(events(fx), 3);
	/* "Now" after A's expiry (the past for A), before B's. */
	assert_int_equal(review_expire(fx->st, "2900-01-01T00:00:00Z",
		"cron", &expired, fx->err, sizeof(fx->err)), STORE_OK);
	assert_int_equal(expired, 1);
	assert_string_equal(consent_row(fx, RECORD_A, buf, sizeof(buf)),
		"pending|expired|NULL");
	assert_string_equal(last_event(fx, buf, sizeof(buf)), RECORD_A
		"|granted|pending|expired|NULL|NULL|cron|the grant expired");
	assert_string_equal(consent_row(fx, RECORD_B, buf, sizeof(buf)),
		"granted|owner-consent|2950-06-01T00:00:00Z");
	assert_string_equal(consent_row(fx, RECORD_C, buf, sizeof(buf)),
		"granted|owner-consent|NULL");
	/* Again at the same time: nothing more. */
	assert_int_equal(review_expire(fx->st, "2900-01-01T00:00:00Z",
		"cron", &expired, fx->err, sizeof(fx->err)), STORE_OK);
	assert_int_equal(expired, 0);
	assert_int_equal(events(fx), 4);
	/* A grant without expiry never expires. */
	assert_int_equal(review_expire(fx->st, "9999-12-31T23:59:59Z",
		"cron", &expired, fx->err, sizeof(fx->err)), STORE_OK);
	assert_int_equal(expired, 1);
	assert_string_equal(consent_row(fx, RECORD_B, buf, sizeof(buf)),
		"pending|expired|NULL");
	assert_string_equal(consent_row(fx, RECORD_C, buf, sizeof(buf)),
		"granted|owner-consent|NULL");
	assert_int_equal(events(fx), 5);
	assert_chain_intact(fx);
}

/* An expired grant that was withdrawn meanwhile is not touched: only
 * granted records expire. */
static void
test_expire_only_granted(void **state)
{
	struct fixture *fx = *state;
	char buf[128];
	size_t expired = 99;

	decide_ok(fx, REVIEW_GRANT, RECORD_A, SHA_ONE, "2900-01-01");
	decide_ok(fx, REVIEW_WITHDRAW, RECORD_A, NULL, NULL);
	assert_int_equal(review_expire(fx->st, "2999-01-01T00:00:00Z",
		"cron", &expired, fx->err, sizeof(fx->err)), STORE_OK);
	assert_int_equal(expired, 0);
	assert_string_equal(consent_row(fx, RECORD_A, buf, sizeof(buf)),
		"withdrawn|withdrawn|NULL");
}

static void
test_harvested_hash(void **state)
{
	char hex[HASH_HEX_SIZE], want[HASH_HEX_SIZE];

	(void)state;
	assert_int_equal(review_harvested_hash("A title", "https://u", FIELDS,
		"title", hex), 0);
	hash_sha256_hex("\"A title\"", 9, want);
	assert_string_equal(hex, want);
	assert_int_equal(review_harvested_hash("A title", "https://u", FIELDS,
		"url", hex), 0);
	hash_sha256_hex("\"https://u\"", 11, want);
	assert_string_equal(hex, want);
	assert_int_equal(review_harvested_hash(NULL, NULL, NULL, "title",
		hex), 0);
	hash_sha256_hex("null", 4, want);
	assert_string_equal(hex, want);
	assert_int_equal(review_harvested_hash("t", NULL, FIELDS, "missing",
		hex), 0);
	assert_string_equal(hex, want);
	assert_int_equal(review_harvested_hash("t", NULL, FIELDS, "tags",
		hex), 0);
	hash_sha256_hex("[\"b\",\"a\"]", 9, want);
	assert_string_equal(hex, want);
	assert_int_equal(review_harvested_hash("t", NULL, FIELDS, "n", hex),
		0);
	hash_sha256_hex("3", 1, want);
	assert_string_equal(hex, want);
	/* An object value: canonical, keys sorted. */
	assert_int_equal(review_harvested_hash("t", NULL,
		"{\"o\":{\"z\":1,\"a\":[true,null]}}", "o", hex), 0);
	hash_sha256_hex("{\"a\":[true,null],\"z\":1}", 23, want);
	assert_string_equal(hex, want);
}

/* The correction row of (ID, FIELD): value|by|note|harvested_sha256. */
static const char *
correction_row(struct fixture *fx, const char *id, const char *field,
	char *buf, size_t size)
{
	return query_text(fx, buf, size, "SELECT value || '|' || by || '|' || "
		"coalesce(note, 'NULL') || '|' || harvested_sha256 FROM "
		"correction WHERE record_id = '%s' AND field = '%s'", id,
		field);
}

/* The hash review_harvested_hash gives FIELD of record ID now. */
static const char *
current_hash(struct fixture *fx, const char *id, const char *field,
	char hex[HASH_HEX_SIZE])
{
	char title[256], url[256], fields[512];

	query_text(fx, title, sizeof(title), "SELECT title FROM record WHERE "
		"id = '%s'", id);
	query_text(fx, url, sizeof(url), "SELECT url FROM record WHERE "
		"id = '%s'", id);
	query_text(fx, fields, sizeof(fields), "SELECT fields FROM record "
		"WHERE id = '%s'", id);
	assert_int_equal(review_harvested_hash(title, url, fields, field,
		hex), 0);
	return hex;
}

static void
test_correct_and_uncorrect(void **state)
{
	struct fixture *fx = *state;
	char buf[512], want[512], hex[HASH_HEX_SIZE];

	if (review_correct(fx->st, RECORD_A, "title", "A better title", BY,
	    "typo", fx->err, sizeof(fx->err)) != STORE_OK)
		fail_msg("review_correct: %s", fx->err);
	snprintf(want, sizeof(want), "A better title|" BY "|typo|%s",
		current_hash(fx, RECORD_A, "title", hex));
	assert_string_equal(correction_row(fx, RECORD_A, "title", buf,
		sizeof(buf)), want);
	assert_int_equal(query_int(fx, "SELECT at LIKE '____-__-__T__:__:__Z'"
		" FROM correction WHERE field = 'title'"), 1);
	/* A field in fields, and one the record lacks (its hash is null's). */
	assert_int_equal(review_correct(fx->st, RECORD_A, "summary", "Hi",
		"other", NULL, fx->err, sizeof(fx->err)), STORE_OK);
	snprintf(want, sizeof(want), "Hi|other|NULL|%s",
		current_hash(fx, RECORD_A, "summary", hex));
	assert_string_equal(correction_row(fx, RECORD_A, "summary", buf,
		sizeof(buf)), want);
	assert_int_equal(review_correct(fx->st, RECORD_A, "language", "fr",
		BY, NULL, fx->err, sizeof(fx->err)), STORE_OK);
	hash_sha256_hex("null", 4, hex);
	snprintf(want, sizeof(want), "fr|" BY "|NULL|%s", hex);
	assert_string_equal(correction_row(fx, RECORD_A, "language", buf,
		sizeof(buf)), want);
	/* Correcting again replaces the value; still one row. */
	assert_int_equal(review_correct(fx->st, RECORD_A, "title", "Best",
		"other", NULL, fx->err, sizeof(fx->err)), STORE_OK);
	snprintf(want, sizeof(want), "Best|other|NULL|%s",
		current_hash(fx, RECORD_A, "title", hex));
	assert_string_equal(correction_row(fx, RECORD_A, "title", buf,
		sizeof(buf)), want);
	assert_int_equal(query_int(fx, "SELECT count(*) FROM correction"), 3);
	/* A correction is no consent decision. */
	assert_int_equal(events(fx), 0);
	/* uncorrect removes it; a second time there is nothing to remove. */
	assert_int_equal(review_uncorrect(fx->st, RECORD_A, "title", fx->err,
		sizeof(fx->err)), STORE_OK);
	assert_string_equal(correction_row(fx, RECORD_A, "title", buf,
		sizeof(buf)), "(no row)");
	assert_int_equal(review_uncorrect(fx->st, RECORD_A, "title", fx->err,
		sizeof(fx->err)), REVIEW_INVALID);
	assert_int_equal(review_uncorrect(fx->st, UNKNOWN, "summary", fx->err,
		sizeof(fx->err)), REVIEW_INVALID);
	assert_no_transaction(fx);
	assert_int_equal(query_int(fx, "SELECT count(*) FROM correction"), 2);
}

/* After a change at the source, the stored hash no longer matches the
 * harvested value's: that is how a conflict is noticed. */
static void
test_correction_hash_detects_change(void **state)
{
	struct fixture *fx = *state;
	char stored[128], hex[HASH_HEX_SIZE];

	assert_int_equal(review_correct(fx->st, RECORD_B, "summary", "Mine",
		BY, NULL, fx->err, sizeof(fx->err)), STORE_OK);
	exec_ok(store_db(fx->st), "UPDATE record SET fields = "
		"'{\"summary\":\"Changed\"}' WHERE id = '" RECORD_B "'");
	query_text(fx, stored, sizeof(stored), "SELECT harvested_sha256 FROM "
		"correction WHERE record_id = '" RECORD_B "'");
	assert_string_not_equal(stored, current_hash(fx, RECORD_B, "summary",
		hex));
	/* Correcting again takes the new harvested value's hash. */
	assert_int_equal(review_correct(fx->st, RECORD_B, "summary", "Mine",
		BY, NULL, fx->err, sizeof(fx->err)), STORE_OK);
	query_text(fx, stored, sizeof(stored), "SELECT harvested_sha256 FROM "
		"correction WHERE record_id = '" RECORD_B "'");
	assert_string_equal(stored, current_hash(fx, RECORD_B, "summary",
		hex));
}

static void
test_correct_invalid(void **state)
{
	static const char *const bad_fields[] = { "", "Title", "a-b", "a b",
		"x.y", "é",
		"a234567890123456789012345678901234567890123456789012345678901"
		"2345" };
	struct fixture *fx = *state;

	assert_int_equal(review_correct(fx->st, UNKNOWN, "title", "x", BY,
		NULL, fx->err, sizeof(fx->err)), REVIEW_INVALID);
	assert_non_null(strstr(fx->err, UNKNOWN));
	for (size_t i = 0; i < sizeof(bad_fields) / sizeof(bad_fields[0]);
	    i++)
		assert_int_equal(review_correct(fx->st, RECORD_A,
			bad_fields[i], "x", BY, NULL, fx->err,
			sizeof(fx->err)), REVIEW_INVALID);
	assert_int_equal(review_correct(fx->st, RECORD_A, NULL, "x", BY,
		NULL, fx->err, sizeof(fx->err)), REVIEW_INVALID);
	assert_int_equal(review_correct(fx->st, RECORD_A, "title", NULL, BY,
		NULL, fx->err, sizeof(fx->err)), REVIEW_INVALID);
	assert_int_equal(review_correct(fx->st, RECORD_A, "title", "x", NULL,
		NULL, fx->err, sizeof(fx->err)), REVIEW_INVALID);
	assert_int_equal(review_correct(fx->st, RECORD_A, "title", "x", "",
		NULL, fx->err, sizeof(fx->err)), REVIEW_INVALID);
	assert_no_transaction(fx);
	assert_int_equal(query_int(fx, "SELECT count(*) FROM correction"), 0);
	/* 64 characters is still a field name. */
	assert_int_equal(review_correct(fx->st, RECORD_A,
		"a23456789012345678901234567890123456789012345678901234567890"
		"1234", "x", BY, NULL, fx->err, sizeof(fx->err)), STORE_OK);
}

static void
test_suggest_accept(void **state)
{
	struct fixture *fx = *state;
	char buf[512], want[512], hex[HASH_HEX_SIZE];
	int64_t sid = 0, sid2 = 0;

	if (review_suggest(fx->st, RECORD_A, "title", "Suggested title",
	    "reader@example.net", "saw a typo", &sid, fx->err,
	    sizeof(fx->err)) != STORE_OK)
		fail_msg("review_suggest: %s", fx->err);
	assert_true(sid > 0);
	snprintf(want, sizeof(want), "SELECT record_id || '|' || field || '|'"
		" || value || '|' || contact || '|' || note || '|' || state "
		"FROM suggestion WHERE id = %lld", (long long)sid);
	assert_string_equal(query_text(fx, buf, sizeof(buf), "%s", want),
		RECORD_A "|title|Suggested title|reader@example.net|"
		"saw a typo|pending");
	/* A suggestion changes nothing by itself. */
	assert_int_equal(query_int(fx, "SELECT count(*) FROM correction"), 0);
	assert_int_equal(review_suggest(fx->st, RECORD_A, "summary", "S2",
		"x@example.net", NULL, &sid2, fx->err, sizeof(fx->err)),
		STORE_OK);
	assert_true(sid2 > sid);

	if (review_accept(fx->st, sid, BY, "thanks", fx->err,
	    sizeof(fx->err)) != STORE_OK)
		fail_msg("review_accept: %s", fx->err);
	snprintf(want, sizeof(want), "Suggested title|" BY "|thanks|%s",
		current_hash(fx, RECORD_A, "title", hex));
	assert_string_equal(correction_row(fx, RECORD_A, "title", buf,
		sizeof(buf)), want);
	assert_string_equal(query_text(fx, buf, sizeof(buf), "SELECT state || "
		"'|' || decided_by || '|' || (decided_at IS NOT NULL) FROM "
		"suggestion WHERE id = %lld", (long long)sid),
		"accepted|" BY "|1");
	/* Accepting twice, or rejecting what was accepted, is invalid. */
	assert_int_equal(review_accept(fx->st, sid, BY, NULL, fx->err,
		sizeof(fx->err)), REVIEW_INVALID);
	assert_non_null(strstr(fx->err, "already accepted"));
	assert_int_equal(review_reject(fx->st, sid, BY, NULL, fx->err,
		sizeof(fx->err)), REVIEW_INVALID);
	assert_no_transaction(fx);
	assert_int_equal(query_int(fx, "SELECT count(*) FROM correction"), 1);
	/* The other suggestion is still pending. */
	assert_string_equal(query_text(fx, buf, sizeof(buf), "SELECT state "
		"FROM suggestion WHERE id = %lld", (long long)sid2), "pending");
	assert_int_equal(events(fx), 0);
}

static void
test_suggest_reject(void **state)
{
	struct fixture *fx = *state;
	char buf[128];
	int64_t sid = 0;

	assert_int_equal(review_suggest(fx->st, RECORD_B, "url",
		"https://better.example/b", "reader@example.net", NULL, &sid,
		fx->err, sizeof(fx->err)), STORE_OK);
	assert_int_equal(review_reject(fx->st, sid, BY, "no", fx->err,
		sizeof(fx->err)), STORE_OK);
	assert_string_equal(query_text(fx, buf, sizeof(buf), "SELECT state || "
		"'|' || decided_by FROM suggestion WHERE id = %lld",
		(long long)sid), "rejected|" BY);
	assert_int_equal(query_int(fx, "SELECT count(*) FROM correction"), 0);
	assert_int_equal(review_reject(fx->st, sid, BY, NULL, fx->err,
		sizeof(fx->err)), REVIEW_INVALID);
	assert_non_null(strstr(fx->err, "already rejected"));
	assert_int_equal(review_accept(fx->st, sid, BY, NULL, fx->err,
		sizeof(fx->err)), REVIEW_INVALID);
	assert_int_equal(query_int(fx, "SELECT count(*) FROM correction"), 0);
	/* Deciding needs who decides. */
	assert_int_equal(review_suggest(fx->st, RECORD_B, "url", "x",
		"r@example.net", NULL, &sid, fx->err, sizeof(fx->err)),
		STORE_OK);
	assert_int_equal(review_accept(fx->st, sid, NULL, NULL, fx->err,
		sizeof(fx->err)), REVIEW_INVALID);
	assert_int_equal(review_reject(fx->st, sid, "", NULL, fx->err,
		sizeof(fx->err)), REVIEW_INVALID);
	assert_string_equal(query_text(fx, buf, sizeof(buf), "SELECT state "
		"FROM suggestion WHERE id = %lld", (long long)sid), "pending");
}

static void
test_suggest_invalid(void **state)
{
	struct fixture *fx = *state;
	int64_t sid = -7;

	assert_int_equal(review_suggest(fx->st, RECORD_A, "title", "x", NULL,
		NULL, &sid, fx->err, sizeof(fx->err)), REVIEW_INVALID);
	assert_non_null(strstr(fx->err, "contact"));
	assert_int_equal(review_suggest(fx->st, RECORD_A, "title", "x", "",
		NULL, &sid, fx->err, sizeof(fx->err)), REVIEW_INVALID);
	assert_int_equal(review_suggest(fx->st, RECORD_A, "title", NULL,
		"r@example.net", NULL, &sid, fx->err, sizeof(fx->err)),
		REVIEW_INVALID);
	assert_int_equal(review_suggest(fx->st, RECORD_A, "Bad Field", "x",
		"r@example.net", NULL, &sid, fx->err, sizeof(fx->err)),
		REVIEW_INVALID);
	assert_int_equal(review_suggest(fx->st, UNKNOWN, "title", "x",
		"r@example.net", NULL, &sid, fx->err, sizeof(fx->err)),
		REVIEW_INVALID);
	assert_int_equal(sid, -7);
	assert_no_transaction(fx);
	assert_int_equal(query_int(fx, "SELECT count(*) FROM suggestion"), 0);
	/* No such suggestion. */
	assert_int_equal(review_accept(fx->st, 12345, BY, NULL, fx->err,
		sizeof(fx->err)), REVIEW_INVALID);
	assert_non_null(strstr(fx->err, "12345"));
	assert_int_equal(review_reject(fx->st, 12345, BY, NULL, fx->err,
		sizeof(fx->err)), REVIEW_INVALID);
	assert_no_transaction(fx);
}

static void
test_source_ids(void **state)
{
	struct fixture *fx = *state;
	char **ids = NULL;
	size_t n = 99;

	assert_int_equal(review_source_ids(fx->st, "s", &ids, &n, fx->err,
		sizeof(fx->err)), STORE_OK);
	assert_int_equal(n, 3);
	assert_string_equal(ids[0], RECORD_C);
	assert_string_equal(ids[1], RECORD_A);
	assert_string_equal(ids[2], RECORD_B);
	review_free_ids(ids, n);
	assert_int_equal(review_source_ids(fx->st, "t", &ids, &n, fx->err,
		sizeof(fx->err)), STORE_OK);
	assert_int_equal(n, 0);
	review_free_ids(ids, n);
	assert_int_equal(review_source_ids(fx->st, "nope", &ids, &n, fx->err,
		sizeof(fx->err)), STORE_OK);
	assert_int_equal(n, 0);
	review_free_ids(ids, n);
}

static void
test_store_evidence(void **state)
{
	static const char content[] = "signed consent form\n";
	struct fixture *fx = *state;
	char file[160], dir[160], path[256], hex[HASH_HEX_SIZE],
		want[HASH_HEX_SIZE], back[64] = "";
	struct stat sb;
	FILE *f;

	snprintf(file, sizeof(file), "%s/form.txt", fx->dir);
	snprintf(dir, sizeof(dir), "%s/evidence", fx->dir);
	assert_non_null(f = fopen(file, "w"));
	fputs(content, f);
	fclose(f);
	assert_int_equal(review_store_evidence(dir, file, hex, fx->err,
		sizeof(fx->err)), 0);
	hash_sha256_hex(content, strlen(content), want);
	assert_string_equal(hex, want);
	snprintf(path, sizeof(path), "%s/%.2s/%s", dir, hex, hex + 2);
	assert_int_equal(stat(path, &sb), 0);
	assert_true(S_ISREG(sb.st_mode));
	assert_non_null(f = fopen(path, "r"));
	assert_non_null(fgets(back, sizeof(back), f));
	fclose(f);
	assert_string_equal(back, content);
	/* Storing it again is harmless. */
	assert_int_equal(review_store_evidence(dir, file, hex, fx->err,
		sizeof(fx->err)), 0);
	assert_string_equal(hex, want);
	/* An empty or missing file is no evidence. */
	assert_non_null(f = fopen(file, "w"));
	fclose(f);
	assert_int_equal(review_store_evidence(dir, file, hex, fx->err,
		sizeof(fx->err)), -1);
	assert_non_null(strstr(fx->err, "empty"));
	snprintf(file, sizeof(file), "%s/none.txt", fx->dir);
	assert_int_equal(review_store_evidence(dir, file, hex, fx->err,
		sizeof(fx->err)), -1);
	assert_non_null(strstr(fx->err, file));
}

/* Many decisions, then the chain still verifies and every record's
 * consent is its last event's state. */
static void
test_chain_follows_decisions(void **state)
{
	struct fixture *fx = *state;
	const char *ids[] = { RECORD_A, RECORD_B, RECORD_C };
	struct review_decision d = { .by = BY };
	char exp[DATE_RFC3339_SIZE];
	size_t expired;

	for (int round = 0; round < 4; round++) {
		for (int a = REVIEW_GRANT; a <= REVIEW_RESET; a++) {
			d.action = (enum review_action)a;
			d.evidence = a == REVIEW_GRANT ? SHA_ONE :
				a == REVIEW_PUBLIC ? "https://e.example/" : NULL;
			d.expires = a == REVIEW_GRANT && round % 2 ?
				days_ahead(round, exp) : NULL;
			assert_int_equal(review_decide(fx->st, ids + round % 3,
				3 - (size_t)(round % 3), &d, NULL, fx->err,
				sizeof(fx->err)), STORE_OK);
		}
	}
	assert_int_equal(review_expire(fx->st, "2999-01-01T00:00:00Z", "cron",
		&expired, fx->err, sizeof(fx->err)), STORE_OK);
	assert_chain_intact(fx);
	assert_int_equal(query_int(fx, "SELECT count(*) FROM record r WHERE "
		"consent IS NOT (SELECT new FROM consent_event e WHERE "
		"e.record_id = r.id ORDER BY id DESC LIMIT 1)"), 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_action_names),
		T(test_grant),
		T(test_grant_again_records_new_evidence),
		T(test_public),
		T(test_refuse_withdraw_reset),
		T(test_refuse_twice_writes_one_event),
		T(test_grant_without_evidence_invalid),
		T(test_public_needs_http_url),
		T(test_decision_needs_by),
		T(test_unknown_id_among_several),
		T(test_expiry_checked),
		T(test_expire),
		T(test_expire_only_granted),
		T(test_harvested_hash),
		T(test_correct_and_uncorrect),
		T(test_correction_hash_detects_change),
		T(test_correct_invalid),
		T(test_suggest_accept),
		T(test_suggest_reject),
		T(test_suggest_invalid),
		T(test_source_ids),
		T(test_store_evidence),
		T(test_chain_follows_decisions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
