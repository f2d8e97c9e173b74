/* progress.h: the copy progress bar of put/get/cp, drawn on stderr.
 *
 * It appears only when stderr is a terminal and the copy is larger than
 * PROGRESS_MIN_BYTES; it shows bytes done / total, percent, rate and ETA,
 * redrawn at most every PROGRESS_REDRAW_MS. Contract: the caller owns the
 * struct; progress_end() must follow progress_start(). Single-threaded. */
#ifndef DFS_TOOLS_PROGRESS_H
#define DFS_TOOLS_PROGRESS_H

#include <stdint.h>
#include <time.h>

#define PROGRESS_MIN_BYTES (8ull << 20)
#define PROGRESS_REDRAW_MS 100
#define PROGRESS_LABEL_MAX 40 /* characters of the name shown */

struct progress {
	int enabled;
	uint64_t total;
	uint64_t done;
	struct timespec start;
	struct timespec last_draw;
	char label[PROGRESS_LABEL_MAX + 1];
};

/* Starts a bar for a copy of total bytes (0: unknown, no bar) named by
 * label (NULL: never draw); enabled only if stderr is a terminal and total is large. */
void progress_start(struct progress *p, const char *label, uint64_t total);
/* Adds n bytes done; redraws if the last draw is old enough. */
void progress_add(struct progress *p, uint64_t n);
/* Draws the final state and ends the line (ok) or erases the bar (!ok). */
void progress_end(struct progress *p, int ok);

/* Formats the bar line into out (no '\r'); exposed for tests. elapsed_ms
 * is the time since the start. */
void progress_format(const struct progress *p, uint64_t elapsed_ms, char *out, size_t out_len);

#endif
