/*
 * test_sink: sluice-sink's session without sockets — the failure spec
 * parser, a transaction (reply bytes, log line, stored file), failures at
 * exact rates per stage, the reply delay, and STARTTLS with a real TLS
 * client (the log says which version carried the message).
 */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/sink/sink_sess.h"
#include "dataplane/tls/tls.h"
#include "tests/unit/tls_testcert.h"

#define MS 1000ull

static struct sink K;
static struct sink_sess S;
static char *logbuf;
static size_t loglen;
static char out[65536];

static void sink_start(void)
{
	memset(&K, 0, sizeof(K));
	smtp_server_conf_default(&K.server);
	snprintf(K.server.hostname, sizeof(K.server.hostname), "sink.test");
	K.log = open_memstream(&logbuf, &loglen);
	CU_ASSERT_PTR_NOT_NULL_FATAL(K.log);
}

static void sink_stop(void)
{
	sink_sess_fini(&S);
	fclose(K.log);
	free(logbuf);
	logbuf = NULL;
}

static const char *log_text(void)
{
	fflush(K.log);
	return logbuf;
}

/* Everything the session has to send at NOW, as a string. */
static const char *drain(uint64_t now)
{
	size_t n = 0, got;

	while ((got = sink_sess_output(&S, (uint8_t *)out + n, sizeof(out) - 1 - n,
				       now)) > 0)
		n += got;
	out[n] = '\0';
	return out;
}

static const char *io(const char *in, uint64_t now)
{
	CU_ASSERT_EQUAL(sink_sess_input(&S, (const uint8_t *)in, strlen(in), now),
			strlen(in));
	return drain(now);
}

static void test_fail_parse(void)
{
	struct sink_fail f = {0};

	CU_ASSERT_EQUAL(sink_fail_parse(&f, "rcpt:4xx:10"), 0);
	CU_ASSERT_EQUAL(sink_fail_parse(&f, "rcpt:5xx:90"), 0);
	CU_ASSERT_EQUAL(sink_fail_parse(&f, "data:5xx:100"), 0);
	CU_ASSERT_EQUAL(sink_fail_parse(&f, "mail:4xx:0"), 0);
	CU_ASSERT_EQUAL(f.pct[1][SINK_4XX], 10);
	CU_ASSERT_EQUAL(f.pct[1][SINK_5XX], 90);
	CU_ASSERT_EQUAL(f.pct[2][SINK_5XX], 100);
	CU_ASSERT_EQUAL(sink_fail_parse(&f, "rcpt:4xx:11"), -EINVAL); /* 101 */
	CU_ASSERT_EQUAL(f.pct[1][SINK_4XX], 10);
	CU_ASSERT_EQUAL(sink_fail_parse(&f, "mail:4xx:101"), -EINVAL);
	CU_ASSERT_EQUAL(sink_fail_parse(&f, "helo:4xx:1"), -EINVAL);
	CU_ASSERT_EQUAL(sink_fail_parse(&f, "mail:3xx:1"), -EINVAL);
	CU_ASSERT_EQUAL(sink_fail_parse(&f, "mail:4xx"), -EINVAL);
	CU_ASSERT_EQUAL(sink_fail_parse(&f, "mail:4xx:5x"), -EINVAL);
	CU_ASSERT_EQUAL(sink_fail_parse(&f, "mail:4xx:-1"), -EINVAL);
	CU_ASSERT_EQUAL(sink_fail_parse(&f, ""), -EINVAL);
}

