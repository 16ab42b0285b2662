/*
 * lg_session: the client dialog, driven by transport events.  Replies are
 * matched in order against a queue of what was sent (expect[]); output is
 * a command buffer followed by the message content, sent in place (no
 * copy) or, after STARTTLS, encrypted into a ciphertext buffer first.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <string.h>

#include "bench/loadgen/lg_session.h"
#include "dataplane/smtp/smtp_reply.h"

enum expect { X_GREET, X_EHLO, X_STARTTLS, X_MAIL, X_RCPT, X_DATA, X_EOD, X_RSET, X_QUIT };

#define EXPECT_MAX 1008 /* MAIL + 1000 RCPT (lg_opts' limit) + DATA + slack */

struct lg_session {
	struct lg_env *env;
	unsigned id;
	enum lg_state state;
	struct smtp_reply reply;
	bool can_pipeline, can_starttls;
	struct tls_conn *tls;
	uint8_t expect[EXPECT_MAX]; /* a ring */
	unsigned x_head, x_n;
	uint64_t deadline_us, wake_us;
	/* the session's messages and the one in progress */
	unsigned msgs_done;
	const struct lg_msg *msg;
	bool mail_ok;
	unsigned rcpt_sent, rcpt_ok;
	uint64_t t_connect, t_start, t_eod;
	/* output: commands, then content; after STARTTLS through cbuf */
	bool sending;
	char *cmd;
	size_t cmd_cap, cmd_len, cmd_off;
	const uint8_t *body;
	size_t body_len, body_off;
	uint8_t *cbuf;
	size_t cbuf_len, cbuf_off;
};

static void start_message(struct lg_session *s, uint64_t now);
static void pump(struct lg_session *s, uint64_t now);

struct lg_session *lg_session_new(struct lg_env *env, unsigned id)
{
	struct lg_session *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->env = env;
	s->id = id;
	s->cmd_cap = 1024 + strlen(env->o->from) + env->o->rcpts *
		     (strlen(env->o->to_domain) + 32);
	s->cmd = malloc(s->cmd_cap);
	if (env->o->starttls)
		s->cbuf = malloc(TLS_CIPHER_OUT_MAX);
	if (s->cmd == NULL || (env->o->starttls && s->cbuf == NULL)) {
		lg_session_free(s);
		return NULL;
	}
	return s;
}

void lg_session_free(struct lg_session *s)
{
	if (s == NULL)
		return;
	tls_conn_free(s->tls);
	free(s->cmd);
	free(s->cbuf);
	free(s);
}

enum lg_state lg_session_state(const struct lg_session *s)
{
	return s->state;
}

unsigned lg_session_started(const struct lg_session *s)
{
	return s->msgs_done + (s->msg != NULL);
}

uint64_t lg_session_deadline(const struct lg_session *s)
{
	switch (s->state) {
	case LG_S_IDLE:
	case LG_S_READY:
		return UINT64_MAX;
	case LG_S_WAITING:
		return s->wake_us;
	default:
		return s->deadline_us;
	}
}

/* --- output ------------------------------------------------------------ */

static void out_cmd(struct lg_session *s, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (s->cmd_off == s->cmd_len)
		s->cmd_off = s->cmd_len = 0;
	va_start(ap, fmt);
	n = vsnprintf(s->cmd + s->cmd_len, s->cmd_cap - s->cmd_len, fmt, ap);
	va_end(ap);
	if (n > 0 && (size_t)n < s->cmd_cap - s->cmd_len)
		s->cmd_len += (size_t)n;
}

static void expect(struct lg_session *s, enum expect x)
{
	if (s->x_n < EXPECT_MAX)
		s->expect[(s->x_head + s->x_n++) % EXPECT_MAX] = (uint8_t)x;
}

/* --- ending ------------------------------------------------------------ */

/* The message in progress is over: counted as OK or failed. */
static void message_end(struct lg_session *s, bool ok, uint64_t now)
{
	struct lg_stats *st = s->env->st;

	if (s->msg == NULL)
		return;
	if (ok) {
		st->msgs_ok++;
		st->bytes += s->msg->size;
		lg_hist_record(&st->from_connect, now - s->t_start);
		lg_hist_record(&st->from_eod, now - s->t_eod);
	} else {
		st->msgs_failed++;
	}
	st->in_flight--;
	s->msg = NULL;
	s->msgs_done++;
}

/* Drop the connection (counting ERR unless it is LG_ERR_MAX). */
static void finish(struct lg_session *s, enum lg_err err, uint64_t now)
{
	if (err < LG_ERR_MAX)
		s->env->st->err[err]++;
	message_end(s, false, now);
	s->env->t->ops->close(s->env->t, s->id);
	tls_conn_free(s->tls);
	s->tls = NULL;
	s->state = LG_S_IDLE;
}

