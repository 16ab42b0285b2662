/*
 * tcp_isn: initial sequence numbers and SYN cookies.  The ISN is RFC 6528's
 * M + F(localip, localport, remoteip, remoteport, secretkey), M a 4 µs
 * clock and F SipHash-2-4 (OpenSSL's EVP_MAC "SIPHASH", 64-bit output).
 * A SYN cookie (RFC 4987 §3.6, the classic layout) is
 *   bits 31..27  t, a counter of 64 s periods, mod 32
 *   bits 26..24  the index of the peer's MSS class in mss_class[]
 *   bits 23..0   F(tuple, t, the peer's ISN), truncated
 * and is accepted while t is the current or the previous period.
 */
#include "dataplane/tcp/tcp_isn.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#define ISN_TICK_US      4ull
#define COOKIE_PERIOD_US 64000000ull
#define COOKIE_T_MASK    31u
#define COOKIE_T_SHIFT   27
#define COOKIE_MSS_SHIFT 24
#define COOKIE_MSS_MASK  7u
#define COOKIE_HASH_MASK 0xffffffu

/* Domain tags, so an ISN hash can never stand in for a cookie hash. */
#define TAG_ISN    'I'
#define TAG_COOKIE 'C'

/* Common MSS values (IPv4 over Ethernet, PPPoE, tunnels, the minimum). */
static const uint16_t mss_class[COOKIE_MSS_MASK + 1] = {
	536, 1200, 1300, 1380, 1420, 1440, 1452, 1460,
};

struct hash_in {
	uint8_t b[32];
	size_t len;
};

static void in_put(struct hash_in *in, uint32_t v, unsigned bytes)
{
	while (bytes--)
		in->b[in->len++] = (uint8_t)(v >> (8 * bytes));
}

static void in_tuple(struct hash_in *in, uint8_t tag, uint32_t laddr,
		     uint16_t lport, uint32_t raddr, uint16_t rport)
{
	in->len = 0;
	in_put(in, tag, 1);
	in_put(in, laddr, 4);
	in_put(in, lport, 2);
	in_put(in, raddr, 4);
	in_put(in, rport, 2);
}

int tcp_isn_key_set(struct tcp_isn_key *key, const uint8_t k[16])
{
	size_t size = 8;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size),
		OSSL_PARAM_construct_end(),
	};
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "SIPHASH", NULL);

	key->mac = NULL;
	if (mac == NULL)
		return -EOPNOTSUPP;
	memmove(key->k, k, sizeof(key->k));
	key->mac = EVP_MAC_CTX_new(mac);        /* holds its own reference */
	EVP_MAC_free(mac);
	if (key->mac == NULL)
		return -ENOMEM;
	if (EVP_MAC_init(key->mac, key->k, sizeof(key->k), params) != 1 ||
	    EVP_MAC_CTX_get_mac_size(key->mac) != size) {
		tcp_isn_key_free(key);
		return -EINVAL;
	}
	return 0;
}

int tcp_isn_key_init(struct tcp_isn_key *key)
{
	uint8_t k[sizeof(key->k)];
	ssize_t n = getrandom(k, sizeof(k), 0);
	int rc;

	key->mac = NULL;
	if (n < 0)
		return -errno;
	if ((size_t)n != sizeof(k))
		return -EIO;
	rc = tcp_isn_key_set(key, k);
	OPENSSL_cleanse(k, sizeof(k));
	return rc;
}

void tcp_isn_key_free(struct tcp_isn_key *key)
{
	EVP_MAC_CTX_free(key->mac);
	key->mac = NULL;
	OPENSSL_cleanse(key->k, sizeof(key->k));
}

/* SipHash-2-4 of IN under KEY; the context is reset, not reallocated. */
static int keyed_hash(const struct tcp_isn_key *key, const struct hash_in *in,
		      uint64_t *out)
{
	uint8_t h[8];
	size_t hlen = 0;
	uint64_t v = 0;

	if (EVP_MAC_init(key->mac, NULL, 0, NULL) != 1 ||
	    EVP_MAC_update(key->mac, in->b, in->len) != 1 ||
	    EVP_MAC_final(key->mac, h, &hlen, sizeof(h)) != 1 ||
	    hlen != sizeof(h))
		return -EIO;
	for (unsigned i = sizeof(h); i--;)
		v = (v << 8) | h[i];            /* SipHash output is little-endian */
	*out = v;
	return 0;
}

/* A failing hash (it cannot fail once the key is set up) leaves the clock. */
uint32_t tcp_isn(const struct tcp_isn_key *key, uint32_t laddr, uint16_t lport,
		 uint32_t raddr, uint16_t rport, uint64_t now)
{
	struct hash_in in;
	uint64_t f = 0;

	in_tuple(&in, TAG_ISN, laddr, lport, raddr, rport);
	if (keyed_hash(key, &in, &f) < 0)
		f = 0;
	return (uint32_t)(now / ISN_TICK_US) + (uint32_t)f;
}

static uint32_t cookie_counter(uint64_t now)
{
	return (uint32_t)(now / COOKIE_PERIOD_US) & COOKIE_T_MASK;
}

/* The largest class <= MSS, or the smallest when none is. */
static uint32_t mss_index(uint16_t mss)
{
	uint32_t i = COOKIE_MSS_MASK;

	while (i > 0 && mss_class[i] > mss)
		i--;
	return i;
}

static int cookie_hash(const struct tcp_isn_key *key, uint32_t laddr,
		       uint16_t lport, uint32_t raddr, uint16_t rport,
		       uint32_t t, uint32_t peer_isn, uint32_t *out)
{
	struct hash_in in;
	uint64_t h;
	int rc;

	in_tuple(&in, TAG_COOKIE, laddr, lport, raddr, rport);
	in_put(&in, t, 1);
	in_put(&in, peer_isn, 4);
	rc = keyed_hash(key, &in, &h);
	*out = (uint32_t)h & COOKIE_HASH_MASK;
	return rc;
}

uint32_t tcp_cookie_make(const struct tcp_isn_key *key, uint32_t laddr,
			 uint16_t lport, uint32_t raddr, uint16_t rport,
			 uint32_t peer_isn, uint16_t mss, uint64_t now)
{
	uint32_t t = cookie_counter(now);
	uint32_t h = 0;

	/* On a (theoretical) hash failure h is 0; the check fails closed. */
	(void)cookie_hash(key, laddr, lport, raddr, rport, t, peer_isn, &h);
	return (t << COOKIE_T_SHIFT) | (mss_index(mss) << COOKIE_MSS_SHIFT) | h;
}

uint16_t tcp_cookie_check(const struct tcp_isn_key *key, uint32_t laddr,
			  uint16_t lport, uint32_t raddr, uint16_t rport,
			  uint32_t peer_isn, uint32_t cookie, uint64_t now)
{
	uint32_t t = cookie >> COOKIE_T_SHIFT;
	uint32_t cur = cookie_counter(now);
	uint32_t h;

	if (t != cur && t != ((cur - 1) & COOKIE_T_MASK))
		return 0;
	if (cookie_hash(key, laddr, lport, raddr, rport, t, peer_isn, &h) < 0)
		return 0;
	if (h != (cookie & COOKIE_HASH_MASK))
		return 0;
	return mss_class[(cookie >> COOKIE_MSS_SHIFT) & COOKIE_MSS_MASK];
}
