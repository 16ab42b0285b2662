/*
 * relay: the worker's relay module — envelopes of queued messages, taking
 * due messages from the queue, routing them to a smart host and a
 * connection (relay_conn.c), recording each recipient's result in the
 * queue, the spool and the tracking ring, failover to the route's next
 * host, and the end of each attempt.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/queue/queue.h"
#include "dataplane/relay_impl.h"
#include "dataplane/stats.h"
#include "dataplane/relay_route.h"
#include "dataplane/smtp/smtp_dsn.h"
#include "dataplane/spool/spool.h"
#include "dataplane/tls/tls.h"
#include "dataplane/wlog.h"

/* ---- shared, control plane ------------------------------------------------ */

static int read_auth(const char *path, char *user, char *pass, char *err,
		     size_t errlen)
{
	char line[2 * SMTP_CLIENT_CRED_MAX + 4];
	FILE *f = fopen(path, "r");
	char *colon;
	size_t len;

	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	if (fgets(line, sizeof(line), f) == NULL)
		line[0] = '\0';
	fclose(f);
	len = strcspn(line, "\r\n");
	line[len] = '\0';
	colon = strchr(line, ':');
	if (colon == NULL || colon == line || colon[1] == '\0' ||
	    (size_t)(colon - line) > SMTP_CLIENT_CRED_MAX ||
	    strlen(colon + 1) > SMTP_CLIENT_CRED_MAX) {
		snprintf(err, errlen, "%s: expected \"user:password\" on the first line", path);
		return -EINVAL;
	}
	*colon = '\0';
	strcpy(user, line);
	strcpy(pass, colon + 1);
	return 0;
}

int relay_shared_init(struct relay_shared *sh, const struct conf *conf,
		      char *err, size_t errlen)
{
	const struct conf_relay *c = &conf->relay;
	int rc = 0;

	memset(sh, 0, sizeof(*sh));
	sh->conf = c;
	sh->helo = conf->smtp.hostname;
	if (relay_addrs_new(sh) < 0) {
		snprintf(err, errlen, "relay: out of memory");
		return -ENOMEM;
	}
	for (unsigned i = 0; i < c->nb_hosts && rc == 0; i++) {
		const struct conf_relay_host *h = &c->hosts[i];

		/* a name has no address until control/relay_dns.c resolves it */
		relay_addrs_set(sh, i, &h->addr, h->named ? 0 : 1);
		if (h->tls == CONF_RELAY_TLS_VERIFY)
			rc = tls_ctx_client_new(h->ca_file[0] ? h->ca_file : NULL,
						&sh->tls[i], err, errlen);
		else if (h->tls != CONF_RELAY_TLS_NONE)
			rc = tls_ctx_client_noverify_new(&sh->tls[i], err, errlen);
		if (rc == 0 && h->auth_file[0] != '\0')
			rc = read_auth(h->auth_file, sh->auth[i].user, sh->auth[i].pass,
				       err, errlen);
	}
	if (rc < 0)
		relay_shared_fini(sh);
	return rc;
}

void relay_shared_fini(struct relay_shared *sh)
{
	for (unsigned i = 0; i < CONF_RELAY_HOSTS; i++) {
		if (sh->tls[i] != NULL)
			tls_ctx_free(sh->tls[i]);
		sh->tls[i] = NULL;
	}
	memset(sh->auth, 0, sizeof(sh->auth));
	relay_addrs_free(sh);
}

void relay_queue_conf(const struct conf_relay *c, struct queue_conf *q)
{
	q->nb_retry = c->nb_retry;
	for (unsigned i = 0; i < c->nb_retry; i++)
		q->retry_us[i] = c->retry_s[i] * 1000000ull;
	q->lifetime_us = c->lifetime_s * 1000000ull;
}

#define RELAY_WAIT_RETRY_US 1000

/* ---- envelopes ------------------------------------------------------------- */

static struct relay_env **env_slot(struct relay *r, uint64_t qid)
{
	/* Fibonacci hashing: a queue ID's low bits are the worker and a
	 * per-second sequence, so they alone would crowd a few buckets */
	struct relay_env **pp = &r->env[(qid * 0x9e3779b97f4a7c15ull) >> (64 - RELAY_ENV_BITS)];

