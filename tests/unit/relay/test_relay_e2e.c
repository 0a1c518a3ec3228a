/* SPDX-License-Identifier: MIT */
/*
 * A relay cannot read or alter what it forwards. Two nodes' relay clients
 * and a cairn-relay in one process on 127.0.0.1 (as in test_relay.c); the
 * nodes run their end-to-end handshake and data through the relay, as the
 * node does when no direct path exists. The test relay is the real relay
 * code with one seam: this binary is linked with --wrap=cn_link_decode, so
 * every link message the relay (or a client) decodes passes through
 * __wrap_cn_link_decode below, which records what the relay was asked to
 * forward (CN_LINK_SEND, decoded only by the relay) and can flip one bit
 * of it before the relay forwards it - what a compromised relay could do.
 *
 *   - the relay forwards the handshake and the data, but the plaintext is
 *     in none of the bytes it handled (it holds no session key: the keys
 *     come from the nodes' identities and ephemerals only);
 *   - a bit flipped in forwarded data: the receiver's session refuses it
 *     (-CN_EDECRYPT), the next genuine packet still decrypts;
 *   - a bit flipped in a forwarded handshake initiation: the responder
 *     refuses it and the record of the initiator is unchanged, a genuine
 *     retry completes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>
#include <sodium.h>

#include "common/addr.h"
#include "common/err.h"
#include "common/file.h"
#include "common/log.h"
#include "crypto/handshake.h"
#include "crypto/keys.h"
#include "crypto/peerlist.h"
#include "crypto/session.h"
#include "relay/link.h"
#include "relay/relay.h"
#include "relay/relay_client.h"
#include "relay/relay_config.h"

/* ---- the seam: what the relay is asked to forward ---- */

int __real_cn_link_decode(const uint8_t *buf, size_t len, struct cn_link_msg *m);
int __wrap_cn_link_decode(const uint8_t *buf, size_t len, struct cn_link_msg *m);

enum { SEEN_MAX = 256 * 1024 };
static uint8_t seen[SEEN_MAX]; /* every SEND payload the relay decoded, back to back */
static size_t seen_len;
static unsigned int sends;
static bool flip_next; /* flip one bit of the next SEND payload's last byte */

int __wrap_cn_link_decode(const uint8_t *buf, size_t len, struct cn_link_msg *m)
{
	int ret = __real_cn_link_decode(buf, len, m);

	if (ret != 0 || m->type != CN_LINK_SEND)
		return ret;
	sends++;
	if (seen_len + m->data_len <= sizeof(seen)) {
		memcpy(seen + seen_len, m->data, m->data_len);
		seen_len += m->data_len;
	}
	if (flip_next && m->data_len > 0) {
		/* The relay's own decrypted buffer, writable; const only in the API. */
		uint8_t *p = (uint8_t *)(uintptr_t)m->data;

		p[m->data_len - 1] ^= 0x01;
		flip_next = false;
	}
	return ret;
}

/* ---- relay and clients ---- */

struct node {
	struct cn_identity *id;
	struct cn_relay_client *c;
	bool up;
	unsigned int received;
	uint8_t last[2048];
	size_t last_len;
};

static struct event_base *base;
static struct cn_relay *relay;
static struct cn_relay_config cfg;
static struct cn_identity *root_id, *relay_id;
static struct node a, b;
static char dir[64];

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static bool wait_for(const unsigned int *v, unsigned int want, unsigned int max_ms)
{
	uint64_t end = mono_ms() + max_ms;

	while (*v < want && mono_ms() < end)
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK), usleep(200);
	return *v >= want;
}

static bool wait_up(const bool *up, unsigned int max_ms)
{
	uint64_t end = mono_ms() + max_ms;

	while (!*up && mono_ms() < end)
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK), usleep(200);
	return *up;
}

static void on_up(struct cn_relay_client *c, void *arg)
{
	(void)c;
	((struct node *)arg)->up = true;
}

static void on_down(struct cn_relay_client *c, void *arg, const char *why)
{
	(void)c;
	(void)why;
	((struct node *)arg)->up = false;
}

static void on_msg(struct cn_relay_client *c, void *arg, const struct cn_link_msg *m)
{
	struct node *n = arg;

	(void)c;
	if (m->type != CN_LINK_RECV || m->data_len > sizeof(n->last))
		return;
	memcpy(n->last, m->data, m->data_len);
	n->last_len = m->data_len;
	n->received++;
}

static const struct cn_relay_client_cbs cbs = {on_up, on_down, on_msg, NULL};

