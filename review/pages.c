/* The console's pages. Every value from the store goes through html_text
 * (or html_query_value inside links): harvested pages are hostile, and a
 * script in a feed title must stay text. Forms post to this origin and
 * carry the session's CSRF token. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "audit.h"
#include "console.h"
#include "show.h"

#define PAGE_SIZE 50

const char console_css[] =
	"*{box-sizing:border-box}"
	"body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1b1b1b;"
	"background:#fafafa}"
	"nav{display:flex;flex-wrap:wrap;gap:.2em 1.2em;align-items:center;"
	"padding:.6em 1em;background:#24323f}"
	"nav a,nav button{color:#fff;text-decoration:none;font:inherit;"
	"background:none;border:0;cursor:pointer;padding:0}"
	"nav form{margin-left:auto}"
	"main{max-width:72em;margin:0 auto;padding:1em}"
	"h1{font-size:1.4em;overflow-wrap:anywhere}h2{font-size:1.1em;"
	"margin-top:1.6em}"
	"table{border-collapse:collapse;width:100%;margin:.5em 0}"
	"th,td{text-align:left;vertical-align:top;padding:.3em .5em;"
	"border-bottom:1px solid #ddd;overflow-wrap:anywhere}"
	"th{background:#eef1f4}"
	"form.decide{display:inline-block;margin:.3em .6em .3em 0;padding:.5em;"
	"border:1px solid #ccd;border-radius:4px;background:#fff;"
	"vertical-align:top}"
	"label{display:block;margin:.2em 0}input,textarea,select{font:inherit;"
	"max-width:100%}"
	"button{font:inherit;padding:.2em .8em}"
	"#message{background:#e3f6e3;padding:.5em}"
	"#error{background:#fbe3e3;padding:.5em}"
	".conflict{color:#a00}.muted{color:#666}"
	"ul#counts{list-style:none;padding:0;display:flex;flex-wrap:wrap;"
	"gap:.3em 1.2em}"
	"form.filter label{display:inline-block;margin-right:.8em}"
	"@media (max-width:40em){th,td{display:block;border:0}"
	"tr{display:block;border-bottom:1px solid #ccc;padding:.3em 0}"
	"thead{display:none}}\n";

static const char *const consent_states[] = { "pending", "public",
	"granted", "refused", "withdrawn", NULL };

static const char *
str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

static const char *
arg(const struct view *v, const char *name)
{
	const char *s = MHD_lookup_connection_value(v->conn,
		MHD_GET_ARGUMENT_KIND, name);

	return s && *s ? s : NULL;
}

static void
csrf_field(const struct view *v, struct html *h)
{
	html_raw(h, "<input type=\"hidden\" name=\"csrf\" value=\"");
	html_text(h, v->session->csrf);
	html_raw(h, "\">");
}

static void
begin(const struct view *v, struct html *h, const char *title)
{
	html_raw(h, "<!DOCTYPE html>\n<html lang=\"en\"><head>"
		"<meta charset=\"utf-8\">"
		"<meta name=\"viewport\" content=\"width=device-width,"
		"initial-scale=1\"><title>");
	html_text(h, title);
	html_raw(h, " · cybil</title><link rel=\"stylesheet\" "
		"href=\"/style.css\"></head><body>");
	if (v->session) {
		html_raw(h, "<nav><a href=\"/\">Queue</a>"
			"<a href=\"/sources\">Sources</a>"
			"<a href=\"/log\">Audit log</a>"
			"<form id=\"logout\" method=\"post\" action=\"/logout\">");
		csrf_field(v, h);
		html_raw(h, "<button type=\"submit\">Log out ");
		html_text(h, v->session->name);
		html_raw(h, "</button></form></nav>");
	}
	html_raw(h, "<main>");
}

static void
end(struct html *h)
{
	html_raw(h, "</main></body></html>\n");
}

/* A cell of text; "—" when empty. */
static void
cell(struct html *h, const char *s)
{
	html_raw(h, "<td>");
	if (s && *s)
		html_text(h, s);
	else
		html_raw(h, "<span class=\"muted\">—</span>");
	html_raw(h, "</td>");
}

