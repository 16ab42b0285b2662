/*
 * icmp: ICMP input — echo requests to our addresses are answered in place
 * (RFC 792); every other message is validated, counted and dropped.
 */
#ifndef SLUICE_DATAPLANE_NET_ICMP_H
#define SLUICE_DATAPLANE_NET_ICMP_H

#include <stdint.h>

#include <rte_mbuf.h>

struct net_ctx;

/* M's data starts at the IPv4 header; HLEN is that header's length. */
void icmp_input(struct net_ctx *ctx, unsigned iface, struct rte_mbuf *m,
		uint16_t hlen, uint64_t now);

#endif
