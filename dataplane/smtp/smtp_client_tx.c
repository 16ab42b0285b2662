/*
 * smtp_client_tx: one message on an open client session.  Owns the checks
 * before sending (SIZE, 8BITMIME, SMTPUTF8), the emission plan (RSET,
 * MAIL, RCPT, DATA, pipelined as a group when PIPELINING is offered), the
 * ESMTP parameters passed through, the replies to them, per-recipient
 * outcomes, the 452 split into follow-up transactions and the end of the
 * message.
 */
#include <stdio.h>
#include <string.h>

#include "dataplane/smtp/smtp_client_impl.h"

/* ---- outcomes ------------------------------------------------------------ */

static void report(struct smtp_client *c, unsigned i,
		   const struct smtp_client_result *res)
{
	if (c->rst[i] == R_DONE)
		return;
	c->rst[i] = R_DONE;
	c->ops->rcpt_result(c->arg, i, res);
}

/* A 3xx where none belongs is a protocol error: it defers. */
static enum smtp_rcpt_status status_of(int code)
{
	if (code / 100 == 2)
		return SMTP_RCPT_DELIVERED;
	return code / 100 == 5 ? SMTP_RCPT_BOUNCED : SMTP_RCPT_DEFERRED;
}

/* The result a server reply (CODE, ENH, TEXT) gives. */
static void result_of(struct smtp_client_result *res, char *enh, size_t cap,
		      int code, const char *renh, const char *text)
{
	res->status = status_of(code);
	res->remote = true;
	res->code = code;
	if (code / 100 == 3)
		snprintf(enh, cap, "4.5.0");
	else if (renh[0] != '\0')
		snprintf(enh, cap, "%s", renh);
	else
		snprintf(enh, cap, "%d.0.0", smtp_reply_class(code));
	res->enh = enh;
	res->text = text;
}

static void report_reply(struct smtp_client *c, unsigned i)
{
	struct smtp_client_result res;
	char enh[16];

	result_of(&res, enh, sizeof(enh), c->rp.code, c->rp.enh, c->rp.text);
	report(c, i, &res);
}

/* A local outcome: TEXT starts with the enhanced status code. */
static void cl_rcpt_local(struct smtp_client *c, unsigned i,
			  enum smtp_rcpt_status st, const char *text)
{
	struct smtp_client_result res = { .status = st, .text = text };
	char enh[16];
	size_t n = strcspn(text, " ");

	snprintf(enh, sizeof(enh), "%.*s", (int)(n < sizeof(enh) ? n : 0), text);
	res.enh = enh;
	report(c, i, &res);
}

void cl_defer_all(struct smtp_client *c, const struct smtp_client_result *res)
{
	for (unsigned i = 0; c->msg != NULL && i < c->msg->nrcpt; i++)
		report(c, i, res);
}

/* Recipients in state FROM (R_OK, R_RETRY, ...) get the reply in rp. */
static void report_state(struct smtp_client *c, enum cl_rst from)
{
	for (unsigned i = 0; i < c->msg->nrcpt; i++)
		if (c->rst[i] == from)
			report_reply(c, i);
}

static void report_saved(struct smtp_client *c, const struct cl_saved *s)
{
	struct smtp_client_result res;
	char enh[16];

	result_of(&res, enh, sizeof(enh), s->code, s->enh, s->text);
	for (unsigned i = 0; i < c->msg->nrcpt; i++)
		if (c->rst[i] == R_OK || c->rst[i] == R_RETRY)
			report(c, i, &res);
}

/* All recipients have their outcome: the session is idle again (or
 * quits), then msg_done; nothing may touch the session after it. */
void cl_msg_finish(struct smtp_client *c, uint64_t now)
{
	c->msg = NULL;
	if (c->phase == CL_TX) {
		c->phase = CL_IDLE;
		if (c->quit_req)
			cl_send_quit(c, now);
	}
	c->ops->msg_done(c->arg);
}

/* ---- starting a message -------------------------------------------------- */

/* A check before sending failed: every recipient bounces with TEXT. */
static void bounce_all(struct smtp_client *c, uint64_t now, const char *text)
{
	for (unsigned i = 0; i < c->msg->nrcpt; i++)
		cl_rcpt_local(c, i, SMTP_RCPT_BOUNCED, text);
	cl_msg_finish(c, now);
}

static void tx_begin(struct smtp_client *c, uint64_t now)
{
	c->step = c->used ? ST_RSET : ST_MAIL;
	c->used = true;
	c->rcpt_next = 0;
	c->accepted = 0;
	c->tx_failed = false;
	c->bdat = (c->ext & SMTP_EXT_CHUNKING) != 0;
	c->body_fail.code = 0;
	cl_tx_emit(c, now);
}

