/* The IATI parser: activity files of the IATI standard, 1.0x and 2.0x
 * (iati-activities/iati-activity), read as a stream. Each activity becomes
 * one record when it closes, so memory stays flat however many activities
 * the file holds; an IATI file is a complete snapshot of its activities.
 *
 * 2.0x puts every text in <narrative xml:lang="..."> children; 1.0x puts
 * it directly in the element (one element per language). Both are read
 * the same way: an element's narratives if it has any, else its own text. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "date.h"
#include "url.h"
#include "xml.h"

/* Debian's iso-codes data (package iso-codes). */
#ifndef ISO_3166_1_JSON
#define ISO_3166_1_JSON "/usr/share/iso-codes/json/iso_3166-1.json"
#endif

/* Entries kept per list of one activity (narratives, sectors, budgets
 * ...); more are dropped, and the record says "truncated": true. */
#define LIST_MAX 1000
/* The longest language tag kept (RFC 5646 allows 35 characters in
 * practice). */
#define LANG_MAX 35

/* Where the activity's child elements lead. */
enum section {
	SECT_NONE,
	SECT_IDENTIFIER,
	SECT_TITLE,
	SECT_DESCRIPTION,
	SECT_REPORTING_ORG,
	SECT_PARTICIPATING_ORG,
	SECT_ACTIVITY_DATE,
	SECT_BUDGET,
	SECT_DOCUMENT_LINK,
	SECT_WEBSITE,
};

/* Inside a budget or a document-link. */
enum part {
	PART_NONE,
	PART_VALUE,		/* budget/value */
	PART_TITLE,		/* document-link/title */
	PART_DESCRIPTION,	/* document-link/description */
};

struct narrative {
	char *lang;		/* effective language, or NULL */
	char *text;
};

struct narratives {
	struct narrative *v;
	size_t n, cap;
};

/* An element whose text comes as narratives (2.0x) or as its own text
 * (1.0x). */
struct container {
	int depth;		/* 0: none open */
	char *lang;		/* its own xml:lang */
	char *narrative_lang;	/* of the narrative being read */
	struct narratives list;
	char *own;		/* its text when it has no narratives */
};

struct iati {
	struct parse_context *ctx;
	const char *base;	/* xml:base at the element that opens */
	char *file_lang;	/* iati-activities/@xml:lang */

	/* The activity being read. */
	bool in_activity;
	json_t *fields;
	char *identifier;
	char *url;
	char *lang;		/* its default language */
	char *currency;		/* its default currency */
	struct narratives titles;
	struct text_budget kept;	/* text kept of the record */

	enum section sect;
	enum part part;
	json_t *item;		/* the budget, link or organisation read */
	char *desc_type;	/* description/@type */
	char *date_type;	/* activity-date/@type as a code */
	char *date_iso;		/* activity-date/@iso-date */
	struct container c;
};

/* ------------------------------------------------------------ helpers */

/* Normalised text of S for the activity, counted against its text
 * budget: *OUT is NULL for blank text or when the budget is spent.
 * Returns 0, or -1 when out of memory. */
static int
text_of(struct iati *p, const char *s, size_t len, char **out)
{
	return parse_budget_text(p->ctx, &p->kept, s, len, out);
}

static int
attr_of(struct iati *p, const struct xml_attr *a, size_t n, const char *ns,
	const char *name, char **out)
{
	return text_of(p, xml_attr(a, n, ns, name), SIZE_MAX, out);
}

/* A language tag as BCP 47 writes it ("en", "fr-CA", "zh-Hant-TW"), or
 * NULL if S is none. */
static char *
lang_tag(const char *s)
{
	size_t len, i, start = 0, sub = 0;
	char *tag;

	if (!s)
		return NULL;
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	len = strlen(s);
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' ||
	    s[len - 1] == '\n' || s[len - 1] == '\r'))
		len--;
	if (len == 0 || len > LANG_MAX || !(tag = strndup(s, len)))
		return NULL;
	for (i = 0; i <= len; i++) {
		size_t n;

		if (i < len && tag[i] == '_')
			tag[i] = '-';
		if (i < len && tag[i] != '-') {
			if (!isalnum((unsigned char)tag[i]))
				goto bad;
			continue;
		}
		n = i - start;
		if (n == 0 || n > 8)
			goto bad;
		for (size_t j = start; j < i; j++) {
			unsigned char c = (unsigned char)tag[j];

			/* fr-CA, zh-Hant: region upper, script title case. */
			if (sub > 0 && n == 2)
				tag[j] = (char)toupper(c);
			else if (sub > 0 && n == 4 && j == start)
				tag[j] = (char)toupper(c);
			else
				tag[j] = (char)tolower(c);
		}
		start = i + 1;
		sub++;
	}
	return tag;
