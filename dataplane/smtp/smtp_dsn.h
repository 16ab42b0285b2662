/*
 * smtp_dsn: delivery status notifications (RFC 3464 multipart/report,
 * report-type=delivery-status, RFC 3461 NOTIFY / RET / ENVID / ORCPT).
 * Owns whether a DSN is due for a recipient and the DSN message itself,
 * built as a pure function into the caller's buffer: a human-readable
 * part, the message/delivery-status part, and the returned message or its
 * headers.  No I/O, no allocation.
 */
#ifndef SLUICE_DATAPLANE_SMTP_SMTP_DSN_H
#define SLUICE_DATAPLANE_SMTP_SMTP_DSN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "dataplane/smtp/smtp_param.h"

enum smtp_dsn_action {
	SMTP_DSN_FAILED,    /* bounced or expired */
	SMTP_DSN_DELAYED,   /* still being retried */
	SMTP_DSN_DELIVERED, /* the smart host took it and offers DSN */
	SMTP_DSN_RELAYED,   /* the smart host took it and does not offer DSN */
};

struct smtp_dsn_rcpt {
	const char *addr;        /* final recipient mailbox */
	const char *orcpt;       /* ORCPT "addr-type;xtext", NULL when absent */
	enum smtp_dsn_action action;
	const char *status;      /* "5.1.1" */
	const char *remote_mta;  /* host that answered, NULL when none */
	const char *diag;        /* the reply ("550 5.1.1 ...") or reason */
	bool diag_smtp;          /* DIAG is an SMTP reply (else a local reason) */
	time_t last_attempt;     /* 0 when none */
};

struct smtp_dsn {
	const char *reporting_mta; /* our host name */
	const char *qid;           /* queue ID of the original message */
	const char *sender;        /* envelope sender: the DSN's recipient */
	const char *envid;         /* ENVID xtext, NULL when absent */
	enum smtp_ret ret;         /* RET of the original MAIL */
	time_t arrival, now;
	const uint8_t *msg;        /* the original message (CRLF lines) */
	size_t msg_len;
	const struct smtp_dsn_rcpt *rcpt;
	unsigned nrcpt;
};

/*
 * Whether a DSN is due for a recipient of a message from SENDER with the
 * NOTIFY bits NOTIFY (0: absent, meaning FAILURE,DELAY) whose outcome is
 * ACTION.  Never for the null sender "".
 */
bool smtp_dsn_due(const char *sender, unsigned notify, enum smtp_dsn_action action);

/*
 * Write the DSN message (headers and body, CRLF lines) into BUF (CAP
 * octets).  The message is returned whole under RET=FULL, or when RET is
 * absent and some recipient failed; otherwise its headers only.  Returns
 * the length, -EINVAL (null sender, no recipients) or -ENOSPC.
 */
int smtp_dsn_build(const struct smtp_dsn *d, char *buf, size_t cap);

#endif
