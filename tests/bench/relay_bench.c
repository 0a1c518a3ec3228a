/* SPDX-License-Identifier: MIT */
/*
 * relay_bench: how fast and how lean cairn-relay is on loopback. A
 * benchmark, not a test: it prints figures and never judges them.
 *
 * It starts the real cairn-relay binary as a child process (its own config,
 * key and signed peer list in a temporary directory; limits raised for a
 * flood of links from 127.0.0.1) and drives it with the node-side relay
 * client (relay/relay_client.h):
 *
 *   1. throughput: node A sends 1400-byte packets to node B through the
 *      relay, over UDP links then TCP links. A window bounds the packets in
 *      flight, so the figure is what is delivered, not what is dropped. The
 *      same loop over a plain UDP socket pair and a plain TCP connection
 *      (same framing, no relay, no crypto) is the baseline.
 *   2. latency: A -> relay -> B -> relay -> A round trips of small packets
 *      (B echoes), against the same echo over plain sockets; as scheduled,
 *      then with the bench and the relay pinned to one CPU.
 *   3. memory: the relay's VmRSS before and after 1,000 and N idle
 *      authenticated links (one key each, from deterministic seeds), TCP
 *      then UDP, each on a fresh relay process; and the handshake rate.
 *
 * By default A and B share this process and one libevent loop: the relay
 * does two AEAD operations per packet and so does the bench, so two busy
 * processes share the two cores of the reference machine. --split moves B
 * to a forked process; measured there (quiet machine, 3 s runs) it gave
 * relay UDP ~75k pkt/s against ~105k in one process (three busy processes
 * on two cores leave the relay less CPU) and relay TCP ~120-140k against
 * ~110-120k, so one process is the default and --split the cross-check.
 * The CPU columns (bench, relay, other processes) show who was the limit.
 *
 * Everything stays on 127.0.0.1; every loop is bounded in count and time.
 * The relay child is stopped by its PID (and dies with the bench through
 * PR_SET_PDEATHSIG); the temporary directory is removed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <sodium.h>

#include "common/addr.h"
#include "common/err.h"
#include "common/file.h"
#include "common/log.h"
#include "crypto/keys.h"
#include "crypto/peerlist.h"
#include "relay/link.h"
#include "relay/relay_client.h"

#ifndef CN_RELAY_BIN
#define CN_RELAY_BIN "cairn-relay"
#endif

#define NETWORK "bench"

enum {
	PKT_LEN = 1400,
	PING_LEN = 64,
	DGRAM_MAX = 2048,
	DEFAULT_SECONDS = 5,
	DEFAULT_PINGS = 1000,
	DEFAULT_LINKS = 10000,
	DEFAULT_WINDOW = 128,
	FIRST_STEP = 1000,	     /* links at the first memory step */
	BURST = 32,		     /* sends between two turns of the loop */
	TICK_US = 2000,		     /* wakes every blocking loop turn */
	STALL_MS = 20,		     /* window full, nothing delivered: written off */
	DRAIN_MS = 500,		     /* after a run, for packets still in flight */
	UP_MS = 5000,		     /* a link or endpoint must be up by then */
	PING_TIMEOUT_MS = 1000,	     /* a round trip slower than this is lost */
	WARMUP_PINGS = 50,	     /* not recorded */
	HS_OUTSTANDING = 256,	     /* handshakes in flight while opening links */
	RELAY_MAX_PENDING = 4096,    /* the relay's max_pending_handshakes */
	RELAY_MAX_CONNS = 20000,     /* the relay's max_connections */
	LINKS_WAIT_MS = 120000,	     /* bound on opening one step of links */
	RELAY_COUNT_WAIT_MS = 30000, /* bound on the relay catching up */
	SETTLE_MS = 500,	     /* before reading VmRSS */
	RELAY_START_MS = 10000,
	/*
	 * Handshake timestamps are TAI64N rounded down to 2^24 ns, and the
	 * relay keeps one last timestamp per key for TCP and UDP links alike:
	 * a second initiation of the same key within ~16.8 ms is refused as a
	 * replay. Paths wait this long before their nodes connect again.
	 */
	TAI64N_GAP_MS = 40,
	FD_RESERVE = 64,
	METRICS_MAX = 32768,
	NPATHS = 4,
};

/* Ack pipe markers from a --split receiver; counts never get this high. */
#define ACK_READY  (UINT64_MAX - 1)
#define ACK_FAILED UINT64_MAX

static volatile sig_atomic_t interrupted;

enum path_kind {
	PATH_PLAIN_UDP,
	PATH_RELAY_UDP,
	PATH_PLAIN_TCP,
	PATH_RELAY_TCP,
};

static const char *const path_names[NPATHS] = {"plain UDP", "relay UDP", "plain TCP", "relay TCP"};

struct path;

/* One end of a path: a plain socket or a relay client. */
struct ep {
	struct path *p;
	struct ep *peer;
	const struct cn_identity *id; /* relay paths */
	int fd;			      /* plain paths, until opened */
	struct event *ev;	      /* plain UDP */
	struct bufferevent *bev;      /* plain TCP */
	struct cn_relay_client *rc;   /* relay paths */
	bool up, down, echo;
	char why[256];
	uint64_t rx, not_here, echo_fail;
	uint64_t last_seq; /* first 8 bytes of the last packet received */
	uint8_t buf[DGRAM_MAX];
	uint8_t out[CN_TCP_FRAME_HDR + DGRAM_MAX];
};

struct path {
	struct bench *bn;
	enum path_kind kind;
	struct ep a, b;
};

struct relay_stats {
	uint64_t links_tcp, links_udp, pending, forwarded, backpressure, drop_full, handshakes,
		hs_ratelimited, hs_pending_full, tcp_refused;
};

struct tp_result {
	bool done;
	double secs;
	uint64_t sent, delivered, lost, send_fail, stalls, not_here;
	double pps, mbps;
	/* % of one core: this process, the --split receiver, the relay, and
	 * everything else on the machine (other work skews the figures). */
	double cpu_bench, cpu_rx, cpu_relay, cpu_other;
	uint64_t relay_fwd, relay_drop_full, relay_pauses, rcvbuf_errors;
};

struct lat_result {
	bool done;
	unsigned int n, lost;
	double min, p50, p99, max, mean; /* microseconds */
	double cpu_other;		 /* other processes, % of one core */
};

struct mem_result {
	bool done;
	size_t n1, n2;		       /* links at the two steps */
	long rss0, rss1, rss2;	       /* relay VmRSS in KiB */
	double secs1, secs2;	       /* time to open each step */
	double relay_cpu1, relay_cpu2; /* relay CPU seconds spent on each step */
	size_t failed;
	char why[256];
	bool reopened; /* TCP: all closed, then n2 opened again */
	long rss_closed, rss_reopen;
	double secs_reopen;
};

struct bench {
	/* options */
	unsigned int seconds, pings, links, window, quiet_wait;
	bool split, throughput, latency, memory;
	const char *relay_bin;
	/* files */
	char dir[64], conf_path[128], log_path[128], list_path[128], key_path[128];
	/* identities: root, relay, nodes A and B, and one per memory link */
	struct cn_identity *root, *relay_id, *a_id, *b_id;
	struct cn_identity **mass;
	size_t nmass;
	size_t list_fit;   /* memory links the peer list cap allows */
	size_t list_need;  /* signed bytes a list with `links` link peers needs */
	size_t list_bytes; /* signed bytes of the list written */
	size_t nlinks;	   /* memory links actually used */
	rlim_t nofile;
	/* loop */
	struct event_base *base;
	struct event *tick;
	/* the relay child */
	pid_t pid;
	int port, mport;
	/* results */
	struct tp_result tp[NPATHS];
	struct lat_result lat[2][NPATHS]; /* [1]: bench and relay pinned to one CPU */
	struct mem_result mem_tcp, mem_udp;
};

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

static uint64_t mono_us(void)
{
	return mono_ns() / 1000;
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	/* Only wakes the loop so that every wait can look at the clock. */
	(void)fd;
	(void)what;
	(void)arg;
}

static void loop_for(struct event_base *base, unsigned int ms)
{
	uint64_t end = mono_us() + (uint64_t)ms * 1000;

	while (!interrupted && mono_us() < end)
		event_base_loop(base, EVLOOP_ONCE);
}

/* ---- /proc ------------------------------------------------------------------ */

