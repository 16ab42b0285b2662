/*
 * sink_sess: one sluice-sink connection — the SMTP server engine's
 * callbacks (count, log, store, inject failures), STARTTLS over the TLS
 * object, reply delay, and the failure-spec parser.
 */
#include "bench/sink/sink_sess.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dataplane/tls/tls.h"

static const char *const stage_names[3] = {"mail", "rcpt", "data"};
static const char *const replies[3][2] = {
	{"451 4.3.0 sink: MAIL deferred", "550 5.7.1 sink: MAIL refused"},
	{"451 4.2.0 sink: RCPT deferred", "550 5.1.1 sink: RCPT refused"},
	{"451 4.3.0 sink: DATA deferred", "554 5.6.0 sink: DATA refused"},
};

int sink_fail_parse(struct sink_fail *f, const char *spec)
{
	char stage[8], cls[8], end;
	unsigned pct, st, c;

	if (sscanf(spec, "%7[a-z]:%7[0-9x]:%u%c", stage, cls, &pct, &end) != 3 ||
	    pct > 100)
		return -EINVAL;
	for (st = 0; st < 3 && strcmp(stage, stage_names[st]) != 0; st++)
		;
	if (st == 3)
		return -EINVAL;
	if (strcmp(cls, "4xx") == 0)
		c = SINK_4XX;
	else if (strcmp(cls, "5xx") == 0)
		c = SINK_5XX;
	else
		return -EINVAL;
	if (pct + f->pct[st][!c] > 100)
		return -EINVAL;
	f->pct[st][c] = pct;
	return 0;
}

/* A log line, unless the sink logs nothing (k->log NULL). */
static void __attribute__((format(printf, 2, 3)))
sink_log(struct sink *k, const char *fmt, ...)
{
	va_list ap;

	if (k->log == NULL)
		return;
	va_start(ap, fmt);
	vfprintf(k->log, fmt, ap);
	va_end(ap);
}

static const char *tls_name(const struct sink_sess *ss)
{
	return ss->tls != NULL && !ss->handshaking ? tls_version(ss->tls) : "no";
}

/* ---- the engine's callbacks --------------------------------------------- */

static void tx_begin(void *arg, const struct smtp_envelope *e)
{
	struct sink_sess *ss = arg;
	size_t n = (size_t)snprintf(ss->env, sizeof(ss->env), "from=<%s> to=", e->mail_from);

	for (unsigned i = 0; i < e->nrcpt && n < sizeof(ss->env); i++)
		n += (size_t)snprintf(ss->env + n, sizeof(ss->env) - n, "%s<%s>",
				      i ? "," : "", e->rcpt[i].addr);
	ss->size = 0;
	ss->nrcpt = e->nrcpt;
	if (ss->k->dir != NULL) {
		char path[4096];

		snprintf(path, sizeof(path), "%s/%06" PRIu64 ".eml", ss->k->dir,
			 ++ss->k->seq);
		ss->file = fopen(path, "w");
		if (ss->file == NULL)
			sink_log(ss->k, "error %s: %s\n", path, strerror(errno));
	}
}

static void tx_body(void *arg, const uint8_t *data, size_t len)
{
	struct sink_sess *ss = arg;

	ss->size += len;
	if (ss->file != NULL)
		fwrite(data, 1, len, ss->file);
}

static void tx_end(void *arg, enum smtp_tx_end how)
{
	struct sink_sess *ss = arg;
	struct sink *k = ss->k;
	char qid[32];

	if (ss->file != NULL)
		fclose(ss->file);
	ss->file = NULL;
	if (how != SMTP_TX_COMPLETE)
		return;
	k->st.msgs++;
	k->st.rcpts += ss->nrcpt;
	k->st.bytes += ss->size;
	snprintf(qid, sizeof(qid), "S%06" PRIu64, k->st.msgs);
	sink_log(k, "msg %s client=%s tls=%s %s size=%" PRIu64 "\n", qid,
		ss->client, tls_name(ss), ss->env, ss->size);
	smtp_server_commit_done(ss->s, SMTP_COMMIT_OK, qid, ss->now);
}

