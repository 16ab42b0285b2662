/*
 * test_smtp: the SMTP server engine (dataplane/smtp) against an in-memory
 * sink.  Every test drives a session with bytes and asserts the exact
 * reply bytes a client would read, and what the sink (the spool's place)
 * received: envelopes, unstuffed bodies, completions and aborts.  Covers
 * every command in every state, pipelining, BDAT, limits, smuggling,
 * STARTTLS injection, AUTH, the commit wait, timeouts and input split at
 * every byte boundary.  Parser tables for smtp_addr / smtp_param are in
 * test_smtp_parse.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <openssl/evp.h>

#include "dataplane/smtp/smtp_server.h"
#include "tests/unit/suites.h"

#define OUT_MAX  (1 << 16)
#define BODY_MAX (1 << 18)
#define SEC      1000000ull

struct sink {
	struct smtp_server *s;
	void *mem;
	uint64_t now;
	int begins, completes, aborts, tls_starts, auth_checks;
	bool auto_commit, auto_auth;
	enum smtp_commit commit_res;
	enum smtp_auth_result auth_res;
	char out[OUT_MAX];
	size_t out_len;
	char body[BODY_MAX];
	size_t body_len;
	char from[300], rcpt[4][300], orcpt[300], helo[300], envid[128];
	char auth_user[300], auth_pass[300], auth_authzid[300], auth_mech[16];
	char env_auth[300], env_tls[64];
	unsigned nrcpt, notify;
	bool chunking, smtputf8;
	uint64_t size;
	enum smtp_ret ret;
	char received[1024];
	int rejects;
	char last_reject[600];
	const char *refuse[3];       /* ops->check's answer per stage */
	const char *refuse_addr;     /* ...only for this address (NULL: any) */
	char checked[600];           /* "stage:addr " per check */
};

static struct sink K;

static void on_begin(void *arg, const struct smtp_envelope *e)
{
	struct sink *k = arg;

	k->begins++;
	k->body_len = 0;
	snprintf(k->from, sizeof(k->from), "%s", e->mail_from);
	snprintf(k->helo, sizeof(k->helo), "%s", e->helo);
	k->nrcpt = e->nrcpt;
	for (unsigned i = 0; i < e->nrcpt && i < 4; i++)
		snprintf(k->rcpt[i], sizeof(k->rcpt[i]), "%s", e->rcpt[i].addr);
	snprintf(k->orcpt, sizeof(k->orcpt), "%s", e->rcpt[0].orcpt ? e->rcpt[0].orcpt : "-");
	k->notify = e->rcpt[0].notify;
	snprintf(k->envid, sizeof(k->envid), "%s", e->mail->envid);
	k->ret = e->mail->ret;
	k->size = e->mail->size;
	k->smtputf8 = e->mail->smtputf8;
	k->chunking = e->chunking;
	snprintf(k->env_auth, sizeof(k->env_auth), "%s", e->auth_user ? e->auth_user : "-");
	snprintf(k->env_tls, sizeof(k->env_tls), "%s", e->tls_version ? e->tls_version : "-");
	if (smtp_received(e, "mx.test", "QID1", 1795746593, k->received,
			  sizeof(k->received)) < 0)
		k->received[0] = '\0';
}

static void on_body(void *arg, const uint8_t *p, size_t n)
{
	struct sink *k = arg;

	CU_ASSERT_FATAL(k->body_len + n <= BODY_MAX);
	memcpy(k->body + k->body_len, p, n);
	k->body_len += n;
}

static void on_end(void *arg, enum smtp_tx_end how)
{
	struct sink *k = arg;

	if (how == SMTP_TX_COMPLETE) {
		k->completes++;
		if (k->auto_commit)
			smtp_server_commit_done(k->s, k->commit_res, "QID1", k->now);
	} else {
		k->aborts++;
	}
}

static void on_auth(void *arg, const struct smtp_auth_req *r)
{
	struct sink *k = arg;

	k->auth_checks++;
	snprintf(k->auth_mech, sizeof(k->auth_mech), "%s", r->mech);
	snprintf(k->auth_authzid, sizeof(k->auth_authzid), "%s", r->authzid);
	snprintf(k->auth_user, sizeof(k->auth_user), "%.*s", (int)r->user_len, r->user);
	snprintf(k->auth_pass, sizeof(k->auth_pass), "%.*s", (int)r->pass_len, r->pass);
	if (k->auto_auth)
		smtp_server_auth_result(k->s, k->auth_res, k->now);
}

static void on_tls(void *arg)
{
	((struct sink *)arg)->tls_starts++;
}

static void on_reject(void *arg, const char *reply, size_t len)
{
	struct sink *k = arg;

	k->rejects++;
	snprintf(k->last_reject, sizeof(k->last_reject), "%.*s", (int)len, reply);
}

static const char *on_check(void *arg, enum smtp_stage stage, const char *addr)
{
	struct sink *k = arg;
	size_t n = strlen(k->checked);

	snprintf(k->checked + n, sizeof(k->checked) - n, "%d:%s ", (int)stage,
		 addr ? addr : "-");
	if (k->refuse_addr != NULL && (addr == NULL || strcmp(addr, k->refuse_addr) != 0))
		return NULL;
	return k->refuse[stage];
}

static const struct smtp_server_ops OPS = {
	.tx_begin = on_begin, .tx_body = on_body, .tx_end = on_end,
	.auth_check = on_auth, .tls_start = on_tls, .reject = on_reject,
	.check = on_check,
};

static void conf_test(struct smtp_server_conf *c)
{
	smtp_server_conf_default(c);
	snprintf(c->hostname, sizeof(c->hostname), "mx.test");
	c->max_msg_size = 100000;
	c->starttls = true;
	c->auth = true;
	c->max_errors = 100;
}

static void drain(void)
{
	const uint8_t *p;
	size_t n = smtp_server_output(K.s, &p);

	CU_ASSERT_FATAL(K.out_len + n < OUT_MAX);
	memcpy(K.out + K.out_len, p, n);
	K.out_len += n;
	K.out[K.out_len] = '\0';
	smtp_server_consume(K.s, n);
}

static void start_conf(const struct smtp_server_conf *c, enum smtp_admission adm)
{
	free(K.mem);
	memset(&K, 0, sizeof(K));
	K.mem = malloc(smtp_server_size());
	CU_ASSERT_FATAL(K.mem != NULL);
	K.auto_commit = K.auto_auth = true;
	K.now = 1000 * SEC;
	K.s = smtp_server_init(K.mem, c, &OPS, &K, "192.0.2.7", adm, K.now);
	drain();
}

static void start(enum smtp_admission adm)
{
	struct smtp_server_conf c;

	conf_test(&c);
	start_conf(&c, adm);
}

/* Feed LEN bytes as one segment, draining after every call, as a TCP
 * receive path would; returns the bytes taken (less when held). */
static size_t feed_n(const char *in, size_t len)
{
	size_t used = 0;

	for (;;) {
		size_t n = smtp_server_feed(K.s, (const uint8_t *)in + used,
					    len - used, K.now);
		used += n;
		drain();
		if (used == len || n == 0)
			return used;
	}
}

static size_t feed(const char *in)
{
	return feed_n(in, strlen(in));
}

static void check_out(const char *want, unsigned line)
{
	char msg[OUT_MAX + 256];

	snprintf(msg, sizeof(msg), "output \"%s\" should be \"%s\"", K.out, want);
	CU_assertImplementation(strcmp(K.out, want) == 0, line, msg, __FILE__, "",
				CU_FALSE);
}

/* IN (one segment) must produce exactly OUT. */
#define IO(in, want) do { K.out_len = 0; K.out[0] = '\0'; feed(in); \
	check_out(want, __LINE__); } while (0)
#define IO_N(in, n, want) do { K.out_len = 0; K.out[0] = '\0'; feed_n(in, n); \
	check_out(want, __LINE__); } while (0)

#define EHLO_PLAIN \
	"250-mx.test\r\n250-PIPELINING\r\n250-SIZE 100000\r\n250-8BITMIME\r\n" \
	"250-SMTPUTF8\r\n250-ENHANCEDSTATUSCODES\r\n250-CHUNKING\r\n250-DSN\r\n" \
	"250 STARTTLS\r\n"
#define EHLO_TLS \
	"250-mx.test\r\n250-PIPELINING\r\n250-SIZE 100000\r\n250-8BITMIME\r\n" \
	"250-SMTPUTF8\r\n250-ENHANCEDSTATUSCODES\r\n250-CHUNKING\r\n250-DSN\r\n" \
	"250 AUTH PLAIN LOGIN\r\n"
