/*
 * tcp_sack: the sender's side of SACK (RFC 2018, RFC 6675) — the bounded
 * scoreboard of ranges the peer holds above snd_una, which ACKs count as
 * DupAcks, entry into loss recovery, and IsLost, pipe and NextSeg, which
 * tcp_output() uses to repair holes while cwnd limits the bytes in flight.
 * A peer that did not negotiate SACK recovers by NewReno (tcp_cc.c).
 */
#include "dataplane/tcp/tcp_impl.h"

static void sb_remove(struct tcp_scoreboard *sb, uint8_t i)
{
	for (uint8_t j = i; j + 1 < sb->n; j++)
		sb->r[j] = sb->r[j + 1];
	sb->n--;
}

/* Forget what the cumulative ACK covers. */
static void sb_trim(struct tcp_scoreboard *sb, uint32_t una)
{
	while (sb->n != 0 && seq_leq(sb->r[0].end, una))
		sb_remove(sb, 0);
	if (sb->n != 0 && seq_lt(sb->r[0].start, una))
		sb->r[0].start = una;
}

/* Add [start, end) to the sorted, disjoint ranges, merging what it
 * overlaps or touches.  When the scoreboard is full the highest range is
 * given up (the data counts as not SACKed: safe, at worst a needless
 * retransmission).  Returns the bytes that were not SACKed before. */
static uint32_t sb_add(struct tcp_scoreboard *sb, uint32_t start, uint32_t end)
{
	uint32_t s = start, e = end, fresh = end - start;
	uint8_t i = 0;

	while (i < sb->n && seq_lt(sb->r[i].end, s))
		i++;
	while (i < sb->n && seq_leq(sb->r[i].start, e)) {
		uint32_t lo = seq_max(start, sb->r[i].start), hi = seq_min(end, sb->r[i].end);

		if (seq_lt(lo, hi))
			fresh -= hi - lo;
		s = seq_min(s, sb->r[i].start);
		e = seq_max(e, sb->r[i].end);
		sb_remove(sb, i);
	}
	if (sb->n == TCP_SACK_RANGES) {
		if (i == sb->n)
			return fresh;
		sb->n--;
	}
	for (uint8_t j = sb->n; j > i; j--)
		sb->r[j] = sb->r[j - 1];
	sb->r[i] = (struct tcp_sack_block){.start = s, .end = e};
	sb->n++;
	return fresh;
}

/* Take the ACK's SACK blocks (after snd_una moved to the ACK).  Blocks
 * below snd_una (D-SACK) or beyond snd_max are ignored.  Returns the
 * bytes newly SACKed. */
uint32_t tcp_sack_update(struct tcp_conn *c, const struct tcp_opts *o)
{
	uint32_t fresh = 0;

	sb_trim(&c->sb, c->snd_una);
	if (!c->sack_ok)
		return 0;
	for (uint8_t i = 0; i < o->nsack; i++) {
		uint32_t s = o->sack[i].start, e = o->sack[i].end;

		if (!seq_lt(s, e) || seq_gt(e, c->snd_max) || seq_leq(e, c->snd_una))
			continue;
		fresh += sb_add(&c->sb, seq_max(s, c->snd_una), e);
	}
	return fresh;
}

/* The ACK's D-SACK block (RFC 2883 §4: the first block, below the
 * cumulative ACK or inside the second block), as [*s, *e). */
bool tcp_sack_dsack(uint32_t ack, const struct tcp_opts *o, uint32_t *s, uint32_t *e)
{
	if (o->nsack == 0)
		return false;
	*s = o->sack[0].start, *e = o->sack[0].end;
	return seq_lt(*s, *e) &&
	       (seq_leq(*e, ack) ||
		(o->nsack > 1 && seq_geq(*s, o->sack[1].start) && seq_leq(*e, o->sack[1].end)));
}

void tcp_sack_clear(struct tcp_conn *c)
{
	c->sb.n = 0;
	c->sb.high_rxt = c->snd_una;
	c->sb.rxt_known = false;
}

