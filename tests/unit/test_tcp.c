/*
 * test_tcp: the TCP engine end to end on the in-memory link — our stack on
 * both ends, a deterministic clock, seeded impairments and targeted drops.
 */
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <rte_ip.h>
#include <rte_memcpy.h>
#include <rte_tcp.h>

#include "dataplane/tcp/tcp_impl.h"
#include "tests/unit/suites.h"
#include "tests/unit/tcp_harness.h"

#define SEC 1000000ull
#define PORT 25

static struct rte_mempool *pool;
static struct harness h;
static struct h_app cli, srv;
static uint8_t *pattern;
#define PATTERN_LEN (4u << 20)

static int suite_init(void)
{
	pool = rte_pktmbuf_pool_create("test_tcp", 16383, 256, 0,
				       RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	pattern = malloc(PATTERN_LEN);
	if (pool == NULL || pattern == NULL)
		return -1;
	uint64_t x = 0x9e3779b97f4a7c15ull;
	for (size_t i = 0; i < PATTERN_LEN; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		pattern[i] = (uint8_t)x;
	}
	return 0;
}

static int suite_fini(void)
{
	rte_mempool_free(pool);
	free(pattern);
	return 0;
}

static struct tcp_stack_conf base_conf(void)
{
	struct tcp_stack_conf c;

	tcp_stack_conf_default(&c);
	c.max_conns = 64;
	c.time_wait_max = 64;
	c.sndbuf = 65536;
	c.rcvbuf = 65536;
	return c;
}

static void start(const struct tcp_stack_conf *conf, const struct impair_conf *ab,
		  const struct impair_conf *ba)
{
	CU_ASSERT_FATAL(h_init(&h, pool, conf, ab, ba) == 0);
	h_app_init(&cli, PATTERN_LEN);
	h_app_init(&srv, PATTERN_LEN);
	CU_ASSERT_FATAL(h_listen(&h, 1, PORT, &srv) == 0);
}

static void stop(void)
{
	h_fini(&h);
	h_app_fini(&cli);
	h_app_fini(&srv);
	/* Every mbuf came back: nothing leaked in the stacks or the link. */
	CU_ASSERT_EQUAL(rte_mempool_in_use_count(pool), 0);
}

/* The client resets its connection, the stacks settle, all is freed. */
static void abort_stop(void)
{
	tcp_abort(cli.conn);
	h_run(&h, SEC);
	stop();
}

static bool both_closed(void *arg)
{
	(void)arg;
	return h_app_saw(&cli, TCP_EV_CLOSED, NULL) && h_app_saw(&srv, TCP_EV_CLOSED, NULL);
}

static bool connected(void *arg)
{
	(void)arg;
	return cli.conn != NULL && srv.conn != NULL &&
	       cli.conn->state == TCP_ESTABLISHED && srv.conn->state == TCP_ESTABLISHED;
}

static const struct tcp_stats *st(int side)
{
	return tcp_stack_stats(h.side[side].s);
}

/* --- handshake and transfer --------------------------------------------- */

static void test_handshake(void)
{
	struct tcp_stack_conf conf = base_conf();

	start(&conf, NULL, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(h_connect(&h, 0, PORT, &cli));
	CU_ASSERT(h_run_until(&h, SEC, connected, NULL));
	CU_ASSERT(h_app_saw(&cli, TCP_EV_CONNECTED, NULL));
	CU_ASSERT(cli.conn->ts_ok && cli.conn->ws_ok && cli.conn->sack_ok);
	CU_ASSERT(srv.conn->ts_ok && srv.conn->ws_ok && srv.conn->sack_ok);
	CU_ASSERT_EQUAL(cli.conn->snd_mss, 1460 - 12);
	CU_ASSERT_EQUAL(cli.conn->snd_wscale, srv.conn->rcv_wscale);
	CU_ASSERT_EQUAL(srv.conn->snd_una, srv.conn->iss + 1);
	CU_ASSERT_EQUAL(cli.conn->rcv_nxt, srv.conn->iss + 1);
	CU_ASSERT_EQUAL(st(0)->active_opens, 1);
	CU_ASSERT_EQUAL(st(1)->passive_opens, 1);
	tcp_abort(cli.conn);
	h_run(&h, SEC);
	CU_ASSERT(h_app_saw(&srv, TCP_EV_CLOSED, NULL));
	stop();
}

/* LEN bytes each way under the given impairment, then an orderly close;
 * every byte checked. */
static void transfer(const struct impair_conf *imp, size_t len, uint64_t limit)
{
	struct tcp_stack_conf conf = base_conf();
	int err = 1;

	start(&conf, imp, imp);
	cli.tx = pattern, cli.tx_len = len, cli.close_after_tx = true;
	srv.tx = pattern + 1, srv.tx_len = len, srv.close_after_tx = true;
	CU_ASSERT_PTR_NOT_NULL_FATAL(h_connect(&h, 0, PORT, &cli));
	CU_ASSERT(h_run_until(&h, limit, both_closed, NULL));
	CU_ASSERT_EQUAL(srv.rx_len, len);
	CU_ASSERT_EQUAL(cli.rx_len, len);
	CU_ASSERT(memcmp(srv.rx, pattern, RTE_MIN(len, srv.rx_len)) == 0);
	CU_ASSERT(memcmp(cli.rx, pattern + 1, RTE_MIN(len, cli.rx_len)) == 0);
	CU_ASSERT(h_app_saw(&cli, TCP_EV_CLOSED, &err) && err == 0);
	CU_ASSERT(h_app_saw(&srv, TCP_EV_CLOSED, &err) && err == 0);
	CU_ASSERT(h_app_saw(&cli, TCP_EV_PEER_CLOSED, NULL));
	CU_ASSERT(h_app_saw(&srv, TCP_EV_PEER_CLOSED, NULL));
	stop();
}

static void test_transfer_clean(void)
{
	transfer(NULL, 1u << 20, 30 * SEC);
}

static void test_transfer_delay(void)
{
	struct impair_conf imp = {.delay_us = 10000, .seed = 1};

	transfer(&imp, 2u << 20, 60 * SEC);
}

static void test_transfer_impaired(void)
{
	static const uint32_t loss_ppm[] = {10000, 50000, 100000, 200000};

	for (unsigned i = 0; i < RTE_DIM(loss_ppm); i++) {
		struct impair_conf imp = {
			.loss_ppm = loss_ppm[i], .dup_ppm = 10000, .reorder_ppm = 50000,
			.corrupt_ppm = 5000, .delay_us = 5000, .jitter_us = 1000,
			.reorder_delay_us = 3000, .seed = 100 + i,
		};
		transfer(&imp, i < 2 ? 1u << 20 : 256u << 10, 3600 * SEC);
	}
}

/* --- losses at chosen places ------------------------------------------------ */

struct drop_plan {
	int side;
	uint32_t nth[8];    /* drop these data segments (1-based) */
	uint32_t seen;
	bool all;           /* drop everything from this side */
};

/* The TCP payload length of an IPv4 frame. */
static uint32_t payload_len(const struct rte_mbuf *m)
{
	const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(m, const struct rte_ipv4_hdr *);
	const struct rte_tcp_hdr *th = (const void *)(ip + 1);

	return rte_pktmbuf_pkt_len(m) - sizeof(*ip) - (th->data_off >> 4) * 4;
}

static bool drop_filter(void *arg, int side, const struct rte_mbuf *m)
{
	struct drop_plan *p = arg;

	if (side != p->side)
		return false;
	if (p->all)
		return true;
	if (payload_len(m) == 0)
		return false;
	p->seen++;
	for (int i = 0; i < 8 && p->nth[i]; i++)
		if (p->nth[i] == p->seen)
			return true;
	return false;
}

static void test_fast_retransmit(void)
{
	struct tcp_stack_conf conf = base_conf();
	struct drop_plan plan = {.side = 0, .nth = {5}};
	struct impair_conf imp = {.delay_us = 2000};

	start(&conf, &imp, &imp);
	h.filter = drop_filter, h.filter_arg = &plan;
	cli.tx = pattern, cli.tx_len = 200000, cli.close_after_tx = true;
	srv.close_after_tx = true;
	h_connect(&h, 0, PORT, &cli);
	CU_ASSERT(h_run_until(&h, 10 * SEC, both_closed, NULL));
	CU_ASSERT_EQUAL(srv.rx_len, 200000);
	CU_ASSERT(memcmp(srv.rx, pattern, 200000) == 0);
	CU_ASSERT(st(1)->dup_acks == 0);
	CU_ASSERT(st(0)->dup_acks >= 3);
	CU_ASSERT_EQUAL(st(0)->rexmit_fast, 1);
	CU_ASSERT_EQUAL(st(0)->rexmit_rto, 0);
	CU_ASSERT(st(1)->ooo_segs >= 3);
	stop();
}

#define HOLES 4

static bool accepted(void *arg)
{
	(void)arg;
	return cli.conn != NULL && srv.conn != NULL;
}

/* HOLES data segments of one window are lost; 400,000 bytes go from the
 * client to a server whose SACK is on or off. */
static void holes_in_one_window(bool peer_sack)
{
	struct tcp_stack_conf conf = base_conf();
	struct drop_plan plan = {.side = 0, .nth = {12, 15, 19, 22}};
	struct impair_conf imp = {.delay_us = 2000};

	start(&conf, &imp, &imp);
	h.side[1].s->conf.sack_off = !peer_sack;
	h.filter = drop_filter, h.filter_arg = &plan;
	cli.tx = pattern, cli.tx_len = 400000, cli.close_after_tx = true;
	srv.close_after_tx = true;
	h_connect(&h, 0, PORT, &cli);
	CU_ASSERT_FATAL(h_run_until(&h, SEC, accepted, NULL));
	CU_ASSERT_EQUAL(cli.conn->sack_ok, peer_sack);
	CU_ASSERT_EQUAL(srv.conn->sack_ok, peer_sack);
	CU_ASSERT(h_run_until(&h, 20 * SEC, both_closed, NULL));
	CU_ASSERT_EQUAL(srv.rx_len, 400000);
	CU_ASSERT(memcmp(srv.rx, pattern, 400000) == 0);
	CU_ASSERT(st(0)->rexmit_fast + st(0)->rexmit_sack >= HOLES);
	CU_ASSERT_EQUAL(st(0)->rexmit_rto, 0);
}

/* Several holes in one window are all repaired by SACK recovery (RFC
 * 6675), in one recovery episode, without a timeout and without sending
 * again what the peer already holds. */
static void test_several_holes(void)
{
	holes_in_one_window(true);
	CU_ASSERT_EQUAL(h.filtered, HOLES);
	CU_ASSERT_EQUAL(st(0)->rexmit_fast, 1);            /* one episode */
	CU_ASSERT(st(0)->rexmit_sack >= HOLES - 1);
	CU_ASSERT(st(0)->rexmit_fast + st(0)->rexmit_sack + st(0)->rexmit_rto <= HOLES + 2);
	stop();
}

/* A peer that does not do SACK: the same holes are repaired by NewReno
 * partial ACKs (RFC 6582), one per round trip, still without a timeout. */
static void test_several_holes_no_sack(void)
{
	holes_in_one_window(false);
	CU_ASSERT_EQUAL(st(0)->rexmit_sack, 0);
	CU_ASSERT(st(0)->rexmit_fast >= HOLES);
	stop();
}

/* --- congestion control, exactly ------------------------------------------- */

static struct tcp_conn cc_conn(void)
{
	struct tcp_conn c = {.snd_mss = 1000, .snd_una = 5000, .snd_max = 5000,
			     .una_at_send = 5000};

	tcp_cc_init(&c);
	return c;
}

/* Slow start counts acknowledged bytes up to 2 * SMSS per ACK (RFC 3465
 * L = 2); congestion avoidance adds one SMSS per cwnd of bytes acked, so
 * an ACK for every second segment grows cwnd as fast as one per segment. */
static void test_cc_byte_counting(void)
{
	struct tcp_conn c = cc_conn();

	CU_ASSERT_EQUAL(c.cwnd, 10000);
	tcp_cc_ack(&c, 2000);
	CU_ASSERT_EQUAL(c.cwnd, 12000);
	tcp_cc_ack(&c, 5000);
	CU_ASSERT_EQUAL(c.cwnd, 14000);
	tcp_cc_ack(&c, 500);
	CU_ASSERT_EQUAL(c.cwnd, 14500);
	c.ssthresh = c.cwnd = 10000;
	for (int i = 0; i < 4; i++) {
		tcp_cc_ack(&c, 2000);
		CU_ASSERT_EQUAL(c.cwnd, 10000);
	}
	tcp_cc_ack(&c, 2000);                   /* 10,000 bytes: one SMSS */
	CU_ASSERT_EQUAL(c.cwnd, 11000);
	CU_ASSERT_EQUAL(c.bytes_acked, 0);
	for (int i = 0; i < 11; i++)
		tcp_cc_ack(&c, 1000);
	CU_ASSERT_EQUAL(c.cwnd, 12000);
}

/* ssthresh halves the flight as it was when we last sent, not what is
 * left after a burst of ACKs processed before output could refill, and
 * not more than cwnd. */
static void test_cc_flight_at_send(void)
{
	struct tcp_conn c = cc_conn();

	c.cwnd = 100000;
	c.snd_max = c.snd_una + 100000;        /* sent: a full cwnd */
	c.una_at_send = c.snd_una;
	c.snd_una += 90000;                    /* 45 ACKs in one burst */
	c.recover = c.snd_una;
	CU_ASSERT_FALSE(tcp_cc_dupack(&c));
	CU_ASSERT_FALSE(tcp_cc_dupack(&c));
	CU_ASSERT(tcp_cc_dupack(&c));
	CU_ASSERT_EQUAL(c.ssthresh, 50000);
	CU_ASSERT_EQUAL(c.cwnd, 53000);
	/* with nothing acked since the last send it is FlightSize itself */
	c = cc_conn();
	c.cwnd = 40000;
	c.snd_max = c.snd_una + 30000;
	c.una_at_send = c.snd_una;
	tcp_cc_sack_recovery(&c);
	CU_ASSERT_EQUAL(c.ssthresh, 15000);
	CU_ASSERT_EQUAL(c.cwnd, 15000);
	/* ... but never more than cwnd: SACKed bytes left pipe and new data
	 * followed, so FlightSize (which counts them) outgrew the window */
	c = cc_conn();
	c.cwnd = 20000;
	c.snd_max = c.snd_una + 30000;
	c.una_at_send = c.snd_una;
	tcp_cc_sack_recovery(&c);
	CU_ASSERT_EQUAL(c.ssthresh, 10000);
	CU_ASSERT_EQUAL(c.cwnd, 10000);
}

/* A full ACK ends recovery: with SACK cwnd is ssthresh (pipe kept the
 * flight at cwnd); NewReno deflates to min(ssthresh, FlightSize + SMSS). */
static void test_cc_full_ack(void)
{
	struct tcp_conn c = cc_conn();

	c.sack_ok = true;
	c.ssthresh = 40000, c.cwnd = 40000, c.flags = TF_IN_RECOVERY;
	c.snd_max = c.snd_una + 3000;
	tcp_cc_full_ack(&c);
	CU_ASSERT_EQUAL(c.cwnd, 40000);
	CU_ASSERT_FALSE(c.flags & TF_IN_RECOVERY);
	c.sack_ok = false;
	c.cwnd = 80000, c.flags = TF_IN_RECOVERY;
	tcp_cc_full_ack(&c);
	CU_ASSERT_EQUAL(c.cwnd, 4000);
	/* a lost retransmission lowers both a second time */
	c.cwnd = 40000, c.ssthresh = 40000;
	c.snd_max = c.snd_una + 60000;
	tcp_cc_reduce_again(&c);
	CU_ASSERT_EQUAL(c.ssthresh, 20000);
	CU_ASSERT_EQUAL(c.cwnd, 20000);
	CU_ASSERT_EQUAL(c.recover, c.snd_max);
}

/* Drop the first two transmissions of one data segment: the fast
 * retransmission is lost too.  SACKs for data sent after it show that;
 * it goes out a third time without waiting for the RTO. */
struct rxt_drop {
	uint32_t off;       /* the segment's offset in the stream */
	unsigned left;      /* transmissions still to drop */
};

static bool rxt_drop_filter(void *arg, int side, const struct rte_mbuf *m)
{
	struct rxt_drop *d = arg;
	const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(m, const struct rte_ipv4_hdr *);
	const struct rte_tcp_hdr *th = (const void *)(ip + 1);
	uint32_t plen = rte_pktmbuf_pkt_len(m) - sizeof(*ip) - (th->data_off >> 4) * 4;

	if (side != 0 || plen == 0 || cli.conn == NULL || d->left == 0 ||
	    rte_be_to_cpu_32(th->sent_seq) != cli.conn->iss + 1 + d->off)
		return false;
	d->left--;
	return true;
}

static void test_lost_retransmission(void)
{
	struct tcp_stack_conf conf = base_conf();
	struct rxt_drop d = {.off = 30 * (1460 - 12), .left = 2};
	struct impair_conf imp = {.delay_us = 10000};

	start(&conf, &imp, &imp);
	h.filter = rxt_drop_filter, h.filter_arg = &d;
	cli.tx = pattern, cli.tx_len = 1u << 20, cli.close_after_tx = true;
	srv.close_after_tx = true;
	h_connect(&h, 0, PORT, &cli);
	CU_ASSERT(h_run_until(&h, 30 * SEC, both_closed, NULL));
	CU_ASSERT_EQUAL(h.filtered, 2);
	CU_ASSERT_EQUAL(srv.rx_len, 1u << 20);
	CU_ASSERT(memcmp(srv.rx, pattern, 1u << 20) == 0);
	CU_ASSERT_EQUAL(st(0)->rexmit_fast, 1);
	CU_ASSERT_EQUAL(st(0)->rexmit_lost, 1);
	CU_ASSERT_EQUAL(st(0)->rexmit_rto, 0);
	CU_ASSERT_EQUAL(st(0)->rto_timeouts, 0);
	stop();
}

static bool srv_got(void *arg)
{
	return srv.rx_len == *(const size_t *)arg;
}

/* The last two data segments of a burst are lost and nothing follows
 * them: one DupAck at most could come, so RFC 6675 alone waits for the
 * RTO.  The tail loss probe (RFC 8985 §7) resends the last segment two
 * round trips later; its SACK shows the hole below it lost, and SACK
 * recovery (which makes the congestion response) repairs it. */
static void test_tail_loss_probe(void)
{
	struct tcp_stack_conf conf = base_conf();
	struct drop_plan plan = {.side = 0, .nth = {19, 20}};
	struct impair_conf imp = {.delay_us = 10000};
	size_t len = 20 * (1460 - 12);
	uint64_t t0;

	start(&conf, &imp, &imp);
	h_connect(&h, 0, PORT, &cli);
	CU_ASSERT_FATAL(h_run_until(&h, SEC, connected, NULL));
	h.filter = drop_filter, h.filter_arg = &plan;
	cli.tx = pattern, cli.tx_len = len;
	h_app_pump(&cli);
	t0 = h.now;
	CU_ASSERT(h_run_until(&h, 5 * SEC, srv_got, &len));
	CU_ASSERT_EQUAL(h.filtered, 2);
	CU_ASSERT(memcmp(srv.rx, pattern, len) == 0);
	CU_ASSERT_EQUAL(st(0)->tlp_probes, 1);
	CU_ASSERT_EQUAL(st(0)->rexmit_fast, 1);
	CU_ASSERT_EQUAL(st(0)->tlp_losses, 0);
	CU_ASSERT_EQUAL(st(0)->rexmit_rto, 0);
	/* two round trips to the probe, one for it, one for the repair:
	 * before the 200 ms RTO would even have fired */
	CU_ASSERT(h.now - t0 < 150000);
	h_run(&h, SEC);
	CU_ASSERT_FALSE(cli.conn->flags & (TF_TLP_OUT | TF_IN_RECOVERY));
	CU_ASSERT_EQUAL(st(0)->tlp_probes, 1);
	abort_stop();
}

/* The last data segment of the first flight is lost and so are the ACKs
 * of the rest: the probe alone repairs the loss.  Its ACK might answer a
 * late original, so the verdict waits for the next ACK: past the probe,
 * with no D-SACK or duplicate ACK before it, the probe repaired a loss and
 * ssthresh is lowered as a recovery would have (RFC 8985 §7.4.2). */
struct tail_and_acks {
	struct drop_plan data;
	uint64_t acks_until;
};

static bool tail_and_acks_filter(void *arg, int side, const struct rte_mbuf *m)
{
	struct tail_and_acks *t = arg;

	if (side == 1)
		return h.now < t->acks_until;
	return drop_filter(&t->data, side, m);
}

static void test_tail_loss_probe_repairs(void)
{
	struct tcp_stack_conf conf = base_conf();
	struct tail_and_acks t = {.data = {.side = 0, .nth = {10}}};
	struct impair_conf imp = {.delay_us = 10000};
	size_t len = 30 * (1460 - 12);
	uint32_t cwnd;

	start(&conf, &imp, &imp);
	h_connect(&h, 0, PORT, &cli);
	CU_ASSERT_FATAL(h_run_until(&h, SEC, connected, NULL));
	t.acks_until = h.now + 15000;
	h.filter = tail_and_acks_filter, h.filter_arg = &t;
	cli.tx = pattern, cli.tx_len = len;
	h_app_pump(&cli);
	cwnd = cli.conn->cwnd;
	CU_ASSERT(h_run_until(&h, 5 * SEC, srv_got, &len));
	h_run(&h, SEC);
	CU_ASSERT(memcmp(srv.rx, pattern, len) == 0);
	CU_ASSERT_EQUAL(st(0)->tlp_probes, 1);
	CU_ASSERT_EQUAL(st(0)->tlp_losses, 1);
	CU_ASSERT_EQUAL(st(0)->rexmit_rto, 0);
	CU_ASSERT(cli.conn->ssthresh < cwnd);
	CU_ASSERT_FALSE(cli.conn->flags & TF_TLP_OUT);
	abort_stop();
}

/* Only the ACKs of a window are lost: the probe draws a D-SACK, so no
 * window reduction follows. */
static bool drop_acks_once(void *arg, int side, const struct rte_mbuf *m)
{
	uint64_t *until = arg;

	(void)m;
	return side == 1 && h.now < *until;
}

static void test_tail_loss_probe_lost_acks(void)
{
	struct tcp_stack_conf conf = base_conf();
	struct impair_conf imp = {.delay_us = 10000};
	size_t len = 20 * (1460 - 12);
	uint64_t until;
	uint32_t cwnd;

	start(&conf, &imp, &imp);
	h_connect(&h, 0, PORT, &cli);
	CU_ASSERT_FATAL(h_run_until(&h, SEC, connected, NULL));
	until = h.now + 15000;                 /* the ACKs of the first flight */
	h.filter = drop_acks_once, h.filter_arg = &until;
	cli.tx = pattern, cli.tx_len = len;
	h_app_pump(&cli);
	cwnd = cli.conn->cwnd;
	CU_ASSERT(h_run_until(&h, 5 * SEC, srv_got, &len));
	h_run(&h, SEC);
	CU_ASSERT(h.filtered > 0);
	CU_ASSERT_EQUAL(st(0)->tlp_probes, 1);
	CU_ASSERT_EQUAL(st(0)->tlp_losses, 0);
	CU_ASSERT_EQUAL(st(0)->rexmit_rto, 0);
	CU_ASSERT(cli.conn->cwnd >= cwnd);
	CU_ASSERT(cli.conn->snd_una == cli.conn->snd_max);
	abort_stop();
}

/* --- reordering: RACK's window and the undo of spurious retransmissions ---- */

/* Data segments (1-based, retransmissions counted) that the link holds
 * back LATE µs longer than the others. */
struct late_plan {
	uint32_t nth[4];
	uint32_t seen;
	uint64_t late;
};

static bool srv_has(void *arg)
{
	return srv.rx_len >= *(const size_t *)arg;
}

static uint64_t late_delay(void *arg, int side, const struct rte_mbuf *m)
{
	struct late_plan *p = arg;

	if (side != 0 || payload_len(m) == 0)
		return 0;
	p->seen++;
	for (int i = 0; i < 4 && p->nth[i]; i++)
		if (p->nth[i] == p->seen)
			return p->late;
	return 0;
}

/* 20 ms round trips, 64 KiB windows, 500 segments from the client.
 * Segment 15 arrives 5 ms late, behind the three after it: the connection
 * has seen no reordering yet, so RFC 6675 resends it at the third DupAck
 * and halves cwnd.  The original fills the hole, the retransmission draws
 * a D-SACK: the reduction is undone (ssthresh back to infinity, slow start
 * as before) and reordering is now known, with a window of two steps
 * (min_RTT / 2 = 10 ms).  Segment 150 arrives 5 ms late: recovery waits
 * the window, the hole fills within it, nothing is resent.  Segment 300 is
 * lost: after the window, fast recovery repairs it, without a timeout, and
 * no D-SACK undoes that reduction. */
static void test_reordering_window_and_undo(void)
{
	struct tcp_stack_conf conf = base_conf();
	struct impair_conf imp = {.delay_us = 10000};
	struct late_plan late = {.nth = {15, 150}, .late = 5000};
	struct drop_plan drop = {.side = 0, .nth = {300}};
	size_t len = 500 * (1460 - 12), at_150 = 140 * (1460 - 12);
	const struct tcp_conn *c;

	start(&conf, &imp, &imp);
	h_connect(&h, 0, PORT, &cli);
	CU_ASSERT_FATAL(h_run_until(&h, SEC, connected, NULL));
	c = cli.conn;
	h.delay = late_delay, h.delay_arg = &late;
	h.filter = drop_filter, h.filter_arg = &drop;
	cli.tx = pattern, cli.tx_len = len;
	h_app_pump(&cli);
	CU_ASSERT_FATAL(h_run_until(&h, 5 * SEC, srv_has, &at_150));
	CU_ASSERT_EQUAL(st(0)->rexmit_fast, 1);
	CU_ASSERT_EQUAL(st(0)->dsack_in, 1);
	CU_ASSERT_EQUAL(st(0)->undo_dsack, 1);
	CU_ASSERT_EQUAL(c->ssthresh, UINT32_MAX);
	CU_ASSERT_EQUAL(c->reo_mult, 2);
	CU_ASSERT_EQUAL(st(0)->reord_waits, 0);
	CU_ASSERT(h_run_until(&h, 5 * SEC, srv_got, &len));
	h_run(&h, SEC);
	CU_ASSERT(memcmp(srv.rx, pattern, len) == 0);
	CU_ASSERT_EQUAL(h.filtered, 1);
	CU_ASSERT_EQUAL(st(0)->reord_waits, 2);
	CU_ASSERT_EQUAL(st(0)->reord_saves, 1);
	CU_ASSERT_EQUAL(st(0)->rexmit_fast, 2);
	CU_ASSERT_EQUAL(st(0)->rexmit_sack, 0);
	CU_ASSERT_EQUAL(st(0)->rexmit_rto, 0);
	CU_ASSERT_EQUAL(st(0)->undo_dsack, 1);
	CU_ASSERT(c->ssthresh < UINT32_MAX);
	CU_ASSERT(c->snd_una == c->snd_max);
	abort_stop();
}

/* Data segments 20 and 30 of one window are lost, and so is the first
 * segment sent after recovery began (at or past RecoveryPoint).  Recovery
 * still runs (for 30) when that loss shows: it belongs to a later window
 * and gets a reduction of its own (RFC 5681 §3.1) when recovery resends
 * it — ssthresh halves again — not one reduction for both windows. */
struct past_recover {
	struct drop_plan first;
	bool dropped;
};

static bool past_recover_filter(void *arg, int side, const struct rte_mbuf *m)
{
	struct past_recover *p = arg;
	const struct tcp_conn *c = cli.conn;
	const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(m, const struct rte_ipv4_hdr *);
	const struct rte_tcp_hdr *th = (const void *)(ip + 1);

	if (drop_filter(&p->first, side, m))
		return true;
	if (side != 0 || p->dropped || payload_len(m) == 0 || !(c->flags & TF_IN_RECOVERY) ||
	    seq_lt(rte_be_to_cpu_32(th->sent_seq), c->recover))
		return false;
	p->dropped = true;
	return true;
}

static void test_loss_after_recovery_point(void)
{
	struct tcp_stack_conf conf = base_conf();
	struct impair_conf imp = {.delay_us = 10000};
	struct past_recover plan = {.first = {.side = 0, .nth = {20, 30}}};
	size_t len = 300 * (1460 - 12);
	uint32_t ssthresh;

	start(&conf, &imp, &imp);
	h_connect(&h, 0, PORT, &cli);
	CU_ASSERT_FATAL(h_run_until(&h, SEC, connected, NULL));
	h.filter = past_recover_filter, h.filter_arg = &plan;
	cli.tx = pattern, cli.tx_len = len;
	h_app_pump(&cli);
	while (!(cli.conn->flags & TF_IN_RECOVERY) && h.now < 5 * SEC)
		h_run(&h, 1000);
	ssthresh = cli.conn->ssthresh;
	CU_ASSERT(h_run_until(&h, 5 * SEC, srv_got, &len));
	h_run(&h, SEC);
	CU_ASSERT(memcmp(srv.rx, pattern, len) == 0);
	CU_ASSERT_EQUAL(h.filtered, 3);
	CU_ASSERT_EQUAL(st(0)->rexmit_fast, 1);
	CU_ASSERT_EQUAL(st(0)->rexmit_sack, 2);
	CU_ASSERT_EQUAL(st(0)->loss_after_recover, 1);
	CU_ASSERT_EQUAL(st(0)->rexmit_rto, 0);
	CU_ASSERT_EQUAL(cli.conn->ssthresh, ssthresh / 2);
	abort_stop();
}

/* --- bulk one way under loss and delay ------------------------------------ */

/* 4 MiB from the client, 1 MiB buffers, 10 ms delay each way (RTT 20 ms)
 * with 1% loss, 1% duplication and 5% reordering both ways, three seeds:
 * no timeout, and within 6 s of simulated time each (before byte counting,
 * ssthresh from the flight at the last send, cwnd = ssthresh after SACK
 * recovery and lost-retransmission detection: 6.6-8.1 s with timeouts). */
static void test_bulk_lossy_long_rtt(void)
{
	size_t len = PATTERN_LEN;

	for (uint64_t seed = 1; seed <= 3; seed++) {
		struct impair_conf imp = {.loss_ppm = 10000, .dup_ppm = 10000,
					  .reorder_ppm = 50000, .delay_us = 10000,
					  .seed = seed, .max_held = 16384};
		struct tcp_stack_conf conf = base_conf();
		uint64_t t0;

		conf.sndbuf = conf.rcvbuf = 1u << 20;
		start(&conf, &imp, &imp);
		cli.tx = pattern, cli.tx_len = len;
		CU_ASSERT_PTR_NOT_NULL_FATAL(h_connect(&h, 0, PORT, &cli));
		CU_ASSERT_FATAL(h_run_until(&h, SEC, connected, NULL));
		t0 = h.now;
		CU_ASSERT(h_run_until(&h, 6 * SEC, srv_got, &len));
		CU_ASSERT(h.now - t0 < 6 * SEC);
		CU_ASSERT_EQUAL(srv.rx_len, len);
		CU_ASSERT(memcmp(srv.rx, pattern, RTE_MIN(len, srv.rx_len)) == 0);
		CU_ASSERT(st(0)->rexmit_fast >= 10);
		CU_ASSERT_EQUAL(st(0)->rexmit_rto, 0);
		tcp_abort(cli.conn);
		h_run(&h, SEC);
		stop();
	}
}

/* The SACK scoreboard against a byte map: random blocks (stale, beyond
 * snd_max, overlapping, touching), snd_una moving on, across 2^32.  While
 * the map has no more ranges than the scoreboard keeps, both agree exactly,
 * as do the newly SACKed byte counts and pipe (RFC 6675 §4); past that the
 * scoreboard stays sorted, disjoint, within [snd_una, snd_max) and a
 * subset of the map. */
#define SB_SPAN 6000u

static unsigned map_ranges(const uint8_t *map, uint32_t from)
{
	unsigned n = 0;

	for (uint32_t i = from; i < SB_SPAN; i++)
		n += map[i] && (i == from || !map[i - 1]);
	return n;
}

/* RFC 6675 SetPipe over the map, octet by octet. */
static uint32_t map_pipe(const struct tcp_conn *c, const uint8_t *map, uint32_t from)
{
	uint32_t pipe = 0, above = 0, ranges = 0;

	for (uint32_t i = SB_SPAN; i-- > from;) {
		if (map[i]) {
			above++;
			ranges += i + 1 == SB_SPAN || !map[i + 1];
			continue;
		}
		bool lost = ranges >= 3 || above > 2u * c->snd_mss;

		pipe += !lost;
		pipe += seq_lt(c->iss + i, c->sb.high_rxt);
	}
	return pipe;
}

static void test_sack_scoreboard_model(void)
{
	static uint8_t map[SB_SPAN];
	struct tcp_conn c = {0};
	uint64_t x = 0x2545f4914f6cdd1dull;
	unsigned exact = 0, given_up = 0, bad = 0;

	memset(map, 0, sizeof(map));
	c.sack_ok = true;
	c.snd_mss = 100;
	c.iss = 0xffffffffu - SB_SPAN / 2;        /* map[i] is seq iss + i */
	c.snd_una = c.iss;
	c.snd_max = c.iss + SB_SPAN;
	c.sb.high_rxt = c.iss;
	/* a block across two ranges, beyond either end */
	struct tcp_opts two = {.nsack = 2, .sack = {{c.iss + 500, c.iss + 1200},
						    {c.iss + 1500, c.iss + 3000}}};
	struct tcp_opts across = {.nsack = 1, .sack = {{c.iss + 1000, c.iss + 2000}}};

	CU_ASSERT_EQUAL(tcp_sack_update(&c, &two), 700 + 1500);
	CU_ASSERT_EQUAL(tcp_sack_update(&c, &across), 300);
	CU_ASSERT_EQUAL(c.sb.n, 1);
	CU_ASSERT_EQUAL(c.sb.r[0].start, c.iss + 500);
	CU_ASSERT_EQUAL(c.sb.r[0].end, c.iss + 3000);
	tcp_sack_clear(&c);
	for (int round = 0; round < 20000; round++) {
		struct tcp_opts o = {0};
		uint32_t from = c.snd_una - c.iss, want = 0, fresh;
		unsigned before = map_ranges(map, from);

		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		if (x % 50 == 0 && from < SB_SPAN - 100) {   /* a cumulative ACK */
			c.snd_una += (uint32_t)(x >> 8) % 300;
			from = c.snd_una - c.iss;
		}
		o.nsack = (uint8_t)((x >> 16) % (TCP_OPT_SACK_MAX + 1));
		for (uint8_t b = 0; b < o.nsack; b++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			uint32_t s = (uint32_t)(x % (SB_SPAN + 400)) - 200;
			uint32_t e = s + (uint32_t)((x >> 20) % 250);

			o.sack[b] = (struct tcp_sack_block){c.iss + s, c.iss + e};
			if ((int32_t)e <= (int32_t)from || (int32_t)e > (int32_t)SB_SPAN ||
			    (int32_t)s >= (int32_t)e)
				continue;
			for (int32_t i = RTE_MAX((int32_t)s, (int32_t)from); i < (int32_t)e; i++)
				want += !map[i], map[i] = 1;
		}
		if (x % 7 == 0)
			c.sb.high_rxt = c.snd_una + (uint32_t)(x >> 24) % 2000;
		fresh = tcp_sack_update(&c, &o);
		for (uint8_t i = 0; i < c.sb.n; i++) {
			bad += !seq_lt(c.sb.r[i].start, c.sb.r[i].end) ||
			       !seq_geq(c.sb.r[i].start, c.snd_una) ||
			       !seq_leq(c.sb.r[i].end, c.snd_max) ||
			       (i != 0 && !seq_gt(c.sb.r[i].start, c.sb.r[i - 1].end));
			for (uint32_t q = c.sb.r[i].start; q != c.sb.r[i].end && !bad; q++)
				bad += !map[q - c.iss];
		}
		CU_ASSERT_EQUAL_FATAL(bad, 0);
		if (before + o.nsack <= TCP_SACK_RANGES) {      /* nothing given up */
			uint32_t held = 0, in_map = 0;

			for (uint8_t i = 0; i < c.sb.n; i++)
				held += c.sb.r[i].end - c.sb.r[i].start;
			for (uint32_t i = from; i < SB_SPAN; i++)
				in_map += map[i];
			CU_ASSERT_EQUAL_FATAL(held, in_map);
			CU_ASSERT_EQUAL_FATAL(fresh, want);
			CU_ASSERT_EQUAL_FATAL(tcp_sack_pipe(&c), map_pipe(&c, map, from));
			exact++;
		} else {
			/* the scoreboard may have given data up: go on from its view */
			given_up++;
			memset(map, 0, sizeof(map));
			for (uint8_t i = 0; i < c.sb.n; i++)
				for (uint32_t q = c.sb.r[i].start; q != c.sb.r[i].end; q++)
					map[q - c.iss] = 1;
		}
		if (from >= SB_SPAN - 100) {                 /* all acked: again */
			memset(map, 0, sizeof(map));
			c.snd_una = c.iss;
			tcp_sack_clear(&c);
		}
	}
	CU_ASSERT(exact > 10000);
	CU_ASSERT(given_up > 100);
}

static uint64_t rto_times[32];
static int nrto;

static bool record_rto(void *arg, int side, const struct rte_mbuf *m)
{
	(void)m;
	if (side == 0 && nrto < 32)
		rto_times[nrto++] = h.now;
	return *(bool *)arg;
}

static void test_rto_backoff_give_up(void)
{
	struct tcp_stack_conf conf = base_conf();
	bool drop = false;
	int err = 0;

	conf.data_retries = 5;
	start(&conf, NULL, NULL);
	h_connect(&h, 0, PORT, &cli);
	CU_ASSERT_FATAL(h_run_until(&h, SEC, connected, NULL));
	h.filter = record_rto, h.filter_arg = &drop;
	drop = true;
	nrto = 0;
	tcp_send(cli.conn, "hello", 5);
	CU_ASSERT(h_run_until(&h, 600 * SEC, both_closed, NULL) == false);
	CU_ASSERT(h_app_saw(&cli, TCP_EV_CLOSED, &err));
	CU_ASSERT_EQUAL(err, -ETIMEDOUT);
	CU_ASSERT_EQUAL(st(0)->rexmit_rto, 5);
	CU_ASSERT_EQUAL(st(0)->give_ups, 1);
	/* original + 5 retransmissions + the RST; the gaps double */
	CU_ASSERT_EQUAL(nrto, 7);
	for (int i = 2; i < 6; i++) {
		uint64_t a = rto_times[i] - rto_times[i - 1];
		uint64_t b = rto_times[i + 1] - rto_times[i];

		CU_ASSERT(b >= 2 * a - 2000 && b <= 2 * a + 2000);
	}
	tcp_abort(srv.conn);
	stop();
}

/* --- windows ------------------------------------------------------------------ */

static void test_zero_window_persist(void)
{
	struct tcp_stack_conf conf = base_conf();

	conf.rcvbuf = 16384;
	start(&conf, NULL, NULL);
	srv.rx_stall = true;
	cli.tx = pattern, cli.tx_len = 100000;
	h_connect(&h, 0, PORT, &cli);
	h_run(&h, 30 * SEC);
	CU_ASSERT_EQUAL(srv.rx_len, 0);
	CU_ASSERT_EQUAL(srv.conn->rcv.ring.len, 16384);
	CU_ASSERT_EQUAL(cli.conn->snd_wnd, 0);
	CU_ASSERT(st(0)->persist_probes >= 3);
	CU_ASSERT(cli.conn->state == TCP_ESTABLISHED);
	srv.rx_stall = false;
	tcp_recv_resume(srv.conn);
	h_run(&h, 5 * SEC);
	CU_ASSERT_EQUAL(srv.rx_len, 100000);
	CU_ASSERT(memcmp(srv.rx, pattern, 100000) == 0);
	tcp_abort(cli.conn);
	tcp_abort(srv.conn);
	stop();
}

/* --- closing ------------------------------------------------------------------- */

static void test_close_active_passive(void)
{
	struct tcp_stack_conf conf = base_conf();

	start(&conf, NULL, NULL);
	h_connect(&h, 0, PORT, &cli);
	CU_ASSERT_FATAL(h_run_until(&h, SEC, connected, NULL));
	struct tcp_conn *c = cli.conn, *s = srv.conn;

	tcp_close(c);
	CU_ASSERT_EQUAL(c->state, TCP_FIN_WAIT_1);
	h_run(&h, 10000);
	CU_ASSERT_EQUAL(c->state, TCP_FIN_WAIT_2);
	CU_ASSERT_EQUAL(s->state, TCP_CLOSE_WAIT);
	CU_ASSERT(h_app_saw(&srv, TCP_EV_PEER_CLOSED, NULL));
	/* half-close: the passive side still sends */
	tcp_send(s, "late", 4);
	h_run(&h, 10000);
	CU_ASSERT_EQUAL(cli.rx_len, 4);
	tcp_close(s);
	CU_ASSERT_EQUAL(s->state, TCP_LAST_ACK);
	h_run(&h, 10000);
	CU_ASSERT(both_closed(NULL));
	CU_ASSERT_EQUAL(st(0)->time_wait, 1);     /* the active closer waits */
	CU_ASSERT_EQUAL(st(1)->time_wait, 0);
	h_run(&h, 61 * SEC);
	CU_ASSERT_EQUAL(st(0)->time_wait, 0);
	CU_ASSERT_EQUAL(st(0)->time_wait_expired, 1);
	stop();
}

/* After our FIN, FIN_WAIT_2 lasts while the peer still sends (a half
 * close); only a silent peer is given up on after fin_wait2_us. */
static void test_fin_wait_2_while_peer_sends(void)
{
	struct tcp_stack_conf conf = base_conf();
	int err = 1;

	conf.fin_wait2_us = SEC;
	start(&conf, NULL, NULL);
	h_connect(&h, 0, PORT, &cli);
	CU_ASSERT_FATAL(h_run_until(&h, SEC, connected, NULL));
	tcp_close(cli.conn);
	h_run(&h, 10000);
	CU_ASSERT_EQUAL_FATAL(cli.conn->state, TCP_FIN_WAIT_2);
	for (int i = 0; i < 10 && srv.conn != NULL; i++) {  /* a byte per 300 ms */
		tcp_send(srv.conn, pattern + i, 1);
		h_run(&h, 300000);
	}
	CU_ASSERT_EQUAL(cli.rx_len, 10);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cli.conn);
	CU_ASSERT_EQUAL(cli.conn->state, TCP_FIN_WAIT_2);
	h_run(&h, 2 * SEC);                          /* then silence */
	CU_ASSERT(h_app_saw(&cli, TCP_EV_CLOSED, &err) && err == -ETIMEDOUT);
	CU_ASSERT(h_app_saw(&srv, TCP_EV_CLOSED, &err) && err == -ECONNRESET);
	stop();
}

static void test_simultaneous_close(void)
{
	struct tcp_stack_conf conf = base_conf();
	struct impair_conf imp = {.delay_us = 5000};

	start(&conf, &imp, &imp);
	h_connect(&h, 0, PORT, &cli);
	CU_ASSERT_FATAL(h_run_until(&h, SEC, connected, NULL));
	struct tcp_conn *c = cli.conn, *s = srv.conn;

	tcp_close(c);
	tcp_close(s);
	h_run(&h, 7000);           /* the FINs cross */
	CU_ASSERT_EQUAL(c->state, TCP_CLOSING);
	CU_ASSERT_EQUAL(s->state, TCP_CLOSING);
	h_run(&h, 20000);
	CU_ASSERT(both_closed(NULL));
	CU_ASSERT_EQUAL(st(0)->time_wait, 1);
	CU_ASSERT_EQUAL(st(1)->time_wait, 1);
	stop();
}

static void test_simultaneous_open(void)
{
	struct tcp_stack_conf conf = base_conf();
	struct impair_conf imp = {.delay_us = 5000};
	int err;

	conf.port_lo = conf.port_hi = 40001;
	start(&conf, &imp, &imp);
	tcp_unlisten(h.side[1].s, H_ADDR_B, PORT);
	/* A:40001 → B:40001 and B:40001 → A:40001 at the same moment */
	cli.conn = tcp_connect(h.side[0].s, H_ADDR_A, H_ADDR_B, 40001, &h_ops, &cli, &err);
	srv.conn = tcp_connect(h.side[1].s, H_ADDR_B, H_ADDR_A, 40001, &h_ops, &srv, &err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cli.conn);
	CU_ASSERT_PTR_NOT_NULL_FATAL(srv.conn);
	CU_ASSERT(h_run_until(&h, SEC, connected, NULL));
	tcp_send(cli.conn, "ab", 2);
	tcp_send(srv.conn, "xyz", 3);
	h_run(&h, 50000);
	CU_ASSERT_EQUAL(srv.rx_len, 2);
	CU_ASSERT_EQUAL(cli.rx_len, 3);
	tcp_abort(cli.conn);
	tcp_abort(srv.conn);
	stop();
}

/* --- resets -------------------------------------------------------------------- */

/* Inject a segment into side TO as if from the other side. */
static void inject_bad(int to, const struct tcp_key *k, uint32_t seq, uint32_t ack,
		       uint8_t flags, int flip_byte);

static void inject(int to, const struct tcp_key *k, uint32_t seq, uint32_t ack, uint8_t flags)
{
	inject_bad(to, k, seq, ack, flags, -1);
}

/* The same, with one bit of byte FLIP_BYTE flipped after the checksum. */
/* A segment as if from K's remote end, bit 2 of byte FLIP_BYTE flipped
 * after the checksum (-1: none). */
static struct rte_mbuf *segment(const struct tcp_key *k, uint32_t seq, uint32_t ack,
				uint8_t flags, int flip_byte)
{
	struct {
		struct rte_ipv4_hdr ip;
		struct rte_tcp_hdr th;
	} __rte_packed f = {
		.ip = {.version_ihl = RTE_IPV4_VHL_DEF,
		       .total_length = rte_cpu_to_be_16(40),
		       .time_to_live = 64, .next_proto_id = IPPROTO_TCP,
		       .src_addr = rte_cpu_to_be_32(k->raddr),
		       .dst_addr = rte_cpu_to_be_32(k->laddr)},
		.th = {.src_port = rte_cpu_to_be_16(k->rport),
		       .dst_port = rte_cpu_to_be_16(k->lport),
		       .sent_seq = rte_cpu_to_be_32(seq),
		       .recv_ack = rte_cpu_to_be_32(ack),
		       .data_off = 5 << 4, .tcp_flags = flags,
		       .rx_win = rte_cpu_to_be_16(1000)},
	};
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);

	f.th.cksum = rte_ipv4_udptcp_cksum(&f.ip, &f.th);
	if (flip_byte >= 0)
		((uint8_t *)&f)[flip_byte] ^= 0x04;
	CU_ASSERT_FATAL(m != NULL);
	rte_memcpy(rte_pktmbuf_append(m, sizeof(f)), &f, sizeof(f));
	m->l3_len = 20;
	return m;
}

