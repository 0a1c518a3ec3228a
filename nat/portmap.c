/* SPDX-License-Identifier: MIT */
/*
 * Port mapping shell: PCP, then NAT-PMP on the loop; UPnP-IGD on a worker
 * thread (portmap_upnp.c). Protocol order, timers and the threading rule
 * are in portmap.h.
 *
 * Everything but struct cn_upnp_job is touched only by the loop thread.
 */
#include "nat/portmap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "nat/gateway.h"
#include "nat/natpmp.h"
#include "nat/pcp.h"
#include "nat/portmap_upnp.h"

enum {
	PCP_IRT_MS = 3000,
	NATPMP_IRT_MS = 250,
	BACKOFF_MIN_S = 60,
	BACKOFF_MAX_S = 1800,
	RECV_BATCH = 16,
	IPPROTO_UDP_ = 17,
};

enum st {
	ST_PCP,		/* MAP request out, waiting */
	ST_NATPMP_ADDR, /* external address request out */
	ST_NATPMP_MAP,	/* mapping request out */
	ST_UPNP,	/* a worker job runs */
	ST_MAPPED,	/* waiting for the renew time */
	ST_BACKOFF,	/* every protocol failed; waiting to start again */
};

struct cn_portmap {
	struct event_base *base;
	struct cn_portmap_config cfg;
	cn_portmap_cb cb;
	void *arg;
	struct in_addr gw, local_ip;
	int fd;
	struct event *rd_ev, *timer;
	enum st st;
	unsigned tries;
	uint64_t rt_ms;
	enum cn_portmap_proto trying;  /* protocol of the attempt in progress */
	enum cn_portmap_proto restart; /* BACKOFF after a remap: start with this */
	bool renewing;
	unsigned backoff_s;
	uint8_t nonce[CN_PCP_NONCE_LEN];
	struct cn_pcp_epoch epoch;
	uint8_t natpmp_ip[4];
	/* the mapping */
	bool mapped;
	struct cn_portmap_event cur;
	/* UPnP */
	int pipe_rd, pipe_wr;
	struct event *pipe_ev;
	struct cn_upnp_job *job;
	char upnp_url[CN_UPNP_URL_MAX], upnp_service[CN_UPNP_SERVICE_MAX];
	struct cn_ratelimit rl;
};

static void begin(struct cn_portmap *pm, enum cn_portmap_proto proto);

static const char *proto_name(enum cn_portmap_proto p)
{
	switch (p) {
	case CN_PORTMAP_NONE:
		return "none";
	case CN_PORTMAP_PCP:
		return "PCP";
	case CN_PORTMAP_NATPMP:
		return "NAT-PMP";
	case CN_PORTMAP_UPNP:
		return "UPnP-IGD";
	}
	return "?";
}

/* +-10% (RFC 6887 8.1.1 RAND). */
static uint64_t jitter10(uint64_t ms)
{
	uint64_t span = ms / 5;

	return span ? ms - ms / 10 + arc4random_uniform((uint32_t)(span + 1)) : ms;
}

static void arm(struct cn_portmap *pm, uint64_t ms)
{
	struct timeval tv = {.tv_sec = (time_t)(ms / 1000),
			     .tv_usec = (suseconds_t)(ms % 1000) * 1000};

	evtimer_add(pm->timer, &tv);
}

static bool v4_unicast(const uint8_t a[4])
{
	uint32_t v = (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];

	return v != 0 && (a[0] & 0xf0) != 0xe0 && (a[0] & 0xf0) != 0xf0 && a[0] != 127;
}

static void bad_answer(struct cn_portmap *pm, const char *what)
{
	char gw[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &pm->gw, gw, sizeof(gw));
	cn_log_ratelimited(&pm->rl, cn_clock_ms(), CN_LOG_WARN, "portmap: gateway %s: %s", gw,
			   what);
}

