/*
 * track: message tracking events from a worker to the control plane.
 * Owns the fixed-size event (struct track_event), the worker's SP/SC ring
 * of them with its drop counter, and the Postfix-like log lines for each
 * event type, which the control plane writes (control/track_log.c).
 *
 * Worker side: fill an event (track_event_init(), track_event_env() for
 * what the envelope says, track_event_text() for a reply) and
 * track_put() it; a full ring drops the event and counts it, the worker
 * never waits.  Main-lcore side: track_take().
 */
#ifndef SLUICE_DATAPLANE_TRACK_H
#define SLUICE_DATAPLANE_TRACK_H

#include <stddef.h>
#include <stdint.h>

#include <rte_ring.h>

#include "dataplane/spool/spool_rec.h"

#define TRACK_ADDR_MAX  128   /* bytes of an address kept, with the NUL */
#define TRACK_RCPTS     4     /* recipients listed in an event */
#define TRACK_TEXT_MAX  200   /* bytes of a reply or reason, with the NUL */
#define TRACK_RELAY_MAX 64    /* bytes of the relay's name, with the NUL */
#define TRACK_TLS_MAX   16
#define TRACK_LINE_MAX  2048  /* room for every line of one event */
#define TRACK_RING_SIZE 4096  /* events a worker may have in flight */

enum track_type {
	TRACK_ACCEPTED = 1,   /* committed to the spool, 250 sent */
	TRACK_RELAYED,        /* recipients accepted by the smart host */
	TRACK_DEFERRED,       /* recipients to be retried */
	TRACK_BOUNCED,        /* recipients refused for good */
	TRACK_EXPIRED,        /* past the queue lifetime: pending ones bounced */
	TRACK_DELETED,        /* removed by the operator */
	TRACK_HELD,           /* put on hold by the operator */
	TRACK_RELEASED,       /* released from hold by the operator */
	TRACK__MAX
};

/* Lower-case name of TYPE ("accepted", ...), "unknown" when out of range. */
const char *track_type_name(unsigned type);

struct track_event {
	uint64_t time_us;               /* wall clock, µs since the epoch */
	uint64_t qid;
	uint64_t size;                  /* message bytes */
	uint32_t nrcpt;                 /* recipients this event is about */
	uint16_t client_port;
	uint8_t type;                   /* enum track_type */
	uint8_t client_family;          /* 4, 6, or 0 when unknown */
	uint8_t client_addr[16];
	char tls[TRACK_TLS_MAX];        /* "TLSv1.3", "" without TLS */
	char sender[TRACK_ADDR_MAX];    /* "" for the null sender */
	char rcpt[TRACK_RCPTS][TRACK_ADDR_MAX];  /* the first min(nrcpt, TRACK_RCPTS) */
	char relay[TRACK_RELAY_MAX];    /* smart host, "" when none */
	char text[TRACK_TEXT_MAX];      /* reply or reason */
} __attribute__((aligned(16)));     /* whole ring units: see track_put() */

/* Zero E and set the type, time and queue ID. */
void track_event_init(struct track_event *e, enum track_type type,
		      uint64_t time_us, uint64_t qid);
/* Client, TLS version, sender, recipients (all, listed up to TRACK_RCPTS)
 * from an envelope. */
void track_event_env(struct track_event *e, const struct spool_env *env);
/* Copy LEN bytes of S (truncated to fit) into a field of CAP bytes. */
void track_copy(char *dst, size_t cap, const char *s, size_t len);

/* The client address as text ("192.0.2.1", "2001:db8::1", "unknown"). */
void track_client_text(const struct track_event *e, char *buf, size_t len);

/*
 * The Postfix-like lines of E, each "QID: ...\n", into BUF (LEN bytes,
 * TRACK_LINE_MAX is enough for any event).  Returns the length written
 * (truncated output is still NUL-terminated).
 *
 *   accepted  QID: client=unknown[ADDR][, tls=VER]
 *             QID: from=<S>, size=N, nrcpt=N
 *   relayed   QID: to=<R>, relay=H, status=sent (TEXT)        one per recipient
 *   deferred  QID: to=<R>, relay=H, status=deferred (TEXT)
 *   bounced   QID: to=<R>, relay=H, status=bounced (TEXT)
 *   expired   QID: from=<S>, status=expired, returned to sender (TEXT)
 *   deleted   QID: removed
 *   held      QID: placed on hold
 *   released  QID: released from hold
 *
 * Recipients past the listed ones: "QID: and N more recipients, relay=H,
 * status=..." once.  A relay of "" shows as "none".
 */
size_t track_format(const struct track_event *e, char *buf, size_t len);

struct track_ring {
	struct rte_ring *ring;   /* of struct track_event (in 16-byte units);
				    SP worker / SC main */
	uint64_t put;            /* events queued (written by the worker only) */
	uint64_t dropped;        /* events lost to a full ring (likewise) */
};

/* Init time: a ring of SIZE (power of two) events named after WORKER.
 * 0, -EINVAL, -EEXIST or -ENOMEM. */
int track_ring_init(struct track_ring *t, unsigned worker, int socket,
		    unsigned size);
void track_ring_fini(struct track_ring *t);

/* Worker: queue E; -ENOBUFS (counted in dropped) when the ring is full. */
int track_put(struct track_ring *t, const struct track_event *e);
/* Main lcore: take up to N events into EV; returns how many. */
unsigned track_take(struct track_ring *t, struct track_event *ev, unsigned n);

#endif