#define OK "250 2.0.0 Ok\r\n"
#define MAIL_OK "250 2.1.0 Ok\r\n"
#define RCPT_OK "250 2.1.5 Ok\r\n"
#define GO "354 End data with <CR><LF>.<CR><LF>\r\n"
#define QUEUED "250 2.0.0 Ok: queued as QID1\r\n"

static void ready(void)
{
	start(SMTP_ADMIT_ALLOW);
	IO("EHLO client.example\r\n", EHLO_PLAIN);
}

static void envelope(void)
{
	ready();
	IO("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\n", MAIL_OK RCPT_OK);
}

/* Bring the session under TLS with a fresh EHLO. */
static void under_tls(enum smtp_admission adm)
{
	start(adm);
	IO("EHLO c\r\nSTARTTLS\r\n", EHLO_PLAIN "220 2.0.0 Ready to start TLS\r\n");
	CU_ASSERT_EQUAL(smtp_server_tls_started(K.s, "TLSv1.3", "TLS_AES_256_GCM_SHA384", K.now), 0);
	IO("EHLO c\r\n", EHLO_TLS);
}

static const char *b64(const char *s, size_t n)
{
	static char buf[2][512];
	static int w;

	w ^= 1;
	EVP_EncodeBlock((unsigned char *)buf[w], (const unsigned char *)s, (int)n);
	return buf[w];
}

/* ---- greeting and admission ---------------------------------------------- */

static void test_admission(void)
{
	start(SMTP_ADMIT_ALLOW);
	check_out("220 mx.test ESMTP\r\n", __LINE__);
	CU_ASSERT_FALSE(smtp_server_closing(K.s));

	start(SMTP_ADMIT_REJECT_451);
	check_out("451 4.7.1 Client address [192.0.2.7] is not allowed, try again later\r\n", __LINE__);
	CU_ASSERT_TRUE(smtp_server_closing(K.s));
	IO("EHLO x\r\n", "");

	start(SMTP_ADMIT_REJECT_554);
	check_out("554 5.7.1 Client address [192.0.2.7] is not allowed\r\n", __LINE__);
	CU_ASSERT_TRUE(smtp_server_closing(K.s));

	start(SMTP_ADMIT_DROP);
	check_out("", __LINE__);
	CU_ASSERT_TRUE(smtp_server_closing(K.s));
	CU_ASSERT_EQUAL(feed("EHLO x\r\n"), 8);
	check_out("", __LINE__);
}

/* ---- every command before HELO/EHLO -------------------------------------- */

static void test_before_helo(void)
{
	start(SMTP_ADMIT_ALLOW);
	IO("MAIL FROM:<a@b.c>\r\n", "503 5.5.1 Error: send HELO/EHLO first\r\n");
	IO("RCPT TO:<a@b.c>\r\n", "503 5.5.1 Error: need MAIL command\r\n");
	IO("DATA\r\n", "503 5.5.1 Error: need MAIL command\r\n");
	IO("BDAT 3\r\nabc", "503 5.5.1 Error: need MAIL command\r\n");
	IO("RSET\r\n", OK);
	IO("NOOP\r\n", OK);
	IO("NOOP anything\r\n", OK);
	IO("VRFY bob\r\n", "252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery\r\n");
	IO("VRFY\r\n", "501 5.5.4 Syntax: VRFY address\r\n");
	IO("HELP\r\n", "214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS AUTH\r\n");
	IO("EXPN list\r\n", "502 5.5.1 Error: command not implemented\r\n");
	IO("AUTH PLAIN\r\n", "538 5.7.11 Encryption required for requested authentication mechanism\r\n");
	IO("TURN\r\n", "500 5.5.2 Error: command not recognized\r\n");
	IO("\r\n", "500 5.5.2 Error: command not recognized\r\n");
	IO("EHLO\r\n", "501 5.5.4 Syntax: EHLO hostname\r\n");
	CU_ASSERT_FALSE(smtp_server_closing(K.s));
	IO("QUIT\r\n", "221 2.0.0 Bye\r\n");
	CU_ASSERT_TRUE(smtp_server_closing(K.s));
	IO("NOOP\r\n", "");
	CU_ASSERT_EQUAL(K.begins, 0);
}

static void test_helo_ehlo(void)
{
	start(SMTP_ADMIT_ALLOW);
	IO("HELO client.example\r\n", "250 mx.test\r\n");
	IO("MAIL FROM:<a@b.c> SIZE=10\r\n", "555 5.5.4 Parameters need EHLO\r\n");
	IO("MAIL FROM:<a@b.c>\r\n", MAIL_OK);
	IO("EHLO again\r\n", EHLO_PLAIN); /* resets the transaction */
	IO("RCPT TO:<x@y.z>\r\n", "503 5.5.1 Error: need MAIL command\r\n");
	IO("ehlo lower\r\n", EHLO_PLAIN);
	IO("EHLO  \r\n", "501 5.5.4 Syntax: EHLO hostname\r\n");
	IO("helo   bad(name) extra\r\n", "250 mx.test\r\n");
	IO("MAIL FROM:<a@b.c>\r\nRCPT TO:<x@y.z>\r\nDATA\r\n.\r\n", MAIL_OK RCPT_OK GO QUEUED);
	CU_ASSERT_STRING_EQUAL(K.helo, "bad?name?");

	struct smtp_server_conf c;

	conf_test(&c);
	c.starttls = false;
	start_conf(&c, SMTP_ADMIT_ALLOW);
	IO("EHLO x\r\n", "250-mx.test\r\n250-PIPELINING\r\n250-SIZE 100000\r\n250-8BITMIME\r\n"
	   "250-SMTPUTF8\r\n250-ENHANCEDSTATUSCODES\r\n250-CHUNKING\r\n250 DSN\r\n");
	IO("STARTTLS\r\n", "502 5.5.1 Error: command not implemented\r\n");
}

/* ---- every command in every state ----------------------------------------- */

enum { ST_GREETED, ST_HELO, ST_MAIL, ST_RCPT, ST_BDAT, ST_N };

/* A fresh session in state ST, under TLS when asked (greeted: right after
 * the handshake, before the new EHLO). */
static void reach(int st, bool tls)
{
	start(SMTP_ADMIT_ALLOW);
	if (tls) {
		IO("STARTTLS\r\n", "220 2.0.0 Ready to start TLS\r\n");
		CU_ASSERT_EQUAL(smtp_server_tls_started(K.s, "TLSv1.2",
							"ECDHE-RSA-AES128-GCM-SHA256", K.now), 0);
	}
	if (st >= ST_HELO)
		IO("EHLO c\r\n", tls ? EHLO_TLS : EHLO_PLAIN);
	if (st >= ST_MAIL)
		IO("MAIL FROM:<a@b.c>\r\n", MAIL_OK);
	if (st >= ST_RCPT)
		IO("RCPT TO:<x@y.z>\r\n", RCPT_OK);
	if (st >= ST_BDAT)
		IO("BDAT 3\r\nabc", "250 2.0.0 Ok: 3 octets received\r\n");
}

