/*
 * smtp_cmd: one command line of the server session.  Owns the verb table,
 * the forbidden-command check (header-like "Label:" lines, HTTP verbs),
 * the state rules of RFC 5321 / 2920 / 3030 / 3207 for every command, and
 * the envelope (HELO, MAIL, RCPT and their parameters).  AUTH is in
 * smtp_auth.c, body octets in smtp_body.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dataplane/smtp/smtp_impl.h"

typedef void (*cmd_fn)(struct smtp_server *s, const char *a, size_t n,
		       uint64_t now);

static bool need_auth(const struct smtp_server *s)
{
	return s->adm == SMTP_ADMIT_AUTH && !s->authed;
}

static bool prefix_ci(const char *a, size_t n, const char *pfx)
{
	size_t k = strlen(pfx);

	return n >= k && strncasecmp(a, pfx, k) == 0;
}

/* ---- HELO / EHLO --------------------------------------------------------- */

static void greet(struct smtp_server *s, const char *a, size_t n, bool esmtp)
{
	const char *ext[12];
	unsigned k = 0;
	char size[32];
	size_t tok = 0;

	while (n > 0 && a[0] == ' ') {
		a++;
		n--;
	}
	if (n == 0) {
		smtp_reply_err(s, "501 5.5.4 Syntax: %s hostname", esmtp ? "EHLO" : "HELO");
		return;
	}
	while (tok < n && a[tok] != ' ')
		tok++;
	smtp_tx_reset(s);
	smtp_sanitize(s->helo, sizeof(s->helo), a, tok);
	s->helo_done = true;
	s->esmtp = esmtp;
	if (!esmtp) {
		smtp_reply(s, "250 %s", s->conf.hostname);
		return;
	}
	snprintf(size, sizeof(size), "SIZE %" PRIu64, s->conf.max_msg_size);
	ext[k++] = "PIPELINING";
	ext[k++] = size;
	ext[k++] = "8BITMIME";
	ext[k++] = "SMTPUTF8";
	ext[k++] = "ENHANCEDSTATUSCODES";
	ext[k++] = "CHUNKING";
	ext[k++] = "DSN";
	if (s->conf.starttls && !s->tls)
		ext[k++] = "STARTTLS";
	if (s->conf.auth && s->tls && !s->authed)
		ext[k++] = "AUTH PLAIN LOGIN";
	smtp_reply(s, "250-%s", s->conf.hostname);
	for (unsigned i = 0; i < k; i++)
		smtp_reply(s, "250%c%s", i + 1 < k ? '-' : ' ', ext[i]);
}

static void cmd_helo(struct smtp_server *s, const char *a, size_t n, uint64_t now)
{
	greet(s, a, n, false);
}

static void cmd_ehlo(struct smtp_server *s, const char *a, size_t n, uint64_t now)
{
	greet(s, a, n, true);
}

/* ---- MAIL / RCPT --------------------------------------------------------- */

/* "KEYWORD:" then the path (spaces before it tolerated); *REST gets the
 * parameters.  Returns the smtp_addr_parse() result, or 1 when KEYWORD
 * or the separator after the path is missing. */
static int parse_path(const char *a, size_t n, const char *kw, unsigned flags,
		      struct smtp_addr *addr, const char **rest, size_t *rlen)
{
	size_t k = strlen(kw), used;
	int rc;

	if (!prefix_ci(a, n, kw))
		return 1;
	while (k < n && a[k] == ' ')
		k++;
	rc = smtp_addr_parse(a + k, n - k, flags, addr, &used);
	if (rc != 0)
		return rc;
	k += used;
	if (k < n && a[k] != ' ')
		return -EINVAL;
	*rest = a + k;
	*rlen = n - k;
	return 0;
}

/* The caller's check refused the command: its reply is sent. */
static bool refused(struct smtp_server *s, enum smtp_stage stage, const char *addr)
{
	const char *why = s->ops->check ? s->ops->check(s->arg, stage, addr) : NULL;

	if (why != NULL)
		smtp_reply(s, "%s", why);
	return why != NULL;
}

static void param_error(struct smtp_server *s, int rc)
{
	if (rc == -ENOTSUP)
		smtp_reply_err(s, "555 5.5.4 Unsupported parameter");
	else
		smtp_reply_err(s, "501 5.5.4 Bad parameter syntax");
}