	while (*pp != NULL && (*pp)->qid != qid)
		pp = &(*pp)->next;
	return pp;
}

static char *put_str(char **at, const struct spool_str *s)
{
	char *p = *at;

	if (s->len > 0)          /* an empty string may have no pointer */
		memcpy(p, s->p, s->len);
	p[s->len] = '\0';
	*at += s->len + 1;
	return p;
}

int relay_env_add(struct relay *r, uint64_t qid, const struct spool_env *env)
{
	struct relay_env **pp = env_slot(r, qid), *e;
	size_t bytes = sizeof(*e) + env->nrcpt * sizeof(e->rcpt[0]) +
		       env->sender.len + env->envid.len + 2;
	char *at;

	if (*pp != NULL)
		return -EEXIST;
	for (uint32_t i = 0; i < env->nrcpt; i++)
		bytes += env->rcpt[i].addr.len + env->rcpt[i].orcpt.len + 2;
	e = malloc(bytes);
	if (e == NULL) {
		STATS_ADD(r->stats.env_nomem, 1);
		return -ENOMEM;
	}
	at = (char *)&e->rcpt[env->nrcpt];
	e->next = NULL;
	e->qid = qid;
	e->sender = put_str(&at, &env->sender);
	e->envid = env->envid.len ? put_str(&at, &env->envid) : NULL;
	e->ret = env->ret == SPOOL_RET_FULL ? SMTP_RET_FULL :
		 env->ret == SPOOL_RET_HDRS ? SMTP_RET_HDRS : SMTP_RET_UNSET;
	e->body_8bit = env->body == SPOOL_BODY_8BITMIME ||
		       env->body == SPOOL_BODY_BINARYMIME;
	e->smtputf8 = env->smtputf8;
	e->arrival_us = env->arrival_us;
	e->deferred_by = 0;
	e->nrcpt = env->nrcpt;
	for (uint32_t i = 0; i < env->nrcpt; i++) {
		const struct spool_rcpt *s = &env->rcpt[i];

		e->rcpt[i].addr = put_str(&at, &s->addr);
		e->rcpt[i].orcpt = s->orcpt.len ? put_str(&at, &s->orcpt) : NULL;
		e->rcpt[i].notify = s->notify; /* SPOOL_NOTIFY_* == SMTP_NOTIFY_* */
	}
	*pp = e;
	return 0;
}

void relay_env_del(struct relay *r, uint64_t qid)
{
	struct relay_env **pp = env_slot(r, qid), *e = *pp;

	if (e != NULL) {
		*pp = e->next;
		free(e);
	}
}

_Static_assert(SPOOL_NOTIFY_NEVER == SMTP_NOTIFY_NEVER &&
	       SPOOL_NOTIFY_SUCCESS == SMTP_NOTIFY_SUCCESS &&
	       SPOOL_NOTIFY_FAILURE == SMTP_NOTIFY_FAILURE &&
	       SPOOL_NOTIFY_DELAY == SMTP_NOTIFY_DELAY, "NOTIFY bits differ");

/* ---- tracking ----------------------------------------------------------------- */

/* HOST's name in tracking events, "name[address]:port": the address
 * dialled (ADDR), or as configured for a host by name not yet resolved.
 * Made once per host and address. */
static const char *host_text(struct relay *r, unsigned host, uint32_t a)
{
	struct relay_host_text *t = &r->host_text[host];
	const struct conf_relay_host *h = &r->sh->conf->hosts[host];

	if (t->made && t->addr == a)
		return t->text;
	if (a != 0)
		snprintf(t->text, sizeof(t->text), "%s[%u.%u.%u.%u]:%u", h->name,
			 a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff, h->port);
	else
		snprintf(t->text, sizeof(t->text), "%s[%s]:%u", h->name, h->host, h->port);
	t->made = true;
	t->addr = a;
	return t->text;
}

