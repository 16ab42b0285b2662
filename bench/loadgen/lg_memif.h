/*
 * lg_memif: sluice-bench's second transport — Sluice's own TCP over DPDK
 * memif (see lg_transport.h for the interface), optionally with the
 * smart-host sink on a second memif port.
 */
#ifndef SLUICE_BENCH_LOADGEN_LG_MEMIF_H
#define SLUICE_BENCH_LOADGEN_LG_MEMIF_H

#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#include "bench/loadgen/lg_host.h"
#include "bench/loadgen/lg_transport.h"
#include "bench/sink/sink_sess.h"

struct lg_memif_conf {
	struct sockaddr_in server;    /* the gateway: probed before the run */
	struct lg_host_port client;   /* where the sessions come from */
	struct lg_host_port sink;     /* socket NULL: no sink */
	uint16_t sink_port;           /* the sink listens on sink.addr:sink_port */
	unsigned lcore;               /* the CPU the poll loop runs on */
	unsigned idle_sleep_us;       /* after an empty poll round; 0: spin */
};

/* The transport for MAX connections; the EAL and the ports come up here
 * (waiting for the gateway's end of each memif, then for its server to
 * accept a connection).  0 with *OUT, or a
 * negative errno with the reason in ERR. */
int lg_memif_new(const struct lg_memif_conf *mc, unsigned max,
		 struct lg_transport **out, char *err, size_t errlen);

/* The sink's counters and when its last message came (µs, CLOCK_MONOTONIC),
 * or NULL when T is not a memif transport with a sink. */
const struct sink_stats *lg_memif_sink(struct lg_transport *t, uint64_t *last_us);

#endif
