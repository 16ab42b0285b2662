/*
 * lg_opts: sluice-bench's command line.  Owns the options, their defaults
 * and checks, and the usage text.
 */
#ifndef SLUICE_BENCH_LOADGEN_LG_OPTS_H
#define SLUICE_BENCH_LOADGEN_LG_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#include "bench/loadgen/lg_spec.h"

struct lg_opts {
	struct sockaddr_in server; /* --server A.B.C.D[:PORT] (127.0.0.1:25) */
	unsigned sessions;         /* -c: concurrent sessions (10) */
	unsigned per_session;      /* -m: messages per session (10) */
	unsigned rcpts;            /* -r: recipients per message (1) */
	struct lg_sizes sizes;     /* -s: size distribution (1k) */
	const char *sample_dir;    /* --sample-dir: send these files instead */
	uint64_t count;            /* -n: messages in all (1000 unless -d) */
	uint64_t duration_us;      /* -d: or run this long */
	uint64_t rate;             /* --rate: messages/s over all sessions; 0 open */
	uint64_t timeout_us;       /* --timeout: per reply (30 s) */
	uint64_t seed;             /* --seed: for the size choice (1) */
	bool pipelining;           /* off with --no-pipelining */
	bool starttls;             /* --starttls */
	const char *cafile;        /* --cafile: trust for STARTTLS */
	const char *tls_name;      /* --tls-name: name to verify (the address) */
	const char *from;          /* --from (bench@sluice-bench.test) */
	const char *to_domain;     /* --to-domain (example.com) */
	const char *helo;          /* --helo (sluice-bench.test) */
	bool json;                 /* --json: the report as JSON */
	/* the memif transport: our own TCP over DPDK instead of kernel sockets */
	bool memif;                /* --memif SOCKET,ADDR/PREFIX given */
	struct lg_net net;         /* ... that network */
	bool sink;                 /* --sink-memif given */
	struct lg_net sink_net;    /* the smart-host sink's network */
	uint16_t sink_port;        /* --sink-port (25) */
	uint64_t sink_wait_us;     /* --sink-wait: for the rest after the load (10 s) */
	unsigned lcore;            /* --lcore: the poll loop's CPU (0) */
	unsigned idle_sleep_us;    /* --idle-sleep: after an empty round (0: spin) */
	bool quiet;                /* -q: no progress line */
};

/* Fills O from ARGV.  Returns 0, 1 for --help (usage printed to stdout),
 * or -EINVAL with the reason in ERR. */
int lg_opts_parse(int argc, char **argv, struct lg_opts *o, char *err, size_t errlen);

#endif
