#include "log.h"

#include <stdio.h>
#include <string.h>
#include <syslog.h>

/* Longer messages are cut; a log line is not the place for a document. */
#define LOG_LINE_MAX 4096

static const char *log_program = "cybil";
static enum log_level log_threshold = LOG_LEVEL_INFO;
static bool log_to_syslog;

static const char *const level_names[] = {
	[LOG_LEVEL_ERROR] = "ERROR",
	[LOG_LEVEL_WARN] = "WARN",
	[LOG_LEVEL_INFO] = "INFO",
	[LOG_LEVEL_DEBUG] = "DEBUG",
};

static const int syslog_priorities[] = {
	[LOG_LEVEL_ERROR] = LOG_ERR,
	[LOG_LEVEL_WARN] = LOG_WARNING,
	[LOG_LEVEL_INFO] = LOG_INFO,
	[LOG_LEVEL_DEBUG] = LOG_DEBUG,
};

void
log_open(const char *program)
{
	log_program = program;
}

void
log_set_level(enum log_level level)
{
	log_threshold = level;
}

enum log_level
log_get_level(void)
{
	return log_threshold;
}

void
log_set_syslog(bool enabled)
{
	if (enabled && !log_to_syslog)
		openlog(log_program, LOG_PID, LOG_DAEMON);
	else if (!enabled && log_to_syslog)
		closelog();
	log_to_syslog = enabled;
}

static void
replace_control_chars(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

void
log_eventv(enum log_level level, const char *source, const char *fmt,
	va_list ap)
{
	char msg[LOG_LINE_MAX];

	if (level > log_threshold)
		return;
	if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
		snprintf(msg, sizeof(msg), "(unprintable message)");
	replace_control_chars(msg);
	if (source)
		fprintf(stderr, "%s %s: source=%s %s\n", level_names[level],
			log_program, source, msg);
	else
		fprintf(stderr, "%s %s: %s\n", level_names[level], log_program,
			msg);
	if (log_to_syslog) {
		if (source)
			syslog(syslog_priorities[level], "source=%s %s", source,
				msg);
		else
			syslog(syslog_priorities[level], "%s", msg);
	}
}

void
log_event(enum log_level level, const char *source, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_eventv(level, source, fmt, ap);
	va_end(ap);
}
