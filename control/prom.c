/*
 * prom: the stats walk as Prometheus text exposition — see prom.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/prom.h"

static struct prom_out *prom_of(struct stats_out *o)
{
	return (struct prom_out *)o;
}

/* Append "SEP PART" to BUF (holding *LEN bytes); -ENAMETOOLONG when full. */
static int extend(char *buf, size_t cap, size_t *len, const char *sep,
		  const char *part)
{
	int n = snprintf(buf + *len, cap - *len, "%s%s",
			 *len > 0 && part[0] != '\0' ? sep : "", part);

	if (n < 0 || (size_t)n >= cap - *len)
		return -ENAMETOOLONG;
	*len += (size_t)n;
	return 0;
}

/* NAME="VALUE" with VALUE escaped (\\, \", \n), after the labels so far. */
static int add_label(char *buf, size_t cap, size_t *len, const char *name,
		     const char *value)
{
	char esc[PROM_LABEL_MAX];
	size_t e = 0;

	for (const char *c = value; *c != '\0'; c++) {
		if (e + 3 >= sizeof(esc))
			return -ENAMETOOLONG;
		if (*c == '\\' || *c == '"' || *c == '\n')
			esc[e++] = '\\';
		esc[e++] = *c == '\n' ? 'n' : *c;
	}
	esc[e] = '\0';
	if (extend(buf, cap, len, ",", name) < 0)
		return -ENAMETOOLONG;
	return extend(buf, cap, len, "", "=\"") < 0 ||
	       extend(buf, cap, len, "", esc) < 0 ||
	       extend(buf, cap, len, "", "\"") < 0 ? -ENAMETOOLONG : 0;
}

static void push(struct prom_out *p, const char *key, const char *prom,
		 const char *label, bool list)
{
	struct prom_frame *f;
	size_t name_len = strlen(p->name), path_len = strlen(p->path);

	if (p->depth == PROM_DEPTH) {
		p->out.err = -E2BIG;
		return;
	}
	f = &p->stack[p->depth++];
	*f = (struct prom_frame){.name_len = name_len,
				 .label_len = strlen(p->labels),
				 .path_len = path_len, .label = label,
				 .list = list};
	if (extend(p->name, sizeof(p->name), &name_len, "_", prom) < 0 ||
	    (key != NULL && extend(p->path, sizeof(p->path), &path_len, ".",
				   key) < 0) ||
	    (list && extend(p->path, sizeof(p->path), &path_len, "", "[]") < 0))
		p->out.err = -ENAMETOOLONG;
}

static void prom_open(struct stats_out *o, const char *key, const char *prom,
		      const char *label, bool list)
{
	push(prom_of(o), key, prom, label, list);
}

/* An item of the current list: its label joins the labels. */
static void prom_item(struct stats_out *o, const char *label_value)
{
	struct prom_out *p = prom_of(o);
	const char *label = p->depth > 0 ? p->stack[p->depth - 1].label : NULL;
	size_t len;

	push(p, NULL, "", NULL, false);
	len = strlen(p->labels);
	if (o->err == 0 && label != NULL &&
	    add_label(p->labels, sizeof(p->labels), &len, label, label_value) < 0)
		o->err = -ENAMETOOLONG;
}

static void prom_close(struct stats_out *o)
{
	struct prom_out *p = prom_of(o);
	struct prom_frame *f;

	if (p->depth == 0) {
		o->err = -EINVAL;
		return;
	}
	f = &p->stack[--p->depth];
	p->name[f->name_len] = '\0';
	p->labels[f->label_len] = '\0';
	p->path[f->path_len] = '\0';
}

/* KEY as a name part into BUF, with a unit suffix _us or _s spelled
 * _seconds; returns the divisor that turns the value into seconds. */
static uint32_t unit_key(const char *key, char *buf, size_t len)
{
	size_t n = strlen(key);
	uint32_t scale = 1;

	if (n > 3 && strcmp(key + n - 3, "_us") == 0)
		scale = 1000000, n -= 3;
	else if (n > 2 && strcmp(key + n - 2, "_s") == 0)
		n -= 2;
	else
		return snprintf(buf, len, "%s", key), 1;
	snprintf(buf, len, "%.*s_seconds", (int)n, key);
	return scale;
}

/* A value of V / SCALE: an integer when SCALE is 1, else six decimals. */
static void print_value(FILE *f, uint64_t v, uint32_t scale)
{
	if (scale == 1)
		fprintf(f, "%" PRIu64, v);
	else
		fprintf(f, "%" PRIu64 ".%06" PRIu64, v / scale, v % scale);
}

/* A map's members are labelled by their key and named by the map. */
static const char *map_label(const struct prom_out *p)
{
	const struct prom_frame *f = p->depth > 0 ? &p->stack[p->depth - 1] : NULL;

	return f != NULL && !f->list ? f->label : NULL;
}

/* A new sample of family sluice_PREFIX[_KEY]FAMILY_SUFFIX, named with
 * SUFFIX after that, with the current labels and EXTRA_NAME="EXTRA" added
 * when EXTRA_NAME is not NULL. */
