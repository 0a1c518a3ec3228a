/* SPDX-License-Identifier: MIT */
/*
 * cairn netcheck: what the network between this machine and the relays
 * looks like. From one UDP socket it sends STUN Binding Requests to every
 * relay's STUN port and UDP link port (the relay answers STUN on both), then
 * reports:
 *   - UDP reachability (any answer at all), and TCP reachability of each
 *     relay's link port;
 *   - the public address and port each destination saw;
 *   - whether the mapping depends on the destination: one socket seen
 *     with different public ports by different destinations means a "hard"
 *     (endpoint-dependent, symmetric) NAT where hole punching needs the
 *     peer to be easy; the same port everywhere means an "easy" NAT;
 *     a public address equal to a local one means no NAT;
 *   - each relay's round-trip time and the closest relay.
 * Runs without the daemon; reads the relays from a peer list file.
 */
#include "node/cli/cli.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "common/addr.h"
#include "common/clock.h"
#include "common/file.h"
#include "crypto/peerlist.h"
#include "nat/stun.h"

enum {
	TRIES = 3,
	TRY_TIMEOUT_MS = 700,
	TCP_TIMEOUT_MS = 1500,
	MAX_TARGETS = 2 * CN_PEERLIST_MAX_RELAYS,
};

struct target {
	const struct cn_pl_relay *relay;
	const char *kind; /* "stun" or "link" */
	struct cn_addr addr;
	uint8_t tid[CN_STUN_TID_LEN];
	uint64_t sent_us;
	uint64_t rtt_us; /* 0: no answer */
	struct cn_stun_addr mapped;
};

struct relay_result {
	const struct cn_pl_relay *relay;
	char ip[INET6_ADDRSTRLEN];
	bool resolved, tcp_ok;
	uint64_t best_rtt_us;
};

static bool tcp_reachable(const struct cn_addr *a)
{
	int fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct pollfd pfd = {.fd = fd, .events = POLLOUT};
	int err = 0;
	socklen_t len = sizeof(err);
	bool ok = false;

	if (fd < 0)
		return false;
	if (connect(fd, (const struct sockaddr *)&a->ss, a->len) == 0)
		ok = true;
	else if (errno == EINPROGRESS && poll(&pfd, 1, TCP_TIMEOUT_MS) == 1 &&
		 getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0)
		ok = true;
	close(fd);
	return ok;
}

static bool is_local_address(const struct cn_stun_addr *m)
{
	struct ifaddrs *ifa = NULL;
	bool found = false;

	if (getifaddrs(&ifa) != 0)
		return false;
	for (struct ifaddrs *i = ifa; i && !found; i = i->ifa_next)
		if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET &&
		    m->family == CN_STUN_FAMILY_IPV4 &&
		    memcmp(&((struct sockaddr_in *)i->ifa_addr)->sin_addr, m->ip, 4) == 0)
			found = true;
	freeifaddrs(ifa);
	return found;
}

static void mapped_text(const struct cn_stun_addr *m, char *out, size_t cap)
{
	char ip[INET6_ADDRSTRLEN];

	if (!m->family) {
		snprintf(out, cap, "-");
		return;
	}
	inet_ntop(m->family == CN_STUN_FAMILY_IPV4 ? AF_INET : AF_INET6, m->ip, ip, sizeof(ip));
	snprintf(out, cap, "%s:%u", ip, m->port);
}

