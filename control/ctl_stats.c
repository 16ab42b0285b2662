/*
 * ctl_stats: the result object of the control socket's "stats" command.
 * Sums every worker's single-writer counters per port (read with
 * STATS_GET, no locks), adds what the ethdev layer knows about each port
 * (MAC, link, hardware counters) and lists each worker's own view.  Owns
 * no state; a port whose ethdev cannot be queried is reported without
 * "hw", with "mac": null and "link_up": false.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>
#include <rte_ethdev.h>

#include "control/ctl.h"

/* One port's software counters, for one worker or summed over all. */
struct port_counters {
	uint64_t rx_pkts, rx_bytes;
	uint64_t tx_pkts, tx_bytes;
	uint64_t drops[DROP__COUNT];
};

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

static uint64_t uptime_s(const struct ctl_ctx *ctx)
{
	struct timespec ts;
	uint64_t now;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	return now > ctx->started_ns ? (now - ctx->started_ns) / 1000000000u : 0;
}

/* Add KEY: VAL to OBJ, taking VAL; -ENOMEM when VAL is NULL or the add
 * fails (VAL is released then). */
static int put(struct json_object *obj, const char *key, struct json_object *val)
{
	if (val == NULL)
		return -ENOMEM;
	if (json_object_object_add(obj, key, val) < 0) {
		json_object_put(val);
		return -ENOMEM;
	}
	return 0;
}

static int put_u64(struct json_object *obj, const char *key, uint64_t v)
{
	return put(obj, key, json_object_new_uint64(v));
}

static int put_str(struct json_object *obj, const char *key, const char *s)
{
	return put(obj, key, json_object_new_string(s));
}

static int put_null(struct json_object *obj, const char *key)
{
	return json_object_object_add(obj, key, NULL) < 0 ? -ENOMEM : 0;
}

static int append(struct json_object *arr, struct json_object *val)
{
	if (val == NULL)
		return -ENOMEM;
	if (json_object_array_add(arr, val) < 0) {
		json_object_put(val);
		return -ENOMEM;
	}
	return 0;
}

static void format_ipv4(char *buf, size_t len, uint32_t addr)
{
	snprintf(buf, len, "%u.%u.%u.%u", (addr >> 24) & 0xff,
		 (addr >> 16) & 0xff, (addr >> 8) & 0xff, addr & 0xff);
}

/* Add one worker's counters for port PORT into *sum. */
static void add_port_counters(struct port_counters *sum,
			      const struct worker_stats *ws, unsigned port)
{
	const struct stats_port *sp = &ws->port[port];

	sum->rx_pkts += STATS_GET(sp->rx_pkts);
	sum->rx_bytes += STATS_GET(sp->rx_bytes);
	sum->tx_pkts += STATS_GET(sp->tx_pkts);
	sum->tx_bytes += STATS_GET(sp->tx_bytes);
	for (unsigned r = 0; r < DROP__COUNT; r++)
		sum->drops[r] += STATS_GET(sp->drops[r]);
}

static uint64_t drops_total(const struct port_counters *pc)
{
	uint64_t total = 0;

	for (unsigned r = 0; r < DROP__COUNT; r++)
		total += pc->drops[r];
	return total;
}

/* {"eth_runt": n, ...}: every reason, or only the nonzero ones. */
static struct json_object *drops_json(const struct port_counters *pc,
				      bool every_reason)
{
	struct json_object *obj = json_object_new_object();

	if (obj == NULL)
		return NULL;
	for (unsigned r = 0; r < DROP__COUNT; r++) {
		if (!every_reason && pc->drops[r] == 0)
			continue;
		if (put_u64(obj, stats_drop_name[r], pc->drops[r]) < 0) {
			json_object_put(obj);
			return NULL;
		}
	}
	return obj;
}

