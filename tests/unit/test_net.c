/*
 * test_net: the Ethernet/ARP/IPv4/ICMP path on real rte_mbufs, with exact
 * frames in and out, a capture list standing in for the TX queues and the
 * clock passed in.
 */
#include <string.h>

#include <CUnit/CUnit.h>
#include <rte_mbuf.h>

#include "dataplane/net/arp.h"
#include "dataplane/net/ipv4.h"
#include "dataplane/net/net.h"
#include "dataplane/net/route.h"
#include "tests/unit/suites.h"

#define MAX_SENT 64
#define SEC 1000000ull

static struct rte_mempool *pool;
static struct conf conf;
static struct worker_stats stats;
static struct net_ctx ctx;
static struct rte_mbuf *sent[MAX_SENT];
static unsigned nsent, sent_iface[MAX_SENT];

static const uint8_t MAC_IN[6] = {0x02, 0, 0, 0, 0, 0x01};
static const uint8_t MAC_OUT[6] = {0x02, 0, 0, 0, 0, 0x02};
static const uint8_t MAC_PEER[6] = {0x02, 0, 0, 0, 0, 0xaa};
static const uint8_t BCAST[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static const uint8_t IP_IN[4] = {198, 18, 0, 1};
static const uint8_t IP_PEER[4] = {198, 18, 0, 2};

#define IP4(a, b, c, d) (((uint32_t)(a) << 24) | ((b) << 16) | ((c) << 8) | (d))

static void capture(struct net_ctx *c, unsigned iface, struct rte_mbuf *m)
{
	(void)c;
	CU_ASSERT_FATAL(nsent < MAX_SENT);
	sent_iface[nsent] = iface;
	sent[nsent++] = m;
}

static void clear_sent(void)
{
	for (unsigned i = 0; i < nsent; i++)
		rte_pktmbuf_free(sent[i]);
	nsent = 0;
}

static int setup(void)
{
	memset(&conf, 0, sizeof(conf));
	conf.nb_ports = 2;
	conf.ports[0].addr = IP4(198, 18, 0, 1);
	conf.ports[0].prefix = 24;
	conf.ports[1].addr = IP4(198, 18, 1, 1);
	conf.ports[1].prefix = 24;
	conf.ports[1].gateway = IP4(198, 18, 1, 254);
	conf.arp_timeout_s = 300;
	conf.arp_retry_ms = 1000;
	conf.arp_retries = 3;
	conf.arp_pending_max = 4;
	conf.arp_entries_max = 8;
	memset(&stats, 0, sizeof(stats));
	if (net_init(&ctx, &conf, &stats, pool) < 0)
		return -1;
	memcpy(ctx.iface[0].mac.addr_bytes, MAC_IN, 6);
	memcpy(ctx.iface[1].mac.addr_bytes, MAC_OUT, 6);
	ctx.tx = capture;
	nsent = 0;
	return 0;
}

static int teardown(void)
{
	clear_sent();
	net_fini(&ctx);
	return 0;
}

static int suite_init(void)
{
	pool = rte_pktmbuf_pool_create("test_net", 1023, 0, 0,
				       RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	return pool == NULL ? -1 : 0;
}

static int suite_fini(void)
{
	rte_mempool_free(pool);
	return 0;
}

/* --- frame building (independent of the code under test) ----------------- */

static uint16_t csum(const uint8_t *p, size_t n)
{
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static size_t eth(uint8_t *f, const uint8_t *dst, const uint8_t *src, uint16_t type)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	put16(f + 12, type);
	return 14;
}

static size_t arp(uint8_t *f, uint16_t op, const uint8_t *sha, const uint8_t *spa,
		  const uint8_t *tha, const uint8_t *tpa)
{
	static const uint8_t fixed[6] = {0x00, 0x01, 0x08, 0x00, 6, 4};

	memcpy(f, fixed, 6);
	put16(f + 6, op);
	memcpy(f + 8, sha, 6);
	memcpy(f + 14, spa, 4);
	memcpy(f + 18, tha, 6);
	memcpy(f + 24, tpa, 4);
	return 28;
}

/* IPv4 header (20 bytes) with a correct checksum. */
static size_t ipv4(uint8_t *f, uint16_t total, uint16_t frag, uint8_t ttl,
		   uint8_t proto, const uint8_t *src, const uint8_t *dst)
{
	f[0] = 0x45;
	f[1] = 0;
	put16(f + 2, total);
	put16(f + 4, 0x1234);
	put16(f + 6, frag);
	f[8] = ttl;
	f[9] = proto;
	put16(f + 10, 0);
	memcpy(f + 12, src, 4);
	memcpy(f + 16, dst, 4);
	put16(f + 10, csum(f, 20));
	return 20;
}

/* ICMP echo (TYPE 8 or 0) with an 8-byte payload and a correct checksum. */
static size_t icmp_echo(uint8_t *f, uint8_t type)
{
	f[0] = type;
	f[1] = 0;
	put16(f + 2, 0);
	put16(f + 4, 0x0001);
	put16(f + 6, 0x0007);
	memcpy(f + 8, "sluice!!", 8);
	put16(f + 2, csum(f, 16));
	return 16;
}

static size_t ping_frame(uint8_t *f)
{
	size_t n = eth(f, MAC_IN, MAC_PEER, 0x0800);

	n += ipv4(f + n, 36, 0x4000, 64, 1, IP_PEER, IP_IN);
	n += icmp_echo(f + n, 8);
	return n;
}

static void input(unsigned iface, const uint8_t *bytes, size_t len, uint64_t now)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);

	CU_ASSERT_FATAL(m != NULL);
	memcpy(rte_pktmbuf_append(m, (uint16_t)len), bytes, len);
	net_input(&ctx, iface, m, now);
}

