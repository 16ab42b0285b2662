/*
 * worker: the NIC-core poll loop — see worker.h.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include "dataplane/net/ipv4.h"
#include "dataplane/net/route.h"
#include "dataplane/worker.h"

#define WORKER_TIMER_US    50000   /* ARP retries/expiry granularity */
#define NEIGH_RING_SIZE    1024
#define REDIRECT_RING_SIZE 4096
#define CMD_RING_SIZE      64

struct neigh_msg {
	uint32_t ip;
	uint8_t iface;
	uint8_t pad;
	struct rte_ether_addr mac;
	uint32_t pad2;
};

struct worker_cmd {
	uint32_t raddr;
	uint16_t rport;
	uint32_t conns;
	uint64_t bytes;
};

static uint64_t now_us(const struct worker *w)
{
	return rte_get_tsc_cycles() / w->cycles_per_us;
}

/* --- TX ------------------------------------------------------------------ */

static void tx_burst(struct worker *w, unsigned iface, struct rte_mbuf **pkts,
		     uint16_t n)
{
	struct stats_port *st = &w->stats.port[iface];
	uint16_t sent, i;
	uint64_t bytes = 0;

	sent = rte_eth_tx_burst(w->net.iface[iface].port_id, w->queue, pkts, n);
	if (sent < n)
		sent += rte_eth_tx_burst(w->net.iface[iface].port_id, w->queue,
					 pkts + sent, n - sent);
	for (i = 0; i < sent; i++)
		bytes += rte_pktmbuf_pkt_len(pkts[i]);
	for (; i < n; i++)
		rte_pktmbuf_free(pkts[i]);
	STATS_ADD(st->tx_pkts, sent);
	STATS_ADD(st->tx_bytes, bytes);
	if (sent < n)
		STATS_ADD(st->drops[DROP_TX_FULL], n - sent);
}

/* Send what is buffered for IFACE, through its impairment stage if any
 * (which then releases whatever has come due). */
static void flush_port(struct worker *w, unsigned iface)
{
	struct worker_txq *q = &w->txq[iface];
	struct impair *imp = w->imp_tx[iface];
	struct rte_mbuf *due[WORKER_BURST];
	uint16_t n;

	if (imp == NULL) {
		if (q->n != 0)
			tx_burst(w, iface, q->pkts, q->n);
		q->n = 0;
		return;
	}
	if (q->n != 0)
		impair_push(imp, q->pkts, q->n, w->now);
	q->n = 0;
	while ((n = impair_pull(imp, due, WORKER_BURST, w->now)) != 0)
		tx_burst(w, iface, due, n);
}

static void tx(struct net_ctx *ctx, unsigned iface, struct rte_mbuf *m)
{
	struct worker *w = ctx->owner;
	struct worker_txq *q = &w->txq[iface];

	q->pkts[q->n++] = m;
	if (q->n == WORKER_BURST)
		flush_port(w, iface);
}

/* --- ARP news --------------------------------------------------------------- */

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

static void neigh_drain(struct worker *w)
{
	struct neigh_msg msg[WORKER_BURST];
	unsigned n = rte_ring_dequeue_burst_elem(w->neigh, msg, sizeof(msg[0]),
						 WORKER_BURST, NULL);

	for (unsigned i = 0; i < n; i++)
		arp_learn(&w->net, msg[i].iface, msg[i].ip, &msg[i].mac, w->now);
}

/* --- TCP ---------------------------------------------------------------------- */

/* Segments on the redirect ring carry how many workers already passed
 * them on in the low bits of the pointer (mbufs are cache-line aligned). */
#define HOPS_MASK ((uintptr_t)RTE_CACHE_LINE_SIZE - 1)

static void pass_on(struct worker *w, unsigned to, struct rte_mbuf *m,
		    unsigned hops)
{
	if (rte_ring_enqueue(w->set->w[to]->redirect,
			     (void *)((uintptr_t)m | hops)) < 0) {
		STATS_ADD(w->stats.tcp_redirect_drops, 1);
		rte_pktmbuf_free(m);
		return;
	}
	STATS_ADD(w->stats.tcp_redirect_out, 1);
}

