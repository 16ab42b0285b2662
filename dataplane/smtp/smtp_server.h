/*
 * smtp_server: the inbound SMTP server session as a sans-I/O state machine
 * (design.md §3).  RFC 5321 ESMTP with PIPELINING, SIZE, 8BITMIME,
 * SMTPUTF8, ENHANCEDSTATUSCODES, CHUNKING, DSN, STARTTLS and AUTH PLAIN /
 * LOGIN.  Bytes go in with smtp_server_feed(); replies accumulate in an
 * output buffer the caller drains; the transaction (envelope, unstuffed
 * body, end) comes out through struct smtp_server_ops callbacks.  The clock
 * is passed in (microseconds); the caller drives timers with
 * smtp_server_deadline() / smtp_server_tick().  Admission, credential
 * checks, TLS and the spool belong to the caller.
 *
 * Reply rules: replies leave in command order; a reply that depends on
 * the caller (the 250 after end of data, the AUTH verdict) is emitted only
 * when the caller answers, and until then feed() takes no more input.
 */
#ifndef SLUICE_DATAPLANE_SMTP_SMTP_SERVER_H
#define SLUICE_DATAPLANE_SMTP_SMTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "dataplane/smtp/smtp_addr.h"
#include "dataplane/smtp/smtp_param.h"

#define SMTP_HOST_MAX      255
#define SMTP_LINE_CAP      16384 /* longest line kept (AUTH responses) */
#define SMTP_RCPT_CAP      1000  /* recipients per transaction, hard cap */
#define SMTP_ARENA_CAP     49152 /* recipient and ORCPT text per transaction */
#define SMTP_OUT_CAP       8192  /* output buffer */

/* RFC floors: a config below one of them is raised to it. */
#define SMTP_CMD_LINE_MIN  512u      /* RFC 5321 §4.5.3.1.4 */
#define SMTP_TEXT_LINE_MIN 1000u     /* §4.5.3.1.6 */
#define SMTP_AUTH_LINE_MIN 12288u    /* RFC 4954 §4 */
#define SMTP_RCPT_MIN      100u      /* §4.5.3.1.8 */
#define SMTP_MSG_SIZE_MIN  65536u    /* §4.5.3.1.7 */
#define SMTP_CMD_TIMEOUT_MIN  (300ull * 1000000) /* §4.5.3.2.7 */
#define SMTP_DATA_TIMEOUT_MIN (180ull * 1000000) /* §4.5.3.2.5 */

struct smtp_server_conf {
	char hostname[SMTP_HOST_MAX + 1]; /* greeting, EHLO, Received */
	uint32_t cmd_line_max;   /* octets incl. CRLF */
	uint32_t text_line_max;  /* octets incl. CRLF, in the body */
	uint32_t auth_line_max;  /* AUTH command and responses */
	uint32_t max_rcpt;       /* past it: 452 4.5.3 (≤ SMTP_RCPT_CAP) */
	uint64_t max_msg_size;   /* SIZE advertised; over it: 552 5.3.4 */
	uint32_t max_errors;     /* error replies before 421 and close */
	uint64_t cmd_timeout_us; /* awaiting a command (server timeout) */
	uint64_t data_timeout_us;/* between body octets (data block) */
	uint32_t min_data_rate;  /* octets/s over a body after one data
				    timeout of grace; 0 = no minimum */
	bool starttls;           /* a TLS context exists: offer STARTTLS */
	bool auth;               /* offer AUTH PLAIN LOGIN once under TLS */
	bool normalize_bare;     /* bare CR/LF/NUL in a body become a space
				    instead of 550 5.6.0 */
};

/* The admission verdict for the client address, decided at connect. */
enum smtp_admission {
	SMTP_ADMIT_ALLOW,      /* may relay */
	SMTP_ADMIT_AUTH,       /* unknown, may relay after AUTH; else 530 */
	SMTP_ADMIT_REJECT_451, /* "451 4.7.1" naming the address, close */
	SMTP_ADMIT_REJECT_554, /* "554 5.7.1", close */
	SMTP_ADMIT_DROP,       /* close without a word */
};

struct smtp_rcpt {
	const char *addr;   /* mailbox, or "Postmaster" */
	const char *orcpt;  /* "addr-type;xtext", NULL when absent */
	unsigned notify;    /* SMTP_NOTIFY_* bits, 0 when absent */
};

/* Valid from tx_begin until tx_end(ABORTED) or smtp_server_commit_done(). */
struct smtp_envelope {
	const char *client_addr;   /* as given to smtp_server_init() */
	const char *helo;          /* sanitized HELO/EHLO argument */
	bool esmtp;                /* EHLO (not HELO) */
	const char *tls_version;   /* NULL without TLS */
	const char *tls_cipher;
	const char *auth_user;     /* sanitized, NULL when not authenticated */
	const char *mail_from;     /* "" for the null reverse path */
	const struct smtp_mail_params *mail; /* SIZE, BODY, SMTPUTF8, RET, ENVID */
	const struct smtp_rcpt *rcpt;
	unsigned nrcpt;
	bool chunking;             /* body came by BDAT */
};

enum smtp_tx_end {
	SMTP_TX_COMPLETE, /* commit it, then smtp_server_commit_done() */
	SMTP_TX_ABORTED,  /* rejected or abandoned: discard what you have */
};

enum smtp_commit {
	SMTP_COMMIT_OK,       /* 250 2.0.0 Ok: queued as QID */
	SMTP_COMMIT_TEMPFAIL, /* 451 4.3.0 */
	SMTP_COMMIT_NOSPACE,  /* 452 4.3.1 */
	SMTP_COMMIT_TOOBIG,   /* 552 5.3.4 */
};

