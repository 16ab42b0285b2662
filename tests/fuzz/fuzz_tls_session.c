/*
 * fuzz_tls_session: libFuzzer target for an established TLS session.  A
 * client and a server tls_conn complete a real handshake in memory; then
 * the input is a script of operations on them: write plaintext (taken from
 * the input) on either side, carry some ciphertext across in either
 * direction in pieces of any size, read on either side, flip a byte of
 * ciphertext in flight, or close either side.
 *
 * Checks: every result is a known one; while no byte was flipped, no call
 * fails with a protocol error and each side reads exactly a prefix of what
 * the other wrote, in order.  A flipped byte may fail the session, but
 * only as TLS_ERR_PROTOCOL.
 *
 * Script: one byte per operation (op = byte % 8, arg = byte / 8).  A
 * write's length comes from arg: 0..15 bytes, or (arg - 15) * 4 KiB so
 * that the buffer bounds are reached; its bytes are a counter pattern.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/tls/tls.h"
#include "tests/fuzz/fuzz_tls_fixture.h"

/* Plaintext each side may write in one run. */
#define SENT_MAX (1u << 20)

static struct tls_ctx *sctx, *cctx;

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const struct fuzz_tls *fx = fuzz_tls_fixture();

	(void)argc;
	(void)argv;
	sctx = fx->server;
	cctx = fx->client;
	return 0;
}

/* One direction: the sender, the receiver, ciphertext drained from the
 * sender but not yet taken by the receiver, and the plaintext stream. */
struct dir {
	struct tls_conn *from, *to;
	uint8_t wire[TLS_CIPHER_OUT_MAX + 32768];
	size_t wire_len;
	uint8_t *sent, *got; /* plaintext written by FROM, read by TO */
	size_t nsent, ngot;
};

struct session {
	struct dir d[2]; /* 0: client to server, 1: server to client */
	bool flipped;
};

static void check(const struct session *s, enum tls_result r)
{
	if ((unsigned)r > TLS_ERR_NOMEM || r == TLS_ERR_VERIFY ||
	    r == TLS_ERR_NOMEM)
		abort();
	if (r == TLS_ERR_PROTOCOL && !s->flipped)
		abort();
}

/* Moves up to MAX ciphertext bytes of direction D onto its receiver. */
static void carry(struct session *s, struct dir *d, size_t max)
{
	size_t room = sizeof(d->wire) - d->wire_len, taken;
	enum tls_result r;

	d->wire_len += tls_drain_cipher(d->from, d->wire + d->wire_len, room);
	if (max > d->wire_len)
		max = d->wire_len;
	r = tls_feed_cipher(d->to, d->wire, max, &taken);
	check(s, r);
	if (taken > max)
		abort();
	memmove(d->wire, d->wire + taken, d->wire_len - taken);
	d->wire_len -= taken;
}

static void read_side(struct session *s, struct dir *d, size_t cap)
{
	enum tls_result r;
	size_t got;

	if (cap > d->nsent)
		cap = d->nsent;
	while (d->ngot < cap) {
		r = tls_read_plain(d->to, d->got + d->ngot, cap - d->ngot, &got);
		check(s, r);
		d->ngot += got;
		if (d->ngot > d->nsent)
			abort();
		if (r != TLS_OK)
			break;
	}
	if (!s->flipped && memcmp(d->got, d->sent, d->ngot) != 0)
		abort();
}

static void write_side(struct session *s, struct dir *d, size_t n)
{
	uint8_t *p = d->sent + d->nsent;
	enum tls_result r;
	size_t put;

	if (n > SENT_MAX - d->nsent)
		return;
	for (size_t k = 0; k < n; k++)
		p[k] = (uint8_t)((d->nsent + k) * 131 + (d->nsent + k) / 509);
	r = tls_write_plain(d->from, p, n, &put);

	check(s, r);
	if (put > n || (r == TLS_OK && put != n))
		abort();
	d->nsent += put;
}

static bool handshake(struct session *s)
{
	for (int round = 0; round < 8; round++) {
		tls_handshake(s->d[0].from);
		carry(s, &s->d[0], SIZE_MAX);
		tls_handshake(s->d[1].from);
		carry(s, &s->d[1], SIZE_MAX);
		if (tls_handshake_done(s->d[0].from) &&
		    tls_handshake_done(s->d[1].from))
			return true;
	}
	return false;
}

static void run(struct session *s, const uint8_t *data, size_t size)
{
	for (size_t i = 0; i < size; i++) {
		unsigned op = data[i] % 8, arg = data[i] / 8;
		struct dir *d = &s->d[arg & 1];
		size_t n;

		switch (op) {
		case 0: /* write plaintext */
		case 1:
			n = arg < 16 ? arg : (size_t)(arg - 15) * 4096;
			write_side(s, &s->d[op], n);
			break;
		case 2: /* carry a piece of ciphertext */
			carry(s, d, (size_t)(arg >> 1) * 97 + 1);
			break;
		case 3:
			carry(s, d, SIZE_MAX);
			break;
		case 4: /* read what has arrived */
			read_side(s, d, SENT_MAX);
			break;
		case 7: /* read one byte at most */
			read_side(s, d, d->ngot + 1);
			break;
		case 5: /* flip a byte in flight */
			if (d->wire_len > 0) {
				d->wire[(arg >> 1) % d->wire_len] ^= 0x20;
				s->flipped = true;
			}
			break;
		case 6:
			check(s, tls_close(d->from));
			break;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct session *s = calloc(1, sizeof(*s));
	struct tls_conn *c = NULL, *v = NULL;

	if (s == NULL || tls_conn_new(cctx, "mx.test", &c) != 0 ||
	    tls_conn_new(sctx, NULL, &v) != 0)
		abort();
	s->d[0] = (struct dir){.from = c, .to = v};
	s->d[1] = (struct dir){.from = v, .to = c};
	for (int k = 0; k < 2; k++) {
		s->d[k].sent = malloc(SENT_MAX);
		s->d[k].got = malloc(SENT_MAX);
		if (s->d[k].sent == NULL || s->d[k].got == NULL)
			abort();
	}
	if (!handshake(s))
		abort();
	run(s, data, size);
	for (int k = 0; k < 2; k++) {
		free(s->d[k].sent);
		free(s->d[k].got);
	}
	tls_conn_free(c);
	tls_conn_free(v);
	free(s);
	return 0;
}
