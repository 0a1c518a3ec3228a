/* SPDX-License-Identifier: MIT */
/*
 * The worker pool (common/workpool.h) with real work: each item is a
 * 1400-byte datagram sealed with ChaCha20-Poly1305 under the counter the
 * "loop" assigned before submitting, as the node will do. Batches come back
 * in submission order with every item processed exactly once and correctly
 * (opened again here); a finished younger batch waits for an older running
 * one; the pool is bounded; 0 workers gives the same behaviour inline; it
 * shuts down cleanly with batches in flight; cn_workpool_run has the caller
 * take slices and returns with the batch whole. Run under ASan here and under
 * TSan by hand (see the report in docs/DESIGN.md "Data plane").
 */
#include <poll.h>
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

enum { LEN = 1400, MAXB = 100, NBATCH = 300, WAIT_MS = 5000 };

struct item {
	uint64_t counter;
	uint8_t buf[LEN + crypto_aead_chacha20poly1305_IETF_ABYTES];
	atomic_int processed;
	atomic_bool on_caller; /* processed by the submitting thread */
};

static pthread_t caller;

struct ctx {
	uint8_t key[crypto_aead_chacha20poly1305_IETF_KEYBYTES];
	atomic_int gate; /* items with counter == UINT64_MAX spin until it is 1 */
	atomic_int slow_done;
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

	if (it->counter == UINT64_MAX) {
		while (!atomic_load(&c->gate))
			usleep(100);
		atomic_fetch_add(&c->slow_done, 1);
	}
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

static bool wait_fd_ms(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return poll(&p, 1, ms) == 1;
}

static bool wait_fd(int fd)
{
	return wait_fd_ms(fd, WAIT_MS);
}

struct batchrec {
	struct item *items;
	void **ptrs;
	size_t n;
	size_t id;
};

/* Submits NBATCH batches of 1..MAXB items, keeping the pool full; checks the hand-back order. */
static void run_order(unsigned threads, unsigned depth, size_t inline_max)
{
	struct ctx *c = calloc(1, sizeof(*c));
	struct batchrec *b = calloc(NBATCH, sizeof(*b));
	struct cn_workpool *p = NULL;
	size_t submitted = 0, completed = 0;
	uint64_t counter = 0;
	void *tag;

	assert_non_null(c);
	assert_non_null(b);
	randombytes_buf(c->key, sizeof(c->key));
	atomic_store(&c->gate, 1);
	assert_int_equal(cn_workpool_new(threads, depth, &p), 0);
	assert_int_equal(cn_workpool_threads(p), threads);
	cn_workpool_set_inline(p, inline_max);
	for (size_t i = 0; i < NBATCH; i++) {
		b[i].id = i;
		b[i].n = 1 + randombytes_uniform(MAXB);
		b[i].items = calloc(b[i].n, sizeof(struct item));
		b[i].ptrs = calloc(b[i].n, sizeof(void *));
		for (size_t k = 0; k < b[i].n; k++) {
			fill(&b[i].items[k], counter++); /* counters in order, on this thread */
			b[i].ptrs[k] = &b[i].items[k];
		}
	}
	while (completed < NBATCH) {
		while (submitted < NBATCH) {
			int ret = cn_workpool_submit(p, seal, c, b[submitted].ptrs, b[submitted].n,
						     &b[submitted]);

			if (ret == -CN_EEXHAUSTED) {
				assert_int_equal(cn_workpool_in_flight(p), depth);
				break;
			}
			assert_int_equal(ret, 0);
			submitted++;
		}
		assert_true(wait_fd(cn_workpool_fd(p)));
		while (cn_workpool_complete(p, &tag)) {
			struct batchrec *r = tag;

			assert_int_equal(r->id, completed); /* strictly in submission order */
			for (size_t k = 0; k < r->n; k++) {
				check_item(c, &r->items[k]);
				/* Small batches on this thread, big ones on workers. */
				if (threads)
					assert_int_equal(atomic_load(&r->items[k].on_caller),
							 r->n <= inline_max);
			}
			completed++;
		}
	}
	assert_int_equal(cn_workpool_in_flight(p), 0);
	assert_false(cn_workpool_complete(p, &tag));
	assert_null(tag);
	cn_workpool_free(p);
	for (size_t i = 0; i < NBATCH; i++) {
		free(b[i].items);
		free(b[i].ptrs);
	}
	free(b);
	free(c);
}

static void test_order_threads(void **state)
{
	(void)state;
	run_order(1, 4, 0);
	run_order(2, 8, 0);
	run_order(4, 3, 0);
	run_order(2, 6, 10); /* inline and worker batches mixed, one order */
}

static void test_order_inline(void **state)
{
	(void)state;
	run_order(0, 2, 0);
}

/* A finished younger batch waits for the older one still running; depth is a hard cap. */
static void test_waits_for_older_and_bounded(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));
	struct item *slow = calloc(1, sizeof(*slow)), *fast = calloc(3, sizeof(*fast));
	void *sp[1] = {slow}, *fp[3][1] = {{&fast[0]}, {&fast[1]}, {&fast[2]}};
	struct cn_workpool *p = NULL;
	void *tag = NULL;
	int tries = 0;

	(void)state;
	assert_int_equal(cn_workpool_new(2, 3, &p), 0);
	fill(slow, UINT64_MAX); /* blocks its worker until the gate opens */
	fill(&fast[0], 1);
	fill(&fast[1], 2);
	assert_int_equal(cn_workpool_submit(p, seal, c, sp, 1, sp), 0);
	assert_int_equal(cn_workpool_submit(p, seal, c, fp[0], 1, fp[0]), 0);
	assert_int_equal(cn_workpool_submit(p, seal, c, fp[1], 1, fp[1]), 0);
	fill(&fast[2], 3);
	assert_int_equal(cn_workpool_submit(p, seal, c, fp[2], 1, fp[2]), -CN_EEXHAUSTED);
	assert_int_equal(cn_workpool_in_flight(p), 3);
	/* Both fast ones finish (the second worker does them)... */
	while ((atomic_load(&fast[0].processed) == 0 || atomic_load(&fast[1].processed) == 0) &&
	       tries++ < WAIT_MS)
		usleep(1000);
	assert_int_equal(atomic_load(&fast[1].processed), 1);
	/* ...but are not handed back before the slow, older one. */
	assert_false(cn_workpool_complete(p, &tag));
	assert_null(tag);
	atomic_store(&c->gate, 1);
	for (int i = 0; i < 3; i++) {
		void *want = i == 0 ? (void *)sp : (void *)fp[i - 1];

		while (!cn_workpool_complete(p, &tag))
			assert_true(wait_fd(cn_workpool_fd(p)));
		assert_ptr_equal(tag, want);
	}
	assert_int_equal(atomic_load(&c->slow_done), 1);
	/* Room again. */
	assert_int_equal(cn_workpool_submit(p, seal, c, fp[2], 1, fp[2]), 0);
	while (!cn_workpool_complete(p, &tag))
		assert_true(wait_fd(cn_workpool_fd(p)));
	cn_workpool_free(p);
	free(slow);
	free(fast);
	free(c);
}