static void inject_bad(int to, const struct tcp_key *k, uint32_t seq, uint32_t ack,
		       uint8_t flags, int flip_byte)
{
	tcp_input(h.side[to].s, segment(k, seq, ack, flags, flip_byte), h.now);
}

/* tcp_owns: what a worker asks before passing a segment on. */
static void test_owns(void)
{
	struct tcp_stack_conf conf = base_conf();

	start(&conf, NULL, NULL);
	h_connect(&h, 0, PORT, &cli);
	CU_ASSERT_FATAL(h_run_until(&h, SEC, connected, NULL));
	struct tcp_key k = srv.conn->key, other = k, syn = k;
	struct rte_mbuf *m;

	other.rport++;                       /* no such connection */
	syn.rport += 2;
	m = segment(&k, 0, 0, RTE_TCP_ACK_FLAG, -1);
	CU_ASSERT(tcp_owns(h.side[1].s, m));                 /* its connection */
	CU_ASSERT(!tcp_owns(h.side[0].s, m));                /* not the other stack's */
	rte_pktmbuf_free(m);
	m = segment(&other, 0, 0, RTE_TCP_ACK_FLAG, -1);
	CU_ASSERT(!tcp_owns(h.side[1].s, m));                /* an ACK to a listener */
	rte_pktmbuf_free(m);
	m = segment(&syn, 0, 0, RTE_TCP_SYN_FLAG, -1);
	CU_ASSERT(tcp_owns(h.side[1].s, m));                 /* a SYN to a listener */
	rte_pktmbuf_free(m);
	tcp_abort(cli.conn);
	stop();
}

