/*
 * test_ctl_queue: the message commands through ctl_dispatch() with fake
 * workers — three real queues with their command rings and snapshots, no
 * worker threads.  Each queue ID's command lands on the ring of the
 * worker its ID names; unknown IDs, malformed ID lists and actions the
 * snapshot shows cannot apply are answered as errors, IDs a partial
 * snapshot cannot rule out are posted, a full ring refuses; "queue" lists
 * every worker's snapshot; "accepted" answers from a tracking index.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <json-c/json.h>

#include "control/ctl.h"
#include "dataplane/spool/spool_qid.h"
#include "tests/unit/suites.h"

#define SEC 1000000ull
#define T0  (1700000000ull * SEC)
#define NW  3

static struct {
	struct conf conf;
	struct ctl_ctx ctx;
	struct queue *q[NW];
	struct queue_port port[NW];
	uint64_t qid[NW][2];    /* two messages per worker */
	struct track_log *track;
	struct track_ring ring;
} T;

static int suite_init(void)
{
	struct queue_conf qc;

	memset(&T, 0, sizeof(T));
	queue_conf_defaults(&qc);
	T.ctx.conf = &T.conf;
	T.ctx.nb_workers = NW;
	for (unsigned w = 0; w < NW; w++) {
		struct spool_qid_gen g;

		if (queue_create(&qc, &T.q[w]) < 0 ||
		    queue_port_init(&T.port[w], 210 + w, SOCKET_ID_ANY, 16, SEC) < 0)
			return -1;
		T.ctx.worker[w].lcore = w + 1;
		T.ctx.worker[w].queue = &T.port[w];
		spool_qid_init(&g, (uint8_t)w);
		for (unsigned i = 0; i < 2; i++) {
			struct queue_add a = {.msg = NULL, .arrival_us = T0, .size = 100,
					      .nrcpt = 1, .sender = "a@example.com"};

			a.qid = T.qid[w][i] = spool_qid_next(&g, T0);
			if (queue_add(T.q[w], &a, T0) < 0)
				return -1;
		}
		queue_port_publish(&T.port[w], T.q[w], T0);
	}
	return 0;
}

static int suite_cleanup(void)
{
	for (unsigned w = 0; w < NW; w++) {
		queue_port_fini(&T.port[w]);
		queue_destroy(T.q[w]);
	}
	track_log_close(T.track);
	return 0;
}

static struct json_object *ask(const char *text)
{
	struct json_object *req = json_tokener_parse(text);
	struct json_object *resp;

	CU_ASSERT_FATAL(req != NULL);
	resp = ctl_dispatch(&T.ctx, req);
	json_object_put(req);
	CU_ASSERT_FATAL(resp != NULL);
	return resp;
}

static struct json_object *jget(struct json_object *obj, const char *key)
{
	struct json_object *v = NULL;

	json_object_object_get_ex(obj, key, &v);
	return v;
}

static bool ok(struct json_object *resp)
{
	return json_object_get_boolean(jget(resp, "ok"));
}

static const char *error_of(struct json_object *resp)
{
	return json_object_get_string(jget(resp, "error"));
}

static void id_text(uint64_t qid, char *buf)
{
	spool_qid_format(qid, buf);
}

static unsigned ring_count(unsigned w)
{
	return rte_ring_count(T.port[w].cmd);
}

/* Apply what worker W was sent, as its loop would. */
static void run_worker(unsigned w, uint64_t now)
{
	queue_port_poll(&T.port[w], T.q[w], now, NULL, NULL);
}

