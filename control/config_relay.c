/*
 * config_relay: loads the "relay" section (control/config_relay.h) — smart
 * hosts, routes and the retry schedule — with every error naming the file,
 * line and key.  A smart host is an IPv4 address or a DNS name (resolved
 * by the control plane, control/relay_dns.c).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "control/config_impl.h"

static int copy_string(const struct loader *ld, const config_setting_t *g,
		       const char *name, bool required, char *dst, size_t size,
		       const config_setting_t **where)
{
	const char *text;
	int rc = conf_get_string(ld, g, name, required, size, &text, where);

	if (rc == 0 && text != NULL)
		strcpy(dst, text);
	return rc;
}

/* A domain name: labels of letters, digits and '-' (not first or last),
 * joined by '.'; folded to lower case. */
static bool name_ok(char *p)
{
	char prev = '.';

	if (*p == '\0' || p[strlen(p) - 1] == '.' || p[strlen(p) - 1] == '-')
		return false;
	for (; *p != '\0'; prev = *p++) {
		if (*p == '.' ? prev == '.' || prev == '-' :
		    *p == '-' ? prev == '.' : !isalnum((unsigned char)*p))
			return false;
		*p = (char)tolower((unsigned char)*p);
	}
	return true;
}

/* "*", "example.com" or "*.example.com". */
static bool domain_ok(char *d)
{
	if (strcmp(d, "*") == 0)
		return true;
	return name_ok(strncmp(d, "*.", 2) == 0 ? d + 2 : d);
}

static int load_tls(const struct loader *ld, const config_setting_t *g,
		    struct conf_relay_host *h)
{
	static const char *const names[] = {"none", "opportunistic", "required",
					    "verify"};
	const config_setting_t *s;
	const char *text;
	int rc = conf_get_string(ld, g, "tls", false, 16, &text, &s);

	h->tls = CONF_RELAY_TLS_OPPORTUNISTIC;
	if (rc < 0 || text == NULL)
		return rc;
	for (unsigned i = 0; i < 4; i++)
		if (strcmp(text, names[i]) == 0) {
			h->tls = (enum conf_relay_tls)i;
			return 0;
		}
	return conf_fail_at(ld, s, "expected \"none\", \"opportunistic\", "
			    "\"required\" or \"verify\", got \"%s\"", text);
}

static int load_host(const struct loader *ld, const config_setting_t *g,
		     struct conf_relay *r, struct conf_relay_host *h)
{
	static const char *const keys[] = {"name", "host", "port", "cost", "tls",
					   "ca_file", "auth_file", "max_conns",
					   "msgs_per_conn", NULL};
	uint32_t port;
	const struct conf_uint_key k[] = {
		{"port", 1, 65535, 25, &port},
		{"cost", 0, 1000000, 10, &h->cost},
		{"max_conns", 1, 1024, 4, &h->max_conns},
		{"msgs_per_conn", 1, 100000, 100, &h->msgs_per_conn},
	};
	const config_setting_t *s;
	int rc;

	if ((rc = conf_need_type(ld, g, CONFIG_TYPE_GROUP, "a group")) < 0 ||
	    (rc = conf_check_keys(ld, g, keys)) < 0 ||
	    (rc = copy_string(ld, g, "name", true, h->name, sizeof(h->name), &s)) < 0)
		return rc;
	for (const struct conf_relay_host *o = r->hosts; o < h; o++)
		if (strcmp(o->name, h->name) == 0)
			return conf_fail_at(ld, s, "smart host \"%s\" is defined twice",
					    h->name);
	if ((rc = copy_string(ld, g, "host", true, h->host, sizeof(h->host), &s)) < 0)
		return rc;
	h->named = conf_parse_ipv4(h->host, &h->addr) < 0;
	if (h->named && (strchr(h->host, '*') != NULL || !name_ok(h->host)))
		return conf_fail_at(ld, s, "expected an IPv4 address or a host name, "
				    "got \"%s\"", h->host);
	if ((rc = conf_get_uints(ld, g, k, sizeof(k) / sizeof(k[0]))) < 0 ||
	    (rc = load_tls(ld, g, h)) < 0 ||
	    (rc = copy_string(ld, g, "ca_file", false, h->ca_file,
			      sizeof(h->ca_file), &s)) < 0)
		return rc;
	h->port = (uint16_t)port;
	if (h->ca_file[0] != '\0' && h->tls != CONF_RELAY_TLS_VERIFY)
		return conf_fail_at(ld, s, "only used with tls = \"verify\"");
	if ((rc = copy_string(ld, g, "auth_file", false, h->auth_file,
			      sizeof(h->auth_file), &s)) < 0)
		return rc;
	if (h->auth_file[0] != '\0' && h->tls == CONF_RELAY_TLS_NONE)
		return conf_fail_at(ld, s, "AUTH needs TLS (tls = \"none\")");
	if (h->auth_file[0] != '\0' && h->tls == CONF_RELAY_TLS_OPPORTUNISTIC)
		return conf_fail_at(ld, s, "AUTH needs TLS: tls = \"required\" or "
				    "\"verify\" (opportunistic may send in clear)");
	return 0;
}

