/* A worker thread taking one piece of work at a time (handoff.h). */
#include "builder/base/handoff.h"

#include <string.h>

static void *handoff_main(void *arg)
{
	struct vf_handoff *h = arg;

	pthread_mutex_lock(&h->mu);
	for (;;) {
		if (h->busy) {
			int r;

			pthread_mutex_unlock(&h->mu);
			r = h->fn(h->ctx, h->item);
			pthread_mutex_lock(&h->mu);
			if (r < 0 && !h->err)
				h->err = r;
			h->busy = false;
			pthread_cond_broadcast(&h->cv);
		} else if (h->quit) {
			break;
		} else {
			pthread_cond_wait(&h->cv, &h->mu);
		}
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

void vf_handoff_start(struct vf_handoff *h, vf_handoff_fn fn, void *ctx)
{
	memset(h, 0, sizeof(*h));
	h->fn = fn;
	h->ctx = ctx;
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->cv, NULL);
	h->thread = pthread_create(&h->tid, NULL, handoff_main, h) == 0;
}

int vf_handoff_idle(struct vf_handoff *h)
{
	int r;

	pthread_mutex_lock(&h->mu);
	while (h->busy)
		pthread_cond_wait(&h->cv, &h->mu);
	r = h->err;
	pthread_mutex_unlock(&h->mu);
	return r;
}

int vf_handoff_post(struct vf_handoff *h, void *item)
{
	int r;

	if (!h->thread) {
		if (h->err)
			return h->err;
		r = h->fn(h->ctx, item);
		if (r < 0)
			h->err = r;
		return r < 0 ? r : 0;
	}
	pthread_mutex_lock(&h->mu);
	while (h->busy)
		pthread_cond_wait(&h->cv, &h->mu);
	r = h->err;
	if (!r) {
		h->item = item;
		h->busy = true;
		pthread_cond_broadcast(&h->cv);
	}
	pthread_mutex_unlock(&h->mu);
	return r;
}

void vf_handoff_stop(struct vf_handoff *h)
{
	if (!h->fn)
		return; /* never started */
	if (h->thread) {
		pthread_mutex_lock(&h->mu);
		h->quit = true;
		pthread_cond_broadcast(&h->cv);
		pthread_mutex_unlock(&h->mu);
		pthread_join(h->tid, NULL);
		h->thread = false;
	}
	pthread_cond_destroy(&h->cv);
	pthread_mutex_destroy(&h->mu);
	h->fn = NULL;
}
