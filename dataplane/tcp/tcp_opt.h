/*
 * tcp_opt: TCP options — parsing a received header's options (MSS, window
 * scale, SACK-permitted, SACK blocks, timestamps; RFC 9293, 7323, 2018)
 * strictly within the header, and writing them into an outgoing header.
 */
#ifndef SLUICE_DATAPLANE_TCP_TCP_OPT_H
#define SLUICE_DATAPLANE_TCP_TCP_OPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TCP_OPT_SACK_MAX 4      /* blocks a header can carry */
#define TCP_OPT_LEN_MAX  40

struct tcp_sack_block {
	uint32_t start, end;    /* [start, end) in sequence space */
};

struct tcp_opts {
	bool mss_ok, ws_ok, sack_perm, ts_ok;
	uint16_t mss;
	uint8_t ws;             /* shift as received (clamped to 14 by the caller) */
	uint32_t ts_val, ts_ecr;
	uint8_t nsack;
	struct tcp_sack_block sack[TCP_OPT_SACK_MAX];
};

/* Parse LEN bytes of options.  Unknown options are skipped by their length;
 * returns 0, or -EINVAL for a malformed list (an option running past the
 * end, a length below 2, a known option with the wrong length). */
int tcp_opt_parse(const uint8_t *p, size_t len, struct tcp_opts *out);

/* Options to write: which ones and their values.  SYN options (MSS, WS,
 * SACK-permitted) only when syn is set. */
struct tcp_opt_out {
	bool syn;
	uint16_t mss;
	bool ws;
	uint8_t ws_shift;
	bool sack_perm;
	bool ts;
	uint32_t ts_val, ts_ecr;
	uint8_t nsack;
	const struct tcp_sack_block *sack;
};

/* Write the options into P (room for TCP_OPT_LEN_MAX), padded with NOPs to
 * a multiple of 4 as Linux lays them out; returns the length written.  SACK
 * blocks that do not fit are left out. */
size_t tcp_opt_write(uint8_t *p, const struct tcp_opt_out *o);

#endif
