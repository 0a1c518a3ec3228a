/* SPDX-License-Identifier: MIT */
/*
 * stderr logger. The level and ident are the only mutable globals outside a
 * main.c (an exception STYLE.md allows).
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "err.h"

static enum cn_log_level log_level = CN_LOG_INFO;
static const char *log_ident = "cairn";

void cn_log_set_level(enum cn_log_level level)
{
	log_level = level;
}

enum cn_log_level cn_log_get_level(void)
{
	return log_level;
}

void cn_log_set_ident(const char *ident)
{
	log_ident = ident;
}

int cn_log_parse_level(const char *s, enum cn_log_level *out)
{
	static const char *const names[] = {"err", "warn", "info", "debug"};

	for (unsigned int i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = (enum cn_log_level)i;
			return 0;
		}
	}
	return -CN_EINVAL;
}

__attribute__((format(printf, 2, 0))) static void vlog(enum cn_log_level level, const char *fmt,
						       va_list ap)
{
	static const char *const prefix[] = {"error", "warning", "info", "debug"};
	char line[1024];

	vsnprintf(line, sizeof(line), fmt, ap);
	/* One event, one line: a newline in a remote-supplied string must not forge a second. */
	for (char *c = line; *c; c++)
		if (*c == '\n' || *c == '\r')
			*c = ' ';
	fprintf(stderr, "%s: %s: %s\n", log_ident, prefix[level], line);
}

void cn_log(enum cn_log_level level, const char *fmt, ...)
{
	va_list ap;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	vlog(level, fmt, ap);
	va_end(ap);
}

void cn_log_ratelimited(struct cn_ratelimit *rl, uint64_t now_ms, enum cn_log_level level,
			const char *fmt, ...)
{
	enum { WINDOW_MS = 5000, BURST = 5 };
	va_list ap;

	if (level > log_level)
		return;
	if (now_ms - rl->window_start_ms >= WINDOW_MS) {
		if (rl->suppressed)
			cn_log(level, "(%u similar messages suppressed)", rl->suppressed);
		rl->window_start_ms = now_ms;
		rl->count = 0;
		rl->suppressed = 0;
	}
	if (rl->count >= BURST) {
		rl->suppressed++;
		return;
	}
	rl->count++;
	va_start(ap, fmt);
	vlog(level, fmt, ap);
	va_end(ap);
}
