/* SPDX-License-Identifier: MIT */
/*
 * A pool of worker threads that help the calling thread process one batch
 * of items at a time: the data plane's way to spread one flow's encryption
 * and decryption over several cores (docs/DESIGN.md "Data plane").
 *
 * cn_workpool_run hands the batch (an array of caller-owned item pointers,
 * a function and its context) to the pool and returns when every item is
 * done; the caller takes slices of CN_WORKPOOL_SLICE items like a worker,
 * so even one batch of one flow is spread over every thread, and packets
 * stay in the caller's order because nothing is handed back out of order.
 *
 * Threads: the function runs on worker threads and the caller's,
 * concurrently for different items of one batch; it must touch only its
 * item and read-only context (no libevent, no logging that is not
 * thread-safe, no session state that the loop writes: counters are
 * assigned on the loop thread before the batch). Every pool call is made
 * from one thread, the loop's.
 */
#ifndef CN_COMMON_WORKPOOL_H
#define CN_COMMON_WORKPOOL_H

#include <stdbool.h>
#include <stddef.h>

enum {
	CN_WORKPOOL_SLICE = 8,	      /* items a thread takes at once */
	CN_WORKPOOL_THREADS_MAX = 64, /* workers */
	/* cn_workpool_run's wake policy (cn_workpool_wake_*) */
	CN_WORKPOOL_WAKE_MISSES = 8,	  /* woken batches in a row without help ... */
	CN_WORKPOOL_WAKE_SKIP_MIN = 16,	  /* ... then this many batches alone, */
	CN_WORKPOOL_WAKE_SKIP_MAX = 1024, /* doubling up to this while it repeats */
};

struct cn_workpool;

/* Runs on any thread of the pool: process one item (e.g. seal one datagram in place). */
typedef void (*cn_workpool_fn)(void *ctx, void *item);

/*
 * Starts `threads` workers (0..CN_WORKPOOL_THREADS_MAX; 0: the caller does
 * every batch alone). *out owns them; free with cn_workpool_free. Returns
 * 0, -CN_EINVAL, -CN_ENOMEM, -CN_EIO (pthread_create failed; errno kept).
 * *out is NULL on error.
 */
int cn_workpool_new(unsigned int threads, struct cn_workpool **out);

/* Stops and joins the workers (none holds a batch between runs). NULL is a no-op. */
void cn_workpool_free(struct cn_workpool *p);

/* Workers running. */
unsigned int cn_workpool_threads(const struct cn_workpool *p);

/*
 * Processes items[0..n) (n >= 1) with fn(ctx, items[i]) and returns when
 * every item is done: the calling thread takes slices of CN_WORKPOOL_SLICE
 * like a worker, and as many idle workers as there are further slices are
 * woken to take the others. The caller never sleeps while items are left
 * untaken, so on a machine whose cores are all busy (workers not scheduled)
 * the batch costs about what an inline loop costs; it waits only for the
 * slices workers hold. Workers are not woken while they have not been
 * helping (cn_workpool_wake below). Returns 0 or -CN_EINVAL.
 */
int cn_workpool_run(struct cn_workpool *p, cn_workpool_fn fn, void *ctx, void *const *items,
		    size_t n);

/*
 * cn_workpool_run's wake policy, a pure state machine (all-zero = start):
 * waking a worker costs a futex call and two context switches, which buy
 * nothing when every core is busy and the worker is scheduled only after
 * the caller has done the whole batch (two daemons and the application on
 * two cores). After CN_WORKPOOL_WAKE_MISSES woken batches in a row that no
 * worker helped with, the next CN_WORKPOOL_WAKE_SKIP_MIN batches run on the
 * caller alone; each further such streak doubles that, up to
 * CN_WORKPOOL_WAKE_SKIP_MAX; one woken batch that got help resets it.
 * cn_workpool_wake_next: whether to wake workers for the next batch.
 * cn_workpool_wake_result: what a woken batch showed.
 */
struct cn_workpool_wake {
	unsigned int misses;
	size_t backoff, skip;
};
bool cn_workpool_wake_next(struct cn_workpool_wake *w);
void cn_workpool_wake_result(struct cn_workpool_wake *w, bool helped);

/* What cn_workpool_run did: batches of more than one slice. */
struct cn_workpool_stats {
	unsigned long long run_woken;	  /* workers woken */
	unsigned long long run_helped;	  /* ... and at least one took a slice */
	unsigned long long run_alone;	  /* the caller alone (wake policy) */
	unsigned long long slices_woken;  /* slices of the woken batches */
	unsigned long long slices_helped; /* ... those workers took */
};
void cn_workpool_get_stats(struct cn_workpool *p, struct cn_workpool_stats *st);

#endif