static void cmd_mail(struct smtp_server *s, const char *a, size_t n, uint64_t now)
{
	struct smtp_tx *t = &s->tx;
	const char *rest;
	size_t rlen;
	int rc;

	if (!s->helo_done) {
		smtp_reply_err(s, "503 5.5.1 Error: send HELO/EHLO first");
		return;
	}
	if (need_auth(s)) {
		smtp_reply_err(s, "530 5.7.0 Authentication required");
		return;
	}
	if (t->mail) {
		smtp_reply_err(s, "503 5.5.1 Error: nested MAIL command");
		return;
	}
	rc = parse_path(a, n, "FROM:", SMTP_ADDR_NULL_OK, &t->from, &rest, &rlen);
	if (rc == 1) {
		smtp_reply_err(s, "501 5.5.4 Syntax: MAIL FROM:<address>");
		return;
	}
	if (rc != 0) {
		smtp_reply_err(s, "501 5.1.7 Bad sender address syntax");
		return;
	}
	if (rlen > 0 && !s->esmtp) {
		smtp_reply_err(s, "555 5.5.4 Parameters need EHLO");
		return;
	}
	rc = smtp_param_mail(rest, rlen, &t->mp);
	if (rc != 0) {
		param_error(s, rc);
		return;
	}
	if ((t->from.utf8 || t->mp.nonascii) && !t->mp.smtputf8) {
		smtp_reply_err(s, "553 5.6.7 Non-ASCII address needs SMTPUTF8");
		return;
	}
	if (t->mp.has_size && t->mp.size > s->conf.max_msg_size) {
		s->ctr.oversize++;
		smtp_reply(s, "552 5.3.4 Message size exceeds fixed maximum message size");
		return;
	}
	if (refused(s, SMTP_STAGE_MAIL, t->from.mailbox))
		return;
	t->mail = true;
	smtp_reply(s, "250 2.1.0 Ok");
}

static const char *arena_put(struct smtp_tx *t, const char *str, size_t n)
{
	char *p;

	if (t->arena_used + n + 1 > SMTP_ARENA_CAP)
		return NULL;
	p = t->arena + t->arena_used;
	memcpy(p, str, n);
	p[n] = '\0';
	t->arena_used += n + 1;
	return p;
}

static void cmd_rcpt(struct smtp_server *s, const char *a, size_t n, uint64_t now)
{
	struct smtp_tx *t = &s->tx;
	struct smtp_rcpt_params rp;
	struct smtp_addr to;
	struct smtp_rcpt *r;
	const char *rest;
	size_t rlen, mark;
	int rc;

	if (need_auth(s)) {
		smtp_reply_err(s, "530 5.7.0 Authentication required");
		return;
	}
	if (!t->mail) {
		smtp_reply_err(s, "503 5.5.1 Error: need MAIL command");
		return;
	}
	if (t->begun) {
		smtp_reply_err(s, "503 5.5.1 Error: RCPT after BDAT");
		return;
	}
	t->rcpt_tried = true;
	rc = parse_path(a, n, "TO:", SMTP_ADDR_POSTMASTER_OK, &to, &rest, &rlen);
	if (rc == 1) {
		smtp_reply_err(s, "501 5.5.4 Syntax: RCPT TO:<address>");
		return;
	}
	if (rc != 0) {
		smtp_reply_err(s, "501 5.1.3 Bad recipient address syntax");
		return;
	}
	if (rlen > 0 && !s->esmtp) {
		smtp_reply_err(s, "555 5.5.4 Parameters need EHLO");
		return;
	}
	rc = smtp_param_rcpt(rest, rlen, &rp);
	if (rc != 0) {
		param_error(s, rc);
		return;
	}
	if ((to.utf8 || rp.nonascii) && !t->mp.smtputf8) {
		smtp_reply_err(s, "553 5.6.7 Non-ASCII address needs SMTPUTF8");
		return;
	}
	if (t->nrcpt >= s->conf.max_rcpt) {
		s->ctr.rcpt_limit++;
		smtp_reply(s, "452 4.5.3 Error: too many recipients");
		return;
	}
	if (refused(s, SMTP_STAGE_RCPT, to.mailbox))
		return;
	mark = t->arena_used;
	r = &t->rcpt[t->nrcpt];
	r->notify = rp.notify;
	r->addr = arena_put(t, to.mailbox, to.len);
	r->orcpt = rp.orcpt[0] ? arena_put(t, rp.orcpt, strlen(rp.orcpt)) : NULL;
	if (r->addr == NULL || (rp.orcpt[0] && r->orcpt == NULL)) {
		t->arena_used = mark;
		s->ctr.rcpt_limit++;
		smtp_reply(s, "452 4.5.3 Error: too many recipients");
		return;
	}
	t->nrcpt++;
	smtp_reply(s, "250 2.1.5 Ok");
}

