/*
 * smtp_client: the client session core.  Owns the session's life (init,
 * send, quit, abort, close), the output buffer and command formatting, the
 * queue of replies awaited, the feed loop, the opening of the session
 * (greeting, EHLO / HELO, capabilities, STARTTLS by policy, AUTH) and the
 * timers.  The transaction is smtp_client_tx.c, the body smtp_client_body.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "dataplane/smtp/smtp_client_impl.h"

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
	n = vsnprintf((char *)c->out + c->out_tail, room, fmt, ap);
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
static void cl_ready(struct smtp_client *c, uint64_t now)
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

/* ---- opening: EHLO, capabilities, STARTTLS, AUTH ------------------------- */

static void ehlo(struct smtp_client *c, uint64_t now)
{
	c->ext = 0;
	c->ext_size = 0;
	cl_cmd(c, EXP_EHLO, 0, now, "EHLO %s", c->conf.helo_name);
}

static bool word_is(const char *w, size_t n, const char *kw)
{
	return strlen(kw) == n && strncasecmp(w, kw, n) == 0;
}

static void auth_mechs(struct smtp_client *c, const char *p)
{
	while (*p != '\0') {
		size_t n;

		while (*p == ' ' || *p == '=')
			p++;
		n = strcspn(p, " ");
		if (word_is(p, n, "PLAIN"))
			c->ext |= SMTP_EXT_AUTH_PLAIN;
		else if (word_is(p, n, "LOGIN"))
			c->ext |= SMTP_EXT_AUTH_LOGIN;
		p += n;
	}
}

/* One line of a 250 reply to EHLO after the first: a capability. */
static void ehlo_line(struct smtp_client *c, const char *line)
{
	static const struct { const char *kw; unsigned bit; } kws[] = {
		{"PIPELINING", SMTP_EXT_PIPELINING}, {"8BITMIME", SMTP_EXT_8BITMIME},
		{"SMTPUTF8", SMTP_EXT_SMTPUTF8}, {"CHUNKING", SMTP_EXT_CHUNKING},
		{"DSN", SMTP_EXT_DSN}, {"STARTTLS", SMTP_EXT_STARTTLS},
		{"ENHANCEDSTATUSCODES", SMTP_EXT_ENHANCED},
	};
	size_t n = strcspn(line, " =");

	if (word_is(line, n, "AUTH")) {
		auth_mechs(c, line + n);
		return;
	}
	if (word_is(line, n, "SIZE")) {
		const char *v = line + n;
		uint64_t sz = 0;

		c->ext |= SMTP_EXT_SIZE;
		while (*v == ' ')
			v++;
		for (; *v >= '0' && *v <= '9'; v++)
			sz = sz > UINT64_MAX / 10 - 1 ? UINT64_MAX : sz * 10 + (uint64_t)(*v - '0');
		c->ext_size = sz;
		return;
	}
	if (line[n] != '\0' && line[n] != ' ')
		return;
	for (size_t i = 0; i < sizeof(kws) / sizeof(kws[0]); i++)
		if (word_is(line, n, kws[i].kw))
			c->ext |= kws[i].bit;
}

static void b64(const char *in, size_t n, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)in, (int)n);
}

static void auth_start(struct smtp_client *c, uint64_t now)
{
	char buf[2 * SMTP_CLIENT_CRED_MAX + 4];
	char enc[(sizeof(buf) + 2) / 3 * 4 + 1];
	size_t ul = strlen(c->conf.auth_user), pl = strlen(c->conf.auth_pass);

	if (!c->tls) {
		cl_fail(c, true, now, "4.7.10 AUTH to %s needs TLS", c->conf.peer_name);
	} else if (c->ext & SMTP_EXT_AUTH_PLAIN) {
		buf[0] = '\0';
		memcpy(buf + 1, c->conf.auth_user, ul);
		buf[1 + ul] = '\0';
		memcpy(buf + 2 + ul, c->conf.auth_pass, pl);
		b64(buf, 2 + ul + pl, enc);
		cl_cmd(c, EXP_AUTH, 0, now, "AUTH PLAIN %s", enc);
	} else if (c->ext & SMTP_EXT_AUTH_LOGIN) {
		cl_cmd(c, EXP_AUTH_USER, 0, now, "AUTH LOGIN");
	} else {
		cl_fail(c, true, now, "4.7.4 %s offers no AUTH PLAIN or LOGIN",
			c->conf.peer_name);
	}
}

/* EHLO or HELO succeeded: STARTTLS, AUTH, or ready. */
static void opened(struct smtp_client *c, uint64_t now)
{
	if (!c->tls && c->conf.tls != SMTP_TLS_NONE) {
		if (c->ext & SMTP_EXT_STARTTLS) {
			cl_cmd(c, EXP_STARTTLS, 0, now, "STARTTLS");
			return;
		}
		if (c->conf.tls != SMTP_TLS_OPPORTUNISTIC) {
			cl_fail(c, true, now, "4.7.10 %s does not offer STARTTLS, TLS required",
				c->conf.peer_name);
			return;
		}
	}
	if (c->conf.auth && !c->authed)
		auth_start(c, now);
	else
		cl_ready(c, now);
}

static void auth_login_step(struct smtp_client *c, const char *s,
			    enum cl_exp next, uint64_t now)
{
	char enc[(SMTP_CLIENT_CRED_MAX + 2) / 3 * 4 + 1];

	b64(s, strlen(s), enc);
	cl_cmd(c, next, 0, now, "%s", enc);
}

static void opening_reply(struct smtp_client *c, enum cl_exp kind, uint64_t now)
{
	int code = c->rp.code;

	switch (kind) {
	case EXP_GREET:
		if (code == 220)
			ehlo(c, now);
		else
			cl_fail_reply(c, true, now);
		break;
	case EXP_EHLO:
		if (code == 250)
			opened(c, now);
		else if (code >= 500)
			cl_cmd(c, EXP_HELO, 0, now, "HELO %s", c->conf.helo_name);
		else
			cl_fail_reply(c, true, now);
		break;
	case EXP_HELO:
		if (code == 250) {
			c->ext = 0;
			opened(c, now);
		} else {
			cl_fail_reply(c, true, now);
		}
		break;
	case EXP_STARTTLS:
		if (code == 220) {
			c->phase = CL_TLS;
			c->wait_since = now;
			c->ops->tls_start(c->arg);
		} else if (c->conf.tls == SMTP_TLS_OPPORTUNISTIC && code != 421) {
			c->ext &= ~(unsigned)SMTP_EXT_STARTTLS;
			opened(c, now);
		} else {
			cl_fail_reply(c, true, now);
		}
		break;
	case EXP_AUTH_USER:
	case EXP_AUTH_PASS:
		if (code != 334)
			cl_fail_reply(c, true, now);
		else if (kind == EXP_AUTH_USER)
			auth_login_step(c, c->conf.auth_user, EXP_AUTH_PASS, now);
		else
			auth_login_step(c, c->conf.auth_pass, EXP_AUTH, now);
		break;
	case EXP_AUTH:
		if (code == 235) {
			c->authed = true;
			cl_ready(c, now);
		} else {
			cl_fail_reply(c, true, now);
		}
		break;
	default:
		break;
	}
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
		opening_reply(c, (enum cl_exp)e.kind, now);
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
			ehlo_line(c, c->rp.line);
		if (r == SMTP_REPLY_END)
			on_reply(c, now);
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
	ehlo(c, now);
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
