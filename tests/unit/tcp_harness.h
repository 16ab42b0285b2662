/*
 * tcp_harness: two TCP stacks joined by the in-memory impaired link, a
 * deterministic clock, and a simple application on each end that records
 * events and received bytes and sends from a pattern.  The TCP tests and
 * the TCP fuzz target drive everything through this.
 */
#ifndef SLUICE_TESTS_UNIT_TCP_HARNESS_H
#define SLUICE_TESTS_UNIT_TCP_HARNESS_H

#include <stdbool.h>
#include <stdint.h>

#include "dataplane/tcp/tcp.h"
#include "drivers/impair.h"
#include "drivers/memlink.h"

#define H_ADDR_A 0x0a000001u  /* 10.0.0.1 */
#define H_ADDR_B 0x0a000002u  /* 10.0.0.2 */

/* Drop a frame leaving SIDE?  (Targeted losses on top of the impairment.) */
typedef bool (*h_filter_fn)(void *arg, int side, const struct rte_mbuf *m);
/* How much longer than the link's delay a frame leaving SIDE takes, in µs
 * (targeted reordering). */
typedef uint64_t (*h_delay_fn)(void *arg, int side, const struct rte_mbuf *m);

struct h_app {
	struct tcp_conn *conn;
	unsigned nev[TCP_EV_CLOSED + 1];   /* events seen, by kind */
	int err[TCP_EV_CLOSED + 1];        /* the last one's error */
	uint8_t *rx;             /* received bytes */
	size_t rx_len, rx_cap;
	bool rx_stall;           /* take nothing (closes the window) */
	const uint8_t *tx;       /* bytes to send, sent as space allows */
	size_t tx_len, tx_off;
	bool close_after_tx;     /* tcp_close() once everything is queued */
	bool echo;               /* send back what arrives */
};

struct h_side {
	struct tcp_stack *s;
	struct h_app *listen_app; /* accepted connections use this app */
};

struct harness {
	struct rte_mempool *pool;
	struct memlink *link;
	struct h_side side[2];
	uint64_t now;
	h_filter_fn filter;
	void *filter_arg;
	h_delay_fn delay;
	void *delay_arg;
	uint64_t filtered;
};

/* Create both stacks (with CONF) and the link (impairments, may be NULL). */
int h_init(struct harness *h, struct rte_mempool *pool,
	   const struct tcp_stack_conf *conf, const struct impair_conf *a_to_b,
	   const struct impair_conf *b_to_a);
void h_fini(struct harness *h);

/* Run the clock forward by US, delivering frames and firing timers. */
void h_run(struct harness *h, uint64_t us);
/* Run until COND(arg) holds or US pass; returns whether it held. */
bool h_run_until(struct harness *h, uint64_t us, bool (*cond)(void *), void *arg);

/* Listen on SIDE at port PORT, handing connections to APP. */
int h_listen(struct harness *h, int side, uint16_t port, struct h_app *app);
/* Connect from SIDE to the other side's PORT, with APP. */
struct tcp_conn *h_connect(struct harness *h, int side, uint16_t port,
			   struct h_app *app);

void h_app_init(struct h_app *a, size_t rx_cap);
void h_app_fini(struct h_app *a);
/* Queue more of a->tx as space allows (called on events too). */
void h_app_pump(struct h_app *a);
bool h_app_saw(const struct h_app *a, enum tcp_event ev, int *err);

extern const struct tcp_ops h_ops;

#endif
