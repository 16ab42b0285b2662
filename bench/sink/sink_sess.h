/*
 * sink_sess: one connection of sluice-sink, the smart-host sink for lab
 * tests and benchmarks, without I/O — the project's SMTP server engine
 * (dataplane/smtp) speaks the protocol, a TLS object over memory BIOs
 * (dataplane/tls) carries it after STARTTLS, and this module adds what a
 * sink does: failures injected at exact rates per stage (MAIL, RCPT,
 * DATA), an optional delay before each reply, counting, one log line per
 * message (and per MAIL, so a test can see that none came in clear), and
 * optionally each message in a file.  Socket bytes go in with
 * sink_sess_input() and come out of sink_sess_output(); bench/sink/sink.c
 * owns the sockets.
 */
#ifndef SLUICE_BENCH_SINK_SINK_SESS_H
#define SLUICE_BENCH_SINK_SINK_SESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "dataplane/smtp/smtp_server.h"

struct tls_ctx;
struct tls_conn;

enum { SINK_4XX, SINK_5XX };

/* Injected failures: PCT[stage][class] percent of the commands of that
 * stage get that class of reply, spread evenly (not at random). */
struct sink_fail {
	unsigned pct[3][2];
};

struct sink_stats {
	uint64_t conns, tls, tls_failed, msgs, rcpts, bytes;
	uint64_t refused[3][2];     /* injected replies by stage and class */
};

/* What every session of a sink shares (one thread). */
struct sink {
	struct smtp_server_conf server;  /* STARTTLS offered when tls != NULL */
	struct tls_ctx *tls;
	struct sink_fail fail;
	uint64_t seen[3], failed[3];     /* commands and failures per stage */
	uint64_t delay_us;               /* before each reply */
	const char *dir;                 /* each message as DIR/NNNNNN.eml; NULL */
	uint64_t seq;                    /* files written */
	FILE *log;                       /* NULL: no log lines */
	struct sink_stats st;
};

/* "STAGE:CLASS:PCT" (mail|rcpt|data, 4xx|5xx, 0..100) into F; the two
 * classes of a stage may not add up to more than 100.  0 or -EINVAL. */
int sink_fail_parse(struct sink_fail *f, const char *spec);

#define SINK_IN_MAX 16384

struct sink_sess {
	struct sink *k;
	struct smtp_server *s;
	void *mem;
	struct tls_conn *tls;
	bool tls_next;            /* STARTTLS said 220: TLS after that reply */
	bool handshaking;
	bool failed;              /* TLS failed: close */
	uint64_t now;             /* the last clock given */
	char client[64];
	uint64_t out_since;       /* when the pending reply was made; 0 none */
	size_t in_len;            /* plaintext not yet taken by the engine */
	uint8_t in[SINK_IN_MAX];
	/* the message in progress */
	uint64_t size;
	unsigned nrcpt;
	FILE *file;
	char env[1024];           /* "from=<..> to=<..>,<..>" */
};

/* A new connection from CLIENT ("a.b.c.d:port"): the greeting is queued.
 * 0 or -ENOMEM. */
int sink_sess_init(struct sink_sess *ss, struct sink *k, const char *client,
		   uint64_t now);
void sink_sess_fini(struct sink_sess *ss);

/* Bytes from the socket: returns how many were taken (the rest waits). */
size_t sink_sess_input(struct sink_sess *ss, const uint8_t *data, size_t len,
		       uint64_t now);

/* Bytes for the socket, up to CAP into BUF: nothing while a reply's delay
 * runs.  Call until it returns 0. */
size_t sink_sess_output(struct sink_sess *ss, uint8_t *buf, size_t cap,
			uint64_t now);

/* When the session next has something to do (reply delay, SMTP timers). */
uint64_t sink_sess_deadline(const struct sink_sess *ss);
void sink_sess_tick(struct sink_sess *ss, uint64_t now);

/* True when the session is over and its output is out: close. */
bool sink_sess_done(const struct sink_sess *ss);

/* The summary line: "summary conns=... msgs=... bytes=...". */
void sink_summary(const struct sink *k, FILE *f);

#endif
