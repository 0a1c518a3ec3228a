/* SPDX-License-Identifier: MIT */
/*
 * The worker pool (common/workpool.h) with real work: each item is a
 * 1400-byte datagram sealed with ChaCha20-Poly1305 under the counter the
 * "loop" assigned before the batch, as the node does. cn_workpool_run
 * returns with every item processed exactly once and correctly (opened
 * again here), with 0, 1 or 3 workers; the caller takes the first slice;
 * idle workers take slices of slow batches; the wake policy backs off and
 * resets; bad arguments are refused. Run under ASan here and under TSan by
 * hand (see the report in docs/DESIGN.md "Data plane").
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "common/err.h"
#include "common/workpool.h"

enum { LEN = 1400, MAXB = 100 };

struct item {
	uint64_t counter;
	uint8_t buf[LEN + crypto_aead_chacha20poly1305_IETF_ABYTES];
	atomic_int processed;
	atomic_bool on_caller; /* processed by the calling thread */
};

static pthread_t caller;

struct ctx {
	uint8_t key[crypto_aead_chacha20poly1305_IETF_KEYBYTES];
};

static void nonce_of(uint64_t c, uint8_t n[static crypto_aead_chacha20poly1305_IETF_NPUBBYTES])
{
	memset(n, 0, crypto_aead_chacha20poly1305_IETF_NPUBBYTES);
	for (int i = 0; i < 8; i++)
		n[4 + i] = (uint8_t)(c >> (8 * i));
}

static void seal(void *vctx, void *vitem)
{
	struct ctx *c = vctx;
	struct item *it = vitem;
	uint8_t n[crypto_aead_chacha20poly1305_IETF_NPUBBYTES];

	nonce_of(it->counter, n);
	crypto_aead_chacha20poly1305_ietf_encrypt(it->buf, NULL, it->buf, LEN, NULL, 0, NULL, n,
						  c->key);
	atomic_store(&it->on_caller, pthread_equal(pthread_self(), caller) != 0);
	atomic_fetch_add(&it->processed, 1);
}

static void fill(struct item *it, uint64_t counter)
{
	it->counter = counter;
	for (int i = 0; i < LEN; i++)
		it->buf[i] = (uint8_t)(counter * 7 + (uint64_t)i);
	atomic_store(&it->processed, 0);
}

static void check_item(const struct ctx *c, struct item *it)
{
	uint8_t n[crypto_aead_chacha20poly1305_IETF_NPUBBYTES], pt[LEN];
	unsigned long long len = 0;

	assert_int_equal(atomic_load(&it->processed), 1);
	nonce_of(it->counter, n);
	assert_int_equal(crypto_aead_chacha20poly1305_ietf_decrypt(
				 pt, &len, NULL, it->buf, sizeof(it->buf), NULL, 0, n, c->key),
			 0);
	for (int i = 0; i < LEN; i++)
		assert_int_equal(pt[i], (uint8_t)(it->counter * 7 + (uint64_t)i));
}

/*
 * cn_workpool_run: every item done exactly once when it returns, with any
 * number of workers; the caller took the first slice itself (it claims it
 * before any worker can).
 */
static void test_run_caller_helps(void **state)
{
	static const unsigned threads[] = {1, 3, 0};
	struct ctx *c = calloc(1, sizeof(*c));
	struct item *it = calloc(MAXB, sizeof(*it));
	void *ptrs[MAXB];
	uint64_t counter = 0;

	(void)state;
	assert_non_null(c);
	assert_non_null(it);
	randombytes_buf(c->key, sizeof(c->key));
	for (size_t t = 0; t < sizeof(threads) / sizeof(threads[0]); t++) {
		struct cn_workpool *p = NULL;

		assert_int_equal(cn_workpool_new(threads[t], &p), 0);
		assert_int_equal(cn_workpool_threads(p), threads[t]);
		for (int round = 0; round < 200; round++) {
			size_t n = round < 2 ? MAXB : 1 + randombytes_uniform(MAXB);

			for (size_t k = 0; k < n; k++) {
				fill(&it[k], counter++);
				atomic_store(&it[k].on_caller, false);
				ptrs[k] = &it[k];
			}
			assert_int_equal(cn_workpool_run(p, seal, c, ptrs, n), 0);
			for (size_t k = 0; k < n; k++) {
				check_item(c, &it[k]);
				if (k < CN_WORKPOOL_SLICE)
					assert_true(atomic_load(&it[k].on_caller));
			}
		}
		cn_workpool_free(p);
	}
	free(it);
	free(c);
}

/* The wake policy: 8 unhelped woken batches in a row, then 16 alone, doubling to 1024; help resets.
 */
