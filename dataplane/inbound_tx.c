/*
 * inbound_tx: the SMTP engine's callbacks for one session — a transaction
 * streams into a spool message (envelope, our Received: header, body) and
 * its commit answers the engine (250 with the queue ID, or 451/452); AUTH
 * requests go to the control plane's verifier; STARTTLS creates the TLS
 * connection; every 4xx/5xx is logged with the client's address.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "control/snapshot.h"
#include "dataplane/inbound_impl.h"
#include "dataplane/stats.h"

#define RECEIVED_MAX 1024

static struct spool_str sstr(const char *p)
{
	size_t n = p != NULL ? strlen(p) : 0;

	return (struct spool_str){.p = p, .len = (uint16_t)(n > UINT16_MAX ? UINT16_MAX : n)};
}

static uint64_t wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000;
}

/* The spool's envelope for ENV, recipients in IN's scratch array. */
static void to_spool_env(struct inbound *in, const struct inbound_session *s,
			 const struct smtp_envelope *env, struct spool_env *out)
{
	static const uint8_t ret[] = {[SMTP_RET_UNSET] = SPOOL_RET_NONE,
				      [SMTP_RET_FULL] = SPOOL_RET_FULL,
				      [SMTP_RET_HDRS] = SPOOL_RET_HDRS};
	static const uint8_t body[] = {[SMTP_BODY_UNSET] = SPOOL_BODY_NONE,
				       [SMTP_BODY_7BIT] = SPOOL_BODY_7BIT,
				       [SMTP_BODY_8BITMIME] = SPOOL_BODY_8BITMIME};
	uint32_t ip = rte_cpu_to_be_32(s->client.v4);
	uint32_t la, ra;
	uint16_t lp, rp = 0;

	if (s->tcp != NULL)
		tcp_conn_addrs(s->tcp, &la, &lp, &ra, &rp);
	*out = (struct spool_env){
		.client_family = 4, .client_port = rp,
		.helo = sstr(env->helo), .tls_version = sstr(env->tls_version),
		.tls_cipher = sstr(env->tls_cipher), .auth_id = sstr(env->auth_user),
		.sender = sstr(env->mail_from), .envid = sstr(env->mail->envid),
		.ret = ret[env->mail->ret], .body = body[env->mail->body],
		.smtputf8 = env->mail->smtputf8,
		.size = env->mail->has_size ? env->mail->size : 0,
		.arrival_us = wall_us(), .nrcpt = env->nrcpt, .rcpt = in->rcpt,
	};
	memcpy(out->client_addr, &ip, 4);
	for (unsigned i = 0; i < env->nrcpt && i < SMTP_RCPT_CAP; i++)
		in->rcpt[i] = (struct spool_rcpt){
			.addr = sstr(env->rcpt[i].addr),
			.orcpt = sstr(env->rcpt[i].orcpt),
			.notify = (uint8_t)env->rcpt[i].notify, /* same bits */
		};
}

/* Why the message of S was refused (the reply only says 451/452). */
static void refused(struct inbound_session *s, const char *qid,
		    const char *cause, int err)
{
	wlog(s->in->log, "%s: refused a message from [%s]: %s (%s)",
	     qid[0] != '\0' ? qid : "NOQUEUE", s->client_text, cause,
	     strerror(-err));
}

/* The relay keeps each message's envelope from its start; one that is
 * not accepted after all is forgotten there. */
static void forget(struct inbound *in, uint64_t qid)
{
	if (in->relay != NULL)
		relay_env_del(in->relay, qid);
}

/* Give back the queue room held for a transaction not accepted. */
static void room_release(struct inbound_session *s)
{
	if (s->queue_held)
		queue_unreserve(s->in->queue, s->nrcpt);
	s->queue_held = false;
}