/* Sends every unanswered request and collects answers until all came or time ran out. */
static void probe(int fd, struct target *t, size_t n)
{
	uint8_t buf[CN_STUN_MSG_MAX + 64];

	for (int attempt = 0; attempt < TRIES; attempt++) {
		uint64_t deadline;
		size_t pending = 0;

		for (size_t i = 0; i < n; i++) {
			size_t len = 0;

			if (t[i].rtt_us)
				continue;
			randombytes_buf(t[i].tid, sizeof(t[i].tid));
			if (cn_stun_encode_binding_request(t[i].tid, CN_STUN_CLIENT_SOFTWARE, buf,
							   sizeof(buf), &len) != 0)
				continue;
			t[i].sent_us = cn_clock_us();
			(void)sendto(fd, buf, len, 0, (const struct sockaddr *)&t[i].addr.ss,
				     t[i].addr.len);
			pending++;
		}
		if (!pending)
			return;
		deadline = cn_clock_us() + TRY_TIMEOUT_MS * 1000ULL;
		while (pending && cn_clock_us() < deadline) {
			struct pollfd pfd = {.fd = fd, .events = POLLIN};
			int wait_ms = (int)((deadline - cn_clock_us()) / 1000) + 1;
			ssize_t r;

			if (poll(&pfd, 1, wait_ms) <= 0)
				break;
			r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
			if (r <= 0)
				continue;
			for (size_t i = 0; i < n; i++) {
				struct cn_stun_addr m;

				if (t[i].rtt_us || cn_stun_decode_binding_response(
							   buf, (size_t)r, t[i].tid, &m) != 0)
					continue;
				t[i].rtt_us = cn_clock_us() - t[i].sent_us;
				if (!t[i].rtt_us)
					t[i].rtt_us = 1;
				t[i].mapped = m;
				pending--;
				break;
			}
		}
	}
}

static const char netcheck_usage[] =
	"usage: cairn netcheck [-l FILE] [--json]\n"
	"\n"
	"Probes every relay of the peer list from this machine: UDP and TCP\n"
	"reachability, the public address and port each relay sees, whether the\n"
	"NAT maps by destination (hard NAT) or not (easy NAT), relay round-trip\n"
	"times and the closest relay. Needs no running node.\n"
	"\n"
	"  -l, --list FILE   peer list with the relays (default /etc/cairn/peers.conf)\n"
	"  --json            machine-readable output\n"
	"  -h, --help        show this help\n";