static void test_command_matrix(void)
{
#define NEED_MAIL "503 5.5.1 Error: need MAIL command\r\n"
#define NESTED "503 5.5.1 Error: nested MAIL command\r\n"
#define ALL5(r) {r, r, r, r, r}
	static const struct {
		const char *cmd;
		const char *reply[ST_N]; /* greeted, helo, mail, rcpt, bdat */
	} m[] = {
		{"EHLO c\r\n", ALL5(EHLO_PLAIN)},
		{"HELO c\r\n", ALL5("250 mx.test\r\n")},
		{"MAIL FROM:<a@b.c>\r\n", {"503 5.5.1 Error: send HELO/EHLO first\r\n",
					     MAIL_OK, NESTED, NESTED, NESTED}},
		{"RCPT TO:<x@y.z>\r\n", {NEED_MAIL, NEED_MAIL, RCPT_OK, RCPT_OK,
					   "503 5.5.1 Error: RCPT after BDAT\r\n"}},
		{"DATA\r\n", {NEED_MAIL, NEED_MAIL, "503 5.5.1 Error: need RCPT command\r\n",
				GO, "503 5.5.1 Error: DATA after BDAT\r\n"}},
		{"BDAT 0\r\n", {NEED_MAIL, NEED_MAIL, "503 5.5.1 Error: need RCPT command\r\n",
				  "250 2.0.0 Ok: 0 octets received\r\n",
				  "250 2.0.0 Ok: 0 octets received\r\n"}},
		{"RSET\r\n", ALL5(OK)},
		{"NOOP\r\n", ALL5(OK)},
		{"VRFY x\r\n", ALL5("252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery\r\n")},
		{"HELP\r\n", ALL5("214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS AUTH\r\n")},
		{"EXPN x\r\n", ALL5("502 5.5.1 Error: command not implemented\r\n")},
		{"STARTTLS\r\n", ALL5("220 2.0.0 Ready to start TLS\r\n")},
		{"AUTH PLAIN\r\n", ALL5("538 5.7.11 Encryption required for requested authentication mechanism\r\n")},
		{"QUIT\r\n", ALL5("221 2.0.0 Bye\r\n")},
		{"BOGUS\r\n", ALL5("500 5.5.2 Error: command not recognized\r\n")},
	};
	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		for (int st = 0; st < ST_N; st++) {
			reach(st, false);
			IO(m[i].cmd, m[i].reply[st]);
			if (strcmp(K.out, m[i].reply[st]) != 0)
				fprintf(stderr, "state %d: %s", st, m[i].cmd);
			/* only a completed chunk sequence is handed over */
			CU_ASSERT_EQUAL(K.completes, 0);
		}
	}
	/* the commands that change under TLS */
	static const char *const auth_tls[ST_N] = {
		"503 5.5.1 Error: send EHLO first\r\n", "334 \r\n",
		"503 5.5.1 Error: MAIL transaction in progress\r\n",
		"503 5.5.1 Error: MAIL transaction in progress\r\n",
		"503 5.5.1 Error: MAIL transaction in progress\r\n",
	};
	for (int st = 0; st < ST_N; st++) {
		reach(st, true);
		IO("AUTH PLAIN\r\n", auth_tls[st]);
		reach(st, true);
		IO("STARTTLS\r\n", "503 5.5.1 Error: TLS already active\r\n");
	}
	/* an unknown client that may authenticate */
	static const char *const unauth[] = {"MAIL FROM:<a@b.c>\r\n", "RCPT TO:<x@y.z>\r\n",
					     "DATA\r\n", "BDAT 1 LAST\r\nx", "VRFY x\r\n"};
	for (size_t i = 0; i < sizeof(unauth) / sizeof(unauth[0]); i++) {
		start(SMTP_ADMIT_AUTH);
		IO("EHLO c\r\n", EHLO_PLAIN);
		IO(unauth[i], "530 5.7.0 Authentication required\r\n");
		IO("NOOP\r\n", OK);
	}
}

/* ---- a whole transaction ------------------------------------------------- */

static void test_transaction(void)
{
	envelope();
	IO("RCPT TO:<Postmaster>\r\n", RCPT_OK);
	IO("DATA\r\n", GO);
	CU_ASSERT_EQUAL(K.begins, 1);
	CU_ASSERT_STRING_EQUAL(K.from, "a@example.org");
	CU_ASSERT_EQUAL(K.nrcpt, 2);
	CU_ASSERT_STRING_EQUAL(K.rcpt[0], "b@example.net");
	CU_ASSERT_STRING_EQUAL(K.rcpt[1], "Postmaster");
	CU_ASSERT_FALSE(K.chunking);
	IO("Subject: hi\r\n\r\n..leading dot\r\n.\r\n", QUEUED);
	CU_ASSERT_EQUAL(K.body_len, strlen("Subject: hi\r\n\r\n.leading dot\r\n"));
	CU_ASSERT_NSTRING_EQUAL(K.body, "Subject: hi\r\n\r\n.leading dot\r\n", K.body_len);
	CU_ASSERT_EQUAL(K.completes, 1);
	CU_ASSERT_EQUAL(K.aborts, 0);
	/* the session is ready for the next transaction */
	IO("MAIL FROM:<>\r\nRCPT TO:<c@example.net>\r\nDATA\r\n", MAIL_OK RCPT_OK GO);
	CU_ASSERT_STRING_EQUAL(K.from, "");
	IO(".\r\n", QUEUED);
	CU_ASSERT_EQUAL(K.body_len, 0);
	IO("RSET\r\nRSET x\r\nQUIT\r\n", OK "501 5.5.4 Syntax: RSET\r\n" "221 2.0.0 Bye\r\n");
	CU_ASSERT_EQUAL(K.completes, 2);
}

static void test_sequence_errors(void)
{
	ready();
	IO("RCPT TO:<b@c.d>\r\n", "503 5.5.1 Error: need MAIL command\r\n");
	IO("DATA\r\n", "503 5.5.1 Error: need MAIL command\r\n");
	IO("MAIL FROM:<a@b.c>\r\n", MAIL_OK);
	IO("MAIL FROM:<a@b.c>\r\n", "503 5.5.1 Error: nested MAIL command\r\n");
	IO("DATA\r\n", "503 5.5.1 Error: need RCPT command\r\n");
	IO("RCPT TO:<bad\r\n", "501 5.1.3 Bad recipient address syntax\r\n");
	IO("DATA\r\n", "554 5.5.1 Error: no valid recipients\r\n");
	IO("RCPT TO:<>\r\n", "501 5.1.3 Bad recipient address syntax\r\n");
	IO("RCPT <b@c.d>\r\n", "501 5.5.4 Syntax: RCPT TO:<address>\r\n");
	IO("RCPT TO:<b@c.d> FOO=1\r\n", "555 5.5.4 Unsupported parameter\r\n");
	IO("RCPT TO:<b@c.d> NOTIFY=NEVER,DELAY\r\n", "501 5.5.4 Bad parameter syntax\r\n");
	IO("RCPT TO:<b@c.d> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b+40c.d\r\n", RCPT_OK);
	IO("DATA x\r\n", "501 5.5.4 Syntax: DATA\r\n");
	IO("DATA\r\n", GO);
	CU_ASSERT_STRING_EQUAL(K.orcpt, "rfc822;b+40c.d");
	CU_ASSERT_EQUAL(K.notify, SMTP_NOTIFY_SUCCESS | SMTP_NOTIFY_FAILURE);
	IO(".\r\n", QUEUED);
	IO("STARTTLS now\r\n", "501 5.5.4 Syntax: STARTTLS\r\n");
}

static void test_mail_params(void)
{
	ready();
	IO("MAIL FROM:<a@b.c> SIZE=100001\r\n",
	   "552 5.3.4 Message size exceeds fixed maximum message size\r\n");
	IO("MAIL FROM:<a@b.c> BODY=BINARYMIME\r\n", "555 5.5.4 Unsupported parameter\r\n");
	IO("MAIL FROM:<a@b.c> SIZE=1 SIZE=2\r\n", "501 5.5.4 Bad parameter syntax\r\n");
	IO("MAIL FROM:a@b.c\r\n", "501 5.1.7 Bad sender address syntax\r\n");
	IO("MAIL TO:<a@b.c>\r\n", "501 5.5.4 Syntax: MAIL FROM:<address>\r\n");
	IO("MAIL FROM:<j\xc3\xb6rg@b.c>\r\n", "553 5.6.7 Non-ASCII address needs SMTPUTF8\r\n");
	IO("MAIL FROM:<j\xc3\xb6rg@b.c> SMTPUTF8\r\n", MAIL_OK);
	IO("RCPT TO:<\xc3\xa5@b.c>\r\n", RCPT_OK);
	IO("RSET\r\n", OK);
	IO("MAIL FROM:<a@b.c>\r\nRCPT TO:<\xc3\xa5@b.c>\r\n",
	   MAIL_OK "553 5.6.7 Non-ASCII address needs SMTPUTF8\r\n");
	IO("RSET\r\n", OK);
	IO("MAIL FROM:<@relay.example:a@b.c> SIZE=99999 BODY=8BITMIME RET=HDRS ENVID=QQ+2B1 AUTH=<>\r\n"
	   "RCPT TO:<x@y.z>\r\nDATA\r\n", MAIL_OK RCPT_OK GO);
	CU_ASSERT_STRING_EQUAL(K.from, "a@b.c");
	CU_ASSERT_EQUAL(K.size, 99999);
	CU_ASSERT_EQUAL(K.ret, SMTP_RET_HDRS);
	CU_ASSERT_STRING_EQUAL(K.envid, "QQ+2B1");
	CU_ASSERT_STRING_EQUAL(K.orcpt, "-");
	IO(".\r\n", QUEUED);
}

static void test_too_many_recipients(void)
{
	char line[64];

	ready();
	IO("MAIL FROM:<a@b.c>\r\n", MAIL_OK);
	for (int i = 0; i < 100; i++) {
		snprintf(line, sizeof(line), "RCPT TO:<r%d@b.c>\r\n", i);
		IO(line, RCPT_OK);
	}
	IO("RCPT TO:<r100@b.c>\r\n", "452 4.5.3 Error: too many recipients\r\n");
	IO("DATA\r\n", GO);
	CU_ASSERT_EQUAL(K.nrcpt, 100);
	IO(".\r\n", QUEUED);
	CU_ASSERT_FALSE(smtp_server_closing(K.s)); /* 452 is not an error */
}

