/*
 * tcp_output: everything that builds and sends segments — the send loop
 * (new data within min(cwnd, peer window), FIN, ACKs; in SACK recovery,
 * holes and new data while pipe is below cwnd), SYN and SYN-ACK,
 * probes, resets, the stateless replies, and the application's send side
 * (tcp_send, tcp_flush, tcp_close, tcp_abort).
 */
#include <errno.h>
#include <string.h>

#include <rte_ip.h>

#include "dataplane/tcp/tcp_cksum.h"
#include "dataplane/tcp/tcp_impl.h"

#define IPV4_TTL 64

struct seg {
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t wnd;
	struct tcp_opt_out opt;
	const struct tcp_ring *data;  /* payload source, or NULL */
	uint32_t off, len;            /* within data */
};

static void put_ip(struct tcp_stack *s, struct rte_ipv4_hdr *ip,
		   const struct tcp_key *k, uint16_t total)
{
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->type_of_service = 0;
	ip->total_length = rte_cpu_to_be_16(total);
	ip->packet_id = rte_cpu_to_be_16(s->ip_id++);
	ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
	ip->time_to_live = IPV4_TTL;
	ip->next_proto_id = IPPROTO_TCP;
	ip->hdr_checksum = 0;
	ip->src_addr = rte_cpu_to_be_32(k->laddr);
	ip->dst_addr = rte_cpu_to_be_32(k->raddr);
}

static void put_tcp(struct rte_tcp_hdr *th, const struct tcp_key *k,
		    const struct seg *g, size_t hlen)
{
	th->src_port = rte_cpu_to_be_16(k->lport);
	th->dst_port = rte_cpu_to_be_16(k->rport);
	th->sent_seq = rte_cpu_to_be_32(g->seq);
	th->recv_ack = rte_cpu_to_be_32(g->flags & RTE_TCP_ACK_FLAG ? g->ack : 0);
	th->data_off = (uint8_t)((hlen / 4) << 4);
	th->tcp_flags = g->flags;
	th->rx_win = rte_cpu_to_be_16(g->wnd);
	th->cksum = 0;
	th->tcp_urp = 0;
}

/* Build and hand one segment to the network.  Returns 0 or -ENOBUFS. */
static int xmit(struct tcp_stack *s, const struct tcp_key *k, const struct seg *g)
{
	uint8_t opt[TCP_OPT_LEN_MAX];
	size_t olen = tcp_opt_write(opt, &g->opt);
	size_t hlen = sizeof(struct rte_tcp_hdr) + olen;
	uint16_t total = (uint16_t)(sizeof(struct rte_ipv4_hdr) + hlen + g->len);
	struct rte_mbuf *m = rte_pktmbuf_alloc(s->pool);
	struct rte_ipv4_hdr *ip;
	struct rte_tcp_hdr *th;

	if (m == NULL || (ip = (void *)rte_pktmbuf_append(m, total)) == NULL) {
		rte_pktmbuf_free(m);
		TCP_STAT(s, no_mbuf, 1);
		return -ENOBUFS;
	}
	th = (struct rte_tcp_hdr *)(ip + 1);
	put_ip(s, ip, k, total);
	put_tcp(th, k, g, hlen);
	memcpy(th + 1, opt, olen);
	if (g->len != 0)
		tcp_ring_peek(g->data, g->off, (uint8_t *)th + hlen, g->len);
	th->cksum = tcp_cksum_out(ip, th, (uint32_t)(hlen + g->len));
	m->l3_len = sizeof(*ip);
	m->l4_len = (uint8_t)hlen;
	TCP_STAT(s, segs_out, 1);
	TCP_STAT(s, bytes_out, g->len);
	if (g->flags & RTE_TCP_RST_FLAG)
		TCP_STAT(s, resets_out, 1);
	s->out(s->out_arg, m, s->now);
	return 0;
}

/* --- connection segments ----------------------------------------------------- */

/* The window field to advertise now, and remember the right edge. */
static uint16_t take_window(struct tcp_conn *c, bool syn)
{
	uint32_t wnd = tcp_rcv_window(c);
	uint32_t field;

	if (syn)
		field = RTE_MIN(wnd, 65535u);
	else
		field = RTE_MIN(wnd >> c->rcv_wscale, 65535u);
	c->rcv_adv = c->rcv_nxt + (syn ? field : field << c->rcv_wscale);
	return (uint16_t)field;
}

