/*
 * fuzz_smtp_cred: libFuzzer target for the credentials file parser.  Any
 * bytes go through smtp_cred_parse() as the text of a file.  A refusal
 * must be one "fuzz:LINE: ..." message with LINE within the input; a
 * success holds at most one entry per line.  Passwords are not verified
 * here: a yescrypt hash costs milliseconds, the unit tests cover it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/smtp/smtp_cred.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_cred *c = NULL;
	char err[512];
	size_t lines = 1;

	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	if (smtp_cred_parse((const char *)data, size, "fuzz", &c, err,
			    sizeof(err)) == 0) {
		if (smtp_cred_count(c) > lines)
			abort();
		smtp_cred_free(c);
		return 0;
	}
	if (c != NULL || strncmp(err, "fuzz:", 5) != 0 ||
	    strtoul(err + 5, NULL, 10) == 0 ||
	    strtoul(err + 5, NULL, 10) > lines)
		abort();
	return 0;
}
