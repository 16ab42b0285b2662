/*
 * tcp_cksum: the TCP checksum in software.  DPDK's rte_raw_cksum() adds
 * 16-bit words one at a time; this adds 64-bit words with end-around carry
 * (RFC 1071 §2: the sum is independent of byte order and of the width of
 * the words added, folded at the end), about four times fewer
 * instructions on a full segment.
 */
#include <string.h>

#include "dataplane/tcp/tcp_cksum.h"

static uint64_t add64(uint64_t sum, uint64_t v)
{
	sum += v;
	return sum + (sum < v); /* the end-around carry */
}

static uint16_t fold(uint64_t sum)
{
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* The one's complement sum of P[0..N) in native byte order, folded. */
static uint16_t raw_sum(const uint8_t *p, size_t n)
{
	uint64_t sum = 0, v;

	for (; n >= 32; p += 32, n -= 32) {
		uint64_t w[4];

		memcpy(w, p, sizeof(w));
		sum = add64(sum, w[0]);
		sum = add64(sum, w[1]);
		sum = add64(sum, w[2]);
		sum = add64(sum, w[3]);
	}
	for (; n >= 8; p += 8, n -= 8) {
		memcpy(&v, p, sizeof(v));
		sum = add64(sum, v);
	}
	v = 0;
	memcpy(&v, p, n); /* the tail, zero-padded: as if more zero octets */
	return fold(add64(sum, v));
}

uint16_t tcp_cksum_sum(const struct rte_ipv4_hdr *ip, const void *th, uint32_t len)
{
	uint64_t sum = (uint64_t)rte_ipv4_phdr_cksum(ip, 0) + raw_sum(th, len);

	return fold(sum);
}

uint16_t tcp_cksum_out(const struct rte_ipv4_hdr *ip, const void *th, uint32_t len)
{
	uint16_t c = (uint16_t)~tcp_cksum_sum(ip, th, len);

	return c == 0 ? 0xffff : c; /* as rte_ipv4_udptcp_cksum() */
}
