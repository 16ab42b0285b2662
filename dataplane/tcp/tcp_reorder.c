/*
 * tcp_reorder: reordering on the send side — RACK's reordering window
 * (RFC 8985 §6.2) and the undo of a loss response that D-SACK (RFC 2883,
 * RFC 3708) proves spurious.
 *
 * Until the connection has seen reordering, loss recovery starts as RFC
 * 6675 says (DupThresh SACKs, or IsLost).  Once it has — a hole filled
 * without being retransmitted while data above it was SACKed, or a D-SACK
 * for one of our retransmissions — recovery waits the reordering window
 * (min_RTT / 4 per step, at most SRTT) after the first SACK above the hole:
 * a segment that was only late arrives within it, and nothing is resent.
 * RACK measures the window from each segment's transmission time; we keep
 * no per-segment times, so it runs from the first SACK above the hole,
 * which is later (never earlier) than RACK's deadline.
 *
 * Each loss episode remembers cwnd and ssthresh from before its reduction
 * and the retransmissions it made; when D-SACKs show that every one of them
 * reached a receiver that already had the data, the reduction is taken
 * back (cwnd and ssthresh as before the episode), and the window widens.
 */
#include "dataplane/tcp/tcp_impl.h"

#define TCP_REO_MULT_MAX  64    /* RFC 8985: reo_wnd never exceeds SRTT anyway */
#define TCP_REO_PERSIST   16    /* recoveries a widened window lasts */

static uint64_t reo_wnd(const struct tcp_conn *c)
{
	uint64_t w = (uint64_t)c->reo_mult * (c->min_rtt_us / 4);

	return RTE_MIN(w, (uint64_t)c->srtt_us);
}

/* Reordering seen (RACK.reord): a window of one step at least. */
static void reo_seen(struct tcp_conn *c)
{
	TCP_STAT(c->stack, reord_seen, 1);
	if (c->reo_mult == 0)
		c->reo_mult = 1;
}

/* RFC 8985 §6.2 step 4: a D-SACK widens the window by one step, at most
 * once per round trip, for the next TCP_REO_PERSIST recoveries. */
static void reo_widen(struct tcp_conn *c)
{
	if (c->reo_mult != 0 && seq_lt(c->snd_una, c->reo_round))
		return;
	reo_seen(c);
	if (c->reo_mult < TCP_REO_MULT_MAX)
		c->reo_mult++;
	c->reo_round = c->snd_max;
	c->reo_persist = TCP_REO_PERSIST;
}

/* An ACK moves snd_una from OLD_UNA (the scoreboard is not yet trimmed).
 * When data above the hole was SACKed and the hole was never
 * retransmitted, the network reordered it.  A wait for the window that it
 * ended saved a retransmission. */
void tcp_reo_acked(struct tcp_conn *c, uint32_t old_una)
{
	if (!c->sack_ok || c->sb.n == 0 || seq_lt(old_una, c->sb.high_rxt))
		return;
	reo_seen(c);
	if (c->deadline[TMR_REO] != UINT64_MAX) {
		TCP_STAT(c->stack, reord_saves, 1);
		tcp_conn_disarm(c, TMR_REO);
	}
}

/* RFC 6675 would start recovery now: must it wait for the reordering
 * window first?  If so the timer is armed for its end. */
bool tcp_reo_wait(struct tcp_conn *c)
{
	uint64_t end;

	if (c->reo_mult == 0)
		return false;
	end = c->reo_start + reo_wnd(c);
	if (c->stack->now >= end)
		return false;
	if (c->deadline[TMR_REO] != end) {
		TCP_STAT(c->stack, reord_waits, 1);
		tcp_conn_arm(c, TMR_REO, end);
	}
	return true;
}

/* The window ended and the hole at snd_una is still there: it is lost. */
void tcp_reo_fire(struct tcp_conn *c)
{
	if ((c->flags & TF_IN_RECOVERY) || c->sb.n == 0 || c->dupacks == 0 ||
	    seq_lt(c->snd_una, c->recover) || c->snd_una == c->snd_max)
		return;
	tcp_sack_recover(c);
}

/* A loss episode starts, before cwnd is lowered: what undo would restore.
 * Undo needs D-SACK, so SACK.  Each episode also ages a widened window. */
void tcp_undo_start(struct tcp_conn *c)
{
	c->undo = (struct tcp_undo){.cwnd = c->cwnd, .ssthresh = c->ssthresh,
				    .armed = c->sack_ok};
	if (c->reo_persist != 0 && --c->reo_persist == 0 && c->reo_mult > 1)
		c->reo_mult = 1;
}

/* The episode retransmitted the segment at SEQ. */
void tcp_undo_rexmit(struct tcp_conn *c, uint32_t seq)
{
	struct tcp_undo *u = &c->undo;

	if (!u->armed)
		return;
	if (u->n == TCP_UNDO_SEGS) {
		u->armed = false;               /* too many to prove unneeded */
		return;
	}
	u->seq[u->n++] = seq;
}

/* An ACK with a D-SACK: the retransmissions it covers were not needed.
 * When none of the episode's is left, its reduction is undone: cwnd and
 * ssthresh as before, recovery over, and the next loss may start a new
 * one (recover moves to snd_una). */
void tcp_undo_dsack(struct tcp_conn *c, uint32_t ack, const struct tcp_opts *o)
{
	struct tcp_undo *u = &c->undo;
	uint32_t s, e;
	bool hit = false;

	if (!c->sack_ok || !tcp_sack_dsack(ack, o, &s, &e))
		return;
	TCP_STAT(c->stack, dsack_in, 1);
	for (uint8_t i = 0; i < u->n;)
		if (seq_geq(u->seq[i], s) && seq_lt(u->seq[i], e)) {
			u->seq[i] = u->seq[--u->n];
			hit = true;
		} else {
			i++;
		}
	if (!hit)
		return;                         /* a copy the network made */
	reo_widen(c);
	if (!u->armed || u->n != 0)
		return;
	TCP_STAT(c->stack, undo_dsack, 1);
	c->cwnd = RTE_MAX(c->cwnd, u->cwnd);
	c->ssthresh = RTE_MAX(c->ssthresh, u->ssthresh);
	c->bytes_acked = 0;
	c->recover = c->snd_una;
	c->flags &= (uint16_t)~TF_IN_RECOVERY;
	u->armed = false;
	tcp_conn_mark_output(c);
}
