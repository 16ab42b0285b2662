/*
 * inbound: the SMTP service of one worker.  Listens on smtp.port of every
 * port address; each accepted TCP connection becomes a session binding the
 * TCP connection, TLS after STARTTLS (dataplane/tls), the SMTP server
 * engine (dataplane/smtp) and the worker's spool: bytes from TCP —
 * deciphered once TLS is up — go to the engine, its replies go back
 * (enciphered), a transaction streams into a spool message, and the 250
 * goes out only when the spool's group commit covering it completed; the
 * message then joins the worker's delivery queue and the tracking log.  The
 * allow list decides at accept; AUTH verdicts come from the control
 * plane's verifier (control/authd) over rings.  A session runs under the
 * configuration snapshot it was accepted under (control/snapshot.h): it
 * holds a reference to it until it ends, so a reload never changes the
 * rules of a session in progress.  Sessions live in a
 * per-worker pool; their timers are checked every few milliseconds.
 */
#ifndef SLUICE_DATAPLANE_INBOUND_H
#define SLUICE_DATAPLANE_INBOUND_H

#include <stdint.h>

#include <rte_mempool.h>

#include "control/authd.h"
#include "control/config.h"
#include "dataplane/smtp/smtp_admit.h"
#include "dataplane/smtp/smtp_server.h"
#include "dataplane/queue/queue.h"
#include "dataplane/relay.h"
#include "dataplane/spool/spool.h"
#include "dataplane/tcp/tcp.h"
#include "dataplane/tls/tls.h"
#include "dataplane/track.h"
#include "dataplane/wlog.h"

struct inbound_stats {
	uint64_t sessions;        /* accepted connections */
	uint64_t active;          /* gauge: sessions now */
	uint64_t no_session;      /* connections reset: the session pool was empty */
	uint64_t refused;         /* unknown sources refused at connect */
	uint64_t tls_ok, tls_failed;
	uint64_t auth_ok, auth_failed, auth_busy;
	uint64_t messages;        /* accepted: committed and answered 250 */
	uint64_t commit_failed;   /* spool refused or failed: 4xx */
	uint64_t bytes;           /* body bytes spooled */
	uint64_t replies_4xx, replies_5xx;  /* summed when a session ends */
	uint64_t bare_lf, nul, long_line, forbidden, too_many_errors, timeouts;
	uint64_t oversize;        /* SIZE= or a body over max_message_size */
	uint64_t rcpt_limit;      /* RCPTs past max_rcpt (452 4.5.3) */
	/* How sessions ended (each ends once, counted when it is freed). */
	uint64_t ended_quit;      /* the protocol ended it: QUIT, or a 421 */
	uint64_t ended_refused;   /* an unknown source, refused at connect */
	uint64_t ended_timeout;   /* a timer closed it */
	uint64_t ended_error;     /* too many errors, or a forbidden command */
	uint64_t ended_lost;      /* the client left or the connection broke first */
};

/* What every worker's service shares: part of a configuration snapshot,
 * read-only once built. */
struct inbound_shared {
	const struct conf *conf;
	struct smtp_server_conf server;   /* from conf->smtp */
	const struct smtp_admit *allow;
	struct smtp_admit_policy policy;
	struct tls_ctx *tls;              /* NULL: no STARTTLS */
	struct authd *authd;              /* NULL: no AUTH */
};

struct inbound_session;
struct snap_pub;

struct inbound {
	struct snap_pub *pub;             /* the published snapshot */
	struct authd *authd;              /* NULL: no AUTH (restart-only) */
	struct tcp_stack *tcp;
	struct spool *spool;
	struct queue *queue;              /* accepted messages go here */
	struct track_ring *track;         /* and their "accepted" event here */
	struct relay *relay;              /* and their envelope here; NULL: none */
	struct wlog *log;
	unsigned worker;
	const uint64_t *now;              /* the worker's clock, µs */
	struct rte_mempool *pool;         /* sessions */
	struct inbound_session *first;    /* every live session, for timers */
	uint32_t gen;                     /* session generations, for AUTH answers */
	uint64_t next_tick;
	struct spool_rcpt *rcpt;          /* scratch for one envelope */
	struct inbound_stats stats;       /* single writer: the worker */
};

/* Listen on smtp.port of every port address of the current snapshot's
 * config (nothing when the port is 0).  Returns 0 or a negative errno. */
int inbound_init(struct inbound *in, struct snap_pub *pub,
		 struct tcp_stack *tcp, struct spool *spool, struct queue *queue,
		 struct track_ring *track, struct wlog *log, unsigned worker,
		 const uint64_t *now, int socket);
void inbound_fini(struct inbound *in);

/* Each poll round: AUTH answers, session timers. */
void inbound_poll(struct inbound *in);

#endif
