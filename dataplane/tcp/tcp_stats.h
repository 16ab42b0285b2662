/*
 * tcp_stats: one worker's TCP counters — every drop and retransmission
 * kind, connection events and gauges.  Written only by the owning worker
 * (single-writer, see dataplane/stats.h), read by the control plane.
 * The X-macro keeps the names for sluicectl beside the fields.
 */
#ifndef SLUICE_DATAPLANE_TCP_TCP_STATS_H
#define SLUICE_DATAPLANE_TCP_TCP_STATS_H

#include <stdint.h>

#define TCP_STATS_FIELDS(X)                                                    \
	X(segs_in)            X(segs_out)           X(bytes_in)                    \
	X(bytes_out)          X(active_opens)       X(passive_opens)               \
	X(established)        X(closed)             X(resets_in)                   \
	X(resets_out)         X(drop_runt)          X(drop_cksum)                  \
	X(drop_bad_opts)      X(drop_no_conn)       X(drop_bad_seq)                \
	X(drop_bad_ack)       X(drop_ooo_full)      X(drop_paws)                   \
	X(drop_conn_full)     X(drop_backlog)       X(drop_listen_overflow)        \
	X(challenge_acks)     X(rexmit_rto)         X(rexmit_fast)                 \
	X(rexmit_sack)        X(rexmit_syn)         X(rto_timeouts)                \
	X(give_ups)           X(dup_acks)           X(ooo_segs)                    \
	X(persist_probes)     X(keepalive_probes)   X(delayed_acks)                \
	X(syn_cookies_sent)   X(syn_cookies_ok)     X(syn_cookies_bad)             \
	X(syn_rcvd_timeouts)  X(time_wait_reused)   X(time_wait_expired)           \
	X(time_wait_evicted)  X(no_mbuf)            X(no_port)                     \
	X(rexmit_lost)        X(tlp_probes)         X(tlp_losses)                  \
	X(dsack_in)           X(reord_seen)         X(reord_waits)                 \
	X(reord_saves)        X(undo_dsack)         X(loss_after_recover)

struct tcp_stats {
#define TCP_STATS_FIELD(name) uint64_t name;
	TCP_STATS_FIELDS(TCP_STATS_FIELD)
#undef TCP_STATS_FIELD
	/* gauges */
	uint64_t conns;        /* allocated connections */
	uint64_t time_wait;    /* TIME_WAIT entries */
	uint64_t mem_bytes;    /* connection memory in use */
};

#endif
