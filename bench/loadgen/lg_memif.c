/*
 * lg_memif: the memif transport of sluice-bench — the sessions' connections
 * on the project's own TCP over DPDK memif (lg_host), so the gateway is
 * driven without the kernel in between; with a second port the same poll
 * loop is also the smart-host sink (lg_msink).
 *
 * TCP's callbacks become events on a queue that wait() hands out.  A
 * connection's received data collects in its buffer until the event that
 * carries it has been handed out and the next wait() begins; what does not
 * fit stays in TCP (its window closes) and is offered again then.  A send
 * is complete once TCP's send buffer holds all of it.  The poll loop spins
 * on a core of its own, or sleeps a little after an empty round when the
 * core is shared (--idle-sleep): on a small machine a spinning poller
 * starves the kernel's I/O workers that complete the gateway's spool
 * writes.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_cycles.h>

#include "bench/loadgen/lg_memif.h"
#include "bench/loadgen/lg_msink.h"
#include "dataplane/tcp/tcp.h"

#define RECV_BUF 16384
#define IOV_MAX_SEND 4
#define PROBE_US 60000000

struct qev {
	unsigned conn;
	uint32_t gen;
	enum lg_tev_kind kind;
	int err;
	size_t len;
};

struct mconn {
	struct memif_transport *mt;
	unsigned idx;
	struct tcp_conn *tc;       /* NULL: closed, or TCP is done with it */
	uint32_t gen;              /* bumped by close(): older events are stale */
	bool recv_queued;          /* a RECV event for rbuf is queued or out */
	bool blocked;              /* TCP holds data that did not fit */
	bool eof;                  /* EOF queued */
	unsigned iovcnt, iovi;     /* the send in progress */
	size_t sent;
	struct iovec iov[IOV_MAX_SEND];
	size_t rlen;
	uint8_t rbuf[RECV_BUF];
};

struct memif_transport {
	struct lg_transport t;
	struct lg_host *h;
	struct lg_msink *sink;
	uint32_t laddr;
	unsigned idle_sleep_us;
	unsigned max;
	struct mconn *c;
	struct qev *q;             /* ring of QCAP */
	unsigned qcap, qhead, qtail;
	unsigned *out;             /* connections whose rbuf went out last wait() */
	unsigned nout;
};

