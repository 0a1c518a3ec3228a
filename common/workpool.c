/* SPDX-License-Identifier: MIT */
/*
 * Worker pool with in-order hand-back (see workpool.h). One mutex guards the
 * ring of batches; items are processed outside it. Ring positions only grow
 * (modulo the depth when indexing): head = oldest not completed, claim =
 * oldest with items not yet taken, tail = next free.
 *
 * Must not call libevent or log: workers run here.
 */
#include "common/workpool.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/err.h"

struct batch {
	cn_workpool_fn fn;
	void *ctx;
	void *const *items;
	size_t n;
	size_t claimed; /* items handed to workers */
	size_t done;	/* items finished */
	void *tag;
	bool sync;     /* cn_workpool_run: the caller waits on `fin`, no eventfd */
	size_t helped; /* slices workers took */
};

struct cn_workpool {
	pthread_mutex_t mu;
	pthread_cond_t work; /* signalled when a batch is queued or on stop */
	pthread_cond_t fin;  /* signalled when a cn_workpool_run batch is whole */
	bool stop;
	unsigned int depth;
	struct batch *ring;
	size_t head, claim, tail;
	int efd;
	unsigned int nthreads;
	size_t inline_max; /* batches this small run in cn_workpool_submit */
	pthread_t *th;
	struct cn_workpool_wake wake; /* cn_workpool_run: wake workers while they help */
	struct cn_workpool_stats st;
};

static struct batch *at(struct cn_workpool *p, size_t pos)
{
	return &p->ring[pos % p->depth];
}

static void signal_done(struct cn_workpool *p)
{
	uint64_t one = 1;
	ssize_t r;

	/* Never fails but on counter overflow, which the loop's reads prevent. */
	do {
		r = write(p->efd, &one, sizeof(one));
	} while (r < 0 && errno == EINTR);
}

static void *worker(void *arg)
{
	struct cn_workpool *p = arg;
	struct batch *b;
	size_t start, cnt;
	bool fin;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		/* Step over batches already taken whole (inline ones). */
		while (p->claim != p->tail && at(p, p->claim)->claimed == at(p, p->claim)->n)
			p->claim++;
		while (!p->stop && p->claim == p->tail)
			pthread_cond_wait(&p->work, &p->mu);
		if (p->stop)
			break;
		b = at(p, p->claim);
		if (b->claimed == b->n)
			continue; /* an inline batch queued while we waited */
		start = b->claimed;
		cnt = b->n - start < CN_WORKPOOL_SLICE ? b->n - start : CN_WORKPOOL_SLICE;
		b->claimed += cnt;
		b->helped++;
		if (b->claimed == b->n)
			p->claim++;
		pthread_mutex_unlock(&p->mu);
		for (size_t i = start; i < start + cnt; i++)
			b->fn(b->ctx, b->items[i]);
		pthread_mutex_lock(&p->mu);
		b->done += cnt;
		fin = b->done == b->n;
		if (fin && b->sync)
			pthread_cond_signal(&p->fin);
		else if (fin)
			signal_done(p);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

int cn_workpool_new(unsigned int threads, unsigned int depth, struct cn_workpool **out)
{
	struct cn_workpool *p = NULL;
	int ret = -CN_EINVAL, saved;

	if (!out)
		return -CN_EINVAL;
	*out = NULL;
	if (threads > CN_WORKPOOL_THREADS_MAX || depth == 0 || depth > CN_WORKPOOL_DEPTH_MAX)
		return -CN_EINVAL;
	ret = -CN_ENOMEM;
	p = calloc(1, sizeof(*p));
	if (!p)
		return ret;
	p->efd = -1;
	p->depth = depth;
	p->ring = calloc(depth, sizeof(*p->ring));
	p->th = calloc(threads ? threads : 1, sizeof(*p->th));
	if (!p->ring || !p->th)
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
	p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (p->efd < 0) {
		ret = -CN_EIO;
		goto fail;
	}
	for (; p->nthreads < threads; p->nthreads++) {
		int err = pthread_create(&p->th[p->nthreads], NULL, worker, p);

		if (err) {
			errno = err;
			ret = -CN_EIO;
			goto fail;
		}
	}
	*out = p;
	return 0;
fail:
	saved = errno;
	cn_workpool_free(p);
	errno = saved;
	return ret;
fail_mem:
	free(p->ring);
	free(p->th);
	free(p);
	return ret;
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
	if (p->efd >= 0)
		close(p->efd);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->fin);
	pthread_mutex_destroy(&p->mu);
	free(p->ring);
	free(p->th);
	free(p);
}

