/*
 * fuzz_smtp_server: libFuzzer target for the SMTP server session.  The
 * first 8 bytes seed a generator that chooses the configuration
 * (admission, normalize), where the rest of the input is split into
 * segments, and the caller's answers (commit result, AUTH verdict, TLS
 * start, clock steps and ticks); the rest is the client's byte stream.
 * Aborts when the session breaks a promise: a malformed reply line, a
 * transaction event out of order, a completed body with a bare CR / LF /
 * NUL, a line or size over the limits, or a feed that stalls.
 *
 * Run: fuzz_smtp_server -max_len=4096 CORPUS_COPY
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/smtp/smtp_server.h"

struct fz {
	struct smtp_server *s;
	uint64_t rng, now;
	bool in_tx, commit_pending, auth_pending, tls_pending;
	bool normalize;
	uint64_t body_size;
	uint32_t linelen;
	uint8_t prev;        /* last body octet of the transaction */
	uint64_t max_size;
};

static uint32_t next(struct fz *f)
{
	f->rng ^= f->rng << 13;
	f->rng ^= f->rng >> 7;
	f->rng ^= f->rng << 17;
	return (uint32_t)(f->rng >> 11);
}

static void on_begin(void *arg, const struct smtp_envelope *e)
{
	struct fz *f = arg;
	char hdr[2048];

	if (f->in_tx || f->commit_pending || e->nrcpt == 0 || e->mail_from == NULL)
		abort();
	f->in_tx = true;
	f->body_size = 0;
	f->linelen = 0;
	f->prev = '\n';
	if (smtp_received(e, "mx.fuzz", "Q", 0, hdr, sizeof(hdr)) < 0)
		abort();
	if (memchr(hdr, '\0', strlen(hdr)) != NULL)
		abort();
}

static void on_body(void *arg, const uint8_t *p, size_t n)
{
	struct fz *f = arg;

	if (!f->in_tx || n == 0)
		abort();
	f->body_size += n;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];

		if (c == '\0')
			abort();
		/* a bare LF can only come before an octet that turns the
		 * message away; the check is on completion below */
		if (c == '\n') {
			if (f->prev != '\r')
				f->linelen = UINT32_MAX;
			else if (f->linelen != UINT32_MAX)
				f->linelen = 0;
		} else if (f->linelen != UINT32_MAX) {
			if (f->prev == '\r')
				f->linelen = UINT32_MAX; /* bare CR */
			else
				f->linelen++;
		}
		f->prev = c;
	}
}

static void on_end(void *arg, enum smtp_tx_end how)
{
	struct fz *f = arg;

	if (!f->in_tx)
		abort();
	f->in_tx = false;
	if (how == SMTP_TX_COMPLETE) {
		/* what goes to the spool: CRLF lines only, within the limits */
		if (f->linelen == UINT32_MAX || f->linelen > 999 ||
		    f->body_size > f->max_size)
			abort();
		f->commit_pending = true;
		if (next(f) % 4 == 0) {
			f->commit_pending = false;
			if (smtp_server_commit_done(f->s, next(f) % 4, "Q", f->now) != 0)
				abort();
		}
	}
}

static void on_auth(void *arg, const struct smtp_auth_req *r)
{
	struct fz *f = arg;

	if (f->auth_pending || r->user == NULL || r->pass == NULL)
		abort();
	f->auth_pending = true;
	if (next(f) % 4 == 0) {
		f->auth_pending = false;
		if (smtp_server_auth_result(f->s, next(f) % 3, f->now) != 0)
			abort();
	}
}

static void on_tls(void *arg)
{
	struct fz *f = arg;

	if (f->tls_pending)
		abort();
	f->tls_pending = true;
}

/* The caller's check refuses one command in eight (stages in range, an
 * address for MAIL and RCPT only, never during a transaction's body). */
static const char *on_check(void *arg, enum smtp_stage stage, const char *addr)
{
	struct fz *f = arg;

	if (stage > SMTP_STAGE_DATA || (stage == SMTP_STAGE_DATA) != (addr == NULL) ||
	    f->in_tx)
		abort();
	return next(f) % 8 == 0 ? (next(f) % 2 ? "451 4.3.0 later" : "550 5.7.1 no") : NULL;
}

