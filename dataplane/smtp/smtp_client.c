/*
 * smtp_client: the client session core.  Owns the session's life (init,
 * send, quit, abort, close), the output buffer and command formatting, the
 * queue of replies awaited, the feed loop, the TLS result and the timers.
 * The opening (EHLO, STARTTLS, AUTH) is smtp_client_open.c, the
 * transaction smtp_client_tx.c, the body smtp_client_body.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "dataplane/smtp/smtp_client_impl.h"
#include "dataplane/smtp/smtp_fmt.h"

#define MIN_US (60ull * 1000000)

/* ---- configuration ------------------------------------------------------- */

void smtp_client_conf_default(struct smtp_client_conf *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->helo_name, sizeof(c->helo_name), "localhost");
	c->tls = SMTP_TLS_OPPORTUNISTIC;
}

static void conf_fill(struct smtp_client_conf *c)
{
	struct smtp_client_timeouts *t = &c->to;

	if (t->initial == 0)
		t->initial = 5 * MIN_US;
	if (t->mail == 0)
		t->mail = 5 * MIN_US;
	if (t->rcpt == 0)
		t->rcpt = 5 * MIN_US;
	if (t->data_init == 0)
		t->data_init = 2 * MIN_US;
	if (t->data_block == 0)
		t->data_block = 3 * MIN_US;
	if (t->data_term == 0)
		t->data_term = 10 * MIN_US;
	c->helo_name[SMTP_CLIENT_HOST_MAX] = '\0';
	c->peer_name[SMTP_CLIENT_HOST_MAX] = '\0';
	c->auth_user[SMTP_CLIENT_CRED_MAX] = '\0';
	c->auth_pass[SMTP_CLIENT_CRED_MAX] = '\0';
	if (c->helo_name[0] == '\0')
		snprintf(c->helo_name, sizeof(c->helo_name), "localhost");
}

size_t smtp_client_size(void)
{
	return sizeof(struct smtp_client);
}

/* ---- output -------------------------------------------------------------- */

size_t cl_room(struct smtp_client *c)
{
	if (c->out_head > 0) {
		memmove(c->out, c->out + c->out_head, c->out_tail - c->out_head);
		c->out_tail -= c->out_head;
		c->out_head = 0;
	}
	return SMTP_CLIENT_OUT_CAP - c->out_tail;
}

/* Append N octets; the caller checked cl_room(). */
void cl_put(struct smtp_client *c, const void *p, size_t n)
{
	memcpy(c->out + c->out_tail, p, n);
	c->out_tail += n;
}

static void expect(struct smtp_client *c, enum cl_exp kind, unsigned idx,
		   uint64_t now)
{
	struct cl_expect *e = &c->exp[(c->exp_head + c->exp_n) % CL_EXP_CAP];

	if (c->exp_n == 0)
		c->wait_since = now;
	e->kind = (uint8_t)kind;
	e->idx = (uint16_t)idx;
	c->exp_n++;
}

/* Write a command line (CRLF added) and await its reply.  Commands are
 * bounded (addresses, ORCPT, ENVID, AUTH) well under CL_CMD_ROOM. */
void cl_cmd(struct smtp_client *c, enum cl_exp kind, unsigned idx,
	    uint64_t now, const char *fmt, ...)
{
	size_t room = cl_room(c);
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = smtp_vformat((char *)c->out + c->out_tail, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n + 2 >= room)
		return; /* cannot happen: callers keep CL_CMD_ROOM */
	c->out_tail += (size_t)n;
	cl_put(c, "\r\n", 2);
	expect(c, kind, idx, now);
}

size_t smtp_client_output(const struct smtp_client *c, const uint8_t **data)
{
	*data = c->out + c->out_head;
	return c->out_tail - c->out_head;
}

void smtp_client_consume(struct smtp_client *c, size_t n, uint64_t now)
{
	size_t have = c->out_tail - c->out_head;

	if (n > have)
		n = have;
	c->out_head += n;
	if (c->out_head == c->out_tail)
		c->out_head = c->out_tail = 0;
	if (n > 0)
		c->progress = now;
	if (c->phase == CL_TX)
		cl_tx_emit(c, now);
}

/* ---- session life -------------------------------------------------------- */

struct smtp_client *smtp_client_init(void *mem, const struct smtp_client_conf *conf,
				     const struct smtp_client_ops *ops, void *arg,
				     uint64_t now)
{
	struct smtp_client *c = mem;

	memset(c, 0, offsetof(struct smtp_client, out));
	c->conf = *conf;
	conf_fill(&c->conf);
	c->ops = ops;
	c->arg = arg;
	c->phase = CL_OPENING;
	smtp_reply_init(&c->rp);
	expect(c, EXP_GREET, 0, now);
	return c;
}

static void close_now(struct smtp_client *c)
{
	c->phase = CL_CLOSED;
	c->exp_n = 0;
}

void cl_send_quit(struct smtp_client *c, uint64_t now)
{
	c->phase = CL_QUIT;
	cl_cmd(c, EXP_QUIT, 0, now, "QUIT");
}

