/* SPDX-License-Identifier: MIT */
/*
 * The node's deploy listener (server.h). One request per connection; one
 * push or rollback at a time per node (the store has one writer): another
 * gets BUSY, except a push of the same artifact, which takes over from a
 * connection still receiving it (the pusher reconnected to resume before
 * the node noticed the old connection die).
 *
 * Per connection:  REQUEST -> DATA -> HOOK -> CLOSING
 *                  REQUEST -> HOOK (rollback) -> CLOSING
 *                  REQUEST -> CLOSING (list, refusals)
 *                  REFUSED (decided at accept: the answer is sent, the
 *                  input drained until EOF or CN_DEPLOYD_REFUSE_LINGER_S)
 * A dropped connection in DATA keeps the partial upload for a resume; in
 * HOOK the hook still finishes and its outcome (including switching back)
 * is applied, only the answer is lost.
 *
 * The hook runs in a child process under the hook timeout (child.c: its
 * own process group, no shell, a clean environment, every privilege
 * dropped to the configured hook user, the last CN_CHILD_TAIL_MAX bytes of
 * its output kept for the answer).
 */
#include "deploy/server.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <sodium.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/privdrop.h"
#include "common/queue_compat.h"
#include "deploy/child.h"
#include "deploy/manifest.h"
#include "deploy/proto.h"
#include "deploy/store.h"

_Static_assert((int)CN_CHILD_TAIL_MAX <= (int)CN_DPROTO_TAIL_MAX,
	       "the hook's output tail fits the answer");

enum {
	RESULT_FRAME_MAX =
		CN_DPROTO_HDR + 1 + 1 + 4 + 2 + CN_DPROTO_MSG_MAX + 2 + CN_DPROTO_TAIL_MAX,
};

enum conn_state {
	ST_REQUEST,
	ST_DATA,
	ST_HOOK,
	ST_CLOSING,
	ST_REFUSED,
};

struct conn {
	struct cn_deployd *d;
	struct bufferevent *bev;
	enum conn_state st;
	char addr[CN_ADDR_TEXT_MAX];
	struct cn_deployd_peer peer; /* authorised at accept */
	/* A push. */
	struct cn_deploy_manifest m;
	uint8_t manifest[CN_DEPLOY_MANIFEST_MAX];
	size_t manifest_len;
	bool activate;
	bool holds; /* holds the store's writer lock (d->busy) */
	struct cn_store_upload *up;
	struct event *frame_ev; /* the frame deadline; in REFUSED the linger */
	bool refused;		/* counted in nrefusing, not nconns */
	LIST_ENTRY(conn) entry;
};

struct hook {
	struct cn_deployd *d;
	struct conn *c; /* NULL once the pusher is gone */
	struct cn_child *child;
	char app[CN_DEPLOY_APP_MAX + 1];
	char version[CN_DEPLOY_VERSION_MAX + 1];
	char prev[CN_DEPLOY_VERSION_MAX + 1]; /* "" = none before */
	char pusher[64];
};

struct cn_deployd {
	struct event_base *base;
	struct cn_deployd_config cfg;
	struct cn_store *store;
	struct evconnlistener *lis;
	cn_deployd_auth_fn auth;
	void *ctx;
	LIST_HEAD(, conn) conns;
	unsigned int nconns;	/* deployers' connections */
	unsigned int nrefusing; /* refused at accept, still draining */
	struct conn *pushing;	/* the connection in DATA, if any */
	bool busy;		/* a push or rollback holds the store */
	struct hook *hook;
	uid_t hook_uid; /* the hook runs as this user, without capabilities */
	gid_t hook_gid;
	bool hook_user_set; /* else as whoever the daemon is when the hook starts */
	struct cn_ratelimit rl;
};

static void acquire(struct cn_deployd *d, struct conn *c)
{
	d->busy = true;
	c->holds = true;
}

static void release(struct cn_deployd *d, struct conn *c)
{
	if (d->pushing == c)
		d->pushing = NULL;
	if (c->holds) {
		d->busy = false;
		c->holds = false;
	}
}

