/* SPDX-License-Identifier: MIT */
/*
 * The signal handling both daemons share: run the event loop until SIGTERM
 * or SIGINT (logged, then a clean return), calling on_hup(arg) on SIGHUP.
 */
#ifndef CN_COMMON_DAEMON_H
#define CN_COMMON_DAEMON_H

struct event_base;

/* 0 after a clean stop; 1 if the handlers could not be installed (logged). */
int cn_daemon_run(struct event_base *base, void (*on_hup)(void *arg), void *arg);

#endif
