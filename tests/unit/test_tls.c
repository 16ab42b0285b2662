/*
 * test_tls: a server and a client tls_conn pumping ciphertext to each
 * other in memory — handshake, data both ways under the buffer bounds,
 * negotiated version and cipher, close_notify, a TLS 1.1 client refused, a
 * wrong host name refused, garbage ciphertext failing cleanly, and the
 * contexts' error messages.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <openssl/ssl.h>

#include "dataplane/tls/tls.h"
#include "tests/unit/suites.h"
#include "tests/unit/tls_testcert.h"

#define HOST "mx.test"

static char dir[64];
static char cert[128], key[128], cert2[128], key2[128];
static struct tls_ctx *server_ctx, *client_ctx;

static int tls_init(void)
{
	char err[256];

	snprintf(dir, sizeof(dir), "/tmp/sluice-tls-XXXXXX");
	if (mkdtemp(dir) == NULL ||
	    tls_testcert_write(dir, "a", HOST, cert, key, sizeof(cert)) != 0 ||
	    tls_testcert_write(dir, "b", HOST, cert2, key2, sizeof(cert2)) != 0)
		return -1;
	if (tls_ctx_server_new(cert, key, &server_ctx, err, sizeof(err)) != 0 ||
	    tls_ctx_client_new(cert, &client_ctx, err, sizeof(err)) != 0)
		return -1;
	return 0;
}

static int tls_fini(void)
{
	tls_ctx_free(server_ctx);
	tls_ctx_free(client_ctx);
	unlink(cert);
	unlink(key);
	unlink(cert2);
	unlink(key2);
	rmdir(dir);
	return 0;
}

/* Moves everything FROM has pending into TO; returns the bytes moved. */
static size_t move(struct tls_conn *from, struct tls_conn *to)
{
	uint8_t buf[4096];
	size_t moved = 0, n;

	while (tls_pending_cipher(from) > 0) {
		size_t taken;

		n = tls_drain_cipher(from, buf, sizeof(buf));
		CU_ASSERT_FATAL(n > 0);
		CU_ASSERT_EQUAL_FATAL(tls_feed_cipher(to, buf, n, &taken), TLS_OK);
		CU_ASSERT_EQUAL_FATAL(taken, n);
		moved += n;
	}
	return moved;
}

/* Runs the handshake to its end (or first failure) on both sides. */
static void handshake(struct tls_conn *s, struct tls_conn *c,
		      enum tls_result *rs, enum tls_result *rc)
{
	for (int round = 0; round < 10; round++) {
		*rc = tls_handshake(c);
		move(c, s);
		*rs = tls_handshake(s);
		if (move(s, c) == 0 && *rc != TLS_WANT_READ)
			break;
	}
}

static void connect_pair(struct tls_conn **s, struct tls_conn **c,
			 const char *host)
{
	enum tls_result rs, rc;

	CU_ASSERT_EQUAL_FATAL(tls_conn_new(server_ctx, NULL, s), 0);
	CU_ASSERT_EQUAL_FATAL(tls_conn_new(client_ctx, host, c), 0);
	handshake(*s, *c, &rs, &rc);
	CU_ASSERT_EQUAL(rs, TLS_OK);
	CU_ASSERT_EQUAL(rc, TLS_OK);
}

static void test_handshake(void)
{
	struct tls_conn *s, *c;

	connect_pair(&s, &c, HOST);
	CU_ASSERT(tls_handshake_done(s));
	CU_ASSERT(tls_handshake_done(c));
	CU_ASSERT_STRING_EQUAL(tls_version(s), "TLSv1.3");
	CU_ASSERT_STRING_EQUAL(tls_version(c), "TLSv1.3");
	CU_ASSERT_STRING_EQUAL(tls_cipher(s), tls_cipher(c));
	CU_ASSERT_STRING_EQUAL(tls_cipher(s), "TLS_AES_256_GCM_SHA384");
	CU_ASSERT_EQUAL(tls_cipher_bits(s), 256);
	tls_conn_free(s);
	tls_conn_free(c);
}

