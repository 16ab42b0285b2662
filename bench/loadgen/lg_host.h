/*
 * lg_host: sluice-bench's own network host over DPDK, for the memif
 * transport.  Owns the EAL, one memif port per network (role client: the
 * gateway's end creates the socket), the dataplane's Ethernet, ARP and
 * IPv4 (dataplane/net) and one TCP stack (dataplane/tcp) over them, all
 * driven by lg_host_poll() on the calling thread.  The host's settings
 * are written in the daemon's configuration format and read by its
 * loader, so they are checked the same way.
 */
#ifndef SLUICE_BENCH_LOADGEN_LG_HOST_H
#define SLUICE_BENCH_LOADGEN_LG_HOST_H

#include <stddef.h>
#include <stdint.h>

#define LG_HOST_PORTS 2

struct tcp_stack;

/* One network: the memif control socket and our address on it. */
struct lg_host_port {
	const char *socket;
	uint32_t addr;             /* host order */
	uint8_t prefix;
};

struct lg_host;

/* Bring up N ports with their poll loop on LCORE and a TCP stack for
 * MAX_CONNS connections, its clock starting at NOW (µs); waits (at most
 * 10 s) until every link is up.
 * 0 with *OUT, or a negative errno with the reason in ERR.  Once per
 * process (the EAL cannot start twice). */
int lg_host_new(const struct lg_host_port *ports, unsigned n, unsigned lcore,
		unsigned max_conns, uint64_t now, struct lg_host **out, char *err,
		size_t errlen);
void lg_host_free(struct lg_host *h);

struct tcp_stack *lg_host_tcp(struct lg_host *h);

/* One poll round at NOW (µs, any monotonic clock): receive on every port,
 * run TCP's timers and queued output, ARP's timers, transmit.  Returns the
 * frames received. */
unsigned lg_host_poll(struct lg_host *h, uint64_t now);

#endif
