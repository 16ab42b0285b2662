/*
 * smtp_client: the outbound (relay) SMTP client session as a sans-I/O
 * state machine (design.md §3, issue 6).  RFC 5321 with EHLO falling back
 * to HELO, STARTTLS by policy (RFC 3207), AUTH PLAIN / LOGIN over TLS only
 * (RFC 4954), PIPELINING (RFC 2920), SIZE (RFC 1870), 8BITMIME (RFC 6152),
 * SMTPUTF8 (RFC 6531), CHUNKING (RFC 3030), DSN (RFC 3461) and
 * ENHANCEDSTATUSCODES.  Server bytes go in with smtp_client_feed();
 * commands and body accumulate in an output buffer the caller drains; the
 * per-recipient outcome comes out through struct smtp_client_ops.  The
 * clock is passed in (microseconds); the caller drives the RFC 5321
 * §4.5.3.2 timers with smtp_client_deadline() / smtp_client_tick().
 * TCP, TLS and the spool belong to the caller.
 *
 * Body: pulled.  The engine asks ops->body_read for the octets at an
 * offset when it has output room, so it can read them again for a
 * follow-up transaction (452 recipient split).  The caller returns a
 * pointer to the spool's bytes (the Received: header already prepended);
 * the engine dot-stuffs them and ends them with CRLF.CRLF for DATA, or
 * frames them as BDAT chunks.  Back-pressure is the output buffer: the
 * engine reads only what fits and reads on after smtp_client_consume().
 *
 * Outcomes: every recipient of a message gets exactly one rcpt_result,
 * then msg_done.  A 2xx delivers, a 4xx defers, a 5xx to MAIL, RCPT or the
 * body bounces.  Whatever makes the connection unusable before or during
 * a transaction — a greeting other than 220, EHLO and HELO refused, a
 * STARTTLS the policy demands missing or failing, AUTH failing, 421, a
 * garbage reply, a timeout, the connection lost — defers, so the message
 * can go to the next smart host; it is never sent in plaintext against the
 * policy.
 */
#ifndef SLUICE_DATAPLANE_SMTP_SMTP_CLIENT_H
#define SLUICE_DATAPLANE_SMTP_SMTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dataplane/smtp/smtp_param.h"
#include "dataplane/smtp/smtp_reply.h"

#define SMTP_CLIENT_HOST_MAX  255
#define SMTP_CLIENT_CRED_MAX  255   /* AUTH user / password octets */
#define SMTP_CLIENT_RCPT_MAX  1000  /* recipients of one message */
#define SMTP_CLIENT_OUT_CAP   16384 /* output buffer */
#define SMTP_CLIENT_CHUNK     8192  /* BDAT chunk size */

enum smtp_tls_policy {
	SMTP_TLS_NONE,            /* never STARTTLS */
	SMTP_TLS_OPPORTUNISTIC,   /* STARTTLS when offered, unverified; only
				     when not offered: plaintext; refused
				     or a failed handshake: defer */
	SMTP_TLS_REQUIRED,        /* unverified; no STARTTLS, or failing: defer */
	SMTP_TLS_REQUIRED_VERIFY, /* as REQUIRED; the caller's handshake
				     verifies name and chain */
};

/* RFC 5321 §4.5.3.2 client timeouts, microseconds (0 = the RFC value). */
struct smtp_client_timeouts {
	uint64_t initial;    /* greeting: 5 min */
	uint64_t mail;       /* MAIL, and EHLO, STARTTLS, AUTH, RSET, QUIT,
				the TLS handshake: 5 min */
	uint64_t rcpt;       /* 5 min */
	uint64_t data_init;  /* the 354 after DATA: 2 min */
	uint64_t data_block; /* no output drained while sending a body: 3 min */
	uint64_t data_term;  /* reply to "." or BDAT LAST: 10 min */
};

struct smtp_client_conf {
	char helo_name[SMTP_CLIENT_HOST_MAX + 1]; /* EHLO / HELO argument */
	char peer_name[SMTP_CLIENT_HOST_MAX + 1]; /* Remote-MTA for DSNs */
	enum smtp_tls_policy tls;
	bool auth;                                /* AUTH after TLS */
	char auth_user[SMTP_CLIENT_CRED_MAX + 1];
	char auth_pass[SMTP_CLIENT_CRED_MAX + 1];
	struct smtp_client_timeouts to;
};

/* What the server offered in its last EHLO reply. */
#define SMTP_EXT_PIPELINING  0x001
#define SMTP_EXT_SIZE        0x002
#define SMTP_EXT_8BITMIME    0x004
#define SMTP_EXT_SMTPUTF8    0x008
#define SMTP_EXT_CHUNKING    0x010
#define SMTP_EXT_DSN         0x020
#define SMTP_EXT_STARTTLS    0x040
#define SMTP_EXT_AUTH_PLAIN  0x080
#define SMTP_EXT_AUTH_LOGIN  0x100
#define SMTP_EXT_ENHANCED    0x200

struct smtp_client_rcpt {
	const char *addr;   /* mailbox without brackets */
	unsigned notify;    /* SMTP_NOTIFY_* bits, 0 when absent */
	const char *orcpt;  /* "addr-type;xtext", NULL when absent */
};

