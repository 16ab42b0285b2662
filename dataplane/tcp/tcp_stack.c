/*
 * tcp_stack: the per-worker TCP stack object — creation, the flow table,
 * connection blocks, listeners, active opens with port selection, the
 * per-connection timer multiplexing and the poll round.  See tcp.h.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_hash_crc.h>
#include <rte_malloc.h>

#include "dataplane/tcp/tcp_impl.h"

#define TCP_WHEEL_TICK_US 1000

void tcp_stack_conf_default(struct tcp_stack_conf *c)
{
	*c = (struct tcp_stack_conf)TCP_STACK_CONF_DEFAULT;
}

static size_t conn_size(const struct tcp_stack_conf *c)
{
	return sizeof(struct tcp_conn) + c->sndbuf + c->rcvbuf;
}

struct tcp_stack *tcp_stack_create(const struct tcp_stack_conf *conf,
				   const char *name, int socket,
				   struct rte_mempool *pool,
				   tcp_output_fn out, void *out_arg, uint64_t now)
{
	char n[RTE_MEMPOOL_NAMESIZE];
	struct tcp_stack *s = rte_zmalloc_socket("tcp_stack", sizeof(*s),
						 RTE_CACHE_LINE_SIZE, socket);

	if (s == NULL)
		return NULL;
	s->conf = *conf;
	s->pool = pool;
	s->out = out;
	s->out_arg = out_arg;
	s->now = now;
	s->next_port = conf->port_lo;
	TAILQ_INIT(&s->out_list);
	tcp_wheel_init(&s->wheel, TCP_WHEEL_TICK_US, now);
	snprintf(n, sizeof(n), "%s_c", name);
	s->conns = rte_mempool_create(n, conf->max_conns, conn_size(conf), 0, 0,
				      NULL, NULL, NULL, NULL, socket,
				      RTE_MEMPOOL_F_SP_PUT | RTE_MEMPOOL_F_SC_GET);
	snprintf(n, sizeof(n), "%s_f", name);
	struct rte_hash_parameters hp = {
		.name = n,
		.entries = RTE_MAX(conf->max_conns + conf->time_wait_max, 64u),
		.key_len = sizeof(struct tcp_key),
		.hash_func = rte_hash_crc,
		.socket_id = socket,
	};
	s->flows = rte_hash_create(&hp);
	s->tw = rte_zmalloc_socket("tcp_tw", sizeof(*s->tw) * RTE_MAX(conf->time_wait_max, 1u),
				   RTE_CACHE_LINE_SIZE, socket);
	if (s->conns == NULL || s->flows == NULL || s->tw == NULL ||
	    tcp_isn_key_init(&s->isn_key) < 0) {
		tcp_stack_destroy(s);
		return NULL;
	}
	return s;
}

int tcp_stack_set_secret(struct tcp_stack *s, const uint8_t *k)
{
	tcp_isn_key_free(&s->isn_key);
	return tcp_isn_key_set(&s->isn_key, k);
}

void tcp_stack_destroy(struct tcp_stack *s)
{
	const void *key;
	void *data;
	uint32_t iter = 0;

	if (s == NULL)
		return;
	if (s->flows != NULL) {
		while (rte_hash_iterate(s->flows, &key, &data, &iter) >= 0)
			if (((uintptr_t)data & 1) == 0)
				rte_mempool_put(s->conns, data);
		rte_hash_free(s->flows);
	}
	rte_mempool_free(s->conns);
	rte_free(s->tw);
	tcp_isn_key_free(&s->isn_key);
	rte_free(s);
}

void tcp_stack_set_port_ok(struct tcp_stack *s, tcp_port_ok_fn fn, void *arg)
{
	s->port_ok = fn;
	s->port_ok_arg = arg;
}

void tcp_stack_set_isn(struct tcp_stack *s, tcp_isn_fn fn, void *arg)
{
	s->isn_fn = fn;
	s->isn_arg = arg;
}

uint32_t tcp_new_isn(struct tcp_stack *s, const struct tcp_key *k)
{
	if (s->isn_fn != NULL)
		return s->isn_fn(s->isn_arg, k->laddr, k->lport, k->raddr, k->rport);
	return tcp_isn(&s->isn_key, k->laddr, k->lport, k->raddr, k->rport, s->now);
}

const struct tcp_stats *tcp_stack_stats(const struct tcp_stack *s)
{
	return &s->stats;
}

uint32_t tcp_ts_now(const struct tcp_stack *s)
{
	return (uint32_t)(s->now >> TCP_TS_HZ_SHIFT);
}

/* --- connection blocks ----------------------------------------------------- */

struct tcp_conn *tcp_conn_alloc(struct tcp_stack *s, const struct tcp_key *k)
{
	struct tcp_conn *c;

