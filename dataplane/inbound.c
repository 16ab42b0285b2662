/*
 * inbound: SMTP sessions on TCP, with TLS after STARTTLS — see inbound.h.
 * This file owns the connection side: accept and admission, moving bytes
 * between TCP, TLS and the engine, closing, timers and the session pool.
 * The engine's transaction and AUTH callbacks are in inbound_tx.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_lcore.h>
#include <rte_malloc.h>

#include "control/snapshot.h"
#include "dataplane/inbound_impl.h"
#include "dataplane/stats.h"

#define INBOUND_TICK_US 10000   /* how often session timers are checked */

static uint64_t now_of(const struct inbound_session *s)
{
	return *s->in->now;
}

/* --- output ------------------------------------------------------------------ */

/* Move TLS's ciphertext into our buffer and as much of it as TCP takes on
 * to TCP.  What TCP does not take waits for TCP_EV_WRITABLE. */
static void send_cipher(struct inbound_session *s)
{
	for (;;) {
		size_t sent;

		s->cipher_len += (uint32_t)tls_drain_cipher(s->tls, s->cipher + s->cipher_len,
							    INBOUND_CIPHER - s->cipher_len);
		if (s->cipher_len == 0)
			return;
		sent = tcp_send(s->tcp, s->cipher, s->cipher_len);
		memmove(s->cipher, s->cipher + sent, s->cipher_len - sent);
		s->cipher_len -= (uint32_t)sent;
		if (s->cipher_len != 0 || tls_pending_cipher(s->tls) == 0)
			return;
	}
}

/* Hand the engine's replies to TCP, through TLS once it is up.  False when
 * TLS failed. */
static bool send_replies(struct inbound_session *s)
{
	const uint8_t *out;
	size_t n, put;

	while ((n = smtp_server_output(s->smtp, &out)) != 0) {
		if (s->tls == NULL) {
			put = tcp_send(s->tcp, out, n);
		} else {
			enum tls_result r = tls_write_plain(s->tls, out, n, &put);

			if (r != TLS_OK && r != TLS_WANT_WRITE)
				return false;
			send_cipher(s);
		}
		smtp_server_consume(s->smtp, put);
		if (put < n)
			return true;    /* TCP (or TLS's bound) is full */
	}
	return true;
}

static bool output_empty(const struct inbound_session *s)
{
	const uint8_t *out;

	return smtp_server_output(s->smtp, &out) == 0 && s->cipher_len == 0 &&
	       (s->tls == NULL || tls_pending_cipher(s->tls) == 0);
}

static void close_tcp(struct inbound_session *s)
{
	if (s->closed || s->tcp == NULL)
		return;
	if (s->tls != NULL && s->tls_up && tls_close(s->tls) == TLS_OK)
		send_cipher(s);
	tcp_close(s->tcp);
	s->closed = true;
}

void inbound_pump(struct inbound_session *s)
{
	if (s->tcp == NULL || s->closed)
		return;
	if (s->tls != NULL && !s->tls_up) {
		send_cipher(s);             /* the handshake's own records only */
		return;
	}
	if (!send_replies(s)) {             /* TLS failed: CLOSED frees */
		STATS_ADD(s->in->stats.tls_failed, 1);
		smtp_server_abort(s->smtp);
		tcp_close(s->tcp);
		s->closed = true;
		return;
	}
	if (smtp_server_closing(s->smtp) && output_empty(s))
		close_tcp(s);
}

/* --- input -------------------------------------------------------------------- */

/* A TLS failure: log it, let the alert go, close. */
static void tls_failed(struct inbound_session *s, enum tls_result r)
{
	char why[160];

	tls_conn_error(s->tls, why, sizeof(why));
	wlog(s->in->log, "TLS failed with [%s]: %s%s%s", s->client_text,
	     tls_result_name(r), why[0] ? ": " : "", why);
	STATS_ADD(s->in->stats.tls_failed, 1);
	send_cipher(s);
	smtp_server_abort(s->smtp);
	tcp_close(s->tcp);
	s->closed = true;
}

