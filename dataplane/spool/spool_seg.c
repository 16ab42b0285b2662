/*
 * spool_seg: the worker's segment files.  At start (blocking) it opens the
 * existing files and preallocates the initial ones: fallocate, then zeroes
 * written for real, because writing into unwritten extents costs a metadata
 * update per commit (docs/architecture.md, "Spool").  On the worker it
 * activates free segments, seals full ones, reclaims segments whose
 * messages are all finished (a free header, synced) and grows the spool
 * through io_uring when no segment is free, retrying while the disk is full.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rte_log.h>

#include "dataplane/stats.h"
#include "dataplane/spool/spool_impl.h"

static void seg_path(const struct spool *sp, unsigned idx, char *buf, size_t len)
{
	snprintf(buf, len, "w%03u-%02u.seg", sp->conf.worker, idx);
}

/* ---- at start: blocking ----------------------------------------------- */

static int prealloc_blocking(struct spool *sp, int fd)
{
	if (fallocate(fd, 0, 0, (off_t)sp->conf.seg_size) != 0)
		return -errno;
	for (uint64_t off = 0; off < sp->conf.seg_size; off += SPOOL_ZERO_LEN) {
		size_t n = sp->conf.seg_size - off < SPOOL_ZERO_LEN ?
			   sp->conf.seg_size - off : SPOOL_ZERO_LEN;
		ssize_t w = pwrite(fd, sp->zero, n, (off_t)off);

		if (w < 0)
			return -errno;
		if ((size_t)w != n)
			return -EIO;
	}
	return fdatasync(fd) != 0 ? -errno : 0;
}

