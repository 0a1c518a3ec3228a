/* SPDX-License-Identifier: MIT */
/*
 * The Noise core against the Noise_IK_25519_ChaChaPoly_BLAKE2b test vector
 * (tests/data/noise/, from cacophony): both handshake messages, all four
 * transport messages and the handshake hash, byte for byte, once playing
 * the initiator against the vector's responder bytes and once playing the
 * responder. Also the state machine's refusals and its "unchanged on
 * failure" rule.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "common/err.h"
#include "crypto/noise.h"

#define VECTOR_FILE CN_TEST_DATA "/noise/Noise_IK_25519_ChaChaPoly_BLAKE2b.txt"

enum { FIELD_MAX = 256, NMSG = 6 };

struct field {
	uint8_t b[FIELD_MAX];
	size_t len;
	bool set;
};

struct vector {
	char protocol_name[64];
	struct field init_prologue, init_static, init_ephemeral, init_remote_static;
	struct field resp_prologue, resp_static, resp_ephemeral, handshake_hash;
	struct field payload[NMSG], ciphertext[NMSG];
};

static struct vector vec;

static struct field *field_by_name(const char *name)
{
	static const struct {
		const char *name;
		size_t off;
	} fixed[] = {
		{"init_prologue", offsetof(struct vector, init_prologue)},
		{"init_static", offsetof(struct vector, init_static)},
		{"init_ephemeral", offsetof(struct vector, init_ephemeral)},
		{"init_remote_static", offsetof(struct vector, init_remote_static)},
		{"resp_prologue", offsetof(struct vector, resp_prologue)},
		{"resp_static", offsetof(struct vector, resp_static)},
		{"resp_ephemeral", offsetof(struct vector, resp_ephemeral)},
		{"handshake_hash", offsetof(struct vector, handshake_hash)},
	};
	unsigned int i;
	char kind[16];

	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (strcmp(name, fixed[i].name) == 0)
			return (struct field *)((char *)&vec + fixed[i].off);
	if (sscanf(name, "msg%u_%15s", &i, kind) == 2 && i < NMSG) {
		if (strcmp(kind, "payload") == 0)
			return &vec.payload[i];
		if (strcmp(kind, "ciphertext") == 0)
			return &vec.ciphertext[i];
	}
	return NULL;
}

/* Reads "key hex" lines; '#' starts a comment line. Fails the test on junk. */
static int load_vector(void **state)
{
	char line[1024];
	FILE *f = fopen(VECTOR_FILE, "r");

	(void)state;
	assert_non_null(f);
	memset(&vec, 0, sizeof(vec));
	while (fgets(line, sizeof(line), f)) {
		char *key = line, *val;
		const char *end = NULL;
		struct field *fld;

		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		val = strchr(line, ' ');
		assert_non_null(val);
		*val++ = '\0';
		if (strcmp(key, "protocol_name") == 0) {
			assert_true(strlen(val) < sizeof(vec.protocol_name));
			strcpy(vec.protocol_name, val);
			continue;
		}
		fld = field_by_name(key);
		assert_non_null(fld);
		assert_int_equal(sodium_hex2bin(fld->b, sizeof(fld->b), val, strlen(val), NULL,
						&fld->len, &end),
				 0);
		assert_int_equal(*end, '\0');
		fld->set = true;
	}
	fclose(f);
	assert_string_equal(vec.protocol_name, CN_NOISE_PROTOCOL_NAME);
	assert_true(vec.init_prologue.set && vec.init_static.set && vec.init_ephemeral.set);
	assert_true(vec.init_remote_static.set && vec.resp_prologue.set && vec.resp_static.set);
	assert_true(vec.resp_ephemeral.set && vec.handshake_hash.set);
	assert_int_equal(vec.init_static.len, 32);
	assert_int_equal(vec.resp_static.len, 32);
	assert_int_equal(vec.handshake_hash.len, 64);
	for (int i = 0; i < NMSG; i++)
		assert_true(vec.payload[i].set && vec.ciphertext[i].set);
	return 0;
}

static void assert_field_equal(const uint8_t *got, size_t got_len, const struct field *want)
{
	assert_int_equal(got_len, want->len);
	assert_memory_equal(got, want->b, want->len);
}

