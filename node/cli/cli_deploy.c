/* SPDX-License-Identifier: MIT */
/*
 * cairn deploy push|rollback|list (docs/DEPLOY.md): the pusher's side of
 * the deploy protocol, with blocking sockets. Targets are peer or group
 * names from the peer list, reached at their overlay addresses: the local
 * cairn-node carries the connection, so this runs on a node. The manifest
 * is signed with the node's identity key; the receiving node checks that
 * the key is the one of the overlay address the connection comes from.
 *
 * Group pushes fork one child per member, at most --parallel at a time;
 * each reports a fixed-size record through a pipe. A single push runs in
 * this process, so killing it stops the transfer (the node keeps what
 * arrived for the next attempt to resume).
 */
#include "node/cli/cli.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "common/clock.h"
#include "common/file.h"
#include "crypto/keys.h"
#include "crypto/peerlist.h"
#include "deploy/manifest.h"
#include "deploy/proto.h"

#define DEFAULT_KEY  "/etc/cairn/node.key"
#define DEFAULT_LIST "/etc/cairn/peers.conf"

enum {
	CONNECT_TIMEOUT_MS = 10000,
	IO_TIMEOUT_MS = 60000,
	MAX_TARGETS = 1024,
	CHUNK = CN_DPROTO_DATA_MAX,
};

static const char usage[] =
	"usage: cairn deploy push TARGET FILE [--name APP] [--version V] [--activate]\n"
	"                    [--parallel N] [--keep-going] [--rate-limit KBPS]\n"
	"       cairn deploy rollback TARGET APP [--to VERSION]\n"
	"       cairn deploy list TARGET [APP]\n"
	"\n"
	"TARGET is a peer name or a group name from the peer list (also as\n"
	"NAME.DOMAIN or GROUP.group.DOMAIN). Runs on a node: connections go to the\n"
	"targets' overlay addresses through the local cairn-node.\n"
	"\n"
	"Options:\n"
	"  --name APP        application name (default: FILE's name up to the first '.')\n"
	"  --version V       version (default: the first 12 hex digits of the BLAKE2b hash)\n"
	"  --activate        make it current and run the node's activation hook\n"
	"  --parallel N      group pushes: members at a time (default 1)\n"
	"  --keep-going      group pushes: do not stop at the first failure\n"
	"  --rate-limit KBPS send at most KBPS kilobytes per second\n"
	"  --to VERSION      rollback: this version (default: the one before current)\n"
	"  --key FILE        identity key (default " DEFAULT_KEY ")\n"
	"  --list FILE       peer list (default " DEFAULT_LIST ")\n"
	"  --port PORT       deploy port on the nodes (default 7946)\n"
	"  --timeout S       seconds to wait for a node's result (default 300)\n"
	"\n"
	"Exit status: 0 when every target succeeded, 1 otherwise, 2 usage.\n";

struct opts {
	const char *key, *list, *name, *version, *to;
	bool activate, keep_going;
	unsigned int parallel, port, timeout_s;
	uint64_t rate; /* bytes per second, 0 = unlimited */
};

struct target {
	char name[CN_NAME_MAX + 1];
	uint8_t ip4[4];
};

/* What one push reports (also through a pipe from a child). */
struct outcome {
	bool done; /* a RESULT arrived */
	bool ok;
	uint8_t status;
	bool hook_ran;
	int32_t hook_exit;
	uint64_t resumed_at;
	double secs;
	char msg[CN_DPROTO_MSG_MAX + 1];
};

struct job {
	const struct opts *o;
	const char *path;
	int fd;
	uint64_t size;
	const uint8_t *manifest;
	size_t manifest_len;
	struct cn_deploy_manifest m;
	bool bar; /* a progress bar (terminal, one push at a time) */
};

static double now_s(void)
{
	return (double)cn_clock_us() / 1e6;
}

/* ---- sockets ------------------------------------------------------------------------------- */

