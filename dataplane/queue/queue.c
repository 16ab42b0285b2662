/*
 * queue: the per-worker delivery queue — entries, the timer heap, the
 * recipient states and the operator actions.  See queue.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/queue/queue.h"
#include "dataplane/queue/queue_map.h"
#include "dataplane/spool/spool_rec.h"

/* Recovery's outcomes go to queue_add() as they are. */
_Static_assert((int)QUEUE_RCPT_SENT == (int)SPOOL_DELIVERED &&
	       (int)QUEUE_RCPT_BOUNCED == (int)SPOOL_BOUNCED,
	       "queue_rcpt and spool_outcome values differ");

#define NONE UINT32_MAX
#define RCHUNK 60   /* recipient states per chunk (a chunk is 64 bytes) */

struct rchunk {
	uint32_t next;
	uint8_t st[RCHUNK];
};

struct entry {
	struct queue_info info;
	struct spool_msg *msg;
	uint64_t due;            /* heap key */
	uint32_t heap_pos;       /* NONE: not in the heap */
	uint32_t rcpt;           /* first recipient chunk */
	bool live;
	bool hold_after;         /* hold once the inflight attempt ends */
};

struct queue {
	struct queue_conf conf;
	struct entry *ent;
	uint32_t *free_ent;      /* stack of free entry indices */
	uint32_t nfree_ent;
	uint32_t res_ent;        /* entries held by queue_reserve() */
	uint64_t res_rcpts;      /* ... and recipients */
	struct rchunk *chunk;
	uint32_t nchunks, free_chunk;
	uint32_t *heap;          /* entry indices, min-heap on due */
	uint32_t nheap;
	struct queue_map map;
	struct queue_stats stats;
};

void queue_conf_defaults(struct queue_conf *c)
{
	static const uint64_t min = 60 * 1000000ull;

	memset(c, 0, sizeof(*c));
	c->max_entries = 16384;
	c->max_rcpts = 262144;
	c->nb_retry = 5;
	c->retry_us[0] = 5 * min;
	c->retry_us[1] = 10 * min;
	c->retry_us[2] = 20 * min;
	c->retry_us[3] = 40 * min;
	c->retry_us[4] = 60 * min;
	c->lifetime_us = 5 * 24 * 60 * min;
}

int queue_conf_check(const struct queue_conf *c, char *err, size_t errlen)
{
	if (c->max_entries == 0 || c->max_entries > (UINT32_C(1) << 24) ||
	    c->max_rcpts == 0 || c->max_rcpts > (UINT32_C(1) << 28)) {
		snprintf(err, errlen, "queue limits must be positive (entries at most "
			 "%u, recipients at most %u)", 1u << 24, 1u << 28);
		return -EINVAL;
	}
	if (c->nb_retry == 0 || c->nb_retry > QUEUE_RETRY_MAX) {
		snprintf(err, errlen, "retry schedule needs 1..%d steps",
			 QUEUE_RETRY_MAX);
		return -EINVAL;
	}
	for (unsigned i = 0; i < c->nb_retry; i++) {
		if (c->retry_us[i] == 0 || (i > 0 && c->retry_us[i] < c->retry_us[i - 1])) {
			snprintf(err, errlen, "retry schedule step %u must be positive "
				 "and not shorter than the one before", i + 1);
			return -EINVAL;
		}
	}
	if (c->lifetime_us == 0) {
		snprintf(err, errlen, "queue lifetime must be positive");
		return -EINVAL;
	}
	return 0;
}

/* ---- allocation ------------------------------------------------------------ */

int queue_create(const struct queue_conf *conf, struct queue **out)
{
	char err[128];
	struct queue *q;

	if (queue_conf_check(conf, err, sizeof(err)) < 0)
		return -EINVAL;
	q = calloc(1, sizeof(*q));
	if (q == NULL)
		return -ENOMEM;
	q->conf = *conf;
	/* Each entry rounds its recipients up to whole chunks: one spare
	 * chunk per entry keeps max_rcpts the only recipient limit. */
	q->nchunks = (conf->max_rcpts + RCHUNK - 1) / RCHUNK + conf->max_entries;
	q->ent = calloc(conf->max_entries, sizeof(*q->ent));
	q->free_ent = calloc(conf->max_entries, sizeof(*q->free_ent));
	q->heap = calloc(conf->max_entries, sizeof(*q->heap));
	q->chunk = calloc(q->nchunks, sizeof(*q->chunk));
	if (q->ent == NULL || q->free_ent == NULL || q->heap == NULL ||
	    q->chunk == NULL || queue_map_init(&q->map, conf->max_entries) < 0) {
		queue_destroy(q);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < conf->max_entries; i++)
		q->free_ent[i] = conf->max_entries - 1 - i;
	q->nfree_ent = conf->max_entries;
	for (uint32_t i = 0; i < q->nchunks; i++)
		q->chunk[i].next = i + 1 < q->nchunks ? i + 1 : NONE;
	q->free_chunk = 0;
	*out = q;
	return 0;
}