/* Every recipient without an outcome gets RES; the session then sends
 * QUIT (QUIT true) or closes at once. */
static void fail_with(struct smtp_client *c, bool quit, uint64_t now,
		      const struct smtp_client_result *res)
{
	bool had_msg = c->msg != NULL;

	if (c->error[0] == '\0')
		snprintf(c->error, sizeof(c->error), "%s", res->text);
	if (quit && c->phase != CL_TLS && c->phase != CL_QUIT &&
	    c->phase != CL_CLOSED)
		cl_send_quit(c, now);
	else
		close_now(c);
	c->msg_pending = false;
	if (had_msg) {
		cl_defer_all(c, res);
		cl_msg_finish(c, now);
	}
}

void cl_fail(struct smtp_client *c, bool quit, uint64_t now, const char *fmt, ...)
{
	struct smtp_client_result res = { .status = SMTP_RCPT_DEFERRED };
	char text[CL_TEXT_MAX], enh[16];
	const char *sp;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	sp = strchr(text, ' ');
	snprintf(enh, sizeof(enh), "%.*s", sp ? (int)(sp - text) : 0, text);
	res.enh = enh;
	res.text = text;
	fail_with(c, quit, now, &res);
}

/* The reply in rp defers the message; 421 closes without QUIT. */
void cl_fail_reply(struct smtp_client *c, bool quit, uint64_t now)
{
	struct smtp_client_result res = {
		.status = SMTP_RCPT_DEFERRED, .remote = true,
		.code = c->rp.code, .text = c->rp.text,
	};
	char enh[16];

	if (c->rp.code < 400)
		snprintf(enh, sizeof(enh), "4.5.0"); /* out of protocol */
	else if (c->rp.enh[0] != '\0')
		snprintf(enh, sizeof(enh), "%s", c->rp.enh);
	else
		snprintf(enh, sizeof(enh), "4.0.0");
	enh[0] = '4'; /* a connection-level refusal only defers */
	res.enh = enh;
	fail_with(c, quit && c->rp.code != 421, now, &res);
}

/* The session can take a message. */
void cl_ready(struct smtp_client *c, uint64_t now)
{
	c->phase = CL_IDLE;
	if (c->msg_pending) {
		c->msg_pending = false;
		cl_tx_start(c, now);
	} else if (c->quit_req) {
		cl_send_quit(c, now);
	}
}

int smtp_client_send(struct smtp_client *c, const struct smtp_client_msg *m,
		     uint64_t now)
{
	if (m->nrcpt == 0 || m->nrcpt > SMTP_CLIENT_RCPT_MAX || m->size == 0)
		return -EINVAL;
	if (c->msg != NULL || c->quit_req ||
	    (c->phase != CL_OPENING && c->phase != CL_TLS && c->phase != CL_IDLE))
		return -EBUSY;
	c->msg = m;
	memset(c->rst, R_TODO, m->nrcpt);
	if (c->phase == CL_IDLE)
		cl_tx_start(c, now);
	else
		c->msg_pending = true;
	return 0;
}

void smtp_client_quit(struct smtp_client *c, uint64_t now)
{
	if (c->phase == CL_IDLE)
		cl_send_quit(c, now);
	else
		c->quit_req = true;
}

void smtp_client_abort(struct smtp_client *c, const char *why)
{
	if (c->phase == CL_CLOSED)
		return;
	if (c->phase == CL_QUIT && c->msg == NULL) {
		close_now(c);
		return;
	}
	cl_fail(c, false, c->wait_since, "4.4.2 %s", why);
}

/* ---- input --------------------------------------------------------------- */

static void on_reply(struct smtp_client *c, uint64_t now)
{
	struct cl_expect e;

	if (c->exp_n == 0) {
		if (c->rp.code == 421)
			cl_fail_reply(c, false, now);
		else
			cl_fail(c, false, now, "4.5.0 unexpected reply from %s: %s",
				c->conf.peer_name, c->rp.text);
		return;
	}
	e = c->exp[c->exp_head];
	c->exp_head = (c->exp_head + 1) % CL_EXP_CAP;
	c->exp_n--;
	c->wait_since = now;
	if (e.kind == EXP_QUIT) {
		close_now(c);
	} else if (c->phase == CL_QUIT) {
		return; /* replies to what was pipelined before QUIT */
	} else if (c->rp.code == 421) {
		cl_fail_reply(c, false, now);
	} else if (e.kind <= EXP_AUTH_PASS) {
		cl_open_reply(c, (enum cl_exp)e.kind, now);
	} else {
		cl_tx_reply(c, &e, now);
	}
}

