/*
 * tcp_isn: initial sequence numbers (RFC 6528: a 4 µs clock plus a keyed
 * hash of the connection's addresses and ports) and SYN cookies (RFC 4987:
 * the ISN of a SYN-ACK that encodes the MSS class and a time counter, so a
 * listener under a SYN flood keeps no state until the ACK comes back).
 * The key is per process, drawn from the kernel's random source at start.
 */
#ifndef SLUICE_DATAPLANE_TCP_TCP_ISN_H
#define SLUICE_DATAPLANE_TCP_TCP_ISN_H

#include <stdint.h>

#include <openssl/types.h>

/* The secret and a SipHash-2-4 context keyed with it (OpenSSL EVP_MAC,
 * 64-bit output), set up once and re-initialised for every hash.  The
 * context is used by every call, so a key must not be shared between
 * threads: give each worker its own with tcp_isn_key_set(worker, main.k). */
struct tcp_isn_key {
	uint8_t k[16];
	EVP_MAC_CTX *mac;
};

/* Fill KEY from getrandom(); returns 0 or -errno. */
int tcp_isn_key_init(struct tcp_isn_key *key);
/* Set up KEY with the secret K (another key's k, or a fixed one in tests);
 * returns 0 or -errno. */
int tcp_isn_key_set(struct tcp_isn_key *key, const uint8_t k[16]);
/* Release what init/set allocated and wipe the secret. */
void tcp_isn_key_free(struct tcp_isn_key *key);

/* ISN for the 4-tuple (host order) at NOW (µs). */
uint32_t tcp_isn(const struct tcp_isn_key *key, uint32_t laddr, uint16_t lport,
		 uint32_t raddr, uint16_t rport, uint64_t now);

/* A SYN cookie for a SYN carrying ISN peer_isn and MSS; the MSS is rounded
 * down to one of a few classes (the one encoded). */
uint32_t tcp_cookie_make(const struct tcp_isn_key *key, uint32_t laddr,
			 uint16_t lport, uint32_t raddr, uint16_t rport,
			 uint32_t peer_isn, uint16_t mss, uint64_t now);

/* Check the cookie COOKIE (= the ACK's ack number - 1) of a returning ACK
 * whose sequence number is peer_isn + 1.  Valid for two minutes (counter
 * steps of 64 s, the current and the previous one accepted).  Returns the
 * encoded MSS, or 0 when invalid. */
uint16_t tcp_cookie_check(const struct tcp_isn_key *key, uint32_t laddr,
			  uint16_t lport, uint32_t raddr, uint16_t rport,
			  uint32_t peer_isn, uint32_t cookie, uint64_t now);

#endif
