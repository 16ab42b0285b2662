/*
 * fuzz_smtp_addr: libFuzzer target for the RFC 5321 path parser.  The
 * first byte picks the flags; the rest is parsed as a path.  A mailbox that
 * parses must stay within the limits, be what the input held, and parse
 * again to itself once put back between angle brackets (the source route
 * gone).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/smtp/smtp_addr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_addr a, b;
	char again[SMTP_ADDR_MAX + 3];
	size_t used = 0, used2 = 0;

	if (size < 1)
		return 0;
	if (smtp_addr_parse((const char *)data + 1, size - 1, data[0] & 3, &a, &used) != 0)
		return 0;
	if (used == 0 || used > size - 1 || a.len > SMTP_ADDR_MAX ||
	    strlen(a.mailbox) != a.len || data[used] != '>')
		abort();
	if (a.null || a.postmaster)
		return 0;
	if (memmem(data + 1, used, a.mailbox, a.len) == NULL)
		abort();
	again[0] = '<';
	memcpy(again + 1, a.mailbox, a.len);
	again[a.len + 1] = '>';
	if (smtp_addr_parse(again, a.len + 2, 0, &b, &used2) != 0 ||
	    used2 != a.len + 2 || b.len != a.len || b.utf8 != a.utf8 ||
	    memcmp(a.mailbox, b.mailbox, a.len) != 0)
		abort();
	return 0;
}
