/*
 * test_smtp_client: the SMTP client engine (dataplane/smtp/smtp_client)
 * against scripted server replies, the reply parser and the DSN builder.
 * Every test feeds exact server bytes and asserts the exact command bytes
 * the server would read and the per-recipient outcomes the queue would
 * see: each reply code at each step, STARTTLS under each policy, AUTH,
 * PIPELINING with replies split at every byte, BDAT, dot-stuffing, SIZE,
 * 8BITMIME / SMTPUTF8, the 452 recipient split, connection reuse, QUIT,
 * timeouts, and DSNs parsed back.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <CUnit/CUnit.h>

#include "dataplane/smtp/smtp_client.h"
#include "dataplane/smtp/smtp_dsn.h"
#include "dataplane/smtp/smtp_reply.h"
#include "tests/unit/suites.h"

#define OUT_MAX  (1 << 18)
#define LOG_MAX  (1 << 16)
#define BODY_MAX (1 << 17)
#define SEC      1000000ull
#define MIN      (60 * SEC)

struct harness {
	struct smtp_client *c;
	void *mem;
	uint64_t now;
	char out[OUT_MAX];
	size_t out_len;
	char log[LOG_MAX];
	size_t log_len;
	int tls_starts, done;
	char body[BODY_MAX];
	size_t body_len;
	size_t read_max;       /* octets per body_read, 0 = all */
	bool eagain;           /* body_read says -EAGAIN */
	bool no_drain;         /* leave the output in the session */
	struct smtp_client_rcpt rcpt[SMTP_CLIENT_RCPT_MAX];
	char addr[SMTP_CLIENT_RCPT_MAX][32];
	struct smtp_client_msg msg;
};

static struct harness K;

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	K.log_len += (size_t)vsnprintf(K.log + K.log_len, LOG_MAX - K.log_len, fmt, ap);
	va_end(ap);
}

static long on_read(void *arg, uint64_t off, const uint8_t **data)
{
	size_t n;

	(void)arg;
	if (K.eagain)
		return -EAGAIN;
	CU_ASSERT_FATAL(off <= K.body_len);
	n = K.body_len - off;
	if (K.read_max != 0 && n > K.read_max)
		n = K.read_max;
	*data = (const uint8_t *)K.body + off;
	return (long)n;
}

static void on_tls(void *arg)
{
	(void)arg;
	K.tls_starts++;
}

static void on_result(void *arg, unsigned idx, const struct smtp_client_result *r)
{
	static const char st[] = {'D', 'T', 'B'};

	(void)arg;
	logf_("%u %c %s %s%s\n", idx, st[r->status], r->enh, r->remote ? "" : "local ",
	      r->text);
}

static void on_done(void *arg)
{
	(void)arg;
	K.done++;
	logf_("done\n");
}

static const struct smtp_client_ops OPS = {
	.body_read = on_read, .tls_start = on_tls,
	.rcpt_result = on_result, .msg_done = on_done,
};

static void drain(void)
{
	const uint8_t *p;
	size_t n;

	if (K.no_drain)
		return;
	while ((n = smtp_client_output(K.c, &p)) > 0) {
		CU_ASSERT_FATAL(K.out_len + n < OUT_MAX);
		memcpy(K.out + K.out_len, p, n);
		K.out_len += n;
		K.out[K.out_len] = '\0';
		smtp_client_consume(K.c, n, K.now);
	}
}

static void conf_test(struct smtp_client_conf *c, enum smtp_tls_policy tls)
{
	smtp_client_conf_default(c);
	snprintf(c->helo_name, sizeof(c->helo_name), "relay.test");
	snprintf(c->peer_name, sizeof(c->peer_name), "smart.test");
	c->tls = tls;
}

static void start_conf(const struct smtp_client_conf *c)
{
	void *mem = K.mem;

	memset(&K, 0, sizeof(K));
	K.mem = mem != NULL ? mem : malloc(smtp_client_size());
	CU_ASSERT_FATAL(K.mem != NULL);
	K.now = 1000 * SEC;
	K.c = smtp_client_init(K.mem, c, &OPS, &K, K.now);
	drain();
}

static void start(enum smtp_tls_policy tls)
{
	struct smtp_client_conf c;

	conf_test(&c, tls);
	start_conf(&c);
}

static void feed_n(const char *in, size_t len)
{
	size_t used = smtp_client_feed(K.c, (const uint8_t *)in, len, K.now);

	CU_ASSERT_EQUAL(used, len);
	drain();
}

static void check_str(const char *what, const char *got, const char *want,
		      unsigned line)
{
	char msg[8192];

	snprintf(msg, sizeof(msg), "%s \"%.400s\" should be \"%.400s\"", what,
		 got, want);
	CU_assertImplementation(strcmp(got, want) == 0, line, msg, __FILE__, "",
				CU_FALSE);
}

/* Server bytes IN (one segment) must produce exactly the commands WANT. */
#define IO(in, want) do { K.out_len = 0; K.out[0] = '\0'; \
	feed_n(in, strlen(in)); check_str("output", K.out, want, __LINE__); } while (0)
/* The outcomes logged since the last LOG() must be WANT. */
#define LOG(want) do { check_str("log", K.log, want, __LINE__); \
	K.log_len = 0; K.log[0] = '\0'; } while (0)
#define FEED(in) do { K.out_len = 0; K.out[0] = '\0'; \
	feed_n(in, strlen(in)); } while (0)
#define OUT(want) do { check_str("output", K.out, want, __LINE__); \
	K.out_len = 0; K.out[0] = '\0'; } while (0)

#define GREET   "220 smart.test ESMTP\r\n"
#define EHLO    "EHLO relay.test\r\n"
#define EHLO_MIN "250-smart.test\r\n250 8BITMIME\r\n"
#define EHLO_PIPE "250-smart.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n" \
	"250 ENHANCEDSTATUSCODES\r\n"
#define EHLO_ALL "250-smart.test Hello\r\n250-PIPELINING\r\n250-SIZE 10000\r\n" \
	"250-8BITMIME\r\n250-SMTPUTF8\r\n250-CHUNKING\r\n250-DSN\r\n" \
	"250-STARTTLS\r\n250-AUTH LOGIN PLAIN\r\n250 ENHANCEDSTATUSCODES\r\n"
#define EHLO_TLS "250-smart.test\r\n250-STARTTLS\r\n250 8BITMIME\r\n"
#define MAIL_A  "MAIL FROM:<a@example.org>\r\n"
#define RCPT_0  "RCPT TO:<r0@example.net>\r\n"
#define RCPT_1  "RCPT TO:<r1@example.net>\r\n"
#define RCPT_2  "RCPT TO:<r2@example.net>\r\n"
#define OK      "250 2.0.0 Ok\r\n"
#define GO      "354 go ahead\r\n"
#define QUEUED  "250 2.0.0 Ok: queued as ABC123\r\n"
#define BODY    "Subject: t\r\n\r\nhello\r\n"

/* A message from a@example.org to N recipients r<i>@example.net. */
static void msg_set(unsigned n, const char *body)
{
	memset(&K.msg, 0, sizeof(K.msg));
	for (unsigned i = 0; i < n; i++) {
		snprintf(K.addr[i], sizeof(K.addr[i]), "r%u@example.net", i);
		K.rcpt[i].addr = K.addr[i];
		K.rcpt[i].notify = 0;
		K.rcpt[i].orcpt = NULL;
	}
	K.msg.from = "a@example.org";
	K.msg.rcpt = K.rcpt;
	K.msg.nrcpt = n;
	K.body_len = strlen(body);
	memcpy(K.body, body, K.body_len);
	K.msg.size = K.body_len;
}

static void send_msg(void)
{
	CU_ASSERT_EQUAL(smtp_client_send(K.c, &K.msg, K.now), 0);
	drain();
}

/* A session past EHLO (answered with EHLO_REPLY) under policy NONE. */
static void opened(const char *ehlo_reply)
{
	start(SMTP_TLS_NONE);
	IO(GREET, EHLO);
	IO(ehlo_reply, "");
	CU_ASSERT_EQUAL(smtp_client_state(K.c), SMTP_CLIENT_IDLE);
}

/* ---- the reply parser ---------------------------------------------------- */

static int parse_all(struct smtp_reply *r, const char *s, int *lines)
{
	size_t len = strlen(s), off = 0, used;
	int ev = 0;

	*lines = 0;
	while (off < len) {
		ev = smtp_reply_parse(r, (const uint8_t *)s + off, len - off, &used);
		off += used;
		if (ev < 0)
			return ev;
		if (ev != SMTP_REPLY_MORE)
			(*lines)++;
	}
	return ev;
}

