/*
 * fuzz_allow_file: libFuzzer target for the allow-list file parser
 * (smtp.allow_file).  Any bytes go through allow_file_parse() as the text
 * of a file.  A refusal must be one "fuzz:LINE: smtp.allow_file: ..."
 * message with LINE within the input; a success holds at most one entry
 * per line, each in canonical form (parsing it again gives itself).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control/allow_file.h"
#include "dataplane/smtp/smtp_admit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char entries[CONF_ALLOW_MAX][CONF_CIDR_LEN];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	size_t lines = 1;
	unsigned n;

	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	if (allow_file_parse((const char *)data, size, "fuzz", entries, CONF_ALLOW_MAX,
			     &n, err, sizeof(err)) == 0) {
		if (n > lines)
			abort();
		for (unsigned i = 0; i < n; i++) {
			struct smtp_cidr c;
			char again[CONF_CIDR_LEN];

			if (smtp_cidr_parse(entries[i], &c, NULL, 0) < 0)
				abort();
			smtp_cidr_format(&c, again, sizeof(again));
			if (strcmp(again, entries[i]) != 0)
				abort();
		}
		return 0;
	}
	if (strncmp(err, "fuzz:", 5) != 0 || strtoul(err + 5, NULL, 10) == 0 ||
	    strtoul(err + 5, NULL, 10) > lines || strstr(err, ": smtp.allow_file: ") == NULL)
		abort();
	return 0;
}
