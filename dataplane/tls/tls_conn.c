/*
 * tls_conn: one TLS connection over a pair of memory BIOs — feeding and
 * draining ciphertext, the handshake, plaintext in and out, close_notify,
 * and turning OpenSSL's error state into enum tls_result.
 */
#include "dataplane/tls/tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509_vfy.h>

#include "dataplane/tls/tls_impl.h"

/* Largest plaintext handed to SSL_write_ex at once: one record. */
#define RECORD_MAX 16384

struct tls_conn {
	SSL *ssl;
	BIO *in;                /* ciphertext from the peer, read by OpenSSL */
	BIO *out;               /* ciphertext for the peer, written by OpenSSL */
	bool client;
	bool closing;           /* we queued close_notify */
	enum tls_result failed; /* TLS_OK until a fatal error */
	unsigned long err;      /* OpenSSL's code for that error */
};

/* The name the server's certificate must carry.  An address literal is
 * matched against the certificate's IP entries and sent without SNI, which
 * RFC 6066 §3 allows only for host names.  Returns 1 on success. */
static int set_peer_name(SSL *ssl, const char *host)
{
	unsigned char ip[16];

	if (inet_pton(AF_INET, host, ip) == 1 ||
	    inet_pton(AF_INET6, host, ip) == 1)
		return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host);
	if (SSL_set_tlsext_host_name(ssl, host) != 1)
		return 0;
	return SSL_set1_host(ssl, host);
}

int tls_conn_new(struct tls_ctx *ctx, const char *host, struct tls_conn **out)
{
	struct tls_conn *c;
	bool attached = false;

	if (ctx->client != (host != NULL))
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return -ENOMEM;
	c->ssl = SSL_new(ctx->ssl);
	c->in = BIO_new(BIO_s_mem());
	c->out = BIO_new(BIO_s_mem());
	c->client = ctx->client;
	if (c->ssl == NULL || c->in == NULL || c->out == NULL)
		goto fail;
	/* An empty input BIO means "wait", not end of file. */
	BIO_set_mem_eof_return(c->in, -1);
	BIO_set_mem_eof_return(c->out, -1);
	SSL_set_bio(c->ssl, c->in, c->out); /* the SSL owns them now */
	attached = true;
	if (!c->client)
		SSL_set_accept_state(c->ssl);
	else if (set_peer_name(c->ssl, host) != 1)
		goto fail;
	else
		SSL_set_connect_state(c->ssl);
	*out = c;
	return 0;
fail:
	ERR_clear_error();
	if (!attached) {
		BIO_free(c->in);
		BIO_free(c->out);
	}
	tls_conn_free(c);
	return -ENOMEM;
}

void tls_conn_free(struct tls_conn *c)
{
	if (c == NULL)
		return;
	SSL_free(c->ssl);
	free(c);
}

/* The connection failed fatally: remember why, and stay failed. */
static enum tls_result fatal(struct tls_conn *c)
{
	unsigned long e = ERR_peek_error();

	c->err = e;
	if (ERR_GET_REASON(e) == ERR_R_MALLOC_FAILURE)
		c->failed = TLS_ERR_NOMEM;
	else if (c->client && SSL_get_verify_result(c->ssl) != X509_V_OK)
		c->failed = TLS_ERR_VERIFY;
	else
		c->failed = TLS_ERR_PROTOCOL;
	ERR_clear_error();
	return c->failed;
}

/* Maps the return RET of an SSL_* I/O call. */
static enum tls_result settle(struct tls_conn *c, int ret)
{
	switch (SSL_get_error(c->ssl, ret)) {
	case SSL_ERROR_NONE:
		return TLS_OK;
	case SSL_ERROR_WANT_READ:
		return TLS_WANT_READ;
	case SSL_ERROR_WANT_WRITE:
		return TLS_WANT_WRITE;
	case SSL_ERROR_ZERO_RETURN:
		return TLS_CLOSED;
	default:
		return fatal(c);
	}
}

enum tls_result tls_feed_cipher(struct tls_conn *c, const void *buf,
				size_t len, size_t *taken)
{
	size_t queued = BIO_ctrl_pending(c->in);
	size_t room = queued < TLS_CIPHER_IN_MAX ? TLS_CIPHER_IN_MAX - queued : 0;
	size_t n = len < room ? len : room;

	*taken = 0;
	if (c->failed != TLS_OK)
		return c->failed;
	if (n > 0 && BIO_write(c->in, buf, (int)n) != (int)n) {
		ERR_clear_error();
		return TLS_ERR_NOMEM;
	}
	*taken = n;
	return TLS_OK;
}

