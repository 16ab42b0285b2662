/*
 * tcp: the per-worker userspace TCP (RFC 9293), sans-I/O.  Segments come in
 * through tcp_input() with the clock passed in; segments leave through the
 * output hook given at creation (an IPv4 packet in an rte_mbuf, ready for
 * ipv4_output()); timers run from tcp_stack_poll().  Applications (the SMTP
 * sessions, the load generator) use listen/connect/send/close and receive
 * data and events through struct tcp_ops callbacks.
 */
#ifndef SLUICE_DATAPLANE_TCP_TCP_H
#define SLUICE_DATAPLANE_TCP_TCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_mbuf.h>

#include "dataplane/tcp/tcp_stats.h"

struct tcp_stack;
struct tcp_conn;

enum tcp_event {
	TCP_EV_CONNECTED,    /* the active open completed */
	TCP_EV_WRITABLE,     /* send space freed after a short tcp_send() */
	TCP_EV_PEER_CLOSED,  /* the peer sent FIN: no more data will come */
	TCP_EV_CLOSED,       /* finished (err 0, -ECONNRESET, -ETIMEDOUT,
				-ECONNREFUSED); the handle is dead after this */
};

struct tcp_ops {
	/* In-order data.  Returns the bytes taken (0..len); the rest stays
	 * buffered, closing the window, until tcp_recv_resume(). */
	size_t (*recv)(struct tcp_conn *c, void *arg, const uint8_t *data, size_t len);
	void (*event)(struct tcp_conn *c, void *arg, enum tcp_event ev, int err);
};

/* A handshake completed on a listener: set *ops and *arg and return 0, or
 * return a negative errno to reset the connection. */
typedef int (*tcp_accept_fn)(void *listen_arg, struct tcp_conn *c,
			     const struct tcp_ops **ops, void **arg);

/* Hand an IPv4 packet (data at the IP header, checksums done) to the
 * network.  Takes ownership of M. */
typedef void (*tcp_output_fn)(void *arg, struct rte_mbuf *m, uint64_t now);

/* May the active open use local port LPORT towards RPORT?  (Flow steering:
 * true when the reply will land on this worker's queue.) */
typedef bool (*tcp_port_ok_fn)(void *arg, uint32_t laddr, uint16_t lport,
			       uint32_t raddr, uint16_t rport);

struct tcp_stack_conf {
	uint32_t max_conns;        /* connections (any state but TIME_WAIT) */
	uint32_t time_wait_max;    /* TIME_WAIT entries */
	uint32_t syn_backlog;      /* half-open per listener before SYN cookies */
	uint32_t sndbuf, rcvbuf;   /* bytes per connection, powers of two */
	uint16_t mss;              /* our MSS (MTU 1500 → 1460) */
	uint32_t delack_us;        /* delayed ACK */
	uint32_t rto_initial_us, rto_min_us, rto_max_us;
	uint32_t syn_retries;      /* SYN / SYN-ACK retransmissions */
	uint32_t data_retries;     /* RTO backoffs before giving up */
	uint32_t time_wait_us;     /* 2*MSL */
	uint32_t fin_wait2_us;     /* FIN_WAIT_2 without data from the peer */
	uint32_t syn_rcvd_us;      /* half-open lifetime */
	uint64_t keepalive_idle_us;  /* 0 = no keepalive */
	uint32_t keepalive_intvl_us, keepalive_probes;
	uint16_t port_lo, port_hi; /* ephemeral range for active opens */
	bool sack_off;             /* neither offer nor accept SACK (RFC 2018) */
};

/* Defaults close to Linux's (an initializer, so the config loader can use
 * it without linking the stack). */