bad:
	free(tag);
	return NULL;
}

/* Index in V of the text in language PREF, else in DEFLANG, else 0. */
static size_t
choose(const struct narrative *v, size_t n, const char *pref,
	const char *deflang)
{
	size_t plen = pref ? strcspn(pref, "-") : 0;

	for (size_t i = 0; pref && i < n; i++)
		if (v[i].lang && strcasecmp(v[i].lang, pref) == 0)
			return i;
	for (size_t i = 0; pref && i < n; i++)
		if (v[i].lang && strncasecmp(v[i].lang, pref, plen) == 0 &&
		    (v[i].lang[plen] == '-' || v[i].lang[plen] == '\0'))
			return i;
	for (size_t i = 0; deflang && i < n; i++)
		if (v[i].lang && strcasecmp(v[i].lang, deflang) == 0)
			return i;
	return 0;
}

static void
narratives_clear(struct narratives *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].lang);
		free(l->v[i].text);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* Adds (LANG, TEXT), taking both (also on failure). */
static int
narratives_add(struct iati *p, struct narratives *l, char *lang, char *text)
{
	if (l->n == LIST_MAX) {
		p->ctx->text.truncated = true;
		p->kept.cut = true;
		free(lang);
		free(text);
		return 0;
	}
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 4;
		struct narrative *v = realloc(l->v, cap * sizeof(*v));

		if (!v) {
			free(lang);
			free(text);
			return parse_fail(p->ctx, "out of memory");
		}
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n].lang = lang;
	l->v[l->n].text = text;
	l->n++;
	return 0;
}

/* The activity's default language: its xml:lang, else the file's. */
static const char *
default_lang(const struct iati *p)
{
	return p->lang ? p->lang : p->file_lang;
}

/* Sets OBJ[KEY] to the string S, taking S. */
static int
set_taken(struct iati *p, json_t *obj, const char *key, char *s)
{
	int rc;

	if (!s)
		return 0;
	rc = json_object_set_new(obj, key, json_string(s));
	free(s);
	return rc < 0 ? parse_fail(p->ctx, "out of memory") : 0;
}

static int
set_attr(struct iati *p, json_t *obj, const char *key,
	const struct xml_attr *a, size_t n, const char *name)
{
	char *s;

	if (attr_of(p, a, n, NULL, name, &s) < 0)
		return -1;
	return set_taken(p, obj, key, s);
}

/* Appends ITEM (taken) to the array FIELDS[KEY], up to LIST_MAX. */
static int
append_item(struct iati *p, const char *key, json_t *item)
{
	json_t *array = json_object_get(p->fields, key);

	if (!item)
		return parse_fail(p->ctx, "out of memory");
	if (!array) {
		if (!(array = json_array()) ||
		    json_object_set_new(p->fields, key, array) < 0) {
			json_decref(item);
			return parse_fail(p->ctx, "out of memory");
		}
	}
	if (json_array_size(array) >= LIST_MAX) {
		p->ctx->text.truncated = true;
		p->kept.cut = true;
		json_decref(item);
		return 0;
	}
	return json_array_append_new(array, item) < 0 ?
		parse_fail(p->ctx, "out of memory") : 0;
}

/* True if S is a decimal as xsd:decimal writes it: an optional sign,
 * digits, an optional fraction ("1000", "-2.50", ".5"). */
static bool
is_decimal(const char *s)
{
	bool digits = false;

	if (*s == '+' || *s == '-')
		s++;
	for (; *s >= '0' && *s <= '9'; s++)
		digits = true;
	if (*s == '.')
		for (s++; *s >= '0' && *s <= '9'; s++)
			digits = true;
	return digits && *s == '\0';
}

/* OBJ[KEY] = S if it is a decimal, else OBJ[KEY_raw] = S; takes S. The
 * string is kept exactly as written: never through a double. */
