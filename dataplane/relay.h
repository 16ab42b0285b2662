/*
 * relay: one worker's delivery to the smart hosts (design.md §1, issue 6).
 * Owns the worker's relay connections (TCP, TLS and an SMTP client engine
 * each), the envelopes of the messages it has to deliver, the messages in
 * an attempt, and each smart host's "down" time.  Each poll it takes due
 * messages from the delivery queue while it has room, routes them
 * (relay_route.h), opens or reuses a connection to the chosen smart host,
 * streams the body from the spool, and records each recipient's result in
 * the queue, the spool and the tracking ring.  A connection failure before
 * any reply about the message (refused, timed out, greeting, TLS) marks the
 * host down for host_down_s and tries the route's next host in the same
 * attempt; replies (2xx, 4xx, 5xx) end the attempt, and after a 4xx the
 * retry tries the route's other hosts before the one that answered it.
 *
 * struct relay_shared is built on the control plane (TLS contexts, AUTH
 * credentials read from their files) and shared read-only by the workers,
 * except each smart host's addresses: the control plane publishes them
 * (control/relay_dns.c re-resolves names when their TTL runs out) under a
 * sequence lock (rte_seqlock), which a worker reads without waiting.
 * A relay runs wholly under one relay_shared: to move to another (a
 * config reload) the worker drains it — no new message is taken, idle
 * connections are closed — and switches once nothing is in flight.
 */
#ifndef SLUICE_DATAPLANE_RELAY_H
#define SLUICE_DATAPLANE_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "control/config.h"
#include "dataplane/smtp/smtp_client.h"
#include "dataplane/track.h"

struct net_ctx;
struct queue;
struct queue_conf;
struct spool;
struct spool_env;
struct tcp_stack;
struct tls_ctx;
struct track_ring;
struct wlog;

#define RELAY_ADDRS_MAX 8

struct relay_addrs;

struct relay_shared {
	const struct conf_relay *conf;
	struct relay_addrs *addrs;                 /* per host (relay_addr.c) */
	const char *helo;                          /* EHLO name: smtp.hostname */
	struct tls_ctx *tls[CONF_RELAY_HOSTS];     /* NULL for tls = "none" */
	struct {
		char user[SMTP_CLIENT_CRED_MAX + 1];   /* "" = no AUTH */
		char pass[SMTP_CLIENT_CRED_MAX + 1];
	} auth[CONF_RELAY_HOSTS];
};

/* Control plane, before the workers start: TLS client contexts and the
 * AUTH files ("user:password" on the first line).  0, or a negative errno
 * with the reason in ERR. */
int relay_shared_init(struct relay_shared *sh, const struct conf *conf,
		      char *err, size_t errlen);
void relay_shared_fini(struct relay_shared *sh);

/* Control plane: the address sets of every smart host, empty.  0 or
 * -ENOMEM. */
int relay_addrs_new(struct relay_shared *sh);
void relay_addrs_free(struct relay_shared *sh);
/* Control plane: publish host H's addresses (at most RELAY_ADDRS_MAX;
 * N = 0: none).  Workers see the whole set or the previous one. */
void relay_addrs_set(struct relay_shared *sh, unsigned h, const uint32_t *a,
		     unsigned n);
/* Worker: address number PICK (modulo their count) of host H, or
 * -EHOSTUNREACH when it has none. */
int relay_addrs_get(const struct relay_shared *sh, unsigned h, unsigned pick,
		    uint32_t *addr);

/* The queue's retry schedule and lifetime from the relay section. */
void relay_queue_conf(const struct conf_relay *c, struct queue_conf *q);

/* One smart host's counters on one worker. */
struct relay_host_stats {
	uint64_t attempts;     /* messages handed to a connection to it */
	uint64_t conns;        /* connections opened */
	uint64_t conn_fail;    /* ... that failed before any reply about a message */
	uint64_t tls_ok, tls_failed;        /* handshakes */
};

/* Single writer (the worker, STATS_ADD); control/ctl_stats.c names every
 * counter before HOST in this order. */
