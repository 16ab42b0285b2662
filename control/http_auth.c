/*
 * http_auth: the Authorization header check — see http_auth.h.
 */
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "control/http_auth.h"

/* True when GOT is "PREFIX" followed by exactly SECRET (compared in
 * constant time). */
static bool secret_matches(const char *got, const char *prefix,
			   const char *secret, size_t secret_len)
{
	size_t plen = strlen(prefix);

	if (strncasecmp(got, prefix, plen) != 0)
		return false;
	got += plen;
	return strlen(got) == secret_len &&
	       CRYPTO_memcmp(got, secret, secret_len) == 0;
}

bool http_auth_ok(const struct conf_http *c, const char *auth)
{
	unsigned char b64[CONF_HTTP_SECRET_LEN * 4 / 3 + 4];
	int n;

	if (c->token[0] == '\0' && c->basic[0] == '\0')
		return true;
	if (auth == NULL)
		return false;
	if (c->token[0] != '\0' &&
	    secret_matches(auth, "Bearer ", c->token, strlen(c->token)))
		return true;
	if (c->basic[0] == '\0')
		return false;
	n = EVP_EncodeBlock(b64, (const unsigned char *)c->basic,
			    (int)strlen(c->basic));
	return secret_matches(auth, "Basic ", (const char *)b64, (size_t)n);
}
