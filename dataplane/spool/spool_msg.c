/*
 * spool_msg: the message API.  A message is a slot from the spool's pool;
 * it knows which segments hold its records (for reclaim), where its body
 * records lie (an extent list, for reading back) and, while the memory
 * budget allows, a copy of its body in fixed-size chunks.  While it is
 * received, body input gathers in a staging buffer and goes to the log in
 * records of SPOOL_STAGE_LEN, so the number of records does not grow with
 * the number of pieces the body arrived in.
 */
#include <errno.h>
#include <string.h>

#include <rte_log.h>

#include "dataplane/stats.h"
#include "dataplane/spool/spool_impl.h"

/* ---- slots, segments, memory -------------------------------------------- */

struct spool_msg *spool_msg_alloc(struct spool *sp, uint64_t qid)
{
	struct spool_msg *m = sp->msg_free;

	if (m == NULL)
		return NULL;
	sp->msg_free = m->next;
	memset(m, 0, sizeof(*m));
	m->sp = sp;
	m->qid = qid;
	m->state = MSG_RECEIVING;
	m->ext_head = m->ext_tail = SPOOL_NONE;
	m->chunk_head = m->chunk_tail = SPOOL_NONE;
	m->stage = SPOOL_NONE;
	m->body_crc = SPOOL_CRC_SEED;
	m->in_mem = sp->mem != NULL;
	return m;
}

void spool_msg_note_seg(struct spool_msg *m, uint32_t seg)
{
	struct spool_seg *s = &m->sp->seg[seg];

	if (m->segmask & (1ull << seg))
		return;
	m->segmask |= 1ull << seg;
	s->live++;
}

static void mem_drop(struct spool_msg *m)
{
	struct spool *sp = m->sp;

	while (m->chunk_head != SPOOL_NONE) {
		uint32_t c = m->chunk_head;

		m->chunk_head = sp->chunk_next[c];
		sp->chunk_next[c] = sp->chunk_free;
		sp->chunk_free = c;
	}
	m->chunk_tail = SPOOL_NONE;
	STATS_SET(sp->stats.mem_bytes, sp->stats.mem_bytes - m->mem_len);
	m->mem_len = 0;
	m->in_mem = false;
}

/* Keep a copy of body bytes while chunks last; past the budget the body
 * will be read back from the spool. */
static void mem_append(struct spool_msg *m, const uint8_t *p, size_t len)
{
	struct spool *sp = m->sp;
	const uint32_t csz = sp->conf.mem_chunk;

	while (len && m->in_mem) {
		uint32_t used = (uint32_t)(m->mem_len % csz);

		if (used == 0) {
			uint32_t c = sp->chunk_free;

			if (c == SPOOL_NONE) {
				mem_drop(m);
				return;
			}
			sp->chunk_free = sp->chunk_next[c];
			sp->chunk_next[c] = SPOOL_NONE;
			if (m->chunk_tail == SPOOL_NONE)
				m->chunk_head = c;
			else
				sp->chunk_next[m->chunk_tail] = c;
			m->chunk_tail = c;
		}
		size_t n = csz - used < len ? csz - used : len;

		memcpy(sp->mem + (size_t)m->chunk_tail * csz + used, p, n);
		m->mem_len += n;
		STATS_ADD(sp->stats.mem_bytes, n);
		p += n;
		len -= n;
	}
}

static void stage_take(struct spool_msg *m)
{
	struct spool *sp = m->sp;

	if (sp->nstage_free > 0)
		m->stage = sp->stage_free[--sp->nstage_free];
}

static void stage_put(struct spool_msg *m)
{
	struct spool *sp = m->sp;

	if (m->stage == SPOOL_NONE)
		return;
	sp->stage_free[sp->nstage_free++] = m->stage;
	m->stage = SPOOL_NONE;
	m->stage_len = 0;
}

/* Count a message refused for CAUSE (and keep it for the log line). */
static int refused(struct spool *sp, uint64_t *counter, const char *cause,
		   int err)
{
	STATS_ADD(*counter, 1);
	sp->refusal = cause;
	return err;
}

/* A message refused because the log could not take a record. */
static int refusal(struct spool *sp, int err)
{
	if (err == -ENOSPC)
		return refused(sp, &sp->stats.refused_full, "spool full", err);
	if (err == -ENOBUFS)
		return refused(sp, &sp->stats.refused_blocks,
			       "every write block in flight", err);
	if (spool_err_storage(err))
		return refused(sp, &sp->stats.refused_io, "write error", err);
	sp->refusal = "past the record limits";
	return err;
}

