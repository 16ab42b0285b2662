/*
 * lg_hist: an HDR-style latency histogram.  Owns log-linear buckets over
 * unsigned 64-bit values (microseconds in sluice-bench): values below 128
 * are counted exactly, larger ones in 64 sub-buckets per power of two, so
 * a percentile is within 1/64 (1.6%) of the true value and never above the
 * largest value recorded.  Fixed size (about 30 KiB), no allocation; no
 * Debian package offers an HDR histogram for C.
 */
#ifndef SLUICE_BENCH_LOADGEN_LG_HIST_H
#define SLUICE_BENCH_LOADGEN_LG_HIST_H

#include <stdint.h>

#define LG_HIST_SUB     64                       /* sub-buckets per power of two */
#define LG_HIST_BUCKETS (LG_HIST_SUB * 58 + 128) /* enough for any uint64_t */

struct lg_hist {
	uint64_t count;
	uint64_t min, max;
	double sum;
	uint64_t b[LG_HIST_BUCKETS];
};

void lg_hist_init(struct lg_hist *h);
void lg_hist_record(struct lg_hist *h, uint64_t v);

/* The bucket that holds V, and the largest value a bucket holds. */
unsigned lg_hist_bucket(uint64_t v);
uint64_t lg_hist_bucket_high(unsigned idx);

/* The value at percentile P (0 < P <= 100): the smallest bucket top below
 * which at least P% of the values lie, capped at the maximum recorded.
 * 0 for an empty histogram. */
uint64_t lg_hist_percentile(const struct lg_hist *h, double p);

double lg_hist_mean(const struct lg_hist *h);

#endif