/* Feed deciphered input to the engine until it pauses or TLS has none. */
static void feed_plain(struct inbound_session *s)
{
	while (s->tcp != NULL && !s->closed) {
		size_t n;

		if (s->plain_off == s->plain_len) {
			size_t got = 0;
			enum tls_result r = tls_read_plain(s->tls, s->plain,
							   INBOUND_PLAIN, &got);

			s->plain_off = s->plain_len = 0;
			if (r == TLS_CLOSED) {      /* close_notify: as a FIN */
				close_tcp(s);
				return;
			}
			if (r != TLS_OK && r != TLS_WANT_READ) {
				tls_failed(s, r);
				return;
			}
			if (got == 0)
				return;
			s->plain_len = (uint32_t)got;
		}
		n = smtp_server_feed(s->smtp, s->plain + s->plain_off,
				     s->plain_len - s->plain_off, now_of(s));
		s->plain_off += (uint32_t)n;
		inbound_pump(s);
		if (n == 0)
			return;                     /* a commit or AUTH is pending */
	}
}

/* Advance the handshake; once it is done, the engine starts afresh. */
static void tls_progress(struct inbound_session *s)
{
	if (!s->tls_up) {
		enum tls_result r = tls_handshake(s->tls);

		send_cipher(s);
		if (r == TLS_WANT_READ || r == TLS_WANT_WRITE)
			return;
		if (r != TLS_OK) {
			tls_failed(s, r);
			return;
		}
		s->tls_up = true;
		STATS_ADD(s->in->stats.tls_ok, 1);
		smtp_server_tls_started(s->smtp, tls_version(s->tls),
					tls_cipher(s->tls), now_of(s));
		inbound_pump(s);
	}
	feed_plain(s);
}

static size_t on_recv(struct tcp_conn *c, void *arg, const uint8_t *data,
		      size_t len)
{
	struct inbound_session *s = arg;
	size_t clear = 0, taken = 0;
	enum tls_result r;

	(void)c;
	if (s->closed)
		return len;                         /* after our close: ignored */
	if (s->tls == NULL) {
		clear = smtp_server_feed(s->smtp, data, len, now_of(s));
		inbound_pump(s);
		if (s->tls == NULL || clear == len || s->closed)
			return clear;
	}
	r = tls_feed_cipher(s->tls, data + clear, len - clear, &taken);
	if (r != TLS_OK && r != TLS_WANT_READ && r != TLS_WANT_WRITE) {
		tls_failed(s, r);
		return len;
	}
	tls_progress(s);
	return clear + taken;
}

void inbound_peer_gone(struct inbound_session *s)
{
	smtp_server_abort(s->smtp);
	close_tcp(s);
}

void inbound_resume(struct inbound_session *s)
{
	if (s->tcp == NULL || s->closed)
		return;
	if (s->tls != NULL && s->tls_up)
		feed_plain(s);
	if (s->tcp != NULL && !s->closed)
		tcp_recv_resume(s->tcp);
}

static void on_event(struct tcp_conn *c, void *arg, enum tcp_event ev, int err)
{
	struct inbound_session *s = arg;

	(void)c;
	(void)err;
	switch (ev) {
	case TCP_EV_CONNECTED:
		break;
	case TCP_EV_WRITABLE:
		inbound_pump(s);
		break;
	case TCP_EV_PEER_CLOSED:
		s->peer_closed = true;
		if (!s->commit_pending)
			inbound_peer_gone(s);
		break;
	case TCP_EV_CLOSED:
		s->tcp = NULL;
		if (!s->commit_pending)
			inbound_free(s);            /* else when the commit reports */
		break;
	}
}

static const struct tcp_ops session_tcp_ops = {.recv = on_recv, .event = on_event};

/* --- sessions ---------------------------------------------------------------------- */

