/*
 * queue: one worker's delivery queue.  Owns, for every accepted message
 * the worker still has to deliver, its queue entry: the message handle
 * (the spool's struct spool_msg and its queue ID), the state of each
 * recipient, the message state (active, deferred or held), the attempt
 * count, the last reply and the next attempt time; and the timer heap that
 * says which entry is due next.  Owns the retry schedule and the maximum
 * queue lifetime (struct queue_conf).
 *
 * Sans-I/O: the clock is passed in (µs, any epoch the caller keeps to) and
 * nothing here does I/O or delivers.  The worker adds accepted messages,
 * takes due ones with queue_pop_due() and hands them to the relay client,
 * reports each recipient's result and ends the attempt with
 * queue_attempt_end(), which says whether the message is finished,
 * deferred or expired (to be bounced).  Everything runs on the worker; the
 * memory is allocated once by queue_create().
 *
 * States: ACTIVE — due now, or (inflight) handed out for an attempt;
 * DEFERRED — waiting for next_attempt_us; HELD — not delivered until
 * released, whatever its times say.
 */
#ifndef SLUICE_DATAPLANE_QUEUE_QUEUE_H
#define SLUICE_DATAPLANE_QUEUE_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QUEUE_RETRY_MAX   16     /* steps in a retry schedule */
#define QUEUE_SENDER_MAX  128    /* bytes of the sender kept, with the NUL */
#define QUEUE_REPLY_MAX   160    /* bytes of the last reply kept, with the NUL */

struct spool_msg;
struct queue;

struct queue_conf {
	uint32_t max_entries;                /* messages queued at once */
	uint32_t max_rcpts;                  /* recipient states at once, all messages */
	unsigned nb_retry;                   /* steps in retry_us (1..QUEUE_RETRY_MAX) */
	uint64_t retry_us[QUEUE_RETRY_MAX];  /* wait after attempt n; the last repeats */
	uint64_t lifetime_us;                /* give up this long after arrival */
};

/* RFC 5321 §4.5.4.1: retry after at least 30 minutes, give up after 4-5
 * days.  Defaults: 5m, 10m, 20m, 40m, then every hour; 5 days; 16384
 * messages and 262144 recipients. */
void queue_conf_defaults(struct queue_conf *c);
/* 0, or -EINVAL with a reason in ERR for a schedule that is empty,
 * decreasing, or has a zero step, a zero lifetime, or limits that are zero
 * or past 2^24 entries / 2^28 recipients. */
int queue_conf_check(const struct queue_conf *c, char *err, size_t errlen);

enum queue_state { QUEUE_ACTIVE = 1, QUEUE_DEFERRED, QUEUE_HELD };
enum queue_rcpt { QUEUE_RCPT_PENDING, QUEUE_RCPT_SENT, QUEUE_RCPT_BOUNCED };

/* What the queue knows of an entry (a copy). */
struct queue_info {
	uint64_t qid;
	uint64_t arrival_us;
	uint64_t next_attempt_us;   /* DEFERRED; the time it became due when ACTIVE */
	uint64_t size;
	uint32_t nrcpt;
	uint32_t pending;           /* recipients still to deliver */
	uint32_t attempts;          /* attempts ended so far */
	uint8_t state;              /* enum queue_state */
	bool inflight;              /* handed out, attempt not ended yet */
	char sender[QUEUE_SENDER_MAX];
	char reply[QUEUE_REPLY_MAX];  /* last deferral reason, "" before one */
};

/* A message to add.  OUTCOMES, when not NULL, holds each recipient's state
 * as recovered from the spool: the spool's recovery outcomes can be passed
 * as they are (SPOOL_DELIVERED is QUEUE_RCPT_SENT, SPOOL_BOUNCED is
 * QUEUE_RCPT_BOUNCED; 0 and SPOOL_DEFERRED mean pending). */
struct queue_add {
	struct spool_msg *msg;
	uint64_t qid;
	uint64_t arrival_us;
	uint64_t size;
	uint32_t nrcpt;
	const uint8_t *outcomes;
	const char *sender;
	uint32_t attempts;          /* earlier attempts (recovery); usually 0 */
	bool reserved;              /* takes the room queue_reserve() held */
};

struct queue_stats {
	uint64_t entries;       /* gauge */
	uint64_t rcpts;         /* gauge: recipient states in use */
	uint64_t added;
	uint64_t full;          /* adds refused: no entry or recipient room */
	uint64_t attempts;      /* entries handed out */
	uint64_t deferred;
	uint64_t finished;
	uint64_t expired;
	uint64_t deleted;
	uint64_t held;
	uint64_t released;
	uint64_t retried;
};