static void test_rst_and_challenge_ack(void)
{
	struct tcp_stack_conf conf = base_conf();
	int err = 0;

	start(&conf, NULL, NULL);
	h_connect(&h, 0, PORT, &cli);
	CU_ASSERT_FATAL(h_run_until(&h, SEC, connected, NULL));
	struct tcp_conn *s = srv.conn;

	/* in the window but not exact: a challenge ACK, no reset (RFC 5961) */
	inject(1, &s->key, s->rcv_nxt + 100, 0, RTE_TCP_RST_FLAG);
	CU_ASSERT_EQUAL(st(1)->challenge_acks, 1);
	CU_ASSERT_EQUAL(s->state, TCP_ESTABLISHED);
	/* outside the window: dropped silently */
	inject(1, &s->key, s->rcv_nxt + 1000000, 0, RTE_TCP_RST_FLAG);
	CU_ASSERT_EQUAL(st(1)->challenge_acks, 1);
	/* a SYN on an established connection: challenge ACK */
	inject(1, &s->key, s->rcv_nxt + 5, 0, RTE_TCP_SYN_FLAG);
	CU_ASSERT_EQUAL(st(1)->challenge_acks, 2);
	CU_ASSERT_EQUAL(s->state, TCP_ESTABLISHED);
	/* an ACK for data never sent: ACKed back and dropped */
	inject(1, &s->key, s->rcv_nxt, s->snd_max + 5000, RTE_TCP_ACK_FLAG);
	CU_ASSERT_EQUAL(st(1)->drop_bad_ack, 1);
	/* a corrupted exact RST is caught by the checksum */
	for (int b = 20; b < 40; b++)
		inject_bad(1, &s->key, s->rcv_nxt, 0, RTE_TCP_RST_FLAG, b);
	CU_ASSERT_EQUAL(st(1)->drop_cksum, 20);
	CU_ASSERT_EQUAL(s->state, TCP_ESTABLISHED);
	/* exact: reset */
	inject(1, &s->key, s->rcv_nxt, 0, RTE_TCP_RST_FLAG);
	CU_ASSERT(h_app_saw(&srv, TCP_EV_CLOSED, &err));
	CU_ASSERT_EQUAL(err, -ECONNRESET);
	h_run(&h, SEC);
	tcp_abort(cli.conn);
	stop();
}