/* IsLost (RFC 6675 §4) for any octet of a hole that begins at SEQ: DupThresh
 * discontiguous SACKed ranges above it, or more than (DupThresh - 1) * SMSS
 * SACKed bytes above it. */
static bool hole_lost(const struct tcp_conn *c, uint32_t seq)
{
	uint32_t bytes = 0, ranges = 0;

	for (uint8_t i = 0; i < c->sb.n; i++)
		if (seq_gt(c->sb.r[i].start, seq)) {
			bytes += c->sb.r[i].end - c->sb.r[i].start;
			ranges++;
		}
	return ranges >= TCP_DUPACK_THRESH ||
	       bytes > (TCP_DUPACK_THRESH - 1) * (uint32_t)c->snd_mss;
}

/* The hole (un-SACKed run) at or after SEQ, below snd_max: [*s, *e).
 * False when everything from SEQ on is SACKed. */
static bool hole_from(const struct tcp_conn *c, uint32_t seq, uint32_t *s, uint32_t *e)
{
	for (uint8_t i = 0; i < c->sb.n; i++) {
		if (seq_leq(c->sb.r[i].end, seq))
			continue;
		if (seq_lt(seq, c->sb.r[i].start)) {
			*s = seq;
			*e = c->sb.r[i].start;
			return true;
		}
		seq = c->sb.r[i].end;
	}
	*s = seq;
	*e = c->snd_max;
	return seq_lt(seq, c->snd_max);
}

/* SetPipe (RFC 6675 §4): the octets between snd_una and snd_max that are
 * not SACKed count once if not lost and once more if retransmitted. */
uint32_t tcp_sack_pipe(const struct tcp_conn *c)
{
	uint32_t pipe = 0, s, e;

	for (uint32_t seq = c->snd_una; hole_from(c, seq, &s, &e); seq = e) {
		if (!hole_lost(c, s))
			pipe += e - s;
		if (seq_lt(s, c->sb.high_rxt))
			pipe += seq_min(e, c->sb.high_rxt) - s;
	}
	return pipe;
}

/* NextSeg (RFC 6675 §4) rules 1 and 3: the first un-SACKed octet past
 * HighRxt and below the highest SACKed octet, if LOST_ONLY then one that
 * IsLost.  Sets the segment [*seq, *seq + *len) within its hole. */
bool tcp_sack_next_hole(const struct tcp_conn *c, bool lost_only,
			uint32_t *seq, uint32_t *len)
{
	uint32_t s, e;

	if (c->sb.n == 0)
		return false;
	uint32_t top = c->sb.r[c->sb.n - 1].start;

	for (uint32_t from = seq_max(c->snd_una, c->sb.high_rxt);
	     hole_from(c, from, &s, &e) && seq_lt(s, top); from = e)
		if (!lost_only || hole_lost(c, s)) {
			*seq = s;
			*len = RTE_MIN(e - s, (uint32_t)c->snd_mss);
			return true;
		}
	return false;
}

/* A segment [seq, seq + len) went out again.  For the first hole, remember
 * that everything from snd_max on is sent after this retransmission. */
void tcp_sack_retransmitted(struct tcp_conn *c, uint32_t seq, uint32_t len)
{
	c->sb.high_rxt = seq_max(c->sb.high_rxt, seq + len);
	if (seq == c->snd_una) {
		c->sb.rxt_seq = seq;
		c->sb.rxt_mark = c->snd_max;
		c->sb.rxt_known = true;
	}
}

/* SACKed bytes at and above SEQ. */
static uint32_t sacked_from(const struct tcp_conn *c, uint32_t seq)
{
	uint32_t bytes = 0;

	for (uint8_t i = 0; i < c->sb.n; i++)
		if (seq_gt(c->sb.r[i].end, seq))
			bytes += c->sb.r[i].end - seq_max(c->sb.r[i].start, seq);
	return bytes;
}

/* In SACK recovery, the retransmission of the first hole is lost when
 * more than (DupThresh - 1) * SMSS bytes sent after it are SACKed — the
 * sent-later-was-delivered rule of RACK (RFC 8985 §3.2), with RFC 6675's
 * DupThresh as the reordering allowance.  RFC 6675 alone cannot see it
 * (the hole is below HighRxt), so it would wait for the RTO, collapse cwnd
 * to one segment and go back N.  Instead it is lowered a second time and
 * the hole is sent again.  When snd_una moves into a hole retransmitted
 * earlier, only data sent from now on tells. */