struct relay_stats {
	uint64_t attempts;     /* messages handed to a connection */
	uint64_t conns;        /* connections opened */
	uint64_t conn_fail;    /* closed before any reply about a message */
	uint64_t failovers;    /* messages moved to the route's next host */
	uint64_t replies_2xx, replies_3xx, replies_4xx, replies_5xx;
			       /* from smart hosts; summed when a connection ends */
	uint64_t sent, deferred, bounced;   /* recipients */
	uint64_t tls_ok, tls_failed;        /* handshakes */
	uint64_t no_env;       /* due messages whose envelope was never added */
	uint64_t dsn_sent;     /* DSNs queued */
	uint64_t dsn_dropped;  /* DSNs due but not sent (logged) */
	uint64_t env_nomem;
	uint64_t unresolved;   /* connections not tried: the name has no address */
	uint64_t stale_retries; /* messages moved off a reused connection that
				   died before any reply (the host had closed it) */
	struct relay_host_stats host[CONF_RELAY_HOSTS];
};

struct relay_env;
struct relay_msg;
struct relay_conn;
struct relay_dsn;

#define RELAY_ENV_BITS 14
#define RELAY_ENV_BUCKETS (1u << RELAY_ENV_BITS)

struct relay {
	const struct relay_shared *sh;
	struct tcp_stack *tcp;
	const struct net_ctx *net;
	struct queue *queue;
	struct spool *spool;                        /* DSNs go here */
	struct track_ring *track;
	struct wlog *log;
	unsigned worker;
	const uint64_t *now;                        /* TSC µs: TCP, SMTP, hosts */
	const uint64_t *wall;                       /* µs since the epoch: queue, events */
	uint32_t rr;                                /* round-robin counter */
	bool draining;                              /* a switch is waiting */
	uint64_t down_until[CONF_RELAY_HOSTS];
	struct relay_host_text {                    /* tracking's name of a host, */
		bool made;                          /* "name[address]:port", made */
		uint32_t addr;                      /* for this address */
		char text[TRACK_RELAY_MAX];
	} host_text[CONF_RELAY_HOSTS];
	unsigned nb_conns;                          /* conf max_conns slots */
	struct relay_conn *conns;
	struct relay_msg *msgs;                     /* one per slot */
	struct relay_msg *free_msgs;
	struct relay_msg *waiting;                  /* popped, waiting for a host */
	bool kick;                                  /* a connection freed up: */
	uint64_t wait_retry;                        /* ... or by then (µs), place the waiting */
	struct relay_dsn *dsn;
	struct relay_env *env[RELAY_ENV_BUCKETS];   /* by queue ID */
	struct relay_stats stats;
};

/* Allocates the connection slots and engines (init time; before the
 * spool's recovery, which adds envelopes).  NOW is the worker's clock
 * for TCP and SMTP timers, WALL the wall clock the queue runs on (both
 * µs, updated every loop round).  0 or -ENOMEM. */
int relay_init(struct relay *r, const struct relay_shared *sh,
	       struct tcp_stack *tcp, const struct net_ctx *net,
	       struct queue *q, struct track_ring *track, struct wlog *log,
	       unsigned worker, const uint64_t *now, const uint64_t *wall);
/* The spool DSNs are written to, once it is open (after relay_init(),
 * whose envelopes recovery fills). */
void relay_set_spool(struct relay *r, struct spool *sp);

/* Frees everything.  Call once the TCP stack and the spool are closed:
 * no callback can come then, and body reads in flight (which spool_close()
 * waits for) target the relay's buffers. */
void relay_fini(struct relay *r);

/* The envelope of message QID, taken when it is added to the queue (on
 * commit and on recovery): the relay keeps a copy until the message is
 * finished.  0, -EEXIST or -ENOMEM. */
int relay_env_add(struct relay *r, uint64_t qid, const struct spool_env *env);
/* Forget QID's envelope (the operator deleted the message). */
void relay_env_del(struct relay *r, uint64_t qid);

/* Each loop round: start due messages, run timers, close idle connections. */
void relay_poll(struct relay *r);

/* Prepare to switch to another relay_shared: take no new message from
 * the queue and QUIT idle connections.  True once nothing is in flight
 * (no connection, no message in an attempt, no DSN job). */
bool relay_drain(struct relay *r);
/* Switch to SH (after relay_drain() said true); resumes taking messages. */
void relay_set_shared(struct relay *r, const struct relay_shared *sh);

#endif
