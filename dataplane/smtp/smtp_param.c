/*
 * smtp_param: esmtp-keyword ["=" esmtp-value] lists and the typed MAIL and
 * RCPT parameters built from them.  Owns the value grammars (digits,
 * xtext, NOTIFY lists, ORCPT) and the duplicate and unknown checks.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "dataplane/smtp/smtp_addr.h"
#include "dataplane/smtp/smtp_param.h"

static bool is_alnum(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9');
}

int smtp_param_next(const char **pos, const char *end, struct smtp_param *p)
{
	const char *s = *pos;

	while (s < end && *s == ' ')
		s++;
	*pos = s;
	if (s == end)
		return 0;
	memset(p, 0, sizeof(*p));
	p->key = s;
	if (!is_alnum(*s))
		return -EINVAL;
	while (s < end && (is_alnum(*s) || *s == '-'))
		s++;
	p->klen = (size_t)(s - p->key);
	if (s < end && *s == '=') {
		p->val = ++s;
		p->has_val = true;
		while (s < end && *s != ' ') {
			unsigned char c = (unsigned char)*s;
			size_t k;

			if (c >= 33 && c <= 126 && c != '=') {
				s++;
			} else if (c >= 0x80 &&
				   (k = smtp_utf8_seq((const unsigned char *)s,
						      (size_t)(end - s))) != 0) {
				s += k;
			} else {
				return -EINVAL;
			}
		}
		p->vlen = (size_t)(s - p->val);
		if (p->vlen == 0)
			return -EINVAL;
	}
	if (s < end && *s != ' ')
		return -EINVAL;
	*pos = s;
	return 1;
}

static bool key_is(const struct smtp_param *p, const char *name)
{
	return p->klen == strlen(name) && strncasecmp(p->key, name, p->klen) == 0;
}

static bool val_is(const struct smtp_param *p, const char *v)
{
	return p->vlen == strlen(v) && strncasecmp(p->val, v, p->vlen) == 0;
}

static bool has_nonascii(const char *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] >= 0x80)
			return true;
	return false;
}

static bool is_hexup(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

/* RFC 3461 §4: xtext = *( xchar / "+" 2HEXUPPER ); UTF8 allows UTF-8 too
 * (the utf-8-addr-xtext of RFC 6533 is a superset of this). */
static bool xtext_ok(const char *v, size_t n, bool utf8)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c == '+') {
			if (i + 2 >= n)
				return false;
			if (!is_hexup(v[i + 1]) || !is_hexup(v[i + 2]))
				return false;
			i += 2;
		} else if (c >= 0x80) {
			if (!utf8)
				return false;
		} else if (c < 33 || c > 126 || c == '=') {
			return false;
		}
	}
	return true;
}

static int parse_size(const struct smtp_param *p, uint64_t *out)
{
	uint64_t v = 0;

	if (!p->has_val || p->vlen > 20)
		return -EINVAL;
	for (size_t i = 0; i < p->vlen; i++) {
		unsigned d = (unsigned)(p->val[i] - '0');

		if (d > 9)
			return -EINVAL;
		v = v > (UINT64_MAX - d) / 10 ? UINT64_MAX : v * 10 + d;
	}
	*out = v;
	return 0;
}

static int mail_one(const struct smtp_param *p, void *out, unsigned *seen)
{
	struct smtp_mail_params *o = out;
	unsigned bit;

	if (key_is(p, "SIZE"))
		bit = 0x1;
	else if (key_is(p, "BODY"))
		bit = 0x2;
	else if (key_is(p, "SMTPUTF8"))
		bit = 0x4;
	else if (key_is(p, "RET"))
		bit = 0x8;
	else if (key_is(p, "ENVID"))
		bit = 0x10;
	else if (key_is(p, "AUTH"))
		bit = 0x20;
	else
		return -ENOTSUP;
	if (*seen & bit)
		return -EINVAL;
	*seen |= bit;
	switch (bit) {
	case 0x1:
		o->has_size = true;
		return parse_size(p, &o->size);
	case 0x2:
		if (val_is(p, "7BIT"))
			o->body = SMTP_BODY_7BIT;
		else if (val_is(p, "8BITMIME"))
			o->body = SMTP_BODY_8BITMIME;
		else
			return val_is(p, "BINARYMIME") ? -ENOTSUP : -EINVAL;
		return 0;
	case 0x4:
		o->smtputf8 = true;
		return p->has_val ? -EINVAL : 0;
	case 0x8:
		if (val_is(p, "FULL"))
			o->ret = SMTP_RET_FULL;
		else if (val_is(p, "HDRS"))
			o->ret = SMTP_RET_HDRS;
		else
			return -EINVAL;
		return 0;
	case 0x10:
		if (!p->has_val || p->vlen > SMTP_ENVID_MAX ||
		    !xtext_ok(p->val, p->vlen, false))
			return -EINVAL;
		memcpy(o->envid, p->val, p->vlen);
		o->envid[p->vlen] = '\0';
		return 0;
	default: /* AUTH=: validated, the identity is ours (RFC 4954 §5) */
		return p->has_val && xtext_ok(p->val, p->vlen, true) ? 0 : -EINVAL;
	}
}

