/*
 * relay_dsn: the delivery status notification the relay owes a sender
 * when recipients bounce or expire (RFC 3464, built by smtp_dsn_build()).
 * Owns the worker's DSN job: the failed recipients' reports, the read of
 * the original message from the spool, the DSN's own spool message, and
 * queueing it (null sender, to the original sender) once committed.  One
 * job at a time; a DSN due while one is in progress is logged and counted
 * (dsn_dropped), not sent.
 */
#include <errno.h>
#include <string.h>

#include "dataplane/queue/queue.h"
#include "dataplane/relay_impl.h"
#include "dataplane/stats.h"
#include "dataplane/smtp/smtp_dsn.h"
#include "dataplane/spool/spool.h"
#include "dataplane/wlog.h"

static void fail(struct relay *r, const char *what, int err)
{
	struct relay_dsn *j = r->dsn;
	char qid[SPOOL_QID_LEN + 1];

	spool_qid_format(j->qid, qid);
	wlog(r->log, "relay: %s: DSN not sent: %s: %s", qid, what, strerror(-err));
	STATS_ADD(r->stats.dsn_dropped, 1);
	j->busy = false;
}

static void committed(void *arg, struct spool_msg *m, int err)
{
	struct relay *r = arg;
	struct relay_dsn *j = r->dsn;
	struct queue_add a = {.msg = m, .qid = j->dsn_qid, .arrival_us = *r->wall,
			      .size = j->out_len, .nrcpt = 1, .sender = ""};

	if (err == 0 && (err = queue_add(r->queue, &a, *r->wall)) == 0) {
		STATS_ADD(r->stats.dsn_sent, 1);
		j->busy = false;
		return;
	}
	relay_env_del(r, j->dsn_qid);
	fail(r, "queue", err);
}

/* The original's octets are in j->msg: build the DSN and spool it. */
static void build(struct relay *r)
{
	struct relay_dsn *j = r->dsn;
	struct smtp_dsn_rcpt rc[RELAY_DSN_RCPTS];
	char qid[SPOOL_QID_LEN + 1];
	struct smtp_dsn d = {
		.reporting_mta = r->sh->helo, .qid = qid, .sender = j->sender,
		.envid = j->envid[0] ? j->envid : NULL, .ret = j->ret,
		.arrival = (time_t)(j->arrival_us / 1000000u),
		.now = (time_t)(*r->wall / 1000000u),
		.msg = j->msg, .msg_len = j->msg_len, .rcpt = rc, .nrcpt = j->n,
	};
	struct spool_rcpt to = {.addr = {.p = j->sender, .len = (uint16_t)strlen(j->sender)}};
	struct spool_env env = {
		.client_family = 4,
		.helo = {.p = r->sh->helo, .len = (uint16_t)strlen(r->sh->helo)},
		.arrival_us = *r->wall, .nrcpt = 1, .rcpt = &to,
	};
	struct spool_msg *m;
	long len;
	int err;

	spool_qid_format(j->qid, qid);
	for (unsigned i = 0; i < j->n; i++)
		rc[i] = (struct smtp_dsn_rcpt){
			.addr = j->rcpt[i].addr,
			.orcpt = j->rcpt[i].orcpt[0] ? j->rcpt[i].orcpt : NULL,
			.action = SMTP_DSN_FAILED, .status = j->rcpt[i].status,
			.remote_mta = j->rcpt[i].mta[0] ? j->rcpt[i].mta : NULL,
			.diag = j->rcpt[i].diag, .diag_smtp = j->rcpt[i].smtp,
			.last_attempt = d.now};
	if ((len = smtp_dsn_build(&d, j->out, sizeof(j->out))) < 0)
		return fail(r, "build", (int)len);
	j->out_len = (size_t)len;
	if ((err = spool_msg_begin(r->spool, &env, *r->wall, &m)) < 0)
		return fail(r, "spool", err);
	j->dsn_qid = spool_msg_qid(m);
	if ((err = spool_msg_append(m, j->out, j->out_len)) < 0 ||
	    (err = relay_env_add(r, j->dsn_qid, &env)) < 0) {
		spool_msg_abort(m);
		return fail(r, "spool", err);
	}
	if ((err = spool_msg_end(m, committed, r)) < 0) {
		relay_env_del(r, j->dsn_qid);
		spool_msg_abort(m);
		fail(r, "spool", err);
	}
}

