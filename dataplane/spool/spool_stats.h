/*
 * spool_stats: one worker's spool counters, for sluicectl.  The worker is
 * the only writer (STATS_ADD/STATS_SET from dataplane/stats.h); readers use
 * STATS_GET.
 */
#ifndef SLUICE_DATAPLANE_SPOOL_SPOOL_STATS_H
#define SLUICE_DATAPLANE_SPOOL_SPOOL_STATS_H

#include <stdint.h>
#include <rte_common.h>

#define SPOOL_COMMIT_BUCKETS 12

struct spool_stats {
	uint64_t msgs_committed;   /* end callbacks with 0 */
	uint64_t msgs_failed;      /* end callbacks with an error */
	uint64_t commits;          /* group commits completed */
	uint64_t commit_msgs_max;  /* largest group; msgs_committed/commits is the mean */
	uint64_t bytes_written;
	uint64_t write_errors;     /* failed writes and fdatasyncs, ENOSPC included */
	uint64_t enospc;           /* ENOSPC from writes or from growing the spool */
	uint64_t refused_full;     /* messages refused while full */
	uint64_t refused_slots;    /* refused: no message slot free */
	uint64_t refused_records;  /* refused: no body record slot free */
	uint64_t refused_blocks;   /* refused: every write block in flight */
	uint64_t refused_io;       /* refused: a write error at the time */
	uint64_t recovered;        /* accepted messages found at start */
	uint64_t discarded;        /* messages without an end record dropped at start */
	uint64_t reclaimed;        /* segments returned to the free list */
	uint64_t segs_in_use;      /* gauge */
	uint64_t segs_free;        /* gauge */
	uint64_t mem_bytes;        /* gauge: body bytes held in memory */
	uint64_t disk_reads;       /* body reads served from the spool */
	/* Group commit latency: from the commit's start (writes of the epoch
	 * issued) to its fdatasyncs' completion, µs. */
	uint64_t commit_us_sum;
	uint64_t commit_us_max;    /* gauge */
	uint64_t commit_us_hist[SPOOL_COMMIT_BUCKETS + 1];  /* <= bound[i]; the last: above */
} __rte_cache_aligned;

/* The histogram's bounds, µs: 100 250 500 1 ms 2.5 5 10 25 50 100 250 1 s. */
extern const uint64_t spool_commit_bound_us[SPOOL_COMMIT_BUCKETS];

/* Count one commit that took US (the worker only). */
void spool_stats_commit(struct spool_stats *st, uint64_t us);

#endif
