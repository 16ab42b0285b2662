/*
 * fuzz_tcp_conn: libFuzzer target for the TCP engine's segment arrival.
 * Two stacks on the in-memory link (tests/unit/tcp_harness) bring the
 * server's side of a real connection into the state the input picks —
 * LISTEN, SYN_SENT, SYN_RCVD, ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2,
 * CLOSE_WAIT, LAST_ACK, CLOSING or TIME_WAIT — then the input's segments
 * (any flags, seq and ack as offsets from the connection's own numbers,
 * option bytes, payload, sometimes a bad checksum or header length) go to
 * tcp_input() while the clock moves on and both stacks keep running.
 * Nothing may crash, trip ASan/UBSan or keep an mbuf after teardown.
 *
 * Input: scenario, flags, two ISNs, then segments until it runs out:
 * flags, control, seq offset, ack offset, window, option length, header
 * length (or, in its low bits, what the application does next), payload
 * length, time step, option bytes, payload bytes.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include "dataplane/tcp/tcp_impl.h"
#include "tests/unit/tcp_harness.h"

#define PORT       25
#define MAX_SEGS   64
#define RX_CAP     (256u << 10)
#define TX_LEN     (48u << 10)

enum scenario {
	SC_LISTEN, SC_SYN_SENT, SC_SYN_RCVD, SC_ESTABLISHED, SC_FIN_WAIT_1,
	SC_FIN_WAIT_2, SC_CLOSE_WAIT, SC_LAST_ACK, SC_CLOSING, SC_TIME_WAIT,
	SC_N
};

/* control byte of a segment */
#define C_SEQ_RAW   0x01u   /* seq offset is from 0, not from rcv_nxt */
#define C_ACK_MAX   0x02u   /* ack offset is from snd_max, not snd_una */
#define C_BAD_CSUM  0x04u
#define C_NIC_GOOD  0x08u   /* the NIC says the checksum is good */
#define C_RAW_DOFF  0x10u   /* a header length from the input */
#define C_TIME_MASK 0x60u   /* time step unit: µs, ms, s, 10 s */
#define C_WIDE      0x80u   /* 32-bit offsets */

struct reader {
	const uint8_t *p;
	size_t n;
};

static uint8_t get8(struct reader *r)
{
	if (r->n == 0)
		return 0;
	r->n--;
	return *r->p++;
}

static uint16_t get16(struct reader *r)
{
	uint16_t lo = get8(r);

	return (uint16_t)(lo | get8(r) << 8);
}

static uint32_t get32(struct reader *r)
{
	uint32_t lo = get16(r);

	return lo | (uint32_t)get16(r) << 16;
}

static struct rte_mempool *pool;
static uint8_t tx_pattern[TX_LEN];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static char *eal[] = {"fuzz_tcp_conn", "--no-huge", "--no-pci", "--no-shconf",
			      "-m", "256", "-l", "0", NULL};

	(void)argc, (void)argv;
	if (rte_eal_init(8, eal) < 0)
		abort();
	pool = rte_pktmbuf_pool_create("fuzz_tcp", 4095, 0, 0,
				       RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	if (pool == NULL)
		abort();
	for (size_t i = 0; i < TX_LEN; i++)
		tx_pattern[i] = (uint8_t)(i * 7 + 3);
	return 0;
}

/* --- the connection under test ------------------------------------------ */

struct fz {
	struct harness h;
	struct h_app cli, srv;
	struct tcp_key key;     /* the server side's tuple */
	uint32_t isn[2];
	bool lose[2];           /* drop what a side sends */
	bool lose_cli_acks;
};

static bool fz_filter(void *arg, int side, const struct rte_mbuf *m)
{
	const struct fz *f = arg;
	const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(m, const struct rte_ipv4_hdr *);
	const struct rte_tcp_hdr *th = (const void *)(ip + 1);

	if (f->lose[side])
		return true;
	return side == 0 && f->lose_cli_acks && (th->tcp_flags & RTE_TCP_ACK_FLAG);
}

static uint32_t fz_isn(void *arg, uint32_t la, uint16_t lp, uint32_t ra, uint16_t rp)
{
	(void)la, (void)lp, (void)ra, (void)rp;
	return *(const uint32_t *)arg;
}

static void key_of(struct fz *f, uint16_t cport)
{
	f->key = (struct tcp_key){.raddr = H_ADDR_A, .laddr = H_ADDR_B,
				  .rport = cport, .lport = PORT};
}

