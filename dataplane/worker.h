/*
 * worker: one NIC core.  Owns its net context (interfaces, ARP cache,
 * counters), its TCP stack with the SMTP service and the diagnostic
 * services on it, its spool, a TX buffer
 * per port (through an impairment stage when the port has one), and the
 * rings other threads reach it by: ARP news and misdirected TCP segments
 * from the other workers, commands and log lines to and from the main
 * lcore.  worker_main() is the run-to-completion poll loop: RX burst from
 * its queue of every port, process, TCP timers and output, flush TX, and
 * report a quiescent state for the configuration snapshots.
 */
#ifndef SLUICE_DATAPLANE_WORKER_H
#define SLUICE_DATAPLANE_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ring.h>

#include "control/config.h"
#include "control/snapshot.h"
#include "dataplane/diag.h"
#include "dataplane/inbound.h"
#include "dataplane/net/net.h"
#include "dataplane/stats.h"
#include "dataplane/queue/queue.h"
#include "dataplane/queue/queue_ctl.h"
#include "dataplane/relay.h"
#include "dataplane/spool/spool.h"
#include "dataplane/steer.h"
#include "dataplane/tcp/tcp.h"
#include "dataplane/track.h"
#include "dataplane/wlog.h"
#include "drivers/impair.h"
#include "drivers/port.h"

#define WORKER_BURST 32

struct worker_txq {
	uint16_t n;
	struct rte_mbuf *pkts[WORKER_BURST];
};

struct worker_set;

struct worker {
	unsigned lcore;
	uint16_t queue;             /* this worker's queue on every port; its index */
	struct worker_set *set;
	struct rte_ring *neigh;     /* ARP news from the other workers */
	struct rte_ring *redirect;  /* TCP segments this worker owns (mbufs) */
	struct rte_ring *cmd;       /* struct worker_cmd from the main lcore */
	uint32_t idle_sleep_us;
	uint64_t cycles_per_us;
	uint64_t loop_cyc, work_cyc;    /* -> stats loop_us, work_us */
	uint64_t now;               /* µs, this poll round (TSC) */
	uint64_t wall_us;           /* the same moment, µs since the epoch */
	struct worker_txq txq[CONF_MAX_PORTS];
	struct impair *imp_rx[CONF_MAX_PORTS], *imp_tx[CONF_MAX_PORTS];
	struct net_ctx net;
	struct tcp_stack *tcp;
	struct steer steer;
	struct diag diag;
	struct spool *spool;        /* NULL without an SMTP service */
	struct queue *delivery;     /* delivery queue of what the spool holds */
	struct queue_port qport;    /* the main lcore's view of it, and commands */
	struct track_ring track;    /* message events to the control plane */
	struct inbound inbound;
	struct relay relay;          /* delivery to the smart hosts */
	struct snap *relay_snap;     /* held: the snapshot the relay runs on */
	struct wlog log;
	struct worker_stats stats;
} __rte_cache_aligned;

/* Every worker, and the flag that stops them (set by the main lcore). */
struct worker_set {
	unsigned n;
	struct worker *w[RTE_MAX_LCORE];
	bool quit;                  /* atomic: set by the main lcore */
	struct snap_pub *pub;       /* the configuration snapshot */
	uint8_t tcp_secret[16];     /* ISN and SYN-cookie secret every stack shares */
};

/* Allocate and set up the worker for LCORE, using queue QUEUE of every
 * port, one of NB_WORKERS; SET->pub has the first snapshot.  Returns NULL
 * on failure. */
struct worker *worker_create(struct worker_set *set, unsigned lcore,
			     uint16_t queue, unsigned nb_workers,
			     const struct conf *conf,
			     const struct port_info *ports,
			     struct rte_mempool *pool);
void worker_destroy(struct worker *w);

/* Main lcore: ask W to open CONNS diag send connections to RADDR:RPORT,
 * BYTES each.  Returns 0 or -ENOBUFS (its command ring is full). */
int worker_post_diag_send(struct worker *w, uint32_t raddr, uint16_t rport,
			  uint32_t conns, uint64_t bytes);

/* The lcore entry point (ARG is the struct worker). */
int worker_main(void *arg);

#endif