#define TCP_STACK_CONF_DEFAULT {                                              \
	.max_conns = 2048, .time_wait_max = 8192, .syn_backlog = 512,          \
	.sndbuf = 32768, .rcvbuf = 32768, .mss = 1460, .delack_us = 40000,     \
	.rto_initial_us = 1000000, .rto_min_us = 200000,                       \
	.rto_max_us = 120000000, .syn_retries = 6, .data_retries = 15,         \
	.time_wait_us = 60000000, .fin_wait2_us = 60000000,                    \
	.syn_rcvd_us = 30000000,                                               \
	.keepalive_idle_us = 0, /* off; applications time out */               \
	.keepalive_intvl_us = 75000000, .keepalive_probes = 9,                 \
	.port_lo = 32768, .port_hi = 60999,                                    \
}
void tcp_stack_conf_default(struct tcp_stack_conf *c);

struct tcp_stack *tcp_stack_create(const struct tcp_stack_conf *conf,
				   const char *name, int socket,
				   struct rte_mempool *pool,
				   tcp_output_fn out, void *out_arg, uint64_t now);
void tcp_stack_destroy(struct tcp_stack *s);
void tcp_stack_set_port_ok(struct tcp_stack *s, tcp_port_ok_fn fn, void *arg);

/* Replace the RFC 6528 generator (tests: ISNs near 2^32, replay). */
typedef uint32_t (*tcp_isn_fn)(void *arg, uint32_t laddr, uint16_t lport,
			       uint32_t raddr, uint16_t rport);
void tcp_stack_set_isn(struct tcp_stack *s, tcp_isn_fn fn, void *arg);
const struct tcp_stats *tcp_stack_stats(const struct tcp_stack *s);

/* Make ISNs and SYN cookies with the secret K (16 bytes) instead of the
 * stack's own random one: every worker given the same K accepts the
 * others' cookies.  Returns 0 or a negative errno. */
int tcp_stack_set_secret(struct tcp_stack *s, const uint8_t *k);

/* A TCP segment in an IPv4 packet (data at the IP header, IP validated,
 * l3_len set).  Consumes M. */
void tcp_input(struct tcp_stack *s, struct rte_mbuf *m, uint64_t now);

/* Does the segment in M (IPv4 header at the data pointer, l3_len set)
 * belong here: to a connection or TIME_WAIT entry of this stack, or as a
 * SYN to one of its listeners?  A worker asks before passing a segment on
 * to find the stack that owns it.  Malformed segments count as ours (the
 * stack that gets them counts the drop). */
bool tcp_owns(struct tcp_stack *s, const struct rte_mbuf *m);

/* Fire due timers and transmit what applications queued.  Call once per
 * poll round. */
void tcp_stack_poll(struct tcp_stack *s, uint64_t now);

int tcp_listen(struct tcp_stack *s, uint32_t addr, uint16_t port,
	       tcp_accept_fn accept, void *arg);
int tcp_unlisten(struct tcp_stack *s, uint32_t addr, uint16_t port);

/* Active open from LADDR to RADDR:RPORT.  The result comes as
 * TCP_EV_CONNECTED or TCP_EV_CLOSED.  NULL with *err set on failure. */
struct tcp_conn *tcp_connect(struct tcp_stack *s, uint32_t laddr,
			     uint32_t raddr, uint16_t rport,
			     const struct tcp_ops *ops, void *arg, int *err);

/* Queue up to LEN bytes; returns how many were taken.  Sent at the end of
 * the poll round, or now with tcp_flush(). */
size_t tcp_send(struct tcp_conn *c, const void *data, size_t len);
size_t tcp_send_space(const struct tcp_conn *c);
void tcp_flush(struct tcp_conn *c);

/* Offer buffered received data to ops->recv again. */
void tcp_recv_resume(struct tcp_conn *c);

/* Orderly close: FIN after the queued data.  TCP_EV_CLOSED follows. */
void tcp_close(struct tcp_conn *c);
/* Reset and forget now; no further callbacks. */
void tcp_abort(struct tcp_conn *c);

void tcp_conn_addrs(const struct tcp_conn *c, uint32_t *laddr, uint16_t *lport,
		    uint32_t *raddr, uint16_t *rport);
const char *tcp_conn_state_name(const struct tcp_conn *c);

#endif
