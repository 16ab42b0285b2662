/*
 * ctl_stats: the one walk over Sluice's statistics.  Sums every worker's
 * single-writer counters (read with relaxed atomic loads, no locks) per
 * port and overall, adds what the ethdev layer knows about each port
 * (MAC, link, hardware counters), the delivery queue's depth from each
 * worker's published snapshot, and lists each worker's own view.  The
 * walk writes to a struct stats_out: `sluicectl stats` gets JSON from it,
 * /metrics Prometheus text (control/prom.c), DPDK telemetry the same
 * samples.  A figure added here therefore shows in all of them.  Owns no
 * state; a port whose ethdev cannot be queried is reported without "hw",
 * with "mac": null and "link_up": false.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <rte_ethdev.h>

#include "control/ctl.h"
#include "control/prom.h"
#include "control/reload.h"

/* One port's software counters, for one worker or summed over all. */
struct port_counters {
	uint64_t rx_pkts, rx_bytes;
	uint64_t tx_pkts, tx_bytes;
	uint64_t drops[DROP__COUNT];
};

_Static_assert(offsetof(struct port_counters, drops) == offsetof(struct stats_port, drops),
	       "port_counters must mirror stats_port (summed field by field)");

/* conf->nb_ports, bounded by the arrays it indexes. */
static unsigned nb_ports(const struct ctl_ctx *ctx)
{
	return ctx->conf->nb_ports < CONF_MAX_PORTS ? ctx->conf->nb_ports
						    : CONF_MAX_PORTS;
}

/* nb_workers, bounded likewise. */
static unsigned nb_workers(const struct ctl_ctx *ctx)
{
	return ctx->nb_workers < RTE_MAX_LCORE ? ctx->nb_workers : RTE_MAX_LCORE;
}

static void format_ipv4(char *buf, size_t len, uint32_t addr)
{
	snprintf(buf, len, "%u.%u.%u.%u", (addr >> 24) & 0xff,
		 (addr >> 16) & 0xff, (addr >> 8) & 0xff, addr & 0xff);
}

/* Sum N uint64_t counters at SRC (a struct of them; NULL: none) into DST. */
static void add_u64s(uint64_t *dst, const void *src, size_t n)
{
	const uint64_t *s = src;

	if (s == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		dst[i] += __atomic_load_n(&s[i], __ATOMIC_RELAXED);
}

#define ADD_ALL(dst, src) add_u64s((uint64_t *)(dst), (src), sizeof(*(dst)) / sizeof(uint64_t))

/* ---- ports ------------------------------------------------------------- */

static void put_counters(struct stats_out *o, const struct port_counters *pc,
			 bool every_reason)
{
	uint64_t total = 0;

	for (unsigned r = 0; r < DROP__COUNT; r++)
		total += pc->drops[r];
	stats_counter(o, "rx_pkts", pc->rx_pkts);
	stats_counter(o, "rx_bytes", pc->rx_bytes);
	stats_counter(o, "tx_pkts", pc->tx_pkts);
	stats_counter(o, "tx_bytes", pc->tx_bytes);
	stats_total(o, "drops_total", total);
	stats_map(o, "drops", "drops", "reason");
	for (unsigned r = 0; r < DROP__COUNT; r++)
		if (every_reason || pc->drops[r] != 0)
			stats_counter(o, stats_drop_name[r], pc->drops[r]);
	stats_end(o);
}

/* "address", "gateway" (or null) of conf port CP. */
static void put_addresses(struct stats_out *o, const struct conf_port *cp)
{
	char ip[16], cidr[24];

	format_ipv4(ip, sizeof(ip), cp->addr);
	snprintf(cidr, sizeof(cidr), "%s/%u", ip, cp->prefix);
	stats_text(o, "address", cidr);
	format_ipv4(ip, sizeof(ip), cp->gateway);
	stats_text(o, "gateway", cp->gateway != 0 ? ip : NULL);
}

/* "mac" and "link_up" from the ethdev, or null/false when unavailable. */
static void put_link(struct stats_out *o, uint16_t port_id)
{
	struct rte_ether_addr mac;
	struct rte_eth_link link;
	bool valid = rte_eth_dev_is_valid_port(port_id);
	char buf[RTE_ETHER_ADDR_FMT_SIZE];

	if (valid && rte_eth_macaddr_get(port_id, &mac) == 0) {
		const uint8_t *b = mac.addr_bytes;

		snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x",
			 b[0], b[1], b[2], b[3], b[4], b[5]);
		stats_text(o, "mac", buf);
	} else {
		stats_text(o, "mac", NULL);
	}
	stats_flag(o, "link_up", valid && rte_eth_link_get_nowait(port_id, &link) == 0 &&
		   link.link_status == RTE_ETH_LINK_UP);
}

