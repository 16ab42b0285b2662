/*
 * smtp_body: the message body on its way from the wire to tx_body().
 * Owns the body scanner shared by DATA and BDAT: dot-unstuffing and the
 * end marker (only <CRLF>.<CRLF> ends DATA), bare CR / LF / NUL (reject or
 * normalize), the text line and message size limits; and the end of a
 * body or BDAT chunk with its reply.  Body octets are handed over as spans
 * of the caller's input, not copied.
 */
#include <inttypes.h>
#include <string.h>

#include "dataplane/smtp/smtp_impl.h"

void smtp_body_init(struct smtp_server *s, bool dot)
{
	struct smtp_body *b = &s->body;

	*b = (struct smtp_body){.st = SMTP_B_BOL, .dot = dot};
}

static bool body_rejected(const struct smtp_server *s)
{
	const struct smtp_body *b = &s->body;

	return b->oversize || b->toolong || (b->bare && !s->conf.normalize_bare);
}

static void emit(struct smtp_server *s, const uint8_t *p, size_t n)
{
	struct smtp_body *b = &s->body;

	if (n == 0)
		return;
	b->size += n;
	if (b->size > s->conf.max_msg_size)
		b->oversize = true;
	if (!body_rejected(s))
		s->ops->tx_body(s->arg, p, n);
}

/* A bare CR, bare LF or NUL: the message is rejected, or it becomes a
 * space (normalize). */
static void bare_char(struct smtp_server *s)
{
	s->body.bare = true;
	if (s->conf.normalize_bare)
		emit(s, (const uint8_t *)" ", 1);
}

/* The length of the run of ordinary text at the start of P[0..N): up to
 * the first CR, LF or NUL.  memchr is vectorized; a line is one call for
 * its CR and a short one each for a stray LF or NUL before it. */
static size_t text_run(const uint8_t *p, size_t n)
{
	const uint8_t *q = memchr(p, '\r', n);
	size_t run = q != NULL ? (size_t)(q - p) : n;

	if ((q = memchr(p, '\n', run)) != NULL)
		run = (size_t)(q - p);
	if ((q = memchr(p, '\0', run)) != NULL)
		run = (size_t)(q - p);
	return run;
}

/*
 * Scan P[0..N) of body.  The output is the input minus the dots of
 * dot-stuffing, the end marker and held CRs, so it leaves as spans of P
 * from SPAN on.  A CR is held until the next octet says whether it is a
 * line end; one held across calls is re-emitted from a constant.
 * Returns the octets used; *END when DATA's end marker was consumed.
 */
static size_t scan(struct smtp_server *s, const uint8_t *p, size_t n, bool *end)
{
	struct smtp_body *b = &s->body;
	bool carried = b->st == SMTP_B_CR;
	uint32_t maxline = s->conf.text_line_max - 1; /* content and CR */
	size_t span = 0, i;

	for (i = 0; i < n; i++) {
		uint8_t c = p[i];

		switch (b->st) {
		case SMTP_B_BOL:
			if (b->dot && c == '.') {
				emit(s, p + span, i - span);
				span = i + 1;
				b->st = SMTP_B_DOT;
				continue;
			}
			break;
		case SMTP_B_DOT:
			if (c == '\r') {
				span = i + 1;
				b->st = SMTP_B_DOTCR;
				continue;
			}
			break;
		case SMTP_B_DOTCR:
			if (c == '\n') {
				*end = true;
				return i + 1;
			}
			bare_char(s); /* the CR after the dot, already left out */
			break;
		case SMTP_B_CR:
			if (c == '\n') {
				if (carried)
					emit(s, (const uint8_t *)"\r", 1);
				carried = false;
				b->st = SMTP_B_BOL;
				b->linelen = 0;
				continue;
			}
			if (!carried)
				emit(s, p + span, i - 1 - span);
			carried = false;
			bare_char(s);
			span = i;
			break;
		default:
			break;
		}
		b->st = SMTP_B_TEXT;
		if (c == '\r') {
			b->st = SMTP_B_CR;
		} else if (c == '\n' || c == '\0') {
			emit(s, p + span, i - span);
			bare_char(s);
			span = i + 1;
		}
		if (++b->linelen > maxline)
			b->toolong = true;
		if (b->st == SMTP_B_TEXT) { /* skip to the next CR, LF or NUL */
			size_t run = text_run(p + i + 1, n - i - 1);

			b->linelen += run;
			if (b->linelen > maxline)
				b->toolong = true;
			i += run;
		}
	}
	if (n > 0 && b->st == SMTP_B_CR)
		emit(s, p + span, n - 1 - span); /* hold the final CR */
	else
		emit(s, p + span, n - span);
	return n;
}

/* The body is complete: reject it, or hand it over and wait for the
 * commit (the reply comes with smtp_server_commit_done()). */
static void body_finish(struct smtp_server *s)
{
	const struct smtp_body *b = &s->body;

	s->phase = SMTP_PH_CMD;
	if (b->oversize) {
		s->ctr.oversize++;
		smtp_tx_reset(s);
		smtp_reply(s, "552 5.3.4 Message size exceeds fixed maximum message size");
	} else if (b->bare && !s->conf.normalize_bare) {
		s->ctr.bare_data++;
		smtp_tx_reset(s);
		smtp_reply(s, "550 5.6.0 Message contains bare <CR>, <LF> or NUL");
	} else if (b->toolong) {
		s->ctr.long_data++;
		smtp_tx_reset(s);
		smtp_reply(s, "550 5.6.0 Message has a line longer than %" PRIu32 " octets",
			   s->conf.text_line_max);
	} else {
		if (b->bare)
			s->ctr.bare_data++; /* normalized */
		s->phase = SMTP_PH_WAIT;
		s->wait = SMTP_WAIT_COMMIT;
		s->ops->tx_end(s->arg, SMTP_TX_COMPLETE);
	}
}

size_t smtp_body_data(struct smtp_server *s, const uint8_t *p, size_t n,
		      uint64_t now)
{
	bool end = false;
	size_t used = scan(s, p, n, &end);

	s->body_wire += used;
	s->body_last = now;
	if (end) {
		s->cmd_since = now;
		body_finish(s);
	}
	return used;
}

static void chunk_done(struct smtp_server *s, uint64_t now)
{
	const char *err = s->bdat_err;

	s->phase = SMTP_PH_CMD;
	s->cmd_since = now;
	if (err != NULL) {
		s->bdat_err = NULL;
		smtp_reply_err(s, "%s", err);
	} else if (s->bdat_last) {
		if (s->body.st == SMTP_B_CR)
			bare_char(s); /* the message ended in a CR */
		body_finish(s);
	} else if (s->body.oversize) {
		s->ctr.oversize++;
		smtp_tx_reset(s);
		smtp_reply(s, "552 5.3.4 Message size exceeds fixed maximum message size");
	} else {
		smtp_reply(s, "250 2.0.0 Ok: %" PRIu64 " octets received", s->bdat_size);
	}
}

size_t smtp_body_bdat(struct smtp_server *s, const uint8_t *p, size_t n,
		      uint64_t now)
{
	size_t take = n < s->bdat_left ? n : (size_t)s->bdat_left;
	bool end = false;

	if (take > 0 && s->bdat_err == NULL)
		scan(s, p, take, &end);
	s->bdat_left -= take;
	s->body_wire += take;
	s->body_last = now;
	if (s->bdat_left == 0)
		chunk_done(s, now);
	return take;
}