static void tx_begin(void *arg, const struct smtp_envelope *env)
{
	struct inbound_session *s = arg;
	struct inbound *in = s->in;
	struct spool_env senv;
	char qid[SPOOL_QID_LEN + 1], hdr[RECEIVED_MAX];
	const char *cause = NULL;
	int rc, n;

	s->msg = NULL;
	s->msg_err = 0;
	snprintf(s->sender, sizeof(s->sender), "%s", env->mail_from);
	s->nrcpt = env->nrcpt;
	s->queue_held = false;
	/* room in the delivery queue first: a 250 promises delivery */
	if (in->queue != NULL) {
		if ((rc = queue_reserve(in->queue, env->nrcpt)) < 0) {
			s->msg_err = rc;
			refused(s, "", "the delivery queue is full", rc);
			return;
		}
		s->queue_held = true;
	}
	to_spool_env(in, s, env, &senv);
	/* queue IDs carry wall-clock seconds */
	if ((rc = spool_msg_begin(in->spool, &senv, senv.arrival_us, &s->msg)) < 0) {
		s->msg = NULL;
		s->msg_err = rc;
		room_release(s);
		refused(s, "", spool_refusal(in->spool), rc);
		return;
	}
	s->qid = spool_msg_qid(s->msg);
	s->arrival_us = senv.arrival_us;
	spool_qid_format(s->qid, qid);
	track_event_init(&s->ev, TRACK_ACCEPTED, senv.arrival_us, s->qid);
	track_event_env(&s->ev, &senv);
	n = smtp_received(env, s->snap->smtp.server.hostname, qid, time(NULL), hdr,
			  sizeof(hdr));
	if (n > 0 && (rc = spool_msg_append(s->msg, hdr, (size_t)n)) < 0)
		cause = spool_refusal(in->spool);
	else if (in->relay != NULL && (rc = relay_env_add(in->relay, s->qid, &senv)) < 0)
		cause = "no relay envelope";
	if (cause != NULL) {
		spool_msg_abort(s->msg);
		s->msg = NULL;
		s->msg_err = rc;
		room_release(s);
		refused(s, qid, cause, rc);
	}
}

static void tx_body(void *arg, const uint8_t *data, size_t len)
{
	struct inbound_session *s = arg;
	int rc;

	if (s->msg == NULL)
		return;
	if ((rc = spool_msg_append(s->msg, data, len)) < 0) {
		char qid[SPOOL_QID_LEN + 1];

		spool_qid_format(s->qid, qid);
		refused(s, qid, spool_refusal(s->in->spool), rc);
		forget(s->in, s->qid);
		spool_msg_abort(s->msg);
		s->msg = NULL;
		s->msg_err = rc;
		return;
	}
	STATS_ADD(s->in->stats.bytes, len);
}

/* A spool that cannot take the message now (full, a write error, out of
 * slots) is 452 4.3.1; anything else 451 4.3.0. */
static enum smtp_commit commit_of(int err)
{
	return spool_err_storage(err) ? SMTP_COMMIT_NOSPACE : SMTP_COMMIT_TEMPFAIL;
}

/* An accepted message joins the delivery queue (in the room held since
 * its start) and the tracking log.  Should that still fail, the message
 * waits in the spool, where recovery finds it at the next start (logged). */
static void accepted(struct inbound_session *s, struct spool_msg *m,
		     const char *qid)
{
	struct inbound *in = s->in;
	struct queue_add a = {.msg = m, .qid = s->qid, .arrival_us = s->arrival_us,
			      .size = spool_msg_size(m), .nrcpt = s->nrcpt,
			      .sender = s->sender, .reserved = s->queue_held};
	int rc;

	s->queue_held = false;

	STATS_ADD(in->stats.messages, 1);
	s->ev.size = a.size;
	track_put(in->track, &s->ev);
	if ((rc = queue_add(in->queue, &a, s->arrival_us)) < 0) {
		forget(in, s->qid);
		wlog(in->log, "%s: not queued for delivery (%s): it waits in the "
		     "spool for the next start", qid, strerror(-rc));
	}
}

