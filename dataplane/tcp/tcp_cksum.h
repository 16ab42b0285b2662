/*
 * tcp_cksum: the TCP checksum (RFC 9293 §3.1) in software, for ports
 * without L4 checksum offload (af_packet, memif): the one's complement
 * sum of the IPv4 pseudo header and the segment.
 */
#ifndef SLUICE_DATAPLANE_TCP_TCP_CKSUM_H
#define SLUICE_DATAPLANE_TCP_TCP_CKSUM_H

#include <stdint.h>

#include <rte_ip.h>

/* The folded (not complemented) sum over IP's pseudo header and the LEN
 * octets of segment TH: 0xffff when a received segment is intact. */
uint16_t tcp_cksum_sum(const struct rte_ipv4_hdr *ip, const void *th, uint32_t len);

/* The value for the checksum field of an outgoing segment (the field
 * zero while it is summed). */
uint16_t tcp_cksum_out(const struct rte_ipv4_hdr *ip, const void *th, uint32_t len);

#endif
