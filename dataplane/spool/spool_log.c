/*
 * spool_log: appending records to the active segment through write blocks,
 * and group commit.  Records are encoded straight into the current block;
 * a block is written (one io_uring write of its unwritten part) when full
 * or when a commit starts.  A commit cuts the epoch: one fdatasync per
 * segment written covers every message that ended in the epoch, and only
 * then do their end callbacks fire.  The fdatasyncs go into the ring with
 * the epoch's last write, marked IOSQE_IO_DRAIN: the kernel starts them
 * only once every operation submitted before them has completed, so the
 * epoch's writes are in the page cache when they run, without a round trip
 * through the worker between the writes and the sync.  One commit is in
 * flight at a time; the next epoch collects meanwhile.  A failed write or fdatasync fails its group and marks the
 * segment bad: nothing after a hole in a segment can be recovered, so
 * writing moves to a fresh segment and messages with records in a bad
 * segment fail.
 */
#include <errno.h>
#include <string.h>

#include <rte_log.h>

#include "dataplane/stats.h"
#include "dataplane/spool/spool_impl.h"

uint32_t spool_ext_alloc(struct spool *sp)
{
	uint32_t i = sp->ext_free;

	if (i != SPOOL_NONE)
		sp->ext_free = sp->ext[i].next;
	return i;
}

/* ---- blocks ------------------------------------------------------------- */

static void mark_bad(struct spool *sp, uint32_t seg, int err);

static void block_flush(struct spool *sp, int b)
{
	struct spool_block *k = &sp->blocks[b];
	struct spool_group *g = &sp->grp[sp->ep];
	uint32_t n = k->fill - k->flushed;
	struct io_uring_sqe *q;

	if (n == 0)
		return;
	q = spool_sqe(sp);
	if (q == NULL) {
		/* Cannot happen with a ring deeper than the blocks; if it
		 * does, the bytes are lost and the group fails. */
		g->err = -EIO;
		k->flushed = k->fill;
		mark_bad(sp, k->seg, -EIO);
		return;
	}
	io_uring_prep_write(q, sp->seg[k->seg].fd, k->buf + k->flushed, n,
			    k->base + k->flushed);
	io_uring_sqe_set_data64(q, SPOOL_UD(OP_WRITE, n,
					    (uint32_t)b | sp->ep << 31));
	k->inflight++;
	k->flushed = k->fill;
	g->writes++;
	g->segmask |= 1ull << k->seg;
}

void spool_log_flush(struct spool *sp)
{
	if (sp->cur >= 0)
		block_flush(sp, sp->cur);
}

static int block_new(struct spool *sp)
{
	struct spool_seg *s = &sp->seg[sp->active];

	spool_log_flush(sp);
	for (unsigned b = 0; b < sp->conf.blocks; b++) {
		struct spool_block *k = &sp->blocks[b];

		if (k->inflight || (int)b == sp->cur)
			continue;
		k->seg = (uint32_t)sp->active;
		k->base = s->off;
		k->cap = sp->conf.seg_size - s->off < sp->conf.block_size ?
			 (uint32_t)(sp->conf.seg_size - s->off) :
			 sp->conf.block_size;
		k->fill = k->flushed = 0;
		sp->cur = (int)b;
		return 0;
	}
	return -ENOBUFS;
}

size_t spool_log_room(const struct spool *sp)
{
	if (sp->active < 0)
		return 0;
	const struct spool_seg *s = &sp->seg[sp->active];
	uint64_t seg_room = sp->conf.seg_size - s->off;

	if (sp->cur >= 0 && sp->blocks[sp->cur].seg == (uint32_t)sp->active) {
		const struct spool_block *k = &sp->blocks[sp->cur];
		return k->cap - k->fill;
	}
	return seg_room < sp->conf.block_size ? seg_room : sp->conf.block_size;
}

/* ---- appending ---------------------------------------------------------- */

static bool seg_takes(const struct spool *sp, size_t n, bool reserve)
{
	if (sp->active < 0)
		return false;
	uint64_t room = sp->conf.seg_size - sp->seg[sp->active].off;

	if (room < n)
		return false;
	return reserve || sp->stats.segs_free > 0 || room - n >= sp->reserve;
}

uint8_t *spool_log_reserve(struct spool *sp, size_t n, bool reserve, int *err)
{
	if (n > sp->conf.block_size) {
		*err = -E2BIG;
		return NULL;
	}
	if (!seg_takes(sp, n, reserve)) {
		/* Without a free segment, ordinary records stop here: sealing
		 * would waste the reserve that outcome and done records need. */
		if (!reserve && sp->stats.segs_free == 0 && sp->active >= 0) {
			*err = -ENOSPC;
			return NULL;
		}
		spool_log_flush(sp);
		spool_seg_seal(sp);
		*err = spool_seg_activate(sp);
		if (*err != 0)
			return NULL;
	}
	struct spool_block *k = sp->cur >= 0 ? &sp->blocks[sp->cur] : NULL;

	if (k == NULL || k->seg != (uint32_t)sp->active || k->fill + n > k->cap) {
		*err = block_new(sp);
		if (*err != 0)
			return NULL;
		k = &sp->blocks[sp->cur];
	}
	return k->buf + k->fill;
}