static int
set_decimal(struct iati *p, json_t *obj, const char *key, char *s)
{
	char raw[64];

	if (!s || is_decimal(s))
		return set_taken(p, obj, key, s);
	snprintf(raw, sizeof(raw), "%s_raw", key);
	return set_taken(p, obj, raw, s);
}

static int
set_decimal_attr(struct iati *p, json_t *obj, const char *key,
	const struct xml_attr *a, size_t n, const char *name)
{
	char *s;

	if (attr_of(p, a, n, NULL, name, &s) < 0)
		return -1;
	return set_decimal(p, obj, key, s);
}

/* OBJ[KEY] = the ISO 8601 date S as RFC 3339 at its precision, or
 * OBJ[KEY_raw] = S; takes S. */
static int
set_date(struct iati *p, json_t *obj, const char *key, char *s)
{
	struct date_value d;
	char buf[DATE_RFC3339_SIZE], raw[64];

	if (!s)
		return 0;
	if (date_parse_iso8601(s, &d) == 0) {
		free(s);
		return json_object_set_new(obj, key, json_string(
			date_format_value(&d, buf))) < 0 ?
			parse_fail(p->ctx, "out of memory") : 0;
	}
	snprintf(raw, sizeof(raw), "%s_raw", key);
	return set_taken(p, obj, raw, s);
}

static int
set_date_attr(struct iati *p, json_t *obj, const char *key,
	const struct xml_attr *a, size_t n, const char *name)
{
	char *s;

	if (attr_of(p, a, n, NULL, name, &s) < 0)
		return -1;
	return set_date(p, obj, key, s);
}

/* ---------------------------------------------------- ISO 3166 codes */

/* -1: iso-codes is not installed; 0: not loaded yet; 1: loaded. */
static int iso3166_state;
static unsigned char iso3166[26 * 26];

static void
iso3166_load(void)
{
	json_t *root, *list, *entry;
	size_t i;

	iso3166_state = -1;
	if (!(root = json_load_file(ISO_3166_1_JSON, 0, NULL)))
		return;
	list = json_object_get(root, "3166-1");
	json_array_foreach(list, i, entry) {
		const char *a2 = json_string_value(json_object_get(entry,
			"alpha_2"));

		if (a2 && a2[0] >= 'A' && a2[0] <= 'Z' && a2[1] >= 'A' &&
		    a2[1] <= 'Z' && a2[2] == '\0') {
			iso3166[(a2[0] - 'A') * 26 + (a2[1] - 'A')] = 1;
			iso3166_state = 1;
		}
	}
	json_decref(root);
}

/* 1 if CODE is an ISO 3166-1 alpha-2 code, 0 if not, -1 if that cannot
 * be checked (iso-codes missing). */
static int
iso3166_check(const char *code)
{
	if (iso3166_state == 0)
		iso3166_load();
	if (iso3166_state < 0)
		return -1;
	if (code[0] < 'A' || code[0] > 'Z' || code[1] < 'A' || code[1] > 'Z' ||
	    code[2] != '\0')
		return 0;
	return iso3166[(code[0] - 'A') * 26 + (code[1] - 'A')];
}

/* ----------------------------------------------------------- activity */

static void
container_clear(struct container *c)
{
	free(c->lang);
	free(c->narrative_lang);
	free(c->own);
	narratives_clear(&c->list);
	memset(c, 0, sizeof(*c));
}

static void
activity_clear(struct iati *p)
{
	json_decref(p->fields);
	json_decref(p->item);
	free(p->identifier);
	free(p->url);
	free(p->lang);
	free(p->currency);
	free(p->desc_type);
	free(p->date_type);
	free(p->date_iso);
	narratives_clear(&p->titles);
	container_clear(&p->c);
	p->fields = p->item = NULL;
	p->identifier = p->url = p->lang = p->currency = NULL;
	p->desc_type = p->date_type = p->date_iso = NULL;
	p->in_activity = p->kept.cut = false;
	p->kept.used = 0;
	p->sect = SECT_NONE;
	p->part = PART_NONE;
}