static void test_routing(void)
{
	char a[20], b[20], req[160];
	struct json_object *resp, *posted;
	struct queue_info info;

	id_text(T.qid[1][0], a);
	id_text(T.qid[2][1], b);
	snprintf(req, sizeof(req), "{\"cmd\":\"queue-hold\",\"ids\":[\"%s\",\"%s\"]}", a, b);
	resp = ask(req);
	CU_ASSERT(ok(resp));
	posted = jget(jget(resp, "result"), "posted");
	CU_ASSERT_EQUAL(json_object_array_length(posted), 2);
	CU_ASSERT_EQUAL(ring_count(0), 0);
	CU_ASSERT_EQUAL(ring_count(1), 1);
	CU_ASSERT_EQUAL(ring_count(2), 1);
	json_object_put(resp);
	for (unsigned w = 0; w < NW; w++)
		run_worker(w, T0 + 1);
	CU_ASSERT_EQUAL(ring_count(1), 0);
	CU_ASSERT_EQUAL(queue_get(T.q[1], T.qid[1][0], &info), 0);
	CU_ASSERT_EQUAL(info.state, QUEUE_HELD);
	CU_ASSERT_EQUAL(queue_get(T.q[2], T.qid[2][1], &info), 0);
	CU_ASSERT_EQUAL(info.state, QUEUE_HELD);
	CU_ASSERT_EQUAL(queue_get(T.q[2], T.qid[2][0], &info), 0);
	CU_ASSERT_EQUAL(info.state, QUEUE_ACTIVE);

	/* lower-case IDs are the same IDs; release what was held */
	for (char *p = a; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	snprintf(req, sizeof(req), "{\"cmd\":\"queue-release\",\"ids\":[\"%s\"]}", a);
	resp = ask(req);
	CU_ASSERT(ok(resp));
	CU_ASSERT_EQUAL(ring_count(1), 1);
	json_object_put(resp);
	run_worker(1, T0 + 2);
	CU_ASSERT_EQUAL(queue_get(T.q[1], T.qid[1][0], &info), 0);
	CU_ASSERT_EQUAL(info.state, QUEUE_ACTIVE);
}

static void test_refused(void)
{
	char a[20], b[20], req[160];
	struct json_object *resp, *res, *refused;

	id_text(T.qid[0][0], a);      /* active: neither held nor deferred */
	id_text(T.qid[2][1], b);      /* held by test_routing */
	snprintf(req, sizeof(req), "{\"cmd\":\"queue-retry\",\"ids\":[\"%s\",\"%s\"]}", a, b);
	resp = ask(req);
	CU_ASSERT(ok(resp));
	res = jget(resp, "result");
	CU_ASSERT_EQUAL(json_object_array_length(jget(res, "posted")), 0);
	refused = jget(res, "refused");
	CU_ASSERT_EQUAL(json_object_array_length(refused), 2);
	CU_ASSERT_STRING_EQUAL(json_object_get_string(jget(
		json_object_array_get_idx(refused, 0), "reason")), "not deferred");
	CU_ASSERT_STRING_EQUAL(json_object_get_string(jget(
		json_object_array_get_idx(refused, 1), "reason")), "held (release it)");
	CU_ASSERT_EQUAL(ring_count(0) + ring_count(2), 0);
	json_object_put(resp);
}

static void test_unknown_ids(void)
{
	struct spool_qid_gen g;
	char a[20], b[20], req[160];
	struct json_object *resp;
	static const char *const bad[] = {
		"{\"cmd\":\"queue-delete\"}",
		"{\"cmd\":\"queue-delete\",\"ids\":[]}",
		"{\"cmd\":\"queue-delete\",\"ids\":\"0692A1B3C0000103\"}",
		"{\"cmd\":\"queue-delete\",\"ids\":[\"0692A1B3C000010\"]}",
		"{\"cmd\":\"queue-delete\",\"ids\":[\"0692A1B3C00001031\"]}",
		"{\"cmd\":\"queue-delete\",\"ids\":[\"0692A1B3C000010G\"]}",
		"{\"cmd\":\"queue-delete\",\"ids\":[12345]}",
		"{\"cmd\":\"queue-delete\",\"ids\":[\"0692A1B3C0000103\",\"0692a1b3c0000103\"]}",
	};

	spool_qid_init(&g, 7);                 /* no worker 7 */
	id_text(spool_qid_next(&g, T0), a);
	spool_qid_init(&g, 1);                 /* worker 1 has no such message */
	id_text(spool_qid_next(&g, T0 + 99 * SEC), b);
	snprintf(req, sizeof(req), "{\"cmd\":\"queue-delete\",\"ids\":[\"%s\"]}", a);
	resp = ask(req);
	CU_ASSERT(!ok(resp));
	CU_ASSERT_NSTRING_EQUAL(error_of(resp), "queue-delete: unknown queue ID ", 31);
	json_object_put(resp);
	id_text(T.qid[0][1], a);
	snprintf(req, sizeof(req), "{\"cmd\":\"queue-delete\",\"ids\":[\"%s\",\"%s\"]}", a, b);
	resp = ask(req);
	CU_ASSERT(!ok(resp));
	CU_ASSERT(strstr(error_of(resp), b) != NULL);
	json_object_put(resp);
	CU_ASSERT_EQUAL(ring_count(0) + ring_count(1) + ring_count(2), 0); /* nothing posted */
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		resp = ask(bad[i]);
		CU_ASSERT(!ok(resp));
		CU_ASSERT_NSTRING_EQUAL(error_of(resp), "queue-delete: \"ids\"", 19);
		json_object_put(resp);
	}
}

static void test_delete(void)
{
	char a[20], req[160];
	struct json_object *resp;
	struct queue_info info;

	id_text(T.qid[0][1], a);
	snprintf(req, sizeof(req), "{\"cmd\":\"queue-delete\",\"ids\":[\"%s\"]}", a);
	resp = ask(req);
	CU_ASSERT(ok(resp));
	json_object_put(resp);
	run_worker(0, T0 + 3);
	CU_ASSERT_EQUAL(queue_get(T.q[0], T.qid[0][1], &info), -ENOENT);
	resp = ask(req);                       /* the new snapshot knows it is gone */
	CU_ASSERT(!ok(resp));
	json_object_put(resp);
}

