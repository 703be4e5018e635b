/* The OAI-PMH parser: one page of a ListRecords response with oai_dc
 * metadata (OAI-PMH 2.0), read as a stream. Each record becomes a record
 * when it closes; a deleted one is emitted as deleted, without metadata.
 * A resumptionToken queues the next page; the last page of a full list
 * (no `from`) is a complete snapshot, and the response date becomes the
 * `from` of the next, incremental harvest. OAI errors are read by code. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "date.h"
#include "url.h"
#include "xml.h"

#define NS_OAI "http://www.openarchives.org/OAI/2.0/"
#define NS_OAI_DC "http://www.openarchives.org/OAI/2.0/oai_dc/"
#define NS_DC "http://purl.org/dc/elements/1.1/"

/* Values kept per Dublin Core element (and setSpecs) of one record; more
 * are dropped, and the record says "truncated": true. */
#define LIST_MAX 1000
/* The longest resumptionToken followed. */
#define TOKEN_MAX 4096

/* The fifteen elements of the Dublin Core Metadata Element Set 1.1. */
static const char *const dc_elements[] = {
	"title", "creator", "subject", "description", "publisher",
	"contributor", "date", "type", "format", "identifier", "source",
	"language", "relation", "coverage", "rights",
};

struct oai {
	struct parse_context *ctx;

	/* The response. */
	bool list;		/* <ListRecords> seen */
	char *response_date;
	char *request_url;	/* <request>'s text: the base URL */
	bool request_from;	/* the request had from (or until) */
	char *error_code, *error_message;
	bool error;
	char *token;		/* resumptionToken, trimmed */
	bool token_seen;

	/* The record being read. */
	bool in_record, in_header, in_metadata, in_dc, deleted;
	char *identifier;
	json_t *fields, *dc;
	char *title, *title_pref;	/* first dc:title, first in the
					 * preferred language */
	char *url;
	char *dc_lang;		/* oai_dc:dc/@xml:lang */
	char *element_lang;	/* the DC element's */
	bool have_date, have_language;
	struct text_budget kept;	/* text kept of the record */
};

/* ------------------------------------------------------------ helpers */

/* Normalised text of S for the record, counted against its budget: *OUT
 * is NULL for blank text or when the budget is spent. Returns 0, or -1
 * when out of memory. */
static int
text_of(struct oai *p, const char *s, size_t len, char **out)
{
	return parse_budget_text(p->ctx, &p->kept, s, len, out);
}

/* Appends S to FIELDS[KEY], up to LIST_MAX values. */
static int
append(struct oai *p, json_t *obj, const char *key, const char *s)
{
	json_t *array = json_object_get(obj, key);

	if (array && json_array_size(array) >= LIST_MAX) {
		p->ctx->text.truncated = p->kept.cut = true;
		return 0;
	}
	return field_append_text(obj, key, s) < 0 ?
		parse_fail(p->ctx, "out of memory") : 0;
}

static bool
is_http_url(const char *s)
{
	return strncasecmp(s, "http://", 7) == 0 ||
		strncasecmp(s, "https://", 8) == 0;
}

/* True if the language tag LANG is PREF or a variant of it ("en-GB" for
 * "en"). */
static bool
lang_matches(const char *lang, const char *pref)
{
	size_t n = pref ? strlen(pref) : 0;

	return lang && n > 0 && strncasecmp(lang, pref, n) == 0 &&
		(lang[n] == '\0' || lang[n] == '-' || lang[n] == '_');
}

/* ------------------------------------------------------------- record */

static void
record_clear(struct oai *p)
{
	free(p->identifier);
	json_decref(p->fields);
	json_decref(p->dc);
	free(p->title);
	free(p->title_pref);
	free(p->url);
	free(p->dc_lang);
	free(p->element_lang);
	p->identifier = p->title = p->title_pref = p->url = NULL;
	p->dc_lang = p->element_lang = NULL;
	p->fields = p->dc = NULL;
	p->in_record = p->in_header = p->in_metadata = p->in_dc = false;
	p->deleted = p->have_date = p->have_language = p->kept.cut = false;
	p->kept.used = 0;
}

static int
record_start(struct oai *p)
{
	record_clear(p);
	p->in_record = true;
	if (!(p->fields = json_object()))
		return parse_fail(p->ctx, "out of memory");
	return 0;
}

