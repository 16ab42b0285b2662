/*
 * spool_recover: the scan at start (blocking, before the worker loop).
 * Reads every segment's header, then the records of the segments in use in
 * log order (segment sequence), stopping in each at the first record that
 * is unwritten, torn (CRC or length) or from an earlier use of the file.
 * A message whose envelope carries the done mark, or that has a done
 * record, is finished.  Unfinished messages with an end record whose body
 * matches it are recovered (handed to the caller, logged); those without,
 * never acknowledged, are discarded (logged, counted, and marked done so
 * they stay discarded).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <rte_log.h>

#include "dataplane/stats.h"
#include "dataplane/spool/spool_impl.h"

struct rmsg {
	uint64_t qid;
	struct spool_msg *m;     /* NULL once finished */
	const uint8_t *env;      /* its envelope record */
	uint8_t *outcomes;
	bool ended, corrupt;
};

struct scan {
	struct spool *sp;
	const uint8_t *map[SPOOL_SEG_MAX];
	struct rmsg *msgs;
	uint32_t n, cap;
	uint32_t *table;         /* open addressing: index + 1, 0 empty */
	uint32_t tsize;
	struct spool_rcpt *rcpt; /* SPOOL_RCPT_MAX scratch entries */
};

/* ---- qid → message table ------------------------------------------------ */

static uint32_t slot_of(const struct scan *s, uint64_t qid)
{
	uint32_t h = (uint32_t)((qid * 0x9E3779B97F4A7C15ull) >> 32);

	for (uint32_t i = h & (s->tsize - 1);; i = (i + 1) & (s->tsize - 1))
		if (s->table[i] == 0 || s->msgs[s->table[i] - 1].qid == qid)
			return i;
}

static struct rmsg *find(const struct scan *s, uint64_t qid)
{
	if (s->tsize == 0)
		return NULL;
	uint32_t t = s->table[slot_of(s, qid)];

	return t ? &s->msgs[t - 1] : NULL;
}

static int grow_table(struct scan *s)
{
	uint32_t size = s->tsize ? s->tsize * 2 : 1024;
	uint32_t *old = s->table, oldsize = s->tsize;

	s->table = calloc(size, sizeof(*s->table));
	if (s->table == NULL) {
		s->table = old;
		return -ENOMEM;
	}
	s->tsize = size;
	for (uint32_t i = 0; i < oldsize; i++)
		if (old[i])
			s->table[slot_of(s, s->msgs[old[i] - 1].qid)] = old[i];
	free(old);
	return 0;
}

static struct rmsg *add(struct scan *s, uint64_t qid)
{
	if (s->n + 1 > s->tsize / 2 && grow_table(s) != 0)
		return NULL;
	if (s->n == s->cap) {
		uint32_t cap = s->cap ? s->cap * 2 : 1024;
		struct rmsg *m = realloc(s->msgs, cap * sizeof(*m));

		if (m == NULL)
			return NULL;
		s->msgs = m;
		s->cap = cap;
	}
	struct rmsg *r = &s->msgs[s->n++];

	memset(r, 0, sizeof(*r));
	r->qid = qid;
	s->table[slot_of(s, qid)] = s->n;
	return r;
}

/* ---- one record --------------------------------------------------------- */

static int on_envelope(struct scan *s, unsigned seg, const struct spool_rec *r,
		       const uint8_t *rec)
{
	struct spool_env env;
	struct rmsg *e;

	if (find(s, r->qid) != NULL ||
	    spool_rec_get_envelope(r, &env, s->rcpt, SPOOL_RCPT_MAX) != 0)
		return 0;
	e = add(s, r->qid);
	if (e == NULL)
		return -ENOMEM;
	spool_qid_seen(&s->sp->qid, r->qid);
	if (r->mark == SPOOL_MARK_DONE)
		return 0;  /* finished: its other records are ignored */
	e->env = rec;
	e->outcomes = calloc(env.nrcpt ? env.nrcpt : 1, 1);
	e->m = spool_msg_alloc(s->sp, r->qid);
	if (e->outcomes == NULL)
		return -ENOMEM;
	if (e->m == NULL) {
		SPOOL_LOG(ERR, "worker %u: more messages in the spool than "
			  "max_msgs %u", s->sp->conf.worker, s->sp->conf.max_msgs);
		return -ENOBUFS;
	}
	e->m->in_mem = false;
	e->m->wrote = true;
	e->m->nrcpt = env.nrcpt;
	e->m->env_seg = seg;
	e->m->env_off = (uint64_t)(rec - s->map[seg]);
	spool_msg_note_seg(e->m, seg);
	return 0;
}

