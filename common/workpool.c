/* SPDX-License-Identifier: MIT */
/*
 * Worker pool (see workpool.h). One mutex guards the batch being run; items
 * are processed outside it. `cur` is the batch of the cn_workpool_run in
 * progress (NULL between runs); workers take slices of it while some are
 * left, and the caller clears it only once every slice is done, so no
 * worker touches a batch after its run returned.
 *
 * Must not call libevent or log: workers run here.
 */
#include "common/workpool.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"

struct batch {
	cn_workpool_fn fn;
	void *ctx;
	void *const *items;
	size_t n;
	size_t claimed; /* items handed out */
	size_t done;	/* items finished */
	size_t helped;	/* slices workers took */
};

struct cn_workpool {
	pthread_mutex_t mu;
	pthread_cond_t work; /* signalled when a batch is there, or on stop */
	pthread_cond_t fin;  /* signalled when the batch is whole */
	bool stop;
	struct batch *cur;
	unsigned int nthreads;
	pthread_t *th;
	struct cn_workpool_wake wake; /* wake workers while they help */
	struct cn_workpool_stats st;
};

static void *worker(void *arg)
{
	struct cn_workpool *p = arg;
	struct batch *b;
	size_t start, cnt;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->stop && (!p->cur || p->cur->claimed == p->cur->n))
			pthread_cond_wait(&p->work, &p->mu);
		if (p->stop)
			break;
		b = p->cur;
		start = b->claimed;
		cnt = b->n - start < CN_WORKPOOL_SLICE ? b->n - start : CN_WORKPOOL_SLICE;
		b->claimed += cnt;
		b->helped++;
		pthread_mutex_unlock(&p->mu);
		for (size_t i = start; i < start + cnt; i++)
			b->fn(b->ctx, b->items[i]);
		pthread_mutex_lock(&p->mu);
		b->done += cnt;
		if (b->done == b->n)
			pthread_cond_signal(&p->fin);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

int cn_workpool_new(unsigned int threads, struct cn_workpool **out)
{
	struct cn_workpool *p = NULL;
	int saved;

	if (!out)
		return -CN_EINVAL;
	*out = NULL;
	if (threads > CN_WORKPOOL_THREADS_MAX)
		return -CN_EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -CN_ENOMEM;
	p->th = calloc(threads ? threads : 1, sizeof(*p->th));
	if (!p->th)
		goto fail_mem;
	if (pthread_mutex_init(&p->mu, NULL) != 0)
		goto fail_mem;
	if (pthread_cond_init(&p->work, NULL) != 0) {
		pthread_mutex_destroy(&p->mu);
		goto fail_mem;
	}
	if (pthread_cond_init(&p->fin, NULL) != 0) {
		pthread_cond_destroy(&p->work);
		pthread_mutex_destroy(&p->mu);
		goto fail_mem;
	}
	for (; p->nthreads < threads; p->nthreads++) {
		int err = pthread_create(&p->th[p->nthreads], NULL, worker, p);

		if (err) {
			saved = err;
			cn_workpool_free(p);
			errno = saved;
			return -CN_EIO;
		}
	}
	*out = p;
	return 0;
fail_mem:
	free(p->th);
	free(p);
	return -CN_ENOMEM;
}

void cn_workpool_free(struct cn_workpool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = true;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->mu);
	for (unsigned int i = 0; i < p->nthreads; i++)
		pthread_join(p->th[i], NULL);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->fin);
	pthread_mutex_destroy(&p->mu);
	free(p->th);
	free(p);
}

unsigned int cn_workpool_threads(const struct cn_workpool *p)
{
	return p->nthreads;
}

int cn_workpool_run(struct cn_workpool *p, cn_workpool_fn fn, void *ctx, void *const *items,
		    size_t n)
{
	struct batch b = {.fn = fn, .ctx = ctx, .items = items, .n = n};
	size_t start, cnt, slices;
	bool woke;

	if (!p || !fn || !items || n == 0)
		return -CN_EINVAL;
	pthread_mutex_lock(&p->mu);
	p->cur = &b;
	/*
	 * Wake one worker per slice beyond the caller's first, at most all of
	 * them, unless recent batches showed they come too late to help (cores
	 * busy): then the caller does the batch alone for a while (wake policy).
	 * A worker that comes late finds the batch taken and sleeps again.
	 */
	slices = (n + CN_WORKPOOL_SLICE - 1) / CN_WORKPOOL_SLICE;
	woke = slices > 1 && p->nthreads > 0 && cn_workpool_wake_next(&p->wake);
	if (woke) {
		p->st.run_woken++;
		for (size_t w = 1; w < slices && w <= p->nthreads; w++)
			pthread_cond_signal(&p->work);
	} else if (slices > 1 && p->nthreads > 0) {
		p->st.run_alone++;
	}
	/* The caller takes slices like a worker until none is left. */
	while (b.claimed < n) {
		start = b.claimed;
		cnt = n - start < CN_WORKPOOL_SLICE ? n - start : CN_WORKPOOL_SLICE;
		b.claimed += cnt;
		pthread_mutex_unlock(&p->mu);
		for (size_t i = start; i < start + cnt; i++)
			fn(ctx, items[i]);
		pthread_mutex_lock(&p->mu);
		b.done += cnt;
	}
	/* Then waits for the slices workers still hold (at most one each). */
	while (b.done < n)
		pthread_cond_wait(&p->fin, &p->mu);
	if (woke) {
		if (b.helped)
			p->st.run_helped++;
		p->st.slices_woken += slices;
		p->st.slices_helped += b.helped;
		cn_workpool_wake_result(&p->wake, b.helped > 0);
	}
	p->cur = NULL;
	pthread_mutex_unlock(&p->mu);
	return 0;
}

bool cn_workpool_wake_next(struct cn_workpool_wake *w)
{
	if (w->skip == 0)
		return true;
	w->skip--;
	return false;
}

void cn_workpool_wake_result(struct cn_workpool_wake *w, bool helped)
{
	if (helped) {
		w->misses = 0;
		w->backoff = 0;
		return;
	}
	if (++w->misses < CN_WORKPOOL_WAKE_MISSES)
		return;
	w->misses = 0;
	w->backoff = w->backoff ? w->backoff * 2 : CN_WORKPOOL_WAKE_SKIP_MIN;
	if (w->backoff > CN_WORKPOOL_WAKE_SKIP_MAX)
		w->backoff = CN_WORKPOOL_WAKE_SKIP_MAX;
	w->skip = w->backoff;
}

void cn_workpool_get_stats(struct cn_workpool *p, struct cn_workpool_stats *st)
{
	pthread_mutex_lock(&p->mu);
	*st = p->st;
	pthread_mutex_unlock(&p->mu);
}