static int
record_end(struct oai *p)
{
	struct parse_context *ctx = p->ctx;
	struct record *rec;

	if (!p->identifier) {
		/* No identity at the source: nothing to keep it by (and a
		 * deleted one names nothing to delete). */
		ctx->skipped++;
		record_clear(p);
		return 0;
	}
	if (field_set_text(p->fields, "identifier", p->identifier) < 0 ||
	    (p->kept.cut && json_object_set_new(p->fields, "truncated",
	    json_true()) < 0))
		return parse_fail(ctx, "out of memory");
	/* A deleted record keeps only its header (dc_element reads nothing
	 * after a deleted header). */
	if (p->dc && json_object_set(p->fields, "dc", p->dc) < 0)
		return parse_fail(ctx, "out of memory");
	if (!(rec = calloc(1, sizeof(*rec))))
		return parse_fail(ctx, "out of memory");
	rec->external_id = p->identifier;
	rec->fields = p->fields;
	rec->deleted = p->deleted;
	p->identifier = NULL;
	p->fields = NULL;
	if (!p->deleted) {
		if (p->title_pref) {
			rec->title = p->title_pref;
			p->title_pref = NULL;
		} else {
			rec->title = p->title;
			p->title = NULL;
		}
		rec->url = p->url;
		p->url = NULL;
	}
	record_clear(p);
	return ctx->emit(ctx, rec);
}

/* A Dublin Core element of the record closes. */
static int
dc_element(struct oai *p, const char *name, const char *text, size_t len)
{
	const char *lang = p->element_lang ? p->element_lang : p->dc_lang;
	size_t i;
	char *s;
	int rc;

	for (i = 0; i < sizeof(dc_elements) / sizeof(dc_elements[0]); i++)
		if (strcmp(name, dc_elements[i]) == 0)
			break;
	if (i == sizeof(dc_elements) / sizeof(dc_elements[0]) || p->deleted)
		return 0;
	if (text_of(p, text, len, &s) < 0)
		return -1;
	if (!s)
		return 0;
	if (!p->dc && !(p->dc = json_object())) {
		free(s);
		return parse_fail(p->ctx, "out of memory");
	}
	if ((rc = append(p, p->dc, name, s)) < 0) {
		free(s);
		return rc;
	}
	if (strcmp(name, "title") == 0) {
		if (!p->title && !(p->title = strdup(s)))
			rc = parse_fail(p->ctx, "out of memory");
		if (!p->title_pref && lang_matches(lang,
		    p->ctx->cfg->language) && !(p->title_pref = strdup(s)))
			rc = parse_fail(p->ctx, "out of memory");
	} else if (strcmp(name, "identifier") == 0) {
		if (!p->url && is_http_url(s))
			p->url = url_resolve(NULL, s);
	} else if (strcmp(name, "date") == 0 && !p->have_date) {
		struct date_value d;

		/* The first date that is one; else the first, as written. */
		p->have_date = date_parse_any(s, &d) == 0;
		if ((p->have_date || !json_object_get(p->fields,
		    "published_raw")) &&
		    field_set_date(p->fields, "published", s) < 0)
			rc = parse_fail(p->ctx, "out of memory");
		if (p->have_date)
			json_object_del(p->fields, "published_raw");
	} else if (strcmp(name, "language") == 0 && !p->have_language) {
		p->have_language = true;
		if (field_set_text(p->fields, "language", s) < 0)
			rc = parse_fail(p->ctx, "out of memory");
	}
	free(s);
	return rc;
}

/* ----------------------------------------------------------- handlers */

static char *
lang_of(const struct xml_attr *a, size_t n)
{
	const char *l = xml_attr(a, n, XML_NS_XML, "lang");

	return l ? strdup(l) : NULL;
}