/* Sends LEN pattern bytes from A to B through the bounded buffers. */
static void transfer(struct tls_conn *a, struct tls_conn *b, size_t len)
{
	uint8_t *src = malloc(len), *dst = malloc(len), buf[4096];
	size_t sent = 0, recvd = 0;
	int stalls = 0;

	CU_ASSERT_FATAL(src != NULL && dst != NULL);
	for (size_t i = 0; i < len; i++)
		src[i] = (uint8_t)(i * 7 + i / 251);
	while (recvd < len && stalls < 3) {
		size_t put = 0, got, taken, n;
		enum tls_result r = TLS_OK;
		bool progress = false;

		if (sent < len) {
			r = tls_write_plain(a, src + sent, len - sent, &put);
			CU_ASSERT(r == TLS_OK || r == TLS_WANT_WRITE);
			CU_ASSERT(tls_pending_cipher(a) <=
				  TLS_CIPHER_OUT_MAX + 16384 + 2048);
			sent += put;
		}
		while ((n = tls_drain_cipher(a, buf, sizeof(buf))) > 0) {
			/* B takes what fits; the rest is fed after reading. */
			size_t off = 0;

			while (off < n) {
				CU_ASSERT_EQUAL_FATAL(
					tls_feed_cipher(b, buf + off, n - off,
							&taken), TLS_OK);
				off += taken;
				while (tls_read_plain(b, dst + recvd,
						      len - recvd, &got) ==
					       TLS_OK)
					recvd += got;
			}
			progress = true;
		}
		while (tls_read_plain(b, dst + recvd, len - recvd, &got) ==
		       TLS_OK)
			recvd += got;
		stalls = progress || put > 0 ? 0 : stalls + 1;
	}
	CU_ASSERT_EQUAL(sent, len);
	CU_ASSERT_EQUAL(recvd, len);
	CU_ASSERT(memcmp(src, dst, len) == 0);
	free(src);
	free(dst);
}

static void test_data_both_ways(void)
{
	struct tls_conn *s, *c;

	connect_pair(&s, &c, HOST);
	transfer(c, s, 300000);  /* a message body, many records */
	transfer(s, c, 1);       /* a reply */
	transfer(s, c, 20000);
	transfer(c, s, 5);
	tls_conn_free(s);
	tls_conn_free(c);
}

static void test_write_bound(void)
{
	static uint8_t big[200000];
	struct tls_conn *s, *c;
	size_t put;

	connect_pair(&s, &c, HOST);
	CU_ASSERT_EQUAL(tls_write_plain(c, big, sizeof(big), &put),
			TLS_WANT_WRITE);
	CU_ASSERT(put >= TLS_CIPHER_OUT_MAX - 2 * 16384);
	CU_ASSERT(put < sizeof(big));
	CU_ASSERT(tls_pending_cipher(c) >= TLS_CIPHER_OUT_MAX);
	tls_conn_free(s);
	tls_conn_free(c);
}

static void test_feed_bound(void)
{
	static uint8_t junk[100000];
	struct tls_conn *s;
	size_t taken;

	CU_ASSERT_EQUAL_FATAL(tls_conn_new(server_ctx, NULL, &s), 0);
	CU_ASSERT_EQUAL(tls_feed_cipher(s, junk, sizeof(junk), &taken), TLS_OK);
	CU_ASSERT_EQUAL(taken, TLS_CIPHER_IN_MAX);
	CU_ASSERT_EQUAL(tls_feed_cipher(s, junk, 10, &taken), TLS_OK);
	CU_ASSERT_EQUAL(taken, 0);
	tls_conn_free(s);
}

static void test_close_notify(void)
{
	struct tls_conn *s, *c;
	uint8_t buf[64];
	size_t got, put;

	connect_pair(&s, &c, HOST);
	transfer(c, s, 10);
	CU_ASSERT_EQUAL(tls_close(c), TLS_OK);
	CU_ASSERT(tls_pending_cipher(c) > 0);
	CU_ASSERT_EQUAL(tls_write_plain(c, "x", 1, &put), TLS_ERR_STATE);
	move(c, s);
	CU_ASSERT_EQUAL(tls_read_plain(s, buf, sizeof(buf), &got), TLS_CLOSED);
	CU_ASSERT_EQUAL(got, 0);
	CU_ASSERT_EQUAL(tls_read_plain(s, buf, sizeof(buf), &got), TLS_CLOSED);
	CU_ASSERT_EQUAL(tls_close(s), TLS_OK);
	move(s, c);
	CU_ASSERT_EQUAL(tls_read_plain(c, buf, sizeof(buf), &got), TLS_CLOSED);
	tls_conn_free(s);
	tls_conn_free(c);
}

static void test_not_yet(void)
{
	struct tls_conn *s;
	uint8_t buf[16];
	size_t n;

	CU_ASSERT_EQUAL_FATAL(tls_conn_new(server_ctx, NULL, &s), 0);
	CU_ASSERT_FALSE(tls_handshake_done(s));
	CU_ASSERT_EQUAL(tls_handshake(s), TLS_WANT_READ);
	CU_ASSERT_EQUAL(tls_pending_cipher(s), 0);
	CU_ASSERT_EQUAL(tls_read_plain(s, buf, sizeof(buf), &n), TLS_ERR_STATE);
	CU_ASSERT_EQUAL(tls_write_plain(s, "x", 1, &n), TLS_ERR_STATE);
	CU_ASSERT_EQUAL(tls_close(s), TLS_ERR_STATE);
	tls_conn_free(s);
}