/* Transport messages 2..5 alternate initiator->responder, responder->initiator. */
static void run_transport(struct cn_noise_cipher *send, struct cn_noise_cipher *recv,
			  bool initiator)
{
	uint8_t buf[FIELD_MAX + CN_NOISE_TAG_LEN];

	for (int i = 2; i < NMSG; i++) {
		bool mine = ((i % 2) == 0) == initiator;

		if (mine) {
			assert_int_equal(cn_noise_cipher_encrypt(send, NULL, 0, vec.payload[i].b,
								 vec.payload[i].len, buf),
					 0);
			assert_field_equal(buf, vec.payload[i].len + CN_NOISE_TAG_LEN,
					   &vec.ciphertext[i]);
		} else {
			assert_int_equal(cn_noise_cipher_decrypt(recv, NULL, 0, vec.ciphertext[i].b,
								 vec.ciphertext[i].len, buf),
					 0);
			assert_field_equal(buf, vec.ciphertext[i].len - CN_NOISE_TAG_LEN,
					   &vec.payload[i]);
		}
	}
	assert_int_equal(send->n, 2);
	assert_int_equal(recv->n, 2);
}

static void test_initiator_side(void **state)
{
	struct cn_noise_hs hs;
	struct cn_noise_cipher send, recv;
	uint8_t msg[FIELD_MAX], hash[CN_NOISE_HASH_LEN];
	size_t n = 99;

	(void)state;
	assert_int_equal(cn_noise_init_initiator(&hs, vec.init_prologue.b, vec.init_prologue.len,
						 vec.init_static.b, vec.init_remote_static.b),
			 0);
	assert_int_equal(cn_noise_write_msg1(&hs, vec.init_ephemeral.b, vec.payload[0].b,
					     vec.payload[0].len, msg, sizeof(msg), &n),
			 0);
	assert_field_equal(msg, n, &vec.ciphertext[0]);
	assert_int_equal(cn_noise_read_msg2(&hs, vec.ciphertext[1].b, vec.ciphertext[1].len, msg,
					    sizeof(msg), &n),
			 0);
	assert_field_equal(msg, n, &vec.payload[1]);
	assert_int_equal(cn_noise_split(&hs, &send, &recv, hash), 0);
	assert_memory_equal(hash, vec.handshake_hash.b, CN_NOISE_HASH_LEN);
	assert_int_equal(hs.state, CN_NOISE_EMPTY);
	run_transport(&send, &recv, true);
}

static void test_responder_side(void **state)
{
	struct cn_noise_hs hs;
	struct cn_noise_cipher send, recv;
	uint8_t msg[FIELD_MAX], hash[CN_NOISE_HASH_LEN], init_pub[32];
	size_t n = 99;

	(void)state;
	assert_int_equal(cn_noise_init_responder(&hs, vec.resp_prologue.b, vec.resp_prologue.len,
						 vec.resp_static.b),
			 0);
	assert_int_equal(cn_noise_read_msg1(&hs, vec.ciphertext[0].b, vec.ciphertext[0].len, msg,
					    sizeof(msg), &n),
			 0);
	assert_field_equal(msg, n, &vec.payload[0]);
	/* The responder learned the initiator's static key. */
	assert_int_equal(crypto_scalarmult_base(init_pub, vec.init_static.b), 0);
	assert_memory_equal(hs.rs, init_pub, 32);
	assert_int_equal(cn_noise_write_msg2(&hs, vec.resp_ephemeral.b, vec.payload[1].b,
					     vec.payload[1].len, msg, sizeof(msg), &n),
			 0);
	assert_field_equal(msg, n, &vec.ciphertext[1]);
	assert_int_equal(cn_noise_split(&hs, &send, &recv, hash), 0);
	assert_memory_equal(hash, vec.handshake_hash.b, CN_NOISE_HASH_LEN);
	run_transport(&send, &recv, false);
}

