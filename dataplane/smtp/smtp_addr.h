/*
 * smtp_addr: the RFC 5321 Path / Mailbox parser (MAIL FROM and RCPT TO
 * arguments).  Owns the grammar only: dot-string and quoted local parts,
 * domains, address literals, the null reverse path "<>", "<Postmaster>",
 * source routes (parsed and dropped, RFC 5321 §4.1.2 / appendix C) and
 * UTF-8 under SMTPUTF8 (RFC 6531).  No I/O, no allocation.
 */
#ifndef SLUICE_DATAPLANE_SMTP_SMTP_ADDR_H
#define SLUICE_DATAPLANE_SMTP_SMTP_ADDR_H

#include <stdbool.h>
#include <stddef.h>

#define SMTP_ADDR_MAX      254 /* mailbox: path 256 minus the brackets */
#define SMTP_LOCAL_MAX     64  /* RFC 5321 §4.5.3.1.1 */
#define SMTP_DOMAIN_MAX    255 /* RFC 5321 §4.5.3.1.2 */

/* flags for smtp_addr_parse() */
#define SMTP_ADDR_NULL_OK       0x1 /* "<>" accepted (reverse path) */
#define SMTP_ADDR_POSTMASTER_OK 0x2 /* "<Postmaster>" accepted (forward path) */

struct smtp_addr {
	char mailbox[SMTP_ADDR_MAX + 1]; /* "local@domain", "" for "<>" */
	size_t len;
	bool null;        /* "<>" */
	bool postmaster;  /* "<Postmaster>" without a domain */
	bool utf8;        /* contains non-ASCII (needs SMTPUTF8) */
};

/*
 * Parse one Path at the start of S (LEN bytes, not NUL-terminated); *USED
 * gets the bytes taken (up to and including ">").  Non-ASCII must be valid
 * UTF-8 and is reported in out->utf8; whether it is allowed is the
 * caller's decision.  Returns 0, -EINVAL (syntax), -EILSEQ (invalid UTF-8)
 * or -ENAMETOOLONG (over the RFC 5321 length limits).
 */
int smtp_addr_parse(const char *s, size_t len, unsigned flags,
		    struct smtp_addr *out, size_t *used);

/* Length of the valid UTF-8 sequence at P (at most N bytes) starting with
 * a byte >= 0x80, or 0 when it is not valid (overlong, surrogate, >U+10FFFF,
 * truncated). */
size_t smtp_utf8_seq(const unsigned char *p, size_t n);

#endif
