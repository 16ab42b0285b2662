/*
 * tcp_timer: the per-connection timers behind the one wheel entry —
 * retransmission with exponential backoff and give-up (RFC 6298), SYN and
 * SYN-ACK retries, zero-window persist probes, delayed ACK, keepalive, and
 * the lifetimes of half-open and orphaned FIN_WAIT_2 connections — and the
 * RTT estimator.
 */
#include <errno.h>
#include <stddef.h>

#include "dataplane/tcp/tcp_impl.h"

#define TCP_PERSIST_MAX_US 60000000u
#define TCP_RTT_G_US       1000u      /* clock granularity G */

/* RFC 6298 §2. */
void tcp_rtt_sample(struct tcp_conn *c, uint32_t r)
{
	const struct tcp_stack_conf *k = &c->stack->conf;

	if (c->srtt_us == 0 && c->rttvar_us == 0) {
		c->srtt_us = RTE_MAX(r, 1u);
		c->rttvar_us = r / 2;
	} else {
		uint32_t err = r > c->srtt_us ? r - c->srtt_us : c->srtt_us - r;

		c->rttvar_us = (3 * c->rttvar_us + err) / 4;
		c->srtt_us = RTE_MAX((7 * c->srtt_us + r) / 8, 1u);
	}
	c->min_rtt_us = c->min_rtt_us == 0 ? RTE_MAX(r, 1u) : RTE_MIN(c->min_rtt_us, r);
	uint64_t rto = (uint64_t)c->srtt_us + RTE_MAX(TCP_RTT_G_US, 4 * c->rttvar_us);

	c->rto_us = (uint32_t)RTE_MIN(RTE_MAX(rto, (uint64_t)k->rto_min_us),
				      (uint64_t)k->rto_max_us);
}

void tcp_rto_restart(struct tcp_conn *c)
{
	tcp_conn_arm(c, TMR_RTO, c->stack->now + c->rto_us);
}

void tcp_keepalive_start(struct tcp_conn *c)
{
	uint64_t idle = c->stack->conf.keepalive_idle_us;

	if (idle != 0)
		tcp_conn_arm(c, TMR_KEEPALIVE, c->stack->now + idle);
}

static void give_up(struct tcp_conn *c)
{
	TCP_STAT(c->stack, give_ups, 1);
	if (c->state >= TCP_ESTABLISHED)
		tcp_send_rst(c);
	if (c->state == TCP_SYN_RCVD && !(c->flags & TF_ACCEPTED))
		c->flags |= TF_DETACHED;
	tcp_conn_destroy(c, -ETIMEDOUT);
}

static void persist_fire(struct tcp_conn *c)
{
	struct tcp_stack *s = c->stack;
	uint64_t ivl = (uint64_t)RTE_MAX(c->rto_us, s->conf.rto_min_us) << RTE_MIN(c->backoff, 20);

	TCP_STAT(s, persist_probes, 1);
	tcp_send_probe(c, true);
	if (c->backoff < 31)
		c->backoff++;
	tcp_conn_arm(c, TMR_RTO, s->now + RTE_MIN(ivl, (uint64_t)TCP_PERSIST_MAX_US));
}

static void rto_fire(struct tcp_conn *c)
{
	struct tcp_stack *s = c->stack;
	bool syn = c->state == TCP_SYN_SENT || c->state == TCP_SYN_RCVD;

	if (c->flags & TF_PERSIST) {
		persist_fire(c);
		return;
	}
	if (!syn && c->snd_una == c->snd_max)
		return;
	TCP_STAT(s, rto_timeouts, 1);
	if (++c->backoff > (syn ? s->conf.syn_retries : s->conf.data_retries)) {
		give_up(c);
		return;
	}
	c->rto_us = (uint32_t)RTE_MIN((uint64_t)c->rto_us * 2, (uint64_t)s->conf.rto_max_us);
	if (syn) {
		TCP_STAT(s, rexmit_syn, 1);
		tcp_send_syn(c);
		return;
	}
	TCP_STAT(s, rexmit_rto, 1);
	c->flags &= (uint16_t)~TF_TLP_OUT;
	tcp_conn_disarm(c, TMR_PTO);
	tcp_conn_disarm(c, TMR_REO);
	tcp_cc_timeout(c);
	tcp_sack_clear(c);                     /* RFC 6675 §5.1 */
	c->snd_nxt = c->snd_una;               /* go back: resend from the hole */
	tcp_retransmit_first(c);
	tcp_rto_restart(c);
}

static void keepalive_fire(struct tcp_conn *c)
{
	struct tcp_stack *s = c->stack;
	uint64_t idle_until = c->last_rx + s->conf.keepalive_idle_us;

	if (c->state != TCP_ESTABLISHED && c->state != TCP_CLOSE_WAIT)
		return;
	if (s->now < idle_until && c->ka_probes == 0) {
		tcp_conn_arm(c, TMR_KEEPALIVE, idle_until);
		return;
	}
	if (c->ka_probes >= s->conf.keepalive_probes) {
		give_up(c);
		return;
	}
	c->ka_probes++;
	TCP_STAT(s, keepalive_probes, 1);
	tcp_send_probe(c, false);
	tcp_conn_arm(c, TMR_KEEPALIVE, s->now + s->conf.keepalive_intvl_us);
}

static void linger_fire(struct tcp_conn *c)
{
	switch (c->state) {
	case TCP_SYN_RCVD:
		TCP_STAT(c->stack, syn_rcvd_timeouts, 1);
		give_up(c);
		break;
	case TCP_FIN_WAIT_2:
		give_up(c);
		break;
	case TCP_CLOSED:                       /* tcp_close() in SYN_SENT */
		tcp_conn_destroy(c, 0);
		break;
	default:
		break;
	}
}

static void fire_due(struct tcp_conn *c, enum tcp_tmr t)
{
	c->deadline[t] = UINT64_MAX;
	switch (t) {
	case TMR_RTO:
		rto_fire(c);
		break;
	case TMR_DELACK:
		TCP_STAT(c->stack, delayed_acks, 1);
		tcp_send_ack(c);
		break;
	case TMR_KEEPALIVE:
		keepalive_fire(c);
		break;
	case TMR_LINGER:
		linger_fire(c);
		break;
	case TMR_PTO:
		tcp_tlp_fire(c);
		break;
	case TMR_REO:
		tcp_reo_fire(c);
		break;
	default:
		break;
	}
}

void tcp_timer_fire(struct tcp_timer *t, void *arg)
{
	struct tcp_conn *c = (struct tcp_conn *)((char *)t - offsetof(struct tcp_conn, timer));
	struct tcp_stack *s = arg;

	tcp_conn_enter(c);
	for (int i = 0; i < TMR_N && !(c->flags & TF_DEAD); i++)
		if (c->deadline[i] <= s->now)
			fire_due(c, (enum tcp_tmr)i);
	if (!(c->flags & TF_DEAD))
		tcp_conn_rearm(c);
	tcp_conn_leave(c);
}
