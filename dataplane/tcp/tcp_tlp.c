/*
 * tcp_tlp: the tail loss probe of RFC 8985 §7.  When a SACK connection
 * outside recovery hears no ACK for about two round trips while data is
 * outstanding, the last segment goes out again: the ACK it draws shows the
 * holes (and SACK recovery starts) or shows that only ACKs were lost,
 * instead of waiting out the RTO, which collapses cwnd to one segment.
 * The probe is a retransmission, never new data, so cwnd stays a limit on
 * the bytes in flight.  An episode whose probe alone repaired a loss (no
 * D-SACK for it) gets the congestion response of a fast recovery (§7.4).
 */
#include "dataplane/tcp/tcp_impl.h"

#define TCP_WCDELACK_US 200000u     /* worst-case delayed ACK (WCDelAckT) */
#define TCP_PTO_MIN_US  10000u      /* floor: scheduling noise on a LAN */

/* A SACK connection with an RTT sample and data outstanding, in no
 * recovery (fast, or after a timeout until recover is acked), no probe
 * out, no backoff and no persist. */
static bool may_probe(const struct tcp_conn *c)
{
	return c->sack_ok && c->srtt_us != 0 && c->snd_una != c->snd_max &&
	       c->backoff == 0 && !seq_lt(c->snd_una, c->recover) &&
	       (c->state == TCP_ESTABLISHED || c->state == TCP_CLOSE_WAIT ||
		c->state == TCP_FIN_WAIT_1 || c->state == TCP_CLOSING ||
		c->state == TCP_LAST_ACK) &&
	       !(c->flags & (TF_IN_RECOVERY | TF_TLP_OUT | TF_PERSIST));
}

/* RFC 8985 §7.2: PTO = 2 * SRTT, plus WCDelAckT when one segment is in
 * flight (its ACK may be delayed), at least 10 ms (as Linux: on a LAN
 * 2 * SRTT is below the peer's scheduling noise); none when the RTO comes
 * first. */
void tcp_tlp_arm(struct tcp_conn *c)
{
	uint64_t pto;

	tcp_conn_disarm(c, TMR_PTO);
	if (!may_probe(c))
		return;
	pto = RTE_MAX(2ull * c->srtt_us, (uint64_t)TCP_PTO_MIN_US);
	if (tcp_flight(c) <= c->snd_mss)
		pto += TCP_WCDELACK_US;
	if (c->stack->now + pto < c->deadline[TMR_RTO])
		tcp_conn_arm(c, TMR_PTO, c->stack->now + pto);
}

/* RFC 8985 §7.3: send the probe (the most recent segment) and restart the
 * RTO behind it. */
void tcp_tlp_fire(struct tcp_conn *c)
{
	uint32_t len;
	int n;

	if (!may_probe(c))
		return;
	len = RTE_MIN(tcp_flight(c), (uint32_t)c->snd_mss);
	n = tcp_retransmit(c, c->snd_max - len, len);
	if (n <= 0)
		return;
	TCP_STAT(c->stack, tlp_probes, 1);
	c->tlp_seq = c->snd_max - len;
	c->tlp_end = c->snd_max;
	c->flags = (uint16_t)((c->flags | TF_TLP_OUT) & ~TF_TLP_DSACK);
	tcp_rto_restart(c);
}

/* A D-SACK for any of the probe's octets: it was not needed. */
static bool dsack_for_probe(const struct tcp_conn *c, uint32_t ack,
			    const struct tcp_opts *o)
{
	uint32_t s, e;

	return tcp_sack_dsack(ack, o, &s, &e) && seq_lt(s, c->tlp_end) &&
	       seq_gt(e, c->tlp_seq);
}

/* RFC 8985 §7.4, on each ACK for new data (ADVANCED) or pure ACK while a
 * probe is out.  The ACK that reaches the probe's end may answer the original
 * or the probe, so the episode goes on: a D-SACK for the probe, or a
 * duplicate ACK after it (the second copy arrived), ends it with nothing
 * lost; an ACK past the probe's end without either means the probe
 * repaired a loss that no recovery saw: cwnd and ssthresh are lowered as a
 * recovery would have (unless one did). */
void tcp_tlp_ack(struct tcp_conn *c, uint32_t ack, const struct tcp_opts *o,
		 bool advanced)
{
	if (!(c->flags & TF_TLP_OUT))
		return;
	if (dsack_for_probe(c, ack, o))
		c->flags |= TF_TLP_DSACK;
	if (seq_lt(ack, c->tlp_end))
		return;
	if (!(c->flags & TF_TLP_DSACK) && advanced) {
		if (ack == c->tlp_end)
			return;
		if (!(c->flags & TF_IN_RECOVERY)) {
			TCP_STAT(c->stack, tlp_losses, 1);
			tcp_cc_tlp_loss(c);
		}
	}
	c->flags &= (uint16_t)~TF_TLP_OUT;
}
