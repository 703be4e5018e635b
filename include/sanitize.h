/* Allow-list sanitising of untrusted HTML (SPEC §6: text fields are
 * plain text, plus HTML only after allow-list sanitising), parsed and
 * serialised by libxml2. xmlInitParser() must have run. */
#ifndef CYBIL_SANITIZE_H
#define CYBIL_SANITIZE_H

#include <stddef.h>

/* Returns the allow-listed HTML of the LEN bytes at HTML (UTF-8, a
 * fragment as found in a feed's summary or content), an owned
 * NUL-terminated UTF-8 string (possibly empty), or NULL when out of
 * memory or when libxml2 fails. The same input always gives the same
 * bytes.
 *
 * Kept: a fixed set of text-level, list, table and heading elements
 * with a few attributes each; link and image addresses only when they
 * are absolute http(s) URLs (or mailto: for links). Dropped with their
 * content: scripts, styles, frames, embedded objects, forms, SVG and
 * MathML, comments. Any other element is replaced by its content. */
char *sanitize_html(const char *html, size_t len);

#endif
