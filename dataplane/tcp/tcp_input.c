/*
 * tcp_input: segment arrival (RFC 9293 §3.10.7) — header checks and demux
 * to a connection, a TIME_WAIT entry or a listener; then, per connection,
 * SYN_SENT handling, the sequence and PAWS checks, RST and SYN with RFC 5961
 * challenge ACKs, ACK processing (send window, RTT, congestion control,
 * duplicate ACKs, SACK blocks to the scoreboard), data with delayed ACKs,
 * and FIN in every state.
 */
#include <errno.h>

#include <rte_ip.h>

#include "dataplane/tcp/tcp_cksum.h"
#include "dataplane/tcp/tcp_impl.h"

#define TCP_FLAGS(th) ((th)->tcp_flags)
#define HAS(th, f)    (((th)->tcp_flags & RTE_TCP_##f##_FLAG) != 0)

static uint32_t seg_len(const struct rte_tcp_hdr *th, uint32_t plen)
{
	return plen + HAS(th, SYN) + HAS(th, FIN);
}

static const uint8_t *payload(const struct rte_tcp_hdr *th)
{
	return (const uint8_t *)th + ((th->data_off >> 4) * 4);
}

/* --- demux --------------------------------------------------------------- */

static bool cksum_ok(const struct rte_mbuf *m, const struct rte_ipv4_hdr *ip,
		     const struct rte_tcp_hdr *th)
{
	uint64_t f = m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;

	if (f == RTE_MBUF_F_RX_L4_CKSUM_GOOD)
		return true;
	if (f == RTE_MBUF_F_RX_L4_CKSUM_BAD)
		return false;
	uint32_t l4 = rte_be_to_cpu_16(ip->total_length) - rte_ipv4_hdr_len(ip);

	return tcp_cksum_sum(ip, th, l4) == 0xffff;
}

/* Validate the TCP header; returns it, or NULL (counted) to drop. */
static const struct rte_tcp_hdr *check_header(struct tcp_stack *s, struct rte_mbuf *m,
					      uint32_t *plen, struct tcp_opts *o)
{
	const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(m, const struct rte_ipv4_hdr *);
	uint32_t hl = m->l3_len, len = rte_pktmbuf_pkt_len(m), doff;
	const struct rte_tcp_hdr *th;

	if (m->nb_segs > 1 && rte_pktmbuf_linearize(m) < 0)
		goto runt;
	if (len < hl + sizeof(*th))
		goto runt;
	th = (const struct rte_tcp_hdr *)((const uint8_t *)ip + hl);
	doff = (uint32_t)(th->data_off >> 4) * 4;
	if (doff < sizeof(*th) || hl + doff > len)
		goto runt;
	if (!cksum_ok(m, ip, th)) {
		TCP_STAT(s, drop_cksum, 1);
		return NULL;
	}
	if (tcp_opt_parse((const uint8_t *)(th + 1), doff - sizeof(*th), o) < 0) {
		TCP_STAT(s, drop_bad_opts, 1);
		return NULL;
	}
	*plen = len - hl - doff;
	return th;
runt:
	TCP_STAT(s, drop_runt, 1);
	return NULL;
}

void tcp_input(struct tcp_stack *s, struct rte_mbuf *m, uint64_t now)
{
	const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(m, const struct rte_ipv4_hdr *);
	const struct rte_tcp_hdr *th;
	struct tcp_opts o;
	struct tcp_key k;
	uint32_t plen;
	void *data;

	s->now = now;
	TCP_STAT(s, segs_in, 1);
	if ((th = check_header(s, m, &plen, &o)) == NULL)
		goto out;
	TCP_STAT(s, bytes_in, plen);
	k = (struct tcp_key){.raddr = rte_be_to_cpu_32(ip->src_addr),
			     .laddr = rte_be_to_cpu_32(ip->dst_addr),
			     .rport = rte_be_to_cpu_16(th->src_port),
			     .lport = rte_be_to_cpu_16(th->dst_port)};
	if (HAS(th, RST))
		TCP_STAT(s, resets_in, 1);
	if (rte_hash_lookup_data(s->flows, &k, &data) >= 0) {
		if (((uintptr_t)data & 1) == 0) {
			struct tcp_conn *c = data;

			tcp_conn_enter(c);
			tcp_conn_input(c, th, plen, &o);
			tcp_conn_leave(c);
			goto out;
		}
		if (!tcp_tw_input(s, tcp_tw_get(s, (uintptr_t)data), th, plen, &o))
			goto out;
	}
	struct tcp_listener *l = tcp_listener_find(s, k.laddr, k.lport);

	if (l != NULL) {
		tcp_listen_input(s, l, &k, th, plen, &o);
	} else {
		TCP_STAT(s, drop_no_conn, 1);
		tcp_reply_rst(s, &k, th, seg_len(th, plen));
	}
out:
	rte_pktmbuf_free(m);
}