int cn_workpool_fd(const struct cn_workpool *p)
{
	return p->efd;
}

unsigned int cn_workpool_threads(const struct cn_workpool *p)
{
	return p->nthreads;
}

void cn_workpool_set_inline(struct cn_workpool *p, size_t n)
{
	p->inline_max = n;
}

int cn_workpool_submit(struct cn_workpool *p, cn_workpool_fn fn, void *ctx, void *const *items,
		       size_t n, void *tag)
{
	struct batch *b;

	if (!p || !fn || !items || n == 0)
		return -CN_EINVAL;
	pthread_mutex_lock(&p->mu);
	if (p->tail - p->head == p->depth) {
		pthread_mutex_unlock(&p->mu);
		return -CN_EEXHAUSTED;
	}
	b = at(p, p->tail);
	*b = (struct batch){.fn = fn, .ctx = ctx, .items = items, .n = n, .tag = tag};
	p->tail++;
	if (p->nthreads == 0 || n <= p->inline_max) {
		/*
		 * Here, and reported like a worker would. Workers skip it: it is
		 * claimed whole. With no workers claim simply follows tail; with
		 * workers an older batch may still have unclaimed items, so
		 * claim cannot move past it: mark this one claimed instead and
		 * let workers step over claimed batches.
		 */
		b->claimed = n;
		if (p->claim == p->tail - 1)
			p->claim = p->tail;
		pthread_mutex_unlock(&p->mu);
		for (size_t i = 0; i < n; i++)
			fn(ctx, items[i]);
		pthread_mutex_lock(&p->mu);
		b->done = n;
		signal_done(p);
	} else if (n > CN_WORKPOOL_SLICE) {
		pthread_cond_broadcast(&p->work);
	} else {
		pthread_cond_signal(&p->work);
	}
	pthread_mutex_unlock(&p->mu);
	return 0;
}

int cn_workpool_run(struct cn_workpool *p, cn_workpool_fn fn, void *ctx, void *const *items,
		    size_t n)
{
	struct batch *b;
	size_t start, cnt, slices;
	bool woke;

	if (!p || !fn || !items || n == 0)
		return -CN_EINVAL;
	pthread_mutex_lock(&p->mu);
	if (p->tail != p->head) {
		pthread_mutex_unlock(&p->mu);
		return -CN_ESTATE;
	}
	b = at(p, p->tail);
	*b = (struct batch){.fn = fn, .ctx = ctx, .items = items, .n = n, .sync = true};
	p->tail++;
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
	while (b->claimed < n) {
		start = b->claimed;
		cnt = n - start < CN_WORKPOOL_SLICE ? n - start : CN_WORKPOOL_SLICE;
		b->claimed += cnt;
		if (b->claimed == n)
			p->claim++;
		pthread_mutex_unlock(&p->mu);
		for (size_t i = start; i < start + cnt; i++)
			fn(ctx, items[i]);
		pthread_mutex_lock(&p->mu);
		b->done += cnt;
	}
	/* Then waits for the slices workers still hold (at most one each). */
	while (b->done < n)
		pthread_cond_wait(&p->fin, &p->mu);
	if (woke) {
		if (b->helped)
			p->st.run_helped++;
		p->st.slices_woken += slices;
		p->st.slices_helped += b->helped;
		cn_workpool_wake_result(&p->wake, b->helped > 0);
	}
	p->head++;
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

bool cn_workpool_complete(struct cn_workpool *p, void **tag)
{
	struct batch *b;
	uint64_t v;
	ssize_t r;

	*tag = NULL;
	pthread_mutex_lock(&p->mu);
	if (p->head != p->tail) {
		b = at(p, p->head);
		if (b->done == b->n) {
			*tag = b->tag;
			p->head++;
			pthread_mutex_unlock(&p->mu);
			return true;
		}
	}
	/*
	 * Clear the eventfd under the lock: a worker finishing after this
	 * writes again, so no completion is ever missed.
	 */
	r = read(p->efd, &v, sizeof(v)); /* EAGAIN when already clear: fine */
	(void)r;
	pthread_mutex_unlock(&p->mu);
	return false;
}

unsigned int cn_workpool_in_flight(const struct cn_workpool *p)
{
	return (unsigned int)(p->tail - p->head);
}
