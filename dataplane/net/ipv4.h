/*
 * ipv4: IPv4 input validation and local delivery, and the output path that
 * fills the header checksum, routes and hands the packet to ARP.  Strong
 * host model: a packet is ours only when it is addressed to the interface it
 * arrived on.  Fragments are dropped and counted (no reassembly yet).
 */
#ifndef SLUICE_DATAPLANE_NET_IPV4_H
#define SLUICE_DATAPLANE_NET_IPV4_H

#include <stdint.h>

#include <rte_mbuf.h>

struct net_ctx;

/* M's data starts at the IPv4 header (Ethernet already stripped). */
void ipv4_input(struct net_ctx *ctx, unsigned iface, struct rte_mbuf *m,
		uint64_t now);

/* Send M, whose data starts at a complete IPv4 header (checksum left to
 * this function).  Consumes M; drops it (counted) when there is no route. */
void ipv4_output(struct net_ctx *ctx, struct rte_mbuf *m, uint64_t now);

#endif