/* A plaintext SMTP command where a ClientHello should be. */
static void test_garbage_handshake(void)
{
	static const char ehlo[] = "EHLO client.example\r\n";
	struct tls_conn *s;
	char why[256];
	size_t taken, n;
	uint8_t buf[64];

	CU_ASSERT_EQUAL_FATAL(tls_conn_new(server_ctx, NULL, &s), 0);
	tls_feed_cipher(s, ehlo, sizeof(ehlo) - 1, &taken);
	CU_ASSERT_EQUAL(tls_handshake(s), TLS_ERR_PROTOCOL);
	CU_ASSERT_FALSE(tls_handshake_done(s));
	CU_ASSERT_EQUAL(tls_handshake(s), TLS_ERR_PROTOCOL);
	CU_ASSERT_EQUAL(tls_feed_cipher(s, ehlo, 4, &taken), TLS_ERR_PROTOCOL);
	CU_ASSERT_EQUAL(taken, 0);
	CU_ASSERT_EQUAL(tls_read_plain(s, buf, sizeof(buf), &n),
			TLS_ERR_PROTOCOL);
	tls_conn_error(s, why, sizeof(why));
	CU_ASSERT(strstr(why, "wrong version number") != NULL ||
		  strstr(why, "http request") != NULL ||
		  strstr(why, "record") != NULL);
	tls_conn_free(s);
}

/* A record with a forged MAC after the handshake. */
static void test_garbage_record(void)
{
	uint8_t rec[5 + 64] = {23, 3, 3, 0, 64}, buf[64];
	struct tls_conn *s, *c;
	size_t taken, got;

	connect_pair(&s, &c, HOST);
	for (size_t i = 5; i < sizeof(rec); i++)
		rec[i] = (uint8_t)(i * 37);
	CU_ASSERT_EQUAL(tls_feed_cipher(s, rec, sizeof(rec), &taken), TLS_OK);
	CU_ASSERT_EQUAL(tls_read_plain(s, buf, sizeof(buf), &got),
			TLS_ERR_PROTOCOL);
	CU_ASSERT(tls_pending_cipher(s) > 0); /* the bad_record_mac alert */
	move(s, c);
	CU_ASSERT_EQUAL(tls_read_plain(c, buf, sizeof(buf), &got),
			TLS_ERR_PROTOCOL);
	tls_conn_free(s);
	tls_conn_free(c);
}

static void test_wrong_host(void)
{
	struct tls_conn *s, *c;
	enum tls_result rs, rc;
	char why[256];

	CU_ASSERT_EQUAL_FATAL(tls_conn_new(server_ctx, NULL, &s), 0);
	CU_ASSERT_EQUAL_FATAL(tls_conn_new(client_ctx, "smtp.other.test", &c), 0);
	handshake(s, c, &rs, &rc);
	CU_ASSERT_EQUAL(rc, TLS_ERR_VERIFY);
	CU_ASSERT_NOT_EQUAL(rs, TLS_OK);
	tls_conn_error(c, why, sizeof(why));
	CU_ASSERT(strstr(why, "hostname mismatch") != NULL);
	tls_conn_free(s);
	tls_conn_free(c);
}