static void test_reply_parser(void)
{
	struct smtp_reply *r = malloc(sizeof(*r));
	char big[SMTP_REPLY_LINE_MAX + 16];
	int lines;

	CU_ASSERT_FATAL(r != NULL);
	smtp_reply_init(r);
	CU_ASSERT_EQUAL(parse_all(r, "250-a\r\n250-b c\r\n250 2.1.0 d\r\n", &lines),
			SMTP_REPLY_END);
	CU_ASSERT_EQUAL(lines, 3);
	CU_ASSERT_EQUAL(r->code, 250);
	CU_ASSERT_STRING_EQUAL(r->text, "250 a b c 2.1.0 d");
	CU_ASSERT_STRING_EQUAL(r->enh, "");
	CU_ASSERT_STRING_EQUAL(r->line, "2.1.0 d");
	CU_ASSERT_EQUAL(parse_all(r, "550 5.1.1 <x>: no\r\n", &lines), SMTP_REPLY_END);
	CU_ASSERT_STRING_EQUAL(r->enh, "5.1.1");
	CU_ASSERT_STRING_EQUAL(r->text, "550 5.1.1 <x>: no");
	CU_ASSERT_EQUAL(parse_all(r, "250\r\n", &lines), SMTP_REPLY_END);
	CU_ASSERT_STRING_EQUAL(r->text, "250");
	CU_ASSERT_EQUAL(parse_all(r, "451 4.3.0 bare lf\n", &lines), SMTP_REPLY_END);
	CU_ASSERT_STRING_EQUAL(r->text, "451 4.3.0 bare lf");
	CU_ASSERT_EQUAL(parse_all(r, "250 5.1.1 class differs\r\n", &lines), SMTP_REPLY_END);
	CU_ASSERT_STRING_EQUAL(r->enh, "");
	CU_ASSERT_EQUAL(parse_all(r, "250 x\tctl\r\n", &lines), SMTP_REPLY_END);
	CU_ASSERT_STRING_EQUAL(r->text, "250 x?ctl");
	CU_ASSERT_EQUAL(parse_all(r, "250 par", &lines), SMTP_REPLY_MORE);
	CU_ASSERT_EQUAL(parse_all(r, "tial\r\n", &lines), SMTP_REPLY_END);
	CU_ASSERT_STRING_EQUAL(r->text, "250 partial");

	static const char *const bad[] = {
		"25\r\n", "2500 x\r\n", "abc\r\n", "650 x\r\n", "160 x\r\n",
		"260 x\r\n", "250_x\r\n", "250-a\r\n251 b\r\n",
		"\r\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		smtp_reply_init(r);
		CU_ASSERT_EQUAL(parse_all(r, bad[i], &lines), -EBADMSG);
	}
	smtp_reply_init(r);
	size_t used;
	CU_ASSERT_EQUAL(smtp_reply_parse(r, (const uint8_t *)"250 a\0b\r\n", 9, &used),
			-EBADMSG);
	smtp_reply_init(r);
	memset(big, 'x', sizeof(big));
	memcpy(big, "250 ", 4);
	big[sizeof(big) - 1] = '\0';
	CU_ASSERT_EQUAL(parse_all(r, big, &lines), -EMSGSIZE);
	smtp_reply_init(r);
	for (int i = 0; i < SMTP_REPLY_LINES_MAX; i++)
		CU_ASSERT_EQUAL(parse_all(r, "250-x\r\n", &lines), SMTP_REPLY_LINE);
	CU_ASSERT_EQUAL(parse_all(r, "250 x\r\n", &lines), -EMSGSIZE);
	free(r);
}

/* ---- opening ------------------------------------------------------------- */

static void test_greeting(void)
{
	/* 220: EHLO */
	start(SMTP_TLS_NONE);
	CU_ASSERT_EQUAL(smtp_client_state(K.c), SMTP_CLIENT_OPENING);
	OUT("");
	IO(GREET, EHLO);

	/* 421: the message waiting is deferred, no QUIT, closed */
	start(SMTP_TLS_NONE);
	msg_set(2, BODY);
	send_msg();
	IO("421 4.7.0 smart.test busy, try later\r\n", "");
	LOG("0 T 4.7.0 421 4.7.0 smart.test busy, try later\n"
	    "1 T 4.7.0 421 4.7.0 smart.test busy, try later\n"
	    "done\n");
	CU_ASSERT_EQUAL(smtp_client_state(K.c), SMTP_CLIENT_CLOSED);
	CU_ASSERT_STRING_EQUAL(smtp_client_error(K.c),
			       "421 4.7.0 smart.test busy, try later");

	/* 554: deferred (another smart host may take it), QUIT, 221 */
	start(SMTP_TLS_NONE);
	msg_set(1, BODY);
	send_msg();
	IO("554 5.7.1 go away\r\n", "QUIT\r\n");
	LOG("0 T 4.7.1 554 5.7.1 go away\ndone\n");
	CU_ASSERT_EQUAL(smtp_client_state(K.c), SMTP_CLIENT_QUIT);
	IO("221 2.0.0 Bye\r\n", "");
	CU_ASSERT_EQUAL(smtp_client_state(K.c), SMTP_CLIENT_CLOSED);

	/* multiline greeting, split */
	start(SMTP_TLS_NONE);
	IO("220-smart.test ESMTP\r\n220-", "");
	IO("more\r\n220 ready\r\n", EHLO);
}

static void test_ehlo(void)
{
	uint64_t size;
	unsigned ext;

	opened(EHLO_ALL);
	ext = smtp_client_ext(K.c, &size);
	CU_ASSERT_EQUAL(ext, SMTP_EXT_PIPELINING | SMTP_EXT_SIZE | SMTP_EXT_8BITMIME |
			SMTP_EXT_SMTPUTF8 | SMTP_EXT_CHUNKING | SMTP_EXT_DSN |
			SMTP_EXT_STARTTLS | SMTP_EXT_AUTH_PLAIN | SMTP_EXT_AUTH_LOGIN |
			SMTP_EXT_ENHANCED);
	CU_ASSERT_EQUAL(size, 10000);

	/* case, AUTH=, SIZE without a value, unknown keywords, look-alikes */
	opened("250-smart.test\r\n250-pipelining\r\n250-SIZE\r\n250-AUTH=LOGIN\r\n"
	       "250-XFOO\r\n250-8BITMIMEX\r\n250 DSN\r\n");
	ext = smtp_client_ext(K.c, &size);
	CU_ASSERT_EQUAL(ext, SMTP_EXT_PIPELINING | SMTP_EXT_SIZE |
			SMTP_EXT_AUTH_LOGIN | SMTP_EXT_DSN);
	CU_ASSERT_EQUAL(size, 0);

	/* the greeting line is not a capability */
	opened("250 PIPELINING\r\n");
	CU_ASSERT_EQUAL(smtp_client_ext(K.c, &size), 0);

	/* 5xx to EHLO: HELO, no extensions */
	start(SMTP_TLS_NONE);
	IO(GREET, EHLO);
	IO("502 5.5.2 EHLO not understood\r\n", "HELO relay.test\r\n");
	IO("250 smart.test\r\n", "");
	CU_ASSERT_EQUAL(smtp_client_state(K.c), SMTP_CLIENT_IDLE);
	CU_ASSERT_EQUAL(smtp_client_ext(K.c, &size), 0);
	msg_set(1, BODY);
	send_msg();
	OUT(MAIL_A);

	/* 550 to EHLO and to HELO: deferred, QUIT */
	start(SMTP_TLS_NONE);
	msg_set(1, BODY);
	send_msg();
	IO(GREET, EHLO);
	IO("550 no\r\n", "HELO relay.test\r\n");
	IO("550 still no\r\n", "QUIT\r\n");
	LOG("0 T 4.0.0 550 still no\ndone\n");

	/* 4xx to EHLO: deferred, QUIT */
	start(SMTP_TLS_NONE);
	msg_set(1, BODY);
	send_msg();
	IO(GREET, EHLO);
	IO("451 4.3.2 later\r\n", "QUIT\r\n");
	LOG("0 T 4.3.2 451 4.3.2 later\ndone\n");
	IO("221 bye\r\n", "");
	CU_ASSERT_EQUAL(smtp_client_state(K.c), SMTP_CLIENT_CLOSED);

	/* 421 to EHLO: closed without QUIT */
	start(SMTP_TLS_NONE);
	IO(GREET, EHLO);
	IO("421 4.3.2 shutting down\r\n", "");
	CU_ASSERT_EQUAL(smtp_client_state(K.c), SMTP_CLIENT_CLOSED);
}

/* ---- STARTTLS ------------------------------------------------------------ */

static void tls_up(enum smtp_tls_policy pol)
{
	start(pol);
	msg_set(1, BODY);
	send_msg();
	IO(GREET, EHLO);
	IO(EHLO_TLS, "STARTTLS\r\n");
	IO("220 2.0.0 Ready to start TLS\r\n", "");
	CU_ASSERT_EQUAL(K.tls_starts, 1);
}