static void conn_free(struct conn *c)
{
	struct cn_deployd *d = c->d;

	if (c->up) {
		cn_log_info("deploy: %s (%s): connection closed at %" PRIu64 " of %" PRIu64
			    " bytes of %s %s; kept for a resume",
			    c->peer.name[0] ? c->peer.name : "?", c->addr,
			    cn_store_upload_have(c->up), c->m.size, c->m.app, c->m.version);
		cn_store_upload_abort(c->up, true);
		c->up = NULL;
	}
	if (d->hook && d->hook->c == c)
		d->hook->c = NULL;
	release(d, c);
	LIST_REMOVE(c, entry);
	if (c->refused)
		d->nrefusing--;
	else
		d->nconns--;
	if (c->frame_ev)
		event_free(c->frame_ev);
	bufferevent_free(c->bev);
	free(c);
}

/* (Re)starts the frame deadline: the next frame must be complete within it. */
static void frame_deadline(struct conn *c, unsigned int s)
{
	struct timeval tv = {(time_t)s, 0};

	if (c->frame_ev)
		event_add(c->frame_ev, &tv);
}

static void frame_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)what;
	if (c->st != ST_REFUSED)
		cn_log_ratelimited(&c->d->rl, cn_clock_ms(), CN_LOG_WARN,
				   "deploy: %s (%s): frame not complete after %u s, closing",
				   c->peer.name[0] ? c->peer.name : "?", c->addr,
				   c->d->cfg.frame_timeout_s);
	conn_free(c);
}

/*
 * Closes once the output is written. Never frees c at once (callers still
 * use it): write_cb does, also when nothing is queued (deferred trigger).
 */
static void conn_close_after_flush(struct conn *c)
{
	if (c->frame_ev)
		event_del(c->frame_ev);
	c->st = ST_CLOSING;
	bufferevent_disable(c->bev, EV_READ);
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		bufferevent_trigger(c->bev, EV_WRITE,
				    BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
}

static void send_result(struct conn *c, const struct cn_dproto_result *r)
{
	uint8_t buf[RESULT_FRAME_MAX];
	size_t len;

	if (cn_dproto_result_encode(r, buf, sizeof(buf), &len) == 0)
		bufferevent_write(c->bev, buf, len);
	conn_close_after_flush(c);
}

__attribute__((format(printf, 3, 4))) static void fail(struct conn *c, uint8_t status,
						       const char *fmt, ...)
{
	struct cn_dproto_result r;
	char msg[CN_DPROTO_MSG_MAX + 1];
	va_list ap;

	memset(&r, 0, sizeof(r));
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	r.status = status;
	cn_dproto_result_set_msg(&r, msg);
	cn_log_ratelimited(&c->d->rl, cn_clock_ms(), CN_LOG_WARN, "deploy: %s (%s): %s: %s",
			   c->peer.name[0] ? c->peer.name : "unknown peer", c->addr,
			   cn_dproto_status_name(status), r.msg);
	if (c->up) {
		cn_store_upload_abort(c->up, false);
		c->up = NULL;
	}
	release(c->d, c);
	send_result(c, &r);
}

/* ---- the hook ------------------------------------------------------------------------------ */

static void hook_free(struct hook *h)
{
	if (!h)
		return;
	cn_child_free(h->child);
	free(h);
}

/* The hook exited with status: keep the new version or switch back (cn_child_done_fn). */
static void hook_done(void *arg, int status, bool killed, const uint8_t *tail, size_t tail_len)
{
	struct hook *h = arg;
	struct cn_deployd *d = h->d;
	struct cn_dproto_result r;
	struct cn_errbuf e = {{0}};
	char msg[CN_DPROTO_MSG_MAX + 1], ignored[CN_DEPLOY_VERSION_MAX + 1];
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);

	memset(&r, 0, sizeof(r));
	r.hook_ran = true;
	r.hook_exit = code;
	r.tail_len = tail_len;
	memcpy(r.tail, tail, tail_len);
	if (code == 0) {
		if (cn_store_prune(d->store, h->app, &e))
			cn_log_warn("deploy: pruning %s: %s", h->app, e.msg);
		snprintf(msg, sizeof(msg), "%s %s active; hook exited 0", h->app, h->version);
		cn_log_info("deploy: %s %s activated (by %s)", h->app, h->version, h->pusher);
		r.status = CN_DSTATUS_OK;
	} else {
		int ret = h->prev[0] ? cn_store_activate(d->store, h->app, h->prev, ignored,
							 sizeof(ignored), &e)
				     : cn_store_deactivate(d->store, h->app, &e);

		snprintf(msg, sizeof(msg), "hook %s %d%s; %s %s",
			 killed ? "killed, status" : "exited", code, killed ? " (timeout)" : "",
			 h->prev[0] ? "current back to" : "no current version",
			 h->prev[0] ? h->prev : "");
		if (ret)
			snprintf(msg, sizeof(msg), "hook exited %d; switching back failed: %.200s",
				 code, e.msg);
		cn_log_warn("deploy: %s %s (by %s): %s", h->app, h->version, h->pusher, msg);
		r.status = CN_DSTATUS_HOOK;
	}
	cn_dproto_result_set_msg(&r, msg);
	d->busy = false;
	d->hook = NULL;
	if (h->c)
		send_result(h->c, &r);
	hook_free(h);
}