static bool enabled(const struct cn_portmap *pm, enum cn_portmap_proto p)
{
	unsigned mask = pm->cfg.protocols ? pm->cfg.protocols : CN_PORTMAP_USE_ALL;

	switch (p) {
	case CN_PORTMAP_NONE:
		return false;
	case CN_PORTMAP_PCP:
		return mask & CN_PORTMAP_USE_PCP;
	case CN_PORTMAP_NATPMP:
		return mask & CN_PORTMAP_USE_NATPMP;
	case CN_PORTMAP_UPNP:
		return mask & CN_PORTMAP_USE_UPNP;
	}
	return false;
}

static void report(struct cn_portmap *pm)
{
	if (pm->cb)
		pm->cb(pm->arg, &pm->cur);
}

static void lose(struct cn_portmap *pm, const char *why)
{
	if (!pm->mapped)
		return;
	cn_log_info("portmap: %s mapping of port %u lost: %s", proto_name(pm->cur.proto),
		    pm->cfg.local_port, why);
	pm->mapped = false;
	pm->cur = (struct cn_portmap_event){.proto = CN_PORTMAP_NONE, .lost = true};
	report(pm);
}

/* A mapping was granted: report it if new or changed, arm the renewal. */
static void granted(struct cn_portmap *pm, enum cn_portmap_proto proto, const uint8_t ip[4],
		    uint16_t port, uint32_t lifetime)
{
	struct cn_portmap_event ev = {.proto = proto, .lifetime_s = lifetime};
	uint64_t renew_ms;
	char txt[INET_ADDRSTRLEN];

	ev.external.sin_family = AF_INET;
	ev.external.sin_port = htons(port);
	memcpy(&ev.external.sin_addr, ip, 4);
	if (!pm->mapped || pm->cur.proto != proto ||
	    pm->cur.external.sin_addr.s_addr != ev.external.sin_addr.s_addr ||
	    pm->cur.external.sin_port != ev.external.sin_port) {
		inet_ntop(AF_INET, ip, txt, sizeof(txt));
		cn_log_info("portmap: %s maps %s:%u to local port %u for %u s", proto_name(proto),
			    txt, port, pm->cfg.local_port, lifetime);
		pm->mapped = true;
		pm->cur = ev;
		report(pm);
	}
	pm->cur.lifetime_s = lifetime;
	pm->st = ST_MAPPED;
	pm->renewing = false;
	pm->backoff_s = 0;
	/* Renew between 1/2 and 5/8 of the lifetime (RFC 6887 11.2.1); a
	 * permanent UPnP lease is checked again every hour. */
	if (lifetime == 0)
		lifetime = 3600;
	if (lifetime > 86400)
		lifetime = 86400;
	renew_ms = (uint64_t)lifetime * 500 + arc4random_uniform((uint32_t)lifetime * 125 + 1);
	if (renew_ms < 1000)
		renew_ms = 1000;
	evtimer_del(pm->timer);
	arm(pm, renew_ms);
}

/* The attempt with `pm->trying` failed: next protocol, or back off. */
static void failed(struct cn_portmap *pm, const char *why)
{
	enum cn_portmap_proto p = pm->trying;

	cn_log_info("portmap: %s for port %u: %s", proto_name(p), pm->cfg.local_port, why);
	evtimer_del(pm->timer);
	if (pm->renewing) {
		/* A mapping that can no longer be renewed is gone; start over. */
		pm->renewing = false;
		lose(pm, why);
		begin(pm, CN_PORTMAP_PCP);
		return;
	}
	for (p = (enum cn_portmap_proto)(p + 1); p <= CN_PORTMAP_UPNP;
	     p = (enum cn_portmap_proto)(p + 1))
		if (enabled(pm, p)) {
			begin(pm, p);
			return;
		}
	pm->backoff_s = pm->backoff_s ? pm->backoff_s * 2 : BACKOFF_MIN_S;
	if (pm->backoff_s > BACKOFF_MAX_S)
		pm->backoff_s = BACKOFF_MAX_S;
	cn_log_info("portmap: no protocol mapped port %u; trying again in about %u s",
		    pm->cfg.local_port, pm->backoff_s);
	pm->st = ST_BACKOFF;
	pm->restart = CN_PORTMAP_NONE;
	pm->trying = CN_PORTMAP_NONE;
	arm(pm, jitter10((uint64_t)pm->backoff_s * 1000));
}

