/*
 * icmp: echo replies and ICMP validation — see icmp.h.
 */
#include <string.h>

#include <rte_byteorder.h>
#include <rte_icmp.h>
#include <rte_ip.h>

#include "dataplane/net/icmp.h"
#include "dataplane/net/ipv4.h"
#include "dataplane/net/net.h"

#define IPV4_DEFAULT_TTL 64

static uint16_t icmp_sum(const struct rte_mbuf *m, uint16_t off)
{
	uint16_t sum = 0;

	rte_raw_cksum_mbuf(m, off, rte_pktmbuf_pkt_len(m) - off, &sum);
	return sum;
}

/* Options of a request are not echoed (RFC 1122 §3.2.2.6 allows it). */
static struct rte_ipv4_hdr *strip_options(struct rte_mbuf *m, uint16_t hlen)
{
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(m, struct rte_ipv4_hdr *);
	uint16_t extra = hlen - sizeof(*ip);

	if (extra == 0)
		return ip;
	memmove((char *)ip + extra, ip, sizeof(*ip));
	ip = (struct rte_ipv4_hdr *)rte_pktmbuf_adj(m, extra);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16(rte_be_to_cpu_16(ip->total_length) - extra);
	return ip;
}

static void echo_reply(struct net_ctx *ctx, struct rte_mbuf *m, uint16_t hlen,
		       uint64_t now)
{
	struct rte_ipv4_hdr *ip = strip_options(m, hlen);
	struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)(ip + 1);
	uint32_t src = ip->src_addr;

	ip->src_addr = ip->dst_addr;
	ip->dst_addr = src;
	ip->time_to_live = IPV4_DEFAULT_TTL;
	ip->fragment_offset = 0;
	icmp->icmp_type = RTE_IP_ICMP_ECHO_REPLY;
	icmp->icmp_cksum = 0;
	icmp->icmp_cksum = (uint16_t)~icmp_sum(m, sizeof(*ip));
	ipv4_output(ctx, m, now);
}

void icmp_input(struct net_ctx *ctx, unsigned iface, struct rte_mbuf *m,
		uint16_t hlen, uint64_t now)
{
	const struct rte_icmp_hdr *icmp;

	if (rte_pktmbuf_data_len(m) < hlen + sizeof(*icmp))
		return net_drop(ctx, iface, m, DROP_ICMP_RUNT);
	if (icmp_sum(m, hlen) != 0xffff)
		return net_drop(ctx, iface, m, DROP_ICMP_CKSUM);
	icmp = rte_pktmbuf_mtod_offset(m, const struct rte_icmp_hdr *, hlen);
	if (icmp->icmp_type != RTE_IP_ICMP_ECHO_REQUEST || icmp->icmp_code != 0)
		return net_drop(ctx, iface, m, DROP_ICMP_TYPE);
	echo_reply(ctx, m, hlen, now);
}