static int
on_start(struct xml_reader *r, int depth, const char *ns, const char *name,
	const struct xml_attr *a, size_t n)
{
	struct oai *p = xml_user(r);
	bool oai = ns && strcmp(ns, NS_OAI) == 0;

	if (depth == 1) {
		if (!oai || strcmp(name, "OAI-PMH") != 0)
			return parse_fail(p->ctx, "not an OAI-PMH 2.0 "
				"response: the root element is <%.64s>%s%.128s",
				name, ns ? " in " : " in no namespace", ns ? ns :
				"");
		return XML_COLLECT_NONE;
	}
	if (depth == 2) {
		if (!oai)
			return XML_COLLECT_NONE;
		if (strcmp(name, "responseDate") == 0)
			return XML_COLLECT_TEXT;
		if (strcmp(name, "request") == 0) {
			p->request_from = xml_attr(a, n, NULL, "from") ||
				xml_attr(a, n, NULL, "until");
			return XML_COLLECT_TEXT;
		}
		if (strcmp(name, "error") == 0) {
			bool oom;

			if (p->error || p->error_code)
				return XML_COLLECT_NONE;
			p->error_code = parse_text(p->ctx, xml_attr(a, n, NULL,
				"code"), SIZE_MAX, &oom);
			if (!p->error_code && (oom || !(p->error_code =
			    strdup(""))))
				return parse_fail(p->ctx, "out of memory");
			return XML_COLLECT_TEXT;
		}
		if (strcmp(name, "ListRecords") == 0) {
			p->list = true;
			return XML_COLLECT_NONE;
		}
		/* Identify, ListIdentifiers, GetRecord ...: cybil asks for
		 * ListRecords only, and reading records out of another verb
		 * would replace their metadata with nothing. */
		return parse_fail(p->ctx, "an OAI-PMH %.64s response, not "
			"ListRecords", name);
	}
	if (!p->list)
		return XML_COLLECT_NONE;
	if (depth == 3) {
		if (!oai)
			return XML_COLLECT_NONE;
		if (strcmp(name, "record") == 0)
			return record_start(p) < 0 ? -1 : XML_COLLECT_NONE;
		if (strcmp(name, "resumptionToken") == 0) {
			json_t *doc = p->ctx->document;
			const char *size = xml_attr(a, n, NULL,
				"completeListSize");
			const char *cursor = xml_attr(a, n, NULL, "cursor");
			char *s;
			bool oom;

			/* Kept for --dump: how far the list has come. */
			if ((s = parse_text(p->ctx, size, SIZE_MAX, &oom))) {
				field_set_text(doc, "completeListSize", s);
				free(s);
			}
			if ((s = parse_text(p->ctx, cursor, SIZE_MAX, &oom))) {
				field_set_text(doc, "cursor", s);
				free(s);
			}
			return XML_COLLECT_TEXT;
		}
		return XML_COLLECT_NONE;
	}
	if (!p->in_record)
		return XML_COLLECT_NONE;
	if (depth == 4) {
		if (oai && strcmp(name, "header") == 0) {
			const char *status = xml_attr(a, n, NULL, "status");

			p->in_header = true;
			p->deleted = status && strcmp(status, "deleted") == 0;
		} else if (oai && strcmp(name, "metadata") == 0) {
			p->in_metadata = true;
		}
		return XML_COLLECT_NONE;
	}
	if (depth == 5 && p->in_header)
		return oai && (strcmp(name, "identifier") == 0 ||
			strcmp(name, "datestamp") == 0 ||
			strcmp(name, "setSpec") == 0) ? XML_COLLECT_TEXT :
			XML_COLLECT_NONE;
	if (depth == 5 && p->in_metadata && ns && strcmp(ns, NS_OAI_DC) ==
	    0 && strcmp(name, "dc") == 0) {
		p->in_dc = true;
		free(p->dc_lang);
		p->dc_lang = lang_of(a, n);
		return XML_COLLECT_NONE;
	}
	if (depth == 5 && p->in_metadata && !p->deleted &&
	    !json_object_get(p->fields, "metadata_format")) {
		/* Another format than oai_dc: named, not read. */
		char *s;

		if (text_of(p, ns ? ns : name, SIZE_MAX, &s) < 0)
			return -1;
		if (s && field_set_text(p->fields, "metadata_format", s) < 0) {
			free(s);
			return parse_fail(p->ctx, "out of memory");
		}
		free(s);
		return XML_COLLECT_NONE;
	}
	if (depth == 6 && p->in_dc && ns && strcmp(ns, NS_DC) == 0) {
		free(p->element_lang);
		p->element_lang = lang_of(a, n);
		return XML_COLLECT_TEXT;
	}
	return XML_COLLECT_NONE;
}