/* ---- pipelining and the commit wait --------------------------------------- */

static void test_pipelined_group(void)
{
	ready();
	IO("MAIL FROM:<a@b.c>\r\nRCPT TO:<x@y.z>\r\nRCPT TO:<bad>\r\nRCPT TO:<w@y.z>\r\nDATA\r\n",
	   MAIL_OK RCPT_OK "501 5.1.3 Bad recipient address syntax\r\n" RCPT_OK GO);
	IO("body\r\n.\r\nMAIL FROM:<c@d.e>\r\nRCPT TO:<f@g.h>\r\nDATA\r\n",
	   QUEUED MAIL_OK RCPT_OK GO);
	IO("two\r\n.\r\nRSET\r\nNOOP\r\nQUIT\r\n", QUEUED OK OK "221 2.0.0 Bye\r\n");
	CU_ASSERT_EQUAL(K.completes, 2);
	CU_ASSERT_NSTRING_EQUAL(K.body, "two\r\n", K.body_len);
}

static void test_commit_wait(void)
{
	const char *rest = "NOOP\r\nQUIT\r\n";
	char in[128];
	size_t used;

	envelope();
	K.auto_commit = false;
	IO("DATA\r\n", GO);
	snprintf(in, sizeof(in), "hello\r\n.\r\n%s", rest);
	K.out_len = 0;
	used = feed(in);
	check_out("", __LINE__); /* no 250 before the spool committed */
	CU_ASSERT_EQUAL(used, strlen(in) - strlen(rest)); /* NOOP held */
	CU_ASSERT_EQUAL(K.completes, 1);
	CU_ASSERT_EQUAL(smtp_server_deadline(K.s), UINT64_MAX);
	CU_ASSERT_EQUAL(smtp_server_feed(K.s, (const uint8_t *)rest, strlen(rest), K.now), 0);
	CU_ASSERT_EQUAL(smtp_server_auth_result(K.s, SMTP_AUTH_OK, K.now), -EINVAL);
	CU_ASSERT_EQUAL(smtp_server_commit_done(K.s, SMTP_COMMIT_OK, "Q2", K.now), 0);
	CU_ASSERT_EQUAL(smtp_server_commit_done(K.s, SMTP_COMMIT_OK, "Q2", K.now), -EINVAL);
	IO(rest, "250 2.0.0 Ok: queued as Q2\r\n" OK "221 2.0.0 Bye\r\n");

	static const struct {
		enum smtp_commit res;
		const char *reply;
	} other[] = {
		{SMTP_COMMIT_TEMPFAIL, "451 4.3.0 Error: queue file write error\r\n"},
		{SMTP_COMMIT_NOSPACE, "452 4.3.1 Insufficient system storage\r\n"},
		{SMTP_COMMIT_TOOBIG, "552 5.3.4 Message size exceeds fixed maximum message size\r\n"},
	};
	for (size_t i = 0; i < 3; i++) {
		envelope();
		K.commit_res = other[i].res;
		IO("DATA\r\n", GO);
		IO("x\r\n.\r\n", other[i].reply);
		IO("NOOP\r\n", OK);
	}
}

/* ---- BDAT --------------------------------------------------------------- */

static void test_bdat(void)
{
	envelope();
	IO("BDAT 7\r\nline 1\n", "250 2.0.0 Ok: 7 octets received\r\n");
	CU_ASSERT_EQUAL(K.begins, 1);
	CU_ASSERT_TRUE(K.chunking);
	IO("DATA\r\n", "503 5.5.1 Error: DATA after BDAT\r\n");
	IO("RCPT TO:<more@x.y>\r\n", "503 5.5.1 Error: RCPT after BDAT\r\n");
	IO("BDAT 0 LAST\r\n", "550 5.6.0 Message contains bare <CR>, <LF> or NUL\r\n");
	CU_ASSERT_EQUAL(K.completes, 0);
	CU_ASSERT_EQUAL(K.aborts, 1);

	envelope();
	/* chunks split a CRLF, and hold text that looks like commands */
	IO("BDAT 9\r\nQUIT\r\nA\r\r", "250 2.0.0 Ok: 9 octets received\r\n");
	IO("BDAT 6 LAST\r\n\n.\r\nZ\n", "550 5.6.0 Message contains bare <CR>, <LF> or NUL\r\n");

	envelope();
	IO("BDAT 11\r\nQUIT\r\nA\r\n.\r", "250 2.0.0 Ok: 11 octets received\r\n");
	IO("BDAT 4 LAST\r\n\nZ\r\n", QUEUED);
	CU_ASSERT_EQUAL(K.body_len, 15);
	CU_ASSERT_NSTRING_EQUAL(K.body, "QUIT\r\nA\r\n.\r\nZ\r\n", 15);
	IO("BDAT 0 LAST\r\n", "503 5.5.1 Error: need MAIL command\r\n");
	IO("MAIL FROM:<a@b.c>\r\nRCPT TO:<x@y.z>\r\nBDAT 0 LAST\r\n", MAIL_OK RCPT_OK QUEUED);
	CU_ASSERT_EQUAL(K.body_len, 0);
	CU_ASSERT_EQUAL(K.completes, 2);

	/* refused chunks are read and dropped, never taken for commands */
	envelope();
	IO("RSET\r\nBDAT 6\r\nQUIT\r\nNOOP\r\n", OK "503 5.5.1 Error: need MAIL command\r\n" OK);
	IO("MAIL FROM:<a@b.c>\r\nBDAT 6 LAST\r\nQUIT\r\n",
	   MAIL_OK "503 5.5.1 Error: need RCPT command\r\n");
	IO("BDAT x\r\n", "501 5.5.4 Syntax: BDAT chunk-size [LAST]\r\n");
	IO("BDAT 99999999999999999999999\r\n", "501 5.5.4 Syntax: BDAT chunk-size [LAST]\r\n");
	IO("RCPT TO:<x@y.z>\r\nBDAT 2 FIRST\r\nab",
	   RCPT_OK "501 5.5.4 Syntax: BDAT chunk-size [LAST]\r\n");
	IO("RCPT TO:<x@y.z>\r\n", "503 5.5.1 Error: need MAIL command\r\n");
	CU_ASSERT_EQUAL(K.begins, 0);

	/* oversize by BDAT: 552 on the chunk that crosses the limit */
	envelope();
	static char big[60000];
	memset(big, 'a', sizeof(big));
	for (size_t i = 998; i < sizeof(big); i += 1000) {
		big[i] = '\r';
		big[i + 1] = '\n';
	}
	IO("BDAT 60000\r\n", "");
	IO_N(big, sizeof(big), "250 2.0.0 Ok: 60000 octets received\r\n");
	IO("BDAT 60000\r\n", "");
	IO_N(big, sizeof(big), "552 5.3.4 Message size exceeds fixed maximum message size\r\n");
	CU_ASSERT_EQUAL(K.aborts, 1);
	IO("BDAT 3 LAST\r\nabc", "503 5.5.1 Error: need MAIL command\r\n");
}

/* ---- limits ---------------------------------------------------------------- */

static void test_line_limits(void)
{
	char line[1200];

	ready();
	/* a 512-octet command line (with CRLF) is fine, 513 is not */
	snprintf(line, sizeof(line), "NOOP %0505d\r\n", 0);
	CU_ASSERT_EQUAL(strlen(line), 512);
	IO(line, OK);
	snprintf(line, sizeof(line), "NOOP %0506d\r\n", 0);
	IO(line, "500 5.5.2 Error: line too long\r\n");
	/* a text line of 1000 octets with CRLF is fine, 1001 is not */
	IO("MAIL FROM:<a@b.c>\r\nRCPT TO:<x@y.z>\r\nDATA\r\n", MAIL_OK RCPT_OK GO);
	memset(line, 'x', 998);
	memcpy(line + 998, "\r\n.\r\n", 6);
	IO(line, QUEUED);
	CU_ASSERT_EQUAL(K.body_len, 1000);
	IO("MAIL FROM:<a@b.c>\r\nRCPT TO:<x@y.z>\r\nDATA\r\n", MAIL_OK RCPT_OK GO);
	memset(line, 'x', 999);
	memcpy(line + 999, "\r\nNOOP\r\n.\r\nNOOP\r\n", 18);
	IO(line, "550 5.6.0 Message has a line longer than 1000 octets\r\n" OK);
	CU_ASSERT_EQUAL(K.completes, 1);
	CU_ASSERT_EQUAL(K.aborts, 1);
}

