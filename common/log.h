/* SPDX-License-Identifier: MIT */
/*
 * Logging for the daemons and the CLI: one line per event on stderr with a
 * level prefix (journald adds time and unit). Pure modules (crypto/, codecs)
 * never log; the shells log the errors those return.
 *
 * Never pass key material or plaintext to these functions: log names and key
 * prefixes (cn_key_fingerprint) only.
 */
#ifndef CN_COMMON_LOG_H
#define CN_COMMON_LOG_H

#include <stdint.h>

enum cn_log_level {
	CN_LOG_ERR = 0,
	CN_LOG_WARN,
	CN_LOG_INFO,
	CN_LOG_DEBUG,
};

void cn_log_set_level(enum cn_log_level level);
enum cn_log_level cn_log_get_level(void);
/* Sets the program name printed before each line ("cairn-node"). */
void cn_log_set_ident(const char *ident);
/* Parses "err|warn|info|debug"; returns 0 or -CN_EINVAL. */
int cn_log_parse_level(const char *s, enum cn_log_level *out);

void cn_log(enum cn_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Like cn_log, but at most `burst` lines per key per 5 s window; for events
 * a remote party can trigger. `now_ms` is monotonic milliseconds.
 */
struct cn_ratelimit {
	uint64_t window_start_ms;
	unsigned int count;
	unsigned int suppressed;
};
void cn_log_ratelimited(struct cn_ratelimit *rl, uint64_t now_ms, enum cn_log_level level,
			const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#define cn_log_err(...)	  cn_log(CN_LOG_ERR, __VA_ARGS__)
#define cn_log_warn(...)  cn_log(CN_LOG_WARN, __VA_ARGS__)
#define cn_log_info(...)  cn_log(CN_LOG_INFO, __VA_ARGS__)
#define cn_log_debug(...) cn_log(CN_LOG_DEBUG, __VA_ARGS__)

#endif
