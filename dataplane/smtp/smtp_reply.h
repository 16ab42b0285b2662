/*
 * smtp_reply: the incremental parser of SMTP server replies (RFC 5321
 * §4.2) for the client engine.  Owns reply line assembly across arbitrary
 * segments, the reply-code grammar, multiline continuation and code
 * consistency, the line and line-count limits, the enhanced status code
 * (RFC 3463) and the reply text kept for logs and DSNs.  No I/O, no
 * allocation.
 */
#ifndef SLUICE_DATAPLANE_SMTP_SMTP_REPLY_H
#define SLUICE_DATAPLANE_SMTP_SMTP_REPLY_H

#include <stddef.h>
#include <stdint.h>

#define SMTP_REPLY_LINE_MAX  2048 /* octets of one line incl. CRLF (RFC: 512) */
#define SMTP_REPLY_LINES_MAX 100  /* lines of one reply */
#define SMTP_REPLY_TEXT_MAX  1024 /* reply text kept, truncated past it */

/* smtp_reply_parse() results */
enum smtp_reply_ev {
	SMTP_REPLY_MORE = 0, /* all input taken, no complete line */
	SMTP_REPLY_LINE = 1, /* a continuation line ("ddd-") is in line[] */
	SMTP_REPLY_END  = 2, /* the last line ("ddd " / "ddd"): reply complete */
};

struct smtp_reply {
	/* the reply so far; complete after SMTP_REPLY_END */
	int code;                  /* 200..599 */
	char enh[16];              /* "5.1.1" from the first line, "" if none */
	unsigned nlines;
	size_t text_len;
	char text[SMTP_REPLY_TEXT_MAX]; /* "550 5.1.1 text more-text", NUL-ended,
					   control octets as '?' */
	/* the line just completed, after the code and separator, NUL-ended */
	size_t line_len;
	char line[SMTP_REPLY_LINE_MAX];
	/* assembly */
	int ended;                 /* the last call returned SMTP_REPLY_END */
	size_t cur_len;            /* octets of the line being read */
	unsigned char cur[SMTP_REPLY_LINE_MAX];
};

void smtp_reply_init(struct smtp_reply *r);

/*
 * Consume DATA (LEN bytes) up to the end of the next line; *USED gets the
 * bytes taken.  Returns an enum smtp_reply_ev, -EBADMSG for a line that is
 * not a reply line (bad code, separator, a code that differs from the
 * first line's, NUL) or -EMSGSIZE for a line or a reply over the limits.
 * After an error the parser must be re-initialised.  Lines end with CRLF;
 * a bare LF is taken as a line end too.
 */
int smtp_reply_parse(struct smtp_reply *r, const uint8_t *data, size_t len,
		     size_t *used);

/* The class digit of a code: 2, 3, 4 or 5. */
static inline int smtp_reply_class(int code)
{
	return code / 100;
}

#endif