static void test_size_limit(void)
{
	static char body[110000];

	envelope();
	IO("DATA\r\n", GO);
	memset(body, 'y', sizeof(body));
	for (size_t i = 98; i < sizeof(body); i += 100) {
		body[i] = '\r';
		body[i + 1] = '\n';
	}
	IO_N(body, sizeof(body), "");
	/* read to the end, then 552; the next pipelined command still works */
	IO(".\r\nNOOP\r\n", "552 5.3.4 Message size exceeds fixed maximum message size\r\n" OK);
	CU_ASSERT_EQUAL(K.completes, 0);
	CU_ASSERT_EQUAL(K.aborts, 1);
	CU_ASSERT(K.body_len <= 100000);
}

static void test_command_hostile(void)
{
	ready();
	IO("NOOP\n", "500 5.5.2 Error: bare <CR> or <LF> received\r\n");
	IO("NO\rOP\r\n", "500 5.5.2 Error: bare <CR> or <LF> received\r\n");
	IO("NOOP\r\r\n", "500 5.5.2 Error: bare <CR> or <LF> received\r\n");
	IO_N("NO\0OP\r\n", 7, "501 5.5.2 Error: NUL character received\r\n");
	IO("MAIL FROM:<a@b.c>\nRCPT TO:<x@y.z>\r\n",
	   "500 5.5.2 Error: bare <CR> or <LF> received\r\n"
	   "503 5.5.1 Error: need MAIL command\r\n");
	IO("Subject: hello\r\nNOOP\r\n", "421 4.7.0 mx.test Error: not an SMTP client, closing\r\n");
	CU_ASSERT_TRUE(smtp_server_closing(K.s));

	static const char *const http[] = {"GET / HTTP/1.1\r\n", "POST /x HTTP/1.0\r\n",
					   "HEAD / HTTP/1.1\r\n", "CONNECT a:25 HTTP/1.1\r\n",
					   "PUT /x HTTP/1.1\r\n", "Host: x\r\n"};
	for (size_t i = 0; i < sizeof(http) / sizeof(http[0]); i++) {
		ready();
		IO(http[i], "421 4.7.0 mx.test Error: not an SMTP client, closing\r\n");
		CU_ASSERT_TRUE(smtp_server_closing(K.s));
	}
}

static void test_error_budget(void)
{
	struct smtp_server_conf c;

	conf_test(&c);
	c.max_errors = 10;
	start_conf(&c, SMTP_ADMIT_ALLOW);
	IO("EHLO c\r\n", EHLO_PLAIN);
	for (int i = 0; i < 9; i++)
		IO("BOGUS\r\n", "500 5.5.2 Error: command not recognized\r\n");
	IO("BOGUS\r\nNOOP\r\n", "500 5.5.2 Error: command not recognized\r\n"
	   "421 4.7.0 mx.test Error: too many errors\r\n");
	CU_ASSERT_TRUE(smtp_server_closing(K.s));

	/* a transaction in progress is abandoned */
	start_conf(&c, SMTP_ADMIT_ALLOW);
	IO("EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<x@y.z>\r\n", EHLO_PLAIN MAIL_OK RCPT_OK);
	IO("BDAT 2\r\nab", "250 2.0.0 Ok: 2 octets received\r\n");
	for (int i = 0; i < 10; i++)
		feed("X\r\n");
	CU_ASSERT_TRUE(smtp_server_closing(K.s));
	CU_ASSERT_EQUAL(K.aborts, 1);
}

/* ---- smuggling ----------------------------------------------------------- */

static void test_smuggling(void)
{
	static const struct {
		const char *name, *bytes;
		size_t len;
	} pay[] = {
		{"<LF>.<LF>", "\n.\n", 3},
		{"<LF>.<CR><LF>", "\n.\r\n", 4},
		{"<CR>.<CR>", "\r.\r", 3},
		{"<CR>.<LF>", "\r.\n", 3},
		{"<CR><LF>.<LF>", "\r\n.\n", 4},
		{"<CR><LF>.<CR>", "\r\n.\r", 4},
		{"<CR><LF><NUL>.<CR><LF>", "\r\n\0.\r\n", 6},
		{"<CR><LF>.<CR><CR><LF>", "\r\n.\r\r\n", 6},
	};
	static const char second[] = "MAIL FROM:<evil@x.y>\r\nRCPT TO:<victim@y.z>\r\nDATA\r\n"
				     "smuggled\r\n";
	char in[512];

	for (int norm = 0; norm < 2; norm++) {
		for (size_t i = 0; i < sizeof(pay) / sizeof(pay[0]); i++) {
			struct smtp_server_conf c;
			size_t n = 0;

			conf_test(&c);
			c.normalize_bare = norm;
			start_conf(&c, SMTP_ADMIT_ALLOW);
			IO("EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<x@y.z>\r\nDATA\r\n",
			   EHLO_PLAIN MAIL_OK RCPT_OK GO);
			memcpy(in + n, "Subject: t\r\n\r\nbody", 18);
			n += 18;
			memcpy(in + n, pay[i].bytes, pay[i].len);
			n += pay[i].len;
			memcpy(in + n, second, sizeof(second) - 1);
			n += sizeof(second) - 1;
			memcpy(in + n, ".\r\nNOOP\r\n", 9);
			n += 9;
			IO_N(in, n, norm ? QUEUED OK
				     : "550 5.6.0 Message contains bare <CR>, <LF> or NUL\r\n" OK);
			CU_ASSERT_EQUAL(K.begins, 1);
			CU_ASSERT_EQUAL(K.completes, norm ? 1 : 0);
			if (K.begins != 1 || K.completes != (norm ? 1 : 0))
				fprintf(stderr, "payload %s normalize=%d\n", pay[i].name, norm);
			if (norm) /* the smuggled commands are body text */
				CU_ASSERT_PTR_NOT_NULL(memmem(K.body, K.body_len,
							      "MAIL FROM:<evil", 15));
		}
	}
	/* normalize: bare CR / LF / NUL become spaces */
	struct smtp_server_conf c;

	conf_test(&c);
	c.normalize_bare = true;
	start_conf(&c, SMTP_ADMIT_ALLOW);
	IO("EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<x@y.z>\r\nDATA\r\n",
	   EHLO_PLAIN MAIL_OK RCPT_OK GO);
	IO_N("a\nb\rc\0d\r\n.\r\n", 12, QUEUED);
	CU_ASSERT_EQUAL(K.body_len, 9);
	CU_ASSERT_NSTRING_EQUAL(K.body, "a b c d\r\n", 9);
}

/* ---- STARTTLS ------------------------------------------------------------ */

static void test_starttls(void)
{
	ready();
	IO("MAIL FROM:<a@b.c>\r\n", MAIL_OK);
	IO("STARTTLS\r\nNOOP\r\n", "220 2.0.0 Ready to start TLS\r\n");
	CU_ASSERT_EQUAL(K.tls_starts, 1);
	/* anything before the handshake finished is dropped */
	IO("NOOP\r\n", "");
	CU_ASSERT_EQUAL(smtp_server_tls_started(K.s, "TLSv1.3", "TLS_AES_128_GCM_SHA256", K.now), 0);
	CU_ASSERT_EQUAL(smtp_server_tls_started(K.s, "TLSv1.3", "x", K.now), -EINVAL);
	/* EHLO and the transaction are forgotten */
	IO("MAIL FROM:<a@b.c>\r\n", "503 5.5.1 Error: send HELO/EHLO first\r\n");
	IO("EHLO c\r\n", EHLO_TLS);
	IO("STARTTLS\r\n", "503 5.5.1 Error: TLS already active\r\n");
	IO("MAIL FROM:<a@b.c>\r\nRCPT TO:<x@y.z>\r\nDATA\r\n.\r\n", MAIL_OK RCPT_OK GO QUEUED);
	CU_ASSERT_STRING_EQUAL(K.env_tls, "TLSv1.3");
	CU_ASSERT_STRING_EQUAL(K.received,
		"Received: from c ([192.0.2.7])\r\n"
		"\t(using TLSv1.3 with cipher TLS_AES_128_GCM_SHA256)\r\n"
		"\tby mx.test with ESMTPS id QID1;\r\n"
		"\tFri, 27 Nov 2026 02:29:53 +0000\r\n");
}

