/* wal_syncer.c: the thread that runs a leader's WAL fdatasync off the
 * event loop (see wal_syncer.h). */
#include "namenode/wal_syncer.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct sync_req {
	int fd; /* a dup, closed once synced; -1: none */
	uint64_t index, term;
};

struct wal_syncer {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int efd;
	bool stop;
	bool running;          /* the thread is in fdatasync */
	struct sync_req next;  /* queued, not started */
	bool have_done;
	struct sync_req done;  /* newest completed (fd unused) */
	int err;               /* first failed fdatasync, sticky */
};

static void *syncer_main(void *arg)
{
	struct wal_syncer *s = arg;
	pthread_mutex_lock(&s->mu);
	for (;;) {
		while (!s->stop && s->next.fd < 0)
			pthread_cond_wait(&s->cv, &s->mu);
		if (s->next.fd < 0)
			break; /* stopping, nothing queued */
		struct sync_req r = s->next;
		s->next.fd = -1;
		s->running = true;
		pthread_mutex_unlock(&s->mu);
		int rc = fdatasync(r.fd) == 0 ? 0 : -errno;
		close(r.fd);
		pthread_mutex_lock(&s->mu);
		s->running = false;
		if (rc < 0 && s->err == 0)
			s->err = rc;
		if (rc == 0)
			s->done = r; /* requests complete in the order made */
		s->have_done = true;
		uint64_t one = 1;
		ssize_t n = write(s->efd, &one, sizeof(one)); /* wakes the loop */
		(void)n; /* a full counter is already readable */
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

int wal_syncer_start(struct wal_syncer **out)
{
	struct wal_syncer *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->next.fd = -1;
	s->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (s->efd < 0) {
		int rc = -errno;
		free(s);
		return rc;
	}
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	int rc = pthread_create(&s->thread, NULL, syncer_main, s);
	if (rc != 0) {
		close(s->efd);
		pthread_mutex_destroy(&s->mu);
		pthread_cond_destroy(&s->cv);
		free(s);
		return -rc;
	}
	*out = s;
	return 0;
}

void wal_syncer_stop(struct wal_syncer *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	s->stop = true;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->thread, NULL); /* it finishes what was queued */
	close(s->efd);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	free(s);
}

int wal_syncer_fd(const struct wal_syncer *s)
{
	return s->efd;
}

int wal_syncer_submit(struct wal_syncer *s, int fd, uint64_t index, uint64_t term)
{
	int d = dup(fd);
	if (d < 0)
		return -errno;
	pthread_mutex_lock(&s->mu);
	int old = s->next.fd;
	s->next = (struct sync_req){.fd = d, .index = index, .term = term};
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	if (old >= 0)
		close(old); /* the newer request's fdatasync covers it */
	return 0;
}

bool wal_syncer_take(struct wal_syncer *s, uint64_t *index, uint64_t *term, int *err)
{
	uint64_t count;
	if (read(s->efd, &count, sizeof(count)) < 0)
		return false; /* EAGAIN: nothing completed since the last take */
	pthread_mutex_lock(&s->mu);
	bool have = s->have_done;
	*index = s->done.index;
	*term = s->done.term;
	*err = s->err;
	s->have_done = false;
	pthread_mutex_unlock(&s->mu);
	return have;
}

bool wal_syncer_busy(struct wal_syncer *s)
{
	pthread_mutex_lock(&s->mu);
	bool busy = s->running || s->next.fd >= 0;
	pthread_mutex_unlock(&s->mu);
	return busy;
}