static void assert_sent(unsigned i, unsigned iface, const uint8_t *bytes, size_t len)
{
	CU_ASSERT_FATAL(i < nsent);
	CU_ASSERT_EQUAL(sent_iface[i], iface);
	CU_ASSERT_EQUAL(rte_pktmbuf_pkt_len(sent[i]), len);
	if (rte_pktmbuf_pkt_len(sent[i]) == len)
		CU_ASSERT(memcmp(rte_pktmbuf_mtod(sent[i], void *), bytes, len) == 0);
}

static uint64_t drops(unsigned iface, enum stats_drop why)
{
	return stats.port[iface].drops[why];
}

static void arp_request_from_peer(uint64_t now)
{
	uint8_t f[64];
	size_t n = eth(f, BCAST, MAC_PEER, 0x0806);

	n += arp(f + n, 1, MAC_PEER, IP_PEER, (const uint8_t[6]){0}, IP_IN);
	input(0, f, n, now);
}

/* --- ARP -------------------------------------------------------------------- */

static void test_arp_reply(void)
{
	uint8_t want[64];
	size_t n;

	arp_request_from_peer(0);
	n = eth(want, MAC_PEER, MAC_IN, 0x0806);
	n += arp(want + n, 2, MAC_IN, IP_IN, MAC_PEER, IP_PEER);
	CU_ASSERT_EQUAL(nsent, 1);
	assert_sent(0, 0, want, n);
	/* The requester was learnt (RFC 826). */
	const struct arp_entry *e = arp_lookup(&ctx.arp, IP4(198, 18, 0, 2));
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	CU_ASSERT_EQUAL(e->state, ARP_REACHABLE);
	CU_ASSERT(memcmp(e->mac.addr_bytes, MAC_PEER, 6) == 0);
	CU_ASSERT_EQUAL(stats.port[0].rx_pkts, 1);
}

static void test_arp_not_for_us(void)
{
	uint8_t f[64];
	size_t n = eth(f, BCAST, MAC_PEER, 0x0806);

	n += arp(f + n, 1, MAC_PEER, IP_PEER, (const uint8_t[6]){0},
		 (const uint8_t[4]){198, 18, 0, 77});
	input(0, f, n, 0);
	CU_ASSERT_EQUAL(nsent, 0);
	CU_ASSERT_EQUAL(drops(0, DROP_ARP_NOT_US), 1);
	CU_ASSERT_PTR_NULL(arp_lookup(&ctx.arp, IP4(198, 18, 0, 2)));
}

