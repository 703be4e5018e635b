/* One-line log events on stderr ("LEVEL program: source=NAME message"),
 * optionally copied to syslog. */
#ifndef CYBIL_LOG_H
#define CYBIL_LOG_H

#include <stdarg.h>
#include <stdbool.h>

enum log_level {
	LOG_LEVEL_ERROR,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG
};

/* Names the program in every line; call once at start. */
void log_open(const char *program);
/* Events above this level are dropped (default LOG_LEVEL_INFO). */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Also send events to syslog (facility daemon). */
void log_set_syslog(bool enabled);

/* Logs one event; SOURCE may be NULL. Control characters in the message
 * are replaced, so hostile input never splits a line. */
void log_event(enum log_level level, const char *source, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void log_eventv(enum log_level level, const char *source, const char *fmt,
	va_list ap) __attribute__((format(printf, 3, 0)));

#define log_error(...) log_event(LOG_LEVEL_ERROR, NULL, __VA_ARGS__)
#define log_warn(...) log_event(LOG_LEVEL_WARN, NULL, __VA_ARGS__)
#define log_info(...) log_event(LOG_LEVEL_INFO, NULL, __VA_ARGS__)
#define log_debug(...) log_event(LOG_LEVEL_DEBUG, NULL, __VA_ARGS__)

#endif