/*
 * Runs the hook for app/version (now current; prev was). The connection
 * (or NULL) gets the result when it finishes. 0, or -CN_EIO if it could
 * not start (the caller switches back).
 */
static int hook_start(struct cn_deployd *d, struct conn *c, const struct cn_deploy_manifest *m,
		      const char *prev, const char *pusher, struct cn_errbuf *e)
{
	char env_app[96], env_ver[96], env_path[CN_STORE_PATH_MAX + 16], env_sha[96],
		env_pusher[96], env_size[48], env_prev[96], env_node[96], env_time[48];
	char env_sys_path[] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	char env_lang[] = "LANG=C";
	char vdir[CN_STORE_PATH_MAX], art[CN_STORE_PATH_MAX], hex[CN_DEPLOY_HASH_HEX_LEN + 1];
	char what[sizeof(d->cfg.hook) + CN_DEPLOY_APP_MAX + CN_DEPLOY_VERSION_MAX + 16];
	char *argv[] = {d->cfg.hook, NULL};
	char *envp[] = {env_app,  env_ver,  env_path, env_sha,	    env_pusher, env_size,
			env_prev, env_node, env_time, env_sys_path, env_lang,	NULL};
	struct cn_child_spec spec = {
		.path = d->cfg.hook,
		.argv = argv,
		.envp = envp,
		.dir = vdir,
		.timeout_s = d->cfg.hook_timeout_s,
		.what = what,
	};
	struct hook *h;
	int ret;

	if (cn_store_version_dir(d->store, m->app, m->version, vdir, sizeof(vdir)) ||
	    cn_store_artifact_path(d->store, m->app, m->version, art, sizeof(art))) {
		cn_errbuf_set(e, "bad names");
		return -CN_EINVAL;
	}
	cn_deploy_hash_hex(m->hash, hex);
	snprintf(env_app, sizeof(env_app), "CAIRN_APP=%s", m->app);
	snprintf(env_ver, sizeof(env_ver), "CAIRN_VERSION=%s", m->version);
	snprintf(env_path, sizeof(env_path), "CAIRN_PATH=%s", art);
	snprintf(env_sha, sizeof(env_sha), "CAIRN_SHA=%s", hex);
	snprintf(env_pusher, sizeof(env_pusher), "CAIRN_PUSHER=%s", pusher);
	snprintf(env_size, sizeof(env_size), "CAIRN_SIZE=%" PRIu64, m->size);
	snprintf(env_prev, sizeof(env_prev), "CAIRN_PREVIOUS=%s", prev);
	snprintf(env_node, sizeof(env_node), "CAIRN_NODE=%s", d->cfg.self);
	snprintf(env_time, sizeof(env_time), "CAIRN_TIME=%" PRId64, m->time);
	snprintf(what, sizeof(what), "hook %s for %s %s", d->cfg.hook, m->app, m->version);
	h = calloc(1, sizeof(*h));
	if (!h)
		return -CN_ENOMEM;
	h->d = d;
	h->c = c;
	snprintf(h->app, sizeof(h->app), "%s", m->app);
	snprintf(h->version, sizeof(h->version), "%s", m->version);
	snprintf(h->prev, sizeof(h->prev), "%s", prev);
	snprintf(h->pusher, sizeof(h->pusher), "%s", pusher);
	if (!d->hook_user_set) {
		/* The daemon's user now: after its own privilege drop, the unprivileged one. */
		d->hook_uid = geteuid();
		d->hook_gid = getegid();
	}
	if (d->hook_uid == 0)
		cn_log_warn("deploy: the hook runs as root (without capabilities, but it can read "
			    "root's files, the node key among them): set 'user' or "
			    "deploy.hook_user");
	spec.uid = d->hook_uid;
	spec.gid = d->hook_gid;
	ret = cn_child_start(d->base, &spec, hook_done, h, &h->child, e);
	if (ret) {
		hook_free(h);
		return ret == -CN_ENOMEM ? ret : -CN_EIO;
	}
	cn_log_info("deploy: running hook %s for %s %s (pid %d)", d->cfg.hook, m->app, m->version,
		    (int)cn_child_pid(h->child));
	d->hook = h;
	return 0;
}