/* ---- PCP and NAT-PMP ----------------------------------------------------- */

static void send_pcp(struct cn_portmap *pm, uint32_t lifetime)
{
	struct cn_pcp_request rq = {.opcode = CN_PCP_OP_MAP, .lifetime = lifetime};
	uint8_t buf[CN_PCP_MAP_MSG_LEN], none[4] = {0};
	size_t len;

	cn_pcp_addr_from_v4(rq.client_ip, (const uint8_t *)&pm->local_ip);
	memcpy(rq.map.nonce, pm->nonce, sizeof(rq.map.nonce));
	rq.map.protocol = IPPROTO_UDP_;
	rq.map.internal_port = pm->cfg.local_port;
	/* Suggest what we hold (a renewal keeps it), else the local port. */
	if (pm->mapped && pm->cur.proto == CN_PORTMAP_PCP) {
		rq.map.external_port = ntohs(pm->cur.external.sin_port);
		cn_pcp_addr_from_v4(rq.map.external_ip,
				    (const uint8_t *)&pm->cur.external.sin_addr);
	} else {
		rq.map.external_port = lifetime ? pm->cfg.local_port : 0;
		cn_pcp_addr_from_v4(rq.map.external_ip, none);
	}
	if (cn_pcp_request_encode(&rq, buf, sizeof(buf), &len) == 0)
		(void)send(pm->fd, buf, len, 0); /* loss is what retransmits are for */
}

static void send_natpmp(struct cn_portmap *pm, enum cn_natpmp_opcode op, uint32_t lifetime)
{
	struct cn_natpmp_request rq = {
		.opcode = op, .internal_port = pm->cfg.local_port, .lifetime = lifetime};
	uint8_t buf[CN_NATPMP_MAP_REQ_LEN];
	size_t len;

	if (op != CN_NATPMP_OP_ADDR)
		rq.suggested_port = !lifetime ? 0
				    : pm->mapped && pm->cur.proto == CN_PORTMAP_NATPMP
					    ? ntohs(pm->cur.external.sin_port)
					    : pm->cfg.local_port;
	if (cn_natpmp_request_encode(&rq, buf, sizeof(buf), &len) == 0)
		(void)send(pm->fd, buf, len, 0);
}

static uint32_t lifetime_req(const struct cn_portmap *pm)
{
	return pm->cfg.lifetime_s ? pm->cfg.lifetime_s : CN_PORTMAP_LIFETIME_DEFAULT;
}

/* (Re)sends the request of the current state. */
static void transmit(struct cn_portmap *pm)
{
	switch (pm->st) {
	case ST_PCP:
		send_pcp(pm, lifetime_req(pm));
		break;
	case ST_NATPMP_ADDR:
		send_natpmp(pm, CN_NATPMP_OP_ADDR, 0);
		break;
	case ST_NATPMP_MAP:
		send_natpmp(pm, CN_NATPMP_OP_MAP_UDP, lifetime_req(pm));
		break;
	case ST_UPNP:
	case ST_MAPPED:
	case ST_BACKOFF:
		break;
	}
}

static void start_request(struct cn_portmap *pm, enum st st, uint64_t irt_ms)
{
	pm->st = st;
	pm->tries = 1;
	pm->rt_ms = irt_ms;
	transmit(pm);
	evtimer_del(pm->timer);
	arm(pm, jitter10(pm->rt_ms));
}

