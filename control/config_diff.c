/*
 * config_diff: key-by-key comparison of two configurations — see
 * config_diff.h.  Values are compared field by field (never whole structs:
 * padding is not part of a value).
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "control/config_diff.h"

#define SAME(a, b, f) (memcmp(&(a)->f, &(b)->f, sizeof((a)->f)) == 0)
#define SAME_STR(a, b, f) (strcmp((a)->f, (b)->f) == 0)

static bool same_eal(const struct conf *a, const struct conf *b)
{
	if (a->eal_argc != b->eal_argc)
		return false;
	for (int i = 0; i < a->eal_argc; i++)
		if (strcmp(a->eal_argv[i], b->eal_argv[i]) != 0)
			return false;
	return true;
}

static bool same_impair(const struct impair_conf *a, const struct impair_conf *b)
{
	return SAME(a, b, loss_ppm) && SAME(a, b, dup_ppm) && SAME(a, b, reorder_ppm) &&
	       SAME(a, b, corrupt_ppm) && SAME(a, b, delay_us) && SAME(a, b, jitter_us) &&
	       SAME(a, b, reorder_delay_us) && SAME(a, b, seed) && SAME(a, b, max_held);
}

static bool same_ports(const struct conf *a, const struct conf *b)
{
	if (a->nb_ports != b->nb_ports)
		return false;
	for (unsigned i = 0; i < a->nb_ports; i++) {
		const struct conf_port *p = &a->ports[i], *q = &b->ports[i];

		if (!SAME_STR(p, q, name) || !SAME_STR(p, q, device) || !SAME(p, q, addr) ||
		    !SAME(p, q, prefix) || !SAME(p, q, gateway) || !SAME(p, q, rx_desc) ||
		    !SAME(p, q, tx_desc) || !SAME(p, q, impaired) ||
		    (p->impaired && !same_impair(&p->impair, &q->impair)))
			return false;
	}
	return true;
}

static bool same_tcp(const struct conf *a, const struct conf *b)
{
	const struct tcp_stack_conf *p = &a->tcp, *q = &b->tcp;

	return SAME(p, q, max_conns) && SAME(p, q, time_wait_max) &&
	       SAME(p, q, syn_backlog) && SAME(p, q, sndbuf) && SAME(p, q, rcvbuf) &&
	       SAME(p, q, mss) && SAME(p, q, delack_us) && SAME(p, q, rto_initial_us) &&
	       SAME(p, q, rto_min_us) && SAME(p, q, rto_max_us) &&
	       SAME(p, q, syn_retries) && SAME(p, q, data_retries) &&
	       SAME(p, q, time_wait_us) && SAME(p, q, fin_wait2_us) &&
	       SAME(p, q, syn_rcvd_us) && SAME(p, q, keepalive_idle_us) &&
	       SAME(p, q, keepalive_intvl_us) && SAME(p, q, keepalive_probes) &&
	       SAME(p, q, port_lo) && SAME(p, q, port_hi) && SAME(p, q, sack_off);
}

static bool same_arp(const struct conf *a, const struct conf *b)
{
	return SAME(a, b, arp_timeout_s) && SAME(a, b, arp_retry_ms) &&
	       SAME(a, b, arp_retries) && SAME(a, b, arp_pending_max) &&
	       SAME(a, b, arp_entries_max);
}

static bool same_diag(const struct conf *a, const struct conf *b)
{
	return SAME(a, b, diag.echo_port) && SAME(a, b, diag.discard_port) &&
	       SAME(a, b, diag.send);
}

static bool same_spool(const struct conf *a, const struct conf *b)
{
	return SAME_STR(a, b, spool.dir) && SAME(a, b, spool.segment_mb) &&
	       SAME(a, b, spool.segments) && SAME(a, b, spool.max_segments) &&
	       SAME(a, b, spool.commit_interval_us) && SAME(a, b, spool.commit_batch) &&
	       SAME(a, b, spool.memory_mb);
}

static bool same_queue(const struct conf *a, const struct conf *b)
{
	return SAME(a, b, queue.max_messages) && SAME(a, b, queue.max_recipients);
}

static bool same_track(const struct conf *a, const struct conf *b)
{
	return SAME_STR(a, b, track.log) && SAME(a, b, track.log_mb) &&
	       SAME(a, b, track.keep) && SAME(a, b, track.index);
}

static bool same_http(const struct conf *a, const struct conf *b)
{
	return SAME(a, b, http.on) && SAME(a, b, http.addr) && SAME(a, b, http.port) &&
	       SAME_STR(a, b, http.token) && SAME_STR(a, b, http.basic);
}

static bool same_list(const char (*a)[CONF_CIDR_LEN], unsigned na,
		      const char (*b)[CONF_CIDR_LEN], unsigned nb)
{
	if (na != nb)
		return false;
	for (unsigned i = 0; i < na; i++)
		if (strcmp(a[i], b[i]) != 0)
			return false;
	return true;
}

static bool same_allow(const struct conf *a, const struct conf *b)
{
	const struct conf_smtp *p = &a->smtp, *q = &b->smtp;

	return same_list(p->allow, p->nb_allow, q->allow, q->nb_allow);
}

static bool same_allow_file(const struct conf *a, const struct conf *b)
{
	const struct conf_smtp *p = &a->smtp, *q = &b->smtp;

	return SAME_STR(p, q, allow_file) &&
	       same_list(p->allow_file_entries, p->nb_allow_file,
			 q->allow_file_entries, q->nb_allow_file);
}

static bool same_smtp_limits(const struct conf *a, const struct conf *b)
{
	const struct conf_smtp *p = &a->smtp, *q = &b->smtp;

	return SAME(p, q, max_message_size) && SAME(p, q, max_rcpt) &&
	       SAME(p, q, max_errors) && SAME(p, q, cmd_line_max) &&
	       SAME(p, q, text_line_max) && SAME(p, q, auth_line_max) &&
	       SAME(p, q, cmd_timeout_s) && SAME(p, q, data_timeout_s) &&
	       SAME(p, q, min_data_rate) && SAME(p, q, normalize_bare);
}

static bool same_smtp_tls(const struct conf *a, const struct conf *b)
{
	return SAME_STR(a, b, smtp.tls_cert) && SAME_STR(a, b, smtp.tls_key);
}

static bool same_smtp_auth(const struct conf *a, const struct conf *b)
{
	return SAME(a, b, smtp.auth) && SAME_STR(a, b, smtp.credentials);
}

static bool same_hosts(const struct conf *a, const struct conf *b)
{
	const struct conf_relay *r = &a->relay, *s = &b->relay;

	if (r->nb_hosts != s->nb_hosts)
		return false;
	for (unsigned i = 0; i < r->nb_hosts; i++) {
		const struct conf_relay_host *p = &r->hosts[i], *q = &s->hosts[i];

		if (!SAME_STR(p, q, name) || !SAME_STR(p, q, host) || !SAME(p, q, port) ||
		    !SAME(p, q, cost) || !SAME(p, q, tls) || !SAME_STR(p, q, ca_file) ||
		    !SAME_STR(p, q, auth_file) || !SAME(p, q, max_conns) ||
		    !SAME(p, q, msgs_per_conn))
			return false;
	}
	return true;
}

static bool same_routes(const struct conf *a, const struct conf *b)
{
	const struct conf_relay *r = &a->relay, *s = &b->relay;

	if (r->nb_routes != s->nb_routes)
		return false;
	for (unsigned i = 0; i < r->nb_routes; i++)
		if (!SAME_STR(&r->routes[i], &s->routes[i], domain) ||
		    r->routes[i].nb_hosts != s->routes[i].nb_hosts ||
		    memcmp(r->routes[i].hosts, s->routes[i].hosts, r->routes[i].nb_hosts) != 0)
			return false;
	return true;
}

/* The relay's connection slots and the queue's schedule are sized and
 * set when the workers start. */