/* One message; the caller keeps it (and its strings) valid until msg_done. */
struct smtp_client_msg {
	const char *from;          /* "" for the null reverse path */
	const struct smtp_client_rcpt *rcpt;
	unsigned nrcpt;            /* 1..SMTP_CLIENT_RCPT_MAX */
	uint64_t size;             /* exact octets body_read will yield */
	bool body_8bit;            /* BODY=8BITMIME needed */
	bool smtputf8;             /* SMTPUTF8 needed */
	enum smtp_ret ret;         /* RET=, SMTP_RET_UNSET when absent */
	const char *envid;         /* ENVID= xtext, NULL when absent */
};

enum smtp_rcpt_status {
	SMTP_RCPT_DELIVERED, /* 2xx: the text often names the queue ID */
	SMTP_RCPT_DEFERRED,  /* 4xx, or the connection failed */
	SMTP_RCPT_BOUNCED,   /* 5xx */
};

/* Reported with every outcome.  TEXT is "ddd x.y.z text" for a server
 * reply (remote true) or "x.y.z reason" for a local one; ENH is the
 * enhanced status code, from the reply or derived ("4.0.0"). */
struct smtp_client_result {
	enum smtp_rcpt_status status;
	bool remote;
	int code;            /* the reply code, 0 when local */
	const char *enh;
	const char *text;
};

struct smtp_client_ops {
	/*
	 * The body octets at OFF: set *DATA and return how many (> 0), 0 at
	 * the end, -EAGAIN when not available yet (call smtp_client_resume()
	 * when they are) or another negative errno (the message is deferred).
	 */
	long (*body_read)(void *arg, uint64_t off, const uint8_t **data);
	/* Send the pending output in clear, then start the TLS handshake and
	 * report it with smtp_client_tls_done(); input until then is dropped. */
	void (*tls_start)(void *arg);
	void (*rcpt_result)(void *arg, unsigned idx,
			    const struct smtp_client_result *res);
	/* Every recipient of the message has its result; the session takes
	 * another message (or smtp_client_quit()) unless it is closing. */
	void (*msg_done)(void *arg);
};

enum smtp_client_state {
	SMTP_CLIENT_OPENING, /* greeting, EHLO, STARTTLS, AUTH in progress */
	SMTP_CLIENT_IDLE,    /* ready for smtp_client_send() */
	SMTP_CLIENT_BUSY,    /* a message is in progress */
	SMTP_CLIENT_QUIT,    /* QUIT sent, waiting for the 221 */
	SMTP_CLIENT_CLOSED,  /* send the output, wait for the peer's FIN
				(bounded), then close */
};

struct smtp_client;

void smtp_client_conf_default(struct smtp_client_conf *c);

/* Bytes of memory a session needs (the caller's pool element size). */
size_t smtp_client_size(void);

/* Start a session in MEM on a connection just established; it waits for
 * the greeting.  CONF is copied; OPS and ARG must outlive the session. */
struct smtp_client *smtp_client_init(void *mem, const struct smtp_client_conf *conf,
				     const struct smtp_client_ops *ops, void *arg,
				     uint64_t now);

/*
 * Hand over a message.  Allowed while OPENING (it starts when the session
 * is ready) or IDLE.  Returns 0, -EBUSY (a message is in progress or the
 * session is closing) or -EINVAL (no recipients, too many, size 0).
 */
int smtp_client_send(struct smtp_client *c, const struct smtp_client_msg *m,
		     uint64_t now);

/* Consume server bytes; returns the bytes taken (all of them, unless the
 * session stopped to wait for the caller: TLS start, output room). */
size_t smtp_client_feed(struct smtp_client *c, const uint8_t *data, size_t len,
			uint64_t now);

/* Pending output: *DATA and its length; consume() drops N sent bytes and
 * refills the buffer with body octets. */
size_t smtp_client_output(const struct smtp_client *c, const uint8_t **data);
void smtp_client_consume(struct smtp_client *c, size_t n, uint64_t now);

/* The body octets of an -EAGAIN are available now. */
void smtp_client_resume(struct smtp_client *c, uint64_t now);

/* The handshake of tls_start finished: OK false (failure, or verification
 * failed under REQUIRED_VERIFY) defers and closes.  -EINVAL when none was
 * pending. */
int smtp_client_tls_done(struct smtp_client *c, bool ok, uint64_t now);

/* Close politely: QUIT now if idle, or after the message in progress;
 * a session still opening closes without a message. */
void smtp_client_quit(struct smtp_client *c, uint64_t now);

/* The connection is gone (reset, refused, closed by the peer): every
 * recipient without an outcome is deferred with "4.4.2 WHY". */
void smtp_client_abort(struct smtp_client *c, const char *why);

/* When tick() next has work: UINT64_MAX when no timer runs. */
uint64_t smtp_client_deadline(const struct smtp_client *c);

/* Expire timers: a timeout defers the message and closes. */
void smtp_client_tick(struct smtp_client *c, uint64_t now);

enum smtp_client_state smtp_client_state(const struct smtp_client *c);

/* SMTP_EXT_* bits of the last EHLO reply; SIZE's value in *SIZE (0: none). */
unsigned smtp_client_ext(const struct smtp_client *c, uint64_t *size);

/* Why the session closed ("" while it has not): for the log line. */
const char *smtp_client_error(const struct smtp_client *c);

/* Replies received so far by class: [2] 2xx, [3] 3xx, [4] 4xx, [5] 5xx
 * (the caller adds them to its statistics when the session ends). */
const uint32_t *smtp_client_replies(const struct smtp_client *c);

#endif
