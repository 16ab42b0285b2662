/*
 * relay_route: picking smart hosts for a recipient domain (issue 6, as an
 * Exchange send connector does).  Owns the matching rules only — the most
 * specific route wins ("example.com" over "*.example.com" over
 * "*.com" over "*"), then its smart hosts go lowest cost first, equal
 * costs rotated round-robin by a caller's counter.  Pure functions over
 * struct conf_relay: no state, no I/O.
 */
#ifndef SLUICE_DATAPLANE_RELAY_ROUTE_H
#define SLUICE_DATAPLANE_RELAY_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#include "control/config_relay.h"

/* The route for DOMAIN (LEN bytes, any case): its index, or -ENOENT when
 * no route matches. */
int relay_route_find(const struct conf_relay *c, const char *domain, size_t len);

/* The domain of ADDR ("local@domain"): a pointer into ADDR and its length
 * in *LEN; NULL when ADDR has no '@' or an empty domain. */
const char *relay_route_domain(const char *addr, size_t alen, size_t *len);

/* The smart hosts of route ROUTE in the order to try them: by cost, and
 * among equal costs starting at position RR % n of their group.  Writes
 * host indices into OUT (room for CONF_RELAY_ROUTE_HOSTS) and returns
 * how many. */
unsigned relay_route_order(const struct conf_relay *c, unsigned route,
			   uint32_t rr, uint8_t *out);

#endif
