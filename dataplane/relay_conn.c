/*
 * relay_conn: one relay connection to a smart host — binds an active-open
 * TCP connection, the TLS object once STARTTLS succeeded, and an SMTP
 * client engine; moves bytes between them with back-pressure both ways,
 * serves the engine's body reads from the spool, and closes after the 221
 * once the peer's FIN came (so TIME_WAIT stays on the smart host's side),
 * or after RELAY_LINGER_US.
 */
#include <errno.h>
#include <string.h>

#include "dataplane/net/net.h"
#include "dataplane/net/route.h"
#include "dataplane/relay_impl.h"
#include "dataplane/stats.h"
#include "dataplane/spool/spool.h"
#include "dataplane/tcp/tcp.h"
#include "dataplane/tls/tls.h"
#include "dataplane/wlog.h"

static uint64_t now(const struct relay_conn *c)
{
	return *c->r->now;
}

/* ---- output: engine → (TLS) → TCP -------------------------------------- */

static void drain_cipher(struct relay_conn *c)
{
	uint8_t tmp[4096];

	while (tls_pending_cipher(c->tls) > 0) {
		size_t room = tcp_send_space(c->tcp), n;

		if (room == 0)
			return;
		n = tls_drain_cipher(c->tls, tmp, room < sizeof(tmp) ? room : sizeof(tmp));
		if (n == 0 || tcp_send(c->tcp, tmp, n) != n)
			return;  /* room was checked: a short send does not happen */
	}
}

/* Move the engine's output on until it is empty or TCP / TLS is full. */
static void pump(struct relay_conn *c)
{
	const uint8_t *p;
	size_t len, put, moved = 0;

	if (c->tcp == NULL || !c->engine)
		return;
	if (c->tls != NULL)
		drain_cipher(c);
	while (!c->handshaking && (len = smtp_client_output(c->smtp, &p)) > 0) {
		if (c->tls != NULL) {
			if (tls_pending_cipher(c->tls) > 0)
				break;
			tls_write_plain(c->tls, p, len, &put);
			drain_cipher(c);
		} else {
			put = tcp_send(c->tcp, p, len);
		}
		if (put == 0)
			break;
		smtp_client_consume(c->smtp, put, now(c));
		moved += put;
	}
	if (c->rx_blocked && moved > 0) {
		c->rx_blocked = false;
		tcp_recv_resume(c->tcp);
	}
}

/* ---- input: TCP → (TLS) → engine --------------------------------------- */

static void handshake(struct relay_conn *c)
{
	enum tls_result rc = tls_handshake(c->tls);

	drain_cipher(c);
	if (rc == TLS_WANT_READ)
		return;
	c->handshaking = false;
	if (rc == TLS_OK) {
		RELAY_COUNT(c->r, c->host, tls_ok);
	} else {
		char why[160];

		RELAY_COUNT(c->r, c->host, tls_failed);
		tls_conn_error(c->tls, why, sizeof(why));
		wlog(c->r->log, "relay: %s: TLS: %s %s", c->r->sh->conf->hosts[c->host].host,
		     tls_result_name(rc), why);
	}
	smtp_client_tls_done(c->smtp, rc == TLS_OK, now(c));
}

/* Decrypted bytes into the engine; false when it stopped taking them. */
static bool feed_plain(struct relay_conn *c)
{
	for (;;) {
		size_t got, n;
		enum tls_result rc;

		if (c->plain_len > 0) {
			n = smtp_client_feed(c->smtp, c->plain, c->plain_len, now(c));
			memmove(c->plain, c->plain + n, c->plain_len - n);
			c->plain_len -= n;
			if (c->plain_len > 0 || c->handshaking)
				return false;
		}
		if (c->tls == NULL || !tls_handshake_done(c->tls))
			return true;
		rc = tls_read_plain(c->tls, c->plain, sizeof(c->plain), &got);
		if (rc != TLS_OK)
			return true;
		c->plain_len = got;
	}
}

static size_t on_recv(struct tcp_conn *t, void *arg, const uint8_t *data, size_t len)
{
	struct relay_conn *c = arg;
	size_t taken;

	(void)t;
	c->dirty = true;
	if (!c->engine)
		return len;
	if (c->tls == NULL) {
		taken = smtp_client_feed(c->smtp, data, len, now(c));
	} else {
		if (tls_feed_cipher(c->tls, data, len, &taken) != TLS_OK)
			taken = len;
		if (c->handshaking)
			handshake(c);
		feed_plain(c);
	}
	if (taken < len)
		c->rx_blocked = true;
	pump(c);
	return taken;
}

/* ---- the engine's callbacks -------------------------------------------- */

static void on_body_read_done(void *arg, int err)
{
	struct relay_conn *c = arg;

	c->dirty = true;
	c->reading = false;
	if (err < 0)
		c->buf_len = 0;
	if (c->engine && c->msg != NULL)
		smtp_client_resume(c->smtp, now(c));
	pump(c);
}