static void test_wake_policy(void **state)
{
	struct cn_workpool_wake w = {0};
	size_t expect = CN_WORKPOOL_WAKE_SKIP_MIN;

	(void)state;
	for (int streak = 0; streak < 12; streak++) {
		for (int i = 0; i < CN_WORKPOOL_WAKE_MISSES; i++) {
			assert_true(cn_workpool_wake_next(&w));
			cn_workpool_wake_result(&w, false);
		}
		for (size_t i = 0; i < expect; i++)
			assert_false(cn_workpool_wake_next(&w));
		assert_true(cn_workpool_wake_next(&w));
		expect = expect * 2 > CN_WORKPOOL_WAKE_SKIP_MAX ? CN_WORKPOOL_WAKE_SKIP_MAX
								: expect * 2;
	}
	/* Help resets the streak and the back-off. */
	cn_workpool_wake_result(&w, true);
	for (int i = 0; i < CN_WORKPOOL_WAKE_MISSES - 1; i++)
		cn_workpool_wake_result(&w, false);
	cn_workpool_wake_result(&w, true);
	for (int i = 0; i < CN_WORKPOOL_WAKE_MISSES - 1; i++) {
		assert_true(cn_workpool_wake_next(&w));
		cn_workpool_wake_result(&w, false);
	}
	assert_true(cn_workpool_wake_next(&w));
	cn_workpool_wake_result(&w, false);
	for (int i = 0; i < CN_WORKPOOL_WAKE_SKIP_MIN; i++)
		assert_false(cn_workpool_wake_next(&w));
	assert_true(cn_workpool_wake_next(&w));
}

struct slow_item {
	atomic_bool on_caller;
	atomic_int processed;
};

static void slow_mark(void *ctx, void *vitem)
{
	struct slow_item *it = vitem;

	(void)ctx;
	usleep(1000);
	atomic_store(&it->on_caller, pthread_equal(pthread_self(), caller) != 0);
	atomic_fetch_add(&it->processed, 1);
}

/* Slow items and an idle worker: it is woken for every batch and takes slices (no back-off). */
static void test_run_workers_help(void **state)
{
	enum { N = 4 * CN_WORKPOOL_SLICE, ROUNDS = 20 };
	struct slow_item it[N];
	void *ptrs[N];
	struct cn_workpool *p = NULL;
	struct cn_workpool_stats st;
	size_t on_workers = 0;

	(void)state;
	assert_int_equal(cn_workpool_new(1, &p), 0);
	for (int r = 0; r < ROUNDS; r++) {
		for (size_t k = 0; k < N; k++) {
			atomic_store(&it[k].processed, 0);
			ptrs[k] = &it[k];
		}
		assert_int_equal(cn_workpool_run(p, slow_mark, NULL, ptrs, N), 0);
		for (size_t k = 0; k < N; k++) {
			assert_int_equal(atomic_load(&it[k].processed), 1);
			on_workers += !atomic_load(&it[k].on_caller);
		}
	}
	cn_workpool_get_stats(p, &st);
	assert_int_equal(st.run_woken, ROUNDS);
	assert_int_equal(st.run_alone, 0);
	assert_true(st.run_helped > 0);
	assert_true(on_workers > 0);
	/* Whole slices here: the counts match what the items saw. */
	assert_int_equal(st.slices_woken, ROUNDS * (N / CN_WORKPOOL_SLICE));
	assert_int_equal(st.slices_helped * CN_WORKPOOL_SLICE, on_workers);
	cn_workpool_free(p);
}

/* Bad arguments: nothing started, nothing run. */
static void test_bad_args(void **state)
{
	struct cn_workpool *p = (struct cn_workpool *)1;
	struct ctx *c = calloc(1, sizeof(*c));
	struct item *it = calloc(1, sizeof(*it));
	void *ptrs[1] = {it};

	(void)state;
	assert_non_null(c);
	assert_non_null(it);
	assert_int_equal(cn_workpool_new(CN_WORKPOOL_THREADS_MAX + 1, &p), -CN_EINVAL);
	assert_null(p);
	assert_int_equal(cn_workpool_new(1, NULL), -CN_EINVAL);
	assert_int_equal(cn_workpool_new(1, &p), 0);
	randombytes_buf(c->key, sizeof(c->key));
	fill(it, 1);
	assert_int_equal(cn_workpool_run(NULL, seal, c, ptrs, 1), -CN_EINVAL);
	assert_int_equal(cn_workpool_run(p, NULL, c, ptrs, 1), -CN_EINVAL);
	assert_int_equal(cn_workpool_run(p, seal, c, NULL, 1), -CN_EINVAL);
	assert_int_equal(cn_workpool_run(p, seal, c, ptrs, 0), -CN_EINVAL);
	assert_int_equal(atomic_load(&it->processed), 0);
	assert_int_equal(cn_workpool_run(p, seal, c, ptrs, 1), 0);
	check_item(c, it);
	cn_workpool_free(p);
	cn_workpool_free(NULL);
	free(it);
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_run_caller_helps),
		cmocka_unit_test(test_wake_policy),
		cmocka_unit_test(test_run_workers_help),
		cmocka_unit_test(test_bad_args),
	};

	if (sodium_init() < 0)
		return 1;
	caller = pthread_self();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
