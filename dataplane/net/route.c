/*
 * route: the routing decision — see route.h.  A handful of interfaces, so a
 * linear scan; replaced by rte_lpm when static routes arrive.
 */
#include <errno.h>

#include "dataplane/net/net.h"
#include "dataplane/net/route.h"

int route_lookup(const struct net_ctx *ctx, uint32_t dst, unsigned *iface,
		 uint32_t *nexthop)
{
	int best = -1;

	for (unsigned i = 0; i < ctx->nb_ifaces; i++) {
		const struct net_iface *ifp = &ctx->iface[i];

		if ((dst & ifp->mask) == (ifp->addr & ifp->mask) &&
		    (best < 0 || ifp->mask > ctx->iface[best].mask))
			best = (int)i;
	}
	if (best >= 0) {
		*iface = (unsigned)best;
		*nexthop = dst;
		return 0;
	}
	for (unsigned i = 0; i < ctx->nb_ifaces; i++) {
		if (ctx->iface[i].gateway != 0) {
			*iface = i;
			*nexthop = ctx->iface[i].gateway;
			return 0;
		}
	}
	return -ENETUNREACH;
}
