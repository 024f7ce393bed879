/*
 * vf_handoff: pieces are worked on one at a time, in order, off the
 * caller's thread; the first error sticks and refuses later pieces; stop
 * waits for the piece in flight.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "builder/base/handoff.h"

#include <errno.h>
#include <pthread.h>
#include <time.h>

struct log {
	pthread_t owner;
	int seen[64];
	int n, off_thread, fail_at;
	int in_flight, max_in_flight;
};

static int work(void *ctx, void *item)
{
	struct log *l = ctx;
	const struct timespec pause = { 0, 200 * 1000 };
	int v = *(int *)item;

	if (++l->in_flight > l->max_in_flight)
		l->max_in_flight = l->in_flight;
	nanosleep(&pause, NULL);
	if (!pthread_equal(pthread_self(), l->owner))
		l->off_thread++;
	l->seen[l->n++] = v;
	l->in_flight--;
	return v == l->fail_at ? -EIO : 0;
}

static void test_in_order(void **state)
{
	struct log l = { .owner = pthread_self(), .fail_at = -1 };
	struct vf_handoff h;
	int items[20];

	(void)state;
	vf_handoff_start(&h, work, &l);
	for (int i = 0; i < 20; i++) {
		items[i] = i;
		assert_int_equal(vf_handoff_post(&h, &items[i]), 0);
	}
	assert_int_equal(vf_handoff_idle(&h), 0);
	assert_int_equal(l.n, 20);
	for (int i = 0; i < 20; i++)
		assert_int_equal(l.seen[i], i);
	assert_int_equal(l.max_in_flight, 1);
	assert_int_equal(l.off_thread, 20); /* every piece on the worker */
	vf_handoff_stop(&h);
}

static void test_first_error_sticks(void **state)
{
	struct log l = { .owner = pthread_self(), .fail_at = 3 };
	struct vf_handoff h;
	int items[10];
	int r = 0, i;

	(void)state;
	vf_handoff_start(&h, work, &l);
	for (i = 0; i < 10 && !r; i++) {
		items[i] = i;
		r = vf_handoff_post(&h, &items[i]);
	}
	if (!r)
		r = vf_handoff_idle(&h);
	assert_int_equal(r, -EIO);
	/* 3 failed; at most the one posted before its failure was seen came after */
	assert_true(l.n >= 4 && l.n <= 5);
	assert_int_equal(vf_handoff_post(&h, &items[0]), -EIO);
	assert_int_equal(vf_handoff_idle(&h), -EIO);
	assert_true(l.n <= 5);
	vf_handoff_stop(&h);
}

static void test_stop_waits(void **state)
{
	struct log l = { .owner = pthread_self(), .fail_at = -1 };
	struct vf_handoff h, never = { 0 };
	int item = 7;

	(void)state;
	vf_handoff_start(&h, work, &l);
	assert_int_equal(vf_handoff_post(&h, &item), 0);
	vf_handoff_stop(&h); /* the piece in flight finishes first */
	assert_int_equal(l.n, 1);
	assert_int_equal(l.seen[0], 7);
	vf_handoff_stop(&h); /* twice: no effect */
	vf_handoff_stop(&never); /* never started */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_order),
		cmocka_unit_test(test_first_error_sticks),
		cmocka_unit_test(test_stop_waits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