/* An inline batch is done at once but handed back only after the older one. */
static void test_inline_waits_for_older(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));
	struct item *it = calloc(7, sizeof(*it));
	void *big[5], *small[2], *tag = NULL;
	struct cn_workpool *p = NULL;

	(void)state;
	assert_int_equal(cn_workpool_new(2, 4, &p), 0);
	cn_workpool_set_inline(p, 4);
	fill(&it[0], UINT64_MAX); /* blocks a worker until the gate opens */
	for (int i = 1; i < 7; i++)
		fill(&it[i], (uint64_t)i);
	for (int i = 0; i < 5; i++)
		big[i] = &it[i];
	small[0] = &it[5];
	small[1] = &it[6];
	assert_int_equal(cn_workpool_submit(p, seal, c, big, 5, big), 0);
	assert_int_equal(cn_workpool_submit(p, seal, c, small, 2, small), 0);
	/* Done by this thread inside submit... */
	assert_int_equal(atomic_load(&it[5].processed), 1);
	assert_true(atomic_load(&it[6].on_caller));
	/* ...but not before the older batch. */
	assert_false(cn_workpool_complete(p, &tag));
	atomic_store(&c->gate, 1);
	while (!cn_workpool_complete(p, &tag))
		assert_true(wait_fd(cn_workpool_fd(p)));
	assert_ptr_equal(tag, big);
	assert_false(atomic_load(&it[0].on_caller));
	while (!cn_workpool_complete(p, &tag))
		assert_true(wait_fd(cn_workpool_fd(p)));
	assert_ptr_equal(tag, small);
	for (int i = 0; i < 7; i++)
		check_item(c, &it[i]);
	cn_workpool_free(p);
	free(it);
	free(c);
}

/* Freed with batches queued and one running: workers finish what they took and exit. */
static void test_shutdown_in_flight(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));
	enum { N = 64 };
	struct item *it = calloc(N, sizeof(*it));
	void *ptrs[N];
	struct cn_workpool *p = NULL;

	(void)state;
	for (unsigned t = 0; t < 3; t++) {
		assert_int_equal(cn_workpool_new(t, 16, &p), 0);
		atomic_store(&c->gate, 1);
		for (int i = 0; i < N; i++) {
			fill(&it[i], (uint64_t)i);
			ptrs[i] = &it[i];
		}
		for (int k = 0; k < 8; k++)
			assert_int_equal(cn_workpool_submit(p, seal, c, ptrs + k * 8, 8, NULL), 0);
		cn_workpool_free(p); /* must neither hang nor leak */
		for (int i = 0; i < N; i++)
			assert_true(atomic_load(&it[i].processed) <= 1);
	}
	free(it);
	free(c);
}

