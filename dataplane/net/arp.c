/*
 * arp: the neighbour cache — see arp.h.  Entries are REACHABLE until their
 * deadline; a stale entry keeps being used while unicast probes refresh it
 * (as Linux's STALE/PROBE states do), and is removed when the probes go
 * unanswered or when it is not used.  INCOMPLETE entries hold the packets
 * that wait for the answer.
 */
#include <errno.h>
#include <string.h>

#include <rte_arp.h>
#include <rte_byteorder.h>
#include <rte_malloc.h>

#include "control/config.h"
#include "dataplane/net/arp.h"
#include "dataplane/net/net.h"

#define ARP_SLOTS_MAX   65536u
#define ARP_FRAME_LEN   (sizeof(struct rte_ether_hdr) + sizeof(struct rte_arp_hdr))

static uint32_t pow2_at_least(uint32_t n)
{
	uint32_t p = 16;

	while (p < n)
		p <<= 1;
	return p;
}

int arp_init(struct arp_cache *c, const struct conf *conf)
{
	uint32_t nslots = conf->arp_entries_max * conf->arp_pending_max;

	memset(c, 0, sizeof(*c));
	if (nslots > ARP_SLOTS_MAX || nslots / conf->arp_pending_max != conf->arp_entries_max)
		nslots = ARP_SLOTS_MAX;
	c->max = conf->arp_entries_max;
	c->mask = pow2_at_least(2 * c->max) - 1;
	c->tab = rte_zmalloc("arp_tab", (size_t)(c->mask + 1) * sizeof(*c->tab),
			     RTE_CACHE_LINE_SIZE);
	c->slot = rte_zmalloc("arp_slot", (size_t)nslots * sizeof(*c->slot),
			      RTE_CACHE_LINE_SIZE);
	if (c->tab == NULL || c->slot == NULL) {
		arp_fini(c);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < nslots; i++)
		c->slot[i].next = i + 1 < nslots ? i + 1 : ARP_NIL;
	c->free_slot = 0;
	c->pending_max = conf->arp_pending_max;
	c->timeout_us = (uint64_t)conf->arp_timeout_s * 1000000;
	c->retry_us = (uint64_t)conf->arp_retry_ms * 1000;
	c->retries = conf->arp_retries;
	return 0;
}

static void queue_free(struct arp_cache *c, struct arp_entry *e);

void arp_fini(struct arp_cache *c)
{
	if (c->tab != NULL)
		for (uint32_t i = 0; i <= c->mask; i++)
			queue_free(c, &c->tab[i]);
	rte_free(c->tab);
	rte_free(c->slot);
	c->tab = NULL;
	c->slot = NULL;
}

/* --- the table ---------------------------------------------------------- */

static uint32_t home(const struct arp_cache *c, uint32_t ip)
{
	return (ip * 2654435761u) & c->mask;
}

static struct arp_entry *find(const struct arp_cache *c, uint32_t ip)
{
	for (uint32_t i = home(c, ip);; i = (i + 1) & c->mask) {
		struct arp_entry *e = &c->tab[i];

		if (e->state == ARP_FREE)
			return NULL;
		if (e->ip == ip)
			return e;
	}
}

const struct arp_entry *arp_lookup(const struct arp_cache *c, uint32_t ip)
{
	return find(c, ip);
}

static struct arp_entry *insert(struct arp_cache *c, uint32_t ip)
{
	uint32_t i = home(c, ip);

	if (c->used >= c->max)
		return NULL;
	while (c->tab[i].state != ARP_FREE)
		i = (i + 1) & c->mask;
	memset(&c->tab[i], 0, sizeof(c->tab[i]));
	c->tab[i].ip = ip;
	c->tab[i].q_head = c->tab[i].q_tail = ARP_NIL;
	c->used++;
	return &c->tab[i];
}

/* Backward-shift deletion keeps every probe chain unbroken. */
static void erase(struct arp_cache *c, struct arp_entry *e)
{
	uint32_t hole = (uint32_t)(e - c->tab);

	for (uint32_t i = (hole + 1) & c->mask; c->tab[i].state != ARP_FREE;
	     i = (i + 1) & c->mask) {
		uint32_t h = home(c, c->tab[i].ip);
		/* Move entry i into the hole unless its home lies in (hole, i]. */
		if (((i - h) & c->mask) >= ((i - hole) & c->mask)) {
			c->tab[hole] = c->tab[i];
			hole = i;
		}
	}
	c->tab[hole].state = ARP_FREE;
	c->used--;
}

/* --- pending packets ------------------------------------------------------ */

static int queue_push(struct arp_cache *c, struct arp_entry *e, struct rte_mbuf *m)
{
	uint32_t s = c->free_slot;

	if (e->q_len >= c->pending_max || s == ARP_NIL)
		return -ENOBUFS;
	c->free_slot = c->slot[s].next;
	c->slot[s].m = m;
	c->slot[s].next = ARP_NIL;
	if (e->q_tail == ARP_NIL)
		e->q_head = s;
	else
		c->slot[e->q_tail].next = s;
	e->q_tail = s;
	e->q_len++;
	return 0;
}

