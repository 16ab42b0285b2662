/*
 * impair: the seeded frame impairment stage and its spec parser — see
 * impair.h.  Owns the PRNG (xoshiro256**, seeded through splitmix64), the
 * release heap and the per-frame drop/duplicate/corrupt/delay decisions.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_ether.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "drivers/impair.h"

/* Corruption spares the Ethernet header so the frame still reaches the
 * stack, whose checksums must then catch it. */
#define IMPAIR_SPARED_BYTES RTE_ETHER_HDR_LEN

struct impair_slot {
	uint64_t due;       /* release time, us */
	uint64_t seq;       /* arrival order: ties leave first in, first out */
	struct rte_mbuf *m;
};

struct impair {
	struct impair_conf conf;
	struct impair_stats stats;
	uint64_t rng[4];
	uint64_t seq;
	uint32_t held;
	uint32_t cap;
	char name[32];
	struct impair_slot heap[];  /* min-heap of cap slots */
};

/* ---- PRNG: xoshiro256** (Blackman & Vigna), seeded by splitmix64 ---- */

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t rotl64(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static void rng_seed(uint64_t s[4], uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		s[i] = splitmix64(&seed);
}

static uint64_t rng_next(uint64_t s[4])
{
	uint64_t result = rotl64(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl64(s[3], 45);
	return result;
}

/* Uniform in [0, bound) by multiply-shift; the bias is below 2^-32. */
static uint64_t rng_below(uint64_t s[4], uint64_t bound)
{
	return (uint64_t)(((unsigned __int128)rng_next(s) * bound) >> 64);
}

/* True with probability PPM parts per million.  Draws nothing at 0% and
 * 100%, so a stage with no impairment consumes no randomness. */
static bool rng_chance(uint64_t s[4], uint32_t ppm)
{
	if (ppm == 0)
		return false;
	if (ppm >= IMPAIR_PPM_MAX)
		return true;
	return rng_below(s, IMPAIR_PPM_MAX) < ppm;
}

/* ---- the release heap ---- */

static bool slot_before(const struct impair_slot *a,
			const struct impair_slot *b)
{
	return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static void heap_swap(struct impair_slot *h, uint32_t i, uint32_t j)
{
	struct impair_slot t = h[i];

	h[i] = h[j];
	h[j] = t;
}

static void heap_insert(struct impair *imp, uint64_t due, struct rte_mbuf *m)
{
	struct impair_slot *h = imp->heap;
	uint32_t i = imp->held++;

	h[i] = (struct impair_slot){.due = due, .seq = imp->seq++, .m = m};
	while (i > 0 && slot_before(&h[i], &h[(i - 1) / 2])) {
		heap_swap(h, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static struct rte_mbuf *heap_pop(struct impair *imp)
{
	struct impair_slot *h = imp->heap;
	struct rte_mbuf *top = h[0].m;
	uint32_t i = 0;

	h[0] = h[--imp->held];
	for (;;) {
		uint32_t l = 2 * i + 1, r = l + 1, min = i;

		if (l < imp->held && slot_before(&h[l], &h[min]))
			min = l;
		if (r < imp->held && slot_before(&h[r], &h[min]))
			min = r;
		if (min == i)
			return top;
		heap_swap(h, i, min);
		i = min;
	}
}

/* ---- create / destroy ---- */

static bool conf_valid(const struct impair_conf *c)
{
	return c->loss_ppm <= IMPAIR_PPM_MAX && c->dup_ppm <= IMPAIR_PPM_MAX &&
	       c->reorder_ppm <= IMPAIR_PPM_MAX &&
	       c->corrupt_ppm <= IMPAIR_PPM_MAX &&
	       c->max_held <= IMPAIR_MAX_HELD_LIMIT;
}

struct impair *impair_create(const struct impair_conf *conf, const char *name,
			     int socket)
{
	struct impair *imp;
	uint32_t cap;

	if (conf == NULL || !conf_valid(conf)) {
		rte_errno = EINVAL;
		return NULL;
	}
	if (name == NULL)
		name = "impair";
	cap = conf->max_held ? conf->max_held : IMPAIR_MAX_HELD_DEFAULT;
	imp = rte_zmalloc_socket(name, sizeof(*imp) + cap * sizeof(imp->heap[0]),
				 RTE_CACHE_LINE_SIZE, socket);
	if (imp == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	imp->conf = *conf;
	imp->conf.max_held = cap;
	imp->cap = cap;
	rng_seed(imp->rng, conf->seed);
	snprintf(imp->name, sizeof(imp->name), "%s", name);
	return imp;
}

void impair_destroy(struct impair *imp)
{
	if (imp == NULL)
		return;
	while (imp->held > 0)
		rte_pktmbuf_free(heap_pop(imp));
	rte_free(imp);
}

/* ---- the per-frame decisions ---- */

/* A frame may be written in place only when no one else holds its data:
 * every segment direct (no clone, no external buffer) and referenced once. */
static bool frame_writable(const struct rte_mbuf *m)
{
	for (; m != NULL; m = m->next)
		if (!RTE_MBUF_DIRECT(m) || rte_mbuf_refcnt_read(m) != 1)
			return false;
	return true;
}

static uint8_t *frame_byte(struct rte_mbuf *m, uint32_t off)
{
	while (m != NULL && off >= m->data_len) {
		off -= m->data_len;
		m = m->next;
	}
	return m ? rte_pktmbuf_mtod_offset(m, uint8_t *, off) : NULL;
}

/* A private deep copy from the frame's own pool (a clone would share the
 * data, and corrupting one would corrupt both). */
static struct rte_mbuf *frame_copy(struct impair *imp, struct rte_mbuf *m)
{
	struct rte_mbuf *c = rte_pktmbuf_copy(m, m->pool, 0, UINT32_MAX);

	if (c == NULL)
		imp->stats.nomem++;
	return c;
}

/* Flip one random bit of one random byte past the Ethernet header.
 * Returns the frame to carry on with: M, or a private copy of it when M's
 * data is shared with someone else (M is then freed). */
static struct rte_mbuf *frame_corrupt(struct impair *imp, struct rte_mbuf *m)
{
	uint32_t len = rte_pktmbuf_pkt_len(m);
	uint32_t off;
	uint8_t *byte;

	if (len <= IMPAIR_SPARED_BYTES)
		return m;
	if (!frame_writable(m)) {
		struct rte_mbuf *c = frame_copy(imp, m);

		if (c == NULL)
			return m;
		rte_pktmbuf_free(m);
		m = c;
	}
	off = IMPAIR_SPARED_BYTES +
	      (uint32_t)rng_below(imp->rng, len - IMPAIR_SPARED_BYTES);
	byte = frame_byte(m, off);
	if (byte == NULL)  /* pkt_len longer than its segments: leave it */
		return m;
	*byte ^= (uint8_t)(1u << rng_below(imp->rng, 8));
	imp->stats.corrupted++;
	return m;
}

static uint64_t release_time(struct impair *imp, uint64_t now_us)
{
	const struct impair_conf *c = &imp->conf;
	uint64_t due = now_us + c->delay_us;

	if (rng_chance(imp->rng, c->reorder_ppm)) {
		imp->stats.reordered++;
		return due + c->reorder_delay_us;
	}
	if (c->jitter_us > 0)
		due += rng_below(imp->rng, (uint64_t)c->jitter_us + 1);
	return due;
}

/* Corrupt (maybe) and schedule one frame, or drop it when the heap is
 * full.  Returns true if it was kept. */
static bool frame_admit(struct impair *imp, struct rte_mbuf *m,
			uint64_t now_us)
{
	if (imp->held == imp->cap) {
		rte_pktmbuf_free(m);
		imp->stats.dropped_full++;
		return false;
	}
	if (rng_chance(imp->rng, imp->conf.corrupt_ppm))
		m = frame_corrupt(imp, m);
	heap_insert(imp, release_time(imp, now_us), m);
	return true;
}

static struct rte_mbuf *frame_duplicate(struct impair *imp,
					struct rte_mbuf *m)
{
	struct rte_mbuf *c;

	if (!rng_chance(imp->rng, imp->conf.dup_ppm))
		return NULL;
	c = frame_copy(imp, m);
	if (c != NULL)
		imp->stats.duplicated++;
	return c;
}

uint16_t impair_push(struct impair *imp, struct rte_mbuf **pkts, uint16_t n,
		     uint64_t now_us)
{
	uint16_t kept = 0;

	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i], *dup;

		imp->stats.pushed++;
		if (rng_chance(imp->rng, imp->conf.loss_ppm)) {
			rte_pktmbuf_free(m);
			imp->stats.dropped_loss++;
			continue;
		}
		dup = frame_duplicate(imp, m);
		kept += frame_admit(imp, m, now_us);
		if (dup != NULL)
			frame_admit(imp, dup, now_us);
	}
	return kept;
}

uint16_t impair_pull(struct impair *imp, struct rte_mbuf **out, uint16_t max,
		     uint64_t now_us)
{
	uint16_t n = 0;

	while (n < max && imp->held > 0 && imp->heap[0].due <= now_us)
		out[n++] = heap_pop(imp);
	imp->stats.released += n;
	return n;
}

uint64_t impair_next_due(const struct impair *imp)
{
	return imp->held > 0 ? imp->heap[0].due : UINT64_MAX;
}

uint32_t impair_held(const struct impair *imp)
{
	return imp->held;
}

struct impair_stats impair_stats(const struct impair *imp)
{
	return imp->stats;
}

const char *impair_name(const struct impair *imp)
{
	return imp->name;
}

/* ---- the spec parser ---- */

enum impair_key_kind { KEY_RATE, KEY_TIME, KEY_SEED, KEY_COUNT };

struct impair_key {
	const char *name;
	enum impair_key_kind kind;
	size_t off;  /* of the field in struct impair_conf */
};

static const struct impair_key impair_keys[] = {
	{"loss", KEY_RATE, offsetof(struct impair_conf, loss_ppm)},
	{"dup", KEY_RATE, offsetof(struct impair_conf, dup_ppm)},
	{"reorder", KEY_RATE, offsetof(struct impair_conf, reorder_ppm)},
	{"corrupt", KEY_RATE, offsetof(struct impair_conf, corrupt_ppm)},
	{"delay", KEY_TIME, offsetof(struct impair_conf, delay_us)},
	{"jitter", KEY_TIME, offsetof(struct impair_conf, jitter_us)},
	{"reorder_delay", KEY_TIME,
	 offsetof(struct impair_conf, reorder_delay_us)},
	{"seed", KEY_SEED, offsetof(struct impair_conf, seed)},
	{"max_held", KEY_COUNT, offsetof(struct impair_conf, max_held)},
};

#define IMPAIR_NKEYS (sizeof(impair_keys) / sizeof(impair_keys[0]))

/* A span of the spec: [s, s + len). */
struct span {
	const char *s;
	size_t len;
};

static bool span_is(struct span v, const char *word)
{
	return strlen(word) == v.len && memcmp(v.s, word, v.len) == 0;
}

/* Remove SUFFIX from the end of V if it is there. */
static bool span_strip(struct span *v, const char *suffix)
{
	size_t n = strlen(suffix);

	if (v->len < n || memcmp(v->s + v->len - n, suffix, n) != 0)
		return false;
	v->len -= n;
	return true;
}

static struct span span_trim(struct span v)
{
	while (v.len > 0 && (v.s[0] == ' ' || v.s[0] == '\t')) {
		v.s++;
		v.len--;
	}
	while (v.len > 0 && (v.s[v.len - 1] == ' ' || v.s[v.len - 1] == '\t'))
		v.len--;
	return v;
}

/* Read the decimal digits at the start of *V (at least one).  Returns 0,
 * -EINVAL (no digit) or -ERANGE (over MAX). */
static int take_digits(struct span *v, uint64_t max, uint64_t *out,
		       unsigned *ndigits)
{
	uint64_t x = 0;
	unsigned n = 0;

	while (n < v->len && v->s[n] >= '0' && v->s[n] <= '9') {
		unsigned d = (unsigned)(v->s[n] - '0');

		if (x > (max - d) / 10)
			return -ERANGE;
		x = x * 10 + d;
		n++;
	}
	if (n == 0)
		return -EINVAL;
	v->s += n;
	v->len -= n;
	*out = x;
	if (ndigits)
		*ndigits = n;
	return 0;
}

/* The whole of V as a decimal number no greater than MAX. */
static int parse_uint(struct span v, uint64_t max, uint64_t *out)
{
	int rc = take_digits(&v, max, out, NULL);

	if (rc == 0 && v.len != 0)
		return -EINVAL;
	return rc;
}

/* "12.5%" (at most 4 decimals) as parts per million. */
static int parse_percent(struct span v, uint64_t *ppm)
{
	uint64_t whole, frac = 0;
	unsigned nd = 0;
	int rc = take_digits(&v, 100, &whole, NULL);

	if (rc < 0)
		return rc;
	if (v.len > 0 && v.s[0] == '.') {
		v.s++;
		v.len--;
		rc = take_digits(&v, UINT64_MAX, &frac, &nd);
		if (rc < 0 || nd > 4)
			return -EINVAL;
		while (nd++ < 4)
			frac *= 10;
	}
	if (v.len != 0)
		return -EINVAL;
	*ppm = whole * 10000 + frac;
	return *ppm > IMPAIR_PPM_MAX ? -ERANGE : 0;
}

static int parse_rate(struct span v, uint64_t *ppm)
{
	if (span_strip(&v, "ppm"))
		return parse_uint(v, IMPAIR_PPM_MAX, ppm);
	if (span_strip(&v, "%"))
		return parse_percent(v, ppm);
	return -EINVAL;
}

static int parse_time(struct span v, uint64_t *us)
{
	uint64_t unit, n;
	int rc;

	if (span_strip(&v, "us"))
		unit = 1;
	else if (span_strip(&v, "ms"))
		unit = 1000;
	else if (span_strip(&v, "s"))
		unit = 1000000;
	else
		return -EINVAL;
	rc = parse_uint(v, UINT32_MAX / unit, &n);
	if (rc == 0)
		*us = n * unit;
	return rc;
}

static int parse_value(const struct impair_key *k, struct span v,
		       uint64_t *out)
{
	switch (k->kind) {
	case KEY_RATE:
		return parse_rate(v, out);
	case KEY_TIME:
		return parse_time(v, out);
	case KEY_SEED:
		return parse_uint(v, UINT64_MAX, out);
	case KEY_COUNT:
		if (parse_uint(v, IMPAIR_MAX_HELD_LIMIT, out) < 0 || *out == 0)
			return -EINVAL;
		return 0;
	}
	return -EINVAL;
}

static void report_value(char *err, size_t errlen,
			 const struct impair_key *k, struct span v, int rc)
{
	const char *what = "is not valid";

	switch (k->kind) {
	case KEY_RATE:
		what = rc == -ERANGE ? "is over 100%"
				     : "is not a rate like 1%, 0.0125% or 50ppm";
		break;
	case KEY_TIME:
		what = rc == -ERANGE ? "is too long (at most 4294967295us)"
				     : "is not a time like 500us, 10ms or 2s";
		break;
	case KEY_SEED:
		what = "is not a decimal number below 2^64";
		break;
	case KEY_COUNT:
		snprintf(err, errlen, "impair: %s: '%.*s' is not a count from 1 "
			 "to %u", k->name, (int)v.len, v.s, IMPAIR_MAX_HELD_LIMIT);
		return;
	}
	snprintf(err, errlen, "impair: %s: '%.*s' %s", k->name, (int)v.len, v.s,
		 what);
}

static void store_value(struct impair_conf *c, const struct impair_key *k,
			uint64_t v)
{
	char *field = (char *)c + k->off;

	if (k->kind == KEY_SEED)
		memcpy(field, &v, sizeof(uint64_t));
	else {
		uint32_t v32 = (uint32_t)v;  /* every parser bounds it */

		memcpy(field, &v32, sizeof(uint32_t));
	}
}

static const struct impair_key *find_key(struct span name)
{
	for (size_t i = 0; i < IMPAIR_NKEYS; i++)
		if (span_is(name, impair_keys[i].name))
			return &impair_keys[i];
	return NULL;
}

/* Parse one "key=value" item into C.  SEEN marks the keys already given. */
static int parse_item(struct span item, struct impair_conf *c, unsigned *seen,
		      char *err, size_t errlen)
{
	const char *eq = memchr(item.s, '=', item.len);
	struct span name, value;
	const struct impair_key *k;
	uint64_t v = 0;
	int rc;

	if (eq == NULL) {
		snprintf(err, errlen, "impair: '%.*s' is not key=value",
			 (int)item.len, item.s);
		return -EINVAL;
	}
	name = span_trim((struct span){item.s, (size_t)(eq - item.s)});
	value = span_trim((struct span){eq + 1,
					(size_t)(item.s + item.len - eq - 1)});
	k = find_key(name);
	if (k == NULL) {
		snprintf(err, errlen, "impair: unknown key '%.*s'",
			 (int)name.len, name.s);
		return -EINVAL;
	}
	if (*seen & (1u << (k - impair_keys))) {
		snprintf(err, errlen, "impair: %s is given twice", k->name);
		return -EINVAL;
	}
	*seen |= 1u << (k - impair_keys);
	rc = parse_value(k, value, &v);
	if (rc < 0) {
		report_value(err, errlen, k, value, rc);
		return -EINVAL;
	}
	store_value(c, k, v);
	return 0;
}

int impair_parse(const char *spec, struct impair_conf *out, char *err,
		 size_t errlen)
{
	struct impair_conf c = {.max_held = IMPAIR_MAX_HELD_DEFAULT};
	char scratch[1];
	unsigned seen = 0;
	const char *p = spec ? spec : "";

	if (err == NULL || errlen == 0) {
		err = scratch;
		errlen = sizeof(scratch);
	}
	err[0] = '\0';
	if (span_trim((struct span){p, strlen(p)}).len == 0) {
		*out = c;
		return 0;
	}
	for (;;) {
		size_t len = strcspn(p, ",");
		struct span item = span_trim((struct span){p, len});

		if (item.len == 0) {
			snprintf(err, errlen, "impair: empty item in '%s'", spec);
			return -EINVAL;
		}
		if (parse_item(item, &c, &seen, err, errlen) < 0)
			return -EINVAL;
		if (p[len] == '\0')
			break;
		p += len + 1;
	}
	*out = c;
	return 0;
}
