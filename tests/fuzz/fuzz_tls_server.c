/*
 * fuzz_tls_server: libFuzzer target for a server tls_conn fed arbitrary
 * ciphertext.  The record parsing is OpenSSL's; what is under test is our
 * state handling around it: feeding in pieces against the input bound,
 * handshake steps, reads, echoing writes and close in whatever state the
 * bytes lead to, and draining the output, with every result a known one.
 *
 * The first input byte picks the piece size (1..256 bytes); the rest is
 * ciphertext.  LLVMFuzzerInitialize makes a throwaway self-signed
 * certificate in a temporary directory, removed at exit.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "dataplane/tls/tls.h"
#include "tests/unit/tls_testcert.h"

static struct tls_ctx *ctx;
static char dir[64], cert[128], key[128];

static void cleanup(void)
{
	tls_ctx_free(ctx);
	unlink(cert);
	unlink(key);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[256];

	(void)argc;
	(void)argv;
	snprintf(dir, sizeof(dir), "/tmp/sluice-fuzz-tls-XXXXXX");
	if (mkdtemp(dir) == NULL ||
	    tls_testcert_write(dir, "server", "mx.test", cert, key,
			       sizeof(cert)) != 0 ||
	    tls_ctx_server_new(cert, key, &ctx, err, sizeof(err)) != 0)
		abort();
	atexit(cleanup);
	return 0;
}

static void check(enum tls_result r)
{
	if ((unsigned)r > TLS_ERR_NOMEM)
		abort();
}

static void drain(struct tls_conn *c)
{
	uint8_t out[4096];

	while (tls_pending_cipher(c) > 0)
		if (tls_drain_cipher(c, out, sizeof(out)) == 0)
			abort();
}

/* After the handshake: read what there is and echo it back. */
static enum tls_result serve(struct tls_conn *c)
{
	uint8_t plain[1024];
	size_t got, put;
	enum tls_result r;

	while ((r = tls_read_plain(c, plain, sizeof(plain), &got)) == TLS_OK) {
		if (got == 0 || got > sizeof(plain))
			abort();
		check(tls_write_plain(c, plain, got, &put));
		drain(c);
	}
	check(r);
	if (r == TLS_CLOSED)
		check(tls_close(c));
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tls_conn *c;
	size_t piece, off = 1;

	if (size == 0 || tls_conn_new(ctx, NULL, &c) != 0)
		return 0;
	piece = (size_t)data[0] + 1;
	while (off < size) {
		size_t n = size - off < piece ? size - off : piece, taken;
		enum tls_result r = tls_feed_cipher(c, data + off, n, &taken);

		check(r);
		if (taken > n)
			abort();
		off += taken;
		r = tls_handshake(c);
		check(r);
		if (r == TLS_OK)
			r = serve(c);
		drain(c);
		if (r != TLS_OK && r != TLS_WANT_READ && r != TLS_WANT_WRITE)
			break;
		if (taken == 0 && r == TLS_WANT_READ)
			break; /* input bound reached with no record complete */
	}
	tls_conn_free(c);
	return 0;
}
