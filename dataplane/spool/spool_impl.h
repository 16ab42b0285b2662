/*
 * spool_impl: the spool's internal state, shared by its source files
 * (spool.c: open/close/poll and completions; spool_log.c: appending records
 * into write blocks and group commit; spool_msg.c: the message API;
 * spool_seg.c: segment files, growth and reclaim; spool_recover.c: the scan
 * at start).  Not for other modules.
 */
#ifndef SLUICE_DATAPLANE_SPOOL_SPOOL_IMPL_H
#define SLUICE_DATAPLANE_SPOOL_SPOOL_IMPL_H

#include <stdbool.h>
#include <stdint.h>

#include <liburing.h>

#include "dataplane/spool/spool.h"

#define SPOOL_SEG_HDR_LEN  (SPOOL_REC_HDR + 20)  /* encoded segment header */
#define SPOOL_READS        64                    /* body reads in flight */
#define SPOOL_RING_DEPTH   256
#define SPOOL_ZERO_LEN     (1u << 20)            /* zeroing write size */
#define SPOOL_NONE         UINT32_MAX            /* end of an index list */

#define SPOOL_LOG(level, fmt, ...) \
	RTE_LOG(level, USER1, "spool: " fmt "\n", ##__VA_ARGS__)

enum seg_state {
	SEG_ABSENT,    /* no file yet */
	SEG_GROWING,   /* file being created and zeroed */
	SEG_FREE,      /* preallocated, holds nothing */
	SEG_ACTIVE,    /* receiving records */
	SEG_SEALED,    /* full or from a previous run; holds messages */
	SEG_FREEING,   /* free header being written and synced */
};

struct spool_seg {
	int fd;
	uint8_t state;
	bool bad;            /* a write or sync failed: never written again */
	uint32_t seq;        /* log order; in every record of the segment */
	uint32_t live;       /* unfinished messages with records in it */
	uint64_t idle_no;    /* epoch in which live last dropped to 0 */
	uint64_t off;        /* next write offset (active) */
	uint8_t hdr[SPOOL_SEG_HDR_LEN];  /* free header being written */
};

/* A write block: an aligned buffer mapped onto a file range of a segment.
 * Bytes [0, flushed) are submitted; [flushed, fill) are appended only. */
struct spool_block {
	uint8_t *buf;
	uint32_t seg;
	uint64_t base;       /* file offset of buf[0] */
	uint32_t cap, fill, flushed;
	uint32_t inflight;   /* writes of this block not yet completed */
};

/* Where one body record's data lies. */
struct spool_ext {
	uint32_t seg;
	uint32_t len;
	uint64_t off;        /* file offset of the data */
	uint64_t body_off;
	uint32_t next;
};

enum msg_state { MSG_FREE, MSG_RECEIVING, MSG_COMMITTING, MSG_ACCEPTED };

struct spool_msg {
	struct spool *sp;
	uint64_t qid;
	uint8_t state;
	bool wrote;          /* some record of it was appended */
	bool in_mem;         /* body also in chunks */
	bool abandoned;      /* aborted while its commit was in flight */
	uint64_t segmask;    /* segments holding its records */
	uint32_t env_seg;    /* where its envelope record is, for the mark */
	uint64_t env_off;
	uint64_t size;
	uint32_t body_crc;
	uint32_t nrcpt;
	uint32_t ext_head, ext_tail;
	uint32_t chunk_head, chunk_tail;
	uint64_t mem_len;
	uint32_t stage;      /* staging buffer while receiving, SPOOL_NONE */
	uint32_t stage_len;  /* bytes gathered in it */
	spool_end_fn *cb;
	void *arg;
	struct spool_msg *next;  /* free list or commit group */
};

/* Messages that ended in one epoch, and the writes submitted in it. */
struct spool_group {
	struct spool_msg *head, *tail;
	unsigned n;
	bool dirty;           /* records appended in this epoch */
	unsigned writes;      /* writes in flight */
	uint64_t segmask;     /* segments written */
	int err;
	uint64_t no;          /* epoch number */
};

struct spool_read {
	spool_read_fn *cb;
	void *arg;
	unsigned pending;
	int err;
};

enum grow_step { GROW_IDLE, GROW_OPEN, GROW_FALLOC, GROW_ZERO, GROW_FSYNC,
		 GROW_DIRSYNC };

struct spool {
	struct spool_conf conf;
	char dir[256];
	int dirfd;
	struct io_uring ring;
	unsigned inflight;    /* submitted or queued operations without a CQE */
	uint64_t now;
	uint64_t commit_start_us;  /* when the commit in flight started */
	struct spool_qid_gen qid;
	uint64_t reserve;     /* bytes of the last segment kept for outcome/done */

	struct spool_seg seg[SPOOL_SEG_MAX];
	uint32_t next_seq;
	int active;           /* index of the active segment, -1 none */
	bool full;
	bool reclaim_due;

	struct spool_block *blocks;
	int cur;              /* current block, -1 none */

	unsigned ep;          /* epoch new records belong to */
	uint64_t epoch_no;    /* its number (grows by one per commit) */
	uint64_t durable_no;  /* every epoch below this one is synced */
	struct spool_group grp[2];
	int committing;       /* epoch being committed, -1 none */
	unsigned fsyncs;      /* fsyncs in flight for it */
	bool fsync_sent;

	struct spool_msg *msgs, *msg_free;
	struct spool_ext *ext;
	uint32_t ext_free;
	uint8_t *mem;
	uint32_t *chunk_next;
	uint32_t chunk_free;
	uint8_t *stage;       /* stage_bufs buffers of SPOOL_STAGE_LEN */
	uint32_t *stage_free; /* stack of free ones */
	unsigned nstage_free;
	struct spool_read reads[SPOOL_READS];

	uint8_t *zero;        /* SPOOL_ZERO_LEN zero bytes */
	uint8_t mark;         /* SPOOL_MARK_DONE, the source of mark writes */
	struct {
		uint8_t step;
		int idx, fd;
		uint64_t off;
		uint64_t retry_at;
	} grow;

	const char *refusal;  /* cause of the last refusal, for the log */
	struct spool_stats stats;
};

/* io_uring user_data: operation, a 24-bit length, a 32-bit index. */
enum spool_op { OP_WRITE = 1, OP_MARK, OP_FSYNC, OP_READ, OP_GROW, OP_FREE_WRITE,
		OP_FREE_FSYNC, OP_IGNORE };
#define SPOOL_UD(op, len, idx) \
	((uint64_t)(op) << 56 | (uint64_t)(len) << 32 | (uint32_t)(idx))
#define SPOOL_UD_OP(ud)  ((unsigned)((ud) >> 56))
#define SPOOL_UD_LEN(ud) ((uint32_t)((ud) >> 32) & 0xFFFFFF)
#define SPOOL_UD_IDX(ud) ((uint32_t)(ud))

/* spool.c */
struct io_uring_sqe *spool_sqe(struct spool *sp);

/* spool_log.c */
/* Room for N bytes in the current block of a segment with space (may
 * switch segments; RESERVE: may use the last segment's reserve). */
uint8_t *spool_log_reserve(struct spool *sp, size_t n, bool reserve, int *err);
/* The N bytes just reserved hold a record of M (or of no message). */
void spool_log_commit(struct spool *sp, struct spool_msg *m, size_t n);
/* Bytes the current block can still take in the active segment (0: none). */
size_t spool_log_room(const struct spool *sp);
void spool_log_flush(struct spool *sp);
void spool_log_end(struct spool *sp, struct spool_msg *m);
void spool_log_write_done(struct spool *sp, uint64_t ud, int res);
/* Mark M's envelope done in place (covered by the next commit). */
void spool_log_mark(struct spool *sp, struct spool_msg *m);
void spool_log_mark_done(struct spool *sp, uint64_t ud, int res);
void spool_log_fsync_done(struct spool *sp, int res);
void spool_log_poll(struct spool *sp);
/* An extent from the pool, SPOOL_NONE when it is empty. */
uint32_t spool_ext_alloc(struct spool *sp);

/* spool_msg.c */
void spool_msg_release(struct spool_msg *m);
/* Abort: a done record if anything was written, then release. */
void spool_msg_drop(struct spool_msg *m);
void spool_msg_note_seg(struct spool_msg *m, uint32_t seg);
struct spool_msg *spool_msg_alloc(struct spool *sp, uint64_t qid);
void spool_read_done(struct spool *sp, uint64_t ud, int res);

/* spool_seg.c */
int spool_seg_open_all(struct spool *sp);
int spool_seg_activate(struct spool *sp);
void spool_seg_seal(struct spool *sp);
void spool_seg_reclaim(struct spool *sp);
void spool_seg_free_done(struct spool *sp, uint64_t ud, int res);
void spool_seg_grow_poll(struct spool *sp);
void spool_seg_grow_done(struct spool *sp, int res);
void spool_seg_update(struct spool *sp);

/* spool_recover.c */
int spool_recover(struct spool *sp, spool_recovered_fn *fn, void *arg);

#endif