/* Process a segment here, or pass it on.  An active open's segment goes
 * to the worker its local port names.  Any other segment this worker's
 * stack does not know (RSS or af_packet's fanout rolled it over to the
 * wrong queue) visits the other workers in turn; the last one to see it
 * answers it (RST, or a SYN cookie). */
static void tcp_steer(struct worker *w, struct rte_mbuf *m, unsigned hops)
{
	unsigned n = w->set->n, owner = steer_owner(&w->steer, m);

	if (owner != w->queue && owner < n) {
		pass_on(w, owner, m, hops);
		return;
	}
	if (n > 1 && hops + 1 < n &&
	    !steer_is_active(&w->steer, m) && !tcp_owns(w->tcp, m)) {
		pass_on(w, (w->queue + 1) % n, m, hops + 1);
		return;
	}
	tcp_input(w->tcp, m, w->now);
}

/* net_tcp_fn */
static void tcp_rx(struct net_ctx *ctx, unsigned iface, struct rte_mbuf *m,
		   uint64_t now)
{
	(void)iface;
	(void)now;
	tcp_steer(ctx->owner, m, 0);
}

static void redirect_drain(struct worker *w)
{
	void *p[WORKER_BURST];
	unsigned n = rte_ring_dequeue_burst(w->redirect, p, WORKER_BURST, NULL);

	STATS_ADD(w->stats.tcp_redirect_in, n);
	for (unsigned i = 0; i < n; i++)
		tcp_steer(w, (struct rte_mbuf *)((uintptr_t)p[i] & ~HOPS_MASK),
			  (unsigned)((uintptr_t)p[i] & HOPS_MASK));
}

/* tcp_output_fn */
static void tcp_out(void *arg, struct rte_mbuf *m, uint64_t now)
{
	struct worker *w = arg;

	ipv4_output(&w->net, m, now);
}

/* --- commands from the main lcore ---------------------------------------------- */

int worker_post_diag_send(struct worker *w, uint32_t raddr, uint16_t rport,
			  uint32_t conns, uint64_t bytes)
{
	struct worker_cmd c = {.raddr = raddr, .rport = rport, .conns = conns,
			       .bytes = bytes};

	return rte_ring_enqueue_elem(w->cmd, &c, sizeof(c)) < 0 ? -ENOBUFS : 0;
}

static void cmd_drain(struct worker *w)
{
	struct worker_cmd c;

	while (rte_ring_dequeue_elem(w->cmd, &c, sizeof(c)) == 0) {
		unsigned iface;
		uint32_t nexthop;

		if (route_lookup(&w->net, c.raddr, &iface, &nexthop) < 0) {
			wlog(&w->log, "diag send: no route to %u.%u.%u.%u",
			     c.raddr >> 24, (c.raddr >> 16) & 0xff,
			     (c.raddr >> 8) & 0xff, c.raddr & 0xff);
			continue;
		}
		for (uint32_t i = 0; i < c.conns; i++) {
			int rc = diag_send(&w->diag, w->net.iface[iface].addr,
					   c.raddr, c.rport, c.bytes);
			if (rc < 0) {
				wlog(&w->log, "diag send: connection %u of %u: %s",
				     i + 1, c.conns, strerror(-rc));
				break;
			}
		}
	}
}

/* --- life cycle ------------------------------------------------------------------ */

static int impair_create_all(struct worker *w, const struct conf *conf,
			     int sock)
{
	for (unsigned i = 0; i < conf->nb_ports; i++) {
		struct impair_conf ic = conf->ports[i].impair;
		char name[32];

		if (!conf->ports[i].impaired)
			continue;
		/* distinct, reproducible streams per worker and direction */
		ic.seed = conf->ports[i].impair.seed * 1000 + w->queue * 2;
		snprintf(name, sizeof(name), "imp_rx_%u_%u", w->lcore, i);
		w->imp_rx[i] = impair_create(&ic, name, sock);
		ic.seed++;
		snprintf(name, sizeof(name), "imp_tx_%u_%u", w->lcore, i);
		w->imp_tx[i] = impair_create(&ic, name, sock);
		if (w->imp_rx[i] == NULL || w->imp_tx[i] == NULL)
			return -ENOMEM;
	}
	return 0;
}

