/**
 * @file parallel.h
 * @brief Run independent pieces of work over a few threads.
 *
 * vf_parallel_run() calls fn(ctx, i) once for every i in [0, n), on the
 * calling thread and up to threads - 1 more, each taking the next i not yet
 * taken. The pieces must not depend on each other or on their order; each
 * writes its own result (ctx holds an array, say). The caller reads the
 * results in index order afterwards, so what it reports (the first failure,
 * say) does not depend on the threads. Without a thread (one could not start)
 * the caller runs every piece itself: slower, same result.
 */
#ifndef VF_BASE_PARALLEL_H
#define VF_BASE_PARALLEL_H

#include <stddef.h>

/** One piece of work. */
typedef void (*vf_parallel_fn)(void *ctx, size_t i);

/**
 * Run fn(ctx, i) for i in [0, n) on at most `threads` threads (0 or 1: on
 * the caller alone); returns when every piece has run.
 */
void vf_parallel_run(size_t n, unsigned threads, vf_parallel_fn fn, void *ctx);

/** The number of online CPUs (at least 1). */
unsigned vf_parallel_cpus(void);

#endif