enum smtp_auth_result {
	SMTP_AUTH_OK,       /* 235 2.7.0 */
	SMTP_AUTH_FAIL,     /* 535 5.7.8 */
	SMTP_AUTH_TEMPFAIL, /* 454 4.7.0 */
};

/* Strings valid during the auth_check call only: copy what you keep. */
struct smtp_auth_req {
	const char *mech;    /* "PLAIN" or "LOGIN" */
	const char *authzid; /* "" when none */
	const char *user;
	const char *pass;
	size_t user_len, pass_len; /* they may hold NULs (LOGIN) */
};

/* Per-session counts of what the session refused or dropped; the caller
 * adds them to its statistics when the session ends. */
struct smtp_server_counters {
	uint32_t replies_4xx, replies_5xx; /* every 4xx / 5xx reply */
	uint32_t bare_cmd;        /* bare CR or LF in a command line */
	uint32_t nul_cmd;         /* NUL in a command line */
	uint32_t long_line;       /* command or AUTH line over its limit */
	uint32_t forbidden;       /* "Label:" or HTTP verb: closed */
	uint32_t bare_data;       /* messages with bare CR / LF / NUL */
	uint32_t long_data;       /* messages with a text line over the limit */
	uint32_t oversize;        /* SIZE= or data over max_msg_size */
	uint32_t rcpt_limit;      /* 452 4.5.3 */
	uint32_t auth_fail;       /* 535 5.7.8 */
	uint32_t too_many_errors; /* closed at max_errors */
	uint32_t timeouts;        /* closed by a timer */
	uint64_t tls_discarded;   /* octets pipelined after STARTTLS, dropped */
};

/* Where the caller's check (ops->check) is asked. */
enum smtp_stage {
	SMTP_STAGE_MAIL,  /* ADDR: the sender ("" for "<>") */
	SMTP_STAGE_RCPT,  /* ADDR: the recipient */
	SMTP_STAGE_DATA,  /* DATA, or the first BDAT of a message; ADDR NULL */
};

/* Callbacks may call back into the session (commit_done, auth_result)
 * before returning. */
struct smtp_server_ops {
	void (*tx_begin)(void *arg, const struct smtp_envelope *env);
	void (*tx_body)(void *arg, const uint8_t *data, size_t len);
	void (*tx_end)(void *arg, enum smtp_tx_end how);
	void (*auth_check)(void *arg, const struct smtp_auth_req *req);
	/* Send the pending output in clear, then start the handshake; the
	 * session discards input until smtp_server_tls_started(). */
	void (*tls_start)(void *arg);
	/* Optional (may be NULL): every 4xx / 5xx reply line as sent, without
	 * CRLF, for the caller's log line with queue ID and client address. */
	void (*reject)(void *arg, const char *reply, size_t len);
	/* Optional (may be NULL): the caller's verdict on a command that
	 * passed the session's own checks.  NULL accepts; otherwise the
	 * reply line to send instead (a 4xx or 5xx, without CRLF) and the
	 * command is refused (the load generator's sink injects failures). */
	const char *(*check)(void *arg, enum smtp_stage stage, const char *addr);
};

struct smtp_server;

void smtp_server_conf_default(struct smtp_server_conf *c);

/* Bytes of memory a session needs (the caller's pool element size). */
size_t smtp_server_size(void);

/*
 * Start a session in MEM (smtp_server_size() bytes).  CONF is copied and
 * raised to the RFC floors; OPS and ARG must outlive the session.  Queues
 * the greeting (or the rejection) in the output.
 */
struct smtp_server *smtp_server_init(void *mem, const struct smtp_server_conf *conf,
				     const struct smtp_server_ops *ops, void *arg,
				     const char *client_addr,
				     enum smtp_admission adm, uint64_t now);

/*
 * Consume input.  Returns the bytes taken; the caller keeps the rest and
 * feeds it again after it drained the output or answered a pending
 * commit / AUTH check.  Input after STARTTLS or the end is taken and
 * discarded.
 */
size_t smtp_server_feed(struct smtp_server *s, const uint8_t *data, size_t len,
			uint64_t now);

/* Pending output: *DATA and its length; consume() drops N sent bytes. */
size_t smtp_server_output(const struct smtp_server *s, const uint8_t **data);
void smtp_server_consume(struct smtp_server *s, size_t n);

/* The spool's verdict on the message of tx_end(COMPLETE); QID names it in
 * the 250.  -EINVAL when no commit is pending. */
int smtp_server_commit_done(struct smtp_server *s, enum smtp_commit res,
			    const char *qid, uint64_t now);

/* The verdict on the credentials of auth_check.  -EINVAL when none pending. */
int smtp_server_auth_result(struct smtp_server *s, enum smtp_auth_result res,
			    uint64_t now);

/* The handshake finished: the session is back at its start (no EHLO). */
int smtp_server_tls_started(struct smtp_server *s, const char *version,
			    const char *cipher, uint64_t now);

/* When tick() next has work: UINT64_MAX when no timer runs. */
uint64_t smtp_server_deadline(const struct smtp_server *s);

/* Expire timers: past the deadline the session answers 421 4.4.2 and ends. */
void smtp_server_tick(struct smtp_server *s, uint64_t now);

/* The connection went away: abandon a transaction in progress. */
void smtp_server_abort(struct smtp_server *s);

const struct smtp_server_counters *smtp_server_counters(const struct smtp_server *s);

/* True once the session is over: send the output, then close. */
bool smtp_server_closing(const struct smtp_server *s);

/*
 * Write the "Received:" header (folded, CRLF-terminated) for ENV received
 * by BY with queue id QID at WHEN.  Returns its length, or -ENOSPC.
 */
int smtp_received(const struct smtp_envelope *env, const char *by,
		  const char *qid, time_t when, char *buf, size_t len);

#endif
