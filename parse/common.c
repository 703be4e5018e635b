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
