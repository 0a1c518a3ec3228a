/* SPDX-License-Identifier: MIT */
#include "common/daemon.h"

#include <signal.h>

#include <event2/event.h>

#include "common/log.h"

struct hup {
	void (*fn)(void *arg);
	void *arg;
};

static void on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct hup *h = arg;

	(void)sig;
	(void)what;
	cn_log_info("SIGHUP: re-reading the peer list");
	h->fn(h->arg);
}

static void on_stop(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	cn_log_info("%s: shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	event_base_loopbreak(arg);
}

int cn_daemon_run(struct event_base *base, void (*on_hup_fn)(void *arg), void *arg)
{
	struct hup h = {on_hup_fn, arg};
	struct event *ev_hup = evsignal_new(base, SIGHUP, on_hup, &h);
	struct event *ev_term = evsignal_new(base, SIGTERM, on_stop, base);
	struct event *ev_int = evsignal_new(base, SIGINT, on_stop, base);
	int ret = 1;

	if (!ev_hup || !ev_term || !ev_int || event_add(ev_hup, NULL) || event_add(ev_term, NULL) ||
	    event_add(ev_int, NULL)) {
		cn_log_err("cannot install signal handlers");
		goto out;
	}
	event_base_dispatch(base);
	ret = 0;
out:
	if (ev_hup)
		event_free(ev_hup);
	if (ev_term)
		event_free(ev_term);
	if (ev_int)
		event_free(ev_int);
	return ret;
}