static void test_received(void)
{
	struct smtp_mail_params mp = {0};
	struct smtp_envelope e = {
		.client_addr = "2001:db8::5", .helo = "relay.example", .esmtp = false,
		.mail_from = "", .mail = &mp,
	};
	char buf[512];

	CU_ASSERT_EQUAL(smtp_received(&e, "mx.test", "ABC123", 0, buf, sizeof(buf)), 118);
	CU_ASSERT_STRING_EQUAL(buf, "Received: from relay.example ([IPv6:2001:db8::5])\r\n"
			       "\tby mx.test with SMTP id ABC123;\r\n"
			       "\tThu, 1 Jan 1970 00:00:00 +0000\r\n");
	e.esmtp = true;
	mp.smtputf8 = true;
	e.tls_version = "TLSv1.2";
	e.tls_cipher = "ECDHE-RSA-AES256-GCM-SHA384";
	e.auth_user = "u";
	e.client_addr = "192.0.2.1";
	CU_ASSERT(smtp_received(&e, "mx.test", "Q", 951782400, buf, sizeof(buf)) > 0);
	CU_ASSERT_STRING_EQUAL(buf, "Received: from relay.example ([192.0.2.1])\r\n"
			       "\t(using TLSv1.2 with cipher ECDHE-RSA-AES256-GCM-SHA384)\r\n"
			       "\t(Authenticated sender: u)\r\n"
			       "\tby mx.test with UTF8SMTPSA id Q;\r\n"
			       "\tTue, 29 Feb 2000 00:00:00 +0000\r\n");
	CU_ASSERT_EQUAL(smtp_received(&e, "mx.test", "Q", 0, buf, 40), -ENOSPC);
}

/* ---- AUTH ----------------------------------------------------------------- */

static void test_auth_plain(void)
{
	char line[600];

	under_tls(SMTP_ADMIT_AUTH);
	IO("MAIL FROM:<a@b.c>\r\n", "530 5.7.0 Authentication required\r\n");
	IO("AUTH CRAM-MD5\r\n", "504 5.5.4 Unrecognized authentication type\r\n");
	/* initial response, verdict from inside the callback */
	K.auth_res = SMTP_AUTH_FAIL;
	snprintf(line, sizeof(line), "AUTH PLAIN %s\r\n", b64("\0user\0wrong", 11));
	IO(line, "535 5.7.8 Authentication credentials invalid\r\n");
	CU_ASSERT_STRING_EQUAL(K.auth_mech, "PLAIN");
	CU_ASSERT_STRING_EQUAL(K.auth_user, "user");
	CU_ASSERT_STRING_EQUAL(K.auth_pass, "wrong");
	/* malformed PLAIN message: the same uniform 535, no check */
	snprintf(line, sizeof(line), "AUTH PLAIN %s\r\n", b64("user", 4));
	IO(line, "535 5.7.8 Authentication credentials invalid\r\n");
	CU_ASSERT_EQUAL(K.auth_checks, 1);
	/* cancel and bad base64 */
	IO("AUTH PLAIN\r\n*\r\n", "334 \r\n501 5.0.0 Authentication aborted\r\n");
	IO("AUTH PLAIN\r\nnot base64!\r\n", "334 \r\n501 5.5.2 Cannot decode response\r\n");
	IO("AUTH PLAIN dXNlcg=\r\n", "501 5.5.2 Cannot decode response\r\n");
	IO("AUTH PLAIN\r\ndXNl\ncg==\r\n", "334 \r\n501 5.5.2 Cannot decode response\r\n"
	   "500 5.5.2 Error: command not recognized\r\n");
	/* continuation, asynchronous verdict holding pipelined input */
	K.auto_auth = false;
	snprintf(line, sizeof(line), "AUTH PLAIN\r\n%s\r\nMAIL FROM:<a@b.c>\r\n",
		 b64("admin\0user\0secret", 17));
	K.out_len = 0;
	size_t used = feed(line);
	check_out("334 \r\n", __LINE__);
	CU_ASSERT_EQUAL(used, strlen(line) - strlen("MAIL FROM:<a@b.c>\r\n"));
	CU_ASSERT_STRING_EQUAL(K.auth_authzid, "admin");
	CU_ASSERT_STRING_EQUAL(K.auth_pass, "secret");
	CU_ASSERT_EQUAL(smtp_server_auth_result(K.s, SMTP_AUTH_OK, K.now), 0);
	IO("MAIL FROM:<a@b.c>\r\n", "235 2.7.0 Authentication successful\r\n" MAIL_OK);
	IO("AUTH PLAIN\r\n", "503 5.5.1 Error: already authenticated\r\n");
	IO("RCPT TO:<x@y.z>\r\nDATA\r\n", RCPT_OK GO);
	CU_ASSERT_STRING_EQUAL(K.env_auth, "user");
	CU_ASSERT_STRING_EQUAL(K.received,
		"Received: from c ([192.0.2.7])\r\n"
		"\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384)\r\n"
		"\t(Authenticated sender: user)\r\n"
		"\tby mx.test with ESMTPSA id QID1;\r\n"
		"\tFri, 27 Nov 2026 02:29:53 +0000\r\n");
	K.auto_commit = false;
	IO(".\r\n", "");
	CU_ASSERT_EQUAL(smtp_server_commit_done(K.s, SMTP_COMMIT_OK, "Q9", K.now), 0);
	IO("", "250 2.0.0 Ok: queued as Q9\r\n");
	/* EHLO no longer offers AUTH */
	IO("EHLO c\r\n", "250-mx.test\r\n250-PIPELINING\r\n250-SIZE 100000\r\n250-8BITMIME\r\n"
	   "250-SMTPUTF8\r\n250-ENHANCEDSTATUSCODES\r\n250-CHUNKING\r\n250 DSN\r\n");
}

static void test_auth_login(void)
{
	char line[600];

	under_tls(SMTP_ADMIT_AUTH);
	K.auth_res = SMTP_AUTH_TEMPFAIL;
	snprintf(line, sizeof(line), "AUTH LOGIN\r\n%s\r\n%s\r\n", b64("bob", 3), b64("pw", 2));
	IO(line, "334 VXNlcm5hbWU6\r\n334 UGFzc3dvcmQ6\r\n454 4.7.0 Temporary authentication failure\r\n");
	CU_ASSERT_STRING_EQUAL(K.auth_mech, "LOGIN");
	CU_ASSERT_STRING_EQUAL(K.auth_user, "bob");
	CU_ASSERT_STRING_EQUAL(K.auth_pass, "pw");
	IO("AUTH LOGIN\r\n*\r\n", "334 VXNlcm5hbWU6\r\n501 5.0.0 Authentication aborted\r\n");
	snprintf(line, sizeof(line), "AUTH LOGIN %s\r\n*\r\n", b64("bob", 3));
	IO(line, "334 UGFzc3dvcmQ6\r\n501 5.0.0 Authentication aborted\r\n");
	IO("AUTH LOGIN ====\r\n", "501 5.5.2 Cannot decode response\r\n");
	K.auth_res = SMTP_AUTH_OK;
	snprintf(line, sizeof(line), "AUTH LOGIN %s\r\n%s\r\n", b64("b(o)b\n", 6), b64("pw", 2));
	IO(line, "334 UGFzc3dvcmQ6\r\n235 2.7.0 Authentication successful\r\n");
	IO("MAIL FROM:<a@b.c>\r\nRCPT TO:<x@y.z>\r\nBDAT 0 LAST\r\n", MAIL_OK RCPT_OK QUEUED);
	CU_ASSERT_STRING_EQUAL(K.env_auth, "b?o?b?"); /* sanitized for headers */

	/* AUTH is refused outside its place */
	under_tls(SMTP_ADMIT_ALLOW);
	IO("MAIL FROM:<a@b.c>\r\nAUTH LOGIN\r\n", MAIL_OK "503 5.5.1 Error: MAIL transaction in progress\r\n");
	IO("RSET\r\nHELO c\r\nAUTH LOGIN\r\n", OK "250 mx.test\r\n503 5.5.1 Error: send EHLO first\r\n");
	struct smtp_server_conf c;

	conf_test(&c);
	c.auth = false;
	start_conf(&c, SMTP_ADMIT_ALLOW);
	IO("AUTH PLAIN\r\n", "503 5.5.1 Error: authentication not enabled\r\n");

	/* the AUTH line limit is 12288, not 512 */
	under_tls(SMTP_ADMIT_AUTH);
	static char longl[13000];
	memcpy(longl, "AUTH PLAIN ", 11);
	memset(longl + 11, 'A', 12272); /* 12285 octets with CRLF */
	memcpy(longl + 11 + 12272, "\r\n", 3);
	IO(longl, "535 5.7.8 Authentication credentials invalid\r\n");
	memset(longl + 11, 'A', 12276); /* 12289 */
	memcpy(longl + 11 + 12276, "\r\n", 3);
	IO(longl, "500 5.5.6 Authentication Exchange line is too long\r\n");
	IO("AUTH PLAIN\r\n", "334 \r\n");
	memset(longl, 'A', 12288);
	memcpy(longl + 12288, "\r\n", 3);
	IO(longl, "500 5.5.6 Authentication Exchange line is too long\r\n");
	IO("NOOP\r\n", OK);
}