bool tcp_owns(struct tcp_stack *s, const struct rte_mbuf *m)
{
	const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(m, const struct rte_ipv4_hdr *);
	const struct rte_tcp_hdr *th;
	struct tcp_key k;

	if (rte_pktmbuf_data_len(m) < m->l3_len + sizeof(*th))
		return true;
	th = (const struct rte_tcp_hdr *)((const uint8_t *)ip + m->l3_len);
	k = (struct tcp_key){.raddr = rte_be_to_cpu_32(ip->src_addr),
			     .laddr = rte_be_to_cpu_32(ip->dst_addr),
			     .rport = rte_be_to_cpu_16(th->src_port),
			     .lport = rte_be_to_cpu_16(th->dst_port)};
	if (rte_hash_lookup(s->flows, &k) >= 0)
		return true;
	return (th->tcp_flags & (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG)) == RTE_TCP_SYN_FLAG &&
	       tcp_listener_find(s, k.laddr, k.lport) != NULL;
}

/* --- connection: helpers -------------------------------------------------------- */

static void challenge_ack(struct tcp_conn *c)
{
	TCP_STAT(c->stack, challenge_acks, 1);
	tcp_send_ack(c);
}

static void event(struct tcp_conn *c, enum tcp_event ev)
{
	if (c->ops != NULL && c->ops->event != NULL && !(c->flags & TF_DETACHED))
		c->ops->event(c, c->arg, ev, 0);
}

#define GONE(c) (((c)->flags & TF_DEAD) != 0)

static void enter_time_wait(struct tcp_conn *c)
{
	tcp_conn_set_state(c, TCP_TIME_WAIT);
	tcp_tw_enter(c);
	tcp_conn_destroy(c, 0);
}

/* The options of a SYN we answer or that answers us (RFC 7323, 2018). */
void tcp_syn_options(struct tcp_conn *c, const struct tcp_opts *o)
{
	const struct tcp_stack *s = c->stack;
	uint16_t mss = o->mss_ok ? o->mss : TCP_DEFAULT_MSS;

	c->ts_ok = o->ts_ok;
	if (c->ts_ok) {
		c->ts_recent = o->ts_val;
		c->ts_recent_age = s->now;
	}
	c->ws_ok = o->ws_ok;
	c->snd_wscale = c->ws_ok ? RTE_MIN(o->ws, (uint8_t)TCP_WS_MAX) : 0;
	if (!c->ws_ok)
		c->rcv_wscale = 0;
	c->sack_ok = o->sack_perm && !s->conf.sack_off;
	c->snd_mss = (uint16_t)(RTE_MIN(mss, s->conf.mss) - (c->ts_ok ? 12 : 0));
}

/* A connection became ESTABLISHED from SYN_RCVD: hand it to its listener. */
bool tcp_conn_accept(struct tcp_conn *c)
{
	struct tcp_listener *l = c->listener;
	const struct tcp_ops *ops = NULL;
	void *arg = NULL;

	tcp_conn_set_state(c, TCP_ESTABLISHED);
	c->listener = NULL;
	if (l == NULL || l->port == 0 || l->accept(l->arg, c, &ops, &arg) < 0) {
		TCP_STAT(c->stack, drop_listen_overflow, 1);
		tcp_send_rst(c);
		c->flags |= TF_DETACHED;
		tcp_conn_destroy(c, 0);
		return false;
	}
	c->ops = ops;
	c->arg = arg;
	c->flags |= TF_ACCEPTED;
	return true;
}

/* --- SYN_SENT (RFC 9293 §3.10.7.3) -------------------------------------------- */

