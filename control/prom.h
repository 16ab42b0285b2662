/*
 * prom: the Prometheus writer of the stats walk (control/stats_out.h).
 * Each figure becomes a sample of a metric family named sluice_<group
 * parts>_<key> — counters with the suffix _total, histograms as
 * _bucket{le=...}/_sum/_count — labelled by the items and maps it sits in
 * (port="inside", worker="0", reason="ip_cksum").  Durations are in
 * seconds, Prometheus's base unit: a key ending in _us (microseconds) or
 * _s is named _seconds, its value (and a histogram's bounds) scaled to
 * match.  Totals of other
 * counters (STATS_TOTAL) and texts are left out: Prometheus sums for
 * itself, and texts are labels already.  Samples are gathered first and
 * written grouped by family, each family once with its HELP and TYPE
 * lines, as the text exposition format (version 0.0.4) requires.  The
 * DPDK telemetry commands (control/ctl_telemetry.c) read the same samples.
 */
#ifndef SLUICE_CONTROL_PROM_H
#define SLUICE_CONTROL_PROM_H

#include <stddef.h>
#include <stdint.h>

#include "control/stats_out.h"

#define PROM_DEPTH     8
#define PROM_NAME_MAX  128
#define PROM_LABEL_MAX 384

enum prom_type { PROM_COUNTER, PROM_GAUGE, PROM_HISTOGRAM };

struct prom_sample {
	char family[PROM_NAME_MAX];     /* sluice_tcp_segs_in_total */
	const char *suffix;             /* "", or a histogram's "_bucket"... */
	char labels[PROM_LABEL_MAX];    /* port="inside",worker="0" (escaped) */
	char help[PROM_NAME_MAX];       /* where `sluicectl stats` shows it */
	enum prom_type type;
	uint64_t v;
	uint32_t scale;                 /* v / scale is the value: 1 or 10^6 */
	uint32_t seq;                   /* order of the walk */
};

struct prom_frame {
	size_t name_len, label_len, path_len;
	const char *label;              /* a map's or a list's label name */
	bool list;
};

struct prom_out {
	struct stats_out out;
	struct prom_frame stack[PROM_DEPTH];
	unsigned depth;
	char name[PROM_NAME_MAX];       /* the family prefix so far */
	char labels[PROM_LABEL_MAX];
	char path[PROM_NAME_MAX];       /* the JSON path so far */
	struct prom_sample *s;
	uint32_t n, cap;
};

void prom_out_init(struct prom_out *p);
void prom_out_fini(struct prom_out *p);

/* Sort the samples by family (in walk order within one).  -EINVAL when
 * one family was given two types. */
int prom_out_sort(struct prom_out *p);

/* The exposition text of the sorted samples (malloc'd, *LEN bytes), or
 * NULL without memory. */
char *prom_out_text(const struct prom_out *p, size_t *len);

/* The sample's full name: family and suffix. */
void prom_sample_name(const struct prom_sample *s, char *buf, size_t len);

#endif