void cl_tx_start(struct smtp_client *c, uint64_t now)
{
	const struct smtp_client_msg *m = c->msg;
	char text[CL_TEXT_MAX];

	c->phase = CL_TX;
	if (m->smtputf8 && !(c->ext & SMTP_EXT_SMTPUTF8)) {
		snprintf(text, sizeof(text), "5.6.7 %s does not support SMTPUTF8",
			 c->conf.peer_name);
		bounce_all(c, now, text);
	} else if (m->body_8bit && !(c->ext & SMTP_EXT_8BITMIME)) {
		snprintf(text, sizeof(text), "5.6.7 %s does not support 8BITMIME",
			 c->conf.peer_name);
		bounce_all(c, now, text);
	} else if ((c->ext & SMTP_EXT_SIZE) && c->ext_size > 0 &&
		   m->size > c->ext_size) {
		snprintf(text, sizeof(text),
			 "5.3.4 message size %llu exceeds the limit of %llu of %s",
			 (unsigned long long)m->size,
			 (unsigned long long)c->ext_size, c->conf.peer_name);
		bounce_all(c, now, text);
	} else {
		tx_begin(c, now);
	}
}

/* ---- commands ------------------------------------------------------------ */

static void mail_cmd(struct smtp_client *c, uint64_t now)
{
	const struct smtp_client_msg *m = c->msg;
	char p[400];
	size_t n = 0;

	p[0] = '\0';
	if (c->ext & SMTP_EXT_SIZE)
		n += (size_t)snprintf(p + n, sizeof(p) - n, " SIZE=%llu",
				      (unsigned long long)m->size);
	if (m->body_8bit)
		n += (size_t)snprintf(p + n, sizeof(p) - n, " BODY=8BITMIME");
	if (m->smtputf8)
		n += (size_t)snprintf(p + n, sizeof(p) - n, " SMTPUTF8");
	if ((c->ext & SMTP_EXT_DSN) && m->ret != SMTP_RET_UNSET)
		n += (size_t)snprintf(p + n, sizeof(p) - n, " RET=%s",
				      m->ret == SMTP_RET_FULL ? "FULL" : "HDRS");
	if ((c->ext & SMTP_EXT_DSN) && m->envid != NULL && m->envid[0] != '\0')
		snprintf(p + n, sizeof(p) - n, " ENVID=%.*s", SMTP_ENVID_MAX, m->envid);
	cl_cmd(c, EXP_MAIL, 0, now, "MAIL FROM:<%s>%s", m->from, p);
}

static void rcpt_cmd(struct smtp_client *c, unsigned i, uint64_t now)
{
	const struct smtp_client_rcpt *r = &c->msg->rcpt[i];
	char p[SMTP_ORCPT_MAX + 64];
	size_t n = 0;

	p[0] = '\0';
	if ((c->ext & SMTP_EXT_DSN) && r->notify != 0) {
		if (r->notify & SMTP_NOTIFY_NEVER) {
			n += (size_t)snprintf(p, sizeof(p), " NOTIFY=NEVER");
		} else {
			n += (size_t)snprintf(p, sizeof(p), " NOTIFY=%s%s%s%s%s",
				(r->notify & SMTP_NOTIFY_SUCCESS) ? "SUCCESS" : "",
				(r->notify & SMTP_NOTIFY_SUCCESS) &&
				(r->notify & (SMTP_NOTIFY_FAILURE | SMTP_NOTIFY_DELAY)) ? "," : "",
				(r->notify & SMTP_NOTIFY_FAILURE) ? "FAILURE" : "",
				(r->notify & SMTP_NOTIFY_FAILURE) &&
				(r->notify & SMTP_NOTIFY_DELAY) ? "," : "",
				(r->notify & SMTP_NOTIFY_DELAY) ? "DELAY" : "");
		}
	}
	if ((c->ext & SMTP_EXT_DSN) && r->orcpt != NULL && r->orcpt[0] != '\0')
		snprintf(p + n, sizeof(p) - n, " ORCPT=%.*s", SMTP_ORCPT_MAX, r->orcpt);
	c->rst[i] = R_SENT;
	cl_cmd(c, EXP_RCPT, i, now, "RCPT TO:<%.*s>%s", 256, r->addr, p);
}

/* The next recipient of this transaction to send, or nrcpt. */
static unsigned next_rcpt(struct smtp_client *c)
{
	while (c->rcpt_next < c->msg->nrcpt && c->rst[c->rcpt_next] != R_TODO)
		c->rcpt_next++;
	return c->rcpt_next;
}