static bool same_relay_fixed(const struct conf *a, const struct conf *b)
{
	const struct conf_relay *r = &a->relay, *s = &b->relay;

	return (r->nb_hosts == 0) == (s->nb_hosts == 0) && SAME(r, s, max_conns) &&
	       SAME(r, s, nb_retry) && SAME(r, s, retry_s) && SAME(r, s, lifetime_s);
}

static bool same_relay_timers(const struct conf *a, const struct conf *b)
{
	return SAME(a, b, relay.timeout_s) && SAME(a, b, relay.host_down_s);
}

static bool same_smtp_fixed(const struct conf *a, const struct conf *b)
{
	return SAME(a, b, smtp.port) && SAME(a, b, smtp.sessions);
}

#define SIMPLE(fn, field) \
	static bool fn(const struct conf *a, const struct conf *b) { return SAME(a, b, field); }
SIMPLE(same_idle, idle_sleep_us)
SIMPLE(same_mbufs, mbufs)
SIMPLE(same_unknown, smtp.unknown)
#undef SIMPLE
#define SIMPLE_STR(fn, field) \
	static bool fn(const struct conf *a, const struct conf *b) { return SAME_STR(a, b, field); }
SIMPLE_STR(same_socket, ctl_socket)
SIMPLE_STR(same_resolver, relay.resolver)
SIMPLE_STR(same_hostname, smtp.hostname)
#undef SIMPLE_STR

