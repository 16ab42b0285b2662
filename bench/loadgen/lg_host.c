/*
 * lg_host: sluice-bench's DPDK host — see lg_host.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "bench/loadgen/lg_host.h"
#include "control/config.h"
#include "dataplane/net/ipv4.h"
#include "dataplane/net/net.h"
#include "dataplane/tcp/tcp.h"
#include "drivers/port.h"

#define BURST 32
#define TXQ_MAX 4096            /* frames waiting for room in the ring */
#define TIMER_US 50000          /* ARP retries and expiry */
#define LINK_WAIT_MS 10000
#define ISN_SECRET "sluice-bench-isn"    /* 16 octets */

struct lg_host {
	struct conf conf;
	int eal_argc, owned_from;
	char *eal_argv[CONF_MAX_EAL_ARGS + CONF_MAX_PORTS + 1];
	bool eal_up;
	struct rte_mempool *pool;
	struct port_info port[LG_HOST_PORTS];
	unsigned nb_started;
	struct worker_stats stats;
	struct net_ctx net;
	struct tcp_stack *tcp;
	uint64_t next_timer;
	struct {
		uint16_t n;
		struct rte_mbuf *pkts[TXQ_MAX];
	} txq[LG_HOST_PORTS];
};

/* Send what the ring takes; the rest waits for the next round (a load
 * generator that drops its own frames under a burst of a thousand SYNs
 * would measure its losses). */
static void tx_burst(struct lg_host *h, unsigned iface)
{
	uint16_t n = h->txq[iface].n, sent;
	struct rte_mbuf **pkts = h->txq[iface].pkts;

	sent = rte_eth_tx_burst(h->port[iface].port_id, 0, pkts, n);
	STATS_ADD(h->stats.port[iface].tx_pkts, sent);
	memmove(pkts, pkts + sent, (n - sent) * sizeof(pkts[0]));
	h->txq[iface].n = n - sent;
}

/* net_tx_fn */
static void tx(struct net_ctx *ctx, unsigned iface, struct rte_mbuf *m)
{
	struct lg_host *h = ctx->owner;

	if (h->txq[iface].n >= BURST)
		tx_burst(h, iface);
	if (h->txq[iface].n == TXQ_MAX) {
		STATS_ADD(h->stats.port[iface].drops[DROP_TX_FULL], 1);
		rte_pktmbuf_free(m);
		return;
	}
	h->txq[iface].pkts[h->txq[iface].n++] = m;
}

/* net_tcp_fn */
static void tcp_rx(struct net_ctx *ctx, unsigned iface, struct rte_mbuf *m,
		   uint64_t now)
{
	(void)iface;
	tcp_input(((struct lg_host *)ctx->owner)->tcp, m, now);
}

/* tcp_output_fn */
static void tcp_out(void *arg, struct rte_mbuf *m, uint64_t now)
{
	ipv4_output(&((struct lg_host *)arg)->net, m, now);
}

/* The host in the daemon's configuration format. */
static int conf_text(char *buf, size_t cap, const struct lg_host_port *ports,
		     unsigned n, unsigned lcore, unsigned max_conns)
{
	size_t len;
	int w;

	w = snprintf(buf, cap,
		     "eal = [\"--no-huge\", \"-m\", \"512\", \"--no-pci\", \"--no-shconf\","
		     " \"-l\", \"%u\", \"--log-level\", \"*:warning\"];\n"
		     "mbufs = 32767;\n"
		     /* the gateway answers ARP once its workers poll: ask often */
		     "arp = { retry_ms = 10; retries = 20; };\n"
		     /* required by the loader; the host opens no control socket */
		     "control = { socket = \"/run/sluice/sluice-bench.sock\"; };\n"
		     "tcp = { max_conns = %u; time_wait_max = 65536; time_wait_s = 2; };\n"
		     "ports = (", lcore, max_conns);
	for (unsigned i = 0; i < n && w > 0 && (size_t)w < cap; i++) {
		char addr[INET_ADDRSTRLEN];
		struct in_addr a = {.s_addr = htonl(ports[i].addr)};

		inet_ntop(AF_INET, &a, addr, sizeof(addr));
		len = (size_t)w;
		w += snprintf(buf + len, cap - len,
			      "%s{ name = \"memif%u\"; address = \"%s/%u\";"
			      " device = \"net_memif%u,role=client,socket=%s,"
			      "mac=02:5b:00:00:00:%02x\"; }", i ? ", " : "", i, addr,
			      ports[i].prefix, i, ports[i].socket, i + 1);
	}
	if (w < 0 || (size_t)w >= cap - 4)
		return -E2BIG;
	memcpy(buf + w, ");\n", 4);
	return 0;
}

static int eal_start(struct lg_host *h, char *err, size_t errlen)
{
	char *argv[RTE_DIM(h->eal_argv)];

	h->eal_argv[0] = "sluice-bench";
	for (int i = 0; i < h->conf.eal_argc; i++)
		h->eal_argv[i + 1] = h->conf.eal_argv[i];
	h->eal_argc = h->owned_from = h->conf.eal_argc + 1;
	if (port_eal_args(&h->conf, &h->eal_argc, h->eal_argv,
			  (int)RTE_DIM(h->eal_argv) - 1) < 0) {
		snprintf(err, errlen, "too many EAL arguments");
		return -E2BIG;
	}
	/* rte_eal_init permutes argv: hand it a copy of the pointers */
	memcpy(argv, h->eal_argv, sizeof(argv));
	if (rte_eal_init(h->eal_argc, argv) < 0) {
		snprintf(err, errlen, "EAL init: %s", rte_strerror(rte_errno));
		return -rte_errno;
	}
	h->eal_up = true;
	return 0;
}