static void test_starttls(void)
{
	static const enum smtp_tls_policy pols[] = {
		SMTP_TLS_NONE, SMTP_TLS_OPPORTUNISTIC, SMTP_TLS_REQUIRED,
		SMTP_TLS_REQUIRED_VERIFY,
	};
	uint64_t size;

	/* STARTTLS offered, 220, handshake: old capabilities gone, EHLO again */
	for (int i = 1; i < 4; i++) {
		tls_up(pols[i]);
		IO("250 pipelined junk is dropped\r\n", "");
		CU_ASSERT_EQUAL(smtp_client_tls_done(K.c, true, K.now), 0);
		drain();
		OUT(EHLO);
		CU_ASSERT_EQUAL(smtp_client_ext(K.c, &size), 0);
		IO("250-smart.test\r\n250 8BITMIME\r\n", MAIL_A);
		CU_ASSERT_EQUAL(smtp_client_ext(K.c, &size), SMTP_EXT_8BITMIME);
	}

	/* STARTTLS missing, under each policy */
	for (int i = 0; i < 4; i++) {
		start(pols[i]);
		msg_set(1, BODY);
		send_msg();
		IO(GREET, EHLO);
		if (i < 2) {
			IO(EHLO_MIN, MAIL_A);
			LOG("");
		} else {
			IO(EHLO_MIN, "QUIT\r\n");
			LOG("0 T 4.7.10 local 4.7.10 smart.test does not offer STARTTLS, "
			    "TLS required\ndone\n");
		}
	}

	/* policy NONE never asks for TLS even when offered */
	start(SMTP_TLS_NONE);
	IO(GREET, EHLO);
	IO(EHLO_TLS, "");
	CU_ASSERT_EQUAL(smtp_client_state(K.c), SMTP_CLIENT_IDLE);

	/* 454 to STARTTLS: offered, so never in clear — every policy defers
	 * (opportunistic falls back only when STARTTLS is not offered) */
	for (int i = 1; i < 4; i++) {
		start(pols[i]);
		msg_set(1, BODY);
		send_msg();
		IO(GREET, EHLO);
		IO(EHLO_TLS, "STARTTLS\r\n");
		IO("454 4.7.0 TLS not available\r\n", "QUIT\r\n");
		LOG("0 T 4.7.0 454 4.7.0 TLS not available\ndone\n");
		CU_ASSERT_EQUAL(K.tls_starts, 0);
	}
	/* 501 to STARTTLS under required: deferred, not bounced */
	start(SMTP_TLS_REQUIRED);
	msg_set(1, BODY);
	send_msg();
	IO(GREET, EHLO);
	IO(EHLO_TLS, "STARTTLS\r\n");
	IO("501 5.5.4 no\r\n", "QUIT\r\n");
	LOG("0 T 4.5.4 501 5.5.4 no\ndone\n");

	/* a failed handshake (or failed verification) defers and closes */
	for (int i = 1; i < 4; i++) {
		tls_up(pols[i]);
		CU_ASSERT_EQUAL(smtp_client_tls_done(K.c, false, K.now), 0);
		drain();
		OUT("");
		LOG("0 T 4.7.5 local 4.7.5 TLS handshake with smart.test failed\ndone\n");
		CU_ASSERT_EQUAL(smtp_client_state(K.c), SMTP_CLIENT_CLOSED);
	}
	CU_ASSERT_EQUAL(smtp_client_tls_done(K.c, true, K.now), -EINVAL);
}

/* ---- AUTH ---------------------------------------------------------------- */

static void auth_start(enum smtp_tls_policy pol, const char *ehlo2)
{
	struct smtp_client_conf c;

	conf_test(&c, pol);
	c.auth = true;
	snprintf(c.auth_user, sizeof(c.auth_user), "bob");
	snprintf(c.auth_pass, sizeof(c.auth_pass), "s3cret");
	start_conf(&c);
	msg_set(1, BODY);
	send_msg();
	IO(GREET, EHLO);
	IO(EHLO_TLS, "STARTTLS\r\n");
	IO("220 go\r\n", "");
	CU_ASSERT_EQUAL(smtp_client_tls_done(K.c, true, K.now), 0);
	drain();
	OUT(EHLO);
	K.out_len = 0;
	feed_n(ehlo2, strlen(ehlo2));
}

static void test_auth(void)
{
	/* PLAIN: base64("\0bob\0s3cret") */
	auth_start(SMTP_TLS_REQUIRED, "250-smart.test\r\n250 AUTH LOGIN PLAIN\r\n");
	OUT("AUTH PLAIN AGJvYgBzM2NyZXQ=\r\n");
	IO("235 2.7.0 Authentication successful\r\n", MAIL_A);
	LOG("");

	/* LOGIN only */
	auth_start(SMTP_TLS_REQUIRED, "250-smart.test\r\n250 AUTH LOGIN\r\n");
	OUT("AUTH LOGIN\r\n");
	IO("334 VXNlcm5hbWU6\r\n", "Ym9i\r\n");
	IO("334 UGFzc3dvcmQ6\r\n", "czNjcmV0\r\n");
	IO("235 2.7.0 ok\r\n", MAIL_A);

	/* 535 and 454: deferred with the reply, QUIT */
	auth_start(SMTP_TLS_REQUIRED, "250-smart.test\r\n250 AUTH PLAIN\r\n");
	OUT("AUTH PLAIN AGJvYgBzM2NyZXQ=\r\n");
	IO("535 5.7.8 Authentication credentials invalid\r\n", "QUIT\r\n");
	LOG("0 T 4.7.8 535 5.7.8 Authentication credentials invalid\ndone\n");
	auth_start(SMTP_TLS_REQUIRED, "250-smart.test\r\n250 AUTH PLAIN\r\n");
	OUT("AUTH PLAIN AGJvYgBzM2NyZXQ=\r\n");
	IO("454 4.7.0 Temporary authentication failure\r\n", "QUIT\r\n");
	LOG("0 T 4.7.0 454 4.7.0 Temporary authentication failure\ndone\n");

	/* LOGIN refused at the password */
	auth_start(SMTP_TLS_REQUIRED, "250-smart.test\r\n250 AUTH LOGIN\r\n");
	IO("334 VXNlcm5hbWU6\r\n", "Ym9i\r\n");
	IO("535 5.7.8 no\r\n", "QUIT\r\n");
	LOG("0 T 4.7.8 535 5.7.8 no\ndone\n");

	/* no PLAIN or LOGIN offered */
	auth_start(SMTP_TLS_REQUIRED, "250-smart.test\r\n250 AUTH CRAM-MD5\r\n");
	OUT("QUIT\r\n");
	LOG("0 T 4.7.4 local 4.7.4 smart.test offers no AUTH PLAIN or LOGIN\ndone\n");

	/* never in clear: opportunistic without STARTTLS defers */
	struct smtp_client_conf c;

	conf_test(&c, SMTP_TLS_OPPORTUNISTIC);
	c.auth = true;
	snprintf(c.auth_user, sizeof(c.auth_user), "bob");
	start_conf(&c);
	msg_set(1, BODY);
	send_msg();
	IO(GREET, EHLO);
	IO("250-smart.test\r\n250 AUTH PLAIN LOGIN\r\n", "QUIT\r\n");
	LOG("0 T 4.7.10 local 4.7.10 AUTH to smart.test needs TLS\ndone\n");
}

/* ---- transactions -------------------------------------------------------- */

#define DATA_BODY "DATA\r\n"
#define SENT_BODY BODY ".\r\n"
#define D_QUEUED(i) #i " D 2.0.0 250 2.0.0 Ok: queued as ABC123\n"