/* rx/tx packets and bytes, drops_total and drops into OBJ. */
static int put_counters(struct json_object *obj, const struct port_counters *pc,
			bool every_reason)
{
	if (put_u64(obj, "rx_pkts", pc->rx_pkts) ||
	    put_u64(obj, "rx_bytes", pc->rx_bytes) ||
	    put_u64(obj, "tx_pkts", pc->tx_pkts) ||
	    put_u64(obj, "tx_bytes", pc->tx_bytes) ||
	    put_u64(obj, "drops_total", drops_total(pc)) ||
	    put(obj, "drops", drops_json(pc, every_reason)))
		return -ENOMEM;
	return 0;
}

/* "address", "gateway" (or null) of conf port CP into OBJ. */
static int put_addresses(struct json_object *obj, const struct conf_port *cp)
{
	char ip[16], cidr[24];

	format_ipv4(ip, sizeof(ip), cp->addr);
	snprintf(cidr, sizeof(cidr), "%s/%u", ip, cp->prefix);
	if (put_str(obj, "address", cidr) < 0)
		return -ENOMEM;
	if (cp->gateway == 0)
		return put_null(obj, "gateway");
	format_ipv4(ip, sizeof(ip), cp->gateway);
	return put_str(obj, "gateway", ip);
}

/* "mac" and "link_up" from the ethdev, or null/false when unavailable. */
static int put_link(struct json_object *obj, uint16_t port_id)
{
	struct rte_ether_addr mac;
	struct rte_eth_link link;
	bool valid = rte_eth_dev_is_valid_port(port_id);
	bool up = false;
	char buf[RTE_ETHER_ADDR_FMT_SIZE];
	int rc;

	if (valid && rte_eth_macaddr_get(port_id, &mac) == 0) {
		const uint8_t *b = mac.addr_bytes;

		snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x",
			 b[0], b[1], b[2], b[3], b[4], b[5]);
		rc = put_str(obj, "mac", buf);
	} else {
		rc = put_null(obj, "mac");
	}
	if (valid && rte_eth_link_get_nowait(port_id, &link) == 0)
		up = link.link_status == RTE_ETH_LINK_UP;
	if (rc == 0)
		rc = put(obj, "link_up", json_object_new_boolean(up));
	return rc;
}

/* "hw": the ethdev's own counters; omitted when the port cannot say. */
static int put_hw(struct json_object *obj, uint16_t port_id)
{
	struct rte_eth_stats st;
	struct json_object *hw;

	if (!rte_eth_dev_is_valid_port(port_id) ||
	    rte_eth_stats_get(port_id, &st) != 0)
		return 0;
	hw = json_object_new_object();
	if (hw == NULL)
		return -ENOMEM;
	if (put_u64(hw, "ipackets", st.ipackets) ||
	    put_u64(hw, "opackets", st.opackets) ||
	    put_u64(hw, "ibytes", st.ibytes) ||
	    put_u64(hw, "obytes", st.obytes) ||
	    put_u64(hw, "imissed", st.imissed) ||
	    put_u64(hw, "ierrors", st.ierrors) ||
	    put_u64(hw, "oerrors", st.oerrors) ||
	    put_u64(hw, "rx_nombuf", st.rx_nombuf)) {
		json_object_put(hw);
		return -ENOMEM;
	}
	return put(obj, "hw", hw);
}

/* One entry of "ports": configuration, ethdev view, summed counters. */
static struct json_object *port_json(const struct ctl_ctx *ctx, unsigned i)
{
	const struct conf_port *cp = &ctx->conf->ports[i];
	struct port_counters sum;
	struct json_object *obj = json_object_new_object();

	if (obj == NULL)
		return NULL;
	memset(&sum, 0, sizeof(sum));
	for (unsigned w = 0; w < nb_workers(ctx); w++)
		if (ctx->worker[w].stats != NULL)
			add_port_counters(&sum, ctx->worker[w].stats, i);
	if (put_str(obj, "name", cp->name) ||
	    put_u64(obj, "port_id", ctx->port_id[i]) ||
	    put_str(obj, "device", cp->device) ||
	    put_addresses(obj, cp) ||
	    put_link(obj, ctx->port_id[i]) ||
	    put_counters(obj, &sum, true) ||
	    put_hw(obj, ctx->port_id[i])) {
		json_object_put(obj);
		return NULL;
	}
	return obj;
}