static struct prom_sample *sample(struct prom_out *p, const char *key,
				  enum prom_type type, const char *family_suffix,
				  const char *suffix, const char *extra_name,
				  const char *extra)
{
	const char *label = map_label(p);
	struct prom_sample *s;
	char part[PROM_NAME_MAX];
	uint32_t scale = label == NULL ? unit_key(key, part, sizeof(part)) : 1;
	size_t len;

	if (p->n == p->cap) {
		uint32_t cap = p->cap ? p->cap * 2 : 256;
		struct prom_sample *ns = realloc(p->s, cap * sizeof(*ns));

		if (ns == NULL) {
			p->out.err = -ENOMEM;
			return NULL;
		}
		p->s = ns;
		p->cap = cap;
	}
	s = &p->s[p->n];
	memset(s, 0, sizeof(*s));
	len = 0;
	if (extend(s->family, sizeof(s->family), &len, "", "sluice") < 0 ||
	    extend(s->family, sizeof(s->family), &len, "_", p->name) < 0 ||
	    (label == NULL && extend(s->family, sizeof(s->family), &len, "_", part) < 0) ||
	    extend(s->family, sizeof(s->family), &len, "", family_suffix) < 0)
		goto toolong;
	len = strlen(p->labels);
	memcpy(s->labels, p->labels, len + 1);
	if ((label != NULL &&
	     add_label(s->labels, sizeof(s->labels), &len, label, key) < 0) ||
	    (extra_name != NULL &&
	     add_label(s->labels, sizeof(s->labels), &len, extra_name, extra) < 0))
		goto toolong;
	len = 0;
	if (extend(s->help, sizeof(s->help), &len, "", p->path) < 0 ||
	    extend(s->help, sizeof(s->help), &len, ".", label != NULL ? "*" : key) < 0)
		goto toolong;
	s->type = type;
	s->suffix = suffix;
	s->scale = scale;
	s->seq = p->n++;
	return s;
toolong:
	p->out.err = -ENAMETOOLONG;
	return NULL;
}

static void prom_num(struct stats_out *o, const char *key, uint64_t v,
		     enum stats_kind kind)
{
	struct prom_sample *s;

	if (kind == STATS_TOTAL)
		return;
	s = sample(prom_of(o), key,
		   kind == STATS_COUNTER ? PROM_COUNTER : PROM_GAUGE,
		   kind == STATS_COUNTER ? "_total" : "", "", NULL, NULL);
	if (s != NULL)
		s->v = v;
}

static void prom_hist(struct stats_out *o, const char *key,
		      const struct stats_hist *h)
{
	struct prom_out *p = prom_of(o);
	struct prom_sample *s;
	uint64_t cum = 0;
	char le[24], name[PROM_NAME_MAX];

	for (unsigned i = 0; i <= h->n; i++) {
		cum += h->count[i];
		if (i < h->n)
			snprintf(le, sizeof(le), "%g", (double)h->bound[i] /
				 (double)unit_key(key, name, sizeof(name)));
		else
			snprintf(le, sizeof(le), "+Inf");
		if ((s = sample(p, key, PROM_HISTOGRAM, "", "_bucket", "le", le)) == NULL)
			return;
		s->v = cum;
		s->scale = 1;   /* a count */
	}
	if ((s = sample(p, key, PROM_HISTOGRAM, "", "_sum", NULL, NULL)) != NULL)
		s->v = h->sum;
	if ((s = sample(p, key, PROM_HISTOGRAM, "", "_count", NULL, NULL)) != NULL) {
		s->v = cum;
		s->scale = 1;
	}
}

static void prom_text(struct stats_out *o, const char *key, const char *s)
{
	(void)o;
	(void)key;
	(void)s;
}

static void prom_flag(struct stats_out *o, const char *key, bool v)
{
	struct prom_sample *s = sample(prom_of(o), key, PROM_GAUGE, "", "", NULL, NULL);

	if (s != NULL)
		s->v = v;
}

static const struct stats_out_ops prom_ops = {
	.open = prom_open, .item = prom_item, .close = prom_close,
	.num = prom_num, .hist = prom_hist, .text = prom_text,
	.flag = prom_flag,
};

void prom_out_init(struct prom_out *p)
{
	memset(p, 0, sizeof(*p));
	p->out.ops = &prom_ops;
}

void prom_out_fini(struct prom_out *p)
{
	free(p->s);
	p->s = NULL;
	p->n = p->cap = 0;
}

static int by_family(const void *a, const void *b)
{
	const struct prom_sample *x = a, *y = b;
	int c = strcmp(x->family, y->family);

	return c != 0 ? c : x->seq < y->seq ? -1 : x->seq > y->seq;
}

int prom_out_sort(struct prom_out *p)
{
	qsort(p->s, p->n, sizeof(*p->s), by_family);
	for (uint32_t i = 1; i < p->n; i++)
		if (strcmp(p->s[i].family, p->s[i - 1].family) == 0 &&
		    p->s[i].type != p->s[i - 1].type)
			return -EINVAL;
	return 0;
}

void prom_sample_name(const struct prom_sample *s, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s", s->family, s->suffix);
}

static const char *const type_name[] = {
	[PROM_COUNTER] = "counter", [PROM_GAUGE] = "gauge",
	[PROM_HISTOGRAM] = "histogram",
};

char *prom_out_text(const struct prom_out *p, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	if (f == NULL)
		return NULL;
	for (uint32_t i = 0; i < p->n; i++) {
		const struct prom_sample *s = &p->s[i];

		if (i == 0 || strcmp(s->family, p->s[i - 1].family) != 0)
			fprintf(f, "# HELP %s sluicectl stats: %s\n# TYPE %s %s\n",
				s->family, s->help, s->family, type_name[s->type]);
		fprintf(f, "%s%s%s%s%s ", s->family, s->suffix,
			s->labels[0] != '\0' ? "{" : "", s->labels,
			s->labels[0] != '\0' ? "}" : "");
		print_value(f, s->v, s->scale);
		fputc('\n', f);
	}
	if (ferror(f)) {
		fclose(f);
		free(buf);
		return NULL;
	}
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}