static void syn_sent_input(struct tcp_conn *c, const struct rte_tcp_hdr *th,
			   const struct tcp_opts *o)
{
	uint32_t seq = rte_be_to_cpu_32(th->sent_seq);
	uint32_t ack = rte_be_to_cpu_32(th->recv_ack);
	bool ack_ok = HAS(th, ACK) && seq_gt(ack, c->iss) && seq_leq(ack, c->snd_max);

	if (HAS(th, ACK) && !ack_ok) {
		tcp_reply_rst(c->stack, &c->key, th, 0);
		return;
	}
	if (HAS(th, RST)) {
		if (ack_ok)
			tcp_conn_destroy(c, -ECONNREFUSED);
		return;
	}
	if (!HAS(th, SYN))
		return;
	c->irs = seq;
	c->rcv_nxt = seq + 1;
	tcp_syn_options(c, o);
	tcp_cc_init(c);
	if (!ack_ok) {                         /* simultaneous open */
		tcp_conn_set_state(c, TCP_SYN_RCVD);
		c->snd_wnd = rte_be_to_cpu_16(th->rx_win);
		tcp_send_syn(c);
		return;
	}
	c->snd_una = ack;
	c->snd_wnd = c->max_snd_wnd = rte_be_to_cpu_16(th->rx_win);
	c->snd_wl1 = seq;
	c->snd_wl2 = ack;
	if (c->flags & TF_RTT_TIMING)
		tcp_rtt_sample(c, (uint32_t)(c->stack->now - c->rtt_start));
	c->flags &= ~TF_RTT_TIMING;
	c->backoff = 0;
	tcp_conn_disarm(c, TMR_RTO);
	tcp_conn_set_state(c, TCP_ESTABLISHED);
	c->flags |= TF_ACK_NOW;
	tcp_keepalive_start(c);
	event(c, TCP_EV_CONNECTED);
	if (!GONE(c))
		tcp_output(c);
}

/* --- synchronized states: checks ------------------------------------------------ */

/* RFC 9293 §3.10.7.4, first check: is any of the segment in our window?
 * An empty segment may also sit at the right edge, as Linux accepts: the
 * peer's ACKs carry its snd_max, which is that edge once it filled our
 * window; dropping them deadlocks two ends that each wait on a hole. */
