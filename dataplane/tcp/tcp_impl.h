/*
 * tcp_impl: the TCP engine's internal types and the functions its files
 * share — the stack (flow table, listeners, TIME_WAIT ring, timer wheel,
 * pools), the connection control block, and the per-file entry points.
 * Nothing outside dataplane/tcp includes this.
 */
#ifndef SLUICE_DATAPLANE_TCP_TCP_IMPL_H
#define SLUICE_DATAPLANE_TCP_TCP_IMPL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include <rte_hash.h>
#include <rte_mempool.h>
#include <rte_tcp.h>

#include "dataplane/stats.h"
#include "dataplane/tcp/tcp.h"
#include "dataplane/tcp/tcp_buf.h"
#include "dataplane/tcp/tcp_isn.h"
#include "dataplane/tcp/tcp_opt.h"
#include "dataplane/tcp/tcp_seq.h"
#include "dataplane/tcp/tcp_wheel.h"

#define TCP_MAX_LISTENERS 16
#define TCP_WS_MAX        14
#define TCP_DEFAULT_MSS   536     /* RFC 9293 when the peer sends none */
#define TCP_IW_SEGS       10      /* RFC 6928 initial window */
#define TCP_DUPACK_THRESH 3
#define TCP_TS_HZ_SHIFT   10      /* timestamp clock: µs >> 10 ≈ 1 ms */

enum tcp_state {
	TCP_CLOSED, TCP_SYN_SENT, TCP_SYN_RCVD, TCP_ESTABLISHED,
	TCP_FIN_WAIT_1, TCP_FIN_WAIT_2, TCP_CLOSE_WAIT, TCP_CLOSING,
	TCP_LAST_ACK, TCP_TIME_WAIT,
};

/* Per-connection timers share one wheel slot: the earliest deadline. */
enum tcp_tmr {
	TMR_RTO,        /* retransmission, SYN retries, persist */
	TMR_DELACK,
	TMR_KEEPALIVE,
	TMR_LINGER,     /* SYN_RCVD and orphaned FIN_WAIT_2 lifetimes */
	TMR_PTO,        /* tail loss probe (RFC 8985 §7) */
	TMR_REO,        /* the reordering window ends (RFC 8985 §6.3) */
	TMR_N
};

/* Connection flags. */
#define TF_ACK_NOW      0x0001u  /* send an ACK at the next output */
#define TF_FIN_QUEUED   0x0002u  /* the application closed: FIN after the data */
#define TF_FIN_SENT     0x0004u
#define TF_PERSIST      0x0008u  /* TMR_RTO is the persist timer */
#define TF_DETACHED     0x0010u  /* the application got TCP_EV_CLOSED */
#define TF_PEER_FIN     0x0020u  /* the peer's FIN arrived (in order) */
#define TF_PENDING      0x0040u  /* on the stack's output list */
#define TF_WANT_WRITE   0x0080u  /* a tcp_send() came up short */
#define TF_IN_RECOVERY  0x0100u
#define TF_RTT_TIMING   0x0200u  /* rtt_seq is being timed (no timestamps) */
#define TF_ACCEPTED     0x0400u  /* passive: the listener accepted it */
#define TF_IN_INPUT     0x0800u  /* inside tcp_input: defer frees */
#define TF_DEAD         0x1000u  /* to be freed when input unwinds */
#define TF_TLP_OUT      0x2000u  /* a tail loss probe is unanswered */
#define TF_TLP_DSACK    0x4000u  /* ... and a D-SACK showed it unneeded */
#define TF_DSACK        0x8000u  /* report dsack_* in the next ACK */

#define TCP_SACK_RANGES 8       /* SACKed ranges a sender remembers */

/* The sender's SACK scoreboard (RFC 6675): what the peer holds above
 * snd_una, sorted and disjoint, and HighRxt for the current recovery. */
struct tcp_scoreboard {
	struct tcp_sack_block r[TCP_SACK_RANGES];
	uint8_t n;
	uint32_t high_rxt;       /* end of the highest retransmitted octet */
	uint32_t rxt_seq;        /* the first hole, known retransmitted ... */
	uint32_t rxt_mark;       /* ... before everything from here was sent */
	bool rxt_known;
};

#define TCP_UNDO_SEGS 8         /* retransmissions an episode can undo */

/* What proves a loss response spurious and takes it back (tcp_reorder.c):
 * cwnd and ssthresh before the episode, and the retransmissions that no
 * D-SACK has shown unneeded yet. */
struct tcp_undo {
	uint32_t cwnd, ssthresh;
	uint32_t seq[TCP_UNDO_SEGS];
	uint8_t n;
	bool armed;              /* false: nothing to undo, or too much */
};

struct tcp_key {
	uint32_t raddr, laddr;
	uint16_t rport, lport;
};

struct tcp_listener {
	uint32_t addr;       /* 0 = any */
	uint16_t port;       /* 0 = free slot */
	uint32_t half_open;  /* SYN_RCVD connections */
	tcp_accept_fn accept;
	void *arg;
};