/* One entry of a worker's "ports": its own counters, nonzero drops only. */
static struct json_object *worker_port_json(const struct ctl_ctx *ctx,
					    const struct worker_stats *ws,
					    unsigned i)
{
	struct port_counters pc;
	struct json_object *obj = json_object_new_object();

	if (obj == NULL)
		return NULL;
	memset(&pc, 0, sizeof(pc));
	add_port_counters(&pc, ws, i);
	if (put_str(obj, "name", ctx->conf->ports[i].name) ||
	    put_counters(obj, &pc, false)) {
		json_object_put(obj);
		return NULL;
	}
	return obj;
}

static struct json_object *worker_ports_json(const struct ctl_ctx *ctx,
					     const struct worker_stats *ws)
{
	struct json_object *arr = json_object_new_array();

	if (arr == NULL)
		return NULL;
	for (unsigned i = 0; i < nb_ports(ctx); i++) {
		if (append(arr, worker_port_json(ctx, ws, i)) < 0) {
			json_object_put(arr);
			return NULL;
		}
	}
	return arr;
}

/* ---- TCP and the diag services ------------------------------------------ */

/* Add one worker's TCP counters into *sum (NULL: a worker without TCP). */
static void add_tcp(struct tcp_stats *sum, const struct tcp_stats *t)
{
	if (t == NULL)
		return;
#define ADD(name) sum->name += STATS_GET(t->name);
	TCP_STATS_FIELDS(ADD)
	ADD(conns) ADD(time_wait) ADD(mem_bytes)
#undef ADD
}

static struct json_object *tcp_json(const struct tcp_stats *t)
{
	struct json_object *obj = json_object_new_object();

	if (obj == NULL)
		return NULL;
#define PUT(name) || put_u64(obj, #name, t->name)
	if (0 TCP_STATS_FIELDS(PUT) PUT(conns) PUT(time_wait) PUT(mem_bytes)) {
#undef PUT
		json_object_put(obj);
		return NULL;
	}
	return obj;
}

static void add_diag(struct diag_stats *sum, const struct diag_stats *d)
{
	if (d == NULL)
		return;
	sum->accepted += STATS_GET(d->accepted);
	sum->sends += STATS_GET(d->sends);
	sum->sends_ok += STATS_GET(d->sends_ok);
	sum->sends_failed += STATS_GET(d->sends_failed);
	sum->bytes_in += STATS_GET(d->bytes_in);
	sum->bytes_out += STATS_GET(d->bytes_out);
	sum->no_mem += STATS_GET(d->no_mem);
}

static struct json_object *diag_json(const struct diag_stats *d)
{
	struct json_object *obj = json_object_new_object();

	if (obj == NULL)
		return NULL;
	if (put_u64(obj, "accepted", d->accepted) ||
	    put_u64(obj, "sends", d->sends) ||
	    put_u64(obj, "sends_ok", d->sends_ok) ||
	    put_u64(obj, "sends_failed", d->sends_failed) ||
	    put_u64(obj, "bytes_in", d->bytes_in) ||
	    put_u64(obj, "bytes_out", d->bytes_out) ||
	    put_u64(obj, "no_mem", d->no_mem)) {
		json_object_put(obj);
		return NULL;
	}
	return obj;
}

