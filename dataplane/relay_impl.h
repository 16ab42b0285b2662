/*
 * relay_impl: what relay.c (messages, envelopes, results) and
 * relay_conn.c (one connection: TCP, TLS, the SMTP client engine) share.
 * Internal to the relay module.
 */
#ifndef SLUICE_DATAPLANE_RELAY_IMPL_H
#define SLUICE_DATAPLANE_RELAY_IMPL_H

#include "dataplane/relay.h"
#include "dataplane/stats.h"
#include "dataplane/track.h"

/* Count FIELD for the worker and for smart host H. */
#define RELAY_COUNT(r, h, field) do { \
	STATS_ADD((r)->stats.field, 1); \
	STATS_ADD((r)->stats.host[h].field, 1); \
} while (0)

/* A copy of a queued message's envelope: one allocation, strings after
 * the recipients. */
struct relay_env {
	struct relay_env *next;          /* hash chain */
	uint64_t qid;
	const char *sender;              /* "" for the null reverse path */
	const char *envid;               /* NULL when absent */
	enum smtp_ret ret;
	bool body_8bit, smtputf8;
	uint64_t arrival_us;
	uint8_t deferred_by;             /* 1 + the host whose 4xx ended the last
					    attempt (tried last next time); 0 */
	uint32_t nrcpt;
	struct smtp_client_rcpt rcpt[];
};

#define RELAY_DSN_RCPTS   16          /* failed recipients one DSN reports */
#define RELAY_DSN_MSG_MAX (64 * 1024) /* of the original, returned in a DSN */

/* A recipient that failed in an attempt, for the DSN. */
struct relay_failed {
	uint32_t idx;                    /* in the envelope */
	unsigned host;                   /* CONF_RELAY_HOSTS: none */
	bool smtp;                       /* DIAG is a server reply */
	char status[16];
	char diag[TRACK_TEXT_MAX];
};

/* A message in an attempt. */
struct relay_msg {
	struct relay_msg *next;          /* free or waiting list */
	struct spool_msg *sm;
	uint64_t qid;
	struct relay_env *env;
	uint8_t order[CONF_RELAY_ROUTE_HOSTS];   /* hosts to try */
	unsigned nb_order, at;           /* order[at] is the current host */
	uint32_t addr;                   /* its address (the connection's); 0 */
	unsigned n;                      /* recipients in this attempt */
	bool replied;                    /* a result other than "deferred, the
					    connection failed" */
	char reason[TRACK_TEXT_MAX];     /* the last deferral */
	struct smtp_client_msg cm;       /* what the engine is given */
	unsigned nfailed;                /* recipients a DSN is due for */
	/* relay_poll() clears what is above; what is below is written before
	 * it is read */
	struct relay_failed failed[RELAY_DSN_RCPTS];   /* [0..nfailed) */
	uint32_t idx[SMTP_CLIENT_RCPT_MAX];      /* engine index → envelope index */
	struct smtp_client_rcpt list[SMTP_CLIENT_RCPT_MAX];
	uint8_t deferred[SMTP_CLIENT_RCPT_MAX];  /* 1: deferred in this attempt */
};

enum relay_conn_state { RC_FREE, RC_CONNECTING, RC_OPEN, RC_CLOSING };

#define RELAY_PLAIN_MAX 4096
#define RELAY_IDLE_US   2000000      /* an idle connection is QUIT after this */
#define RELAY_LINGER_US 10000000     /* after QUIT, wait this long for the FIN */
#define RELAY_POLL_US   1000         /* a connection without events: polled this often */

struct relay_conn {
	struct relay *r;
	enum relay_conn_state st;
	unsigned host;
	uint32_t addr;                   /* the host's address it dialled */
	struct tcp_conn *tcp;
	struct tls_conn *tls;
	bool handshaking, peer_closed, rx_blocked, engine, fin_sent;
	struct smtp_client *smtp;
	void *smtp_mem;
	struct relay_msg *msg;
	uint32_t msgs;                   /* messages handed to this connection */
	uint64_t idle_since, close_by;
	bool dirty;                      /* something happened: poll it next round */
	uint64_t wake;                   /* ... else not before then (µs) */
	size_t plain_len;                /* decrypted, not yet taken by the engine */
	uint8_t plain[RELAY_PLAIN_MAX];
	/* the body window handed to the engine */
	uint64_t buf_off;
	size_t buf_len;
	bool reading;                    /* a spool read into buf is in flight */
	bool read_again;                 /* the spool was busy: resume next poll */
	uint8_t buf[SMTP_CLIENT_CHUNK];
};

/* The worker's DSN job (relay_dsn.c). */
struct relay_dsn {
	bool busy, read_again;
	uint64_t qid, dsn_qid, arrival_us;
	struct spool_msg *orig;          /* read for the returned content */
	struct spool_msg *finish;        /* finished once read; NULL: queued still */
	char sender[512];
	char envid[128];
	enum smtp_ret ret;
	unsigned n;
	struct {
		char addr[512], orcpt[600], status[16], diag[TRACK_TEXT_MAX];
		char mta[CONF_RELAY_DOMAIN_LEN];
		bool smtp;
	} rcpt[RELAY_DSN_RCPTS];
	size_t msg_len, out_len;
	uint8_t msg[RELAY_DSN_MSG_MAX];
	char out[RELAY_DSN_MSG_MAX + 16384];
};

/* relay_dsn.c: a DSN to M's sender for M->failed; FINISH (when not NULL)
 * is done once the original was read.  False when it cannot start (the
 * caller finishes FINISH). */
bool relay_dsn_start(struct relay *r, const struct relay_msg *m,
		     struct spool_msg *finish);
void relay_dsn_poll(struct relay *r);

/* relay_conn.c */
int relay_conn_open(struct relay *r, struct relay_conn *c, unsigned host);
/* Hand C's engine the message C->msg. */
int relay_conn_send(struct relay_conn *c);
void relay_conn_poll(struct relay_conn *c);
void relay_conn_reset(struct relay_conn *c);

/* relay.c: the engine's callbacks end here */
void relay_rcpt_result(struct relay_conn *c, unsigned idx,
		       const struct smtp_client_result *res);
void relay_msg_done(struct relay_conn *c);
/* The connection is gone with C->msg still unsent (no engine, or the
 * engine already reported): fail over or end the attempt. */
void relay_conn_lost(struct relay_conn *c, const char *why);

#endif
