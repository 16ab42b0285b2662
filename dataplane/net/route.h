/*
 * route: the routing decision for packets we originate — the interface
 * whose connected network holds the destination (longest prefix first),
 * else the first interface with a default gateway, via that gateway.
 */
#ifndef SLUICE_DATAPLANE_NET_ROUTE_H
#define SLUICE_DATAPLANE_NET_ROUTE_H

#include <stdint.h>

struct net_ctx;

/* For destination DST (host order): the interface and next hop.
 * Returns 0, or -ENETUNREACH. */
int route_lookup(const struct net_ctx *ctx, uint32_t dst, unsigned *iface,
		 uint32_t *nexthop);

#endif