static int host_index(const struct conf_relay *r, const char *name)
{
	for (unsigned i = 0; i < r->nb_hosts; i++)
		if (strcmp(r->hosts[i].name, name) == 0)
			return (int)i;
	return -1;
}

static int load_route(const struct loader *ld, const config_setting_t *g,
		      struct conf_relay *r, struct conf_relay_route *rt)
{
	static const char *const keys[] = {"domain", "hosts", NULL};
	const config_setting_t *s, *list;
	int rc, n;

	if ((rc = conf_need_type(ld, g, CONFIG_TYPE_GROUP, "a group")) < 0 ||
	    (rc = conf_check_keys(ld, g, keys)) < 0 ||
	    (rc = copy_string(ld, g, "domain", true, rt->domain,
			      sizeof(rt->domain), &s)) < 0)
		return rc;
	if (!domain_ok(rt->domain))
		return conf_fail_at(ld, s, "expected \"*\", \"example.com\" or "
				    "\"*.example.com\", got \"%s\"", rt->domain);
	for (const struct conf_relay_route *o = r->routes; o < rt; o++)
		if (strcmp(o->domain, rt->domain) == 0)
			return conf_fail_at(ld, s, "route \"%s\" is defined twice",
					    rt->domain);
	if ((rc = conf_get_member(ld, g, "hosts", true, &list)) < 0 ||
	    (rc = conf_need_type(ld, list, CONFIG_TYPE_ARRAY, "a list of strings")) < 0)
		return rc;
	n = config_setting_length(list);
	if (n < 1 || n > CONF_RELAY_ROUTE_HOSTS)
		return conf_fail_at(ld, list, "must name 1..%d smart hosts, got %d",
				    CONF_RELAY_ROUTE_HOSTS, n);
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(list, (unsigned)i);
		const char *name = config_setting_get_string(e);
		int idx = name ? host_index(r, name) : -1;

		if (name == NULL)
			return conf_fail_at(ld, e, "expected a string");
		if (idx < 0)
			return conf_fail_at(ld, e, "no smart host is named \"%s\"", name);
		for (unsigned j = 0; j < rt->nb_hosts; j++)
			if (rt->hosts[j] == idx)
				return conf_fail_at(ld, e, "\"%s\" is named twice", name);
		rt->hosts[rt->nb_hosts++] = (uint8_t)idx;
	}
	return 0;
}

/* A non-empty list of groups NAME, at most MAX of them. */
static int get_list(const struct loader *ld, const config_setting_t *g,
		    const char *name, int max, const config_setting_t **out)
{
	int rc, n;

	if ((rc = conf_get_member(ld, g, name, true, out)) < 0 ||
	    (rc = conf_need_type(ld, *out, CONFIG_TYPE_LIST, "a list of groups")) < 0)
		return rc;
	n = config_setting_length(*out);
	if (n < 1 || n > max)
		return conf_fail_at(ld, *out, "must hold 1..%d entries, got %d", max, n);
	return n;
}

static int load_retry(const struct loader *ld, const config_setting_t *g,
		      struct conf_relay *r)
{
	static const uint32_t dflt[] = {300, 600, 1200, 2400, 3600};
	const config_setting_t *list = g ? config_setting_get_member(g, "retry_s") : NULL;
	int rc, n;