void spool_log_commit(struct spool *sp, struct spool_msg *m, size_t n)
{
	struct spool_block *k = &sp->blocks[sp->cur];
	struct spool_group *g = &sp->grp[sp->ep];

	k->fill += (uint32_t)n;
	sp->seg[sp->active].off += n;
	g->dirty = true;
	if (m != NULL) {
		m->wrote = true;
		spool_msg_note_seg(m, (uint32_t)sp->active);
	}
	if (k->fill == k->cap)
		block_flush(sp, sp->cur);
}

void spool_log_mark(struct spool *sp, struct spool_msg *m)
{
	struct spool_group *g = &sp->grp[sp->ep];
	struct spool_block *k = sp->cur >= 0 ? &sp->blocks[sp->cur] : NULL;
	struct io_uring_sqe *q;

	/* An envelope not yet handed to the kernel (a message aborted while
	 * it arrives) is marked in the block, or the block's write would
	 * undo the mark.  One whose block write is still in flight may race
	 * with the mark; then the done record is what keeps it finished. */
	if (k != NULL && k->seg == m->env_seg &&
	    m->env_off >= k->base + k->flushed && m->env_off < k->base + k->fill) {
		k->buf[m->env_off - k->base + SPOOL_REC_MARK_OFF] = SPOOL_MARK_DONE;
		return;
	}
	q = spool_sqe(sp);
	if (q == NULL)
		return;  /* the done record still finishes it while it lives */
	io_uring_prep_write(q, sp->seg[m->env_seg].fd, &sp->mark, 1,
			    m->env_off + SPOOL_REC_MARK_OFF);
	io_uring_sqe_set_data64(q, SPOOL_UD(OP_MARK, 1, sp->ep));
	g->writes++;
	g->segmask |= 1ull << m->env_seg;
}

void spool_log_mark_done(struct spool *sp, uint64_t ud, int res)
{
	sp->grp[SPOOL_UD_IDX(ud)].writes--;
	if (res != 1) {
		STATS_ADD(sp->stats.write_errors, 1);
		SPOOL_LOG(ERR, "worker %u: marking a message done: %s",
			  sp->conf.worker, strerror(res < 0 ? -res : EIO));
	}
}

/* ---- group commit ------------------------------------------------------- */

const uint64_t spool_commit_bound_us[SPOOL_COMMIT_BUCKETS] = {
	100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000,
	1000000,
};

void spool_stats_commit(struct spool_stats *st, uint64_t us)
{
	unsigned b = 0;

	while (b < SPOOL_COMMIT_BUCKETS && us > spool_commit_bound_us[b])
		b++;
	STATS_ADD(st->commit_us_hist[b], 1);
	STATS_ADD(st->commit_us_sum, us);
	if (us > st->commit_us_max)
		STATS_SET(st->commit_us_max, us);
}

void spool_log_end(struct spool *sp, struct spool_msg *m)
{
	struct spool_group *g = &sp->grp[sp->ep];

	m->state = MSG_COMMITTING;
	m->next = NULL;
	if (g->tail)
		g->tail->next = m;
	else
		g->head = m;
	g->tail = m;
	g->n++;
}

static uint64_t bad_segments(const struct spool *sp)
{
	uint64_t mask = 0;

	for (unsigned i = 0; i < sp->conf.seg_max; i++)
		if (sp->seg[i].bad)
			mask |= 1ull << i;
	return mask;
}

static void group_finish(struct spool *sp, unsigned e)
{
	struct spool_group g = sp->grp[e];
	uint64_t bad = bad_segments(sp);
	unsigned ok = 0;

	memset(&sp->grp[e], 0, sizeof(sp->grp[e]));
	sp->committing = -1;
	sp->fsync_sent = false;
	if (g.err == 0) {
		STATS_ADD(sp->stats.commits, 1);
		spool_stats_commit(&sp->stats, sp->now - sp->commit_start_us);
		sp->durable_no = g.no + 1;
		sp->reclaim_due = true;
	}
	for (struct spool_msg *m = g.head, *next; m != NULL; m = next) {
		int err = g.err ? g.err : (m->segmask & bad) ? -EIO : 0;

		next = m->next;
		m->next = NULL;
		if (m->abandoned) {
			spool_msg_drop(m);
		} else if (err == 0) {
			m->state = MSG_ACCEPTED;
			ok++;
			m->cb(m->arg, m, 0);
		} else {
			char id[SPOOL_QID_LEN + 1];

			spool_qid_format(m->qid, id);
			SPOOL_LOG(ERR, "%s: not accepted: spool %s", id,
				  strerror(-err));
			STATS_ADD(sp->stats.msgs_failed, 1);
			m->cb(m->arg, m, err);
			spool_msg_drop(m);
		}
	}
	STATS_ADD(sp->stats.msgs_committed, ok);
	if (ok > sp->stats.commit_msgs_max)
		STATS_SET(sp->stats.commit_msgs_max, ok);
}