static const struct smtp_server_ops OPS = {
	.tx_begin = on_begin, .tx_body = on_body, .tx_end = on_end,
	.auth_check = on_auth, .tls_start = on_tls, .check = on_check,
};

/* Every reply line: 3 digits, ' ' or '-', printable text, CRLF. */
static void drain(struct fz *f)
{
	const uint8_t *p;
	size_t n = smtp_server_output(f->s, &p), i = 0;

	while (i < n) {
		const uint8_t *lf = memchr(p + i, '\n', n - i);
		size_t len;

		if (lf == NULL)
			abort();
		len = (size_t)(lf - (p + i)) + 1;
		if (len < 6 || len > 512 || p[i + len - 2] != '\r')
			abort();
		for (size_t k = 0; k < 3; k++)
			if (p[i + k] < '0' || p[i + k] > '9')
				abort();
		if (p[i + 3] != ' ' && p[i + 3] != '-')
			abort();
		for (size_t k = 4; k < len - 2; k++)
			if (p[i + k] < 32 || p[i + k] > 126)
				abort();
		i += len;
	}
	smtp_server_consume(f->s, n);
}

/* The caller's pending answers, given now (none once the session ended,
 * e.g. a handshake that timed out). */
static void answer(struct fz *f)
{
	if (smtp_server_closing(f->s)) {
		f->commit_pending = f->auth_pending = f->tls_pending = false;
		return;
	}
	if (f->commit_pending) {
		f->commit_pending = false;
		if (smtp_server_commit_done(f->s, next(f) % 4, "Q", f->now) != 0)
			abort();
	}
	if (f->auth_pending) {
		f->auth_pending = false;
		if (smtp_server_auth_result(f->s, next(f) % 3, f->now) != 0)
			abort();
	}
	if (f->tls_pending) {
		f->tls_pending = false;
		if (smtp_server_tls_started(f->s, "TLSv1.3", "TLS_AES_256_GCM_SHA384",
					    f->now) != 0)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static void *mem;
	struct smtp_server_conf conf;
	struct fz f = {0};
	size_t pos = 8;

	if (size < 8)
		return 0;
	if (mem == NULL && (mem = malloc(smtp_server_size())) == NULL)
		abort();
	for (int i = 0; i < 8; i++)
		f.rng = f.rng << 8 | data[i];
	f.rng |= 1;
	smtp_server_conf_default(&conf);
	conf.starttls = conf.auth = true;
	conf.max_msg_size = 70000;
	conf.max_errors = 1 + next(&f) % 30;
	conf.normalize_bare = next(&f) % 2;
	f.max_size = 70000;
	f.now = 1000000;
	f.s = smtp_server_init(mem, &conf, &OPS, &f, "198.51.100.1",
			       next(&f) % 8 == 0 ? SMTP_ADMIT_AUTH : SMTP_ADMIT_ALLOW,
			       f.now);
	drain(&f);
	while (pos < size) {
		size_t seg = 1 + next(&f) % 96, used;

		if (seg > size - pos)
			seg = size - pos;
		used = smtp_server_feed(f.s, data + pos, seg, f.now);
		if (used > seg)
			abort();
		pos += used;
		drain(&f);
		/* only a pending answer may stall input (the output is drained) */
		if (used == 0 && !f.commit_pending && !f.auth_pending &&
		    !smtp_server_closing(f.s))
			abort();
		if (next(&f) % 3 == 0 || used < seg)
			answer(&f);
		if (next(&f) % 16 == 0) {
			f.now += (uint64_t)(next(&f) % 400) * 1000000;
			smtp_server_tick(f.s, f.now);
			drain(&f);
		}
		if (smtp_server_closing(f.s))
			break;
	}
	answer(&f);
	drain(&f);
	smtp_server_abort(f.s);
	if (f.in_tx)
		abort(); /* abort must end an open transaction */
	return 0;
}