/* Receiver-side silly window avoidance (RFC 9293 §3.8.6.2.2): the right
 * edge moves only by at least min(buffer/2, MSS). */
uint32_t tcp_rcv_window(const struct tcp_conn *c)
{
	uint32_t space = tcp_ring_space(&c->rcv.ring);
	uint32_t cur = seq_gt(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
	uint32_t step = RTE_MIN(c->rcv.ring.size / 2, (uint32_t)c->snd_mss);

	if (space > cur && space - cur < step)
		return cur;
	return space;
}

static void fill_common(struct tcp_conn *c, struct seg *g, uint8_t flags)
{
	g->flags = flags;
	g->ack = c->rcv_nxt;
	g->wnd = take_window(c, false);
	g->opt.ts = c->ts_ok;
	g->opt.ts_val = tcp_ts_now(c->stack);
	g->opt.ts_ecr = c->ts_recent;
}

/* SACK blocks from the out-of-order ranges (RFC 2018), in sequence units:
 * a D-SACK for a duplicate just received first (RFC 2883 §4), then the
 * range holding the latest out-of-order segment (RFC 2018 §4 MUST), then
 * the others from the lowest up. */
static uint8_t sack_blocks(const struct tcp_conn *c, struct tcp_sack_block *b)
{
	uint32_t base = c->rcv_nxt, last = c->ooo_last - base;
	uint8_t n = 0, first = c->rcv.nooo;

	if (!c->sack_ok)
		return 0;
	if (c->flags & TF_DSACK) {
		b[n].start = c->dsack_start;
		b[n++].end = c->dsack_end;
	}
	for (uint8_t i = 0; i < c->rcv.nooo; i++)
		if (last - c->rcv.ooo[i].start < c->rcv.ooo[i].end - c->rcv.ooo[i].start)
			first = i;
	if (first < c->rcv.nooo) {
		b[n].start = base + c->rcv.ooo[first].start;
		b[n++].end = base + c->rcv.ooo[first].end;
	}
	for (uint8_t i = 0; i < c->rcv.nooo && n < TCP_OPT_SACK_MAX; i++) {
		if (i == first)
			continue;
		b[n].start = base + c->rcv.ooo[i].start;
		b[n++].end = base + c->rcv.ooo[i].end;
	}
	return n;
}

static void acked_now(struct tcp_conn *c)
{
	c->last_ack_sent = c->rcv_nxt;
	c->flags &= ~TF_ACK_NOW;
	c->unacked_segs = 0;
	tcp_conn_disarm(c, TMR_DELACK);
}

/* A pure ACK carries snd_max, not a snd_nxt that a retransmission moved
 * back, or the peer would find it outside its window (as BSD does). */
void tcp_send_ack(struct tcp_conn *c)
{
	struct tcp_sack_block sack[TCP_OPT_SACK_MAX];
	struct seg g = {.seq = c->snd_max};

	fill_common(c, &g, RTE_TCP_ACK_FLAG);
	g.opt.nsack = sack_blocks(c, sack);
	g.opt.sack = sack;
	c->flags &= (uint16_t)~TF_DSACK;
	acked_now(c);
	xmit(c->stack, &c->key, &g);
}

void tcp_send_rst(struct tcp_conn *c)
{
	struct seg g = {.seq = c->snd_max, .ack = c->rcv_nxt,
			.flags = RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG};

	xmit(c->stack, &c->key, &g);
}

/* SYN (active open) or SYN-ACK (passive), with our options. */
void tcp_send_syn(struct tcp_conn *c)
{
	struct tcp_stack *s = c->stack;
	bool synack = c->state == TCP_SYN_RCVD;
	struct seg g = {
		.seq = c->iss,
		.ack = c->rcv_nxt,
		.flags = RTE_TCP_SYN_FLAG | (synack ? RTE_TCP_ACK_FLAG : 0),
		.opt = {
			.syn = true,
			.mss = s->conf.mss,
			.ws = !synack || c->ws_ok,
			.ws_shift = c->rcv_wscale,
			.sack_perm = !s->conf.sack_off && (!synack || c->sack_ok),
			.ts = !synack || c->ts_ok,
			.ts_val = tcp_ts_now(s),
			.ts_ecr = c->ts_recent,
		},
	};

	g.wnd = take_window(c, true);
	c->snd_nxt = c->iss + 1;
	c->snd_max = seq_max(c->snd_max, c->snd_nxt);
	if (c->backoff == 0 && !c->ts_ok) {
		c->rtt_seq = c->iss;
		c->rtt_start = s->now;
		c->flags |= TF_RTT_TIMING;
	} else {
		c->flags &= ~TF_RTT_TIMING;     /* Karn: a retransmission is not timed */
	}
	tcp_conn_arm(c, TMR_RTO, s->now + c->rto_us);
	xmit(s, &c->key, &g);
}

static uint32_t data_end(const struct tcp_conn *c)
{
	return c->snd_base + c->snd.len;
}

/* Queued bytes at and after SEQ (0 once SEQ is past the data: the FIN). */
static uint32_t data_after(const struct tcp_conn *c, uint32_t seq)
{
	return seq_lt(seq, data_end(c)) ? data_end(c) - seq : 0;
}

/* Send LEN bytes at snd_nxt (LEN may be 0 for a bare FIN). */
static int send_data(struct tcp_conn *c, uint32_t len, bool fin)
{
	struct tcp_stack *s = c->stack;
	struct seg g = {.seq = c->snd_nxt, .data = &c->snd,
			.off = c->snd_nxt - c->snd_base, .len = len};
	uint8_t flags = RTE_TCP_ACK_FLAG;

	if (len != 0 && c->snd_nxt + len == data_end(c))
		flags |= RTE_TCP_PSH_FLAG;
	if (fin)
		flags |= RTE_TCP_FIN_FLAG;
	fill_common(c, &g, flags);
	if (xmit(s, &c->key, &g) < 0)
		return -ENOBUFS;
	if (!seq_lt(c->snd_nxt, c->snd_max) && !c->ts_ok &&
	    !(c->flags & TF_RTT_TIMING)) {
		c->rtt_seq = c->snd_nxt;
		c->rtt_start = s->now;
		c->flags |= TF_RTT_TIMING;
	}
	c->snd_nxt += len + (fin ? 1 : 0);
	c->snd_max = seq_max(c->snd_max, c->snd_nxt);
	c->una_at_send = c->snd_una;
	if (fin)
		c->flags |= TF_FIN_SENT;
	if (c->deadline[TMR_RTO] == UINT64_MAX)
		tcp_conn_arm(c, TMR_RTO, s->now + c->rto_us);
	acked_now(c);
	return 0;
}

static bool fin_due(const struct tcp_conn *c)
{
	return (c->flags & TF_FIN_QUEUED) && c->snd_nxt == data_end(c);
}

/* Room in the peer's window past snd_nxt. */
static uint32_t peer_room(const struct tcp_conn *c)
{
	uint32_t flight = c->snd_nxt - c->snd_una;

	return c->snd_wnd > flight ? c->snd_wnd - flight : 0;
}

/* Bytes we may send now at snd_nxt: within the peer's window, and cwnd
 * less what is in flight.  After DupAcks short of recovery, what the peer
 * SACKed has left the network: pipe is what is in flight (RFC 6675 §5
 * step 3, limited transmit). */
static uint32_t usable(const struct tcp_conn *c)
{
	uint32_t flight = c->snd_nxt - c->snd_una;

	if (c->sack_ok && c->dupacks != 0 && c->snd_nxt == c->snd_max)
		flight = tcp_sack_pipe(c);
	return RTE_MIN(peer_room(c), c->cwnd > flight ? c->cwnd - flight : 0);
}

static void maybe_persist(struct tcp_conn *c)
{
	struct tcp_stack *s = c->stack;

	if (c->snd_wnd != 0 || c->snd_una != c->snd_max ||
	    (c->snd_nxt == data_end(c) && !fin_due(c)))
		return;
	if (!(c->flags & TF_PERSIST)) {
		c->flags |= TF_PERSIST;
		c->backoff = 0;
		tcp_conn_arm(c, TMR_RTO, s->now + RTE_MAX(c->rto_us, s->conf.rto_min_us));
	}
}

/* One segment of new data (and the FIN when it is due) at snd_nxt, at
 * most ROOM bytes.  Returns whether more may follow. */
static bool send_new(struct tcp_conn *c, uint32_t room)
{
	uint32_t pending = data_after(c, c->snd_nxt);
	uint32_t len = RTE_MIN(RTE_MIN(pending, (uint32_t)c->snd_mss), room);
	bool fin = (c->flags & TF_FIN_QUEUED) && c->snd_nxt + len == data_end(c);

	if (len == 0 && !fin)
		return false;
	return send_data(c, len, fin) == 0 && !fin;
}

/* RFC 6675 §5 (C): while cwnd - pipe >= 1 SMSS, send what NextSeg names —
 * a lost hole, else new data, else a hole not yet known lost.  A lost hole
 * at or past RecoveryPoint was sent after the reduction: a later window
 * lost data, which RFC 5681 §3.1 answers with a reduction of its own
 * (Linux enters recovery again when the first one ends). */
static void output_sack_recovery(struct tcp_conn *c)
{
	uint32_t seq, len;
	int n;

	tcp_sack_lost_rexmit(c);
	while (tcp_sack_pipe(c) + c->snd_mss <= c->cwnd) {
		uint32_t before = c->snd_nxt;

		if (!tcp_sack_next_hole(c, true, &seq, &len)) {
			send_new(c, peer_room(c));
			if (c->snd_nxt != before)
				continue;
			if (!tcp_sack_next_hole(c, false, &seq, &len))
				break;
		} else if (seq_geq(seq, c->recover)) {
			TCP_STAT(c->stack, loss_after_recover, 1);
			tcp_cc_reduce_again(c);
		}
		if ((n = tcp_retransmit(c, seq, len)) <= 0)
			break;
		TCP_STAT(c->stack, rexmit_sack, 1);
		tcp_sack_retransmitted(c, seq, (uint32_t)n);
	}
}

void tcp_output(struct tcp_conn *c)
{
	uint32_t max = c->snd_max;

	if (c->state < TCP_ESTABLISHED || c->state == TCP_TIME_WAIT)
		return;
	if ((c->flags & TF_IN_RECOVERY) && c->sack_ok)
		output_sack_recovery(c);
	else
		while (send_new(c, usable(c)))
			;
	if (c->snd_max != max)
		tcp_tlp_arm(c);                 /* RFC 8985 §7.2: after new data */
	maybe_persist(c);
	if (c->flags & TF_ACK_NOW)
		tcp_send_ack(c);
}

/* Send again up to LEN bytes (at most one segment) at SEQ, with the FIN if
 * they reach it.  Returns the sequence octets sent, -ENODATA when nothing
 * is outstanding at SEQ, or -ENOBUFS. */
int tcp_retransmit(struct tcp_conn *c, uint32_t seq, uint32_t len)
{
	uint32_t saved = c->snd_nxt;
	uint32_t pending = data_after(c, seq);
	bool fin;
	int err;

	if (!seq_lt(seq, c->snd_max))
		return -ENODATA;         /* nothing outstanding, FIN included */
	len = RTE_MIN(RTE_MIN(len, pending), (uint32_t)c->snd_mss);
	fin = (c->flags & TF_FIN_SENT) && len == pending;
	c->snd_nxt = seq;
	c->flags &= ~TF_RTT_TIMING;      /* Karn: never time a retransmission */
	err = send_data(c, len, fin);
	c->snd_nxt = seq_max(saved, c->snd_nxt);
	if (err < 0)
		return err;
	if (c->flags & TF_IN_RECOVERY)
		tcp_undo_rexmit(c, seq);
	return (int)(len + fin);
}

/* After an RTO or a NewReno fast retransmit: the first unacknowledged
 * segment. */
void tcp_retransmit_first(struct tcp_conn *c)
{
	tcp_retransmit(c, c->snd_una, c->snd_mss);
}

/* A keepalive (seq snd_una - 1, no data) or a zero-window probe (one byte
 * past the window, or the FIN). */
void tcp_send_probe(struct tcp_conn *c, bool with_byte)
{
	struct seg g = {.seq = c->snd_una - 1};

	if (!with_byte) {
		fill_common(c, &g, RTE_TCP_ACK_FLAG);
		xmit(c->stack, &c->key, &g);
		return;
	}
	uint32_t saved = c->snd_nxt;

	c->snd_nxt = c->snd_una;
	if (data_after(c, c->snd_una) != 0)
		send_data(c, 1, false);
	else if (c->flags & TF_FIN_QUEUED)
		send_data(c, 0, true);
	c->snd_nxt = seq_max(saved, c->snd_nxt);
}

/* --- stateless replies --------------------------------------------------------- */

/* RFC 9293 §3.10.7.1: a reset for a segment that has no connection. */
void tcp_reply_rst(struct tcp_stack *s, const struct tcp_key *k,
		   const struct rte_tcp_hdr *th, uint32_t seglen)
{
	struct seg g = {0};

	if (th->tcp_flags & RTE_TCP_RST_FLAG)
		return;
	if (th->tcp_flags & RTE_TCP_ACK_FLAG) {
		g.seq = rte_be_to_cpu_32(th->recv_ack);
		g.flags = RTE_TCP_RST_FLAG;
	} else {
		g.ack = rte_be_to_cpu_32(th->sent_seq) + seglen;
		g.flags = RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG;
	}
	xmit(s, k, &g);
}

void tcp_reply_ack(struct tcp_stack *s, const struct tcp_key *k, uint32_t seq,
		   uint32_t ack, uint16_t wnd, bool ts, uint32_t ts_ecr)
{
	struct seg g = {.seq = seq, .ack = ack, .flags = RTE_TCP_ACK_FLAG,
			.wnd = wnd,
			.opt = {.ts = ts, .ts_val = tcp_ts_now(s), .ts_ecr = ts_ecr}};

	xmit(s, k, &g);
}

/* A SYN cookie's SYN-ACK: no state, so no window scaling, SACK or
 * timestamps — only the MSS the cookie encodes. */
void tcp_send_cookie_synack(struct tcp_stack *s, const struct tcp_key *k,
			    uint32_t iss, uint32_t ack, uint16_t mss)
{
	struct seg g = {.seq = iss, .ack = ack,
			.flags = RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG,
			.wnd = (uint16_t)RTE_MIN(s->conf.rcvbuf, 65535u),
			.opt = {.syn = true, .mss = RTE_MIN(mss, s->conf.mss)}};

	xmit(s, k, &g);
}

/* --- the application's side ------------------------------------------------------ */

size_t tcp_send_space(const struct tcp_conn *c)
{
	return (c->flags & TF_FIN_QUEUED) ? 0 : tcp_ring_space(&c->snd);
}

size_t tcp_send(struct tcp_conn *c, const void *data, size_t len)
{
	uint32_t n;

	if ((c->flags & (TF_FIN_QUEUED | TF_DEAD)) || c->state == TCP_CLOSED)
		return 0;
	n = tcp_ring_write(&c->snd, data, (uint32_t)RTE_MIN(len, (size_t)UINT32_MAX));
	if (n < len)
		c->flags |= TF_WANT_WRITE;
	if (n != 0)
		tcp_conn_mark_output(c);
	return n;
}

void tcp_flush(struct tcp_conn *c)
{
	if (c->flags & TF_PENDING) {
		TAILQ_REMOVE(&c->stack->out_list, c, pending);
		c->flags &= ~TF_PENDING;
	}
	tcp_output(c);
}

void tcp_close(struct tcp_conn *c)
{
	switch (c->state) {
	case TCP_SYN_SENT:
		/* Nothing was said yet: forget it, reporting from the timer. */
		tcp_conn_set_state(c, TCP_CLOSED);
		tcp_conn_arm(c, TMR_LINGER, c->stack->now);
		return;
	case TCP_SYN_RCVD:
	case TCP_ESTABLISHED:
		tcp_conn_set_state(c, TCP_FIN_WAIT_1);
		break;
	case TCP_CLOSE_WAIT:
		tcp_conn_set_state(c, TCP_LAST_ACK);
		break;
	default:
		return;
	}
	c->flags |= TF_FIN_QUEUED;
	tcp_conn_mark_output(c);
}

void tcp_abort(struct tcp_conn *c)
{
	if (c->state >= TCP_SYN_RCVD)
		tcp_send_rst(c);
	c->flags |= TF_DETACHED;
	tcp_conn_destroy(c, 0);
}