static struct rte_mbuf *queue_pop(struct arp_cache *c, struct arp_entry *e)
{
	uint32_t s = e->q_head;
	struct rte_mbuf *m;

	if (s == ARP_NIL)
		return NULL;
	m = c->slot[s].m;
	e->q_head = c->slot[s].next;
	if (e->q_head == ARP_NIL)
		e->q_tail = ARP_NIL;
	e->q_len--;
	c->slot[s].next = c->free_slot;
	c->free_slot = s;
	return m;
}

static void queue_free(struct arp_cache *c, struct arp_entry *e)
{
	struct rte_mbuf *m;

	if (e->state == ARP_FREE)
		return;
	while ((m = queue_pop(c, e)) != NULL)
		rte_pktmbuf_free(m);
}

/* --- frames --------------------------------------------------------------- */

static void fill_arp(struct rte_arp_hdr *a, uint16_t op,
		     const struct rte_ether_addr *sha, uint32_t sip,
		     const struct rte_ether_addr *tha, uint32_t tip)
{
	a->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
	a->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	a->arp_hlen = RTE_ETHER_ADDR_LEN;
	a->arp_plen = 4;
	a->arp_opcode = rte_cpu_to_be_16(op);
	rte_ether_addr_copy(sha, &a->arp_data.arp_sha);
	a->arp_data.arp_sip = rte_cpu_to_be_32(sip);
	rte_ether_addr_copy(tha, &a->arp_data.arp_tha);
	a->arp_data.arp_tip = rte_cpu_to_be_32(tip);
}

/* Ask who has IP: broadcast, or unicast to DST when refreshing. */
static void send_request(struct net_ctx *ctx, unsigned iface, uint32_t ip,
			 const struct rte_ether_addr *dst)
{
	static const struct rte_ether_addr bcast = {
		.addr_bytes = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
	static const struct rte_ether_addr zero;
	const struct net_iface *ifp = &ctx->iface[iface];
	struct rte_mbuf *m = rte_pktmbuf_alloc(ctx->pool);
	struct rte_arp_hdr *a;

	if (m == NULL) {
		STATS_ADD(ctx->stats->port[iface].drops[DROP_NO_MBUF], 1);
		return;
	}
	a = (struct rte_arp_hdr *)rte_pktmbuf_append(m, sizeof(*a));
	fill_arp(a, RTE_ARP_OP_REQUEST, &ifp->mac, ifp->addr, &zero, ip);
	net_eth_output(ctx, iface, m, dst != NULL ? dst : &bcast,
		       RTE_ETHER_TYPE_ARP);
}

static void reply(struct net_ctx *ctx, unsigned iface, struct rte_mbuf *m,
		  struct rte_arp_hdr *a)
{
	const struct net_iface *ifp = &ctx->iface[iface];
	struct rte_ether_addr requester = a->arp_data.arp_sha;
	uint32_t sip = rte_be_to_cpu_32(a->arp_data.arp_sip);

	rte_pktmbuf_adj(m, sizeof(struct rte_ether_hdr));
	rte_pktmbuf_trim(m, rte_pktmbuf_pkt_len(m) - sizeof(*a));
	fill_arp(a, RTE_ARP_OP_REPLY, &ifp->mac, ifp->addr, &requester, sip);
	net_eth_output(ctx, iface, m, &requester, RTE_ETHER_TYPE_ARP);
}

/* --- learning and resolution ---------------------------------------------- */

static void update(struct net_ctx *ctx, struct arp_entry *e, unsigned iface,
		   const struct rte_ether_addr *mac, uint64_t now)
{
	struct rte_mbuf *m;

	e->iface = (uint8_t)iface;
	e->mac = *mac;
	e->state = ARP_REACHABLE;
	e->tries = 0;
	e->deadline = now + ctx->arp.timeout_us;
	while ((m = queue_pop(&ctx->arp, e)) != NULL)
		net_eth_output(ctx, iface, m, mac, RTE_ETHER_TYPE_IPV4);
}

static void learn(struct net_ctx *ctx, unsigned iface, uint32_t ip,
		  const struct rte_ether_addr *mac, uint64_t now, bool create)
{
	struct arp_entry *e = find(&ctx->arp, ip);

	if (e == NULL && create)
		e = insert(&ctx->arp, ip);
	if (e != NULL)
		update(ctx, e, iface, mac, now);
}

void arp_learn(struct net_ctx *ctx, unsigned iface, uint32_t ip,
	       const struct rte_ether_addr *mac, uint64_t now)
{
	learn(ctx, iface, ip, mac, now, false);
}

static bool is_neighbour(const struct net_iface *ifp, uint32_t ip)
{
	return ip != 0 && ip != ifp->addr && (ip & ifp->mask) == (ifp->addr & ifp->mask) &&
	       (ip | ifp->mask) != UINT32_MAX;
}

static bool arp_valid(const struct rte_arp_hdr *a)
{
	return a->arp_hardware == rte_cpu_to_be_16(RTE_ARP_HRD_ETHER) &&
	       a->arp_protocol == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) &&
	       a->arp_hlen == RTE_ETHER_ADDR_LEN && a->arp_plen == 4;
}