static void test_transaction(void)
{
	/* one at a time without PIPELINING */
	opened(EHLO_MIN);
	msg_set(2, BODY);
	send_msg();
	CU_ASSERT_EQUAL(smtp_client_state(K.c), SMTP_CLIENT_BUSY);
	OUT(MAIL_A);
	IO("250 2.1.0 Ok\r\n", RCPT_0);
	IO("250 2.1.5 Ok\r\n", RCPT_1);
	IO("250 2.1.5 Ok\r\n", DATA_BODY);
	IO(GO, SENT_BODY);
	IO(QUEUED, "");
	LOG(D_QUEUED(0) D_QUEUED(1) "done\n");
	CU_ASSERT_EQUAL(smtp_client_state(K.c), SMTP_CLIENT_IDLE);
	CU_ASSERT_EQUAL(smtp_client_send(K.c, &(struct smtp_client_msg){0}, K.now), -EINVAL);

	/* MAIL 4xx / 5xx: every recipient, no RCPT */
	opened(EHLO_MIN);
	msg_set(2, BODY);
	send_msg();
	IO("451 4.3.0 try later\r\n", "");
	LOG("0 T 4.3.0 451 4.3.0 try later\n1 T 4.3.0 451 4.3.0 try later\ndone\n");
	CU_ASSERT_EQUAL(smtp_client_state(K.c), SMTP_CLIENT_IDLE);
	opened(EHLO_MIN);
	msg_set(2, BODY);
	send_msg();
	IO("553 5.7.1 sender rejected\r\n", "");
	LOG("0 B 5.7.1 553 5.7.1 sender rejected\n1 B 5.7.1 553 5.7.1 sender rejected\n"
	    "done\n");

	/* each RCPT on its own: 250, 450, 550; DATA for the accepted one */
	opened(EHLO_MIN);
	msg_set(3, BODY);
	send_msg();
	IO(OK, RCPT_0);
	IO("250 2.1.5 Ok\r\n", RCPT_1);
	IO("450 4.2.0 mailbox busy\r\n", RCPT_2);
	IO("550 5.1.1 no such user\r\n", DATA_BODY);
	LOG("1 T 4.2.0 450 4.2.0 mailbox busy\n2 B 5.1.1 550 5.1.1 no such user\n");
	IO(GO, SENT_BODY);
	IO("250 2.0.0 queued\r\n", "");
	LOG("0 D 2.0.0 250 2.0.0 queued\ndone\n");

	/* every RCPT refused: no DATA */
	opened(EHLO_MIN);
	msg_set(2, BODY);
	send_msg();
	IO(OK, RCPT_0);
	IO("550 5.1.1 no\r\n", RCPT_1);
	IO("451 4.4.0 later\r\n", "");
	LOG("0 B 5.1.1 550 5.1.1 no\n1 T 4.4.0 451 4.4.0 later\ndone\n");

	/* DATA 4xx, 5xx; end of data 4xx, 5xx */
	static const struct { const char *data, *end, *log; } cases[] = {
		{"451 4.3.0 no DATA now\r\n", NULL, "0 T 4.3.0 451 4.3.0 no DATA now\ndone\n"},
		{"554 5.5.1 no valid recipients\r\n", NULL,
		 "0 B 5.5.1 554 5.5.1 no valid recipients\ndone\n"},
		{GO, "452 4.3.1 insufficient storage\r\n",
		 "0 T 4.3.1 452 4.3.1 insufficient storage\ndone\n"},
		{GO, "554 5.7.1 spam\r\n", "0 B 5.7.1 554 5.7.1 spam\ndone\n"},
		{GO, "250 ok\r\n", "0 D 2.0.0 250 ok\ndone\n"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		opened(EHLO_MIN);
		msg_set(1, BODY);
		send_msg();
		IO(OK, RCPT_0);
		IO(OK, DATA_BODY);
		if (cases[i].end == NULL) {
			IO(cases[i].data, "");
		} else {
			IO(cases[i].data, SENT_BODY);
			IO(cases[i].end, "");
		}
		LOG(cases[i].log);
		CU_ASSERT_EQUAL(K.done, 1);
	}
}

/* Replies out of protocol: they defer, never deliver. */
static void test_out_of_protocol(void)
{
	opened(EHLO_MIN);
	msg_set(1, BODY);
	send_msg();
	IO(OK, RCPT_0);
	IO("354 huh\r\n", "");
	LOG("0 T 4.5.0 354 huh\ndone\n");
	CU_ASSERT_EQUAL(smtp_client_state(K.c), SMTP_CLIENT_IDLE);

	opened(EHLO_MIN);
	msg_set(1, BODY);
	send_msg();
	IO(OK, RCPT_0);
	IO(OK, DATA_BODY);
	IO("250 what\r\n", "");
	LOG("0 T 4.5.0 local 4.5.0 smart.test answered DATA with 250\ndone\n");
	CU_ASSERT_EQUAL(smtp_client_state(K.c), SMTP_CLIENT_CLOSED);

	opened(EHLO_MIN);
	msg_set(1, BODY);
	send_msg();
	IO(OK, RCPT_0);
	IO(OK, DATA_BODY);
	IO(GO, SENT_BODY);
	IO("354 again\r\n", "");
	LOG("0 T 4.5.0 354 again\ndone\n");

	start(SMTP_TLS_NONE);
	msg_set(1, BODY);
	send_msg();
	IO("250 not a greeting\r\n", "QUIT\r\n");
	LOG("0 T 4.5.0 250 not a greeting\ndone\n");
}

static void test_multiline(void)
{
	opened(EHLO_MIN);
	msg_set(1, BODY);
	send_msg();
	IO("250-2.1.0 sender\r\n250 2.1.0 ok\r\n", RCPT_0);
	IO("550-5.1.1 The email account that you tried to reach does not exist.\r\n"
	   "550-5.1.1 Please try double-checking the recipient's email\r\n"
	   "550 5.1.1 address. x1si\r\n", "");
	LOG("0 B 5.1.1 550 5.1.1 The email account that you tried to reach does not "
	    "exist. 5.1.1 Please try double-checking the recipient's email 5.1.1 "
	    "address. x1si\ndone\n");

	/* garbage, a code change inside a reply, a line too long: deferred,
	 * closed without QUIT */
	static const char *const bad[] = {
		"hello\r\n", "250-a\r\n251 b\r\n", "2x0 ok\r\n",
	};
	for (size_t i = 0; i < 3; i++) {
		opened(EHLO_MIN);
		msg_set(1, BODY);
		send_msg();
		IO(bad[i], "");
		LOG("0 T 4.5.0 local 4.5.0 garbage reply from smart.test\ndone\n");
		CU_ASSERT_EQUAL(smtp_client_state(K.c), SMTP_CLIENT_CLOSED);
	}
	static char longline[SMTP_REPLY_LINE_MAX + 8];
	memset(longline, 'x', sizeof(longline) - 1);
	memcpy(longline, "250 ", 4);
	opened(EHLO_MIN);
	msg_set(1, BODY);
	send_msg();
	IO(longline, "");
	LOG("0 T 4.5.0 local 4.5.0 reply too long from smart.test\ndone\n");

	/* a reply nobody asked for */
	opened(EHLO_MIN);
	IO("250 surprise\r\n", "");
	CU_ASSERT_EQUAL(smtp_client_state(K.c), SMTP_CLIENT_CLOSED);
	CU_ASSERT_STRING_EQUAL(smtp_client_error(K.c),
			       "4.5.0 unexpected reply from smart.test: 250 surprise");
	/* an idle 421 */
	opened(EHLO_MIN);
	IO("421 4.4.2 idle timeout\r\n", "");
	CU_ASSERT_EQUAL(smtp_client_state(K.c), SMTP_CLIENT_CLOSED);
	/* 421 in the middle of a transaction */
	opened(EHLO_MIN);
	msg_set(2, BODY);
	send_msg();
	IO(OK, RCPT_0);
	IO("421 4.3.0 closing\r\n", "");
	LOG("0 T 4.3.0 421 4.3.0 closing\n1 T 4.3.0 421 4.3.0 closing\ndone\n");
	CU_ASSERT_EQUAL(smtp_client_state(K.c), SMTP_CLIENT_CLOSED);
}

#define PIPE_GROUP MAIL_A RCPT_0 RCPT_1 RCPT_2 DATA_BODY
#define PIPE_REPLIES "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550 5.1.1 unknown\r\n" \
	"250-2.1.5 Ok\r\n250 2.1.5 multi\r\n354 go\r\n"

static void test_pipelining(void)
{
	opened(EHLO_PIPE);
	msg_set(3, BODY);
	send_msg();
	OUT(PIPE_GROUP);
	IO(PIPE_REPLIES, SENT_BODY);
	LOG("1 B 5.1.1 550 5.1.1 unknown\n");
	IO(QUEUED, "");
	LOG(D_QUEUED(0) D_QUEUED(2) "done\n");

	/* the replies split in two at every byte, then one byte at a time */
	const char *rep = PIPE_REPLIES QUEUED;
	size_t len = strlen(rep);

	for (size_t k = 0; k <= len; k++) {
		opened(EHLO_PIPE);
		msg_set(3, BODY);
		send_msg();
		OUT(PIPE_GROUP);
		feed_n(rep, k);
		feed_n(rep + k, len - k);
		OUT(SENT_BODY);
		LOG("1 B 5.1.1 550 5.1.1 unknown\n" D_QUEUED(0) D_QUEUED(2) "done\n");
	}
	opened(EHLO_PIPE);
	msg_set(3, BODY);
	send_msg();
	OUT(PIPE_GROUP);
	for (size_t k = 0; k < len; k++)
		feed_n(rep + k, 1);
	OUT(SENT_BODY);
	LOG("1 B 5.1.1 550 5.1.1 unknown\n" D_QUEUED(0) D_QUEUED(2) "done\n");

	/* MAIL refused inside a group: the rest is ignored; a 354 anyway gets
	 * an empty body */
	opened(EHLO_PIPE);
	msg_set(1, BODY);
	send_msg();
	OUT(MAIL_A RCPT_0 DATA_BODY);
	IO("550 5.7.1 no\r\n503 5.5.1 need MAIL\r\n354 go\r\n", ".\r\n");
	LOG("0 B 5.7.1 550 5.7.1 no\n");
	IO("250 ok\r\n", "");
	LOG("done\n");
	CU_ASSERT_EQUAL(smtp_client_state(K.c), SMTP_CLIENT_IDLE);

	/* every recipient refused in a group: DATA gets 554 */
	opened(EHLO_PIPE);
	msg_set(1, BODY);
	send_msg();
	OUT(MAIL_A RCPT_0 DATA_BODY);
	IO("250 ok\r\n550 5.1.1 no\r\n554 5.5.1 no valid recipients\r\n", "");
	LOG("0 B 5.1.1 550 5.1.1 no\ndone\n");
}

/* A group larger than the output buffer goes out as it drains. */
static void test_large_group(void)
{
	static char replies[SMTP_CLIENT_RCPT_MAX * 8 + 64];
	size_t n = 0;
	const char *p;
	unsigned rcpts = 0;

	opened(EHLO_PIPE);
	msg_set(SMTP_CLIENT_RCPT_MAX, BODY);
	send_msg();
	CU_ASSERT(K.out_len > SMTP_CLIENT_OUT_CAP);
	CU_ASSERT_NSTRING_EQUAL(K.out, MAIL_A RCPT_0 RCPT_1, strlen(MAIL_A RCPT_0 RCPT_1));
	for (p = K.out; (p = strstr(p, "RCPT TO:<")) != NULL; p++)
		rcpts++;
	CU_ASSERT_EQUAL(rcpts, SMTP_CLIENT_RCPT_MAX);
	CU_ASSERT_STRING_EQUAL(K.out + K.out_len - strlen("RCPT TO:<r999@example.net>\r\n" DATA_BODY),
			       "RCPT TO:<r999@example.net>\r\n" DATA_BODY);
	K.out_len = 0;
	n += (size_t)sprintf(replies + n, "250 ok\r\n");
	for (unsigned i = 0; i < SMTP_CLIENT_RCPT_MAX; i++)
		n += (size_t)sprintf(replies + n, i == 7 ? "550 no\r\n" : "250 ok\r\n");
	sprintf(replies + n, "354 go\r\n");
	IO(replies, SENT_BODY);
	LOG("7 B 5.0.0 550 no\n");
	IO("250 all\r\n", "");
	CU_ASSERT_EQUAL(K.done, 1);
	rcpts = 0;
	for (p = K.log; (p = strstr(p, " D 2.0.0 250 all\n")) != NULL; p++)
		rcpts++;
	CU_ASSERT_EQUAL(rcpts, SMTP_CLIENT_RCPT_MAX - 1);
	K.msg.nrcpt = SMTP_CLIENT_RCPT_MAX + 1;
	CU_ASSERT_EQUAL(smtp_client_send(K.c, &K.msg, K.now), -EINVAL);
}

static void test_recipient_split(void)
{
	opened(EHLO_PIPE);
	msg_set(3, BODY);
	send_msg();
	OUT(PIPE_GROUP);
	IO("250 ok\r\n250 ok\r\n452 4.5.3 Too many recipients\r\n"
	   "452 4.5.3 Too many recipients\r\n354 go\r\n", SENT_BODY);
	IO("250 2.0.0 queued as Q1\r\n", "RSET\r\n" MAIL_A RCPT_1 RCPT_2 DATA_BODY);
	LOG("0 D 2.0.0 250 2.0.0 queued as Q1\n");
	IO("250 ok\r\n250 ok\r\n250 ok\r\n452 4.5.3 Too many\r\n354 go\r\n", SENT_BODY);
	IO("250 2.0.0 queued as Q2\r\n", "RSET\r\n" MAIL_A RCPT_2 DATA_BODY);
	LOG("1 D 2.0.0 250 2.0.0 queued as Q2\n");
	IO("250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n", SENT_BODY);
	IO("250 2.0.0 queued as Q3\r\n", "");
	LOG("2 D 2.0.0 250 2.0.0 queued as Q3\ndone\n");

	/* 452 with nobody accepted before it: a plain deferral */
	opened(EHLO_MIN);
	msg_set(2, BODY);
	send_msg();
	IO(OK, RCPT_0);
	IO("452 4.5.3 Too many recipients\r\n", RCPT_1);
	IO("250 ok\r\n", DATA_BODY);
	LOG("0 T 4.5.3 452 4.5.3 Too many recipients\n");
	IO(GO, SENT_BODY);
	IO(QUEUED, "");
	LOG(D_QUEUED(1) "done\n");

	/* the first transaction fails at end of data: the split-off
	 * recipients share its fate */
	opened(EHLO_PIPE);
	msg_set(2, BODY);
	send_msg();
	OUT(MAIL_A RCPT_0 RCPT_1 DATA_BODY);
	IO("250 ok\r\n250 ok\r\n452 4.5.3 Too many\r\n354 go\r\n", SENT_BODY);
	IO("554 5.6.0 rejected\r\n", "");
	LOG("0 B 5.6.0 554 5.6.0 rejected\n1 B 5.6.0 554 5.6.0 rejected\ndone\n");
}

static void test_dot_stuffing(void)
{
	static const struct { const char *in, *out; } cases[] = {
		{".hello\r\n..x\r\nmid.dle\r\n.\r\nend",
		 "..hello\r\n...x\r\nmid.dle\r\n..\r\nend\r\n.\r\n"},
		{"a\r\n.", "a\r\n..\r\n.\r\n"},
		{".", "..\r\n.\r\n"},
		{"x\r\n", "x\r\n.\r\n"},
		{"x\r\n\r\n.\r\n", "x\r\n\r\n..\r\n.\r\n"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (size_t rm = 0; rm < 3; rm++) {
			char want[256];

			opened(EHLO_PIPE);
			K.read_max = rm;
			msg_set(1, cases[i].in);
			send_msg();
			OUT(MAIL_A RCPT_0 DATA_BODY);
			snprintf(want, sizeof(want), "%s", cases[i].out);
			IO("250 ok\r\n250 ok\r\n354 go\r\n", want);
			IO(QUEUED, "");
			LOG(D_QUEUED(0) "done\n");
		}
	}
}

static void test_bdat(void)
{
	char want[64];
	static char big[20000];

	/* CHUNKING and PIPELINING: MAIL+RCPT grouped, then BDAT LAST */
	opened("250-smart.test\r\n250-PIPELINING\r\n250 CHUNKING\r\n");
	msg_set(2, BODY);
	send_msg();
	OUT(MAIL_A RCPT_0 RCPT_1);
	IO("250 ok\r\n250 ok\r\n550 5.1.1 no\r\n", "BDAT 21 LAST\r\n" BODY);
	IO("250 2.0.0 queued as B1\r\n", "");
	LOG("1 B 5.1.1 550 5.1.1 no\n0 D 2.0.0 250 2.0.0 queued as B1\ndone\n");

	/* dots are not stuffed in BDAT */
	opened("250-smart.test\r\n250 CHUNKING\r\n");
	msg_set(1, ".x\r\n.\r\n");
	send_msg();
	IO(OK, RCPT_0);
	IO(OK, "BDAT 7 LAST\r\n.x\r\n.\r\n");
	IO("250 ok\r\n", "");
	LOG("0 D 2.0.0 250 ok\ndone\n");

	/* several chunks, pipelined */
	memset(big, 'a', sizeof(big));
	for (size_t i = 78; i < sizeof(big); i += 80)
		memcpy(big + i, "\r\n", 2);
	big[sizeof(big) - 1] = '\0';
	opened("250-smart.test\r\n250-PIPELINING\r\n250 CHUNKING\r\n");
	msg_set(1, big);
	send_msg();
	OUT(MAIL_A RCPT_0);
	FEED("250 ok\r\n250 ok\r\n");
	CU_ASSERT_EQUAL(K.out_len, 11 + 11 + 16 + 19999);
	CU_ASSERT_NSTRING_EQUAL(K.out, "BDAT 8192\r\n", 11);
	CU_ASSERT_NSTRING_EQUAL(K.out + 11 + 8192, "BDAT 8192\r\n", 11);
	snprintf(want, sizeof(want), "BDAT %d LAST\r\n", 19999 - 2 * 8192);
	CU_ASSERT_NSTRING_EQUAL(K.out + 22 + 2 * 8192, want, strlen(want));
	CU_ASSERT_EQUAL(memcmp(K.out + 11, big, 8192), 0);
	K.out_len = 0;
	IO("250 2.0.0 8192 octets\r\n250 2.0.0 16384 octets\r\n", "");
	LOG("");
	IO("250 2.0.0 queued as B2\r\n", "");
	LOG("0 D 2.0.0 250 2.0.0 queued as B2\ndone\n");

	/* without PIPELINING: a chunk at a time; a refused chunk ends it */
	opened("250-smart.test\r\n250 CHUNKING\r\n");
	msg_set(1, big);
	send_msg();
	IO(OK, RCPT_0);
	FEED(OK);
	CU_ASSERT_EQUAL(K.out_len, 11 + 8192);
	K.out_len = 0;
	FEED("250 ok\r\n");
	CU_ASSERT_EQUAL(K.out_len, 11 + 8192);
	K.out_len = 0;
	IO("552 5.3.4 message too big\r\n", "");
	LOG("0 B 5.3.4 552 5.3.4 message too big\ndone\n");

	/* pipelined chunks: the first refusal decides, after every reply */
	opened("250-smart.test\r\n250-PIPELINING\r\n250 CHUNKING\r\n");
	msg_set(1, big);
	send_msg();
	FEED("250 ok\r\n250 ok\r\n");
	IO("451 4.3.0 trouble\r\n554 5.5.0 bad sequence\r\n", "");
	LOG("");
	IO("554 5.5.0 bad sequence\r\n", "");
	LOG("0 T 4.3.0 451 4.3.0 trouble\ndone\n");

	/* no recipient accepted: no BDAT */
	opened("250-smart.test\r\n250-PIPELINING\r\n250 CHUNKING\r\n");
	msg_set(1, BODY);
	send_msg();
	IO("250 ok\r\n550 5.1.1 no\r\n", "");
	LOG("0 B 5.1.1 550 5.1.1 no\ndone\n");
	CU_ASSERT_EQUAL(smtp_client_state(K.c), SMTP_CLIENT_IDLE);
}

/* ---- checks before sending, parameters ----------------------------------- */

static void test_requirements(void)
{
	/* SIZE over the advertised limit: bounced 5.3.4 before MAIL */
	opened(EHLO_ALL);
	msg_set(1, BODY);
	K.msg.size = 10001;
	send_msg();
	OUT("");
	LOG("0 B 5.3.4 local 5.3.4 message size 10001 exceeds the limit of 10000 "
	    "of smart.test\ndone\n");
	CU_ASSERT_EQUAL(smtp_client_state(K.c), SMTP_CLIENT_IDLE);

	/* within it: SIZE=, BODY=8BITMIME, SMTPUTF8 passed on */
	msg_set(1, BODY);
	K.msg.body_8bit = true;
	K.msg.smtputf8 = true;
	send_msg();
	OUT("MAIL FROM:<a@example.org> SIZE=21 BODY=8BITMIME SMTPUTF8\r\n" RCPT_0);

	/* 8-bit without 8BITMIME, UTF-8 without SMTPUTF8: 5.6.7 */
	opened("250-smart.test\r\n250 PIPELINING\r\n");
	msg_set(2, BODY);
	K.msg.body_8bit = true;
	send_msg();
	OUT("");
	LOG("0 B 5.6.7 local 5.6.7 smart.test does not support 8BITMIME\n"
	    "1 B 5.6.7 local 5.6.7 smart.test does not support 8BITMIME\ndone\n");
	msg_set(1, BODY);
	K.msg.smtputf8 = true;
	send_msg();
	LOG("0 B 5.6.7 local 5.6.7 smart.test does not support SMTPUTF8\ndone\n");
	/* the session is still usable; it never sent MAIL, so no RSET */
	msg_set(1, BODY);
	send_msg();
	OUT(MAIL_A RCPT_0 DATA_BODY);
}

static void test_dsn_params(void)
{
	static const char *const ehlos[] = {
		"250-smart.test\r\n250-PIPELINING\r\n250 DSN\r\n",
		"250-smart.test\r\n250 PIPELINING\r\n",
	};

	for (int i = 0; i < 2; i++) {
		opened(ehlos[i]);
		msg_set(3, BODY);
		K.msg.ret = SMTP_RET_HDRS;
		K.msg.envid = "QQ+2Bx";
		K.rcpt[0].notify = SMTP_NOTIFY_SUCCESS | SMTP_NOTIFY_FAILURE;
		K.rcpt[0].orcpt = "rfc822;r0@example.net";
		K.rcpt[1].notify = SMTP_NOTIFY_NEVER;
		K.rcpt[2].notify = SMTP_NOTIFY_DELAY | SMTP_NOTIFY_FAILURE |
				   SMTP_NOTIFY_SUCCESS;
		send_msg();
		if (i == 0)
			OUT("MAIL FROM:<a@example.org> RET=HDRS ENVID=QQ+2Bx\r\n"
			    "RCPT TO:<r0@example.net> NOTIFY=SUCCESS,FAILURE "
			    "ORCPT=rfc822;r0@example.net\r\n"
			    "RCPT TO:<r1@example.net> NOTIFY=NEVER\r\n"
			    "RCPT TO:<r2@example.net> NOTIFY=SUCCESS,FAILURE,DELAY\r\n"
			    DATA_BODY);
		else
			OUT(PIPE_GROUP);
	}
	/* the null reverse path */
	opened(EHLO_PIPE);
	msg_set(1, BODY);
	K.msg.from = "";
	send_msg();
	OUT("MAIL FROM:<>\r\n" RCPT_0 DATA_BODY);
}

/* ---- connection reuse, QUIT ---------------------------------------------- */

static void test_reuse(void)
{
	opened(EHLO_MIN);
	msg_set(1, BODY);
	send_msg();
	OUT(MAIL_A);
	CU_ASSERT_EQUAL(smtp_client_send(K.c, &K.msg, K.now), -EBUSY);
	IO(OK, RCPT_0);
	IO(OK, DATA_BODY);
	IO(GO, SENT_BODY);
	IO(QUEUED, "");
	LOG(D_QUEUED(0) "done\n");
	/* the second message: RSET first */
	msg_set(2, BODY);
	send_msg();
	OUT("RSET\r\n");
	IO(OK, MAIL_A);
	IO(OK, RCPT_0);
	IO(OK, RCPT_1);
	IO(OK, DATA_BODY);
	IO(GO, SENT_BODY);
	IO("250 2.0.0 queued as XYZ\r\n", "");
	LOG("0 D 2.0.0 250 2.0.0 queued as XYZ\n1 D 2.0.0 250 2.0.0 queued as XYZ\ndone\n");
	/* 421 to RSET: deferred, closed */
	msg_set(1, BODY);
	send_msg();
	OUT("RSET\r\n");
	IO("421 4.4.2 bye\r\n", "");
	LOG("0 T 4.4.2 421 4.4.2 bye\ndone\n");
	CU_ASSERT_EQUAL(smtp_client_state(K.c), SMTP_CLIENT_CLOSED);

	/* pipelined: RSET goes in the group */
	opened(EHLO_PIPE);
	msg_set(1, BODY);
	send_msg();
	OUT(MAIL_A RCPT_0 DATA_BODY);
	IO("250 ok\r\n250 ok\r\n354 go\r\n", SENT_BODY);
	IO(QUEUED, "");
	send_msg();
	OUT("RSET\r\n" MAIL_A RCPT_0 DATA_BODY);
	IO("250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n", SENT_BODY);
	IO(QUEUED, "");
	LOG(D_QUEUED(0) "done\n" D_QUEUED(0) "done\n");
	/* a refused RSET: the server is confused, pipelined commands are in
	 * flight: deferred, closed without QUIT */
	send_msg();
	OUT("RSET\r\n" MAIL_A RCPT_0 DATA_BODY);
	IO("500 5.5.1 what\r\n250 ok\r\n", "");
	LOG("0 T 4.5.1 500 5.5.1 what\ndone\n");
	CU_ASSERT_EQUAL(smtp_client_state(K.c), SMTP_CLIENT_CLOSED);

	/* QUIT when idle waits for the 221 */
	opened(EHLO_MIN);
	smtp_client_quit(K.c, K.now);
	drain();
	OUT("QUIT\r\n");
	CU_ASSERT_EQUAL(smtp_client_state(K.c), SMTP_CLIENT_QUIT);
	msg_set(1, BODY);
	CU_ASSERT_EQUAL(smtp_client_send(K.c, &K.msg, K.now), -EBUSY);
	IO("221 2.0.0 Bye\r\n", "");
	CU_ASSERT_EQUAL(smtp_client_state(K.c), SMTP_CLIENT_CLOSED);
	IO("250 late junk\r\n", "");

	/* QUIT asked while busy: after the message */
	opened(EHLO_MIN);
	msg_set(1, BODY);
	send_msg();
	OUT(MAIL_A);
	smtp_client_quit(K.c, K.now);
	IO(OK, RCPT_0);
	IO("550 5.1.1 no\r\n", "QUIT\r\n");
	LOG("0 B 5.1.1 550 5.1.1 no\ndone\n");
	IO("221 bye\r\n", "");
	CU_ASSERT_EQUAL(smtp_client_state(K.c), SMTP_CLIENT_CLOSED);

	/* QUIT asked while opening: after EHLO */
	start(SMTP_TLS_NONE);
	smtp_client_quit(K.c, K.now);
	IO(GREET, EHLO);
	IO(EHLO_MIN, "QUIT\r\n");
}

/* ---- timers, aborts, the body source ------------------------------------- */

static void expire(uint64_t after, bool fires)
{
	uint64_t d = smtp_client_deadline(K.c);

	CU_ASSERT_EQUAL(d, K.now + after);
	smtp_client_tick(K.c, d - 1);
	CU_ASSERT_NOT_EQUAL(smtp_client_state(K.c), SMTP_CLIENT_CLOSED);
	if (fires) {
		K.now = d;
		smtp_client_tick(K.c, d);
		drain();
		CU_ASSERT_EQUAL(smtp_client_state(K.c), SMTP_CLIENT_CLOSED);
	}
}

static void test_timeouts(void)
{
	/* greeting: 5 min */
	start(SMTP_TLS_NONE);
	msg_set(1, BODY);
	send_msg();
	expire(5 * MIN, true);
	OUT("");
	LOG("0 T 4.4.2 local 4.4.2 timeout waiting for the reply to the greeting "
	    "from smart.test\ndone\n");
	CU_ASSERT_EQUAL(smtp_client_deadline(K.c), UINT64_MAX);

	/* idle: no timer */
	opened(EHLO_MIN);
	CU_ASSERT_EQUAL(smtp_client_deadline(K.c), UINT64_MAX);

	/* MAIL 5, RCPT 5, DATA 2, end of data 10 min */
	static const struct { int at; uint64_t after; const char *what; } cases[] = {
		{0, 5 * MIN, "MAIL"}, {1, 5 * MIN, "RCPT"}, {2, 2 * MIN, "DATA"},
		{3, 10 * MIN, "end of data"},
	};
	for (size_t i = 0; i < 4; i++) {
		char want[200];

		opened(EHLO_MIN);
		msg_set(1, BODY);
		send_msg();
		if (cases[i].at > 0)
			IO(OK, RCPT_0);
		if (cases[i].at > 1)
			IO(OK, DATA_BODY);
		if (cases[i].at > 2)
			IO(GO, SENT_BODY);
		K.now += SEC;
		IO("", "");
		expire(cases[i].after - SEC, false);
		K.now -= SEC;
		expire(cases[i].after, true);
		snprintf(want, sizeof(want), "0 T 4.4.2 local 4.4.2 timeout waiting for "
			 "the reply to %s from smart.test\ndone\n", cases[i].what);
		LOG(want);
	}

	/* data block: 3 min without the output draining */
	static char big[60000];
	memset(big, 'b', sizeof(big) - 1);
	opened(EHLO_MIN);
	msg_set(1, big);
	send_msg();
	IO(OK, RCPT_0);
	IO(OK, DATA_BODY);
	K.no_drain = true;
	IO(GO, "");
	expire(3 * MIN, true);
	LOG("0 T 4.4.2 local 4.4.2 timeout sending the message to smart.test\ndone\n");
	K.no_drain = false;

	/* the TLS handshake: 5 min */
	tls_up(SMTP_TLS_REQUIRED);
	expire(5 * MIN, true);
	LOG("0 T 4.4.2 local 4.4.2 timeout in the TLS handshake with smart.test\ndone\n");

	/* QUIT: 5 min, then closed */
	opened(EHLO_MIN);
	smtp_client_quit(K.c, K.now);
	drain();
	expire(5 * MIN, true);
}

static void test_abort_and_body(void)
{
	/* the connection lost mid-transaction */
	opened(EHLO_MIN);
	msg_set(2, BODY);
	send_msg();
	IO(OK, RCPT_0);
	smtp_client_abort(K.c, "connection reset by smart.test");
	LOG("0 T 4.4.2 local 4.4.2 connection reset by smart.test\n"
	    "1 T 4.4.2 local 4.4.2 connection reset by smart.test\ndone\n");
	CU_ASSERT_EQUAL(smtp_client_state(K.c), SMTP_CLIENT_CLOSED);
	smtp_client_abort(K.c, "again");
	LOG("");

	/* connect failure before the greeting */
	start(SMTP_TLS_NONE);
	msg_set(1, BODY);
	send_msg();
	smtp_client_abort(K.c, "connection refused");
	LOG("0 T 4.4.2 local 4.4.2 connection refused\ndone\n");

	/* the body not there yet: -EAGAIN, then resume */
	opened(EHLO_MIN);
	msg_set(1, BODY);
	send_msg();
	IO(OK, RCPT_0);
	IO(OK, DATA_BODY);
	K.eagain = true;
	IO(GO, "");
	CU_ASSERT_EQUAL(smtp_client_deadline(K.c), UINT64_MAX);
	K.eagain = false;
	smtp_client_resume(K.c, K.now);
	drain();
	OUT(SENT_BODY);

	/* the body shorter than its size: deferred, closed */
	opened(EHLO_MIN);
	msg_set(1, BODY);
	K.msg.size = 100;
	send_msg();
	IO(OK, RCPT_0);
	IO(OK, DATA_BODY);
	IO(GO, BODY);
	LOG("0 T 4.3.0 local 4.3.0 message body unreadable at 21 (0)\ndone\n");
	CU_ASSERT_EQUAL(smtp_client_state(K.c), SMTP_CLIENT_CLOSED);
}

/* ---- DSN ----------------------------------------------------------------- */

static void test_dsn_due(void)
{
	CU_ASSERT_FALSE(smtp_dsn_due("", 0, SMTP_DSN_FAILED));
	CU_ASSERT_FALSE(smtp_dsn_due(NULL, 0, SMTP_DSN_FAILED));
	CU_ASSERT_TRUE(smtp_dsn_due("a@b", 0, SMTP_DSN_FAILED));
	CU_ASSERT_TRUE(smtp_dsn_due("a@b", 0, SMTP_DSN_DELAYED));
	CU_ASSERT_FALSE(smtp_dsn_due("a@b", 0, SMTP_DSN_DELIVERED));
	CU_ASSERT_FALSE(smtp_dsn_due("a@b", 0, SMTP_DSN_RELAYED));
	CU_ASSERT_FALSE(smtp_dsn_due("a@b", SMTP_NOTIFY_NEVER, SMTP_DSN_FAILED));
	CU_ASSERT_TRUE(smtp_dsn_due("a@b", SMTP_NOTIFY_SUCCESS, SMTP_DSN_DELIVERED));
	CU_ASSERT_TRUE(smtp_dsn_due("a@b", SMTP_NOTIFY_SUCCESS, SMTP_DSN_RELAYED));
	CU_ASSERT_FALSE(smtp_dsn_due("a@b", SMTP_NOTIFY_SUCCESS, SMTP_DSN_FAILED));
	CU_ASSERT_FALSE(smtp_dsn_due("a@b", SMTP_NOTIFY_FAILURE, SMTP_DSN_DELAYED));
	CU_ASSERT_TRUE(smtp_dsn_due("a@b", SMTP_NOTIFY_DELAY, SMTP_DSN_DELAYED));
}

/* A parsed MIME part: its header block and body. */
struct part {
	const char *hdr, *body;
	size_t hlen, blen;
};

/* The value of header NAME in H (HLEN octets), unfolded, into OUT. */
static bool field(const char *h, size_t hlen, const char *name, char *out, size_t cap)
{
	size_t nl = strlen(name), o = 0;

	for (const char *p = h; p < h + hlen;) {
		const char *e = memmem(p, (size_t)(h + hlen - p), "\r\n", 2);

		if (e == NULL)
			e = h + hlen;
		if ((size_t)(e - p) > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			p += nl + 1;
			while (*p == ' ')
				p++;
			for (;;) {
				while (p < e && o + 1 < cap)
					out[o++] = *p++;
				if (e + 2 < h + hlen && (e[2] == ' ' || e[2] == '\t')) {
					p = e + 2;
					while (*p == ' ' || *p == '\t')
						p++;
					out[o++] = ' ';
					e = memmem(p, (size_t)(h + hlen - p), "\r\n", 2);
					if (e == NULL)
						e = h + hlen;
					continue;
				}
				break;
			}
			out[o] = '\0';
			return true;
		}
		p = e + 2;
	}
	return false;
}

/* Split the multipart body of DSN into parts; returns their count. */
static int mime_parts(const char *dsn, size_t len, struct part *parts, int max)
{
	char ct[512], delim[300];
	const char *b, *hend, *p, *end = dsn + len;
	int n = 0;

	hend = memmem(dsn, len, "\r\n\r\n", 4);
	if (hend == NULL || !field(dsn, (size_t)(hend - dsn) + 2, "Content-Type", ct, sizeof(ct)))
		return -1;
	if (strncmp(ct, "multipart/report; report-type=delivery-status; ", 47) != 0)
		return -1;
	b = strstr(ct, "boundary=\"");
	if (b == NULL)
		return -1;
	b += 10;
	snprintf(delim, sizeof(delim), "\r\n--%.*s", (int)strcspn(b, "\""), b);
	p = memmem(dsn, len, delim + 2, strlen(delim) - 2);
	while (p != NULL && n < max) {
		const char *start = p + strlen(delim) - 2, *next;

		if (start + 2 <= end && start[0] == '-' && start[1] == '-')
			return n; /* closing delimiter */
		start += 2; /* CRLF */
		next = memmem(start, (size_t)(end - start), delim, strlen(delim));
		if (next == NULL)
			return -1;
		hend = memmem(start, (size_t)(next - start), "\r\n\r\n", 4);
		if (hend == NULL)
			return -1;
		parts[n].hdr = start;
		parts[n].hlen = (size_t)(hend - start) + 2;
		parts[n].body = hend + 4;
		parts[n].blen = (size_t)(next - parts[n].body);
		n++;
		p = next + 2;
	}
	return -1;
}

/* The delivery-status part's groups: per-message, then per recipient. */
static int ds_groups(const struct part *ds, struct part *g, int max)
{
	const char *p = ds->body, *end = ds->body + ds->blen;
	int n = 0;

	while (p < end && n < max) {
		const char *e = memmem(p, (size_t)(end - p), "\r\n\r\n", 4);
		size_t l = e != NULL ? (size_t)(e - p) + 2 : (size_t)(end - p);

		g[n].hdr = p;
		g[n].hlen = l;
		n++;
		p += l + 2;
	}
	return n;
}

#define FIELD_IS(h, hl, name, want) do { char v_[2048]; \
	CU_ASSERT_TRUE(field(h, hl, name, v_, sizeof(v_))); \
	check_str(name, v_, want, __LINE__); } while (0)

static void test_dsn_build(void)
{
	static const char orig[] =
		"Received: from a by b\r\nSubject: hello\r\nFrom: <a@example.org>\r\n"
		"\r\nthe body\r\n.dot line\r\n";
	char longdiag[1100];
	struct smtp_dsn_rcpt r[2] = {
		{ .addr = "r0@example.net", .orcpt = "rfc822;R0@example.net",
		  .action = SMTP_DSN_FAILED, .status = "5.1.1",
		  .remote_mta = "smart.test", .diag = "550 5.1.1 no such user",
		  .diag_smtp = true, .last_attempt = 1795746600 },
		{ .addr = "r1@example.net", .action = SMTP_DSN_DELAYED,
		  .status = "4.4.2", .diag = "4.4.2 timeout", .diag_smtp = false },
	};
	struct smtp_dsn d = {
		.reporting_mta = "relay.test", .qid = "ABCDEF1234",
		.sender = "a@example.org", .envid = "ENV1", .ret = SMTP_RET_UNSET,
		.arrival = 1795746593, .now = 1795746700,
		.msg = (const uint8_t *)orig, .msg_len = sizeof(orig) - 1,
		.rcpt = r, .nrcpt = 2,
	};
	static char buf[16384];
	struct part parts[4], g[4];
	const char *hend;
	int len;

	len = smtp_dsn_build(&d, buf, sizeof(buf));
	CU_ASSERT_FATAL(len > 0);
	buf[len] = '\0';
	hend = strstr(buf, "\r\n\r\n");
	CU_ASSERT_FATAL(hend != NULL);
	FIELD_IS(buf, (size_t)(hend - buf) + 2, "To", "<a@example.org>");
	FIELD_IS(buf, (size_t)(hend - buf) + 2, "From",
		 "Mail Delivery System <MAILER-DAEMON@relay.test>");
	FIELD_IS(buf, (size_t)(hend - buf) + 2, "Subject",
		 "Undelivered Mail Returned to Sender");
	FIELD_IS(buf, (size_t)(hend - buf) + 2, "Date", "Fri, 27 Nov 2026 02:31:40 +0000");
	FIELD_IS(buf, (size_t)(hend - buf) + 2, "Auto-Submitted", "auto-replied");
	FIELD_IS(buf, (size_t)(hend - buf) + 2, "MIME-Version", "1.0");
	CU_ASSERT_EQUAL_FATAL(mime_parts(buf, (size_t)len, parts, 4), 3);
	FIELD_IS(parts[0].hdr, parts[0].hlen, "Content-Type", "text/plain; charset=us-ascii");
	CU_ASSERT_PTR_NOT_NULL(memmem(parts[0].body, parts[0].blen,
				      "<r0@example.net>: failed\r\n    550 5.1.1 no such user\r\n", 54));
	FIELD_IS(parts[1].hdr, parts[1].hlen, "Content-Type", "message/delivery-status");
	FIELD_IS(parts[2].hdr, parts[2].hlen, "Content-Type", "message/rfc822");
	CU_ASSERT_EQUAL(parts[2].blen, sizeof(orig) - 1);
	CU_ASSERT_EQUAL(memcmp(parts[2].body, orig, sizeof(orig) - 1), 0);

	CU_ASSERT_EQUAL_FATAL(ds_groups(&parts[1], g, 4), 3);
	FIELD_IS(g[0].hdr, g[0].hlen, "Reporting-MTA", "dns; relay.test");
	FIELD_IS(g[0].hdr, g[0].hlen, "Original-Envelope-Id", "ENV1");
	FIELD_IS(g[0].hdr, g[0].hlen, "Arrival-Date", "Fri, 27 Nov 2026 02:29:53 +0000");
	FIELD_IS(g[1].hdr, g[1].hlen, "Final-Recipient", "rfc822; r0@example.net");
	FIELD_IS(g[1].hdr, g[1].hlen, "Original-Recipient", "rfc822;R0@example.net");
	FIELD_IS(g[1].hdr, g[1].hlen, "Action", "failed");
	FIELD_IS(g[1].hdr, g[1].hlen, "Status", "5.1.1");
	FIELD_IS(g[1].hdr, g[1].hlen, "Remote-MTA", "dns; smart.test");
	FIELD_IS(g[1].hdr, g[1].hlen, "Diagnostic-Code", "smtp; 550 5.1.1 no such user");
	FIELD_IS(g[1].hdr, g[1].hlen, "Last-Attempt-Date", "Fri, 27 Nov 2026 02:30:00 +0000");
	FIELD_IS(g[2].hdr, g[2].hlen, "Final-Recipient", "rfc822; r1@example.net");
	FIELD_IS(g[2].hdr, g[2].hlen, "Action", "delayed");
	FIELD_IS(g[2].hdr, g[2].hlen, "Status", "4.4.2");
	FIELD_IS(g[2].hdr, g[2].hlen, "Diagnostic-Code", "X-Sluice; 4.4.2 timeout");
	CU_ASSERT_FALSE(field(g[2].hdr, g[2].hlen, "Remote-MTA", longdiag, sizeof(longdiag)));

	/* RET=HDRS: the headers only; a long reply folded under 78 columns */
	memset(longdiag, 0, sizeof(longdiag));
	strcpy(longdiag, "550 5.7.1");
	for (int i = 0; i < 100; i++)
		strcat(longdiag, " word");
	r[0].diag = longdiag;
	d.ret = SMTP_RET_HDRS;
	len = smtp_dsn_build(&d, buf, sizeof(buf));
	CU_ASSERT_FATAL(len > 0);
	CU_ASSERT_EQUAL_FATAL(mime_parts(buf, (size_t)len, parts, 4), 3);
	FIELD_IS(parts[2].hdr, parts[2].hlen, "Content-Type", "text/rfc822-headers");
	CU_ASSERT_EQUAL(parts[2].blen, (size_t)(strstr(orig, "\r\n\r\n") + 4 - orig));
	CU_ASSERT_EQUAL(ds_groups(&parts[1], g, 4), 3);
	char want[1200];
	snprintf(want, sizeof(want), "smtp; %s", longdiag);
	FIELD_IS(g[1].hdr, g[1].hlen, "Diagnostic-Code", want);
	for (const char *p = buf, *e; (e = strstr(p, "\r\n")) != NULL; p = e + 2)
		CU_ASSERT(e - p <= 998);

	/* a delay notice alone returns headers when RET is absent */
	d.ret = SMTP_RET_UNSET;
	d.rcpt = &r[1];
	d.nrcpt = 1;
	len = smtp_dsn_build(&d, buf, sizeof(buf));
	CU_ASSERT_FATAL(len > 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "Subject: Delayed Mail (still being retried)\r\n"));
	CU_ASSERT_EQUAL_FATAL(mime_parts(buf, (size_t)len, parts, 4), 3);
	FIELD_IS(parts[2].hdr, parts[2].hlen, "Content-Type", "text/rfc822-headers");

	/* a boundary that the message contains is not used */
	static char trap[512];
	snprintf(trap, sizeof(trap), "Subject: x\r\n\r\n--=_ABCDEF1234.1795746700.0/relay.test\r\n");
	d.msg = (const uint8_t *)trap;
	d.msg_len = strlen(trap);
	d.ret = SMTP_RET_FULL;
	len = smtp_dsn_build(&d, buf, sizeof(buf));
	CU_ASSERT_FATAL(len > 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "boundary=\"=_ABCDEF1234.1795746700.1/relay.test\""));
	CU_ASSERT_EQUAL(mime_parts(buf, (size_t)len, parts, 4), 3);

	/* none for the null sender; no room */
	d.sender = "";
	CU_ASSERT_EQUAL(smtp_dsn_build(&d, buf, sizeof(buf)), -EINVAL);
	d.sender = "a@example.org";
	CU_ASSERT_EQUAL(smtp_dsn_build(&d, buf, 100), -ENOSPC);
}