/* Drive the pair into scenario SC; the server's tuple is left in f->key. */
static void setup(struct fz *f, enum scenario sc, uint8_t opt)
{
	struct harness *h = &f->h;

	if (sc == SC_LISTEN) {
		key_of(f, (uint16_t)(1024 + opt));
		return;
	}
	if (sc == SC_SYN_SENT) {
		/* the server side opens towards a client that never hears it */
		f->lose[1] = true;
		if (h_connect(h, 1, PORT, &f->srv) != NULL)
			f->key = f->srv.conn->key;
		return;
	}
	if (sc == SC_SYN_RCVD)
		f->lose_cli_acks = true;          /* the handshake's ACK is lost */
	if (opt & 1) {
		f->cli.tx = tx_pattern, f->cli.tx_len = TX_LEN;
		f->srv.tx = tx_pattern, f->srv.tx_len = TX_LEN / 2;
	}
	if (h_connect(h, 0, PORT, &f->cli) == NULL)
		return;
	key_of(f, f->cli.conn->key.lport);
	h_run(h, 20000);
	f->lose_cli_acks = false;
	if (sc == SC_SYN_RCVD || f->srv.conn == NULL || f->cli.conn == NULL)
		return;
	switch (sc) {
	case SC_FIN_WAIT_1:
	case SC_LAST_ACK:
	case SC_CLOSING:
		if (sc == SC_LAST_ACK) {
			tcp_close(f->cli.conn);
			h_run(h, 10000);
		}
		f->lose[1] = true;               /* our FIN is never acked */
		if (f->srv.conn != NULL)
			tcp_close(f->srv.conn);
		if (sc == SC_CLOSING && f->cli.conn != NULL)
			tcp_close(f->cli.conn);
		h_run(h, 10000);
		break;
	case SC_FIN_WAIT_2:
	case SC_TIME_WAIT:
		tcp_close(f->srv.conn);
		h_run(h, 10000);
		if (sc == SC_TIME_WAIT && f->cli.conn != NULL)
			tcp_close(f->cli.conn);
		h_run(h, 10000);
		break;
	case SC_CLOSE_WAIT:
		tcp_close(f->cli.conn);
		h_run(h, 10000);
		break;
	default:
		break;
	}
}

/* The server side's numbers now: a connection's, a TIME_WAIT entry's, or
 * the last ones seen when the tuple is gone. */
static void numbers(struct fz *f, uint32_t *rcv, uint32_t *una, uint32_t *max)
{
	struct tcp_stack *s = f->h.side[1].s;
	void *data;

	if (rte_hash_lookup_data(s->flows, &f->key, &data) < 0)
		return;
	if (((uintptr_t)data & 1) == 0) {
		const struct tcp_conn *c = data;

		*rcv = c->rcv_nxt, *una = c->snd_una, *max = c->snd_max;
	} else {
		const struct tcp_tw *tw = tcp_tw_get(s, (uintptr_t)data);

		*rcv = tw->rcv_nxt, *una = *max = tw->snd_nxt;
	}
}

/* The server's application acts between segments (bits of A): sends,
 * closes, stops or resumes taking data, or aborts. */
static void app_acts(struct fz *f, uint8_t a)
{
	struct tcp_conn *c = f->srv.conn;

	if (c == NULL || a == 0)
		return;
	if (a == 0x0f) {
		tcp_abort(c);
		f->srv.conn = NULL;
		return;
	}
	if (a & 1)
		tcp_send(c, tx_pattern, 1000);
	if (a & 2)
		tcp_close(c);
	if (a & 4) {
		f->srv.rx_stall = !f->srv.rx_stall;
		if (!f->srv.rx_stall)
			tcp_recv_resume(c);
	}
	if (a & 8)
		tcp_flush(c);
}