/*
 * Makes version current and runs the hook, or answers at once without a
 * hook. prev is what was current. On a hook that cannot start, switches
 * back and answers HOOK.
 */
static void activate(struct conn *c, const struct cn_deploy_manifest *m, bool rollback)
{
	struct cn_deployd *d = c->d;
	struct cn_errbuf e = {{0}};
	char prev[CN_DEPLOY_VERSION_MAX + 1], ignored[CN_DEPLOY_VERSION_MAX + 1];
	struct cn_dproto_result r;

	if (cn_store_activate(d->store, m->app, m->version, prev, sizeof(prev), &e)) {
		fail(c, CN_DSTATUS_IO, "activating %s %s: %s", m->app, m->version, e.msg);
		return;
	}
	if (d->cfg.hook[0]) {
		if (hook_start(d, c, m, prev, c->peer.name, &e) == 0) {
			/* The hook holds the lock now; hook_done releases it. */
			c->st = ST_HOOK;
			c->holds = false;
			if (d->pushing == c)
				d->pushing = NULL;
			bufferevent_set_timeouts(c->bev, NULL, NULL);
			if (c->frame_ev)
				event_del(c->frame_ev);
			return;
		}
		if (prev[0])
			cn_store_activate(d->store, m->app, prev, ignored, sizeof(ignored), NULL);
		else
			cn_store_deactivate(d->store, m->app, NULL);
		fail(c, CN_DSTATUS_HOOK, "%s; current back to %s", e.msg, prev[0] ? prev : "none");
		return;
	}
	if (cn_store_prune(d->store, m->app, &e))
		cn_log_warn("deploy: pruning %s: %s", m->app, e.msg);
	cn_log_info("deploy: %s %s %s by %s (%s)", m->app, m->version,
		    rollback ? "rolled back to" : "activated", c->peer.name, c->addr);
	memset(&r, 0, sizeof(r));
	r.status = CN_DSTATUS_OK;
	snprintf(r.msg, sizeof(r.msg), "%s %s active (no hook)", m->app, m->version);
	release(d, c);
	send_result(c, &r);
}

/* Every byte arrived (or was there): check, store, install, activate. */
static void push_complete(struct conn *c)
{
	struct cn_deployd *d = c->d;
	struct cn_errbuf e = {{0}};
	struct cn_dproto_result r;
	int ret;

	ret = cn_store_upload_finish(c->up, &e);
	c->up = NULL;
	if (ret) {
		fail(c, ret == -CN_EDECRYPT ? CN_DSTATUS_BAD_HASH : CN_DSTATUS_IO, "%s", e.msg);
		return;
	}
	ret = cn_store_install(d->store, &c->m, c->manifest, c->manifest_len, &e);
	if (ret) {
		fail(c, ret == -CN_EEXIST ? CN_DSTATUS_CONFLICT : CN_DSTATUS_IO, "%s", e.msg);
		return;
	}
	cn_log_info("deploy: stored %s %s (%" PRIu64 " bytes) from %s", c->m.app, c->m.version,
		    c->m.size, c->peer.name);
	if (c->activate) {
		activate(c, &c->m, false);
		return;
	}
	if (cn_store_prune(d->store, c->m.app, &e))
		cn_log_warn("deploy: pruning %s: %s", c->m.app, e.msg);
	memset(&r, 0, sizeof(r));
	snprintf(r.msg, sizeof(r.msg), "%s %s stored (not activated)", c->m.app, c->m.version);
	release(d, c);
	send_result(c, &r);
}

