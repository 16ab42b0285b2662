/*
 * smtp_impl: the session struct and the functions the smtp_server source
 * files share (core, commands, body, AUTH, headers).  Private to
 * dataplane/smtp.
 */
#ifndef SLUICE_DATAPLANE_SMTP_SMTP_IMPL_H
#define SLUICE_DATAPLANE_SMTP_SMTP_IMPL_H

#include "dataplane/smtp/smtp_server.h"

#define SMTP_AUTH_ID_MAX  255  /* sanitized identity kept for headers */
#define SMTP_ADDR_TEXT    64   /* client address text */
#define SMTP_REPLY_ROOM   1024 /* output room needed before a command runs */

enum smtp_phase {
	SMTP_PH_CMD,       /* reading command lines */
	SMTP_PH_AUTH,      /* reading an AUTH response line */
	SMTP_PH_DATA,      /* reading a DATA body */
	SMTP_PH_BDAT,      /* reading a BDAT chunk */
	SMTP_PH_WAIT,      /* a commit or AUTH verdict is pending */
	SMTP_PH_TLS,       /* handshake pending: input discarded */
	SMTP_PH_CLOSED,
};

enum smtp_wait { SMTP_WAIT_NONE, SMTP_WAIT_COMMIT, SMTP_WAIT_AUTH };

enum smtp_auth_step { SMTP_AS_PLAIN, SMTP_AS_LOGIN_USER, SMTP_AS_LOGIN_PASS };

/* body scanner states */
enum smtp_bst { SMTP_B_BOL, SMTP_B_TEXT, SMTP_B_CR, SMTP_B_DOT, SMTP_B_DOTCR };

struct smtp_body {
	uint8_t st;          /* enum smtp_bst */
	bool dot;            /* DATA: dot-stuffing and the end marker */
	bool bare;           /* bare CR / LF / NUL seen */
	bool toolong;        /* a line over text_line_max */
	bool oversize;       /* over max_msg_size */
	uint64_t size;       /* octets handed over (or that would have been) */
	uint32_t linelen;
};

struct smtp_tx {
	bool mail;           /* MAIL accepted */
	bool rcpt_tried;     /* some RCPT was attempted */
	bool begun;          /* tx_begin was called */
	bool bdat;           /* body came by BDAT */
	struct smtp_addr from;
	struct smtp_mail_params mp;
	unsigned nrcpt;
	size_t arena_used;
	/* buffers, written before they are read: not cleared */
	struct smtp_rcpt rcpt[SMTP_RCPT_CAP];   /* [0..nrcpt) */
	char arena[SMTP_ARENA_CAP];             /* [0..arena_used) */
};

struct smtp_server {
	struct smtp_server_conf conf;
	const struct smtp_server_ops *ops;
	void *arg;
	enum smtp_phase phase;
	enum smtp_wait wait;
	enum smtp_admission adm;
	bool helo_done, esmtp, tls, authed;
	uint32_t errors;
	uint64_t cmd_since;        /* last command completed (command timer) */
	uint64_t body_start, body_last; /* body timers */
	uint64_t body_wire;        /* body octets received (data rate) */
	char client_addr[SMTP_ADDR_TEXT];
	char helo[SMTP_HOST_MAX + 1];
	char tls_version[32];
	char tls_cipher[128];
	char auth_user[SMTP_AUTH_ID_MAX + 1];

	/* command line assembly */
	size_t line_len;           /* octets kept in line[] */
	uint64_t line_total;       /* octets of the line so far */
	bool line_prev_cr, line_bare, line_nul;

	/* AUTH exchange */
	enum smtp_auth_step auth_step;
	size_t login_user_len;
	char login_user[SMTP_AUTH_ID_MAX + 1];

	/* BDAT chunk */
	uint64_t bdat_size, bdat_left;
	bool bdat_last;
	const char *bdat_err;      /* chunk refused: discard, then this reply */

	struct smtp_server_counters ctr;
	struct smtp_envelope env;
	struct smtp_body body;
	size_t out_head, out_tail;

	/* From here on ~96 KiB of buffers, each written before it is read:
	 * smtp_server_init() clears what is above and the transaction's
	 * state, not the buffers. */
	struct smtp_tx tx;                 /* its buffers last */
	uint8_t line[SMTP_LINE_CAP];       /* [0..line_len) */
	uint8_t out[SMTP_OUT_CAP];         /* [out_head..out_tail) */
};

/* smtp_server.c */
void smtp_reply(struct smtp_server *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void smtp_reply_err(struct smtp_server *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void smtp_close(struct smtp_server *s);
void smtp_tx_reset(struct smtp_server *s);
void smtp_tx_begin(struct smtp_server *s, uint64_t now);

/* what was wrong with a line, for smtp_cmd_line() / smtp_auth_line() */
#define SMTP_LINE_LONG 0x1 /* over its limit */
#define SMTP_LINE_BARE 0x2 /* bare CR or LF */
#define SMTP_LINE_NUL  0x4

/* smtp_cmd.c */
void smtp_cmd_line(struct smtp_server *s, const char *line, size_t len,
		   unsigned bad, uint64_t now);

/* smtp_body.c */
void smtp_body_init(struct smtp_server *s, bool dot);
size_t smtp_body_data(struct smtp_server *s, const uint8_t *p, size_t n,
		      uint64_t now);
size_t smtp_body_bdat(struct smtp_server *s, const uint8_t *p, size_t n,
		      uint64_t now);

/* smtp_auth.c */
void smtp_cmd_auth(struct smtp_server *s, const char *args, size_t len);
void smtp_auth_line(struct smtp_server *s, const char *line, size_t len,
		    unsigned bad);

/* smtp_received.c: copy N octets of SRC into DST (CAP > 0) as header-safe
 * text: printable ASCII except ()<>\"; anything else becomes '?'. */
void smtp_sanitize(char *dst, size_t cap, const char *src, size_t n);

#endif