static void quit(struct lg_session *s, uint64_t now)
{
	out_cmd(s, "QUIT\r\n");
	expect(s, X_QUIT);
	s->state = LG_S_QUIT;
	pump(s, now);
}

/* After a message: the next one, or QUIT. */
static void next_message(struct lg_session *s, uint64_t now)
{
	if (s->msgs_done >= s->env->o->per_session)
		quit(s, now);
	else
		start_message(s, now);
}

/* --- sending ------------------------------------------------------------ */

static void body_sent(struct lg_session *s, uint64_t now)
{
	if (s->body != NULL && s->body_off == s->body_len &&
	    (s->tls == NULL || tls_pending_cipher(s->tls) == 0)) {
		s->body = NULL;
		s->t_eod = now;
		s->state = LG_S_EOD;
	}
}

static void send_plain(struct lg_session *s)
{
	struct iovec iov[2];
	unsigned n = 0;

	if (s->cmd_off < s->cmd_len)
		iov[n++] = (struct iovec){s->cmd + s->cmd_off, s->cmd_len - s->cmd_off};
	if (s->body != NULL && s->body_off < s->body_len)
		iov[n++] = (struct iovec){(void *)(s->body + s->body_off),
					  s->body_len - s->body_off};
	if (n > 0 && s->env->t->ops->send(s->env->t, s->id, iov, n) == 0)
		s->sending = true;
}

/* Encrypt what waits (commands, then content) until TLS's bound. */
static int encrypt(struct lg_session *s)
{
	enum tls_result r = TLS_OK;
	size_t put;

	if (!tls_handshake_done(s->tls))
		return 0;
	if (s->cmd_off < s->cmd_len) {
		r = tls_write_plain(s->tls, s->cmd + s->cmd_off, s->cmd_len - s->cmd_off, &put);
		s->cmd_off += put;
	}
	if (r == TLS_OK && s->body != NULL && s->body_off < s->body_len) {
		r = tls_write_plain(s->tls, s->body + s->body_off, s->body_len - s->body_off, &put);
		s->body_off += put;
	}
	return r == TLS_OK || r == TLS_WANT_WRITE ? 0 : -EPROTO;
}

static void send_tls(struct lg_session *s, uint64_t now)
{
	struct iovec iov;

	if (encrypt(s) < 0) {
		finish(s, LG_ERR_TLS, now);
		return;
	}
	s->cbuf_len = tls_drain_cipher(s->tls, s->cbuf, TLS_CIPHER_OUT_MAX);
	s->cbuf_off = 0;
	iov = (struct iovec){s->cbuf, s->cbuf_len};
	if (s->cbuf_len > 0 && s->env->t->ops->send(s->env->t, s->id, &iov, 1) == 0)
		s->sending = true;
}

static void pump(struct lg_session *s, uint64_t now)
{
	if (s->sending || s->state == LG_S_IDLE)
		return;
	if (s->tls != NULL)
		send_tls(s, now);
	else
		send_plain(s);
}

static void on_sent(struct lg_session *s, size_t n, uint64_t now)
{
	struct iovec iov;
	size_t c;

	s->sending = false;
	if (s->tls != NULL) {
		s->cbuf_off += n;
		if (s->cbuf_off < s->cbuf_len) {
			iov = (struct iovec){s->cbuf + s->cbuf_off, s->cbuf_len - s->cbuf_off};
			if (s->env->t->ops->send(s->env->t, s->id, &iov, 1) == 0)
				s->sending = true;
			return;
		}
	} else {
		c = s->cmd_len - s->cmd_off < n ? s->cmd_len - s->cmd_off : n;
		s->cmd_off += c;
		if (s->body != NULL)
			s->body_off += n - c;
	}
	body_sent(s, now);
	pump(s, now);
}

/* --- the dialog --------------------------------------------------------- */

static void send_rcpt(struct lg_session *s)
{
	out_cmd(s, "RCPT TO:<rcpt%u@%s>\r\n", s->rcpt_sent++, s->env->o->to_domain);
	expect(s, X_RCPT);
}

