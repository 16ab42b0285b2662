/*
 * memlink: the in-memory impaired link for tests — see memlink.h.  Owns
 * the two impair stages (one per direction) and what makes a frame look
 * freshly received: a private copy of shared data, cleared metadata.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "drivers/memlink.h"

#define MEMLINK_BURST 32

/* dir[MEMLINK_A] carries A→B, dir[MEMLINK_B] carries B→A. */
struct memlink_dir {
	struct impair *imp;
	uint64_t unshared;
	uint64_t nomem;
};

struct memlink {
	struct memlink_dir dir[2];
};

static bool side_valid(int side)
{
	return side == MEMLINK_A || side == MEMLINK_B;
}

struct memlink *memlink_create(const struct impair_conf *a_to_b,
			       const struct impair_conf *b_to_a, int socket)
{
	static const struct impair_conf none;  /* read-only: no impairment */
	struct memlink *ml = rte_zmalloc_socket("memlink", sizeof(*ml), 0,
						socket);

	if (ml == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	ml->dir[MEMLINK_A].imp = impair_create(a_to_b ? a_to_b : &none,
					       "memlink_a_to_b", socket);
	ml->dir[MEMLINK_B].imp = impair_create(b_to_a ? b_to_a : &none,
					       "memlink_b_to_a", socket);
	if (ml->dir[MEMLINK_A].imp == NULL || ml->dir[MEMLINK_B].imp == NULL) {
		int e = rte_errno;

		memlink_destroy(ml);
		rte_errno = e;
		return NULL;
	}
	return ml;
}

void memlink_destroy(struct memlink *ml)
{
	if (ml == NULL)
		return;
	impair_destroy(ml->dir[MEMLINK_A].imp);
	impair_destroy(ml->dir[MEMLINK_B].imp);
	rte_free(ml);
}

static bool frame_shared(const struct rte_mbuf *m)
{
	for (; m != NULL; m = m->next)
		if (!RTE_MBUF_DIRECT(m) || rte_mbuf_refcnt_read(m) != 1)
			return true;
	return false;
}

/* The frame as the receiver will own it: M itself, or a private copy when
 * the sender still shares M's data (M is then released).  NULL if the copy
 * failed (M is freed). */
static struct rte_mbuf *frame_unshare(struct memlink_dir *d,
				      struct rte_mbuf *m)
{
	struct rte_mbuf *c;

	if (!frame_shared(m))
		return m;
	c = rte_pktmbuf_copy(m, m->pool, 0, UINT32_MAX);
	rte_pktmbuf_free(m);
	if (c == NULL)
		d->nomem++;
	else
		d->unshared++;
	return c;
}

/* Forget what the sender asked of its NIC and what a receiving NIC would
 * have computed: a wire carries only the bytes. */
static void frame_wire_reset(struct rte_mbuf *m)
{
	for (struct rte_mbuf *s = m; s != NULL; s = s->next)
		s->ol_flags &= RTE_MBUF_F_INDIRECT | RTE_MBUF_F_EXTERNAL;
	m->packet_type = 0;
	m->tx_offload = 0;
	m->vlan_tci = 0;
	m->vlan_tci_outer = 0;
	memset(&m->hash, 0, sizeof(m->hash));
}

uint16_t memlink_send(struct memlink *ml, int side, struct rte_mbuf **pkts,
		      uint16_t n, uint64_t now_us)
{
	struct rte_mbuf *burst[MEMLINK_BURST];
	struct memlink_dir *d;
	uint16_t sent = 0, nb = 0;

	if (!side_valid(side))
		return 0;
	d = &ml->dir[side];
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = frame_unshare(d, pkts[i]);

		if (m != NULL)
			burst[nb++] = m;
		if (nb == MEMLINK_BURST || (i + 1 == n && nb > 0)) {
			sent += impair_push(d->imp, burst, nb, now_us);
			nb = 0;
		}
	}
	return sent;
}

uint16_t memlink_recv(struct memlink *ml, int side, struct rte_mbuf **out,
		      uint16_t max, uint64_t now_us)
{
	uint16_t n;

	if (!side_valid(side))
		return 0;
	n = impair_pull(ml->dir[!side].imp, out, max, now_us);
	for (uint16_t i = 0; i < n; i++)
		frame_wire_reset(out[i]);
	return n;
}

uint64_t memlink_next_due(const struct memlink *ml)
{
	uint64_t a = impair_next_due(ml->dir[MEMLINK_A].imp);
	uint64_t b = impair_next_due(ml->dir[MEMLINK_B].imp);

	return a < b ? a : b;
}

struct memlink_stats memlink_stats(const struct memlink *ml, int from_side)
{
	struct memlink_stats s = {0};
	const struct memlink_dir *d;

	if (!side_valid(from_side))
		return s;
	d = &ml->dir[from_side];
	s.impair = impair_stats(d->imp);
	s.unshared = d->unshared;
	s.nomem = d->nomem;
	return s;
}