/* Every step refused in every state that does not allow it. */
static void test_state_machine(void **state)
{
	struct cn_noise_hs ini, resp, empty;
	struct cn_noise_cipher a, b;
	uint8_t msg[FIELD_MAX], pl[FIELD_MAX];
	size_t n, len;

	(void)state;
	memset(&empty, 0, sizeof(empty));
	assert_int_equal(cn_noise_write_msg1(&empty, NULL, NULL, 0, msg, sizeof(msg), &n),
			 -CN_ESTATE);
	assert_int_equal(cn_noise_read_msg1(&empty, msg, 96, pl, sizeof(pl), &n), -CN_ESTATE);
	assert_int_equal(cn_noise_split(&empty, &a, &b, NULL), -CN_ESTATE);

	assert_int_equal(
		cn_noise_init_initiator(&ini, NULL, 0, vec.init_static.b, vec.init_remote_static.b),
		0);
	assert_int_equal(cn_noise_init_responder(&resp, NULL, 0, vec.resp_static.b), 0);
	assert_int_equal(cn_noise_read_msg1(&ini, msg, 96, pl, sizeof(pl), &n), -CN_ESTATE);
	assert_int_equal(cn_noise_write_msg2(&ini, NULL, NULL, 0, msg, sizeof(msg), &n),
			 -CN_ESTATE);
	assert_int_equal(cn_noise_read_msg2(&ini, msg, 48, pl, sizeof(pl), &n), -CN_ESTATE);
	assert_int_equal(cn_noise_split(&ini, &a, &b, NULL), -CN_ESTATE);
	assert_int_equal(cn_noise_write_msg1(&resp, NULL, NULL, 0, msg, sizeof(msg), &n),
			 -CN_ESTATE);
	assert_int_equal(cn_noise_write_msg2(&resp, NULL, NULL, 0, msg, sizeof(msg), &n),
			 -CN_ESTATE);

	/* Live run with random ephemerals and empty prologue. */
	assert_int_equal(cn_noise_write_msg1(&ini, NULL, NULL, 0, msg, sizeof(msg), &len), 0);
	assert_int_equal(len, CN_NOISE_MSG1_OVERHEAD);
	assert_int_equal(cn_noise_write_msg1(&ini, NULL, NULL, 0, pl, sizeof(pl), &n), -CN_ESTATE);
	assert_int_equal(n, 0);
	assert_int_equal(cn_noise_read_msg1(&resp, msg, len, pl, sizeof(pl), &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(cn_noise_read_msg1(&resp, msg, 96, pl, sizeof(pl), &n), -CN_ESTATE);
	assert_int_equal(cn_noise_split(&resp, &a, &b, NULL), -CN_ESTATE);
	assert_int_equal(cn_noise_write_msg2(&resp, NULL, NULL, 0, msg, sizeof(msg), &len), 0);
	assert_int_equal(len, CN_NOISE_MSG2_OVERHEAD);
	assert_int_equal(cn_noise_read_msg2(&ini, msg, len, pl, sizeof(pl), &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(cn_noise_split(&ini, &a, &b, NULL), 0);
	assert_int_equal(cn_noise_split(&ini, &a, &b, NULL), -CN_ESTATE);
	cn_noise_hs_wipe(&resp);
	cn_noise_cipher_wipe(&a);
	cn_noise_cipher_wipe(&b);
}

/* A forged message leaves the state as it was; the genuine one still works. */
static void test_failure_leaves_state(void **state)
{
	struct cn_noise_hs hs, before;
	uint8_t msg[FIELD_MAX], pl[FIELD_MAX];
	size_t n = 0;

	(void)state;
	assert_int_equal(cn_noise_init_responder(&hs, vec.resp_prologue.b, vec.resp_prologue.len,
						 vec.resp_static.b),
			 0);
	memcpy(&before, &hs, sizeof(hs));
	for (size_t i = 0; i < vec.ciphertext[0].len; i++) {
		memcpy(msg, vec.ciphertext[0].b, vec.ciphertext[0].len);
		msg[i] ^= 0x01;
		assert_true(cn_noise_read_msg1(&hs, msg, vec.ciphertext[0].len, pl, sizeof(pl),
					       &n) < 0);
		assert_int_equal(n, 0);
		assert_memory_equal(&hs, &before, sizeof(hs));
	}
	/* Truncated and too small a payload buffer. */
	assert_int_equal(cn_noise_read_msg1(&hs, vec.ciphertext[0].b, CN_NOISE_MSG1_OVERHEAD - 1,
					    pl, sizeof(pl), &n),
			 -CN_ESHORT);
	assert_int_equal(cn_noise_read_msg1(&hs, vec.ciphertext[0].b, vec.ciphertext[0].len, pl,
					    vec.payload[0].len - 1, &n),
			 -CN_EINVAL);
	assert_int_equal(cn_noise_read_msg1(&hs, vec.ciphertext[0].b, vec.ciphertext[0].len, pl,
					    sizeof(pl), &n),
			 0);
	assert_field_equal(pl, n, &vec.payload[0]);
	cn_noise_hs_wipe(&hs);
}

/* The wrong responder key (or prologue) fails at the first tag. */
static void test_mismatch(void **state)
{
	struct cn_noise_hs ini, resp;
	uint8_t msg[FIELD_MAX], pl[FIELD_MAX], other[32];
	size_t n, len;

	(void)state;
	/* Initiator believes in another responder key: its own. */
	assert_int_equal(crypto_scalarmult_base(other, vec.init_static.b), 0);
	assert_int_equal(cn_noise_init_initiator(&ini, vec.init_prologue.b, vec.init_prologue.len,
						 vec.init_static.b, other),
			 0);
	assert_int_equal(cn_noise_write_msg1(&ini, NULL, NULL, 0, msg, sizeof(msg), &len), 0);
	assert_int_equal(cn_noise_init_responder(&resp, vec.resp_prologue.b, vec.resp_prologue.len,
						 vec.resp_static.b),
			 0);
	assert_int_equal(cn_noise_read_msg1(&resp, msg, len, pl, sizeof(pl), &n), -CN_EDECRYPT);

	/* Same keys, different prologue. */
	assert_int_equal(cn_noise_init_initiator(&ini, (const uint8_t *)"x", 1, vec.init_static.b,
						 vec.init_remote_static.b),
			 0);
	assert_int_equal(cn_noise_write_msg1(&ini, NULL, NULL, 0, msg, sizeof(msg), &len), 0);
	assert_int_equal(cn_noise_read_msg1(&resp, msg, len, pl, sizeof(pl), &n), -CN_EDECRYPT);
	cn_noise_hs_wipe(&ini);
	cn_noise_hs_wipe(&resp);
}

/* Low-order points give an all-zero DH: a failure, never a key. */
static void test_low_order(void **state)
{
	static const uint8_t zero[32];
	struct cn_noise_hs hs;
	uint8_t msg[FIELD_MAX], pl[FIELD_MAX];
	size_t n;

	(void)state;
	assert_int_equal(cn_noise_init_initiator(&hs, NULL, 0, vec.init_static.b, zero), 0);
	assert_int_equal(cn_noise_write_msg1(&hs, NULL, NULL, 0, msg, sizeof(msg), &n), -CN_EKEY);
	assert_int_equal(hs.state, CN_NOISE_INITIATOR_START);

	assert_int_equal(cn_noise_init_responder(&hs, NULL, 0, vec.resp_static.b), 0);
	memset(msg, 0, sizeof(msg)); /* e = 0: the low-order point */
	assert_int_equal(cn_noise_read_msg1(&hs, msg, CN_NOISE_MSG1_OVERHEAD, pl, sizeof(pl), &n),
			 -CN_EKEY);
	assert_int_equal(hs.state, CN_NOISE_RESPONDER_START);
	cn_noise_hs_wipe(&hs);
}

static void test_sizes(void **state)
{
	struct cn_noise_hs hs;
	static uint8_t big[CN_NOISE_MAX_MSG_LEN + 1];
	uint8_t pl[16];
	size_t n;

	(void)state;
	assert_int_equal(
		cn_noise_init_initiator(&hs, NULL, 0, vec.init_static.b, vec.init_remote_static.b),
		0);
	/* Output buffer one byte short. */
	assert_int_equal(cn_noise_write_msg1(&hs, NULL, pl, sizeof(pl), big,
					     CN_NOISE_MSG1_OVERHEAD + sizeof(pl) - 1, &n),
			 -CN_EINVAL);
	/* Payload that would make the message exceed 65535 bytes. */
	assert_int_equal(cn_noise_write_msg1(&hs, NULL, big,
					     CN_NOISE_MAX_MSG_LEN - CN_NOISE_MSG1_OVERHEAD + 1, big,
					     sizeof(big), &n),
			 -CN_ETOOBIG);
	assert_int_equal(cn_noise_init_responder(&hs, NULL, 0, vec.resp_static.b), 0);
	assert_int_equal(cn_noise_read_msg1(&hs, big, sizeof(big), big, sizeof(big), &n),
			 -CN_ETOOBIG);
	cn_noise_hs_wipe(&hs);
}

/* The CipherState refuses the reserved nonce 2^64-1 and a missing key. */
static void test_cipher_limits(void **state)
{
	struct cn_noise_cipher c;
	uint8_t k[32] = {1}, buf[CN_NOISE_TAG_LEN];

	(void)state;
	memset(&c, 0, sizeof(c));
	assert_int_equal(cn_noise_cipher_encrypt(&c, NULL, 0, NULL, 0, buf), -CN_ESTATE);
	cn_noise_cipher_init(&c, k);
	c.n = UINT64_MAX - 1;
	assert_int_equal(cn_noise_cipher_encrypt(&c, NULL, 0, NULL, 0, buf), 0);
	assert_true(c.n == UINT64_MAX);
	assert_int_equal(cn_noise_cipher_encrypt(&c, NULL, 0, NULL, 0, buf), -CN_EEXHAUSTED);
	assert_int_equal(cn_noise_cipher_decrypt(&c, NULL, 0, buf, sizeof(buf), buf),
			 -CN_EEXHAUSTED);
	assert_int_equal(cn_noise_decrypt(k, 0, NULL, 0, buf, CN_NOISE_TAG_LEN - 1, buf),
			 -CN_ESHORT);
	cn_noise_cipher_wipe(&c);
	assert_false(c.has_key);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_initiator_side), cmocka_unit_test(test_responder_side),
		cmocka_unit_test(test_state_machine),  cmocka_unit_test(test_failure_leaves_state),
		cmocka_unit_test(test_mismatch),       cmocka_unit_test(test_low_order),
		cmocka_unit_test(test_sizes),	       cmocka_unit_test(test_cipher_limits),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, load_vector, NULL);
}
