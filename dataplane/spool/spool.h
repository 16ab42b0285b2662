/*
 * spool: one worker's durable message store.  Owns the worker's segment
 * files, its io_uring ring, the write blocks, group commit, crash recovery,
 * segment reclaim and the in-memory body copies.  Knows nothing of SMTP: it
 * stores envelopes (struct spool_env), bodies and per-recipient outcomes.
 *
 * Everything but spool_open() and spool_close() runs on the worker and never
 * makes a blocking system call: I/O is submitted and reaped in spool_poll(),
 * which the worker calls every loop iteration.  Callbacks fire from there.
 *
 * A message's life: spool_msg_begin() writes its envelope, spool_msg_append()
 * its body, spool_msg_end() its end record; the end callback fires with 0
 * once the fdatasync covering the message completed (time for the 250), or
 * with -ENOSPC/-EIO (time for a 452 4.3.1; the handle is gone then).  After
 * acceptance the delivery side records outcomes and, when finished,
 * spool_msg_done() — whereupon the handle is gone too.
 */
#ifndef SLUICE_DATAPLANE_SPOOL_SPOOL_H
#define SLUICE_DATAPLANE_SPOOL_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "dataplane/spool/spool_qid.h"
#include "dataplane/spool/spool_rec.h"
#include "dataplane/spool/spool_stats.h"

#define SPOOL_SEG_MAX 64   /* segment files per worker */

struct spool_conf {
	const char *dir;              /* spool directory, shared by all workers */
	uint8_t worker;               /* worker number: in file names and queue IDs */
	uint64_t seg_size;            /* bytes per segment file, multiple of block_size */
	unsigned seg_initial;         /* segments preallocated by spool_open() */
	unsigned seg_max;             /* segments at most (<= SPOOL_SEG_MAX) */
	uint32_t block_size;          /* write block, multiple of 4096 */
	unsigned blocks;              /* write blocks (bounds data not yet written) */
	uint64_t commit_interval_us;  /* start commits at least this far apart;
				       * 0: as soon as the previous one is done */
	unsigned commit_batch;        /* commit at once when this many messages wait */
	unsigned max_msgs;            /* messages open or queued at once */
	unsigned max_extents;         /* body records tracked at once */
	unsigned stage_bufs;          /* messages receiving at once whose body
				       * pieces are gathered into larger records */
	uint64_t mem_budget;          /* bytes of bodies kept in memory for delivery */
	uint32_t mem_chunk;           /* unit of that memory (2 KiB: a small message in one) */
	uint64_t retry_us;            /* retry growing the spool this often when full */
};

/* Body input is gathered per receiving message into records of up to
 * SPOOL_STAGE_LEN bytes, however small the pieces it arrives in. */
#define SPOOL_STAGE_LEN        (16u << 10)
/* Message slots beyond the queued messages and the sessions receiving
 * (DSNs in the making). */
#define SPOOL_MSGS_SPARE       16

/* Size the pools of C for QUEUED accepted messages and RECEIVING sessions:
 * message slots, staging buffers, and body records enough for a spool full
 * of bodies (each staged record may be split once at a block boundary). */
void spool_conf_size(struct spool_conf *c, unsigned queued, unsigned receiving);

/* Defaults: 64 MiB segments, 4 preallocated, up to 16; 256 KiB blocks;
 * commit whenever no commit is in flight (groups form while one is), at
 * most 64 messages waiting; 64 MiB of bodies in memory. */
void spool_conf_defaults(struct spool_conf *c, const char *dir, uint8_t worker);

struct spool;
struct spool_msg;

/* What recovery found of one accepted, unfinished message: its envelope
 * and each recipient's last recorded outcome (0 = none yet). */
typedef void spool_recovered_fn(void *arg, struct spool_msg *m,
				const struct spool_env *env,
				const uint8_t *outcomes);
typedef void spool_end_fn(void *arg, struct spool_msg *m, int err);
typedef void spool_read_fn(void *arg, int err);

/*
 * Open (creating and preallocating segments as needed) and recover the
 * spool of worker conf->worker.  Blocking: call before the worker loop.
 * FN, when not NULL, is called for every recovered message; the messages
 * stay in the spool until spool_msg_done().  Returns 0 or a negative errno.
 */
int spool_open(const struct spool_conf *conf, uint64_t now_us,
	       spool_recovered_fn *fn, void *arg, struct spool **out);
/* Blocking: waits for I/O in flight, then frees everything.  Messages not
 * yet committed get no callback. */
void spool_close(struct spool *sp);

/* Reap completions, run group commit, reclaim and growth.  Non-blocking.
 * Returns the completions reaped (work done, for the worker's load). */
unsigned spool_poll(struct spool *sp, uint64_t now_us);

/* Start a message (writes its envelope record).  -ENOSPC while the spool is
 * full, -ENOBUFS when out of message slots or write blocks, -E2BIG for an
 * envelope past the limits.  Every refusal is counted by cause. */
int spool_msg_begin(struct spool *sp, const struct spool_env *env,
		    uint64_t now_us, struct spool_msg **out);
/* Body bytes, in order, in pieces of any size.  Negative errno (-ENOSPC,
 * -ENOBUFS out of body records or write blocks, -EIO): the message failed
 * and must be aborted. */
int spool_msg_append(struct spool_msg *m, const void *data, size_t len);
/* End of data.  CB fires from spool_poll() once the message is committed
 * (err 0) or failed (-ENOSPC, -EIO...; the handle is then gone).  A negative
 * return means the message failed at once: no callback, abort it. */
int spool_msg_end(struct spool_msg *m, spool_end_fn *cb, void *arg);
/* Drop a message that was not accepted: before spool_msg_end(), or after
 * it while the commit is in flight (no callback then; the handle is gone). */
void spool_msg_abort(struct spool_msg *m);

/* Record recipient RCPT's outcome of an accepted message. */
int spool_msg_outcome(struct spool_msg *m, uint32_t rcpt,
		      enum spool_outcome outcome, const char *reply,
		      size_t reply_len);
/* The accepted message is finished (REASON SPOOL_DONE_FINISHED or
 * _DELETED); the handle is gone after this. */
int spool_msg_done(struct spool_msg *m, enum spool_done_reason reason);

/*
 * Read LEN body bytes at OFF of an accepted message into BUF.  Returns LEN
 * when copied at once from memory; 0 when a read from the spool was
 * submitted and CB(ARG, 0 or -errno) will fire from spool_poll(); or a
 * negative errno (-EINVAL past the body, -EBUSY before acceptance, -EAGAIN
 * when too many reads are in flight).
 */
long spool_msg_read(struct spool_msg *m, uint64_t off, void *buf, size_t len,
		    spool_read_fn *cb, void *arg);

uint64_t spool_msg_qid(const struct spool_msg *m);
uint64_t spool_msg_size(const struct spool_msg *m);
/* True while the body is also held in memory (reads need no I/O). */
int spool_msg_in_memory(const struct spool_msg *m);

const struct spool_stats *spool_stats(const struct spool *sp);
/* Whether a refusal ERR from this API means the spool cannot take the
 * message now (full, a write error, out of slots: 452 4.3.1) rather than
 * a message it will never take (-E2BIG, -EINVAL). */
int spool_err_storage(int err);
/* The cause of the last refusal by spool_msg_begin(), _append() or _end(),
 * for the log line. */
const char *spool_refusal(const struct spool *sp);
/* 1 while new messages are refused for lack of space. */
int spool_full(struct spool *sp);

#endif