static int rings_create(struct worker *w, int sock)
{
	char name[RTE_RING_NAMESIZE];

	snprintf(name, sizeof(name), "neigh_%u", w->lcore);
	w->neigh = rte_ring_create_elem(name, sizeof(struct neigh_msg),
					NEIGH_RING_SIZE, sock, RING_F_SC_DEQ);
	snprintf(name, sizeof(name), "redir_%u", w->lcore);
	w->redirect = rte_ring_create(name, REDIRECT_RING_SIZE, sock, RING_F_SC_DEQ);
	snprintf(name, sizeof(name), "cmd_%u", w->lcore);
	w->cmd = rte_ring_create_elem(name, sizeof(struct worker_cmd),
				      CMD_RING_SIZE, sock,
				      RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (w->neigh == NULL || w->redirect == NULL || w->cmd == NULL)
		return -ENOMEM;
	return wlog_init(&w->log, w->lcore, sock);
}

static uint64_t wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000;
}

/* spool_recovered_fn: an accepted message found at start joins the queue
 * with the outcomes its recipients had. */
static void recovered(void *arg, struct spool_msg *m, const struct spool_env *env,
		      const uint8_t *outcomes)
{
	struct worker *w = arg;
	char sender[QUEUE_SENDER_MAX], qid[SPOOL_QID_LEN + 1];
	struct queue_add a = {.msg = m, .qid = spool_msg_qid(m),
			      .arrival_us = env->arrival_us, .size = spool_msg_size(m),
			      .nrcpt = env->nrcpt, .outcomes = outcomes, .sender = sender};
	int rc;

	track_copy(sender, sizeof(sender), env->sender.p, env->sender.len);
	if ((rc = relay_env_add(&w->relay, a.qid, env)) < 0 ||
	    (rc = queue_add(w->delivery, &a, wall_us())) < 0) {
		relay_env_del(&w->relay, a.qid);
		spool_qid_format(a.qid, qid);
		fprintf(stderr, "sluiced: worker %u: %s: recovered but not queued: %s\n",
			w->queue, qid, strerror(-rc));
	}
}

/* queue_cmd_fn: an operator's command was applied to the queue. */
static void queue_cmd_done(void *arg, const struct queue_cmd *c, int rc,
			   struct spool_msg *msg)
{
	static const uint8_t type[] = {[QUEUE_OP_HOLD] = TRACK_HELD,
				       [QUEUE_OP_RELEASE] = TRACK_RELEASED,
				       [QUEUE_OP_DELETE] = TRACK_DELETED};
	struct worker *w = arg;
	struct track_event e;

	if (msg != NULL) {
		relay_env_del(&w->relay, c->qid);
		spool_msg_done(msg, SPOOL_DONE_DELETED);
	}
	if (rc < 0 || c->op >= RTE_DIM(type) || type[c->op] == 0)
		return;
	track_event_init(&e, (enum track_type)type[c->op], w->wall_us, c->qid);
	track_put(&w->track, &e);
}

/* The spool (recovered into the delivery queue) and the SMTP listener,
 * when SMTP is configured. */
