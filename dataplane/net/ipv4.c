/*
 * ipv4: IPv4 input and output — see ipv4.h.
 */
#include <rte_byteorder.h>
#include <rte_ip.h>

#include "dataplane/net/arp.h"
#include "dataplane/net/icmp.h"
#include "dataplane/net/ipv4.h"
#include "dataplane/net/net.h"
#include "dataplane/net/route.h"

#define IPV4_FRAG_MASK (RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)

/* Sources no real neighbour sends from (RFC 1122 §3.2.1.3). */
static bool bad_source(const struct net_iface *ifp, uint32_t src)
{
	uint8_t top = (uint8_t)(src >> 24);

	return src == 0 || top == 127 || top >= 224 || src == ifp->addr ||
	       (src | ifp->mask) == UINT32_MAX;
}

static bool header_cksum_ok(const struct net_iface *ifp,
			    const struct rte_mbuf *m,
			    const struct rte_ipv4_hdr *ip, uint16_t hlen)
{
	uint64_t f = m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;

	if (ifp->rx_ip_cksum && f == RTE_MBUF_F_RX_IP_CKSUM_GOOD)
		return true;
	if (ifp->rx_ip_cksum && f == RTE_MBUF_F_RX_IP_CKSUM_BAD)
		return false;
	return rte_raw_cksum(ip, hlen) == 0xffff;
}

void ipv4_input(struct net_ctx *ctx, unsigned iface, struct rte_mbuf *m,
		uint64_t now)
{
	const struct net_iface *ifp = &ctx->iface[iface];
	const struct rte_ipv4_hdr *ip;
	uint16_t hlen, tot;

	if (rte_pktmbuf_data_len(m) < sizeof(*ip))
		return net_drop(ctx, iface, m, DROP_IP_RUNT);
	ip = rte_pktmbuf_mtod(m, const struct rte_ipv4_hdr *);
	if ((ip->version_ihl >> 4) != 4)
		return net_drop(ctx, iface, m, DROP_IP_VERSION);
	hlen = rte_ipv4_hdr_len(ip);
	if (hlen < sizeof(*ip) || hlen > rte_pktmbuf_data_len(m))
		return net_drop(ctx, iface, m, DROP_IP_IHL);
	if (!header_cksum_ok(ifp, m, ip, hlen))
		return net_drop(ctx, iface, m, DROP_IP_CKSUM);
	tot = rte_be_to_cpu_16(ip->total_length);
	if (tot < hlen || tot > rte_pktmbuf_pkt_len(m))
		return net_drop(ctx, iface, m, DROP_IP_LEN);
	rte_pktmbuf_trim(m, (uint16_t)(rte_pktmbuf_pkt_len(m) - tot)); /* padding */
	if (bad_source(ifp, rte_be_to_cpu_32(ip->src_addr)))
		return net_drop(ctx, iface, m, DROP_IP_SRC);
	if (rte_be_to_cpu_32(ip->dst_addr) != ifp->addr)
		return net_drop(ctx, iface, m, DROP_IP_NOT_US);
	if (ip->fragment_offset & rte_cpu_to_be_16(IPV4_FRAG_MASK))
		return net_drop(ctx, iface, m, DROP_IP_FRAGMENT);
	m->l3_len = hlen;
	switch (ip->next_proto_id) {
	case IPPROTO_ICMP:
		return icmp_input(ctx, iface, m, hlen, now);
	case IPPROTO_TCP:
		if (ctx->tcp_rx != NULL)
			return ctx->tcp_rx(ctx, iface, m, now);
		return net_drop(ctx, iface, m, DROP_IP_PROTO);
	default:
		return net_drop(ctx, iface, m, DROP_IP_PROTO);
	}
}

void ipv4_output(struct net_ctx *ctx, struct rte_mbuf *m, uint64_t now)
{
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(m, struct rte_ipv4_hdr *);
	unsigned iface;
	uint32_t nexthop;

	if (route_lookup(ctx, rte_be_to_cpu_32(ip->dst_addr), &iface, &nexthop) < 0)
		/* No interface to blame: counted on the first port. */
		return net_drop(ctx, 0, m, DROP_NO_ROUTE);
	m->l3_len = rte_ipv4_hdr_len(ip);
	ip->hdr_checksum = 0;
	if (ctx->iface[iface].tx_ip_cksum)
		m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM;
	else
		ip->hdr_checksum = rte_ipv4_cksum(ip);
	arp_output(ctx, iface, nexthop, m, now);
}
