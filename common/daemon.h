/* SPDX-License-Identifier: MIT */
/*
 * The signal handling both daemons share: run the event loop until SIGTERM
 * or SIGINT (logged, then a clean return), calling on_hup(arg) on SIGHUP.
 */
#ifndef CN_COMMON_DAEMON_H
#define CN_COMMON_DAEMON_H

#include <stdbool.h>

struct event_base;

/* The command line both daemons take (docs/CONFIG.md). */
struct cn_daemon_args {
	const char *config_path; /* -c/--config, required */
	const char *log_level;	 /* -l/--log-level, NULL: the config's */
	bool check;		 /* --check: validate and exit */
};

/*
 * Parses -c/--config FILE, -l/--log-level LEVEL, --check, -h/--help and
 * -V/--version ("ident version"). Returns -1 to go on with *out set, or the
 * exit status: 0 after help or version, 2 on a usage error (usage printed).
 */
int cn_daemon_parse_args(int argc, char **argv, const char *ident, const char *version,
			 const char *usage, struct cn_daemon_args *out);
/* Sets the log level from the command line's text, else the config's: 0, or 2 (logged). */
int cn_daemon_set_log_level(const char *cmdline, const char *config);

/* 0 after a clean stop; 1 if the handlers could not be installed (logged). */
int cn_daemon_run(struct event_base *base, void (*on_hup)(void *arg), void *arg);

#endif
