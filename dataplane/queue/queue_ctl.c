/*
 * queue_ctl: command ring and published snapshot of one worker's queue —
 * see queue_ctl.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_errno.h>

#include "dataplane/queue/queue_ctl.h"

#define CMD_RING_SIZE 1024
#define CMD_BURST     32
#define READ_TRIES    16

struct queue_snap {
	struct queue_snap_head head;
	struct queue_info e[];
};

int queue_port_init(struct queue_port *p, unsigned worker, int socket,
		    uint32_t snap_max, uint64_t refresh_us)
{
	char name[RTE_RING_NAMESIZE];

	memset(p, 0, sizeof(*p));
	if (snap_max == 0 || refresh_us == 0)
		return -EINVAL;
	p->worker = worker;
	p->snap_max = snap_max;
	p->refresh_us = refresh_us;
	snprintf(name, sizeof(name), "queue_cmd_%u", worker);
	p->cmd = rte_ring_create_elem(name, sizeof(struct queue_cmd),
				      CMD_RING_SIZE, socket,
				      RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (p->cmd == NULL)
		return rte_errno == EEXIST ? -EEXIST : -ENOMEM;
	for (int b = 0; b < 2; b++) {
		p->snap[b] = calloc(1, sizeof(struct queue_snap) +
				    (size_t)snap_max * sizeof(struct queue_info));
		if (p->snap[b] == NULL) {
			queue_port_fini(p);
			return -ENOMEM;
		}
	}
	return 0;
}

void queue_port_fini(struct queue_port *p)
{
	rte_ring_free(p->cmd);
	p->cmd = NULL;
	for (int b = 0; b < 2; b++) {
		free(p->snap[b]);
		p->snap[b] = NULL;
	}
}

int queue_port_post(struct queue_port *p, enum queue_op op, uint64_t qid)
{
	struct queue_cmd c = {.qid = qid, .op = op};

	if (rte_ring_enqueue_elem(p->cmd, &c, sizeof(c)) < 0) {
		p->post_drops++;
		return -ENOBUFS;
	}
	return 0;
}

/* ---- worker side ----------------------------------------------------------- */

static int apply(struct queue *q, const struct queue_cmd *c, uint64_t now,
		 struct spool_msg **msg)
{
	switch (c->op) {
	case QUEUE_OP_HOLD: return queue_hold(q, c->qid);
	case QUEUE_OP_RELEASE: return queue_release(q, c->qid, now);
	case QUEUE_OP_DELETE: return queue_delete(q, c->qid, msg);
	case QUEUE_OP_RETRY: return queue_retry(q, c->qid, now);
	default: return -EINVAL;
	}
}

void queue_port_publish(struct queue_port *p, const struct queue *q,
			uint64_t now)
{
	uint32_t b = __atomic_load_n(&p->cur, __ATOMIC_RELAXED) ^ 1;
	struct queue_snap *s = p->snap[b];
	uint64_t seq = s->head.seq;

	__atomic_store_n(&s->head.seq, seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	s->head.time_us = now;
	s->head.published = ++p->published;
	s->head.total = queue_count(q);
	s->head.n = queue_list(q, s->e, p->snap_max);
	s->head.cmds_applied = p->applied;
	s->head.cmds_failed = p->failed;
	s->head.stats = *queue_stats(q);
	queue_depth(q, now, &s->head.depth);
	__atomic_store_n(&s->head.seq, seq + 2, __ATOMIC_RELEASE);
	__atomic_store_n(&p->cur, b, __ATOMIC_RELEASE);
	p->next_publish_us = now + p->refresh_us;
}

unsigned queue_port_poll(struct queue_port *p, struct queue *q, uint64_t now,
			 queue_cmd_fn *fn, void *arg)
{
	struct queue_cmd c[CMD_BURST];
	unsigned n = rte_ring_dequeue_burst_elem(p->cmd, c, sizeof(c[0]),
						 CMD_BURST, NULL);

	for (unsigned i = 0; i < n; i++) {
		struct spool_msg *msg = NULL;
		int rc = apply(q, &c[i], now, &msg);

		if (rc == 0)
			p->applied++;
		else
			p->failed++;
		if (fn != NULL)
			fn(arg, &c[i], rc, msg);
	}
	if (n > 0 || now >= p->next_publish_us)
		queue_port_publish(p, q, now);
	return n;
}

/* ---- main-lcore side ---------------------------------------------------------- */

/* Run COPY on the current snapshot until it saw a stable one. */
static int read_stable(const struct queue_port *p,
		       int (*copy)(const struct queue_snap *s, void *ctx),
		       void *ctx)
{
	for (int t = 0; t < READ_TRIES; t++) {
		uint32_t b = __atomic_load_n(&p->cur, __ATOMIC_ACQUIRE);
		const struct queue_snap *s = p->snap[b];
		uint64_t seq = __atomic_load_n(&s->head.seq, __ATOMIC_ACQUIRE);
		int rc;

		if (seq == 0)
			return -ENODATA;
		if (seq & 1)
			continue;
		rc = copy(s, ctx);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&s->head.seq, __ATOMIC_RELAXED) == seq)
			return rc;
	}
	return -EAGAIN;
}

struct read_ctx {
	struct queue_snap_head *head;
	struct queue_info *out;
	uint32_t max;
	uint64_t qid;
};

static int copy_all(const struct queue_snap *s, void *arg)
{
	struct read_ctx *r = arg;
	uint32_t n = s->head.n < r->max ? s->head.n : r->max;

	*r->head = s->head;
	if (n > 0)
		memcpy(r->out, s->e, (size_t)n * sizeof(s->e[0]));
	return (int)n;
}

static int copy_one(const struct queue_snap *s, void *arg)
{
	struct read_ctx *r = arg;
	uint32_t n = s->head.n;

	*r->head = s->head;
	for (uint32_t i = 0; i < n; i++) {
		if (s->e[i].qid == r->qid) {
			*r->out = s->e[i];
			return 0;
		}
	}
	return -ENOENT;
}

int queue_port_read(const struct queue_port *p, struct queue_snap_head *head,
		    struct queue_info *out, uint32_t max)
{
	struct read_ctx r = {.head = head, .out = out, .max = max};

	return read_stable(p, copy_all, &r);
}

int queue_port_find(const struct queue_port *p, uint64_t qid,
		    struct queue_snap_head *head, struct queue_info *out)
{
	struct read_ctx r = {.head = head, .out = out, .qid = qid};

	return read_stable(p, copy_one, &r);
}
