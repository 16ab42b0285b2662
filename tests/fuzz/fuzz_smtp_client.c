/*
 * fuzz_smtp_client: libFuzzer target for the SMTP client session.  The
 * first 8 bytes seed a generator that chooses the configuration (TLS
 * policy, AUTH), the messages (recipients, size, 8-bit, SMTPUTF8, DSN
 * parameters, body with dots), where the rest of the input is split into
 * segments, and the caller's answers between them (output drained in
 * part, TLS result, body stalls and resumes, clock steps and ticks, QUIT,
 * a new message, a lost connection); the rest is the server's byte
 * stream.  Aborts when the session breaks a promise: a recipient without
 * exactly one outcome before msg_done, an outcome outside a message, a
 * delivery without a 2xx, output over its capacity, a body read past the
 * end, a deadline in the past after tick, or input not taken.
 *
 * Run: fuzz_smtp_client -max_len=4096 CORPUS_COPY
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/smtp/smtp_client.h"

#define NRCPT 6

struct fz {
	struct smtp_client *c;
	uint64_t rng, now;
	bool in_msg, tls_pending, stall;
	unsigned results[NRCPT];
	struct smtp_client_rcpt rcpt[NRCPT];
	struct smtp_client_msg msg;
	uint8_t body[3000];
	size_t body_len;
};

static uint32_t next(struct fz *f)
{
	f->rng ^= f->rng << 13;
	f->rng ^= f->rng >> 7;
	f->rng ^= f->rng << 17;
	return (uint32_t)(f->rng >> 11);
}

static long on_read(void *arg, uint64_t off, const uint8_t **data)
{
	struct fz *f = arg;

	if (!f->in_msg || off > f->body_len)
		abort();
	if (f->stall)
		return -EAGAIN;
	*data = f->body + off;
	return (long)(f->body_len - off);
}

static void on_tls(void *arg)
{
	struct fz *f = arg;

	if (f->tls_pending)
		abort();
	f->tls_pending = true;
}

static void on_result(void *arg, unsigned idx, const struct smtp_client_result *r)
{
	struct fz *f = arg;

	if (!f->in_msg || idx >= f->msg.nrcpt || f->results[idx]++ != 0)
		abort();
	if (r->text == NULL || r->enh == NULL || r->status > SMTP_RCPT_BOUNCED)
		abort();
	if (r->remote && (r->code < 200 || r->code > 599))
		abort();
	if (r->status == SMTP_RCPT_DELIVERED && (!r->remote || r->code / 100 != 2))
		abort();
}

static void on_done(void *arg)
{
	struct fz *f = arg;

	if (!f->in_msg)
		abort();
	for (unsigned i = 0; i < f->msg.nrcpt; i++)
		if (f->results[i] != 1)
			abort();
	f->in_msg = false;
}

static const struct smtp_client_ops OPS = {
	.body_read = on_read, .tls_start = on_tls,
	.rcpt_result = on_result, .msg_done = on_done,
};

static const char *const ADDRS[NRCPT] = {
	"a@example.net", "b@example.net", "c@example.org", "d@x.test",
	"e@y.test", "f@z.test",
};

static void new_msg(struct fz *f)
{
	struct smtp_client_msg *m = &f->msg;
	uint32_t r = next(f);

	memset(m, 0, sizeof(*m));
	memset(f->results, 0, sizeof(f->results));
	m->nrcpt = 1 + r % NRCPT;
	for (unsigned i = 0; i < m->nrcpt; i++) {
		f->rcpt[i].addr = ADDRS[i];
		f->rcpt[i].notify = (r >> (8 + i)) & 1 ? SMTP_NOTIFY_FAILURE : 0;
		f->rcpt[i].orcpt = (r >> (14 + i)) & 1 ? "rfc822;x@y" : NULL;
	}
	m->from = (r >> 20) & 1 ? "" : "s@example.com";
	m->rcpt = f->rcpt;
	m->body_8bit = (r >> 21) & 1;
	m->smtputf8 = (r >> 22) & 3 ? false : true;
	m->ret = (enum smtp_ret)((r >> 24) % 3);
	m->envid = (r >> 26) & 1 ? "ENV" : NULL;
	f->body_len = 1 + next(f) % sizeof(f->body);
	for (size_t i = 0; i < f->body_len; i++) {
		uint32_t k = next(f) % 16;

		f->body[i] = k == 0 ? '.' : k == 1 ? '\r' : k == 2 ? '\n' : (uint8_t)('a' + k);
	}
	m->size = f->body_len;
	f->in_msg = true; /* outcomes may come before send() returns */
	if (smtp_client_send(f->c, m, f->now) != 0)
		f->in_msg = false;
}

