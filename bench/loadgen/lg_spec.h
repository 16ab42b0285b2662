/*
 * lg_spec: the value syntaxes of sluice-bench's options.  Owns sizes with a
 * unit ("512", "1k", "50K", "2m": powers of 1024), durations ("10", "10s",
 * "500ms", "2m"), and the message-size distribution ("1k", or
 * "1k:70,50k:30": sizes with relative weights), the weighted pick from
 * it, and a memif network ("SOCKET,A.B.C.D/PREFIX").  No I/O, no
 * allocation.
 */
#ifndef SLUICE_BENCH_LOADGEN_LG_SPEC_H
#define SLUICE_BENCH_LOADGEN_LG_SPEC_H

#include <stddef.h>
#include <stdint.h>

#define LG_SIZES_MAX 16
#define LG_SIZE_MAX  (64u << 20) /* the largest message size accepted */

struct lg_sizes {
	unsigned n;
	uint64_t total_weight;
	struct {
		uint32_t size;   /* octets */
		uint32_t weight; /* relative, > 0 */
	} e[LG_SIZES_MAX];
};

/* A size of LEN octets of S (not NUL-ended): digits and an optional unit
 * k/K (KiB) or m/M (MiB).  Returns 0 with *OUT set, or -EINVAL (syntax)
 * or -ERANGE (0 or over MAX). */
int lg_parse_size(const char *s, size_t len, uint64_t max, uint64_t *out);

/* A duration: digits with an optional unit ms, s (the default) or m.
 * 0 with *US set in microseconds; -EINVAL or -ERANGE (0, or over a day). */
int lg_parse_duration(const char *s, uint64_t *us);

/* A positive decimal integer up to MAX: 0 with *OUT, -EINVAL or -ERANGE. */
int lg_parse_uint(const char *s, uint64_t max, uint64_t *out);

/* "SIZE[:WEIGHT][,SIZE[:WEIGHT]]..." (weight 1 when left out, at most
 * LG_SIZES_MAX entries, sizes up to LG_SIZE_MAX, weights up to 1000000).
 * 0 with *OUT filled; -EINVAL or -ERANGE. */
int lg_parse_sizes(const char *s, struct lg_sizes *out);

/* The entry chosen by R, a uniformly random 64-bit number: entry i with
 * probability weight_i / total_weight. */
unsigned lg_sizes_pick(const struct lg_sizes *sz, uint64_t r);

#define LG_SOCKET_MAX 108         /* sun_path */

struct lg_net {
	char socket[LG_SOCKET_MAX];  /* the memif control socket */
	uint32_t addr;               /* ours on that network, host order */
	uint8_t prefix;              /* 1..32 */
};

/* "SOCKET,A.B.C.D/PREFIX": an absolute socket path (no ',' or '=', which
 * DPDK's device arguments reserve) and our address with its prefix.
 * 0 with *OUT; -EINVAL or -ERANGE (a path too long, a prefix out of
 * 1..32). */
int lg_parse_net(const char *s, struct lg_net *out);

#endif