void spool_msg_release(struct spool_msg *m)
{
	struct spool *sp = m->sp;

	for (unsigned i = 0; i < sp->conf.seg_max; i++)
		if ((m->segmask & (1ull << i)) && --sp->seg[i].live == 0)
			sp->seg[i].idle_no = sp->epoch_no;
	if (m->ext_head != SPOOL_NONE) {
		sp->ext[m->ext_tail].next = sp->ext_free;
		sp->ext_free = m->ext_head;
	}
	mem_drop(m);
	stage_put(m);
	m->state = MSG_FREE;
	m->next = sp->msg_free;
	sp->msg_free = m;
	sp->reclaim_due = true;
}

/* ---- receiving ---------------------------------------------------------- */

int spool_msg_begin(struct spool *sp, const struct spool_env *env,
		    uint64_t now_us, struct spool_msg **out)
{
	long n = spool_rec_env_size(env);
	struct spool_msg *m;
	uint8_t *p;
	int err;

	if (n < 0)
		return (int)n;
	if (spool_full(sp))
		return refused(sp, &sp->stats.refused_full, "spool full", -ENOSPC);
	m = spool_msg_alloc(sp, spool_qid_next(&sp->qid, now_us));
	if (m == NULL)
		return refused(sp, &sp->stats.refused_slots,
			       "no message slot (queue full)", -ENOBUFS);
	p = spool_log_reserve(sp, (size_t)n, false, &err);
	if (p == NULL) {
		spool_msg_release(m);
		return refusal(sp, err);
	}
	spool_rec_put_envelope(p, (size_t)n, sp->seg[sp->active].seq, m->qid, env);
	m->env_seg = (uint32_t)sp->active;
	m->env_off = sp->seg[sp->active].off;
	spool_log_commit(sp, m, (size_t)n);
	m->nrcpt = env->nrcpt;
	stage_take(m);
	*out = m;
	return 0;
}

/* One body record of at most LEN bytes; returns the bytes taken. */
static long append_piece(struct spool_msg *m, const uint8_t *p, size_t len)
{
	struct spool *sp = m->sp;
	const size_t hdr = SPOOL_REC_HDR + 8;
	size_t room = spool_log_room(sp), piece = len;
	uint32_t e = spool_ext_alloc(sp);
	uint8_t *dst;
	int err;

	if (e == SPOOL_NONE)
		return refused(sp, &sp->stats.refused_records,
			       "no body record slot", -ENOBUFS);
	if (piece > sp->conf.block_size - hdr)
		piece = sp->conf.block_size - hdr;
	/* Fill the current block rather than leave a tail unused. */
	if (room > hdr + 512 && piece > room - hdr)
		piece = room - hdr;
	dst = spool_log_reserve(sp, hdr + piece, false, &err);
	if (dst == NULL) {
		sp->ext[e].next = sp->ext_free;
		sp->ext_free = e;
		return refusal(sp, err);
	}
	struct spool_ext *x = &sp->ext[e];

	x->seg = (uint32_t)sp->active;
	x->off = sp->seg[sp->active].off + hdr;
	x->len = (uint32_t)piece;
	x->body_off = m->size;
	x->next = SPOOL_NONE;
	if (m->ext_tail == SPOOL_NONE)
		m->ext_head = e;
	else
		sp->ext[m->ext_tail].next = e;
	m->ext_tail = e;
	spool_rec_put_body(dst, hdr + piece, sp->seg[sp->active].seq, m->qid,
			   m->size, p, piece);
	spool_log_commit(sp, m, hdr + piece);
	m->size += piece;
	m->body_crc = spool_crc(p, piece, m->body_crc);
	mem_append(m, p, piece);
	return (long)piece;
}