/* "hw": the ethdev's own counters; omitted when the port cannot say. */
static void put_hw(struct stats_out *o, uint16_t port_id)
{
	struct rte_eth_stats st;

	if (!rte_eth_dev_is_valid_port(port_id) ||
	    rte_eth_stats_get(port_id, &st) != 0)
		return;
	stats_group(o, "hw", "hw");
	stats_counter(o, "ipackets", st.ipackets);
	stats_counter(o, "opackets", st.opackets);
	stats_counter(o, "ibytes", st.ibytes);
	stats_counter(o, "obytes", st.obytes);
	stats_counter(o, "imissed", st.imissed);
	stats_counter(o, "ierrors", st.ierrors);
	stats_counter(o, "oerrors", st.oerrors);
	stats_counter(o, "rx_nombuf", st.rx_nombuf);
	stats_end(o);
}

/* Worker W's counters of port PORT (W < 0: every worker's) into *pc. */
static void port_counters(const struct ctl_ctx *ctx, int w, unsigned port,
			  struct port_counters *pc)
{
	memset(pc, 0, sizeof(*pc));
	for (unsigned i = 0; i < nb_workers(ctx); i++) {
		const struct worker_stats *ws = ctx->worker[i].stats;

		if (ws == NULL || (w >= 0 && (unsigned)w != i))
			continue;
		ADD_ALL(pc, &ws->port[port]);
	}
}

static void put_ports(struct stats_out *o, const struct ctl_ctx *ctx)
{
	struct port_counters pc;

	stats_list(o, "ports", "port", "port");
	for (unsigned i = 0; i < nb_ports(ctx); i++) {
		const struct conf_port *cp = &ctx->conf->ports[i];

		stats_item(o, cp->name);
		stats_text(o, "name", cp->name);
		stats_gauge(o, "port_id", ctx->port_id[i]);
		stats_text(o, "device", cp->device);
		put_addresses(o, cp);
		put_link(o, ctx->port_id[i]);
		port_counters(ctx, -1, i, &pc);
		put_counters(o, &pc, true);
		put_hw(o, ctx->port_id[i]);
		stats_end(o);
	}
	stats_end(o);
}

/* ---- the layers, summed over one worker or all ----------------------------- */

#define C STATS_COUNTER
#define G STATS_GAUGE

static const struct stats_field diag_fields[] = {
	{"accepted", C}, {"sends", C}, {"sends_ok", C}, {"sends_failed", C},
	{"bytes_in", C}, {"bytes_out", C}, {"no_mem", C}};
static const struct stats_field smtp_fields[] = {
	{"sessions", C}, {"active", G}, {"no_session", C}, {"refused", C},
	{"tls_ok", C}, {"tls_failed", C}, {"auth_ok", C}, {"auth_failed", C},
	{"auth_busy", C}, {"messages", C}, {"commit_failed", C}, {"bytes", C},
	{"replies_4xx", C}, {"replies_5xx", C}, {"bare_lf", C}, {"nul", C},
	{"long_line", C}, {"forbidden", C}, {"too_many_errors", C},
	{"timeouts", C}, {"oversize", C}, {"rcpt_limit", C}, {"ended_quit", C},
	{"ended_refused", C}, {"ended_timeout", C}, {"ended_error", C},
	{"ended_lost", C}};
static const struct stats_field spool_fields[] = {
	{"msgs_committed", C}, {"msgs_failed", C}, {"commits", C},
	{"commit_msgs_max", G}, {"bytes_written", C}, {"write_errors", C},
	{"enospc", C}, {"refused_full", C}, {"refused_slots", C},
	{"refused_records", C}, {"refused_blocks", C}, {"refused_io", C},
	{"recovered", C}, {"discarded", C},
	{"reclaimed", C}, {"segs_in_use", G}, {"segs_free", G}, {"mem_bytes", G},
	{"disk_reads", C}};