/* --- FIN in each state (RFC 9293 §3.10.7.4, eighth step) -------------------- */

#define FA (RTE_TCP_FIN_FLAG | RTE_TCP_ACK_FLAG)
#define HDR_FLAGS (RTE_TCP_FIN_FLAG | RTE_TCP_SYN_FLAG | RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG)

/* What the server (side 1) sent last; the link can lose its frames, and
 * the client's frames that carry an ACK. */
struct watch {
	unsigned n;
	uint8_t flags;
	uint32_t seq, ack;
	bool lose_srv, lose_cli_acks;
};

static bool watch_filter(void *arg, int side, const struct rte_mbuf *m)
{
	struct watch *w = arg;
	const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(m, const struct rte_ipv4_hdr *);
	const struct rte_tcp_hdr *th = (const void *)(ip + 1);

	if (side == 0)
		return w->lose_cli_acks && (th->tcp_flags & RTE_TCP_ACK_FLAG);
	w->n++;
	w->flags = th->tcp_flags;
	w->seq = rte_be_to_cpu_32(th->sent_seq);
	w->ack = rte_be_to_cpu_32(th->recv_ack);
	return w->lose_srv;
}

/* After the server's output round, its last segment is a bare ACK of ACK,
 * sent since the count was N. */
static void assert_acked(struct watch *w, unsigned n, uint32_t ack)
{
	tcp_stack_poll(h.side[1].s, h.now);
	CU_ASSERT(w->n > n);
	CU_ASSERT_EQUAL(w->flags & HDR_FLAGS, RTE_TCP_ACK_FLAG);
	CU_ASSERT_EQUAL(w->ack, ack);
}