static void start_message(struct lg_session *s, uint64_t now)
{
	struct lg_env *env = s->env;
	uint64_t when = 0;

	switch (env->take(env, now, &when)) {
	case LG_TAKE_END:
		quit(s, now);
		return;
	case LG_TAKE_LATER:
		s->state = LG_S_WAITING;
		s->wake_us = when;
		return;
	case LG_TAKE_GO:
		break;
	}
	env->rnd ^= env->rnd << 13;
	env->rnd ^= env->rnd >> 7;
	env->rnd ^= env->rnd << 17;
	s->msg = lg_msgs_pick(env->msgs, env->rnd);
	env->st->in_flight++;
	s->t_start = s->msgs_done == 0 ? s->t_connect : now;
	s->mail_ok = false;
	s->rcpt_sent = s->rcpt_ok = 0;
	s->state = LG_S_TXN;
	out_cmd(s, "MAIL FROM:<%s>\r\n", env->o->from);
	expect(s, X_MAIL);
	if (s->can_pipeline && env->o->pipelining) {
		while (s->rcpt_sent < env->o->rcpts)
			send_rcpt(s);
		out_cmd(s, "DATA\r\n");
		expect(s, X_DATA);
	}
	s->deadline_us = now + env->o->timeout_us;
	pump(s, now);
}

/* The transaction failed before the content: count it, RSET. */
static void txn_refused(struct lg_session *s, uint64_t now)
{
	message_end(s, false, now);
	out_cmd(s, "RSET\r\n");
	expect(s, X_RSET);
	s->state = LG_S_RSET;
}

static bool pipelined(const struct lg_session *s)
{
	return s->can_pipeline && s->env->o->pipelining;
}

static void on_txn_reply(struct lg_session *s, enum expect x, int code, uint64_t now)
{
	int ok = code / 100 == 2;

	switch (x) {
	case X_MAIL:
		s->mail_ok = ok;
		if (!pipelined(s)) {
			if (ok)
				send_rcpt(s);
			else
				txn_refused(s, now);
		}
		break;
	case X_RCPT:
		s->rcpt_ok += ok;
		if (pipelined(s))
			break;
		if (s->rcpt_sent < s->env->o->rcpts) {
			send_rcpt(s);
		} else if (s->rcpt_ok > 0) {
			out_cmd(s, "DATA\r\n");
			expect(s, X_DATA);
		} else {
			txn_refused(s, now);
		}
		break;
	case X_DATA:
		if (code == 354) {
			s->body = s->msg->data;
			s->body_len = s->msg->len;
			s->body_off = 0;
			s->state = LG_S_BODY;
			expect(s, X_EOD);
		} else {
			txn_refused(s, now);
		}
		break;
	default:
		break;
	}
}

static void on_ehlo(struct lg_session *s, int code, uint64_t now)
{
	if (code / 100 != 2) {
		finish(s, LG_ERR_PROTOCOL, now);
	} else if (s->env->o->starttls && s->tls == NULL) {
		if (!s->can_starttls) {
			finish(s, LG_ERR_TLS, now);
			return;
		}
		out_cmd(s, "STARTTLS\r\n");
		expect(s, X_STARTTLS);
		s->state = LG_S_STARTTLS;
	} else {
		s->state = LG_S_READY;
		start_message(s, now);
	}
}

static void send_ehlo(struct lg_session *s)
{
	s->can_pipeline = s->can_starttls = false;
	out_cmd(s, "EHLO %s\r\n", s->env->o->helo);
	expect(s, X_EHLO);
	s->state = LG_S_EHLO;
}

static void start_tls(struct lg_session *s, uint64_t now)
{
	const struct lg_opts *o = s->env->o;
	char addr[INET_ADDRSTRLEN];
	const char *name = o->tls_name;

	if (name == NULL)
		name = inet_ntop(AF_INET, &o->server.sin_addr, addr, sizeof(addr));
	if (tls_conn_new(s->env->tls, name, &s->tls) < 0 ||
	    tls_handshake(s->tls) != TLS_WANT_READ) {
		finish(s, LG_ERR_TLS, now);
		return;
	}
	s->state = LG_S_HANDSHAKE;
}

static void on_reply(struct lg_session *s, enum expect x, int code, uint64_t now)
{
	switch (x) {
	case X_GREET:
		if (code == 220)
			send_ehlo(s);
		else
			quit(s, now);
		break;
	case X_EHLO:
		on_ehlo(s, code, now);
		break;
	case X_STARTTLS:
		if (code == 220)
			start_tls(s, now);
		else
			finish(s, LG_ERR_TLS, now);
		break;
	case X_MAIL:
	case X_RCPT:
	case X_DATA:
		on_txn_reply(s, x, code, now);
		break;
	case X_EOD:
		message_end(s, code / 100 == 2, now);
		next_message(s, now);
		break;
	case X_RSET:
		next_message(s, now);
		break;
	case X_QUIT:
		s->state = LG_S_CLOSING;
		break;
	}
}