static const struct stats_field relay_fields[] = {
	{"attempts", C}, {"conns", C}, {"conn_fail", C}, {"failovers", C},
	{"replies_2xx", C}, {"replies_3xx", C}, {"replies_4xx", C},
	{"replies_5xx", C}, {"sent", C}, {"deferred", C}, {"bounced", C},
	{"tls_ok", C}, {"tls_failed", C}, {"no_env", C}, {"dsn_sent", C},
	{"dsn_dropped", C}, {"env_nomem", C}, {"unresolved", C}, {"stale_retries", C}};
static const struct stats_field relay_host_fields[] = {
	{"attempts", C}, {"conns", C}, {"conn_fail", C}, {"tls_ok", C},
	{"tls_failed", C}};
static const struct stats_field queue_fields[] = {
	{"entries", G}, {"rcpts", G}, {"added", C}, {"full", C},
	{"attempts", C}, {"deferred", C}, {"finished", C}, {"expired", C},
	{"deleted", C}, {"held", C}, {"released", C}, {"retried", C}};

#undef C
#undef G

_Static_assert(sizeof(struct inbound_stats) == RTE_DIM(smtp_fields) * 8,
	       "smtp_fields must name every inbound_stats counter");
_Static_assert(offsetof(struct spool_stats, commit_us_sum) ==
	       RTE_DIM(spool_fields) * sizeof(uint64_t),
	       "spool_fields must name every spool_stats counter before the commit figures");
_Static_assert(sizeof(struct diag_stats) == RTE_DIM(diag_fields) * 8,
	       "diag_fields must name every diag_stats counter");
_Static_assert(offsetof(struct relay_stats, host) == RTE_DIM(relay_fields) * 8,
	       "relay_fields must name every relay_stats counter");
_Static_assert(sizeof(struct relay_host_stats) == RTE_DIM(relay_host_fields) * 8,
	       "relay_host_fields must name every relay_host_stats counter");
_Static_assert(sizeof(struct queue_stats) == RTE_DIM(queue_fields) * 8,
	       "queue_fields must name every queue_stats counter");

/* What the layers count, summed over the workers chosen. */
struct layer_sums {
	struct tcp_stats tcp;
	struct diag_stats diag;
	struct inbound_stats smtp;
	struct spool_stats spool;
	struct relay_stats relay;
	struct queue_stats queue;
	struct queue_depth depth;
	uint64_t queue_as_of_us;           /* oldest snapshot read */
};

/* Worker W's published queue head (zeroes before its first snapshot). */
static void add_queue(struct layer_sums *s, const struct ctl_worker *cw)
{
	struct queue_snap_head head;

	if (cw->queue == NULL)
		return;
	memset(&head, 0, sizeof(head));
	if (queue_port_read(cw->queue, &head, NULL, 0) < 0)
		return;
	ADD_ALL(&s->queue, &head.stats);
	for (unsigned i = 0; i < RTE_DIM(head.depth.state); i++)
		s->depth.state[i] += head.depth.state[i];
	for (unsigned i = 0; i < RTE_DIM(head.depth.age); i++)
		s->depth.age[i] += head.depth.age[i];
	s->depth.inflight += head.depth.inflight;
	if (s->queue_as_of_us == 0 || head.time_us < s->queue_as_of_us)
		s->queue_as_of_us = head.time_us;
}

static void layer_sums(const struct ctl_ctx *ctx, int w, struct layer_sums *s)
{
	memset(s, 0, sizeof(*s));
	for (unsigned i = 0; i < nb_workers(ctx); i++) {
		const struct ctl_worker *cw = &ctx->worker[i];

		if (w >= 0 && (unsigned)w != i)
			continue;
		ADD_ALL(&s->tcp, cw->tcp);
		ADD_ALL(&s->diag, cw->diag);
		ADD_ALL(&s->smtp, cw->smtp);
		ADD_ALL(&s->spool, cw->spool);
		ADD_ALL(&s->relay, cw->relay);
		add_queue(s, cw);
	}
	/* sums of a maximum are not one: take the largest */
	s->spool.commit_us_max = s->spool.commit_msgs_max = 0;
	for (unsigned i = 0; i < nb_workers(ctx); i++) {
		const struct spool_stats *sp = ctx->worker[i].spool;

		if (sp == NULL || (w >= 0 && (unsigned)w != i))
			continue;
		s->spool.commit_us_max = RTE_MAX(s->spool.commit_us_max,
						 STATS_GET(sp->commit_us_max));
		s->spool.commit_msgs_max = RTE_MAX(s->spool.commit_msgs_max,
						   STATS_GET(sp->commit_msgs_max));
	}
}