static int on_body(struct scan *s, unsigned seg, const struct spool_rec *r,
		   uint64_t data_off, struct spool_msg *m, struct rmsg *e)
{
	struct spool *sp = s->sp;
	const uint8_t *data;
	uint64_t body_off;
	uint32_t len, x;

	if (spool_rec_get_body(r, &body_off, &data, &len) != 0 ||
	    body_off != m->size) {
		e->corrupt = true;
		return 0;
	}
	x = spool_ext_alloc(sp);
	if (x == SPOOL_NONE) {
		SPOOL_LOG(ERR, "worker %u: more body records in the spool than "
			  "max_extents %u", sp->conf.worker, sp->conf.max_extents);
		return -ENOBUFS;
	}
	sp->ext[x] = (struct spool_ext){.seg = seg, .len = len, .off = data_off,
					.body_off = body_off, .next = SPOOL_NONE};
	if (m->ext_tail == SPOOL_NONE)
		m->ext_head = x;
	else
		sp->ext[m->ext_tail].next = x;
	m->ext_tail = x;
	m->size += len;
	m->body_crc = spool_crc(data, len, m->body_crc);
	return 0;
}

static int on_record(struct scan *s, unsigned seg, const struct spool_rec *r,
		     const uint8_t *rec, uint64_t off)
{
	struct spool_outcome_rec o;
	struct spool_end_rec end;
	struct rmsg *e;
	uint8_t reason;

	if (r->type == SPOOL_REC_ENVELOPE)
		return on_envelope(s, seg, r, rec);
	e = find(s, r->qid);
	if (e == NULL || e->m == NULL)
		return 0;  /* finished, or its start was reclaimed */
	spool_msg_note_seg(e->m, seg);
	switch (r->type) {
	case SPOOL_REC_BODY:
		return on_body(s, seg, r, off + SPOOL_REC_HDR + 8, e->m, e);
	case SPOOL_REC_END:
		if (spool_rec_get_end(r, &end) != 0 || end.body_size != e->m->size ||
		    end.body_crc != e->m->body_crc)
			e->corrupt = true;
		e->ended = true;
		break;
	case SPOOL_REC_OUTCOME:
		if (spool_rec_get_outcome(r, &o) == 0 && o.rcpt < e->m->nrcpt)
			e->outcomes[o.rcpt] = o.outcome;
		break;
	case SPOOL_REC_DONE:
		if (spool_rec_get_done(r, &reason) == 0) {
			spool_msg_release(e->m);
			e->m = NULL;
		}
		break;
	}
	return 0;
}

/* ---- segments ----------------------------------------------------------- */

/* The segment's header if it is ours and in use; 0 for a free one. */
static uint32_t seg_header(struct scan *s, unsigned idx)
{
	struct spool *sp = s->sp;
	struct spool_seg_hdr h;
	struct spool_rec r;

	if (spool_rec_decode(s->map[idx], sp->conf.seg_size, &r) <= 0 ||
	    spool_rec_get_segment(&r, &h) != 0 || h.worker != sp->conf.worker ||
	    h.index != idx || h.size != sp->conf.seg_size)
		return 0;
	if (r.seq >= sp->next_seq)
		sp->next_seq = r.seq + 1;  /* free ones too: seqs never repeat */
	return h.free ? 0 : r.seq;
}