/* The epoch of any answer: true if the server kept its mappings. */
static bool epoch_ok(struct cn_portmap *pm, uint32_t epoch)
{
	return cn_pcp_epoch_update(&pm->epoch, epoch, cn_clock_ms() / 1000);
}

/*
 * The gateway lost its state: map again (same nonce, RFC 6887 11.2) after a
 * random 0.5..5 s (RFC 6887 14.1.3 spreads the clients of a restarted
 * server over 5 s). While that wait runs, further epoch alarms are ignored:
 * a gateway (or a LAN host spoofing it) that floods ANNOUNCEs gets one
 * request per wait, not one per datagram.
 */
static void remap(struct cn_portmap *pm)
{
	enum cn_portmap_proto p = pm->mapped ? pm->cur.proto : pm->trying;

	cn_log_ratelimited(
		&pm->rl, cn_clock_ms(), CN_LOG_INFO,
		"portmap: gateway epoch says it lost its mappings; mapping port %u again",
		pm->cfg.local_port);
	lose(pm, "gateway restarted");
	pm->renewing = false;
	pm->restart = p == CN_PORTMAP_NONE ? CN_PORTMAP_PCP : p;
	pm->st = ST_BACKOFF;
	evtimer_del(pm->timer);
	arm(pm, 500 + arc4random_uniform(4501));
}

static void on_pcp(struct cn_portmap *pm, const uint8_t *buf, size_t len)
{
	struct cn_pcp_response rs;
	uint8_t ip[4];
	char why[64];

	if (cn_pcp_response_decode(buf, len, &rs) != 0) {
		bad_answer(pm, "malformed PCP answer dropped");
		return;
	}
	if (rs.opcode == CN_PCP_OP_ANNOUNCE) {
		/* An ANNOUNCE after a restart (RFC 6887 14.1.3). */
		if (!epoch_ok(pm, rs.epoch) && (pm->mapped || pm->st == ST_PCP))
			remap(pm);
		return;
	}
	if (pm->st != ST_PCP)
		return; /* a late answer to a finished attempt */
	if (!rs.has_map || memcmp(rs.map.nonce, pm->nonce, sizeof(pm->nonce)) != 0 ||
	    rs.map.protocol != IPPROTO_UDP_ || rs.map.internal_port != pm->cfg.local_port) {
		if (rs.result != CN_PCP_SUCCESS && !rs.has_map) {
			snprintf(why, sizeof(why), "PCP result %u", rs.result);
			failed(pm, why);
		} else {
			bad_answer(pm, "PCP answer for another mapping dropped");
		}
		return;
	}
	if (!epoch_ok(pm, rs.epoch) && pm->mapped) {
		remap(pm);
		return;
	}
	if (rs.result != CN_PCP_SUCCESS) {
		snprintf(why, sizeof(why), "PCP result %u, for %u s", rs.result, rs.lifetime);
		failed(pm, why);
		return;
	}
	if (rs.lifetime == 0 || rs.map.external_port == 0 ||
	    !cn_pcp_addr_to_v4(rs.map.external_ip, ip) || !v4_unicast(ip)) {
		bad_answer(pm, "PCP success without a usable address, port or lifetime");
		failed(pm, "unusable PCP answer");
		return;
	}
	granted(pm, CN_PORTMAP_PCP, ip, rs.map.external_port, rs.lifetime);
}

