/*
 * test_track: message tracking — the worker ring's drop counting, the
 * Postfix-like lines of every event type (exact strings), the JSON lines
 * of the tracking log and its rotation by size in a temporary directory,
 * and the in-memory index behind "accepted" with each of its filters and
 * its bounded history of delivery attempts.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <json-c/json.h>

#include "control/track_log.h"
#include "dataplane/track.h"
#include "tests/unit/suites.h"

#define SEC 1000000ull
#define T0  (1700000000ull * SEC)
#define QID UINT64_C(0x0692A1B3C0000103)

#define S(lit) ((struct spool_str){.p = (lit), .len = sizeof(lit) - 1})

static void accepted_event(struct track_event *e, uint64_t qid, uint64_t t,
			   const char *from, const char *to)
{
	struct spool_rcpt rcpt[1] = {{.addr = {.p = to, .len = (uint16_t)strlen(to)}}};
	struct spool_env env = {
		.client_family = 4, .client_addr = {192, 0, 2, 10},
		.client_port = 40000, .tls_version = S("TLSv1.3"),
		.sender = {.p = from, .len = (uint16_t)strlen(from)},
		.nrcpt = 1, .rcpt = rcpt,
	};

	track_event_init(e, TRACK_ACCEPTED, t, qid);
	track_event_env(e, &env);
	e->size = 1234;
}

static void test_ring_drops(void)
{
	struct track_ring t;
	struct track_event e, out[8];

	CU_ASSERT_FATAL(track_ring_init(&t, 201, SOCKET_ID_ANY, 4) == 0);
	track_event_init(&e, TRACK_HELD, T0, QID);
	for (int i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(track_put(&t, &e), 0);   /* 4 slots hold 3 */
	CU_ASSERT_EQUAL(track_put(&t, &e), -ENOBUFS);
	CU_ASSERT_EQUAL(track_put(&t, &e), -ENOBUFS);
	CU_ASSERT_EQUAL(t.put, 3);
	CU_ASSERT_EQUAL(t.dropped, 2);
	CU_ASSERT_EQUAL(track_take(&t, out, 8), 3);
	CU_ASSERT_EQUAL(out[2].qid, QID);
	CU_ASSERT_EQUAL(track_put(&t, &e), 0);
	CU_ASSERT_EQUAL(t.dropped, 2);
	CU_ASSERT_EQUAL(track_ring_init(&t, 201, SOCKET_ID_ANY, 4), -EEXIST);
	CU_ASSERT_EQUAL(track_ring_init(&t, 202, SOCKET_ID_ANY, 6), -EINVAL);
	track_ring_fini(&t);
}

static void expect_format(const struct track_event *e, const char *want)
{
	char buf[TRACK_LINE_MAX];
	size_t n = track_format(e, buf, sizeof(buf));

	CU_ASSERT_STRING_EQUAL(buf, want);
	CU_ASSERT_EQUAL(n, strlen(want));
}

