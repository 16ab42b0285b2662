/*
 * tls: TLS between the TCP engine and the SMTP sessions.  Owns the OpenSSL 3
 * contexts (a server context from certificate and key files; client
 * contexts for relaying to smart hosts, verifying them against a CA file
 * or the system store, or not verifying at all)
 * and the per-connection TLS object, which runs over memory BIOs so that it
 * never touches a socket and never blocks: ciphertext from TCP goes in with
 * tls_feed_cipher(), plaintext for SMTP comes out of tls_read_plain(),
 * plaintext from SMTP goes in with tls_write_plain(), and ciphertext for
 * TCP comes out of tls_drain_cipher().
 *
 * Both directions are bounded: tls_feed_cipher() takes at most
 * TLS_CIPHER_IN_MAX unread bytes (read plaintext to make room), and
 * tls_write_plain() stops with TLS_WANT_WRITE once TLS_CIPHER_OUT_MAX bytes
 * wait to be drained.
 *
 * A context is built on the control plane, is read-only afterwards and may
 * be shared by every worker; a connection belongs to one thread.
 * Protocol: TLS 1.2 and 1.3 only, AEAD ciphers with forward secrecy, no
 * compression, no renegotiation, no server-side session cache.
 */
#ifndef SLUICE_DATAPLANE_TLS_TLS_H
#define SLUICE_DATAPLANE_TLS_TLS_H

#include <stdbool.h>
#include <stddef.h>

/* Two full TLS records (16 KiB of data plus the largest expansion). */
#define TLS_CIPHER_IN_MAX (2 * (16384 + 2048 + 5))
#define TLS_CIPHER_OUT_MAX (2 * (16384 + 2048 + 5))

enum tls_result {
	TLS_OK = 0,
	TLS_WANT_READ,    /* needs more ciphertext from the peer */
	TLS_WANT_WRITE,   /* drain the pending ciphertext first */
	TLS_CLOSED,       /* the peer sent close_notify: no more plaintext */
	TLS_ERR_PROTOCOL, /* bad record, failed handshake, alert, EOF in a record */
	TLS_ERR_VERIFY,   /* client: the server's certificate did not verify */
	TLS_ERR_STATE,    /* call not valid now (e.g. data before handshake) */
	TLS_ERR_NOMEM,
};

struct tls_ctx;
struct tls_conn;

/* Server context from a PEM certificate chain and its PEM private key.
 * Returns 0 with *OUT set, or -EINVAL / -ENOMEM with a message naming the
 * file in ERR. */
int tls_ctx_server_new(const char *cert_path, const char *key_path,
		       struct tls_ctx **out, char *err, size_t errlen);

/* Client context that verifies servers against the PEM CA certificates in
 * CA_PATH (NULL: the system's default store).  Same returns. */
int tls_ctx_client_new(const char *ca_path, struct tls_ctx **out, char *err,
		       size_t errlen);

/* Client context that encrypts without verifying the server's certificate
 * (chain or name): any certificate, self-signed too, is accepted.  For the
 * "opportunistic" and "required" policies towards smart hosts.  Same
 * returns. */
int tls_ctx_client_noverify_new(struct tls_ctx **out, char *err, size_t errlen);

void tls_ctx_free(struct tls_ctx *ctx);

/* A connection on CTX.  For a client context, HOST (required) is sent as
 * SNI and the certificate must name it (an IPv4 or IPv6 literal: no SNI,
 * and the certificate must carry that IP address); servers pass NULL.
 * Returns 0, -EINVAL or -ENOMEM. */
int tls_conn_new(struct tls_ctx *ctx, const char *host, struct tls_conn **out);
void tls_conn_free(struct tls_conn *c);

/* Ciphertext received from TCP.  *TAKEN says how much was buffered (less
 * than LEN when TLS_CIPHER_IN_MAX is reached).  Returns TLS_OK,
 * TLS_ERR_NOMEM, or the connection's error once it has failed. */
enum tls_result tls_feed_cipher(struct tls_conn *c, const void *buf,
				size_t len, size_t *taken);

/* Advances the handshake with what has been fed: TLS_OK once complete,
 * TLS_WANT_READ while it waits for the peer, or an error.  A client calls
 * it first, with nothing fed, to produce its ClientHello. */
enum tls_result tls_handshake(struct tls_conn *c);
bool tls_handshake_done(const struct tls_conn *c);

/* Decrypted data: TLS_OK with *GOT > 0, TLS_WANT_READ when no complete
 * record is buffered, TLS_CLOSED after the peer's close_notify, or an
 * error.  Valid only once the handshake is done. */
enum tls_result tls_read_plain(struct tls_conn *c, void *buf, size_t len,
			       size_t *got);

/* Encrypts up to LEN bytes: TLS_OK with *PUT == LEN, TLS_WANT_WRITE with
 * *PUT < LEN when the pending ciphertext is at its bound, or an error. */
enum tls_result tls_write_plain(struct tls_conn *c, const void *buf,
				size_t len, size_t *put);

/* Ciphertext waiting for TCP, and taking it: copies up to LEN bytes into
 * BUF and returns how many.  Still works after an error, so that a fatal
 * alert reaches the peer. */
size_t tls_pending_cipher(const struct tls_conn *c);
size_t tls_drain_cipher(struct tls_conn *c, void *buf, size_t len);

/* Queues our close_notify (drain it, then close TCP).  TLS_ERR_STATE
 * before the handshake completes: just close TCP then. */
enum tls_result tls_close(struct tls_conn *c);

/* After the handshake: "TLSv1.3", "TLS_AES_256_GCM_SHA384", 256. */
const char *tls_version(const struct tls_conn *c);
const char *tls_cipher(const struct tls_conn *c);
int tls_cipher_bits(const struct tls_conn *c);

/* OpenSSL's reason for the connection's failure, for the log line
 * (empty when there is none). */
void tls_conn_error(const struct tls_conn *c, char *buf, size_t len);

const char *tls_result_name(enum tls_result r);

#endif
