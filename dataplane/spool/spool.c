/*
 * spool: opening and closing a worker's spool, the poll step (reaping
 * io_uring completions and dispatching them, then group commit, reclaim and
 * growth), and the spool-wide accessors.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rte_log.h>

#include "dataplane/stats.h"
#include "dataplane/spool/spool_impl.h"

void spool_conf_defaults(struct spool_conf *c, const char *dir, uint8_t worker)
{
	*c = (struct spool_conf){
		.dir = dir, .worker = worker,
		.seg_size = 64u << 20, .seg_initial = 4, .seg_max = 16,
		.block_size = 256u << 10, .blocks = 64,
		.commit_interval_us = 2000, .commit_batch = 64,
		.max_msgs = 4096, .max_extents = 1u << 16, .stage_bufs = 256,
		.mem_budget = 64u << 20, .mem_chunk = 2u << 10,
		.retry_us = 5000000,
	};
}

void spool_conf_size(struct spool_conf *c, unsigned queued, unsigned receiving)
{
	uint64_t records = 2 * (uint64_t)c->seg_max * c->seg_size / SPOOL_STAGE_LEN;

	c->max_msgs = queued + receiving + SPOOL_MSGS_SPARE;
	c->stage_bufs = receiving;
	/* a body record per message even for tiny bodies, and up to two per
	 * staging buffer's worth of the spool otherwise */
	records += 2ull * c->max_msgs;
	c->max_extents = records < SPOOL_NONE ? (unsigned)records : SPOOL_NONE - 1;
}

int spool_err_storage(int err)
{
	return err != -E2BIG && err != -EINVAL;
}

static int conf_check(const struct spool_conf *c)
{
	if (c->dir == NULL || strlen(c->dir) >= sizeof(((struct spool *)0)->dir) ||
	    c->seg_max == 0 || c->seg_max > SPOOL_SEG_MAX ||
	    c->seg_initial > c->seg_max ||
	    c->block_size < 8192 || c->block_size % 4096 ||
	    c->block_size > (8u << 20) ||
	    c->seg_size % c->block_size || c->seg_size < 2ull * c->block_size ||
	    c->blocks < 2 || c->blocks > SPOOL_RING_DEPTH / 2 ||
	    c->commit_batch == 0 || c->max_msgs == 0 || c->max_extents == 0 ||
	    (c->mem_budget && c->mem_chunk < 512))
		return -EINVAL;
	return 0;
}

struct io_uring_sqe *spool_sqe(struct spool *sp)
{
	struct io_uring_sqe *q = io_uring_get_sqe(&sp->ring);

	if (q == NULL) {
		io_uring_submit(&sp->ring);
		q = io_uring_get_sqe(&sp->ring);
	}
	if (q != NULL)
		sp->inflight++;
	return q;
}

static int pools_alloc(struct spool *sp)
{
	const struct spool_conf *c = &sp->conf;

	sp->blocks = calloc(c->blocks, sizeof(*sp->blocks));
	sp->msgs = calloc(c->max_msgs, sizeof(*sp->msgs));
	sp->ext = calloc(c->max_extents, sizeof(*sp->ext));
	sp->stage = malloc((size_t)c->stage_bufs * SPOOL_STAGE_LEN + 1);
	sp->stage_free = calloc(c->stage_bufs + 1, sizeof(*sp->stage_free));
	if (sp->blocks == NULL || sp->msgs == NULL || sp->ext == NULL ||
	    sp->stage == NULL || sp->stage_free == NULL ||
	    posix_memalign((void **)&sp->zero, 4096, SPOOL_ZERO_LEN) != 0)
		return -ENOMEM;
	memset(sp->zero, 0, SPOOL_ZERO_LEN);
	for (unsigned b = 0; b < c->blocks; b++)
		if (posix_memalign((void **)&sp->blocks[b].buf, 4096,
				   c->block_size) != 0)
			return -ENOMEM;
	for (unsigned i = c->max_msgs; i-- > 0;) {
		sp->msgs[i].next = sp->msg_free;
		sp->msg_free = &sp->msgs[i];
	}
	for (uint32_t i = 0; i < c->max_extents; i++)
		sp->ext[i].next = i + 1 < c->max_extents ? i + 1 : SPOOL_NONE;
	sp->ext_free = 0;
	for (unsigned i = c->stage_bufs; i-- > 0;)
		sp->stage_free[sp->nstage_free++] = i;
	sp->chunk_free = SPOOL_NONE;
	uint64_t nchunks = c->mem_budget ? c->mem_budget / c->mem_chunk : 0;

	if (nchunks == 0)
		return 0;
	if (nchunks >= SPOOL_NONE)
		return -EINVAL;
	sp->mem = malloc(nchunks * c->mem_chunk);
	sp->chunk_next = calloc(nchunks, sizeof(*sp->chunk_next));
	if (sp->mem == NULL || sp->chunk_next == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < nchunks; i++)
		sp->chunk_next[i] = i + 1 < nchunks ? i + 1 : SPOOL_NONE;
	sp->chunk_free = 0;
	return 0;
}

