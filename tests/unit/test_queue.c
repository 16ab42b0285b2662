/*
 * test_queue: the delivery queue with a fake clock — the retry schedule
 * step by step, expiry at the lifetime, hold/release/delete/retry,
 * partial delivery, bounded entries and recipient room, the timer heap's
 * order under random removals; the queue ID map against a reference; and
 * the command ring and published snapshot of queue_ctl, also read while
 * another thread keeps republishing it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "dataplane/queue/queue.h"
#include "dataplane/queue/queue_ctl.h"
#include "dataplane/queue/queue_map.h"
#include "tests/unit/suites.h"

#define SEC  1000000ull
#define MIN  (60 * SEC)
#define T0   (1700000000ull * SEC)

static struct spool_msg *handle(unsigned i)
{
	return (struct spool_msg *)(uintptr_t)(0x1000 + 16 * i);
}

static int add(struct queue *q, uint64_t qid, uint32_t nrcpt, uint64_t now)
{
	struct queue_add a = {.msg = handle((unsigned)qid), .qid = qid,
			      .arrival_us = now, .size = 1000, .nrcpt = nrcpt,
			      .sender = "alice@example.com"};

	return queue_add(q, &a, now);
}

static struct queue *make(const struct queue_conf *c)
{
	struct queue *q = NULL;

	CU_ASSERT_FATAL(queue_create(c, &q) == 0);
	return q;
}

/* Pop QID at NOW, ending the attempt with nothing delivered. */
static int fail_attempt(struct queue *q, uint64_t qid, uint64_t now)
{
	struct spool_msg *m;
	uint64_t got = 0;

	CU_ASSERT_EQUAL(queue_pop_due(q, now, &m, &got), 1);
	CU_ASSERT_EQUAL(got, qid);
	return queue_attempt_end(q, qid, now, "451 4.3.0 try later", &m);
}