static int
header_element(struct oai *p, const char *name, const char *text,
	size_t len)
{
	char *s;
	int rc = 0;

	if (text_of(p, text, len, &s) < 0)
		return -1;
	if (!s)
		return 0;
	if (strcmp(name, "identifier") == 0) {
		if (!p->identifier) {
			p->identifier = s;
			return 0;
		}
	} else if (strcmp(name, "datestamp") == 0) {
		if (!json_object_get(p->fields, "datestamp") &&
		    !json_object_get(p->fields, "datestamp_raw") &&
		    field_set_date(p->fields, "datestamp", s) < 0)
			rc = parse_fail(p->ctx, "out of memory");
	} else {
		rc = append(p, p->fields, "sets", s);
	}
	free(s);
	return rc;
}

/* The resumptionToken as given, without the white space around it (a
 * token is opaque: nothing inside it is changed). */
static int
token_end(struct oai *p, const char *text, size_t len)
{
	while (len > 0 && (*text == ' ' || *text == '\t' || *text == '\n' ||
	    *text == '\r')) {
		text++;
		len--;
	}
	while (len > 0 && (text[len - 1] == ' ' || text[len - 1] == '\t' ||
	    text[len - 1] == '\n' || text[len - 1] == '\r'))
		len--;
	p->token_seen = true;
	if (len == 0)
		return 0;
	if (len > TOKEN_MAX)
		return parse_fail(p->ctx, "resumptionToken longer than %d "
			"bytes", TOKEN_MAX);
	if (memchr(text, '\0', len))
		return parse_fail(p->ctx, "resumptionToken holds a NUL");
	free(p->token);
	if (!(p->token = strndup(text, len)))
		return parse_fail(p->ctx, "out of memory");
	return 0;
}

static int
on_end(struct xml_reader *r, int depth, const char *ns, const char *name,
	const char *text, size_t len)
{
	struct oai *p = xml_user(r);
	bool oai = ns && strcmp(ns, NS_OAI) == 0;
	bool oom;

	if (depth == 2 && oai) {
		if (strcmp(name, "responseDate") == 0 && !p->response_date) {
			p->response_date = parse_text(p->ctx, text, len, &oom);
			return oom ? parse_fail(p->ctx, "out of memory") : 0;
		}
		if (strcmp(name, "request") == 0 && !p->request_url) {
			p->request_url = parse_text(p->ctx, text, len, &oom);
			return oom ? parse_fail(p->ctx, "out of memory") : 0;
		}
		if (strcmp(name, "error") == 0 && !p->error) {
			p->error = true;
			p->error_message = parse_text(p->ctx, text, len, &oom);
			return oom ? parse_fail(p->ctx, "out of memory") : 0;
		}
		return 0;
	}
	if (depth == 3 && oai && p->list) {
		if (strcmp(name, "record") == 0 && p->in_record)
			return record_end(p);
		if (strcmp(name, "resumptionToken") == 0)
			return token_end(p, text, len);
		return 0;
	}
	if (!p->in_record)
		return 0;
	if (depth == 4 && oai) {
		if (strcmp(name, "header") == 0)
			p->in_header = false;
		else if (strcmp(name, "metadata") == 0)
			p->in_metadata = false;
		return 0;
	}
	if (depth == 5 && p->in_header && oai)
		return header_element(p, name, text, len);
	if (depth == 5 && p->in_dc) {
		p->in_dc = false;
		return 0;
	}
	if (depth == 6 && p->in_dc && ns && strcmp(ns, NS_DC) == 0) {
		int rc = dc_element(p, name, text, len);

		free(p->element_lang);
		p->element_lang = NULL;
		return rc;
	}
	return 0;
}

/* ---------------------------------------------------------- the page */

/* The URL of the next page: the base URL of this request (its URL
 * without the query) with verb=ListRecords&resumptionToken=TOKEN. */
static char *
next_url(struct oai *p)
{
	const char *base = p->ctx->base_url;
	char *arg = NULL, *url = NULL, *copy = NULL, *token;
	size_t n;
	CURLU *u;

	/* --dump reads a local file: the base URL is then the one the
	 * response names. */
	if (!base || !is_http_url(base))
		base = p->request_url;
	if (!base)
		return NULL;
	/* Everything but the unreserved characters percent-encoded (a space
	 * as %20, not +, which some repositories would keep as a +). */
	if (!(token = curl_easy_escape(NULL, p->token, (int)strlen(
	    p->token))))
		return NULL;
	n = strlen(token) + sizeof("verb=ListRecords&resumptionToken=");
	if (!(u = curl_url()) || !(arg = malloc(n)))
		goto out;
	snprintf(arg, n, "verb=ListRecords&resumptionToken=%s", token);
	if (curl_url_set(u, CURLUPART_URL, base, 0) != CURLUE_OK ||
	    curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0) != CURLUE_OK ||
	    curl_url_set(u, CURLUPART_QUERY, arg, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_URL, &url, 0) != CURLUE_OK ||
	    !is_http_url(url))
		goto out;
	copy = strdup(url);
