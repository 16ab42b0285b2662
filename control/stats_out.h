/*
 * stats_out: where the one walk over Sluice's statistics (ctl_stats.c)
 * writes.  The walk says what each figure is — a counter, a gauge, a
 * total of other counters, a histogram, a text or a flag — and how the
 * figures nest (groups, lists of items such as ports and workers, maps
 * keyed by a reason); a writer turns that into its own form.  Two writers
 * exist: the JSON object of `sluicectl stats` (stats_out_json, here) and
 * the Prometheus text exposition of /metrics (control/prom.h).  Because
 * both come from the same walk, a figure added to it appears in both.
 *
 * Errors are sticky: after the first failure every call does nothing and
 * the writer's err stays set.
 */
#ifndef SLUICE_CONTROL_STATS_OUT_H
#define SLUICE_CONTROL_STATS_OUT_H

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

enum stats_kind {
	STATS_COUNTER,   /* only goes up */
	STATS_GAUGE,     /* a level now */
	STATS_TOTAL,     /* the sum of counters listed beside it: JSON only */
};

/* A histogram: COUNT[i] observations <= BOUND[i] (not cumulative) for
 * i < N, COUNT[N] above the last bound; SUM of every observation. */
struct stats_hist {
	const uint64_t *bound;
	const uint64_t *count;   /* N + 1 entries */
	unsigned n;
	uint64_t sum;
};

struct stats_out;

struct stats_out_ops {
	/* Open a group (LABEL NULL, LIST false), a map whose members'
	 * keys are values of LABEL (LIST false), or a list whose items
	 * carry LABEL (LIST true).  PROM is the part the group adds to
	 * metric names ("" adds nothing). */
	void (*open)(struct stats_out *o, const char *key, const char *prom,
		     const char *label, bool list);
	void (*item)(struct stats_out *o, const char *label_value);
	void (*close)(struct stats_out *o);
	void (*num)(struct stats_out *o, const char *key, uint64_t v,
		    enum stats_kind kind);
	void (*hist)(struct stats_out *o, const char *key,
		     const struct stats_hist *h);
	void (*text)(struct stats_out *o, const char *key, const char *s);
	void (*flag)(struct stats_out *o, const char *key, bool v);
};

struct stats_out {
	const struct stats_out_ops *ops;
	int err;                 /* 0, or the first negative errno */
};

/* What the walk calls.  Every open, list and item ends with stats_end().
 * An item (a group labelled LABEL_VALUE) belongs to a list or to a map: a
 * map's items are its members in JSON, e.g. relay.hosts.NAME. */
void stats_group(struct stats_out *o, const char *key, const char *prom);
void stats_map(struct stats_out *o, const char *key, const char *prom,
	       const char *label);
void stats_list(struct stats_out *o, const char *key, const char *prom,
		const char *label);
void stats_item(struct stats_out *o, const char *label_value);
void stats_end(struct stats_out *o);
void stats_counter(struct stats_out *o, const char *key, uint64_t v);
void stats_gauge(struct stats_out *o, const char *key, uint64_t v);
void stats_total(struct stats_out *o, const char *key, uint64_t v);
void stats_num(struct stats_out *o, const char *key, uint64_t v,
	       enum stats_kind kind);
void stats_hist(struct stats_out *o, const char *key,
		const struct stats_hist *h);
void stats_text(struct stats_out *o, const char *key, const char *s); /* NULL: null */
void stats_flag(struct stats_out *o, const char *key, bool v);

/* A named counter or gauge of a struct of uint64_t, for tables. */
struct stats_field {
	const char *name;
	enum stats_kind kind;
};

/* FIELDS[i] with value V[i], for i < N. */
void stats_fields(struct stats_out *o, const struct stats_field *fields,
		  const uint64_t *v, unsigned n);

#define STATS_JSON_DEPTH 8

/* The JSON writer: the walk's figures as nested objects and arrays. */
struct stats_out_json {
	struct stats_out out;
	struct json_object *root;
	struct json_object *stack[STATS_JSON_DEPTH];
	unsigned depth;
};

void stats_out_json_init(struct stats_out_json *j);
/* The object written (new reference), or NULL after an error; the
 * writer is finished either way. */
struct json_object *stats_out_json_take(struct stats_out_json *j);

#endif
