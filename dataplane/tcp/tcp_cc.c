/*
 * tcp_cc: NewReno congestion control (RFC 5681, RFC 6582) with the RFC 6928
 * initial window, and the window changes of RFC 6675 SACK recovery.  cwnd
 * limits the bytes in flight (snd_nxt - snd_una, or pipe in SACK recovery)
 * — never a per-send cap.
 */
#include "dataplane/tcp/tcp_impl.h"

uint32_t tcp_flight(const struct tcp_conn *c)
{
	return c->snd_max - c->snd_una;
}

void tcp_cc_init(struct tcp_conn *c)
{
	uint32_t mss = c->snd_mss;

	c->cwnd = RTE_MIN(TCP_IW_SEGS * mss, RTE_MAX(2 * mss, 14600u));
	c->ssthresh = UINT32_MAX;
}

static uint32_t half_flight(const struct tcp_conn *c)
{
	return RTE_MAX(tcp_flight(c) / 2, 2u * c->snd_mss);
}

/* New data acknowledged outside recovery: slow start, then congestion
 * avoidance (RFC 5681 §3.1, byte counting limited to one SMSS per ACK). */
void tcp_cc_ack(struct tcp_conn *c, uint32_t acked)
{
	uint32_t mss = c->snd_mss;

	if (c->cwnd < c->ssthresh)
		c->cwnd += RTE_MIN(acked, mss);
	else
		c->cwnd += RTE_MAX(1u, mss * mss / c->cwnd);
}

/* A duplicate ACK.  Returns true on the third: the caller retransmits. */
bool tcp_cc_dupack(struct tcp_conn *c)
{
	uint32_t mss = c->snd_mss;

	if (c->flags & TF_IN_RECOVERY) {
		c->cwnd += mss;                 /* inflate for the segment that left */
		return false;
	}
	if (++c->dupacks != TCP_DUPACK_THRESH)
		return false;
	/* RFC 6582 §3.2 step 2: not again for losses of the same window
	 * (recover is the next sequence number at the last loss event). */
	if (seq_lt(c->snd_una, c->recover))
		return false;
	c->ssthresh = half_flight(c);
	c->recover = c->snd_max;
	c->cwnd = c->ssthresh + TCP_DUPACK_THRESH * mss;
	c->flags |= TF_IN_RECOVERY;
	return true;
}

/* RFC 6582 §3.2 step 5: a partial ACK deflates by the amount acknowledged
 * and adds back one SMSS; the caller retransmits the next hole. */
void tcp_cc_partial_ack(struct tcp_conn *c, uint32_t acked)
{
	c->cwnd = c->cwnd > acked ? c->cwnd - acked : 0;
	if (acked >= c->snd_mss)
		c->cwnd += c->snd_mss;
	c->cwnd = RTE_MAX(c->cwnd, (uint32_t)c->snd_mss);
}

/* RFC 6582 §3.2 step 6: a full ACK ends recovery. */
void tcp_cc_full_ack(struct tcp_conn *c)
{
	c->cwnd = RTE_MIN(c->ssthresh, RTE_MAX(tcp_flight(c), (uint32_t)c->snd_mss) + c->snd_mss);
	c->flags &= ~TF_IN_RECOVERY;
}

/* RFC 5681 §3.1 eq. 4 and the loss window; RFC 6582 §4 sets recover so
 * that duplicate ACKs from before the timeout do not start a recovery. */
void tcp_cc_timeout(struct tcp_conn *c)
{
	c->ssthresh = half_flight(c);
	c->cwnd = c->snd_mss;
	c->recover = c->snd_max;
	c->dupacks = 0;
	c->flags &= ~TF_IN_RECOVERY;
}

/* RFC 6675 §5 step 4.2: SACK-based recovery halves the flight into both
 * ssthresh and cwnd; pipe then limits what is in flight, so there is no
 * inflation or deflation.  recover is RecoveryPoint. */
void tcp_cc_sack_recovery(struct tcp_conn *c)
{
	c->ssthresh = half_flight(c);
	c->cwnd = c->ssthresh;
	c->recover = c->snd_max;
	c->flags |= TF_IN_RECOVERY;
}
