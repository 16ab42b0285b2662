/*
 * smtp_fmt: line text without printf where it is only text and strings —
 * see smtp_fmt.h.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "dataplane/smtp/smtp_fmt.h"

/* FMT has no conversion but %s. */
static bool strings_only(const char *fmt)
{
	for (const char *p = strchr(fmt, '%'); p != NULL; p = strchr(p + 2, '%'))
		if (p[1] != 's')
			return false;
	return true;
}

int smtp_vformat(char *buf, size_t size, const char *fmt, va_list ap)
{
	size_t n = 0;

	if (!strings_only(fmt))
		return vsnprintf(buf, size, fmt, ap);
	while (*fmt != '\0') {
		const char *s = fmt;
		size_t k;

		if (*fmt == '%') {
			s = va_arg(ap, const char *);
			if (s == NULL)
				s = "(null)"; /* as glibc prints it */
			k = strlen(s);
			fmt += 2;
		} else {
			k = strcspn(fmt, "%");
			fmt += k;
		}
		if (n < size)
			memcpy(buf + n, s, n + k < size ? k : size - n);
		n += k;
	}
	if (size > 0)
		buf[n < size ? n : size - 1] = '\0';
	return (int)n;
}
