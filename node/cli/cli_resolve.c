/* SPDX-License-Identifier: MIT */
/*
 * Name resolution for the command line (blocking is fine here): a relay's
 * host from the peer list is an IP literal, a host name (the system
 * resolver) or an SRV name starting with '_' ("_cairn._udp.example.net"),
 * looked up with c-ares like cairn-node does, first target first.
 */
#include "node/cli/cli.h"

#include <netdb.h>
#include <stdio.h>
#include <string.h>

#include <event2/event.h>

#include "node/resolver.h"

struct srv_wait {
	struct event_base *base;
	int status;
	char host[CN_RESOLVER_NAME_MAX];
	uint16_t port;
	bool done;
};

static void srv_done(void *arg, int status, const struct cn_srv *srv, size_t n)
{
	struct srv_wait *w = arg;

	w->status = status ? status : (n ? 0 : -CN_ENOTFOUND);
	if (!w->status) {
		snprintf(w->host, sizeof(w->host), "%s", srv[0].host);
		w->port = srv[0].port;
	}
	w->done = true;
	event_base_loopbreak(w->base);
}

static int srv_lookup(const char *name, char *host, size_t cap, uint16_t *port)
{
	struct srv_wait w = {.status = -CN_ETIMEDOUT};
	struct cn_errbuf e = {{0}};
	struct cn_resolver *r = NULL;
	struct timeval limit = {10, 0};

	w.base = event_base_new();
	if (!w.base)
		return -CN_ENOMEM;
	r = cn_resolver_new(w.base, NULL, 0, 0, &e);
	if (r && cn_resolver_srv(r, name, srv_done, &w) == 0) {
		event_base_loopexit(w.base, &limit);
		event_base_dispatch(w.base);
	}
	cn_resolver_free(r);
	event_base_free(w.base);
	if (!w.done)
		return r ? -CN_ETIMEDOUT : -CN_EIO;
	if (w.status)
		return w.status;
	snprintf(host, cap, "%s", w.host);
	*port = w.port;
	return 0;
}

int cn_cli_resolve(const char *host, uint16_t port, bool port_from_srv, int family, int socktype,
		   struct cn_addr *out)
{
	struct addrinfo hints = {.ai_family = family, .ai_socktype = socktype}, *res = NULL;
	char service[8], target[CN_RESOLVER_NAME_MAX];
	uint16_t srv_port = 0;
	int ret;

	if (host[0] == '_') {
		ret = srv_lookup(host, target, sizeof(target), &srv_port);
		if (ret)
			return ret;
		host = target;
		if (port_from_srv)
			port = srv_port;
	}
	snprintf(service, sizeof(service), "%u", port);
	if (getaddrinfo(host, service, &hints, &res) != 0 || !res)
		return -CN_ENOTFOUND;
	if (cn_addr_set(out, res->ai_addr, res->ai_addrlen) != 0) {
		freeaddrinfo(res);
		return -CN_ENOTFOUND;
	}
	freeaddrinfo(res);
	return 0;
}