/* VmRSS of pid in KiB, -1 if unknown. */
static long proc_rss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/* User plus system CPU time of pid in seconds (0 if unknown). */
static double proc_cpu_secs(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut = 0, st = 0;
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* Fields after the command name: state, 5 ints, 5 counters, utime, stime. */
	p = strrchr(buf, ')');
	if (!p ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return 0;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* CPU seconds all processors spent busy (steal included), from /proc/stat. */
static double system_busy_secs(void)
{
	unsigned long long v[8] = {0};
	FILE *f = fopen("/proc/stat", "re");
	int n;

	if (!f)
		return 0;
	n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
		   &v[4], &v[5], &v[6], &v[7]);
	fclose(f);
	if (n != 8)
		return 0;
	/* user nice system idle iowait irq softirq steal: all but idle and iowait. */
	return (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / (double)sysconf(_SC_CLK_TCK);
}

/* The kernel's count of UDP datagrams dropped on full receive buffers. */
static uint64_t udp_rcvbuf_errors(void)
{
	char hdr[1024] = "", val[1024] = "", *hs, *vs, *h, *v;
	uint64_t ret = 0;
	FILE *f = fopen("/proc/net/snmp", "re");

	if (!f)
		return 0;
	while (fgets(hdr, sizeof(hdr), f))
		if (strncmp(hdr, "Udp:", 4) == 0)
			break;
	if (!fgets(val, sizeof(val), f) || strncmp(val, "Udp:", 4) != 0) {
		fclose(f);
		return 0;
	}
	fclose(f);
	h = strtok_r(hdr, " \n", &hs);
	v = strtok_r(val, " \n", &vs);
	while (h && v) {
		if (strcmp(h, "RcvbufErrors") == 0) {
			ret = strtoull(v, NULL, 10);
			break;
		}
		h = strtok_r(NULL, " \n", &hs);
		v = strtok_r(NULL, " \n", &vs);
	}
	return ret;
}

/*
 * On a shared machine: waits up to --wait-quiet seconds until other
 * processes use less than 10% of one core (over 500 ms), keeping the loop
 * (and so the links) running meanwhile.
 */
static void wait_quiet(struct bench *bn)
{
	uint64_t end = mono_us() + (uint64_t)bn->quiet_wait * 1000000;
	double other = 0;

	if (!bn->quiet_wait)
		return;
	while (!interrupted && mono_us() < end) {
		double all = system_busy_secs(), self = proc_cpu_secs(getpid()),
		       relay = bn->pid > 0 ? proc_cpu_secs(bn->pid) : 0;

		loop_for(bn->base, 500);
		other = (system_busy_secs() - all) - (proc_cpu_secs(getpid()) - self) -
			(bn->pid > 0 ? proc_cpu_secs(bn->pid) - relay : 0);
		if (other < 0.05)
			return;
	}
	if (!interrupted)
		printf("# the machine stayed busy (other processes %.0f%% of a core): figures "
		       "include that load\n",
		       other * 200);
}

/* ---- the relay's metrics endpoint ------------------------------------------- */

/* GET path from 127.0.0.1:port (HTTP/1.0, so the server closes); body and all in out. */
static int http_get(int port, const char *path, char *out, size_t cap)
{
	struct sockaddr_in sin = {.sin_family = AF_INET,
				  .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct timeval tv = {2, 0};
	char req[128];
	size_t len = 0;
	int fd, n, ret = -CN_EIO;

	out[0] = '\0';
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -CN_EIO;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0)
		goto out;
	n = snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
	if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n)
		goto out;
	while (len + 1 < cap) {
		ssize_t r = recv(fd, out + len, cap - 1 - len, 0);

		if (r < 0)
			goto out;
		if (r == 0)
			break;
		len += (size_t)r;
	}
	out[len] = '\0';
	if (strncmp(out, "HTTP/1.", 7) != 0 || strncmp(out + 8, " 200", 4) != 0)
		goto out;
	ret = 0;
out:
	close(fd);
	return ret;
}

/* The value of the sample named exactly name (labels included), 0 if absent. */
static uint64_t metric(const char *text, const char *name)
{
	size_t n = strlen(name);
	const char *p = text;

	while ((p = strstr(p, name)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[n] == ' ')
			return strtoull(p + n + 1, NULL, 10);
		p += n;
	}
	return 0;
}

static int relay_stats(const struct bench *bn, struct relay_stats *s)
{
	char *text = malloc(METRICS_MAX);
	int ret;

	memset(s, 0, sizeof(*s));
	if (!text)
		return -CN_ENOMEM;
	ret = http_get(bn->mport, "/metrics", text, METRICS_MAX);
	if (ret == 0) {
		s->links_tcp = metric(text, "cairn_relay_links{transport=\"tcp\"}");
		s->links_udp = metric(text, "cairn_relay_links{transport=\"udp\"}");
		s->pending = metric(text, "cairn_relay_links_pending");
		s->forwarded = metric(text, "cairn_relay_packets_forwarded_total");
		s->backpressure = metric(text, "cairn_relay_backpressure_pauses_total");
		s->drop_full = metric(text, "cairn_relay_drops_total{reason=\"buffer_full\"}");
		s->handshakes = metric(text, "cairn_relay_handshakes_total");
		s->hs_ratelimited = metric(
			text, "cairn_relay_handshake_failures_total{reason=\"rate_limited\"}");
		s->hs_pending_full = metric(
			text, "cairn_relay_handshake_failures_total{reason=\"pending_full\"}");
		s->tcp_refused = metric(text, "cairn_relay_tcp_refused_total");
	}
	free(text);
	return ret;
}

/* ---- setup: limits, keys, peer list, config ------------------------------------ */

/* Raises the open-file limit as far as allowed; children inherit it. */
static rlim_t raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 1024;
	/* Raising the hard limit needs CAP_SYS_RESOURCE; try, then settle for it. */
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < 65536) {
		struct rlimit want = {65536, 65536};

		if (setrlimit(RLIMIT_NOFILE, &want) == 0)
			return want.rlim_cur;
	}
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ? 1048576 : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		getrlimit(RLIMIT_NOFILE, &rl);
	return rl.rlim_cur;
}

/* Seed i of the memory links: fixed, so every run uses the same keys. */
static int mass_identities(struct bench *bn, size_t n)
{
	uint8_t seed[CN_SEED_LEN];
	int ret = 0;

	bn->mass = calloc(n ? n : 1, sizeof(*bn->mass));
	if (!bn->mass)
		return -CN_ENOMEM;
	for (size_t i = 0; i < n && ret == 0; i++) {
		memset(seed, 0, sizeof(seed));
		memcpy(seed, "cairn relay bench", 17);
		for (size_t k = 0; k < 8; k++)
			seed[24 + k] = (uint8_t)((uint64_t)i >> (8 * k));
		ret = cn_identity_from_seed(seed, &bn->mass[i]);
		if (ret == 0)
			bn->nmass = i + 1;
	}
	sodium_memzero(seed, sizeof(seed));
	return ret;
}

/* One peer line as cn_peerlist_format writes it, for memory link i. */
static int mass_line(const struct bench *bn, size_t i, char *out, size_t cap)
{
	char key[CN_KEY_TEXT_LEN + 1];
	unsigned int host = (unsigned int)i + 3; /* A is .1, B is .2 */

	if (i < bn->nmass) {
		cn_key_to_text(bn->mass[i]->ed_pk, key);
	} else {
		/* Only sized, never written: every key text has the same length. */
		memset(key, 'A', CN_KEY_TEXT_LEN);
		key[CN_KEY_TEXT_LEN] = '\0';
	}
	return snprintf(out, cap,
			"\t{ name = \"link%05zu\"; key = \"%s\"; ipv4 = \"10.99.%u.%u\"; "
			"ipv6 = \"fd99:cafe::%x\"; groups = [ ]; }",
			i, key, host >> 8, host & 255, host);
}

/*
 * Writes the signed peer list: the relay, A and B through the editing API,
 * then as many memory-link peers as CN_PEERLIST_MAX_BYTES allows, appended
 * in the canonical layout (cn_peerlist_add_peer re-indexes the whole list
 * on every call, which takes tens of seconds for 10,000 peers), checked by
 * parsing before signing.
 */
static int write_peer_list(struct bench *bn, struct cn_errbuf *e)
{
	struct cn_peerlist *pl = NULL, *check = NULL;
	char *body = NULL, *text = NULL, *signed_text = NULL, line[256];
	size_t body_len = 0, head, len, cap, need, fit = 0, signed_len = 0;
	int ret;

	ret = cn_peerlist_new(NETWORK, "bench.cairn", "10.99.0.0/16", "fd99:cafe::/64", &pl, e);
	if (ret)
		goto out;
	ret = cn_peerlist_add_relay(pl, "relay1", bn->relay_id->ed_pk, "127.0.0.1", 443, 3478, e);
	if (ret == 0)
		ret = cn_peerlist_add_peer(pl, "bench-a", bn->a_id->ed_pk, NULL, 0, "10.99.0.1",
					   "fd99:cafe::1", e);
	if (ret == 0)
		ret = cn_peerlist_add_peer(pl, "bench-b", bn->b_id->ed_pk, NULL, 0, "10.99.0.2",
					   "fd99:cafe::2", e);
	if (ret == 0)
		ret = cn_peerlist_format(pl, &body, &body_len);
	if (ret)
		goto out;
	/* The canonical text ends with B's line and "\n);\n". */
	ret = -CN_EFORMAT;
	if (body_len < 6 || strcmp(body + body_len - 5, "}\n);\n") != 0) {
		cn_errbuf_set(e, "unexpected peer list layout");
		goto out;
	}
	head = body_len - 4;
	/* Sizes: what `links` link peers need, and how many fit under the cap. */
	need = head + 4 + CN_PEERLIST_SIG_LINE_LEN;
	for (size_t i = 0; i < bn->links; i++) {
		need += 2 + (size_t)mass_line(bn, i, line, sizeof(line));
		if (need <= CN_PEERLIST_MAX_BYTES && i < bn->nmass)
			fit = i + 1;
	}
	bn->list_need = need;
	bn->list_fit = fit;
	cap = head + 5;
	for (size_t i = 0; i < fit; i++)
		cap += 2 + (size_t)mass_line(bn, i, line, sizeof(line));
	ret = -CN_ENOMEM;
	text = malloc(cap);
	if (!text)
		goto out;
	memcpy(text, body, head);
	len = head;
	for (size_t i = 0; i < fit; i++) {
		memcpy(text + len, ",\n", 2);
		len += 2;
		len += (size_t)mass_line(bn, i, text + len, cap - len);
	}
	memcpy(text + len, "\n);\n", 5);
	len += 4;
	ret = cn_peerlist_parse((const uint8_t *)text, len, &check, e);
	if (ret)
		goto out;
	if (check->npeers != fit + 2) {
		cn_errbuf_set(e, "peer list holds %zu peers, expected %zu", check->npeers, fit + 2);
		ret = -CN_EFORMAT;
		goto out;
	}
	ret = cn_peerlist_sign((const uint8_t *)text, len, bn->root, &signed_text, &signed_len, e);
	if (ret == 0)
		ret = cn_file_write_atomic(bn->list_path, signed_text, signed_len, 0644, e);
	bn->list_bytes = signed_len;
out:
	cn_peerlist_free(pl);
	cn_peerlist_free(check);
	free(body);
	free(text);
	free(signed_text);
	return ret;
}

