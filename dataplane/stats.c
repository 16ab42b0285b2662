/*
 * stats: the names of the drop reasons, as sluicectl and the control
 * protocol show them — see stats.h.
 */
#include "dataplane/stats.h"

const char *const stats_drop_name[DROP__COUNT] = {
	[DROP_ETH_RUNT] = "eth_runt",
	[DROP_ETH_NOT_US] = "eth_not_us",
	[DROP_ETH_TYPE] = "eth_type",
	[DROP_ARP_MALFORMED] = "arp_malformed",
	[DROP_ARP_NOT_US] = "arp_not_us",
	[DROP_ARP_OP] = "arp_op",
	[DROP_IP_RUNT] = "ip_runt",
	[DROP_IP_VERSION] = "ip_version",
	[DROP_IP_IHL] = "ip_ihl",
	[DROP_IP_CKSUM] = "ip_cksum",
	[DROP_IP_LEN] = "ip_len",
	[DROP_IP_FRAGMENT] = "ip_fragment",
	[DROP_IP_SRC] = "ip_src",
	[DROP_IP_NOT_US] = "ip_not_us",
	[DROP_IP_PROTO] = "ip_proto",
	[DROP_ICMP_RUNT] = "icmp_runt",
	[DROP_ICMP_CKSUM] = "icmp_cksum",
	[DROP_ICMP_TYPE] = "icmp_type",
	[DROP_NO_ROUTE] = "no_route",
	[DROP_ARP_QUEUE_FULL] = "arp_queue_full",
	[DROP_ARP_TIMEOUT] = "arp_timeout",
	[DROP_ARP_CACHE_FULL] = "arp_cache_full",
	[DROP_TX_FULL] = "tx_full",
	[DROP_NO_MBUF] = "no_mbuf",
};
