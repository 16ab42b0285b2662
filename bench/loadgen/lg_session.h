/*
 * lg_session: one SMTP client session of sluice-bench.  Owns the dialog —
 * greeting, EHLO, STARTTLS and the TLS handshake (dataplane/tls), then
 * messages (MAIL, RCPT..., DATA, the content; pipelined when the server
 * offers PIPELINING and the options allow), RSET after a refused
 * transaction, QUIT — with replies read by the project's SMTP reply parser
 * (dataplane/smtp/smtp_reply), the per-reply timeout, and the counting of
 * every reply, error and latency into the run's lg_stats.  It moves bytes
 * only through an lg_transport.
 */
#ifndef SLUICE_BENCH_LOADGEN_LG_SESSION_H
#define SLUICE_BENCH_LOADGEN_LG_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "bench/loadgen/lg_msg.h"
#include "bench/loadgen/lg_opts.h"
#include "bench/loadgen/lg_report.h"
#include "bench/loadgen/lg_transport.h"
#include "dataplane/tls/tls.h"

/* lg_env.take() answers */
enum lg_take {
	LG_TAKE_GO,    /* start a message now */
	LG_TAKE_LATER, /* not yet (the rate): ask again at *when */
	LG_TAKE_END,   /* the run has sent all it will */
};

/* What every session of a run shares. */
struct lg_env {
	const struct lg_opts *o;
	struct lg_transport *t;
	struct tls_ctx *tls;         /* with --starttls */
	const struct lg_msgs *msgs;
	struct lg_stats *st;
	uint64_t rnd;                /* xorshift state for the message choice */
	enum lg_take (*take)(struct lg_env *env, uint64_t now_us, uint64_t *when_us);
};

enum lg_state {
	LG_S_IDLE,      /* no connection: open() may start one */
	LG_S_CONNECT,
	LG_S_GREETING,
	LG_S_EHLO,
	LG_S_STARTTLS,
	LG_S_HANDSHAKE,
	LG_S_READY,     /* between messages */
	LG_S_WAITING,   /* for the rate: a message at wake_us */
	LG_S_TXN,       /* replies to MAIL/RCPT/DATA awaited */
	LG_S_BODY,      /* the content is going out */
	LG_S_EOD,       /* the reply to the content awaited */
	LG_S_RSET,
	LG_S_QUIT,
	LG_S_CLOSING,   /* 221 read, waiting for the server's close */
};

struct lg_session;

/* A session on connection number ID of ENV's transport; NULL on ENOMEM. */
struct lg_session *lg_session_new(struct lg_env *env, unsigned id);
void lg_session_free(struct lg_session *s);

/* Opens the connection (state IDLE only).  0 or a negative errno. */
int lg_session_open(struct lg_session *s, uint64_t now_us);

/* A transport event for this session. */
void lg_session_event(struct lg_session *s, const struct lg_tev *ev, uint64_t now_us);

/* Timers: the reply timeout, and the rate's wake-up. */
void lg_session_tick(struct lg_session *s, uint64_t now_us);

enum lg_state lg_session_state(const struct lg_session *s);

/* Messages this connection has started. */
unsigned lg_session_started(const struct lg_session *s);

/* When the session next needs a tick (UINT64_MAX: none). */
uint64_t lg_session_deadline(const struct lg_session *s);

#endif