/* ---- timeouts --------------------------------------------------------------- */

static void test_timeouts(void)
{
	ready();
	CU_ASSERT_EQUAL(smtp_server_deadline(K.s), K.now + 300 * SEC);
	smtp_server_tick(K.s, K.now + 300 * SEC - 1);
	drain();
	CU_ASSERT_FALSE(smtp_server_closing(K.s));
	/* partial lines do not restart the command timer */
	K.now += 200 * SEC;
	IO("NO", "");
	CU_ASSERT_EQUAL(smtp_server_deadline(K.s), K.now - 200 * SEC + 300 * SEC);
	K.out_len = 0;
	smtp_server_tick(K.s, K.now + 100 * SEC);
	drain();
	check_out("421 4.4.2 mx.test Error: timeout exceeded\r\n", __LINE__);
	CU_ASSERT_TRUE(smtp_server_closing(K.s));
	CU_ASSERT_EQUAL(smtp_server_deadline(K.s), UINT64_MAX);

	/* data block timeout: 3 minutes between octets; abandons the body */
	envelope();
	IO("DATA\r\n", GO);
	IO("some", "");
	CU_ASSERT_EQUAL(smtp_server_deadline(K.s), K.now + 180 * SEC);
	K.out_len = 0;
	smtp_server_tick(K.s, K.now + 180 * SEC);
	drain();
	check_out("421 4.4.2 mx.test Error: timeout exceeded\r\n", __LINE__);
	CU_ASSERT_EQUAL(K.aborts, 1);

	/* minimum data rate: 100 octets/s after 180 s of grace */
	envelope();
	IO("DATA\r\n", GO);
	uint64_t t0 = K.now;
	for (int i = 0; i < 10; i++) {
		K.now += 170 * SEC;
		IO("x", "");
	}
	CU_ASSERT_EQUAL(smtp_server_deadline(K.s), t0 + 180 * SEC + 10 * SEC / 100);
	smtp_server_tick(K.s, K.now);
	drain();
	CU_ASSERT_TRUE(smtp_server_closing(K.s));

	/* handshake timeout: closed without clear text */
	ready();
	IO("STARTTLS\r\n", "220 2.0.0 Ready to start TLS\r\n");
	K.out_len = 0;
	smtp_server_tick(K.s, K.now + 300 * SEC);
	drain();
	check_out("", __LINE__);
	CU_ASSERT_TRUE(smtp_server_closing(K.s));
}

/* ---- input split at every byte boundary ---------------------------------- */

static const char SCRIPT[] =
	"EHLO client.example\r\nMAIL FROM:<a@b.c> SIZE=40\r\nRCPT TO:<x@y.z>\r\n"
	"DATA\r\nSubject: s\r\n\r\n..dot\r\n.x\r\nend\r\n.\r\n"
	"MAIL FROM:<>\r\nRCPT TO:<p@q.r>\r\nBDAT 8\r\nab\r\n.\r\n\rBDAT 3 LAST\r\n\ncd"
	"NOOP\r\nQUIT\r\n";

static void run_split(const size_t *cuts, size_t ncuts, char *out, size_t *olen,
		      char *body, size_t *blen)
{
	size_t pos = 0;

	start(SMTP_ADMIT_ALLOW);
	K.out_len = 0;
	for (size_t c = 0; c <= ncuts; c++) {
		size_t end = c < ncuts ? cuts[c] : sizeof(SCRIPT) - 1;

		CU_ASSERT_EQUAL(feed_n(SCRIPT + pos, end - pos), end - pos);
		pos = end;
	}
	memcpy(out, K.out, K.out_len + 1);
	*olen = K.out_len;
	memcpy(body, K.body, K.body_len);
	*blen = K.body_len;
}

static void test_split_everywhere(void)
{
	static char out0[4096], out1[4096], body0[256], body1[256];
	size_t o0, o1, b0, b1, cuts[2], n = sizeof(SCRIPT) - 1;

	run_split(NULL, 0, out0, &o0, body0, &b0);
	CU_ASSERT_STRING_EQUAL(out0, EHLO_PLAIN MAIL_OK RCPT_OK GO QUEUED
			       MAIL_OK RCPT_OK "250 2.0.0 Ok: 8 octets received\r\n" QUEUED OK
			       "221 2.0.0 Bye\r\n");
	CU_ASSERT_EQUAL(b0, 11); /* the last body: "ab\r\n.\r\n\r" + "\ncd" */
	CU_ASSERT(memcmp(body0, "ab\r\n.\r\n\r\ncd", 11) == 0);
	for (size_t k = 1; k < n; k++) {
		cuts[0] = k;
		run_split(cuts, 1, out1, &o1, body1, &b1);
		CU_ASSERT(o1 == o0 && memcmp(out0, out1, o0) == 0);
		CU_ASSERT(b1 == b0 && memcmp(body0, body1, b0) == 0);
	}
	/* every byte on its own */
	size_t ones[sizeof(SCRIPT)];
	for (size_t k = 1; k < n; k++)
		ones[k - 1] = k;
	run_split(ones, n - 1, out1, &o1, body1, &b1);
	CU_ASSERT(o1 == o0 && memcmp(out0, out1, o0) == 0);
	CU_ASSERT(b1 == b0 && memcmp(body0, body1, b0) == 0);
	free(K.mem);
	memset(&K, 0, sizeof(K));
}

/* ---- counters and the reject hook ----------------------------------------- */

static void test_counters(void)
{
	const struct smtp_server_counters *c;
	char line[600];
	static char body[110000];

	ready();
	c = smtp_server_counters(K.s);
	IO("NOOP\n", "500 5.5.2 Error: bare <CR> or <LF> received\r\n");
	CU_ASSERT_EQUAL(K.rejects, 1);
	CU_ASSERT_STRING_EQUAL(K.last_reject, "500 5.5.2 Error: bare <CR> or <LF> received");
	IO_N("NO\0OP\r\n", 7, "501 5.5.2 Error: NUL character received\r\n");
	memset(line, 'x', 599);
	memcpy(line + 590, "\r\n", 3);
	IO(line, "500 5.5.2 Error: line too long\r\n");
	IO("MAIL FROM:<a@b.c> SIZE=200000\r\n",
	   "552 5.3.4 Message size exceeds fixed maximum message size\r\n");
	IO("MAIL FROM:<a@b.c>\r\n", MAIL_OK);
	for (int i = 0; i < 101; i++) {
		snprintf(line, sizeof(line), "RCPT TO:<r%d@b.c>\r\n", i);
		feed(line);
	}
	IO("DATA\r\n", GO);
	memset(body, 'y', sizeof(body));
	memcpy(body + sizeof(body) - 5, "\r\n.\r\n", 5);
	IO_N(body, sizeof(body), "552 5.3.4 Message size exceeds fixed maximum message size\r\n");
	IO("MAIL FROM:<a@b.c>\r\nRCPT TO:<x@y.z>\r\nDATA\r\n", MAIL_OK RCPT_OK GO);
	IO("a\nb\r\n.\r\n", "550 5.6.0 Message contains bare <CR>, <LF> or NUL\r\n");
	CU_ASSERT_EQUAL(c->bare_cmd, 1);
	CU_ASSERT_EQUAL(c->nul_cmd, 1);
	CU_ASSERT_EQUAL(c->long_line, 1);
	CU_ASSERT_EQUAL(c->oversize, 2);
	CU_ASSERT_EQUAL(c->rcpt_limit, 1);
	CU_ASSERT_EQUAL(c->bare_data, 1);
	CU_ASSERT_EQUAL(c->replies_5xx, 6);
	CU_ASSERT_EQUAL(c->replies_4xx, 1);
	CU_ASSERT_EQUAL(K.rejects, 7);
	IO("STARTTLS\r\nNOOP\r\nQUIT\r\n", "220 2.0.0 Ready to start TLS\r\n");
	CU_ASSERT_EQUAL(c->tls_discarded, 12);
	K.out_len = 0;
	smtp_server_tick(K.s, K.now + 300 * SEC);
	CU_ASSERT_EQUAL(c->timeouts, 1);

	under_tls(SMTP_ADMIT_AUTH);
	c = smtp_server_counters(K.s);
	K.auth_res = SMTP_AUTH_FAIL;
	snprintf(line, sizeof(line), "AUTH PLAIN %s\r\n", b64("\0u\0p", 4));
	IO(line, "535 5.7.8 Authentication credentials invalid\r\n");
	CU_ASSERT_EQUAL(c->auth_fail, 1);
	IO("Subject: x\r\n", "421 4.7.0 mx.test Error: not an SMTP client, closing\r\n");
	CU_ASSERT_EQUAL(c->forbidden, 1);
	CU_ASSERT_STRING_EQUAL(K.last_reject, "421 4.7.0 mx.test Error: not an SMTP client, closing");
}

