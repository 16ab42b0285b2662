/*
 * fuzz_smtp_admit: libFuzzer target for the allow-list entry parser.  Any
 * bytes, as one C string, go through smtp_cidr_parse().  A refusal must
 * come with an "allow entry" message; an accepted entry must have no host
 * bits set, and its canonical form must parse back to the same network.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "dataplane/smtp/smtp_admit.h"

static void check_accepted(const struct smtp_cidr *c)
{
	char text[SMTP_CIDR_STRLEN], err[160];
	struct smtp_cidr back;

	if ((c->net.family == AF_INET && c->depth > 32) ||
	    (c->net.family == AF_INET6 && c->depth > 128) ||
	    (c->net.family != AF_INET && c->net.family != AF_INET6))
		abort();
	if (c->net.family == AF_INET && c->depth < 32 &&
	    (c->net.v4 & (0xffffffffu >> c->depth)) != 0)
		abort();
	smtp_cidr_format(c, text, sizeof(text));
	if (smtp_cidr_parse(text, &back, err, sizeof(err)) != 0)
		abort();
	if (back.net.family != c->net.family || back.depth != c->depth)
		abort();
	if (c->net.family == AF_INET ? back.net.v4 != c->net.v4
				     : memcmp(back.net.v6, c->net.v6, 16) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	char err[160];
	struct smtp_cidr c;

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (smtp_cidr_parse(s, &c, err, sizeof(err)) == 0)
		check_accepted(&c);
	else if (strncmp(err, "allow entry \"", 13) != 0 ||
		 memchr(err, '\0', sizeof(err)) == NULL)
		abort();
	free(s);
	return 0;
}