static void connect_node(struct node *n)
{
	struct cn_relay_client_opts o = {.id = n->id, .network = "test", .udp = true};
	struct cn_errbuf e = {{0}};
	char addr[64];

	memcpy(o.relay_key, relay_id->ed_pk, CN_KEY_LEN);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", cn_relay_udp_port(relay));
	assert_int_equal(cn_addr_parse(addr, &o.addr), 0);
	n->c = cn_relay_client_new(base, &o, &cbs, n, &e);
	assert_non_null(n->c);
	assert_true(wait_up(&n->up, 3000));
}

/* from -> to through the relay, retried until it arrives (the first may find `to` not there). */
static void relay_send(struct node *from, struct node *to, const uint8_t *pkt, size_t len)
{
	unsigned int before = to->received;

	for (int i = 0; i < 10; i++) {
		assert_int_equal(cn_relay_client_send_packet(from->c, to->id->ed_pk, pkt, len), 0);
		if (wait_for(&to->received, before + 1, 300))
			return;
	}
	fail_msg("nothing arrived through the relay");
}

static int setup(void **state)
{
	char config[2048], key_path[128], list_path[128], root_text[CN_KEY_TEXT_LEN + 1];
	struct cn_peerlist *pl = NULL;
	struct cn_errbuf e = {{0}};
	char *body = NULL, *text = NULL;
	size_t body_len, len;

	(void)state;
	cn_log_set_level(getenv("CN_TEST_DEBUG") ? CN_LOG_DEBUG : CN_LOG_WARN);
	snprintf(dir, sizeof(dir), "/tmp/cn_test_relay_e2e.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	if (cn_identity_generate(&root_id) || cn_identity_generate(&relay_id) ||
	    cn_identity_generate(&a.id) || cn_identity_generate(&b.id))
		return -1;
	if (cn_peerlist_new("test", "test.cairn", "10.99.0.0/24", "fd00:99::/64", &pl, &e) ||
	    cn_peerlist_add_relay(pl, "relay1", relay_id->ed_pk, "127.0.0.1", 443, 3478, &e) ||
	    cn_peerlist_add_peer(pl, "a", a.id->ed_pk, NULL, 0, NULL, NULL, &e) ||
	    cn_peerlist_add_peer(pl, "b", b.id->ed_pk, NULL, 0, NULL, NULL, &e) ||
	    cn_peerlist_format(pl, &body, &body_len) ||
	    cn_peerlist_sign((const uint8_t *)body, body_len, root_id, &text, &len, &e))
		return -1;
	snprintf(list_path, sizeof(list_path), "%s/peers.conf", dir);
	if (cn_file_write_atomic(list_path, text, len, 0644, &e))
		return -1;
	free(text);
	free(body);
	cn_peerlist_free(pl);
	snprintf(key_path, sizeof(key_path), "%s/relay.key", dir);
	if (cn_keyfile_write(key_path, relay_id, false, &e))
		return -1;
	cn_key_to_text(root_id->ed_pk, root_text);
	snprintf(config, sizeof(config),
		 "identity_key = \"%s\";\nroot_key = \"%s\";\npeer_list = \"%s\";\n"
		 "state_dir = \"%s/state\";\n"
		 "listen = { tcp = [\"127.0.0.1:0\"]; udp = [\"127.0.0.1:0\"];\n"
		 "  stun = [\"127.0.0.1:0\"]; metrics = \"127.0.0.1:0\"; };\n",
		 key_path, root_text, list_path, dir);
	if (cn_relay_config_parse(config, &cfg, &e))
		return -1;
	base = event_base_new();
	relay = cn_relay_new(base, &cfg, &e);
	return relay ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	cn_relay_client_free(a.c);
	cn_relay_client_free(b.c);
	cn_relay_free(relay);
	event_base_free(base);
	cn_identity_free(root_id);
	cn_identity_free(relay_id);
	cn_identity_free(a.id);
	cn_identity_free(b.id);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

/* ---- the end-to-end session, run through the relay ---- */

static struct cn_handshake_peer b_knows_a;

static struct cn_handshake_peer *lookup(void *ctx, const uint8_t x_pk[CN_KEY_LEN])
{
	(void)ctx;
	return sodium_memcmp(x_pk, b_knows_a.x_pk, CN_KEY_LEN) == 0 ? &b_knows_a : NULL;
}

static void tai64n_now(uint8_t ts[static CN_TAI64N_LEN])
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	cn_handshake_tai64n(ts, (uint64_t)now.tv_sec, (uint32_t)now.tv_nsec);
}

