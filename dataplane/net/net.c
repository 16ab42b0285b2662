/*
 * net: the per-worker network context and the Ethernet layer — see net.h.
 */
#include <errno.h>
#include <string.h>

#include <rte_byteorder.h>

#include "dataplane/net/ipv4.h"
#include "dataplane/net/net.h"

int net_init(struct net_ctx *ctx, const struct conf *conf,
	     struct worker_stats *stats, struct rte_mempool *pool)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->nb_ifaces = conf->nb_ports;
	for (unsigned i = 0; i < conf->nb_ports; i++) {
		const struct conf_port *p = &conf->ports[i];
		struct net_iface *ifp = &ctx->iface[i];

		ifp->addr = p->addr;
		ifp->mask = p->prefix == 0 ? 0 : UINT32_MAX << (32 - p->prefix);
		ifp->gateway = p->gateway;
	}
	ctx->stats = stats;
	ctx->pool = pool;
	return arp_init(&ctx->arp, conf);
}

void net_fini(struct net_ctx *ctx)
{
	arp_fini(&ctx->arp);
}

void net_drop(struct net_ctx *ctx, unsigned iface, struct rte_mbuf *m,
	      enum stats_drop why)
{
	STATS_ADD(ctx->stats->port[iface].drops[why], 1);
	rte_pktmbuf_free(m);
}

void net_input(struct net_ctx *ctx, unsigned iface, struct rte_mbuf *m,
	       uint64_t now)
{
	const struct rte_ether_hdr *eh;
	struct stats_port *st = &ctx->stats->port[iface];

	STATS_ADD(st->rx_pkts, 1);
	STATS_ADD(st->rx_bytes, rte_pktmbuf_pkt_len(m));
	if (rte_pktmbuf_data_len(m) < sizeof(*eh))
		return net_drop(ctx, iface, m, DROP_ETH_RUNT);
	eh = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	if (!rte_is_broadcast_ether_addr(&eh->dst_addr) &&
	    !rte_is_same_ether_addr(&eh->dst_addr, &ctx->iface[iface].mac))
		return net_drop(ctx, iface, m, DROP_ETH_NOT_US);
	switch (rte_be_to_cpu_16(eh->ether_type)) {
	case RTE_ETHER_TYPE_ARP:
		return arp_input(ctx, iface, m, now);
	case RTE_ETHER_TYPE_IPV4:
		rte_pktmbuf_adj(m, sizeof(*eh));
		return ipv4_input(ctx, iface, m, now);
	default:
		return net_drop(ctx, iface, m, DROP_ETH_TYPE);
	}
}

int net_eth_output(struct net_ctx *ctx, unsigned iface, struct rte_mbuf *m,
		   const struct rte_ether_addr *dst, uint16_t type)
{
	struct rte_ether_hdr *eh;

	eh = (struct rte_ether_hdr *)rte_pktmbuf_prepend(m, sizeof(*eh));
	if (eh == NULL) {
		net_drop(ctx, iface, m, DROP_NO_MBUF);
		return -ENOBUFS;
	}
	rte_ether_addr_copy(dst, &eh->dst_addr);
	rte_ether_addr_copy(&ctx->iface[iface].mac, &eh->src_addr);
	eh->ether_type = rte_cpu_to_be_16(type);
	m->l2_len = sizeof(*eh);
	ctx->tx(ctx, iface, m);
	return 0;
}

void net_timer(struct net_ctx *ctx, uint64_t now)
{
	arp_timer(ctx, now);
}