static int
activity_start(struct iati *p, const struct xml_attr *a, size_t n)
{
	char *s;

	activity_clear(p);
	p->in_activity = true;
	if (!(p->fields = json_object()))
		return parse_fail(p->ctx, "out of memory");
	p->lang = lang_tag(xml_attr(a, n, XML_NS_XML, "lang"));
	if (attr_of(p, a, n, NULL, "default-currency", &p->currency) < 0 ||
	    attr_of(p, a, n, NULL, "last-updated-datetime", &s) < 0)
		return -1;
	if (s && field_set_date(p->fields, "updated", s) < 0) {
		free(s);
		return parse_fail(p->ctx, "out of memory");
	}
	free(s);
	if (p->lang && field_set_text(p->fields, "language", p->lang) < 0)
		return parse_fail(p->ctx, "out of memory");
	if (p->currency && field_set_text(p->fields, "default_currency",
	    p->currency) < 0)
		return parse_fail(p->ctx, "out of memory");
	return 0;
}

/* The activity closes: it becomes a record. */
static int
activity_end(struct iati *p)
{
	struct parse_context *ctx = p->ctx;
	struct record *rec;
	json_t *titles;

	if (!p->identifier) {
		/* No identity at the source: nothing to keep it by. */
		ctx->skipped++;
		activity_clear(p);
		return 0;
	}
	if (field_set_text(p->fields, "identifier", p->identifier) < 0 ||
	    (p->kept.cut && json_object_set_new(p->fields, "truncated",
	    json_true()) < 0))
		return parse_fail(ctx, "out of memory");
	if (p->titles.n > 0) {
		if (!(titles = json_object()) ||
		    json_object_set_new(p->fields, "titles", titles) < 0)
			return parse_fail(ctx, "out of memory");
		for (size_t i = 0; i < p->titles.n; i++) {
			const char *key = p->titles.v[i].lang ?
				p->titles.v[i].lang : "und";

			/* The first text in each language. */
			if (!json_object_get(titles, key) &&
			    json_object_set_new(titles, key, json_string(
			    p->titles.v[i].text)) < 0)
				return parse_fail(ctx, "out of memory");
		}
	}
	if (!(rec = calloc(1, sizeof(*rec))))
		return parse_fail(ctx, "out of memory");
	if (p->titles.n > 0 && !(rec->title = strdup(p->titles.v[choose(
	    p->titles.v, p->titles.n, ctx->cfg->language,
	    default_lang(p))].text))) {
		free(rec);
		return parse_fail(ctx, "out of memory");
	}
	rec->external_id = p->identifier;
	rec->url = p->url;
	rec->fields = p->fields;
	p->identifier = p->url = NULL;
	p->fields = NULL;
	activity_clear(p);
	return ctx->emit(ctx, rec);
}

/* A container's texts, once it closes: its narratives, else its own
 * text in its own (or the default) language. */
static int
container_end(struct iati *p, const char *text, size_t len)
{
	struct container *c = &p->c;

	if (c->list.n == 0) {
		char *own, *lang;

		if (text_of(p, text, len, &own) < 0)
			return -1;
		if (!own)
			return 0;
		lang = c->lang ? strdup(c->lang) : default_lang(p) ?
			strdup(default_lang(p)) : NULL;
		if (!lang && (c->lang || default_lang(p))) {
			free(own);
			return parse_fail(p->ctx, "out of memory");
		}
		return narratives_add(p, &c->list, lang, own);
	}
	return 0;
}

static int
container_start(struct iati *p, int depth, const struct xml_attr *a,
	size_t n)
{
	container_clear(&p->c);
	p->c.depth = depth;
	p->c.lang = lang_tag(xml_attr(a, n, XML_NS_XML, "lang"));
	return XML_COLLECT_TEXT;
}

/* The chosen text of the container's narratives (taken from it), or
 * NULL. */
static char *
container_choice(struct iati *p)
{
	struct narratives *l = &p->c.list;
	size_t i;
	char *s;

	if (l->n == 0)
		return NULL;
	i = choose(l->v, l->n, p->ctx->cfg->language, default_lang(p));
	s = l->v[i].text;
	l->v[i].text = NULL;
	return s;
}

/* 1.0x names of participating-org roles and activity-date types, and
 * their 2.0x codes. */
static const char *
role_code(const char *role)
{
	static const char *const names[][2] = {
		{ "Funding", "1" }, { "Accountable", "2" },
		{ "Extending", "3" }, { "Implementing", "4" },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(role, names[i][0]) == 0)
			return names[i][1];
	return NULL;
}