static void auth_check(void *arg, const struct smtp_auth_req *req)
{
	struct sink_sess *ss = arg;

	(void)req;
	smtp_server_auth_result(ss->s, SMTP_AUTH_FAIL, ss->now);
}

static void tls_start(void *arg)
{
	((struct sink_sess *)arg)->tls_next = true;
}

/* Every MAIL is logged (with whether TLS carries it), then each stage's
 * rates decide, spread evenly: the Nth command fails when N * (p4 + p5)
 * / 100 passes an integer, and the Mth failure is a 4xx when M * p4 /
 * (p4 + p5) does. */
static bool crosses(uint64_t n, unsigned num, unsigned den)
{
	return (n + 1) * num / den > n * num / den;
}

static const char *check(void *arg, enum smtp_stage stage, const char *addr)
{
	struct sink_sess *ss = arg;
	struct sink *k = ss->k;
	unsigned p4 = k->fail.pct[stage][SINK_4XX], p5 = k->fail.pct[stage][SINK_5XX];
	unsigned c;

	if (stage == SMTP_STAGE_MAIL)
		sink_log(k, "mail client=%s tls=%s from=<%s>\n", ss->client,
			tls_name(ss), addr);
	if (p4 + p5 == 0 || !crosses(k->seen[stage]++, p4 + p5, 100))
		return NULL;
	c = crosses(k->failed[stage]++, p4, p4 + p5) ? SINK_4XX : SINK_5XX;
	k->st.refused[stage][c]++;
	return replies[stage][c];
}

static const struct smtp_server_ops ops = {
	.tx_begin = tx_begin, .tx_body = tx_body, .tx_end = tx_end,
	.auth_check = auth_check, .tls_start = tls_start, .check = check,
};

/* ---- life ------------------------------------------------------------------ */

int sink_sess_init(struct sink_sess *ss, struct sink *k, const char *client,
		   uint64_t now)
{
	memset(ss, 0, offsetof(struct sink_sess, in));
	ss->k = k;
	ss->now = now;
	snprintf(ss->client, sizeof(ss->client), "%s", client);
	ss->mem = malloc(smtp_server_size());
	if (ss->mem == NULL)
		return -ENOMEM;
	k->server.starttls = k->tls != NULL;
	k->server.auth = false;
	ss->s = smtp_server_init(ss->mem, &k->server, &ops, ss, client,
				 SMTP_ADMIT_ALLOW, now);
	k->st.conns++;
	return 0;
}

void sink_sess_fini(struct sink_sess *ss)
{
	if (ss->s != NULL)
		smtp_server_abort(ss->s);
	if (ss->file != NULL)
		fclose(ss->file);
	if (ss->tls != NULL)
		tls_conn_free(ss->tls);
	free(ss->mem);
	ss->s = NULL;
	ss->mem = NULL;
	ss->tls = NULL;
	ss->file = NULL;
}

/* ---- bytes in -------------------------------------------------------------- */

/* Move plaintext into the engine (and out of TLS) while it takes it. */
static void pull(struct sink_sess *ss, uint64_t now)
{
	for (;;) {
		size_t n = smtp_server_feed(ss->s, ss->in, ss->in_len, now), got = 0;

		memmove(ss->in, ss->in + n, ss->in_len - n);
		ss->in_len -= n;
		if (ss->tls == NULL || ss->handshaking || ss->in_len == SINK_IN_MAX ||
		    tls_read_plain(ss->tls, ss->in + ss->in_len, SINK_IN_MAX - ss->in_len,
				   &got) != TLS_OK || got == 0)
			return;
		ss->in_len += got;
	}
}

static void handshake(struct sink_sess *ss, uint64_t now)
{
	enum tls_result rc = tls_handshake(ss->tls);

	if (rc == TLS_WANT_READ)
		return;
	ss->handshaking = false;
	if (rc != TLS_OK) {
		char why[200];

		tls_conn_error(ss->tls, why, sizeof(why));
		sink_log(ss->k, "tls-failed client=%s %s %s\n", ss->client,
			tls_result_name(rc), why);
		ss->k->st.tls_failed++;
		ss->failed = true;
		return;
	}
	ss->k->st.tls++;
	sink_log(ss->k, "starttls client=%s %s %s\n", ss->client,
		tls_version(ss->tls), tls_cipher(ss->tls));
	smtp_server_tls_started(ss->s, tls_version(ss->tls), tls_cipher(ss->tls), now);
}

