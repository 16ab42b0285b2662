/*
 * tcp_tw: TIME_WAIT without connection blocks.  A closed connection leaves
 * a small entry in a FIFO ring; every entry lives the same 2*MSL, so they
 * expire in ring order and need no timer.  The ring is bounded: when full,
 * the oldest entry is evicted (and counted).  A new SYN may reuse the tuple
 * per RFC 6191 (timestamps) or RFC 9293 (sequence numbers).  The peer's
 * retransmitted FIN is ACKed again and restarts the entry's 2*MSL.
 */
#include "dataplane/tcp/tcp_impl.h"

static void tw_unhash(struct tcp_stack *s, struct tcp_tw *tw)
{
	if (!tw->live)
		return;
	rte_hash_del_key(s->flows, &tw->key);
	tw->live = false;
	STATS_SET(s->stats.time_wait, s->stats.time_wait - 1);
}

static void tw_pop(struct tcp_stack *s)
{
	tw_unhash(s, &s->tw[s->tw_head]);
	s->tw_head = (s->tw_head + 1) % s->conf.time_wait_max;
	s->tw_len--;
}

/* Put E at the ring's tail, living 2*MSL from now, and point its key at
 * it.  A full ring gives up its oldest entry. */
static void tw_push(struct tcp_stack *s, const struct tcp_tw *e)
{
	uint32_t idx;
	struct tcp_tw *tw;

	if (s->tw_len == s->conf.time_wait_max) {
		if (s->tw[s->tw_head].live)
			TCP_STAT(s, time_wait_evicted, 1);
		tw_pop(s);
	}
	idx = (s->tw_head + s->tw_len++) % s->conf.time_wait_max;
	tw = &s->tw[idx];
	*tw = *e;
	tw->expires = s->now + s->conf.time_wait_us;
	tw->live = true;
	rte_hash_add_key_data(s->flows, &tw->key, (void *)(((uintptr_t)idx << 1) | 1));
	STATS_ADD(s->stats.time_wait, 1);
}

/* C is entering TIME_WAIT: record it and take over its flow-table key. */
int tcp_tw_enter(struct tcp_conn *c)
{
	struct tcp_stack *s = c->stack;

	if (s->conf.time_wait_max == 0) {
		rte_hash_del_key(s->flows, &c->key);
		return 0;
	}
	tw_push(s, &(struct tcp_tw){.key = c->key, .snd_nxt = c->snd_max,
				    .rcv_nxt = c->rcv_nxt, .ts_recent = c->ts_recent,
				    .ts_ok = c->ts_ok});
	return 0;
}

/* RFC 9293 §3.10.7.4: the peer's FIN again (our last ACK was lost)
 * restarts 2*MSL.  The entry moves to the tail, so the ring stays in
 * expiry order; its old slot is left dead until it reaches the head. */
static void tw_restart(struct tcp_stack *s, struct tcp_tw *tw)
{
	struct tcp_tw e = *tw;

	tw_unhash(s, tw);
	tw_push(s, &e);
}

struct tcp_tw *tcp_tw_get(struct tcp_stack *s, uintptr_t tagged)
{
	return &s->tw[tagged >> 1];
}

void tcp_tw_kill(struct tcp_stack *s, struct tcp_tw *tw)
{
	tw_unhash(s, tw);
}

void tcp_tw_expire(struct tcp_stack *s, uint64_t now)
{
	while (s->tw_len != 0 && s->tw[s->tw_head].expires <= now) {
		if (s->tw[s->tw_head].live)
			TCP_STAT(s, time_wait_expired, 1);
		tw_pop(s);
	}
}

/* A segment for a TIME_WAIT tuple.  Returns true when it is a SYN that may
 * open a new connection (the entry is gone then); otherwise the segment is
 * answered as RFC 9293 says and dropped.  RSTs are ignored (RFC 1337). */
bool tcp_tw_input(struct tcp_stack *s, struct tcp_tw *tw,
		  const struct rte_tcp_hdr *th, uint32_t plen,
		  const struct tcp_opts *o)
{
	uint32_t seq = rte_be_to_cpu_32(th->sent_seq);
	uint8_t f = th->tcp_flags;

	if (f & RTE_TCP_RST_FLAG)
		return false;
	if ((f & RTE_TCP_SYN_FLAG) && !(f & RTE_TCP_ACK_FLAG)) {
		bool newer = (tw->ts_ok && o->ts_ok) ? seq_gt(o->ts_val, tw->ts_recent)
						     : seq_gt(seq, tw->rcv_nxt);
		if (newer) {
			TCP_STAT(s, time_wait_reused, 1);
			tcp_tw_kill(s, tw);
			return true;
		}
	}
	/* A retransmitted FIN (our last ACK was lost) or anything with data
	 * gets the final ACK again; bare ACKs are not answered (no loops). */
	if ((f & (RTE_TCP_FIN_FLAG | RTE_TCP_SYN_FLAG)) || plen != 0)
		tcp_reply_ack(s, &tw->key, tw->snd_nxt, tw->rcv_nxt, 0,
			      tw->ts_ok && o->ts_ok, o->ts_val);
	if ((f & RTE_TCP_FIN_FLAG) && seq + plen + 1 == tw->rcv_nxt)
		tw_restart(s, tw);
	return false;
}
