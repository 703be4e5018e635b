/* Allow-list sanitising of untrusted HTML (SPEC §6: text fields are
 * plain text, plus HTML only after allow-list sanitising), parsed and
 * serialised by libxml2, which never touches the network or a DTD. */
#ifndef CYBIL_SANITIZE_H
#define CYBIL_SANITIZE_H

#include <stddef.h>

/* Returns the allow-listed HTML of the LEN bytes at HTML (UTF-8, a
 * fragment as found in a feed's summary or content), an owned
 * NUL-terminated UTF-8 string (possibly empty), or NULL when out of
 * memory or when libxml2 fails. Deterministic: the same input always
 * gives the same bytes.
 *
 * Ill-formed UTF-8 is read as U+FFFD and NUL bytes are ignored, so the
 * result is always valid UTF-8. Kept: a fixed set of text-level, list,
 * table, figure and heading elements with a few attributes each; link,
 * image and quotation addresses only when they are absolute http(s)
 * URLs (or mailto: for links), with surrounding white space trimmed;
 * sizes and counts only as 1 to 4 ASCII digits. An image without an
 * address is removed. Removed with their content: scripts, styles,
 * frames, embedded objects, forms, templates, SVG and MathML, what
 * belongs in a head, comments and processing instructions. Any other
 * element is replaced by its (sanitised) content. Nothing is printed. */
char *sanitize_html(const char *html, size_t len);

#endif