static int write_config(const struct bench *bn, struct cn_errbuf *e)
{
	char text[2048], root_text[CN_KEY_TEXT_LEN + 1];
	int n;

	cn_key_to_text(bn->root->ed_pk, root_text);
	n = snprintf(text, sizeof(text),
		     "identity_key = \"%s\";\n"
		     "root_key = \"%s\";\n"
		     "peer_list = \"%s\";\n"
		     "state_dir = \"%s/state\";\n"
		     "log_level = \"warn\";\n"
		     "listen = {\n"
		     "  tcp = [ \"127.0.0.1:%d\" ];\n"
		     "  udp = [ \"127.0.0.1:%d\" ];\n"
		     "  metrics = \"127.0.0.1:%d\";\n"
		     "};\n"
		     "limits = {\n"
		     "  max_connections = %d;\n"
		     "  max_pending_handshakes = %d;\n"
		     "  handshake_rate = 100000;\n"
		     "  handshake_burst = 100000;\n"
		     "};\n",
		     bn->key_path, root_text, bn->list_path, bn->dir, bn->port, bn->port, bn->mport,
		     RELAY_MAX_CONNS, RELAY_MAX_PENDING);
	if (n < 0 || (size_t)n >= sizeof(text)) {
		cn_errbuf_set(e, "config too long");
		return -CN_ETOOBIG;
	}
	return cn_file_write_atomic(bn->conf_path, text, (size_t)n, 0600, e);
}

/* ---- the relay child ------------------------------------------------------------ */

/* A port free on 127.0.0.1 for TCP (and UDP when both). Racy by nature; retried. */
static int free_port(bool both)
{
	for (int i = 0; i < 50; i++) {
		struct sockaddr_in sin = {.sin_family = AF_INET,
					  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		socklen_t len = sizeof(sin);
		int t = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), u = -1, port = -1;

		if (t >= 0 && bind(t, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
		    getsockname(t, (struct sockaddr *)&sin, &len) == 0) {
			port = ntohs(sin.sin_port);
			if (both) {
				u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
				if (u < 0 || bind(u, (struct sockaddr *)&sin, sizeof(sin)) != 0)
					port = -1;
			}
		}
		if (t >= 0)
			close(t);
		if (u >= 0)
			close(u);
		if (port > 0)
			return port;
	}
	return -1;
}

static void relay_log_tail(const struct bench *bn, unsigned int max_lines)
{
	char *text = NULL;
	size_t len = 0, start;
	unsigned int lines = 0;

	if (cn_file_read(bn->log_path, 1 << 24, &text, &len, NULL) != 0)
		return;
	/* Back from the end over max_lines line breaks (the last one ends the file). */
	for (start = len; start > 0; start--)
		if (text[start - 1] == '\n' && start != len && ++lines >= max_lines)
			break;
	if (len)
		printf("  relay log (last lines):\n%s%s", text + start,
		       text[len - 1] == '\n' ? "" : "\n");
	free(text);
}

static void relay_stop(struct bench *bn)
{
	int st;

	if (bn->pid <= 0)
		return;
	kill(bn->pid, SIGTERM);
	for (int i = 0; i < 300; i++) {
		if (waitpid(bn->pid, &st, WNOHANG) == bn->pid) {
			bn->pid = 0;
			return;
		}
		usleep(10000);
	}
	kill(bn->pid, SIGKILL);
	waitpid(bn->pid, &st, 0);
	bn->pid = 0;
	printf("cairn-relay did not stop on SIGTERM within 3 s: killed\n");
}

/* Stops the relay and shows what it logged (warnings and errors only). */
static void relay_finish(struct bench *bn)
{
	relay_stop(bn);
	relay_log_tail(bn, 15);
}

static int relay_spawn(struct bench *bn)
{
	pid_t parent = getpid(), pid;
	int logfd;

	logfd = open(bn->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (logfd < 0)
		return -CN_EIO;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		close(logfd);
		return -CN_EIO;
	}
	if (pid == 0) {
		/* Dies with the bench, whatever happens to it. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		dup2(logfd, STDOUT_FILENO);
		dup2(logfd, STDERR_FILENO);
		close_range(3, ~0U, 0);
		execl(bn->relay_bin, "cairn-relay", "--config", bn->conf_path, (char *)NULL);
		_exit(127);
	}
	close(logfd);
	bn->pid = pid;
	return 0;
}

/* Ready when /health answers; fails at once if the child exits. */
static int relay_wait_ready(struct bench *bn)
{
	uint64_t end = mono_us() + (uint64_t)RELAY_START_MS * 1000;
	char buf[512];
	int st;

	while (!interrupted && mono_us() < end) {
		if (waitpid(bn->pid, &st, WNOHANG) == bn->pid) {
			bn->pid = 0;
			printf("cairn-relay exited at start (status %d)\n",
			       WIFEXITED(st) ? WEXITSTATUS(st) : -1);
			relay_log_tail(bn, 20);
			return -CN_EIO;
		}
		if (http_get(bn->mport, "/health", buf, sizeof(buf)) == 0)
			return 0;
		usleep(20000);
	}
	return -CN_EIO;
}

static int relay_start(struct bench *bn)
{
	struct cn_errbuf e = {{0}};

	for (int attempt = 0; attempt < 3 && !interrupted; attempt++) {
		bn->port = free_port(true);
		bn->mport = free_port(false);
		if (bn->port < 0 || bn->mport < 0 || bn->port == bn->mport)
			continue;
		if (write_config(bn, &e)) {
			printf("relay config: %s\n", e.msg);
			return -CN_EIO;
		}
		if (relay_spawn(bn))
			return -CN_EIO;
		if (relay_wait_ready(bn) == 0) {
			printf("# cairn-relay pid %d on 127.0.0.1:%d (tcp+udp), metrics :%d\n",
			       (int)bn->pid, bn->port, bn->mport);
			return 0;
		}
		relay_stop(bn);
	}
	printf("cannot start %s\n", bn->relay_bin);
	return -CN_EIO;
}

static bool relay_alive(struct bench *bn)
{
	int st;

	if (bn->pid <= 0)
		return false;
	if (waitpid(bn->pid, &st, WNOHANG) == bn->pid) {
		printf("cairn-relay (pid %d) died: %s %d\n", (int)bn->pid,
		       WIFSIGNALED(st) ? "signal" : "exit status",
		       WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
		bn->pid = 0;
		relay_log_tail(bn, 20);
		return false;
	}
	return true;
}

/* ---- endpoints: plain sockets or relay clients ------------------------------------ */

static int ep_send(struct ep *e, const uint8_t *pkt, size_t len)
{
	switch (e->p->kind) {
	case PATH_PLAIN_UDP:
		return send(e->fd, pkt, len, MSG_DONTWAIT) == (ssize_t)len ? 0 : -CN_EIO;
	case PATH_PLAIN_TCP:
		/* One write of header and body, as the relay client does. */
		if (len > DGRAM_MAX || cn_tcp_frame_header(len, e->out) != 0)
			return -CN_EINVAL;
		memcpy(e->out + CN_TCP_FRAME_HDR, pkt, len);
		return bufferevent_write(e->bev, e->out, CN_TCP_FRAME_HDR + len) == 0 ? 0 : -CN_EIO;
	case PATH_RELAY_UDP:
	case PATH_RELAY_TCP:
		return cn_relay_client_send_packet(e->rc, e->peer->id->ed_pk, pkt, len);
	}
	return -CN_EINVAL;
}

static void ep_rx(struct ep *e, const uint8_t *data, size_t len)
{
	e->rx++;
	if (len >= 8)
		memcpy(&e->last_seq, data, 8);
	if (e->echo && ep_send(e, data, len) != 0)
		e->echo_fail++;
}

static void plain_udp_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ep *e = arg;

	(void)what;
	/* Like the relay client: up to 64 datagrams per wakeup, one recv each. */
	for (int i = 0; i < 64; i++) {
		ssize_t n = recv(fd, e->buf, sizeof(e->buf), MSG_DONTWAIT);

		if (n < 0)
			break;
		ep_rx(e, e->buf, (size_t)n);
	}
}

static void plain_tcp_read_cb(struct bufferevent *bev, void *arg)
{
	struct ep *e = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	for (;;) {
		size_t avail = evbuffer_get_length(in), msg_len, used;
		const uint8_t *p, *msg;

		if (avail < CN_TCP_FRAME_HDR)
			return;
		p = evbuffer_pullup(in, CN_TCP_FRAME_HDR);
		msg_len = ((size_t)p[0] << 8) | p[1];
		if (avail < CN_TCP_FRAME_HDR + msg_len)
			return;
		p = evbuffer_pullup(in, (ssize_t)(CN_TCP_FRAME_HDR + msg_len));
		if (cn_tcp_frame_next(p, CN_TCP_FRAME_HDR + msg_len, DGRAM_MAX, &msg, &msg_len,
				      &used) != 0) {
			e->down = true;
			bufferevent_disable(bev, EV_READ);
			return;
		}
		memcpy(e->buf, msg, msg_len);
		evbuffer_drain(in, used);
		ep_rx(e, e->buf, msg_len);
	}
}

static void plain_tcp_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct ep *e = arg;

	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		e->down = true;
}

static void rc_up(struct cn_relay_client *c, void *arg)
{
	struct ep *e = arg;

	(void)c;
	e->up = true;
}

static void rc_down(struct cn_relay_client *c, void *arg, const char *why)
{
	struct ep *e = arg;

	(void)c;
	e->up = false;
	e->down = true;
	snprintf(e->why, sizeof(e->why), "%s", why);
}

static void rc_msg(struct cn_relay_client *c, void *arg, const struct cn_link_msg *m)
{
	struct ep *e = arg;

	(void)c;
	if (m->type == CN_LINK_RECV)
		ep_rx(e, m->data, m->data_len);
	else if (m->type == CN_LINK_NOT_HERE)
		e->not_here++;
}

static const struct cn_relay_client_cbs rc_cbs = {rc_up, rc_down, rc_msg, NULL};

static void path_init(struct path *p, struct bench *bn, enum path_kind kind)
{
	memset(p, 0, sizeof(*p));
	p->bn = bn;
	p->kind = kind;
	p->a.p = p->b.p = p;
	p->a.peer = &p->b;
	p->b.peer = &p->a;
	p->a.id = bn->a_id;
	p->b.id = bn->b_id;
	p->a.fd = p->b.fd = -1;
}

static int set_nodelay_nonblock(int fd)
{
	int one = 1, fl = fcntl(fd, F_GETFL);

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0 ? -CN_EIO : 0;
}

/* Plain paths: the socket pair, made before any fork so both sides know it. */
static int path_prepare(struct path *p)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)},
			   sb = sa;
	socklen_t la = sizeof(sa), lb = sizeof(sb);
	int bufsz = 1 << 20, lis = -1, ret = -CN_EIO;

	switch (p->kind) {
	case PATH_RELAY_UDP:
	case PATH_RELAY_TCP:
		return 0;
	case PATH_PLAIN_UDP:
		p->a.fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		p->b.fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (p->a.fd < 0 || p->b.fd < 0 || bind(p->a.fd, (struct sockaddr *)&sa, la) ||
		    bind(p->b.fd, (struct sockaddr *)&sb, lb) ||
		    getsockname(p->a.fd, (struct sockaddr *)&sa, &la) ||
		    getsockname(p->b.fd, (struct sockaddr *)&sb, &lb) ||
		    connect(p->a.fd, (struct sockaddr *)&sb, lb) ||
		    connect(p->b.fd, (struct sockaddr *)&sa, la))
			goto out;
		/* The relay client's receive buffer. */
		setsockopt(p->a.fd, SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof(bufsz));
		setsockopt(p->b.fd, SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof(bufsz));
		ret = 0;
		break;
	case PATH_PLAIN_TCP:
		lis = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		p->a.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (lis < 0 || p->a.fd < 0 || bind(lis, (struct sockaddr *)&sa, la) ||
		    listen(lis, 1) || getsockname(lis, (struct sockaddr *)&sa, &la) ||
		    connect(p->a.fd, (struct sockaddr *)&sa, la))
			goto out;
		p->b.fd = accept4(lis, NULL, NULL, SOCK_CLOEXEC);
		if (p->b.fd < 0 || set_nodelay_nonblock(p->a.fd) || set_nodelay_nonblock(p->b.fd))
			goto out;
		ret = 0;
		break;
	}