static int smtp_create(struct worker *w, const struct conf *conf, int sock)
{
	struct queue_conf qc;
	struct spool_conf sc;
	int rc;

	if (conf->smtp.port != 0) {
		queue_conf_defaults(&qc);
		relay_queue_conf(&conf->relay, &qc);
		qc.max_entries = conf->queue.max_messages;
		qc.max_rcpts = conf->queue.max_recipients;
		w->wall_us = wall_us();
		if ((rc = queue_create(&qc, &w->delivery)) < 0 ||
		    (rc = queue_port_init(&w->qport, w->queue, sock,
					  QUEUE_PORT_SNAP_DEFAULT,
					  QUEUE_PORT_REFRESH_US)) < 0 ||
		    (rc = track_ring_init(&w->track, w->queue, sock, 4096)) < 0 ||
		    (rc = relay_init(&w->relay, &w->relay_snap->relay, w->tcp, &w->net, w->delivery,
				     &w->track, &w->log, w->queue, &w->now,
				     &w->wall_us)) < 0)
			return rc;
		spool_conf_defaults(&sc, conf->spool.dir, (uint8_t)w->queue);
		sc.seg_size = (uint64_t)conf->spool.segment_mb << 20;
		sc.seg_initial = conf->spool.segments;
		sc.seg_max = conf->spool.max_segments;
		sc.commit_interval_us = conf->spool.commit_interval_us;
		sc.commit_batch = conf->spool.commit_batch;
		/* every queued message, plus those being received and DSNs */
		spool_conf_size(&sc, conf->queue.max_messages, conf->smtp.sessions);
		sc.mem_budget = (uint64_t)conf->spool.memory_mb << 20;
		rc = spool_open(&sc, now_us(w), recovered, w, &w->spool);
		if (rc < 0) {
			fprintf(stderr, "sluiced: worker %u: spool %s: %s\n", w->queue,
				conf->spool.dir, strerror(-rc));
			return rc;
		}
		relay_set_spool(&w->relay, w->spool);
	}
	rc = inbound_init(&w->inbound, w->set->pub, w->tcp, w->spool, w->delivery, &w->track,
			  &w->log, w->queue, &w->now, sock);
	if (w->delivery != NULL)
		w->inbound.relay = &w->relay;
	return rc;
}

static int tcp_create(struct worker *w, const struct conf *conf,
		      const struct port_info *ports, unsigned nb_workers,
		      struct rte_mempool *pool, int sock)
{
	char name[32];

	snprintf(name, sizeof(name), "tcp_%u", w->lcore);
	w->tcp = tcp_stack_create(&conf->tcp, name, sock, pool, tcp_out, w,
				  now_us(w));
	if (w->tcp == NULL)
		return -ENOMEM;
	steer_init(&w->steer, w->queue, nb_workers, conf, ports);
	tcp_stack_set_port_ok(w->tcp, steer_port_ok, &w->steer);
	if (tcp_stack_set_secret(w->tcp, w->set->tcp_secret) < 0)
		return -ENOMEM;
	return diag_init(&w->diag, w->tcp, conf, &w->log, w->lcore, sock);
}

struct worker *worker_create(struct worker_set *set, unsigned lcore,
			     uint16_t queue, unsigned nb_workers,
			     const struct conf *conf,
			     const struct port_info *ports,
			     struct rte_mempool *pool)
{
	int sock = (int)rte_lcore_to_socket_id(lcore);
	struct worker *w = rte_zmalloc_socket("worker", sizeof(*w),
					      RTE_CACHE_LINE_SIZE, sock);