static void track(struct relay *r, enum track_type type, const struct relay_msg *m,
		  unsigned host, const char *rcpt, const char *text)
{
	struct track_event ev;

	track_event_init(&ev, type, *r->wall, m->qid);
	ev.size = spool_msg_size(m->sm);
	ev.nrcpt = rcpt ? 1 : 0;
	if (m->env != NULL)
		track_copy(ev.sender, sizeof(ev.sender), m->env->sender,
			   strlen(m->env->sender));
	if (rcpt != NULL)
		track_copy(ev.rcpt[0], sizeof(ev.rcpt[0]), rcpt, strlen(rcpt));
	if (host < CONF_RELAY_HOSTS)
		memcpy(ev.relay, host_text(r, host, m->addr), sizeof(ev.relay));
	track_copy(ev.text, sizeof(ev.text), text, strlen(text));
	track_put(r->track, &ev);
}

/* ---- life cycle ------------------------------------------------------------------ */

int relay_init(struct relay *r, const struct relay_shared *sh,
	       struct tcp_stack *tcp, const struct net_ctx *net,
	       struct queue *q, struct track_ring *track, struct wlog *log,
	       unsigned worker, const uint64_t *now, const uint64_t *wall)
{
	memset(r, 0, sizeof(*r));
	r->sh = sh;
	r->tcp = tcp;
	r->net = net;
	r->queue = q;
	r->track = track;
	r->log = log;
	r->worker = worker;
	r->now = now;
	r->wall = wall;
	r->rr = worker;
	if (sh->conf->nb_hosts == 0)
		return 0;
	r->nb_conns = sh->conf->max_conns;
	r->dsn = calloc(1, sizeof(*r->dsn));
	r->conns = calloc(r->nb_conns, sizeof(r->conns[0]));
	r->msgs = calloc(r->nb_conns, sizeof(r->msgs[0]));
	if (r->conns == NULL || r->msgs == NULL || r->dsn == NULL)
		goto nomem;
	for (unsigned i = 0; i < r->nb_conns; i++) {
		r->conns[i].r = r;
		r->conns[i].smtp_mem = malloc(smtp_client_size());
		if (r->conns[i].smtp_mem == NULL)
			goto nomem;
		r->msgs[i].next = i + 1 < r->nb_conns ? &r->msgs[i + 1] : NULL;
	}
	r->free_msgs = &r->msgs[0];
	return 0;
nomem:
	relay_fini(r);
	return -ENOMEM;
}

void relay_fini(struct relay *r)
{
	for (unsigned i = 0; r->conns != NULL && i < r->nb_conns; i++) {
		if (r->conns[i].tls != NULL)
			tls_conn_free(r->conns[i].tls);
		free(r->conns[i].smtp_mem);
	}
	free(r->conns);
	free(r->msgs);
	free(r->dsn);
	r->conns = NULL;
	r->msgs = NULL;
	r->dsn = NULL;
	for (unsigned b = 0; b < RELAY_ENV_BUCKETS; b++)
		while (r->env[b] != NULL) {
			struct relay_env *e = r->env[b];

			r->env[b] = e->next;
			free(e);
		}
}

void relay_set_spool(struct relay *r, struct spool *sp)
{
	r->spool = sp;
}

/* ---- attempts ---------------------------------------------------------------------- */

static void msg_free(struct relay *r, struct relay_msg *m)
{
	m->next = r->free_msgs;
	r->free_msgs = m;
}

/* Recipient I of M failed for good: a DSN is due unless NOTIFY says no. */
static void add_failed(struct relay_msg *m, unsigned i, unsigned host,
		       const char *status, const char *diag, bool smtp)
{
	struct relay_failed *f;

	if (m->nfailed == RELAY_DSN_RCPTS ||
	    !smtp_dsn_due(m->env->sender, m->list[i].notify, SMTP_DSN_FAILED))
		return;
	f = &m->failed[m->nfailed++];
	f->idx = m->idx[i];
	f->host = host;
	f->smtp = smtp;
	snprintf(f->status, sizeof(f->status), "%s", status);
	snprintf(f->diag, sizeof(f->diag), "%s", diag);
}

