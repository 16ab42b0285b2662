/*
 * tcp_harness: see tcp_harness.h.  Frames carry a dummy Ethernet header so
 * the impairment's corruption (which spares the first 14 bytes) lands in
 * the IP and TCP headers and payload; the receiving end checks the IPv4
 * header as the net layer would before handing the segment to TCP.
 */
#include <stdlib.h>
#include <string.h>

#include <rte_ether.h>
#include <rte_ip.h>

#include "tests/unit/tcp_harness.h"

#define H_BURST 64

static void out_side(struct harness *h, int side, struct rte_mbuf *m)
{
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(m, struct rte_ipv4_hdr *);
	uint64_t late;

	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	if (h->filter != NULL && h->filter(h->filter_arg, side, m)) {
		h->filtered++;
		rte_pktmbuf_free(m);
		return;
	}
	late = h->delay != NULL ? h->delay(h->delay_arg, side, m) : 0;
	if (rte_pktmbuf_prepend(m, RTE_ETHER_HDR_LEN) == NULL) {
		rte_pktmbuf_free(m);
		return;
	}
	/* sent LATE µs from now: the link holds it that much longer */
	memlink_send(h->link, side, &m, 1, h->now + late);   /* owns it, even when lost */
}

static void out_a(void *arg, struct rte_mbuf *m, uint64_t now)
{
	(void)now;
	out_side(arg, 0, m);
}

static void out_b(void *arg, struct rte_mbuf *m, uint64_t now)
{
	(void)now;
	out_side(arg, 1, m);
}

int h_init(struct harness *h, struct rte_mempool *pool,
	   const struct tcp_stack_conf *conf, const struct impair_conf *a_to_b,
	   const struct impair_conf *b_to_a)
{
	/* an unimpaired link deep enough for a burst of 10,000 SYNs */
	static const struct impair_conf none = {.max_held = 16384};

	memset(h, 0, sizeof(*h));
	h->pool = pool;
	h->now = 1000000;
	h->link = memlink_create(a_to_b ? a_to_b : &none, b_to_a ? b_to_a : &none, 0);
	h->side[0].s = tcp_stack_create(conf, "h_a", 0, pool, out_a, h, h->now);
	h->side[1].s = tcp_stack_create(conf, "h_b", 0, pool, out_b, h, h->now);
	if (h->link == NULL || h->side[0].s == NULL || h->side[1].s == NULL) {
		h_fini(h);
		return -1;
	}
	return 0;
}

void h_fini(struct harness *h)
{
	tcp_stack_destroy(h->side[0].s);
	tcp_stack_destroy(h->side[1].s);
	memlink_destroy(h->link);
	h->side[0].s = h->side[1].s = NULL;
	h->link = NULL;
}

/* What the net layer does before TCP: IPv4 header checks. */
static bool ip_ok(struct rte_mbuf *m)
{
	struct rte_ipv4_hdr *ip;

	if (rte_pktmbuf_data_len(m) < sizeof(*ip))
		return false;
	ip = rte_pktmbuf_mtod(m, struct rte_ipv4_hdr *);
	if (ip->version_ihl != RTE_IPV4_VHL_DEF || rte_raw_cksum(ip, sizeof(*ip)) != 0xffff ||
	    rte_be_to_cpu_16(ip->total_length) != rte_pktmbuf_pkt_len(m))
		return false;
	m->l3_len = sizeof(*ip);
	return true;
}

static void deliver(struct harness *h, int side)
{
	struct rte_mbuf *m[H_BURST];
	uint16_t n;

	while ((n = memlink_recv(h->link, side, m, H_BURST, h->now)) != 0)
		for (uint16_t i = 0; i < n; i++) {
			rte_pktmbuf_adj(m[i], RTE_ETHER_HDR_LEN);
			if (ip_ok(m[i]))
				tcp_input(h->side[side].s, m[i], h->now);
			else
				rte_pktmbuf_free(m[i]);
		}
}

static void step(struct harness *h)
{
	deliver(h, 0);
	deliver(h, 1);
	tcp_stack_poll(h->side[0].s, h->now);
	tcp_stack_poll(h->side[1].s, h->now);
}

bool h_run_until(struct harness *h, uint64_t us, bool (*cond)(void *), void *arg)
{
	uint64_t end = h->now + us;

	for (;;) {
		step(h);
		if (cond != NULL && cond(arg))
			return true;
		if (h->now >= end)
			return false;
		uint64_t next = RTE_MIN(memlink_next_due(h->link), h->now + 1000);

		h->now = RTE_MIN(RTE_MAX(next, h->now + 1), end);
	}
}

void h_run(struct harness *h, uint64_t us)
{
	h_run_until(h, us, NULL, NULL);
}

/* --- the application ---------------------------------------------------------- */

void h_app_init(struct h_app *a, size_t rx_cap)
{
	memset(a, 0, sizeof(*a));
	a->rx_cap = rx_cap;
	a->rx = rx_cap ? malloc(rx_cap) : NULL;
}

void h_app_fini(struct h_app *a)
{
	free(a->rx);
	a->rx = NULL;
}

void h_app_pump(struct h_app *a)
{
	if (a->conn == NULL)
		return;
	if (a->tx_off < a->tx_len)
		a->tx_off += tcp_send(a->conn, a->tx + a->tx_off, a->tx_len - a->tx_off);
	if (a->close_after_tx && a->tx_off == a->tx_len) {
		a->close_after_tx = false;
		tcp_close(a->conn);
	}
}

bool h_app_saw(const struct h_app *a, enum tcp_event ev, int *err)
{
	if (a->nev[ev] == 0)
		return false;
	if (err != NULL)
		*err = a->err[ev];
	return true;
}

static size_t app_recv(struct tcp_conn *c, void *arg, const uint8_t *data, size_t len)
{
	struct h_app *a = arg;

	if (a->rx_stall)
		return 0;
	if (a->echo)
		return tcp_send(c, data, len);
	if (a->rx_len + len <= a->rx_cap)
		memcpy(a->rx + a->rx_len, data, len);
	a->rx_len += len;
	return len;
}

static void app_event(struct tcp_conn *c, void *arg, enum tcp_event ev, int err)
{
	struct h_app *a = arg;

	(void)c;
	a->nev[ev]++;
	a->err[ev] = err;
	if (ev == TCP_EV_CLOSED) {
		a->conn = NULL;
		return;
	}
	if (ev == TCP_EV_PEER_CLOSED && a->echo)
		tcp_close(c);
	h_app_pump(a);
}

const struct tcp_ops h_ops = {.recv = app_recv, .event = app_event};

static int app_accept(void *larg, struct tcp_conn *c, const struct tcp_ops **ops,
		      void **arg)
{
	struct h_app *a = larg;

	if (a->conn != NULL && !a->echo)
		return -EBUSY;              /* one connection per test app */
	a->conn = c;
	*ops = &h_ops;
	*arg = a;
	h_app_pump(a);
	return 0;
}

int h_listen(struct harness *h, int side, uint16_t port, struct h_app *app)
{
	return tcp_listen(h->side[side].s, side ? H_ADDR_B : H_ADDR_A, port,
			  app_accept, app);
}

struct tcp_conn *h_connect(struct harness *h, int side, uint16_t port,
			   struct h_app *app)
{
	int err;

	app->conn = tcp_connect(h->side[side].s, side ? H_ADDR_B : H_ADDR_A,
				side ? H_ADDR_A : H_ADDR_B, port, &h_ops, app, &err);
	return app->conn;
}