static struct memif_transport *mt_of(struct lg_transport *t)
{
	return (struct memif_transport *)t;
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* At most a handful of events per connection are ever queued (the ring
 * holds eight each), so the ring cannot overflow. */
static void push(struct mconn *c, enum lg_tev_kind kind, int err, size_t len)
{
	struct memif_transport *mt = c->mt;

	mt->q[mt->qtail++ & (mt->qcap - 1)] = (struct qev){
		.conn = c->idx, .gen = c->gen, .kind = kind, .err = err, .len = len};
}

static void send_more(struct mconn *c)
{
	while (c->iovi < c->iovcnt) {
		struct iovec *v = &c->iov[c->iovi];
		size_t n = tcp_send(c->tc, v->iov_base, v->iov_len);

		c->sent += n;
		v->iov_base = (uint8_t *)v->iov_base + n;
		v->iov_len -= n;
		if (v->iov_len != 0)
			return;        /* TCP_EV_WRITABLE goes on */
		c->iovi++;
	}
	if (c->iovcnt != 0)
		push(c, LG_TEV_SENT, 0, c->sent);
	c->iovcnt = c->iovi = 0;
}

static size_t c_recv(struct tcp_conn *tc, void *arg, const uint8_t *data, size_t len)
{
	struct mconn *c = arg;
	size_t n = RECV_BUF - c->rlen;

	if (c->tc != tc)
		return len;            /* closed: discard */
	n = len < n ? len : n;
	memcpy(c->rbuf + c->rlen, data, n);
	c->rlen += n;
	c->blocked = n < len;
	if (n != 0 && !c->recv_queued) {
		c->recv_queued = true;
		push(c, LG_TEV_RECV, 0, 0);
	}
	return n;
}

static void c_event(struct tcp_conn *tc, void *arg, enum tcp_event ev, int err)
{
	struct mconn *c = arg;

	if (c->tc != tc)
		return;
	switch (ev) {
	case TCP_EV_CONNECTED:
		push(c, LG_TEV_OPEN, 0, 0);
		break;
	case TCP_EV_WRITABLE:
		send_more(c);
		break;
	case TCP_EV_PEER_CLOSED:
		c->eof = true;
		push(c, LG_TEV_EOF, 0, 0);
		break;
	case TCP_EV_CLOSED:
		c->tc = NULL;
		if (err != 0)
			push(c, LG_TEV_ERROR, err, 0);
		else if (!c->eof)
			push(c, LG_TEV_EOF, 0, 0);
		break;
	}
}

static const struct tcp_ops conn_ops = {.recv = c_recv, .event = c_event};

static void reset(struct mconn *c)
{
	c->tc = NULL;
	c->gen++;
	c->recv_queued = c->blocked = c->eof = false;
	c->iovcnt = c->iovi = 0;
	c->rlen = 0;
}

static int m_open(struct lg_transport *t, unsigned conn, const struct sockaddr_in *dst)
{
	struct memif_transport *mt = mt_of(t);
	struct mconn *c = &mt->c[conn];
	struct tcp_conn *tc;
	int err = 0;

	reset(c);
	tc = tcp_connect(lg_host_tcp(mt->h), mt->laddr, ntohl(dst->sin_addr.s_addr),
			 ntohs(dst->sin_port), &conn_ops, c, &err);
	if (tc == NULL)
		return err < 0 ? err : -EIO;
	c->tc = tc;
	return 0;
}

static int m_send(struct lg_transport *t, unsigned conn, const struct iovec *iov,
		  unsigned iovcnt)
{
	struct mconn *c = &mt_of(t)->c[conn];

	if (iovcnt > IOV_MAX_SEND || c->iovcnt != 0)
		return -EINVAL;
	if (c->tc == NULL)
		return 0;              /* its LG_TEV_ERROR or EOF is on the way */
	memcpy(c->iov, iov, iovcnt * sizeof(*iov));
	c->iovcnt = iovcnt;
	c->iovi = 0;
	c->sent = 0;
	send_more(c);
	return 0;
}

static void m_close(struct lg_transport *t, unsigned conn)
{
	struct mconn *c = &mt_of(t)->c[conn];

	if (c->tc != NULL)
		tcp_close(c->tc);
	reset(c);
}

/* The buffers handed out by the last wait() are free again; what TCP
 * held back is offered now. */
static void release(struct memif_transport *mt)
{
	for (unsigned i = 0; i < mt->nout; i++) {
		struct mconn *c = &mt->c[mt->out[i]];

		c->rlen = 0;
		c->recv_queued = false;
		if (c->blocked && c->tc != NULL) {
			c->blocked = false;
			tcp_recv_resume(c->tc);
		}
	}
	mt->nout = 0;
}

static int m_wait(struct lg_transport *t, struct lg_tev *ev, unsigned max,
		  uint64_t timeout_us)
{
	struct memif_transport *mt = mt_of(t);
	uint64_t now = now_us(), end = now + timeout_us;
	unsigned n = 0;

	release(mt);
	do {
		unsigned got = lg_host_poll(mt->h, now);

		if (mt->sink != NULL)
			lg_msink_poll(mt->sink, now);
		if (mt->qhead != mt->qtail)
			break;
		if (got == 0 && mt->idle_sleep_us != 0 && end - now > mt->idle_sleep_us)
			rte_delay_us_sleep(mt->idle_sleep_us);
		now = now_us();
	} while (now < end);
	while (n < max && mt->qhead != mt->qtail) {
		struct qev *q = &mt->q[mt->qhead++ & (mt->qcap - 1)];
		struct mconn *c = &mt->c[q->conn];

		if (q->gen != c->gen)
			continue;
		ev[n] = (struct lg_tev){.conn = q->conn, .kind = q->kind, .err = q->err,
					.len = q->len};
		if (q->kind == LG_TEV_RECV) {
			ev[n].data = c->rbuf;
			ev[n].len = c->rlen;
			mt->out[mt->nout++] = q->conn;
		}
		n++;
	}
	return (int)n;
}

static void m_destroy(struct lg_transport *t)
{
	struct memif_transport *mt = mt_of(t);

	for (unsigned i = 0; mt->c != NULL && i < mt->max; i++)
		if (mt->c[i].tc != NULL)
			tcp_abort(mt->c[i].tc);
	lg_msink_free(mt->sink);
	lg_host_free(mt->h);
	free(mt->q);
	free(mt->out);
	free(mt->c);
	free(mt);
}

static const struct lg_transport_ops memif_ops = {
	.name = "memif",
	.open = m_open,
	.send = m_send,
	.close = m_close,
	.wait = m_wait,
	.destroy = m_destroy,
};

/* tcp_ops of the probe: its state in *arg (0 pending, 1 up, -1 failed) */
static size_t probe_recv(struct tcp_conn *tc, void *arg, const uint8_t *d, size_t len)
{
	(void)tc;
	(void)arg;
	(void)d;
	return len;
}

static void probe_event(struct tcp_conn *tc, void *arg, enum tcp_event ev, int err)
{
	(void)tc;
	(void)err;
	if (ev == TCP_EV_CONNECTED)
		*(int *)arg = 1;
	else if (ev == TCP_EV_CLOSED && *(int *)arg == 0)
		*(int *)arg = -1;
}

static const struct tcp_ops probe_ops = {.recv = probe_recv, .event = probe_event};

/* The gateway's link comes up before its workers poll: wait (at most
 * PROBE_US) until a connection to the server opens, so that the run
 * starts with the gateway serving. */
static int probe(struct memif_transport *mt, const struct sockaddr_in *dst)
{
	uint64_t now = now_us(), end = now + PROBE_US;
	struct tcp_conn *tc = NULL;
	int state = -1, err = 0;

	while (state != 1 && now < end) {
		if (state == -1) {
			state = 0;
			tc = tcp_connect(lg_host_tcp(mt->h), mt->laddr,
					 ntohl(dst->sin_addr.s_addr), ntohs(dst->sin_port),
					 &probe_ops, &state, &err);
			if (tc == NULL)
				return err < 0 ? err : -EIO;
		}
		lg_host_poll(mt->h, now);
		now = now_us();
	}
	if (state != 1) {
		if (state == 0)
			tcp_abort(tc);
		return -ETIMEDOUT;
	}
	tcp_abort(tc);
	return 0;
}

int lg_memif_new(const struct lg_memif_conf *mc, unsigned max,
		 struct lg_transport **out, char *err, size_t errlen)
{
	struct memif_transport *mt = calloc(1, sizeof(*mt));
	unsigned nports = mc->sink.socket != NULL ? 2 : 1;
	/* the sink's connections from the gateway come on top of ours */
	unsigned conns = max + (nports == 2 ? max + 256 : 0) + 16;
	int rc;

