/*
 * net: one worker's view of the network — its interfaces (one per port, with
 * this worker's queue on it), its ARP cache and counters — and the Ethernet
 * entry point that every received frame goes through.  Sans-I/O: frames come
 * in through net_input() with the clock passed in, and leave through the
 * ctx->tx hook, which the worker points at its TX buffers and tests at a
 * capture list.
 */
#ifndef SLUICE_DATAPLANE_NET_NET_H
#define SLUICE_DATAPLANE_NET_NET_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ether.h>
#include <rte_mbuf.h>

#include "control/config.h"
#include "dataplane/net/arp.h"
#include "dataplane/stats.h"

struct net_iface {
	uint16_t port_id;
	uint16_t queue;            /* this worker's RX/TX queue on the port */
	struct rte_ether_addr mac;
	uint32_t addr;             /* host order */
	uint32_t mask;             /* host order */
	uint32_t gateway;          /* host order, 0 = none */
	bool rx_ip_cksum;          /* the port verifies IPv4 header checksums */
	bool tx_ip_cksum;          /* the port computes IPv4 header checksums */
};

struct net_ctx;

/* Hand a finished frame to interface IFACE.  Takes ownership of M. */
typedef void (*net_tx_fn)(struct net_ctx *ctx, unsigned iface,
			  struct rte_mbuf *m);

/* A TCP segment for us (IPv4 header at the data pointer, validated,
 * l3_len set).  Takes ownership of M. */
typedef void (*net_tcp_fn)(struct net_ctx *ctx, unsigned iface,
			   struct rte_mbuf *m, uint64_t now);

/* Tell the other workers what this one learnt from ARP. */
typedef void (*net_neigh_fn)(struct net_ctx *ctx, unsigned iface,
			     uint32_t ip, const struct rte_ether_addr *mac);

struct net_ctx {
	unsigned nb_ifaces;
	struct net_iface iface[CONF_MAX_PORTS];
	struct arp_cache arp;
	struct worker_stats *stats;
	struct rte_mempool *pool;
	net_tx_fn tx;
	net_neigh_fn neigh_notify; /* may be NULL */
	net_tcp_fn tcp_rx;         /* NULL: TCP is dropped as DROP_IP_PROTO */
	void *owner;               /* the worker (or the test) */
};

/* Set up CTX for CONF's ports; iface MACs and offloads are the caller's.
 * Returns 0 or -ENOMEM. */
int net_init(struct net_ctx *ctx, const struct conf *conf,
	     struct worker_stats *stats, struct rte_mempool *pool);
void net_fini(struct net_ctx *ctx);

/* Process one frame received on IFACE at time NOW (µs).  Consumes M. */
void net_input(struct net_ctx *ctx, unsigned iface, struct rte_mbuf *m,
	       uint64_t now);

/* Periodic work (ARP retries and expiry).  Call every few milliseconds. */
void net_timer(struct net_ctx *ctx, uint64_t now);

/* Count a drop on IFACE and free M. */
void net_drop(struct net_ctx *ctx, unsigned iface, struct rte_mbuf *m,
	      enum stats_drop why);

/* Prepend an Ethernet header (TYPE, from IFACE's MAC to DST) and transmit. */
int net_eth_output(struct net_ctx *ctx, unsigned iface, struct rte_mbuf *m,
		   const struct rte_ether_addr *dst, uint16_t type);

#endif