static const char *
date_key(const char *type)
{
	static const char *const types[][3] = {
		{ "1", "start-planned", "planned_start" },
		{ "2", "start-actual", "actual_start" },
		{ "3", "end-planned", "planned_end" },
		{ "4", "end-actual", "actual_end" },
	};

	for (size_t i = 0; type && i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(type, types[i][0]) == 0 ||
		    strcasecmp(type, types[i][1]) == 0)
			return types[i][2];
	return NULL;
}

static int
org_start(struct iati *p, const struct xml_attr *a, size_t n, bool reporting)
{
	char *role;

	if (!(p->item = json_object()))
		return parse_fail(p->ctx, "out of memory");
	if (set_attr(p, p->item, "ref", a, n, "ref") < 0 ||
	    set_attr(p, p->item, "type", a, n, "type") < 0)
		return -1;
	if (reporting)
		return 0;
	if (set_attr(p, p->item, "activity_id", a, n, "activity-id") < 0 ||
	    attr_of(p, a, n, NULL, "role", &role) < 0)
		return -1;
	if (role && role_code(role)) {
		if (json_object_set_new(p->item, "role", json_string(
		    role_code(role))) < 0) {
			free(role);
			return parse_fail(p->ctx, "out of memory");
		}
		return set_taken(p, p->item, "role_name", role);
	}
	return set_taken(p, p->item, "role", role);
}

/* recipient-country, recipient-region, sector: codes with a share. */
static int
coded_share(struct iati *p, const char *name, const struct xml_attr *a,
	size_t n)
{
	json_t *item = json_object();
	const char *key;
	char *code;

	if (!item)
		return parse_fail(p->ctx, "out of memory");
	if (attr_of(p, a, n, NULL, "code", &code) < 0)
		goto fail;
	if (strcmp(name, "recipient-country") == 0) {
		int valid = 0;

		key = "recipient_countries";
		if (code) {
			for (char *c = code; *c; c++)
				*c = (char)toupper((unsigned char)*c);
			valid = iso3166_check(code);
		}
		if (valid == 0)
			key = "invalid_country";
		else if (valid < 0 && json_object_set_new(item, "checked",
		    json_false()) < 0)
			goto oom;
	} else {
		key = strcmp(name, "sector") == 0 ? "sectors" :
			"recipient_regions";
		if (set_attr(p, item, "vocabulary", a, n, "vocabulary") < 0)
			goto fail;
	}
	if (set_taken(p, item, "code", code) < 0) {
		code = NULL;
		goto fail;
	}
	if (set_decimal_attr(p, item, "percentage", a, n, "percentage") < 0)
		goto fail;
	return append_item(p, key, item);
oom:
	parse_fail(p->ctx, "out of memory");
	free(code);
fail:
	json_decref(item);
	return -1;
}

