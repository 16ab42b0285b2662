/*
 * relay_addr: each smart host's published addresses — the control plane
 * writes a new set, the workers read one without waiting (DPDK's seqlock:
 * a reader that overlapped a write reads again).
 */
#define ALLOW_EXPERIMENTAL_API   /* rte_seqlock is experimental in DPDK 22.11 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_seqlock.h>

#include "dataplane/relay.h"

struct relay_addrs {
	rte_seqlock_t lock;
	unsigned n;                       /* 0: not resolved (yet) */
	uint32_t a[RELAY_ADDRS_MAX];      /* IPv4, host byte order */
};

int relay_addrs_new(struct relay_shared *sh)
{
	sh->addrs = calloc(CONF_RELAY_HOSTS, sizeof(sh->addrs[0]));
	if (sh->addrs == NULL)
		return -ENOMEM;
	for (unsigned h = 0; h < CONF_RELAY_HOSTS; h++)
		rte_seqlock_init(&sh->addrs[h].lock);
	return 0;
}

void relay_addrs_free(struct relay_shared *sh)
{
	free(sh->addrs);
	sh->addrs = NULL;
}

void relay_addrs_set(struct relay_shared *sh, unsigned h, const uint32_t *a,
		     unsigned n)
{
	struct relay_addrs *ra = &sh->addrs[h];

	if (n > RELAY_ADDRS_MAX)
		n = RELAY_ADDRS_MAX;
	rte_seqlock_write_lock(&ra->lock);
	if (n > 0)
		memcpy(ra->a, a, n * sizeof(a[0]));
	ra->n = n;
	rte_seqlock_write_unlock(&ra->lock);
}

int relay_addrs_get(const struct relay_shared *sh, unsigned h, unsigned pick,
		    uint32_t *addr)
{
	const struct relay_addrs *ra = &sh->addrs[h];
	uint32_t sn, a = 0;
	unsigned n;

	do {
		sn = rte_seqlock_read_begin(&ra->lock);
		n = ra->n;
		if (n > 0 && n <= RELAY_ADDRS_MAX)
			a = ra->a[pick % n];
	} while (rte_seqlock_read_retry(&ra->lock, sn));
	if (n == 0)
		return -EHOSTUNREACH;
	*addr = a;
	return 0;
}