static void
cell_int(struct html *h, const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	if (json_is_integer(v))
		html_printf(h, "<td>%lld</td>", (long long)json_integer_value(v));
	else
		cell(h, NULL);
}

int
page_error(const struct view *v, struct html *h, int status,
	const char *message)
{
	begin(v, h, "Error");
	html_printf(h, "<h1>%d</h1><p id=\"error\">", status);
	html_text(h, message);
	html_raw(h, "</p>");
	if (v->session)
		html_raw(h, "<p><a href=\"/\">Back to the queue</a></p>");
	else
		html_raw(h, "<p><a href=\"/login\">Log in</a></p>");
	end(h);
	return status;
}

int
page_login(const struct view *v, struct html *h, const char *error,
	const char *csrf)
{
	begin(v, h, "Log in");
	html_raw(h, "<h1>cybil review console</h1>");
	if (account_count(v->st) == 0)
		html_raw(h, "<p id=\"no-accounts\">There is no account yet. "
			"On the server, create one with "
			"<code>cybil-review passwd NAME</code>, then log in "
			"here.</p>");
	if (error) {
		html_raw(h, "<p id=\"error\">");
		html_text(h, error);
		html_raw(h, "</p>");
	}
	html_raw(h, "<form id=\"login\" method=\"post\" action=\"/login\">"
		"<input type=\"hidden\" name=\"csrf\" value=\"");
	html_text(h, csrf);
	html_raw(h, "\"><label>Name <input name=\"name\" autocomplete=\"username\" "
		"required maxlength=\"64\"></label>"
		"<label>Password <input name=\"password\" type=\"password\" "
		"autocomplete=\"current-password\" required></label>"
		"<button type=\"submit\">Log in</button></form>");
	end(h);
	return error ? MHD_HTTP_UNAUTHORIZED : MHD_HTTP_OK;
}

/* -------------------------------------------------------------- queue */

static void
counts(const struct view *v, struct html *h)
{
	json_t *rows = query_rows(v->st, "SELECT consent, count(*) AS n"
		" FROM record WHERE state = 'active'"
		" GROUP BY consent", NULL), *row;
	size_t i;

	html_raw(h, "<ul id=\"counts\">");
	for (const char *const *c = consent_states; *c; c++) {
		long long n = 0;

		json_array_foreach(rows, i, row)
			if (strcmp(str(row, "consent"), *c) == 0)
				n = json_integer_value(json_object_get(row, "n"));
		html_printf(h, "<li data-consent=\"%s\"><a href=\"/?consent=%s\">"
			"%s</a>: %lld</li>", *c, *c, *c, n);
	}
	html_raw(h, "</ul>");
	json_decref(rows);
}

static void
filter_input(struct html *h, const char *label, const char *name,
	const char *value)
{
	html_printf(h, "<label>%s <input name=\"%s\" value=\"", label, name);
	html_text(h, value);
	html_raw(h, "\"></label>");
}

static void
filter_form(const struct view *v, struct html *h, const char *consent)
{
	html_raw(h, "<form class=\"filter\" method=\"get\" action=\"/\">"
		"<label>Consent <select name=\"consent\">");
	for (const char *const *c = consent_states; ; c++) {
		const char *name = *c ? *c : "all";

		html_printf(h, "<option%s>%s</option>", strcmp(consent, name) ?
			"" : " selected", name);
		if (!*c)
			break;
	}
	html_raw(h, "</select></label>");
	filter_input(h, "Source", "source", arg(v, "source"));
	filter_input(h, "Kind", "kind", arg(v, "kind"));
	filter_input(h, "Changed since", "since", arg(v, "since"));
	html_printf(h, "<label><input type=\"checkbox\" name=\"changed\" "
		"value=\"1\"%s> changed since decided</label>",
		arg(v, "changed") ? " checked" : "");
	html_raw(h, "<button type=\"submit\">Filter</button></form>");
}