/* NOTIFY = "NEVER" / 1#( "SUCCESS" / "FAILURE" / "DELAY" ) */
static int parse_notify(const struct smtp_param *p, unsigned *out)
{
	const char *s, *end;

	if (!p->has_val)
		return -EINVAL;
	s = p->val;
	end = p->val + p->vlen;
	*out = 0;
	while (s <= end) {
		const char *comma = memchr(s, ',', (size_t)(end - s));
		struct smtp_param w = {.val = s, .has_val = true};
		unsigned bit;

		w.vlen = (size_t)((comma ? comma : end) - s);
		if (val_is(&w, "NEVER"))
			bit = SMTP_NOTIFY_NEVER;
		else if (val_is(&w, "SUCCESS"))
			bit = SMTP_NOTIFY_SUCCESS;
		else if (val_is(&w, "FAILURE"))
			bit = SMTP_NOTIFY_FAILURE;
		else if (val_is(&w, "DELAY"))
			bit = SMTP_NOTIFY_DELAY;
		else
			return -EINVAL;
		if (*out & bit)
			return -EINVAL;
		*out |= bit;
		if (comma == NULL)
			break;
		s = comma + 1;
	}
	return (*out & SMTP_NOTIFY_NEVER) && *out != SMTP_NOTIFY_NEVER ? -EINVAL : 0;
}

/* ORCPT = addr-type ";" xtext, addr-type an atom (RFC 3461 §4.2) */
static int parse_orcpt(const struct smtp_param *p, char *out)
{
	const char *semi;
	size_t tlen;

	if (!p->has_val || p->vlen > SMTP_ORCPT_MAX)
		return -EINVAL;
	semi = memchr(p->val, ';', p->vlen);
	if (semi == NULL || semi == p->val)
		return -EINVAL;
	tlen = (size_t)(semi - p->val);
	for (size_t i = 0; i < tlen; i++)
		if (!is_alnum(p->val[i]) && p->val[i] != '-')
			return -EINVAL;
	if (tlen + 1 == p->vlen ||
	    !xtext_ok(semi + 1, p->vlen - tlen - 1, true))
		return -EINVAL;
	memcpy(out, p->val, p->vlen);
	out[p->vlen] = '\0';
	return 0;
}

static int rcpt_one(const struct smtp_param *p, void *out, unsigned *seen)
{
	struct smtp_rcpt_params *o = out;
	unsigned bit;

	if (key_is(p, "NOTIFY"))
		bit = 0x1;
	else if (key_is(p, "ORCPT"))
		bit = 0x2;
	else
		return -ENOTSUP;
	if (*seen & bit)
		return -EINVAL;
	*seen |= bit;
	return bit == 0x1 ? parse_notify(p, &o->notify) : parse_orcpt(p, o->orcpt);
}

/* Each parameter of S to ONE (mail_one or rcpt_one, with OUT) until one
 * fails; *NONASCII is set if any value has a byte above 0x7f. */
static int each_param(const char *s, size_t len,
		      int (*one)(const struct smtp_param *, void *, unsigned *),
		      void *out, bool *nonascii)
{
	const char *pos = s, *end = s + len;
	struct smtp_param p;
	unsigned seen = 0;
	int rc;

	while ((rc = smtp_param_next(&pos, end, &p)) == 1) {
		if (has_nonascii(p.val, p.vlen))
			*nonascii = true;
		if ((rc = one(&p, out, &seen)) != 0)
			return rc;
	}
	return rc;
}

int smtp_param_mail(const char *s, size_t len, struct smtp_mail_params *out)
{
	memset(out, 0, sizeof(*out));
	return each_param(s, len, mail_one, out, &out->nonascii);
}

int smtp_param_rcpt(const char *s, size_t len, struct smtp_rcpt_params *out)
{
	memset(out, 0, sizeof(*out));
	return each_param(s, len, rcpt_one, out, &out->nonascii);
}