/* LEN bytes as body records now. */
static int append_records(struct spool_msg *m, const uint8_t *p, size_t len)
{
	while (len) {
		long n = append_piece(m, p, len);

		if (n < 0)
			return (int)n;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int stage_flush(struct spool_msg *m)
{
	uint32_t n = m->stage_len;

	m->stage_len = 0;
	return append_records(m, m->sp->stage + (size_t)m->stage * SPOOL_STAGE_LEN, n);
}

int spool_msg_append(struct spool_msg *m, const void *data, size_t len)
{
	const uint8_t *p = data;

	if (m->state != MSG_RECEIVING)
		return -EINVAL;
	while (len && m->stage != SPOOL_NONE) {
		if (m->stage_len == 0 && len >= SPOOL_STAGE_LEN)
			break;              /* large enough to go as it is */
		size_t n = SPOOL_STAGE_LEN - m->stage_len < len ?
			   SPOOL_STAGE_LEN - m->stage_len : len;

		memcpy(m->sp->stage + (size_t)m->stage * SPOOL_STAGE_LEN +
		       m->stage_len, p, n);
		m->stage_len += (uint32_t)n;
		p += n;
		len -= n;
		if (m->stage_len == SPOOL_STAGE_LEN) {
			int rc = stage_flush(m);

			if (rc < 0)
				return rc;
		}
	}
	return append_records(m, p, len);
}

int spool_msg_end(struct spool_msg *m, spool_end_fn *cb, void *arg)
{
	struct spool *sp = m->sp;
	struct spool_end_rec e;
	const size_t n = SPOOL_REC_HDR + 12;
	int err;
	uint8_t *p;

	if (m->state != MSG_RECEIVING)
		return -EINVAL;
	if (m->stage != SPOOL_NONE) {
		if ((err = stage_flush(m)) < 0)
			return err;
		stage_put(m);
	}
	e = (struct spool_end_rec){.body_size = m->size, .body_crc = m->body_crc};
	p = spool_log_reserve(sp, n, false, &err);
	if (p == NULL)
		return refusal(sp, err);
	spool_rec_put_end(p, n, sp->seg[sp->active].seq, m->qid, &e);
	spool_log_commit(sp, m, n);
	m->cb = cb;
	m->arg = arg;
	spool_log_end(sp, m);
	return 0;
}

/* Append a done record, and mark M's envelope done in place when the
 * record went to another segment; the reserve may be used, since finishing
 * messages is what frees space.  Recovery needs the done record or the
 * mark to live as long as the envelope: a done record in the envelope's
 * own segment does (the segment is reclaimed as a whole, and recovery
 * reads it past the envelope), one in a newer segment may not, and then
 * the mark, which lives and dies with the envelope, keeps finishing a
 * message from creating a dependency between segments.  Most messages
 * finish in the segment they arrived in, without the in-place write. */
static int put_done(struct spool_msg *m, uint8_t reason)
{
	struct spool *sp = m->sp;
	const size_t n = SPOOL_REC_HDR + 1;
	int err;
	uint8_t *p = spool_log_reserve(sp, n, true, &err);

	if (p == NULL)
		return err;
	spool_rec_put_done(p, n, sp->seg[sp->active].seq, m->qid, reason);
	spool_log_commit(sp, m, n);
	if (m->env_seg != (uint32_t)sp->active)
		spool_log_mark(sp, m);
	return 0;
}

void spool_msg_drop(struct spool_msg *m)
{
	/* Without a done record an end record already written would make
	 * recovery deliver a message the client was told failed.  If even
	 * that cannot be written the message may come back once: a
	 * duplicate, never a loss. */
	if (m->wrote)
		put_done(m, SPOOL_DONE_ABORTED);
	spool_msg_release(m);
}

void spool_msg_abort(struct spool_msg *m)
{
	if (m->state == MSG_COMMITTING)
		m->abandoned = true;  /* dropped when its commit completes */
	else
		spool_msg_drop(m);
}

/* ---- after acceptance --------------------------------------------------- */

int spool_msg_outcome(struct spool_msg *m, uint32_t rcpt,
		      enum spool_outcome outcome, const char *reply,
		      size_t reply_len)
{
	struct spool *sp = m->sp;
	struct spool_outcome_rec o = {
		.rcpt = rcpt, .outcome = (uint8_t)outcome,
		.reply = {.p = reply,
			  .len = (uint16_t)(reply_len > SPOOL_STR_MAX ?
					    SPOOL_STR_MAX : reply_len)},
	};
	size_t n = SPOOL_REC_HDR + 7 + o.reply.len;
	int err;
	uint8_t *p;

	if (m->state != MSG_ACCEPTED)
		return -EBUSY;
	if (rcpt >= m->nrcpt || outcome < SPOOL_DELIVERED ||
	    outcome > SPOOL_DEFERRED)
		return -EINVAL;
	p = spool_log_reserve(sp, n, true, &err);
	if (p == NULL)
		return err;
	spool_rec_put_outcome(p, n, sp->seg[sp->active].seq, m->qid, &o);
	spool_log_commit(sp, m, n);
	return 0;
}

int spool_msg_done(struct spool_msg *m, enum spool_done_reason reason)
{
	int err;

	if (m->state != MSG_ACCEPTED)
		return -EBUSY;
	if (reason != SPOOL_DONE_FINISHED && reason != SPOOL_DONE_DELETED)
		return -EINVAL;
	err = put_done(m, (uint8_t)reason);
	if (err == 0)
		spool_msg_release(m);
	return err;
}

/* ---- reading the body back ---------------------------------------------- */

static void mem_read(const struct spool_msg *m, uint64_t off, uint8_t *dst,
		     size_t len)
{
	const struct spool *sp = m->sp;
	const uint32_t csz = sp->conf.mem_chunk;
	uint32_t c = m->chunk_head;

	for (uint64_t skip = off / csz; skip; skip--)
		c = sp->chunk_next[c];
	for (uint32_t in = (uint32_t)(off % csz); len; in = 0) {
		size_t n = csz - in < len ? csz - in : len;

		memcpy(dst, sp->mem + (size_t)c * csz + in, n);
		dst += n;
		len -= n;
		c = sp->chunk_next[c];
	}
}

static int read_slot(struct spool *sp)
{
	for (int i = 0; i < SPOOL_READS; i++)
		if (sp->reads[i].cb == NULL)
			return i;
	return -1;
}

long spool_msg_read(struct spool_msg *m, uint64_t off, void *buf, size_t len,
		    spool_read_fn *cb, void *arg)
{
	struct spool *sp = m->sp;
	uint8_t *dst = buf;

	if (m->state != MSG_ACCEPTED)
		return -EBUSY;
	if (off > m->size || len > m->size - off || len == 0)
		return -EINVAL;
	if (m->in_mem) {
		mem_read(m, off, dst, len);
		return (long)len;
	}
	int r = read_slot(sp);

	if (r < 0)
		return -EAGAIN;
	struct spool_read *rd = &sp->reads[r];
	uint64_t end = off + len;

	*rd = (struct spool_read){.cb = cb, .arg = arg};
	for (uint32_t e = m->ext_head; e != SPOOL_NONE; e = sp->ext[e].next) {
		const struct spool_ext *x = &sp->ext[e];
		uint64_t lo = off > x->body_off ? off : x->body_off;
		uint64_t hi = end < x->body_off + x->len ? end : x->body_off + x->len;

		if (lo >= hi)
			continue;
		struct io_uring_sqe *q = spool_sqe(sp);

		if (q == NULL) {
			rd->err = -EAGAIN;
			break;
		}
		io_uring_prep_read(q, sp->seg[x->seg].fd, dst + (lo - off),
				   (unsigned)(hi - lo), x->off + (lo - x->body_off));
		io_uring_sqe_set_data64(q, SPOOL_UD(OP_READ, hi - lo, r));
		rd->pending++;
	}
	if (rd->pending == 0) {
		rd->cb = NULL;
		return rd->err ? rd->err : -EIO;
	}
	STATS_ADD(sp->stats.disk_reads, 1);
	return 0;
}

void spool_read_done(struct spool *sp, uint64_t ud, int res)
{
	struct spool_read *rd = &sp->reads[SPOOL_UD_IDX(ud)];

	if (res != (int)SPOOL_UD_LEN(ud) && rd->err == 0)
		rd->err = res < 0 ? res : -EIO;
	if (--rd->pending)
		return;
	spool_read_fn *cb = rd->cb;

	rd->cb = NULL;
	cb(rd->arg, rd->err);
}

/* ---- accessors ---------------------------------------------------------- */

uint64_t spool_msg_qid(const struct spool_msg *m)
{
	return m->qid;
}

uint64_t spool_msg_size(const struct spool_msg *m)
{
	return m->size;
}

int spool_msg_in_memory(const struct spool_msg *m)
{
	return m->in_mem;
}

const char *spool_refusal(const struct spool *sp)
{
	return sp->refusal != NULL ? sp->refusal : "none";
}