/* A link to page N of the queue with the same filters. */
static void
page_link(const struct view *v, struct html *h, long n, const char *rel,
	const char *label)
{
	static const char *const keys[] = { "consent", "source", "kind",
		"since", "changed", NULL };

	html_printf(h, "<a rel=\"%s\" href=\"/?page=%ld", rel, n);
	for (const char *const *k = keys; *k; k++) {
		if (!arg(v, *k))
			continue;
		html_printf(h, "&amp;%s=", *k);
		html_query_value(h, arg(v, *k));
	}
	html_printf(h, "\">%s</a> ", label);
}

int
page_queue(const struct view *v, struct html *h)
{
	const char *consent = arg(v, "consent") ? arg(v, "consent") :
		"pending";
	long page = arg(v, "page") ? strtol(arg(v, "page"), NULL, 10) : 1;
	struct list_filter f = {
		.consent = consent, .source = arg(v, "source"),
		.kind = arg(v, "kind"), .since = arg(v, "since"),
		.changed = arg(v, "changed") != NULL,
		.limit = PAGE_SIZE + 1,
	};
	char err[256];
	json_t *rows, *row;
	size_t i;

	if (page < 1 || page > 1000000)
		page = 1;
	f.offset = (page - 1) * PAGE_SIZE;
	if (!(rows = list_rows(v->st, &f, err, sizeof(err))))
		return page_error(v, h, *err ? MHD_HTTP_BAD_REQUEST :
			MHD_HTTP_INTERNAL_SERVER_ERROR, *err ? err :
			"The store could not be read.");
	begin(v, h, "Queue");
	html_raw(h, "<h1>Records</h1>");
	counts(v, h);
	filter_form(v, h, consent);
	html_raw(h, "<table id=\"queue\"><thead><tr><th>Title</th>"
		"<th>Consent</th><th>Source</th><th>Kind</th><th>Changed</th>"
		"</tr></thead><tbody>");
	json_array_foreach(rows, i, row) {
		if (i == PAGE_SIZE)
			break;
		html_raw(h, "<tr data-id=\"");
		html_text(h, str(row, "id"));
		html_raw(h, "\"><td><a href=\"/record/");
		html_text(h, str(row, "id"));
		html_raw(h, "\">");
		html_text(h, *str(row, "title") ? str(row, "title") :
			"(untitled)");
		html_raw(h, "</a></td>");
		cell(h, str(row, "consent"));
		cell(h, str(row, "source"));
		cell(h, str(row, "kind"));
		cell(h, str(row, "changed_at"));
		html_raw(h, "</tr>");
	}
	html_raw(h, "</tbody></table><p>");
	if (json_array_size(rows) == 0)
		html_raw(h, "No records match. ");
	if (page > 1)
		page_link(v, h, page - 1, "prev", "« previous");
	if (json_array_size(rows) > PAGE_SIZE)
		page_link(v, h, page + 1, "next", "next »");
	html_raw(h, "</p>");
	end(h);
	json_decref(rows);
	return MHD_HTTP_OK;
}

/* ------------------------------------------------------------- record */

/* A harvested or corrected value: strings as they are, anything else as
 * compact JSON. */
static void
value(struct html *h, const json_t *v)
{
	char *s;

	if (!v || json_is_null(v)) {
		html_raw(h, "<span class=\"muted\">—</span>");
		return;
	}
	if (json_is_string(v)) {
		html_text(h, json_string_value(v));
		return;
	}
	if (!(s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS |
	    JSON_ENCODE_ANY))) {
		h->failed = true;
		return;
	}
	html_text(h, s);
	free(s);
}

static void
form_begin(const struct view *v, struct html *h, const char *id,
	const char *action, const char *cls, const char *title, bool multipart)
{
	html_printf(h, "<form method=\"post\" class=\"%s\"", cls);
	if (id)
		html_printf(h, " id=\"%s\"", id);
	if (multipart)
		html_raw(h, " enctype=\"multipart/form-data\"");
	html_raw(h, " action=\"");
	html_text(h, action);
	html_raw(h, "\">");
	if (title)
		html_printf(h, "<strong>%s</strong>", title);
	csrf_field(v, h);
}

static void
form_end(struct html *h, const char *button)
{
	html_printf(h, "<button type=\"submit\">%s</button></form>", button);
}

