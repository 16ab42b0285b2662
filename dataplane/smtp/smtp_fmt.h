/*
 * smtp_fmt: the text of a command or reply line, for both engines.  Most
 * lines are fixed ("250 2.1.0 Ok", "DATA") or text and strings ("MAIL
 * FROM:<%s>%s", "250 2.0.0 Ok: queued as %s"): those are joined here, not
 * run through vsnprintf, whose set-up and conversions cost several hundred
 * instructions.  Any other conversion goes to vsnprintf.
 */
#ifndef SLUICE_DATAPLANE_SMTP_SMTP_FMT_H
#define SLUICE_DATAPLANE_SMTP_SMTP_FMT_H

#include <stdarg.h>
#include <stddef.h>

/* As vsnprintf(BUF, SIZE, FMT, AP): the length of the full text, of
 * which what fits in SIZE - 1 octets is written, NUL-terminated. */
int smtp_vformat(char *buf, size_t size, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

#endif