static const struct {
	const char *key;
	bool restart;
	bool (*same)(const struct conf *, const struct conf *);
} keys[] = {
	{"eal", true, same_eal},
	{"control.socket", true, same_socket},
	{"control.track_log/track_log_mb/track_log_keep/track_index", true, same_track},
	{"control.http", true, same_http},
	{"worker.idle_sleep_us", true, same_idle},
	{"ports", true, same_ports},
	{"arp", true, same_arp},
	{"mbufs", true, same_mbufs},
	{"tcp", true, same_tcp},
	{"diag", true, same_diag},
	{"smtp.port/sessions", true, same_smtp_fixed},
	{"smtp.auth/credentials", true, same_smtp_auth},
	{"spool", true, same_spool},
	{"queue", true, same_queue},
	{"relay.max_conns/retry_s/lifetime_s (or adding/removing the relay)", true,
	 same_relay_fixed},
	{"smtp.hostname", false, same_hostname},
	{"smtp.allow", false, same_allow},
	{"smtp.allow_file", false, same_allow_file},
	{"smtp.unknown", false, same_unknown},
	{"smtp.tls_cert/tls_key", false, same_smtp_tls},
	{"smtp limits", false, same_smtp_limits},
	{"relay.smart_hosts", false, same_hosts},
	{"relay.routes", false, same_routes},
	{"relay.timeout_s/host_down_s", false, same_relay_timers},
	{"relay.resolver", false, same_resolver},
};

unsigned conf_diff(const struct conf *old, const struct conf *new,
		   struct conf_change *out, unsigned max)
{
	unsigned n = 0;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]) && n < max; i++)
		if (!keys[i].same(old, new))
			out[n++] = (struct conf_change){.key = keys[i].key,
							.restart = keys[i].restart};
	return n;
}

unsigned conf_changes_join(const struct conf_change *ch, unsigned n,
			   bool restart, char *buf, size_t len)
{
	size_t off = 0;
	unsigned joined = 0;

	if (len > 0)
		buf[0] = '\0';
	for (unsigned i = 0; i < n; i++) {
		if (ch[i].restart != restart)
			continue;
		int w = snprintf(buf + off, off < len ? len - off : 0, "%s%s",
				 joined ? ", " : "", ch[i].key);

		if (w > 0)
			off += (size_t)w;
		joined++;
	}
	return joined;
}