/* Sum N uint64_t counters at SRC (a struct of them) into DST. */
static void add_u64s(uint64_t *dst, const uint64_t *src, size_t n)
{
	if (src == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		dst[i] += __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}

#define ADD_ALL(dst, src) \
	add_u64s((uint64_t *)(dst), (const uint64_t *)(src), sizeof(*(dst)) / sizeof(uint64_t))

static struct json_object *named_json(const uint64_t *v, const char *const *names,
				      size_t n)
{
	struct json_object *obj = json_object_new_object();

	for (size_t i = 0; obj != NULL && i < n; i++)
		if (put_u64(obj, names[i], v[i]) < 0) {
			json_object_put(obj);
			return NULL;
		}
	return obj;
}

static const char *const smtp_names[] = {
	"sessions", "active", "no_session", "refused", "tls_ok", "tls_failed",
	"auth_ok", "auth_failed", "auth_busy", "messages", "commit_failed",
	"bytes", "replies_4xx", "replies_5xx", "bare_lf", "nul", "long_line",
	"forbidden", "too_many_errors", "timeouts"};
static const char *const spool_names[] = {
	"msgs_committed", "msgs_failed", "commits", "commit_msgs_max",
	"bytes_written", "write_errors", "enospc", "refused_full", "recovered",
	"discarded", "reclaimed", "segs_in_use", "segs_free", "mem_bytes",
	"disk_reads"};

static const char *const relay_names[] = {
	"attempts", "conns", "conn_fail", "failovers", "replies_2xx",
	"replies_3xx", "replies_4xx", "replies_5xx", "sent", "deferred",
	"bounced", "tls_ok", "tls_failed", "no_env", "dsn_sent", "dsn_dropped",
	"env_nomem", "unresolved"};
static const char *const relay_host_names[] = {
	"attempts", "conns", "conn_fail", "tls_ok", "tls_failed"};

_Static_assert(offsetof(struct relay_stats, host) ==
	       sizeof(relay_names) / sizeof(char *) * sizeof(uint64_t),
	       "relay_names must name every relay_stats counter");
_Static_assert(sizeof(struct relay_host_stats) ==
	       sizeof(relay_host_names) / sizeof(char *) * sizeof(uint64_t),
	       "relay_host_names must name every relay_host_stats counter");
_Static_assert(sizeof(struct inbound_stats) == sizeof(smtp_names) / sizeof(char *) * 8,
	       "smtp_names must name every inbound_stats counter");
_Static_assert(offsetof(struct spool_stats, disk_reads) ==
	       (sizeof(spool_names) / sizeof(char *) - 1) * sizeof(uint64_t),
	       "spool_names must name every spool_stats counter");

/* What the control plane knows of host H's name (all workers' view):
 * lookups, the last TTL, the addresses in use. */
static int put_dns(struct json_object *obj, const struct relay_dns_host *h)
{
	struct json_object *arr = json_object_new_array();
	char ip[16];

	if (put(obj, "addresses", arr) < 0)
		return -ENOMEM;
	for (unsigned i = 0; i < h->n && i < RELAY_ADDRS_MAX; i++) {
		format_ipv4(ip, sizeof(ip), h->a[i]);
		if (append(arr, json_object_new_string(ip)) < 0)
			return -ENOMEM;
	}
	return put_u64(obj, "lookups_ok", h->ok) || put_u64(obj, "lookups_failed", h->failed) ||
	       put_u64(obj, "ttl_s", h->ttl) ? -ENOMEM : 0;
}

/* The relay's counters (summed already), with "hosts": {NAME: {...}} for
 * each configured smart host; ALL (the sum over workers) adds what the
 * control plane knows of the hosts given by name. */
static struct json_object *relay_json(const struct ctl_ctx *ctx,
				      const struct relay_stats *rs, bool all)
{
	struct json_object *obj = named_json((const uint64_t *)rs, relay_names,
					     RTE_DIM(relay_names));
	struct json_object *hosts = json_object_new_object();
	const struct conf_relay *c = &ctx->conf->relay;

	if (obj == NULL || put(obj, "hosts", hosts) < 0) {
		json_object_put(obj);
		return NULL;
	}
	for (unsigned h = 0; h < c->nb_hosts && h < CONF_RELAY_HOSTS; h++) {
		struct json_object *ho = named_json((const uint64_t *)&rs->host[h],
						    relay_host_names, RTE_DIM(relay_host_names));

		if (put(hosts, c->hosts[h].name, ho) < 0 ||
		    (all && ctx->dns != NULL && ctx->dns->host[h].named &&
		     put_dns(ho, &ctx->dns->host[h]) < 0)) {
			json_object_put(obj);
			return NULL;
		}
	}
	return obj;
}

/* "tcp", "diag", "smtp", "spool" and "relay" of one worker (W <
 * nb_workers) or, W = -1, of all. */
static int put_tcp_diag(struct json_object *obj, const struct ctl_ctx *ctx, int w)
{
	struct tcp_stats t;
	struct diag_stats d;
	struct inbound_stats m;
	struct relay_stats rs;
	uint64_t sp[RTE_DIM(spool_names)];

	memset(&t, 0, sizeof(t));
	memset(&d, 0, sizeof(d));
	memset(&m, 0, sizeof(m));
	memset(sp, 0, sizeof(sp));
	memset(&rs, 0, sizeof(rs));
	for (unsigned i = 0; i < nb_workers(ctx); i++) {
		if (w >= 0 && (unsigned)w != i)
			continue;
		add_tcp(&t, ctx->worker[i].tcp);
		add_diag(&d, ctx->worker[i].diag);
		ADD_ALL(&m, ctx->worker[i].smtp);
		add_u64s(sp, (const uint64_t *)ctx->worker[i].spool, RTE_DIM(sp));
		ADD_ALL(&rs, ctx->worker[i].relay);
	}
	if (put(obj, "tcp", tcp_json(&t)) || put(obj, "diag", diag_json(&d)) ||
	    put(obj, "smtp", named_json((const uint64_t *)&m, smtp_names,
					RTE_DIM(smtp_names))) ||
	    put(obj, "spool", named_json(sp, spool_names, RTE_DIM(spool_names))) ||
	    put(obj, "relay", relay_json(ctx, &rs, w < 0)))
		return -ENOMEM;
	return 0;
}

/* One entry of "workers".  A worker without counters shows only its lcore. */
static struct json_object *worker_json(const struct ctl_ctx *ctx, unsigned w)
{
	const struct worker_stats *ws = ctx->worker[w].stats;
	struct json_object *obj = json_object_new_object();

	if (obj == NULL)
		return NULL;
	if (put_u64(obj, "lcore", ctx->worker[w].lcore) < 0)
		goto fail;
	if (ws == NULL)
		return obj;
	if (put_u64(obj, "polls", STATS_GET(ws->polls)) ||
	    put_u64(obj, "busy_polls", STATS_GET(ws->busy_polls)) ||
	    put_u64(obj, "arp_entries", STATS_GET(ws->arp_entries)) ||
	    put_u64(obj, "arp_pending", STATS_GET(ws->arp_pending)) ||
	    put_u64(obj, "tcp_redirect_out", STATS_GET(ws->tcp_redirect_out)) ||
	    put_u64(obj, "tcp_redirect_in", STATS_GET(ws->tcp_redirect_in)) ||
	    put_u64(obj, "tcp_redirect_drops", STATS_GET(ws->tcp_redirect_drops)) ||
	    put(obj, "ports", worker_ports_json(ctx, ws)) ||
	    put_tcp_diag(obj, ctx, (int)w))
		goto fail;
	return obj;
fail:
	json_object_put(obj);
	return NULL;
}

static struct json_object *ports_json(const struct ctl_ctx *ctx)
{
	struct json_object *arr = json_object_new_array();

	if (arr == NULL)
		return NULL;
	for (unsigned i = 0; i < nb_ports(ctx); i++) {
		if (append(arr, port_json(ctx, i)) < 0) {
			json_object_put(arr);
			return NULL;
		}
	}
	return arr;
}

static struct json_object *workers_json(const struct ctl_ctx *ctx)
{
	struct json_object *arr = json_object_new_array();

	if (arr == NULL)
		return NULL;
	for (unsigned w = 0; w < nb_workers(ctx); w++) {
		if (append(arr, worker_json(ctx, w)) < 0) {
			json_object_put(arr);
			return NULL;
		}
	}
	return arr;
}

struct json_object *ctl_stats_json(const struct ctl_ctx *ctx)
{
	struct json_object *obj = json_object_new_object();

	if (obj == NULL)
		return NULL;
	if (put_u64(obj, "uptime_s", uptime_s(ctx)) ||
	    put(obj, "ports", ports_json(ctx)) ||
	    put_tcp_diag(obj, ctx, -1) ||
	    put(obj, "workers", workers_json(ctx))) {
		json_object_put(obj);
		return NULL;
	}
	return obj;
}