size_t smtp_client_feed(struct smtp_client *c, const uint8_t *data, size_t len,
			uint64_t now)
{
	size_t used = 0;

	while (used < len) {
		size_t n;
		int r;

		if (c->phase == CL_TLS || c->phase == CL_CLOSED)
			return len;
		r = smtp_reply_parse(&c->rp, data + used, len - used, &n);
		used += n;
		if (r < 0) {
			cl_fail(c, false, now, "4.5.0 %s from %s",
				r == -EMSGSIZE ? "reply too long" : "garbage reply",
				c->conf.peer_name);
			return len;
		}
		if (c->rp.code == 250 && c->exp_n > 0 &&
		    c->exp[c->exp_head].kind == EXP_EHLO &&
		    r != SMTP_REPLY_MORE && c->rp.nlines > 1)
			cl_ehlo_line(c, c->rp.line);
		if (r == SMTP_REPLY_END) {
			c->replies[c->rp.code / 100]++;
			on_reply(c, now);
		}
	}
	return used;
}

int smtp_client_tls_done(struct smtp_client *c, bool ok, uint64_t now)
{
	if (c->phase != CL_TLS)
		return -EINVAL;
	if (!ok) {
		cl_fail(c, false, now, "4.7.5 TLS handshake with %s failed",
			c->conf.peer_name);
		return 0;
	}
	c->tls = true;
	c->phase = CL_OPENING;
	smtp_reply_init(&c->rp);
	cl_ehlo(c, now);
	return 0;
}

/* ---- timers -------------------------------------------------------------- */

static uint64_t exp_timeout(const struct smtp_client *c, enum cl_exp kind)
{
	const struct smtp_client_timeouts *t = &c->conf.to;

	switch (kind) {
	case EXP_GREET:
		return t->initial;
	case EXP_RCPT:
		return t->rcpt;
	case EXP_DATA:
		return t->data_init;
	case EXP_DOT:
	case EXP_DOT_NULL:
	case EXP_BDAT_LAST:
		return t->data_term;
	case EXP_BDAT:
		return t->data_block;
	default:
		return t->mail;
	}
}

static const char *exp_name(enum cl_exp kind)
{
	static const char *const names[] = {
		[EXP_GREET] = "the greeting", [EXP_EHLO] = "EHLO",
		[EXP_HELO] = "HELO", [EXP_STARTTLS] = "STARTTLS",
		[EXP_AUTH] = "AUTH", [EXP_AUTH_USER] = "AUTH",
		[EXP_AUTH_PASS] = "AUTH", [EXP_RSET] = "RSET",
		[EXP_MAIL] = "MAIL", [EXP_RCPT] = "RCPT", [EXP_DATA] = "DATA",
		[EXP_DOT] = "end of data", [EXP_DOT_NULL] = "end of data",
		[EXP_BDAT] = "BDAT", [EXP_BDAT_LAST] = "BDAT", [EXP_QUIT] = "QUIT",
	};

	return names[kind];
}

static bool body_sending(const struct smtp_client *c)
{
	return c->phase == CL_TX && c->step == ST_BODY &&
	       (!c->body_end || c->chunk_left > 0 || c->out_tail > c->out_head);
}

uint64_t smtp_client_deadline(const struct smtp_client *c)
{
	uint64_t d = UINT64_MAX;

	if (c->phase == CL_CLOSED)
		return d;
	if (c->phase == CL_TLS)
		return c->wait_since + c->conf.to.mail;
	if (body_sending(c) && !c->body_blocked)
		d = c->progress + c->conf.to.data_block;
	if (c->exp_n > 0) {
		uint64_t since = c->wait_since > c->progress ? c->wait_since : c->progress;
		uint64_t t = since + exp_timeout(c, (enum cl_exp)c->exp[c->exp_head].kind);

		if (t < d)
			d = t;
	}
	return d;
}

void smtp_client_tick(struct smtp_client *c, uint64_t now)
{
	if (now < smtp_client_deadline(c))
		return;
	if (c->phase == CL_TLS)
		cl_fail(c, false, now, "4.4.2 timeout in the TLS handshake with %s",
			c->conf.peer_name);
	else if (c->exp_n > 0 && !body_sending(c))
		cl_fail(c, false, now, "4.4.2 timeout waiting for the reply to %s from %s",
			exp_name((enum cl_exp)c->exp[c->exp_head].kind),
			c->conf.peer_name);
	else
		cl_fail(c, false, now, "4.4.2 timeout sending the message to %s",
			c->conf.peer_name);
}

/* ---- queries ------------------------------------------------------------- */

enum smtp_client_state smtp_client_state(const struct smtp_client *c)
{
	switch (c->phase) {
	case CL_OPENING:
	case CL_TLS:
		return SMTP_CLIENT_OPENING;
	case CL_IDLE:
		return SMTP_CLIENT_IDLE;
	case CL_TX:
		return SMTP_CLIENT_BUSY;
	case CL_QUIT:
		return SMTP_CLIENT_QUIT;
	default:
		return SMTP_CLIENT_CLOSED;
	}
}

unsigned smtp_client_ext(const struct smtp_client *c, uint64_t *size)
{
	*size = c->ext_size;
	return c->ext;
}

const char *smtp_client_error(const struct smtp_client *c)
{
	return c->error;
}

const uint32_t *smtp_client_replies(const struct smtp_client *c)
{
	return c->replies;
}