out:
	curl_free(url);
	curl_free(token);
	free(arg);
	curl_url_cleanup(u);
	return copy;
}

/* The repository's clock when it answered, as the next harvest's
 * `from`: RFC 3339 in UTC, to the second (or the day, if that is all it
 * gave); NULL if it is no date. */
static char *
harvest_from(const struct oai *p)
{
	struct date_value d;
	char buf[DATE_RFC3339_SIZE];

	if (!p->response_date ||
	    date_parse_iso8601(p->response_date, &d) < 0 ||
	    (d.precision != DATE_PRECISION_TIME &&
	    d.precision != DATE_PRECISION_DAY))
		return NULL;
	return strdup(date_format_value(&d, buf));
}

/* What the whole page says, once read. */
static int
page_done(struct oai *p)
{
	struct parse_context *ctx = p->ctx;
	json_t *doc = ctx->document;
	char *url;

	if (p->response_date)
		field_set_text(doc, "responseDate", p->response_date);
	if (p->request_url)
		field_set_text(doc, "request", p->request_url);
	if (p->error) {
		const char *code = p->error_code;

		field_set_text(doc, "error", code);
		field_set_text(doc, "error_message", p->error_message);
		if (strcmp(code, "noRecordsMatch") == 0) {
			/* Nothing changed since `from`: an empty success. */
			ctx->harvest_from = harvest_from(p);
			field_set_text(doc, "harvest_from", ctx->harvest_from);
			return 0;
		}
		if (strcmp(code, "badResumptionToken") == 0) {
			/* Expired or unknown: the list starts over from the
			 * last complete harvest's date. */
			ctx->restart = true;
			json_object_set_new(doc, "restart", json_true());
			return 0;
		}
		if (p->error_message)
			return parse_fail(ctx, "OAI-PMH error %.64s: %.300s",
				*code ? code : "(no code)", p->error_message);
		return parse_fail(ctx, "OAI-PMH error %.64s", *code ? code :
			"(no code)");
	}
	if (!p->list)
		return parse_fail(ctx, "an OAI-PMH response with neither "
			"ListRecords nor an error");
	/* Every page's response date is kept: the first page's becomes
	 * the next harvest's `from` when its list ends (harvest.c). */
	ctx->harvest_from = harvest_from(p);
	field_set_text(doc, "harvest_from", ctx->harvest_from);
	if (p->token) {
		if (!(url = next_url(p)))
			return parse_fail(ctx, "cannot make the next page's URL "
				"from the base URL %.200s",
				ctx->base_url ? ctx->base_url : "(none)");
		field_set_text(doc, "resumptionToken", p->token);
		field_set_text(doc, "next", url);
		if (ctx->follow(ctx, url, "resume") < 0) {
			free(url);
			return -1;
		}
		free(url);
		return 0;
	}
	/* The last page. A list asked for with `from` (or `until`) holds
	 * only what changed: only a full list says what is gone. A page
	 * reached by a resumptionToken names no `from` itself; which list
	 * it ends is the chain's business (harvest.c). */
	ctx->complete = !p->request_from &&
		!url_query_has(ctx->base_url, "from") &&
		!url_query_has(ctx->base_url, "until");
	return 0;
}

static int
parse_oai(struct parse_context *ctx, int fd)
{
	static const struct xml_handlers handlers = { on_start, on_end };
	struct oai p = { .ctx = ctx };
	int rc;

	parse_budget_init(ctx, &p.kept);
	if (!(ctx->document = json_pack("{s:s}", "format", "oai-pmh")))
		return parse_fail(ctx, "out of memory");
	rc = xml_read(ctx, fd, &handlers, &p);
	if (rc == 0)
		rc = page_done(&p);
	record_clear(&p);
	free(p.response_date);
	free(p.request_url);
	free(p.error_code);
	free(p.error_message);
	free(p.token);
	if (rc < 0) {
		ctx->complete = ctx->restart = false;
		free(ctx->harvest_from);
		ctx->harvest_from = NULL;
	}
	return rc;
}

const struct parser oai_parser = { "oai-pmh", "oai-pmh", "1", parse_oai };
