/*
 * invalidator.c - a worker thread sending cache invalidations.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <fuse.h>

#include "fusefs/invalidator.h"
#include "storage/crash_log.h"

#define INVALIDATOR_QUEUE 1024

struct invalidator {
	struct fuse *fuse;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stopping;
	size_t head, count;
	char *queue[INVALIDATOR_QUEUE];
	atomic_uint_fast64_t sent;
	atomic_uint_fast64_t dropped;
};

static void *run(void *arg)
{
	struct invalidator *invalidator = arg;

	pthread_mutex_lock(&invalidator->lock);
	for (;;) {
		while (invalidator->count == 0 && !invalidator->stopping)
			pthread_cond_wait(&invalidator->wake,
					  &invalidator->lock);
		if (invalidator->count == 0)
			break;
		char *path = invalidator->queue[invalidator->head];
		invalidator->head = (invalidator->head + 1) % INVALIDATOR_QUEUE;
		invalidator->count--;
		pthread_mutex_unlock(&invalidator->lock);
		/* -ENOENT: the kernel never looked the path up; fine. */
		int result = fuse_invalidate_path(invalidator->fuse, path);
		if (result == 0)
			atomic_fetch_add(&invalidator->sent, 1);
		else if (result != -ENOENT)
			crash_log(CRASH_LOG_DEBUG, "invalidate %s: %s", path,
				  strerror(-result));
		free(path);
		pthread_mutex_lock(&invalidator->lock);
	}
	pthread_mutex_unlock(&invalidator->lock);
	return NULL;
}

int invalidator_start(struct fuse *fuse, struct invalidator **out)
{
	struct invalidator *invalidator = calloc(1, sizeof *invalidator);
	if (!invalidator)
		return -ENOMEM;
	invalidator->fuse = fuse;
	pthread_mutex_init(&invalidator->lock, NULL);
	pthread_cond_init(&invalidator->wake, NULL);
	int result =
		pthread_create(&invalidator->thread, NULL, run, invalidator);
	if (result != 0) {
		pthread_cond_destroy(&invalidator->wake);
		pthread_mutex_destroy(&invalidator->lock);
		free(invalidator);
		return -result;
	}
	*out = invalidator;
	return 0;
}

void invalidator_stop(struct invalidator *invalidator)
{
	if (!invalidator)
		return;
	pthread_mutex_lock(&invalidator->lock);
	invalidator->stopping = true;
	pthread_cond_signal(&invalidator->wake);
	pthread_mutex_unlock(&invalidator->lock);
	pthread_join(invalidator->thread, NULL);
	pthread_cond_destroy(&invalidator->wake);
	pthread_mutex_destroy(&invalidator->lock);
	free(invalidator);
}

void invalidator_queue(struct invalidator *invalidator, const char *path)
{
	if (!invalidator)
		return;
	char *copy = strdup(path);
	bool queued = false;
	pthread_mutex_lock(&invalidator->lock);
	if (copy && invalidator->count < INVALIDATOR_QUEUE &&
	    !invalidator->stopping) {
		size_t tail = (invalidator->head + invalidator->count) %
			      INVALIDATOR_QUEUE;
		invalidator->queue[tail] = copy;
		invalidator->count++;
		queued = true;
		pthread_cond_signal(&invalidator->wake);
	}
	pthread_mutex_unlock(&invalidator->lock);
	if (!queued) {
		free(copy);
		atomic_fetch_add(&invalidator->dropped, 1);
	}
}

uint64_t invalidator_sent(struct invalidator *invalidator)
{
	return invalidator ? atomic_load(&invalidator->sent) : 0;
}

uint64_t invalidator_dropped(struct invalidator *invalidator)
{
	return invalidator ? atomic_load(&invalidator->dropped) : 0;
}