/* End M's attempt: deferred recipients are told now (not at a failover). */
static void attempt_end(struct relay *r, struct relay_msg *m, unsigned host)
{
	struct spool_msg *sm = m->sm;
	int rc;

	for (unsigned i = 0; i < m->n; i++)
		if (m->deferred[i]) {
			spool_msg_outcome(sm, m->idx[i], SPOOL_DEFERRED, m->reason,
					  strlen(m->reason));
			track(r, TRACK_DEFERRED, m, host, m->list[i].addr, m->reason);
			STATS_ADD(r->stats.deferred, 1);
		}
	rc = queue_attempt_end(r->queue, m->qid, *r->wall,
			       m->reason[0] ? m->reason : NULL, &sm);
	if (rc == QUEUE_END_EXPIRED) {
		track(r, TRACK_EXPIRED, m, CONF_RELAY_HOSTS, NULL, m->reason);
		for (unsigned i = 0; i < m->n; i++)
			if (m->deferred[i])
				add_failed(m, i, host, "5.4.7", m->reason, false);
	}
	if (m->env != NULL && m->nfailed > 0 &&
	    relay_dsn_start(r, m, rc == QUEUE_END_FINISHED || rc == QUEUE_END_EXPIRED ?
			    sm : NULL))
		sm = NULL;           /* the DSN job finishes it */
	if (rc == QUEUE_END_FINISHED || rc == QUEUE_END_EXPIRED) {
		relay_env_del(r, m->qid);
		if (sm != NULL)
			spool_msg_done(sm, SPOOL_DONE_FINISHED);
	} else if (rc < 0) {
		wlog(r->log, "relay: %016llx: queue_attempt_end: %s",
		     (unsigned long long)m->qid, strerror(-rc));
	}
	msg_free(r, m);
}

/* Pick M's recipients for this attempt: the pending ones routed like the
 * first pending one.  Returns the route, or a negative errno with
 * M->reason set. */
static int pick(struct relay *r, struct relay_msg *m)
{
	const struct conf_relay *c = r->sh->conf;
	int route = -1;

	m->n = 0;
	for (uint32_t i = 0; i < m->env->nrcpt && m->n < SMTP_CLIENT_RCPT_MAX; i++) {
		const char *a = m->env->rcpt[i].addr, *d;
		size_t len;
		int rt;

		if (queue_rcpt_get(r->queue, m->qid, i) != QUEUE_RCPT_PENDING)
			continue;
		d = relay_route_domain(a, strlen(a), &len);
		rt = d ? relay_route_find(c, d, len) : -ENOENT;
		if (route < 0 && rt < 0) {
			snprintf(m->reason, sizeof(m->reason),
				 "4.4.4 no relay route for <%s>", a);
			return -ENOENT;
		}
		if (route < 0)
			route = rt;
		if (rt != route)
			continue;
		m->idx[m->n] = i;
		m->list[m->n] = m->env->rcpt[i];
		m->deferred[m->n] = 0;
		m->n++;
	}
	if (route < 0) {
		snprintf(m->reason, sizeof(m->reason), "4.0.0 no recipient pending");
		return -ENOENT;
	}
	m->nb_order = relay_route_order(c, (unsigned)route, r->rr++, m->order);
	m->at = 0;
	/* the host that answered 4xx last time goes last: the next one first */
	for (unsigned k = 0; m->env->deferred_by && k + 1 < m->nb_order; k++)
		if (m->order[k] == m->env->deferred_by - 1) {
			uint8_t h = m->order[k];

			memmove(&m->order[k], &m->order[k + 1], m->nb_order - k - 1);
			m->order[m->nb_order - 1] = h;
			break;
		}
	m->env->deferred_by = 0;
	return route;
}

/* A connection for M's current host, or the next host that is up: an
 * idle one to reuse, or a new one.  1 when M got a connection, 0 when it
 * must wait (the host's connections are busy), or -EHOSTDOWN when no
 * host is left. */