static void put_tcp(struct stats_out *o, const struct tcp_stats *t)
{
	stats_group(o, "tcp", "tcp");
#define PUT(name) stats_counter(o, #name, t->name);
	TCP_STATS_FIELDS(PUT)
#undef PUT
	stats_gauge(o, "conns", t->conns);
	stats_gauge(o, "time_wait", t->time_wait);
	stats_gauge(o, "mem_bytes", t->mem_bytes);
	stats_end(o);
}

static void put_table(struct stats_out *o, const char *key,
		      const struct stats_field *f, const void *v, unsigned n)
{
	stats_group(o, key, key);
	stats_fields(o, f, v, n);
}

static void put_spool(struct stats_out *o, const struct spool_stats *sp)
{
	struct stats_hist h = {.bound = spool_commit_bound_us,
			       .count = sp->commit_us_hist,
			       .n = SPOOL_COMMIT_BUCKETS,
			       .sum = sp->commit_us_sum};

	put_table(o, "spool", spool_fields, sp, RTE_DIM(spool_fields));
	stats_gauge(o, "commit_max_us", sp->commit_us_max);
	stats_hist(o, "commit_latency_us", &h);
	stats_end(o);
}

static const char *const state_names[] = {
	[QUEUE_ACTIVE] = "active", [QUEUE_DEFERRED] = "deferred",
	[QUEUE_HELD] = "held",
};
static const char *const age_names[QUEUE_AGE_BUCKETS + 1] = {
	"under_1m", "under_5m", "under_1h", "under_6h", "under_1d", "over_1d",
};

/* The queue's counters and its depth by state and by age: gauges that
 * read 0 when nothing is queued (or no snapshot came yet). */
static void put_queue(struct stats_out *o, const struct layer_sums *s)
{
	put_table(o, "queue", queue_fields, &s->queue, RTE_DIM(queue_fields));
	stats_gauge(o, "inflight", s->depth.inflight);
	stats_map(o, "by_state", "depth", "state");
	for (unsigned i = QUEUE_ACTIVE; i <= QUEUE_HELD; i++)
		stats_gauge(o, state_names[i], s->depth.state[i]);
	stats_end(o);
	stats_map(o, "by_age", "depth_age", "age");
	for (unsigned i = 0; i <= QUEUE_AGE_BUCKETS; i++)
		stats_gauge(o, age_names[i], s->depth.age[i]);
	stats_end(o);
	stats_end(o);
}

/* What the control plane knows of host H's name (all workers' view):
 * the addresses in use, the last TTL, the lookups. */
static void put_dns(struct stats_out *o, const struct relay_dns_host *h)
{
	char list[RELAY_ADDRS_MAX * 16] = "", ip[16];
	size_t len = 0;

	for (unsigned i = 0; i < h->n && i < RELAY_ADDRS_MAX; i++) {
		format_ipv4(ip, sizeof(ip), h->a[i]);
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s",
					i ? " " : "", ip);
	}
	stats_text(o, "addresses", list);
	stats_gauge(o, "ttl_s", h->ttl);
	stats_counter(o, "lookups_ok", h->ok);
	stats_counter(o, "lookups_failed", h->failed);
}

/* The relay's counters, then each configured smart host's by name; ALL
 * (the sum over workers) adds what the control plane's resolver knows of
 * the hosts given by name. */
