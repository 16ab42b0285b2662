/*
 * fuzz_http_auth: libFuzzer target for the HTTP listener's credential
 * check.  The input is an Authorization header; a token and a basic
 * credential are configured.  It must be accepted exactly when it is one
 * of the two well-formed headers, in either scheme's case.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "control/http_auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf_http c = {.on = true, .token = "t0ken", .basic = "u:p"};
	char *auth = malloc(size + 1);
	bool want;

	if (auth == NULL)
		return 0;
	memcpy(auth, data, size);
	auth[size] = '\0';
	want = (strncasecmp(auth, "Bearer ", 7) == 0 && strcmp(auth + 7, "t0ken") == 0) ||
	       (strncasecmp(auth, "Basic ", 6) == 0 && strcmp(auth + 6, "dTpw") == 0);
	if (http_auth_ok(&c, auth) != want)
		abort();
	free(auth);
	return 0;
}
