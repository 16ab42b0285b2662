/*
 * wlog: log lines from a worker without a system call on the worker.  The
 * worker formats a line into a fixed slot and puts it on its ring; the main
 * lcore drains every worker's ring to stderr.  A full ring drops the line
 * and counts it (a NIC core never waits for a terminal).
 */
#ifndef SLUICE_DATAPLANE_WLOG_H
#define SLUICE_DATAPLANE_WLOG_H

#include <stdint.h>
#include <stdio.h>

#include <rte_ring.h>

#define WLOG_LINE 240

struct wlog {
	struct rte_ring *ring;   /* of struct wlog_line; SP (worker) / SC (main) */
	uint64_t dropped;        /* lines lost to a full ring (single writer) */
};

/* Create the ring for worker LCORE.  Returns 0 or -ENOMEM. */
int wlog_init(struct wlog *l, unsigned lcore, int socket);
void wlog_fini(struct wlog *l);

/* Worker side: queue one line (no newline needed). */
void wlog(struct wlog *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Main-lcore side: write every queued line to OUT; returns how many. */
unsigned wlog_drain(struct wlog *l, FILE *out);

#endif
