/*
 * fuzz_tls_server: libFuzzer target for a server tls_conn fed arbitrary
 * ciphertext.  The record parsing is OpenSSL's; what is under test is our
 * state handling around it: feeding in pieces against the input bound,
 * handshake steps, reads, echoing writes and close in whatever state the
 * bytes lead to, and draining the output, with every result a known one.
 *
 * The first input byte picks the piece size (1..256 bytes); the rest is
 * ciphertext.  The certificate is fuzz_tls_fixture's.
 */
#include <stdint.h>
#include <stdlib.h>

#include "dataplane/tls/tls.h"
#include "tests/fuzz/fuzz_tls_fixture.h"

static struct tls_ctx *ctx;

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	ctx = fuzz_tls_fixture()->server;
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
