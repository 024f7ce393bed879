/*
 * vf_parallel_run: every piece runs exactly once whatever the number of
 * threads (including none, one, more threads than pieces), on more than one
 * thread when asked, and the call returns only when all have run.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "builder/base/parallel.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

struct count {
	atomic_int *runs;       /* per piece */
	pthread_t caller;
	atomic_int off_caller;  /* pieces run by another thread */
	bool slow;
};

static void piece(void *ctx, size_t i)
{
	struct count *c = ctx;

	if (c->slow) {
		const struct timespec pause = { 0, 300 * 1000 };

		nanosleep(&pause, NULL);
	}
	atomic_fetch_add(&c->runs[i], 1);
	if (!pthread_equal(pthread_self(), c->caller))
		atomic_fetch_add(&c->off_caller, 1);
}

static void run_and_check(size_t n, unsigned threads, bool slow)
{
	struct count c = { .caller = pthread_self(), .slow = slow };

	c.runs = calloc(n ? n : 1, sizeof(*c.runs));
	assert_non_null(c.runs);
	atomic_init(&c.off_caller, 0);
	vf_parallel_run(n, threads, piece, &c);
	for (size_t i = 0; i < n; i++)
		if (atomic_load(&c.runs[i]) != 1)
			fail_msg("n=%zu threads=%u: piece %zu ran %d times", n, threads, i,
				 atomic_load(&c.runs[i]));
	if (threads <= 1 || n < 2)
		assert_int_equal(atomic_load(&c.off_caller), 0);
	free(c.runs);
}

static void test_every_piece_once(void **state)
{
	const size_t ns[] = { 0, 1, 2, 3, 17, 1000, 100000 };
	const unsigned ts[] = { 0, 1, 2, 3, 8, 64 };

	(void)state;
	for (size_t a = 0; a < sizeof(ns) / sizeof(ns[0]); a++)
		for (size_t b = 0; b < sizeof(ts) / sizeof(ts[0]); b++)
			run_and_check(ns[a], ts[b], false);
}

/* With slow pieces and two threads, the other thread takes some. */
static void test_uses_threads(void **state)
{
	struct count c = { .caller = pthread_self(), .slow = true };
	atomic_int runs[64];

	(void)state;
	for (size_t i = 0; i < 64; i++)
		atomic_init(&runs[i], 0);
	c.runs = runs;
	atomic_init(&c.off_caller, 0);
	vf_parallel_run(64, 2, piece, &c);
	assert_true(atomic_load(&c.off_caller) > 0);
	assert_true(atomic_load(&c.off_caller) < 64); /* the caller works too */
	run_and_check(200, 4, true);
}

static void test_cpus(void **state)
{
	(void)state;
	assert_true(vf_parallel_cpus() >= 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_piece_once),
		cmocka_unit_test(test_uses_threads),
		cmocka_unit_test(test_cpus),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
