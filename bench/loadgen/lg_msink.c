/*
 * lg_msink: sink sessions on the host's TCP — see lg_msink.h.  Each
 * connection is a sink_sess; its output goes to tcp_send() as far as the
 * send buffer takes it (the rest on TCP_EV_WRITABLE), its input comes from
 * the receive callback (what the session cannot take yet stays in TCP and
 * is offered again at the next poll).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench/loadgen/lg_msink.h"
#include "dataplane/tcp/tcp.h"

#define OUT_BUF 4096
#define POLL_US 1000

struct msess {
	struct msess *next, **pprev;
	struct lg_msink *k;
	struct tcp_conn *tc;
	bool blocked;              /* TCP holds input the session did not take */
	bool closing;              /* tcp_close() called */
	bool dirty;                /* TCP had news: poll it next round */
	uint64_t wake;             /* ... else not before then */
	size_t olen, ooff;
	uint8_t out[OUT_BUF];
	struct sink_sess ss;
};

struct lg_msink {
	struct sink sink;
	struct tcp_stack *tcp;
	uint32_t addr;
	uint16_t port;
	struct msess *list;
	uint64_t now;
	uint64_t seen_msgs, last_us;
};

/* Session output into TCP while it has room; the FIN once it is done. */
static void pump(struct msess *s)
{
	for (;;) {
		size_t n;

		if (s->ooff == s->olen) {
			s->ooff = 0;
			s->olen = sink_sess_output(&s->ss, s->out, sizeof(s->out), s->k->now);
			if (s->olen == 0)
				break;
		}
		n = tcp_send(s->tc, s->out + s->ooff, s->olen - s->ooff);
		s->ooff += n;
		if (s->ooff < s->olen)
			return;
	}
	if (sink_sess_done(&s->ss) && !s->closing) {
		s->closing = true;
		tcp_close(s->tc);
	}
}

static size_t s_recv(struct tcp_conn *tc, void *arg, const uint8_t *data, size_t len)
{
	struct msess *s = arg;
	size_t taken;

	(void)tc;
	if (s->closing)
		return len;
	s->dirty = true;
	taken = sink_sess_input(&s->ss, data, len, s->k->now);
	s->blocked = taken < len;
	pump(s);
	return taken;
}

static void s_event(struct tcp_conn *tc, void *arg, enum tcp_event ev, int err)
{
	struct msess *s = arg;

	(void)tc;
	(void)err;
	s->dirty = true;
	switch (ev) {
	case TCP_EV_WRITABLE:
		if (!s->closing)
			pump(s);
		break;
	case TCP_EV_PEER_CLOSED:
		if (!s->closing) {
			s->closing = true;
			tcp_close(s->tc);
		}
		break;
	case TCP_EV_CLOSED:
		*s->pprev = s->next;
		if (s->next != NULL)
			s->next->pprev = s->pprev;
		sink_sess_fini(&s->ss);
		free(s);
		break;
	case TCP_EV_CONNECTED:
		break;
	}
}

static const struct tcp_ops sess_ops = {.recv = s_recv, .event = s_event};

static int s_accept(void *arg, struct tcp_conn *tc, const struct tcp_ops **ops,
		    void **sarg)
{
	struct lg_msink *k = arg;
	struct msess *s = malloc(sizeof(*s));
	uint32_t la, ra;
	uint16_t lp, rp;
	char name[32];

	if (s == NULL)
		return -ENOMEM;
	tcp_conn_addrs(tc, &la, &lp, &ra, &rp);
	snprintf(name, sizeof(name), "%u.%u.%u.%u:%u", ra >> 24, (ra >> 16) & 0xff,
		 (ra >> 8) & 0xff, ra & 0xff, rp);
	if (sink_sess_init(&s->ss, &k->sink, name, k->now) < 0) {
		free(s);
		return -ENOMEM;
	}
	s->k = k;
	s->tc = tc;
	s->blocked = s->closing = false;
	s->dirty = true;                  /* the greeting */
	s->olen = s->ooff = 0;
	s->next = k->list;
	s->pprev = &k->list;
	if (k->list != NULL)
		k->list->pprev = &s->next;
	k->list = s;
	*ops = &sess_ops;
	*sarg = s;
	return 0;
}

int lg_msink_new(struct tcp_stack *tcp, uint32_t addr, uint16_t port,
		 struct lg_msink **out)
{
	struct lg_msink *k = calloc(1, sizeof(*k));
	int rc;

	if (k == NULL)
		return -ENOMEM;
	smtp_server_conf_default(&k->sink.server);
	snprintf(k->sink.server.hostname, sizeof(k->sink.server.hostname), "sink.test");
	k->tcp = tcp;
	k->addr = addr;
	k->port = port;
	if ((rc = tcp_listen(tcp, addr, port, s_accept, k)) < 0) {
		free(k);
		return rc;
	}
	*out = k;
	return 0;
}

void lg_msink_free(struct lg_msink *k)
{
	if (k == NULL)
		return;
	tcp_unlisten(k->tcp, k->addr, k->port);
	while (k->list != NULL) {
		struct msess *s = k->list;

		k->list = s->next;
		tcp_abort(s->tc);
		sink_sess_fini(&s->ss);
		free(s);
	}
	free(k);
}

void lg_msink_poll(struct lg_msink *k, uint64_t now)
{
	k->now = now;
	for (struct msess *s = k->list, *next; s != NULL; s = next) {
		next = s->next;
		if (s->closing || (!s->dirty && now < s->wake))
			continue;
		/* sessions are polled on news from TCP, else every POLL_US
		 * and at their deadline (reply delay, SMTP timeouts) */
		s->dirty = false;
		s->wake = now + POLL_US;
		if (sink_sess_deadline(&s->ss) <= now)
			sink_sess_tick(&s->ss, now);
		if (s->blocked) {
			s->blocked = false;
			tcp_recv_resume(s->tc);   /* may close and free s */
			continue;
		}
		pump(s);
		if (sink_sess_deadline(&s->ss) < s->wake)
			s->wake = sink_sess_deadline(&s->ss);
	}
	if (k->sink.st.msgs != k->seen_msgs) {
		k->seen_msgs = k->sink.st.msgs;
		k->last_us = now;
	}
}

const struct sink_stats *lg_msink_stats(const struct lg_msink *k)
{
	return &k->sink.st;
}

uint64_t lg_msink_last_us(const struct lg_msink *k)
{
	return k->last_us;
}
