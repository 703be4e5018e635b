/* robots.txt as RFC 9309 reads it: the groups for one product token (or
 * "*"), allow and disallow rules with * and $, the longest match winning
 * and allow winning a tie. */
#ifndef CYBIL_ROBOTS_H
#define CYBIL_ROBOTS_H

#include <stdbool.h>
#include <stddef.h>

/* RFC 9309 asks crawlers to read at least this much. */
#define ROBOTS_MAX_BYTES (500 * 1024)

struct robots;

/* Reads TEXT (LEN bytes, at most ROBOTS_MAX_BYTES of it) for the product
 * token AGENT. Returns an owned rule set, or NULL when memory ran out. */
struct robots *robots_parse(const char *text, size_t len, const char *agent);
/* What a missing robots.txt (4xx) and an unreachable one (5xx, no
 * answer) mean: everything allowed, everything disallowed. */
struct robots *robots_allow_all(void);
struct robots *robots_disallow_all(void);
void robots_free(struct robots *r);

/* PATH is the URL's path with its query ("/a/b?c=d"). */
bool robots_allowed(const struct robots *r, const char *path);

#endif
