/*
 * smtp_server: the session core.  Owns the session's life (init, close,
 * abort), the feed loop that routes input to the line reader or the body
 * scanner, command line assembly (CRLF only, limits, NUL), the output
 * buffer and reply formatting, the error budget, the timers, and the
 * caller's answers (commit done, TLS started).
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dataplane/smtp/smtp_fmt.h"
#include "dataplane/smtp/smtp_impl.h"

/* ---- configuration ------------------------------------------------------- */

void smtp_server_conf_default(struct smtp_server_conf *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->hostname, sizeof(c->hostname), "localhost");
	c->cmd_line_max = SMTP_CMD_LINE_MIN;
	c->text_line_max = SMTP_TEXT_LINE_MIN;
	c->auth_line_max = SMTP_AUTH_LINE_MIN;
	c->max_rcpt = SMTP_RCPT_MIN;
	c->max_msg_size = 50ull << 20;
	c->max_errors = 10;
	c->cmd_timeout_us = SMTP_CMD_TIMEOUT_MIN;
	c->data_timeout_us = SMTP_DATA_TIMEOUT_MIN;
	c->min_data_rate = 100;
}

#define RAISE(v, lo) do { if ((v) < (lo)) (v) = (lo); } while (0)
#define CAP(v, hi)   do { if ((v) > (hi)) (v) = (hi); } while (0)

static void conf_floors(struct smtp_server_conf *c)
{
	RAISE(c->cmd_line_max, SMTP_CMD_LINE_MIN);
	CAP(c->cmd_line_max, SMTP_LINE_CAP);
	RAISE(c->text_line_max, SMTP_TEXT_LINE_MIN);
	RAISE(c->auth_line_max, SMTP_AUTH_LINE_MIN);
	CAP(c->auth_line_max, SMTP_LINE_CAP);
	RAISE(c->max_rcpt, SMTP_RCPT_MIN);
	CAP(c->max_rcpt, SMTP_RCPT_CAP);
	RAISE(c->max_msg_size, SMTP_MSG_SIZE_MIN);
	RAISE(c->max_errors, 1u);
	RAISE(c->cmd_timeout_us, SMTP_CMD_TIMEOUT_MIN);
	RAISE(c->data_timeout_us, SMTP_DATA_TIMEOUT_MIN);
	c->hostname[SMTP_HOST_MAX] = '\0';
	if (c->hostname[0] == '\0')
		snprintf(c->hostname, sizeof(c->hostname), "localhost");
}

size_t smtp_server_size(void)
{
	return sizeof(struct smtp_server);
}

/* ---- output -------------------------------------------------------------- */

static size_t out_room(const struct smtp_server *s)
{
	return SMTP_OUT_CAP - (s->out_tail - s->out_head);
}

static void vreply(struct smtp_server *s, const char *fmt, va_list ap)
{
	size_t room, start;
	int n;

	if (s->phase == SMTP_PH_CLOSED)
		return;
	if (s->out_head > 0 && SMTP_OUT_CAP - s->out_tail < SMTP_REPLY_ROOM) {
		memmove(s->out, s->out + s->out_head, s->out_tail - s->out_head);
		s->out_tail -= s->out_head;
		s->out_head = 0;
	}
	start = s->out_tail;
	room = SMTP_OUT_CAP - start;
	if (room < 3)
		return;
	n = smtp_vformat((char *)s->out + start, room - 2, fmt, ap);
	if (n < 0)
		return;
	if ((size_t)n > room - 3)
		n = (int)(room - 3); /* cannot happen within SMTP_REPLY_ROOM */
	s->out_tail += (size_t)n;
	s->out[s->out_tail++] = '\r';
	s->out[s->out_tail++] = '\n';
	if (s->out[start] == '4' || s->out[start] == '5') {
		if (s->out[start] == '4')
			s->ctr.replies_4xx++;
		else
			s->ctr.replies_5xx++;
		if (s->ops->reject != NULL)
			s->ops->reject(s->arg, (const char *)s->out + start, (size_t)n);
	}
}

void smtp_reply(struct smtp_server *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreply(s, fmt, ap);
	va_end(ap);
}

/* An error reply: counts against max_errors; the last one closes. */
void smtp_reply_err(struct smtp_server *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreply(s, fmt, ap);
	va_end(ap);
	if (++s->errors >= s->conf.max_errors) {
		s->ctr.too_many_errors++;
		smtp_reply(s, "421 4.7.0 %s Error: too many errors",
			   s->conf.hostname);
		smtp_close(s);
	}
}

size_t smtp_server_output(const struct smtp_server *s, const uint8_t **data)
{
	*data = s->out + s->out_head;
	return s->out_tail - s->out_head;
}

void smtp_server_consume(struct smtp_server *s, size_t n)
{
	size_t have = s->out_tail - s->out_head;

	s->out_head += n < have ? n : have;
	if (s->out_head == s->out_tail)
		s->out_head = s->out_tail = 0;
}

