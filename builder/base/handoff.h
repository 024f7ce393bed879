/**
 * @file handoff.h
 * @brief A worker thread that takes one piece of work at a time.
 *
 * The owner fills a buffer, hands it over with vf_handoff_post() and fills
 * another meanwhile; the worker runs `fn` on what it was given. post() first
 * waits until the worker is idle, so there is at most one piece in flight,
 * and the owner knows which buffer is free. The first negative result of
 * `fn` is kept and returned by every later post() and idle(). Without a
 * thread (it could not start) post() runs `fn` itself: slower, same result.
 * One owner thread per handoff.
 */
#ifndef VF_BASE_HANDOFF_H
#define VF_BASE_HANDOFF_H

#include <pthread.h>
#include <stdbool.h>

/** The work: returns 0 or a negative errno. */
typedef int (*vf_handoff_fn)(void *ctx, void *item);

struct vf_handoff {
	vf_handoff_fn fn;
	void *ctx;
	pthread_t tid;
	bool thread;            /**< the worker runs */
	pthread_mutex_t mu;     /**< guards what follows */
	pthread_cond_t cv;
	bool busy, quit;
	void *item;             /**< being worked on while busy */
	int err;                /**< the first error of fn, 0 so far */
};

/** Start the worker for `fn(ctx, item)`. */
void vf_handoff_start(struct vf_handoff *h, vf_handoff_fn fn, void *ctx);

/** Wait until nothing is in flight. Returns the first error of fn, or 0. */
int vf_handoff_idle(struct vf_handoff *h);

/**
 * Once the worker is idle, hand it `item` (or, without a thread, run fn on it
 * here). Returns the first error of fn so far (then `item` is not taken).
 */
int vf_handoff_post(struct vf_handoff *h, void *item);

/** Let the piece in flight finish, stop the worker. Safe after a failed start. */
void vf_handoff_stop(struct vf_handoff *h);

#endif