void arp_input(struct net_ctx *ctx, unsigned iface, struct rte_mbuf *m,
	       uint64_t now)
{
	const struct net_iface *ifp = &ctx->iface[iface];
	struct rte_arp_hdr *a;
	uint16_t op;
	uint32_t sip, tip;

	if (rte_pktmbuf_data_len(m) < ARP_FRAME_LEN)
		return net_drop(ctx, iface, m, DROP_ARP_MALFORMED);
	a = rte_pktmbuf_mtod_offset(m, struct rte_arp_hdr *, sizeof(struct rte_ether_hdr));
	if (!arp_valid(a))
		return net_drop(ctx, iface, m, DROP_ARP_MALFORMED);
	op = rte_be_to_cpu_16(a->arp_opcode);
	if (op != RTE_ARP_OP_REQUEST && op != RTE_ARP_OP_REPLY)
		return net_drop(ctx, iface, m, DROP_ARP_OP);
	sip = rte_be_to_cpu_32(a->arp_data.arp_sip);
	tip = rte_be_to_cpu_32(a->arp_data.arp_tip);
	if (!rte_is_unicast_ether_addr(&a->arp_data.arp_sha))
		return net_drop(ctx, iface, m, DROP_ARP_MALFORMED);

	/* RFC 826: merge the sender into an existing entry; add it when the
	 * packet is for us. */
	bool for_us = tip == ifp->addr;

	if (is_neighbour(ifp, sip)) {
		learn(ctx, iface, sip, &a->arp_data.arp_sha, now, for_us);
		if (ctx->neigh_notify != NULL)
			ctx->neigh_notify(ctx, iface, sip, &a->arp_data.arp_sha);
	}
	if (!for_us)
		return net_drop(ctx, iface, m, DROP_ARP_NOT_US);
	if (op == RTE_ARP_OP_REQUEST)
		return reply(ctx, iface, m, a);
	rte_pktmbuf_free(m);
}

void arp_output(struct net_ctx *ctx, unsigned iface, uint32_t nexthop,
		struct rte_mbuf *m, uint64_t now)
{
	struct arp_entry *e = find(&ctx->arp, nexthop);

	if (e != NULL && e->state == ARP_REACHABLE) {
		if (now >= e->deadline && e->tries == 0) {
			/* Stale: keep using it while a unicast probe refreshes it. */
			e->tries = 1;
			e->deadline = now + ctx->arp.retry_us;
			send_request(ctx, iface, nexthop, &e->mac);
		}
		net_eth_output(ctx, iface, m, &e->mac, RTE_ETHER_TYPE_IPV4);
		return;
	}
	if (e == NULL) {
		e = insert(&ctx->arp, nexthop);
		if (e == NULL)
			return net_drop(ctx, iface, m, DROP_ARP_CACHE_FULL);
		e->state = ARP_INCOMPLETE;
		e->iface = (uint8_t)iface;
		e->tries = 1;
		e->deadline = now + ctx->arp.retry_us;
		send_request(ctx, iface, nexthop, NULL);
	}
	if (queue_push(&ctx->arp, e, m) < 0)
		net_drop(ctx, iface, m, DROP_ARP_QUEUE_FULL);
}

/* --- timer ---------------------------------------------------------------- */

static void give_up(struct net_ctx *ctx, struct arp_entry *e)
{
	struct rte_mbuf *m;

	while ((m = queue_pop(&ctx->arp, e)) != NULL)
		net_drop(ctx, e->iface, m, DROP_ARP_TIMEOUT);
	erase(&ctx->arp, e);
}

/* Returns true when E was erased (and its slot now holds another entry). */
static bool expire_one(struct net_ctx *ctx, struct arp_entry *e, uint64_t now)
{
	if (e->state == ARP_FREE || now < e->deadline)
		return false;
	if ((e->state == ARP_REACHABLE && e->tries == 0) || e->tries >= ctx->arp.retries) {
		give_up(ctx, e);
		return true;
	}
	e->tries++;
	e->deadline = now + ctx->arp.retry_us;
	send_request(ctx, e->iface, e->ip,
		     e->state == ARP_REACHABLE ? &e->mac : NULL);
	return false;
}

void arp_timer(struct net_ctx *ctx, uint64_t now)
{
	struct arp_cache *c = &ctx->arp;
	uint64_t reachable = 0, pending = 0;

	for (uint32_t i = 0; i <= c->mask; i++) {
		while (expire_one(ctx, &c->tab[i], now))
			;
		if (c->tab[i].state == ARP_REACHABLE)
			reachable++;
		else if (c->tab[i].state == ARP_INCOMPLETE)
			pending++;
	}
	STATS_SET(ctx->stats->arp_entries, reachable);
	STATS_SET(ctx->stats->arp_pending, pending);
}