/* A smart host given by address whose certificate carries it. */
static void test_ip_literal_match(void)
{
	char c3[128], k3[128], err[256];
	struct tls_ctx *sx, *cx;
	struct tls_conn *s, *c;
	enum tls_result rs, rc;

	CU_ASSERT_EQUAL_FATAL(tls_testcert_write(dir, "ip", "192.0.2.25", c3, k3,
						 sizeof(c3)), 0);
	CU_ASSERT_EQUAL_FATAL(tls_ctx_server_new(c3, k3, &sx, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL_FATAL(tls_ctx_client_new(c3, &cx, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL_FATAL(tls_conn_new(sx, NULL, &s), 0);
	CU_ASSERT_EQUAL_FATAL(tls_conn_new(cx, "192.0.2.25", &c), 0);
	handshake(s, c, &rs, &rc);
	CU_ASSERT_EQUAL(rs, TLS_OK);
	CU_ASSERT_EQUAL(rc, TLS_OK);
	tls_conn_free(s);
	tls_conn_free(c);
	tls_ctx_free(sx);
	tls_ctx_free(cx);
	unlink(c3);
	unlink(k3);
}

/* A smart host given by address: its certificate names no IP. */
static void test_ip_literal_host(void)
{
	struct tls_conn *s, *c;
	enum tls_result rs, rc;
	char why[256];

	CU_ASSERT_EQUAL_FATAL(tls_conn_new(server_ctx, NULL, &s), 0);
	CU_ASSERT_EQUAL_FATAL(tls_conn_new(client_ctx, "192.0.2.25", &c), 0);
	handshake(s, c, &rs, &rc);
	CU_ASSERT_EQUAL(rc, TLS_ERR_VERIFY);
	tls_conn_error(c, why, sizeof(why));
	CU_ASSERT(strstr(why, "IP address mismatch") != NULL);
	tls_conn_free(s);
	tls_conn_free(c);
}

/* Untrusted: the server presents certificate b, the client trusts a. */
static void test_untrusted_cert(void)
{
	struct tls_ctx *other;
	struct tls_conn *s, *c;
	enum tls_result rs, rc;
	char err[256];

	CU_ASSERT_EQUAL_FATAL(tls_ctx_server_new(cert2, key2, &other, err,
						 sizeof(err)), 0);
	CU_ASSERT_EQUAL_FATAL(tls_conn_new(other, NULL, &s), 0);
	CU_ASSERT_EQUAL_FATAL(tls_conn_new(client_ctx, HOST, &c), 0);
	handshake(s, c, &rs, &rc);
	CU_ASSERT_EQUAL(rc, TLS_ERR_VERIFY);
	tls_conn_free(s);
	tls_conn_free(c);
	tls_ctx_free(other);
}

/* A non-verifying client completes the handshake against a certificate
 * it does not trust and that names another host. */
static void test_noverify(void)
{
	struct tls_ctx *other, *cx;
	struct tls_conn *s, *c;
	enum tls_result rs, rc;
	char err[256];

	CU_ASSERT_EQUAL_FATAL(tls_ctx_server_new(cert2, key2, &other, err,
						 sizeof(err)), 0);
	CU_ASSERT_EQUAL_FATAL(tls_ctx_client_noverify_new(&cx, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL_FATAL(tls_conn_new(other, NULL, &s), 0);
	CU_ASSERT_EQUAL_FATAL(tls_conn_new(cx, "smtp.other.test", &c), 0);
	handshake(s, c, &rs, &rc);
	CU_ASSERT_EQUAL(rs, TLS_OK);
	CU_ASSERT_EQUAL(rc, TLS_OK);
	CU_ASSERT_STRING_EQUAL(tls_version(c), tls_version(s));
	tls_conn_free(s);
	tls_conn_free(c);
	tls_ctx_free(other);
	tls_ctx_free(cx);
}

/* A plain OpenSSL client limited to MAX_VERSION, over memory BIOs. */
struct raw_client {
	SSL_CTX *ctx;
	SSL *ssl;
	BIO *in, *out;
};

static void raw_client_new(struct raw_client *r, int max_version)
{
	r->ctx = SSL_CTX_new(TLS_client_method());
	CU_ASSERT_FATAL(r->ctx != NULL);
	SSL_CTX_set_security_level(r->ctx, 0); /* TLS 1.1 needs level 0 */
	SSL_CTX_set_min_proto_version(r->ctx, TLS1_VERSION);
	SSL_CTX_set_max_proto_version(r->ctx, max_version);
	SSL_CTX_set_cipher_list(r->ctx, "ALL:@SECLEVEL=0");
	r->ssl = SSL_new(r->ctx);
	r->in = BIO_new(BIO_s_mem());
	r->out = BIO_new(BIO_s_mem());
	BIO_set_mem_eof_return(r->in, -1);
	SSL_set_bio(r->ssl, r->in, r->out);
	SSL_set_connect_state(r->ssl);
}

static void raw_client_free(struct raw_client *r)
{
	SSL_free(r->ssl);
	SSL_CTX_free(r->ctx);
}

/* Handshakes R with server connection S; returns the server's result. */
static enum tls_result raw_handshake(struct raw_client *r, struct tls_conn *s,
				     int *client_ret)
{
	enum tls_result rs = TLS_WANT_READ;
	uint8_t buf[4096];

	for (int round = 0; round < 10; round++) {
		size_t n, taken;
		int k;

		*client_ret = SSL_do_handshake(r->ssl);
		while ((k = BIO_read(r->out, buf, sizeof(buf))) > 0)
			tls_feed_cipher(s, buf, (size_t)k, &taken);
		rs = tls_handshake(s);
		while ((n = tls_drain_cipher(s, buf, sizeof(buf))) > 0)
			BIO_write(r->in, buf, (int)n);
		if (rs != TLS_WANT_READ && *client_ret == 1)
			break;
		if (rs != TLS_WANT_READ && rs != TLS_OK)
			break;
	}
	*client_ret = SSL_do_handshake(r->ssl);
	return rs;
}

static void test_tls11_refused(void)
{
	struct raw_client r;
	struct tls_conn *s;
	char why[256];
	int cret;

	raw_client_new(&r, TLS1_1_VERSION);
	CU_ASSERT_EQUAL_FATAL(tls_conn_new(server_ctx, NULL, &s), 0);
	CU_ASSERT_EQUAL(raw_handshake(&r, s, &cret), TLS_ERR_PROTOCOL);
	CU_ASSERT_NOT_EQUAL(cret, 1);
	tls_conn_error(s, why, sizeof(why));
	CU_ASSERT(strstr(why, "unsupported protocol") != NULL);
	CU_ASSERT_FALSE(tls_handshake_done(s));
	tls_conn_free(s);
	raw_client_free(&r);
}

static void test_tls12_negotiated(void)
{
	struct raw_client r;
	struct tls_conn *s;
	int cret;

	raw_client_new(&r, TLS1_2_VERSION);
	CU_ASSERT_EQUAL_FATAL(tls_conn_new(server_ctx, NULL, &s), 0);
	CU_ASSERT_EQUAL(raw_handshake(&r, s, &cret), TLS_OK);
	CU_ASSERT_EQUAL(cret, 1);
	CU_ASSERT_STRING_EQUAL(tls_version(s), "TLSv1.2");
	CU_ASSERT_STRING_EQUAL(tls_cipher(s), "ECDHE-ECDSA-AES256-GCM-SHA384");
	tls_conn_free(s);
	raw_client_free(&r);
}

static void test_ctx_errors(void)
{
	struct tls_ctx *x = NULL;
	struct tls_conn *c;
	char err[512];

	CU_ASSERT_EQUAL(tls_ctx_server_new("/nonexistent/cert.pem", key, &x,
					   err, sizeof(err)), -EINVAL);
	CU_ASSERT(strstr(err, "/nonexistent/cert.pem: certificate chain: ") == err);
	CU_ASSERT_EQUAL(tls_ctx_server_new(cert, "/nonexistent/key.pem", &x,
					   err, sizeof(err)), -EINVAL);
	CU_ASSERT(strstr(err, "/nonexistent/key.pem: private key: ") == err);
	CU_ASSERT_EQUAL(tls_ctx_server_new(cert, key2, &x, err, sizeof(err)),
			-EINVAL);
	CU_ASSERT(strstr(err, ": private key: ") != NULL);
	CU_ASSERT(strstr(err, "key values mismatch") != NULL);
	CU_ASSERT_EQUAL(tls_ctx_client_new("/nonexistent/ca.pem", &x, err,
					   sizeof(err)), -EINVAL);
	CU_ASSERT(strstr(err, "/nonexistent/ca.pem: CA certificates: ") == err);
	CU_ASSERT_EQUAL(tls_conn_new(server_ctx, HOST, &c), -EINVAL);
	CU_ASSERT_EQUAL(tls_conn_new(client_ctx, NULL, &c), -EINVAL);
	CU_ASSERT_STRING_EQUAL(tls_result_name(TLS_ERR_VERIFY),
			       "certificate verification failed");
}

void test_tls_register(void)
{
	CU_pSuite s = CU_add_suite("tls", tls_init, tls_fini);

	CU_add_test(s, "handshake", test_handshake);
	CU_add_test(s, "data both ways", test_data_both_ways);
	CU_add_test(s, "write bound", test_write_bound);
	CU_add_test(s, "feed bound", test_feed_bound);
	CU_add_test(s, "close_notify", test_close_notify);
	CU_add_test(s, "before the handshake", test_not_yet);
	CU_add_test(s, "garbage instead of a handshake", test_garbage_handshake);
	CU_add_test(s, "garbage record", test_garbage_record);
	CU_add_test(s, "wrong host name", test_wrong_host);
	CU_add_test(s, "ip literal host", test_ip_literal_host);
	CU_add_test(s, "ip literal host matches", test_ip_literal_match);
	CU_add_test(s, "untrusted certificate", test_untrusted_cert);
	CU_add_test(s, "non-verifying client", test_noverify);
	CU_add_test(s, "tls 1.1 client refused", test_tls11_refused);
	CU_add_test(s, "tls 1.2 client", test_tls12_negotiated);
	CU_add_test(s, "context errors", test_ctx_errors);
}