void queue_destroy(struct queue *q)
{
	if (q == NULL)
		return;
	queue_map_fini(&q->map);
	free(q->ent);
	free(q->free_ent);
	free(q->heap);
	free(q->chunk);
	free(q);
}

static uint32_t chunks_for(uint32_t nrcpt)
{
	return (nrcpt + RCHUNK - 1) / RCHUNK;
}

/* Take N chunks from the free list, linked; NONE when there are fewer. */
static uint32_t chunks_take(struct queue *q, uint32_t n)
{
	uint32_t first = q->free_chunk, last = NONE, c = first;

	for (uint32_t i = 0; i < n; i++) {
		if (c == NONE)
			return NONE;
		last = c;
		c = q->chunk[c].next;
	}
	q->free_chunk = c;
	q->chunk[last].next = NONE;
	return first;
}

static void chunks_give(struct queue *q, uint32_t first)
{
	while (first != NONE) {
		uint32_t next = q->chunk[first].next;

		q->chunk[first].next = q->free_chunk;
		q->free_chunk = first;
		first = next;
	}
}

static uint8_t *rcpt_state(const struct queue *q, const struct entry *e,
			   uint32_t rcpt)
{
	uint32_t c = e->rcpt;

	for (uint32_t i = rcpt / RCHUNK; i > 0; i--)
		c = q->chunk[c].next;
	return &q->chunk[c].st[rcpt % RCHUNK];
}

/* ---- the timer heap -------------------------------------------------------- */

static void heap_set(struct queue *q, uint32_t pos, uint32_t idx)
{
	q->heap[pos] = idx;
	q->ent[idx].heap_pos = pos;
}

static uint64_t heap_key(const struct queue *q, uint32_t pos)
{
	return q->ent[q->heap[pos]].due;
}

static void heap_up(struct queue *q, uint32_t pos)
{
	uint32_t idx = q->heap[pos];

	while (pos > 0 && q->ent[q->heap[(pos - 1) / 2]].due > q->ent[idx].due) {
		heap_set(q, pos, q->heap[(pos - 1) / 2]);
		pos = (pos - 1) / 2;
	}
	heap_set(q, pos, idx);
}

static void heap_down(struct queue *q, uint32_t pos)
{
	uint32_t idx = q->heap[pos];

	for (;;) {
		uint32_t c = 2 * pos + 1;

		if (c >= q->nheap)
			break;
		if (c + 1 < q->nheap && heap_key(q, c + 1) < heap_key(q, c))
			c++;
		if (heap_key(q, c) >= q->ent[idx].due)
			break;
		heap_set(q, pos, q->heap[c]);
		pos = c;
	}
	heap_set(q, pos, idx);
}

static void heap_add(struct queue *q, uint32_t idx, uint64_t due)
{
	q->ent[idx].due = due;
	heap_set(q, q->nheap++, idx);
	heap_up(q, q->nheap - 1);
}

static void heap_remove(struct queue *q, uint32_t idx)
{
	uint32_t pos = q->ent[idx].heap_pos, moved;

	if (pos == NONE)
		return;
	q->ent[idx].heap_pos = NONE;
	if (--q->nheap == pos)
		return;
	moved = q->heap[q->nheap];
	heap_set(q, pos, moved);
	heap_down(q, pos);
	heap_up(q, q->ent[moved].heap_pos);
}

/* ---- entries --------------------------------------------------------------- */

static void copy_text(char *dst, size_t cap, const char *src)
{
	size_t n = src != NULL ? strnlen(src, cap - 1) : 0;

	if (n > 0)
		memcpy(dst, src, n);
	dst[n] = '\0';
}

static struct entry *find(const struct queue *q, uint64_t qid, uint32_t *idx)
{
	if (queue_map_get(&q->map, qid, idx) < 0)
		return NULL;
	return &q->ent[*idx];
}

static void make_due(struct queue *q, uint32_t idx, uint64_t now)
{
	struct entry *e = &q->ent[idx];

	heap_remove(q, idx);
	e->info.state = QUEUE_ACTIVE;
	e->info.next_attempt_us = now;
	heap_add(q, idx, now);
}

static uint32_t count_pending(const struct queue *q, const struct entry *e)
{
	uint32_t n = 0;

	for (uint32_t r = 0; r < e->info.nrcpt; r++)
		n += *rcpt_state(q, e, r) == QUEUE_RCPT_PENDING;
	return n;
}