/* The spool's verdict on the message of S (spool_end_fn). */
static void committed(void *arg, struct spool_msg *m, int err)
{
	struct inbound_session *s = arg;
	struct inbound *in = s->in;
	char qid[SPOOL_QID_LEN + 1];

	s->commit_pending = false;
	spool_qid_format(s->qid, qid);
	if (err == 0) {
		accepted(s, m, qid);
	} else {
		room_release(s);
		forget(in, s->qid);
		STATS_ADD(in->stats.commit_failed, 1);
		wlog(in->log, "%s: spool commit failed: %s", qid, strerror(-err));
	}
	if (s->tcp == NULL) {               /* the client went while we waited */
		inbound_free(s);
		return;
	}
	smtp_server_commit_done(s->smtp, err == 0 ? SMTP_COMMIT_OK : commit_of(err),
				qid, *in->now);
	inbound_pump(s);
	if (s->peer_closed)
		inbound_peer_gone(s);
	else
		inbound_resume(s);
}

static void tx_end(void *arg, enum smtp_tx_end how)
{
	struct inbound_session *s = arg;
	struct spool_msg *m = s->msg;
	int rc;

	s->msg = NULL;
	if (how == SMTP_TX_ABORTED) {
		room_release(s);
		if (m != NULL) {
			forget(s->in, s->qid);
			spool_msg_abort(m);
		}
		return;
	}
	if (m == NULL) {                    /* the spool refused it earlier */
		STATS_ADD(s->in->stats.commit_failed, 1);
		smtp_server_commit_done(s->smtp, commit_of(s->msg_err), "", *s->in->now);
		return;
	}
	s->commit_pending = true;
	if ((rc = spool_msg_end(m, committed, s)) < 0) {
		char qid[SPOOL_QID_LEN + 1];

		spool_qid_format(s->qid, qid);
		refused(s, qid, spool_refusal(s->in->spool), rc);
		s->commit_pending = false;
		room_release(s);
		forget(s->in, s->qid);
		spool_msg_abort(m);
		STATS_ADD(s->in->stats.commit_failed, 1);
		smtp_server_commit_done(s->smtp, commit_of(rc), "", *s->in->now);
	}
}

static void auth_check(void *arg, const struct smtp_auth_req *req)
{
	struct inbound_session *s = arg;
	struct inbound *in = s->in;
	struct authd_req r = {.worker = in->worker, .session = s, .gen = s->gen,
			      .client = s->client};

	if (in->authd == NULL) {
		smtp_server_auth_result(s->smtp, SMTP_AUTH_TEMPFAIL, *in->now);
		return;
	}
	r.user_len = (uint16_t)RTE_MIN(req->user_len, (size_t)AUTHD_FIELD_MAX);
	r.pass_len = (uint16_t)RTE_MIN(req->pass_len, (size_t)AUTHD_FIELD_MAX);
	memcpy(r.user, req->user, RTE_MIN(req->user_len, sizeof(r.user)));
	memcpy(r.pass, req->pass, RTE_MIN(req->pass_len, sizeof(r.pass)));
	if (!authd_post(in->authd, &r)) {
		STATS_ADD(in->stats.auth_busy, 1);
		smtp_server_auth_result(s->smtp, SMTP_AUTH_TEMPFAIL, *in->now);
		return;
	}
	s->auth_pending = true;
}

static void tls_start(void *arg)
{
	struct inbound_session *s = arg;

	inbound_pump(s);                    /* the 220, in clear */
	if (s->snap->smtp.tls == NULL ||
	    tls_conn_new(s->snap->smtp.tls, NULL, &s->tls) < 0) {
		s->tls = NULL;
		STATS_ADD(s->in->stats.tls_failed, 1);
		smtp_server_abort(s->smtp);
		if (s->tcp != NULL && !s->closed) {
			tcp_close(s->tcp);
			s->closed = true;
		}
	}
}

static void reject(void *arg, const char *reply, size_t len)
{
	struct inbound_session *s = arg;

	wlog(s->in->log, "NOQUEUE: reject from [%s]: %.*s", s->client_text,
	     (int)RTE_MIN(len, (size_t)160), reply);
}

const struct smtp_server_ops inbound_smtp_ops = {
	.tx_begin = tx_begin, .tx_body = tx_body, .tx_end = tx_end,
	.auth_check = auth_check, .tls_start = tls_start, .reject = reject,
};
