/*
 * spool_qid: queue IDs.  A queue ID is 64 bits: seconds since the epoch
 * (36 bits), a per-second sequence (20 bits) and the worker (8 bits), so IDs
 * sort by arrival and two workers never make the same one.  Text form: 16
 * uppercase hex digits (Postfix-like, e.g. "0692A1B3C0000103").  Owns the
 * per-worker generator, which never goes backwards, even when the clock does.
 */
#ifndef SLUICE_DATAPLANE_SPOOL_SPOOL_QID_H
#define SLUICE_DATAPLANE_SPOOL_SPOOL_QID_H

#include <stddef.h>
#include <stdint.h>

#define SPOOL_QID_LEN     16          /* characters, without the NUL */
#define SPOOL_WORKER_MAX  255

struct spool_qid_gen {
	uint64_t last;      /* last ID handed out (or seen in recovery) */
	uint8_t worker;
};

void spool_qid_init(struct spool_qid_gen *g, uint8_t worker);
/* Make sure IDs from now on sort after ID (recovery calls this). */
void spool_qid_seen(struct spool_qid_gen *g, uint64_t id);
uint64_t spool_qid_next(struct spool_qid_gen *g, uint64_t now_us);

uint8_t spool_qid_worker(uint64_t id);
uint64_t spool_qid_seconds(uint64_t id);

/* Writes SPOOL_QID_LEN characters and a NUL; BUF has room for both. */
void spool_qid_format(uint64_t id, char *buf);
/* Exactly SPOOL_QID_LEN hex digits (either case) → *id; -EINVAL otherwise. */
int spool_qid_parse(const char *s, uint64_t *id);

#endif