static enum smtp_admission admission(const struct inbound_shared *sh,
				     const struct smtp_ip *client)
{
	enum smtp_admit_result r = sh->allow != NULL
		? smtp_admit_lookup(sh->allow, client) : SMTP_ADMIT_UNKNOWN;

	switch (smtp_admit_decide(&sh->policy, r)) {
	case SMTP_ADMIT_GREET:
		return SMTP_ADMIT_ALLOW;
	case SMTP_ADMIT_GREET_AUTH:
		return SMTP_ADMIT_AUTH;
	case SMTP_ADMIT_REFUSE:
		return sh->policy.unknown == SMTP_UNKNOWN_REJECT ? SMTP_ADMIT_REJECT_554
							       : SMTP_ADMIT_REJECT_451;
	default:
		return SMTP_ADMIT_DROP;
	}
}

static int on_accept(void *arg, struct tcp_conn *c, const struct tcp_ops **ops,
		     void **carg)
{
	struct inbound *in = arg;
	struct inbound_session *s;
	enum smtp_admission adm;
	uint32_t la, ra;
	uint16_t lp, rp;

	if (rte_mempool_get(in->pool, (void **)&s) < 0) {
		STATS_ADD(in->stats.no_session, 1);
		return -ENOMEM;
	}
	memset(s, 0, offsetof(struct inbound_session, plain));
	tcp_conn_addrs(c, &la, &lp, &ra, &rp);
	s->in = in;
	s->snap = snap_hold(snap_current(in->pub));
	s->tcp = c;
	s->gen = ++in->gen;
	s->client = (struct smtp_ip){.family = AF_INET, .v4 = ra};
	snprintf(s->client_text, sizeof(s->client_text), "%u.%u.%u.%u",
		 ra >> 24, (ra >> 16) & 0xff, (ra >> 8) & 0xff, ra & 0xff);
	adm = admission(&s->snap->smtp, &s->client);
	s->smtp = smtp_server_init(s->engine, &s->snap->smtp.server, &inbound_smtp_ops, s,
				   s->client_text, adm, *in->now);
	s->next = in->first;
	if (in->first != NULL)
		in->first->prev = s;
	in->first = s;
	STATS_ADD(in->stats.sessions, 1);
	STATS_ADD(in->stats.active, 1);
	if (adm != SMTP_ADMIT_ALLOW && adm != SMTP_ADMIT_AUTH) {
		STATS_ADD(in->stats.refused, 1);
		s->refused = true;
		wlog(in->log, "NOQUEUE: reject: connect from [%s]:%u: not on the allow list",
		     s->client_text, rp);
	}
	*ops = &session_tcp_ops;
	*carg = s;
	inbound_pump(s);                    /* the greeting, or the refusal */
	return 0;
}

/* Count how session S ended, by what its engine saw. */
static void count_outcome(struct inbound *in, const struct inbound_session *s,
			  const struct smtp_server_counters *k)
{
	if (s->refused)
		STATS_ADD(in->stats.ended_refused, 1);
	else if (k->timeouts > 0)
		STATS_ADD(in->stats.ended_timeout, 1);
	else if (k->too_many_errors > 0 || k->forbidden > 0)
		STATS_ADD(in->stats.ended_error, 1);
	else if (smtp_server_closing(s->smtp))
		STATS_ADD(in->stats.ended_quit, 1);
	else
		STATS_ADD(in->stats.ended_lost, 1);
}

void inbound_free(struct inbound_session *s)
{
	struct inbound *in = s->in;
	const struct smtp_server_counters *k = smtp_server_counters(s->smtp);

	count_outcome(in, s, k);
	smtp_server_abort(s->smtp);         /* tx_end(ABORTED) drops s->msg */
	if (s->msg != NULL)
		spool_msg_abort(s->msg);
	s->msg = NULL;
	STATS_ADD(in->stats.replies_4xx, k->replies_4xx);
	STATS_ADD(in->stats.replies_5xx, k->replies_5xx);
	STATS_ADD(in->stats.bare_lf, k->bare_cmd + k->bare_data);
	STATS_ADD(in->stats.nul, k->nul_cmd);
	STATS_ADD(in->stats.long_line, k->long_line + k->long_data);
	STATS_ADD(in->stats.forbidden, k->forbidden);
	STATS_ADD(in->stats.too_many_errors, k->too_many_errors);
	STATS_ADD(in->stats.timeouts, k->timeouts);
	STATS_ADD(in->stats.oversize, k->oversize);
	STATS_ADD(in->stats.rcpt_limit, k->rcpt_limit);
	tls_conn_free(s->tls);
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		in->first = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	s->in = NULL;                       /* stale AUTH answers see this */
	snap_release(s->snap);
	STATS_SET(in->stats.active, in->stats.active - 1);
	rte_mempool_put(in->pool, s);
}