	if (list == NULL) {
		r->nb_retry = sizeof(dflt) / sizeof(dflt[0]);
		memcpy(r->retry_s, dflt, sizeof(dflt));
		return 0;
	}
	if ((rc = conf_need_type(ld, list, CONFIG_TYPE_ARRAY, "a list of integers")) < 0)
		return rc;
	n = config_setting_length(list);
	if (n < 1 || n > CONF_RELAY_RETRY)
		return conf_fail_at(ld, list, "must hold 1..%d steps, got %d",
				    CONF_RELAY_RETRY, n);
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(list, (unsigned)i);
		long long v;

		if (config_setting_type(e) != CONFIG_TYPE_INT)
			return conf_fail_at(ld, e, "expected an integer");
		v = config_setting_get_int64(e);
		if (v < 1 || v > 86400)
			return conf_fail_at(ld, e, "must be 1..86400, got %lld", v);
		if (i > 0 && (uint32_t)v < r->retry_s[i - 1])
			return conf_fail_at(ld, e, "must not be shorter than the step "
					    "before (%u), got %lld", r->retry_s[i - 1], v);
		r->retry_s[i] = (uint32_t)v;
	}
	r->nb_retry = (unsigned)n;
	return 0;
}

/* "a.b.c.d" or "a.b.c.d:port": the DNS server the smart hosts' names are
 * asked of (a resolver on loopback in the lab). */
static int load_resolver(const struct loader *ld, const config_setting_t *g,
			 struct conf_relay *r)
{
	const config_setting_t *s;
	char addr[CONF_RELAY_NAME_LEN];
	uint32_t ip;
	unsigned long port = 53;
	char *colon, *end;
	int rc = copy_string(ld, g, "resolver", false, r->resolver,
			     sizeof(r->resolver), &s);

	if (rc < 0 || r->resolver[0] == '\0')
		return rc;
	strcpy(addr, r->resolver);
	colon = strchr(addr, ':');
	if (colon != NULL) {
		*colon = '\0';
		port = strtoul(colon + 1, &end, 10);
		if (colon[1] == '\0' || *end != '\0')
			port = 0;
	}
	if (conf_parse_ipv4(addr, &ip) < 0 || port < 1 || port > 65535)
		return conf_fail_at(ld, s, "expected \"a.b.c.d\" or \"a.b.c.d:port\", "
				    "got \"%s\"", r->resolver);
	return 0;
}

int conf_load_relay(const struct loader *ld, const config_setting_t *root,
		    struct conf *out)
{
	static const char *const keys[] = {"smart_hosts", "routes", "retry_s",
					   "lifetime_s", "max_conns", "timeout_s",
					   "host_down_s", "resolver", NULL};
	struct conf_relay *r = &out->relay;
	const struct conf_uint_key k[] = {
		{"lifetime_s", 1, 30 * 86400, 5 * 86400, &r->lifetime_s},
		{"max_conns", 1, 4096, 16, &r->max_conns},
		{"timeout_s", 0, 3600, 0, &r->timeout_s},
		{"host_down_s", 0, 3600, 60, &r->host_down_s},
	};
	const config_setting_t *g, *list;
	int rc, n;

	if ((rc = conf_get_group(ld, root, "relay", false, keys, &g)) < 0 ||
	    (rc = conf_get_uints(ld, g, k, sizeof(k) / sizeof(k[0]))) < 0 ||
	    (rc = load_retry(ld, g, r)) < 0 || g == NULL)
		return rc;
	if ((rc = load_resolver(ld, g, r)) < 0)
		return rc;
	if ((n = get_list(ld, g, "smart_hosts", CONF_RELAY_HOSTS, &list)) < 0)
		return n;
	for (int i = 0; i < n; i++) {
		if ((rc = load_host(ld, config_setting_get_elem(list, (unsigned)i), r,
				    &r->hosts[i])) < 0)
			return rc;
		r->nb_hosts++;
	}
	if ((n = get_list(ld, g, "routes", CONF_RELAY_ROUTES, &list)) < 0)
		return n;
	for (int i = 0; i < n; i++) {
		if ((rc = load_route(ld, config_setting_get_elem(list, (unsigned)i), r,
				     &r->routes[i])) < 0)
			return rc;
		r->nb_routes++;
	}
	if (r->lifetime_s < r->retry_s[0])
		return conf_fail_at(ld, config_setting_get_member(g, "lifetime_s"),
				    "must not be shorter than the first retry step (%u)",
				    r->retry_s[0]);
	return 0;
}