/* ---- DATA / BDAT --------------------------------------------------------- */

/* Why the transaction cannot take a body yet, or NULL. */
static const char *body_refusal(const struct smtp_server *s)
{
	if (need_auth(s))
		return "530 5.7.0 Authentication required";
	if (!s->tx.mail)
		return "503 5.5.1 Error: need MAIL command";
	if (s->tx.nrcpt == 0)
		return s->tx.rcpt_tried ? "554 5.5.1 Error: no valid recipients"
					: "503 5.5.1 Error: need RCPT command";
	return NULL;
}

static void cmd_data(struct smtp_server *s, const char *a, size_t n, uint64_t now)
{
	const char *why = body_refusal(s);

	if (why == NULL && n > 0)
		why = "501 5.5.4 Syntax: DATA";
	if (why == NULL && s->tx.bdat)
		why = "503 5.5.1 Error: DATA after BDAT";
	if (why != NULL) {
		smtp_reply_err(s, "%s", why);
		return;
	}
	if (refused(s, SMTP_STAGE_DATA, NULL))
		return;
	smtp_body_init(s, true);
	smtp_tx_begin(s, now);
	s->phase = SMTP_PH_DATA;
	smtp_reply(s, "354 End data with <CR><LF>.<CR><LF>");
}

/* "BDAT" SP chunk-size [ SP "LAST" ] (RFC 3030 §2).  A refused chunk is
 * still read (and dropped) before its reply, so that it is not taken for
 * commands. */
static void cmd_bdat(struct smtp_server *s, const char *a, size_t n, uint64_t now)
{
	uint64_t size = 0;
	size_t k = 0;
	bool last = false;
	const char *why;

	while (k < n && a[k] >= '0' && a[k] <= '9') {
		unsigned d = (unsigned)(a[k] - '0');

		if (size > (UINT64_MAX - d) / 10)
			break;
		size = size * 10 + d;
		k++;
	}
	if (k == 0 || (k < n && a[k] != ' ')) {
		smtp_reply_err(s, "501 5.5.4 Syntax: BDAT chunk-size [LAST]");
		return;
	}
	if (k < n)
		last = n - k == 5 && strncasecmp(a + k, " LAST", 5) == 0;
	why = body_refusal(s);
	if (k < n && !last) {
		smtp_tx_reset(s); /* a chunk we cannot place: the message is lost */
		why = "501 5.5.4 Syntax: BDAT chunk-size [LAST]";
	}
	if (why == NULL && !s->tx.begun && s->ops->check != NULL)
		why = s->ops->check(s->arg, SMTP_STAGE_DATA, NULL);
	s->bdat_err = why;
	s->bdat_size = s->bdat_left = size;
	s->bdat_last = last;
	if (why == NULL && !s->tx.begun) {
		s->tx.bdat = true;
		smtp_body_init(s, false);
		smtp_tx_begin(s, now);
	}
	s->phase = SMTP_PH_BDAT;
	if (size == 0)
		smtp_body_bdat(s, NULL, 0, now);
}

/* ---- the others ---------------------------------------------------------- */

static void cmd_rset(struct smtp_server *s, const char *a, size_t n, uint64_t now)
{
	if (n > 0) {
		smtp_reply_err(s, "501 5.5.4 Syntax: RSET");
		return;
	}
	smtp_tx_reset(s);
	smtp_reply(s, "250 2.0.0 Ok");
}

static void cmd_noop(struct smtp_server *s, const char *a, size_t n, uint64_t now)
{
	smtp_reply(s, "250 2.0.0 Ok");
}

static void cmd_quit(struct smtp_server *s, const char *a, size_t n, uint64_t now)
{
	smtp_reply(s, "221 2.0.0 Bye");
	smtp_close(s);
}

static void cmd_vrfy(struct smtp_server *s, const char *a, size_t n, uint64_t now)
{
	if (need_auth(s))
		smtp_reply_err(s, "530 5.7.0 Authentication required");
	else if (n == 0)
		smtp_reply_err(s, "501 5.5.4 Syntax: VRFY address");
	else
		smtp_reply(s, "252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery");
}