static void
fields_table(const struct view *v, struct html *h, const json_t *view,
	const char *base)
{
	const json_t *f, *c;
	size_t i;

	html_raw(h, "<h2>Values</h2><table id=\"values\"><thead><tr>"
		"<th>Field</th><th>Harvested</th><th>Corrected</th></tr>"
		"</thead><tbody>");
	json_array_foreach(json_object_get(view, "fields"), i, f) {
		html_raw(h, "<tr data-field=\"");
		html_text(h, str(f, "field"));
		html_raw(h, "\"><th>");
		html_text(h, str(f, "field"));
		html_raw(h, "</th><td class=\"harvested\">");
		value(h, json_object_get(f, "harvested"));
		html_raw(h, "</td><td class=\"corrected\">");
		if ((c = json_object_get(f, "correction"))) {
			html_text(h, str(c, "value"));
			html_raw(h, "<br><span class=\"muted\">by ");
			html_text(h, str(c, "by"));
			html_raw(h, " at ");
			html_text(h, str(c, "at"));
			html_raw(h, "</span>");
			if (json_is_true(json_object_get(c, "conflict")))
				html_raw(h, "<br><span class=\"conflict\">"
					"changed at the source since</span>");
			form_begin(v, h, NULL, base, "uncorrect", NULL, false);
			html_raw(h, "<input type=\"hidden\" name=\"field\" "
				"value=\"");
			html_text(h, str(f, "field"));
			html_raw(h, "\">");
			form_end(h, "Remove the correction");
		}
		html_raw(h, "</td></tr>");
	}
	html_raw(h, "</tbody></table>");
}

/* TEXT with the values of KEYS in place of each "%": "first %, last %". */
static void
text_with(struct html *h, const json_t *r, const char *text,
	const char *const *keys)
{
	const char *p = text, *pct;
	char part[64];

	for (; (pct = strchr(p, '%')) && *keys; p = pct + 1, keys++) {
		snprintf(part, sizeof(part), "%.*s", (int)(pct - p), p);
		html_raw(h, part);
		html_text(h, str(r, *keys));
	}
	html_raw(h, p);
}

static void
provenance(struct html *h, const json_t *r)
{
	static const struct { const char *label, *text, *keys[3]; } rows[] = {
		{ "Source", "%", { "source" } },
		{ "Kind", "%", { "kind" } },
		{ "External id", "%", { "external_id" } },
		{ "Capture URL", "%", { "capture_url" } },
		{ "Final URL", "%", { "final_url" } },
		{ "Fetched", "%", { "fetched_at" } },
		{ "Content type", "%", { "content_type" } },
		{ "Body sha256", "%", { "body_sha256" } },
		{ "Parser", "% %", { "parser", "parser_version" } },
		{ "Seen", "first %, last %, changed %",
			{ "first_seen", "last_seen", "changed_at" } },
	};

	html_raw(h, "<section id=\"provenance\"><h2>Provenance</h2><table>"
		"<tr><th>HTTP status</th>");
	cell_int(h, r, "status");
	html_raw(h, "</tr>");
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		html_printf(h, "<tr><th>%s</th><td>", rows[i].label);
		text_with(h, r, rows[i].text, rows[i].keys);
		html_raw(h, "</td></tr>");
	}
	html_raw(h, "</table>");
	if (*str(r, "body_sha256")) {
		html_raw(h, "<p><a id=\"capture\" download href=\"/record/");
		html_text(h, str(r, "id"));
		html_raw(h, "/capture\">Download the stored capture</a></p>");
	}
	html_raw(h, "</section>");
}

