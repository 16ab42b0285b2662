/*
 * lg_report: what a sluice-bench run counts and how it is shown.  Owns the
 * counters (messages, replies per code, errors by kind), the two latency
 * histograms, the live progress line and the final report as text or JSON.
 */
#ifndef SLUICE_BENCH_LOADGEN_LG_REPORT_H
#define SLUICE_BENCH_LOADGEN_LG_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "bench/loadgen/lg_hist.h"
#include "bench/loadgen/lg_opts.h"

enum lg_err {
	LG_ERR_CONNECT,  /* connect failed */
	LG_ERR_IO,       /* send or receive failed, or the server closed early */
	LG_ERR_PROTOCOL, /* a reply that does not parse, or out of turn */
	LG_ERR_TIMEOUT,  /* no reply within --timeout */
	LG_ERR_TLS,      /* STARTTLS refused or the handshake failed */
	LG_ERR_MAX,
};

struct lg_stats {
	uint64_t started_us, ended_us;
	uint64_t msgs_ok;      /* 2xx after the data */
	uint64_t msgs_failed;  /* anything else, once started */
	uint64_t sessions;     /* connections opened */
	uint64_t bytes;        /* message octets of the messages that got 2xx */
	uint64_t in_flight;    /* messages started and not finished */
	uint64_t replies[600]; /* replies by code */
	uint64_t err[LG_ERR_MAX];
	struct lg_hist from_connect; /* first message of a session: connect to
					250; later ones: MAIL to 250 (µs) */
	struct lg_hist from_eod;     /* the data's last octet sent to 250 (µs) */
	/* the memif sink (has_sink): what the gateway relayed to it */
	bool has_sink;
	uint64_t relayed, relayed_bytes;
	uint64_t relayed_last_us;    /* when the last one arrived */
};

void lg_stats_init(struct lg_stats *st, uint64_t now_us);

/* Replies of class C (2..5) so far. */
uint64_t lg_stats_class(const struct lg_stats *st, int c);

/* "\r  3.0 s  1234 msg/s ..." for a terminal: the rate since the last
 * call, whose message count and time are *PREV_OK and *PREV_US (updated). */
void lg_report_progress(FILE *f, const struct lg_stats *st, uint64_t now_us,
			uint64_t *prev_ok, uint64_t *prev_us);

/* The final report, as text or (JSON) one JSON object.  0, or -ENOMEM. */
int lg_report_final(FILE *f, const struct lg_stats *st, const struct lg_opts *o,
		    const char *transport, int json);

#endif