size_t sink_sess_input(struct sink_sess *ss, const uint8_t *data, size_t len,
		       uint64_t now)
{
	size_t taken;

	ss->now = now;
	if (ss->failed)
		return len;
	if (ss->tls == NULL) {
		taken = SINK_IN_MAX - ss->in_len < len ? SINK_IN_MAX - ss->in_len : len;
		memcpy(ss->in + ss->in_len, data, taken);
		ss->in_len += taken;
	} else if (tls_feed_cipher(ss->tls, data, len, &taken) != TLS_OK) {
		ss->failed = true;
		return len;
	} else if (ss->handshaking) {
		handshake(ss, now);
	}
	if (!ss->failed)
		pull(ss, now);
	return taken;
}

/* ---- bytes out ------------------------------------------------------------- */

static size_t drain_cipher(struct sink_sess *ss, uint8_t *buf, size_t cap)
{
	return ss->tls != NULL ? tls_drain_cipher(ss->tls, buf, cap) : 0;
}

size_t sink_sess_output(struct sink_sess *ss, uint8_t *buf, size_t cap,
			uint64_t now)
{
	size_t got = drain_cipher(ss, buf, cap), n, put = 0;
	const uint8_t *p;

	ss->now = now;
	if (got > 0 || ss->failed)
		return got;
	n = smtp_server_output(ss->s, &p);
	if (n == 0)
		return 0;
	if (ss->out_since == 0)
		ss->out_since = now;
	if (now < ss->out_since + ss->k->delay_us)
		return 0;
	if (ss->tls == NULL) {
		put = n < cap ? n : cap;
		memcpy(buf, p, put);
		got = put;
	} else if (!ss->handshaking) {
		tls_write_plain(ss->tls, p, n, &put);
		got = drain_cipher(ss, buf, cap);
	}
	smtp_server_consume(ss->s, put);
	if (smtp_server_output(ss->s, &p) == 0) {
		ss->out_since = 0;
		if (ss->tls_next && tls_conn_new(ss->k->tls, NULL, &ss->tls) == 0) {
			ss->tls_next = false;
			ss->handshaking = true;
		} else if (ss->tls_next) {
			ss->failed = true;
		}
		pull(ss, now);   /* the engine may have stopped on a full output */
	}
	return got;
}

uint64_t sink_sess_deadline(const struct sink_sess *ss)
{
	uint64_t d = smtp_server_deadline(ss->s);
	const uint8_t *p;

	if (ss->out_since != 0 && smtp_server_output(ss->s, &p) > 0 &&
	    ss->out_since + ss->k->delay_us < d)
		d = ss->out_since + ss->k->delay_us;
	return d;
}

void sink_sess_tick(struct sink_sess *ss, uint64_t now)
{
	ss->now = now;
	if (smtp_server_deadline(ss->s) <= now)
		smtp_server_tick(ss->s, now);
}

bool sink_sess_done(const struct sink_sess *ss)
{
	const uint8_t *p;

	if (ss->tls != NULL && tls_pending_cipher(ss->tls) > 0)
		return false;
	return ss->failed ||
	       (smtp_server_closing(ss->s) && smtp_server_output(ss->s, &p) == 0);
}

void sink_summary(const struct sink *k, FILE *f)
{
	const struct sink_stats *s = &k->st;

	fprintf(f, "summary conns=%" PRIu64 " tls=%" PRIu64 " tls_failed=%" PRIu64
		" msgs=%" PRIu64 " rcpts=%" PRIu64 " bytes=%" PRIu64,
		s->conns, s->tls, s->tls_failed, s->msgs, s->rcpts, s->bytes);
	for (unsigned st = 0; st < 3; st++)
		fprintf(f, " %s_4xx=%" PRIu64 " %s_5xx=%" PRIu64, stage_names[st],
			s->refused[st][SINK_4XX], stage_names[st], s->refused[st][SINK_5XX]);
	fputc('\n', f);
}