static void on_natpmp(struct cn_portmap *pm, const uint8_t *buf, size_t len)
{
	struct cn_natpmp_response rs;
	char why[64];

	if (cn_natpmp_response_decode(buf, len, &rs) != 0) {
		bad_answer(pm, "malformed NAT-PMP answer dropped");
		return;
	}
	if (pm->st == ST_PCP && cn_pcp_is_natpmp_reply(buf, len) &&
	    rs.result == CN_NATPMP_UNSUPP_VERSION) {
		/* RFC 6887 9: a NAT-PMP-only gateway answers a PCP request
		 * with NAT-PMP's UNSUPP_VERSION (only a well-formed one
		 * counts: any byte 0 must not turn PCP off). */
		failed(pm, "gateway speaks NAT-PMP only");
		return;
	}
	if (rs.opcode == CN_NATPMP_OP_ADDR && pm->st != ST_NATPMP_ADDR) {
		/* Unsolicited: the gateway announces a new address or a
		 * restart (RFC 6886 3.2.1). */
		if (pm->mapped && pm->cur.proto == CN_PORTMAP_NATPMP &&
		    (!epoch_ok(pm, rs.epoch) ||
		     (rs.full && memcmp(rs.external_ip, pm->natpmp_ip, 4) != 0)))
			remap(pm);
		return;
	}
	if ((pm->st == ST_NATPMP_ADDR && rs.opcode != CN_NATPMP_OP_ADDR) ||
	    (pm->st == ST_NATPMP_MAP && rs.opcode != CN_NATPMP_OP_MAP_UDP) ||
	    (pm->st != ST_NATPMP_ADDR && pm->st != ST_NATPMP_MAP))
		return;
	if (!epoch_ok(pm, rs.epoch) && pm->mapped) {
		remap(pm);
		return;
	}
	if (rs.result != CN_NATPMP_SUCCESS) {
		snprintf(why, sizeof(why), "NAT-PMP result %u", rs.result);
		failed(pm, why);
		return;
	}
	if (pm->st == ST_NATPMP_ADDR) {
		if (!v4_unicast(rs.external_ip)) {
			bad_answer(pm, "NAT-PMP external address unusable");
			failed(pm, "no external address");
			return;
		}
		memcpy(pm->natpmp_ip, rs.external_ip, 4);
		start_request(pm, ST_NATPMP_MAP, NATPMP_IRT_MS);
		return;
	}
	if (rs.internal_port != pm->cfg.local_port) {
		bad_answer(pm, "NAT-PMP answer for another port dropped");
		return;
	}
	if (rs.lifetime == 0 || rs.external_port == 0) {
		failed(pm, "NAT-PMP granted no port");
		return;
	}
	granted(pm, CN_PORTMAP_NATPMP, pm->natpmp_ip, rs.external_port, rs.lifetime);
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
	struct cn_portmap *pm = arg;
	uint8_t buf[CN_PCP_MSG_MAX + 4];

	(void)what;
	for (int i = 0; i < RECV_BATCH; i++) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n < 0) {
			if (errno == ECONNREFUSED &&
			    (pm->st == ST_PCP || pm->st == ST_NATPMP_ADDR ||
			     pm->st == ST_NATPMP_MAP))
				failed(pm, "port unreachable");
			return;
		}
		if ((size_t)n > CN_PCP_MSG_MAX) {
			bad_answer(pm, "oversized answer dropped");
			continue;
		}
		if (n >= 1 && buf[0] == CN_PCP_VERSION)
			on_pcp(pm, buf, (size_t)n);
		else if (n >= 1 && buf[0] == CN_NATPMP_VERSION)
			on_natpmp(pm, buf, (size_t)n);
		else
			bad_answer(pm, "answer of unknown version dropped");
	}
}

/* ---- UPnP-IGD (a worker thread runs the job: portmap_upnp.c) ---------------- */

/* Starts a job (the portmap holds one reference). 0 or -CN_E*. */
static int job_start(struct cn_portmap *pm, enum cn_upnp_job_op op)
{
	struct cn_upnp_job *j = cn_upnp_job_new(op, pm->pipe_wr);

	if (!j)
		return -CN_ENOMEM;
	j->discover_ms =
		pm->cfg.upnp_discover_ms ? pm->cfg.upnp_discover_ms : CN_PORTMAP_UPNP_DISCOVER_MS;
	inet_ntop(AF_INET, &pm->local_ip, j->local_ip, sizeof(j->local_ip));
	j->local_port = pm->cfg.local_port;
	j->lease = lifetime_req(pm);
	if (pm->mapped && pm->cur.proto == CN_PORTMAP_UPNP)
		j->ext_port = ntohs(pm->cur.external.sin_port);
	snprintf(j->url, sizeof(j->url), "%s", op == CN_UPNP_JOB_DEL ? pm->upnp_url : "");
	snprintf(j->service, sizeof(j->service), "%s", pm->upnp_service);
	if (cn_upnp_job_run(j) != 0)
		return -CN_EIO;
	pm->job = j;
	return 0;
}