enum tls_result tls_handshake(struct tls_conn *c)
{
	if (c->failed != TLS_OK)
		return c->failed;
	if (SSL_is_init_finished(c->ssl))
		return TLS_OK;
	ERR_clear_error();
	return settle(c, SSL_do_handshake(c->ssl));
}

bool tls_handshake_done(const struct tls_conn *c)
{
	return c->failed == TLS_OK && SSL_is_init_finished(c->ssl);
}

enum tls_result tls_read_plain(struct tls_conn *c, void *buf, size_t len,
			       size_t *got)
{
	*got = 0;
	if (c->failed != TLS_OK)
		return c->failed;
	if (!SSL_is_init_finished(c->ssl))
		return TLS_ERR_STATE;
	if (SSL_get_shutdown(c->ssl) & SSL_RECEIVED_SHUTDOWN)
		return TLS_CLOSED;
	ERR_clear_error();
	if (SSL_read_ex(c->ssl, buf, len, got) == 1)
		return TLS_OK;
	return settle(c, 0);
}

enum tls_result tls_write_plain(struct tls_conn *c, const void *buf,
				size_t len, size_t *put)
{
	const unsigned char *p = buf;

	*put = 0;
	if (c->failed != TLS_OK)
		return c->failed;
	if (!SSL_is_init_finished(c->ssl) || c->closing)
		return TLS_ERR_STATE;
	while (*put < len) {
		size_t chunk = len - *put < RECORD_MAX ? len - *put : RECORD_MAX;
		size_t w;

		if (BIO_ctrl_pending(c->out) >= TLS_CIPHER_OUT_MAX)
			return TLS_WANT_WRITE;
		ERR_clear_error();
		if (SSL_write_ex(c->ssl, p + *put, chunk, &w) != 1)
			return settle(c, 0);
		*put += w;
	}
	return TLS_OK;
}

size_t tls_pending_cipher(const struct tls_conn *c)
{
	return BIO_ctrl_pending(c->out);
}

size_t tls_drain_cipher(struct tls_conn *c, void *buf, size_t len)
{
	size_t got = 0;

	if (len == 0 || BIO_read_ex(c->out, buf, len, &got) != 1)
		got = 0;
	ERR_clear_error();
	return got;
}

enum tls_result tls_close(struct tls_conn *c)
{
	if (c->failed != TLS_OK)
		return c->failed;
	if (!SSL_is_init_finished(c->ssl))
		return TLS_ERR_STATE;
	if (c->closing)
		return TLS_OK;
	c->closing = true;
	ERR_clear_error();
	if (SSL_shutdown(c->ssl) >= 0)
		return TLS_OK;
	return settle(c, -1);
}

const char *tls_version(const struct tls_conn *c)
{
	return SSL_get_version(c->ssl);
}

const char *tls_cipher(const struct tls_conn *c)
{
	return SSL_CIPHER_get_name(SSL_get_current_cipher(c->ssl));
}

int tls_cipher_bits(const struct tls_conn *c)
{
	return SSL_CIPHER_get_bits(SSL_get_current_cipher(c->ssl), NULL);
}

void tls_conn_error(const struct tls_conn *c, char *buf, size_t len)
{
	if (len == 0)
		return;
	buf[0] = '\0';
	if (c->failed == TLS_ERR_VERIFY)
		snprintf(buf, len, "certificate verify failed: %s",
			 X509_verify_cert_error_string(
				 SSL_get_verify_result(c->ssl)));
	else if (c->err != 0)
		ERR_error_string_n(c->err, buf, len);
}

const char *tls_result_name(enum tls_result r)
{
	switch (r) {
	case TLS_OK: return "ok";
	case TLS_WANT_READ: return "want read";
	case TLS_WANT_WRITE: return "want write";
	case TLS_CLOSED: return "closed";
	case TLS_ERR_PROTOCOL: return "protocol error";
	case TLS_ERR_VERIFY: return "certificate verification failed";
	case TLS_ERR_STATE: return "not valid in this state";
	case TLS_ERR_NOMEM: return "out of memory";
	}
	return "unknown";
}