static void test_lines(void)
{
	struct track_event e;
	char small[24];

	accepted_event(&e, QID, T0, "alice@example.com", "bob@example.net");
	expect_format(&e, "0692A1B3C0000103: client=unknown[192.0.2.10], tls=TLSv1.3\n"
		      "0692A1B3C0000103: from=<alice@example.com>, size=1234, nrcpt=1\n");
	e.tls[0] = '\0';
	e.sender[0] = '\0';
	e.client_family = 6;
	memset(e.client_addr, 0, 16);
	e.client_addr[0] = 0x20, e.client_addr[1] = 0x01;
	e.client_addr[2] = 0x0d, e.client_addr[3] = 0xb8, e.client_addr[15] = 1;
	expect_format(&e, "0692A1B3C0000103: client=unknown[2001:db8::1]\n"
		      "0692A1B3C0000103: from=<>, size=1234, nrcpt=1\n");

	track_event_init(&e, TRACK_RELAYED, T0, QID);
	e.nrcpt = 2;
	snprintf(e.rcpt[0], sizeof(e.rcpt[0]), "bob@example.net");
	snprintf(e.rcpt[1], sizeof(e.rcpt[1]), "carol@example.net");
	snprintf(e.relay, sizeof(e.relay), "smarthost.example[198.18.1.2]:25");
	snprintf(e.text, sizeof(e.text), "250 2.0.0 Ok: queued as 4Xyz");
	expect_format(&e,
		"0692A1B3C0000103: to=<bob@example.net>, relay=smarthost.example[198.18.1.2]:25, "
		"status=sent (250 2.0.0 Ok: queued as 4Xyz)\n"
		"0692A1B3C0000103: to=<carol@example.net>, relay=smarthost.example[198.18.1.2]:25, "
		"status=sent (250 2.0.0 Ok: queued as 4Xyz)\n");

	track_event_init(&e, TRACK_DEFERRED, T0, QID);
	e.nrcpt = 6;
	for (int i = 0; i < TRACK_RCPTS; i++)
		snprintf(e.rcpt[i], sizeof(e.rcpt[i]), "r%d@x", i);
	snprintf(e.text, sizeof(e.text), "connect timed out");
	expect_format(&e,
		"0692A1B3C0000103: to=<r0@x>, relay=none, status=deferred (connect timed out)\n"
		"0692A1B3C0000103: to=<r1@x>, relay=none, status=deferred (connect timed out)\n"
		"0692A1B3C0000103: to=<r2@x>, relay=none, status=deferred (connect timed out)\n"
		"0692A1B3C0000103: to=<r3@x>, relay=none, status=deferred (connect timed out)\n"
		"0692A1B3C0000103: and 2 more recipients, relay=none, status=deferred (connect timed out)\n");

	track_event_init(&e, TRACK_BOUNCED, T0, QID);
	e.nrcpt = 1;
	snprintf(e.rcpt[0], sizeof(e.rcpt[0]), "nobody@example.net");
	snprintf(e.relay, sizeof(e.relay), "mx");
	snprintf(e.text, sizeof(e.text), "550 5.1.1 no such user");
	expect_format(&e, "0692A1B3C0000103: to=<nobody@example.net>, relay=mx, "
		      "status=bounced (550 5.1.1 no such user)\n");

	track_event_init(&e, TRACK_EXPIRED, T0, QID);
	snprintf(e.sender, sizeof(e.sender), "alice@example.com");
	snprintf(e.text, sizeof(e.text), "451 4.4.1 no answer");
	expect_format(&e, "0692A1B3C0000103: from=<alice@example.com>, status=expired, "
		      "returned to sender (451 4.4.1 no answer)\n");
	track_event_init(&e, TRACK_DELETED, T0, QID);
	expect_format(&e, "0692A1B3C0000103: removed\n");
	track_event_init(&e, TRACK_HELD, T0, QID);
	expect_format(&e, "0692A1B3C0000103: placed on hold\n");
	track_event_init(&e, TRACK_RELEASED, T0, QID);
	expect_format(&e, "0692A1B3C0000103: released from hold\n");

	/* truncation keeps a terminated string */
	CU_ASSERT_EQUAL(track_format(&e, small, sizeof(small)), sizeof(small) - 1);
	CU_ASSERT_STRING_EQUAL(small, "0692A1B3C0000103: relea");
	CU_ASSERT_STRING_EQUAL(track_type_name(TRACK_EXPIRED), "expired");
	CU_ASSERT_STRING_EQUAL(track_type_name(99), "unknown");
}

static char dir[64];