static void test_arp_malformed(void)
{
	uint8_t f[64];
	size_t n = eth(f, BCAST, MAC_PEER, 0x0806);

	n += arp(f + n, 1, MAC_PEER, IP_PEER, (const uint8_t[6]){0}, IP_IN);
	input(0, f, n - 1, 0);                 /* truncated */
	f[14] = 0x00, f[15] = 0x06;            /* hardware type 6 */
	input(0, f, n, 0);
	f[14] = 0x00, f[15] = 0x01;
	put16(f + 20, 9);                       /* opcode 9 */
	input(0, f, n, 0);
	CU_ASSERT_EQUAL(drops(0, DROP_ARP_MALFORMED), 2);
	CU_ASSERT_EQUAL(drops(0, DROP_ARP_OP), 1);
	CU_ASSERT_EQUAL(nsent, 0);
}

/* A ping from an unknown neighbour: the reply waits for ARP. */
static void test_arp_resolve_then_send(void)
{
	uint8_t f[128], want[128];
	size_t n = ping_frame(f), wn;

	input(0, f, n, 10);
	CU_ASSERT_EQUAL_FATAL(nsent, 1);
	wn = eth(want, BCAST, MAC_IN, 0x0806);
	wn += arp(want + wn, 1, MAC_IN, IP_IN, (const uint8_t[6]){0}, IP_PEER);
	assert_sent(0, 0, want, wn);
	CU_ASSERT_EQUAL(arp_lookup(&ctx.arp, IP4(198, 18, 0, 2))->state, ARP_INCOMPLETE);

	n = eth(f, MAC_IN, MAC_PEER, 0x0806);
	n += arp(f + n, 2, MAC_PEER, IP_PEER, MAC_IN, IP_IN);
	input(0, f, n, 20);
	CU_ASSERT_EQUAL_FATAL(nsent, 2);
	CU_ASSERT(memcmp(rte_pktmbuf_mtod(sent[1], uint8_t *), MAC_PEER, 6) == 0);
	CU_ASSERT_EQUAL(arp_lookup(&ctx.arp, IP4(198, 18, 0, 2))->state, ARP_REACHABLE);
}

static void test_arp_retry_and_give_up(void)
{
	uint8_t f[128];
	size_t n = ping_frame(f);

	for (int i = 0; i < 6; i++)     /* 1 queued per ping; pending_max 4 */
		input(0, f, n, 0);
	CU_ASSERT_EQUAL(nsent, 1);      /* one request, not six */
	CU_ASSERT_EQUAL(drops(0, DROP_ARP_QUEUE_FULL), 2);
	net_timer(&ctx, SEC / 2);
	CU_ASSERT_EQUAL(nsent, 1);      /* not yet due */
	net_timer(&ctx, 1 * SEC);
	net_timer(&ctx, 2 * SEC);
	CU_ASSERT_EQUAL(nsent, 3);      /* retries 2 and 3 */
	CU_ASSERT_EQUAL(stats.arp_pending, 1);
	net_timer(&ctx, 3 * SEC);
	CU_ASSERT_EQUAL(nsent, 3);
	CU_ASSERT_EQUAL(drops(0, DROP_ARP_TIMEOUT), 4);
	CU_ASSERT_PTR_NULL(arp_lookup(&ctx.arp, IP4(198, 18, 0, 2)));
	CU_ASSERT_EQUAL(stats.arp_pending, 0);
}

static void test_arp_expiry(void)
{
	arp_request_from_peer(0);
	clear_sent();
	net_timer(&ctx, 299 * SEC);
	CU_ASSERT_PTR_NOT_NULL(arp_lookup(&ctx.arp, IP4(198, 18, 0, 2)));
	CU_ASSERT_EQUAL(stats.arp_entries, 1);
	net_timer(&ctx, 300 * SEC);     /* unused past its lifetime: gone */
	CU_ASSERT_PTR_NULL(arp_lookup(&ctx.arp, IP4(198, 18, 0, 2)));
	CU_ASSERT_EQUAL(stats.arp_entries, 0);
	CU_ASSERT_EQUAL(nsent, 0);
}