/* The loop lets go of its job: the worker no longer writes to the pipe. */
static void job_release(struct cn_portmap *pm)
{
	struct cn_upnp_job *j = pm->job;

	if (!j)
		return;
	pm->job = NULL;
	cn_upnp_job_release(j);
}

static void on_job(evutil_socket_t fd, short what, void *arg)
{
	struct cn_portmap *pm = arg;
	struct cn_upnp_job *j = pm->job;
	char drain[16];
	uint8_t ip[4];

	(void)what;
	while (read(fd, drain, sizeof(drain)) > 0)
		;
	if (!j)
		return;
	if (!cn_upnp_job_done(j))
		return;
	if (j->op != CN_UPNP_JOB_MAP || pm->st != ST_UPNP) {
		job_release(pm); /* the attempt it served is over */
		return;
	}
	if (j->rc != 0) {
		char why[sizeof(j->why)];

		snprintf(why, sizeof(why), "%s", j->why);
		job_release(pm);
		failed(pm, why);
		return;
	}
	if (inet_pton(AF_INET, j->ext_ip, ip) != 1 || !v4_unicast(ip) || j->got_port == 0) {
		bad_answer(pm, "UPnP external address unusable");
		job_release(pm);
		failed(pm, "unusable UPnP answer");
		return;
	}
	snprintf(pm->upnp_url, sizeof(pm->upnp_url), "%s", j->url);
	snprintf(pm->upnp_service, sizeof(pm->upnp_service), "%s", j->service);
	{
		uint16_t port = j->got_port;
		uint32_t lease = j->got_lease;

		job_release(pm);
		granted(pm, CN_PORTMAP_UPNP, ip, port, lease);
	}
}

/* ---- sequencing ---------------------------------------------------------------- */

static void begin(struct cn_portmap *pm, enum cn_portmap_proto proto)
{
	for (; proto <= CN_PORTMAP_UPNP && !enabled(pm, proto);
	     proto = (enum cn_portmap_proto)(proto + 1))
		;
	pm->trying = proto > CN_PORTMAP_UPNP ? CN_PORTMAP_NONE : proto;
	switch (pm->trying) {
	case CN_PORTMAP_NONE:
		pm->trying = CN_PORTMAP_UPNP; /* so failed() backs off */
		failed(pm, "no protocol enabled");
		return;
	case CN_PORTMAP_PCP:
		start_request(pm, ST_PCP, PCP_IRT_MS);
		return;
	case CN_PORTMAP_NATPMP:
		start_request(pm, ST_NATPMP_ADDR, NATPMP_IRT_MS);
		return;
	case CN_PORTMAP_UPNP:
		evtimer_del(pm->timer);
		if (pm->job) {
			/* A job still runs (a renewal overlapped): wait for it. */
			pm->st = ST_UPNP;
			return;
		}
		if (job_start(pm, CN_UPNP_JOB_MAP) != 0) {
			failed(pm, "cannot start the UPnP worker");
			return;
		}
		pm->st = ST_UPNP;
		return;
	}
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct cn_portmap *pm = arg;

	(void)fd;
	(void)what;
	switch (pm->st) {
	case ST_PCP:
	case ST_NATPMP_ADDR:
	case ST_NATPMP_MAP: {
		unsigned max = pm->st == ST_PCP ? CN_PORTMAP_PCP_TRIES : CN_PORTMAP_NATPMP_TRIES;

		if (pm->tries >= max) {
			failed(pm, "no answer");
			return;
		}
		pm->tries++;
		pm->rt_ms *= 2;
		transmit(pm);
		arm(pm, jitter10(pm->rt_ms));
		return;
	}
	case ST_UPNP:
		return;
	case ST_MAPPED:
		pm->renewing = true;
		pm->trying = pm->cur.proto;
		switch (pm->cur.proto) {
		case CN_PORTMAP_PCP:
			start_request(pm, ST_PCP, PCP_IRT_MS);
			return;
		case CN_PORTMAP_NATPMP:
			start_request(pm, ST_NATPMP_ADDR, NATPMP_IRT_MS);
			return;
		case CN_PORTMAP_UPNP:
		case CN_PORTMAP_NONE:
			begin(pm,
			      pm->cur.proto == CN_PORTMAP_UPNP ? CN_PORTMAP_UPNP : CN_PORTMAP_PCP);
			return;
		}
		return;
	case ST_BACKOFF: {
		enum cn_portmap_proto p = pm->restart ? pm->restart : CN_PORTMAP_PCP;

		pm->restart = CN_PORTMAP_NONE;
		begin(pm, p);
		return;
	}
	}
}