static int scan_segment(struct scan *s, unsigned idx)
{
	const struct spool *sp = s->sp;
	const uint8_t *map = s->map[idx];
	uint32_t seq = sp->seg[idx].seq;
	uint64_t off = SPOOL_SEG_HDR_LEN;
	struct spool_rec r;
	long n;

	while ((n = spool_rec_decode(map + off, sp->conf.seg_size - off, &r)) > 0 &&
	       r.seq == seq && r.type != SPOOL_REC_SEGMENT) {
		int rc = on_record(s, idx, &r, map + off, off);

		if (rc != 0)
			return rc;
		off += (uint64_t)n;
	}
	return 0;
}

static void finish(struct scan *s, spool_recovered_fn *fn, void *arg)
{
	struct spool *sp = s->sp;
	char id[SPOOL_QID_LEN + 1];

	for (uint32_t i = 0; i < s->n; i++) {
		struct rmsg *e = &s->msgs[i];
		struct spool_msg *m = e->m;

		if (m == NULL)
			continue;
		spool_qid_format(e->qid, id);
		if (!e->ended || e->corrupt) {
			SPOOL_LOG(NOTICE, "%s: discarded: %s, size=%llu", id,
				  e->corrupt ? "body does not match its end record" :
					       "incomplete (never accepted)",
				  (unsigned long long)m->size);
			STATS_ADD(sp->stats.discarded, 1);
			spool_msg_drop(m);
			continue;
		}
		struct spool_env env;
		struct spool_rec r;

		spool_rec_decode(e->env, SIZE_MAX, &r);
		spool_rec_get_envelope(&r, &env, s->rcpt, SPOOL_RCPT_MAX);
		m->state = MSG_ACCEPTED;
		STATS_ADD(sp->stats.recovered, 1);
		SPOOL_LOG(NOTICE, "%s: recovered from=<%.*s>, size=%llu, nrcpt=%u",
			  id, env.sender.len, env.sender.p,
			  (unsigned long long)m->size, env.nrcpt);
		if (fn != NULL)
			fn(arg, m, &env, e->outcomes);
	}
	SPOOL_LOG(NOTICE, "worker %u: recovery: %llu messages recovered, %llu "
		  "discarded", sp->conf.worker,
		  (unsigned long long)sp->stats.recovered,
		  (unsigned long long)sp->stats.discarded);
}

int spool_recover(struct spool *sp, spool_recovered_fn *fn, void *arg)
{
	struct scan s = {.sp = sp};
	unsigned order[SPOOL_SEG_MAX], nused = 0;
	int rc = 0;

	s.rcpt = malloc(SPOOL_RCPT_MAX * sizeof(*s.rcpt));
	if (s.rcpt == NULL)
		return -ENOMEM;
	for (unsigned i = 0; i < sp->conf.seg_max && rc == 0; i++) {
		struct spool_seg *g = &sp->seg[i];

		if (g->state != SEG_SEALED)
			continue;
		void *p = mmap(NULL, sp->conf.seg_size, PROT_READ, MAP_SHARED,
			       g->fd, 0);

		if (p == MAP_FAILED) {
			rc = -errno;
			break;
		}
		s.map[i] = p;
		g->seq = seg_header(&s, i);
		if (g->seq == 0) {
			g->state = SEG_FREE;
			continue;
		}
		unsigned k = nused++;  /* insertion sort by seq */

		for (; k > 0 && sp->seg[order[k - 1]].seq > g->seq; k--)
			order[k] = order[k - 1];
		order[k] = i;
	}
	for (unsigned k = 0; k < nused && rc == 0; k++)
		rc = scan_segment(&s, order[k]);
	if (rc == 0) {
		/* What the scan found finished is finished on disk already. */
		for (unsigned i = 0; i < SPOOL_SEG_MAX; i++)
			sp->seg[i].idle_no = 0;
		spool_seg_update(sp);
		finish(&s, fn, arg);
	}
	for (unsigned i = 0; i < SPOOL_SEG_MAX; i++)
		if (s.map[i] != NULL)
			munmap((void *)s.map[i], sp->conf.seg_size);
	for (uint32_t i = 0; i < s.n; i++)
		free(s.msgs[i].outcomes);
	free(s.msgs);
	free(s.table);
	free(s.rcpt);
	return rc;
}
