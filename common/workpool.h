/* SPDX-License-Identifier: MIT */
/*
 * A bounded pool of worker threads that process batches of items in
 * parallel and hand the batches back to the event loop in the order they
 * were submitted: the data plane's way to spread one flow's encryption and
 * decryption over several cores (docs/DESIGN.md "Data plane").
 *
 * Two ways in. cn_workpool_run (below) is what the node uses: one batch at
 * a time, the caller one of the crypto threads, back when every item is
 * done. cn_workpool_submit and cn_workpool_complete are the asynchronous
 * hand-back described next (the lab's fastpath probe uses it).
 *
 * The loop thread submits a batch (an array of caller-owned item pointers,
 * a function and its context); workers take slices of CN_WORKPOOL_SLICE
 * items from the oldest batch with work left, so even one batch of one flow
 * is spread over every worker. A finished batch is signalled on an eventfd
 * (cn_workpool_fd: add it to libevent as EV_READ|EV_PERSIST); the loop then
 * takes finished batches with cn_workpool_complete, oldest first, and never
 * a younger one before an older one: packets leave in the order they came.
 *
 * Threads: the function runs on worker threads, concurrently for different
 * items of one batch; it must touch only its item and read-only context (no
 * libevent, no logging that is not thread-safe, no session state that the
 * loop writes: counters are assigned on the loop thread before submitting).
 * Everything else is called from one thread, the loop's. With 0 workers a
 * batch is processed inside cn_workpool_submit, and the rest behaves the
 * same (eventfd, complete in order), so one code path serves small hosts.
 *
 * Bounded: at most `depth` batches are in flight; a full pool refuses the
 * batch (-CN_EEXHAUSTED) and the caller applies back-pressure (stops
 * reading until a batch completes) rather than queueing without limit.
 */
#ifndef CN_COMMON_WORKPOOL_H
#define CN_COMMON_WORKPOOL_H

#include <stdbool.h>
#include <stddef.h>

enum {
	CN_WORKPOOL_SLICE = 8,	      /* items a worker takes at once */
	CN_WORKPOOL_THREADS_MAX = 64, /* workers */
	CN_WORKPOOL_DEPTH_MAX = 1024, /* batches in flight */
	/* cn_workpool_run's wake policy (cn_workpool_wake_*) */
	CN_WORKPOOL_WAKE_MISSES = 8,	  /* woken batches in a row without help ... */
	CN_WORKPOOL_WAKE_SKIP_MIN = 16,	  /* ... then this many batches alone, */
	CN_WORKPOOL_WAKE_SKIP_MAX = 1024, /* doubling up to this while it repeats */
};

struct cn_workpool;

/* Runs on a worker: process one item (e.g. seal one datagram in place). */
typedef void (*cn_workpool_fn)(void *ctx, void *item);

/*
 * Starts `threads` workers (0..CN_WORKPOOL_THREADS_MAX) for at most `depth`
 * batches in flight (1..CN_WORKPOOL_DEPTH_MAX). *out owns them; free with
 * cn_workpool_free. Returns 0, -CN_EINVAL, -CN_ENOMEM, -CN_EIO (eventfd or
 * pthread_create failed; errno kept). *out is NULL on error.
 */
int cn_workpool_new(unsigned int threads, unsigned int depth, struct cn_workpool **out);

/*
 * Stops and joins the workers: every item already taken is finished first,
 * batches not yet completed are dropped (their items may be partly
 * processed; the caller still owns them). NULL is a no-op.
 */
void cn_workpool_free(struct cn_workpool *p);

/* The eventfd that becomes readable when a batch finishes (owned by the pool). */
int cn_workpool_fd(const struct cn_workpool *p);

/* Workers running. */
unsigned int cn_workpool_threads(const struct cn_workpool *p);

/*
 * Batches of at most n items are processed by the submitting thread itself
 * (default 0: only with no workers). Handing a ping's single packet to a
 * worker costs two thread wake-ups per hop for no parallelism; inline it
 * costs nothing. The hand-back order is kept either way: an inline batch
 * behind a running one still waits for it in cn_workpool_complete.
 */
void cn_workpool_set_inline(struct cn_workpool *p, size_t n);

/*
 * Queues items[0..n) (n >= 1) for fn(ctx, items[i]). The array and the items
 * stay the caller's and must stay valid and untouched until the batch comes
 * back from cn_workpool_complete with this tag. Returns 0, -CN_EEXHAUSTED
 * (depth batches in flight: nothing queued), -CN_EINVAL.
 */
int cn_workpool_submit(struct cn_workpool *p, cn_workpool_fn fn, void *ctx, void *const *items,
		       size_t n, void *tag);

/*
 * Processes items[0..n) (n >= 1) with fn(ctx, items[i]) and returns when
 * every item is done: the calling thread takes slices of CN_WORKPOOL_SLICE
 * like a worker, and as many idle workers as there are further slices are
 * woken to take the others. The caller never sleeps while items are left
 * untaken, so on a machine whose cores are all busy (workers not scheduled)
 * the batch costs about what an inline loop costs; it waits only for the
 * slices workers hold. Workers are not woken while they have not been
 * helping (cn_workpool_wake below). No eventfd signal, nothing for cn_workpool_complete.
 * Returns 0, -CN_ESTATE (batches from cn_workpool_submit are in flight:
 * nothing done), -CN_EINVAL.
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

/*
 * Takes the oldest batch if it is finished: returns true and sets *tag, or
 * false when there is none (nothing in flight, or the oldest still
 * running; a younger finished one waits for it). Also clears the eventfd
 * when it returns false, so call it until false on every readable event.
 */
bool cn_workpool_complete(struct cn_workpool *p, void **tag);

/* Batches submitted and not yet completed. */
unsigned int cn_workpool_in_flight(const struct cn_workpool *p);

#endif