/* The original is read (or could not be): finish it if it is done, then
 * build. */
static void read_done(void *arg, int err)
{
	struct relay *r = arg;
	struct relay_dsn *j = r->dsn;

	if (err < 0)
		j->msg_len = 0;      /* a report without the returned message */
	if (j->finish != NULL)
		spool_msg_done(j->finish, SPOOL_DONE_FINISHED);
	j->orig = j->finish = NULL;
	build(r);
}

static void read_orig(struct relay *r)
{
	struct relay_dsn *j = r->dsn;
	long rc = spool_msg_read(j->orig, 0, j->msg, j->msg_len, read_done, r);

	j->read_again = rc == -EAGAIN;
	if (rc == -EAGAIN || rc == 0)   /* again next poll; or read_done() later */
		return;
	read_done(r, rc < 0 ? (int)rc : 0);
}

bool relay_dsn_start(struct relay *r, const struct relay_msg *m,
		     struct spool_msg *finish)
{
	struct relay_dsn *j = r->dsn;
	const struct relay_env *e = m->env;
	uint64_t size = spool_msg_size(m->sm);

	if (r->spool == NULL || j->busy) {
		char qid[SPOOL_QID_LEN + 1];

		spool_qid_format(m->qid, qid);
		wlog(r->log, "relay: %s: DSN not sent: %s", qid,
		     r->spool == NULL ? "no spool" : "another DSN in progress");
		STATS_ADD(r->stats.dsn_dropped, 1);
		return false;
	}
	j->busy = true;
	j->qid = m->qid;
	j->orig = m->sm;
	j->finish = finish;
	snprintf(j->sender, sizeof(j->sender), "%s", e->sender);
	snprintf(j->envid, sizeof(j->envid), "%s", e->envid ? e->envid : "");
	j->ret = e->ret;
	j->arrival_us = e->arrival_us;
	/* too large to return whole: its headers (within the buffer) only */
	j->msg_len = size < sizeof(j->msg) ? (size_t)size : sizeof(j->msg);
	if (size > sizeof(j->msg))
		j->ret = SMTP_RET_HDRS;
	j->n = m->nfailed;
	for (unsigned i = 0; i < m->nfailed; i++) {
		const struct relay_failed *f = &m->failed[i];
		const struct smtp_client_rcpt *rc = &e->rcpt[f->idx];
		const struct conf_relay_host *h = f->host < CONF_RELAY_HOSTS ?
			&r->sh->conf->hosts[f->host] : NULL;

		snprintf(j->rcpt[i].addr, sizeof(j->rcpt[i].addr), "%s", rc->addr);
		snprintf(j->rcpt[i].orcpt, sizeof(j->rcpt[i].orcpt), "%s",
			 rc->orcpt ? rc->orcpt : "");
		snprintf(j->rcpt[i].status, sizeof(j->rcpt[i].status), "%s", f->status);
		snprintf(j->rcpt[i].diag, sizeof(j->rcpt[i].diag), "%s", f->diag);
		snprintf(j->rcpt[i].mta, sizeof(j->rcpt[i].mta), "%s", h ? h->host : "");
		j->rcpt[i].smtp = f->smtp;
	}
	read_orig(r);
	return true;
}

void relay_dsn_poll(struct relay *r)
{
	if (r->dsn != NULL && r->dsn->busy && r->dsn->read_again)
		read_orig(r);
}