static void test_queue_listing(void)
{
	struct json_object *resp = ask("{\"cmd\":\"queue\"}");
	struct json_object *res = jget(resp, "result"), *msgs, *workers;
	unsigned held = 0;

	CU_ASSERT_FATAL(ok(resp));
	msgs = jget(res, "messages");
	workers = jget(res, "workers");
	CU_ASSERT_EQUAL(json_object_array_length(workers), NW);
	CU_ASSERT_EQUAL(json_object_array_length(msgs), 2 * NW - 1); /* one deleted */
	for (size_t i = 0; i < json_object_array_length(msgs); i++) {
		struct json_object *m = json_object_array_get_idx(msgs, i);

		held += strcmp(json_object_get_string(jget(m, "state")), "held") == 0;
		CU_ASSERT_STRING_EQUAL(json_object_get_string(jget(m, "from")), "a@example.com");
		CU_ASSERT(jget(m, "attempts") != NULL && jget(m, "next_attempt") != NULL &&
			  jget(m, "reply") != NULL);
	}
	CU_ASSERT_EQUAL(held, 1);
	CU_ASSERT_EQUAL(json_object_get_int(jget(json_object_array_get_idx(workers, 0),
						 "queued")), 1);
	json_object_put(resp);
}

static void test_accepted(void)
{
	struct track_log_conf c;
	struct track_event e;
	struct json_object *resp, *msgs, *m, *a;
	char req[200];

	resp = ask("{\"cmd\":\"accepted\"}");
	CU_ASSERT(!ok(resp));
	CU_ASSERT_STRING_EQUAL(error_of(resp), "accepted: message tracking is off");
	json_object_put(resp);

	track_log_conf_defaults(&c, NULL);
	c.text = NULL;
	CU_ASSERT_FATAL(track_log_open(&c, &T.track) == 0);
	T.ctx.track = T.track;
	T.ring.dropped = 4;        /* as if worker 1 had lost four events */
	T.ctx.worker[1].track = &T.ring;
	for (unsigned w = 0; w < NW; w++) {
		track_event_init(&e, TRACK_ACCEPTED, T0 + w * SEC, T.qid[w][0]);
		e.client_family = 4;
		e.client_addr[0] = 198, e.client_addr[1] = 18, e.client_addr[3] = 2;
		e.nrcpt = 1;
		e.size = 100 + w;
		snprintf(e.sender, sizeof(e.sender), "sender%u@example.com", w);
		snprintf(e.rcpt[0], sizeof(e.rcpt[0]), "rcpt%u@example.net", w);
		track_log_event(T.track, &e);
	}
	track_event_init(&e, TRACK_RELAYED, T0 + 5 * SEC, T.qid[0][0]);
	e.nrcpt = 1;
	snprintf(e.relay, sizeof(e.relay), "sink[198.18.1.2]:25");
	snprintf(e.text, sizeof(e.text), "250 2.0.0 Ok");
	track_log_event(T.track, &e);
	resp = ask("{\"cmd\":\"accepted\"}");
	CU_ASSERT_FATAL(ok(resp));
	msgs = jget(jget(resp, "result"), "messages");
	CU_ASSERT_EQUAL(json_object_array_length(msgs), NW);
	m = json_object_array_get_idx(msgs, 0);
	CU_ASSERT_STRING_EQUAL(json_object_get_string(jget(m, "client")), "198.18.0.2");
	CU_ASSERT_STRING_EQUAL(json_object_get_string(jget(m, "from")), "sender0@example.com");
	CU_ASSERT_STRING_EQUAL(json_object_get_string(jget(m, "status")), "relayed");
	CU_ASSERT_EQUAL(json_object_get_int(jget(m, "size")), 100);
	CU_ASSERT_EQUAL(json_object_get_int(jget(m, "attempts_total")), 1);
	CU_ASSERT_EQUAL_FATAL(json_object_array_length(jget(m, "attempts")), 1);
	a = json_object_array_get_idx(jget(m, "attempts"), 0);
	CU_ASSERT_EQUAL(json_object_get_double(jget(a, "time")), 1700000005.0);
	CU_ASSERT_STRING_EQUAL(json_object_get_string(jget(a, "status")), "relayed");
	CU_ASSERT_EQUAL(json_object_get_int(jget(a, "nrcpt")), 1);
	CU_ASSERT_STRING_EQUAL(json_object_get_string(jget(a, "relay")), "sink[198.18.1.2]:25");
	CU_ASSERT_STRING_EQUAL(json_object_get_string(jget(a, "reply")), "250 2.0.0 Ok");
	m = json_object_array_get_idx(msgs, 1);
	CU_ASSERT_EQUAL(json_object_array_length(jget(m, "attempts")), 0);
	CU_ASSERT_EQUAL(json_object_get_int(jget(jget(resp, "result"), "events_dropped")), 4);
	json_object_put(resp);

	snprintf(req, sizeof(req), "{\"cmd\":\"accepted\",\"since\":%llu,\"to\":\"rcpt2\"}",
		 (unsigned long long)(T0 / SEC + 1));
	resp = ask(req);
	CU_ASSERT_FATAL(ok(resp));
	msgs = jget(jget(resp, "result"), "messages");
	CU_ASSERT_EQUAL(json_object_array_length(msgs), 1);
	json_object_put(resp);
	resp = ask("{\"cmd\":\"accepted\",\"from\":\"sender1\",\"limit\":5}");
	CU_ASSERT_EQUAL(json_object_array_length(jget(jget(resp, "result"), "messages")), 1);
	json_object_put(resp);
	resp = ask("{\"cmd\":\"accepted\",\"limit\":0}");
	CU_ASSERT(!ok(resp));
	json_object_put(resp);
	resp = ask("{\"cmd\":\"accepted\",\"id\":\"xyz\"}");
	CU_ASSERT(!ok(resp));
	json_object_put(resp);
	resp = ask("{\"cmd\":\"accepted\",\"since\":\"yesterday\"}");
	CU_ASSERT(!ok(resp));
	CU_ASSERT_STRING_EQUAL(error_of(resp), "accepted: \"since\" must be an integer");
	json_object_put(resp);
}