/* --- the worker's side ---------------------------------------------------------------- */

int inbound_init(struct inbound *in, struct snap_pub *pub,
		 struct tcp_stack *tcp, struct spool *spool, struct queue *queue,
		 struct track_ring *track, struct wlog *log, unsigned worker,
		 const uint64_t *now, int socket)
{
	const struct snap *cur = snap_current(pub);
	const struct conf *conf = &cur->conf;     /* its restart-only keys */
	char name[RTE_MEMPOOL_NAMESIZE];

	*in = (struct inbound){.pub = pub, .authd = cur->smtp.authd, .tcp = tcp, .spool = spool, .queue = queue,
			       .track = track, .log = log, .worker = worker, .now = now};
	if (conf->smtp.port == 0)
		return 0;
	snprintf(name, sizeof(name), "smtp_%u", worker);
	in->pool = rte_mempool_create(name, conf->smtp.sessions,
				      sizeof(struct inbound_session) + smtp_server_size(),
				      0, 0, NULL, NULL, NULL, NULL, socket,
				      RTE_MEMPOOL_F_SP_PUT | RTE_MEMPOOL_F_SC_GET);
	in->rcpt = rte_zmalloc_socket("smtp_rcpt", sizeof(*in->rcpt) * SMTP_RCPT_CAP,
				      RTE_CACHE_LINE_SIZE, socket);
	if (in->pool == NULL || in->rcpt == NULL)
		return -ENOMEM;
	for (unsigned i = 0; i < conf->nb_ports; i++) {
		int rc = tcp_listen(tcp, conf->ports[i].addr, conf->smtp.port,
				    on_accept, in);
		if (rc < 0)
			return rc;
	}
	return 0;
}

void inbound_fini(struct inbound *in)
{
	while (in->first != NULL) {
		struct inbound_session *s = in->first;

		s->commit_pending = false;      /* the spool closes after us */
		if (s->tcp != NULL)
			tcp_abort(s->tcp);
		inbound_free(s);
	}
	rte_mempool_free(in->pool);
	rte_free(in->rcpt);
	in->pool = NULL;
	in->rcpt = NULL;
}

/* AUTH verdicts for this worker's sessions. */
static void auth_answers(struct inbound *in)
{
	struct authd *a = in->authd;
	struct authd_res r;

	if (a == NULL)
		return;
	while (rte_ring_dequeue_elem(a->res[in->worker], &r, sizeof(r)) == 0) {
		struct inbound_session *s = r.session;

		/* the pool's memory stays mapped: a freed or reused session
		 * shows as another owner or generation */
		if (s->in != in || s->gen != r.gen || !s->auth_pending)
			continue;
		s->auth_pending = false;
		if (r.verdict == SMTP_AUTH_OK)
			STATS_ADD(in->stats.auth_ok, 1);
		else
			STATS_ADD(in->stats.auth_failed, 1);
		smtp_server_auth_result(s->smtp, (enum smtp_auth_result)r.verdict,
					*in->now);
		inbound_pump(s);
		inbound_resume(s);
	}
}

void inbound_poll(struct inbound *in)
{
	uint64_t now = *in->now;

	if (in->pool == NULL)
		return;
	auth_answers(in);
	if (now < in->next_tick)
		return;
	in->next_tick = now + INBOUND_TICK_US;
	for (struct inbound_session *s = in->first, *next; s != NULL; s = next) {
		next = s->next;
		if (smtp_server_deadline(s->smtp) <= now) {
			smtp_server_tick(s->smtp, now);
			inbound_pump(s);
		}
	}
}
