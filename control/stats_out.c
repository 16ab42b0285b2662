/*
 * stats_out: the calls the stats walk makes, and the JSON writer — see
 * stats_out.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "control/json_out.h"
#include "control/stats_out.h"

/* ---- the walk's calls ------------------------------------------------ */

void stats_group(struct stats_out *o, const char *key, const char *prom)
{
	if (o->err == 0)
		o->ops->open(o, key, prom, NULL, false);
}

void stats_map(struct stats_out *o, const char *key, const char *prom,
	       const char *label)
{
	if (o->err == 0)
		o->ops->open(o, key, prom, label, false);
}

void stats_list(struct stats_out *o, const char *key, const char *prom,
		const char *label)
{
	if (o->err == 0)
		o->ops->open(o, key, prom, label, true);
}

void stats_item(struct stats_out *o, const char *label_value)
{
	if (o->err == 0)
		o->ops->item(o, label_value);
}

void stats_end(struct stats_out *o)
{
	if (o->err == 0)
		o->ops->close(o);
}

void stats_num(struct stats_out *o, const char *key, uint64_t v,
	       enum stats_kind kind)
{
	if (o->err == 0)
		o->ops->num(o, key, v, kind);
}

void stats_counter(struct stats_out *o, const char *key, uint64_t v)
{
	stats_num(o, key, v, STATS_COUNTER);
}

void stats_gauge(struct stats_out *o, const char *key, uint64_t v)
{
	stats_num(o, key, v, STATS_GAUGE);
}

void stats_total(struct stats_out *o, const char *key, uint64_t v)
{
	stats_num(o, key, v, STATS_TOTAL);
}

void stats_hist(struct stats_out *o, const char *key,
		const struct stats_hist *h)
{
	if (o->err == 0)
		o->ops->hist(o, key, h);
}

void stats_text(struct stats_out *o, const char *key, const char *s)
{
	if (o->err == 0)
		o->ops->text(o, key, s);
}

void stats_flag(struct stats_out *o, const char *key, bool v)
{
	if (o->err == 0)
		o->ops->flag(o, key, v);
}

void stats_fields(struct stats_out *o, const struct stats_field *fields,
		  const uint64_t *v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		stats_num(o, fields[i].name, v[i], fields[i].kind);
}

/* ---- the JSON writer ---------------------------------------------------- */

static struct stats_out_json *json_of(struct stats_out *o)
{
	return (struct stats_out_json *)o;
}

static struct json_object *top(struct stats_out_json *j)
{
	return j->stack[j->depth - 1];
}

/* Add VAL (taken) as KEY of the current object, or as the next element of
 * the current array. */
static void add(struct stats_out_json *j, const char *key,
		struct json_object *val)
{
	struct json_object *cur = top(j);
	int rc = json_object_is_type(cur, json_type_array)
		? jout_append(cur, val) : jout_put(cur, key, val);

	if (rc < 0)
		j->out.err = rc;
}

/* Add VAL (taken) and make it the current container. */
static void push(struct stats_out_json *j, const char *key,
		 struct json_object *val)
{
	if (j->depth == STATS_JSON_DEPTH) {
		json_object_put(val);
		j->out.err = -E2BIG;
		return;
	}
	add(j, key, val);
	if (j->out.err == 0)
		j->stack[j->depth++] = val;
}

static void json_open(struct stats_out *o, const char *key, const char *prom,
		      const char *label, bool list)
{
	(void)prom;
	(void)label;
	push(json_of(o), key, list ? json_object_new_array()
				   : json_object_new_object());
}

/* An item of a list is its next element; of a map, its member LABEL_VALUE. */
static void json_item(struct stats_out *o, const char *label_value)
{
	push(json_of(o), label_value, json_object_new_object());
}

static void json_close(struct stats_out *o)
{
	struct stats_out_json *j = json_of(o);

	if (j->depth > 1)
		j->depth--;
	else
		o->err = -EINVAL;
}

static void json_num(struct stats_out *o, const char *key, uint64_t v,
		     enum stats_kind kind)
{
	(void)kind;
	add(json_of(o), key, json_object_new_uint64(v));
}

/* {"count": n, "sum": s, "buckets": {"100": cumulative, ..., "+Inf": n}} */
static void json_hist(struct stats_out *o, const char *key,
		      const struct stats_hist *h)
{
	struct stats_out_json *j = json_of(o);
	uint64_t total = 0, cum = 0;
	char le[24];

	for (unsigned i = 0; i <= h->n; i++)
		total += h->count[i];
	push(j, key, json_object_new_object());
	add(j, "count", json_object_new_uint64(total));
	add(j, "sum", json_object_new_uint64(h->sum));
	push(j, "buckets", json_object_new_object());
	for (unsigned i = 0; i <= h->n && o->err == 0; i++) {
		cum += h->count[i];
		if (i < h->n)
			snprintf(le, sizeof(le), "%" PRIu64, h->bound[i]);
		else
			snprintf(le, sizeof(le), "+Inf");
		add(j, le, json_object_new_uint64(cum));
	}
	if (o->err == 0)
		j->depth -= 2;
}

static void json_text(struct stats_out *o, const char *key, const char *s)
{
	struct stats_out_json *j = json_of(o);

	if (s != NULL)
		add(j, key, json_object_new_string(s));
	else if (jout_put_null(top(j), key) < 0)
		o->err = -ENOMEM;
}

static void json_flag(struct stats_out *o, const char *key, bool v)
{
	add(json_of(o), key, json_object_new_boolean(v));
}

static const struct stats_out_ops json_ops = {
	.open = json_open, .item = json_item, .close = json_close,
	.num = json_num, .hist = json_hist, .text = json_text,
	.flag = json_flag,
};

void stats_out_json_init(struct stats_out_json *j)
{
	memset(j, 0, sizeof(*j));
	j->out.ops = &json_ops;
	j->root = json_object_new_object();
	if (j->root == NULL)
		j->out.err = -ENOMEM;
	j->stack[0] = j->root;
	j->depth = 1;
}

struct json_object *stats_out_json_take(struct stats_out_json *j)
{
	struct json_object *root = j->root;

	j->root = NULL;
	if (j->out.err == 0 && j->depth == 1)
		return root;
	json_object_put(root);
	return NULL;
}
