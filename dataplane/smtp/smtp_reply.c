/*
 * smtp_reply: the reply parser.  Owns line assembly (CRLF, a bare LF
 * tolerated), the "ddd[-| ]text" grammar, multiline code consistency, the
 * limits, the enhanced status code of the first line and the joined,
 * sanitized reply text.
 */
#include <errno.h>
#include <string.h>

#include "dataplane/smtp/smtp_reply.h"

void smtp_reply_init(struct smtp_reply *r)
{
	memset(r, 0, offsetof(struct smtp_reply, line));
	r->line[0] = '\0';
	r->cur_len = 0;
	r->ended = 0;
}

static void reply_reset(struct smtp_reply *r)
{
	r->code = 0;
	r->enh[0] = '\0';
	r->nlines = 0;
	r->text_len = 0;
	r->text[0] = '\0';
	r->ended = 0;
}

static int is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* Length of "d.ddd.ddd" at P (N octets) whose class is CLS, else 0. */
static size_t enh_len(const char *p, size_t n, int cls)
{
	size_t i = 0, k;

	if (n < 5 || p[0] != '0' + cls || p[1] != '.')
		return 0;
	i = 2;
	for (int part = 0; part < 2; part++) {
		for (k = 0; i < n && is_digit((unsigned char)p[i]) && k < 3; k++)
			i++;
		if (k == 0)
			return 0;
		if (part == 0) {
			if (i >= n || p[i] != '.')
				return 0;
			i++;
		}
	}
	if (i < n && p[i] != ' ')
		return 0;
	return i;
}

static void text_add(struct smtp_reply *r, const char *s, size_t n)
{
	for (size_t i = 0; i < n && r->text_len + 1 < SMTP_REPLY_TEXT_MAX; i++) {
		unsigned char c = (unsigned char)s[i];

		r->text[r->text_len++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	r->text[r->text_len] = '\0';
}

/* A complete line of N octets (line end removed) is in cur[]. */
static int line_done(struct smtp_reply *r, size_t n)
{
	const unsigned char *c = r->cur;
	int code;
	size_t e;

	if (n < 3 || !is_digit(c[0]) || !is_digit(c[1]) || !is_digit(c[2]))
		return -EBADMSG;
	if (c[0] < '2' || c[0] > '5' || c[1] > '5')
		return -EBADMSG;
	if (n > 3 && c[3] != ' ' && c[3] != '-')
		return -EBADMSG;
	if (memchr(c, '\0', n) != NULL)
		return -EBADMSG;
	code = (c[0] - '0') * 100 + (c[1] - '0') * 10 + (c[2] - '0');
	if (r->nlines > 0 && code != r->code)
		return -EBADMSG;
	if (++r->nlines > SMTP_REPLY_LINES_MAX)
		return -EMSGSIZE;
	r->line_len = n > 4 ? n - 4 : 0;
	memcpy(r->line, c + 4, r->line_len);
	r->line[r->line_len] = '\0';
	if (r->nlines == 1) {
		r->code = code;
		text_add(r, (const char *)c, 3);
		e = enh_len(r->line, r->line_len, code / 100);
		if (e > 0 && e < sizeof(r->enh)) {
			memcpy(r->enh, r->line, e);
			r->enh[e] = '\0';
		}
	}
	if (r->line_len > 0) {
		text_add(r, " ", 1);
		text_add(r, r->line, r->line_len);
	}
	if (n > 3 && c[3] == '-')
		return SMTP_REPLY_LINE;
	r->ended = 1;
	return SMTP_REPLY_END;
}

int smtp_reply_parse(struct smtp_reply *r, const uint8_t *data, size_t len,
		     size_t *used)
{
	const uint8_t *lf;
	size_t take, n;

	if (r->ended)
		reply_reset(r);
	*used = 0;
	lf = memchr(data, '\n', len);
	take = lf != NULL ? (size_t)(lf - data) + 1 : len;
	if (r->cur_len + take > SMTP_REPLY_LINE_MAX)
		return -EMSGSIZE;
	memcpy(r->cur + r->cur_len, data, take);
	r->cur_len += take;
	*used = take;
	if (lf == NULL)
		return SMTP_REPLY_MORE;
	n = r->cur_len - 1;
	if (n > 0 && r->cur[n - 1] == '\r')
		n--;
	r->cur_len = 0;
	return line_done(r, n);
}
