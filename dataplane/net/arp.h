/*
 * arp: one worker's neighbour cache (RFC 826).  Answers ARP requests for our
 * addresses, learns senders, resolves next hops for outgoing IPv4 packets
 * (queueing a bounded number per unresolved neighbour, retrying the request
 * and dropping the queue when nobody answers) and expires entries.
 * An open-addressing table keyed by IPv4 address, sized at start, never
 * allocating on the packet path.
 */
#ifndef SLUICE_DATAPLANE_NET_ARP_H
#define SLUICE_DATAPLANE_NET_ARP_H

#include <stdint.h>

#include <rte_ether.h>
#include <rte_mbuf.h>

struct net_ctx;
struct conf;

enum arp_state { ARP_FREE = 0, ARP_INCOMPLETE, ARP_REACHABLE };

struct arp_entry {
	uint32_t ip;               /* host order */
	uint8_t state;             /* enum arp_state */
	uint8_t iface;
	uint8_t tries;             /* requests sent while incomplete */
	struct rte_ether_addr mac;
	uint64_t deadline;         /* µs: expiry, or the next retry */
	uint32_t q_head, q_tail;   /* pending packets: slot indices */
	uint32_t q_len;
};

struct arp_slot {
	struct rte_mbuf *m;
	uint32_t next;
};

struct arp_cache {
	struct arp_entry *tab;     /* power-of-two sized, linear probing */
	uint32_t mask;
	uint32_t used;             /* entries not FREE */
	uint32_t max;              /* entries allowed */
	struct arp_slot *slot;     /* pending-packet slots */
	uint32_t free_slot;        /* head of the free list */
	uint32_t pending_max;      /* per entry */
	uint64_t timeout_us, retry_us;
	uint32_t retries;
};

#define ARP_NIL UINT32_MAX

int arp_init(struct arp_cache *c, const struct conf *conf);
void arp_fini(struct arp_cache *c);

/* An ARP frame (data at the Ethernet header) received on IFACE. */
void arp_input(struct net_ctx *ctx, unsigned iface, struct rte_mbuf *m,
	       uint64_t now);

/* Send M (data at the IPv4 header) to NEXTHOP on IFACE: now when the
 * neighbour is known, else queued behind an ARP request.  Consumes M. */
void arp_output(struct net_ctx *ctx, unsigned iface, uint32_t nexthop,
		struct rte_mbuf *m, uint64_t now);

/* Learn IP at MAC on IFACE (from our ARP traffic or another worker's):
 * creates or refreshes the entry and sends what was queued for it. */
void arp_learn(struct net_ctx *ctx, unsigned iface, uint32_t ip,
	       const struct rte_ether_addr *mac, uint64_t now);

/* Retries, expiry, and the gauges in ctx->stats. */
void arp_timer(struct net_ctx *ctx, uint64_t now);

/* The entry for IP, or NULL. */
const struct arp_entry *arp_lookup(const struct arp_cache *c, uint32_t ip);

#endif