/* A stale entry in use keeps working while unicast probes refresh it. */
static void test_arp_stale_probe(void)
{
	uint8_t f[128], want[64];
	size_t n = ping_frame(f), wn;

	arp_request_from_peer(0);
	clear_sent();
	input(0, f, n, 301 * SEC);
	CU_ASSERT_EQUAL_FATAL(nsent, 2);
	wn = eth(want, MAC_PEER, MAC_IN, 0x0806);
	wn += arp(want + wn, 1, MAC_IN, IP_IN, (const uint8_t[6]){0}, IP_PEER);
	assert_sent(0, 0, want, wn);    /* unicast probe */
	CU_ASSERT(memcmp(rte_pktmbuf_mtod(sent[1], uint8_t *), MAC_PEER, 6) == 0);
	net_timer(&ctx, 302 * SEC);
	net_timer(&ctx, 303 * SEC);
	CU_ASSERT_EQUAL(nsent, 4);
	net_timer(&ctx, 304 * SEC);     /* three unanswered probes */
	CU_ASSERT_PTR_NULL(arp_lookup(&ctx.arp, IP4(198, 18, 0, 2)));
}

static void test_arp_cache_full(void)
{
	uint8_t f[64];

	for (int i = 0; i < 10; i++) {
		uint8_t ip[4] = {198, 18, 0, (uint8_t)(10 + i)};
		size_t n = eth(f, BCAST, MAC_PEER, 0x0806);

		n += arp(f + n, 1, MAC_PEER, ip, (const uint8_t[6]){0}, IP_IN);
		input(0, f, n, 0);
	}
	CU_ASSERT_EQUAL(ctx.arp.used, 8);
	CU_ASSERT_EQUAL(nsent, 10);     /* every request still answered */
	for (int i = 0; i < 10; i++)
		CU_ASSERT_EQUAL(arp_lookup(&ctx.arp, IP4(198, 18, 0, 10 + i)) != NULL, i < 8);
	net_timer(&ctx, 300 * SEC);
	CU_ASSERT_EQUAL(ctx.arp.used, 0);
}

/* --- Ethernet and IPv4 ------------------------------------------------------ */

static void test_eth_filters(void)
{
	uint8_t f[128];
	size_t n = ping_frame(f);

	input(0, f, 13, 0);
	memcpy(f, MAC_PEER, 6);
	input(0, f, n, 0);
	memcpy(f, MAC_IN, 6);
	put16(f + 12, 0x86dd);
	input(0, f, n, 0);
	CU_ASSERT_EQUAL(drops(0, DROP_ETH_RUNT), 1);
	CU_ASSERT_EQUAL(drops(0, DROP_ETH_NOT_US), 1);
	CU_ASSERT_EQUAL(drops(0, DROP_ETH_TYPE), 1);
	CU_ASSERT_EQUAL(nsent, 0);
}

static void refresh_ip_cksum(uint8_t *f)
{
	put16(f + 14 + 10, 0);
	put16(f + 14 + 10, csum(f + 14, (size_t)(f[14] & 0xf) * 4));
}

static void test_ipv4_validation(void)
{
	uint8_t f[128], g[128];
	size_t n = ping_frame(f);

	input(0, f, 14 + 19, 0);                       /* truncated header */
	memcpy(g, f, n); g[14] = 0x65; refresh_ip_cksum(g); input(0, g, n, 0);
	memcpy(g, f, n); g[14] = 0x44; input(0, g, n, 0);  /* IHL 4 */
	memcpy(g, f, n); g[14] = 0x4f; input(0, g, n, 0);  /* IHL past the packet */
	memcpy(g, f, n); g[14 + 11] ^= 1; input(0, g, n, 0);
	memcpy(g, f, n); put16(g + 16, 200); refresh_ip_cksum(g); input(0, g, n, 0);
	memcpy(g, f, n); put16(g + 16, 19); refresh_ip_cksum(g); input(0, g, n, 0);
	memcpy(g, f, n); put16(g + 20, 0x2000); refresh_ip_cksum(g); input(0, g, n, 0);
	memcpy(g, f, n); put16(g + 20, 0x0010); refresh_ip_cksum(g); input(0, g, n, 0);
	memcpy(g, f, n); g[26] = 127; refresh_ip_cksum(g); input(0, g, n, 0);
	memcpy(g, f, n); g[26] = 224; refresh_ip_cksum(g); input(0, g, n, 0);
	memcpy(g, f, n); memcpy(g + 26, IP_IN, 4); refresh_ip_cksum(g); input(0, g, n, 0);
	memcpy(g, f, n); g[33] = 9; refresh_ip_cksum(g); input(0, g, n, 0);   /* not us */
	memcpy(g, f, n); g[33] = 255; refresh_ip_cksum(g); input(0, g, n, 0); /* broadcast */
	memcpy(g, f, n); g[14 + 9] = 17; refresh_ip_cksum(g); input(0, g, n, 0);
	CU_ASSERT_EQUAL(drops(0, DROP_IP_RUNT), 1);
	CU_ASSERT_EQUAL(drops(0, DROP_IP_VERSION), 1);
	CU_ASSERT_EQUAL(drops(0, DROP_IP_IHL), 2);
	CU_ASSERT_EQUAL(drops(0, DROP_IP_CKSUM), 1);
	CU_ASSERT_EQUAL(drops(0, DROP_IP_LEN), 2);
	CU_ASSERT_EQUAL(drops(0, DROP_IP_FRAGMENT), 2);
	CU_ASSERT_EQUAL(drops(0, DROP_IP_SRC), 3);
	CU_ASSERT_EQUAL(drops(0, DROP_IP_NOT_US), 2);
	CU_ASSERT_EQUAL(drops(0, DROP_IP_PROTO), 1);
	CU_ASSERT_EQUAL(nsent, 0);
	CU_ASSERT_EQUAL(stats.port[0].rx_pkts, 15);
}