/* An established pair with the watch on the server's output. */
static struct tcp_conn *fin_start(struct watch *w)
{
	struct tcp_stack_conf conf = base_conf();

	start(&conf, NULL, NULL);
	h.filter = watch_filter, h.filter_arg = w;
	h_connect(&h, 0, PORT, &cli);
	CU_ASSERT_FATAL(h_run_until(&h, SEC, connected, NULL));
	return srv.conn;
}

/* The handshake's ACK carries the FIN: accepted, then at once CLOSE_WAIT. */
static void test_fin_syn_rcvd(void)
{
	struct tcp_stack_conf conf = base_conf();
	struct watch w = {.lose_cli_acks = true};
	struct tcp_conn *s;
	void *data;

	start(&conf, NULL, NULL);
	h.filter = watch_filter, h.filter_arg = &w;
	h_connect(&h, 0, PORT, &cli);
	h_run(&h, 10000);
	struct tcp_key k = {.raddr = H_ADDR_A, .laddr = H_ADDR_B,
			    .rport = cli.conn->key.lport, .lport = PORT};

	CU_ASSERT_FATAL(rte_hash_lookup_data(h.side[1].s->flows, &k, &data) >= 0);
	s = data;
	CU_ASSERT_EQUAL_FATAL(s->state, TCP_SYN_RCVD);
	CU_ASSERT_PTR_NULL(srv.conn);
	uint32_t fin_seq = s->rcv_nxt, n = w.n;

	inject(1, &k, fin_seq, s->snd_nxt, FA);
	CU_ASSERT_PTR_EQUAL(srv.conn, s);
	CU_ASSERT_EQUAL(s->state, TCP_CLOSE_WAIT);
	CU_ASSERT_EQUAL(s->rcv_nxt, fin_seq + 1);
	CU_ASSERT_EQUAL(srv.nev[TCP_EV_PEER_CLOSED], 1);
	CU_ASSERT_EQUAL(srv.nev[TCP_EV_CLOSED], 0);
	assert_acked(&w, n, fin_seq + 1);
	tcp_abort(cli.conn);
	tcp_abort(s);
	stop();
}