static int ports_start(struct lg_host *h, char *err, size_t errlen)
{
	int rc;

	h->pool = rte_pktmbuf_pool_create("lg_mbuf", h->conf.mbufs, 256, 0,
					  RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
	if (h->pool == NULL) {
		snprintf(err, errlen, "mbuf pool: %s", rte_strerror(rte_errno));
		return -ENOMEM;
	}
	for (unsigned i = 0; i < h->conf.nb_ports; i++) {
		if ((rc = port_start(&h->conf.ports[i], 1, h->pool, &h->port[i], err,
				     errlen)) < 0) {
			size_t n = strlen(err);

			/* memif's client fails at start when nobody listens */
			snprintf(err + n, errlen - n, " (does the gateway serve that socket?)");
			return rc;
		}
		h->nb_started++;
	}
	for (unsigned i = 0; i < h->conf.nb_ports; i++)
		if (!port_wait_link(h->port[i].port_id, LINK_WAIT_MS)) {
			snprintf(err, errlen, "memif %s: no peer after %u ms",
				 h->conf.ports[i].device, LINK_WAIT_MS);
			return -ETIMEDOUT;
		}
	return 0;
}

static int stack_start(struct lg_host *h, uint64_t now)
{
	int rc;

	if ((rc = net_init(&h->net, &h->conf, &h->stats, h->pool)) < 0)
		return rc;
	for (unsigned i = 0; i < h->conf.nb_ports; i++) {
		struct net_iface *ifp = &h->net.iface[i];

		ifp->port_id = h->port[i].port_id;
		ifp->mac = h->port[i].mac;
		ifp->rx_ip_cksum = h->port[i].rx_ip_cksum;
		ifp->tx_ip_cksum = h->port[i].tx_ip_cksum;
	}
	h->net.tx = tx;
	h->net.tcp_rx = tcp_rx;
	h->net.owner = h;
	h->tcp = tcp_stack_create(&h->conf.tcp, "lg_tcp", (int)rte_socket_id(),
				  h->pool, tcp_out, h, now);
	if (h->tcp == NULL)
		return -ENOMEM;
	/* The same ISN secret in every run, so that a run's ISNs follow the
	 * last run's for the same ports, as a long-lived host's do: the
	 * gateway's TIME_WAIT entries without timestamps (connections made
	 * by SYN cookie have none) then take the new SYNs (RFC 9293 §3.6.1)
	 * instead of answering them with their old ACK. */
	return tcp_stack_set_secret(h->tcp, (const uint8_t *)ISN_SECRET);
}

int lg_host_new(const struct lg_host_port *ports, unsigned n, unsigned lcore,
		unsigned max_conns, uint64_t now, struct lg_host **out, char *err,
		size_t errlen)
{
	struct lg_host *h = calloc(1, sizeof(*h));
	char text[2048];
	int rc;

	if (h == NULL)
		return -ENOMEM;
	if (n == 0 || n > LG_HOST_PORTS ||
	    (rc = conf_text(text, sizeof(text), ports, n, lcore, max_conns)) < 0) {
		snprintf(err, errlen, "bad memif ports");
		rc = -EINVAL;
		goto fail;
	}
	if ((rc = conf_load_string(text, "sluice-bench", &h->conf, err, errlen)) < 0 ||
	    (rc = eal_start(h, err, errlen)) < 0 || (rc = ports_start(h, err, errlen)) < 0)
		goto fail;
	if ((rc = stack_start(h, now)) < 0) {
		snprintf(err, errlen, "TCP stack: %s", strerror(-rc));
		goto fail;
	}
	*out = h;
	return 0;
fail:
	lg_host_free(h);
	return rc;
}

void lg_host_free(struct lg_host *h)
{
	if (h == NULL)
		return;
	if (h->tcp != NULL)
		tcp_stack_destroy(h->tcp);
	for (unsigned i = 0; i < LG_HOST_PORTS; i++)
		for (uint16_t j = 0; j < h->txq[i].n; j++)
			rte_pktmbuf_free(h->txq[i].pkts[j]);
	if (h->net.arp.tab != NULL)
		net_fini(&h->net);
	for (unsigned i = 0; i < h->nb_started; i++)
		port_stop(h->port[i].port_id);
	rte_mempool_free(h->pool);
	if (h->eal_up)
		rte_eal_cleanup();
	for (int i = h->owned_from; i < h->eal_argc; i++)
		free(h->eal_argv[i]);
	conf_free(&h->conf);
	free(h);
}

struct tcp_stack *lg_host_tcp(struct lg_host *h)
{
	return h->tcp;
}

unsigned lg_host_poll(struct lg_host *h, uint64_t now)
{
	struct rte_mbuf *pkts[BURST];
	unsigned total = 0;

	for (unsigned i = 0; i < h->net.nb_ifaces; i++) {
		uint16_t n = rte_eth_rx_burst(h->port[i].port_id, 0, pkts, BURST);

		total += n;
		for (uint16_t j = 0; j < n; j++)
			net_input(&h->net, i, pkts[j], now);
	}
	tcp_stack_poll(h->tcp, now);
	if (now >= h->next_timer) {
		net_timer(&h->net, now);
		h->next_timer = now + TIMER_US;
	}
	for (unsigned i = 0; i < h->net.nb_ifaces; i++)
		if (h->txq[i].n != 0)
			tx_burst(h, i);
	return total;
}