/* The address of the other port is not ours on this one (strong host). */
static void test_ipv4_strong_host(void)
{
	uint8_t f[128];
	size_t n = ping_frame(f);

	f[14 + 19] = 1, f[14 + 18] = 1;    /* to 198.18.1.1 */
	refresh_ip_cksum(f);
	input(0, f, n, 0);
	CU_ASSERT_EQUAL(drops(0, DROP_IP_NOT_US), 1);
}

/* --- ICMP ------------------------------------------------------------------- */

static void test_icmp_echo_reply_bytes(void)
{
	uint8_t f[128], want[128];
	size_t n = ping_frame(f), wn;

	arp_request_from_peer(0);
	clear_sent();
	/* Ethernet padding after the IP packet is trimmed, not echoed. */
	memset(f + n, 0xee, 10);
	input(0, f, n + 10, 5);
	wn = eth(want, MAC_PEER, MAC_IN, 0x0800);
	wn += ipv4(want + wn, 36, 0x0000, 64, 1, IP_IN, IP_PEER);
	wn += icmp_echo(want + wn, 0);
	CU_ASSERT_EQUAL(nsent, 1);
	assert_sent(0, 0, want, wn);
}

static void test_icmp_echo_with_options(void)
{
	uint8_t f[128], want[128];
	size_t n, wn;

	arp_request_from_peer(0);
	clear_sent();
	n = eth(f, MAC_IN, MAC_PEER, 0x0800);
	n += ipv4(f + n, 40, 0, 64, 1, IP_PEER, IP_IN);
	f[14] = 0x46;                                 /* one option word: NOPs */
	memset(f + 14 + 20, 1, 4);
	refresh_ip_cksum(f);
	n = 14 + 24;
	n += icmp_echo(f + n, 8);
	input(0, f, n, 5);
	wn = eth(want, MAC_PEER, MAC_IN, 0x0800);
	wn += ipv4(want + wn, 36, 0, 64, 1, IP_IN, IP_PEER);
	wn += icmp_echo(want + wn, 0);
	assert_sent(0, 0, want, wn);
}

static void test_icmp_invalid(void)
{
	uint8_t f[128], g[128];
	size_t n = ping_frame(f);

	memcpy(g, f, n); g[34 + 8] ^= 0xff; input(0, g, n, 0);   /* payload changed */
	memcpy(g, f, n); put16(g + 16, 20 + 7); refresh_ip_cksum(g); input(0, g, 14 + 27, 0);
	memcpy(g, f, n); g[34] = 13; put16(g + 36, 0); put16(g + 36, csum(g + 34, 16));
	input(0, g, n, 0);
	CU_ASSERT_EQUAL(drops(0, DROP_ICMP_CKSUM), 1);
	CU_ASSERT_EQUAL(drops(0, DROP_ICMP_RUNT), 1);
	CU_ASSERT_EQUAL(drops(0, DROP_ICMP_TYPE), 1);
	CU_ASSERT_EQUAL(nsent, 0);
}

/* --- routing ---------------------------------------------------------------- */

