/*
 * smtp_client_impl: the client session struct and the functions the
 * smtp_client source files share (core, opening, transaction, body).
 * Private to dataplane/smtp.
 */
#ifndef SLUICE_DATAPLANE_SMTP_SMTP_CLIENT_IMPL_H
#define SLUICE_DATAPLANE_SMTP_SMTP_CLIENT_IMPL_H

#include "dataplane/smtp/smtp_client.h"

#define CL_CMD_ROOM  1200 /* output room a transaction command needs */
#define CL_QUIT_ROOM 16   /* kept free for QUIT */
#define CL_EXP_CAP   (SMTP_CLIENT_RCPT_MAX + 32)
#define CL_BDAT_MAX  8    /* BDAT chunks awaiting replies when pipelining */
#define CL_TEXT_MAX  512  /* local reason text */

enum cl_phase {
	CL_OPENING, /* greeting .. AUTH */
	CL_TLS,     /* handshake pending: input discarded */
	CL_IDLE,
	CL_TX,
	CL_QUIT,
	CL_CLOSED,
};

/* what a reply answers */
enum cl_exp {
	EXP_GREET, EXP_EHLO, EXP_HELO, EXP_STARTTLS, EXP_AUTH,
	EXP_AUTH_USER, EXP_AUTH_PASS, EXP_RSET, EXP_MAIL, EXP_RCPT,
	EXP_DATA, EXP_DOT, EXP_DOT_NULL, EXP_BDAT, EXP_BDAT_LAST, EXP_QUIT,
};

struct cl_expect {
	uint8_t kind;  /* enum cl_exp */
	uint16_t idx;  /* recipient of EXP_RCPT */
};

/* per-recipient progress of the message */
enum cl_rst {
	R_TODO,   /* goes in the next transaction */
	R_SENT,   /* RCPT awaiting its reply */
	R_OK,     /* accepted, awaiting the body's verdict */
	R_RETRY,  /* 452 after others: the follow-up transaction */
	R_DONE,   /* outcome reported */
};

/* the emission plan of a transaction */
enum cl_step {
	ST_RSET, ST_MAIL, ST_RCPT, ST_DATA, ST_WAIT354, ST_BODY, ST_END,
};

/* a reply kept past the parser (the first BDAT failure) */
struct cl_saved {
	int code;
	char enh[16];
	char text[SMTP_REPLY_TEXT_MAX];
};

struct smtp_client {
	struct smtp_client_conf conf;
	const struct smtp_client_ops *ops;
	void *arg;
	enum cl_phase phase;
	bool tls, authed, used, quit_req;
	unsigned ext;
	uint64_t ext_size;
	uint64_t wait_since;  /* the head reply's timer start */
	uint64_t progress;    /* last output drained while sending a body */
	char error[CL_TEXT_MAX];
	uint32_t replies[6];  /* by class */

	struct smtp_reply rp;
	struct cl_expect exp[CL_EXP_CAP];
	unsigned exp_head, exp_n;

	/* the message */
	const struct smtp_client_msg *msg;
	bool msg_pending;     /* given while opening */
	uint8_t rst[SMTP_CLIENT_RCPT_MAX];
	unsigned rcpt_next;   /* emission cursor */
	unsigned accepted;    /* R_OK in this transaction */
	enum cl_step step;
	bool tx_failed;       /* MAIL refused: later replies ignored */
	bool bdat;            /* body framed by BDAT */
	struct cl_saved body_fail;

	/* body emission */
	uint64_t body_off;    /* octets of the body read so far */
	uint64_t chunk_left;  /* BDAT: octets of the current chunk to go */
	unsigned bdat_out;    /* BDAT replies outstanding */
	bool body_blocked;    /* body_read said -EAGAIN */
	bool body_end;        /* everything emitted ("." or BDAT LAST) */
	bool bol;             /* DATA: at the start of a line */
	uint8_t last2[2];     /* DATA: the last two body octets */

	size_t out_head, out_tail;
	uint8_t out[SMTP_CLIENT_OUT_CAP];
};

/* smtp_client.c */
size_t cl_room(struct smtp_client *c);
void cl_put(struct smtp_client *c, const void *p, size_t n);
void cl_cmd(struct smtp_client *c, enum cl_exp kind, unsigned idx,
	    uint64_t now, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
void cl_send_quit(struct smtp_client *c, uint64_t now);
void cl_fail(struct smtp_client *c, bool quit, uint64_t now,
	     const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void cl_fail_reply(struct smtp_client *c, bool quit, uint64_t now);
void cl_ready(struct smtp_client *c, uint64_t now);

/* smtp_client_open.c */
void cl_ehlo(struct smtp_client *c, uint64_t now);
void cl_ehlo_line(struct smtp_client *c, const char *line);
void cl_open_reply(struct smtp_client *c, enum cl_exp kind, uint64_t now);

/* smtp_client_tx.c */
void cl_tx_start(struct smtp_client *c, uint64_t now);
void cl_tx_reply(struct smtp_client *c, const struct cl_expect *e, uint64_t now);
void cl_tx_emit(struct smtp_client *c, uint64_t now);
void cl_defer_all(struct smtp_client *c, const struct smtp_client_result *res);
void cl_msg_finish(struct smtp_client *c, uint64_t now);

/* smtp_client_body.c */
void cl_body_begin(struct smtp_client *c, uint64_t now);
void cl_body_pump(struct smtp_client *c, uint64_t now);

#endif