/* ESTABLISHED → CLOSE_WAIT; the FIN again is re-ACKed there and in
 * LAST_ACK, with no second event; the ACK of our FIN closes. */
static void test_fin_established_close_wait_last_ack(void)
{
	struct watch w = {0};
	struct tcp_conn *s = fin_start(&w);
	uint32_t fin_seq = s->rcv_nxt, n = w.n;
	int err = 1;

	inject(1, &s->key, fin_seq, s->snd_una, FA);
	CU_ASSERT_EQUAL(s->state, TCP_CLOSE_WAIT);
	CU_ASSERT_EQUAL(srv.nev[TCP_EV_PEER_CLOSED], 1);
	assert_acked(&w, n, fin_seq + 1);

	n = w.n;
	inject(1, &s->key, fin_seq, s->snd_una, FA);      /* retransmitted */
	CU_ASSERT_EQUAL(s->state, TCP_CLOSE_WAIT);
	assert_acked(&w, n, fin_seq + 1);

	w.lose_srv = true;                                 /* our FIN is lost */
	tcp_close(s);
	tcp_stack_poll(h.side[1].s, h.now);
	CU_ASSERT_EQUAL(s->state, TCP_LAST_ACK);
	CU_ASSERT(w.flags & RTE_TCP_FIN_FLAG);
	n = w.n;
	inject(1, &s->key, fin_seq, s->snd_una, FA);
	CU_ASSERT_EQUAL(s->state, TCP_LAST_ACK);
	assert_acked(&w, n, fin_seq + 1);
	CU_ASSERT_EQUAL(srv.nev[TCP_EV_PEER_CLOSED], 1);

	inject(1, &s->key, fin_seq + 1, s->snd_max, RTE_TCP_ACK_FLAG);
	CU_ASSERT(h_app_saw(&srv, TCP_EV_CLOSED, &err) && err == 0);
	CU_ASSERT_EQUAL(st(1)->time_wait, 0);
	tcp_abort(cli.conn);
	stop();
}

