/*
 * worker: one NIC core.  Owns its net context (interfaces, ARP cache,
 * counters), a TX buffer per port and a ring on which the other workers post
 * what they learnt from ARP.  worker_main() is the run-to-completion poll
 * loop: RX burst from its queue of every port, process, flush TX, timers.
 */
#ifndef SLUICE_DATAPLANE_WORKER_H
#define SLUICE_DATAPLANE_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ring.h>

#include "control/config.h"
#include "dataplane/net/net.h"
#include "dataplane/stats.h"
#include "drivers/port.h"

#define WORKER_BURST 32

struct worker_txq {
	uint16_t n;
	struct rte_mbuf *pkts[WORKER_BURST];
};

struct worker_set;

struct worker {
	unsigned lcore;
	uint16_t queue;             /* this worker's queue on every port */
	struct worker_set *set;
	struct rte_ring *neigh;     /* ARP news from the other workers */
	uint32_t idle_sleep_us;
	uint64_t cycles_per_us;
	struct worker_txq txq[CONF_MAX_PORTS];
	struct net_ctx net;
	struct worker_stats stats;
} __rte_cache_aligned;

/* Every worker, and the flag that stops them (set by the main lcore). */
struct worker_set {
	unsigned n;
	struct worker *w[RTE_MAX_LCORE];
	bool quit;                  /* atomic: set by the main lcore */
};

/* Allocate and set up the worker for LCORE, using queue QUEUE of every
 * port.  Returns NULL on allocation failure. */
struct worker *worker_create(struct worker_set *set, unsigned lcore,
			     uint16_t queue, const struct conf *conf,
			     const struct port_info *ports,
			     struct rte_mempool *pool);
void worker_destroy(struct worker *w);

/* The lcore entry point (ARG is the struct worker). */
int worker_main(void *arg);

#endif