static bool
is_evidence_hash(const char *s)
{
	return strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

static void
history(struct html *h, const json_t *view)
{
	const json_t *r = json_object_get(view, "record"), *e;
	size_t i;

	html_raw(h, "<section id=\"consent\"><h2>Consent</h2><p>Now "
		"<span id=\"state\">");
	html_text(h, str(r, "consent"));
	html_raw(h, "</span>");
	if (*str(r, "consent_basis")) {
		html_raw(h, " (");
		html_text(h, str(r, "consent_basis"));
		html_raw(h, ")");
	}
	if (*str(r, "consent_expires")) {
		html_raw(h, " until ");
		html_text(h, str(r, "consent_expires"));
	}
	html_raw(h, "; the record is ");
	html_text(h, str(r, "state"));
	html_raw(h, ".</p><table><thead><tr><th>When</th><th>By</th>"
		"<th>From → to</th><th>Basis</th><th>Evidence</th>"
		"<th>Note</th></tr></thead><tbody>");
	json_array_foreach(json_object_get(view, "history"), i, e) {
		html_raw(h, "<tr>");
		cell(h, str(e, "at"));
		cell(h, str(e, "by"));
		html_raw(h, "<td>");
		html_text(h, *str(e, "old") ? str(e, "old") : "new");
		html_raw(h, " → ");
		html_text(h, str(e, "new"));
		html_raw(h, "</td>");
		cell(h, str(e, "basis"));
		if (is_evidence_hash(str(e, "evidence"))) {
			html_raw(h, "<td><a download href=\"/evidence/");
			html_text(h, str(e, "evidence"));
			html_raw(h, "\">file ");
			html_printf(h, "%.12s…", str(e, "evidence"));
			html_raw(h, "</a></td>");
		} else
			cell(h, str(e, "evidence"));
		cell(h, str(e, "note"));
		html_raw(h, "</tr>");
	}
	html_raw(h, "</tbody></table></section>");
}

static void
suggestions(const struct view *v, struct html *h, const json_t *view)
{
	const json_t *s;
	char action[64];
	size_t i;

	html_raw(h, "<section id=\"suggestions\"><h2>Pending suggestions"
		"</h2>");
	if (json_array_size(json_object_get(view, "suggestions")) == 0)
		html_raw(h, "<p class=\"muted\">None.</p>");
	json_array_foreach(json_object_get(view, "suggestions"), i, s) {
		long long id = json_integer_value(json_object_get(s, "id"));

		html_printf(h, "<div class=\"suggestion\" data-id=\"%lld\"><p>"
			"#%lld, ", id, id);
		html_text(h, str(s, "at"));
		html_raw(h, ": set <strong>");
		html_text(h, str(s, "field"));
		html_raw(h, "</strong> to “");
		html_text(h, str(s, "value"));
		html_raw(h, "” — from ");
		html_text(h, str(s, "contact"));
		if (*str(s, "note")) {
			html_raw(h, " (");
			html_text(h, str(s, "note"));
			html_raw(h, ")");
		}
		html_raw(h, "</p>");
		snprintf(action, sizeof(action), "/suggestion/%lld/accept", id);
		form_begin(v, h, NULL, action, "decide accept", NULL, false);
		form_end(h, "Accept");
		snprintf(action, sizeof(action), "/suggestion/%lld/reject", id);
		form_begin(v, h, NULL, action, "decide reject", NULL, false);
		form_end(h, "Reject");
		html_raw(h, "</div>");
	}
	html_raw(h, "</section>");
}

static void
note_field(struct html *h)
{
	html_raw(h, "<label>Note <input name=\"note\" maxlength=\"2000\">"
		"</label>");
}

static void
decision_forms(const struct view *v, struct html *h, const char *id)
{
	static const struct { const char *action, *title, *button; } plain[] = {
		{ "refuse", "Refuse", "Refuse" },
		{ "withdraw", "Withdraw consent", "Withdraw" },
		{ "reset", "Back to pending", "Reset" },
	};
	char action[64];

	html_raw(h, "<section id=\"decide\"><h2>Decide</h2>");
	snprintf(action, sizeof(action), "/record/%s/grant", id);
	form_begin(v, h, "grant", action, "decide", "Grant (owner's consent)",
		true);
	html_raw(h, "<label>Evidence file <input type=\"file\" "
		"name=\"evidence_file\"></label>"
		"<label>or evidence URI <input name=\"evidence_uri\" "
		"placeholder=\"mailto:… or https://…\"></label>"
		"<label>Expires <input name=\"expires\" "
		"placeholder=\"2027-12-31\"></label>");
	note_field(h);
	form_end(h, "Grant");
	snprintf(action, sizeof(action), "/record/%s/public", id);
	form_begin(v, h, "public", action, "decide", "Publicly available",
		false);
	html_raw(h, "<label>Where <input name=\"url\" type=\"url\" "
		"placeholder=\"https://…\"></label>");
	note_field(h);
	form_end(h, "Mark public");
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		snprintf(action, sizeof(action), "/record/%s/%s", id,
			plain[i].action);
		form_begin(v, h, plain[i].action, action, "decide",
			plain[i].title, false);
		note_field(h);
		form_end(h, plain[i].button);
	}
	snprintf(action, sizeof(action), "/record/%s/correct", id);
	form_begin(v, h, "correct", action, "decide", "Correct a field",
		false);
	html_raw(h, "<label>Field <input name=\"field\" "
		"placeholder=\"title\"></label>"
		"<label>Value <textarea name=\"value\" rows=\"2\">"
		"</textarea></label>");
	note_field(h);
	form_end(h, "Correct");
	html_raw(h, "</section>");
}

