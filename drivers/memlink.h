/*
 * memlink: an in-memory point-to-point Ethernet link between two endpoints,
 * A (side 0) and B (side 1), for tests that run a stack on each end with a
 * clock they drive themselves.  Each direction passes through its own
 * impair stage (impair.h), so a test can lose, duplicate, corrupt, delay
 * and reorder A's frames to B independently of B's frames to A.
 *
 * It behaves like a wire: the receiver gets a frame it alone holds (a
 * frame whose data the sender still shares, such as a clone kept for
 * retransmission, is copied on send), and it arrives with the sender's
 * offload requests and RX metadata cleared.  The link offers no offloads:
 * senders must fill their checksums in software.  Not thread-safe.
 */
#ifndef SLUICE_DRIVERS_MEMLINK_H
#define SLUICE_DRIVERS_MEMLINK_H

#include <stdint.h>

#include <rte_mbuf.h>

#include "drivers/impair.h"

#define MEMLINK_A 0
#define MEMLINK_B 1

struct memlink_stats {
	struct impair_stats impair;  /* the direction's impairment counters */
	uint64_t unshared;           /* shared frames copied on send */
	uint64_t nomem;              /* ... dropped because the copy failed */
};

struct memlink;

/* Create a link whose A→B direction is impaired by A_TO_B and whose B→A
 * direction by B_TO_A (NULL: no impairment).  Returns NULL with rte_errno
 * set (EINVAL for a bad conf, ENOMEM). */
struct memlink *memlink_create(const struct impair_conf *a_to_b,
			       const struct impair_conf *b_to_a, int socket);

/* Free the link and every frame still on it.  NULL is a no-op. */
void memlink_destroy(struct memlink *ml);

/* SIDE (MEMLINK_A or MEMLINK_B) sends N frames at NOW_US; the link takes
 * ownership of all of them.  Returns how many are on their way (the rest
 * were lost or dropped).  An invalid SIDE takes nothing and returns 0. */
uint16_t memlink_send(struct memlink *ml, int side, struct rte_mbuf **pkts,
		      uint16_t n, uint64_t now_us);

/* Up to MAX frames the other side sent that have arrived at SIDE by
 * NOW_US, in arrival order.  The caller owns them. */
uint16_t memlink_recv(struct memlink *ml, int side, struct rte_mbuf **out,
		      uint16_t max, uint64_t now_us);

/* When the next frame arrives at either side; UINT64_MAX if none is on
 * the link. */
uint64_t memlink_next_due(const struct memlink *ml);

/* Counters of the direction leaving FROM_SIDE (MEMLINK_A: A→B). */
struct memlink_stats memlink_stats(const struct memlink *ml, int from_side);

#endif