/* ---- output back-pressure ------------------------------------------------- */

static void test_output_full(void)
{
	static char in[20000];
	size_t n = 0, used;
	const uint8_t *p;

	ready();
	while (n + 6 < sizeof(in)) {
		memcpy(in + n, "NOOP\r\n", 6);
		n += 6;
	}
	used = smtp_server_feed(K.s, (const uint8_t *)in, n, K.now);
	CU_ASSERT(used < n); /* stops when the replies fill the buffer */
	CU_ASSERT(smtp_server_output(K.s, &p) % 14 == 0);
	K.out_len = 0;
	drain();
	CU_ASSERT_EQUAL(feed_n(in + used, n - used), n - used);
	CU_ASSERT_EQUAL(K.out_len, n / 6 * 14);
}

/* ---- odds and ends ------------------------------------------------------- */

static void test_edges(void)
{
	static char line[1200];
	const uint8_t *p;
	size_t n;

	/* the caller sends part of the output: the rest stays in order */
	ready();
	for (int i = 0; i < 600; i++)
		smtp_server_feed(K.s, (const uint8_t *)"NOOP\r\n", 6, K.now);
	n = smtp_server_output(K.s, &p);
	CU_ASSERT(n > 8192 - 1024 - 14 && n % 14 == 0);
	smtp_server_consume(K.s, n - 7); /* half a reply left */
	K.out_len = 0;
	feed("HELP\r\nQUIT\r\n");
	CU_ASSERT_STRING_EQUAL(K.out, ".0 Ok\r\n214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA BDAT RSET "
			       "NOOP QUIT VRFY HELP STARTTLS AUTH\r\n221 2.0.0 Bye\r\n");

	/* the connection goes away in the middle of a BDAT transaction */
	envelope();
	IO("BDAT 2\r\nab", "250 2.0.0 Ok: 2 octets received\r\n");
	smtp_server_abort(K.s);
	CU_ASSERT_EQUAL(K.aborts, 1);
	CU_ASSERT_TRUE(smtp_server_closing(K.s));

	/* a BDAT message ending in a bare CR */
	envelope();
	IO("BDAT 3 LAST\r\nab\r", "550 5.6.0 Message contains bare <CR>, <LF> or NUL\r\n");

	/* paths: a space before the path is tolerated, junk after it is not */
	ready();
	IO("MAIL FROM: <a@b.c>\r\nRCPT TO:<x@y.z>x\r\n", MAIL_OK
	   "501 5.1.3 Bad recipient address syntax\r\n");
	IO("RSET\r\nHELO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<x@y.z> NOTIFY=NEVER\r\n",
	   OK "250 mx.test\r\n" MAIL_OK "555 5.5.4 Parameters need EHLO\r\n");

	/* the recipient arena fills before max_rcpt: 452 as well */
	struct smtp_server_conf c;

	conf_test(&c);
	c.max_rcpt = 1000;
	start_conf(&c, SMTP_ADMIT_ALLOW);
	IO("EHLO c\r\nMAIL FROM:<a@b.c>\r\n", EHLO_PLAIN MAIL_OK);
	int ok = 0, full = 0;
	for (int i = 0; i < 120; i++) {
		memset(line, 'o', sizeof(line));
		int k = snprintf(line, sizeof(line), "RCPT TO:<r%d@b.c> ORCPT=rfc822;", i);

		line[k] = 'o';
		memcpy(line + k + 460, "\r\n", 3);
		K.out_len = 0;
		feed(line);
		ok += strcmp(K.out, RCPT_OK) == 0;
		full += strcmp(K.out, "452 4.5.3 Error: too many recipients\r\n") == 0;
	}
	CU_ASSERT(ok > 90 && ok < 110);
	CU_ASSERT_EQUAL(ok + full, 120);
	IO("DATA\r\n", GO);
	CU_ASSERT_EQUAL(K.nrcpt, (unsigned)ok);

	/* AUTH corner cases: "=" is the empty response, LOGIN names */
	under_tls(SMTP_ADMIT_AUTH);
	IO("AUTH PLAIN =\r\n", "535 5.7.8 Authentication credentials invalid\r\n");
	IO("AUTH LOGIN =\r\n", "535 5.7.8 Authentication credentials invalid\r\n");
	memset(line, 'A', 344);
	memcpy(line, "AUTH LOGIN ", 11);
	memcpy(line + 11 + 344, "\r\n", 3); /* 344 base64: 258 octets, over 255 */
	IO(line, "535 5.7.8 Authentication credentials invalid\r\n");
	snprintf(line, sizeof(line), "AUTH LOGIN %s\r\n%%%%%%%%\r\n", b64("bob", 3));
	IO(line, "334 UGFzc3dvcmQ6\r\n501 5.5.2 Cannot decode response\r\n");
	CU_ASSERT_EQUAL(K.auth_checks, 0);
}

/* The caller's check refuses MAIL, one RCPT, DATA and the first BDAT
 * with its own reply; the session stays usable. */
static void test_check_hook(void)
{
	ready();
	K.refuse[SMTP_STAGE_MAIL] = "451 4.3.0 try later";
	IO("MAIL FROM:<a@x.test>\r\n", "451 4.3.0 try later\r\n");
	K.refuse[SMTP_STAGE_MAIL] = NULL;
	K.refuse[SMTP_STAGE_RCPT] = "550 5.1.1 no such user";
	K.refuse_addr = "bad@y.test";
	IO("MAIL FROM:<>\r\nRCPT TO:<bad@y.test>\r\nRCPT TO:<ok@y.test>\r\n",
	   MAIL_OK "550 5.1.1 no such user\r\n" RCPT_OK);
	K.refuse_addr = NULL;
	K.refuse[SMTP_STAGE_DATA] = "452 4.3.1 full";
	IO("DATA\r\n", "452 4.3.1 full\r\n");
	CU_ASSERT_EQUAL(K.begins, 0);
	K.refuse[SMTP_STAGE_DATA] = "554 5.7.0 no";
	IO("BDAT 3 LAST\r\nabc", "554 5.7.0 no\r\n");
	CU_ASSERT_EQUAL(K.begins, 0);
	K.refuse[SMTP_STAGE_DATA] = NULL;
	IO("DATA\r\n", GO);
	IO("hi\r\n.\r\n", QUEUED);
	CU_ASSERT_EQUAL(K.completes, 1);
	CU_ASSERT_STRING_EQUAL(K.rcpt[0], "ok@y.test");
	CU_ASSERT_STRING_EQUAL(K.checked, "0:a@x.test 0: 1:bad@y.test 1:ok@y.test 2:- 2:- 2:- ");
}

void test_smtp_register(void)
{
	static const struct {
		const char *name;
		CU_TestFunc fn;
	} tests[] = {
		{"admission: greeting, 451, 554, drop", test_admission},
		{"every command before HELO/EHLO", test_before_helo},
		{"HELO and EHLO", test_helo_ehlo},
		{"every command in every state", test_command_matrix},
		{"a whole transaction, dot-unstuffed", test_transaction},
		{"sequence errors and RCPT params", test_sequence_errors},
		{"MAIL params, SIZE, SMTPUTF8, DSN", test_mail_params},
		{"too many recipients", test_too_many_recipients},
		{"pipelined groups", test_pipelined_group},
		{"250 waits for the commit", test_commit_wait},
		{"BDAT sequences", test_bdat},
		{"command and text line limits", test_line_limits},
		{"message size limit", test_size_limit},
		{"bare CR/LF, NUL, Label:, HTTP", test_command_hostile},
		{"error budget", test_error_budget},
		{"smuggling payloads", test_smuggling},
		{"STARTTLS injection and reset", test_starttls},
		{"Received: header", test_received},
		{"AUTH PLAIN", test_auth_plain},
		{"AUTH LOGIN and AUTH limits", test_auth_login},
		{"timeouts and data rate", test_timeouts},
		{"split at every byte boundary", test_split_everywhere},
		{"output back-pressure", test_output_full},
		{"counters and the reject hook", test_counters},
		{"partial output, abort, arena, AUTH corners", test_edges},
		{"the caller's check per stage", test_check_hook},
	};
	CU_pSuite s = CU_add_suite("smtp", NULL, NULL);

	if (s == NULL)
		return;
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		CU_add_test(s, tests[i].name, tests[i].fn);
}