int cn_cli_netcheck(int argc, char **argv)
{
	static const struct option opts[] = {
		{"list", required_argument, NULL, 'l'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *list = "/etc/cairn/peers.conf";
	struct target t[MAX_TARGETS];
	struct relay_result rr[CN_PEERLIST_MAX_RELAYS];
	struct cn_peerlist *pl = NULL;
	struct cn_errbuf e = {{0}};
	char *text = NULL, a[64], b[64];
	size_t len = 0, nt = 0;
	bool json = false, udp = false, varies = false, no_nat = false;
	const struct cn_stun_addr *first = NULL;
	const struct relay_result *closest = NULL;
	int c, fd = -1, ret = CN_EXIT_FAIL;

	while ((c = getopt_long(argc, argv, "l:h", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			list = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			fputs(netcheck_usage, stdout);
			return CN_EXIT_OK;
		default:
			return cn_cli_usage_error("netcheck", "bad option");
		}
	}
	if (optind != argc)
		return cn_cli_usage_error("netcheck", "unexpected argument '%s'", argv[optind]);
	if (cn_file_read(list, CN_PEERLIST_MAX_BYTES, &text, &len, &e) ||
	    cn_peerlist_parse((const uint8_t *)text, len, &pl, &e)) {
		cn_cli_fail("netcheck", "%s", e.msg);
		goto out;
	}
	if (pl->nrelays == 0) {
		cn_cli_fail("netcheck", "%s lists no relays", list);
		goto out;
	}
	memset(t, 0, sizeof(t));
	memset(rr, 0, sizeof(rr));
	for (size_t i = 0; i < pl->nrelays; i++) {
		const struct cn_pl_relay *r = &pl->relays[i];

		rr[i].relay = r;
		if (cn_cli_resolve(r->host, r->stun_port, false, AF_INET, SOCK_DGRAM,
				   &t[nt].addr) != 0)
			continue;
		rr[i].resolved = true;
		inet_ntop(AF_INET, &((struct sockaddr_in *)&t[nt].addr.ss)->sin_addr, rr[i].ip,
			  sizeof(rr[i].ip));
		t[nt].relay = r;
		t[nt++].kind = "stun";
		if (cn_cli_resolve(r->host, r->port, false, AF_INET, SOCK_DGRAM, &t[nt].addr) ==
		    0) {
			t[nt].relay = r;
			t[nt++].kind = "link";
			rr[i].tcp_ok = tcp_reachable(&t[nt - 1].addr);
		}
	}
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		cn_cli_fail("netcheck", "socket: %s", strerror(errno));
		goto out;
	}
	probe(fd, t, nt);
	for (size_t i = 0; i < nt; i++) {
		if (!t[i].rtt_us)
			continue;
		udp = true;
		if (!first)
			first = &t[i].mapped;
		else if (first->port != t[i].mapped.port ||
			 memcmp(first->ip, t[i].mapped.ip, 16) != 0)
			varies = true;
		for (size_t j = 0; j < pl->nrelays; j++)
			if (rr[j].relay == t[i].relay &&
			    (!rr[j].best_rtt_us || t[i].rtt_us < rr[j].best_rtt_us))
				rr[j].best_rtt_us = t[i].rtt_us;
	}
	for (size_t j = 0; j < pl->nrelays; j++)
		if (rr[j].best_rtt_us && (!closest || rr[j].best_rtt_us < closest->best_rtt_us))
			closest = &rr[j];
	no_nat = first && is_local_address(first);
	mapped_text(first ? first : &(struct cn_stun_addr){0}, a, sizeof(a));
	if (json) {
		json_t *relays = json_array(), *doc;

		for (size_t j = 0; relays && j < pl->nrelays; j++) {
			json_t *mapped = json_object();

			for (size_t i = 0; mapped && i < nt; i++) {
				if (t[i].relay != rr[j].relay)
					continue;
				mapped_text(&t[i].mapped, b, sizeof(b));
				json_object_set_new(mapped, t[i].kind,
						    json_string(t[i].rtt_us ? b : ""));
			}
			json_array_append_new(
				relays,
				json_pack("{s:s, s:s, s:b, s:I, s:o}", "name", rr[j].relay->name,
					  "address", rr[j].ip, "tcp", rr[j].tcp_ok, "rtt_us",
					  (json_int_t)rr[j].best_rtt_us, "mapped", mapped));
		}
		doc = json_pack("{s:b, s:s, s:s, s:b, s:s, s:o}", "udp", udp, "public_address",
				first ? a : "", "nat",
				!udp	 ? "unknown"
				: no_nat ? "none"
				: varies ? "hard"
					 : "easy",
				"mapping_varies_by_destination", varies, "closest_relay",
				closest ? closest->relay->name : "", "relays", relays);
		if (!doc || json_dumpf(doc, stdout, JSON_COMPACT) != 0 || putchar('\n') == EOF) {
			json_decref(doc);
			cn_cli_fail("netcheck", "cannot write the JSON (out of memory?)");
			goto out;
		}
		json_decref(doc);
	} else {
		printf("UDP:             %s\n", udp ? "yes" : "no answer (UDP blocked?)");
		printf("public address:  %s\n", first ? a : "unknown");
		printf("NAT:             %s\n",
		       !udp	? "unknown"
		       : no_nat ? "none (the public address is this machine's)"
		       : varies ? "hard: the mapping changes with the destination "
				  "(direct paths need an easy NAT on the other side)"
				: "easy: one mapping for every destination");
		printf("\n%-16s %-16s %-4s %10s  %-24s %s\n", "RELAY", "ADDRESS", "TCP", "RTT",
		       "MAPPED (STUN PORT)", "MAPPED (LINK PORT)");
		for (size_t j = 0; j < pl->nrelays; j++) {
			char rtt[16] = "-", ms[64] = "-", ml[64] = "-";

			if (rr[j].best_rtt_us)
				snprintf(rtt, sizeof(rtt), "%.1f ms",
					 (double)rr[j].best_rtt_us / 1000);
			for (size_t i = 0; i < nt; i++)
				if (t[i].relay == rr[j].relay && t[i].rtt_us)
					mapped_text(&t[i].mapped,
						    strcmp(t[i].kind, "stun") ? ml : ms, 64);
			printf("%-16s %-16s %-4s %10s  %-24s %s\n", rr[j].relay->name,
			       rr[j].resolved ? rr[j].ip : "unresolved",
			       rr[j].tcp_ok ? "yes" : "no", rtt, ms, ml);
		}
		printf("\nclosest relay:   %s\n", closest ? closest->relay->name : "none answered");
	}
	ret = CN_EXIT_OK;
out:
	if (fd >= 0)
		close(fd);
	cn_peerlist_free(pl);
	free(text);
	return ret;
}