/* ---- transaction and session life ---------------------------------------- */

/* Forget the transaction; one whose body began and was not handed over
 * complete is abandoned (tx_end ABORTED). */
void smtp_tx_reset(struct smtp_server *s)
{
	struct smtp_tx *t = &s->tx;

	if (t->begun && s->wait != SMTP_WAIT_COMMIT)
		s->ops->tx_end(s->arg, SMTP_TX_ABORTED);
	t->mail = t->rcpt_tried = t->begun = t->bdat = false;
	t->nrcpt = 0;
	t->arena_used = 0;
}

void smtp_tx_begin(struct smtp_server *s, uint64_t now)
{
	struct smtp_envelope *e = &s->env;

	memset(e, 0, sizeof(*e));
	e->client_addr = s->client_addr;
	e->helo = s->helo;
	e->esmtp = s->esmtp;
	if (s->tls) {
		e->tls_version = s->tls_version;
		e->tls_cipher = s->tls_cipher;
	}
	if (s->authed)
		e->auth_user = s->auth_user;
	e->mail_from = s->tx.from.mailbox;
	e->mail = &s->tx.mp;
	e->rcpt = s->tx.rcpt;
	e->nrcpt = s->tx.nrcpt;
	e->chunking = s->tx.bdat;
	s->tx.begun = true;
	s->body_start = s->body_last = now;
	s->body_wire = 0;
	s->ops->tx_begin(s->arg, e);
}

void smtp_close(struct smtp_server *s)
{
	if (s->phase == SMTP_PH_CLOSED)
		return;
	smtp_tx_reset(s);
	s->phase = SMTP_PH_CLOSED;
}

struct smtp_server *smtp_server_init(void *mem, const struct smtp_server_conf *conf,
				     const struct smtp_server_ops *ops, void *arg,
				     const char *client_addr,
				     enum smtp_admission adm, uint64_t now)
{
	struct smtp_server *s = mem;

	/* the state, not the ~96 KiB of buffers (~100,000 instructions of
	 * memset per session) */
	memset(s, 0, offsetof(struct smtp_server, tx));
	memset(&s->tx, 0, offsetof(struct smtp_tx, rcpt));
	s->conf = *conf;
	conf_floors(&s->conf);
	s->ops = ops;
	s->arg = arg;
	s->adm = adm;
	s->cmd_since = now;
	snprintf(s->client_addr, sizeof(s->client_addr), "%s",
		 client_addr ? client_addr : "");
	switch (adm) {
	case SMTP_ADMIT_ALLOW:
	case SMTP_ADMIT_AUTH:
		smtp_reply(s, "220 %s ESMTP", s->conf.hostname);
		break;
	case SMTP_ADMIT_REJECT_451:
		smtp_reply(s, "451 4.7.1 Client address [%s] is not allowed, try again later",
			   s->client_addr);
		smtp_close(s);
		break;
	case SMTP_ADMIT_REJECT_554:
		smtp_reply(s, "554 5.7.1 Client address [%s] is not allowed",
			   s->client_addr);
		smtp_close(s);
		break;
	default:
		smtp_close(s);
		break;
	}
	return s;
}

void smtp_server_abort(struct smtp_server *s)
{
	smtp_close(s);
}

const struct smtp_server_counters *smtp_server_counters(const struct smtp_server *s)
{
	return &s->ctr;
}

bool smtp_server_closing(const struct smtp_server *s)
{
	return s->phase == SMTP_PH_CLOSED;
}

/* ---- command lines ------------------------------------------------------- */

/* Take octets up to and including one LF.  *DONE when the line ended. */
/* Take the octets of a command line up to and with its LF, noting CRs
 * not followed by LF and NULs; the line is kept up to SMTP_LINE_CAP.
 * Returns the octets used; *DONE once the LF is in. */
static size_t line_take(struct smtp_server *s, const uint8_t *p, size_t n,
			bool *done)
{
	const uint8_t *lf = memchr(p, '\n', n);
	size_t take = lf != NULL ? (size_t)(lf - p) : n; /* before the LF */
	size_t keep = SMTP_LINE_CAP - s->line_len;

	if (take > 0) {
		/* a CR before the last octet, or one held over, has no LF */
		if (s->line_prev_cr || memchr(p, '\r', take - 1) != NULL)
			s->line_bare = true;
		s->line_prev_cr = p[take - 1] == '\r';
		if (memchr(p, '\0', take) != NULL)
			s->line_nul = true;
		if (keep > take)
			keep = take;
		memcpy(s->line + s->line_len, p, keep);
		s->line_len += keep;
		s->line_total += take;
	}
	if (lf == NULL)
		return n;
	s->line_total++;
	if (!s->line_prev_cr)
		s->line_bare = true;
	*done = true;
	return take + 1;
}

