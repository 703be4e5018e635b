/* cybil-review serve: the portal manager's web console. Pages are written
 * on the server, work without JavaScript, and make their decisions through
 * lib/review.c, as the command line does. */
#ifndef CYBIL_REVIEW_CONSOLE_H
#define CYBIL_REVIEW_CONSOLE_H

#include <stdbool.h>
#include <time.h>

#include <microhttpd.h>
#include <sodium.h>

#include "account.h"
#include "config.h"
#include "html.h"
#include "store.h"

#define CONSOLE_TOKEN_BYTES 32
#define CONSOLE_TOKEN_SIZE sodium_base64_ENCODED_LEN(CONSOLE_TOKEN_BYTES, \
	sodium_base64_VARIANT_URLSAFE_NO_PADDING)

struct session {
	char token[CONSOLE_TOKEN_SIZE];	/* the cookie; empty: a free slot */
	char csrf[CONSOLE_TOKEN_SIZE];	/* every form carries it */
	char name[ACCOUNT_NAME_MAX + 1];
	time_t expires;
};

/* What a page is written from. SESSION is NULL on the login page. */
struct view {
	struct store *st;
	const struct config *cfg;
	const struct session *session;
	struct MHD_Connection *conn;
};

/* Serves until SIGTERM or SIGINT; returns an exit status. */
int console_serve(const struct config *cfg, struct store *st);

/* The pages (pages.c). Each writes H and returns the HTTP status. */
/* CSRF: the login form's token, also in the cookie cybil_login. */
int page_login(const struct view *v, struct html *h, const char *error,
	const char *csrf);
int page_queue(const struct view *v, struct html *h);
int page_record(const struct view *v, struct html *h, const char *id,
	int status, const char *error);
int page_log(const struct view *v, struct html *h);
int page_sources(const struct view *v, struct html *h);
int page_error(const struct view *v, struct html *h, int status,
	const char *message);
extern const char console_css[];

#endif