/*
 * cn_workpool_run: every item done exactly once when it returns, with any
 * number of workers; the caller took the first slice itself (it claims it
 * before any worker can); nothing signalled on the eventfd.
 */
static void test_run_caller_helps(void **state)
{
	static const unsigned threads[] = {1, 3, 0};
	struct ctx *c = calloc(1, sizeof(*c));
	struct item *it = calloc(MAXB, sizeof(*it));
	void *ptrs[MAXB], *tag;
	uint64_t counter = 0;

	(void)state;
	assert_non_null(c);
	assert_non_null(it);
	randombytes_buf(c->key, sizeof(c->key));
	atomic_store(&c->gate, 1);
	for (size_t t = 0; t < sizeof(threads) / sizeof(threads[0]); t++) {
		struct cn_workpool *p = NULL;

		assert_int_equal(cn_workpool_new(threads[t], 1, &p), 0);
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
			assert_int_equal(cn_workpool_in_flight(p), 0);
		}
		assert_false(wait_fd_ms(cn_workpool_fd(p), 0));
		assert_false(cn_workpool_complete(p, &tag));
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
	assert_int_equal(cn_workpool_new(1, 1, &p), 0);
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

/* cn_workpool_run refuses while submitted batches are in flight, and bad arguments. */
static void test_run_refuses(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));
	struct item *it = calloc(2, sizeof(*it));
	struct cn_workpool *p = NULL;
	void *ptrs[2] = {&it[0], &it[1]}, *tag;

	(void)state;
	assert_non_null(c);
	assert_non_null(it);
	randombytes_buf(c->key, sizeof(c->key));
	atomic_store(&c->gate, 1);
	fill(&it[0], 1);
	fill(&it[1], 2);
	assert_int_equal(cn_workpool_new(1, 2, &p), 0);
	assert_int_equal(cn_workpool_run(NULL, seal, c, ptrs, 1), -CN_EINVAL);
	assert_int_equal(cn_workpool_run(p, NULL, c, ptrs, 1), -CN_EINVAL);
	assert_int_equal(cn_workpool_run(p, seal, c, NULL, 1), -CN_EINVAL);
	assert_int_equal(cn_workpool_run(p, seal, c, ptrs, 0), -CN_EINVAL);
	assert_int_equal(cn_workpool_submit(p, seal, c, &ptrs[0], 1, &it[0]), 0);
	assert_int_equal(cn_workpool_run(p, seal, c, &ptrs[1], 1), -CN_ESTATE);
	assert_int_equal(atomic_load(&it[1].processed), 0);
	assert_true(wait_fd(cn_workpool_fd(p)));
	assert_true(cn_workpool_complete(p, &tag));
	assert_ptr_equal(tag, &it[0]);
	assert_int_equal(cn_workpool_run(p, seal, c, &ptrs[1], 1), 0);
	check_item(c, &it[1]);
	cn_workpool_free(p);
	free(it);
	free(c);
}

static void test_bad_args(void **state)
{
	struct cn_workpool *p = (struct cn_workpool *)1;
	void *item = NULL, *tag;
	struct ctx c;

	(void)state;
	assert_int_equal(cn_workpool_new(1, 0, &p), -CN_EINVAL);
	assert_null(p);
	assert_int_equal(cn_workpool_new(CN_WORKPOOL_THREADS_MAX + 1, 4, &p), -CN_EINVAL);
	assert_int_equal(cn_workpool_new(1, CN_WORKPOOL_DEPTH_MAX + 1, &p), -CN_EINVAL);
	assert_int_equal(cn_workpool_new(1, 4, NULL), -CN_EINVAL);
	assert_int_equal(cn_workpool_new(1, 4, &p), 0);
	assert_int_equal(cn_workpool_submit(p, seal, &c, &item, 0, NULL), -CN_EINVAL);
	assert_int_equal(cn_workpool_submit(p, NULL, &c, &item, 1, NULL), -CN_EINVAL);
	assert_int_equal(cn_workpool_submit(p, seal, &c, NULL, 1, NULL), -CN_EINVAL);
	assert_false(cn_workpool_complete(p, &tag));
	cn_workpool_free(p);
	cn_workpool_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_threads),
		cmocka_unit_test(test_order_inline),
		cmocka_unit_test(test_waits_for_older_and_bounded),
		cmocka_unit_test(test_inline_waits_for_older),
		cmocka_unit_test(test_shutdown_in_flight),
		cmocka_unit_test(test_run_caller_helps),
		cmocka_unit_test(test_run_refuses),
		cmocka_unit_test(test_wake_policy),
		cmocka_unit_test(test_run_workers_help),
		cmocka_unit_test(test_bad_args),
	};

	if (sodium_init() < 0)
		return 1;
	caller = pthread_self();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