/* Room for one more message of NRCPT recipients, besides what is held. */
static bool room(const struct queue *q, uint32_t nrcpt)
{
	return q->nfree_ent > q->res_ent &&
	       q->stats.rcpts + q->res_rcpts + nrcpt <= q->conf.max_rcpts;
}

int queue_reserve(struct queue *q, uint32_t nrcpt)
{
	if (nrcpt == 0 || !room(q, nrcpt)) {
		q->stats.full++;
		return -ENOBUFS;
	}
	q->res_ent++;
	q->res_rcpts += nrcpt;
	return 0;
}

void queue_unreserve(struct queue *q, uint32_t nrcpt)
{
	q->res_ent--;
	q->res_rcpts -= nrcpt;
}

int queue_add(struct queue *q, const struct queue_add *a, uint64_t now)
{
	uint32_t idx, first;
	struct entry *e;

	if (a->qid == 0 || a->nrcpt == 0)
		return -EINVAL;
	if (queue_map_get(&q->map, a->qid, &idx) == 0)
		return -EEXIST;
	if (a->reserved)
		queue_unreserve(q, a->nrcpt);
	if (!room(q, a->nrcpt) || (first = chunks_take(q, chunks_for(a->nrcpt))) == NONE) {
		q->stats.full++;
		return -ENOBUFS;
	}
	idx = q->free_ent[--q->nfree_ent];
	queue_map_put(&q->map, a->qid, idx);
	e = &q->ent[idx];
	memset(e, 0, sizeof(*e));
	e->live = true;
	e->msg = a->msg;
	e->rcpt = first;
	e->heap_pos = NONE;
	e->info.qid = a->qid;
	e->info.arrival_us = a->arrival_us;
	e->info.size = a->size;
	e->info.nrcpt = a->nrcpt;
	e->info.attempts = a->attempts;
	copy_text(e->info.sender, sizeof(e->info.sender), a->sender);
	for (uint32_t r = 0; r < a->nrcpt; r++) {
		uint8_t st = a->outcomes != NULL ? a->outcomes[r] : QUEUE_RCPT_PENDING;

		*rcpt_state(q, e, r) = st <= QUEUE_RCPT_BOUNCED ? st : QUEUE_RCPT_PENDING;
	}
	e->info.pending = count_pending(q, e);
	make_due(q, idx, now);
	q->stats.added++;
	q->stats.entries++;
	q->stats.rcpts += a->nrcpt;
	return 0;
}

static void remove_entry(struct queue *q, uint32_t idx)
{
	struct entry *e = &q->ent[idx];

	heap_remove(q, idx);
	queue_map_del(&q->map, e->info.qid);
	chunks_give(q, e->rcpt);
	q->stats.entries--;
	q->stats.rcpts -= e->info.nrcpt;
	e->live = false;
	q->free_ent[q->nfree_ent++] = idx;
}

uint64_t queue_next_due(const struct queue *q, uint64_t now)
{
	uint64_t due;

	if (q->nheap == 0)
		return UINT64_MAX;
	due = heap_key(q, 0);
	return due <= now ? 0 : due - now;
}

int queue_pop_due(struct queue *q, uint64_t now, struct spool_msg **msg,
		  uint64_t *qid)
{
	struct entry *e;

	if (q->nheap == 0 || heap_key(q, 0) > now)
		return 0;
	e = &q->ent[q->heap[0]];
	heap_remove(q, q->heap[0]);
	e->info.state = QUEUE_ACTIVE;
	e->info.inflight = true;
	*msg = e->msg;
	*qid = e->info.qid;
	q->stats.attempts++;
	return 1;
}

int queue_rcpt_set(struct queue *q, uint64_t qid, uint32_t rcpt,
		   enum queue_rcpt st)
{
	uint32_t idx;
	struct entry *e = find(q, qid, &idx);
	uint8_t *p;

	if (e == NULL)
		return -ENOENT;
	if (!e->info.inflight || rcpt >= e->info.nrcpt ||
	    (st != QUEUE_RCPT_SENT && st != QUEUE_RCPT_BOUNCED))
		return -EINVAL;
	p = rcpt_state(q, e, rcpt);
	if (*p != QUEUE_RCPT_PENDING)
		return -EALREADY;
	*p = (uint8_t)st;
	e->info.pending--;
	return 0;
}

int queue_rcpt_get(const struct queue *q, uint64_t qid, uint32_t rcpt)
{
	uint32_t idx;
	const struct entry *e = find(q, qid, &idx);

	if (e == NULL)
		return -ENOENT;
	if (rcpt >= e->info.nrcpt)
		return -EINVAL;
	return *rcpt_state(q, e, rcpt);
}

/* The wait after the ATTEMPTS-th attempt. */
static uint64_t retry_wait(const struct queue_conf *c, uint32_t attempts)
{
	uint32_t step = attempts == 0 ? 0 : attempts - 1;

	return c->retry_us[step < c->nb_retry ? step : c->nb_retry - 1];
}