static void test_transaction(void)
{
	char dir[] = "/tmp/sluice-sink-XXXXXX", path[64], body[64];
	FILE *f;
	size_t n;

	sink_start();
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	K.dir = dir;
	CU_ASSERT_EQUAL_FATAL(sink_sess_init(&S, &K, "192.0.2.1:4000", 1), 0);
	CU_ASSERT_STRING_EQUAL(drain(1), "220 sink.test ESMTP\r\n");
	CU_ASSERT_PTR_NOT_NULL(strstr(io("EHLO c.test\r\n", 2), "250 DSN\r\n"));
	CU_ASSERT_PTR_NULL(strstr(out, "STARTTLS"));    /* no certificate */
	CU_ASSERT_STRING_EQUAL(io("MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\n"
				  "RCPT TO:<c@y.test>\r\nDATA\r\n", 3),
			       "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n"
			       "354 End data with <CR><LF>.<CR><LF>\r\n");
	CU_ASSERT_STRING_EQUAL(io("hello\r\n..dot\r\n.\r\n", 4),
			       "250 2.0.0 Ok: queued as S000001\r\n");
	CU_ASSERT_STRING_EQUAL(io("QUIT\r\n", 5), "221 2.0.0 Bye\r\n");
	CU_ASSERT(sink_sess_done(&S));
	CU_ASSERT_STRING_EQUAL(log_text(),
		"mail client=192.0.2.1:4000 tls=no from=<a@x.test>\n"
		"msg S000001 client=192.0.2.1:4000 tls=no from=<a@x.test> "
		"to=<b@y.test>,<c@y.test> size=13\n");
	CU_ASSERT_EQUAL(K.st.msgs, 1);
	CU_ASSERT_EQUAL(K.st.rcpts, 2);
	CU_ASSERT_EQUAL(K.st.bytes, 13);
	snprintf(path, sizeof(path), "%s/000001.eml", dir);
	f = fopen(path, "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	n = fread(body, 1, sizeof(body) - 1, f);
	body[n] = '\0';
	fclose(f);
	CU_ASSERT_STRING_EQUAL(body, "hello\r\n.dot\r\n");
	unlink(path);
	rmdir(dir);
	sink_stop();
}

/* 25% 4xx and 25% 5xx of 8 RCPTs: exactly 2 and 2, spread evenly. */
static void test_rates(void)
{
	int r4 = 0, r5 = 0;

	sink_start();
	CU_ASSERT_EQUAL(sink_fail_parse(&K.fail, "rcpt:4xx:25"), 0);
	CU_ASSERT_EQUAL(sink_fail_parse(&K.fail, "rcpt:5xx:25"), 0);
	CU_ASSERT_EQUAL(sink_fail_parse(&K.fail, "data:4xx:100"), 0);
	CU_ASSERT_EQUAL_FATAL(sink_sess_init(&S, &K, "192.0.2.1:4000", 1), 0);
	drain(1);
	io("EHLO c.test\r\nMAIL FROM:<>\r\n", 2);
	for (int i = 0; i < 8; i++) {
		const char *r = io("RCPT TO:<b@y.test>\r\n", 3);

		r4 += strcmp(r, "451 4.2.0 sink: RCPT deferred\r\n") == 0;
		r5 += strcmp(r, "550 5.1.1 sink: RCPT refused\r\n") == 0;
		if (i == 3)
			CU_ASSERT(r4 == 1 && r5 == 1);
	}
	CU_ASSERT_EQUAL(r4, 2);
	CU_ASSERT_EQUAL(r5, 2);
	CU_ASSERT_STRING_EQUAL(io("DATA\r\n", 4), "451 4.3.0 sink: DATA deferred\r\n");
	CU_ASSERT_EQUAL(K.st.refused[1][SINK_4XX], 2);
	CU_ASSERT_EQUAL(K.st.refused[1][SINK_5XX], 2);
	CU_ASSERT_EQUAL(K.st.refused[2][SINK_4XX], 1);
	CU_ASSERT_EQUAL(K.st.msgs, 0);
	sink_stop();
}

static void test_delay(void)
{
	sink_start();
	K.delay_us = 100 * MS;
	CU_ASSERT_EQUAL_FATAL(sink_sess_init(&S, &K, "192.0.2.1:4000", 1000), 0);
	CU_ASSERT_STRING_EQUAL(drain(1000), "");
	CU_ASSERT_EQUAL(sink_sess_deadline(&S), 1000 + 100 * MS);
	CU_ASSERT_STRING_EQUAL(drain(1000 + 100 * MS - 1), "");
	CU_ASSERT_STRING_EQUAL(drain(1000 + 100 * MS), "220 sink.test ESMTP\r\n");
	CU_ASSERT_STRING_EQUAL(io("NOOP\r\n", 200 * MS), "");
	CU_ASSERT_STRING_EQUAL(drain(300 * MS), "250 2.0.0 Ok\r\n");
	sink_stop();
}

/* Move ciphertext from the client to the session and back until quiet;
 * the session's plaintext replies collect in REPLY. */
static void shuttle(struct tls_conn *c, char *reply, size_t cap, uint64_t now)
{
	uint8_t buf[32768];
	size_t n, got, len = strlen(reply);

	for (int round = 0; round < 20; round++) {
		while ((n = tls_drain_cipher(c, buf, sizeof(buf))) > 0)
			CU_ASSERT_EQUAL(sink_sess_input(&S, buf, n, now), n);
		n = 0;
		while ((got = sink_sess_output(&S, buf + n, sizeof(buf) - n, now)) > 0)
			n += got;
		if (n > 0)
			tls_feed_cipher(c, buf, n, &got);
		if (!tls_handshake_done(c))
			tls_handshake(c);
		else
			while (tls_read_plain(c, reply + len, cap - 1 - len, &got) == TLS_OK) {
				len += got;
				reply[len] = '\0';
			}
	}
}

static void test_starttls(void)
{
	char dir[] = "/tmp/sluice-sink-tls-XXXXXX", cert[256], key[256], err[256];
	char reply[4096] = "";
	struct tls_ctx *cctx;
	struct tls_conn *c;
	const char *cmd = "EHLO c.test\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\n"
			  "DATA\r\nhi\r\n.\r\n";
	size_t put;

	sink_start();
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	CU_ASSERT_EQUAL_FATAL(tls_testcert_write(dir, "sink", "sink.test", cert, key,
						 sizeof(cert)), 0);
	CU_ASSERT_EQUAL_FATAL(tls_ctx_server_new(cert, key, &K.tls, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL_FATAL(tls_ctx_client_noverify_new(&cctx, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL_FATAL(sink_sess_init(&S, &K, "192.0.2.1:4000", 1), 0);
	drain(1);
	CU_ASSERT_PTR_NOT_NULL(strstr(io("EHLO c.test\r\n", 2), "250 STARTTLS\r\n"));
	CU_ASSERT_STRING_EQUAL(io("STARTTLS\r\n", 3), "220 2.0.0 Ready to start TLS\r\n");
	CU_ASSERT_EQUAL_FATAL(tls_conn_new(cctx, "sink.test", &c), 0);
	tls_handshake(c);
	shuttle(c, reply, sizeof(reply), 4);
	CU_ASSERT_FATAL(tls_handshake_done(c));
	CU_ASSERT_EQUAL(K.st.tls, 1);
	tls_write_plain(c, cmd, strlen(cmd), &put);
	shuttle(c, reply, sizeof(reply), 5);
	CU_ASSERT_PTR_NOT_NULL(strstr(reply, "250 2.0.0 Ok: queued as S000001\r\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(log_text(), "msg S000001 client=192.0.2.1:4000 tls=TLSv1.3 "
				      "from=<a@x.test> to=<b@y.test> size=4\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(logbuf, "mail client=192.0.2.1:4000 tls=TLSv1.3 "));
	CU_ASSERT_PTR_NULL(strstr(logbuf, "tls=no"));
	tls_conn_free(c);
	tls_ctx_free(cctx);
	tls_ctx_free(K.tls);
	sink_stop();
	unlink(cert);
	unlink(key);
	rmdir(dir);
}

void test_sink_register(void)
{
	CU_pSuite s = CU_add_suite("sink", NULL, NULL);

	if (s == NULL)
		return;
	CU_add_test(s, "failure spec parser", test_fail_parse);
	CU_add_test(s, "a transaction: replies, log line, stored file", test_transaction);
	CU_add_test(s, "failures at exact rates per stage", test_rates);
	CU_add_test(s, "reply delay", test_delay);
	CU_add_test(s, "STARTTLS: the message arrives over TLS", test_starttls);
}