static void test_route(void)
{
	unsigned iface;
	uint32_t nh;

	CU_ASSERT_EQUAL(route_lookup(&ctx, IP4(198, 18, 0, 9), &iface, &nh), 0);
	CU_ASSERT_EQUAL(iface, 0);
	CU_ASSERT_EQUAL(nh, IP4(198, 18, 0, 9));
	CU_ASSERT_EQUAL(route_lookup(&ctx, IP4(198, 18, 1, 9), &iface, &nh), 0);
	CU_ASSERT_EQUAL(iface, 1);
	CU_ASSERT_EQUAL(nh, IP4(198, 18, 1, 9));
	CU_ASSERT_EQUAL(route_lookup(&ctx, IP4(203, 0, 113, 5), &iface, &nh), 0);
	CU_ASSERT_EQUAL(iface, 1);
	CU_ASSERT_EQUAL(nh, IP4(198, 18, 1, 254));
	ctx.iface[1].gateway = 0;
	CU_ASSERT_EQUAL(route_lookup(&ctx, IP4(203, 0, 113, 5), &iface, &nh), -ENETUNREACH);
	/* The longest prefix wins when connected networks nest. */
	ctx.iface[1].addr = IP4(198, 18, 0, 129);
	ctx.iface[1].mask = 0xffffff80;
	CU_ASSERT_EQUAL(route_lookup(&ctx, IP4(198, 18, 0, 200), &iface, &nh), 0);
	CU_ASSERT_EQUAL(iface, 1);
	CU_ASSERT_EQUAL(route_lookup(&ctx, IP4(198, 18, 0, 100), &iface, &nh), 0);
	CU_ASSERT_EQUAL(iface, 0);
}

static void test_output_no_route(void)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	uint8_t *p = (uint8_t *)rte_pktmbuf_append(m, 28);

	ipv4(p, 28, 0, 64, 1, IP_IN, (const uint8_t[4]){203, 0, 113, 5});
	ctx.iface[1].gateway = 0;
	ipv4_output(&ctx, m, 0);
	CU_ASSERT_EQUAL(drops(0, DROP_NO_ROUTE), 1);
	CU_ASSERT_EQUAL(nsent, 0);
}

/* Via the default gateway: ARP asks for the gateway, on the outside port. */
static void test_output_via_gateway(void)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	uint8_t *p = (uint8_t *)rte_pktmbuf_append(m, 28);
	uint8_t want[64];
	size_t wn;

	ipv4(p, 28, 0, 64, 1, (const uint8_t[4]){198, 18, 1, 1},
	     (const uint8_t[4]){203, 0, 113, 5});
	ipv4_output(&ctx, m, 0);
	wn = eth(want, BCAST, MAC_OUT, 0x0806);
	wn += arp(want + wn, 1, MAC_OUT, (const uint8_t[4]){198, 18, 1, 1},
		  (const uint8_t[6]){0}, (const uint8_t[4]){198, 18, 1, 254});
	assert_sent(0, 1, want, wn);
}

void test_net_register(void)
{
	CU_pSuite s = CU_add_suite_with_setup_and_teardown(
		"net", suite_init, suite_fini, (CU_SetUpFunc)setup,
		(CU_TearDownFunc)teardown);

	CU_add_test(s, "arp reply bytes", test_arp_reply);
	CU_add_test(s, "arp not for us", test_arp_not_for_us);
	CU_add_test(s, "arp malformed", test_arp_malformed);
	CU_add_test(s, "arp resolve then send", test_arp_resolve_then_send);
	CU_add_test(s, "arp retry and give up", test_arp_retry_and_give_up);
	CU_add_test(s, "arp expiry", test_arp_expiry);
	CU_add_test(s, "arp stale probe", test_arp_stale_probe);
	CU_add_test(s, "arp cache full", test_arp_cache_full);
	CU_add_test(s, "eth filters", test_eth_filters);
	CU_add_test(s, "ipv4 validation", test_ipv4_validation);
	CU_add_test(s, "ipv4 strong host", test_ipv4_strong_host);
	CU_add_test(s, "icmp echo reply bytes", test_icmp_echo_reply_bytes);
	CU_add_test(s, "icmp echo with options", test_icmp_echo_with_options);
	CU_add_test(s, "icmp invalid", test_icmp_invalid);
	CU_add_test(s, "route lookup", test_route);
	CU_add_test(s, "output no route", test_output_no_route);
	CU_add_test(s, "output via gateway", test_output_via_gateway);
}