out:
	if (lis >= 0)
		close(lis);
	return ret;
}

static void ep_close(struct ep *e)
{
	if (e->ev)
		event_free(e->ev);
	if (e->bev)
		bufferevent_free(e->bev);
	cn_relay_client_free(e->rc);
	if (e->fd >= 0)
		close(e->fd);
	e->ev = NULL;
	e->bev = NULL;
	e->rc = NULL;
	e->fd = -1;
	e->up = false;
}

/* Attaches e to base: plain sockets are up at once, relay clients start connecting. */
static int ep_open(struct ep *e, struct event_base *base)
{
	const struct bench *bn = e->p->bn;
	struct cn_relay_client_opts o = {.id = e->id, .network = NETWORK};
	struct cn_errbuf err = {{0}};
	char addr[CN_ADDR_TEXT_MAX];

	switch (e->p->kind) {
	case PATH_PLAIN_UDP:
		e->ev = event_new(base, e->fd, EV_READ | EV_PERSIST, plain_udp_cb, e);
		if (!e->ev || event_add(e->ev, NULL) != 0)
			return -CN_ENOMEM;
		e->up = true;
		return 0;
	case PATH_PLAIN_TCP:
		e->bev = bufferevent_socket_new(base, e->fd, BEV_OPT_CLOSE_ON_FREE);
		if (!e->bev)
			return -CN_ENOMEM;
		e->fd = -1; /* the bufferevent owns it */
		bufferevent_setcb(e->bev, plain_tcp_read_cb, NULL, plain_tcp_event_cb, e);
		bufferevent_enable(e->bev, EV_READ | EV_WRITE);
		e->up = true;
		return 0;
	case PATH_RELAY_UDP:
	case PATH_RELAY_TCP:
		break;
	}
	o.udp = e->p->kind == PATH_RELAY_UDP;
	memcpy(o.relay_key, bn->relay_id->ed_pk, CN_KEY_LEN);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", bn->port);
	if (cn_addr_parse(addr, &o.addr) != 0)
		return -CN_EINVAL;
	e->rc = cn_relay_client_new(base, &o, &rc_cbs, e, &err);
	if (!e->rc) {
		snprintf(e->why, sizeof(e->why), "%s", err.msg);
		return -CN_EIO;
	}
	return 0;
}

static bool ep_wait_up(struct event_base *base, const struct ep *e, unsigned int ms)
{
	uint64_t end = mono_us() + (uint64_t)ms * 1000;

	while (!e->up && !e->down && !interrupted && mono_us() < end)
		event_base_loop(base, EVLOOP_ONCE);
	return e->up;
}

/* ---- throughput ------------------------------------------------------------------- */

struct tp_ctx {
	struct bench *bn;
	struct path *p;
	bool split;
	pid_t child;
	int ctl_w, ack_r;
	struct event *ack_ev;
	uint64_t acked; /* --split: what the receiver reported */
	bool child_ready, child_failed, child_done;
};

static uint64_t tp_acked(const struct tp_ctx *t)
{
	return t->split ? t->acked : t->p->b.rx;
}

static void ack_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tp_ctx *t = arg;
	uint64_t v[64];
	ssize_t n;

	(void)what;
	/* 8-byte writes to a pipe are atomic, so reads come in whole values. */
	while ((n = read(fd, v, sizeof(v))) > 0) {
		for (size_t i = 0; i < (size_t)n / sizeof(v[0]); i++) {
			if (v[i] == ACK_READY)
				t->child_ready = true;
			else if (v[i] == ACK_FAILED)
				t->child_failed = true;
			else
				t->acked = v[i];
		}
	}
	if (n == 0) {
		t->child_done = true;
		event_del(t->ack_ev);
	}
}

static void ctl_cb(evutil_socket_t fd, short what, void *arg)
{
	bool *stop = arg;
	char c;

	(void)what;
	if (read(fd, &c, 1) <= 0)
		*stop = true;
}

static void ack_write(int fd, uint64_t v)
{
	(void)!write(fd, &v, sizeof(v));
}

/*
 * --split: the receiving end in a forked process on its own loop. Reports
 * its packet count through ack_w after every loop turn that changed it and
 * stops when the parent closes ctl_r (or after max_ms).
 */
static void __attribute__((noreturn))
tp_child(struct path *p, int ctl_r, int ack_w, unsigned int max_ms)
{
	struct timeval tv = {0, TICK_US};
	struct event_base *base;
	struct event *tick, *ctl;
	uint64_t reported = 0, end = mono_us() + (uint64_t)max_ms * 1000;
	bool stop = false;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	base = event_base_new();
	tick = base ? event_new(base, -1, EV_PERSIST, tick_cb, NULL) : NULL;
	ctl = base ? event_new(base, ctl_r, EV_READ | EV_PERSIST, ctl_cb, &stop) : NULL;
	if (!tick || !ctl || event_add(tick, &tv) || event_add(ctl, NULL) || ep_open(&p->b, base) ||
	    !ep_wait_up(base, &p->b, UP_MS)) {
		ack_write(ack_w, ACK_FAILED);
		_exit(1);
	}
	ack_write(ack_w, ACK_READY);
	while (!stop && mono_us() < end) {
		event_base_loop(base, EVLOOP_ONCE);
		if (p->b.rx != reported) {
			reported = p->b.rx;
			ack_write(ack_w, reported);
		}
	}
	ack_write(ack_w, p->b.rx);
	ep_close(&p->b);
	_exit(0);
}