/* Build one segment from the input and hand it to the server's stack. */
static void segment(struct fz *f, struct reader *r, uint32_t *rcv, uint32_t *una,
		    uint32_t *max)
{
	uint8_t flags = get8(r), ctl = get8(r);
	uint32_t seq_off = (ctl & C_WIDE) ? get32(r) : (uint32_t)(int32_t)(int16_t)get16(r);
	uint32_t ack_off = (ctl & C_WIDE) ? get32(r) : (uint32_t)(int32_t)(int16_t)get16(r);
	uint16_t wnd = get16(r);
	uint8_t olen = get8(r) % (TCP_OPT_LEN_MAX + 1);
	uint8_t opt[TCP_OPT_LEN_MAX] = {0};
	uint8_t doff_raw = get8(r);
	uint16_t plen = get16(r) % 1461;
	uint16_t step = get16(r);

	for (uint8_t i = 0; i < olen; i++)
		opt[i] = get8(r);
	numbers(f, rcv, una, max);

	uint32_t hlen = sizeof(struct rte_tcp_hdr) + RTE_ALIGN_CEIL(olen, 4u);
	uint32_t total = sizeof(struct rte_ipv4_hdr) + hlen + plen;
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	uint8_t *p;

	if (m == NULL || (p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)total)) == NULL) {
		rte_pktmbuf_free(m);
		return;
	}
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)p;
	struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(ip + 1);

	memset(p, 0, total);
	*ip = (struct rte_ipv4_hdr){
		.version_ihl = RTE_IPV4_VHL_DEF, .time_to_live = 64,
		.total_length = rte_cpu_to_be_16((uint16_t)total),
		.next_proto_id = IPPROTO_TCP,
		.src_addr = rte_cpu_to_be_32(f->key.raddr),
		.dst_addr = rte_cpu_to_be_32(f->key.laddr),
	};
	*th = (struct rte_tcp_hdr){
		.src_port = rte_cpu_to_be_16(f->key.rport),
		.dst_port = rte_cpu_to_be_16(f->key.lport),
		.sent_seq = rte_cpu_to_be_32(((ctl & C_SEQ_RAW) ? 0 : *rcv) + seq_off),
		.recv_ack = rte_cpu_to_be_32(((ctl & C_ACK_MAX) ? *max : *una) + ack_off),
		.data_off = (uint8_t)((ctl & C_RAW_DOFF) ? doff_raw & 0xf0 : (hlen / 4) << 4),
		.tcp_flags = flags,
		.rx_win = rte_cpu_to_be_16(wnd),
	};
	memcpy(th + 1, opt, olen);
	for (uint16_t i = 0; i < plen; i++)
		p[sizeof(*ip) + hlen + i] = r->n != 0 ? get8(r) : (uint8_t)i;
	th->cksum = rte_ipv4_udptcp_cksum(ip, th);
	if (ctl & C_BAD_CSUM)
		th->cksum ^= 0x0100;
	if (ctl & C_NIC_GOOD)
		m->ol_flags |= RTE_MBUF_F_RX_L4_CKSUM_GOOD;
	m->l3_len = sizeof(*ip);
	tcp_input(f->h.side[1].s, m, f->h.now);
	if (!(ctl & C_RAW_DOFF))
		app_acts(f, doff_raw & 0x0f);

	/* Time moves on: fine steps run the link and both stacks; coarse
	 * ones jump to fire timers (RTO, persist, FIN_WAIT_2, TIME_WAIT). */
	static const uint64_t unit[] = {1, 1000, 1000000, 10000000};
	uint64_t us = (uint64_t)step * unit[(ctl & C_TIME_MASK) >> 5];

	if (us <= 20000) {
		h_run(&f->h, us);
	} else {
		f->h.now += us;
		h_run(&f->h, 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct reader r = {data, size};
	struct tcp_stack_conf conf;
	uint32_t rcv = 0, una = 0, max = 0;
	enum scenario sc = (enum scenario)(get8(&r) % SC_N);
	uint8_t opt = get8(&r);
	struct fz *f = calloc(1, sizeof(*f));

	if (f == NULL)
		abort();
	f->isn[0] = get32(&r);
	f->isn[1] = get32(&r);
	tcp_stack_conf_default(&conf);
	conf.max_conns = 8;
	conf.time_wait_max = 4;
	conf.syn_backlog = (opt & 2) ? 0 : 4;    /* SYN cookies for the listener */
	conf.sndbuf = conf.rcvbuf = (opt & 4) ? 4096 : 65536;
	conf.keepalive_idle_us = (opt & 8) ? 5000000 : 0;
	conf.sack_off = (opt & 16) != 0;
	if (h_init(&f->h, pool, &conf, NULL, NULL) < 0)
		abort();
	tcp_stack_set_isn(f->h.side[0].s, fz_isn, &f->isn[0]);
	tcp_stack_set_isn(f->h.side[1].s, fz_isn, &f->isn[1]);
	f->h.filter = fz_filter, f->h.filter_arg = f;
	h_app_init(&f->cli, RX_CAP);
	h_app_init(&f->srv, RX_CAP);
	f->srv.rx_stall = (opt & 32) != 0;
	f->srv.echo = (opt & 64) != 0;
	if (h_listen(&f->h, 1, PORT, &f->srv) < 0)
		abort();
	setup(f, sc, opt);
	f->lose[0] = f->lose[1] = (opt & 128) != 0;
	for (int i = 0; i < MAX_SEGS && r.n != 0; i++)
		segment(f, &r, &rcv, &una, &max);
	h_fini(&f->h);
	h_app_fini(&f->cli);
	h_app_fini(&f->srv);
	free(f);
	if (rte_mempool_in_use_count(pool) != 0)
		abort();                          /* an mbuf leaked */
	return 0;
}
