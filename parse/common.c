/* What the parsers share: the table that picks one by kind, records, and
 * the field helpers that normalise as they store. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "date.h"
#include "parser.h"

extern const struct parser rss_parser, atom_parser, html_parser,
	iati_parser, oai_parser;

static const struct parser *const parsers[] = {
	&rss_parser, &atom_parser, &html_parser, &iati_parser, &oai_parser,
};

const struct parser *
parser_for(const char *kind)
{
	for (size_t i = 0; i < sizeof(parsers) / sizeof(parsers[0]); i++)
		if (strcmp(parsers[i]->kind, kind) == 0)
			return parsers[i];
	return NULL;
}

void
record_free(struct record *r)
{
	if (!r)
		return;
	free(r->external_id);
	free(r->title);
	free(r->url);
	json_decref(r->fields);
	free(r);
}

int
parse_fail(struct parse_context *ctx, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ctx->error, sizeof(ctx->error), fmt, ap);
	va_end(ap);
	return -1;
}

char *
parse_text(struct parse_context *ctx, const char *s, size_t len, bool *oom)
{
	char *text;

	*oom = false;
	if (!s)
		return NULL;
	if (len == SIZE_MAX)
		len = strlen(s);
	if (!(text = text_normalize(s, len, ctx->cfg->parse_max_field,
	    &ctx->text))) {
		*oom = true;
		return NULL;
	}
	if (*text == '\0') {
		free(text);
		return NULL;
	}
	return text;
}

int
field_set_text(json_t *fields, const char *key, const char *s)
{
	if (!s)
		return 0;
	return json_object_set_new(fields, key, json_string(s));
}

int
field_append_text(json_t *fields, const char *key, const char *s)
{
	json_t *array;

	if (!s)
		return 0;
	if (!(array = json_object_get(fields, key))) {
		if (!(array = json_array()) ||
		    json_object_set_new(fields, key, array) < 0)
			return -1;
	}
	return json_array_append_new(array, json_string(s));
}

int
field_set_date(json_t *fields, const char *key, const char *s)
{
	static const char *const precisions[] = {
		[DATE_PRECISION_YEAR] = "year",
		[DATE_PRECISION_MONTH] = "month",
		[DATE_PRECISION_DAY] = "day",
		[DATE_PRECISION_TIME] = "time",
	};
	struct date_value d;
	char buf[DATE_RFC3339_SIZE], name[128];

	if (!s)
		return 0;
	if (date_parse_any(s, &d) < 0) {
		snprintf(name, sizeof(name), "%s_raw", key);
		return json_object_set_new(fields, name, json_string(s));
	}
	snprintf(name, sizeof(name), "%s_precision", key);
	if (json_object_set_new(fields, key, json_string(
	    date_format_value(&d, buf))) < 0)
		return -1;
	return json_object_set_new(fields, name,
		json_string(precisions[d.precision]));
}

int
parse_nomem(struct parse_context *ctx)
{
	return parse_fail(ctx, "out of memory");
}

int
parse_set_owned(struct parse_context *ctx, json_t *fields, const char *key,
	char *v)
{
	int rc = 0;

	if (v && field_set_text(fields, key, v) < 0)
		rc = parse_nomem(ctx);
	free(v);
	return rc;
}

int
parse_set_text(struct parse_context *ctx, json_t *fields, const char *key,
	const char *text, size_t len)
{
	bool oom;
	char *v = parse_text(ctx, text, len, &oom);

	return oom ? parse_nomem(ctx) : parse_set_owned(ctx, fields, key, v);
}

int
parse_set_date(struct parse_context *ctx, json_t *fields, const char *key,
	const char *text, size_t len)
{
	bool oom;
	char *v = parse_text(ctx, text, len, &oom);
	int rc = 0;

	if (oom || (v && field_set_date(fields, key, v) < 0))
		rc = parse_nomem(ctx);
	free(v);
	return rc;
}

int
parse_append(struct parse_context *ctx, json_t *fields, const char *key,
	json_t *value)
{
	json_t *array = json_object_get(fields, key);

	if (!value)
		return parse_nomem(ctx);
	if (!array) {
		if (!(array = json_array()) ||
		    json_object_set_new(fields, key, array) < 0) {
			json_decref(value);
			return parse_nomem(ctx);
		}
	}
	if (json_array_size(array) >= PARSE_ARRAY_MAX) {
		ctx->text.truncated = true;
		json_decref(value);
		return 0;
	}
	return json_array_append_new(array, value) < 0 ? parse_nomem(ctx) : 0;
}

int
parse_append_text(struct parse_context *ctx, json_t *fields, const char *key,
	const char *text, size_t len)
{
	bool oom;
	char *v = parse_text(ctx, text, len, &oom);
	int rc;

	if (!v)
		return oom ? parse_nomem(ctx) : 0;
	rc = parse_append(ctx, fields, key, json_string(v));
	free(v);
	return rc;
}

#define RECORD_TEXT_FACTOR 4
#define RECORD_TEXT_MIN (64 * 1024)

void
parse_budget_init(const struct parse_context *ctx, struct text_budget *b)
{
	size_t max = ctx->cfg->parse_max_field;

	b->used = 0;
	b->cut = false;
	b->max = max > SIZE_MAX / RECORD_TEXT_FACTOR ? SIZE_MAX :
		max * RECORD_TEXT_FACTOR;
	if (b->max < RECORD_TEXT_MIN)
		b->max = RECORD_TEXT_MIN;
}

int
parse_budget_text(struct parse_context *ctx, struct text_budget *b,
	const char *s, size_t len, char **out)
{
	bool oom;
	size_t n;

	if (!(*out = parse_text(ctx, s, len, &oom)))
		return oom ? parse_nomem(ctx) : 0;
	n = strlen(*out);
	if (b->used + n > b->max) {
		ctx->text.truncated = b->cut = true;
		free(*out);
		*out = NULL;
		return 0;
	}
	b->used += n;
	return 0;
}
