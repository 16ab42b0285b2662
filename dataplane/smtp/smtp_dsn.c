/*
 * smtp_dsn: the DSN decision and builder.  Owns the RFC 3464 report
 * layout, RFC 5322 dates, header folding, the MIME boundary (chosen not to
 * occur in the returned message) and the header/body split of RET=HDRS.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "dataplane/smtp/smtp_dsn.h"

#define FOLD_AT   76  /* fold header text past this column */
#define HARD_AT   900 /* break a word longer than this */

bool smtp_dsn_due(const char *sender, unsigned notify, enum smtp_dsn_action action)
{
	if (sender == NULL || sender[0] == '\0' || (notify & SMTP_NOTIFY_NEVER))
		return false;
	if (notify == 0)
		notify = SMTP_NOTIFY_FAILURE | SMTP_NOTIFY_DELAY;
	switch (action) {
	case SMTP_DSN_FAILED:
		return (notify & SMTP_NOTIFY_FAILURE) != 0;
	case SMTP_DSN_DELAYED:
		return (notify & SMTP_NOTIFY_DELAY) != 0;
	default:
		return (notify & SMTP_NOTIFY_SUCCESS) != 0;
	}
}

/* ---- writer -------------------------------------------------------------- */

struct w {
	char *buf;
	size_t cap, len;
	bool full;
};

static void put(struct w *w, const void *p, size_t n)
{
	if (w->full || w->cap - w->len < n) {
		w->full = true;
		return;
	}
	memcpy(w->buf + w->len, p, n);
	w->len += n;
}

