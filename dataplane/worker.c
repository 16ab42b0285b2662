/*
 * worker: the NIC-core poll loop — see worker.h.
 */
#include <stdio.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include "dataplane/worker.h"

#define WORKER_TIMER_US  50000   /* ARP retries/expiry granularity */
#define NEIGH_RING_SIZE  1024

struct neigh_msg {
	uint32_t ip;
	uint8_t iface;
	uint8_t pad;
	struct rte_ether_addr mac;
	uint32_t pad2;
};

static uint64_t now_us(const struct worker *w)
{
	return rte_get_tsc_cycles() / w->cycles_per_us;
}

static void flush_port(struct worker *w, unsigned iface)
{
	struct worker_txq *q = &w->txq[iface];
	struct stats_port *st = &w->stats.port[iface];
	uint16_t sent, i;
	uint64_t bytes = 0;

	if (q->n == 0)
		return;
	sent = rte_eth_tx_burst(w->net.iface[iface].port_id, w->queue, q->pkts, q->n);
	if (sent < q->n)
		sent += rte_eth_tx_burst(w->net.iface[iface].port_id, w->queue,
					 q->pkts + sent, q->n - sent);
	for (i = 0; i < sent; i++)
		bytes += rte_pktmbuf_pkt_len(q->pkts[i]);
	for (; i < q->n; i++)
		rte_pktmbuf_free(q->pkts[i]);
	STATS_ADD(st->tx_pkts, sent);
	STATS_ADD(st->tx_bytes, bytes);
	if (sent < q->n)
		STATS_ADD(st->drops[DROP_TX_FULL], q->n - sent);
	q->n = 0;
}

static void tx(struct net_ctx *ctx, unsigned iface, struct rte_mbuf *m)
{
	struct worker *w = ctx->owner;
	struct worker_txq *q = &w->txq[iface];

	q->pkts[q->n++] = m;
	if (q->n == WORKER_BURST)
		flush_port(w, iface);
}

static void neigh_notify(struct net_ctx *ctx, unsigned iface, uint32_t ip,
			 const struct rte_ether_addr *mac)
{
	struct worker *self = ctx->owner;
	struct neigh_msg msg = {.ip = ip, .iface = (uint8_t)iface, .mac = *mac};

	for (unsigned i = 0; i < self->set->n; i++)
		if (self->set->w[i] != self)
			/* A full ring loses news, not correctness: ARP retries. */
			rte_ring_enqueue_elem(self->set->w[i]->neigh, &msg, sizeof(msg));
}

static void neigh_drain(struct worker *w, uint64_t now)
{
	struct neigh_msg msg[WORKER_BURST];
	unsigned n = rte_ring_dequeue_burst_elem(w->neigh, msg, sizeof(msg[0]),
						 WORKER_BURST, NULL);

	for (unsigned i = 0; i < n; i++)
		arp_learn(&w->net, msg[i].iface, msg[i].ip, &msg[i].mac, now);
}

struct worker *worker_create(struct worker_set *set, unsigned lcore,
			     uint16_t queue, const struct conf *conf,
			     const struct port_info *ports,
			     struct rte_mempool *pool)
{
	int sock = (int)rte_lcore_to_socket_id(lcore);
	struct worker *w = rte_zmalloc_socket("worker", sizeof(*w),
					      RTE_CACHE_LINE_SIZE, sock);
	char name[RTE_RING_NAMESIZE];

	if (w == NULL)
		return NULL;
	w->lcore = lcore;
	w->queue = queue;
	w->set = set;
	w->idle_sleep_us = conf->idle_sleep_us;
	w->cycles_per_us = RTE_MAX(rte_get_tsc_hz() / 1000000, (uint64_t)1);
	snprintf(name, sizeof(name), "neigh_%u", lcore);
	w->neigh = rte_ring_create_elem(name, sizeof(struct neigh_msg),
					NEIGH_RING_SIZE, sock, RING_F_SC_DEQ);
	if (w->neigh == NULL || net_init(&w->net, conf, &w->stats, pool) < 0) {
		worker_destroy(w);
		return NULL;
	}
	for (unsigned i = 0; i < conf->nb_ports; i++) {
		struct net_iface *ifp = &w->net.iface[i];

		ifp->port_id = ports[i].port_id;
		ifp->queue = queue;
		ifp->mac = ports[i].mac;
		ifp->rx_ip_cksum = ports[i].rx_ip_cksum;
		ifp->tx_ip_cksum = ports[i].tx_ip_cksum;
	}
	w->net.tx = tx;
	w->net.neigh_notify = neigh_notify;
	w->net.owner = w;
	return w;
}

void worker_destroy(struct worker *w)
{
	if (w == NULL)
		return;
	for (unsigned i = 0; i < w->net.nb_ifaces; i++)
		for (uint16_t j = 0; j < w->txq[i].n; j++)
			rte_pktmbuf_free(w->txq[i].pkts[j]);
	net_fini(&w->net);
	rte_ring_free(w->neigh);
	rte_free(w);
}

static unsigned poll_ports(struct worker *w, uint64_t now)
{
	struct rte_mbuf *pkts[WORKER_BURST];
	unsigned total = 0;

	for (unsigned i = 0; i < w->net.nb_ifaces; i++) {
		uint16_t n = rte_eth_rx_burst(w->net.iface[i].port_id, w->queue,
					      pkts, WORKER_BURST);

		for (uint16_t j = 0; j < n; j++) {
			if (j + 1 < n)
				rte_prefetch0(rte_pktmbuf_mtod(pkts[j + 1], void *));
			net_input(&w->net, i, pkts[j], now);
		}
		total += n;
	}
	return total;
}

int worker_main(void *arg)
{
	struct worker *w = arg;
	uint64_t next_timer = 0;

	while (!__atomic_load_n(&w->set->quit, __ATOMIC_RELAXED)) {
		uint64_t now = now_us(w);
		unsigned got = poll_ports(w, now);

		neigh_drain(w, now);
		if (now >= next_timer) {
			net_timer(&w->net, now);
			next_timer = now + WORKER_TIMER_US;
		}
		for (unsigned i = 0; i < w->net.nb_ifaces; i++)
			flush_port(w, i);
		STATS_ADD(w->stats.polls, 1);
		if (got != 0)
			STATS_ADD(w->stats.busy_polls, 1);
		else if (w->idle_sleep_us != 0)
			rte_delay_us_sleep(w->idle_sleep_us);
	}
	return 0;
}
