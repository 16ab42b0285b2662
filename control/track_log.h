/*
 * track_log: the control plane's side of message tracking.  Owns the
 * tracking log file (one JSON object per event, rotated by size: FILE →
 * FILE.1 → ... → FILE.keep), the Postfix-like text lines (to a FILE*, by
 * default stderr) and a bounded in-memory index of recent messages by
 * queue ID, each with its last few delivery attempts, that answers the
 * "accepted" query.
 *
 * Runs on the main lcore: track_log_poll() drains every worker's tracking
 * ring a bounded batch at a time.  JSON lines go through a 64 KiB stdio
 * buffer, text lines through a 64 KiB buffer of our own (stderr has none);
 * both are written out once per poll that recorded something, so a poll
 * costs a few write(2)s at most.  The log is not fsynced (a lost tail
 * after a crash costs history, not mail).
 */
#ifndef SLUICE_CONTROL_TRACK_LOG_H
#define SLUICE_CONTROL_TRACK_LOG_H

#include <stdint.h>
#include <stdio.h>

#include "dataplane/track.h"

#define TRACK_LOG_KEEP_MAX 99

struct track_log_conf {
	const char *path;       /* tracking log; NULL: none (index and text only) */
	uint64_t max_bytes;     /* rotate before a line would take it past this */
	unsigned keep;          /* rotated files kept (1..TRACK_LOG_KEEP_MAX) */
	uint32_t index_max;     /* messages remembered in memory */
	FILE *text;             /* Postfix-like lines; NULL: none */
};

/* 64 MiB files, 5 kept, 100000 messages remembered, text to stderr. */
void track_log_conf_defaults(struct track_log_conf *c, const char *path);

#define TRACK_ATTEMPTS     4    /* delivery attempts kept per message */
#define TRACK_ATTEMPT_TEXT 64   /* bytes of an attempt's reply, with the NUL */

/* A delivery attempt: a deferred, relayed, bounced or expired event, or
 * several of one kind at the same time through the same host with the
 * same reply (one per recipient: they count in nrcpt). */
struct track_attempt {
	uint64_t time_us;
	uint32_t nrcpt;
	uint8_t type;           /* enum track_type */
	char relay[TRACK_RELAY_MAX];
	char reply[TRACK_ATTEMPT_TEXT];
};

/* A message as the index knows it. */
struct track_msg {
	uint64_t qid;
	uint64_t time_us;       /* accepted (or first seen) */
	uint64_t updated_us;    /* last event */
	uint64_t size;
	uint32_t nrcpt;
	uint8_t status;         /* enum track_type of the last event */
	uint8_t client_family;
	uint16_t client_port;
	uint8_t client_addr[16];
	char tls[TRACK_TLS_MAX];
	char sender[TRACK_ADDR_MAX];
	char rcpt[TRACK_RCPTS][TRACK_ADDR_MAX];
	char relay[TRACK_RELAY_MAX];
	char reply[TRACK_TEXT_MAX];
	uint32_t nattempts;     /* attempts seen; the last TRACK_ATTEMPTS kept */
	struct track_attempt attempt[TRACK_ATTEMPTS];  /* oldest first */
};

/* How many of M's attempts attempt[] holds. */
static inline uint32_t track_msg_kept(const struct track_msg *m)
{
	return m->nattempts < TRACK_ATTEMPTS ? m->nattempts : TRACK_ATTEMPTS;
}

struct track_log_stats {
	uint64_t events;
	uint64_t lines;          /* JSON lines written */
	uint64_t rotations;
	uint64_t write_errors;
	uint64_t evicted;        /* index entries overwritten by newer messages */
};

struct track_log;

/* Open (append to) the log, allocate the index.  0 or a negative errno. */
int track_log_open(const struct track_log_conf *conf, struct track_log **out);
/* Flush and close; L may be NULL. */
void track_log_close(struct track_log *l);

/* Main lcore: take what the N rings hold (entries may be NULL), record
 * every event, flush.  Returns the events recorded. */
unsigned track_log_poll(struct track_log *l, struct track_ring *const *rings,
			unsigned n);
/* Record one event: JSON line, text lines, index.  The text lines are
 * written at the end of the next poll (or at close). */
void track_log_event(struct track_log *l, const struct track_event *e);

/* The JSON object of an event (new reference), NULL when out of memory. */
struct json_object *track_event_json(const struct track_event *e);

/* The recipients listed (at most TRACK_RCPTS of NRCPT) as a JSON array
 * (new reference), NULL when out of memory. */
struct json_object *track_rcpts_json(const char (*rcpt)[TRACK_ADDR_MAX],
				     uint32_t nrcpt);

/* What "accepted" asks for.  Strings are NULL when not asked; FROM and TO
 * match case-insensitively anywhere in the address. */
struct track_query {
	uint64_t since_us;      /* time_us >= this */
	const char *from;
	const char *to;         /* any listed recipient */
	uint64_t qid;           /* 0: any */
	uint32_t limit;         /* at most this many, the newest */
};

/* Matching messages, oldest first, up to MAX (and q->limit) pointers into
 * the index (valid until the next poll).  Returns how many. */
uint32_t track_log_query(const struct track_log *l, const struct track_query *q,
			 const struct track_msg **out, uint32_t max);

const struct track_log_stats *track_log_stats(const struct track_log *l);

#endif