/* Allocates everything (init time).  0, -EINVAL or -ENOMEM. */
int queue_create(const struct queue_conf *conf, struct queue **out);
/* Frees the queue; the messages' handles are the caller's to close. */
void queue_destroy(struct queue *q);

/* Add an accepted message, due at NOW.  -ENOBUFS when out of entries or
 * recipient room (counted; room held by queue_reserve() is not free), -EEXIST
 * for a queue ID already queued, -EINVAL for no recipients or queue ID 0.
 * A message whose recipients are all done already is added too; its first
 * attempt ends it. */
int queue_add(struct queue *q, const struct queue_add *a, uint64_t now);

/* Hold room for a message of NRCPT recipients that is being received, so
 * that once it is accepted its queue_add() (with reserved set) cannot fail
 * for room: a message that got its 250 is never left out of the queue.
 * 0, or -ENOBUFS (counted as full) when the queue has no such room.
 * queue_unreserve() gives back room a message did not take. */
int queue_reserve(struct queue *q, uint32_t nrcpt);
void queue_unreserve(struct queue *q, uint32_t nrcpt);

/* µs until the next entry is due (0: one is), UINT64_MAX when none is. */
uint64_t queue_next_due(const struct queue *q, uint64_t now);
/* Hand out the most overdue entry: 1 with *msg, *qid set (the entry is now
 * ACTIVE and inflight), 0 when nothing is due at NOW. */
int queue_pop_due(struct queue *q, uint64_t now, struct spool_msg **msg,
		  uint64_t *qid);

/* Record recipient RCPT's result (SENT or BOUNCED) of an inflight entry.
 * -ENOENT, -EINVAL (RCPT out of range, PENDING), -EALREADY (done before). */
int queue_rcpt_set(struct queue *q, uint64_t qid, uint32_t rcpt,
		   enum queue_rcpt st);
/* Recipient RCPT's state, or a negative errno. */
int queue_rcpt_get(const struct queue *q, uint64_t qid, uint32_t rcpt);

enum queue_end {
	QUEUE_END_FINISHED = 1,  /* every recipient done: removed */
	QUEUE_END_DEFERRED,      /* rescheduled per the retry schedule */
	QUEUE_END_EXPIRED,       /* past the lifetime: removed, bounce the pending ones */
	QUEUE_END_HELD,          /* held meanwhile: stays held */
};

/* End the attempt of an inflight entry.  REPLY (NULL: keep the old one)
 * is the reason recipients are still pending.  Returns an enum queue_end
 * (with *msg set for FINISHED and EXPIRED: the caller finishes the spool
 * message) or -ENOENT / -EINVAL (not inflight). */
int queue_attempt_end(struct queue *q, uint64_t qid, uint64_t now,
		      const char *reply, struct spool_msg **msg);

/* Operator actions, by queue ID.  hold: 0 (also when held already; an
 * inflight entry is held when its attempt ends).  release: 0, due now;
 * -EALREADY when not held.  retry: a deferred entry is due now; 0, or
 * -EALREADY when not deferred.  delete: 0 with *msg set (the caller
 * finishes the spool message as deleted); -EBUSY while inflight.  Each:
 * -ENOENT for an unknown ID. */
int queue_hold(struct queue *q, uint64_t qid);
int queue_release(struct queue *q, uint64_t qid, uint64_t now);
int queue_retry(struct queue *q, uint64_t qid, uint64_t now);
int queue_delete(struct queue *q, uint64_t qid, struct spool_msg **msg);

/* A copy of an entry: 0 or -ENOENT. */
int queue_get(const struct queue *q, uint64_t qid, struct queue_info *out);
/* Copies of up to MAX entries into OUT (in no particular order); returns
 * how many.  queue_count() says how many there are. */
uint32_t queue_list(const struct queue *q, struct queue_info *out,
		    uint32_t max);
uint32_t queue_count(const struct queue *q);

const struct queue_stats *queue_stats(const struct queue *q);

/* Queued messages by state and by age (time since arrival). */
#define QUEUE_AGE_BUCKETS 5
extern const uint64_t queue_age_bound_s[QUEUE_AGE_BUCKETS];  /* 1m 5m 1h 6h 1d */
struct queue_depth {
	uint32_t state[QUEUE_HELD + 1];         /* by enum queue_state; [0] unused */
	uint32_t inflight;                      /* handed to the relay now */
	uint32_t age[QUEUE_AGE_BUCKETS + 1];    /* < bound[i]; the last: older */
};

/* Count every entry at NOW: O(max_entries), for the periodic snapshot. */
void queue_depth(const struct queue *q, uint64_t now, struct queue_depth *d);

#endif
