/* commit-floor.c: the least one majority-durable operation costs on this
 * machine, with none of dfs in the way. Four processes on loopback TCP:
 * a client sends a 200-byte record to a leader, which appends it to its
 * own log in a sync thread and sends it to two followers; each follower
 * appends it to its log, fdatasyncs and acks. The leader answers the
 * client as soon as two of the three copies are durable, as a Raft leader
 * commits. The client sends its next record only then, as one process
 * creating files one after the other does. Every log is a preallocated
 * file on the disk this runs in (the current directory), so a sync writes
 * data and the device flush, no metadata.
 *
 * Usage: commit-floor [OPS]   (default 3000). Prints microseconds per
 * operation and operations per second. No protobuf, no LevelDB, no FUSE:
 * a namespace operation through the mount costs this plus its own work. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RECORD_BYTES 200
#define LOG_BYTES (4 << 20)

static void die(const char *what)
{
	fprintf(stderr, "commit-floor: %s: %s\n", what, strerror(errno));
	exit(1);
}

static double now_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static int read_full(int fd, void *buf, size_t n)
{
	for (size_t got = 0; got < n;) {
		ssize_t r = read(fd, (char *)buf + got, n - got);
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

static void no_delay(int fd)
{
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* A listening socket on 127.0.0.1, any port; its port in *port. */
static int listen_any(uint16_t *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 4) < 0 ||
	    getsockname(s, (struct sockaddr *)&a, &len) < 0)
		die("listen");
	*port = ntohs(a.sin_port);
	return s;
}

static int connect_to(uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("connect");
	no_delay(s);
	return s;
}

static int accept_one(int listener)
{
	int c = accept(listener, NULL, NULL);
	if (c < 0)
		die("accept");
	no_delay(c);
	close(listener);
	return c;
}

/* A log file written once with zeros and synced, then unlinked (the open
 * descriptor keeps it until exit). */
static int open_log(const char *name)
{
	static char zeros[1 << 16];
	int fd = open(name, O_CREAT | O_TRUNC | O_RDWR, 0644);
	if (fd < 0)
		die(name);
	for (int i = 0; i < LOG_BYTES / (int)sizeof(zeros); i++)
		if (write(fd, zeros, sizeof(zeros)) != (ssize_t)sizeof(zeros))
			die("write log");
	if (fsync(fd) < 0)
		die("fsync log");
	unlink(name);
	return fd;
}

static void append_sync(int fd, const char *rec, off_t *off)
{
	if (pwrite(fd, rec, RECORD_BYTES, *off) != RECORD_BYTES || fdatasync(fd) < 0)
		die("append");
	*off = (*off + RECORD_BYTES) % LOG_BYTES;
}

static void follower(int listener, const char *log_name)
{
	int c = accept_one(listener), fd = open_log(log_name);
	char rec[RECORD_BYTES];
	off_t off = 0;
	while (read_full(c, rec, sizeof(rec)) == 0) {
		append_sync(fd, rec, &off);
		if (write(c, "a", 1) != 1)
			break;
	}
	exit(0);
}

/* The leader's own log: a thread syncs what the event loop appends and
 * signals an eventfd, so the loop never waits for its own disk. */
static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	long wanted, durable;
	int fd, efd;
} own = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, -1, -1 };

static void *own_sync_main(void *arg)
{
	char rec[RECORD_BYTES] = { 0 };
	off_t off = 0;
	(void)arg;
	for (;;) {
		pthread_mutex_lock(&own.mu);
		while (own.wanted == own.durable)
			pthread_cond_wait(&own.cv, &own.mu);
		long upto = own.wanted;
		pthread_mutex_unlock(&own.mu);
		append_sync(own.fd, rec, &off);
		pthread_mutex_lock(&own.mu);
		own.durable = upto;
		pthread_mutex_unlock(&own.mu);
		uint64_t one = 1;
		if (write(own.efd, &one, sizeof(one)) != sizeof(one))
			die("eventfd");
	}
	return NULL;
}

static void leader(int listener, uint16_t f1_port, uint16_t f2_port)
{
	int c = accept_one(listener);
	int f[2] = { connect_to(f1_port), connect_to(f2_port) };
	long acked[2] = { 0, 0 }, k = 0;
	char rec[RECORD_BYTES];
	pthread_t t;
	own.fd = open_log("commit-floor.leader.log");
	own.efd = eventfd(0, 0);
	if (own.efd < 0 || pthread_create(&t, NULL, own_sync_main, NULL) != 0)
		die("leader thread");
	while (read_full(c, rec, sizeof(rec)) == 0) {
		k++;
		pthread_mutex_lock(&own.mu);
		own.wanted = k;
		pthread_cond_signal(&own.cv);
		pthread_mutex_unlock(&own.mu);
		if (write(f[0], rec, sizeof(rec)) != sizeof(rec) ||
		    write(f[1], rec, sizeof(rec)) != sizeof(rec))
			die("replicate");
		for (;;) { /* until two of the three copies are durable */
			pthread_mutex_lock(&own.mu);
			int votes = (own.durable >= k) + (acked[0] >= k) + (acked[1] >= k);
			pthread_mutex_unlock(&own.mu);
			if (votes >= 2)
				break;
			struct pollfd p[3] = { { f[0], POLLIN, 0 }, { f[1], POLLIN, 0 },
					       { own.efd, POLLIN, 0 } };
			if (poll(p, 3, -1) < 0)
				die("poll");
			char acks[64];
			for (int i = 0; i < 2; i++) {
				if (!(p[i].revents & POLLIN))
					continue;
				ssize_t r = read(f[i], acks, sizeof(acks));
				if (r <= 0)
					die("follower ack");
				acked[i] += r;
			}
			uint64_t v;
			if ((p[2].revents & POLLIN) && read(own.efd, &v, sizeof(v)) < 0)
				die("eventfd");
		}
		if (write(c, "c", 1) != 1)
			break;
	}
	exit(0);
}

int main(int argc, char **argv)
{
	int ops = argc > 1 ? atoi(argv[1]) : 3000;
	if (ops <= 0) {
		fprintf(stderr, "usage: commit-floor [OPS]\n");
		return 2;
	}
	uint16_t lp, p1, p2;
	int l = listen_any(&lp), l1 = listen_any(&p1), l2 = listen_any(&p2);
	pid_t kids[3];
	if ((kids[0] = fork()) == 0)
		follower(l1, "commit-floor.f1.log");
	if ((kids[1] = fork()) == 0)
		follower(l2, "commit-floor.f2.log");
	if ((kids[2] = fork()) == 0)
		leader(l, p1, p2);
	close(l1);
	close(l2);
	close(l);
	int c = connect_to(lp);
	char rec[RECORD_BYTES] = { 1 }, ack;
	double t0 = now_us();
	for (int i = 0; i < ops; i++)
		if (write(c, rec, sizeof(rec)) != sizeof(rec) || read_full(c, &ack, 1) < 0)
			die("operation");
	double us = (now_us() - t0) / ops;
	close(c);
	for (int i = 0; i < 3; i++)
		waitpid(kids[i], NULL, 0);
	printf("majority-durable operation (3 logs, one disk, loopback): %.0f us, %.0f/s "
	       "(%d in a row)\n", us, 1e6 / us, ops);
	return 0;
}
