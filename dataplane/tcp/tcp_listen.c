/*
 * tcp_listen: the passive side of the handshake — a SYN to a listener
 * creates a SYN_RCVD connection while the listener's backlog has room;
 * past it (a SYN flood) the answer is a stateless SYN cookie (RFC 4987), and
 * an ACK that returns a valid cookie creates the connection directly.
 */
#include "dataplane/tcp/tcp_impl.h"

static void init_passive(struct tcp_conn *c, const struct rte_tcp_hdr *th,
			 const struct tcp_opts *o)
{
	struct tcp_stack *s = c->stack;
	uint32_t seq = rte_be_to_cpu_32(th->sent_seq);

	c->irs = seq;
	c->rcv_nxt = seq + 1;
	c->rcv_wscale = tcp_rcv_wscale_for(s->conf.rcvbuf);
	tcp_syn_options(c, o);
	c->iss = tcp_new_isn(s, &c->key);
	c->snd_una = c->snd_nxt = c->snd_max = c->recover = c->iss;
	c->snd_base = c->iss + 1;
	c->snd_wnd = rte_be_to_cpu_16(th->rx_win);   /* unscaled in a SYN */
	c->rto_us = s->conf.rto_initial_us;
	tcp_cc_init(c);
}

static void syn_input(struct tcp_stack *s, struct tcp_listener *l,
		      const struct tcp_key *k, const struct rte_tcp_hdr *th,
		      const struct tcp_opts *o)
{
	struct tcp_conn *c = NULL;

	if (l->half_open < s->conf.syn_backlog)
		c = tcp_conn_alloc(s, k);
	if (c == NULL) {
		uint32_t seq = rte_be_to_cpu_32(th->sent_seq);
		uint16_t mss = o->mss_ok ? o->mss : TCP_DEFAULT_MSS;
		uint32_t iss = tcp_cookie_make(&s->isn_key, k->laddr, k->lport,
					       k->raddr, k->rport, seq, mss, s->now);

		TCP_STAT(s, syn_cookies_sent, 1);
		tcp_send_cookie_synack(s, k, iss, seq + 1, mss);
		return;
	}
	TCP_STAT(s, passive_opens, 1);
	c->listener = l;
	l->half_open++;
	c->state = TCP_SYN_RCVD;
	init_passive(c, th, o);
	tcp_conn_arm(c, TMR_LINGER, s->now + s->conf.syn_rcvd_us);
	tcp_send_syn(c);
}

/* The third ACK of a cookie handshake.  Returns the new connection. */
static struct tcp_conn *cookie_input(struct tcp_stack *s, struct tcp_listener *l,
				     const struct tcp_key *k,
				     const struct rte_tcp_hdr *th)
{
	uint32_t seq = rte_be_to_cpu_32(th->sent_seq);
	uint32_t ack = rte_be_to_cpu_32(th->recv_ack);
	uint16_t mss = tcp_cookie_check(&s->isn_key, k->laddr, k->lport, k->raddr,
					k->rport, seq - 1, ack - 1, s->now);
	struct tcp_conn *c;

	if (mss == 0) {
		TCP_STAT(s, syn_cookies_bad, 1);
		return NULL;
	}
	if ((c = tcp_conn_alloc(s, k)) == NULL)
		return NULL;
	TCP_STAT(s, syn_cookies_ok, 1);
	TCP_STAT(s, passive_opens, 1);
	c->listener = l;
	c->state = TCP_SYN_RCVD;
	l->half_open++;
	c->irs = seq - 1;
	c->rcv_nxt = seq;
	c->iss = ack - 1;
	c->snd_una = c->recover = c->iss;
	c->snd_nxt = c->snd_max = c->snd_base = ack;   /* our SYN went out */
	c->snd_mss = RTE_MIN(mss, s->conf.mss);
	c->rto_us = s->conf.rto_initial_us;
	c->rcv_adv = c->rcv_nxt + RTE_MIN(s->conf.rcvbuf, 65535u);
	c->last_ack_sent = c->rcv_nxt;
	tcp_cc_init(c);
	return c;
}

void tcp_listen_input(struct tcp_stack *s, struct tcp_listener *l,
		      const struct tcp_key *k, const struct rte_tcp_hdr *th,
		      uint32_t plen, const struct tcp_opts *o)
{
	uint8_t f = th->tcp_flags;
	struct tcp_conn *c;

	if (f & RTE_TCP_RST_FLAG)
		return;
	if (f & RTE_TCP_ACK_FLAG) {
		/* An ACK with no connection: a returning cookie, or stale. */
		if ((f & RTE_TCP_SYN_FLAG) || (c = cookie_input(s, l, k, th)) == NULL) {
			tcp_reply_rst(s, k, th, plen + !!(f & RTE_TCP_SYN_FLAG) +
						  !!(f & RTE_TCP_FIN_FLAG));
			return;
		}
		/* It completes the handshake and may carry data: process it. */
		tcp_conn_enter(c);
		tcp_conn_input(c, th, plen, o);
		tcp_conn_leave(c);
		return;
	}
	if (f & RTE_TCP_SYN_FLAG)
		syn_input(s, l, k, th, o);
}
