/*
 * steer: TCP flow ownership among the workers — see steer.h.
 */
#include <rte_ip.h>
#include <rte_tcp.h>
#include <rte_thash.h>

#include "dataplane/steer.h"

void steer_init(struct steer *st, unsigned idx, unsigned nb_workers,
		const struct conf *conf, const struct port_info *ports)
{
	*st = (struct steer){.idx = idx, .nb_workers = nb_workers,
			     .port_lo = conf->tcp.port_lo,
			     .port_hi = conf->tcp.port_hi,
			     .nb_ports = conf->nb_ports};
	for (unsigned i = 0; i < conf->nb_ports; i++) {
		st->addr[i] = conf->ports[i].addr;
		st->port[i] = &ports[i];
	}
}

static unsigned port_owner(const struct steer *st, uint16_t lport)
{
	if (st->nb_workers < 2 || lport < st->port_lo || lport > st->port_hi)
		return st->idx;
	return lport % st->nb_workers;
}

static bool dport_of(const struct rte_mbuf *m, uint16_t *port)
{
	const struct rte_tcp_hdr *th;

	if (rte_pktmbuf_data_len(m) < m->l3_len + sizeof(*th))
		return false;
	th = rte_pktmbuf_mtod_offset(m, const struct rte_tcp_hdr *, m->l3_len);
	*port = rte_be_to_cpu_16(th->dst_port);
	return true;
}

bool steer_is_active(const struct steer *st, const struct rte_mbuf *m)
{
	uint16_t port;

	return dport_of(m, &port) && port >= st->port_lo && port <= st->port_hi;
}

unsigned steer_owner(const struct steer *st, const struct rte_mbuf *m)
{
	uint16_t port;

	if (st->nb_workers < 2 || !dport_of(m, &port))
		return st->idx;
	return port_owner(st, port);
}

/* Does the port's RSS send the reply (raddr:rport → laddr:lport) to our
 * queue?  True when the port's hashing is unknown. */
static bool rss_lands_here(const struct steer *st, const struct port_info *pi,
			   uint32_t laddr, uint16_t lport, uint32_t raddr,
			   uint16_t rport)
{
	union rte_thash_tuple t = {.v4 = {.src_addr = raddr, .dst_addr = laddr,
					  .sport = rport, .dport = lport}};
	uint32_t hash;

	if (!pi->rss_known)
		return true;
	hash = rte_softrss((uint32_t *)&t, RTE_THASH_V4_L4_LEN, pi->rss_key);
	return pi->reta[hash % pi->reta_size] == st->idx;
}

bool steer_port_ok(void *arg, uint32_t laddr, uint16_t lport, uint32_t raddr,
		   uint16_t rport)
{
	const struct steer *st = arg;

	if (port_owner(st, lport) != st->idx)
		return false;
	for (unsigned i = 0; i < st->nb_ports; i++)
		if (st->addr[i] == laddr)
			return rss_lands_here(st, st->port[i], laddr, lport,
					      raddr, rport);
	return true;
}