struct tcp_conn {
	struct tcp_key key;
	uint8_t state;
	uint16_t flags;
	struct tcp_stack *stack;
	struct tcp_listener *listener;
	const struct tcp_ops *ops;
	void *arg;

	/* send side (RFC 9293 §3.3.1) */
	uint32_t iss, snd_una, snd_nxt, snd_max, snd_wnd, snd_wl1, snd_wl2;
	uint32_t max_snd_wnd;    /* largest window the peer offered */
	uint32_t snd_base;       /* sequence number of the send ring's head */
	uint16_t snd_mss;        /* payload per segment, options accounted */
	uint8_t snd_wscale, rcv_wscale;
	bool ws_ok, ts_ok, sack_ok;

	/* receive side */
	uint32_t irs, rcv_nxt, rcv_adv;
	uint32_t last_ack_sent;  /* rcv_nxt in our last ACK (RFC 7323 §4.3) */
	uint32_t ts_recent;
	uint64_t ts_recent_age;
	uint8_t unacked_segs;    /* full segments since our last ACK */
	uint32_t ooo_last;       /* start of the latest out-of-order segment */
	uint32_t dsack_start, dsack_end;  /* a duplicate received (RFC 2883) */

	/* RTT and RTO (RFC 6298) */
	uint32_t srtt_us, rttvar_us, rto_us;
	uint32_t min_rtt_us;
	uint32_t rtt_seq;
	uint64_t rtt_start;
	uint8_t backoff;         /* RTO doublings (also SYN retries) */
	uint8_t ka_probes;

	/* congestion control (RFC 5681, 6582) */
	uint32_t cwnd, ssthresh, recover;
	uint32_t bytes_acked;    /* RFC 5681 §3.1 byte counting in avoidance */
	uint32_t una_at_send;    /* snd_una when we last transmitted */
	uint32_t tlp_seq, tlp_end;  /* the outstanding tail loss probe */
	uint8_t dupacks;
	struct tcp_scoreboard sb;  /* RFC 6675 loss recovery, when sack_ok */

	/* reordering (RFC 8985 §6.2) and undo (RFC 3708) */
	uint64_t reo_start;      /* µs: the first SACK above the hole at snd_una */
	uint32_t reo_round;      /* no wider window until snd_una passes this */
	uint8_t reo_mult;        /* window in min_rtt/4 steps; 0: none seen */
	uint8_t reo_persist;     /* recoveries left before reo_mult is 1 again */
	struct tcp_undo undo;

	uint64_t last_rx;        /* µs: for keepalive */
	uint64_t deadline[TMR_N];
	struct tcp_timer timer;
	TAILQ_ENTRY(tcp_conn) pending;

	struct tcp_ring snd;
	struct tcp_rcvbuf rcv;
	uint8_t mem[];           /* send then receive buffer */
};

/* A TIME_WAIT entry: all the state a dead connection still needs. */
struct tcp_tw {
	struct tcp_key key;
	uint32_t snd_nxt, rcv_nxt, ts_recent;
	uint64_t expires;
	bool ts_ok, live;
};

TAILQ_HEAD(tcp_conn_list, tcp_conn);

struct tcp_stack {
	struct tcp_stack_conf conf;
	struct rte_mempool *pool;        /* packet mbufs */
	struct rte_mempool *conns;       /* connection blocks with buffers */
	struct rte_hash *flows;          /* tcp_key → conn or tagged tw index */
	tcp_output_fn out;
	void *out_arg;
	tcp_port_ok_fn port_ok;
	void *port_ok_arg;
	tcp_isn_fn isn_fn;               /* NULL: RFC 6528 */
	void *isn_arg;
	struct tcp_isn_key isn_key;
	struct tcp_wheel wheel;
	struct tcp_listener listener[TCP_MAX_LISTENERS];
	struct tcp_conn_list out_list;   /* connections with output queued */
	struct tcp_tw *tw;               /* FIFO ring, time_wait_max entries */
	uint32_t tw_head, tw_len;
	uint16_t ip_id;
	uint16_t next_port;
	uint64_t now;
	struct tcp_stats stats;
};

#define TCP_STAT(s, f, n) STATS_ADD((s)->stats.f, (n))

/* tcp_stack.c */
struct tcp_conn *tcp_conn_alloc(struct tcp_stack *s, const struct tcp_key *k);
void tcp_conn_free(struct tcp_conn *c);
void tcp_conn_set_state(struct tcp_conn *c, enum tcp_state st);
void tcp_conn_notify_closed(struct tcp_conn *c, int err);
void tcp_conn_destroy(struct tcp_conn *c, int err);
void tcp_conn_arm(struct tcp_conn *c, enum tcp_tmr t, uint64_t when);
void tcp_conn_disarm(struct tcp_conn *c, enum tcp_tmr t);
void tcp_conn_rearm(struct tcp_conn *c);
void tcp_conn_mark_output(struct tcp_conn *c);
struct tcp_listener *tcp_listener_find(struct tcp_stack *s, uint32_t addr, uint16_t port);
uint8_t tcp_rcv_wscale_for(uint32_t rcvbuf);
uint32_t tcp_rcv_window(const struct tcp_conn *c);
uint32_t tcp_ts_now(const struct tcp_stack *s);
uint32_t tcp_new_isn(struct tcp_stack *s, const struct tcp_key *k);

