/*
 * fuzz_smtp_reply: libFuzzer target for the SMTP reply parser.  The first
 * byte chooses how the rest is split into segments; the rest is a server's
 * byte stream.  Aborts when the parser breaks a promise: no progress on
 * input, a code outside 200..599, a code that changes inside a reply, text
 * that is not NUL-terminated or holds control octets, an enhanced code of
 * another class, or more lines than the limit.
 *
 * Run: fuzz_smtp_reply -max_len=8192 CORPUS_COPY
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/smtp/smtp_reply.h"

static void check(const struct smtp_reply *r, int ev, int first_code)
{
	if (r->code < 200 || r->code > 599)
		abort();
	if (first_code != 0 && r->code != first_code)
		abort();
	if (r->nlines == 0 || r->nlines > SMTP_REPLY_LINES_MAX)
		abort();
	if (r->text_len >= SMTP_REPLY_TEXT_MAX || strlen(r->text) != r->text_len)
		abort();
	for (size_t i = 0; i < r->text_len; i++)
		if ((unsigned char)r->text[i] < 0x20 || r->text[i] == 0x7f)
			abort();
	if (r->enh[0] != '\0' && r->enh[0] != '0' + r->code / 100)
		abort();
	if (r->line_len >= SMTP_REPLY_LINE_MAX || r->line[r->line_len] != '\0')
		abort();
	if (ev == SMTP_REPLY_END && r->text_len < 3)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct smtp_reply r;
	size_t off = 1, step;
	int first = 0;

	if (size < 1)
		return 0;
	step = (size_t)data[0] + 1;
	smtp_reply_init(&r);
	while (off < size) {
		size_t n = size - off < step ? size - off : step, used;
		int ev = smtp_reply_parse(&r, data + off, n, &used);

		if (used == 0 || used > n)
			abort();
		off += used;
		if (ev < 0) {
			if (ev != -EBADMSG && ev != -EMSGSIZE)
				abort();
			smtp_reply_init(&r);
			first = 0;
			continue;
		}
		if (ev == SMTP_REPLY_MORE)
			continue;
		check(&r, ev, first);
		first = ev == SMTP_REPLY_END ? 0 : r.code;
	}
	return 0;
}