static void cmd_help(struct smtp_server *s, const char *a, size_t n, uint64_t now)
{
	smtp_reply(s, "214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS AUTH");
}

static void cmd_expn(struct smtp_server *s, const char *a, size_t n, uint64_t now)
{
	smtp_reply_err(s, "502 5.5.1 Error: command not implemented");
}

static void cmd_starttls(struct smtp_server *s, const char *a, size_t n, uint64_t now)
{
	if (!s->conf.starttls) {
		smtp_reply_err(s, "502 5.5.1 Error: command not implemented");
		return;
	}
	if (s->tls) {
		smtp_reply_err(s, "503 5.5.1 Error: TLS already active");
		return;
	}
	if (n > 0) {
		smtp_reply_err(s, "501 5.5.4 Syntax: STARTTLS");
		return;
	}
	smtp_reply(s, "220 2.0.0 Ready to start TLS");
	smtp_tx_reset(s);
	s->helo_done = s->esmtp = false;
	s->helo[0] = '\0';
	s->phase = SMTP_PH_TLS;
	s->cmd_since = now;
	s->ops->tls_start(s->arg);
}

static void cmd_auth(struct smtp_server *s, const char *a, size_t n, uint64_t now)
{
	smtp_cmd_auth(s, a, n);
}

static const struct {
	const char *name;
	cmd_fn fn;
} verbs[] = {
	{"EHLO", cmd_ehlo}, {"HELO", cmd_helo}, {"MAIL", cmd_mail},
	{"RCPT", cmd_rcpt}, {"DATA", cmd_data}, {"BDAT", cmd_bdat},
	{"RSET", cmd_rset}, {"NOOP", cmd_noop}, {"QUIT", cmd_quit},
	{"VRFY", cmd_vrfy}, {"HELP", cmd_help}, {"EXPN", cmd_expn},
	{"STARTTLS", cmd_starttls}, {"AUTH", cmd_auth},
};

/* Header-like "Label:" lines and HTTP requests: not an SMTP client. */
static bool forbidden(const char *v, size_t n)
{
	static const char *const http[] = {"GET", "POST", "HEAD", "PUT", "DELETE",
					   "CONNECT", "OPTIONS", "TRACE", "PATCH"};

	if (n > 0 && memchr(v, ':', n) != NULL)
		return true;
	for (size_t i = 0; i < sizeof(http) / sizeof(http[0]); i++)
		if (n == strlen(http[i]) && strncasecmp(v, http[i], n) == 0)
			return true;
	return false;
}

void smtp_cmd_line(struct smtp_server *s, const char *line, size_t len,
		   unsigned bad, uint64_t now)
{
	size_t vlen = 0;
	const char *args;
	size_t alen;

	while (len > 0 && line[len - 1] == ' ')
		len--;
	while (vlen < len && line[vlen] != ' ')
		vlen++;
	if (forbidden(line, vlen)) {
		s->ctr.forbidden++;
		smtp_reply(s, "421 4.7.0 %s Error: not an SMTP client, closing",
			   s->conf.hostname);
		smtp_close(s);
		return;
	}
	if (bad & SMTP_LINE_LONG) {
		s->ctr.long_line++;
		if (vlen == 4 && strncasecmp(line, "AUTH", 4) == 0)
			smtp_reply_err(s, "500 5.5.6 Authentication Exchange line is too long");
		else
			smtp_reply_err(s, "500 5.5.2 Error: line too long");
		return;
	}
	if (bad & SMTP_LINE_BARE) {
		s->ctr.bare_cmd++;
		smtp_reply_err(s, "500 5.5.2 Error: bare <CR> or <LF> received");
		return;
	}
	if (bad & SMTP_LINE_NUL) {
		s->ctr.nul_cmd++;
		smtp_reply_err(s, "501 5.5.2 Error: NUL character received");
		return;
	}
	args = vlen < len ? line + vlen + 1 : line + len;
	alen = len - (size_t)(args - line);
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		if (vlen == strlen(verbs[i].name) &&
		    strncasecmp(line, verbs[i].name, vlen) == 0) {
			verbs[i].fn(s, args, alen, now);
			return;
		}
	}
	smtp_reply_err(s, "500 5.5.2 Error: command not recognized");
}