static void line_done(struct smtp_server *s, uint64_t now)
{
	size_t len = s->line_len;
	uint64_t limit;
	unsigned bad = 0;

	if (s->line_prev_cr && len + 1 == s->line_total)
		len--; /* the CR of CRLF */
	if (s->phase == SMTP_PH_AUTH ||
	    (len >= 5 && strncasecmp((const char *)s->line, "AUTH ", 5) == 0))
		limit = s->conf.auth_line_max;
	else
		limit = s->conf.cmd_line_max;
	if (s->line_total > limit || s->line_total > SMTP_LINE_CAP)
		bad |= SMTP_LINE_LONG;
	if (s->line_bare)
		bad |= SMTP_LINE_BARE;
	if (s->line_nul)
		bad |= SMTP_LINE_NUL;
	s->line_len = 0;
	s->line_total = 0;
	s->line_prev_cr = s->line_bare = s->line_nul = false;
	if (s->phase == SMTP_PH_AUTH) {
		smtp_auth_line(s, (const char *)s->line, len, bad);
	} else {
		smtp_cmd_line(s, (const char *)s->line, len, bad, now);
	}
	if (s->phase == SMTP_PH_CMD || s->phase == SMTP_PH_AUTH)
		s->cmd_since = now;
}

/* ---- input --------------------------------------------------------------- */

size_t smtp_server_feed(struct smtp_server *s, const uint8_t *data, size_t len,
			uint64_t now)
{
	size_t i = 0;

	while (i < len) {
		bool done = false;

		if (s->phase == SMTP_PH_TLS)
			s->ctr.tls_discarded += len - i;
		if (s->phase == SMTP_PH_CLOSED || s->phase == SMTP_PH_TLS)
			return len;
		if (s->phase == SMTP_PH_WAIT || out_room(s) < SMTP_REPLY_ROOM)
			return i;
		switch (s->phase) {
		case SMTP_PH_DATA:
			i += smtp_body_data(s, data + i, len - i, now);
			break;
		case SMTP_PH_BDAT:
			i += smtp_body_bdat(s, data + i, len - i, now);
			break;
		default:
			i += line_take(s, data + i, len - i, &done);
			if (done)
				line_done(s, now);
			break;
		}
	}
	return i;
}

/* ---- the caller's answers ------------------------------------------------ */

int smtp_server_commit_done(struct smtp_server *s, enum smtp_commit res,
			    const char *qid, uint64_t now)
{
	if (s->phase != SMTP_PH_WAIT || s->wait != SMTP_WAIT_COMMIT)
		return -EINVAL;
	s->wait = SMTP_WAIT_NONE;
	s->phase = SMTP_PH_CMD;
	s->cmd_since = now;
	s->tx.begun = false; /* handed over: no tx_end(ABORTED) */
	smtp_tx_reset(s);
	switch (res) {
	case SMTP_COMMIT_OK:
		smtp_reply(s, "250 2.0.0 Ok: queued as %s", qid ? qid : "");
		break;
	case SMTP_COMMIT_NOSPACE:
		smtp_reply(s, "452 4.3.1 Insufficient system storage");
		break;
	case SMTP_COMMIT_TOOBIG:
		smtp_reply(s, "552 5.3.4 Message size exceeds fixed maximum message size");
		break;
	default:
		smtp_reply(s, "451 4.3.0 Error: queue file write error");
		break;
	}
	return 0;
}

int smtp_server_tls_started(struct smtp_server *s, const char *version,
			    const char *cipher, uint64_t now)
{
	if (s->phase != SMTP_PH_TLS)
		return -EINVAL;
	smtp_sanitize(s->tls_version, sizeof(s->tls_version), version ? version : "",
		      version ? strlen(version) : 0);
	smtp_sanitize(s->tls_cipher, sizeof(s->tls_cipher), cipher ? cipher : "",
		      cipher ? strlen(cipher) : 0);
	s->tls = true;
	s->phase = SMTP_PH_CMD;
	s->cmd_since = now;
	return 0;
}

/* ---- timers -------------------------------------------------------------- */

uint64_t smtp_server_deadline(const struct smtp_server *s)
{
	const struct smtp_server_conf *c = &s->conf;
	uint64_t d;

	switch (s->phase) {
	case SMTP_PH_CMD:
	case SMTP_PH_AUTH:
	case SMTP_PH_TLS:
		return s->cmd_since + c->cmd_timeout_us;
	case SMTP_PH_DATA:
	case SMTP_PH_BDAT:
		d = s->body_last + c->data_timeout_us;
		if (c->min_data_rate) {
			uint64_t r = s->body_start + c->data_timeout_us +
				     s->body_wire * 1000000 / c->min_data_rate;
			if (r < d)
				d = r;
		}
		return d;
	default:
		return UINT64_MAX;
	}
}

void smtp_server_tick(struct smtp_server *s, uint64_t now)
{
	if (now < smtp_server_deadline(s))
		return;
	s->ctr.timeouts++;
	if (s->phase != SMTP_PH_TLS) /* no clear text inside a handshake */
		smtp_reply(s, "421 4.4.2 %s Error: timeout exceeded", s->conf.hostname);
	smtp_close(s);
}
