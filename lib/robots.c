#include "robots.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* More rules than this in the chosen groups are ignored. */
#define ROBOTS_MAX_RULES 10000
#define ROBOTS_LINE_MAX 4096

struct rule {
	char *pattern;
	bool allow;
};

struct robots {
	bool disallow_all;
	struct rule *rules;
	size_t nrules;
};

static struct robots *
robots_new(bool disallow_all)
{
	struct robots *r = calloc(1, sizeof(*r));

	if (r)
		r->disallow_all = disallow_all;
	return r;
}

struct robots *
robots_allow_all(void)
{
	return robots_new(false);
}

struct robots *
robots_disallow_all(void)
{
	return robots_new(true);
}

void
robots_free(struct robots *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nrules; i++)
		free(r->rules[i].pattern);
	free(r->rules);
	free(r);
}

static char *
trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

/* Does the user-agent line VALUE name AGENT? RFC 9309 matches the
 * product token case-insensitively; "*" is handled by the caller. */
static bool
names_agent(const char *value, const char *agent)
{
	size_t n = strlen(agent);

	return strncasecmp(value, agent, n) == 0 &&
		(value[n] == '\0' || value[n] == '/' ||
		 isspace((unsigned char)value[n]));
}

static int
add_rule(struct rule **rules, size_t *n, const char *pattern, bool allow)
{
	struct rule *grown;

	if (*n >= ROBOTS_MAX_RULES)
		return 0;
	if (!(grown = realloc(*rules, (*n + 1) * sizeof(*grown))))
		return -1;
	*rules = grown;
	if (!(grown[*n].pattern = strdup(pattern)))
		return -1;
	grown[*n].allow = allow;
	(*n)++;
	return 0;
}

struct parser {
	const char *agent;
	bool in_agents;		/* reading a run of user-agent lines */
	bool group_mine, group_star;
	bool seen_mine;
	struct rule *mine, *star;
	size_t nmine, nstar;
};

static int
parse_line(struct parser *p, char *line)
{
	char *colon, *key, *value, *hash;

	if ((hash = strchr(line, '#')))
		*hash = '\0';
	if (!(colon = strchr(line, ':')))
		return 0;
	*colon = '\0';
	key = trim(line);
	value = trim(colon + 1);
	if (strcasecmp(key, "user-agent") == 0) {
		if (!p->in_agents)
			p->group_mine = p->group_star = false;
		p->in_agents = true;
		if (strcmp(value, "*") == 0)
			p->group_star = true;
		else if (names_agent(value, p->agent))
			p->group_mine = p->seen_mine = true;
		return 0;
	}
	if (strcasecmp(key, "allow") != 0 && strcasecmp(key, "disallow") != 0)
		return 0;	/* sitemap, crawl-delay ... */
	p->in_agents = false;
	if (*value == '\0')
		return 0;	/* an empty disallow allows everything */
	if (p->group_mine &&
	    add_rule(&p->mine, &p->nmine, value, key[0] != 'd' &&
	    key[0] != 'D') < 0)
		return -1;
	if (p->group_star &&
	    add_rule(&p->star, &p->nstar, value, key[0] != 'd' &&
	    key[0] != 'D') < 0)
		return -1;
	return 0;
}

static void
free_rules(struct rule *rules, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(rules[i].pattern);
	free(rules);
}

struct robots *
robots_parse(const char *text, size_t len, const char *agent)
{
	struct parser p = { .agent = agent };
	struct robots *r = robots_allow_all();
	char line[ROBOTS_LINE_MAX];
	size_t i = 0, n;

	if (!r)
		return NULL;
	if (len > ROBOTS_MAX_BYTES)
		len = ROBOTS_MAX_BYTES;
	while (i < len) {
		for (n = 0; i < len && text[i] != '\n' && text[i] != '\r'; i++)
			if (n < sizeof(line) - 1)
				line[n++] = text[i];
		line[n] = '\0';
		i++;
		if (parse_line(&p, line) < 0)
			goto fail;
	}
	/* The groups naming us win; otherwise those for "*". */
	if (p.seen_mine) {
		r->rules = p.mine;
		r->nrules = p.nmine;
		free_rules(p.star, p.nstar);
	} else {
		r->rules = p.star;
		r->nrules = p.nstar;
		free_rules(p.mine, p.nmine);
	}
	return r;
fail:
	free_rules(p.mine, p.nmine);
	free_rules(p.star, p.nstar);
	robots_free(r);
	return NULL;
}

/* Does PATTERN (with * for any run and a final $ for the end) match a
 * prefix of PATH? Linear backtracking over the last star. */
static bool
pattern_matches(const char *pattern, const char *path)
{
	const char *star = NULL, *resume = NULL;

	for (;;) {
		if (*pattern == '$' && pattern[1] == '\0') {
			if (*path == '\0')
				return true;
		} else if (*pattern == '\0') {
			return true;	/* a prefix matched */
		} else if (*pattern == '*') {
			star = ++pattern;
			resume = path;
			continue;
		} else if (*path && *pattern == *path) {
			pattern++;
			path++;
			continue;
		}
		if (!star || !*resume)
			return false;
		pattern = star;
		path = ++resume;
	}
}

bool
robots_allowed(const struct robots *r, const char *path)
{
	size_t best = 0;
	bool allowed = true, matched = false;

	if (r->disallow_all)
		return false;
	if (strcmp(path, "/robots.txt") == 0)
		return true;
	for (size_t i = 0; i < r->nrules; i++) {
		size_t len = strlen(r->rules[i].pattern);

		if (!pattern_matches(r->rules[i].pattern, path))
			continue;
		if (!matched || len > best ||
		    (len == best && r->rules[i].allow)) {
			best = len;
			allowed = r->rules[i].allow;
			matched = true;
		}
	}
	return allowed;
}