int
page_record(const struct view *v, struct html *h, const char *id,
	int status, const char *error)
{
	json_t *view = record_view(v->st, id), *r;
	const char *done = arg(v, "done");
	char base[64];

	if (!view)
		return page_error(v, h, MHD_HTTP_INTERNAL_SERVER_ERROR,
			"The store could not be read.");
	if (json_is_null(view))
		return page_error(v, h, MHD_HTTP_NOT_FOUND,
			"There is no such record.");
	r = json_object_get(view, "record");
	begin(v, h, *str(r, "title") ? str(r, "title") : "Record");
	html_raw(h, "<h1>");
	html_text(h, *str(r, "title") ? str(r, "title") : "(untitled)");
	html_raw(h, "</h1><p class=\"muted\">Record ");
	html_text(h, id);
	html_raw(h, "</p>");
	if (error) {
		html_raw(h, "<p id=\"error\">");
		html_text(h, error);
		html_raw(h, " — nothing was changed.</p>");
	} else if (done && strlen(done) < 16 &&
	    strspn(done, "abcdefghijklmnopqrstuvwxyz") == strlen(done)) {
		html_raw(h, "<p id=\"message\">Done: ");
		html_text(h, done);
		html_raw(h, ".</p>");
	}
	snprintf(base, sizeof(base), "/record/%s/uncorrect", id);
	fields_table(v, h, view, base);
	provenance(h, r);
	history(h, view);
	suggestions(v, h, view);
	decision_forms(v, h, id);
	end(h);
	json_decref(view);
	return status;
}

/* ---------------------------------------------------------------- log */

int
page_log(const struct view *v, struct html *h)
{
	const char *before = arg(v, "before");
	char why[512], head[HASH_HEX_SIZE];
	int64_t bad = 0;
	json_t *rows, *e;
	size_t i;
	int rc;

	if (before && strspn(before, "0123456789") != strlen(before))
		before = NULL;
	rows = query_rows(v->st, "SELECT id, at, by, record_id, old, new,"
		" basis, evidence, note FROM consent_event"
		" WHERE ?1 IS NULL OR id < CAST(?1 AS INTEGER)"
		" ORDER BY id DESC LIMIT 100", before);
	if (!rows)
		return page_error(v, h, MHD_HTTP_INTERNAL_SERVER_ERROR,
			"The store could not be read.");
	begin(v, h, "Audit log");
	html_raw(h, "<h1>Audit log</h1><p id=\"chain\">");
	rc = audit_verify(v->st, &bad, why, sizeof(why));
	if (rc != STORE_OK)
		html_raw(h, "The chain could not be checked: the store could "
			"not be read.");
	else if (bad != 0) {
		html_printf(h, "<strong class=\"conflict\">BROKEN</strong> at "
			"%s %lld: ", bad > 0 ? "event" : "release",
			(long long)(bad > 0 ? bad : -bad));
		html_text(h, why);
	} else if (audit_head(v->st, head) == STORE_OK) {
		html_raw(h, "The chain is verified; its head is <code>");
		html_text(h, head);
		html_raw(h, "</code>.");
	}
	html_raw(h, "</p><table id=\"log\"><thead><tr><th>#</th><th>When</th>"
		"<th>By</th><th>Record</th><th>From → to</th><th>Basis</th>"
		"<th>Note</th></tr></thead><tbody>");
	json_array_foreach(rows, i, e) {
		html_raw(h, "<tr>");
		cell_int(h, e, "id");
		cell(h, str(e, "at"));
		cell(h, str(e, "by"));
		html_raw(h, "<td><a href=\"/record/");
		html_text(h, str(e, "record_id"));
		html_raw(h, "\">");
		html_text(h, str(e, "record_id"));
		html_raw(h, "</a></td><td>");
		html_text(h, *str(e, "old") ? str(e, "old") : "new");
		html_raw(h, " → ");
		html_text(h, str(e, "new"));
		html_raw(h, "</td>");
		cell(h, str(e, "basis"));
		cell(h, str(e, "note"));
		html_raw(h, "</tr>");
	}
	html_raw(h, "</tbody></table>");
	if (json_array_size(rows) == 100)
		html_printf(h, "<p><a rel=\"next\" href=\"/log?before=%lld\">"
			"older »</a></p>", (long long)json_integer_value(
			json_object_get(json_array_get(rows, 99), "id")));
	end(h);
	json_decref(rows);
	return MHD_HTTP_OK;
}

