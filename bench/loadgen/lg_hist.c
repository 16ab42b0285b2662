/*
 * lg_hist: log-linear buckets.  A value v < 128 has bucket v; above, with
 * e = floor(log2 v) - 6, bucket 64 * e + (v >> e), where v >> e lies in
 * 64..127 — contiguous indexes, each power of two split in 64.
 */
#include <math.h>
#include <string.h>

#include "bench/loadgen/lg_hist.h"

void lg_hist_init(struct lg_hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

unsigned lg_hist_bucket(uint64_t v)
{
	unsigned e;

	if (v < 2 * LG_HIST_SUB)
		return (unsigned)v;
	e = (unsigned)(63 - __builtin_clzll(v)) - 6;
	return LG_HIST_SUB * e + (unsigned)(v >> e);
}

uint64_t lg_hist_bucket_high(unsigned idx)
{
	unsigned e;
	uint64_t m;

	if (idx < 2 * LG_HIST_SUB)
		return idx;
	e = idx / LG_HIST_SUB - 1;
	m = idx - (uint64_t)LG_HIST_SUB * e;
	if (e == 57 && m == 127)
		return UINT64_MAX;
	return ((m + 1) << e) - 1;
}

void lg_hist_record(struct lg_hist *h, uint64_t v)
{
	h->b[lg_hist_bucket(v)]++;
	h->count++;
	h->sum += (double)v;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
}

uint64_t lg_hist_percentile(const struct lg_hist *h, double p)
{
	uint64_t want, seen = 0;

	if (h->count == 0)
		return 0;
	/* less a hair, so that 99.9% of 1000 is 999 and not 1000 */
	want = (uint64_t)ceil(p / 100.0 * (double)h->count - 1e-6);
	if (want == 0)
		want = 1;
	if (want > h->count)
		want = h->count;
	for (unsigned i = 0; i < LG_HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen >= want) {
			uint64_t v = lg_hist_bucket_high(i);

			return v < h->max ? v : h->max;
		}
	}
	return h->max;
}

double lg_hist_mean(const struct lg_hist *h)
{
	return h->count != 0 ? h->sum / (double)h->count : 0.0;
}