/* Starts the receiver: in this loop, or forked with --split. */
static int tp_start_receiver(struct tp_ctx *t)
{
	struct bench *bn = t->bn;
	int ctl[2], ack[2];
	uint64_t end;

	if (!t->split)
		return ep_open(&t->p->b, bn->base) == 0 && ep_wait_up(bn->base, &t->p->b, UP_MS)
			       ? 0
			       : -CN_EIO;
	if (pipe2(ctl, O_CLOEXEC) != 0)
		return -CN_EIO;
	if (pipe2(ack, O_CLOEXEC) != 0) {
		close(ctl[0]);
		close(ctl[1]);
		return -CN_EIO;
	}
	fflush(NULL);
	t->child = fork();
	if (t->child == 0) {
		close(ctl[1]);
		close(ack[0]);
		if (t->p->a.fd >= 0)
			close(t->p->a.fd);
		tp_child(t->p, ctl[0], ack[1], bn->seconds * 1000 + 30000);
	}
	close(ctl[0]);
	close(ack[1]);
	t->ctl_w = ctl[1];
	t->ack_r = ack[0];
	if (t->child < 0)
		return -CN_EIO;
	/* The child owns B's socket now. */
	if (t->p->b.fd >= 0)
		close(t->p->b.fd);
	t->p->b.fd = -1;
	fcntl(t->ack_r, F_SETFL, O_NONBLOCK);
	t->ack_ev = event_new(bn->base, t->ack_r, EV_READ | EV_PERSIST, ack_cb, t);
	if (!t->ack_ev || event_add(t->ack_ev, NULL) != 0)
		return -CN_ENOMEM;
	end = mono_us() + (uint64_t)UP_MS * 2 * 1000;
	while (!t->child_ready && !t->child_failed && !t->child_done && !interrupted &&
	       mono_us() < end)
		event_base_loop(bn->base, EVLOOP_ONCE);
	return t->child_ready ? 0 : -CN_EIO;
}

static void tp_stop_receiver(struct tp_ctx *t)
{
	uint64_t end;
	int st;

	if (!t->split)
		return;
	if (t->ctl_w >= 0)
		close(t->ctl_w);
	t->ctl_w = -1;
	end = mono_us() + 3000000;
	while (t->ack_ev && !t->child_done && mono_us() < end)
		event_base_loop(t->bn->base, EVLOOP_ONCE);
	if (t->child > 0) {
		for (int i = 0; i < 100 && waitpid(t->child, &st, WNOHANG) != t->child; i++) {
			if (i == 99) {
				kill(t->child, SIGKILL);
				waitpid(t->child, &st, 0);
			}
			usleep(10000);
		}
		t->child = 0;
	}
	if (t->ack_ev)
		event_free(t->ack_ev);
	t->ack_ev = NULL;
	if (t->ack_r >= 0)
		close(t->ack_r);
	t->ack_r = -1;
}

/* Relay paths: the first packets can meet B not confirmed yet (NOT_HERE). */
static int tp_warmup(struct tp_ctx *t)
{
	uint8_t pkt[PKT_LEN];
	uint64_t before = tp_acked(t);

	memset(pkt, 0, sizeof(pkt));
	for (int i = 0; i < 100 && !interrupted; i++) {
		uint64_t end = mono_us() + 50000;

		if (ep_send(&t->p->a, pkt, sizeof(pkt)) != 0)
			return -CN_EIO;
		while (tp_acked(t) == before && mono_us() < end && !interrupted)
			event_base_loop(t->bn->base, EVLOOP_ONCE);
		if (tp_acked(t) != before) {
			loop_for(t->bn->base, 100); /* stragglers */
			return 0;
		}
	}
	return -CN_EIO;
}

/*
 * The sender: up to `window` packets in flight (sent, not yet counted by the
 * receiver); bursts of BURST then one turn of the loop, a blocking one when
 * the window is full. A window that stays full for STALL_MS without progress
 * is written off (lost packets would otherwise stall it for good); the loss
 * figure is sent minus delivered after a drain, independent of that.
 */
static void tp_send_loop(struct tp_ctx *t, struct tp_result *res)
{
	struct bench *bn = t->bn;
	uint8_t pkt[PKT_LEN];
	uint64_t base_rx = tp_acked(t), sent = 0, off = 0, last_got = 0;
	uint64_t start = mono_us(), end = start + (uint64_t)bn->seconds * 1000000;
	uint64_t last_progress = start, now, got;

	memset(pkt, 0xa5, sizeof(pkt));
	while (!interrupted && (now = mono_us()) < end) {
		uint64_t inflight;
		bool failed = false;

		got = tp_acked(t) - base_rx;
		if (got != last_got) {
			last_got = got;
			last_progress = now;
		}
		if (off > sent - got)
			off = sent - got; /* written-off packets that arrived after all */
		inflight = sent - got - off;
		if (inflight >= bn->window && now - last_progress > STALL_MS * 1000) {
			off += inflight;
			inflight = 0;
			res->stalls++;
			last_progress = now;
		}
		for (int i = 0; i < BURST && inflight < bn->window; i++) {
			memcpy(pkt, &sent, sizeof(sent));
			if (ep_send(&t->p->a, pkt, sizeof(pkt)) != 0) {
				res->send_fail++;
				failed = true;
				break;
			}
			sent++;
			inflight++;
		}
		event_base_loop(bn->base, inflight >= bn->window || failed
						  ? EVLOOP_ONCE
						  : EVLOOP_ONCE | EVLOOP_NONBLOCK);
	}
	res->secs = (double)(mono_us() - start) / 1e6;
	res->delivered = tp_acked(t) - base_rx;
	end = mono_us() + (uint64_t)DRAIN_MS * 1000;
	while (!interrupted && tp_acked(t) - base_rx < sent && mono_us() < end)
		event_base_loop(bn->base, EVLOOP_ONCE);
	got = tp_acked(t) - base_rx;
	res->sent = sent;
	res->lost = got < sent ? sent - got : 0;
	res->pps = (double)res->delivered / res->secs;
	res->mbps = res->pps * PKT_LEN * 8 / 1e6;
}

static int run_throughput(struct bench *bn, enum path_kind kind)
{
	struct tp_result *res = &bn->tp[kind];
	struct tp_ctx t = {.bn = bn, .split = bn->split, .ctl_w = -1, .ack_r = -1};
	struct relay_stats s0, s1;
	struct path p;
	double c_self, c_relay, c_child = 0, c_all;
	bool relay = kind == PATH_RELAY_UDP || kind == PATH_RELAY_TCP;
	uint64_t rcvbuf0;
	int ret = -CN_EIO;

	memset(res, 0, sizeof(*res));
	path_init(&p, bn, kind);
	t.p = &p;
	loop_for(bn->base, TAI64N_GAP_MS);
	wait_quiet(bn);
	if (path_prepare(&p) != 0) {
		printf("%s: cannot set up the sockets\n", path_names[kind]);
		goto out;
	}
	if (tp_start_receiver(&t) != 0) {
		printf("%s: receiver not up: %s\n", path_names[kind],
		       p.b.why[0] ? p.b.why : "(see above)");
		goto out;
	}
	if (ep_open(&p.a, bn->base) != 0 || !ep_wait_up(bn->base, &p.a, UP_MS)) {
		printf("%s: sender not up: %s\n", path_names[kind], p.a.why);
		goto out;
	}
	if (tp_warmup(&t) != 0) {
		printf("%s: nothing gets through\n", path_names[kind]);
		goto out;
	}
	if (relay && relay_stats(bn, &s0) != 0)
		memset(&s0, 0, sizeof(s0));
	rcvbuf0 = udp_rcvbuf_errors();
	c_self = proc_cpu_secs(getpid());
	c_relay = proc_cpu_secs(bn->pid);
	c_all = system_busy_secs();
	if (t.split)
		c_child = proc_cpu_secs(t.child);
	p.a.not_here = 0;
	tp_send_loop(&t, res);
	res->cpu_bench = 100 * (proc_cpu_secs(getpid()) - c_self) / res->secs;
	res->cpu_relay = relay ? 100 * (proc_cpu_secs(bn->pid) - c_relay) / res->secs : 0;
	if (t.split)
		res->cpu_rx = 100 * (proc_cpu_secs(t.child) - c_child) / res->secs;
	res->cpu_other = 100 * (system_busy_secs() - c_all) / res->secs - res->cpu_bench -
			 res->cpu_relay - res->cpu_rx;
	if (res->cpu_other < 0)
		res->cpu_other = 0;
	res->rcvbuf_errors = udp_rcvbuf_errors() - rcvbuf0;
	res->not_here = p.a.not_here;
	if (relay && relay_stats(bn, &s1) == 0) {
		res->relay_fwd = s1.forwarded - s0.forwarded;
		res->relay_drop_full = s1.drop_full - s0.drop_full;
		res->relay_pauses = s1.backpressure - s0.backpressure;
	}
	res->done = !interrupted;
	printf("# throughput %s: %.0f pkt/s, %.1f Mbit/s; sent %" PRIu64 ", lost %" PRIu64
	       " (kernel UDP rcvbuf drops %" PRIu64 "), window write-offs %" PRIu64
	       ", send failures %" PRIu64 "\n",
	       path_names[kind], res->pps, res->mbps, res->sent, res->lost, res->rcvbuf_errors,
	       res->stalls, res->send_fail);
	if (relay)
		printf("#   relay: forwarded %" PRIu64 ", dropped on a full queue %" PRIu64
		       ", backpressure pauses %" PRIu64 ", NOT_HERE %" PRIu64 "\n",
		       res->relay_fwd, res->relay_drop_full, res->relay_pauses, res->not_here);
	printf("#   CPU (%% of one core): bench %.0f%%%s, relay %.0f%%, other processes %.0f%%\n",
	       res->cpu_bench, t.split ? "" : " (A and B)", res->cpu_relay, res->cpu_other);
	if (t.split)
		printf("#   receiver process CPU %.0f%%\n", res->cpu_rx);
	ret = 0;
out:
	ep_close(&p.a);
	tp_stop_receiver(&t);
	ep_close(&p.b);
	fflush(stdout);
	return ret;
}

/* ---- latency ------------------------------------------------------------------------ */

/*
 * Latency twice: as the scheduler places the two processes, and with this
 * process and the relay pinned to one CPU. In a VM a round trip that wakes
 * an idle vCPU at every hop costs tens of microseconds more (measured on
 * the reference machine: relay UDP median 35-110 us spread against a
 * steady ~40 us pinned), which says nothing about the relay; the pinned
 * figure is the relay's own cost, the other what a quiet host sees.
 */
