/* SPDX-License-Identifier: MIT */
/*
 * The control socket (node_int.h, docs/NODE.md): a Unix socket, mode 0600,
 * root (or the node's own user) only, one command line per connection:
 * "status" (JSON), "status text", "ping NAME". Replies come from status.c;
 * a ping's reply comes back from the engine (node_control_probe_reply) or
 * times out (node_control_tick).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>

#include "common/clock.h"
#include "common/err.h"
#include "crypto/rand.h"
#include "node/node_int.h"

static void client_free(struct control_client *c)
{
	LIST_REMOVE(c, entry);
	c->n->nclients--;
	bufferevent_free(c->bev);
	free(c);
}

static void client_done_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	client_free(arg);
}

/* Sends the reply and closes once it is written. */
static void client_reply(struct control_client *c, struct evbuffer *b)
{
	bufferevent_write_buffer(c->bev, b);
	bufferevent_disable(c->bev, EV_READ);
	bufferevent_setcb(c->bev, NULL, client_done_cb, NULL, c);
}

void node_control_probe_reply(void *ctx, struct cn_peer *p, uint64_t id, enum cn_ctl_path there,
			      enum cn_ctl_path back)
{
	struct cn_node *n = ctx;
	struct control_client *c;

	LIST_FOREACH (c, &n->clients, entry) {
		struct evbuffer *b;

		if (c->ping_peer != p || c->ping_id != id)
			continue;
		b = evbuffer_new();
		if (!b)
			return;
		node_json_send(b, json_pack("{s:b, s:s, s:s, s:s, s:I}", "ok", 1, "peer", p->name,
					    "path", cn_engine_path_name(there), "reply_path",
					    cn_engine_path_name(back), "rtt_us",
					    (json_int_t)(cn_clock_us() - c->ping_sent_us)));
		c->ping_peer = NULL;
		client_reply(c, b);
		evbuffer_free(b);
		return;
	}
}

static void command(struct control_client *c, char *line)
{
	struct cn_node *n = c->n;
	struct evbuffer *b = evbuffer_new();

	if (!b)
		return;
	if (strcmp(line, "status") == 0) {
		node_status_json(n, b);
		client_reply(c, b);
	} else if (strcmp(line, "status text") == 0) {
		node_status_text(n, b);
		client_reply(c, b);
	} else if (strncmp(line, "ping ", 5) == 0) {
		struct cn_peer *p = cn_engine_find_name(n->eng, line + 5);
		uint64_t now = cn_clock_ms();

		if (!p) {
			char msg[600];

			snprintf(msg, sizeof(msg), "no peer named %s in the peer list", line + 5);
			node_json_send(b, json_pack("{s:b, s:s}", "ok", 0, "error", msg));
			client_reply(c, b);
		} else {
			c->ping_peer = p;
			c->ping_id = cn_rand_u64();
			c->ping_sent_us = cn_clock_us();
			c->ping_deadline_ms = now + NODE_CONTROL_PING_TIMEOUT_MS;
			node_timer_wake(n, c->ping_deadline_ms);
			cn_engine_probe(n->eng, p, now, c->ping_id);
		}
	} else {
		node_json_send(b, json_pack("{s:b, s:s}", "ok", 0, "error", "unknown command"));
		client_reply(c, b);
	}
	evbuffer_free(b);
}

uint64_t node_control_tick(struct cn_node *n, uint64_t now)
{
	struct control_client *c, *ct;
	uint64_t next = UINT64_MAX;

	for (c = LIST_FIRST(&n->clients); c; c = ct) {
		ct = LIST_NEXT(c, entry);
		if (!c->ping_peer)
			continue;
		if (now < c->ping_deadline_ms) {
			next = c->ping_deadline_ms < next ? c->ping_deadline_ms : next;
			continue;
		}
		{
			struct evbuffer *b = evbuffer_new();

			c->ping_peer = NULL;
			if (!b)
				continue;
			char msg[64];

			snprintf(msg, sizeof(msg), "no reply within %d ms",
				 NODE_CONTROL_PING_TIMEOUT_MS);
			node_json_send(b, json_pack("{s:b, s:s}", "ok", 0, "error", msg));
			client_reply(c, b);
			evbuffer_free(b);
		}
	}
	return next;
}

static void read_cb(struct bufferevent *bev, void *arg)
{
	struct control_client *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t len = 0;
	char *line;

	if (evbuffer_get_length(in) > 512) {
		client_free(c);
		return;
	}
	line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF);
	if (!line)
		return;
	bufferevent_disable(bev, EV_READ);
	command(c, line);
	free(line);
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		client_free(arg);
}

static void accept_cb(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa,
		      int salen, void *arg)
{
	struct cn_node *n = arg;
	struct control_client *c;
	struct ucred cred;
	socklen_t clen = sizeof(cred);

	(void)lis;
	(void)sa;
	(void)salen;
	/* Root only (the socket's mode says so too). */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) != 0 ||
	    (cred.uid != 0 && cred.uid != geteuid()) || n->nclients >= NODE_CONTROL_MAX_CLIENTS) {
		evutil_closesocket(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		evutil_closesocket(fd);
		return;
	}
	c->n = n;
	c->bev = bufferevent_socket_new(n->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!c->bev) {
		evutil_closesocket(fd);
		free(c);
		return;
	}
	LIST_INSERT_HEAD(&n->clients, c, entry);
	n->nclients++;
	bufferevent_setcb(c->bev, read_cb, NULL, event_cb, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

int node_control_open(struct cn_node *n, struct cn_errbuf *e)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	char dir[sizeof(sun.sun_path)], *slash;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", n->cfg.control_socket);
	snprintf(dir, sizeof(dir), "%s", n->cfg.control_socket);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
			cn_errbuf_set(e, "control socket directory %s: %s", dir, strerror(errno));
			return -CN_EIO;
		}
	}
	unlink(sun.sun_path);
	n->control = evconnlistener_new_bind(n->base, accept_cb, n,
					     LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 16,
					     (struct sockaddr *)&sun, sizeof(sun));
	if (!n->control) {
		cn_errbuf_set(e, "control socket %s: %s", sun.sun_path, strerror(errno));
		return -CN_EIO;
	}
	chmod(sun.sun_path, 0600);
	return 0;
}

void node_control_close(struct cn_node *n)
{
	struct control_client *c;

	while ((c = LIST_FIRST(&n->clients)) != NULL)
		client_free(c);
	if (n->control) {
		evconnlistener_free(n->control);
		n->control = NULL;
		unlink(n->cfg.control_socket);
	}
}