void test_smtp_client_register(void)
{
	static const struct {
		const char *name;
		CU_TestFunc fn;
	} tests[] = {
		{"reply parser", test_reply_parser},
		{"greeting 220, 421, 554", test_greeting},
		{"EHLO, capabilities, HELO fallback", test_ehlo},
		{"STARTTLS under each policy", test_starttls},
		{"AUTH PLAIN and LOGIN", test_auth},
		{"each reply at each transaction step", test_transaction},
		{"multiline and garbage replies", test_multiline},
		{"replies out of protocol", test_out_of_protocol},
		{"pipelined replies split everywhere", test_pipelining},
		{"a group larger than the output buffer", test_large_group},
		{"452 recipient split", test_recipient_split},
		{"dot-stuffing", test_dot_stuffing},
		{"BDAT", test_bdat},
		{"SIZE, 8BITMIME, SMTPUTF8", test_requirements},
		{"DSN parameters", test_dsn_params},
		{"connection reuse, RSET, QUIT", test_reuse},
		{"timeouts", test_timeouts},
		{"abort and the body source", test_abort_and_body},
		{"DSN due", test_dsn_due},
		{"DSN built and parsed back", test_dsn_build},
	};
	CU_pSuite s = CU_add_suite("smtp_client", NULL, NULL);

	if (s == NULL)
		return;
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		CU_add_test(s, tests[i].name, tests[i].fn);
}