static long body_read(void *arg, uint64_t off, const uint8_t **data)
{
	struct relay_conn *c = arg;
	uint64_t size = spool_msg_size(c->msg->sm);
	size_t want;
	long rc;

	if (off >= size)
		return 0;
	if (off >= c->buf_off && off < c->buf_off + c->buf_len && !c->reading) {
		*data = c->buf + (off - c->buf_off);
		return (long)(c->buf_off + c->buf_len - off);
	}
	if (c->reading)
		return -EAGAIN;
	want = size - off < sizeof(c->buf) ? (size_t)(size - off) : sizeof(c->buf);
	c->buf_off = off;
	c->buf_len = want;
	rc = spool_msg_read(c->msg->sm, off, c->buf, want, on_body_read_done, c);
	if (rc == (long)want) {
		*data = c->buf;
		return rc;
	}
	if (rc == 0) {
		c->reading = true;
		return -EAGAIN;
	}
	c->buf_len = 0;
	if (rc == -EAGAIN)
		c->read_again = c->dirty = true;
	return rc;
}

static void tls_start(void *arg)
{
	struct relay_conn *c = arg;
	struct tls_ctx *ctx = c->r->sh->tls[c->host];

	pump(c);
	if (ctx == NULL ||
	    tls_conn_new(ctx, c->r->sh->conf->hosts[c->host].host, &c->tls) < 0) {
		c->tls = NULL;
		smtp_client_tls_done(c->smtp, false, now(c));
		return;
	}
	c->handshaking = true;
	handshake(c);
}

static void rcpt_result(void *arg, unsigned idx, const struct smtp_client_result *res)
{
	relay_rcpt_result(arg, idx, res);
}

static void msg_done(void *arg)
{
	relay_msg_done(arg);
}

static const struct smtp_client_ops engine_ops = {
	.body_read = body_read, .tls_start = tls_start,
	.rcpt_result = rcpt_result, .msg_done = msg_done,
};

/* ---- TCP events --------------------------------------------------------- */

static void start_engine(struct relay_conn *c)
{
	const struct relay_shared *sh = c->r->sh;
	const struct conf_relay_host *h = &sh->conf->hosts[c->host];
	uint32_t to = sh->conf->timeout_s;
	struct smtp_client_conf cc;

	smtp_client_conf_default(&cc);
	snprintf(cc.helo_name, sizeof(cc.helo_name), "%s", sh->helo);
	snprintf(cc.peer_name, sizeof(cc.peer_name), "%s", h->host);
	cc.tls = (enum smtp_tls_policy)h->tls;
	if (sh->auth[c->host].user[0] != '\0') {
		cc.auth = true;
		strcpy(cc.auth_user, sh->auth[c->host].user);
		strcpy(cc.auth_pass, sh->auth[c->host].pass);
	}
	if (to != 0)
		cc.to = (struct smtp_client_timeouts){
			.initial = to * 1000000ull, .mail = to * 1000000ull,
			.rcpt = to * 1000000ull, .data_init = to * 1000000ull,
			.data_block = to * 1000000ull, .data_term = to * 1000000ull};
	c->smtp = smtp_client_init(c->smtp_mem, &cc, &engine_ops, c, now(c));
	c->engine = true;
	c->st = RC_OPEN;
	c->idle_since = now(c);
	if (c->msg != NULL)
		relay_conn_send(c);
}

static void on_event(struct tcp_conn *t, void *arg, enum tcp_event ev, int err)
{
	struct relay_conn *c = arg;

	(void)t;
	c->dirty = true;
	switch (ev) {
	case TCP_EV_CONNECTED:
		start_engine(c);
		break;
	case TCP_EV_WRITABLE:
		pump(c);
		break;
	case TCP_EV_PEER_CLOSED:
		c->peer_closed = true;
		if (c->engine && smtp_client_state(c->smtp) != SMTP_CLIENT_CLOSED)
			smtp_client_abort(c->smtp, "connection closed by the smart host");
		break;
	case TCP_EV_CLOSED:
		c->tcp = NULL;
		if (c->engine && smtp_client_state(c->smtp) != SMTP_CLIENT_CLOSED)
			smtp_client_abort(c->smtp, err == -ECONNRESET ? "connection reset" :
					  err == -ETIMEDOUT ? "connection timed out" :
					  "connection lost");
		if (c->msg != NULL)
			relay_conn_lost(c, err == -ECONNREFUSED ? "4.4.1 connection refused" :
					err == -ETIMEDOUT ? "4.4.1 connection timed out" :
					"4.4.2 connection lost");
		relay_conn_reset(c);
		break;
	}
}

static const struct tcp_ops conn_ops = {.recv = on_recv, .event = on_event};

/* ---- life cycle ---------------------------------------------------------- */