static int pin(pid_t relay, const cpu_set_t *set)
{
	if (sched_setaffinity(0, sizeof(*set), set) != 0)
		return -CN_EIO;
	if (relay > 0 && sched_setaffinity(relay, sizeof(*set), set) != 0)
		return -CN_EIO;
	return 0;
}

static int run_latency(struct bench *bn, enum path_kind kind, bool pinned);

static int run_latency_pinned(struct bench *bn, enum path_kind kind)
{
	cpu_set_t all, one;
	int cpu, ret;

	if (sched_getaffinity(0, sizeof(all), &all) != 0)
		return -CN_EIO;
	for (cpu = 0; cpu < CPU_SETSIZE && !CPU_ISSET(cpu, &all); cpu++)
		;
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	if (pin(bn->pid, &one) != 0) {
		pin(bn->pid, &all);
		printf("%s: cannot pin to one CPU: %s\n", path_names[kind], strerror(errno));
		return -CN_EIO;
	}
	ret = run_latency(bn, kind, true);
	pin(bn->pid, &all);
	return ret;
}

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return a < b ? -1 : a > b;
}

/* One round trip: false if it did not come back within timeout_ms. */
static bool ping_once(struct bench *bn, struct path *p, uint64_t seq, unsigned int timeout_ms,
		      double *rtt_us)
{
	uint8_t pkt[PING_LEN];
	uint64_t t0, end;

	memset(pkt, 0, sizeof(pkt));
	memcpy(pkt, &seq, sizeof(seq));
	t0 = mono_ns();
	end = t0 + (uint64_t)timeout_ms * 1000000;
	if (ep_send(&p->a, pkt, sizeof(pkt)) != 0)
		return false;
	while (p->a.last_seq != seq && !interrupted && mono_ns() < end)
		event_base_loop(bn->base, EVLOOP_ONCE);
	if (p->a.last_seq != seq)
		return false;
	*rtt_us = (double)(mono_ns() - t0) / 1000;
	return true;
}

static int run_latency(struct bench *bn, enum path_kind kind, bool pinned)
{
	struct lat_result *res = &bn->lat[pinned][kind];
	double *v = calloc(bn->pings, sizeof(*v)), rtt, sum = 0;
	struct path p;
	uint64_t seq = 1;
	unsigned int n = 0, ok = 0;
	double c_all, c_self, c_relay;
	uint64_t t0;
	int ret = -CN_EIO;

	memset(res, 0, sizeof(*res));
	path_init(&p, bn, kind);
	p.b.echo = true;
	loop_for(bn->base, TAI64N_GAP_MS);
	wait_quiet(bn);
	if (!v || path_prepare(&p) != 0 || ep_open(&p.b, bn->base) != 0 ||
	    ep_open(&p.a, bn->base) != 0 || !ep_wait_up(bn->base, &p.a, UP_MS) ||
	    !ep_wait_up(bn->base, &p.b, UP_MS)) {
		printf("%s: endpoints not up: %s %s\n", path_names[kind], p.a.why, p.b.why);
		goto out;
	}
	/* Warm-up; on relay paths also until B is confirmed at the relay. */
	for (unsigned int i = 0; i < WARMUP_PINGS * 4 && ok < WARMUP_PINGS && !interrupted; i++)
		ok += ping_once(bn, &p, seq++, 200, &rtt);
	if (ok < WARMUP_PINGS) {
		printf("%s: round trips do not come back\n", path_names[kind]);
		goto out;
	}
	c_all = system_busy_secs();
	c_self = proc_cpu_secs(getpid());
	c_relay = proc_cpu_secs(bn->pid);
	t0 = mono_us();
	for (unsigned int i = 0; i < bn->pings && !interrupted; i++) {
		if (ping_once(bn, &p, seq++, PING_TIMEOUT_MS, &rtt)) {
			v[n++] = rtt;
			sum += rtt;
		} else {
			res->lost++;
		}
	}
	res->cpu_other = 100 *
			 ((system_busy_secs() - c_all) - (proc_cpu_secs(getpid()) - c_self) -
			  (proc_cpu_secs(bn->pid) - c_relay)) /
			 ((double)(mono_us() - t0) / 1e6);
	if (res->cpu_other < 0)
		res->cpu_other = 0;
	if (n == 0)
		goto out;
	qsort(v, n, sizeof(*v), cmp_double);
	res->n = n;
	res->min = v[0];
	res->max = v[n - 1];
	res->p50 = v[(n - 1) / 2];
	res->p99 = v[(size_t)((double)n * 0.99 + 0.999999) - 1];
	res->mean = sum / n;
	res->done = !interrupted;
	printf("# latency    %-9s%s median %7.1f us  p99 %7.1f us  min %7.1f  max %8.1f  "
	       "lost %u of %u; other processes %.0f%% CPU\n",
	       path_names[kind], pinned ? " (1 CPU)" : "", res->p50, res->p99, res->min, res->max,
	       res->lost, bn->pings, res->cpu_other);
	if (p.b.echo_fail)
		printf("#   B could not send %" PRIu64 " echoes\n", p.b.echo_fail);
	ret = 0;
out:
	ep_close(&p.a);
	ep_close(&p.b);
	free(v);
	fflush(stdout);
	return ret;
}

/* ---- memory per idle link --------------------------------------------------------------- */

struct mass;

struct mclient {
	struct mass *m;
	struct cn_relay_client *c;
	bool up, down;
};

struct mass {
	struct bench *bn;
	struct mclient *cl;
	bool udp;
	size_t nup, nfailed, outstanding;
	char why[256];
};

static void m_up(struct cn_relay_client *c, void *arg)
{
	struct mclient *mc = arg;

	(void)c;
	if (mc->up || mc->down)
		return;
	mc->up = true;
	mc->m->nup++;
	mc->m->outstanding--;
}

static void m_down(struct cn_relay_client *c, void *arg, const char *why)
{
	struct mclient *mc = arg;

	(void)c;
	if (mc->down)
		return;
	if (mc->up)
		mc->m->nup--;
	else
		mc->m->outstanding--;
	mc->up = false;
	mc->down = true;
	mc->m->nfailed++;
	if (!mc->m->why[0])
		snprintf(mc->m->why, sizeof(mc->m->why), "%s", why);
}

static void m_msg(struct cn_relay_client *c, void *arg, const struct cn_link_msg *msg)
{
	(void)c;
	(void)arg;
	(void)msg;
}

static const struct cn_relay_client_cbs m_cbs = {m_up, m_down, m_msg, NULL};

/*
 * Opens links from..to-1, at most HS_OUTSTANDING handshakes at a time (so
 * the relay's pending count stays far below its cap), and waits until all
 * are up or failed. *secs: first initiation to last answer.
 */
static int mass_open(struct mass *m, size_t from, size_t to, double *secs)
{
	struct bench *bn = m->bn;
	struct cn_relay_client_opts o = {.network = NETWORK, .udp = m->udp};
	struct cn_errbuf e = {{0}};
	uint64_t t0 = mono_us(), deadline = t0 + (uint64_t)LINKS_WAIT_MS * 1000;
	char addr[CN_ADDR_TEXT_MAX];

	memcpy(o.relay_key, bn->relay_id->ed_pk, CN_KEY_LEN);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", bn->port);
	if (cn_addr_parse(addr, &o.addr) != 0)
		return -CN_EINVAL;
	for (size_t i = from; i < to && !interrupted; i++) {
		struct mclient *mc = &m->cl[i];

		while (m->outstanding >= HS_OUTSTANDING && !interrupted && mono_us() < deadline)
			event_base_loop(bn->base, EVLOOP_ONCE);
		if (mono_us() >= deadline)
			break;
		o.id = bn->mass[i];
		mc->m = m;
		mc->up = mc->down = false;
		mc->c = cn_relay_client_new(bn->base, &o, &m_cbs, mc, &e);
		if (!mc->c) {
			m->nfailed++;
			if (!m->why[0])
				snprintf(m->why, sizeof(m->why), "%s", e.msg);
			continue;
		}
		m->outstanding++;
		if ((i & 31) == 0)
			event_base_loop(bn->base, EVLOOP_NONBLOCK);
	}
	while (m->outstanding > 0 && !interrupted && mono_us() < deadline)
		event_base_loop(bn->base, EVLOOP_ONCE);
	*secs = (double)(mono_us() - t0) / 1e6;
	return m->outstanding == 0 ? 0 : -CN_EIO;
}

static void mass_close(struct mass *m, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		cn_relay_client_free(m->cl[i].c);
		m->cl[i].c = NULL;
		m->cl[i].up = false;
	}
	m->nup = 0;
	m->outstanding = 0;
}

/* Runs the loop until the relay counts exactly want links of the kind. */
static int wait_relay_links(struct bench *bn, bool udp, size_t want, uint64_t *have)
{
	uint64_t end = mono_us() + (uint64_t)RELAY_COUNT_WAIT_MS * 1000;
	struct relay_stats s;

	*have = UINT64_MAX;
	while (!interrupted && mono_us() < end) {
		if (relay_stats(bn, &s) == 0) {
			*have = udp ? s.links_udp : s.links_tcp;
			if (*have == want && s.pending == 0)
				return 0;
		}
		loop_for(bn->base, 100);
	}
	return -CN_EIO;
}

/* Settles, then reads the relay's VmRSS. */
static long settled_rss(struct bench *bn)
{
	loop_for(bn->base, SETTLE_MS);
	return proc_rss_kib(bn->pid);
}