/* Drain all of the output, or a random part of it. */
static void drain(struct fz *f, bool all)
{
	const uint8_t *p;
	size_t n = smtp_client_output(f->c, &p);

	if (n > SMTP_CLIENT_OUT_CAP)
		abort();
	if (!all && n > 0)
		n = next(f) % (n + 1);
	smtp_client_consume(f->c, n, f->now);
}

static void caller_step(struct fz *f)
{
	uint32_t r = next(f);
	enum smtp_client_state st = smtp_client_state(f->c);

	drain(f, (r & 3) != 0);
	if (f->tls_pending && (r & 0x30) != 0) {
		f->tls_pending = false;
		if (smtp_client_tls_done(f->c, (r & 0x40) != 0, f->now) != 0 &&
		    st != SMTP_CLIENT_CLOSED)
			abort(); /* pending unless a timeout or abort closed it */
	}
	if (f->stall && (r & 0x80)) {
		f->stall = false;
		smtp_client_resume(f->c, f->now);
	} else if (!f->stall && (r & 0x700) == 0) {
		f->stall = true;
	}
	if ((r & 0x3800) == 0)
		f->now += (uint64_t)(next(f) % 700) * 1000000;
	if ((r & 0xc000) == 0) {
		uint64_t d;

		smtp_client_tick(f->c, f->now);
		d = smtp_client_deadline(f->c);
		if (d <= f->now && smtp_client_state(f->c) != SMTP_CLIENT_CLOSED)
			abort();
	}
	if (!f->in_msg && (st == SMTP_CLIENT_IDLE || st == SMTP_CLIENT_OPENING) &&
	    (r & 0x30000) == 0)
		new_msg(f);
	if ((r & 0x7c0000) == 0)
		smtp_client_quit(f->c, f->now);
	if ((r & 0xff800000) == 0x00800000)
		smtp_client_abort(f->c, "lost");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t mem[1 << 18];
	struct smtp_client_conf conf;
	struct fz f;
	size_t off = 8;
	uint32_t r;

	if (size < 8 || smtp_client_size() > sizeof(mem))
		return 0;
	memset(&f, 0, sizeof(f));
	memcpy(&f.rng, data, 8);
	f.rng |= 1;
	f.now = 1000000000ull;
	r = next(&f);
	smtp_client_conf_default(&conf);
	conf.tls = (enum smtp_tls_policy)(r % 4);
	conf.auth = (r >> 2) & 1;
	memcpy(conf.auth_user, "user", 5);
	memcpy(conf.auth_pass, "pass", 5);
	memcpy(conf.peer_name, "peer", 5);
	f.c = smtp_client_init(mem, &conf, &OPS, &f, f.now);
	if ((r >> 3) & 1)
		new_msg(&f);
	while (off < size) {
		size_t n = 1 + next(&f) % 64, used;

		if (n > size - off)
			n = size - off;
		used = smtp_client_feed(f.c, data + off, n, f.now);
		if (used != n)
			abort();
		off += n;
		caller_step(&f);
	}
	/* the end: the connection goes away; every outcome is reported */
	smtp_client_abort(f.c, "end");
	if (f.in_msg)
		abort();
	return 0;
}