/* ---- requests ------------------------------------------------------------------------------ */

static void on_push(struct conn *c, const uint8_t *p, size_t n)
{
	struct cn_deployd *d = c->d;
	struct cn_dproto_push push;
	struct cn_errbuf e = {{0}};
	uint8_t frame[CN_DPROTO_HDR + 8];
	uint64_t offset;
	size_t len;

	if (cn_dproto_push_decode(p, n, &push)) {
		fail(c, CN_DSTATUS_BAD_REQ, "malformed push");
		return;
	}
	if (cn_deploy_manifest_verify(push.manifest, push.manifest_len, c->peer.key, &c->m)) {
		fail(c, CN_DSTATUS_BAD_SIG, "manifest not signed by %s's key", c->peer.name);
		return;
	}
	memcpy(c->manifest, push.manifest, push.manifest_len);
	c->manifest_len = push.manifest_len;
	c->activate = push.activate;
	if (c->m.size > d->cfg.max_size) {
		fail(c, CN_DSTATUS_TOO_BIG,
		     "%" PRIu64 " bytes is over this node's limit of %" PRIu64, c->m.size,
		     d->cfg.max_size);
		return;
	}
	if (d->busy) {
		struct conn *old = d->pushing;

		/* The same artifact again: the pusher is resuming; the old connection is dead. */
		if (!old || old->st != ST_DATA ||
		    sodium_memcmp(old->m.hash, c->m.hash, CN_DEPLOY_HASH_LEN) != 0) {
			fail(c, CN_DSTATUS_BUSY, "another push or rollback is running");
			return;
		}
		cn_log_info("deploy: %s resumes %s %s: closing the older connection", c->peer.name,
			    c->m.app, c->m.version);
		conn_free(old);
	}
	if (cn_store_check_version(d->store, &c->m, &e)) {
		fail(c, CN_DSTATUS_CONFLICT, "%s", e.msg);
		return;
	}
	if (cn_store_upload_begin(d->store, &c->m, &c->up, &offset, &e)) {
		fail(c, CN_DSTATUS_IO, "%s", e.msg);
		return;
	}
	acquire(d, c);
	d->pushing = c;
	c->st = ST_DATA;
	if (offset)
		cn_log_info("deploy: %s pushes %s %s: %" PRIu64 " of %" PRIu64 " bytes held",
			    c->peer.name, c->m.app, c->m.version, offset, c->m.size);
	else
		cn_log_info("deploy: %s pushes %s %s (%" PRIu64 " bytes)", c->peer.name, c->m.app,
			    c->m.version, c->m.size);
	cn_dproto_accept_encode(offset, frame, sizeof(frame), &len);
	bufferevent_write(c->bev, frame, len);
	if (offset == c->m.size)
		push_complete(c);
}

static void on_data(struct conn *c, const uint8_t *p, size_t n)
{
	struct cn_errbuf e = {{0}};
	int ret;

	if (n == 0) {
		fail(c, CN_DSTATUS_BAD_REQ, "empty data frame");
		return;
	}
	ret = cn_store_upload_write(c->up, p, n, &e);
	if (ret) {
		fail(c, ret == -CN_ETOOBIG ? CN_DSTATUS_BAD_REQ : CN_DSTATUS_IO, "%s", e.msg);
		return;
	}
	if (cn_store_upload_have(c->up) == c->m.size)
		push_complete(c);
}