int relay_conn_open(struct relay *r, struct relay_conn *c, unsigned host)
{
	const struct conf_relay_host *h = &r->sh->conf->hosts[host];
	unsigned iface;
	uint32_t addr, nexthop;
	int err = relay_addrs_get(r->sh, host, (unsigned)r->stats.conns, &addr);

	if (err < 0) {
		STATS_ADD(r->stats.unresolved, 1);
		return err;
	}
	err = route_lookup(r->net, addr, &iface, &nexthop);
	if (err < 0)
		return err;
	c->r = r;
	c->host = host;
	c->addr = addr;
	c->st = RC_CONNECTING;
	c->tcp = tcp_connect(r->tcp, r->net->iface[iface].addr, addr, h->port,
			     &conn_ops, c, &err);
	if (c->tcp == NULL) {
		c->st = RC_FREE;
		return err;
	}
	RELAY_COUNT(r, host, conns);
	return 0;
}

int relay_conn_send(struct relay_conn *c)
{
	struct relay_msg *m = c->msg;
	const struct relay_env *e = m->env;
	int rc;

	c->msgs++;
	c->dirty = true;
	RELAY_COUNT(c->r, c->host, attempts);
	c->buf_len = 0;
	c->read_again = false;
	m->cm = (struct smtp_client_msg){
		.from = e->sender, .rcpt = m->list, .nrcpt = m->n,
		.size = spool_msg_size(m->sm), .body_8bit = e->body_8bit,
		.smtputf8 = e->smtputf8, .ret = e->ret, .envid = e->envid,
	};
	rc = smtp_client_send(c->smtp, &m->cm, now(c));
	pump(c);
	return rc;
}

/* After the engine closed: our FIN once its output is out and the peer's
 * FIN came (the 221 was read), or the linger time ran out. */
static void finish(struct relay_conn *c, uint64_t t)
{
	const uint8_t *p;

	if (c->st != RC_CLOSING) {
		c->st = RC_CLOSING;
		c->close_by = t + RELAY_LINGER_US;
	}
	if (c->fin_sent || smtp_client_output(c->smtp, &p) > 0 ||
	    (!c->peer_closed && t < c->close_by))
		return;
	if (c->tls != NULL && tls_handshake_done(c->tls) && tls_close(c->tls) == TLS_OK)
		drain_cipher(c);
	c->fin_sent = true;
	tcp_close(c->tcp);
}

void relay_conn_poll(struct relay_conn *c)
{
	uint64_t t = now(c);

	if (c->tcp == NULL || !c->engine || (!c->dirty && t < c->wake))
		return;
	/* Every event marks the connection; timers without one (the engine's
	 * deadlines, idle QUIT, the linger) are seen at the next wake-up. */
	c->dirty = false;
	c->wake = t + RELAY_POLL_US;
	if (smtp_client_deadline(c->smtp) < c->wake)
		c->wake = smtp_client_deadline(c->smtp);
	if (c->read_again && !c->reading) {
		c->read_again = false;
		smtp_client_resume(c->smtp, t);
	}
	if (c->tls != NULL && c->plain_len > 0 && !c->handshaking)
		feed_plain(c);
	if (smtp_client_deadline(c->smtp) <= t)
		smtp_client_tick(c->smtp, t);
	if (c->tcp == NULL)
		return;
	pump(c);
	if (smtp_client_state(c->smtp) == SMTP_CLIENT_IDLE && c->msg == NULL &&
	    (t - c->idle_since >= RELAY_IDLE_US || c->r->draining))
		smtp_client_quit(c->smtp, t);
	if (smtp_client_state(c->smtp) == SMTP_CLIENT_CLOSED)
		finish(c, t);
}

/* The engine's reply counts go into the worker's when it ends. */
static void count_replies(struct relay_conn *c)
{
	const uint32_t *n = smtp_client_replies(c->smtp);
	struct relay_stats *s = &c->r->stats;

	STATS_ADD(s->replies_2xx, n[2]);
	STATS_ADD(s->replies_3xx, n[3]);
	STATS_ADD(s->replies_4xx, n[4]);
	STATS_ADD(s->replies_5xx, n[5]);
}

void relay_conn_reset(struct relay_conn *c)
{
	if (c->engine)
		count_replies(c);
	if (c->tcp != NULL)
		tcp_abort(c->tcp);
	if (c->tls != NULL)
		tls_conn_free(c->tls);
	c->tcp = NULL;
	c->tls = NULL;
	if (c->st != RC_FREE && c->r != NULL)
		c->r->kick = true;
	c->st = RC_FREE;
	c->engine = false;
	c->handshaking = c->peer_closed = c->rx_blocked = c->fin_sent = false;
	c->read_again = false;      /* a read in flight keeps the slot (reading) */
	c->msg = NULL;
	c->msgs = 0;
	c->plain_len = 0;
	c->buf_len = 0;
}