static void test_defaults(void)
{
	struct queue_conf c;
	char err[128];

	queue_conf_defaults(&c);
	CU_ASSERT_EQUAL(queue_conf_check(&c, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(c.nb_retry, 5);
	CU_ASSERT_EQUAL(c.retry_us[0], 5 * MIN);
	CU_ASSERT_EQUAL(c.retry_us[4], 60 * MIN);
	CU_ASSERT_EQUAL(c.lifetime_us, 5 * 24 * 60 * MIN);
	c.retry_us[2] = MIN;   /* shorter than the step before */
	CU_ASSERT_EQUAL(queue_conf_check(&c, err, sizeof(err)), -EINVAL);
	queue_conf_defaults(&c);
	c.nb_retry = 0;
	CU_ASSERT_EQUAL(queue_conf_check(&c, err, sizeof(err)), -EINVAL);
}

/* Defer → retry times 5m, 10m, 20m, 40m, 1h, 1h... after each attempt. */
static void test_schedule(void)
{
	static const uint64_t wait[] = {5 * MIN, 10 * MIN, 20 * MIN, 40 * MIN,
					60 * MIN, 60 * MIN, 60 * MIN};
	struct queue_conf c;
	struct queue_info info;
	struct spool_msg *m;
	uint64_t qid, now = T0;
	struct queue *q;

	queue_conf_defaults(&c);
	q = make(&c);
	CU_ASSERT_EQUAL(queue_next_due(q, now), UINT64_MAX);
	CU_ASSERT_EQUAL(add(q, 7, 2, now), 0);
	CU_ASSERT_EQUAL(queue_next_due(q, now), 0);
	for (unsigned i = 0; i < sizeof(wait) / sizeof(wait[0]); i++) {
		CU_ASSERT_EQUAL(fail_attempt(q, 7, now), QUEUE_END_DEFERRED);
		CU_ASSERT_EQUAL(queue_get(q, 7, &info), 0);
		CU_ASSERT_EQUAL(info.state, QUEUE_DEFERRED);
		CU_ASSERT_EQUAL(info.attempts, i + 1);
		CU_ASSERT_EQUAL(info.next_attempt_us, now + wait[i]);
		CU_ASSERT_STRING_EQUAL(info.reply, "451 4.3.0 try later");
		CU_ASSERT_EQUAL(queue_next_due(q, now), wait[i]);
		CU_ASSERT_EQUAL(queue_pop_due(q, now + wait[i] - 1, &m, &qid), 0);
		now += wait[i];
	}
	CU_ASSERT_EQUAL(queue_stats(q)->deferred, 7);
	queue_destroy(q);
}

/* The lab's schedule in seconds: the last retry is at the lifetime, and
 * the attempt that fails there expires the message. */
static void test_expiry(void)
{
	struct queue_conf c = {.max_entries = 8, .max_rcpts = 64, .nb_retry = 3,
			       .retry_us = {1 * SEC, 2 * SEC, 4 * SEC},
			       .lifetime_us = 10 * SEC};
	struct queue_info info;
	struct spool_msg *m = NULL;
	uint64_t qid;
	struct queue *q = make(&c);

	CU_ASSERT_EQUAL(add(q, 9, 1, T0), 0);
	CU_ASSERT_EQUAL(fail_attempt(q, 9, T0), QUEUE_END_DEFERRED);            /* → +1 */
	CU_ASSERT_EQUAL(fail_attempt(q, 9, T0 + 1 * SEC), QUEUE_END_DEFERRED);  /* → +3 */
	CU_ASSERT_EQUAL(fail_attempt(q, 9, T0 + 3 * SEC), QUEUE_END_DEFERRED);  /* → +7 */
	CU_ASSERT_EQUAL(fail_attempt(q, 9, T0 + 7 * SEC), QUEUE_END_DEFERRED);  /* 11 → 10 */
	CU_ASSERT_EQUAL(queue_get(q, 9, &info), 0);
	CU_ASSERT_EQUAL(info.next_attempt_us, T0 + 10 * SEC);
	CU_ASSERT_EQUAL(queue_pop_due(q, T0 + 10 * SEC, &m, &qid), 1);
	CU_ASSERT_EQUAL(queue_attempt_end(q, 9, T0 + 10 * SEC, "451 still", &m),
			QUEUE_END_EXPIRED);
	CU_ASSERT_PTR_EQUAL(m, handle(9));
	CU_ASSERT_EQUAL(queue_get(q, 9, &info), -ENOENT);
	CU_ASSERT_EQUAL(queue_count(q), 0);
	CU_ASSERT_EQUAL(queue_stats(q)->expired, 1);
	CU_ASSERT_EQUAL(queue_stats(q)->rcpts, 0);
	queue_destroy(q);
}

/* Recipients: partial delivery defers the rest, all done finishes. */
static void test_recipients(void)
{
	struct queue_conf c;
	struct queue_info info;
	struct spool_msg *m = NULL;
	uint64_t qid;
	struct queue *q;
	const uint8_t outcomes[3] = {QUEUE_RCPT_SENT, QUEUE_RCPT_PENDING,
				     3 /* SPOOL_DEFERRED: still pending */};
	struct queue_add a = {.msg = handle(5), .qid = 5, .arrival_us = T0,
			      .nrcpt = 3, .outcomes = outcomes, .sender = ""};

	queue_conf_defaults(&c);
	q = make(&c);
	CU_ASSERT_EQUAL(queue_add(q, &a, T0), 0);         /* recovered: one sent */
	CU_ASSERT_EQUAL(queue_add(q, &a, T0), -EEXIST);
	CU_ASSERT_EQUAL(queue_get(q, 5, &info), 0);
	CU_ASSERT_EQUAL(info.pending, 2);
	CU_ASSERT_EQUAL(queue_rcpt_set(q, 5, 1, QUEUE_RCPT_SENT), -EINVAL); /* not inflight */
	CU_ASSERT_EQUAL(queue_pop_due(q, T0, &m, &qid), 1);
	CU_ASSERT_EQUAL(queue_rcpt_set(q, 5, 0, QUEUE_RCPT_SENT), -EALREADY);
	CU_ASSERT_EQUAL(queue_rcpt_set(q, 5, 1, QUEUE_RCPT_BOUNCED), 0);
	CU_ASSERT_EQUAL(queue_rcpt_set(q, 5, 3, QUEUE_RCPT_SENT), -EINVAL);
	CU_ASSERT_EQUAL(queue_attempt_end(q, 5, T0, "452 4.2.2 mailbox full", &m),
			QUEUE_END_DEFERRED);
	CU_ASSERT_EQUAL(queue_rcpt_get(q, 5, 0), QUEUE_RCPT_SENT);
	CU_ASSERT_EQUAL(queue_rcpt_get(q, 5, 1), QUEUE_RCPT_BOUNCED);
	CU_ASSERT_EQUAL(queue_rcpt_get(q, 5, 2), QUEUE_RCPT_PENDING);
	CU_ASSERT_EQUAL(queue_pop_due(q, T0 + 5 * MIN, &m, &qid), 1);
	CU_ASSERT_EQUAL(queue_rcpt_set(q, 5, 2, QUEUE_RCPT_SENT), 0);
	m = NULL;
	CU_ASSERT_EQUAL(queue_attempt_end(q, 5, T0 + 5 * MIN, NULL, &m),
			QUEUE_END_FINISHED);
	CU_ASSERT_PTR_EQUAL(m, handle(5));
	CU_ASSERT_EQUAL(queue_count(q), 0);
	CU_ASSERT_EQUAL(queue_stats(q)->finished, 1);
	queue_destroy(q);
}

static void test_hold_release_retry_delete(void)
{
	struct queue_conf c;
	struct queue_info info;
	struct spool_msg *m = NULL;
	uint64_t qid;
	struct queue *q;

	queue_conf_defaults(&c);
	q = make(&c);
	CU_ASSERT_EQUAL(add(q, 1, 1, T0), 0);
	CU_ASSERT_EQUAL(add(q, 2, 1, T0), 0);
	/* hold a due message: nothing is due any more */
	CU_ASSERT_EQUAL(queue_hold(q, 1), 0);
	CU_ASSERT_EQUAL(queue_hold(q, 1), 0);
	CU_ASSERT_EQUAL(fail_attempt(q, 2, T0), QUEUE_END_DEFERRED);
	CU_ASSERT_EQUAL(queue_pop_due(q, T0 + 4 * MIN, &m, &qid), 0);
	CU_ASSERT_EQUAL(queue_get(q, 1, &info), 0);
	CU_ASSERT_EQUAL(info.state, QUEUE_HELD);
	/* retry: only a deferred one; it is due at once */
	CU_ASSERT_EQUAL(queue_retry(q, 1, T0 + MIN), -EALREADY);
	CU_ASSERT_EQUAL(queue_retry(q, 2, T0 + MIN), 0);
	CU_ASSERT_EQUAL(queue_next_due(q, T0 + MIN), 0);
	CU_ASSERT_EQUAL(queue_get(q, 2, &info), 0);
	CU_ASSERT_EQUAL(info.state, QUEUE_ACTIVE);
	CU_ASSERT_EQUAL(queue_retry(q, 2, T0 + MIN), -EALREADY);
	/* delete while inflight is refused; hold then applies after the attempt */
	CU_ASSERT_EQUAL(queue_pop_due(q, T0 + MIN, &m, &qid), 1);
	CU_ASSERT_EQUAL(qid, 2);
	CU_ASSERT_EQUAL(queue_delete(q, 2, &m), -EBUSY);
	CU_ASSERT_EQUAL(queue_hold(q, 2), 0);
	CU_ASSERT_EQUAL(queue_attempt_end(q, 2, T0 + MIN, "421 busy", &m),
			QUEUE_END_HELD);
	CU_ASSERT_EQUAL(queue_next_due(q, T0 + 10 * 24 * 60 * MIN), UINT64_MAX);
	/* release: due now; release of one not held */
	CU_ASSERT_EQUAL(queue_release(q, 1, T0 + 2 * MIN), 0);
	CU_ASSERT_EQUAL(queue_release(q, 1, T0 + 2 * MIN), -EALREADY);
	CU_ASSERT_EQUAL(queue_pop_due(q, T0 + 2 * MIN, &m, &qid), 1);
	CU_ASSERT_EQUAL(qid, 1);
	CU_ASSERT_EQUAL(queue_attempt_end(q, 1, T0 + 2 * MIN, "421 busy", &m),
			QUEUE_END_DEFERRED);
	/* delete: the handle comes back, the ID is gone */
	m = NULL;
	CU_ASSERT_EQUAL(queue_delete(q, 2, &m), 0);
	CU_ASSERT_PTR_EQUAL(m, handle(2));
	CU_ASSERT_EQUAL(queue_delete(q, 2, &m), -ENOENT);
	CU_ASSERT_EQUAL(queue_hold(q, 2), -ENOENT);
	CU_ASSERT_EQUAL(queue_release(q, 2, T0), -ENOENT);
	CU_ASSERT_EQUAL(queue_retry(q, 2, T0), -ENOENT);
	CU_ASSERT_EQUAL(queue_stats(q)->deleted, 1);
	CU_ASSERT_EQUAL(queue_stats(q)->held, 2);
	CU_ASSERT_EQUAL(queue_stats(q)->released, 1);
	CU_ASSERT_EQUAL(queue_stats(q)->retried, 1);
	queue_destroy(q);
}

static void test_bounded(void)
{
	struct queue_conf c;
	struct queue *q;

	queue_conf_defaults(&c);
	c.max_entries = 4;
	c.max_rcpts = 120;
	q = make(&c);
	CU_ASSERT_EQUAL(add(q, 1, 61, T0), 0);    /* two chunks of 60 */
	CU_ASSERT_EQUAL(add(q, 2, 59, T0), 0);    /* recipients count, not chunks */
	CU_ASSERT_EQUAL(add(q, 4, 1, T0), -ENOBUFS);
	CU_ASSERT_EQUAL(queue_stats(q)->rcpts, 120);
	CU_ASSERT_EQUAL(add(q, 0, 1, T0), -EINVAL);
	CU_ASSERT_EQUAL(add(q, 3, 0, T0), -EINVAL);
	queue_destroy(q);
	c.max_rcpts = 1000;
	q = make(&c);
	for (unsigned i = 1; i <= 4; i++)
		CU_ASSERT_EQUAL(add(q, i, 1, T0), 0);
	CU_ASSERT_EQUAL(add(q, 5, 1, T0), -ENOBUFS);
	CU_ASSERT_EQUAL(queue_stats(q)->full, 1);
	CU_ASSERT_EQUAL(queue_stats(q)->entries, 4);
	queue_destroy(q);
	/* As many single-recipient messages as entries, with no more
	 * recipient states than that (each takes a chunk of 60). */
	c.max_entries = c.max_rcpts = 300;
	q = make(&c);
	for (unsigned i = 1; i <= 300; i++)
		CU_ASSERT_EQUAL_FATAL(add(q, i, 1, T0), 0);
	CU_ASSERT_EQUAL(add(q, 301, 1, T0), -ENOBUFS);
	queue_destroy(q);
}

/* Room held for messages being received is not free for others, and a
 * reserved add takes its own room even when nothing else is left. */
static void test_reserve(void)
{
	struct queue_conf c;
	struct queue_add a = {.qid = 9, .arrival_us = T0, .size = 1000, .nrcpt = 2,
			      .sender = "alice@example.com", .reserved = true};
	struct queue *q;

	queue_conf_defaults(&c);
	c.max_entries = 3;
	c.max_rcpts = 10;
	q = make(&c);
	CU_ASSERT_EQUAL(queue_reserve(q, 2), 0);
	CU_ASSERT_EQUAL(queue_reserve(q, 7), 0);
	CU_ASSERT_EQUAL(add(q, 1, 2, T0), -ENOBUFS);      /* 2 + 7 + 2 > 10 */
	CU_ASSERT_EQUAL(add(q, 1, 1, T0), 0);              /* the last entry */
	CU_ASSERT_EQUAL(add(q, 2, 1, T0), -ENOBUFS);       /* the other two are held */
	CU_ASSERT_EQUAL(queue_reserve(q, 1), -ENOBUFS);
	a.msg = handle(9);
	CU_ASSERT_EQUAL(queue_add(q, &a, T0), 0);          /* takes its held room */
	queue_unreserve(q, 7);                             /* that one was refused */
	CU_ASSERT_EQUAL(add(q, 3, 7, T0), 0);
	CU_ASSERT_EQUAL(queue_stats(q)->entries, 3);
	CU_ASSERT_EQUAL(queue_stats(q)->rcpts, 10);
	CU_ASSERT_EQUAL(queue_stats(q)->full, 3);
	queue_destroy(q);
}

/* Random due times and random removals: pops come out in time order. */
static void test_heap_order(void)
{
	enum { N = 500 };
	struct queue_conf c;
	struct spool_msg *m;
	uint64_t qid, last = 0, now;
	struct queue_info info;
	struct queue *q;
	unsigned popped = 0, held = 0;

	queue_conf_defaults(&c);
	q = make(&c);
	srand(5);
	for (unsigned i = 1; i <= N; i++)
		CU_ASSERT_EQUAL_FATAL(add(q, i, 1, T0 + (uint64_t)(rand() % 100000)), 0);
	for (unsigned i = 1; i <= N; i += 7) {
		CU_ASSERT_EQUAL(queue_hold(q, i), 0);
		held++;
	}
	now = T0 + 200000;
	while (queue_pop_due(q, now, &m, &qid) == 1) {
		CU_ASSERT_EQUAL(queue_get(q, qid, &info), 0);
		CU_ASSERT(info.next_attempt_us >= last);
		last = info.next_attempt_us;
		popped++;
	}
	CU_ASSERT_EQUAL(popped + held, N);
	queue_destroy(q);
}

static void test_map(void)
{
	enum { N = 2000 };
	struct queue_map map;
	static uint64_t key[N];
	static bool in[N];
	uint32_t v;

	CU_ASSERT_FATAL(queue_map_init(&map, N) == 0);
	srand(7);
	for (unsigned i = 0; i < N; i++)
		key[i] = ((uint64_t)rand() << 31 | (uint64_t)rand()) | 1;
	for (unsigned round = 0; round < 20000; round++) {
		unsigned i = (unsigned)rand() % N;

		if (in[i]) {
			CU_ASSERT_EQUAL_FATAL(queue_map_del(&map, key[i]), 0);
			in[i] = false;
		} else {
			CU_ASSERT_EQUAL_FATAL(queue_map_put(&map, key[i], i), 0);
			in[i] = true;
		}
	}
	for (unsigned i = 0; i < N; i++) {
		int rc = queue_map_get(&map, key[i], &v);

		CU_ASSERT_EQUAL(rc, in[i] ? 0 : -ENOENT);
		if (rc == 0)
			CU_ASSERT_EQUAL(v, i);
	}
	CU_ASSERT_EQUAL(queue_map_put(&map, 0, 1), -EINVAL);
	queue_map_fini(&map);
}

struct applied {
	unsigned n;
	int rc[8];
	struct spool_msg *msg[8];
};

static void on_cmd(void *arg, const struct queue_cmd *c, int rc,
		   struct spool_msg *msg)
{
	struct applied *a = arg;

	(void)c;
	if (a->n < 8) {
		a->rc[a->n] = rc;
		a->msg[a->n] = msg;
	}
	a->n++;
}

static void test_port(void)
{
	struct queue_conf c;
	struct queue_port p;
	struct queue_snap_head head;
	struct queue_info e[4];
	struct applied a = {0};
	struct queue *q;

	queue_conf_defaults(&c);
	q = make(&c);
	CU_ASSERT_FATAL(queue_port_init(&p, 200, SOCKET_ID_ANY, 2, SEC) == 0);
	CU_ASSERT_EQUAL(queue_port_read(&p, &head, e, 4), -ENODATA);
	CU_ASSERT_EQUAL(add(q, 1, 1, T0), 0);
	CU_ASSERT_EQUAL(add(q, 2, 1, T0), 0);
	CU_ASSERT_EQUAL(add(q, 3, 1, T0), 0);
	CU_ASSERT_EQUAL(queue_port_poll(&p, q, T0, on_cmd, &a), 0);   /* first publish */
	CU_ASSERT_EQUAL(queue_port_read(&p, &head, e, 4), 2);         /* snap_max 2 */
	CU_ASSERT_EQUAL(head.total, 3);
	CU_ASSERT_EQUAL(head.n, 2);
	CU_ASSERT_EQUAL(queue_port_post(&p, QUEUE_OP_HOLD, 2), 0);
	CU_ASSERT_EQUAL(queue_port_post(&p, QUEUE_OP_DELETE, 3), 0);
	CU_ASSERT_EQUAL(queue_port_post(&p, QUEUE_OP_RETRY, 99), 0);
	CU_ASSERT_EQUAL(queue_port_poll(&p, q, T0 + 1, on_cmd, &a), 3);
	CU_ASSERT_EQUAL(a.n, 3);
	CU_ASSERT_EQUAL(a.rc[0], 0);
	CU_ASSERT_EQUAL(a.rc[1], 0);
	CU_ASSERT_PTR_EQUAL(a.msg[1], handle(3));
	CU_ASSERT_EQUAL(a.rc[2], -ENOENT);
	CU_ASSERT_EQUAL(queue_port_find(&p, 2, &head, e), 0);
	CU_ASSERT_EQUAL(e[0].state, QUEUE_HELD);
	CU_ASSERT_EQUAL(head.total, 2);
	CU_ASSERT_EQUAL(head.cmds_applied, 2);
	CU_ASSERT_EQUAL(head.cmds_failed, 1);
	CU_ASSERT_EQUAL(queue_port_find(&p, 3, &head, e), -ENOENT);
	/* no command and not yet time: no new snapshot */
	CU_ASSERT_EQUAL(queue_port_poll(&p, q, T0 + 2, on_cmd, &a), 0);
	CU_ASSERT_EQUAL(queue_port_read(&p, &head, e, 4), 2);
	CU_ASSERT_EQUAL(head.published, 2);
	CU_ASSERT_EQUAL(queue_port_poll(&p, q, T0 + 2 * SEC, on_cmd, &a), 0);
	CU_ASSERT_EQUAL(queue_port_read(&p, &head, e, 4), 2);
	CU_ASSERT_EQUAL(head.published, 3);
	queue_port_fini(&p);
	queue_destroy(q);
}

/* Depth by state and age, also past the snapshot's bound, in its head. */
static void test_depth(void)
{
	struct queue_conf c;
	struct queue_port p;
	struct queue_snap_head head;
	struct queue_depth d;
	struct spool_msg *m;
	uint64_t qid, now = T0 + 2 * 3600 * SEC;
	struct queue *q;

	queue_conf_defaults(&c);
	q = make(&c);
	queue_depth(q, now, &d);
	CU_ASSERT_EQUAL(d.state[QUEUE_ACTIVE] + d.state[QUEUE_DEFERRED] +
			d.state[QUEUE_HELD] + d.inflight, 0);
	CU_ASSERT_EQUAL(add(q, 1, 1, T0), 0);                       /* 2 h old */
	CU_ASSERT_EQUAL(add(q, 2, 1, now - 30 * SEC), 0);           /* 30 s */
	CU_ASSERT_EQUAL(add(q, 3, 1, now - 2 * MIN), 0);            /* 2 min */
	CU_ASSERT_EQUAL(add(q, 4, 1, now - 2 * 86400 * SEC), 0);    /* 2 days */
	CU_ASSERT_EQUAL(queue_hold(q, 3), 0);
	CU_ASSERT_EQUAL(fail_attempt(q, 4, now), QUEUE_END_DEFERRED);
	CU_ASSERT_EQUAL(queue_pop_due(q, now, &m, &qid), 1);        /* inflight */
	queue_depth(q, now, &d);
	CU_ASSERT_EQUAL(d.state[QUEUE_ACTIVE], 2);
	CU_ASSERT_EQUAL(d.state[QUEUE_DEFERRED], 1);
	CU_ASSERT_EQUAL(d.state[QUEUE_HELD], 1);
	CU_ASSERT_EQUAL(d.inflight, 1);
	CU_ASSERT_EQUAL(d.age[0], 1);      /* under 1 min */
	CU_ASSERT_EQUAL(d.age[1], 1);      /* under 5 min */
	CU_ASSERT_EQUAL(d.age[2], 0);      /* under 1 h */
	CU_ASSERT_EQUAL(d.age[3], 1);      /* under 6 h */
	CU_ASSERT_EQUAL(d.age[4], 0);      /* under 1 day */
	CU_ASSERT_EQUAL(d.age[5], 1);      /* older */
	CU_ASSERT_FATAL(queue_port_init(&p, 201, SOCKET_ID_ANY, 2, SEC) == 0);
	queue_port_publish(&p, q, now);
	CU_ASSERT_EQUAL(queue_port_read(&p, &head, NULL, 0), 0);
	CU_ASSERT_EQUAL(head.n, 2);                                  /* snap_max */
	CU_ASSERT_EQUAL(memcmp(&head.depth, &d, sizeof(d)), 0);     /* every entry */
	queue_port_fini(&p);
	queue_destroy(q);
}

struct churn {
	struct queue *q;
	struct queue_port *p;
	bool stop;            /* atomic */
};

/* The worker side: the queue holds IDs 1..k for k = 1..64 over and over,
 * published after every change. */
static void *churn_main(void *arg)
{
	struct churn *c = arg;
	uint64_t now = T0;

	while (!__atomic_load_n(&c->stop, __ATOMIC_RELAXED)) {
		struct spool_msg *m;

		for (unsigned k = 1; k <= 64; k++) {
			add(c->q, k, 1, now);
			queue_port_publish(c->p, c->q, ++now);
		}
		for (unsigned k = 64; k >= 1; k--) {
			queue_delete(c->q, k, &m);
			queue_port_publish(c->p, c->q, ++now);
		}
	}
	return NULL;
}

/* Every snapshot read is one the worker published: IDs 1..n, n = total. */
static void test_port_concurrent(void)
{
	static struct queue_info e[64];
	struct queue_conf conf;
	struct queue_port p;
	struct queue_snap_head head;
	struct churn c = {0};
	pthread_t t;
	unsigned reads = 0, busy = 0, torn = 0;

	queue_conf_defaults(&conf);
	c.q = make(&conf);
	c.p = &p;
	CU_ASSERT_FATAL(queue_port_init(&p, 205, SOCKET_ID_ANY, 64, SEC) == 0);
	queue_port_publish(&p, c.q, T0);
	CU_ASSERT_FATAL(pthread_create(&t, NULL, churn_main, &c) == 0);
	for (unsigned i = 0; i < 200000; i++) {
		int n = queue_port_read(&p, &head, e, 64);
		uint64_t seen = 0;

		if (n == -EAGAIN) {
			busy++;
			continue;
		}
		reads++;
		if (n < 0 || (uint32_t)n != head.total || head.n != head.total) {
			torn++;
			continue;
		}
		for (int j = 0; j < n; j++)
			seen |= e[j].qid >= 1 && e[j].qid <= (uint64_t)n
				? UINT64_C(1) << (e[j].qid - 1) : 0;
		torn += seen != (n == 64 ? UINT64_MAX : (UINT64_C(1) << n) - 1);
	}
	__atomic_store_n(&c.stop, true, __ATOMIC_RELAXED);
	pthread_join(t, NULL);
	CU_ASSERT_EQUAL(torn, 0);
	CU_ASSERT(reads > busy);
	queue_port_fini(&p);
	queue_destroy(c.q);
}

void test_queue_register(void)
{
	CU_pSuite s = CU_add_suite("queue", NULL, NULL);

	CU_add_test(s, "defaults and schedule checks", test_defaults);
	CU_add_test(s, "retry schedule", test_schedule);
	CU_add_test(s, "expiry at the lifetime", test_expiry);
	CU_add_test(s, "recipients", test_recipients);
	CU_add_test(s, "hold, release, retry, delete", test_hold_release_retry_delete);
	CU_add_test(s, "bounded entries and recipients", test_bounded);
	CU_add_test(s, "room held for messages being received", test_reserve);
	CU_add_test(s, "timer heap order", test_heap_order);
	CU_add_test(s, "queue ID map", test_map);
	CU_add_test(s, "command ring and snapshot", test_port);
	CU_add_test(s, "snapshot read while republished", test_port_concurrent);
	CU_add_test(s, "depth by state and age", test_depth);
}
