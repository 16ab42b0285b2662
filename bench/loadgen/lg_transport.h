/*
 * lg_transport: how sluice-bench moves bytes — the interface between the
 * SMTP sessions and a transport.  A transport owns connections numbered
 * 0..max-1 by the caller: it opens them, sends (one send in flight per
 * connection; the completion says how much went), keeps a receive posted
 * on each open connection, and reports all of it as events from wait().
 * Kernel sockets driven by io_uring are lg_uring.c; another transport
 * (Sluice's own TCP over DPDK memif) fills in the same operations.
 */
#ifndef SLUICE_BENCH_LOADGEN_LG_TRANSPORT_H
#define SLUICE_BENCH_LOADGEN_LG_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>
#include <netinet/in.h>

enum lg_tev_kind {
	LG_TEV_OPEN,   /* connected */
	LG_TEV_SENT,   /* the send finished: len octets went (may be short) */
	LG_TEV_RECV,   /* data, len octets, valid until the next wait() */
	LG_TEV_EOF,    /* the peer closed */
	LG_TEV_ERROR,  /* connect, send or receive failed: err (negative errno) */
};

struct lg_tev {
	unsigned conn;
	enum lg_tev_kind kind;
	int err;
	const uint8_t *data;
	size_t len;
};

struct lg_transport;

struct lg_transport_ops {
	const char *name;
	/* Open connection CONN to DST; LG_TEV_OPEN or LG_TEV_ERROR follows. */
	int (*open)(struct lg_transport *t, unsigned conn, const struct sockaddr_in *dst);
	/* Send the IOVCNT buffers (they must stay put until LG_TEV_SENT). */
	int (*send)(struct lg_transport *t, unsigned conn, const struct iovec *iov,
		    unsigned iovcnt);
	/* Close CONN at once; no event follows, and late ones are dropped. */
	void (*close)(struct lg_transport *t, unsigned conn);
	/* Up to MAX events into EV, waiting at most TIMEOUT_US for the first.
	 * Returns how many, or a negative errno. */
	int (*wait)(struct lg_transport *t, struct lg_tev *ev, unsigned max,
		    uint64_t timeout_us);
	void (*destroy)(struct lg_transport *t);
};

struct lg_transport {
	const struct lg_transport_ops *ops;
};

/* Kernel TCP sockets through one io_uring, for MAX connections.  0 with
 * *OUT, or a negative errno. */
int lg_uring_new(unsigned max, struct lg_transport **out);

#endif