/* Default gateway from the routing table. */
static int find_gateway(struct in_addr *gw)
{
	char buf[16384];
	ssize_t n;
	int fd = open("/proc/net/route", O_RDONLY | O_CLOEXEC), ret;

	if (fd < 0)
		return -CN_EIO;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n <= 0)
		return -CN_EIO;
	ret = cn_gateway_parse_route(buf, (size_t)n, gw, NULL);
	return ret;
}

/* A UDP socket connected to the gateway's port: only its answers arrive,
 * and an ICMP port unreachable shows as ECONNREFUSED. */
static int open_socket(struct cn_portmap *pm)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr = pm->gw};
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	sa.sin_port = htons(pm->cfg.server_port ? pm->cfg.server_port : CN_PCP_SERVER_PORT);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) != 0) {
		close(fd);
		return -1;
	}
	pm->local_ip = sa.sin_addr;
	return fd;
}

struct cn_portmap *cn_portmap_new(struct event_base *base, const struct cn_portmap_config *cfg,
				  cn_portmap_cb cb, void *arg)
{
	struct cn_portmap *pm = NULL, *ret = NULL;
	int pfd[2] = {-1, -1};
	char gw[INET_ADDRSTRLEN];

	if (!base || !cfg || cfg->local_port == 0) {
		cn_log_err("portmap: no local port to map");
		return NULL;
	}
	pm = calloc(1, sizeof(*pm));
	if (!pm)
		return NULL;
	pm->fd = pm->pipe_rd = pm->pipe_wr = -1;
	pm->base = base;
	pm->cfg = *cfg;
	pm->cb = cb;
	pm->arg = arg;
	pm->gw = cfg->gateway;
	if (pm->gw.s_addr == 0 && find_gateway(&pm->gw) != 0) {
		cn_log_info("portmap: no default IPv4 gateway; no port mapping");
		goto out;
	}
	inet_ntop(AF_INET, &pm->gw, gw, sizeof(gw));
	pm->fd = open_socket(pm);
	if (pm->fd < 0) {
		cn_log_err("portmap: socket toward gateway %s: %s", gw, strerror(errno));
		goto out;
	}
	if (pipe2(pfd, O_NONBLOCK | O_CLOEXEC) != 0) {
		cn_log_err("portmap: pipe: %s", strerror(errno));
		goto out;
	}
	pm->pipe_rd = pfd[0];
	pm->pipe_wr = pfd[1];
	pm->rd_ev = event_new(base, pm->fd, EV_READ | EV_PERSIST, on_read, pm);
	pm->pipe_ev = event_new(base, pm->pipe_rd, EV_READ | EV_PERSIST, on_job, pm);
	pm->timer = evtimer_new(base, on_timer, pm);
	if (!pm->rd_ev || !pm->pipe_ev || !pm->timer || event_add(pm->rd_ev, NULL) != 0 ||
	    event_add(pm->pipe_ev, NULL) != 0) {
		cn_log_err("portmap: libevent setup failed");
		goto out;
	}
	arc4random_buf(pm->nonce, sizeof(pm->nonce));
	cn_log_info("portmap: mapping UDP port %u through gateway %s", cfg->local_port, gw);
	begin(pm, CN_PORTMAP_PCP);
	ret = pm;
	pm = NULL;
out:
	if (pm) {
		pm->cb = NULL;
		cn_portmap_free(pm);
	}
	return ret;
}