	if (rte_mempool_get(s->conns, (void **)&c) < 0) {
		TCP_STAT(s, drop_conn_full, 1);
		return NULL;
	}
	memset(c, 0, sizeof(*c));
	if (rte_hash_add_key_data(s->flows, k, c) < 0) {
		rte_mempool_put(s->conns, c);
		TCP_STAT(s, drop_conn_full, 1);
		return NULL;
	}
	c->key = *k;
	c->stack = s;
	tcp_ring_init(&c->snd, c->mem, s->conf.sndbuf);
	tcp_rcvbuf_init(&c->rcv, c->mem + s->conf.sndbuf, s->conf.rcvbuf);
	for (int i = 0; i < TMR_N; i++)
		c->deadline[i] = UINT64_MAX;
	c->last_rx = s->now;
	STATS_ADD(s->stats.conns, 1);
	STATS_ADD(s->stats.mem_bytes, conn_size(&s->conf));
	return c;
}

/* Free the block.  Called only when no callback of this connection is on
 * the stack (see tcp_conn_destroy). */
void tcp_conn_free(struct tcp_conn *c)
{
	struct tcp_stack *s = c->stack;

	if (c->state != TCP_TIME_WAIT)   /* TIME_WAIT took over the key */
		rte_hash_del_key(s->flows, &c->key);
	if (c->listener != NULL && c->state == TCP_SYN_RCVD)
		c->listener->half_open--;
	tcp_timer_cancel(&s->wheel, &c->timer);
	if (c->flags & TF_PENDING)
		TAILQ_REMOVE(&s->out_list, c, pending);
	STATS_SET(s->stats.conns, s->stats.conns - 1);
	STATS_SET(s->stats.mem_bytes, s->stats.mem_bytes - conn_size(&s->conf));
	STATS_ADD(s->stats.closed, 1);
	rte_mempool_put(s->conns, c);
}

void tcp_conn_notify_closed(struct tcp_conn *c, int err)
{
	if (c->flags & TF_DETACHED)
		return;
	c->flags |= TF_DETACHED;
	if (c->ops != NULL && c->ops->event != NULL)
		c->ops->event(c, c->arg, TCP_EV_CLOSED, err);
}

/* Notify the application (once) and free.  The callback may not touch the
 * connection afterwards: the handle is dead by contract. */
void tcp_conn_destroy(struct tcp_conn *c, int err)
{
	tcp_conn_notify_closed(c, err);
	if (c->flags & TF_IN_INPUT)
		c->flags |= TF_DEAD;     /* freed by tcp_conn_leave() */
	else
		tcp_conn_free(c);
}

/* Bracket every entry into a connection's processing: a destroy inside
 * (from the stack or from an application callback) is deferred to here. */
void tcp_conn_enter(struct tcp_conn *c)
{
	c->flags |= TF_IN_INPUT;
}

void tcp_conn_leave(struct tcp_conn *c)
{
	c->flags &= ~TF_IN_INPUT;
	if (c->flags & TF_DEAD)
		tcp_conn_free(c);
}

static const char *const state_name[] = {
	[TCP_CLOSED] = "CLOSED", [TCP_SYN_SENT] = "SYN_SENT",
	[TCP_SYN_RCVD] = "SYN_RCVD", [TCP_ESTABLISHED] = "ESTABLISHED",
	[TCP_FIN_WAIT_1] = "FIN_WAIT_1", [TCP_FIN_WAIT_2] = "FIN_WAIT_2",
	[TCP_CLOSE_WAIT] = "CLOSE_WAIT", [TCP_CLOSING] = "CLOSING",
	[TCP_LAST_ACK] = "LAST_ACK", [TCP_TIME_WAIT] = "TIME_WAIT",
};

const char *tcp_conn_state_name(const struct tcp_conn *c)
{
	return state_name[c->state];
}

void tcp_conn_set_state(struct tcp_conn *c, enum tcp_state st)
{
	if (c->state == TCP_SYN_RCVD && c->listener != NULL)
		c->listener->half_open--;
	if (st == TCP_ESTABLISHED)
		TCP_STAT(c->stack, established, 1);
	c->state = (uint8_t)st;
}

void tcp_conn_addrs(const struct tcp_conn *c, uint32_t *laddr, uint16_t *lport,
		    uint32_t *raddr, uint16_t *rport)
{
	*laddr = c->key.laddr;
	*lport = c->key.lport;
	*raddr = c->key.raddr;
	*rport = c->key.rport;
}

/* --- timers ---------------------------------------------------------------- */

static uint64_t earliest(const struct tcp_conn *c)
{
	uint64_t t = UINT64_MAX;

	for (int i = 0; i < TMR_N; i++)
		t = RTE_MIN(t, c->deadline[i]);
	return t;
}

void tcp_conn_arm(struct tcp_conn *c, enum tcp_tmr t, uint64_t when)
{
	c->deadline[t] = when;
	if (!tcp_timer_armed(&c->timer) || when < c->timer.expires)
		tcp_timer_arm(&c->stack->wheel, &c->timer, when);
}

/* Lazy: the wheel timer stays; when it fires with nothing due it re-arms. */
void tcp_conn_disarm(struct tcp_conn *c, enum tcp_tmr t)
{
	c->deadline[t] = UINT64_MAX;
}

