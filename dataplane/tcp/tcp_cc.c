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
	c->bytes_acked = 0;
	c->una_at_send = c->snd_una;
}

/* RFC 5681 eq. 4 on the FlightSize the network held when we last sent:
 * ACKs taken in one burst (a whole window's, behind one RX poll) shrink
 * snd_max - snd_una before output can refill, so the ACK that detects a
 * loss would otherwise see only the bytes sent after the lost one.  Never
 * more than cwnd: while DupAcks come in (and longer, in RACK's reordering
 * window) what the peer SACKed leaves pipe and new data follows, so
 * FlightSize, which counts SACKed bytes, grows past the window the
 * network was given — halving that would be a milder response. */
static uint32_t half_flight(const struct tcp_conn *c)
{
	uint32_t flight = RTE_MIN(RTE_MAX(tcp_flight(c), c->snd_max - c->una_at_send),
				  c->cwnd);

	return RTE_MAX(flight / 2, 2u * c->snd_mss);
}

/* New data acknowledged outside recovery.  Slow start counts the bytes
 * acknowledged, at most L = 2 * SMSS per ACK (RFC 3465 §2.2, as RFC 5681
 * §3.1 allows), so a delayed-ACK peer does not halve the growth;
 * congestion avoidance adds one SMSS per cwnd of bytes acknowledged (RFC
 * 5681 §3.1, the recommended byte counting). */
void tcp_cc_ack(struct tcp_conn *c, uint32_t acked)
{
	uint32_t mss = c->snd_mss;

	if (c->cwnd < c->ssthresh) {
		c->cwnd += RTE_MIN(acked, 2 * mss);
		c->bytes_acked = 0;
		return;
	}
	c->bytes_acked += acked;
	if (c->bytes_acked >= c->cwnd) {
		c->bytes_acked -= c->cwnd;
		c->cwnd += mss;
	}
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
	tcp_undo_start(c);
	c->ssthresh = half_flight(c);
	c->recover = c->snd_max;
	c->cwnd = c->ssthresh + TCP_DUPACK_THRESH * mss;
	c->bytes_acked = 0;
	c->flags &= (uint16_t)~TF_TLP_OUT;   /* recovery makes the response */
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

/* A full ACK ends recovery.  NewReno deflates (RFC 6582 §3.2 step 6,
 * option 1: min(ssthresh, max(FlightSize, SMSS) + SMSS)), which guards
 * against a burst from an inflated cwnd.  SACK recovery never inflated
 * cwnd and pipe kept the flight at it, so cwnd stays ssthresh (RFC 6675
 * §5 leaves it; option 2 of step 6). */
void tcp_cc_full_ack(struct tcp_conn *c)
{
	if (c->sack_ok)
		c->cwnd = c->ssthresh;
	else
		c->cwnd = RTE_MIN(c->ssthresh,
				  RTE_MAX(tcp_flight(c), (uint32_t)c->snd_mss) + c->snd_mss);
	c->bytes_acked = 0;
	c->flags &= ~TF_IN_RECOVERY;
}

/* RFC 5681 §3.1 eq. 4 and the loss window; RFC 6582 §4 sets recover so
 * that duplicate ACKs from before the timeout do not start a recovery. */
void tcp_cc_timeout(struct tcp_conn *c)
{
	c->undo.armed = false;
	c->ssthresh = half_flight(c);
	c->cwnd = c->snd_mss;
	c->bytes_acked = 0;
	c->recover = c->snd_max;
	c->dupacks = 0;
	c->flags &= ~TF_IN_RECOVERY;
}

/* In recovery, a second indication of congestion (RFC 5681 §3.1): a
 * retransmission was lost (tcp_sack_lost_rexmit), or data sent after
 * RecoveryPoint was.  cwnd and ssthresh are lowered again, and recovery
 * now lasts until what is outstanding is acknowledged. */
void tcp_cc_reduce_again(struct tcp_conn *c)
{
	c->ssthresh = RTE_MAX(c->cwnd / 2, 2u * c->snd_mss);
	c->cwnd = c->ssthresh;
	c->bytes_acked = 0;
	c->recover = c->snd_max;
}

/* A tail loss probe repaired a loss no recovery saw (RFC 8985 §7.4.2):
 * the reduction a fast recovery would have made. */
void tcp_cc_tlp_loss(struct tcp_conn *c)
{
	c->undo.armed = false;
	c->ssthresh = half_flight(c);
	c->cwnd = c->ssthresh;
	c->bytes_acked = 0;
}

/* RFC 6675 §5 step 4.2: SACK-based recovery halves the flight into both
 * ssthresh and cwnd; pipe then limits what is in flight, so there is no
 * inflation or deflation.  recover is RecoveryPoint. */
void tcp_cc_sack_recovery(struct tcp_conn *c)
{
	tcp_undo_start(c);
	c->ssthresh = half_flight(c);
	c->cwnd = c->ssthresh;
	c->bytes_acked = 0;
	c->recover = c->snd_max;
	c->flags = (uint16_t)((c->flags | TF_IN_RECOVERY) & ~TF_TLP_OUT);
}