static int mem_step(struct bench *bn, struct mass *m, size_t from, size_t to, double *secs,
		    double *cpu, long *rss)
{
	double c0;
	uint64_t have;

	wait_quiet(bn);
	c0 = proc_cpu_secs(bn->pid);
	if (mass_open(m, from, to, secs) != 0 || m->nup != to) {
		printf("%s links: %zu of %zu up, %zu failed (%s)\n", m->udp ? "UDP" : "TCP", m->nup,
		       to, m->nfailed, m->why[0] ? m->why : "timeout");
		return -CN_EIO;
	}
	if (wait_relay_links(bn, m->udp, to, &have) != 0) {
		printf("relay counts %" PRIu64 " %s links, expected %zu\n", have,
		       m->udp ? "UDP" : "TCP", to);
		return -CN_EIO;
	}
	*cpu = proc_cpu_secs(bn->pid) - c0;
	*rss = settled_rss(bn);
	printf("# memory %s: %zu links up in %.2f s (%.0f handshakes/s, relay cpu %.2f s), "
	       "relay VmRSS %ld KiB\n",
	       m->udp ? "UDP" : "TCP", to, *secs, (double)(to - from) / *secs, *cpu, *rss);
	fflush(stdout);
	return 0;
}

static int run_memory(struct bench *bn, bool udp)
{
	struct mem_result *res = udp ? &bn->mem_udp : &bn->mem_tcp;
	struct mass m = {.bn = bn, .udp = udp};
	struct relay_stats s;
	size_t n2 = bn->nlinks, n1 = n2 > FIRST_STEP ? FIRST_STEP : n2;
	double cpu;
	uint64_t have;
	int ret = -CN_EIO;

	memset(res, 0, sizeof(*res));
	m.cl = calloc(n2 ? n2 : 1, sizeof(*m.cl));
	if (!m.cl)
		return -CN_ENOMEM;
	if (relay_start(bn) != 0)
		goto out;
	res->n1 = n1;
	res->n2 = n2;
	res->rss0 = settled_rss(bn);
	printf("# memory %s: fresh relay, VmRSS %ld KiB\n", udp ? "UDP" : "TCP", res->rss0);
	if (mem_step(bn, &m, 0, n1, &res->secs1, &res->relay_cpu1, &res->rss1) != 0)
		goto out;
	if (n2 > n1 && mem_step(bn, &m, n1, n2, &res->secs2, &res->relay_cpu2, &res->rss2) != 0)
		goto out;
	if (n2 == n1)
		res->rss2 = res->rss1;
	res->done = true;
	if (!udp) {
		/* Close all, then open as many again: growth here would be a leak. */
		mass_close(&m, n2);
		if (wait_relay_links(bn, false, 0, &have) != 0) {
			printf("relay still counts %" PRIu64 " TCP links after closing all\n",
			       have);
			goto out;
		}
		res->rss_closed = settled_rss(bn);
		printf("# memory TCP: all closed, relay VmRSS %ld KiB\n", res->rss_closed);
		if (mem_step(bn, &m, 0, n2, &res->secs_reopen, &cpu, &res->rss_reopen) != 0)
			goto out;
		res->reopened = true;
	}
	ret = 0;
out:
	if (bn->pid > 0 && relay_stats(bn, &s) == 0)
		printf("# memory %s: relay counted %" PRIu64
		       " handshakes; refused: rate-limited %" PRIu64 ", pending full %" PRIu64
		       ", TCP at a limit %" PRIu64 "\n",
		       udp ? "UDP" : "TCP", s.handshakes, s.hs_ratelimited, s.hs_pending_full,
		       s.tcp_refused);
	res->failed = m.nfailed;
	snprintf(res->why, sizeof(res->why), "%s", m.why);
	mass_close(&m, n2);
	if (bn->pid > 0 && relay_alive(bn)) {
		/* Leave the relay a moment to see the links go, for a clean log. */
		loop_for(bn->base, 200);
		relay_finish(bn);
	}
	free(m.cl);
	return ret;
}

/* ---- report ------------------------------------------------------------------------------ */

static void print_ratio(double x, double base)
{
	if (base > 0 && x > 0)
		printf(" %8.2fx", x / base);
	else
		printf(" %9s", "-");
}

static void report(const struct bench *bn)
{
	struct utsname u;
	const struct mem_result *mems[2] = {&bn->mem_tcp, &bn->mem_udp};

	uname(&u);
	printf("\n==== cairn-relay benchmark (127.0.0.1; %ld CPUs; Linux %s; Release) ====\n",
	       sysconf(_SC_NPROCESSORS_ONLN), u.release);
	printf("relay: %s; receiver B %s; open files limit %llu\n", bn->relay_bin,
	       bn->split ? "in a forked process" : "in the sender's process and loop",
	       (unsigned long long)bn->nofile);

	printf("\nThroughput: %d-byte payloads A -> B, %u s per run, window %u packets\n", PKT_LEN,
	       bn->seconds, bn->window);
	printf("  %-10s %10s %9s %8s %10s %7s %9s %7s %9s\n", "path", "pkt/s", "Mbit/s", "loss",
	       "sent", "relay", "bench", "other", "vs plain");
	printf("  %-10s %10s %9s %8s %10s %7s %9s %7s %9s\n", "", "", "payload", "", "", "CPU",
	       bn->split ? "A CPU" : "A+B CPU", "CPU", "pkt/s");
	for (int k = 0; k < NPATHS; k++) {
		const struct tp_result *r = &bn->tp[k];
		const struct tp_result *base = &bn->tp[k == PATH_RELAY_UDP   ? PATH_PLAIN_UDP
						       : k == PATH_RELAY_TCP ? PATH_PLAIN_TCP
									     : k];
		bool relay = k == PATH_RELAY_UDP || k == PATH_RELAY_TCP;

		if (!r->done) {
			printf("  %-10s   (not measured)\n", path_names[k]);
			continue;
		}
		printf("  %-10s %10.0f %9.1f %7.3f%% %10" PRIu64, path_names[k], r->pps, r->mbps,
		       r->sent ? 100.0 * (double)r->lost / (double)r->sent : 0.0, r->sent);
		if (relay)
			printf(" %6.0f%%", r->cpu_relay);
		else
			printf(" %7s", "-");
		printf(" %8.0f%% %6.0f%%", r->cpu_bench, r->cpu_other);
		if (relay)
			print_ratio(r->pps, base->done ? base->pps : 0);
		printf("\n");
	}
	if (bn->split) {
		printf("  receiver process CPU:");
		for (int k = 0; k < NPATHS; k++)
			if (bn->tp[k].done)
				printf(" %s %.0f%%", path_names[k], bn->tp[k].cpu_rx);
		printf("\n");
	}

	printf("\nLatency: round trip A -> B -> A, %d-byte packets, %u pings (B echoes)\n",
	       PING_LEN, bn->pings);
	printf("  %-10s %5s %9s %9s %9s %9s %9s %6s %6s %16s\n", "path", "CPUs", "median us",
	       "p99 us", "min us", "mean us", "max us", "lost", "other", "vs plain");
	printf("  %-10s %5s %9s %9s %9s %9s %9s %6s %6s %16s\n", "", "", "", "", "", "", "", "",
	       "CPU", "median / p99");
	for (int pinned = 0; pinned < 2; pinned++) {
		for (int k = 0; k < NPATHS; k++) {
			const struct lat_result *r = &bn->lat[pinned][k];
			const struct lat_result *base =
				&bn->lat[pinned][k == PATH_RELAY_UDP   ? PATH_PLAIN_UDP
						 : k == PATH_RELAY_TCP ? PATH_PLAIN_TCP
								       : k];

			if (!r->done) {
				printf("  %-10s %5s   (not measured)\n", path_names[k],
				       pinned ? "1" : "any");
				continue;
			}
			printf("  %-10s %5s %9.1f %9.1f %9.1f %9.1f %9.1f %6u %5.0f%%",
			       path_names[k], pinned ? "1" : "any", r->p50, r->p99, r->min, r->mean,
			       r->max, r->lost, r->cpu_other);
			if ((k == PATH_RELAY_UDP || k == PATH_RELAY_TCP) && base->done)
				printf("  %6.2fx / %5.2fx", r->p50 / base->p50, r->p99 / base->p99);
			printf("\n");
		}
	}
	printf("  (CPUs 1: this process and the relay pinned to one CPU, no idle-CPU wakeups)\n");

	printf("\nMemory: cairn-relay VmRSS per idle authenticated link (fresh relay per "
	       "transport)\n");
	if (!bn->memory) {
		printf("  (skipped)\n");
	} else {
		printf("  %-5s %7s %12s %12s %10s %14s %14s\n", "link", "links", "RSS before",
		       "RSS after", "KiB/link", "open time", "handshakes/s");
		for (int i = 0; i < 2; i++) {
			const struct mem_result *r = mems[i];
			const char *kind = i ? "UDP" : "TCP";

			if (!r->done) {
				printf("  %-5s   (not measured%s%s)\n", kind, r->why[0] ? ": " : "",
				       r->why);
				continue;
			}
			printf("  %-5s %7zu %8ld KiB %8ld KiB %10.2f %12.2f s %14.0f\n", kind,
			       r->n1, r->rss0, r->rss1, (double)(r->rss1 - r->rss0) / (double)r->n1,
			       r->secs1, (double)r->n1 / r->secs1);
			if (r->n2 > r->n1) {
				printf("  %-5s %7zu %8ld KiB %8ld KiB %10.2f %12.2f s %14.0f\n",
				       kind, r->n2, r->rss0, r->rss2,
				       (double)(r->rss2 - r->rss0) / (double)r->n2,
				       r->secs1 + r->secs2, (double)r->n2 / (r->secs1 + r->secs2));
				printf("  %-5s   marginal %zu -> %zu: %.2f KiB/link, %.0f "
				       "handshakes/s "
				       "(first %zu: %.0f/s); relay CPU %.2f s + %.2f s\n",
				       kind, r->n1, r->n2,
				       (double)(r->rss2 - r->rss1) / (double)(r->n2 - r->n1),
				       (double)(r->n2 - r->n1) / r->secs2, r->n1,
				       (double)r->n1 / r->secs1, r->relay_cpu1, r->relay_cpu2);
			}
			if (r->reopened)
				printf("  %-5s   all %zu closed: %ld KiB; %zu opened again: %ld "
				       "KiB "
				       "(%+ld KiB vs the first %zu, %.2f s)\n",
				       kind, r->n2, r->rss_closed, r->n2, r->rss_reopen,
				       r->rss_reopen - r->rss2, r->n2, r->secs_reopen);
		}
	}
	if (bn->memory)
		printf("  (the first links reuse heap the relay freed after loading the peer list, "
		       "so the\n   marginal figure is the cost of one more link; kernel socket "
		       "memory is not in VmRSS)\n");
	printf("\nPeer list: %zu link peers + A + B + relay = %zu bytes signed", bn->list_fit,
	       bn->list_bytes);
	printf("; %u link peers would need %zu bytes; CN_PEERLIST_MAX_BYTES is %d\n", bn->links,
	       bn->list_need, CN_PEERLIST_MAX_BYTES);
	if (bn->list_fit < bn->links)
		printf("  -> the memory run used %zu links, not %u: raise CN_PEERLIST_MAX_BYTES "
		       "to at least %zu\n",
		       bn->nlinks, bn->links, bn->list_need);
	fflush(stdout);
}