void tcp_conn_rearm(struct tcp_conn *c)
{
	uint64_t t = earliest(c);

	if (t != UINT64_MAX)
		tcp_timer_arm(&c->stack->wheel, &c->timer, t);
}

/* --- output list ------------------------------------------------------------ */

void tcp_conn_mark_output(struct tcp_conn *c)
{
	if (c->flags & TF_PENDING)
		return;
	c->flags |= TF_PENDING;
	TAILQ_INSERT_TAIL(&c->stack->out_list, c, pending);
}

static void flush_pending(struct tcp_stack *s)
{
	struct tcp_conn *c;

	while ((c = TAILQ_FIRST(&s->out_list)) != NULL) {
		TAILQ_REMOVE(&s->out_list, c, pending);
		c->flags &= ~TF_PENDING;
		tcp_conn_enter(c);
		tcp_output(c);
		tcp_conn_leave(c);
	}
}

void tcp_stack_poll(struct tcp_stack *s, uint64_t now)
{
	s->now = now;
	tcp_wheel_advance(&s->wheel, now, tcp_timer_fire, s);
	tcp_tw_expire(s, now);
	flush_pending(s);
}

/* --- listeners ----------------------------------------------------------- */

struct tcp_listener *tcp_listener_find(struct tcp_stack *s, uint32_t addr,
				       uint16_t port)
{
	struct tcp_listener *any = NULL;

	for (int i = 0; i < TCP_MAX_LISTENERS; i++) {
		struct tcp_listener *l = &s->listener[i];

		if (l->port != port || port == 0)
			continue;
		if (l->addr == addr)
			return l;
		if (l->addr == 0)
			any = l;
	}
	return any;
}

int tcp_listen(struct tcp_stack *s, uint32_t addr, uint16_t port,
	       tcp_accept_fn accept, void *arg)
{
	if (port == 0 || accept == NULL)
		return -EINVAL;
	for (int i = 0; i < TCP_MAX_LISTENERS; i++)
		if (s->listener[i].port == port && s->listener[i].addr == addr)
			return -EADDRINUSE;
	for (int i = 0; i < TCP_MAX_LISTENERS; i++) {
		struct tcp_listener *l = &s->listener[i];

		if (l->port == 0) {
			*l = (struct tcp_listener){.addr = addr, .port = port,
						   .accept = accept, .arg = arg};
			return 0;
		}
	}
	return -ENOSPC;
}

int tcp_unlisten(struct tcp_stack *s, uint32_t addr, uint16_t port)
{
	for (int i = 0; i < TCP_MAX_LISTENERS; i++) {
		struct tcp_listener *l = &s->listener[i];

		if (l->port == port && l->addr == addr) {
			l->port = 0;  /* half-open connections finish or time out */
			return 0;
		}
	}
	return -ENOENT;
}

/* --- active open ------------------------------------------------------------ */

static bool port_free(struct tcp_stack *s, const struct tcp_key *k)
{
	return rte_hash_lookup(s->flows, k) < 0 &&
	       (s->port_ok == NULL ||
		s->port_ok(s->port_ok_arg, k->laddr, k->lport, k->raddr, k->rport));
}

static int pick_port(struct tcp_stack *s, struct tcp_key *k)
{
	uint32_t span = (uint32_t)s->conf.port_hi - s->conf.port_lo + 1;

	for (uint32_t i = 0; i < span; i++) {
		k->lport = s->next_port;
		s->next_port = s->next_port == s->conf.port_hi ? s->conf.port_lo
							      : s->next_port + 1;
		if (port_free(s, k))
			return 0;
	}
	TCP_STAT(s, no_port, 1);
	return -EADDRNOTAVAIL;
}

struct tcp_conn *tcp_connect(struct tcp_stack *s, uint32_t laddr,
			     uint32_t raddr, uint16_t rport,
			     const struct tcp_ops *ops, void *arg, int *err)
{
	struct tcp_key k = {.raddr = raddr, .laddr = laddr, .rport = rport};
	struct tcp_conn *c;

	if ((*err = pick_port(s, &k)) < 0)
		return NULL;
	if ((c = tcp_conn_alloc(s, &k)) == NULL) {
		*err = -ENOMEM;
		return NULL;
	}
	c->ops = ops;
	c->arg = arg;
	c->iss = tcp_new_isn(s, &k);
	c->snd_una = c->snd_nxt = c->snd_max = c->recover = c->iss;
	c->snd_base = c->iss + 1;
	c->rcv_wscale = tcp_rcv_wscale_for(s->conf.rcvbuf);
	c->rto_us = s->conf.rto_initial_us;
	c->flags |= TF_ACCEPTED;
	tcp_conn_set_state(c, TCP_SYN_SENT);
	TCP_STAT(s, active_opens, 1);
	tcp_send_syn(c);
	return c;
}

uint8_t tcp_rcv_wscale_for(uint32_t rcvbuf)
{
	uint8_t ws = 0;

	while (ws < TCP_WS_MAX && (rcvbuf >> ws) > 65535)
		ws++;
	return ws;
}