static int place(struct relay *r, struct relay_msg *m)
{
	const struct conf_relay *c = r->sh->conf;

	for (; m->at < m->nb_order; m->at++) {
		unsigned h = m->order[m->at], used = 0;
		struct relay_conn *fresh = NULL;

		if (r->down_until[h] > *r->now)
			continue;
		for (unsigned i = 0; i < r->nb_conns; i++) {
			struct relay_conn *rc = &r->conns[i];

			if (rc->st == RC_FREE) {
				if (fresh == NULL && !rc->reading)
					fresh = rc;
				continue;
			}
			if (rc->host != h)
				continue;
			used++;
			if (rc->st == RC_OPEN && rc->msg == NULL && rc->tcp != NULL &&
			    smtp_client_state(rc->smtp) == SMTP_CLIENT_IDLE) {
				rc->msg = m;
				m->addr = rc->addr;
				relay_conn_send(rc);
				return 1;
			}
		}
		if (used >= c->hosts[h].max_conns || fresh == NULL)
			return 0;
		fresh->msg = m;
		if (relay_conn_open(r, fresh, h) == 0) {
			m->addr = fresh->addr;
			return 1;
		}
		fresh->msg = NULL;
		r->down_until[h] = *r->now + c->host_down_s * 1000000ull;
	}
	snprintf(m->reason, sizeof(m->reason), "4.4.1 no smart host reachable");
	return -EHOSTDOWN;
}

/* Start M, or put it on the waiting list. */
static void start(struct relay *r, struct relay_msg *m)
{
	int rc = place(r, m);

	if (rc == 0) {
		m->next = r->waiting;
		r->waiting = m;
	} else if (rc < 0) {
		for (unsigned i = 0; i < m->n; i++)
			m->deferred[i] = 1;
		attempt_end(r, m, CONF_RELAY_HOSTS);
	}
}

void relay_rcpt_result(struct relay_conn *c, unsigned idx,
		       const struct smtp_client_result *res)
{
	struct relay *r = c->r;
	struct relay_msg *m = c->msg;
	uint32_t rcpt = m->idx[idx];
	const char *addr = m->list[idx].addr;

	m->replied |= res->remote || res->status != SMTP_RCPT_DEFERRED;
	switch (res->status) {
	case SMTP_RCPT_DELIVERED:
	case SMTP_RCPT_BOUNCED: {
		bool ok = res->status == SMTP_RCPT_DELIVERED;

		queue_rcpt_set(r->queue, m->qid, rcpt, ok ? QUEUE_RCPT_SENT : QUEUE_RCPT_BOUNCED);
		spool_msg_outcome(m->sm, rcpt, ok ? SPOOL_DELIVERED : SPOOL_BOUNCED,
				  res->text, strlen(res->text));
		track(r, ok ? TRACK_RELAYED : TRACK_BOUNCED, m, c->host, addr, res->text);
		if (ok) {
			STATS_ADD(r->stats.sent, 1);
		} else {
			STATS_ADD(r->stats.bounced, 1);
			add_failed(m, idx, c->host, res->enh, res->text, res->remote);
		}
		break;
	}
	case SMTP_RCPT_DEFERRED:
		m->deferred[idx] = 1;
		if (res->remote)
			m->env->deferred_by = (uint8_t)(c->host + 1);
		track_copy(m->reason, sizeof(m->reason), res->text, strlen(res->text));
		break;
	}
}

/* Move M to the route's next host after its current one failed. */
static void failover(struct relay *r, struct relay_msg *m, unsigned host)
{
	r->down_until[host] = *r->now + r->sh->conf->host_down_s * 1000000ull;
	RELAY_COUNT(r, host, conn_fail);
	m->at++;
	if (m->at < m->nb_order) {
		STATS_ADD(r->stats.failovers, 1);
		for (unsigned i = 0; i < m->n; i++)
			m->deferred[i] = 0;
		start(r, m);
	} else {
		attempt_end(r, m, host);
	}
}

/* A reused connection that ended before M got any reply was stale: the
 * host closed it while idle, or restarted.  M goes on another connection
 * at once and the host is not held down for it; each stale connection
 * does this once.  True when M was placed again. */