/* ---- main ----------------------------------------------------------------------------------- */

static const char usage[] =
	"usage: relay_bench [options]\n"
	"\n"
	"Benchmarks cairn-relay on 127.0.0.1: throughput and latency through the relay\n"
	"against plain sockets, and the relay's memory per idle authenticated link.\n"
	"Prints figures; never passes or fails on them.\n"
	"\n"
	"  -t, --seconds N   seconds per throughput run (default 5)\n"
	"  -p, --pings N     round trips per latency run (default 1000)\n"
	"  -n, --links N     idle links for the memory run (default 10000)\n"
	"  -w, --window N    packets in flight in throughput runs (default 128)\n"
	"      --split       receiver B in a forked process (default: same loop as A)\n"
	"      --no-throughput, --no-latency, --no-memory\n"
	"                    skip that part\n"
	"  -q, --wait-quiet S  before each run, wait up to S seconds for other processes\n"
	"                    to go quiet (shared machines; default 0: do not wait)\n"
	"  -r, --relay PATH  the cairn-relay binary (default: the one built with this)\n"
	"  -h, --help\n";

static int parse_uint(const char *s, unsigned int min, unsigned int max, unsigned int *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || end == s || v < min || v > max)
		return -CN_EINVAL;
	*out = (unsigned int)v;
	return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"seconds", required_argument, NULL, 't'},
		{"pings", required_argument, NULL, 'p'},
		{"links", required_argument, NULL, 'n'},
		{"window", required_argument, NULL, 'w'},
		{"split", no_argument, NULL, 'S'},
		{"no-memory", no_argument, NULL, 'M'},
		{"no-throughput", no_argument, NULL, 'T'},
		{"no-latency", no_argument, NULL, 'L'},
		{"wait-quiet", required_argument, NULL, 'q'},
		{"relay", required_argument, NULL, 'r'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct bench bn = {.seconds = DEFAULT_SECONDS,
			   .pings = DEFAULT_PINGS,
			   .links = DEFAULT_LINKS,
			   .window = DEFAULT_WINDOW,
			   .throughput = true,
			   .latency = true,
			   .memory = true,
			   .relay_bin = CN_RELAY_BIN};
	struct timeval tv = {0, TICK_US};
	struct cn_errbuf e = {{0}};
	struct sigaction sa;
	uint64_t t0;
	int c, ret = 1;

	while ((c = getopt_long(argc, argv, "t:p:n:w:q:r:h", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			if (parse_uint(optarg, 1, 600, &bn.seconds))
				goto bad;
			break;
		case 'p':
			if (parse_uint(optarg, 10, 1000000, &bn.pings))
				goto bad;
			break;
		case 'n':
			if (parse_uint(optarg, 1, CN_PEERLIST_MAX_PEERS - 2, &bn.links))
				goto bad;
			break;
		case 'w':
			if (parse_uint(optarg, 1, 65536, &bn.window))
				goto bad;
			break;
		case 'q':
			if (parse_uint(optarg, 0, 3600, &bn.quiet_wait))
				goto bad;
			break;
		case 'S':
			bn.split = true;
			break;
		case 'M':
			bn.memory = false;
			break;
		case 'T':
			bn.throughput = false;
			break;
		case 'L':
			bn.latency = false;
			break;
		case 'r':
			bn.relay_bin = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			goto bad;
		}
	}
	if (optind != argc)
		goto bad;
	if (sodium_init() < 0) {
		fprintf(stderr, "cannot initialise libsodium\n");
		return 1;
	}
	if (access(bn.relay_bin, X_OK) != 0) {
		fprintf(stderr, "%s: %s (build cairn-relay or pass --relay)\n", bn.relay_bin,
			strerror(errno));
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	cn_log_set_level(CN_LOG_WARN);
	signal(SIGPIPE, SIG_IGN);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	/*
	 * cairn-relay raises its soft limit for max_connections, but only up to
	 * the hard limit it inherits from here: raise both as far as allowed.
	 */
	bn.nofile = raise_nofile();
	snprintf(bn.dir, sizeof(bn.dir), "/tmp/cn_relay_bench.XXXXXX");
	if (!mkdtemp(bn.dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(bn.conf_path, sizeof(bn.conf_path), "%s/relay.conf", bn.dir);
	snprintf(bn.log_path, sizeof(bn.log_path), "%s/relay.log", bn.dir);
	snprintf(bn.list_path, sizeof(bn.list_path), "%s/peers.conf", bn.dir);
	snprintf(bn.key_path, sizeof(bn.key_path), "%s/relay.key", bn.dir);

	t0 = mono_us();
	if (cn_identity_generate(&bn.root) || cn_identity_generate(&bn.relay_id) ||
	    cn_identity_generate(&bn.a_id) || cn_identity_generate(&bn.b_id) ||
	    cn_keyfile_write(bn.key_path, bn.relay_id, false, &e)) {
		printf("keys: %s\n", e.msg[0] ? e.msg : "cannot generate");
		goto out;
	}
	/* Each memory link holds one descriptor here and one in the relay. */
	if (bn.memory) {
		size_t fds = bn.nofile > FD_RESERVE ? (size_t)bn.nofile - FD_RESERVE : 0;

		if (mass_identities(&bn, bn.links < fds ? bn.links : fds) != 0) {
			printf("cannot derive %u identities\n", bn.links);
			goto out;
		}
	}
	if (write_peer_list(&bn, &e) != 0) {
		printf("peer list: %s\n", e.msg);
		goto out;
	}
	bn.nlinks = bn.list_fit;
	printf("# setup: %zu link identities and a %zu-byte signed peer list in %.2f s (%s)\n",
	       bn.nmass, bn.list_bytes, (double)(mono_us() - t0) / 1e6, bn.dir);
	if (bn.memory && bn.nlinks < bn.links)
		printf("# NOTE: %u link peers need a %zu-byte peer list; CN_PEERLIST_MAX_BYTES "
		       "is %d, so the memory run uses %zu links\n",
		       bn.links, bn.list_need, CN_PEERLIST_MAX_BYTES, bn.nlinks);

	bn.base = event_base_new();
	bn.tick = bn.base ? event_new(bn.base, -1, EV_PERSIST, tick_cb, NULL) : NULL;
	if (!bn.tick || event_add(bn.tick, &tv) != 0) {
		printf("cannot set up the event loop\n");
		goto out;
	}

	if ((bn.throughput || bn.latency) && relay_start(&bn) != 0)
		goto out;
	for (int k = 0; k < NPATHS && bn.throughput && !interrupted; k++)
		if (run_throughput(&bn, (enum path_kind)k) != 0 && !relay_alive(&bn))
			goto out;
	for (int k = 0; k < NPATHS && bn.latency && !interrupted; k++)
		if (run_latency(&bn, (enum path_kind)k, false) != 0 && !relay_alive(&bn))
			goto out;
	for (int k = 0; k < NPATHS && bn.latency && !interrupted; k++)
		if (run_latency_pinned(&bn, (enum path_kind)k) != 0 && !relay_alive(&bn))
			goto out;
	if (bn.pid > 0)
		relay_finish(&bn);

	if (bn.memory && !interrupted && bn.nlinks > 0) {
		run_memory(&bn, false);
		if (!interrupted)
			run_memory(&bn, true);
	}
	report(&bn);
	ret = interrupted ? 130 : 0;
out:
	relay_stop(&bn);
	if (bn.tick)
		event_free(bn.tick);
	if (bn.base)
		event_base_free(bn.base);
	for (size_t i = 0; i < bn.nmass; i++)
		cn_identity_free(bn.mass[i]);
	free(bn.mass);
	cn_identity_free(bn.root);
	cn_identity_free(bn.relay_id);
	cn_identity_free(bn.a_id);
	cn_identity_free(bn.b_id);
	nftw(bn.dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return ret;
bad:
	fputs(usage, stderr);
	return 2;
}