static void putf(struct w *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void putf(struct w *w, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (w->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(w->buf + w->len, w->cap - w->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= w->cap - w->len)
		w->full = true;
	else
		w->len += (size_t)n;
}

/* TEXT after a header name already written at column COL: folded at
 * spaces, control octets as '?', CRLF at the end. */
static void put_folded(struct w *w, size_t col, const char *text)
{
	for (const char *p = text; *p != '\0'; p++) {
		unsigned char ch = (unsigned char)*p;

		if ((ch == ' ' && col > FOLD_AT) || col > HARD_AT) {
			put(w, "\r\n ", 3);
			col = 1;
			if (ch == ' ')
				continue;
		}
		if (ch < 0x20 || ch == 0x7f)
			ch = '?';
		put(w, &ch, 1);
		col++;
	}
	put(w, "\r\n", 2);
}

static void put_field(struct w *w, const char *name, const char *text)
{
	putf(w, "%s: ", name);
	put_folded(w, strlen(name) + 2, text);
}

static void put_date(struct w *w, const char *name, time_t t)
{
	static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char mons[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL) {
		w->full = true;
		return;
	}
	putf(w, "%s: %s, %d %s %d %02d:%02d:%02d +0000\r\n", name,
	     days[tm.tm_wday % 7], tm.tm_mday, mons[tm.tm_mon % 12],
	     tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* ---- the report ---------------------------------------------------------- */

static const char *action_name(enum smtp_dsn_action a)
{
	static const char *const n[] = {
		[SMTP_DSN_FAILED] = "failed", [SMTP_DSN_DELAYED] = "delayed",
		[SMTP_DSN_DELIVERED] = "delivered", [SMTP_DSN_RELAYED] = "relayed",
	};

	return n[a];
}

static bool any_action(const struct smtp_dsn *d, enum smtp_dsn_action a)
{
	for (unsigned i = 0; i < d->nrcpt; i++)
		if (d->rcpt[i].action == a)
			return true;
	return false;
}

static void boundary(const struct smtp_dsn *d, char *b, size_t cap)
{
	unsigned k = 0;

	do {
		snprintf(b, cap, "=_%s.%lld.%u/%s", d->qid, (long long)d->now, k++,
			 d->reporting_mta);
	} while (d->msg_len > 0 &&
		 memmem(d->msg, d->msg_len, b, strlen(b)) != NULL && k < 1000);
}

static void headers(struct w *w, const struct smtp_dsn *d, const char *b)
{
	const char *subject = "Successful Mail Delivery Report";

	if (any_action(d, SMTP_DSN_FAILED))
		subject = "Undelivered Mail Returned to Sender";
	else if (any_action(d, SMTP_DSN_DELAYED))
		subject = "Delayed Mail (still being retried)";
	putf(w, "From: Mail Delivery System <MAILER-DAEMON@%s>\r\n", d->reporting_mta);
	putf(w, "To: <%s>\r\n", d->sender);
	putf(w, "Subject: %s\r\n", subject);
	put_date(w, "Date", d->now);
	putf(w, "Message-ID: <%s.%lld.dsn@%s>\r\n", d->qid, (long long)d->now,
	     d->reporting_mta);
	putf(w, "Auto-Submitted: auto-replied\r\n");
	putf(w, "MIME-Version: 1.0\r\n");
	putf(w, "Content-Type: multipart/report; report-type=delivery-status;\r\n"
		"\tboundary=\"%s\"\r\n\r\n", b);
	putf(w, "This is a MIME-encapsulated message.\r\n\r\n");
}

static void human(struct w *w, const struct smtp_dsn *d, const char *b)
{
	putf(w, "--%s\r\nContent-Description: Notification\r\n"
		"Content-Type: text/plain; charset=us-ascii\r\n\r\n", b);
	putf(w, "This is the mail system at host %s.\r\n\r\n", d->reporting_mta);
	if (any_action(d, SMTP_DSN_FAILED))
		putf(w, "Your message could not be delivered to one or more "
			"recipients.\r\nIt is attached below.\r\n\r\n");
	else if (any_action(d, SMTP_DSN_DELAYED))
		putf(w, "Your message could not yet be delivered to one or more "
			"recipients.\r\nDelivery will be retried; you need not "
			"send it again.\r\n\r\n");
	else
		putf(w, "Your message was delivered to the destination "
			"listed below.\r\n\r\n");
	for (unsigned i = 0; i < d->nrcpt; i++) {
		const struct smtp_dsn_rcpt *r = &d->rcpt[i];

		putf(w, "<%s>: %s\r\n", r->addr, action_name(r->action));
		if (r->diag != NULL) {
			putf(w, "    ");
			put_folded(w, 4, r->diag);
		}
	}
	put(w, "\r\n", 2);
}

static void status(struct w *w, const struct smtp_dsn *d, const char *b)
{
	putf(w, "--%s\r\nContent-Description: Delivery report\r\n"
		"Content-Type: message/delivery-status\r\n\r\n", b);
	putf(w, "Reporting-MTA: dns; %s\r\n", d->reporting_mta);
	putf(w, "X-Sluice-Queue-ID: %s\r\n", d->qid);
	if (d->envid != NULL && d->envid[0] != '\0')
		put_field(w, "Original-Envelope-Id", d->envid);
	put_date(w, "Arrival-Date", d->arrival);
	for (unsigned i = 0; i < d->nrcpt; i++) {
		const struct smtp_dsn_rcpt *r = &d->rcpt[i];

		put(w, "\r\n", 2);
		putf(w, "Final-Recipient: rfc822; %s\r\n", r->addr);
		if (r->orcpt != NULL && r->orcpt[0] != '\0')
			put_field(w, "Original-Recipient", r->orcpt);
		putf(w, "Action: %s\r\n", action_name(r->action));
		putf(w, "Status: %s\r\n", r->status);
		if (r->remote_mta != NULL && r->remote_mta[0] != '\0')
			putf(w, "Remote-MTA: dns; %s\r\n", r->remote_mta);
		if (r->diag != NULL && r->diag[0] != '\0') {
			putf(w, "Diagnostic-Code: %s; ", r->diag_smtp ? "smtp" : "X-Sluice");
			put_folded(w, r->diag_smtp ? 23 : 27, r->diag);
		}
		if (r->last_attempt != 0)
			put_date(w, "Last-Attempt-Date", r->last_attempt);
	}
	put(w, "\r\n", 2);
}

/* Octets of the header section of the message, blank line included. */
static size_t header_len(const struct smtp_dsn *d)
{
	const uint8_t *e;

	if (d->msg_len >= 2 && d->msg[0] == '\r' && d->msg[1] == '\n')
		return 2;
	e = memmem(d->msg, d->msg_len, "\r\n\r\n", 4);
	return e != NULL ? (size_t)(e - d->msg) + 4 : d->msg_len;
}

static void original(struct w *w, const struct smtp_dsn *d, const char *b)
{
	bool full = d->ret == SMTP_RET_FULL ||
		    (d->ret == SMTP_RET_UNSET && any_action(d, SMTP_DSN_FAILED));
	size_t n = full ? d->msg_len : header_len(d);

	putf(w, "--%s\r\nContent-Description: %s\r\nContent-Type: %s\r\n\r\n", b,
	     full ? "Undelivered Message" : "Undelivered Message Headers",
	     full ? "message/rfc822" : "text/rfc822-headers");
	put(w, d->msg, n);
	if (n < 2 || d->msg[n - 2] != '\r' || d->msg[n - 1] != '\n')
		put(w, "\r\n", 2);
	putf(w, "\r\n--%s--\r\n", b);
}

int smtp_dsn_build(const struct smtp_dsn *d, char *buf, size_t cap)
{
	struct w w = { .buf = buf, .cap = cap };
	char b[400];

	if (d->sender == NULL || d->sender[0] == '\0' || d->nrcpt == 0)
		return -EINVAL;
	boundary(d, b, sizeof(b));
	headers(&w, d, b);
	human(&w, d, b);
	status(&w, d, b);
	original(&w, d, b);
	if (w.full || w.len > INT32_MAX)
		return -ENOSPC;
	return (int)w.len;
}