	if (w == NULL)
		return NULL;
	w->lcore = lcore;
	w->queue = queue;
	w->set = set;
	w->relay_snap = snap_hold(snap_current(set->pub));
	w->idle_sleep_us = conf->idle_sleep_us;
	w->cycles_per_us = RTE_MAX(rte_get_tsc_hz() / 1000000, (uint64_t)1);
	if (rings_create(w, sock) < 0 || net_init(&w->net, conf, &w->stats, pool) < 0 ||
	    impair_create_all(w, conf, sock) < 0) {
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
	w->net.tcp_rx = tcp_rx;
	w->net.owner = w;
	if (tcp_create(w, conf, ports, nb_workers, pool, sock) < 0 ||
	    smtp_create(w, conf, sock) < 0) {
		worker_destroy(w);
		return NULL;
	}
	return w;
}

void worker_destroy(struct worker *w)
{
	struct rte_mbuf *m;

	if (w == NULL)
		return;
	inbound_fini(&w->inbound);
	diag_fini(&w->diag);
	tcp_stack_destroy(w->tcp);
	if (w->spool != NULL)
		spool_close(w->spool);
	relay_fini(&w->relay);
	if (w->relay_snap != NULL)
		snap_release(w->relay_snap);
	queue_destroy(w->delivery);
	queue_port_fini(&w->qport);
	track_ring_fini(&w->track);
	for (unsigned i = 0; i < CONF_MAX_PORTS; i++) {
		for (uint16_t j = 0; j < w->txq[i].n; j++)
			rte_pktmbuf_free(w->txq[i].pkts[j]);
		impair_destroy(w->imp_rx[i]);
		impair_destroy(w->imp_tx[i]);
	}
	while (w->redirect != NULL && rte_ring_dequeue(w->redirect, (void **)&m) == 0)
		rte_pktmbuf_free((struct rte_mbuf *)((uintptr_t)m & ~HOPS_MASK));
	net_fini(&w->net);
	rte_ring_free(w->neigh);
	rte_ring_free(w->redirect);
	rte_ring_free(w->cmd);
	wlog_fini(&w->log);
	rte_free(w);
}

/* --- the loop ---------------------------------------------------------------------- */

static unsigned poll_ports(struct worker *w)
{
	struct rte_mbuf *pkts[WORKER_BURST];
	unsigned total = 0;

	for (unsigned i = 0; i < w->net.nb_ifaces; i++) {
		uint16_t n = rte_eth_rx_burst(w->net.iface[i].port_id, w->queue,
					      pkts, WORKER_BURST);

		total += n;
		if (w->imp_rx[i] != NULL) {
			if (n != 0)
				impair_push(w->imp_rx[i], pkts, n, w->now);
			n = impair_pull(w->imp_rx[i], pkts, WORKER_BURST, w->now);
		}
		for (uint16_t j = 0; j < n; j++) {
			if (j + 1 < n)
				rte_prefetch0(rte_pktmbuf_mtod(pkts[j + 1], void *));
			net_input(&w->net, i, pkts[j], w->now);
		}
	}
	return total;
}

/* A newer snapshot: the relay moves to it once it has drained (sessions
 * move one by one, as they are accepted).  A worker without a relay
 * switches at once, so it never keeps an old snapshot alive. */
static void relay_follow(struct worker *w)
{
	struct snap *cur = snap_current(w->set->pub);

	if (cur == w->relay_snap || !relay_drain(&w->relay))
		return;
	snap_release(w->relay_snap);
	w->relay_snap = snap_hold(cur);
	relay_set_shared(&w->relay, &cur->relay);
}

/* A round of CYC cycles (its idle sleep not included) that received
 * frames or reaped spool completions is work, all of it (its polling
 * included, so the load leans high at low rates); other rounds are idle. */
static void account(struct worker *w, uint64_t cyc, bool worked)
{
	if (worked)
		w->work_cyc += cyc;
}

int worker_main(void *arg)
{
	struct worker *w = arg;
	uint64_t next_timer = 0, prev = rte_get_tsc_cycles();

	snap_worker_online(w->set->pub, w->queue);
	while (!__atomic_load_n(&w->set->quit, __ATOMIC_RELAXED)) {
		uint64_t t0 = rte_get_tsc_cycles();
		unsigned got, done = 0;

		w->loop_cyc += t0 - prev;       /* the last round and its sleep */
		prev = t0;

		w->now = t0 / w->cycles_per_us;
		got = poll_ports(w);
		redirect_drain(w);
		neigh_drain(w);
		cmd_drain(w);
		if (w->spool != NULL) {
			w->wall_us = wall_us();
			done = spool_poll(w->spool, w->now);
			queue_port_poll(&w->qport, w->delivery, w->wall_us, queue_cmd_done, w);
			relay_poll(&w->relay);
		}
		relay_follow(w);        /* also without a relay: drop the old snapshot */
		inbound_poll(&w->inbound);
		tcp_stack_poll(w->tcp, w->now);
		if (w->now >= next_timer) {
			net_timer(&w->net, w->now);
			next_timer = w->now + WORKER_TIMER_US;
			STATS_SET(w->stats.loop_us, w->loop_cyc / w->cycles_per_us);
			STATS_SET(w->stats.work_us, w->work_cyc / w->cycles_per_us);
		}
		for (unsigned i = 0; i < w->net.nb_ifaces; i++)
			flush_port(w, i);
		account(w, rte_get_tsc_cycles() - t0, got != 0 || done != 0);
		STATS_ADD(w->stats.polls, 1);
		if (got != 0)
			STATS_ADD(w->stats.busy_polls, 1);
		else if (w->idle_sleep_us != 0)
			rte_delay_us_sleep(w->idle_sleep_us);
		snap_worker_quiescent(w->set->pub, w->queue);
	}
	snap_worker_offline(w->set->pub, w->queue);
	return 0;
}