static void mark_bad(struct spool *sp, uint32_t seg, int err)
{
	STATS_ADD(sp->stats.write_errors, 1);
	if (err == -ENOSPC || err == -EDQUOT)
		STATS_ADD(sp->stats.enospc, 1);
	if (!sp->seg[seg].bad)
		SPOOL_LOG(ERR, "worker %u: segment %u: write failed: %s; moving "
			  "to a new segment", sp->conf.worker, seg,
			  strerror(-err));
	sp->seg[seg].bad = true;
	if (sp->active == (int)seg) {
		spool_log_flush(sp);
		if (sp->cur >= 0 && sp->blocks[sp->cur].seg == seg)
			sp->cur = -1;
		spool_seg_seal(sp);
	}
}

void spool_log_write_done(struct spool *sp, uint64_t ud, int res)
{
	uint32_t idx = SPOOL_UD_IDX(ud);
	struct spool_block *k = &sp->blocks[idx & 0x7FFFFFFF];
	struct spool_group *g = &sp->grp[idx >> 31];

	k->inflight--;
	g->writes--;
	if (res == (int)SPOOL_UD_LEN(ud)) {
		STATS_ADD(sp->stats.bytes_written, (uint64_t)res);
	} else {
		int err = res < 0 ? res : -EIO;

		if (g->err == 0)
			g->err = err;
		mark_bad(sp, k->seg, err);
	}
	if (k->inflight == 0)
		sp->reclaim_due = true;
}

void spool_log_fsync_done(struct spool *sp, int res)
{
	struct spool_group *g = &sp->grp[sp->committing];

	sp->fsyncs--;
	if (res < 0) {
		/* After a failed fdatasync the kernel may have dropped the
		 * dirty pages: every segment of the group is suspect. */
		if (g->err == 0)
			g->err = res;
		for (unsigned i = 0; i < sp->conf.seg_max; i++)
			if (g->segmask & (1ull << i))
				mark_bad(sp, i, res);
	}
	if (sp->fsyncs == 0 && g->writes == 0)
		group_finish(sp, (unsigned)sp->committing);
}

/* A commit starts once the previous one is done and commit_interval_us
 * after it started, or at once when commit_batch messages wait: under load
 * commits are spaced by the interval (fewer, larger groups: fewer device
 * flushes), while a message after a quiet spell commits at once. */
static void commit_start(struct spool *sp)
{
	struct spool_group *g = &sp->grp[sp->ep];

	if (!g->dirty || (g->n < sp->conf.commit_batch &&
			  sp->now - sp->commit_start_us < sp->conf.commit_interval_us))
		return;
	spool_log_flush(sp);
	g->no = sp->epoch_no++;
	sp->committing = (int)sp->ep;
	sp->commit_start_us = sp->now;
	sp->ep ^= 1;
}

/* The epoch's fdatasyncs, behind its writes (IOSQE_IO_DRAIN); the group
 * finishes when they and every write of the epoch completed (without a
 * sync, after a write error, when its writes have). */
static void commit_sync(struct spool *sp)
{
	struct spool_group *g = &sp->grp[sp->committing];

	for (unsigned i = 0; i < sp->conf.seg_max && g->err == 0 && !sp->fsync_sent; i++) {
		if (!(g->segmask & (1ull << i)))
			continue;
		struct io_uring_sqe *q = spool_sqe(sp);

		if (q == NULL) {
			g->err = -EIO;
			break;
		}
		io_uring_prep_fsync(q, sp->seg[i].fd, IORING_FSYNC_DATASYNC);
		io_uring_sqe_set_flags(q, IOSQE_IO_DRAIN);
		io_uring_sqe_set_data64(q, SPOOL_UD(OP_FSYNC, 0, i));
		sp->fsyncs++;
	}
	sp->fsync_sent = true;
	if (sp->fsyncs == 0 && g->writes == 0)
		group_finish(sp, (unsigned)sp->committing);
}

void spool_log_poll(struct spool *sp)
{
	if (sp->committing < 0)
		commit_start(sp);
	if (sp->committing >= 0)
		commit_sync(sp);
}