/* FIN_WAIT_1: a FIN that does not ack ours → CLOSING, where the FIN again
 * is re-ACKed; the ACK of our FIN → TIME_WAIT. */
static void test_fin_fin_wait_1_closing(void)
{
	struct watch w = {0};
	struct tcp_conn *s = fin_start(&w);
	uint32_t fin_seq = s->rcv_nxt, n;
	int err = 1;

	w.lose_srv = true;
	tcp_close(s);
	tcp_stack_poll(h.side[1].s, h.now);
	CU_ASSERT_EQUAL_FATAL(s->state, TCP_FIN_WAIT_1);
	n = w.n;
	inject(1, &s->key, fin_seq, s->snd_una, FA);
	CU_ASSERT_EQUAL(s->state, TCP_CLOSING);
	CU_ASSERT_EQUAL(srv.nev[TCP_EV_PEER_CLOSED], 1);
	assert_acked(&w, n, fin_seq + 1);

	n = w.n;
	inject(1, &s->key, fin_seq, s->snd_una, FA);      /* retransmitted */
	CU_ASSERT_EQUAL(s->state, TCP_CLOSING);
	assert_acked(&w, n, fin_seq + 1);
	CU_ASSERT_EQUAL(srv.nev[TCP_EV_PEER_CLOSED], 1);

	inject(1, &s->key, fin_seq + 1, s->snd_max, RTE_TCP_ACK_FLAG);
	CU_ASSERT(h_app_saw(&srv, TCP_EV_CLOSED, &err) && err == 0);
	CU_ASSERT_EQUAL(st(1)->time_wait, 1);
	tcp_abort(cli.conn);
	stop();
}

/* FIN_WAIT_1: a FIN that also acks ours → TIME_WAIT at once. */
static void test_fin_fin_wait_1_time_wait(void)
{
	struct watch w = {0};
	struct tcp_conn *s = fin_start(&w);
	uint32_t fin_seq = s->rcv_nxt, n;
	int err = 1;

	w.lose_srv = true;
	tcp_close(s);
	tcp_stack_poll(h.side[1].s, h.now);
	CU_ASSERT_EQUAL_FATAL(s->state, TCP_FIN_WAIT_1);
	n = w.n;
	inject(1, &s->key, fin_seq, s->snd_max, FA);      /* s is freed now */
	CU_ASSERT_EQUAL(srv.nev[TCP_EV_PEER_CLOSED], 1);
	CU_ASSERT(h_app_saw(&srv, TCP_EV_CLOSED, &err) && err == 0);
	CU_ASSERT_EQUAL(st(1)->time_wait, 1);
	assert_acked(&w, n, fin_seq + 1);
	tcp_abort(cli.conn);
	stop();
}

/* FIN_WAIT_2 → TIME_WAIT; there the FIN again is re-ACKed and restarts
 * 2*MSL (RFC 9293 §3.10.7.4). */
static void test_fin_fin_wait_2_time_wait(void)
{
	struct watch w = {0};
	struct tcp_conn *s = fin_start(&w);
	struct tcp_key k = s->key;
	uint32_t fin_seq = s->rcv_nxt, n;
	int err = 1;

	tcp_close(s);
	h_run(&h, 10000);                                  /* the client ACKs it */
	CU_ASSERT_EQUAL_FATAL(s->state, TCP_FIN_WAIT_2);
	w.lose_srv = true;
	n = w.n;
	inject(1, &k, fin_seq, s->snd_max, FA);            /* s is freed now */
	CU_ASSERT_EQUAL(srv.nev[TCP_EV_PEER_CLOSED], 1);
	CU_ASSERT(h_app_saw(&srv, TCP_EV_CLOSED, &err) && err == 0);
	CU_ASSERT_EQUAL(st(1)->time_wait, 1);
	assert_acked(&w, n, fin_seq + 1);

	h_run(&h, 30 * SEC);
	n = w.n;
	inject(1, &k, fin_seq, 0, FA);                     /* our ACK was lost */
	CU_ASSERT_EQUAL(w.n, n + 1);
	CU_ASSERT_EQUAL(w.flags & HDR_FLAGS, RTE_TCP_ACK_FLAG);
	CU_ASSERT_EQUAL(w.ack, fin_seq + 1);
	h_run(&h, 45 * SEC);                               /* 75 s in TIME_WAIT */
	CU_ASSERT_EQUAL(st(1)->time_wait, 1);
	h_run(&h, 16 * SEC);                               /* 61 s since the FIN */
	CU_ASSERT_EQUAL(st(1)->time_wait, 0);
	CU_ASSERT_EQUAL(st(1)->time_wait_expired, 1);
	tcp_abort(cli.conn);
	stop();
}