/* An element directly in the activity opens. */
static int
activity_child(struct iati *p, int depth, const char *name,
	const struct xml_attr *a, size_t n)
{
	char *s;

	if (strcmp(name, "iati-identifier") == 0) {
		p->sect = SECT_IDENTIFIER;
		return XML_COLLECT_TEXT;
	}
	if (strcmp(name, "title") == 0) {
		p->sect = SECT_TITLE;
		return container_start(p, depth, a, n);
	}
	if (strcmp(name, "description") == 0) {
		p->sect = SECT_DESCRIPTION;
		free(p->desc_type);
		if (attr_of(p, a, n, NULL, "type", &p->desc_type) < 0)
			return -1;
		return container_start(p, depth, a, n);
	}
	if (strcmp(name, "reporting-org") == 0 ||
	    strcmp(name, "participating-org") == 0) {
		bool reporting = name[0] == 'r';

		p->sect = reporting ? SECT_REPORTING_ORG :
			SECT_PARTICIPATING_ORG;
		if (org_start(p, a, n, reporting) < 0)
			return -1;
		return container_start(p, depth, a, n);
	}
	if (strcmp(name, "activity-date") == 0) {
		const char *type = xml_attr(a, n, NULL, "type");

		p->sect = SECT_ACTIVITY_DATE;
		free(p->date_type);
		free(p->date_iso);
		p->date_type = date_key(type) ? strdup(date_key(type)) : NULL;
		if (attr_of(p, a, n, NULL, "iso-date", &p->date_iso) < 0)
			return -1;
		return container_start(p, depth, a, n);
	}
	if (strcmp(name, "activity-status") == 0) {
		if (attr_of(p, a, n, NULL, "code", &s) < 0)
			return -1;
		return set_taken(p, p->fields, "activity_status", s) < 0 ? -1 :
			XML_COLLECT_NONE;
	}
	if (strcmp(name, "recipient-country") == 0 ||
	    strcmp(name, "recipient-region") == 0 ||
	    strcmp(name, "sector") == 0)
		return coded_share(p, name, a, n) < 0 ? -1 : XML_COLLECT_NONE;
	if (strcmp(name, "budget") == 0) {
		p->sect = SECT_BUDGET;
		if (!(p->item = json_object()))
			return parse_fail(p->ctx, "out of memory");
		if (set_attr(p, p->item, "type", a, n, "type") < 0 ||
		    set_attr(p, p->item, "status", a, n, "status") < 0)
			return -1;
		return XML_COLLECT_NONE;
	}
	if (strcmp(name, "document-link") == 0) {
		const char *href = xml_attr(a, n, NULL, "url");
		char *url = href ? url_resolve(p->base, href) : NULL;

		p->sect = SECT_DOCUMENT_LINK;
		if (!(p->item = json_object())) {
			free(url);
			return parse_fail(p->ctx, "out of memory");
		}
		if (url) {
			if (text_of(p, url, SIZE_MAX, &s) < 0) {
				free(url);
				return -1;
			}
			free(url);
			if (set_taken(p, p->item, "url", s) < 0)
				return -1;
		} else if (set_attr(p, p->item, "url_raw", a, n, "url") < 0) {
			return -1;
		}
		return set_attr(p, p->item, "format", a, n, "format") < 0 ?
			-1 : XML_COLLECT_NONE;
	}
	if (strcmp(name, "activity-website") == 0) {
		p->sect = SECT_WEBSITE;
		return XML_COLLECT_TEXT;
	}
	return XML_COLLECT_NONE;
}

/* An element inside a budget or document-link opens. */
static int
section_child(struct iati *p, int depth, const char *name,
	const struct xml_attr *a, size_t n)
{
	char *s;

	if (p->sect == SECT_BUDGET) {
		if (strcmp(name, "period-start") == 0)
			return set_date_attr(p, p->item, "period_start", a, n,
				"iso-date") < 0 ? -1 : XML_COLLECT_NONE;
		if (strcmp(name, "period-end") == 0)
			return set_date_attr(p, p->item, "period_end", a, n,
				"iso-date") < 0 ? -1 : XML_COLLECT_NONE;
		if (strcmp(name, "value") != 0)
			return XML_COLLECT_NONE;
		p->part = PART_VALUE;
		if (attr_of(p, a, n, NULL, "currency", &s) < 0)
			return -1;
		if (!s && p->currency && !(s = strdup(p->currency)))
			return parse_fail(p->ctx, "out of memory");
		if (set_taken(p, p->item, "currency", s) < 0 ||
		    set_date_attr(p, p->item, "value_date", a, n,
		    "value-date") < 0)
			return -1;
		return XML_COLLECT_TEXT;
	}
	if (p->sect != SECT_DOCUMENT_LINK)
		return XML_COLLECT_NONE;
	if (strcmp(name, "title") == 0 || strcmp(name, "description") == 0) {
		p->part = name[0] == 't' ? PART_TITLE : PART_DESCRIPTION;
		return container_start(p, depth, a, n);
	}
	if (strcmp(name, "category") == 0 || strcmp(name, "language") == 0) {
		const char *key = name[0] == 'c' ? "categories" : "languages";
		json_t *array = json_object_get(p->item, key);

		if (attr_of(p, a, n, NULL, "code", &s) < 0)
			return -1;
		if (!s)
			return XML_COLLECT_NONE;
		if (!array && (!(array = json_array()) ||
		    json_object_set_new(p->item, key, array) < 0)) {
			free(s);
			return parse_fail(p->ctx, "out of memory");
		}
		if (json_array_size(array) >= LIST_MAX) {
			p->ctx->text.truncated = p->kept.cut = true;
			free(s);
			return XML_COLLECT_NONE;
		}
		if (json_array_append_new(array, json_string(s)) < 0) {
			free(s);
			return parse_fail(p->ctx, "out of memory");
		}
		free(s);
		return XML_COLLECT_NONE;
	}
	if (strcmp(name, "document-date") == 0)
		return set_date_attr(p, p->item, "date", a, n, "iso-date") < 0 ?
			-1 : XML_COLLECT_NONE;
	return XML_COLLECT_NONE;
}