int spool_open(const struct spool_conf *conf, uint64_t now_us,
	       spool_recovered_fn *fn, void *arg, struct spool **out)
{
	struct spool *sp;
	int rc = conf_check(conf);

	if (rc != 0)
		return rc;
	sp = calloc(1, sizeof(*sp));
	if (sp == NULL)
		return -ENOMEM;
	sp->conf = *conf;
	strcpy(sp->dir, conf->dir);
	sp->conf.dir = sp->dir;
	sp->now = now_us;
	sp->dirfd = -1;
	sp->ring.ring_fd = -1;
	sp->active = sp->cur = sp->committing = -1;
	sp->next_seq = 1;
	sp->epoch_no = sp->durable_no = 1;
	sp->mark = SPOOL_MARK_DONE;
	sp->reserve = conf->seg_size / 8;
	sp->grow.fd = -1;
	for (unsigned i = 0; i < SPOOL_SEG_MAX; i++)
		sp->seg[i].fd = -1;
	spool_qid_init(&sp->qid, conf->worker);

	rc = pools_alloc(sp);
	if (rc == 0 && mkdir(sp->dir, 0750) != 0 && errno != EEXIST)
		rc = -errno;
	if (rc == 0 &&
	    (sp->dirfd = open(sp->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		rc = -errno;
	if (rc == 0)
		rc = io_uring_queue_init(SPOOL_RING_DEPTH, &sp->ring, 0);
	if (rc == 0)
		rc = spool_seg_open_all(sp);
	if (rc == 0)
		rc = spool_recover(sp, fn, arg);
	if (rc != 0) {
		SPOOL_LOG(ERR, "worker %u: cannot open the spool in %s: %s",
			  conf->worker, conf->dir, strerror(-rc));
		spool_close(sp);
		return rc;
	}
	spool_seg_update(sp);
	sp->reclaim_due = true;
	*out = sp;
	return 0;
}

static void dispatch(struct spool *sp, uint64_t ud, int res)
{
	switch (SPOOL_UD_OP(ud)) {
	case OP_WRITE:
		spool_log_write_done(sp, ud, res);
		break;
	case OP_MARK:
		spool_log_mark_done(sp, ud, res);
		break;
	case OP_FSYNC:
		spool_log_fsync_done(sp, res);
		break;
	case OP_READ:
		spool_read_done(sp, ud, res);
		break;
	case OP_GROW:
		spool_seg_grow_done(sp, res);
		break;
	case OP_FREE_WRITE:
	case OP_FREE_FSYNC:
		spool_seg_free_done(sp, ud, res);
		break;
	default:
		break;
	}
}

static unsigned reap(struct spool *sp, bool run)
{
	struct io_uring_cqe *cqe;
	unsigned n = 0;

	while (io_uring_peek_cqe(&sp->ring, &cqe) == 0) {
		uint64_t ud = io_uring_cqe_get_data64(cqe);
		int res = cqe->res;

		io_uring_cqe_seen(&sp->ring, cqe);
		sp->inflight--;
		n++;
		if (run)
			dispatch(sp, ud, res);
		else if (SPOOL_UD_OP(ud) == OP_GROW &&
			 SPOOL_UD_IDX(ud) == GROW_OPEN && res >= 0)
			close(res);
	}
	return n;
}

unsigned spool_poll(struct spool *sp, uint64_t now_us)
{
	unsigned n;

	sp->now = now_us;
	n = reap(sp, true);
	spool_log_poll(sp);
	spool_seg_reclaim(sp);
	spool_seg_grow_poll(sp);
	if (io_uring_sq_ready(&sp->ring))
		io_uring_submit(&sp->ring);
	return n;
}

void spool_close(struct spool *sp)
{
	if (sp->ring.ring_fd >= 0) {
		while (sp->inflight) {
			io_uring_submit_and_wait(&sp->ring, 1);
			reap(sp, false);
		}
		io_uring_queue_exit(&sp->ring);
	}
	if (sp->grow.fd >= 0 && sp->grow.step != GROW_IDLE)
		close(sp->grow.fd);
	for (unsigned i = 0; i < SPOOL_SEG_MAX; i++)
		if (sp->seg[i].fd >= 0)
			close(sp->seg[i].fd);
	if (sp->dirfd >= 0)
		close(sp->dirfd);
	for (unsigned b = 0; sp->blocks && b < sp->conf.blocks; b++)
		free(sp->blocks[b].buf);
	free(sp->blocks);
	free(sp->msgs);
	free(sp->ext);
	free(sp->stage);
	free(sp->stage_free);
	free(sp->mem);
	free(sp->chunk_next);
	free(sp->zero);
	free(sp);
}

const struct spool_stats *spool_stats(const struct spool *sp)
{
	return &sp->stats;
}

int spool_full(struct spool *sp)
{
	/* Full: no free segment, and less than a block left in the active
	 * one beyond the reserve kept for finishing messages. */
	bool full = sp->stats.segs_free == 0 &&
		    (sp->active < 0 ||
		     sp->conf.seg_size - sp->seg[sp->active].off <
		     sp->reserve + sp->conf.block_size);

	if (full != sp->full)
		SPOOL_LOG(WARNING, "worker %u: spool %s", sp->conf.worker,
			  full ? "full: refusing new messages" :
				 "has space again: accepting messages");
	sp->full = full;
	return full;
}