void tcp_sack_lost_rexmit(struct tcp_conn *c)
{
	struct tcp_scoreboard *sb = &c->sb;
	uint32_t s, e;
	int n;

	if (!seq_lt(c->snd_una, sb->high_rxt))
		return;                         /* the first hole not yet resent */
	if (!sb->rxt_known || sb->rxt_seq != c->snd_una) {
		sb->rxt_seq = c->snd_una;
		sb->rxt_mark = c->snd_max;
		sb->rxt_known = true;
		return;
	}
	if (sacked_from(c, sb->rxt_mark) <= (TCP_DUPACK_THRESH - 1) * (uint32_t)c->snd_mss ||
	    !hole_from(c, c->snd_una, &s, &e))
		return;
	TCP_STAT(c->stack, rexmit_lost, 1);
	tcp_cc_reduce_again(c);
	if ((n = tcp_retransmit(c, s, e - s)) > 0) {
		TCP_STAT(c->stack, rexmit_sack, 1);
		tcp_sack_retransmitted(c, s, (uint32_t)n);
	}
}

/* A tail loss probe is out and the peer SACKed it above a hole: RACK's
 * rule (RFC 8985 §6.2, §7.4) — what was sent before a delivered segment
 * is lost, and the probe left two round trips after everything below it,
 * far more than RACK's reordering window. */
static bool probe_delivered(const struct tcp_conn *c)
{
	if (!(c->flags & TF_TLP_OUT) || !seq_lt(c->snd_una, c->tlp_seq))
		return false;
	for (uint8_t i = 0; i < c->sb.n; i++)
		if (seq_leq(c->sb.r[i].start, c->tlp_seq) && seq_gt(c->sb.r[i].end, c->tlp_seq))
			return true;
	return false;
}

/* Loss recovery starts (RFC 6675 §5 step 4): the first hole is
 * retransmitted at once and the rest follows from tcp_output(). */
void tcp_sack_recover(struct tcp_conn *c)
{
	uint32_t s, e;
	int n;

	tcp_conn_disarm(c, TMR_REO);
	tcp_cc_sack_recovery(c);
	if (hole_from(c, c->snd_una, &s, &e) && (n = tcp_retransmit(c, s, e - s)) > 0) {
		TCP_STAT(c->stack, rexmit_fast, 1);
		tcp_sack_retransmitted(c, s, (uint32_t)n);
	}
	tcp_conn_mark_output(c);
}

/* RFC 6675 §5: an ACK that SACKs FRESH new bytes is a DupAck.  Outside
 * recovery the DupThresh-th, or a first hole that IsLost already (or
 * below a delivered tail loss probe), starts loss recovery — not for
 * losses of a window already recovered or timed out, as RFC 6582 guards
 * with recover, and, once the connection has seen reordering, only after
 * the reordering window (tcp_reorder.c).  Short of that, the DupAck lets
 * tcp_output() send new data while pipe is below cwnd. */
void tcp_sack_dupack(struct tcp_conn *c, uint32_t fresh)
{
	bool probe;

	if (fresh == 0 || (c->flags & TF_IN_RECOVERY))
		return;
	TCP_STAT(c->stack, dup_acks, 1);
	c->sb.high_rxt = c->snd_una;
	c->sb.rxt_known = false;
	if (c->dupacks == 0)
		c->reo_start = c->stack->now;
	if (c->dupacks < UINT8_MAX)
		c->dupacks++;
	probe = probe_delivered(c);
	if ((c->dupacks < TCP_DUPACK_THRESH && !hole_lost(c, c->snd_una) && !probe) ||
	    seq_lt(c->snd_una, c->recover) || (!probe && tcp_reo_wait(c))) {
		tcp_conn_mark_output(c);        /* limited transmit, by pipe */
		return;
	}
	tcp_sack_recover(c);
}