/* ----------------------------------------------------------- handlers */

static int
on_start(struct xml_reader *r, int depth, const char *ns, const char *name,
	const struct xml_attr *a, size_t n)
{
	struct iati *p = xml_user(r);
	struct container *c = &p->c;

	/* IATI has no namespace; extensions have one and are left out. */
	if (ns)
		return XML_COLLECT_NONE;
	p->base = xml_base(r);
	if (depth == 1) {
		json_t *doc;

		if (strcmp(name, "iati-activities") != 0)
			return parse_fail(p->ctx, "not an IATI activity file: "
				"the root element is <%.64s>", name);
		p->file_lang = lang_tag(xml_attr(a, n, XML_NS_XML, "lang"));
		if (!(doc = json_object()) ||
		    json_object_set_new(doc, "format", json_string("iati")) <
		    0) {
			json_decref(doc);
			return parse_fail(p->ctx, "out of memory");
		}
		p->ctx->document = doc;
		if (set_attr(p, doc, "version", a, n, "version") < 0 ||
		    set_date_attr(p, doc, "generated", a, n,
		    "generated-datetime") < 0)
			return -1;
		if (p->file_lang && field_set_text(doc, "language",
		    p->file_lang) < 0)
			return parse_fail(p->ctx, "out of memory");
		/* The file's own attributes do not count against the first
		 * activity's budget. */
		p->kept.used = 0;
		return XML_COLLECT_NONE;
	}
	if (depth == 2) {
		if (strcmp(name, "iati-activity") != 0)
			return XML_COLLECT_NONE;
		return activity_start(p, a, n) < 0 ? -1 : XML_COLLECT_NONE;
	}
	if (!p->in_activity)
		return XML_COLLECT_NONE;
	if (c->depth > 0 && depth == c->depth + 1 &&
	    strcmp(name, "narrative") == 0) {
		char *lang = lang_tag(xml_attr(a, n, XML_NS_XML, "lang"));

		free(c->narrative_lang);
		c->narrative_lang = lang;
		return XML_COLLECT_TEXT;
	}
	if (depth == 3)
		return activity_child(p, depth, name, a, n);
	if (depth == 4 && c->depth == 0)
		return section_child(p, depth, name, a, n);
	return XML_COLLECT_NONE;
}

/* A narrative closes. */
static int
narrative_end(struct iati *p, const char *text, size_t len)
{
	struct container *c = &p->c;
	const char *l = c->narrative_lang ? c->narrative_lang : c->lang ?
		c->lang : default_lang(p);
	char *s, *lang;

	if (text_of(p, text, len, &s) < 0)
		return -1;
	if (!s)
		return 0;
	if (!(lang = l ? strdup(l) : NULL) && l) {
		free(s);
		return parse_fail(p->ctx, "out of memory");
	}
	free(c->narrative_lang);
	c->narrative_lang = NULL;
	return narratives_add(p, &c->list, lang, s);
}

/* A container closes: its texts go where its section says. */
static int
container_done(struct iati *p, const char *text, size_t len)
{
	struct narratives *l = &p->c.list;
	int rc = 0;

	if (container_end(p, text, len) < 0)
		return -1;
	switch (p->sect) {
	case SECT_TITLE:
		if (p->part != PART_NONE)
			break;
		for (size_t i = 0; i < l->n && rc == 0; i++) {
			rc = narratives_add(p, &p->titles, l->v[i].lang,
				l->v[i].text);
			l->v[i].lang = l->v[i].text = NULL;
		}
		break;
	case SECT_DESCRIPTION:
		for (size_t i = 0; i < l->n && rc == 0; i++) {
			json_t *d = json_object();

			if (!d || (p->desc_type && json_object_set_new(d,
			    "type", json_string(p->desc_type)) < 0) ||
			    (l->v[i].lang && json_object_set_new(d, "lang",
			    json_string(l->v[i].lang)) < 0) ||
			    json_object_set_new(d, "text", json_string(
			    l->v[i].text)) < 0) {
				json_decref(d);
				return parse_fail(p->ctx, "out of memory");
			}
			rc = append_item(p, "descriptions", d);
		}
		break;
	case SECT_REPORTING_ORG:
	case SECT_PARTICIPATING_ORG:
		rc = set_taken(p, p->item, "name", container_choice(p));
		break;
	case SECT_ACTIVITY_DATE:
		/* 1.0x may give the date as the element's text. */
		if (!p->date_iso && l->n > 0 && !(p->date_iso = strdup(
		    l->v[0].text)))
			return parse_fail(p->ctx, "out of memory");
		break;
	case SECT_DOCUMENT_LINK:
		rc = set_taken(p, p->item, p->part == PART_TITLE ? "title" :
			"description", container_choice(p));
		break;
	default:
		break;
	}
	container_clear(&p->c);
	return rc;
}

