/* progress.c: the terminal progress bar of put/get/cp (progress.h). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tools/progress.h"
#include "tools/util.h"

static uint64_t ms_between(const struct timespec *a, const struct timespec *b)
{
	int64_t ms = (int64_t)(b->tv_sec - a->tv_sec) * 1000 + (b->tv_nsec - a->tv_nsec) / 1000000;
	return ms > 0 ? (uint64_t)ms : 0;
}

void progress_start(struct progress *p, const char *label, uint64_t total)
{
	memset(p, 0, sizeof(*p));
	p->total = total;
	p->enabled = label != NULL && total > PROGRESS_MIN_BYTES && isatty(STDERR_FILENO);
	if (label == NULL)
		label = "";
	size_t n = strlen(label);
	if (n > PROGRESS_LABEL_MAX)
		label += n - PROGRESS_LABEL_MAX; /* keep the end: the file name */
	snprintf(p->label, sizeof(p->label), "%s", label);
	clock_gettime(CLOCK_MONOTONIC, &p->start);
	p->last_draw = p->start;
}

void progress_format(const struct progress *p, uint64_t elapsed_ms, char *out, size_t out_len)
{
	char done[16], total[16], rate[16], eta[48];
	cli_human_size(p->done, done, sizeof(done));
	cli_human_size(p->total, total, sizeof(total));
	uint64_t bps = elapsed_ms > 0 ? p->done * 1000 / elapsed_ms : 0;
	cli_human_size(bps, rate, sizeof(rate));
	unsigned pct = p->total > 0 ? (unsigned)(p->done * 100 / p->total) : 0;
	if (bps > 0 && p->total >= p->done) {
		uint64_t s = (p->total - p->done) / bps;
		snprintf(eta, sizeof(eta), "ETA %llu:%02llu", (unsigned long long)(s / 60),
			 (unsigned long long)(s % 60));
	} else {
		snprintf(eta, sizeof(eta), "ETA --:--");
	}
	snprintf(out, out_len, "%s %6s / %-6s %3u%% %6s/s %s", p->label, done, total,
		 pct > 100 ? 100 : pct, rate, eta);
}

static void progress_draw(struct progress *p, const struct timespec *now)
{
	char line[160];
	progress_format(p, ms_between(&p->start, now), line, sizeof(line));
	fprintf(stderr, "\r%s\033[K", line);
	fflush(stderr);
	p->last_draw = *now;
}

void progress_add(struct progress *p, uint64_t n)
{
	p->done += n;
	if (!p->enabled)
		return;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (ms_between(&p->last_draw, &now) >= PROGRESS_REDRAW_MS)
		progress_draw(p, &now);
}

void progress_end(struct progress *p, int ok)
{
	if (!p->enabled)
		return;
	if (ok) {
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		progress_draw(p, &now);
		fputc('\n', stderr);
	} else {
		fputs("\r\033[K", stderr);
	}
	fflush(stderr);
	p->enabled = 0;
}