/* One step of the plan; false when it must wait (a reply, output room). */
static bool emit_step(struct smtp_client *c, uint64_t now)
{
	bool pipe = (c->ext & SMTP_EXT_PIPELINING) != 0;
	unsigned i;

	if (c->step == ST_BODY) {
		cl_body_pump(c, now);
		return false;
	}
	if (c->step >= ST_WAIT354 || (!pipe && c->exp_n > 0) ||
	    cl_room(c) < CL_CMD_ROOM + CL_QUIT_ROOM)
		return false;
	switch (c->step) {
	case ST_RSET:
		cl_cmd(c, EXP_RSET, 0, now, "RSET");
		c->step = ST_MAIL;
		return true;
	case ST_MAIL:
		mail_cmd(c, now);
		c->step = ST_RCPT;
		return true;
	case ST_RCPT:
		i = next_rcpt(c);
		if (c->tx_failed || i == c->msg->nrcpt)
			c->step = ST_DATA;
		else
			rcpt_cmd(c, i, now);
		return true;
	default: /* ST_DATA */
		if (c->tx_failed ||
		    (c->accepted == 0 && (!pipe || c->bdat || c->exp_n == 0))) {
			if (c->exp_n > 0)
				return false;
			c->step = ST_END;
		} else if (c->bdat) {
			if (c->exp_n > 0)
				return false;
			c->step = ST_BODY;
			cl_body_begin(c, now);
		} else {
			cl_cmd(c, EXP_DATA, 0, now, "DATA");
			c->step = ST_WAIT354;
		}
		return true;
	}
}

/* The transaction is over once nothing is left to send or await: a
 * follow-up transaction for 452'd recipients, or the message's end. */
static void tx_check_end(struct smtp_client *c, uint64_t now)
{
	bool more = false;

	if (c->phase != CL_TX || c->step != ST_END || c->exp_n > 0)
		return;
	for (unsigned i = 0; i < c->msg->nrcpt; i++) {
		if (c->rst[i] == R_RETRY) {
			c->rst[i] = R_TODO;
			more = true;
		}
	}
	if (more)
		tx_begin(c, now);
	else
		cl_msg_finish(c, now);
}

void cl_tx_emit(struct smtp_client *c, uint64_t now)
{
	while (c->phase == CL_TX && emit_step(c, now))
		;
	tx_check_end(c, now);
}

/* ---- replies ------------------------------------------------------------- */

static void rcpt_reply(struct smtp_client *c, unsigned i)
{
	if (c->tx_failed || c->rst[i] != R_SENT)
		return;
	if (c->rp.code / 100 == 2) {
		c->rst[i] = R_OK;
		c->accepted++;
	} else if (c->rp.code == 452 && c->accepted > 0) {
		c->rst[i] = R_RETRY; /* the recipient limit: next transaction */
	} else {
		report_reply(c, i);
	}
}

static void data_reply(struct smtp_client *c, uint64_t now)
{
	if (c->rp.code == 354 && c->accepted > 0 && !c->tx_failed) {
		c->step = ST_BODY;
		cl_body_begin(c, now);
		return;
	}
	if (c->rp.code / 100 == 2) {
		cl_fail(c, false, now, "4.5.0 %s answered DATA with %d",
			c->conf.peer_name, c->rp.code);
		return;
	}
	if (c->rp.code == 354) {
		/* every recipient refused, yet the server wants a body: an
		 * empty one ends the transaction (RFC 2920 §3.1) */
		cl_cmd(c, EXP_DOT_NULL, 0, now, ".");
	} else if (!c->tx_failed) {
		report_state(c, R_OK);
		report_state(c, R_RETRY);
	}
	c->step = ST_END;
}

static void save_reply(struct smtp_client *c)
{
	struct cl_saved *s = &c->body_fail;

	s->code = c->rp.code;
	snprintf(s->enh, sizeof(s->enh), "%s", c->rp.enh);
	snprintf(s->text, sizeof(s->text), "%s", c->rp.text);
}

static void bdat_reply(struct smtp_client *c, bool last)
{
	c->bdat_out--;
	if (c->rp.code / 100 != 2 && c->body_fail.code == 0)
		save_reply(c); /* the first refusal decides; no more chunks */
	if (c->bdat_out > 0 || (!c->body_end && c->body_fail.code == 0))
		return;
	if (c->body_fail.code != 0) {
		report_saved(c, &c->body_fail);
		c->step = ST_END;
	} else if (last) {
		report_state(c, R_OK);
		c->step = ST_END;
	}
}

void cl_tx_reply(struct smtp_client *c, const struct cl_expect *e, uint64_t now)
{
	int code = c->rp.code;

	switch ((enum cl_exp)e->kind) {
	case EXP_RSET:
		if (code / 100 != 2) /* commands may be in flight: no QUIT */
			cl_fail_reply(c, false, now);
		break;
	case EXP_MAIL:
		if (code / 100 != 2) {
			for (unsigned i = 0; i < c->msg->nrcpt; i++)
				if (c->rst[i] != R_DONE)
					report_reply(c, i);
			c->tx_failed = true;
		}
		break;
	case EXP_RCPT:
		rcpt_reply(c, e->idx);
		break;
	case EXP_DATA:
		data_reply(c, now);
		break;
	case EXP_DOT:
		report_state(c, R_OK);
		if (code / 100 != 2)
			report_state(c, R_RETRY);
		c->step = ST_END;
		break;
	case EXP_BDAT:
	case EXP_BDAT_LAST:
		bdat_reply(c, e->kind == EXP_BDAT_LAST);
		break;
	default: /* EXP_DOT_NULL */
		break;
	}
	if (c->phase == CL_TX)
		cl_tx_emit(c, now);
}
