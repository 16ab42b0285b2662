/*
 * tls_ctx: the OpenSSL contexts — protocol floor, cipher list and options
 * shared by both roles, the server's certificate and key, the client's
 * trust store and verification.
 */
#include "dataplane/tls/tls.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <openssl/err.h>

#include "dataplane/tls/tls_impl.h"

/* TLS 1.2 suites: ephemeral key exchange and AEAD only (TLS 1.3 keeps
 * OpenSSL's defaults, which are all of that kind). */
#define TLS12_CIPHERS \
	"ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20:!aNULL:!DSS:!PSK"

/* Writes "WHAT: reason" into ERR, with OpenSSL's first queued reason. */
static int ctx_fail(char *err, size_t errlen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int ctx_fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	char what[256], why[256] = "unknown error";
	unsigned long e = ERR_get_error();
	va_list ap;

	if (e != 0)
		ERR_error_string_n(e, why, sizeof(why));
	ERR_clear_error();
	if (errlen == 0)
		return rc;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "%s: %s", what, why);
	return rc;
}

static struct tls_ctx *ctx_new(bool client)
{
	struct tls_ctx *ctx = calloc(1, sizeof(*ctx));
	SSL_CTX *s;

	if (ctx == NULL)
		return NULL;
	s = SSL_CTX_new(client ? TLS_client_method() : TLS_server_method());
	if (s == NULL ||
	    SSL_CTX_set_min_proto_version(s, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_cipher_list(s, TLS12_CIPHERS) != 1) {
		SSL_CTX_free(s);
		free(ctx);
		return NULL;
	}
	SSL_CTX_set_options(s, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_mode(s, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_session_cache_mode(s, SSL_SESS_CACHE_OFF);
	ctx->ssl = s;
	ctx->client = client;
	return ctx;
}

int tls_ctx_server_new(const char *cert_path, const char *key_path,
		       struct tls_ctx **out, char *err, size_t errlen)
{
	struct tls_ctx *ctx = ctx_new(false);
	int rc = 0;

	if (ctx == NULL)
		return ctx_fail(err, errlen, -ENOMEM, "TLS server context");
	SSL_CTX_set_options(ctx->ssl, SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_dh_auto(ctx->ssl, 1);
	if (SSL_CTX_use_certificate_chain_file(ctx->ssl, cert_path) != 1)
		rc = ctx_fail(err, errlen, -EINVAL, "%s: certificate chain",
			      cert_path);
	else if (SSL_CTX_use_PrivateKey_file(ctx->ssl, key_path,
					     SSL_FILETYPE_PEM) != 1)
		rc = ctx_fail(err, errlen, -EINVAL, "%s: private key",
			      key_path); /* also when it does not match */
	if (rc != 0) {
		tls_ctx_free(ctx);
		return rc;
	}
	*out = ctx;
	return 0;
}

int tls_ctx_client_new(const char *ca_path, struct tls_ctx **out, char *err,
		       size_t errlen)
{
	struct tls_ctx *ctx = ctx_new(true);
	int ok;

	if (ctx == NULL)
		return ctx_fail(err, errlen, -ENOMEM, "TLS client context");
	SSL_CTX_set_verify(ctx->ssl, SSL_VERIFY_PEER, NULL);
	if (ca_path != NULL)
		ok = SSL_CTX_load_verify_file(ctx->ssl, ca_path);
	else
		ok = SSL_CTX_set_default_verify_paths(ctx->ssl);
	if (ok != 1) {
		tls_ctx_free(ctx);
		return ctx_fail(err, errlen, -EINVAL, "%s: CA certificates",
				ca_path != NULL ? ca_path : "default store");
	}
	*out = ctx;
	return 0;
}

int tls_ctx_client_noverify_new(struct tls_ctx **out, char *err, size_t errlen)
{
	struct tls_ctx *ctx = ctx_new(true);

	if (ctx == NULL)
		return ctx_fail(err, errlen, -ENOMEM, "TLS client context");
	SSL_CTX_set_verify(ctx->ssl, SSL_VERIFY_NONE, NULL);
	*out = ctx;
	return 0;
}

void tls_ctx_free(struct tls_ctx *ctx)
{
	if (ctx == NULL)
		return;
	SSL_CTX_free(ctx->ssl);
	free(ctx);
}