	if (mt == NULL)
		return -ENOMEM;
	mt->t.ops = &memif_ops;
	mt->max = max;
	mt->laddr = mc->client.addr;
	mt->idle_sleep_us = mc->idle_sleep_us;
	for (mt->qcap = 64; mt->qcap < 8 * max; mt->qcap *= 2)
		;
	mt->c = calloc(max, sizeof(*mt->c));
	mt->q = calloc(mt->qcap, sizeof(*mt->q));
	mt->out = calloc(max, sizeof(*mt->out));
	if (mt->c == NULL || mt->q == NULL || mt->out == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	for (unsigned i = 0; i < max; i++) {
		mt->c[i].mt = mt;
		mt->c[i].idx = i;
	}
	const struct lg_host_port ports[2] = {mc->client, mc->sink};

	if ((rc = lg_host_new(ports, nports, mc->lcore, conns, now_us(), &mt->h, err,
			      errlen)) < 0)
		goto fail;
	if ((rc = probe(mt, &mc->server)) < 0) {
		snprintf(err, errlen, "no answer from the server within %u s: %s",
			 PROBE_US / 1000000, strerror(-rc));
		goto fail;
	}
	if (nports == 2 &&
	    (rc = lg_msink_new(lg_host_tcp(mt->h), mc->sink.addr, mc->sink_port,
			       &mt->sink)) < 0) {
		snprintf(err, errlen, "sink listener: %s", strerror(-rc));
		goto fail;
	}
	*out = &mt->t;
	return 0;
fail:
	m_destroy(&mt->t);
	return rc;
}

const struct sink_stats *lg_memif_sink(struct lg_transport *t, uint64_t *last_us)
{
	struct memif_transport *mt = mt_of(t);

	if (t->ops != &memif_ops || mt->sink == NULL)
		return NULL;
	*last_us = lg_msink_last_us(mt->sink);
	return lg_msink_stats(mt->sink);
}