static void path_in_dir(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

static long file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static int suite_init(void)
{
	snprintf(dir, sizeof(dir), "/tmp/sluice-track-XXXXXX");
	return mkdtemp(dir) != NULL ? 0 : -1;
}

static int suite_cleanup(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_json_lines(void)
{
	struct track_log_conf c;
	struct track_log *l = NULL;
	struct track_event e;
	struct track_ring ring, *rings[2] = {NULL, &ring};
	char path[128], line[4096];
	struct json_object *obj, *v;
	FILE *f, *text = tmpfile();

	CU_ASSERT_FATAL(text != NULL);
	path_in_dir(path, sizeof(path), "json.log");
	track_log_conf_defaults(&c, path);
	c.text = text;
	CU_ASSERT_FATAL(track_log_open(&c, &l) == 0);
	CU_ASSERT_FATAL(track_ring_init(&ring, 203, SOCKET_ID_ANY, 16) == 0);
	accepted_event(&e, QID, T0 + 500000, "alice@example.com", "bob@example.net");
	track_put(&ring, &e);
	track_event_init(&e, TRACK_RELAYED, T0 + 2 * SEC, QID);
	e.nrcpt = 1;
	snprintf(e.rcpt[0], sizeof(e.rcpt[0]), "bob@example.net");
	snprintf(e.relay, sizeof(e.relay), "smarthost");
	snprintf(e.text, sizeof(e.text), "250 2.0.0 \"queued\"");
	track_put(&ring, &e);
	CU_ASSERT_EQUAL(track_log_poll(l, rings, 2), 2);
	CU_ASSERT_EQUAL(track_log_poll(l, rings, 2), 0);
	CU_ASSERT_EQUAL(track_log_stats(l)->lines, 2);
	track_log_close(l);
	track_ring_fini(&ring);

	/* the Postfix-like lines went to the text stream, flushed */
	rewind(text);
	CU_ASSERT_FATAL(fgets(line, sizeof(line), text) != NULL);
	CU_ASSERT_STRING_EQUAL(line, "0692A1B3C0000103: client=unknown[192.0.2.10], tls=TLSv1.3\n");
	CU_ASSERT_FATAL(fgets(line, sizeof(line), text) != NULL);
	CU_ASSERT_FATAL(fgets(line, sizeof(line), text) != NULL);
	CU_ASSERT_STRING_EQUAL(line, "0692A1B3C0000103: to=<bob@example.net>, relay=smarthost, "
			       "status=sent (250 2.0.0 \"queued\")\n");
	fclose(text);

	f = fopen(path, "r");
	CU_ASSERT_FATAL(f != NULL);
	CU_ASSERT_FATAL(fgets(line, sizeof(line), f) != NULL);
	CU_ASSERT_STRING_EQUAL(line,
		"{\"time\":1700000000.5,\"event\":\"accepted\",\"id\":\"0692A1B3C0000103\","
		"\"client\":\"192.0.2.10\",\"client_port\":40000,\"from\":\"alice@example.com\","
		"\"nrcpt\":1,\"to\":[\"bob@example.net\"],\"size\":1234,\"tls\":\"TLSv1.3\","
		"\"relay\":\"\",\"text\":\"\"}\n");
	CU_ASSERT_FATAL(fgets(line, sizeof(line), f) != NULL);
	obj = json_tokener_parse(line);
	CU_ASSERT_FATAL(obj != NULL);
	CU_ASSERT(json_object_object_get_ex(obj, "event", &v));
	CU_ASSERT_STRING_EQUAL(json_object_get_string(v), "relayed");
	CU_ASSERT(json_object_object_get_ex(obj, "text", &v));
	CU_ASSERT_STRING_EQUAL(json_object_get_string(v), "250 2.0.0 \"queued\"");
	json_object_put(obj);
	CU_ASSERT(fgets(line, sizeof(line), f) == NULL);
	fclose(f);
}

static void test_rotation(void)
{
	struct track_log_conf c;
	struct track_log *l = NULL;
	struct track_event e;
	char path[128], rot[144];
	long one;

	path_in_dir(path, sizeof(path), "rot.log");
	track_log_conf_defaults(&c, path);
	c.text = NULL;
	c.max_bytes = 1000;
	c.keep = 2;
	CU_ASSERT_FATAL(track_log_open(&c, &l) == 0);
	track_event_init(&e, TRACK_HELD, T0, QID);
	track_log_event(l, &e);
	track_log_close(l);
	one = file_size(path);                   /* one line, newline included */
	CU_ASSERT_FATAL(one > 100 && one < 500);

	/* reopening appends; 20 more lines rotate every 1000 / one lines */
	CU_ASSERT_FATAL(track_log_open(&c, &l) == 0);
	for (int i = 0; i < 20; i++)
		track_log_event(l, &e);
	track_log_close(l);
	CU_ASSERT(file_size(path) <= 1000);
	snprintf(rot, sizeof(rot), "%s.1", path);
	CU_ASSERT_EQUAL(file_size(rot), (1000 / one) * one);
	snprintf(rot, sizeof(rot), "%s.2", path);
	CU_ASSERT_EQUAL(file_size(rot), (1000 / one) * one);
	snprintf(rot, sizeof(rot), "%s.3", path);
	CU_ASSERT_EQUAL(file_size(rot), -1);
}

static struct track_log *index_fixture(uint32_t index_max)
{
	struct track_log_conf c;
	struct track_log *l = NULL;
	struct track_event e;

	track_log_conf_defaults(&c, NULL);
	c.text = NULL;
	c.index_max = index_max;
	CU_ASSERT_FATAL(track_log_open(&c, &l) == 0);
	accepted_event(&e, 0x101, T0 + 10 * SEC, "alice@example.com", "bob@example.net");
	track_log_event(l, &e);
	accepted_event(&e, 0x201, T0 + 20 * SEC, "Carol@Example.org", "dave@example.net");
	track_log_event(l, &e);
	accepted_event(&e, 0x301, T0 + 30 * SEC, "alice@example.com", "erin@example.org");
	track_log_event(l, &e);
	track_event_init(&e, TRACK_DEFERRED, T0 + 40 * SEC, 0x101);
	snprintf(e.text, sizeof(e.text), "451 4.7.1 greylisted");
	track_log_event(l, &e);
	return l;
}

static uint32_t query(const struct track_log *l, const struct track_query *q,
		      const struct track_msg **out)
{
	return track_log_query(l, q, out, 8);
}

static void test_index(void)
{
	const struct track_msg *m[8];
	struct track_log *l = index_fixture(100);
	struct track_query q = {.limit = 100};

	CU_ASSERT_EQUAL(query(l, &q, m), 3);
	CU_ASSERT_EQUAL(m[0]->qid, 0x101);                  /* oldest first */
	CU_ASSERT_EQUAL(m[0]->status, TRACK_DEFERRED);
	CU_ASSERT_STRING_EQUAL(m[0]->reply, "451 4.7.1 greylisted");
	CU_ASSERT_EQUAL(m[0]->time_us, T0 + 10 * SEC);
	CU_ASSERT_EQUAL(m[0]->updated_us, T0 + 40 * SEC);
	CU_ASSERT_STRING_EQUAL(m[0]->sender, "alice@example.com");
	CU_ASSERT_STRING_EQUAL(m[0]->tls, "TLSv1.3");
	CU_ASSERT_EQUAL(m[0]->size, 1234);
	CU_ASSERT_EQUAL(m[2]->qid, 0x301);
	CU_ASSERT_EQUAL(m[2]->status, TRACK_ACCEPTED);

	q.since_us = T0 + 20 * SEC;
	CU_ASSERT_EQUAL(query(l, &q, m), 2);
	CU_ASSERT_EQUAL(m[0]->qid, 0x201);
	q.since_us = 0;
	q.from = "carol@EXAMPLE";                            /* any case, any part */
	CU_ASSERT_EQUAL(query(l, &q, m), 1);
	CU_ASSERT_EQUAL(m[0]->qid, 0x201);
	q.from = "alice";
	q.to = "example.org";
	CU_ASSERT_EQUAL(query(l, &q, m), 1);
	CU_ASSERT_EQUAL(m[0]->qid, 0x301);
	q.from = q.to = NULL;
	q.qid = 0x201;
	CU_ASSERT_EQUAL(query(l, &q, m), 1);
	q.qid = 0x999;
	CU_ASSERT_EQUAL(query(l, &q, m), 0);
	q.qid = 0;
	q.limit = 2;                                         /* the newest two */
	CU_ASSERT_EQUAL(query(l, &q, m), 2);
	CU_ASSERT_EQUAL(m[0]->qid, 0x201);
	CU_ASSERT_EQUAL(m[1]->qid, 0x301);
	track_log_close(l);

	/* bounded: the oldest message makes room */
	l = index_fixture(2);
	q.limit = 100;
	CU_ASSERT_EQUAL(query(l, &q, m), 2);
	CU_ASSERT_EQUAL(m[0]->qid, 0x301);
	CU_ASSERT_EQUAL(m[1]->qid, 0x101);                   /* seen again: a new entry */
	CU_ASSERT_EQUAL(m[1]->sender[0], '\0');
	CU_ASSERT_EQUAL(track_log_stats(l)->evicted, 2);
	track_log_close(l);
}

/* A delivery outcome of message 0x101 for recipient TO at T0 + SECS. */
static void outcome(struct track_log *l, enum track_type type, uint64_t secs,
		    const char *to, const char *relay, const char *reply)
{
	struct track_event e;

	track_event_init(&e, type, T0 + secs * SEC, 0x101);
	e.nrcpt = to != NULL;
	if (to != NULL)
		snprintf(e.rcpt[0], sizeof(e.rcpt[0]), "%s", to);
	snprintf(e.relay, sizeof(e.relay), "%s", relay);
	snprintf(e.text, sizeof(e.text), "%s", reply);
	track_log_event(l, &e);
}

static void test_attempts(void)
{
	const struct track_msg *m[8];
	struct track_log *l = index_fixture(100);   /* 0x101 deferred at +40 */
	struct track_query q = {.limit = 100, .qid = 0x101};
	const struct track_attempt *a;
	char longer[300];

	/* two recipients: each attempt's events merge into one */
	outcome(l, TRACK_DEFERRED, 100, "bob@example.net", "mx1[192.0.2.1]:25", "421 4.3.2 busy");
	outcome(l, TRACK_DEFERRED, 100, "eve@example.net", "mx1[192.0.2.1]:25", "421 4.3.2 busy");
	outcome(l, TRACK_RELAYED, 200, "bob@example.net", "mx2[192.0.2.2]:587", "250 2.0.0 Ok: queued as A1");
	outcome(l, TRACK_RELAYED, 200, "eve@example.net", "mx2[192.0.2.2]:587", "250 2.0.0 Ok: queued as A1");
	outcome(l, TRACK_HELD, 250, NULL, "", "");            /* not an attempt */
	CU_ASSERT_EQUAL_FATAL(query(l, &q, m), 1);
	CU_ASSERT_EQUAL(m[0]->nattempts, 3);
	CU_ASSERT_EQUAL_FATAL(track_msg_kept(m[0]), 3);
	a = m[0]->attempt;
	CU_ASSERT_EQUAL(a[0].type, TRACK_DEFERRED);            /* the fixture's */
	CU_ASSERT_EQUAL(a[0].time_us, T0 + 40 * SEC);
	CU_ASSERT_STRING_EQUAL(a[0].reply, "451 4.7.1 greylisted");
	CU_ASSERT_EQUAL(a[1].type, TRACK_DEFERRED);
	CU_ASSERT_EQUAL(a[1].time_us, T0 + 100 * SEC);
	CU_ASSERT_EQUAL(a[1].nrcpt, 2);
	CU_ASSERT_STRING_EQUAL(a[1].relay, "mx1[192.0.2.1]:25");
	CU_ASSERT_STRING_EQUAL(a[1].reply, "421 4.3.2 busy");
	CU_ASSERT_EQUAL(a[2].type, TRACK_RELAYED);
	CU_ASSERT_EQUAL(a[2].nrcpt, 2);
	CU_ASSERT_STRING_EQUAL(a[2].relay, "mx2[192.0.2.2]:587");
	CU_ASSERT_STRING_EQUAL(a[2].reply, "250 2.0.0 Ok: queued as A1");
	CU_ASSERT_EQUAL(m[0]->status, TRACK_HELD);

	/* the cap keeps the newest; a long reply is cut to fit */
	memset(longer, 'x', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	memcpy(longer, "451 ", 4);
	outcome(l, TRACK_DEFERRED, 300, "bob@example.net", "mx1[192.0.2.1]:25", "451 try later");
	outcome(l, TRACK_BOUNCED, 400, "bob@example.net", "mx1[192.0.2.1]:25", "550 5.1.1 unknown");
	outcome(l, TRACK_EXPIRED, 500, NULL, "", longer);
	CU_ASSERT_EQUAL_FATAL(query(l, &q, m), 1);
	CU_ASSERT_EQUAL(m[0]->nattempts, 6);
	CU_ASSERT_EQUAL_FATAL(track_msg_kept(m[0]), TRACK_ATTEMPTS);
	a = m[0]->attempt;
	CU_ASSERT_EQUAL(a[0].type, TRACK_RELAYED);
	CU_ASSERT_EQUAL(a[1].time_us, T0 + 300 * SEC);
	CU_ASSERT_STRING_EQUAL(a[1].reply, "451 try later");
	CU_ASSERT_EQUAL(a[2].type, TRACK_BOUNCED);
	CU_ASSERT_EQUAL(a[3].type, TRACK_EXPIRED);
	CU_ASSERT_EQUAL(a[3].nrcpt, 0);
	CU_ASSERT_STRING_EQUAL(a[3].relay, "");
	CU_ASSERT_EQUAL(strlen(a[3].reply), TRACK_ATTEMPT_TEXT - 1);
	CU_ASSERT_EQUAL(strncmp(a[3].reply, longer, TRACK_ATTEMPT_TEXT - 1), 0);
	CU_ASSERT_EQUAL(strlen(m[0]->reply), TRACK_TEXT_MAX - 1);   /* the status reply, longer */
	track_log_close(l);
}

void test_track_register(void)
{
	CU_pSuite s = CU_add_suite("track", suite_init, suite_cleanup);

	CU_add_test(s, "ring drop counting", test_ring_drops);
	CU_add_test(s, "Postfix-like lines", test_lines);
	CU_add_test(s, "JSON lines", test_json_lines);
	CU_add_test(s, "rotation by size", test_rotation);
	CU_add_test(s, "index and accepted filters", test_index);
	CU_add_test(s, "delivery attempts in the index", test_attempts);
}