static void test_relay_cannot_read_or_alter(void **state)
{
	static const char secret[] = "what only a and b may read: 7f3a9c1e5b2d4680";
	struct cn_handshake_local la, lb;
	struct cn_handshake ha, hb;
	struct cn_handshake_peer *hp = NULL, before;
	struct cn_session sa, sb;
	uint8_t ts[CN_TAI64N_LEN], init[CN_HANDSHAKE_INITIATION_LEN];
	uint8_t resp[CN_HANDSHAKE_RESPONSE_LEN], msg[256], pt[256];
	size_t len = 0, pt_len = 0;
	uint64_t now = mono_ms();

	(void)state;
	connect_node(&a);
	connect_node(&b);
	assert_int_equal(cn_handshake_local_init(&la, a.id, "test"), 0);
	assert_int_equal(cn_handshake_local_init(&lb, b.id, "test"), 0);
	cn_handshake_peer_init(&b_knows_a, a.id->x_pk);

	/* A flipped bit in the initiation: refused, b's record of a unchanged. */
	tai64n_now(ts);
	assert_int_equal(cn_handshake_create_initiation(&ha, &la, b.id->x_pk, 1, ts, NULL, init),
			 0);
	cn_handshake_wipe(&ha);
	before = b_knows_a;
	flip_next = true;
	relay_send(&a, &b, init, sizeof(init));
	assert_false(flip_next);
	assert_int_equal(b.last_len, sizeof(init));
	assert_memory_not_equal(b.last, init, sizeof(init));
	assert_int_not_equal(
		cn_handshake_consume_initiation(&hb, &lb, b.last, b.last_len, lookup, NULL, &hp),
		0);
	assert_null(hp);
	assert_memory_equal(&before, &b_knows_a, sizeof(before));

	/* A genuine handshake through the relay. */
	usleep(20000); /* a new timestamp (whitened to 2^24 ns) */
	tai64n_now(ts);
	assert_int_equal(cn_handshake_create_initiation(&ha, &la, b.id->x_pk, 2, ts, NULL, init),
			 0);
	relay_send(&a, &b, init, sizeof(init));
	assert_memory_equal(b.last, init, sizeof(init));
	assert_int_equal(
		cn_handshake_consume_initiation(&hb, &lb, b.last, b.last_len, lookup, NULL, &hp),
		0);
	assert_ptr_equal(hp, &b_knows_a);
	assert_int_equal(cn_handshake_create_response(&hb, 3, NULL, now, resp, &sb), 0);
	relay_send(&b, &a, resp, sizeof(resp));
	assert_int_equal(cn_handshake_consume_response(&ha, a.last, a.last_len, now, &sa), 0);

	/* Data: genuine, then with one bit flipped by the relay, then genuine again. */
	assert_int_equal(cn_session_encrypt(&sa, now, (const uint8_t *)secret, sizeof(secret), msg,
					    sizeof(msg), &len),
			 0);
	relay_send(&a, &b, msg, len);
	assert_int_equal(cn_session_decrypt(&sb, now, b.last, b.last_len, pt, sizeof(pt), &pt_len),
			 0);
	assert_int_equal(pt_len, sizeof(secret));
	assert_memory_equal(pt, secret, sizeof(secret));

	assert_int_equal(cn_session_encrypt(&sa, now, (const uint8_t *)secret, sizeof(secret), msg,
					    sizeof(msg), &len),
			 0);
	flip_next = true;
	relay_send(&a, &b, msg, len);
	assert_false(flip_next);
	assert_int_equal(cn_session_decrypt(&sb, now, b.last, b.last_len, pt, sizeof(pt), &pt_len),
			 -CN_EDECRYPT);

	assert_int_equal(cn_session_encrypt(&sa, now, (const uint8_t *)secret, sizeof(secret), msg,
					    sizeof(msg), &len),
			 0);
	relay_send(&a, &b, msg, len);
	assert_int_equal(cn_session_decrypt(&sb, now, b.last, b.last_len, pt, sizeof(pt), &pt_len),
			 0);
	assert_memory_equal(pt, secret, sizeof(secret));

	/* The relay forwarded all of it, and the plaintext was in none of it. */
	assert_true(sends >= 5);
	assert_true(seen_len > 0 && seen_len < sizeof(seen));
	assert_null(memmem(seen, seen_len, secret, sizeof(secret) - 1));
	assert_null(memmem(seen, seen_len, "7f3a9c1e5b2d4680", 16));
	cn_session_wipe(&sa);
	cn_session_wipe(&sb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_relay_cannot_read_or_alter, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