static void on_list(struct conn *c, const uint8_t *p, size_t n)
{
	struct cn_dproto_req q;
	struct cn_store_entry *v = NULL;
	struct cn_dproto_entry *out = NULL;
	struct cn_errbuf e = {{0}};
	uint8_t *frame = NULL;
	size_t count, len;

	if (cn_dproto_list_decode(p, n, &q)) {
		fail(c, CN_DSTATUS_BAD_REQ, "malformed list request");
		return;
	}
	v = calloc(CN_DPROTO_LIST_MAX, sizeof(*v));
	out = calloc(CN_DPROTO_LIST_MAX, sizeof(*out));
	frame = malloc(CN_DPROTO_FRAME_MAX);
	if (!v || !out || !frame) {
		fail(c, CN_DSTATUS_IO, "out of memory");
		goto out;
	}
	if (cn_store_list(c->d->store, q.app, v, CN_DPROTO_LIST_MAX, &count, &e)) {
		fail(c, CN_DSTATUS_IO, "%s", e.msg);
		goto out;
	}
	for (size_t i = 0; i < count; i++) {
		memcpy(out[i].app, v[i].app, sizeof(out[i].app));
		memcpy(out[i].version, v[i].version, sizeof(out[i].version));
		out[i].size = v[i].m.size;
		memcpy(out[i].hash, v[i].m.hash, CN_DEPLOY_HASH_LEN);
		out[i].time = v[i].m.time;
		out[i].current = v[i].current;
	}
	if (cn_dproto_list_reply_encode(out, count, frame, CN_DPROTO_FRAME_MAX, &len) != 0) {
		fail(c, CN_DSTATUS_IO, "cannot encode the list");
		goto out;
	}
	bufferevent_write(c->bev, frame, len);
	conn_close_after_flush(c);
out:
	free(v);
	free(out);
	free(frame);
}

static void on_rollback(struct conn *c, const uint8_t *p, size_t n)
{
	struct cn_deployd *d = c->d;
	struct cn_dproto_req q;
	struct cn_errbuf e = {{0}};
	char target[CN_DEPLOY_VERSION_MAX + 1];
	struct cn_store_entry *all;
	size_t count = 0;

	if (cn_dproto_rollback_decode(p, n, &q)) {
		fail(c, CN_DSTATUS_BAD_REQ, "malformed rollback request");
		return;
	}
	if (d->busy) {
		fail(c, CN_DSTATUS_BUSY, "another push or rollback is running");
		return;
	}
	snprintf(target, sizeof(target), "%s", q.version);
	if (!target[0] && cn_store_previous(d->store, q.app, target, sizeof(target), &e)) {
		fail(c, CN_DSTATUS_NOTFOUND, "%s", e.msg);
		return;
	}
	/* The manifest of the target, for the hook's environment. */
	memset(&c->m, 0, sizeof(c->m));
	all = calloc(CN_STORE_VERSIONS_MAX, sizeof(*all));
	if (all && cn_store_list(d->store, q.app, all, CN_STORE_VERSIONS_MAX, &count, &e) == 0)
		for (size_t i = 0; i < count; i++)
			if (!strcmp(all[i].version, target))
				c->m = all[i].m;
	free(all);
	if (!c->m.app[0]) {
		fail(c, CN_DSTATUS_NOTFOUND, "%s %s is not on this node", q.app, target);
		return;
	}
	acquire(d, c);
	activate(c, &c->m, true);
}

static void handle(struct conn *c, uint8_t type, const uint8_t *p, size_t n)
{
	switch (c->st) {
	case ST_REQUEST:
		/* accept_cb let only deployers get this far. */
		if (type == CN_DPROTO_PUSH)
			on_push(c, p, n);
		else if (type == CN_DPROTO_LIST)
			on_list(c, p, n);
		else if (type == CN_DPROTO_ROLLBACK)
			on_rollback(c, p, n);
		else
			fail(c, CN_DSTATUS_BAD_REQ, "unexpected message %u", type);
		return;
	case ST_DATA:
		if (type == CN_DPROTO_DATA)
			on_data(c, p, n);
		else
			fail(c, CN_DSTATUS_BAD_REQ, "unexpected message %u during data", type);
		return;
	case ST_HOOK:
	case ST_CLOSING:
	case ST_REFUSED:
		return;
	}
}

/* ---- connections --------------------------------------------------------------------------- */

static void read_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	for (;;) {
		size_t len = evbuffer_get_length(in), plen;
		uint8_t type;
		const uint8_t *f;
		int ret;

		if (c->st == ST_HOOK || c->st == ST_CLOSING || c->st == ST_REFUSED) {
			evbuffer_drain(in, len);
			return;
		}
		if (len < CN_DPROTO_HDR)
			return;
		f = evbuffer_pullup(in, CN_DPROTO_HDR);
		ret = cn_dproto_peek(f, CN_DPROTO_HDR, &type, &plen);
		if (ret == -CN_ETOOBIG || ret == -CN_EFORMAT) {
			fail(c, CN_DSTATUS_BAD_REQ, "bad frame header");
			return;
		}
		if (len < CN_DPROTO_HDR + plen)
			return;
		f = evbuffer_pullup(in, (ssize_t)(CN_DPROTO_HDR + plen));
		if (!f) {
			fail(c, CN_DSTATUS_IO, "out of memory");
			return;
		}
		/* Never frees c: closing is deferred to write_cb. */
		handle(c, type, f + CN_DPROTO_HDR, plen);
		evbuffer_drain(in, CN_DPROTO_HDR + plen);
		/* A whole frame arrived: the next one gets its own deadline. */
		if (c->st == ST_REQUEST || c->st == ST_DATA)
			frame_deadline(c, c->d->cfg.frame_timeout_s);
	}
}