static bool seq_acceptable(const struct tcp_conn *c, uint32_t seq, uint32_t len)
{
	uint32_t wnd = seq_gt(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
	uint32_t end = c->rcv_nxt + wnd;

	if (len == 0)
		return seq_in(seq, c->rcv_nxt, end + 1);
	if (wnd == 0)
		return false;
	return seq_in(seq, c->rcv_nxt, end) || seq_in(seq + len - 1, c->rcv_nxt, end);
}

/* RFC 7323 §5: PAWS.  Segments without a timestamp are accepted, as Linux
 * does (mTCP #23 dropped them). */
static bool paws_reject(const struct tcp_conn *c, const struct rte_tcp_hdr *th,
			const struct tcp_opts *o)
{
	return c->ts_ok && o->ts_ok && !HAS(th, RST) &&
	       seq_lt(o->ts_val, c->ts_recent);
}

/* RST (RFC 5961 §3.2): exact match resets, in-window gets a challenge. */
static void rst_input(struct tcp_conn *c, uint32_t seq)
{
	if (seq != c->rcv_nxt) {
		challenge_ack(c);
		return;
	}
	if (c->state == TCP_SYN_RCVD && !(c->flags & TF_ACCEPTED))
		c->flags |= TF_DETACHED;       /* never reached the application */
	tcp_conn_destroy(c, c->state == TCP_SYN_RCVD && (c->flags & TF_ACCEPTED)
				  ? -ECONNREFUSED : -ECONNRESET);
}

/* --- ACK processing -------------------------------------------------------------- */

static bool fin_acked(const struct tcp_conn *c)
{
	return (c->flags & TF_FIN_SENT) && c->snd_una == c->snd_max &&
	       c->snd_una == c->snd_base + c->snd.len + 1;
}

static void update_window(struct tcp_conn *c, uint32_t seq, uint32_t ack,
			  const struct rte_tcp_hdr *th)
{
	uint32_t wnd = (uint32_t)rte_be_to_cpu_16(th->rx_win) << c->snd_wscale;

	if (!(seq_lt(c->snd_wl1, seq) || (c->snd_wl1 == seq && seq_leq(c->snd_wl2, ack))))
		return;
	c->snd_wnd = wnd;
	c->snd_wl1 = seq;
	c->snd_wl2 = ack;
	c->max_snd_wnd = RTE_MAX(c->max_snd_wnd, wnd);
	if (wnd != 0 && (c->flags & TF_PERSIST)) {
		c->flags &= ~TF_PERSIST;
		c->backoff = 0;
		c->snd_nxt = c->snd_una;        /* the probe byte goes out again */
		tcp_conn_disarm(c, TMR_RTO);
		tcp_conn_mark_output(c);
	}
}

static void rtt_from_ack(struct tcp_conn *c, uint32_t ack, const struct tcp_opts *o)
{
	struct tcp_stack *s = c->stack;

	if (c->ts_ok && o->ts_ok && o->ts_ecr != 0) {
		uint32_t ticks = tcp_ts_now(s) - o->ts_ecr;

		if (ticks < (1u << 21))
			tcp_rtt_sample(c, ticks << TCP_TS_HZ_SHIFT);
	} else if ((c->flags & TF_RTT_TIMING) && seq_gt(ack, c->rtt_seq)) {
		tcp_rtt_sample(c, (uint32_t)(s->now - c->rtt_start));
		c->flags &= ~TF_RTT_TIMING;
	}
}

static void ack_new_data(struct tcp_conn *c, uint32_t ack, const struct tcp_opts *o)
{
	uint32_t acked = ack - c->snd_una;
	uint32_t bytes = seq_gt(ack, c->snd_base) ? RTE_MIN(ack - c->snd_base, c->snd.len) : 0;
	uint32_t fresh;

	tcp_reo_acked(c, c->snd_una);
	rtt_from_ack(c, ack, o);
	tcp_ring_consume(&c->snd, bytes);
	c->snd_base += bytes;
	c->snd_una = ack;
	if (seq_lt(c->snd_nxt, ack))
		c->snd_nxt = ack;
	c->backoff = 0;
	fresh = tcp_sack_update(c, o);
	if (c->flags & TF_IN_RECOVERY) {
		if (seq_geq(ack, c->recover)) {
			tcp_cc_full_ack(c);
		} else if (!c->sack_ok) {          /* SACK: tcp_output() repairs */
			tcp_cc_partial_ack(c, acked);
			tcp_retransmit_first(c);
			TCP_STAT(c->stack, rexmit_fast, 1);
		}
	} else {
		tcp_cc_ack(c, acked);
	}
	c->dupacks = 0;
	tcp_sack_dupack(c, fresh);
	if (c->snd_una == c->snd_max && !(c->flags & TF_PERSIST))
		tcp_conn_disarm(c, TMR_RTO);
	else
		tcp_rto_restart(c);
	tcp_tlp_arm(c);
	if ((c->flags & TF_WANT_WRITE) && tcp_send_space(c) > 0) {
		c->flags &= ~TF_WANT_WRITE;
		event(c, TCP_EV_WRITABLE);
	}
	tcp_conn_mark_output(c);
}

/* An ACK that does not advance snd_una.  With SACK, a DupAck is one that
 * SACKs new data (RFC 6675 §2); without, RFC 5681's definition. */
static void dup_ack(struct tcp_conn *c, const struct rte_tcp_hdr *th, uint32_t plen,
		    uint32_t ack, const struct tcp_opts *o)
{
	uint32_t wnd = (uint32_t)rte_be_to_cpu_16(th->rx_win) << c->snd_wscale;

	if (c->sack_ok) {
		if (ack == c->snd_una) {
			tcp_sack_dupack(c, tcp_sack_update(c, o));
			if (c->flags & TF_IN_RECOVERY)
				tcp_conn_mark_output(c);
		}
		return;
	}
	if (plen != 0 || HAS(th, FIN) || wnd != c->snd_wnd || c->snd_una == c->snd_max)
		return;
	TCP_STAT(c->stack, dup_acks, 1);
	if (tcp_cc_dupack(c)) {
		tcp_retransmit_first(c);
		TCP_STAT(c->stack, rexmit_fast, 1);
	}
	tcp_conn_mark_output(c);
}

/* Returns false when the segment is finished with (dropped or the
 * connection is gone). */
static bool ack_input(struct tcp_conn *c, const struct rte_tcp_hdr *th,
		      uint32_t seq, uint32_t plen, const struct tcp_opts *o)
{
	uint32_t ack = rte_be_to_cpu_32(th->recv_ack);
	bool simultaneous = false;

	if (seq_gt(ack, c->snd_max)) {                 /* acks the future */
		TCP_STAT(c->stack, drop_bad_ack, 1);
		tcp_send_ack(c);
		return false;
	}
	if (seq_lt(ack, c->snd_una - c->max_snd_wnd)) { /* RFC 5961 §5.2 */
		TCP_STAT(c->stack, drop_bad_ack, 1);
		challenge_ack(c);
		return false;
	}
	if (c->state == TCP_SYN_RCVD) {
		if (!seq_gt(ack, c->snd_una)) {
			tcp_reply_rst(c->stack, &c->key, th, seg_len(th, plen));
			return false;
		}
		c->snd_wnd = 0;                        /* set from this segment */
		c->snd_wl1 = seq - 1;
		simultaneous = c->listener == NULL;    /* an active open */
		if (simultaneous)
			tcp_conn_set_state(c, TCP_ESTABLISHED);
		else if (!tcp_conn_accept(c))
			return false;
		tcp_keepalive_start(c);
	}
	bool advanced = seq_gt(ack, c->snd_una);

	update_window(c, seq, ack, th);
	tcp_undo_dsack(c, ack, o);
	if (advanced)
		ack_new_data(c, ack, o);
	else
		dup_ack(c, th, plen, ack, o);
	if (advanced || plen == 0)              /* data alone tells nothing */
		tcp_tlp_ack(c, ack, o, advanced);
	if (simultaneous && !GONE(c))
		event(c, TCP_EV_CONNECTED);
	return !GONE(c);
}

/* FIN_WAIT_1, CLOSING and LAST_ACK move on once our FIN is acked. */
static bool fin_ack_transitions(struct tcp_conn *c)
{
	if (!fin_acked(c))
		return true;
	switch (c->state) {
	case TCP_FIN_WAIT_1:
		tcp_conn_set_state(c, TCP_FIN_WAIT_2);
		tcp_conn_arm(c, TMR_LINGER, c->stack->now + c->stack->conf.fin_wait2_us);
		return true;
	case TCP_CLOSING:
		enter_time_wait(c);
		return false;
	case TCP_LAST_ACK:
		tcp_conn_destroy(c, 0);
		return false;
	default:
		return true;
	}
}

/* --- data and FIN ------------------------------------------------------------------ */

/* Octets [start, end) arrived again: the next ACK reports them first
 * (RFC 2883 D-SACK), so the sender can tell a needless retransmission. */
static void dsack(struct tcp_conn *c, uint32_t start, uint32_t end)
{
	if (!c->sack_ok)
		return;
	c->dsack_start = start;
	c->dsack_end = end;
	c->flags |= TF_DSACK;
}

/* In-order bytes go to the application; out-of-order bytes are kept at
 * their offset and SACKed.  Returns false when the connection went away. */
static bool data_input(struct tcp_conn *c, uint32_t seq, const uint8_t *p, uint32_t plen)
{
	struct tcp_stack *s = c->stack;

	if (seq_lt(seq, c->rcv_nxt)) {            /* trim what we already have */
		uint32_t skip = RTE_MIN(c->rcv_nxt - seq, plen);

		if (skip != 0)
			dsack(c, seq, seq + skip);
		p += skip;
		plen -= skip;
		seq += skip;
	}
	if (plen == 0) {
		c->flags |= TF_ACK_NOW;           /* a pure duplicate: re-ACK */
		return true;
	}
	uint32_t off = seq - c->rcv_nxt;
	int n = tcp_rcvbuf_put(&c->rcv, off, p, plen);

	if (n < 0)
		TCP_STAT(s, drop_ooo_full, 1);
	if (n > 0)
		c->rcv_nxt += (uint32_t)n;
	else
		c->ooo_last = seq;
	if (off != 0 || c->rcv.nooo != 0 || n < 0 || (uint32_t)n > plen) {
		/* RFC 5681 §4.2: out of order, or a hole filled: ACK at once,
		 * one per segment, so the sender counts its duplicates. */
		TCP_STAT(s, ooo_segs, off != 0);
		tcp_send_ack(c);
	} else if (++c->unacked_segs >= 2) {
		tcp_send_ack(c);                  /* every second segment */
	} else {
		tcp_conn_arm(c, TMR_DELACK, s->now + s->conf.delack_us);
	}
	if (n > 0)
		tcp_deliver(c);
	return !GONE(c);
}

static void fin_input(struct tcp_conn *c)
{
	c->rcv_nxt++;
	c->flags |= TF_ACK_NOW | TF_PEER_FIN;
	switch (c->state) {
	case TCP_SYN_RCVD:
	case TCP_ESTABLISHED:
		tcp_conn_set_state(c, TCP_CLOSE_WAIT);
		event(c, TCP_EV_PEER_CLOSED);
		break;
	case TCP_FIN_WAIT_1:
		tcp_conn_set_state(c, TCP_CLOSING);
		event(c, TCP_EV_PEER_CLOSED);
		break;
	case TCP_FIN_WAIT_2:
		tcp_send_ack(c);
		event(c, TCP_EV_PEER_CLOSED);
		if (!GONE(c))
			enter_time_wait(c);
		break;
	default:
		break;
	}
}

/* Offer in-order data to the application until it stops taking. */
void tcp_deliver(struct tcp_conn *c)
{
	uint32_t before = tcp_rcv_window(c);

	while (c->rcv.ring.len != 0 && c->ops != NULL && c->ops->recv != NULL &&
	       !(c->flags & TF_DETACHED)) {
		struct iovec iov[2];
		size_t took;

		tcp_ring_iov(&c->rcv.ring, 0, c->rcv.ring.len, iov);
		took = c->ops->recv(c, c->arg, iov[0].iov_base, iov[0].iov_len);
		if (GONE(c))
			return;
		tcp_ring_consume(&c->rcv.ring, (uint32_t)took);
		if (took < iov[0].iov_len)
			break;
	}
	/* A window that opened by two segments, or from zero, is announced. */
	uint32_t after = tcp_rcv_window(c);

	if (after > before && (before == 0 || after - before >= 2u * c->snd_mss)) {
		c->flags |= TF_ACK_NOW;
		tcp_conn_mark_output(c);
	}
}

void tcp_recv_resume(struct tcp_conn *c)
{
	tcp_conn_enter(c);
	tcp_deliver(c);
	tcp_conn_leave(c);
}

/* --- the whole arrival --------------------------------------------------------------- */

static void update_ts_recent(struct tcp_conn *c, uint32_t seq, const struct tcp_opts *o)
{
	if (c->ts_ok && o->ts_ok && seq_leq(seq, c->last_ack_sent) &&
	    seq_geq(o->ts_val, c->ts_recent)) {
		c->ts_recent = o->ts_val;
		c->ts_recent_age = c->stack->now;
	}
}

static bool synchronized_checks(struct tcp_conn *c, const struct rte_tcp_hdr *th,
				uint32_t seq, uint32_t plen, const struct tcp_opts *o)
{
	if (paws_reject(c, th, o)) {
		TCP_STAT(c->stack, drop_paws, 1);
		tcp_send_ack(c);
		return false;
	}
	if (!seq_acceptable(c, seq, seg_len(th, plen))) {
		TCP_STAT(c->stack, drop_bad_seq, 1);
		if (plen != 0 && seq_lt(seq, c->rcv_nxt))
			dsack(c, seq, seq_lt(seq + plen, c->rcv_nxt) ? seq + plen : c->rcv_nxt);
		if (!HAS(th, RST))
			tcp_send_ack(c);
		return false;
	}
	if (HAS(th, RST)) {
		rst_input(c, seq);
		return false;
	}
	if (HAS(th, SYN)) {
		if (c->state == TCP_SYN_RCVD && seq == c->irs)
			tcp_send_syn(c);               /* our SYN-ACK was lost */
		else
			challenge_ack(c);              /* RFC 5961 §4 */
		return false;
	}
	return HAS(th, ACK);
}

void tcp_conn_input(struct tcp_conn *c, const struct rte_tcp_hdr *th,
		    uint32_t plen, const struct tcp_opts *o)
{
	uint32_t seq = rte_be_to_cpu_32(th->sent_seq);

	c->last_rx = c->stack->now;
	c->ka_probes = 0;
	if (c->state == TCP_SYN_SENT) {
		syn_sent_input(c, th, o);
		return;
	}
	if (c->state == TCP_CLOSED || !synchronized_checks(c, th, seq, plen, o))
		return;
	update_ts_recent(c, seq, o);
	if (!ack_input(c, th, seq, plen, o) || !fin_ack_transitions(c))
		return;
	bool open_rx = c->state == TCP_ESTABLISHED || c->state == TCP_FIN_WAIT_1 ||
		       c->state == TCP_FIN_WAIT_2;

	if (plen != 0 && open_rx && !data_input(c, seq, payload(th), plen))
		return;
	if (plen != 0 && c->state == TCP_FIN_WAIT_2)  /* alive: an idle limit */
		tcp_conn_arm(c, TMR_LINGER, c->stack->now + c->stack->conf.fin_wait2_us);
	if (HAS(th, FIN) && !(c->flags & TF_PEER_FIN) && seq + plen == c->rcv_nxt) {
		fin_input(c);
		if (GONE(c))
			return;
	} else if (HAS(th, FIN)) {
		c->flags |= TF_ACK_NOW;               /* out of order or repeated */
	}
	if (c->flags & TF_ACK_NOW)
		tcp_conn_mark_output(c);
}