/* A partial snapshot cannot prove an ID unknown: it is posted, and the
 * worker's answer (in the next snapshot) counts it as failed. */
static void test_partial_snapshot(void)
{
	struct spool_qid_gen g;
	struct queue_snap_head head;
	struct queue_info e;
	struct json_object *resp;
	char id[20], req[160];

	spool_qid_init(&g, 2);
	spool_qid_seen(&g, T.qid[2][1]);
	for (unsigned i = 0; i < 20; i++) {
		struct queue_add a = {.qid = spool_qid_next(&g, T0), .arrival_us = T0,
				      .nrcpt = 1, .sender = "b@example.com"};

		CU_ASSERT_EQUAL(queue_add(T.q[2], &a, T0), 0);
	}
	queue_port_publish(&T.port[2], T.q[2], T0 + 10);
	id_text(spool_qid_next(&g, T0 + 50 * SEC), id);     /* never queued */
	snprintf(req, sizeof(req), "{\"cmd\":\"queue-hold\",\"ids\":[\"%s\"]}", id);
	resp = ask(req);
	CU_ASSERT(ok(resp));
	CU_ASSERT_EQUAL(json_object_array_length(jget(jget(resp, "result"), "posted")), 1);
	json_object_put(resp);
	run_worker(2, T0 + 11);
	CU_ASSERT_EQUAL(queue_port_find(&T.port[2], 1, &head, &e), -ENOENT);
	CU_ASSERT(head.n < head.total);
	CU_ASSERT_EQUAL(head.cmds_failed, 1);
}

/* A worker whose command ring is full: the ID is refused, not lost. */
static void test_ring_full(void)
{
	struct json_object *resp, *refused;
	char id[20], req[160];
	unsigned posted = 0;

	while (queue_port_post(&T.port[0], QUEUE_OP_HOLD, T.qid[0][0]) == 0)
		posted++;
	CU_ASSERT_EQUAL(posted, 1023);
	id_text(T.qid[0][0], id);
	snprintf(req, sizeof(req), "{\"cmd\":\"queue-hold\",\"ids\":[\"%s\"]}", id);
	resp = ask(req);
	CU_ASSERT(ok(resp));
	refused = jget(jget(resp, "result"), "refused");
	CU_ASSERT_EQUAL(json_object_array_length(refused), 1);
	CU_ASSERT_STRING_EQUAL(json_object_get_string(jget(
		json_object_array_get_idx(refused, 0), "reason")),
		"worker busy (command ring full), try again");
	json_object_put(resp);
	while (ring_count(0) > 0)
		run_worker(0, T0 + 20);
}

void test_ctl_queue_register(void)
{
	CU_pSuite s = CU_add_suite("ctl_queue", suite_init, suite_cleanup);

	CU_add_test(s, "commands go to the worker the ID names", test_routing);
	CU_add_test(s, "actions the snapshot rules out", test_refused);
	CU_add_test(s, "unknown and malformed IDs", test_unknown_ids);
	CU_add_test(s, "delete", test_delete);
	CU_add_test(s, "queue listing", test_queue_listing);
	CU_add_test(s, "accepted and its filters", test_accepted);
	CU_add_test(s, "a partial snapshot", test_partial_snapshot);
	CU_add_test(s, "a full command ring", test_ring_full);
}