static void put_relay(struct stats_out *o, const struct ctl_ctx *ctx,
		      const struct relay_stats *r, bool all)
{
	/* the hosts the workers' counters are indexed by: the current snapshot's */
	const struct conf_relay *c = ctx->reload != NULL
		? &snap_current(ctx->reload->pub)->conf.relay : &ctx->conf->relay;

	put_table(o, "relay", relay_fields, r, RTE_DIM(relay_fields));
	stats_map(o, "hosts", "host", "host");
	for (unsigned h = 0; h < c->nb_hosts && h < CONF_RELAY_HOSTS; h++) {
		stats_item(o, c->hosts[h].name);
		stats_fields(o, relay_host_fields, (const uint64_t *)&r->host[h],
			     RTE_DIM(relay_host_fields));
		if (all && ctx->dns != NULL && ctx->dns->host[h].named)
			put_dns(o, &ctx->dns->host[h]);
		stats_end(o);
	}
	stats_end(o);
	stats_end(o);
}

/* "tcp", "diag", "smtp", "spool", "queue" and "relay" of one worker
 * (W < nb_workers) or, W = -1, of all. */
static void put_layers(struct stats_out *o, const struct ctl_ctx *ctx, int w)
{
	struct layer_sums s;

	layer_sums(ctx, w, &s);
	put_tcp(o, &s.tcp);
	put_table(o, "diag", diag_fields, &s.diag, RTE_DIM(diag_fields));
	stats_end(o);
	put_table(o, "smtp", smtp_fields, &s.smtp, RTE_DIM(smtp_fields));
	stats_end(o);
	put_spool(o, &s.spool);
	put_queue(o, &s);
	put_relay(o, ctx, &s.relay, w < 0);
}

/* ---- workers --------------------------------------------------------------- */

static void put_worker(struct stats_out *o, const struct ctl_ctx *ctx,
		       unsigned w)
{
	const struct worker_stats *ws = ctx->worker[w].stats;
	struct port_counters pc;

	stats_gauge(o, "lcore", ctx->worker[w].lcore);
	if (ws == NULL)
		return;
	stats_counter(o, "polls", STATS_GET(ws->polls));
	stats_counter(o, "busy_polls", STATS_GET(ws->busy_polls));
	stats_counter(o, "loop_us", STATS_GET(ws->loop_us));
	stats_counter(o, "work_us", STATS_GET(ws->work_us));
	stats_gauge(o, "arp_entries", STATS_GET(ws->arp_entries));
	stats_gauge(o, "arp_pending", STATS_GET(ws->arp_pending));
	stats_counter(o, "tcp_redirect_out", STATS_GET(ws->tcp_redirect_out));
	stats_counter(o, "tcp_redirect_in", STATS_GET(ws->tcp_redirect_in));
	stats_counter(o, "tcp_redirect_drops", STATS_GET(ws->tcp_redirect_drops));
	stats_list(o, "ports", "port", "port");
	for (unsigned i = 0; i < nb_ports(ctx); i++) {
		stats_item(o, ctx->conf->ports[i].name);
		stats_text(o, "name", ctx->conf->ports[i].name);
		port_counters(ctx, (int)w, i, &pc);
		put_counters(o, &pc, false);
		stats_end(o);
	}
	stats_end(o);
	put_layers(o, ctx, (int)w);
}

void ctl_stats_walk(const struct ctl_ctx *ctx, struct stats_out *o)
{
	char id[16];

	stats_gauge(o, "uptime_s", ctl_uptime_s(ctx));
	put_ports(o, ctx);
	put_layers(o, ctx, -1);
	stats_list(o, "workers", "worker", "worker");
	for (unsigned w = 0; w < nb_workers(ctx); w++) {
		snprintf(id, sizeof(id), "%u", w);
		stats_item(o, id);
		put_worker(o, ctx, w);
		stats_end(o);
	}
	stats_end(o);
}

struct json_object *ctl_stats_json(const struct ctl_ctx *ctx)
{
	struct stats_out_json j;

	stats_out_json_init(&j);
	ctl_stats_walk(ctx, &j.out);
	return stats_out_json_take(&j);
}

char *ctl_stats_prom(const struct ctl_ctx *ctx, size_t *len)
{
	struct prom_out p;
	char *text = NULL;

	prom_out_init(&p);
	ctl_stats_walk(ctx, &p.out);
	if (p.out.err == 0 && prom_out_sort(&p) == 0)
		text = prom_out_text(&p, len);
	prom_out_fini(&p);
	return text;
}
