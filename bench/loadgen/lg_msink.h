/*
 * lg_msink: the smart-host sink of sluice-bench's memif mode — sluice-sink's
 * sessions (bench/sink/sink_sess: the project's SMTP server engine) on a
 * listener of the host's own TCP, so the gateway's relay leg runs without
 * the kernel too.  Counts what arrives and when the last message did.
 */
#ifndef SLUICE_BENCH_LOADGEN_LG_MSINK_H
#define SLUICE_BENCH_LOADGEN_LG_MSINK_H

#include <stdint.h>

#include "bench/sink/sink_sess.h"

struct tcp_stack;
struct lg_msink;

/* Listen on ADDR:PORT (host order) of TCP.  0 with *OUT, or a negative
 * errno. */
int lg_msink_new(struct tcp_stack *tcp, uint32_t addr, uint16_t port,
		 struct lg_msink **out);
void lg_msink_free(struct lg_msink *k);

/* The sessions' timers and pending output; call every poll round. */
void lg_msink_poll(struct lg_msink *k, uint64_t now);

const struct sink_stats *lg_msink_stats(const struct lg_msink *k);

/* When the last message was received (µs, the poll clock); 0 if none. */
uint64_t lg_msink_last_us(const struct lg_msink *k);

#endif