int queue_attempt_end(struct queue *q, uint64_t qid, uint64_t now,
		      const char *reply, struct spool_msg **msg)
{
	uint32_t idx;
	struct entry *e = find(q, qid, &idx);
	uint64_t expires, next;

	if (e == NULL)
		return -ENOENT;
	if (!e->info.inflight)
		return -EINVAL;
	e->info.inflight = false;
	e->info.attempts++;
	if (reply != NULL)
		copy_text(e->info.reply, sizeof(e->info.reply), reply);
	*msg = e->msg;
	if (e->info.pending == 0) {
		remove_entry(q, idx);
		q->stats.finished++;
		return QUEUE_END_FINISHED;
	}
	expires = e->info.arrival_us + q->conf.lifetime_us;
	if (now >= expires) {
		remove_entry(q, idx);
		q->stats.expired++;
		return QUEUE_END_EXPIRED;
	}
	next = now + retry_wait(&q->conf, e->info.attempts);
	e->info.next_attempt_us = next < expires ? next : expires;
	q->stats.deferred++;
	if (e->hold_after) {
		e->hold_after = false;
		e->info.state = QUEUE_HELD;
		q->stats.held++;
		return QUEUE_END_HELD;
	}
	e->info.state = QUEUE_DEFERRED;
	heap_add(q, idx, e->info.next_attempt_us);
	return QUEUE_END_DEFERRED;
}

/* ---- operator actions -------------------------------------------------------- */

int queue_hold(struct queue *q, uint64_t qid)
{
	uint32_t idx;
	struct entry *e = find(q, qid, &idx);

	if (e == NULL)
		return -ENOENT;
	if (e->info.state == QUEUE_HELD)
		return 0;
	if (e->info.inflight) {
		e->hold_after = true;
		return 0;
	}
	heap_remove(q, idx);
	e->info.state = QUEUE_HELD;
	q->stats.held++;
	return 0;
}

int queue_release(struct queue *q, uint64_t qid, uint64_t now)
{
	uint32_t idx;
	struct entry *e = find(q, qid, &idx);

	if (e == NULL)
		return -ENOENT;
	if (e->info.inflight && e->hold_after) {
		e->hold_after = false;
		q->stats.released++;
		return 0;
	}
	if (e->info.state != QUEUE_HELD)
		return -EALREADY;
	make_due(q, idx, now);
	q->stats.released++;
	return 0;
}

int queue_retry(struct queue *q, uint64_t qid, uint64_t now)
{
	uint32_t idx;
	struct entry *e = find(q, qid, &idx);

	if (e == NULL)
		return -ENOENT;
	if (e->info.state != QUEUE_DEFERRED)
		return -EALREADY;
	make_due(q, idx, now);
	q->stats.retried++;
	return 0;
}

int queue_delete(struct queue *q, uint64_t qid, struct spool_msg **msg)
{
	uint32_t idx;
	struct entry *e = find(q, qid, &idx);

	if (e == NULL)
		return -ENOENT;
	if (e->info.inflight)
		return -EBUSY;
	*msg = e->msg;
	remove_entry(q, idx);
	q->stats.deleted++;
	return 0;
}

/* ---- views ------------------------------------------------------------------- */

int queue_get(const struct queue *q, uint64_t qid, struct queue_info *out)
{
	uint32_t idx;
	const struct entry *e = find(q, qid, &idx);

	if (e == NULL)
		return -ENOENT;
	*out = e->info;
	return 0;
}

uint32_t queue_list(const struct queue *q, struct queue_info *out,
		    uint32_t max)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < q->conf.max_entries && n < max; i++)
		if (q->ent[i].live)
			out[n++] = q->ent[i].info;
	return n;
}

uint32_t queue_count(const struct queue *q)
{
	return q->map.n;
}

const uint64_t queue_age_bound_s[QUEUE_AGE_BUCKETS] = {
	60, 300, 3600, 6 * 3600, 24 * 3600,
};

void queue_depth(const struct queue *q, uint64_t now, struct queue_depth *d)
{
	memset(d, 0, sizeof(*d));
	for (uint32_t i = 0; i < q->conf.max_entries; i++) {
		const struct queue_info *e = &q->ent[i].info;
		uint64_t age_s = now > e->arrival_us ? (now - e->arrival_us) / 1000000u : 0;
		unsigned b = 0;

		if (!q->ent[i].live)
			continue;
		if (e->state <= QUEUE_HELD)
			d->state[e->state]++;
		d->inflight += e->inflight;
		while (b < QUEUE_AGE_BUCKETS && age_s >= queue_age_bound_s[b])
			b++;
		d->age[b]++;
	}
}

const struct queue_stats *queue_stats(const struct queue *q)
{
	return &q->stats;
}
