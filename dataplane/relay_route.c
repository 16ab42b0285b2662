/*
 * relay_route: matching a recipient domain to a route and ordering the
 * route's smart hosts by cost with round-robin among equals.
 */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "dataplane/relay_route.h"

/* How specific PATTERN is for DOMAIN: -1 no match, 0 "*", 1 + the suffix
 * length for "*.suffix", SIZE_MAX-ish (an exact match) above all. */
static long match(const char *pattern, const char *d, size_t len)
{
	size_t plen;

	if (strcmp(pattern, "*") == 0)
		return 0;
	if (strncmp(pattern, "*.", 2) == 0) {
		plen = strlen(pattern + 1);               /* ".suffix" */
		if (len > plen && strncasecmp(d + len - plen, pattern + 1, plen) == 0)
			return (long)plen;
		return -1;
	}
	plen = strlen(pattern);
	if (plen == len && strncasecmp(d, pattern, len) == 0)
		return (long)CONF_RELAY_DOMAIN_LEN + 1;
	return -1;
}

int relay_route_find(const struct conf_relay *c, const char *domain, size_t len)
{
	long best = -1;
	int idx = -ENOENT;

	for (unsigned i = 0; i < c->nb_routes; i++) {
		long m = match(c->routes[i].domain, domain, len);

		if (m > best) {
			best = m;
			idx = (int)i;
		}
	}
	return idx;
}

const char *relay_route_domain(const char *addr, size_t alen, size_t *len)
{
	const char *at = memrchr(addr, '@', alen);

	if (at == NULL || at + 1 == addr + alen)
		return NULL;
	*len = (size_t)(addr + alen - (at + 1));
	return at + 1;
}

unsigned relay_route_order(const struct conf_relay *c, unsigned route,
			   uint32_t rr, uint8_t *out)
{
	const struct conf_relay_route *r = &c->routes[route];
	uint8_t sorted[CONF_RELAY_ROUTE_HOSTS];
	unsigned n = r->nb_hosts, done = 0;

	/* insertion sort by cost, stable: the configured order breaks ties */
	for (unsigned i = 0; i < n; i++) {
		unsigned j = i;

		while (j > 0 && c->hosts[sorted[j - 1]].cost > c->hosts[r->hosts[i]].cost) {
			sorted[j] = sorted[j - 1];
			j--;
		}
		sorted[j] = r->hosts[i];
	}
	while (done < n) {
		uint32_t cost = c->hosts[sorted[done]].cost;
		unsigned k = done;

		while (k < n && c->hosts[sorted[k]].cost == cost)
			k++;
		for (unsigned i = 0; i < k - done; i++)
			out[done + i] = sorted[done + (rr + i) % (k - done)];
		done = k;
	}
	return n;
}
