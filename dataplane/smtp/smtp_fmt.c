/*
 * smtp_fmt: line text, copied when the format is fixed — see smtp_fmt.h.
 */
#include <stdio.h>
#include <string.h>

#include "dataplane/smtp/smtp_fmt.h"

int smtp_vformat(char *buf, size_t size, const char *fmt, va_list ap)
{
	size_t n, k;

	if (strchr(fmt, '%') != NULL)
		return vsnprintf(buf, size, fmt, ap);
	n = strlen(fmt);
	if (size > 0) {
		k = n < size - 1 ? n : size - 1;
		memcpy(buf, fmt, k);
		buf[k] = '\0';
	}
	return (int)n;
}
