/*
 * queue_ctl: the link between one worker's delivery queue and the main
 * lcore.  Owns the command ring (main lcore → worker: hold, release,
 * delete, retry by queue ID) and the published snapshot of the queue
 * (worker → main lcore: a read-only copy, refreshed periodically and after
 * every batch of commands).
 *
 * The main lcore never touches a worker's queue: it posts commands with
 * queue_port_post() and reads the snapshot with queue_port_read() /
 * queue_port_find().  The worker calls queue_port_poll() every loop: it
 * applies the queued commands to its queue and republishes.  The snapshot
 * is double-buffered with a sequence count per buffer: the worker writes
 * the buffer readers are not directed to, then flips; it never waits.  A
 * reader copies and retries when the count moved.
 */
#ifndef SLUICE_DATAPLANE_QUEUE_QUEUE_CTL_H
#define SLUICE_DATAPLANE_QUEUE_QUEUE_CTL_H

#include <stdint.h>

#include <rte_ring.h>

#include "dataplane/queue/queue.h"

enum queue_op { QUEUE_OP_HOLD = 1, QUEUE_OP_RELEASE, QUEUE_OP_DELETE,
		QUEUE_OP_RETRY };

struct queue_cmd {
	uint64_t qid;
	uint32_t op;     /* enum queue_op */
	uint32_t pad;
};

/* What a published snapshot says besides its entries. */
struct queue_snap_head {
	uint64_t seq;            /* even when stable */
	uint64_t time_us;        /* worker clock at publication */
	uint64_t published;      /* snapshots published so far */
	uint32_t total;          /* entries in the queue */
	uint32_t n;              /* entries in the snapshot (<= snap_max) */
	uint64_t cmds_applied;   /* commands that succeeded, so far */
	uint64_t cmds_failed;    /* commands that did not (unknown ID, busy...) */
	struct queue_stats stats;
	struct queue_depth depth;  /* every entry, also past snap_max */
};

struct queue_snap;

struct queue_port {
	unsigned worker;
	struct rte_ring *cmd;            /* struct queue_cmd; SP main / SC worker */
	struct queue_snap *snap[2];
	uint32_t snap_max;
	uint32_t cur;                    /* atomic: the buffer readers use */
	uint64_t refresh_us;
	uint64_t next_publish_us;        /* worker side */
	uint64_t published, applied, failed;  /* worker side */
	uint64_t post_drops;             /* main side: commands lost to a full ring */
};

#define QUEUE_PORT_REFRESH_US 1000000u  /* a snapshot a second */
#define QUEUE_PORT_SNAP_DEFAULT 4096u   /* entries in a snapshot (1.3 MiB) */

/* Init time: the ring (named after WORKER) and the snapshot buffers of
 * SNAP_MAX entries each; refreshed every REFRESH_US.  0 or -ENOMEM /
 * -EEXIST (a ring of that name exists) / -EINVAL. */
int queue_port_init(struct queue_port *p, unsigned worker, int socket,
		    uint32_t snap_max, uint64_t refresh_us);
void queue_port_fini(struct queue_port *p);

/* Main lcore: queue command OP on QID.  0, or -ENOBUFS (ring full). */
int queue_port_post(struct queue_port *p, enum queue_op op, uint64_t qid);

/* The worker's view of a command once applied: RC as queue_hold() etc.
 * returned; MSG is the deleted message (OP_DELETE with RC 0) for the
 * caller to finish in the spool, NULL otherwise. */
typedef void queue_cmd_fn(void *arg, const struct queue_cmd *c, int rc,
			  struct spool_msg *msg);

/* Worker: apply waiting commands to Q (FN, when not NULL, hears of each),
 * then publish a snapshot if any was applied or the refresh time came.
 * Returns the commands applied. */
unsigned queue_port_poll(struct queue_port *p, struct queue *q, uint64_t now,
			 queue_cmd_fn *fn, void *arg);
/* Worker: publish a snapshot now. */
void queue_port_publish(struct queue_port *p, const struct queue *q,
			uint64_t now);

/* Main lcore: a consistent copy of the head and of up to MAX entries.
 * Returns the entries copied, -EAGAIN when the worker kept rewriting
 * (retry later), -ENODATA before the first snapshot. */
int queue_port_read(const struct queue_port *p, struct queue_snap_head *head,
		    struct queue_info *out, uint32_t max);
/* Main lcore: entry QID in the snapshot.  0, -ENOENT (not in it: when
 * head->n < head->total the snapshot is truncated and it may still be
 * queued), -EAGAIN, -ENODATA as above. */
int queue_port_find(const struct queue_port *p, uint64_t qid,
		    struct queue_snap_head *head, struct queue_info *out);

#endif