static void write_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	if (evbuffer_get_length(bufferevent_get_output(bev)) != 0)
		return;
	if (c->st == ST_CLOSING)
		conn_free(c);
	else if (c->st == ST_REFUSED)
		/* Answer sent: FIN, then read until the peer closes (no reset eats the answer). */
		shutdown(bufferevent_getfd(bev), SHUT_WR);
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;

	(void)bev;
	if (what & BEV_EVENT_TIMEOUT)
		cn_log_info("deploy: %s (%s): idle for %d s, closing", c->peer.name, c->addr,
			    CN_DEPLOYD_IDLE_S);
	conn_free(c);
}

static unsigned int conns_of(const struct cn_deployd *d, const char *name)
{
	const struct conn *c;
	unsigned int n = 0;

	LIST_FOREACH (c, &d->conns, entry)
		n += !c->refused && !strcmp(c->peer.name, name);
	return n;
}

/*
 * Who may hold a slot is decided here, before reading a byte: an address
 * that names no peer is closed without an answer (it sent nothing); a peer
 * that may not deploy, or a deployer over its share, gets its answer now
 * and never a deployer's slot.
 */
static void accept_cb(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa,
		      int salen, void *arg)
{
	struct cn_deployd *d = arg;
	struct timeval idle = {CN_DEPLOYD_IDLE_S, 0};
	struct cn_deployd_peer peer;
	char addr[CN_ADDR_TEXT_MAX], why[CN_DPROTO_MSG_MAX + 1];
	uint8_t status = CN_DSTATUS_OK;
	struct conn *c;

	(void)lis;
	cn_addr_format(sa, addr);
	memset(&peer, 0, sizeof(peer));
	if (d->auth(d->ctx, sa, (socklen_t)salen, &peer) != 0) {
		cn_log_ratelimited(&d->rl, cn_clock_ms(), CN_LOG_WARN,
				   "deploy: %s is not a peer of this network: closed", addr);
		evutil_closesocket(fd);
		return;
	}
	why[0] = 0;
	if (!peer.allowed) {
		status = CN_DSTATUS_REFUSED;
		snprintf(why, sizeof(why), "%s is not in a group allowed to deploy here",
			 peer.name);
	} else if (d->nconns >= CN_DEPLOYD_MAX_CONNS) {
		status = CN_DSTATUS_BUSY;
		snprintf(why, sizeof(why), "all %d deploy connections are in use",
			 CN_DEPLOYD_MAX_CONNS);
	} else if (conns_of(d, peer.name) >= CN_DEPLOYD_MAX_CONNS_PER_PEER) {
		status = CN_DSTATUS_BUSY;
		snprintf(why, sizeof(why), "%s already has %d connections here", peer.name,
			 CN_DEPLOYD_MAX_CONNS_PER_PEER);
	}
	if (status != CN_DSTATUS_OK && d->nrefusing >= CN_DEPLOYD_MAX_REFUSING) {
		evutil_closesocket(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		evutil_closesocket(fd);
		return;
	}
	c->d = d;
	c->bev = bufferevent_socket_new(d->base, fd, BEV_OPT_CLOSE_ON_FREE);
	c->frame_ev = evtimer_new(d->base, frame_cb, c);
	if (!c->bev || !c->frame_ev) {
		if (c->bev)
			bufferevent_free(c->bev);
		else
			evutil_closesocket(fd);
		if (c->frame_ev)
			event_free(c->frame_ev);
		free(c);
		return;
	}
	memcpy(c->addr, addr, sizeof(c->addr));
	c->peer = peer;
	c->refused = status != CN_DSTATUS_OK;
	LIST_INSERT_HEAD(&d->conns, c, entry);
	if (c->refused)
		d->nrefusing++;
	else
		d->nconns++;
	bufferevent_setcb(c->bev, read_cb, write_cb, event_cb, c);
	bufferevent_set_timeouts(c->bev, &idle, &idle);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	if (c->refused) {
		struct cn_dproto_result r;
		uint8_t buf[RESULT_FRAME_MAX];
		size_t len;

		memset(&r, 0, sizeof(r));
		r.status = status;
		cn_dproto_result_set_msg(&r, why);
		cn_log_ratelimited(&d->rl, cn_clock_ms(), CN_LOG_WARN, "deploy: %s (%s): %s: %s",
				   peer.name, addr, cn_dproto_status_name(status), r.msg);
		c->st = ST_REFUSED;
		if (cn_dproto_result_encode(&r, buf, sizeof(buf), &len) == 0)
			bufferevent_write(c->bev, buf, len);
		frame_deadline(c, CN_DEPLOYD_REFUSE_LINGER_S);
		return;
	}
	frame_deadline(c, d->cfg.frame_timeout_s);
}

struct cn_deployd *cn_deployd_new(struct event_base *base, const struct cn_deployd_config *cfg,
				  cn_deployd_auth_fn auth, void *ctx, struct cn_errbuf *e)
{
	struct cn_deployd *d = calloc(1, sizeof(*d));
	char where[CN_ADDR_TEXT_MAX];

	if (!d) {
		cn_errbuf_set(e, "out of memory");
		return NULL;
	}
	d->base = base;
	d->cfg = *cfg;
	d->auth = auth;
	d->ctx = ctx;
	LIST_INIT(&d->conns);
	if (d->cfg.max_size == 0 || d->cfg.max_size > CN_DEPLOY_SIZE_MAX)
		d->cfg.max_size = CN_DEPLOY_SIZE_MAX;
	if (d->cfg.hook_timeout_s == 0)
		d->cfg.hook_timeout_s = 60;
	if (d->cfg.frame_timeout_s == 0)
		d->cfg.frame_timeout_s = CN_DEPLOYD_FRAME_S;
	if (d->cfg.hook_user[0]) {
		if (cn_privdrop_lookup(d->cfg.hook_user, &d->hook_uid, &d->hook_gid, e) != 0) {
			char why[sizeof(e->msg)];

			snprintf(why, sizeof(why), "%s", e->msg);
			cn_errbuf_set(e, "deploy: hook_user: %s", why);
			goto fail;
		}
		d->hook_user_set = true;
	}
	if (cn_store_open(cfg->dir, NULL, cfg->keep, &d->store, e))
		goto fail;
	cn_addr_format((const struct sockaddr *)&cfg->listen.ss, where);
	d->lis = evconnlistener_new_bind(
		base, accept_cb, d,
		LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, 16,
		(const struct sockaddr *)&cfg->listen.ss, (int)cfg->listen.len);
	if (!d->lis) {
		cn_errbuf_set(e, "deploy: cannot listen on %s: %s", where, strerror(errno));
		goto fail;
	}
	/*
	 * Linux accepts packets for the overlay address on any interface (weak
	 * host model); bound to the TUN device, the listener sees only what
	 * arrived through a peer's session.
	 */
	if (cfg->ifname[0] && setsockopt(evconnlistener_get_fd(d->lis), SOL_SOCKET, SO_BINDTODEVICE,
					 cfg->ifname, (socklen_t)strlen(cfg->ifname)))
		cn_log_warn("deploy: cannot bind the listener to %s: %s", cfg->ifname,
			    strerror(errno));
	cn_log_info("deploy: listening on %s, store %s, hook %s", where, cfg->dir,
		    cfg->hook[0] ? cfg->hook : "(none)");
	return d;
fail:
	cn_deployd_free(d);
	return NULL;
}

void cn_deployd_free(struct cn_deployd *d)
{
	struct conn *c;

	if (!d)
		return;
	if (d->lis)
		evconnlistener_free(d->lis);
	while ((c = LIST_FIRST(&d->conns)) != NULL)
		conn_free(c);
	hook_free(d->hook); /* a hook still running is killed and reaped */
	cn_store_free(d->store);
	free(d);
}
