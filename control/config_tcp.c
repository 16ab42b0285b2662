/*
 * config_tcp: the "tcp" and "diag" sections of the configuration — the
 * per-worker TCP stack's limits and timers, and the diagnostic services.
 */
#include "control/config_impl.h"

/* "tcp": the per-worker TCP stack's limits and timers. */
int conf_load_tcp(const struct loader *ld, const config_setting_t *root,
		    struct conf *out)
{
	static const char *const keys[] = {
		"max_conns", "time_wait_max", "syn_backlog", "sndbuf", "rcvbuf",
		"mss", "time_wait_s", "keepalive_s", "port_lo", "port_hi", NULL};
	struct tcp_stack_conf *t = &out->tcp;
	uint32_t mss, tw_s, ka_s, lo, hi;
	const struct conf_uint_key k[] = {
		{"max_conns", 16, 1u << 20, t->max_conns, &t->max_conns},
		{"time_wait_max", 16, 1u << 22, t->time_wait_max, &t->time_wait_max},
		{"syn_backlog", 0, 65535, t->syn_backlog, &t->syn_backlog},
		{"mss", 536, 1460, t->mss, &mss},
		{"time_wait_s", 1, 240, t->time_wait_us / 1000000, &tw_s},
		{"keepalive_s", 0, 86400, 0, &ka_s},
		{"port_lo", 1024, 65535, t->port_lo, &lo},
		{"port_hi", 1024, 65535, t->port_hi, &hi},
	};
	static const char *const bufs[] = {"sndbuf", "rcvbuf"};
	uint32_t *buf_dst[] = {&t->sndbuf, &t->rcvbuf};
	const config_setting_t *g, *s;
	int rc;

	if ((rc = conf_get_group(ld, root, "tcp", false, keys, &g)) < 0 ||
	    (rc = conf_get_uints(ld, g, k, sizeof(k) / sizeof(k[0]))) < 0)
		return rc;
	for (int i = 0; i < 2; i++) {
		rc = conf_get_uint(ld, g, bufs[i], 4096, 1u << 24, *buf_dst[i], buf_dst[i], &s);
		if (rc < 0)
			return rc;
		if (*buf_dst[i] & (*buf_dst[i] - 1))
			return conf_fail_at(ld, s, "must be a power of two, got %u", *buf_dst[i]);
	}
	if (lo > hi)
		return conf_fail_at(ld, config_setting_get_member(g, "port_lo"),
			       "must not exceed port_hi (%u), got %u", hi, lo);
	t->mss = (uint16_t)mss;
	t->time_wait_us = tw_s * 1000000u;
	t->keepalive_idle_us = (uint64_t)ka_s * 1000000u;
	t->port_lo = (uint16_t)lo;
	t->port_hi = (uint16_t)hi;
	return 0;
}

/* "diag": the TCP echo and discard services, off unless given a port. */
int conf_load_diag(const struct loader *ld, const config_setting_t *root,
		     struct conf *out)
{
	static const char *const keys[] = {"echo_port", "discard_port", "send", NULL};
	uint32_t echo, discard;
	const struct conf_uint_key k[] = {
		{"echo_port", 0, 65535, 0, &echo},
		{"discard_port", 0, 65535, 0, &discard},
	};
	const config_setting_t *g;
	int rc;

	if ((rc = conf_get_group(ld, root, "diag", false, keys, &g)) < 0 ||
	    (rc = conf_get_uints(ld, g, k, sizeof(k) / sizeof(k[0]))) < 0)
		return rc;
	if (echo != 0 && echo == discard)
		return conf_fail_at(ld, config_setting_get_member(g, "discard_port"),
			       "must differ from echo_port (%u)", echo);
	for (int i = 0; i < 2; i++)
		if (k[i].dst[0] >= out->tcp.port_lo && k[i].dst[0] <= out->tcp.port_hi)
			return conf_fail_at(ld, config_setting_get_member(g, k[i].name),
				       "%u is inside tcp.port_lo..port_hi (%u..%u)",
				       k[i].dst[0], out->tcp.port_lo, out->tcp.port_hi);
	if ((rc = conf_get_bool(ld, g, "send", &out->diag.send)) < 0)
		return rc;
	out->diag.echo_port = (uint16_t)echo;
	out->diag.discard_port = (uint16_t)discard;
	return 0;
}

