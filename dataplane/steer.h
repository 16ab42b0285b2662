/*
 * steer: which worker owns a TCP flow, so that each connection lives on
 * exactly one core.  A passive connection belongs to the worker whose queue
 * its SYN arrived on (RSS, and af_packet's fanout hash, keep a flow on one
 * queue).  An active open belongs to the worker its local port names:
 * lport % nb_workers == the worker's index.  Where the port's RSS key and
 * RETA are known, the local port is also chosen so that the reply hashes
 * (rte_softrss) to the owner's own queue, and redirects stay rare; where
 * they are not (af_packet fanout), a segment that lands on another worker
 * is passed to the owner over its ring (worker.c) and counted.
 */
#ifndef SLUICE_DATAPLANE_STEER_H
#define SLUICE_DATAPLANE_STEER_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>

#include "control/config.h"
#include "drivers/port.h"

struct steer {
	unsigned idx;                 /* this worker; also its queue */
	unsigned nb_workers;
	uint16_t port_lo, port_hi;    /* the active-open port range */
	unsigned nb_ports;
	uint32_t addr[CONF_MAX_PORTS];             /* host order */
	const struct port_info *port[CONF_MAX_PORTS];
};

void steer_init(struct steer *st, unsigned idx, unsigned nb_workers,
		const struct conf *conf, const struct port_info *ports);

/* The worker that owns the TCP segment in M (IPv4 header at the data
 * pointer, l3_len set).  Segments too short to say stay where they are. */
unsigned steer_owner(const struct steer *st, const struct rte_mbuf *m);

/* Is the segment in M addressed to a local port of the active-open range
 * (so steer_owner() knows its owner for sure)? */
bool steer_is_active(const struct steer *st, const struct rte_mbuf *m);

/* tcp_port_ok_fn for the worker's stack (ARG is its struct steer). */
bool steer_port_ok(void *arg, uint32_t laddr, uint16_t lport, uint32_t raddr,
		   uint16_t rport);

#endif