static void test_refused(void)
{
	struct tcp_stack_conf conf = base_conf();
	int err = 0;

	start(&conf, NULL, NULL);
	h_connect(&h, 0, PORT + 1, &cli);       /* nobody listens there */
	h_run(&h, SEC);
	CU_ASSERT(h_app_saw(&cli, TCP_EV_CLOSED, &err));
	CU_ASSERT_EQUAL(err, -ECONNREFUSED);
	CU_ASSERT_EQUAL(st(1)->drop_no_conn, 1);
	stop();
}

/* --- SYN cookies, wraparound, scale ---------------------------------------------- */

static void test_syn_cookie(void)
{
	struct tcp_stack_conf conf = base_conf();

	conf.syn_backlog = 0;                   /* every SYN gets a cookie */
	start(&conf, NULL, NULL);
	cli.tx = pattern, cli.tx_len = 50000, cli.close_after_tx = true;
	srv.close_after_tx = true;
	h_connect(&h, 0, PORT, &cli);
	CU_ASSERT(h_run_until(&h, 10 * SEC, both_closed, NULL));
	CU_ASSERT_EQUAL(st(1)->syn_cookies_sent, 1);
	CU_ASSERT_EQUAL(st(1)->syn_cookies_ok, 1);
	CU_ASSERT_EQUAL(srv.rx_len, 50000);
	CU_ASSERT(memcmp(srv.rx, pattern, 50000) == 0);
	stop();
}

static uint32_t isn_near_wrap(void *arg, uint32_t la, uint16_t lp, uint32_t ra, uint16_t rp)
{
	(void)arg, (void)la, (void)lp, (void)ra, (void)rp;
	return 0xffffffffu - 3000;
}

static void test_wraparound(void)
{
	struct tcp_stack_conf conf = base_conf();

	start(&conf, NULL, NULL);
	tcp_stack_set_isn(h.side[0].s, isn_near_wrap, NULL);
	tcp_stack_set_isn(h.side[1].s, isn_near_wrap, NULL);
	cli.tx = pattern, cli.tx_len = 300000, cli.close_after_tx = true;
	srv.tx = pattern + 7, srv.tx_len = 300000, srv.close_after_tx = true;
	h_connect(&h, 0, PORT, &cli);
	CU_ASSERT(h_run_until(&h, 20 * SEC, both_closed, NULL));
	CU_ASSERT_EQUAL(srv.rx_len, 300000);
	CU_ASSERT_EQUAL(cli.rx_len, 300000);
	CU_ASSERT(memcmp(srv.rx, pattern, 300000) == 0);
	CU_ASSERT(memcmp(cli.rx, pattern + 7, 300000) == 0);
	stop();
}

#define MANY 10000

static void test_many_connections(void)
{
	struct tcp_stack_conf conf = base_conf();
	static struct h_app apps[MANY];
	struct h_app echo;
	unsigned done = 0, ok = 0;

	conf.max_conns = MANY + 16;
	conf.time_wait_max = MANY + 16;
	conf.sndbuf = conf.rcvbuf = 4096;
	start(&conf, NULL, NULL);
	tcp_unlisten(h.side[1].s, H_ADDR_B, PORT);
	h_app_init(&echo, 0);
	echo.echo = true;
	CU_ASSERT_FATAL(h_listen(&h, 1, PORT, &echo) == 0);
	for (unsigned i = 0; i < MANY; i++) {
		h_app_init(&apps[i], 128);
		apps[i].tx = pattern + i, apps[i].tx_len = 100;
		CU_ASSERT_PTR_NOT_NULL_FATAL(h_connect(&h, 0, PORT, &apps[i]));
	}
	h_run(&h, 2 * SEC);
	CU_ASSERT_EQUAL(st(0)->conns, MANY);
	CU_ASSERT_EQUAL(st(1)->conns, MANY);
	for (unsigned i = 0; i < MANY; i++) {
		ok += apps[i].rx_len == 100 && memcmp(apps[i].rx, pattern + i, 100) == 0;
		if (apps[i].conn != NULL)
			tcp_close(apps[i].conn);
	}
	CU_ASSERT_EQUAL(ok, MANY);
	h_run(&h, 2 * SEC);
	for (unsigned i = 0; i < MANY; i++) {
		done += h_app_saw(&apps[i], TCP_EV_CLOSED, NULL);
		h_app_fini(&apps[i]);
	}
	CU_ASSERT_EQUAL(done, MANY);
	CU_ASSERT_EQUAL(st(0)->conns, 0);
	CU_ASSERT_EQUAL(st(1)->conns, 0);
	CU_ASSERT_EQUAL(st(0)->time_wait, MANY);
	CU_ASSERT_EQUAL(st(0)->mem_bytes, 0);
	stop();
	h_app_fini(&echo);
}

void test_tcp_register(void)
{
	CU_pSuite s = CU_add_suite("tcp", suite_init, suite_fini);

	CU_add_test(s, "handshake and options", test_handshake);
	CU_add_test(s, "transfer both ways, clean", test_transfer_clean);
	CU_add_test(s, "transfer with 10 ms delay", test_transfer_delay);
	CU_add_test(s, "transfer under 1-20% loss, dup, reorder, corruption", test_transfer_impaired);
	CU_add_test(s, "fast retransmit after 3 dup ACKs", test_fast_retransmit);
	CU_add_test(s, "several holes in one window", test_several_holes);
	CU_add_test(s, "several holes, peer without SACK: NewReno", test_several_holes_no_sack);
	CU_add_test(s, "SACK scoreboard against a model", test_sack_scoreboard_model);
	CU_add_test(s, "byte counting in slow start and avoidance", test_cc_byte_counting);
	CU_add_test(s, "ssthresh from the flight at the last send", test_cc_flight_at_send);
	CU_add_test(s, "cwnd after a full ACK; a lost retransmission", test_cc_full_ack);
	CU_add_test(s, "a lost fast retransmission is sent again before the RTO", test_lost_retransmission);
	CU_add_test(s, "tail loss probe: SACK recovery of the last two segments", test_tail_loss_probe);
	CU_add_test(s, "tail loss probe repairs the lost last segment", test_tail_loss_probe_repairs);
	CU_add_test(s, "tail loss probe after lost ACKs: D-SACK, no reduction", test_tail_loss_probe_lost_acks);
	CU_add_test(s, "reordering: D-SACK undoes a spurious recovery, then RACK's window", test_reordering_window_and_undo);
	CU_add_test(s, "a loss past RecoveryPoint is a second reduction", test_loss_after_recovery_point);
	CU_add_test(s, "4 MiB under 1% loss and 20 ms RTT, no timeout", test_bulk_lossy_long_rtt);
	CU_add_test(s, "RTO backoff and give-up", test_rto_backoff_give_up);
	CU_add_test(s, "zero window and persist", test_zero_window_persist);
	CU_add_test(s, "active and passive close, TIME_WAIT expiry", test_close_active_passive);
	CU_add_test(s, "FIN_WAIT_2 lasts while the peer sends", test_fin_wait_2_while_peer_sends);
	CU_add_test(s, "simultaneous close", test_simultaneous_close);
	CU_add_test(s, "simultaneous open", test_simultaneous_open);
	CU_add_test(s, "RST and challenge ACKs", test_rst_and_challenge_ack);
	CU_add_test(s, "which stack owns a segment", test_owns);
	CU_add_test(s, "FIN in SYN_RCVD: with the handshake ACK", test_fin_syn_rcvd);
	CU_add_test(s, "FIN in ESTABLISHED, CLOSE_WAIT, LAST_ACK", test_fin_established_close_wait_last_ack);
	CU_add_test(s, "FIN in FIN_WAIT_1: CLOSING, re-ACKed there", test_fin_fin_wait_1_closing);
	CU_add_test(s, "FIN in FIN_WAIT_1 acking ours: TIME_WAIT", test_fin_fin_wait_1_time_wait);
	CU_add_test(s, "FIN in FIN_WAIT_2, then TIME_WAIT restarts 2MSL", test_fin_fin_wait_2_time_wait);
	CU_add_test(s, "connection refused", test_refused);
	CU_add_test(s, "SYN cookie handshake", test_syn_cookie);
	CU_add_test(s, "sequence wraparound", test_wraparound);
	CU_add_test(s, "10,000 concurrent connections", test_many_connections);
}
