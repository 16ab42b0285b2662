/*
 * smtp_param: the ESMTP parameters after MAIL FROM:<...> and RCPT TO:<...>
 * (RFC 5321 §4.1.2 esmtp-param).  Owns the keyword/value grammar and the
 * parameters Sluice offers: SIZE (RFC 1870), BODY (RFC 6152), SMTPUTF8
 * (RFC 6531), RET/ENVID/NOTIFY/ORCPT (RFC 3461) and AUTH (RFC 4954).
 * No I/O, no allocation.
 */
#ifndef SLUICE_DATAPLANE_SMTP_SMTP_PARAM_H
#define SLUICE_DATAPLANE_SMTP_SMTP_PARAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SMTP_ENVID_MAX 100 /* RFC 3461 §4.4 */
#define SMTP_ORCPT_MAX 500 /* RFC 3461 §4.2 */

enum smtp_body_type { SMTP_BODY_UNSET, SMTP_BODY_7BIT, SMTP_BODY_8BITMIME };
enum smtp_ret { SMTP_RET_UNSET, SMTP_RET_FULL, SMTP_RET_HDRS };

/* NOTIFY= bits; 0 when the parameter was absent */
#define SMTP_NOTIFY_NEVER   0x1
#define SMTP_NOTIFY_SUCCESS 0x2
#define SMTP_NOTIFY_FAILURE 0x4
#define SMTP_NOTIFY_DELAY   0x8

struct smtp_mail_params {
	bool has_size;
	uint64_t size;          /* SIZE=, saturated at UINT64_MAX */
	enum smtp_body_type body;
	bool smtputf8;
	enum smtp_ret ret;
	char envid[SMTP_ENVID_MAX + 1]; /* xtext as received, "" if absent */
	bool nonascii;          /* some value holds UTF-8 */
};

struct smtp_rcpt_params {
	unsigned notify;
	char orcpt[SMTP_ORCPT_MAX + 1]; /* "addr-type;xtext" as received, "" if absent */
	bool nonascii;
};

/* One "KEY[=VALUE]" of a parameter list. */
struct smtp_param {
	const char *key, *val;
	size_t klen, vlen;
	bool has_val;
};

/*
 * Take the next parameter from *POS (before END), skipping leading spaces.
 * Returns 1 with *P filled, 0 at the end, -EINVAL on bad syntax (a value
 * may be UTF-8; the caller checks p->val for it).
 */
int smtp_param_next(const char **pos, const char *end, struct smtp_param *p);

/*
 * Parse the parameter list of MAIL / RCPT (S, LEN: everything after the
 * path).  Returns 0, -EINVAL (syntax, bad value, repeated keyword) or
 * -ENOTSUP (a keyword or value we do not offer, e.g. BODY=BINARYMIME).
 */
int smtp_param_mail(const char *s, size_t len, struct smtp_mail_params *out);
int smtp_param_rcpt(const char *s, size_t len, struct smtp_rcpt_params *out);

#endif