/* A section (an element directly in the activity) closes. */
static int
section_done(struct iati *p, const char *text, size_t len)
{
	json_t *item = p->item;
	char *s;
	int rc = 0;

	p->item = NULL;
	switch (p->sect) {
	case SECT_IDENTIFIER:
		if (!p->identifier && text_of(p, text, len, &p->identifier) <
		    0)
			rc = -1;
		break;
	case SECT_WEBSITE:
		if (p->url)
			break;
		if (text_of(p, text, len, &s) < 0) {
			rc = -1;
			break;
		}
		p->url = s ? url_resolve(p->base, s) : NULL;
		if (s && !p->url)
			rc = set_taken(p, p->fields, "website_raw", s);
		else
			free(s);
		break;
	case SECT_REPORTING_ORG:
		if (json_object_get(p->fields, "reporting_org")) {
			json_decref(item);
			break;
		}
		rc = json_object_set_new(p->fields, "reporting_org", item) <
			0 ? parse_fail(p->ctx, "out of memory") : 0;
		item = NULL;
		break;
	case SECT_PARTICIPATING_ORG:
		rc = append_item(p, "participating_orgs", item);
		item = NULL;
		break;
	case SECT_BUDGET:
		rc = append_item(p, "budgets", item);
		item = NULL;
		break;
	case SECT_DOCUMENT_LINK:
		rc = append_item(p, "document_links", item);
		item = NULL;
		break;
	case SECT_ACTIVITY_DATE:
		if (p->date_type && p->date_iso &&
		    field_set_date(p->fields, p->date_type, p->date_iso) < 0)
			rc = parse_fail(p->ctx, "out of memory");
		free(p->date_type);
		free(p->date_iso);
		p->date_type = p->date_iso = NULL;
		break;
	case SECT_DESCRIPTION:
		free(p->desc_type);
		p->desc_type = NULL;
		break;
	default:
		break;
	}
	json_decref(item);
	p->sect = SECT_NONE;
	p->part = PART_NONE;
	return rc;
}

static int
on_end(struct xml_reader *r, int depth, const char *ns, const char *name,
	const char *text, size_t len)
{
	struct iati *p = xml_user(r);
	struct container *c = &p->c;

	if (ns || !p->in_activity)
		return 0;
	p->base = xml_base(r);
	if (depth == 2)
		return strcmp(name, "iati-activity") == 0 ? activity_end(p) : 0;
	if (c->depth > 0 && depth == c->depth + 1 &&
	    strcmp(name, "narrative") == 0)
		return narrative_end(p, text, len);
	if (c->depth > 0 && depth == c->depth && container_done(p, text,
	    len) < 0)
		return -1;
	if (depth == 4 && p->part == PART_VALUE) {
		char *s;

		p->part = PART_NONE;
		if (text_of(p, text, len, &s) < 0)
			return -1;
		return set_decimal(p, p->item, "value", s);
	}
	if (depth == 4)
		p->part = PART_NONE;
	if (depth == 3)
		return section_done(p, text, len);
	return 0;
}

static int
parse_iati(struct parse_context *ctx, int fd)
{
	static const struct xml_handlers handlers = { on_start, on_end };
	struct iati p = { .ctx = ctx };
	int rc;

	parse_budget_init(ctx, &p.kept);
	rc = xml_read(ctx, fd, &handlers, &p);
	if (rc == 0 && !ctx->document)
		rc = parse_fail(ctx, "not an IATI activity file");
	activity_clear(&p);
	free(p.file_lang);
	/* An IATI file lists all of its publisher's activities. */
	ctx->complete = rc == 0;
	return rc;
}

const struct parser iati_parser = { "iati", "iati", "1", parse_iati };
