/* SPDX-License-Identifier: MIT */
/*
 * cairn-relay against hostile clients (issue 12), in one process on
 * 127.0.0.1: listed peers that abuse what they are allowed to do. Each test
 * is a regression test for one attack and failed on the code before its
 * fix:
 *   - an upload of a list without the uploader's own key (use after free);
 *   - PINGs over TCP from a peer that never reads (memory without bound);
 *   - an authentic UDP datagram from another address (reflection);
 *   - STUN requests (amplification, floods);
 *   - one peer holding every list-upload slot;
 *   - a relay that stops reading from a node's relay client.
 *
 * Raw links speak the link protocol by hand (crypto/handshake.h and
 * crypto/session.h) so a test can do what the relay client never would.
 * Every wait is bounded in time.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>
#include <sodium.h>

#include "common/addr.h"
#include "common/file.h"
#include "common/log.h"
#include "crypto/handshake.h"
#include "crypto/keys.h"
#include "crypto/peerlist.h"
#include "crypto/session.h"
#include "nat/stun.h"
#include "relay/link.h"
#include "relay/relay.h"
#include "relay/relay_client.h"
#include "relay/relay_config.h"

enum { MAX_BUFFERED = 65536 };

struct node {
	const char *name;
	struct cn_identity *id;
	struct cn_relay_client *c;
	bool up, down;
	int list_result; /* LIST_RESULT status + 1, 0: none */
	unsigned int received;
};

static struct event_base *base;
static struct cn_relay *relay;
static struct cn_relay_config cfg;
static struct cn_identity *root_id, *relay_id;
static struct node a = {.name = "a"}, b = {.name = "b"};
static char dir[64], list_path[128];
static int64_t serial = 1;

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void run_once(void)
{
	event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	usleep(200);
}

static bool run_until(const bool *flag, unsigned int max_ms)
{
	uint64_t end = mono_ms() + max_ms;

	while (!*flag && mono_ms() < end)
		run_once();
	return *flag;
}

static void run_for(unsigned int ms)
{
	bool never = false;

	run_until(&never, ms);
}

/* ---- nodes through the relay client ---- */

static void on_up(struct cn_relay_client *c, void *arg)
{
	(void)c;
	((struct node *)arg)->up = true;
}

static void on_down(struct cn_relay_client *c, void *arg, const char *why)
{
	struct node *n = arg;

	(void)c;
	(void)why;
	n->down = true;
	n->up = false;
}

static void on_msg(struct cn_relay_client *c, void *arg, const struct cn_link_msg *m)
{
	struct node *n = arg;

	(void)c;
	if (m->type == CN_LINK_LIST_RESULT)
		n->list_result = m->flag + 1;
	else if (m->type == CN_LINK_RECV)
		n->received++;
}

static const struct cn_relay_client_cbs cbs = {on_up, on_down, on_msg, NULL};

static void node_connect(struct node *n, const struct cn_identity *id, bool udp)
{
	struct cn_relay_client_opts o = {.id = id, .network = "test", .udp = udp};
	struct cn_errbuf e = {{0}};
	char addr[64];

	cn_relay_client_free(n->c);
	usleep(20000); /* initiation timestamps are whitened to ~17 ms */
	n->up = n->down = false;
	n->list_result = 0;
	n->received = 0;
	memcpy(o.relay_key, relay_id->ed_pk, CN_KEY_LEN);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d",
		 udp ? cn_relay_udp_port(relay) : cn_relay_tcp_port(relay));
	assert_int_equal(cn_addr_parse(addr, &o.addr), 0);
	n->c = cn_relay_client_new(base, &o, &cbs, n, &e);
	assert_non_null(n->c);
	assert_true(run_until(&n->up, 3000));
	run_for(50); /* the relay confirms the link with the client's first packet */
}

static void node_drop(struct node *n)
{
	cn_relay_client_free(n->c);
	n->c = NULL;
	n->up = false;
}

/* A signed list with the relay, a (if with_a) and b (if with_b); serial grows. */
static void make_list(bool with_a, bool with_b, char **text_out, size_t *len_out)
{
	struct cn_peerlist *pl = NULL;
	struct cn_errbuf e = {{0}};
	char *body = NULL, *text = NULL;
	size_t body_len, len;

	assert_int_equal(
		cn_peerlist_new("test", "test.cairn", "10.99.0.0/24", "fd00:99::/64", &pl, &e), 0);
	pl->serial = serial++;
	assert_int_equal(
		cn_peerlist_add_relay(pl, "relay1", relay_id->ed_pk, "127.0.0.1", 443, 3478, &e),
		0);
	if (with_a)
		assert_int_equal(
			cn_peerlist_add_peer(pl, "a", a.id->ed_pk, NULL, 0, NULL, NULL, &e), 0);
	if (with_b)
		assert_int_equal(
			cn_peerlist_add_peer(pl, "b", b.id->ed_pk, NULL, 0, NULL, NULL, &e), 0);
	assert_int_equal(cn_peerlist_format(pl, &body, &body_len), 0);
	assert_int_equal(
		cn_peerlist_sign((const uint8_t *)body, body_len, root_id, &text, &len, &e), 0);
	*text_out = text;
	*len_out = len;
	free(body);
	cn_peerlist_free(pl);
}

/* Puts a list with a and b in force again (after a test removed one). */
static void restore_list(void)
{
	struct cn_errbuf e = {{0}};
	char *text;
	size_t len;

	make_list(true, true, &text, &len);
	assert_int_equal(cn_file_write_atomic(list_path, text, len, 0644, &e), 0);
	free(text);
	assert_int_equal(cn_relay_reload(relay), 0);
}

/* ---- raw links: the link protocol by hand ---- */

struct raw {
	int fd;
	bool tcp;
	struct cn_session s;
	struct sockaddr_in to; /* UDP: the relay's link port */
	uint8_t in[70000];
	size_t in_len; /* TCP: bytes buffered */
};