/* An EHLO line: the extensions we use. */
static void ehlo_line(struct lg_session *s, const char *line)
{
	size_t n = strcspn(line, " ");

	if (n == 10 && strncasecmp(line, "PIPELINING", n) == 0)
		s->can_pipeline = true;
	else if (n == 8 && strncasecmp(line, "STARTTLS", n) == 0)
		s->can_starttls = true;
}

/* Plaintext from the server: replies, each matched to what it answers. */
static void feed_plain(struct lg_session *s, const uint8_t *data, size_t len, uint64_t now)
{
	while (len > 0 && s->state != LG_S_IDLE) {
		size_t used;
		int rc = smtp_reply_parse(&s->reply, data, len, &used);
		enum expect x;

		data += used;
		len -= used;
		if (rc == SMTP_REPLY_MORE)
			break;
		if (rc < 0 || s->x_n == 0) {
			finish(s, LG_ERR_PROTOCOL, now);
			return;
		}
		x = (enum expect)s->expect[s->x_head];
		if (x == X_EHLO)
			ehlo_line(s, s->reply.line);
		if (rc != SMTP_REPLY_END)
			continue;
		s->env->st->replies[s->reply.code]++;
		s->x_head = (s->x_head + 1) % EXPECT_MAX;
		s->x_n--;
		s->deadline_us = now + s->env->o->timeout_us;
		on_reply(s, x, s->reply.code, now);
	}
	pump(s, now);
}

/* Ciphertext from the server: the handshake, then plaintext. */
static void feed_tls(struct lg_session *s, const uint8_t *data, size_t len, uint64_t now)
{
	uint8_t plain[4096];
	size_t taken, got;
	enum tls_result r = TLS_OK;

	while (s->tls != NULL && s->state != LG_S_IDLE) {
		if (tls_feed_cipher(s->tls, data, len, &taken) != TLS_OK)
			break;
		data += taken;
		len -= taken;
		if (!tls_handshake_done(s->tls)) {
			r = tls_handshake(s->tls);
			if (r == TLS_OK)
				send_ehlo(s);
			else if (r != TLS_WANT_READ)
				break;
		}
		while (tls_handshake_done(s->tls) &&
		       (r = tls_read_plain(s->tls, plain, sizeof(plain), &got)) == TLS_OK)
			feed_plain(s, plain, got, now);
		if (s->tls == NULL || s->state == LG_S_IDLE)
			return;
		if (r == TLS_CLOSED) {
			finish(s, s->state == LG_S_CLOSING ? LG_ERR_MAX : LG_ERR_IO, now);
			return;
		}
		if (tls_handshake_done(s->tls) && r != TLS_WANT_READ)
			break;
		if (len == 0) {
			pump(s, now);
			return;
		}
		if (taken == 0)
			break;
	}
	if (s->state != LG_S_IDLE)
		finish(s, LG_ERR_TLS, now);
}

int lg_session_open(struct lg_session *s, uint64_t now)
{
	int rc;

	if (s->state != LG_S_IDLE)
		return -EBUSY;
	smtp_reply_init(&s->reply);
	s->x_head = s->x_n = 0;
	s->msgs_done = 0;
	s->msg = NULL;
	s->body = NULL;
	s->sending = false;
	s->cmd_len = s->cmd_off = 0;
	s->t_connect = now;
	s->deadline_us = now + s->env->o->timeout_us;
	if ((rc = s->env->t->ops->open(s->env->t, s->id, &s->env->o->server)) < 0)
		return rc;
	s->env->st->sessions++;
	s->state = LG_S_CONNECT;
	expect(s, X_GREET);
	return 0;
}

void lg_session_event(struct lg_session *s, const struct lg_tev *ev, uint64_t now)
{
	if (s->state == LG_S_IDLE)
		return;
	s->deadline_us = now + s->env->o->timeout_us;
	switch (ev->kind) {
	case LG_TEV_OPEN:
		s->state = LG_S_GREETING;
		break;
	case LG_TEV_SENT:
		on_sent(s, ev->len, now);
		break;
	case LG_TEV_RECV:
		if (s->tls != NULL)
			feed_tls(s, ev->data, ev->len, now);
		else
			feed_plain(s, ev->data, ev->len, now);
		break;
	case LG_TEV_EOF:
		finish(s, s->state == LG_S_CLOSING ? LG_ERR_MAX : LG_ERR_IO, now);
		break;
	case LG_TEV_ERROR:
		finish(s, s->state == LG_S_CONNECT ? LG_ERR_CONNECT : LG_ERR_IO, now);
		break;
	}
}

void lg_session_tick(struct lg_session *s, uint64_t now)
{
	if (s->state == LG_S_WAITING && now >= s->wake_us)
		start_message(s, now);
	else if (now >= lg_session_deadline(s))
		finish(s, LG_ERR_TIMEOUT, now);
}
