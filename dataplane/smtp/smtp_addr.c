/*
 * smtp_addr: RFC 5321 §4.1.2 Path and Mailbox, with the RFC 6531 UTF-8
 * extensions, parsed by recursive descent over a bounded cursor.  Owns no
 * state beyond the caller's struct smtp_addr.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "dataplane/smtp/smtp_addr.h"

struct cur {
	const unsigned char *p;
	size_t n, i;
	bool utf8;
	int err; /* first hard error (-EILSEQ), else 0 */
};

size_t smtp_utf8_seq(const unsigned char *p, size_t n)
{
	unsigned c = p[0];
	size_t len;
	uint32_t cp, min;

	if (c >= 0xc2 && c <= 0xdf) {
		len = 2, cp = c & 0x1f, min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3, cp = c & 0x0f, min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4, cp = c & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t k = 1; k < len; k++) {
		if ((p[k] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[k] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

static int peek(const struct cur *c)
{
	return c->i < c->n ? c->p[c->i] : -1;
}

static bool eat(struct cur *c, int ch)
{
	if (peek(c) != ch)
		return false;
	c->i++;
	return true;
}

/* A valid UTF-8 sequence at the cursor: take it.  Invalid: flag -EILSEQ. */
static bool take_utf8(struct cur *c)
{
	size_t k;

	if (c->i >= c->n || c->p[c->i] < 0x80)
		return false;
	k = smtp_utf8_seq(c->p + c->i, c->n - c->i);
	if (k == 0) {
		c->err = -EILSEQ;
		return false;
	}
	c->i += k;
	c->utf8 = true;
	return true;
}

static bool is_alnum(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9');
}

static bool is_atext(int ch)
{
	return ch > 0 && (is_alnum(ch) || strchr("!#$%&'*+-/=?^_`{|}~", ch) != NULL);
}

static bool atom(struct cur *c)
{
	size_t start = c->i;

	for (;;) {
		if (is_atext(peek(c)))
			c->i++;
		else if (!take_utf8(c))
			break;
	}
	return c->i > start && c->err == 0;
}

static bool dot_string(struct cur *c)
{
	if (!atom(c))
		return false;
	while (eat(c, '.'))
		if (!atom(c))
			return false;
	return true;
}

/* qtextSMTP / quoted-pairSMTP between double quotes (at the opening one). */
static bool quoted_string(struct cur *c)
{
	c->i++;
	for (;;) {
		int ch = peek(c);

		if (ch == '"') {
			c->i++;
			return true;
		}
		if (ch == '\\') {
			c->i++;
			ch = peek(c);
			if (ch < 32 || ch > 126)
				return false;
			c->i++;
		} else if (ch >= 32 && ch <= 126) {
			c->i++;
		} else if (!take_utf8(c)) {
			return false;
		}
	}
}

/* Let-dig [Ldh-str]; a U-label's UTF-8 counts as letters (RFC 6531). */
static bool sub_domain(struct cur *c)
{
	size_t start = c->i;
	bool last_hyphen = false;

	for (;;) {
		int ch = peek(c);

		if (is_alnum(ch)) {
			c->i++;
			last_hyphen = false;
		} else if (ch == '-' && c->i > start) {
			c->i++;
			last_hyphen = true;
		} else if (take_utf8(c)) {
			last_hyphen = false;
		} else {
			break;
		}
	}
	return c->i > start && !last_hyphen && c->err == 0;
}

static bool domain(struct cur *c)
{
	if (!sub_domain(c))
		return false;
	while (eat(c, '.'))
		if (!sub_domain(c))
			return false;
	return true;
}

static bool ipv4_literal(const char *s, size_t n)
{
	unsigned groups = 0, val = 0, digits = 0;

	for (size_t i = 0; i <= n; i++) {
		if (i == n || s[i] == '.') {
			if (digits == 0 || val > 255)
				return false;
			groups++;
			val = digits = 0;
		} else if (s[i] >= '0' && s[i] <= '9' && digits < 3) {
			val = val * 10 + (unsigned)(s[i] - '0');
			digits++;
		} else {
			return false;
		}
	}
	return groups == 4;
}

/* "[" (IPv4 / "IPv6:" IPv6 / tag ":" 1*dcontent) "]", at the "[" */
static bool address_literal(struct cur *c)
{
	const char *s;
	size_t start, n, colon = 0;

	start = ++c->i;
	while (c->i < c->n && c->p[c->i] != ']') {
		int ch = c->p[c->i];

		if (!((ch >= 33 && ch <= 90) || (ch >= 94 && ch <= 126)))
			return false;
		if (ch == ':' && colon == 0)
			colon = c->i - start;
		c->i++;
	}
	if (!eat(c, ']'))
		return false;
	s = (const char *)c->p + start;
	n = c->i - 1 - start;
	if (n >= 5 && strncasecmp(s, "IPv6:", 5) == 0) {
		char buf[64];
		unsigned char a6[16];

		if (n - 5 >= sizeof(buf))
			return false;
		memcpy(buf, s + 5, n - 5);
		buf[n - 5] = '\0';
		return inet_pton(AF_INET6, buf, a6) == 1;
	}
	if (colon == 0)
		return ipv4_literal(s, n);
	/* General-address-literal: Standardized-tag (Ldh-str) ":" 1*dcontent */
	for (size_t k = 0; k < colon; k++)
		if (!is_alnum(s[k]) && !(s[k] == '-' && k > 0 && k + 1 < colon))
			return false;
	return colon + 1 < n;
}

/* Local-part "@" ( Domain / address-literal ), within the length limits. */
static int mailbox(struct cur *c)
{
	size_t start = c->i, at;

	if (peek(c) == '"' ? !quoted_string(c) : !dot_string(c))
		return c->err ? c->err : -EINVAL;
	at = c->i;
	if (!eat(c, '@'))
		return c->err ? c->err : -EINVAL;
	if (peek(c) == '[' ? !address_literal(c) : !domain(c))
		return c->err ? c->err : -EINVAL;
	if (at - start > SMTP_LOCAL_MAX || c->i - at - 1 > SMTP_DOMAIN_MAX ||
	    c->i - start > SMTP_ADDR_MAX)
		return -ENAMETOOLONG;
	return 0;
}

/* A-d-l ":" — a source route, parsed and ignored. */
static bool source_route(struct cur *c)
{
	do {
		if (!eat(c, '@') || !domain(c))
			return false;
	} while (eat(c, ','));
	return eat(c, ':');
}

int smtp_addr_parse(const char *s, size_t len, unsigned flags,
		    struct smtp_addr *out, size_t *used)
{
	struct cur c = {.p = (const unsigned char *)s, .n = len};
	size_t start;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!eat(&c, '<'))
		return -EINVAL;
	if (eat(&c, '>')) {
		if (!(flags & SMTP_ADDR_NULL_OK))
			return -EINVAL;
		out->null = true;
		*used = c.i;
		return 0;
	}
	if ((flags & SMTP_ADDR_POSTMASTER_OK) && len - c.i >= 11 &&
	    strncasecmp(s + c.i, "Postmaster>", 11) == 0) {
		memcpy(out->mailbox, s + c.i, 10);
		out->len = 10;
		out->postmaster = true;
		*used = c.i + 11;
		return 0;
	}
	if (peek(&c) == '@' && !source_route(&c))
		return c.err ? c.err : -EINVAL;
	c.utf8 = false; /* only the mailbox counts, the route is dropped */
	start = c.i;
	rc = mailbox(&c);
	if (rc != 0)
		return rc;
	if (!eat(&c, '>'))
		return -EINVAL;
	out->len = c.i - 1 - start;
	memcpy(out->mailbox, s + start, out->len);
	out->mailbox[out->len] = '\0';
	out->utf8 = c.utf8;
	*used = c.i;
	return 0;
}
