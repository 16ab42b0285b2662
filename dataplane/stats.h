/*
 * stats: per-worker packet counters.  Each worker owns one struct
 * worker_stats, cache-line aligned, and is its only writer; the control
 * plane reads them without locks (single-writer relaxed atomics, so a
 * reader never sees a torn 64-bit value).
 */
#ifndef SLUICE_DATAPLANE_STATS_H
#define SLUICE_DATAPLANE_STATS_H

#include <stdint.h>
#include <rte_common.h>

#include "control/config.h"

/* Why a packet was dropped.  Names in stats_drop_name[] (same order). */
enum stats_drop {
	DROP_ETH_RUNT,        /* shorter than an Ethernet header */
	DROP_ETH_NOT_US,      /* unicast to another MAC */
	DROP_ETH_TYPE,        /* neither ARP nor IPv4 */
	DROP_ARP_MALFORMED,   /* bad hardware/protocol type or length */
	DROP_ARP_NOT_US,      /* ARP for an address that is not ours */
	DROP_ARP_OP,          /* ARP opcode other than request/reply */
	DROP_IP_RUNT,         /* truncated IPv4 header or payload */
	DROP_IP_VERSION,      /* version != 4 */
	DROP_IP_IHL,          /* header length < 20 or past the packet */
	DROP_IP_CKSUM,        /* header checksum wrong */
	DROP_IP_LEN,          /* total length inconsistent */
	DROP_IP_FRAGMENT,     /* fragments: no reassembly yet */
	DROP_IP_SRC,          /* source broadcast/multicast/loopback/ours */
	DROP_IP_NOT_US,       /* destination is not one of our addresses */
	DROP_IP_PROTO,        /* protocol we do not serve */
	DROP_ICMP_RUNT,       /* ICMP shorter than its header */
	DROP_ICMP_CKSUM,      /* ICMP checksum wrong */
	DROP_ICMP_TYPE,       /* ICMP other than echo request */
	DROP_NO_ROUTE,        /* outbound packet with no route */
	DROP_ARP_QUEUE_FULL,  /* next hop unresolved and its queue is full */
	DROP_ARP_TIMEOUT,     /* next hop never answered ARP */
	DROP_ARP_CACHE_FULL,  /* no room for a new neighbour */
	DROP_TX_FULL,         /* TX queue full */
	DROP_NO_MBUF,         /* mbuf pool exhausted while building a reply */
	DROP__COUNT
};

extern const char *const stats_drop_name[DROP__COUNT];

struct stats_port {
	uint64_t rx_pkts, rx_bytes;
	uint64_t tx_pkts, tx_bytes;
	uint64_t drops[DROP__COUNT];
} __rte_cache_aligned;

struct worker_stats {
	struct stats_port port[CONF_MAX_PORTS];
	uint64_t arp_entries;   /* gauge: resolved neighbours in this worker's cache */
	uint64_t arp_pending;   /* gauge: neighbours waiting for a reply */
	uint64_t polls;         /* poll rounds */
	uint64_t busy_polls;    /* poll rounds that received something */
	uint64_t loop_us;       /* time in the poll loop, idle sleeps included */
	uint64_t work_us;       /* ... in rounds that received frames or reaped
				   spool completions: the load is work_us / loop_us */
	uint64_t tcp_redirect_out;   /* segments passed to their owner worker */
	uint64_t tcp_redirect_in;    /* ... received from another worker */
	uint64_t tcp_redirect_drops; /* ... lost to the owner's full ring */
} __rte_cache_aligned;

/* Single-writer update: the owning worker only. */
#define STATS_ADD(field, n) \
	__atomic_store_n(&(field), (field) + (n), __ATOMIC_RELAXED)
#define STATS_SET(field, v) __atomic_store_n(&(field), (v), __ATOMIC_RELAXED)
/* Any reader. */
#define STATS_GET(field) __atomic_load_n(&(field), __ATOMIC_RELAXED)

#endif
