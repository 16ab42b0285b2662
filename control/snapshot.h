/*
 * snapshot: the immutable configuration the workers run on, and how a new
 * one replaces it (design.md §2).  A snapshot holds everything built from
 * the reloadable part of the config: the config itself (a deep copy), the
 * admission tables (rte_lpm), the SMTP server limits and unknown-source
 * policy, the STARTTLS context, and the relay's smart hosts, routes, TLS
 * client contexts and AUTH credentials.  Nothing in it changes once built.
 *
 * Publishing: the control plane stores the new pointer (release); workers
 * load it (acquire) and report a quiescent state to rte_rcu_qsbr at the end
 * of every poll round.  A worker keeps a snapshot beyond its round only by
 * holding a reference: an SMTP session holds the one it was accepted under
 * until it ends, and the relay holds the one its connections were opened
 * under.  A replaced snapshot is freed once (1) every worker has passed a
 * quiescent state since it was replaced — after that no worker can take a
 * new reference to it, since references are taken only from the published
 * pointer within a round — and (2) its reference count is zero.
 */
#ifndef SLUICE_CONTROL_SNAPSHOT_H
#define SLUICE_CONTROL_SNAPSHOT_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <rte_rcu_qsbr.h>

#include "control/config.h"
#include "dataplane/inbound.h"
#include "dataplane/relay.h"

struct authd;

struct snap {
	uint64_t version;             /* 1 at start, +1 per reload */
	time_t loaded;                /* when it was built (wall clock) */
	uint32_t refs;                /* atomic: sessions and relays holding it */
	bool grace;                   /* replaced, and every worker has been
					 quiescent since */
	uint64_t token;               /* the qsbr token taken when replaced */
	struct snap *next;            /* on the retired list */
	struct conf conf;             /* a deep copy of the config it came from */
	struct smtp_admit *allow;     /* smtp.allow + smtp.allow_file; NULL: empty */
	struct inbound_shared smtp;   /* limits, policy, allow, STARTTLS */
	struct relay_shared relay;    /* smart hosts, routes, TLS, AUTH */
};

/* Build the snapshot of CONF (copied; CONF stays the caller's).  AUTHD is
 * the daemon's verifier (AUTH is restart-only), or NULL.  0 with *OUT set,
 * or a negative errno with the reason in ERR (nothing is left allocated).
 * Needs EAL (the admission tables are DPDK memory). */
int snap_build(const struct conf *conf, uint64_t version, struct authd *authd,
	       struct snap **out, char *err, size_t errlen);
void snap_free(struct snap *s);

/* The published pointer, the workers' quiescence, the retired snapshots. */
struct snap_pub {
	struct snap *cur;             /* atomic */
	struct rte_rcu_qsbr *qsbr;    /* one thread per worker, id = its index */
	struct snap *retired;         /* replaced, not freed yet */
	unsigned nb_retired;          /* how many, as of the last reclaim */
};

/* For NB_WORKERS workers, publishing FIRST.  0 or -ENOMEM. */
int snap_pub_init(struct snap_pub *p, unsigned nb_workers, struct snap *first);
/* Publish S; the snapshot it replaces is retired. */
void snap_publish(struct snap_pub *p, struct snap *s);
/* Free the retired snapshots that are safe to free; returns how many are
 * still waiting (grace period or references). */
unsigned snap_reclaim(struct snap_pub *p);
/* Free everything: only once the workers are gone. */
void snap_pub_fini(struct snap_pub *p);

/* Worker side.  The pointer is valid until the worker's next quiescent
 * report, or until snap_release() when it was held. */
static inline struct snap *snap_current(const struct snap_pub *p)
{
	return __atomic_load_n(&p->cur, __ATOMIC_ACQUIRE);
}

static inline struct snap *snap_hold(struct snap *s)
{
	__atomic_fetch_add(&s->refs, 1, __ATOMIC_RELAXED);
	return s;
}

static inline void snap_release(struct snap *s)
{
	__atomic_fetch_sub(&s->refs, 1, __ATOMIC_RELEASE);
}

/* The worker loop: online at its start, quiescent at the end of each
 * round, offline when it returns. */
static inline void snap_worker_online(struct snap_pub *p, unsigned id)
{
	rte_rcu_qsbr_thread_online(p->qsbr, id);
}

static inline void snap_worker_quiescent(struct snap_pub *p, unsigned id)
{
	rte_rcu_qsbr_quiescent(p->qsbr, id);
}

static inline void snap_worker_offline(struct snap_pub *p, unsigned id)
{
	rte_rcu_qsbr_thread_offline(p->qsbr, id);
}

#endif
