/* SPDX-License-Identifier: MIT */
/*
 * cairn deploy push: signs a manifest for FILE with the node's key and
 * sends it and the bytes to one node (a progress bar on a terminal) or to
 * every member of a group. Group pushes fork one child per member, at most
 * --parallel at a time; each reports a fixed-size record through a pipe
 * and the parent prints one result table. A single push runs in this
 * process, so killing it stops the transfer (the node keeps what arrived
 * for the next attempt to resume).
 */
#include "node/cli/cli_deploy.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "common/clock.h"
#include "crypto/keys.h"
#include "node/cli/cli.h"

static double now_s(void)
{
	return (double)cn_clock_us() / 1e6;
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
	cn_cli_deploy_human((double)done, a, sizeof(a));
	cn_cli_deploy_human((double)p->total, b, sizeof(b));
	cn_cli_deploy_human(rate, r, sizeof(r));
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
	fd = cn_cli_deploy_dial(t, j->o->port, out->msg, sizeof(out->msg));
	if (fd < 0)
		goto out;
	if (cn_dproto_push_encode(&p, buf, CN_DPROTO_FRAME_MAX, &len) ||
	    cn_cli_deploy_send_all(fd, buf, len)) {
		snprintf(out->msg, sizeof(out->msg), "sending the manifest: %s", strerror(errno));
		goto out;
	}
	if (cn_cli_deploy_recv_frame(fd, buf, &type, &plen, IO_TIMEOUT_MS, out->msg,
				     sizeof(out->msg)))
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
		if (cn_cli_deploy_send_all(fd, buf, CN_DPROTO_HDR + (size_t)r)) {
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
	cn_cli_deploy_read_result(fd, buf, t, (int)j->o->timeout_s * 1000, out);
out:
	out->secs = now_s() - t0;
	if (fd >= 0)
		close(fd);
	free(buf);
}

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
		printf("%-20s %-14s %-9s %-6s %s\n", t[i].name, cn_cli_deploy_result_word(&res[i]),
		       tm, hook, res[i].msg);
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
				fprintf(stderr, "%s: %s: %s\n", t[i].name,
					cn_cli_deploy_result_word(&res[i]), res[i].msg);
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

int cn_cli_deploy_push(const struct opts *o, const char *target, const char *file)
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
	if (cn_cli_deploy_load_list("deploy", o->list, &pl) ||
	    cn_cli_deploy_resolve("deploy", pl, target, &t, &n))
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
	cn_cli_deploy_human((double)j.size, sz, sizeof(sz));
	fprintf(stderr, "deploy: %s %s (%s, blake2b %.16s...) to %s (%zu node%s)%s\n", j.m.app,
		j.m.version, sz, hex, target, n, n == 1 ? "" : "s",
		o->activate ? ", activating" : "");
	if (n == 1) {
		struct outcome res;

		const bool ran = true;

		j.bar = isatty(STDERR_FILENO);
		push_one(&j, &t[0], &res);
		/* The same table as a group push: one row. */
		print_table(&t[0], &res, &ran, 1);
		if (res.ok) {
			printf("%s: ok: %s\n", t[0].name, res.msg);
			ret = CN_EXIT_OK;
		} else {
			cn_cli_fail("deploy", "%s: %s: %s", t[0].name,
				    cn_cli_deploy_result_word(&res), res.msg);
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