static int dial(const struct target *t, unsigned int port, char *err, size_t cap)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	struct pollfd pfd;
	struct timeval tv = {IO_TIMEOUT_MS / 1000, 0};
	socklen_t sl = sizeof(int);
	int fd, soerr = 0, flags;

	memcpy(&sin.sin_addr, t->ip4, 4);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(err, cap, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 && errno != EINPROGRESS) {
		snprintf(err, cap, "connect: %s", strerror(errno));
		goto fail;
	}
	pfd.fd = fd;
	pfd.events = POLLOUT;
	if (poll(&pfd, 1, CONNECT_TIMEOUT_MS) != 1) {
		snprintf(err, cap, "connect: no answer in %d s (node down?)",
			 CONNECT_TIMEOUT_MS / 1000);
		goto fail;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr != 0) {
		snprintf(err, cap, "connect: %s", strerror(soerr ? soerr : errno));
		goto fail;
	}
	flags = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
fail:
	close(fd);
	return -1;
}

static int send_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n > 0) {
		ssize_t w = send(fd, b, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

static int recv_all(int fd, uint8_t *p, size_t n, int timeout_ms)
{
	while (n > 0) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		ssize_t r;

		if (poll(&pfd, 1, timeout_ms) != 1) {
			errno = ETIMEDOUT;
			return -1;
		}
		r = recv(fd, p, n, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = ECONNRESET;
			return -1;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* Reads one frame into buf (CN_DPROTO_FRAME_MAX); payload at buf + CN_DPROTO_HDR. */
static int recv_frame(int fd, uint8_t *buf, uint8_t *type, size_t *plen, int timeout_ms, char *err,
		      size_t cap)
{
	int ret;

	if (recv_all(fd, buf, CN_DPROTO_HDR, timeout_ms) != 0) {
		snprintf(err, cap, "%s",
			 errno == ETIMEDOUT ? "no answer (timeout)"
					    : "connection closed by the node");
		return -1;
	}
	ret = cn_dproto_peek(buf, CN_DPROTO_HDR, type, plen);
	if (ret && ret != -CN_ESHORT) {
		snprintf(err, cap, "bad frame from the node");
		return -1;
	}
	if (recv_all(fd, buf + CN_DPROTO_HDR, *plen, timeout_ms) != 0) {
		snprintf(err, cap, "connection closed mid-frame");
		return -1;
	}
	return 0;
}

/* ---- progress ------------------------------------------------------------------------------ */

static void human(double v, char *out, size_t cap)
{
	if (v >= 1 << 30)
		snprintf(out, cap, "%.1f GiB", v / (1 << 30));
	else if (v >= 1 << 20)
		snprintf(out, cap, "%.1f MiB", v / (1 << 20));
	else if (v >= 1 << 10)
		snprintf(out, cap, "%.1f KiB", v / (1 << 10));
	else
		snprintf(out, cap, "%.0f B", v);
}

struct progress {
	const char *name;
	bool bar;
	uint64_t total, base;
	double start, last;
	int last_tenth;
};

static void progress(struct progress *p, uint64_t done, bool final)
{
	double t = now_s(), el = t - p->start, rate;
	char a[32], b[32], r[32], eta[32] = "-";
	int tenth = p->total ? (int)(done * 10 / p->total) : 10;

	if (!final && (p->bar ? t - p->last < 0.2 : tenth == p->last_tenth))
		return;
	p->last = t;
	p->last_tenth = tenth;
	rate = el > 0 ? (double)(done - p->base) / el : 0;
	human((double)done, a, sizeof(a));
	human((double)p->total, b, sizeof(b));
	human(rate, r, sizeof(r));
	if (rate > 0 && done < p->total) {
		uint64_t s = (uint64_t)((double)(p->total - done) / rate);

		snprintf(eta, sizeof(eta), "%" PRIu64 ":%02" PRIu64, s / 60, s % 60);
	}
	if (p->bar) {
		char bar[31];
		int fill = p->total ? (int)(done * 30 / p->total) : 30;

		for (int i = 0; i < 30; i++)
			bar[i] = i < fill ? '#' : '.';
		bar[30] = '\0';
		fprintf(stderr, "\r%s [%s] %3d%% %s/%s %s/s ETA %s\033[K", p->name, bar,
			p->total ? (int)(done * 100 / p->total) : 100, a, b, r, eta);
		if (final)
			fputc('\n', stderr);
	} else {
		fprintf(stderr, "%s: %3d%% %s of %s, %s/s, ETA %s\n", p->name,
			p->total ? (int)(done * 100 / p->total) : 100, a, b, r, eta);
	}
}

/* ---- one node ------------------------------------------------------------------------------ */

static void print_tail(const char *name, const uint8_t *tail, size_t n)
{
	if (!n)
		return;
	fprintf(stderr, "%s: hook output (last %zu bytes):\n", name, n);
	fwrite(tail, 1, n, stderr);
	if (tail[n - 1] != '\n')
		fputc('\n', stderr);
}

/* Reads the RESULT that ends every request into out; prints the hook's output. */
static void read_result(int fd, uint8_t *buf, const struct target *t, int timeout_ms,
			struct outcome *out)
{
	static struct cn_dproto_result r;
	uint8_t type;
	size_t plen;

	if (recv_frame(fd, buf, &type, &plen, timeout_ms, out->msg, sizeof(out->msg)))
		return;
	if (type != CN_DPROTO_RESULT ||
	    cn_dproto_result_decode(buf + CN_DPROTO_HDR, plen, &r) != 0) {
		snprintf(out->msg, sizeof(out->msg), "unexpected answer from the node");
		return;
	}
	out->done = true;
	out->ok = r.status == CN_DSTATUS_OK;
	out->status = r.status;
	out->hook_ran = r.hook_ran;
	out->hook_exit = r.hook_exit;
	snprintf(out->msg, sizeof(out->msg), "%s", r.msg);
	print_tail(t->name, r.tail, r.tail_len);
}

static void push_one(const struct job *j, const struct target *t, struct outcome *out)
{
	uint8_t *buf = malloc(CN_DPROTO_FRAME_MAX);
	struct cn_dproto_push p = {.activate = j->o->activate,
				   .manifest = j->manifest,
				   .manifest_len = j->manifest_len};
	struct progress pr = {.name = t->name, .bar = j->bar, .total = j->size, .last_tenth = -1};
	uint64_t off = 0, sent;
	double t0 = now_s();
	size_t len, plen;
	uint8_t type;
	int fd = -1;

	memset(out, 0, sizeof(*out));
	if (!buf) {
		snprintf(out->msg, sizeof(out->msg), "out of memory");
		return;
	}
	fd = dial(t, j->o->port, out->msg, sizeof(out->msg));
	if (fd < 0)
		goto out;
	if (cn_dproto_push_encode(&p, buf, CN_DPROTO_FRAME_MAX, &len) || send_all(fd, buf, len)) {
		snprintf(out->msg, sizeof(out->msg), "sending the manifest: %s", strerror(errno));
		goto out;
	}
	if (recv_frame(fd, buf, &type, &plen, IO_TIMEOUT_MS, out->msg, sizeof(out->msg)))
		goto out;
	if (type == CN_DPROTO_RESULT) { /* refused before any data */
		static struct cn_dproto_result r;

		if (cn_dproto_result_decode(buf + CN_DPROTO_HDR, plen, &r) == 0) {
			out->done = true;
			out->status = r.status;
			snprintf(out->msg, sizeof(out->msg), "%s", r.msg);
		}
		goto out;
	}
	if (type != CN_DPROTO_ACCEPT || cn_dproto_accept_decode(buf + CN_DPROTO_HDR, plen, &off) ||
	    off > j->size) {
		snprintf(out->msg, sizeof(out->msg), "unexpected answer from the node");
		goto out;
	}
	out->resumed_at = off;
	if (off == j->size)
		fprintf(stderr, "%s: the node has these bytes already\n", t->name);
	else if (off)
		fprintf(stderr, "%s: resuming at byte %" PRIu64 " of %" PRIu64 "\n", t->name, off,
			j->size);
	pr.base = off;
	pr.start = now_s();
	for (sent = off; sent < j->size;) {
		size_t want = j->size - sent < CHUNK ? (size_t)(j->size - sent) : CHUNK;
		ssize_t r = pread(j->fd, buf + CN_DPROTO_HDR, want, (off_t)sent);

		if (r <= 0) {
			snprintf(out->msg, sizeof(out->msg), "reading %s: %s", j->path,
				 r == 0 ? "file shrank" : strerror(errno));
			goto out;
		}
		cn_dproto_header(buf, CN_DPROTO_DATA, (size_t)r);
		if (send_all(fd, buf, CN_DPROTO_HDR + (size_t)r)) {
			snprintf(out->msg, sizeof(out->msg), "sending: %s (run again to resume)",
				 strerror(errno));
			goto out;
		}
		sent += (uint64_t)r;
		progress(&pr, sent, sent == j->size);
		if (j->o->rate) {
			double ahead =
				(double)(sent - off) / (double)j->o->rate - (now_s() - pr.start);

			if (ahead > 0)
				usleep((useconds_t)(ahead * 1e6));
		}
	}
	read_result(fd, buf, t, (int)j->o->timeout_s * 1000, out);
out:
	out->secs = now_s() - t0;
	if (fd >= 0)
		close(fd);
	free(buf);
}

/* ---- targets ------------------------------------------------------------------------------- */

static int load_list(const char *cmd, const char *path, struct cn_peerlist **pl)
{
	struct cn_errbuf e = {{0}};
	char *text = NULL;
	size_t len;
	int ret;

	ret = cn_file_read(path, CN_PEERLIST_MAX_BYTES, &text, &len, &e);
	if (!ret)
		ret = cn_peerlist_parse((const uint8_t *)text, len, pl, &e);
	free(text);
	if (ret)
		return cn_cli_fail(cmd, "%s", e.msg);
	return 0;
}

/* Peer NAME, group NAME, NAME.DOMAIN, NAME.group.DOMAIN. */
static int resolve(const char *cmd, const struct cn_peerlist *pl, const char *arg,
		   struct target **out, size_t *n)
{
	char name[CN_DOMAIN_MAX + 1];
	size_t dl = strlen(pl->domain), al = strlen(arg), count;
	const struct cn_pl_peer *p, **members = NULL;
	bool group_only = false;

	*out = NULL;
	*n = 0;
	snprintf(name, sizeof(name), "%s", arg);
	if (al > dl + 1 && !strcmp(arg + al - dl, pl->domain) && arg[al - dl - 1] == '.') {
		name[al - dl - 1] = '\0';
		if (strlen(name) > 6 && !strcmp(name + strlen(name) - 6, ".group")) {
			name[strlen(name) - 6] = '\0';
			group_only = true;
		}
	}
	p = group_only ? NULL : cn_peerlist_find_name(pl, name);
	if (p) {
		*out = calloc(1, sizeof(**out));
		if (!*out)
			return cn_cli_fail(cmd, "out of memory");
		snprintf((*out)->name, sizeof((*out)->name), "%s", p->name);
		memcpy((*out)->ip4, p->ip4, 4);
		*n = 1;
		return 0;
	}
	members = calloc(MAX_TARGETS, sizeof(*members));
	if (!members)
		return cn_cli_fail(cmd, "out of memory");
	count = cn_peerlist_group_members(pl, name, members, MAX_TARGETS);
	if (count == 0 || count > MAX_TARGETS) {
		free(members);
		return count ? cn_cli_fail(cmd, "group '%s' has over %d members", name, MAX_TARGETS)
			     : cn_cli_fail(cmd, "'%s' is neither a peer nor a group in the list",
					   arg);
	}
	*out = calloc(count, sizeof(**out));
	if (!*out) {
		free(members);
		return cn_cli_fail(cmd, "out of memory");
	}
	for (size_t i = 0; i < count; i++) {
		snprintf((*out)[i].name, sizeof((*out)[i].name), "%s", members[i]->name);
		memcpy((*out)[i].ip4, members[i]->ip4, 4);
	}
	*n = count;
	free(members);
	return 0;
}

/* ---- push ---------------------------------------------------------------------------------- */

static bool default_app(const char *path, char *out, size_t cap)
{
	const char *b = strrchr(path, '/');
	size_t n = 0;

	b = b ? b + 1 : path;
	for (; *b && *b != '.' && n + 1 < cap && n < CN_DEPLOY_APP_MAX; b++) {
		char c = *b;

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		out[n++] = ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) ? c : '-';
	}
	out[n] = '\0';
	while (n > 0 && out[n - 1] == '-')
		out[--n] = '\0';
	return cn_deploy_app_valid(out);
}

static int hash_file(int fd, uint8_t hash[static CN_DEPLOY_HASH_LEN])
{
	crypto_generichash_state st;
	uint8_t *buf = malloc(1 << 16);
	ssize_t r;

	if (!buf)
		return -1;
	crypto_generichash_init(&st, NULL, 0, CN_DEPLOY_HASH_LEN);
	while ((r = read(fd, buf, 1 << 16)) > 0)
		crypto_generichash_update(&st, buf, (size_t)r);
	crypto_generichash_final(&st, hash, CN_DEPLOY_HASH_LEN);
	free(buf);
	return r < 0 ? -1 : 0;
}

static const char *result_word(const struct outcome *o)
{
	if (o->ok)
		return "ok";
	if (o->done)
		return cn_dproto_status_name(o->status);
	return "failed";
}

static void print_table(const struct target *t, const struct outcome *res, const bool *ran,
			size_t n)
{
	printf("\n%-20s %-14s %-9s %-6s %s\n", "NODE", "RESULT", "TIME", "HOOK", "DETAIL");
	for (size_t i = 0; i < n; i++) {
		char tm[16] = "-", hook[16] = "-";

		if (!ran[i]) {
			printf("%-20s %-14s %-9s %-6s %s\n", t[i].name, "skipped", "-", "-",
			       "not started (an earlier member failed; --keep-going to continue)");
			continue;
		}
		snprintf(tm, sizeof(tm), "%.1fs", res[i].secs);
		if (res[i].hook_ran)
			snprintf(hook, sizeof(hook), "%d", (int)res[i].hook_exit);
		printf("%-20s %-14s %-9s %-6s %s\n", t[i].name, result_word(&res[i]), tm, hook,
		       res[i].msg);
	}
}

/* Runs each target in a child, at most o->parallel at once. */
static int push_group(const struct job *j, const struct target *t, size_t n)
{
	struct outcome *res = calloc(n, sizeof(*res));
	bool *ran = calloc(n, sizeof(*ran));
	pid_t *pids = calloc(n, sizeof(*pids));
	int *fds = calloc(n, sizeof(*fds));
	size_t next = 0, running = 0, failed = 0;
	bool stop = false;

	if (!res || !ran || !pids || !fds) {
		free(res);
		free(ran);
		free(pids);
		free(fds);
		return cn_cli_fail("deploy", "out of memory");
	}
	fflush(NULL);
	while ((next < n && !stop) || running > 0) {
		while (next < n && !stop && running < j->o->parallel) {
			int p[2];
			pid_t pid;

			if (pipe2(p, O_CLOEXEC) != 0)
				break;
			pid = fork();
			if (pid == 0) {
				struct outcome o;

				prctl(PR_SET_PDEATHSIG, SIGKILL);
				close(p[0]);
				push_one(j, &t[next], &o);
				if (write(p[1], &o, sizeof(o)) != (ssize_t)sizeof(o))
					_exit(2);
				_exit(0);
			}
			close(p[1]);
			if (pid < 0) {
				close(p[0]);
				break;
			}
			pids[next] = pid;
			fds[next] = p[0];
			ran[next] = true;
			fprintf(stderr, "%s: pushing\n", t[next].name);
			next++;
			running++;
		}
		if (running == 0)
			break;
		{
			int status;
			pid_t pid = wait(&status);

			if (pid < 0)
				break;
			for (size_t i = 0; i < n; i++) {
				if (!ran[i] || pids[i] != pid)
					continue;
				if (read(fds[i], &res[i], sizeof(res[i])) !=
				    (ssize_t)sizeof(res[i]))
					snprintf(res[i].msg, sizeof(res[i].msg),
						 "push process died");
				close(fds[i]);
				pids[i] = 0;
				running--;
				fprintf(stderr, "%s: %s: %s\n", t[i].name, result_word(&res[i]),
					res[i].msg);
				if (!res[i].ok) {
					failed++;
					stop = !j->o->keep_going;
				}
			}
		}
	}
	for (size_t i = next; i < n; i++)
		failed++;
	print_table(t, res, ran, n);
	free(res);
	free(ran);
	free(pids);
	free(fds);
	return failed ? CN_EXIT_FAIL : CN_EXIT_OK;
}

static int cmd_push(const struct opts *o, const char *target, const char *file)
{
	struct cn_identity *id = NULL;
	struct cn_peerlist *pl = NULL;
	struct target *t = NULL;
	struct cn_errbuf e = {{0}};
	uint8_t manifest[CN_DEPLOY_MANIFEST_MAX];
	char hex[CN_DEPLOY_HASH_HEX_LEN + 1], sz[32];
	struct job j = {.o = o, .path = file, .fd = -1, .manifest = manifest};
	struct stat st;
	size_t n = 0;
	int ret = CN_EXIT_FAIL;

	if (o->name ? !cn_deploy_app_valid(o->name) : !default_app(file, j.m.app, sizeof(j.m.app)))
		return cn_cli_usage_error("deploy",
					  "app name '%s' is not [a-z0-9-]{1,63}; use --name",
					  o->name ? o->name : j.m.app);
	if (o->name)
		snprintf(j.m.app, sizeof(j.m.app), "%s", o->name);
	if (o->version && !cn_deploy_version_valid(o->version))
		return cn_cli_usage_error("deploy",
					  "version '%s' is not [A-Za-z0-9._+-]{1,64} (not starting "
					  "with '.' or '-')",
					  o->version);
	j.fd = open(file, O_RDONLY | O_CLOEXEC);
	if (j.fd < 0 || fstat(j.fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		cn_cli_fail("deploy", "%s: %s", file, j.fd < 0 ? strerror(errno) : "not a file");
		goto out;
	}
	if (st.st_size <= 0 || (uint64_t)st.st_size > CN_DEPLOY_SIZE_MAX) {
		cn_cli_fail("deploy", "%s: size must be 1 byte to 64 GiB", file);
		goto out;
	}
	if (cn_keyfile_read(o->key, &id, &e)) {
		cn_cli_fail("deploy", "%s", e.msg);
		goto out;
	}
	if (load_list("deploy", o->list, &pl) || resolve("deploy", pl, target, &t, &n))
		goto out;
	j.size = (uint64_t)st.st_size;
	if (hash_file(j.fd, j.m.hash)) {
		cn_cli_fail("deploy", "reading %s: %s", file, strerror(errno));
		goto out;
	}
	cn_deploy_hash_hex(j.m.hash, hex);
	if (o->version)
		snprintf(j.m.version, sizeof(j.m.version), "%s", o->version);
	else
		snprintf(j.m.version, sizeof(j.m.version), "%.12s", hex);
	j.m.size = j.size;
	j.m.time = (int64_t)time(NULL);
	if (cn_deploy_manifest_sign(&j.m, id, manifest, sizeof(manifest), &j.manifest_len)) {
		cn_cli_fail("deploy", "cannot sign the manifest");
		goto out;
	}
	human((double)j.size, sz, sizeof(sz));
	fprintf(stderr, "deploy: %s %s (%s, blake2b %.16s...) to %s (%zu node%s)%s\n", j.m.app,
		j.m.version, sz, hex, target, n, n == 1 ? "" : "s",
		o->activate ? ", activating" : "");
	if (n == 1) {
		struct outcome res;

		j.bar = isatty(STDERR_FILENO);
		push_one(&j, &t[0], &res);
		if (res.ok) {
			printf("%s: ok: %s\n", t[0].name, res.msg);
			ret = CN_EXIT_OK;
		} else {
			cn_cli_fail("deploy", "%s: %s: %s", t[0].name, result_word(&res), res.msg);
		}
		goto out;
	}
	ret = push_group(&j, t, n);
out:
	if (j.fd >= 0)
		close(j.fd);
	free(t);
	cn_peerlist_free(pl);
	cn_identity_free(id);
	return ret;
}

/* ---- list, rollback -------------------------------------------------------------------------- */

static int list_one(const struct opts *o, const struct target *t, const char *app)
{
	static struct cn_dproto_entry ent[CN_DPROTO_LIST_MAX];
	struct cn_dproto_req q;
	struct outcome res;
	uint8_t *buf = malloc(CN_DPROTO_FRAME_MAX), type;
	size_t len, plen, count;
	int fd, ret = CN_EXIT_FAIL;

	memset(&q, 0, sizeof(q));
	memset(&res, 0, sizeof(res));
	snprintf(q.app, sizeof(q.app), "%s", app ? app : "");
	if (!buf)
		return cn_cli_fail("deploy", "out of memory");
	fd = dial(t, o->port, res.msg, sizeof(res.msg));
	if (fd < 0)
		goto out;
	if (cn_dproto_list_encode(&q, buf, CN_DPROTO_FRAME_MAX, &len) || send_all(fd, buf, len) ||
	    recv_frame(fd, buf, &type, &plen, IO_TIMEOUT_MS, res.msg, sizeof(res.msg)))
		goto out;
	if (type == CN_DPROTO_RESULT) {
		static struct cn_dproto_result r;

		if (cn_dproto_result_decode(buf + CN_DPROTO_HDR, plen, &r) == 0) {
			res.done = true;
			res.status = r.status;
			memcpy(res.msg, r.msg, sizeof(res.msg));
		}
		goto out;
	}
	if (type != CN_DPROTO_LIST_REPLY ||
	    cn_dproto_list_reply_decode(buf + CN_DPROTO_HDR, plen, ent, CN_DPROTO_LIST_MAX,
					&count)) {
		snprintf(res.msg, sizeof(res.msg), "unexpected answer from the node");
		goto out;
	}
	printf("%s:\n  %-20s %-24s %-10s %-14s %-20s %s\n", t->name, "APP", "VERSION", "SIZE",
	       "BLAKE2B", "PUSHED (UTC)", "CURRENT");
	for (size_t i = 0; i < count; i++) {
		char hex[CN_DEPLOY_HASH_HEX_LEN + 1], sz[32], when[32];
		time_t tt = (time_t)ent[i].time;
		struct tm tm;

		cn_deploy_hash_hex(ent[i].hash, hex);
		human((double)ent[i].size, sz, sizeof(sz));
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", gmtime_r(&tt, &tm));
		printf("  %-20s %-24s %-10s %-14.12s %-20s %s\n", ent[i].app, ent[i].version, sz,
		       hex, when, ent[i].current ? "*" : "");
	}
	if (count == 0)
		printf("  (nothing deployed)\n");
	ret = CN_EXIT_OK;
out:
	if (ret)
		cn_cli_fail("deploy", "%s: %s: %s", t->name, result_word(&res), res.msg);
	if (fd >= 0)
		close(fd);
	free(buf);
	return ret;
}

static int rollback_one(const struct opts *o, const struct target *t, const char *app)
{
	struct cn_dproto_req q;
	struct outcome res;
	uint8_t *buf = malloc(CN_DPROTO_FRAME_MAX);
	size_t len;
	int fd;

	memset(&q, 0, sizeof(q));
	memset(&res, 0, sizeof(res));
	snprintf(q.app, sizeof(q.app), "%s", app);
	snprintf(q.version, sizeof(q.version), "%s", o->to ? o->to : "");
	if (!buf)
		return cn_cli_fail("deploy", "out of memory");
	fd = dial(t, o->port, res.msg, sizeof(res.msg));
	if (fd >= 0) {
		if (cn_dproto_rollback_encode(&q, buf, CN_DPROTO_FRAME_MAX, &len) ||
		    send_all(fd, buf, len))
			snprintf(res.msg, sizeof(res.msg), "cannot send: %s", strerror(errno));
		else
			read_result(fd, buf, t, (int)o->timeout_s * 1000, &res);
		close(fd);
	}
	free(buf);
	if (!res.ok)
		return cn_cli_fail("deploy", "%s: %s: %s", t->name, result_word(&res), res.msg);
	printf("%s: ok: %s\n", t->name, res.msg);
	return CN_EXIT_OK;
}

int cn_cli_deploy(int argc, char **argv)
{
	static const struct option lopts[] = {
		{"name", required_argument, NULL, 'n'},
		{"version", required_argument, NULL, 'V'},
		{"activate", no_argument, NULL, 'a'},
		{"parallel", required_argument, NULL, 'P'},
		{"keep-going", no_argument, NULL, 'K'},
		{"rate-limit", required_argument, NULL, 'r'},
		{"to", required_argument, NULL, 't'},
		{"key", required_argument, NULL, 'k'},
		{"list", required_argument, NULL, 'l'},
		{"port", required_argument, NULL, 'p'},
		{"timeout", required_argument, NULL, 'T'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct opts o = {.key = DEFAULT_KEY,
			 .list = DEFAULT_LIST,
			 .parallel = 1,
			 .port = CN_DPROTO_PORT,
			 .timeout_s = 300};
	const char *sub;
	struct cn_peerlist *pl = NULL;
	struct target *t = NULL;
	size_t n = 0;
	int c, ret = CN_EXIT_OK;

	while ((c = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		char *end;
		unsigned long v;

		switch (c) {
		case 'n':
			o.name = optarg;
			break;
		case 'V':
			o.version = optarg;
			break;
		case 'a':
			o.activate = true;
			break;
		case 'K':
			o.keep_going = true;
			break;
		case 't':
			o.to = optarg;
			break;
		case 'k':
			o.key = optarg;
			break;
		case 'l':
			o.list = optarg;
			break;
		case 'P':
		case 'r':
		case 'p':
		case 'T':
			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno || *end || !*optarg || v < 1 ||
			    v > (c == 'p'   ? 65535ul
				 : c == 'r' ? 10000000ul
					    : 86400ul))
				return cn_cli_usage_error("deploy", "bad number '%s'", optarg);
			if (c == 'P')
				o.parallel = (unsigned int)v;
			else if (c == 'r')
				o.rate = (uint64_t)v * 1000;
			else if (c == 'p')
				o.port = (unsigned int)v;
			else
				o.timeout_s = (unsigned int)v;
			break;
		case 'h':
			fputs(usage, stdout);
			return CN_EXIT_OK;
		default:
			return cn_cli_usage_error("deploy", "unknown option");
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		return cn_cli_usage_error("deploy", "push, rollback or list?");
	sub = argv[0];
	if (!strcmp(sub, "push")) {
		if (argc != 3)
			return cn_cli_usage_error("deploy", "push needs TARGET and FILE");
		return cmd_push(&o, argv[1], argv[2]);
	}
	if (strcmp(sub, "rollback") != 0 && strcmp(sub, "list") != 0)
		return cn_cli_usage_error("deploy", "unknown subcommand '%s'", sub);
	if (!strcmp(sub, "rollback") ? argc != 3 : (argc < 2 || argc > 3))
		return cn_cli_usage_error("deploy", "%s needs TARGET%s", sub,
					  !strcmp(sub, "rollback") ? " and APP" : " [APP]");
	if (argc == 3 && !cn_deploy_app_valid(argv[2]))
		return cn_cli_usage_error("deploy", "'%s' is not an app name", argv[2]);
	if (o.to && !cn_deploy_version_valid(o.to))
		return cn_cli_usage_error("deploy", "'%s' is not a version", o.to);
	if (load_list("deploy", o.list, &pl))
		return CN_EXIT_FAIL;
	if (resolve("deploy", pl, argv[1], &t, &n)) {
		cn_peerlist_free(pl);
		return CN_EXIT_FAIL;
	}
	for (size_t i = 0; i < n; i++) {
		int r = !strcmp(sub, "list") ? list_one(&o, &t[i], argc == 3 ? argv[2] : NULL)
					     : rollback_one(&o, &t[i], argv[2]);

		if (r)
			ret = r;
	}
	free(t);
	cn_peerlist_free(pl);
	return ret;
}