static void raw_write(struct raw *w, int fd, const uint8_t *msg, size_t len)
{
	if (w->tcp) {
		uint8_t frame[CN_TCP_FRAME_HDR + 2048];

		assert_true(len <= 2048);
		cn_tcp_frame_header(len, frame);
		memcpy(frame + CN_TCP_FRAME_HDR, msg, len);
		assert_int_equal(send(fd, frame, CN_TCP_FRAME_HDR + len, MSG_NOSIGNAL),
				 (ssize_t)(CN_TCP_FRAME_HDR + len));
	} else {
		assert_int_equal(sendto(fd, msg, len, 0, (struct sockaddr *)&w->to, sizeof(w->to)),
				 (ssize_t)len);
	}
}

/* A UDP socket bound to ip (port chosen by the kernel). */
static int udp_socket(const char *ip)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);

	assert_true(fd >= 0);
	inet_pton(AF_INET, ip, &sin.sin_addr);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	return fd;
}

/* Opens a raw link as id, TCP or UDP from 127.0.0.1, and confirms it. */
static void raw_open(struct raw *w, const struct cn_identity *id, bool tcp, int rcvbuf)
{
	struct cn_handshake_local local;
	struct cn_handshake hs;
	uint8_t relay_x[CN_KEY_LEN], ts[CN_TAI64N_LEN], init[CN_HANDSHAKE_INITIATION_LEN];
	uint8_t resp[CN_HANDSHAKE_RESPONSE_LEN + CN_TCP_FRAME_HDR], pkt[64];
	struct timespec now;
	size_t got = 0, want = tcp ? sizeof(resp) : CN_HANDSHAKE_RESPONSE_LEN, len = 0;
	uint64_t end = mono_ms() + 3000;

	memset(w, 0, sizeof(*w));
	w->tcp = tcp;
	w->to.sin_family = AF_INET;
	w->to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	w->to.sin_port =
		htons((uint16_t)(tcp ? cn_relay_tcp_port(relay) : cn_relay_udp_port(relay)));
	if (tcp) {
		w->fd = socket(AF_INET, SOCK_STREAM, 0);
		if (rcvbuf)
			setsockopt(w->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
		assert_int_equal(connect(w->fd, (struct sockaddr *)&w->to, sizeof(w->to)), 0);
		assert_int_equal(fcntl(w->fd, F_SETFL, O_NONBLOCK), 0);
	} else {
		w->fd = udp_socket("127.0.0.1");
	}
	usleep(20000);
	assert_int_equal(cn_key_ed_to_x(relay_id->ed_pk, relay_x), 0);
	assert_int_equal(cn_handshake_local_init(&local, id, "test"), 0);
	clock_gettime(CLOCK_REALTIME, &now);
	cn_handshake_tai64n(ts, (uint64_t)now.tv_sec, (uint32_t)now.tv_nsec);
	assert_int_equal(cn_handshake_create_initiation(&hs, &local, relay_x,
							randombytes_random() | 1, ts, NULL, init),
			 0);
	raw_write(w, w->fd, init, sizeof(init));
	while (got < want && mono_ms() < end) {
		ssize_t r;

		run_once();
		r = recv(w->fd, resp + got, want - got, MSG_DONTWAIT);
		if (r > 0)
			got += (size_t)r;
	}
	assert_int_equal(got, want);
	assert_int_equal(cn_handshake_consume_response(&hs, resp + (tcp ? CN_TCP_FRAME_HDR : 0),
						       CN_HANDSHAKE_RESPONSE_LEN, mono_ms(), &w->s),
			 0);
	cn_handshake_wipe(&hs);
	sodium_memzero(&local, sizeof(local));
	/* A keepalive confirms the link. */
	assert_int_equal(cn_session_encrypt(&w->s, mono_ms(), pkt + CN_SESSION_HEADER_LEN, 0, pkt,
					    sizeof(pkt), &len),
			 0);
	raw_write(w, w->fd, pkt, len);
	run_for(50);
}

/* Encrypts m under w's session into out; returns the datagram's length. */
static size_t raw_seal(struct raw *w, const struct cn_link_msg *m, uint8_t *out, size_t cap)
{
	size_t pt = 0, len = 0;

	assert_int_equal(
		cn_link_encode(m, out + CN_SESSION_HEADER_LEN, cap - CN_SESSION_OVERHEAD, &pt), 0);
	assert_int_equal(cn_session_encrypt(&w->s, mono_ms(), out + CN_SESSION_HEADER_LEN, pt, out,
					    cap, &len),
			 0);
	return len;
}

/* Sends m on w, from fd (UDP: any socket; -1: w's own). Returns the bytes sent. */
static size_t raw_send(struct raw *w, int fd, const struct cn_link_msg *m)
{
	uint8_t buf[2048];
	size_t len = raw_seal(w, m, buf, sizeof(buf));

	raw_write(w, fd < 0 ? w->fd : fd, buf, len);
	return len;
}

/*
 * Reads what arrived on fd (UDP datagrams) and decrypts it with w's
 * session: counts bytes and datagrams, and stores the last message of type
 * `keep` in *kept (its token/nonce copied to keep_bytes). Returns the
 * number of datagrams.
 */
static unsigned int raw_drain_udp(struct raw *w, int fd, size_t *bytes, enum cn_link_type keep,
				  uint8_t *keep_bytes, bool *kept)
{
	unsigned int n = 0;
	ssize_t r;

	while ((r = recv(fd, w->in, sizeof(w->in), MSG_DONTWAIT)) > 0) {
		size_t pt = 0;
		struct cn_link_msg m;

		n++;
		if (bytes)
			*bytes += (size_t)r;
		if ((size_t)r < CN_SESSION_OVERHEAD ||
		    cn_session_decrypt(&w->s, mono_ms(), w->in, (size_t)r,
				       w->in + CN_SESSION_HEADER_LEN,
				       (size_t)r - CN_SESSION_HEADER_LEN, &pt) != 0 ||
		    pt == 0 || cn_link_decode(w->in + CN_SESSION_HEADER_LEN, pt, &m) != 0)
			continue;
		if (kept && m.type == keep) {
			*kept = true;
			if (keep_bytes && m.token)
				memcpy(keep_bytes, m.token, CN_LINK_TOKEN_LEN);
		}
	}
	return n;
}

static void raw_close(struct raw *w)
{
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
	cn_session_wipe(&w->s);
}

static int setup(void **state)
{
	char config[2048], key_path[128], root_text[CN_KEY_TEXT_LEN + 1];
	struct cn_errbuf e = {{0}};
	char *text;
	size_t len;

	(void)state;
	cn_log_set_level(getenv("CN_TEST_DEBUG") ? CN_LOG_DEBUG : CN_LOG_ERR);
	snprintf(dir, sizeof(dir), "/tmp/cn_test_hostile.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	if (cn_identity_generate(&root_id) || cn_identity_generate(&relay_id) ||
	    cn_identity_generate(&a.id) || cn_identity_generate(&b.id))
		return -1;
	snprintf(list_path, sizeof(list_path), "%s/peers.conf", dir);
	make_list(true, true, &text, &len);
	if (cn_file_write_atomic(list_path, text, len, 0644, &e))
		return -1;
	free(text);
	snprintf(key_path, sizeof(key_path), "%s/relay.key", dir);
	if (cn_keyfile_write(key_path, relay_id, false, &e))
		return -1;
	cn_key_to_text(root_id->ed_pk, root_text);
	snprintf(config, sizeof(config),
		 "identity_key = \"%s\";\nroot_key = \"%s\";\npeer_list = \"%s\";\n"
		 "state_dir = \"%s/state\";\n"
		 "listen = { tcp = [\"127.0.0.1:0\"]; udp = [\"127.0.0.1:0\"];\n"
		 "  stun = [\"127.0.0.1:0\"]; };\n"
		 "limits = { handshake_rate = 1000; handshake_burst = 1000; handshake_load = "
		 "100000;\n"
		 "  max_buffered = %d; };\n",
		 key_path, root_text, list_path, dir, MAX_BUFFERED);
	if (cn_relay_config_parse(config, &cfg, &e)) {
		fprintf(stderr, "config: %s\n", e.msg);
		return -1;
	}
	base = event_base_new();
	relay = cn_relay_new(base, &cfg, &e);
	if (!relay) {
		fprintf(stderr, "relay: %s\n", e.msg);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	node_drop(&a);
	node_drop(&b);
	cn_relay_free(relay);
	event_base_free(base);
	cn_identity_free(root_id);
	cn_identity_free(relay_id);
	cn_identity_free(a.id);
	cn_identity_free(b.id);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

/* ---- a. an upload that removes the uploader ---- */

/*
 * b, a listed peer, uploads a newer root-signed list without its own key.
 * Installing it closes b's link while the upload is being handled: the
 * relay must not touch the link afterwards (ASan in the test build), must
 * adopt the list, answer b (over UDP; a TCP connection is closed at once,
 * its queue with it) and close b's link.
 */
static void upload_without_self(bool udp)
{
	char *text;
	size_t len;
	int64_t want;

	node_connect(&a, a.id, false);
	node_connect(&b, b.id, udp);
	make_list(true, false, &text, &len);
	want = serial - 1;
	assert_int_equal(cn_relay_client_publish(b.c, (const uint8_t *)text, len, (uint64_t)want),
			 0);
	run_for(500);
	free(text);
	assert_int_equal(cn_relay_get_metrics(relay)->list_serial, want);
	if (udp)
		assert_int_equal(b.list_result, CN_LINK_LIST_ACCEPTED + 1);
	else
		assert_true(b.down); /* its connection was closed */
	/* The relay still serves a. */
	assert_true(a.up);
	assert_int_equal(cn_relay_client_ping(a.c), 0);
	run_for(200);
	assert_true(cn_relay_client_rtt_us(a.c) > 0);
	node_drop(&b);
	restore_list();
}

static void test_upload_without_own_key_tcp(void **state)
{
	(void)state;
	upload_without_self(false);
}

static void test_upload_without_own_key_udp(void **state)
{
	(void)state;
	upload_without_self(true);
}

/* ---- b. answers that are never read ---- */

/*
 * A listed peer sends PINGs over TCP and never reads (a tiny receive
 * buffer): every PONG the relay queues counts against max_buffered, so the
 * queue to that link never passes the cap, and the link is closed and
 * counted. Without the cap the queue grew by every PONG (130 MB for a
 * million PINGs).
 */
static void test_pings_never_read(void **state)
{
	static uint8_t batch[1 << 16];
	const struct cn_relay_metrics *m = cn_relay_get_metrics(relay);
	uint64_t closed = m->links_closed_overflow, end = mono_ms() + 20000;
	struct raw w;
	size_t pending = 0, off = 0;
	unsigned long sent = 0;

	(void)state;
	node_connect(&a, a.id, false);
	raw_open(&w, b.id, true, 2048);
	while (cn_relay_get_metrics(relay)->links_closed_overflow == closed && sent < 2000000 &&
	       mono_ms() < end) {
		ssize_t n;

		if (off == pending) {
			/* The next 1000 PINGs, framed. */
			pending = off = 0;
			for (int i = 0; i < 1000; i++) {
				struct cn_link_msg p = {.type = CN_LINK_PING, .nonce = sent++};
				size_t len =
					raw_seal(&w, &p, batch + pending + CN_TCP_FRAME_HDR, 128);

				cn_tcp_frame_header(len, batch + pending);
				pending += CN_TCP_FRAME_HDR + len;
			}
		}
		n = send(w.fd, batch + off, pending - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0)
			off += (size_t)n;
		else if (n < 0 && errno != EAGAIN)
			break; /* closed by the relay */
		run_once();
		assert_true(cn_relay_get_metrics(relay)->tcp_queue_peak <= MAX_BUFFERED);
	}
	run_for(100);
	m = cn_relay_get_metrics(relay);
	assert_true(m->tcp_queue_peak <= MAX_BUFFERED);
	assert_int_equal(m->links_closed_overflow, closed + 1);
	assert_int_equal(m->links_tcp, 1); /* a's link stays */
	assert_int_equal(cn_relay_client_ping(a.c), 0);
	run_for(200);
	assert_true(cn_relay_client_rtt_us(a.c) > 0);
	raw_close(&w);
}

/* ---- e. upload slots ---- */

/* The first chunk of an upload that never finishes, from n. */
static void start_upload(struct node *n)
{
	static const uint8_t data[CN_LINK_CHUNK_DATA_MAX];
	struct cn_link_msg m = {.type = CN_LINK_LIST_CHUNK,
				.serial = 1000,
				.total = 100000,
				.offset = 0,
				.data = data,
				.data_len = sizeof(data)};

	assert_int_equal(cn_relay_client_send(n->c, &m), 0);
}

/*
 * a and b each hold a TCP and a UDP link and start an upload on both: one
 * upload per peer is taken, the other refused, so the root can still
 * publish. (Before: a and b held all four slots and the root's list was
 * dropped.) Stalled uploads are dropped after CN_RELAY_UPLOAD_STALL_MS.
 */
static void test_upload_slots_per_peer(void **state)
{
	struct node a2 = {.name = "a2"}, b2 = {.name = "b2"}, admin = {.name = "admin"};
	const struct cn_relay_metrics *m = cn_relay_get_metrics(relay);
	uint64_t refused = m->uploads_refused;
	char *text;
	size_t len;
	int64_t want;

	(void)state;
	node_connect(&a, a.id, false);
	node_connect(&a2, a.id, true);
	node_connect(&b, b.id, false);
	node_connect(&b2, b.id, true);
	start_upload(&a);
	start_upload(&a2);
	start_upload(&b);
	start_upload(&b2);
	run_for(200);
	m = cn_relay_get_metrics(relay);
	assert_int_equal(m->uploads, 2);
	assert_int_equal(m->uploads_refused, refused + 2);
	node_connect(&admin, root_id, false);
	make_list(true, true, &text, &len);
	want = serial - 1;
	assert_int_equal(
		cn_relay_client_publish(admin.c, (const uint8_t *)text, len, (uint64_t)want), 0);
	free(text);
	run_for(500);
	assert_int_equal(admin.list_result, CN_LINK_LIST_ACCEPTED + 1);
	assert_int_equal(cn_relay_get_metrics(relay)->list_serial, want);
	/* The two stalled uploads go (the links stay: they are alive). */
	for (int i = 0; i < 80 && cn_relay_get_metrics(relay)->uploads; i++) {
		run_for(100);
		if (i % 20 == 0) {
			cn_relay_client_ping(a.c);
			cn_relay_client_ping(b.c);
		}
	}
	assert_int_equal(cn_relay_get_metrics(relay)->uploads, 0);
	node_drop(&a2);
	node_drop(&b2);
	node_drop(&admin);
}

/* ---- f. a relay that stops reading ---- */

static struct cn_handshake_peer fake_peer; /* a, as the fake relay knows it */

static struct cn_handshake_peer *fake_lookup(void *ctx, const uint8_t x_pk[CN_KEY_LEN])
{
	(void)ctx;
	return sodium_memcmp(x_pk, fake_peer.x_pk, CN_KEY_LEN) == 0 ? &fake_peer : NULL;
}

/*
 * A fake relay completes the handshake with a's relay client over TCP and
 * then never reads again (a small receive buffer). The client keeps its
 * output queue under CN_RELAY_CLIENT_TCP_DATA_MAX by dropping SENDs, counts
 * them, and still takes a PING (control). Before: every SEND was queued.
 */
static void test_client_relay_never_reads(void **state)
{
	struct cn_relay_client_opts o = {.id = a.id, .network = "test"};
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sin);
	struct cn_handshake_local local;
	struct cn_handshake hs;
	struct cn_handshake_peer *hp = NULL;
	struct cn_session sess;
	struct cn_errbuf e = {{0}};
	uint8_t buf[CN_TCP_FRAME_HDR + CN_HANDSHAKE_INITIATION_LEN], pkt[1000] = {0};
	int lis, fd = -1, small = 4096;
	size_t got = 0, max_queued = 0;
	uint64_t end = mono_ms() + 3000;
	char addr[64];

	(void)state;
	lis = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(lis, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	assert_int_equal(bind(lis, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(lis, 1), 0);
	assert_int_equal(getsockname(lis, (struct sockaddr *)&sin, &sl), 0);
	node_drop(&a);
	a.up = a.down = false;
	memcpy(o.relay_key, relay_id->ed_pk, CN_KEY_LEN);
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", ntohs(sin.sin_port));
	assert_int_equal(cn_addr_parse(addr, &o.addr), 0);
	a.c = cn_relay_client_new(base, &o, &cbs, &a, &e);
	assert_non_null(a.c);
	/* The fake relay: accept, answer the initiation, then stop reading. */
	assert_int_equal(fcntl(lis, F_SETFL, O_NONBLOCK), 0);
	while (fd < 0 && mono_ms() < end) {
		run_once();
		fd = accept(lis, NULL, NULL);
	}
	assert_true(fd >= 0);
	assert_int_equal(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	while (got < sizeof(buf) && mono_ms() < end) {
		ssize_t r;

		run_once();
		r = recv(fd, buf + got, sizeof(buf) - got, 0);
		if (r > 0)
			got += (size_t)r;
	}
	assert_int_equal(got, sizeof(buf));
	assert_int_equal(cn_handshake_local_init(&local, relay_id, "test"), 0);
	cn_handshake_peer_init(&fake_peer, a.id->x_pk);
	assert_int_equal(cn_handshake_consume_initiation(&hs, &local, buf + CN_TCP_FRAME_HDR,
							 CN_HANDSHAKE_INITIATION_LEN, fake_lookup,
							 NULL, &hp),
			 0);
	assert_int_equal(cn_handshake_create_response(&hs, 77, NULL, mono_ms(),
						      buf + CN_TCP_FRAME_HDR, &sess),
			 0);
	cn_tcp_frame_header(CN_HANDSHAKE_RESPONSE_LEN, buf);
	assert_int_equal(send(fd, buf, CN_TCP_FRAME_HDR + CN_HANDSHAKE_RESPONSE_LEN, MSG_NOSIGNAL),
			 CN_TCP_FRAME_HDR + CN_HANDSHAKE_RESPONSE_LEN);
	assert_true(run_until(&a.up, 3000));
	/* 8 MB of SENDs into a relay that reads nothing. */
	for (int i = 0; i < 8000; i++) {
		size_t q;

		(void)cn_relay_client_send_packet(a.c, b.id->ed_pk, pkt, sizeof(pkt));
		if (i % 100 == 0)
			run_once();
		q = cn_relay_client_queued(a.c);
		if (q > max_queued)
			max_queued = q;
	}
	assert_true(max_queued <= CN_RELAY_CLIENT_TCP_DATA_MAX);
	assert_true(cn_relay_client_drops(a.c) > 0);
	/* Control still goes out (the cap has room for it), and the link is up. */
	assert_int_equal(cn_relay_client_ping(a.c), 0);
	assert_true(a.up);
	node_drop(&a);
	cn_handshake_wipe(&hs);
	cn_session_wipe(&sess);
	sodium_memzero(&local, sizeof(local));
	close(fd);
	close(lis);
}

/* ---- c. UDP reflection ---- */

/*
 * a's UDP link lives at socket A. One authentic HAVE_LIST(0), sealed in
 * a's session, arrives from socket B (another address: a forged source or
 * a rebinding). B gets at most the path challenge, never more bytes than
 * it sent; the list and b's packets keep going to A. A replay of that
 * datagram gets nothing. When B answers the challenge the link moves there
 * (a genuine move). Before: the link moved to B at once and the relay
 * streamed the list there.
 */
static void test_udp_new_address_gets_only_a_challenge(void **state)
{
	uint8_t token[CN_LINK_TOKEN_LEN], dgram[256], pkt[100] = {1};
	struct cn_link_msg have = {.type = CN_LINK_HAVE_LIST, .serial = 0};
	const struct cn_relay_metrics *m = cn_relay_get_metrics(relay);
	uint64_t moves = m->path_moves;
	size_t sent, got_b = 0, got_a = 0, dlen;
	bool challenged = false, chunk_at_a = false, recv_at = false;
	struct raw w;
	int fb = udp_socket("127.0.0.5");

	(void)state;
	node_connect(&b, b.id, false);
	raw_open(&w, a.id, false, 0);
	/* The spoofed-source datagram, kept for the replay below. */
	dlen = raw_seal(&w, &have, dgram, sizeof(dgram));
	raw_write(&w, fb, dgram, dlen);
	sent = dlen;
	run_for(300);
	raw_drain_udp(&w, fb, &got_b, CN_LINK_PATH_CHALLENGE, token, &challenged);
	assert_true(got_b <= sent);
	assert_true(challenged);
	/* The list went to A, where the link is. */
	raw_drain_udp(&w, w.fd, &got_a, CN_LINK_LIST_CHUNK, NULL, &chunk_at_a);
	assert_true(chunk_at_a);
	/* A replay from B, and more from B within the interval: nothing more. */
	raw_write(&w, fb, dgram, dlen);
	sent += dlen;
	for (int i = 0; i < 5; i++)
		sent += raw_send(&w, fb, &(struct cn_link_msg){.type = CN_LINK_PING, .nonce = 1});
	run_for(300);
	challenged = false;
	raw_drain_udp(&w, fb, &got_b, CN_LINK_PATH_CHALLENGE, NULL, &challenged);
	assert_false(challenged);
	assert_true(got_b <= sent);
	/* b's packets still reach A. */
	assert_int_equal(cn_relay_client_send_packet(b.c, a.id->ed_pk, pkt, sizeof(pkt)), 0);
	run_for(200);
	raw_drain_udp(&w, w.fd, NULL, CN_LINK_RECV, NULL, &recv_at);
	assert_true(recv_at);
	assert_int_equal(cn_relay_get_metrics(relay)->path_moves, moves);
	/* B answers: the link moves there, and b's packets follow. */
	raw_send(&w, fb, &(struct cn_link_msg){.type = CN_LINK_PATH_RESPONSE, .token = token});
	run_for(100);
	assert_int_equal(cn_relay_get_metrics(relay)->path_moves, moves + 1);
	recv_at = false;
	assert_int_equal(cn_relay_client_send_packet(b.c, a.id->ed_pk, pkt, sizeof(pkt)), 0);
	run_for(200);
	raw_drain_udp(&w, fb, NULL, CN_LINK_RECV, NULL, &recv_at);
	assert_true(recv_at);
	close(fb);
	raw_close(&w);
	node_drop(&b);
}

/*
 * A NAT between a's relay client and the relay: the client talks to F,
 * which forwards from its outside socket (n[cur]) to the relay and back.
 * Rebinding = a new outside socket, the old one closed.
 */
struct nat {
	int f, n[2], cur;
	struct sockaddr_storage client;
	socklen_t client_len;
	struct sockaddr_in relay;
	struct event *ev[3];
};

static void nat_inside_cb(evutil_socket_t fd, short what, void *arg)
{
	struct nat *t = arg;
	uint8_t buf[2048];
	ssize_t r;

	(void)what;
	t->client_len = sizeof(t->client);
	while ((r = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&t->client,
			     &t->client_len)) > 0)
		(void)sendto(t->n[t->cur], buf, (size_t)r, 0, (struct sockaddr *)&t->relay,
			     sizeof(t->relay));
}

static void nat_outside_cb(evutil_socket_t fd, short what, void *arg)
{
	struct nat *t = arg;
	uint8_t buf[2048];
	ssize_t r;

	(void)what;
	while ((r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
		(void)sendto(t->f, buf, (size_t)r, 0, (struct sockaddr *)&t->client, t->client_len);
}

/*
 * A genuine rebinding: a's relay client behind the NAT gets a new outside
 * address. The relay challenges it, the client answers, the link moves,
 * and b's packets reach a again.
 */
static void test_udp_rebinding_follows_after_challenge(void **state)
{
	struct cn_relay_client_opts o = {.id = a.id, .network = "test", .udp = true};
	struct cn_errbuf e = {{0}};
	struct nat t = {.cur = 0};
	struct sockaddr_in fin;
	socklen_t fl = sizeof(fin);
	uint64_t moves;
	uint8_t pkt[100] = {2};
	char addr[64];

	(void)state;
	t.f = udp_socket("127.0.0.1");
	t.n[0] = udp_socket("127.0.0.1");
	t.n[1] = udp_socket("127.0.0.1");
	t.relay = (struct sockaddr_in){.sin_family = AF_INET,
				       .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				       .sin_port = htons((uint16_t)cn_relay_udp_port(relay))};
	t.ev[0] = event_new(base, t.f, EV_READ | EV_PERSIST, nat_inside_cb, &t);
	t.ev[1] = event_new(base, t.n[0], EV_READ | EV_PERSIST, nat_outside_cb, &t);
	t.ev[2] = event_new(base, t.n[1], EV_READ | EV_PERSIST, nat_outside_cb, &t);
	for (int i = 0; i < 3; i++)
		assert_int_equal(event_add(t.ev[i], NULL), 0);
	assert_int_equal(getsockname(t.f, (struct sockaddr *)&fin, &fl), 0);
	node_connect(&b, b.id, false);
	node_drop(&a);
	a.up = a.down = false;
	a.received = 0;
	memcpy(o.relay_key, relay_id->ed_pk, CN_KEY_LEN);
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", ntohs(fin.sin_port));
	assert_int_equal(cn_addr_parse(addr, &o.addr), 0);
	a.c = cn_relay_client_new(base, &o, &cbs, &a, &e);
	assert_non_null(a.c);
	assert_true(run_until(&a.up, 3000));
	run_for(100);
	assert_int_equal(cn_relay_client_send_packet(b.c, a.id->ed_pk, pkt, sizeof(pkt)), 0);
	run_for(200);
	assert_int_equal(a.received, 1);
	/* Rebinding: the NAT's old mapping is gone. */
	moves = cn_relay_get_metrics(relay)->path_moves;
	event_free(t.ev[1]);
	t.ev[1] = NULL;
	close(t.n[0]);
	t.cur = 1;
	assert_int_equal(cn_relay_client_ping(a.c), 0);
	run_for(300);
	assert_int_equal(cn_relay_get_metrics(relay)->path_moves, moves + 1);
	assert_int_equal(cn_relay_client_send_packet(b.c, a.id->ed_pk, pkt, sizeof(pkt)), 0);
	run_for(200);
	assert_int_equal(a.received, 2);
	node_drop(&a);
	node_drop(&b);
	for (int i = 0; i < 3; i++)
		if (t.ev[i])
			event_free(t.ev[i]);
	close(t.f);
	close(t.n[1]);
}

/* ---- d. STUN amplification ---- */

/* A STUN request of each form a client may send, into buf; returns its length. */
static size_t stun_form(int form, uint8_t *buf)
{
	static const uint8_t tid[CN_STUN_TID_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
	static const uint8_t cookie[4] = {0x21, 0x12, 0xa4, 0x42};
	size_t len = 0;

	memset(buf, 0, 64);
	buf[1] = 0x01; /* Binding Request */
	memcpy(buf + 4, cookie, 4);
	memcpy(buf + 8, tid, sizeof(tid));
	switch (form) {
	case 0: /* RFC 8489, bare (20) */
		return 20;
	case 1: /* RFC 8489 with SOFTWARE and FINGERPRINT: netcheck, the node-wide socket (52) */
		assert_int_equal(
			cn_stun_encode_binding_request(tid, CN_STUN_CLIENT_SOFTWARE, buf, 64, &len),
			0);
		return len;
	case 2: /* RFC 3489, bare: libnice (20) */
		memset(buf + 4, 9, 4);
		return 20;
	case 3: /* RFC 3489 with CHANGE-REQUEST 0: Debian's stun (28) */
		memset(buf + 4, 9, 4);
		buf[3] = 8;
		buf[21] = 0x03;
		buf[23] = 4;
		return 28;
	case 4: /* RFC 8489 with an unknown comprehension-required attribute: 420 (24) */
		buf[3] = 4;
		buf[21] = 0x7f;
		return 24;
	case 5: /* RFC 8489 with CHANGE-REQUEST flags: 420 (28) */
		buf[3] = 8;
		buf[21] = 0x03;
		buf[23] = 4;
		buf[27] = CN_STUN_CHANGE_PORT;
		return 28;
	default: /* RFC 3489 with change flags: never answered (28) */
		memset(buf + 4, 9, 4);
		buf[3] = 8;
		buf[21] = 0x03;
		buf[23] = 4;
		buf[27] = CN_STUN_CHANGE_IP;
		return 28;
	}
}

/*
 * For every request form, on the STUN port and the link port, each from
 * its own address: what the relay sends back never adds up to more than
 * what was sent, no answer carries SOFTWARE (a netcheck request gets
 * exactly XOR-MAPPED-ADDRESS and FINGERPRINT, on the first try), and every
 * answerable form is answered once the client retries. Before: a bare request got 56
 * bytes back.
 */
static void test_stun_never_answers_more_than_asked(void **state)
{
	uint8_t req[64], ans[512];

	(void)state;
	for (int port_kind = 0; port_kind < 2; port_kind++)
		for (int form = 0; form <= 6; form++) {
			struct sockaddr_in to = {.sin_family = AF_INET,
						 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
			char ip[32];
			size_t len = stun_form(form, req), sent = 0, got = 0;
			unsigned int answers = 0;
			int fd;

			snprintf(ip, sizeof(ip), "127.0.%d.%d", 10 + port_kind, 10 + form);
			fd = udp_socket(ip);
			to.sin_port = htons((uint16_t)(port_kind ? cn_relay_udp_port(relay)
								 : cn_relay_stun_port(relay)));
			for (int retry = 0; retry < 4; retry++) {
				ssize_t r;

				assert_int_equal(
					sendto(fd, req, len, 0, (struct sockaddr *)&to, sizeof(to)),
					(ssize_t)len);
				sent += len;
				run_for(30);
				while ((r = recv(fd, ans, sizeof(ans), MSG_DONTWAIT)) > 0) {
					got += (size_t)r;
					answers++;
					if (form == 1)
						assert_int_equal(r, 20 + 12 + 8);
				}
				assert_true(got <= sent);
				/* Ours are answered at once, not on the retry. */
				if (form == 1 && retry == 0)
					assert_int_equal(answers, 1);
			}
			if (form <= 5)
				assert_true(answers > 0);
			else
				assert_int_equal(answers, 0);
			close(fd);
		}
}

/* A flood of requests from one source is cut off at the per-source rate. */
static void test_stun_flood_cut_off(void **state)
{
	const struct cn_relay_metrics *m = cn_relay_get_metrics(relay);
	struct sockaddr_in to = {.sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				 .sin_port = htons((uint16_t)cn_relay_stun_port(relay))};
	uint64_t limited = m->stun_ratelimited, start = mono_ms();
	uint8_t req[64], ans[512];
	size_t len = stun_form(1, req);
	unsigned int answers = 0;
	int fd = udp_socket("127.0.0.40");

	(void)state;
	for (int i = 0; i < 1000; i++) {
		sendto(fd, req, len, 0, (struct sockaddr *)&to, sizeof(to));
		if (i % 50 == 0)
			run_once();
		while (recv(fd, ans, sizeof(ans), MSG_DONTWAIT) > 0)
			answers++;
	}
	run_for(100);
	while (recv(fd, ans, sizeof(ans), MSG_DONTWAIT) > 0)
		answers++;
	/* The burst, and the rate for the time it took (at most a few seconds). */
	assert_true(answers <= 50 + 20 * (1 + (mono_ms() - start) / 1000));
	assert_true(answers > 0);
	m = cn_relay_get_metrics(relay);
	assert_true(m->stun_ratelimited > limited);
	close(fd);
}

/* ---- b'. a WATCH snapshot bigger than the cap ---- */

/* Reads TCP frames that arrived on w; counts PRESENCE "here" notices. */
static void raw_read_tcp(struct raw *w, unsigned int *here)
{
	ssize_t r;

	while ((r = recv(w->fd, w->in + w->in_len, sizeof(w->in) - w->in_len, MSG_DONTWAIT)) > 0)
		w->in_len += (size_t)r;
	for (;;) {
		const uint8_t *msg;
		size_t msg_len, used, pt = 0;
		uint8_t buf[2048];
		struct cn_link_msg m;

		if (cn_tcp_frame_next(w->in, w->in_len, CN_TCP_FRAME_MAX, &msg, &msg_len, &used))
			return;
		if (msg_len <= sizeof(buf) && msg_len >= CN_SESSION_OVERHEAD) {
			memcpy(buf, msg, msg_len);
			if (cn_session_decrypt(&w->s, mono_ms(), buf, msg_len,
					       buf + CN_SESSION_HEADER_LEN,
					       msg_len - CN_SESSION_HEADER_LEN, &pt) == 0 &&
			    pt && cn_link_decode(buf + CN_SESSION_HEADER_LEN, pt, &m) == 0 &&
			    m.type == CN_LINK_PRESENCE && m.flag)
				(*here)++;
		}
		memmove(w->in, w->in + used, w->in_len - used);
		w->in_len -= used;
	}
}

/*
 * Takes the handshake responses waiting on fd (n links with indexes 1..n)
 * and confirms each link with a keepalive; returns how many it confirmed.
 */
static unsigned int confirm_links(int fd, const struct sockaddr_in *to, struct cn_handshake *hs,
				  struct cn_session *ss, unsigned int n)
{
	uint8_t buf[256];
	unsigned int confirmed = 0;
	ssize_t r;

	while ((r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		enum cn_msg_type type;
		uint32_t index;
		size_t klen = 0;

		if (cn_handshake_classify(buf, (size_t)r, &type, &index) != 0 ||
		    type != CN_MSG_RESPONSE || index < 1 || index > n ||
		    cn_handshake_consume_response(&hs[index - 1], buf, (size_t)r, mono_ms(),
						  &ss[index - 1]) != 0)
			continue;
		assert_int_equal(cn_session_encrypt(&ss[index - 1], mono_ms(),
						    buf + CN_SESSION_HEADER_LEN, 0, buf,
						    sizeof(buf), &klen),
				 0);
		sendto(fd, buf, klen, 0, (const struct sockaddr *)to, sizeof(*to));
		confirmed++;
	}
	return confirmed;
}

/*
 * 1000 peers are here (UDP links from one socket); b watches over TCP. Its
 * snapshot (1000 PRESENCE, ~68 KB) is more than max_buffered (64 KB): it
 * is paced, so b gets all of it and its queue stays near a quarter of the
 * cap. Without the pacing the snapshot passed the cap and the relay closed
 * a watcher that did nothing wrong.
 */
static void test_watch_snapshot_paced(void **state)
{
	enum { N = 1000 };
	struct cn_identity **ids = calloc(N, sizeof(*ids));
	struct cn_handshake *hs = calloc(N, sizeof(*hs));
	struct cn_session *ss = calloc(N, sizeof(*ss));
	struct cn_peerlist *pl = NULL;
	struct cn_errbuf e = {{0}};
	char *body = NULL, *text = NULL;
	size_t body_len, len;
	uint8_t relay_x[CN_KEY_LEN], ts[CN_TAI64N_LEN], buf[256];
	struct sockaddr_in to = {.sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				 .sin_port = htons((uint16_t)cn_relay_udp_port(relay))};
	struct timespec now;
	unsigned int confirmed = 0, here = 0;
	uint64_t closed = cn_relay_get_metrics(relay)->links_closed_overflow, end;
	struct raw w;
	int fd = udp_socket("127.0.0.50");

	(void)state;
	assert_non_null(ids);
	assert_non_null(hs);
	assert_non_null(ss);
	assert_int_equal(
		cn_peerlist_new("test", "test.cairn", "10.99.0.0/20", "fd00:99::/64", &pl, &e), 0);
	pl->serial = serial++;
	assert_int_equal(
		cn_peerlist_add_relay(pl, "relay1", relay_id->ed_pk, "127.0.0.1", 443, 3478, &e),
		0);
	assert_int_equal(cn_peerlist_add_peer(pl, "a", a.id->ed_pk, NULL, 0, NULL, NULL, &e), 0);
	assert_int_equal(cn_peerlist_add_peer(pl, "b", b.id->ed_pk, NULL, 0, NULL, NULL, &e), 0);
	for (int i = 0; i < N; i++) {
		char name[16];

		snprintf(name, sizeof(name), "n%d", i);
		assert_int_equal(cn_identity_generate(&ids[i]), 0);
		assert_int_equal(
			cn_peerlist_add_peer(pl, name, ids[i]->ed_pk, NULL, 0, NULL, NULL, &e), 0);
	}
	assert_int_equal(cn_peerlist_format(pl, &body, &body_len), 0);
	assert_int_equal(
		cn_peerlist_sign((const uint8_t *)body, body_len, root_id, &text, &len, &e), 0);
	assert_int_equal(cn_file_write_atomic(list_path, text, len, 0644, &e), 0);
	assert_int_equal(cn_relay_reload(relay), 0);
	/* N handshakes from one socket (links are told apart by index). */
	assert_int_equal(cn_key_ed_to_x(relay_id->ed_pk, relay_x), 0);
	clock_gettime(CLOCK_REALTIME, &now);
	cn_handshake_tai64n(ts, (uint64_t)now.tv_sec, (uint32_t)now.tv_nsec);
	for (int i = 0; i < N; i++) {
		struct cn_handshake_local local;

		assert_int_equal(cn_handshake_local_init(&local, ids[i], "test"), 0);
		assert_int_equal(cn_handshake_create_initiation(&hs[i], &local, relay_x,
								(uint32_t)i + 1, ts, NULL, buf),
				 0);
		sodium_memzero(&local, sizeof(local));
		sendto(fd, buf, CN_HANDSHAKE_INITIATION_LEN, 0, (struct sockaddr *)&to, sizeof(to));
		if (i % 20 == 0) {
			run_once();
			confirmed += confirm_links(fd, &to, hs, ss, N);
		}
	}
	end = mono_ms() + 10000;
	while (confirmed < N && mono_ms() < end) {
		run_once();
		confirmed += confirm_links(fd, &to, hs, ss, N);
	}
	assert_int_equal(confirmed, N);
	run_for(200);
	assert_true(cn_relay_get_metrics(relay)->links_udp >= N);
	/* b watches over TCP and reads everything. */
	raw_open(&w, b.id, true, 0);
	raw_send(&w, -1, &(struct cn_link_msg){.type = CN_LINK_WATCH, .flag = 1});
	end = mono_ms() + 5000;
	while (here < N && mono_ms() < end) {
		run_once();
		raw_read_tcp(&w, &here);
	}
	assert_true(here >= N); /* and a, if an earlier test left it here */
	assert_int_equal(cn_relay_get_metrics(relay)->links_closed_overflow, closed);
	/* Paced at a quarter of the cap, plus one notice. */
	assert_true(cn_relay_get_metrics(relay)->tcp_queue_peak <= MAX_BUFFERED / 4 + 128);
	raw_close(&w);
	close(fd);
	for (int i = 0; i < N; i++) {
		cn_session_wipe(&ss[i]);
		cn_handshake_wipe(&hs[i]);
		cn_identity_free(ids[i]);
	}
	free(ids);
	free(hs);
	free(ss);
	free(body);
	free(text);
	cn_peerlist_free(pl);
	restore_list();
}

/* ---- handshake cost: cookies under load ---- */

/*
 * A relay that counts more than one handshake a second as load answers
 * further initiations without mac2 with a 64-byte cookie reply instead of
 * spending two X25519 on them; the relay client proves its address with the
 * cookie at once and comes up, over UDP and over TCP.
 */
static void test_cookie_under_load(void **state)
{
	struct cn_relay_config c2 = cfg;
	struct cn_errbuf e = {{0}};
	struct cn_relay *saved = relay;

	(void)state;
	c2.limits.handshake_load = 1;
	relay = cn_relay_new(base, &c2, &e);
	assert_non_null(relay);
	node_connect(&a, a.id, true);
	node_connect(&b, b.id, true);
	assert_int_equal(cn_relay_get_metrics(relay)->handshake_cookie_replies, 0);
	/* Under load now: the next ones need a cookie, and get one. */
	node_connect(&a, a.id, true);
	assert_true(cn_relay_get_metrics(relay)->handshake_cookie_replies >= 1);
	node_connect(&b, b.id, false);
	assert_true(cn_relay_get_metrics(relay)->handshake_cookie_replies >= 2);
	assert_true(a.up && b.up);
	node_drop(&a);
	node_drop(&b);
	cn_relay_free(relay);
	relay = saved;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_upload_without_own_key_tcp),
		cmocka_unit_test(test_upload_without_own_key_udp),
		cmocka_unit_test(test_watch_snapshot_paced), /* before: it reads the queue peak */
		cmocka_unit_test(test_pings_never_read),
		cmocka_unit_test(test_upload_slots_per_peer),
		cmocka_unit_test(test_client_relay_never_reads),
		cmocka_unit_test(test_udp_new_address_gets_only_a_challenge),
		cmocka_unit_test(test_udp_rebinding_follows_after_challenge),
		cmocka_unit_test(test_stun_never_answers_more_than_asked),
		cmocka_unit_test(test_stun_flood_cut_off),
		cmocka_unit_test(test_cookie_under_load),
	};

	if (sodium_init() < 0)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	if (getenv("CN_TEST_FILTER")) /* one test: CN_TEST_FILTER=test_name */
		cmocka_set_test_filter(getenv("CN_TEST_FILTER"));
	return cmocka_run_group_tests(tests, setup, teardown);
}