void cn_portmap_restart(struct cn_portmap *pm)
{
	struct in_addr gw = pm->cfg.gateway;
	int fd;

	if (gw.s_addr == 0 && find_gateway(&gw) != 0)
		gw = pm->gw;
	pm->gw = gw;
	fd = open_socket(pm);
	if (fd >= 0) {
		event_del(pm->rd_ev);
		close(pm->fd);
		pm->fd = fd;
		event_assign(pm->rd_ev, pm->base, fd, EV_READ | EV_PERSIST, on_read, pm);
		event_add(pm->rd_ev, NULL);
	}
	pm->epoch = (struct cn_pcp_epoch){0};
	pm->renewing = false;
	lose(pm, "network changed");
	if (pm->st != ST_UPNP)
		begin(pm, CN_PORTMAP_PCP);
}

bool cn_portmap_current(const struct cn_portmap *pm, struct cn_portmap_event *ev)
{
	if (!pm || !pm->mapped)
		return false;
	*ev = pm->cur;
	return true;
}

void cn_portmap_free(struct cn_portmap *pm)
{
	uint64_t deadline;

	if (!pm)
		return;
	deadline = cn_clock_ms() + CN_PORTMAP_FREE_WAIT_MS;
	if (pm->mapped && pm->fd >= 0) {
		/* Delete: lifetime 0 (RFC 6887 15, RFC 6886 3.4); not waited for. */
		if (pm->cur.proto == CN_PORTMAP_PCP)
			send_pcp(pm, 0);
		else if (pm->cur.proto == CN_PORTMAP_NATPMP)
			send_natpmp(pm, CN_NATPMP_OP_MAP_UDP, 0);
	}
	if (pm->job && cn_upnp_job_wait(pm->job, deadline)) {
		/* A finished map job may have added a mapping we never took. */
		if (pm->job->op == CN_UPNP_JOB_MAP && pm->job->rc == 0 && !pm->mapped) {
			pm->mapped = true;
			pm->cur.proto = CN_PORTMAP_UPNP;
			pm->cur.external.sin_port = htons(pm->job->got_port);
			snprintf(pm->upnp_url, sizeof(pm->upnp_url), "%s", pm->job->url);
			snprintf(pm->upnp_service, sizeof(pm->upnp_service), "%s",
				 pm->job->service);
		}
	}
	job_release(pm);
	if (pm->mapped && pm->cur.proto == CN_PORTMAP_UPNP && pm->upnp_url[0] &&
	    job_start(pm, CN_UPNP_JOB_DEL) == 0) {
		if (!cn_upnp_job_wait(pm->job, deadline))
			cn_log_warn("portmap: UPnP delete of port %u still running; not waiting",
				    ntohs(pm->cur.external.sin_port));
		job_release(pm);
	}
	if (pm->timer)
		event_free(pm->timer);
	if (pm->rd_ev)
		event_free(pm->rd_ev);
	if (pm->pipe_ev)
		event_free(pm->pipe_ev);
	if (pm->fd >= 0)
		close(pm->fd);
	if (pm->pipe_rd >= 0)
		close(pm->pipe_rd);
	if (pm->pipe_wr >= 0)
		close(pm->pipe_wr);
	free(pm);
}
