/*
 * relay_dns: resolves the smart hosts given by name, on the control plane
 * (never on a worker).  One A query per name with c-ares — asynchronous,
 * so the main lcore's loop never blocks, and its parsed answers carry each
 * record's TTL — asked again when the answer's shortest TTL runs out; the
 * addresses go to the workers with relay_addrs_set() (dataplane/relay.h).
 * A failed lookup keeps the addresses the name had and is retried after
 * RELAY_DNS_RETRY_S; a name that never resolved has no address, and the
 * relay skips its host as down.  The resolver is relay.resolver, or the
 * system's (/etc/resolv.conf).
 */
#ifndef SLUICE_CONTROL_RELAY_DNS_H
#define SLUICE_CONTROL_RELAY_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dataplane/relay.h"

#define RELAY_DNS_TTL_MIN 1u       /* s: a shorter TTL (0) counts as this */
#define RELAY_DNS_TTL_MAX 86400u   /* s: a longer one as this */
#define RELAY_DNS_RETRY_S 5u       /* after a failed lookup */

/* One name's state. */
struct relay_dns_host {
	bool named, busy;              /* busy: a query is out */
	bool answered;                 /* a lookup has finished, either way */
	uint64_t due_us;               /* ask again then */
	unsigned n;
	uint32_t a[RELAY_ADDRS_MAX];   /* sorted, host byte order */
	uint32_t ttl;                  /* s, of the last answer */
	uint64_t ok, failed;           /* lookups */
};

/* The addresses (up to MAX) and the shortest TTL of the A records in the
 * DNS answer ABUF (CNAMEs followed).  The count (> 0), -ENODATA when it
 * holds none, or -EBADMSG. */
int relay_dns_parse(const uint8_t *abuf, int alen, uint32_t *a, unsigned max,
		    uint32_t *ttl);

/* The outcome of a lookup finished at NOW (µs): N > 0 addresses with TTL
 * (seconds), or N <= 0 for a failure, which keeps the old addresses.
 * Sets when to ask again.  True when the addresses changed. */
bool relay_dns_update(struct relay_dns_host *h, const uint32_t *a, int n,
		      uint32_t ttl, uint64_t now);

struct relay_dns_query {
	struct relay_dns *d;
	unsigned host;
};

struct relay_dns {
	struct relay_shared *sh;
	void *channel;                 /* ares_channel; NULL: no names */
	uint64_t now;                  /* the clock of the current poll */
	struct relay_dns_host host[CONF_RELAY_HOSTS];
	struct relay_dns_query q[CONF_RELAY_HOSTS];
};

/* Set up the resolver for SH's named hosts and ask for each.  0, or a
 * negative errno with the reason in ERR. */
int relay_dns_open(struct relay_dns *d, struct relay_shared *sh, char *err,
		   size_t errlen);

/* Each control-plane round: handle answers, ask for names that are due.
 * Never blocks. */
void relay_dns_poll(struct relay_dns *d);

/* At start, before the workers run: poll until every name has been
 * answered (or failed), at most TIMEOUT_MS. */
void relay_dns_wait(struct relay_dns *d, int timeout_ms);

/* A reload published SH (a new snapshot's smart hosts): resolve its names
 * from now on.  A host whose name the old hosts had keeps the addresses
 * and counts it had (published to SH at once, so a reload never leaves a
 * name without its addresses) and is asked again; pending answers for the
 * old hosts are dropped.  On a resolver failure SH's names stay
 * unresolved; the reason goes to stderr. */
void relay_dns_repoint(struct relay_dns *d, struct relay_shared *sh);

void relay_dns_close(struct relay_dns *d);

#endif