static bool retry_stale(struct relay_conn *c, struct relay_msg *m)
{
	if (c->msgs <= 1 || m->replied)
		return false;
	STATS_ADD(c->r->stats.stale_retries, 1);
	for (unsigned i = 0; i < m->n; i++)
		m->deferred[i] = 0;             /* the engine's abort marked them */
	start(c->r, m);
	return true;
}

void relay_msg_done(struct relay_conn *c)
{
	struct relay *r = c->r;
	struct relay_msg *m = c->msg;
	const struct conf_relay_host *h = &r->sh->conf->hosts[c->host];

	c->msg = NULL;
	c->idle_since = *r->now;
	r->kick = true;
	if (c->msgs >= h->msgs_per_conn)
		smtp_client_quit(c->smtp, *r->now);
	if (!m->replied) {
		if (!retry_stale(c, m))
			failover(r, m, c->host);
	} else {
		attempt_end(r, m, c->host);
	}
}

void relay_conn_lost(struct relay_conn *c, const char *why)
{
	struct relay_msg *m = c->msg;

	c->msg = NULL;
	if (retry_stale(c, m))
		return;
	track_copy(m->reason, sizeof(m->reason), why, strlen(why));
	for (unsigned i = 0; i < m->n; i++)
		m->deferred[i] = 1;
	failover(c->r, m, c->host);
}

void relay_poll(struct relay *r)
{
	struct relay_msg *w = r->waiting, *m;

	if (r->conns == NULL)
		return;
	for (unsigned i = 0; i < r->nb_conns; i++)
		relay_conn_poll(&r->conns[i]);
	relay_dsn_poll(r);
	/* Placing a waiting message walks every connection: only when one
	 * freed up, and every millisecond for what no event announces (a
	 * host's down time over, a client back to idle after RSET). */
	if (w != NULL && (r->kick || *r->now >= r->wait_retry)) {
		r->kick = false;
		r->wait_retry = *r->now + RELAY_WAIT_RETRY_US;
		r->waiting = NULL;
		while (w != NULL) {
			m = w;
			w = w->next;
			start(r, m);
		}
	}
	while (!r->draining && r->free_msgs != NULL) {
		struct spool_msg *sm;
		uint64_t qid;

		if (queue_pop_due(r->queue, *r->wall, &sm, &qid) != 1)
			break;
		m = r->free_msgs;
		r->free_msgs = m->next;
		memset(m, 0, offsetof(struct relay_msg, failed));
		m->sm = sm;
		m->qid = qid;
		m->env = *env_slot(r, qid);
		if (m->env == NULL) {
			STATS_ADD(r->stats.no_env, 1);
			snprintf(m->reason, sizeof(m->reason), "4.3.0 envelope not available");
			attempt_end(r, m, CONF_RELAY_HOSTS);
			continue;
		}
		if (pick(r, m) < 0) {
			for (unsigned i = 0; i < m->n; i++)
				m->deferred[i] = 1;
			attempt_end(r, m, CONF_RELAY_HOSTS);
			continue;
		}
		start(r, m);
	}
}

bool relay_drain(struct relay *r)
{
	unsigned idle = 0;

	if (r->conns == NULL) {
		r->draining = true;
		return true;
	}
	if (!r->draining)               /* idle connections QUIT now */
		for (unsigned i = 0; i < r->nb_conns; i++)
			r->conns[i].dirty = true;
	r->draining = true;
	for (unsigned i = 0; i < r->nb_conns; i++)
		if (r->conns[i].st != RC_FREE || r->conns[i].reading)
			return false;
	for (const struct relay_msg *m = r->free_msgs; m != NULL; m = m->next)
		idle++;
	return idle == r->nb_conns && r->waiting == NULL && !r->dsn->busy;
}

void relay_set_shared(struct relay *r, const struct relay_shared *sh)
{
	r->sh = sh;
	r->draining = false;
	memset(r->down_until, 0, sizeof(r->down_until));  /* host indices may differ */
	memset(r->host_text, 0, sizeof(r->host_text));
}