static int create_blocking(struct spool *sp, unsigned idx)
{
	char name[64];
	int fd, rc;

	seg_path(sp, idx, name, sizeof(name));
	fd = openat(sp->dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (fd < 0)
		return -errno;
	rc = prealloc_blocking(sp, fd);
	if (rc != 0) {
		close(fd);
		unlinkat(sp->dirfd, name, 0);
		return rc;
	}
	sp->seg[idx].fd = fd;
	sp->seg[idx].state = SEG_FREE;
	return 0;
}

static int open_existing(struct spool *sp, unsigned idx)
{
	char name[64];
	struct stat st;
	int fd;

	seg_path(sp, idx, name, sizeof(name));
	fd = openat(sp->dirfd, name, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (fstat(fd, &st) != 0 || (uint64_t)st.st_size != sp->conf.seg_size ||
	    idx >= sp->conf.seg_max) {
		SPOOL_LOG(ERR, "%s/%s: size %lld or index does not match the "
			  "configuration (segment size %llu, at most %u)",
			  sp->dir, name, (long long)st.st_size,
			  (unsigned long long)sp->conf.seg_size, sp->conf.seg_max);
		close(fd);
		return -EINVAL;
	}
	sp->seg[idx].fd = fd;
	sp->seg[idx].state = SEG_SEALED;  /* recovery decides */
	return 1;
}

int spool_seg_open_all(struct spool *sp)
{
	bool created = false;

	for (unsigned i = 0; i < SPOOL_SEG_MAX; i++) {
		int rc = open_existing(sp, i);

		if (rc < 0)
			return rc;
	}
	for (unsigned i = 0; i < sp->conf.seg_initial; i++) {
		if (sp->seg[i].state != SEG_ABSENT)
			continue;
		int rc = create_blocking(sp, i);

		if (rc == -ENOSPC || rc == -EDQUOT) {
			STATS_ADD(sp->stats.enospc, 1);
			SPOOL_LOG(WARNING, "worker %u: no space to preallocate "
				  "segment %u; will retry", sp->conf.worker, i);
			break;
		}
		if (rc < 0)
			return rc;
		created = true;
	}
	if (created && fsync(sp->dirfd) != 0)
		return -errno;
	return 0;
}

/* ---- activation, sealing, gauges --------------------------------------- */

void spool_seg_update(struct spool *sp)
{
	unsigned nfree = 0, used = 0;

	for (unsigned i = 0; i < sp->conf.seg_max; i++) {
		if (sp->seg[i].state == SEG_FREE)
			nfree++;
		else if (sp->seg[i].state >= SEG_ACTIVE)
			used++;
	}
	STATS_SET(sp->stats.segs_free, nfree);
	STATS_SET(sp->stats.segs_in_use, used);
	spool_full(sp);
}

/* Make a free segment active and append its header.  -ENOSPC when none. */
int spool_seg_activate(struct spool *sp)
{
	for (unsigned i = 0; i < sp->conf.seg_max; i++) {
		struct spool_seg *s = &sp->seg[i];

		if (s->state != SEG_FREE)
			continue;
		s->state = SEG_ACTIVE;
		s->bad = false;
		s->seq = sp->next_seq++;
		s->live = 0;
		s->off = 0;
		sp->active = (int)i;

		struct spool_seg_hdr h = {.worker = sp->conf.worker, .index = i,
					  .size = sp->conf.seg_size};
		int err;
		uint8_t *p = spool_log_reserve(sp, SPOOL_SEG_HDR_LEN, true, &err);

		if (p == NULL)
			return err;
		spool_rec_put_segment(p, SPOOL_SEG_HDR_LEN, s->seq, &h);
		spool_log_commit(sp, NULL, SPOOL_SEG_HDR_LEN);
		spool_seg_update(sp);
		return 0;
	}
	return -ENOSPC;
}

void spool_seg_seal(struct spool *sp)
{
	if (sp->active < 0)
		return;
	sp->seg[sp->active].state = SEG_SEALED;
	sp->active = -1;
	sp->reclaim_due = true;
	spool_full(sp);
}

/* ---- reclaim ------------------------------------------------------------ */

static bool writes_pending(const struct spool *sp, unsigned idx)
{
	for (unsigned b = 0; b < sp->conf.blocks; b++)
		if (sp->blocks[b].seg == idx && sp->blocks[b].inflight)
			return true;
	return false;
}

/* A segment may go once no unfinished message has records in it and the
 * done marks that finished them are synced (the epoch in which the last
 * one finished is committed), so no finished message can come back. */
static bool reclaimable(const struct spool *sp, unsigned idx)
{
	const struct spool_seg *s = &sp->seg[idx];

	return s->state == SEG_SEALED && s->live == 0 &&
	       s->idle_no < sp->durable_no && !writes_pending(sp, idx);
}

static void free_segment(struct spool *sp, unsigned idx)
{
	struct spool_seg *s = &sp->seg[idx];
	struct spool_seg_hdr h = {.worker = sp->conf.worker, .index = idx,
				  .size = sp->conf.seg_size, .free = 1};
	struct io_uring_sqe *w = spool_sqe(sp), *f;

	if (w == NULL)
		return;
	spool_rec_put_segment(s->hdr, sizeof(s->hdr), s->seq, &h);
	io_uring_prep_write(w, s->fd, s->hdr, sizeof(s->hdr), 0);
	io_uring_sqe_set_data64(w, SPOOL_UD(OP_FREE_WRITE, sizeof(s->hdr), idx));
	w->flags |= IOSQE_IO_LINK;
	f = spool_sqe(sp);
	if (f == NULL) {
		/* The write goes alone; the next reclaim pass syncs again. */
		w->flags &= (uint8_t)~IOSQE_IO_LINK;
		io_uring_sqe_set_data64(w, SPOOL_UD(OP_IGNORE, 0, idx));
		return;
	}
	io_uring_prep_fsync(f, s->fd, IORING_FSYNC_DATASYNC);
	io_uring_sqe_set_data64(f, SPOOL_UD(OP_FREE_FSYNC, 0, idx));
	s->state = SEG_FREEING;
}

void spool_seg_reclaim(struct spool *sp)
{
	if (!sp->reclaim_due)
		return;
	sp->reclaim_due = false;
	for (unsigned i = 0; i < sp->conf.seg_max; i++)
		if (reclaimable(sp, i))
			free_segment(sp, i);
}

void spool_seg_free_done(struct spool *sp, uint64_t ud, int res)
{
	unsigned idx = SPOOL_UD_IDX(ud);
	struct spool_seg *s = &sp->seg[idx];

	if (SPOOL_UD_OP(ud) == OP_FREE_WRITE) {
		if (res != (int)SPOOL_UD_LEN(ud))
			STATS_ADD(sp->stats.write_errors, 1);
		return;
	}
	if (res < 0) {
		/* Stays sealed; tried again at the next reclaim pass. */
		STATS_ADD(sp->stats.write_errors, 1);
		SPOOL_LOG(ERR, "worker %u: freeing segment %u: %s",
			  sp->conf.worker, idx, strerror(-res));
		s->state = SEG_SEALED;
		return;
	}
	s->state = SEG_FREE;
	STATS_ADD(sp->stats.reclaimed, 1);
	sp->reclaim_due = true;
	spool_seg_update(sp);
}

/* ---- growth on the worker: openat, fallocate, zeroes, fsync, dir fsync -- */

static void grow_submit(struct spool *sp)
{
	struct io_uring_sqe *q = spool_sqe(sp);
	uint32_t len = 0;
	char name[64];

	if (q == NULL)
		return;  /* the step is retried at the next poll */
	switch (sp->grow.step) {
	case GROW_OPEN:
		seg_path(sp, (unsigned)sp->grow.idx, name, sizeof(name));
		/* openat copies the path when the request is issued, which
		 * io_uring does before the next submit returns. */
		io_uring_prep_openat(q, sp->dirfd, name,
				     O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
		break;
	case GROW_FALLOC:
		io_uring_prep_fallocate(q, sp->grow.fd, 0, 0,
					(off_t)sp->conf.seg_size);
		break;
	case GROW_ZERO:
		len = sp->conf.seg_size - sp->grow.off < SPOOL_ZERO_LEN ?
		      (uint32_t)(sp->conf.seg_size - sp->grow.off) : SPOOL_ZERO_LEN;
		io_uring_prep_write(q, sp->grow.fd, sp->zero, len, sp->grow.off);
		break;
	case GROW_FSYNC:
		io_uring_prep_fsync(q, sp->grow.fd, 0);
		break;
	case GROW_DIRSYNC:
		io_uring_prep_fsync(q, sp->dirfd, 0);
		break;
	}
	io_uring_sqe_set_data64(q, SPOOL_UD(OP_GROW, len, sp->grow.step));
	if (sp->grow.step == GROW_OPEN)
		io_uring_submit(&sp->ring);
}

void spool_seg_grow_poll(struct spool *sp)
{
	if (sp->grow.step != GROW_IDLE || sp->now < sp->grow.retry_at ||
	    sp->stats.segs_free > 0)
		return;
	for (unsigned i = 0; i < sp->conf.seg_max; i++) {
		if (sp->seg[i].state != SEG_ABSENT)
			continue;
		sp->seg[i].state = SEG_GROWING;
		sp->grow.idx = (int)i;
		sp->grow.fd = -1;
		sp->grow.off = 0;
		sp->grow.step = GROW_OPEN;
		grow_submit(sp);
		return;
	}
}

static void grow_fail(struct spool *sp, int res)
{
	char name[64];
	struct io_uring_sqe *q;

	seg_path(sp, (unsigned)sp->grow.idx, name, sizeof(name));
	if (res == -ENOSPC || res == -EDQUOT)
		STATS_ADD(sp->stats.enospc, 1);
	else
		STATS_ADD(sp->stats.write_errors, 1);
	SPOOL_LOG(WARNING, "worker %u: growing the spool (%s/%s): %s; retry in "
		  "%llu ms", sp->conf.worker, sp->dir, name, strerror(-res),
		  (unsigned long long)(sp->conf.retry_us / 1000));
	if (sp->grow.fd >= 0 && (q = spool_sqe(sp)) != NULL) {
		io_uring_prep_close(q, sp->grow.fd);
		io_uring_sqe_set_data64(q, SPOOL_UD(OP_IGNORE, 0, 0));
		q->flags |= IOSQE_IO_LINK;
	}
	if ((q = spool_sqe(sp)) != NULL) {
		io_uring_prep_unlinkat(q, sp->dirfd, name, 0);
		io_uring_sqe_set_data64(q, SPOOL_UD(OP_IGNORE, 0, 0));
		io_uring_submit(&sp->ring);  /* the name must be read now */
	}
	sp->seg[sp->grow.idx].state = SEG_ABSENT;
	sp->grow.step = GROW_IDLE;
	sp->grow.retry_at = sp->now + sp->conf.retry_us;
}

void spool_seg_grow_done(struct spool *sp, int res)
{
	if (res < 0)
		return grow_fail(sp, res);
	switch (sp->grow.step) {
	case GROW_OPEN:
		sp->grow.fd = res;
		sp->grow.step = GROW_FALLOC;
		break;
	case GROW_FALLOC:
		sp->grow.step = GROW_ZERO;
		break;
	case GROW_ZERO:
		if (res == 0)
			return grow_fail(sp, -EIO);
		sp->grow.off += (uint64_t)res;
		if (sp->grow.off >= sp->conf.seg_size)
			sp->grow.step = GROW_FSYNC;
		break;
	case GROW_FSYNC:
		sp->grow.step = GROW_DIRSYNC;
		break;
	case GROW_DIRSYNC:
		sp->seg[sp->grow.idx].fd = sp->grow.fd;
		sp->seg[sp->grow.idx].state = SEG_FREE;
		sp->grow.step = GROW_IDLE;
		SPOOL_LOG(INFO, "worker %u: spool grew to segment %d",
			  sp->conf.worker, sp->grow.idx);
		spool_seg_update(sp);
		return;
	}
	grow_submit(sp);
}