/* tcp_tw.c */
int tcp_tw_enter(struct tcp_conn *c);
struct tcp_tw *tcp_tw_get(struct tcp_stack *s, uintptr_t tagged);
void tcp_tw_kill(struct tcp_stack *s, struct tcp_tw *tw);
bool tcp_tw_input(struct tcp_stack *s, struct tcp_tw *tw,
		  const struct rte_tcp_hdr *th, uint32_t plen,
		  const struct tcp_opts *o);
void tcp_tw_expire(struct tcp_stack *s, uint64_t now);

/* tcp_output.c */
void tcp_output(struct tcp_conn *c);
void tcp_send_ack(struct tcp_conn *c);
void tcp_send_syn(struct tcp_conn *c);
void tcp_send_rst(struct tcp_conn *c);
int tcp_retransmit(struct tcp_conn *c, uint32_t seq, uint32_t len);
void tcp_retransmit_first(struct tcp_conn *c);
void tcp_send_probe(struct tcp_conn *c, bool with_byte);
void tcp_reply_rst(struct tcp_stack *s, const struct tcp_key *k,
		   const struct rte_tcp_hdr *th, uint32_t seglen);
void tcp_reply_ack(struct tcp_stack *s, const struct tcp_key *k, uint32_t seq,
		   uint32_t ack, uint16_t wnd, bool ts, uint32_t ts_ecr);
void tcp_send_cookie_synack(struct tcp_stack *s, const struct tcp_key *k,
			    uint32_t iss, uint32_t ack, uint16_t mss);

/* tcp_timer.c */
void tcp_timer_fire(struct tcp_timer *t, void *arg);
void tcp_rto_restart(struct tcp_conn *c);
void tcp_keepalive_start(struct tcp_conn *c);
void tcp_rtt_sample(struct tcp_conn *c, uint32_t rtt_us);

/* tcp_cc.c */
void tcp_cc_init(struct tcp_conn *c);
void tcp_cc_ack(struct tcp_conn *c, uint32_t acked);
bool tcp_cc_dupack(struct tcp_conn *c);
void tcp_cc_partial_ack(struct tcp_conn *c, uint32_t acked);
void tcp_cc_full_ack(struct tcp_conn *c);
void tcp_cc_timeout(struct tcp_conn *c);
void tcp_cc_sack_recovery(struct tcp_conn *c);
void tcp_cc_reduce_again(struct tcp_conn *c);
void tcp_cc_tlp_loss(struct tcp_conn *c);
uint32_t tcp_flight(const struct tcp_conn *c);

/* tcp_sack.c */
uint32_t tcp_sack_update(struct tcp_conn *c, const struct tcp_opts *o);
bool tcp_sack_dsack(uint32_t ack, const struct tcp_opts *o, uint32_t *s, uint32_t *e);
void tcp_sack_recover(struct tcp_conn *c);
void tcp_sack_clear(struct tcp_conn *c);
void tcp_sack_dupack(struct tcp_conn *c, uint32_t fresh);
uint32_t tcp_sack_pipe(const struct tcp_conn *c);
bool tcp_sack_next_hole(const struct tcp_conn *c, bool lost_only,
			uint32_t *seq, uint32_t *len);
void tcp_sack_retransmitted(struct tcp_conn *c, uint32_t seq, uint32_t len);
void tcp_sack_lost_rexmit(struct tcp_conn *c);

/* tcp_tlp.c */
void tcp_tlp_arm(struct tcp_conn *c);
void tcp_tlp_fire(struct tcp_conn *c);
void tcp_tlp_ack(struct tcp_conn *c, uint32_t ack, const struct tcp_opts *o,
		 bool advanced);

/* tcp_reorder.c */
void tcp_reo_acked(struct tcp_conn *c, uint32_t old_una);
bool tcp_reo_wait(struct tcp_conn *c);
void tcp_reo_fire(struct tcp_conn *c);
void tcp_undo_start(struct tcp_conn *c);
void tcp_undo_rexmit(struct tcp_conn *c, uint32_t seq);
void tcp_undo_dsack(struct tcp_conn *c, uint32_t ack, const struct tcp_opts *o);

/* tcp_listen.c */
void tcp_listen_input(struct tcp_stack *s, struct tcp_listener *l,
		      const struct tcp_key *k, const struct rte_tcp_hdr *th,
		      uint32_t plen, const struct tcp_opts *o);
bool tcp_conn_accept(struct tcp_conn *c);
void tcp_syn_options(struct tcp_conn *c, const struct tcp_opts *o);

/* tcp_input.c */
void tcp_conn_input(struct tcp_conn *c, const struct rte_tcp_hdr *th,
		    uint32_t plen, const struct tcp_opts *o);
void tcp_conn_enter(struct tcp_conn *c);
void tcp_conn_leave(struct tcp_conn *c);
void tcp_deliver(struct tcp_conn *c);

#endif
