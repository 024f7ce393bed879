#include "builder/base/parallel.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

struct run {
	size_t n;
	atomic_size_t next;
	vf_parallel_fn fn;
	void *ctx;
};

static void *work(void *arg)
{
	struct run *r = arg;
	size_t i;

	while ((i = atomic_fetch_add(&r->next, 1)) < r->n)
		r->fn(r->ctx, i);
	return NULL;
}

void vf_parallel_run(size_t n, unsigned threads, vf_parallel_fn fn, void *ctx)
{
	struct run r = { .n = n, .fn = fn, .ctx = ctx };
	pthread_t *tids = NULL;
	size_t started = 0, extra;

	atomic_init(&r.next, 0);
	/* no more threads than pieces besides the caller's */
	extra = threads > 1 ? threads - 1 : 0;
	if (n < 2)
		extra = 0;
	else if (extra > n - 1)
		extra = n - 1;
	if (extra && (tids = calloc(extra, sizeof(*tids))))
		while (started < extra && pthread_create(&tids[started], NULL, work, &r) == 0)
			started++;
	work(&r);
	for (size_t k = 0; k < started; k++)
		pthread_join(tids[k], NULL);
	free(tids);
}

unsigned vf_parallel_cpus(void)
{
	long c = sysconf(_SC_NPROCESSORS_ONLN);

	return c > 0 ? (unsigned)c : 1;
}
