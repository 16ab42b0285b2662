/* tls_impl: what tls_ctx.c and tls_conn.c share — the context struct. */
#ifndef SLUICE_DATAPLANE_TLS_TLS_IMPL_H
#define SLUICE_DATAPLANE_TLS_TLS_IMPL_H

#include <stdbool.h>

#include <openssl/ssl.h>

struct tls_ctx {
	SSL_CTX *ssl;
	bool client;
};

#endif