/* ------------------------------------------------------------ sources */

static void
latest_release(const struct view *v, struct html *h)
{
	json_t *rows = query_rows(v->st, "SELECT serial, state, created,"
		" records, revoked_at FROM release"
		" ORDER BY serial DESC LIMIT 1", NULL);
	const json_t *r = json_array_get(rows, 0);

	html_raw(h, "<section id=\"release\"><h2>Latest release</h2><p>");
	if (!r)
		html_raw(h, "None yet.");
	else {
		html_printf(h, "Release %06lld, ", (long long)
			json_integer_value(json_object_get(r, "serial")));
		html_text(h, str(r, "state"));
		html_raw(h, ", made ");
		html_text(h, str(r, "created"));
		html_printf(h, ", %lld records", (long long)json_integer_value(
			json_object_get(r, "records")));
		if (*str(r, "revoked_at")) {
			html_raw(h, "; revoked ");
			html_text(h, str(r, "revoked_at"));
		}
		html_raw(h, ".");
	}
	html_raw(h, "</p></section>");
	json_decref(rows);
}

int
page_sources(const struct view *v, struct html *h)
{
	json_t *rows = query_rows(v->st, "SELECT name, kind, url, configured,"
		" last_attempt, last_success, failures, next_due, last_error,"
		" (SELECT count(*) FROM record r WHERE r.source = s.name"
		"  AND r.state = 'active') AS records"
		" FROM source s ORDER BY name", NULL), *s;
	size_t i;

	if (!rows)
		return page_error(v, h, MHD_HTTP_INTERNAL_SERVER_ERROR,
			"The store could not be read.");
	begin(v, h, "Sources");
	html_raw(h, "<h1>Sources</h1><table id=\"sources\"><thead><tr>"
		"<th>Name</th><th>Kind</th><th>URL</th><th>Records</th>"
		"<th>Last success</th><th>Failures</th><th>Next due</th>"
		"<th>Last error</th></tr></thead><tbody>");
	json_array_foreach(rows, i, s) {
		html_raw(h, "<tr data-source=\"");
		html_text(h, str(s, "name"));
		html_raw(h, "\"><td><a href=\"/?consent=all&amp;source=");
		html_query_value(h, str(s, "name"));
		html_raw(h, "\">");
		html_text(h, str(s, "name"));
		html_raw(h, "</a>");
		if (json_integer_value(json_object_get(s, "configured")) == 0)
			html_raw(h, " <span class=\"muted\">(removed from the "
				"config)</span>");
		html_raw(h, "</td>");
		cell(h, str(s, "kind"));
		cell(h, str(s, "url"));
		cell_int(h, s, "records");
		cell(h, str(s, "last_success"));
		cell_int(h, s, "failures");
		cell(h, str(s, "next_due"));
		cell(h, str(s, "last_error"));
		html_raw(h, "</tr>");
	}
	html_raw(h, "</tbody></table>");
	latest_release(v, h);
	end(h);
	json_decref(rows);
	return MHD_HTTP_OK;
}
