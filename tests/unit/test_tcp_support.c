/*
 * test_tcp_support: the TCP engine's support modules on their own — option
 * bytes as they go on the wire and strict parsing of malformed lists, the
 * timer wheel's firing times, the rings and the out-of-order receive
 * ranges, ISNs and SYN cookies, the software checksum against DPDK's.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include <rte_ip.h>

#include "dataplane/tcp/tcp_buf.h"
#include "dataplane/tcp/tcp_cksum.h"
#include "dataplane/tcp/tcp_isn.h"
#include "dataplane/tcp/tcp_opt.h"
#include "dataplane/tcp/tcp_wheel.h"
#include "tests/unit/suites.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ---- tcp_opt ---------------------------------------------------------- */

static const struct tcp_sack_block SACK4[4] = {
	{0x10000000, 0x10000100}, {0x20000000, 0x20000200},
	{0x30000000, 0x30000300}, {0x40000000, 0x40000400},
};

static void assert_bytes(const uint8_t *got, size_t gn, const uint8_t *want,
			 size_t wn)
{
	CU_ASSERT_EQUAL_FATAL(gn, wn);
	CU_ASSERT_EQUAL(memcmp(got, want, wn), 0);
}

static size_t write_opts(uint8_t *p, const struct tcp_opt_out *o)
{
	size_t n;

	memset(p, 0xee, TCP_OPT_LEN_MAX + 8);
	n = tcp_opt_write(p, o);
	CU_ASSERT(n <= TCP_OPT_LEN_MAX);
	CU_ASSERT_EQUAL(n % 4, 0);
	CU_ASSERT_EQUAL(p[TCP_OPT_LEN_MAX], 0xee);     /* nothing past 40 */
	return n;
}

/* What Linux puts on a SYN: MSS, SACK-permitted folded into the timestamp
 * option's padding, NOP + window scale. */
static void test_opt_syn_all(void)
{
	static const uint8_t want[] = {
		0x02, 0x04, 0x05, 0xb4,
		0x04, 0x02, 0x08, 0x0a, 0x01, 0x02, 0x03, 0x04, 0, 0, 0, 0,
		0x01, 0x03, 0x03, 0x07,
	};
	struct tcp_opt_out o = {.syn = true, .mss = 1460, .ws = true,
				.ws_shift = 7, .sack_perm = true, .ts = true,
				.ts_val = 0x01020304, .ts_ecr = 0};
	uint8_t p[TCP_OPT_LEN_MAX + 8];

	assert_bytes(p, write_opts(p, &o), want, sizeof(want));
}

static void test_opt_syn_no_sack_perm(void)
{
	static const uint8_t want[] = {
		0x02, 0x04, 0x21, 0x98,
		0x01, 0x01, 0x08, 0x0a, 0xaa, 0xbb, 0xcc, 0xdd, 0x11, 0x22, 0x33, 0x44,
		0x01, 0x03, 0x03, 0x0e,
	};
	struct tcp_opt_out o = {.syn = true, .mss = 8600, .ws = true,
				.ws_shift = 14, .ts = true,
				.ts_val = 0xaabbccdd, .ts_ecr = 0x11223344};
	uint8_t p[TCP_OPT_LEN_MAX + 8];

	assert_bytes(p, write_opts(p, &o), want, sizeof(want));
}

static void test_opt_syn_no_ts(void)
{
	static const uint8_t want[] = {
		0x02, 0x04, 0x05, 0xb4, 0x01, 0x01, 0x04, 0x02, 0x01, 0x03, 0x03, 0x00,
	};
	static const uint8_t want_mss[] = {0x02, 0x04, 0x02, 0x18};
	struct tcp_opt_out o = {.syn = true, .mss = 1460, .ws = true,
				.ws_shift = 0, .sack_perm = true};
	uint8_t p[TCP_OPT_LEN_MAX + 8];

	assert_bytes(p, write_opts(p, &o), want, sizeof(want));
	o = (struct tcp_opt_out){.syn = true, .mss = 536};
	assert_bytes(p, write_opts(p, &o), want_mss, sizeof(want_mss));
}

/* Timestamps and three SACK blocks fill the 40 bytes exactly. */
static const uint8_t NONSYN_TS_SACK3[40] = {
	0x01, 0x01, 0x08, 0x0a, 0, 0, 0, 5, 0, 0, 0, 9,
	0x01, 0x01, 0x05, 0x1a,
	0x10, 0, 0, 0, 0x10, 0, 0x01, 0,
	0x20, 0, 0, 0, 0x20, 0, 0x02, 0,
	0x30, 0, 0, 0, 0x30, 0, 0x03, 0,
};

static void test_opt_nonsyn_ts_sack3(void)
{
	struct tcp_opt_out o = {.ts = true, .ts_val = 5, .ts_ecr = 9,
				.nsack = 3, .sack = SACK4};
	uint8_t p[TCP_OPT_LEN_MAX + 8];

	assert_bytes(p, write_opts(p, &o), NONSYN_TS_SACK3, 40);
}

/* A fourth block does not fit next to timestamps: left out. */
static void test_opt_nonsyn_sack4_cut(void)
{
	struct tcp_opt_out o = {.ts = true, .ts_val = 5, .ts_ecr = 9,
				.nsack = 4, .sack = SACK4};
	uint8_t p[TCP_OPT_LEN_MAX + 8];

	assert_bytes(p, write_opts(p, &o), NONSYN_TS_SACK3, 40);
}

/* Without timestamps all four blocks fit, and SYN-only options stay off. */
static void test_opt_nonsyn_sack4_no_ts(void)
{
	struct tcp_opt_out o = {.mss = 1460, .ws = true, .ws_shift = 7,
				.sack_perm = true, .nsack = 4, .sack = SACK4};
	uint8_t p[TCP_OPT_LEN_MAX + 8];
	size_t n = write_opts(p, &o);

	CU_ASSERT_EQUAL_FATAL(n, 36);
	CU_ASSERT_EQUAL(memcmp(p, (const uint8_t[]){1, 1, 5, 34}, 4), 0);
	CU_ASSERT_EQUAL(memcmp(p + 28, (const uint8_t[]){0x40, 0, 0, 0, 0x40, 0, 0x04, 0}, 8), 0);
}

static void test_opt_nonsyn_ts_only(void)
{
	static const uint8_t want[] = {1, 1, 8, 10, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1};
	struct tcp_opt_out o = {.ts = true, .ts_val = 0xffffffff, .ts_ecr = 1};
	uint8_t p[TCP_OPT_LEN_MAX + 8];

	assert_bytes(p, write_opts(p, &o), want, sizeof(want));
	o = (struct tcp_opt_out){0};
	CU_ASSERT_EQUAL(write_opts(p, &o), 0);
}

static void test_opt_round_trip_syn(void)
{
	struct tcp_opt_out o = {.syn = true, .mss = 1200, .ws = true,
				.ws_shift = 9, .sack_perm = true, .ts = true,
				.ts_val = 123456789, .ts_ecr = 987654321};
	uint8_t p[TCP_OPT_LEN_MAX + 8];
	struct tcp_opts in;

	CU_ASSERT_EQUAL_FATAL(tcp_opt_parse(p, write_opts(p, &o), &in), 0);
	CU_ASSERT(in.mss_ok && in.ws_ok && in.sack_perm && in.ts_ok);
	CU_ASSERT_EQUAL(in.mss, 1200);
	CU_ASSERT_EQUAL(in.ws, 9);
	CU_ASSERT_EQUAL(in.ts_val, 123456789);
	CU_ASSERT_EQUAL(in.ts_ecr, 987654321);
	CU_ASSERT_EQUAL(in.nsack, 0);
}

static void test_opt_round_trip_sack(void)
{
	struct tcp_opt_out o = {.ts = true, .ts_val = 7, .ts_ecr = 8,
				.nsack = 2, .sack = SACK4};
	uint8_t p[TCP_OPT_LEN_MAX + 8];
	struct tcp_opts in;

	CU_ASSERT_EQUAL_FATAL(tcp_opt_parse(p, write_opts(p, &o), &in), 0);
	CU_ASSERT(!in.mss_ok && !in.ws_ok && !in.sack_perm && in.ts_ok);
	CU_ASSERT_EQUAL(in.ts_val, 7);
	CU_ASSERT_EQUAL(in.ts_ecr, 8);
	CU_ASSERT_EQUAL_FATAL(in.nsack, 2);
	CU_ASSERT_EQUAL(in.sack[1].start, SACK4[1].start);
	CU_ASSERT_EQUAL(in.sack[1].end, SACK4[1].end);
	o.ts = false;
	o.nsack = 4;
	CU_ASSERT_EQUAL_FATAL(tcp_opt_parse(p, write_opts(p, &o), &in), 0);
	CU_ASSERT_EQUAL_FATAL(in.nsack, 4);
	CU_ASSERT_EQUAL(in.sack[3].end, SACK4[3].end);
}

/* EOL ends the list (what follows is not read); unknown kinds are skipped. */
static void test_opt_parse_eol_unknown(void)
{
	static const uint8_t eol[] = {1, 2, 4, 0x02, 0x00, 0, 2, 1, 0xff};
	static const uint8_t unk[] = {254, 6, 0xf9, 0x89, 9, 9, 30, 2, 3, 3, 5, 1};
	struct tcp_opts in;

	CU_ASSERT_EQUAL(tcp_opt_parse(eol, sizeof(eol), &in), 0);
	CU_ASSERT(in.mss_ok);
	CU_ASSERT_EQUAL(in.mss, 512);
	CU_ASSERT_EQUAL(tcp_opt_parse(unk, sizeof(unk), &in), 0);
	CU_ASSERT(in.ws_ok && !in.mss_ok);
	CU_ASSERT_EQUAL(in.ws, 5);
	CU_ASSERT_EQUAL(tcp_opt_parse(unk, 0, &in), 0);
	CU_ASSERT(!in.ws_ok);
}

struct bad_case {
	const char *what;
	uint8_t len;
	uint8_t b[44];
};

static const struct bad_case BAD[] = {
	{"MSS past the end", 3, {2, 4, 5}},
	{"length byte missing", 2, {1, 2}},
	{"unknown past the end", 5, {1, 254, 8, 0, 0}},
	{"length 0", 4, {254, 0, 1, 1}},
	{"length 1", 4, {254, 1, 1, 1}},
	{"MSS length 3", 4, {2, 3, 5, 0}},
	{"MSS length 5", 5, {2, 5, 5, 0xb4, 0}},
	{"WS length 2", 4, {3, 2, 1, 1}},
	{"WS length 4", 4, {3, 4, 7, 0}},
	{"SACK-perm length 3", 4, {4, 3, 0, 1}},
	{"TS length 8", 8, {8, 8, 0, 0, 0, 0, 0, 0}},
	{"TS length 11", 12, {8, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}},
	{"SACK no blocks", 4, {1, 1, 5, 2}},
	{"SACK length 11", 12, {5, 11, 0, 0, 0, 1, 0, 0, 0, 2, 0, 1}},
	{"SACK five blocks", 42, {5, 42}},
	{"good then bad", 8, {2, 4, 5, 0xb4, 3, 4, 7, 0}},
};

static void test_opt_parse_malformed(void)
{
	struct tcp_opts in;

	for (size_t i = 0; i < NELEM(BAD); i++) {
		int rc = tcp_opt_parse(BAD[i].b, BAD[i].len, &in);

		if (rc != -EINVAL)
			fprintf(stderr, "\n  malformed case '%s': %d\n", BAD[i].what, rc);
		CU_ASSERT_EQUAL(rc, -EINVAL);
	}
}

/* ---- tcp_wheel -------------------------------------------------------- */

#define TICK 1000u

struct fired {
	unsigned n;
	struct tcp_timer *order[16];
	uint64_t at[16];
	uint64_t now;
	struct tcp_wheel *w;
	struct tcp_timer *pair[2];      /* the first to fire cancels the other */
	unsigned rearm;                 /* re-arm this many times, +TICK each */
};

static void on_fire(struct tcp_timer *t, void *arg)
{
	struct fired *f = arg;

	CU_ASSERT(!tcp_timer_armed(t));
	if (f->n < NELEM(f->order)) {
		f->order[f->n] = t;
		f->at[f->n] = t->expires;
	}
	f->n++;
	if (f->pair[0]) {
		tcp_timer_cancel(f->w, t == f->pair[0] ? f->pair[1] : f->pair[0]);
		f->pair[0] = f->pair[1] = NULL;
	}
	if (f->rearm) {
		f->rearm--;
		tcp_timer_arm(f->w, t, t->expires + TICK);
	}
}

static struct tcp_wheel wheel;

static unsigned advance(struct fired *f, uint64_t now)
{
	f->w = &wheel;
	return tcp_wheel_advance(&wheel, now, on_fire, f);
}

static void test_wheel_exact_tick(void)
{
	struct tcp_timer a = {0}, b = {0};
	struct fired f = {0};

	tcp_wheel_init(&wheel, TICK, 0);
	tcp_timer_arm(&wheel, &a, 5 * TICK);
	tcp_timer_arm(&wheel, &b, 7 * TICK + 500);
	CU_ASSERT_EQUAL(advance(&f, 5 * TICK - 1), 0);
	CU_ASSERT_EQUAL(advance(&f, 5 * TICK), 1);
	CU_ASSERT_PTR_EQUAL(f.order[0], &a);
	CU_ASSERT_EQUAL(advance(&f, 7 * TICK), 0);       /* its tick, not its time */
	CU_ASSERT_EQUAL(advance(&f, 7 * TICK + 499), 0);
	CU_ASSERT_EQUAL(advance(&f, 7 * TICK + 500), 1);
	CU_ASSERT_EQUAL(advance(&f, 100 * TICK), 0);
	CU_ASSERT_EQUAL(wheel.armed, 0);
}

static void test_wheel_order(void)
{
	struct tcp_timer t[4] = {{0}};
	static const uint64_t exp[4] = {30 * TICK, 10 * TICK, 20 * TICK, 40 * TICK};
	struct fired f = {0};

	tcp_wheel_init(&wheel, TICK, 3 * TICK + 17);
	for (unsigned i = 0; i < 4; i++)
		tcp_timer_arm(&wheel, &t[i], exp[i]);
	CU_ASSERT_EQUAL(advance(&f, 35 * TICK), 3);
	CU_ASSERT_PTR_EQUAL(f.order[0], &t[1]);
	CU_ASSERT_PTR_EQUAL(f.order[1], &t[2]);
	CU_ASSERT_PTR_EQUAL(f.order[2], &t[0]);
	CU_ASSERT(tcp_timer_armed(&t[3]));
}

static void test_wheel_cancel(void)
{
	struct tcp_timer a = {0}, b = {0}, c = {0};
	struct fired f = {0};

	tcp_wheel_init(&wheel, TICK, 0);
	tcp_timer_arm(&wheel, &a, 2 * TICK);
	tcp_timer_arm(&wheel, &b, 2 * TICK);
	tcp_timer_arm(&wheel, &c, 2 * TICK);
	tcp_timer_cancel(&wheel, &b);
	tcp_timer_cancel(&wheel, &b);           /* twice is harmless */
	CU_ASSERT(!tcp_timer_armed(&b));
	CU_ASSERT_EQUAL(wheel.armed, 2);
	CU_ASSERT_EQUAL(advance(&f, 2 * TICK), 2);
	CU_ASSERT(f.order[0] != &b && f.order[1] != &b);
	CU_ASSERT_EQUAL(wheel.armed, 0);
}

/* FN re-arms the fired timer (a periodic timer) and cancels another one
 * still waiting in the same slot (its owner freed). */
static void test_wheel_rearm_in_fn(void)
{
	struct tcp_timer a = {0}, b = {0};
	struct fired f = {.rearm = 4};

	tcp_wheel_init(&wheel, TICK, 0);
	tcp_timer_arm(&wheel, &a, 1 * TICK);
	CU_ASSERT_EQUAL(advance(&f, 5 * TICK), 5);
	CU_ASSERT_EQUAL(f.at[4], 5 * TICK);
	CU_ASSERT(!tcp_timer_armed(&a));
	f = (struct fired){.pair = {&a, &b}};
	tcp_timer_arm(&wheel, &a, 8 * TICK);
	tcp_timer_arm(&wheel, &b, 8 * TICK);
	CU_ASSERT_EQUAL(advance(&f, 8 * TICK), 1);
	CU_ASSERT(!tcp_timer_armed(&a) && !tcp_timer_armed(&b));
	CU_ASSERT_EQUAL(wheel.armed, 0);
}

/* More than one revolution away: it shares a slot with earlier ticks but
 * fires only in its own round. */
static void test_wheel_far_timer(void)
{
	struct tcp_timer a = {0}, near = {0};
	uint64_t far = (uint64_t)(2 * TCP_WHEEL_SLOTS + 10) * TICK;
	struct fired f = {0};

	tcp_wheel_init(&wheel, TICK, 0);
	tcp_timer_arm(&wheel, &a, far);
	tcp_timer_arm(&wheel, &near, 10 * TICK);        /* same slot */
	CU_ASSERT_EQUAL(advance(&f, 10 * TICK), 1);
	CU_ASSERT_PTR_EQUAL(f.order[0], &near);
	for (uint64_t now = 11 * TICK; now < far; now += 7 * TICK)
		CU_ASSERT_EQUAL_FATAL(advance(&f, now), 0);
	CU_ASSERT_EQUAL(advance(&f, far - 1), 0);
	CU_ASSERT_EQUAL(advance(&f, far), 1);
	CU_ASSERT_PTR_EQUAL(f.order[1], &a);
}

/* The clock jumps many revolutions: everything due fires in one advance,
 * what is not due yet stays. */
static void test_wheel_huge_jump(void)
{
	struct tcp_timer t[5] = {{0}};
	const uint64_t rev = (uint64_t)TCP_WHEEL_SLOTS * TICK;
	const uint64_t exp[5] = {TICK, 500 * TICK, 3 * rev + 5, 5 * rev, 9 * rev};
	struct fired f = {0};

	tcp_wheel_init(&wheel, TICK, 0);
	for (unsigned i = 0; i < 5; i++)
		tcp_timer_arm(&wheel, &t[i], exp[i]);
	CU_ASSERT_EQUAL(advance(&f, 5 * rev), 4);
	CU_ASSERT(tcp_timer_armed(&t[4]));
	CU_ASSERT_EQUAL(wheel.armed, 1);
	CU_ASSERT_EQUAL(advance(&f, 1000 * rev), 1);
	CU_ASSERT_EQUAL(wheel.armed, 0);
	CU_ASSERT_EQUAL(advance(&f, 1000000 * rev), 0);
}

static void test_wheel_armed_count_and_past(void)
{
	struct tcp_timer a = {0}, b = {0}, c = {0};
	struct fired f = {0};

	tcp_wheel_init(&wheel, TICK, 50 * TICK);
	tcp_timer_arm(&wheel, &a, 60 * TICK);
	tcp_timer_arm(&wheel, &b, 70 * TICK);
	tcp_timer_arm(&wheel, &a, 80 * TICK);           /* re-arm: still one */
	CU_ASSERT_EQUAL(wheel.armed, 2);
	tcp_timer_arm(&wheel, &c, 10 * TICK);           /* in the past */
	CU_ASSERT_EQUAL(wheel.armed, 3);
	CU_ASSERT_EQUAL(advance(&f, 50 * TICK), 1);
	CU_ASSERT_PTR_EQUAL(f.order[0], &c);
	CU_ASSERT_EQUAL(advance(&f, 79 * TICK), 1);
	CU_ASSERT_EQUAL(wheel.armed, 1);
	tcp_timer_cancel(&wheel, &a);
	CU_ASSERT_EQUAL(wheel.armed, 0);
	CU_ASSERT_EQUAL(advance(&f, 90 * TICK), 0);
}

/* A deterministic pseudo-random sequence for the model tests. */
static uint32_t lcg(uint32_t *x)
{
	*x = *x * 1664525u + 1013904223u;
	return *x >> 8;
}

#define MODEL_TIMERS 64

struct wheel_model {
	struct tcp_timer t[MODEL_TIMERS];
	bool armed[MODEL_TIMERS];
	uint64_t now;
	unsigned fired, bad;
};

static void model_fire(struct tcp_timer *t, void *arg)
{
	struct wheel_model *m = arg;
	size_t i = (size_t)(t - m->t);

	if (!m->armed[i] || t->expires > m->now)
		m->bad++;
	m->armed[i] = false;
	m->fired++;
}

/* Every timer the model says is due fired, and nothing else did. */
static void model_advance(struct wheel_model *m, uint64_t now)
{
	unsigned due = 0;

	m->now = now;
	m->fired = 0;
	for (unsigned i = 0; i < MODEL_TIMERS; i++)
		due += m->armed[i] && m->t[i].expires <= now;
	CU_ASSERT_EQUAL(tcp_wheel_advance(&wheel, now, model_fire, m), due);
	CU_ASSERT_EQUAL(m->fired, due);
	for (unsigned i = 0; i < MODEL_TIMERS; i++)
		CU_ASSERT_EQUAL(tcp_timer_armed(&m->t[i]), m->armed[i]);
}

static uint64_t model_step(uint32_t *x)
{
	uint32_t r = lcg(x) % 100;

	if (r < 2)
		return (uint64_t)(lcg(x) % 5) * TCP_WHEEL_SLOTS * TICK;
	return (uint64_t)(lcg(x) % (4 * TICK));
}

/* Random arms (past, near, beyond a revolution), cancels and advances,
 * small steps and jumps, against a list of who is armed until when. */
static void test_wheel_random_model(void)
{
	static struct wheel_model m;
	uint32_t x = 12345;
	unsigned armed;

	memset(&m, 0, sizeof(m));
	tcp_wheel_init(&wheel, TICK, 77 * TICK);
	m.now = 77 * TICK;
	for (unsigned step = 0; step < 20000; step++) {
		unsigned i = lcg(&x) % MODEL_TIMERS;
		uint64_t span = (uint64_t)3 * TCP_WHEEL_SLOTS * TICK;

		if (lcg(&x) % 4 == 0) {
			tcp_timer_cancel(&wheel, &m.t[i]);
			m.armed[i] = false;
		} else {
			tcp_timer_arm(&wheel, &m.t[i], m.now + lcg(&x) % span - span / 8);
			m.armed[i] = true;
		}
		if (lcg(&x) % 3 == 0)
			model_advance(&m, m.now + model_step(&x));
		armed = 0;
		for (unsigned j = 0; j < MODEL_TIMERS; j++)
			armed += m.armed[j];
		CU_ASSERT_EQUAL_FATAL(wheel.armed, armed);
		CU_ASSERT_EQUAL_FATAL(m.bad, 0);
	}
}

/* ---- tcp_buf ---------------------------------------------------------- */

static uint8_t pattern(uint32_t i)
{
	return (uint8_t)(i * 7 + 3);
}

static void fill(uint8_t *p, uint32_t from, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		p[i] = pattern(from + i);
}

static void test_ring_wrap(void)
{
	uint8_t mem[16], in[32], out[32];
	struct tcp_ring r;

	fill(in, 0, sizeof(in));
	tcp_ring_init(&r, mem, sizeof(mem));
	CU_ASSERT_EQUAL(tcp_ring_write(&r, in, 10), 10);
	tcp_ring_consume(&r, 10);
	CU_ASSERT_EQUAL(tcp_ring_space(&r), 16);
	CU_ASSERT_EQUAL(tcp_ring_write(&r, in, 12), 12);     /* 6 + 6 */
	CU_ASSERT_EQUAL(tcp_ring_write(&r, in + 12, 10), 4);  /* only 4 fit */
	CU_ASSERT_EQUAL(tcp_ring_write(&r, in, 1), 0);
	tcp_ring_peek(&r, 0, out, 16);
	CU_ASSERT_EQUAL(memcmp(out, in, 16), 0);
	tcp_ring_peek(&r, 3, out, 5);
	CU_ASSERT_EQUAL(memcmp(out, in + 3, 5), 0);
	tcp_ring_consume(&r, 7);
	CU_ASSERT_EQUAL(r.len, 9);
	tcp_ring_peek(&r, 0, out, 9);
	CU_ASSERT_EQUAL(memcmp(out, in + 7, 9), 0);
}

static void test_ring_iov(void)
{
	uint8_t mem[16], in[16];
	struct tcp_ring r;
	struct iovec iov[2];

	fill(in, 100, sizeof(in));
	tcp_ring_init(&r, mem, sizeof(mem));
	r.head = 0xfffffff6u;           /* free-running head about to wrap too */
	CU_ASSERT_EQUAL(tcp_ring_write(&r, in, 16), 16);
	CU_ASSERT_EQUAL_FATAL(tcp_ring_iov(&r, 0, 16, iov), 2);
	CU_ASSERT_EQUAL(iov[0].iov_len, 10);
	CU_ASSERT_PTR_EQUAL(iov[0].iov_base, mem + 6);
	CU_ASSERT_EQUAL(iov[1].iov_len, 6);
	CU_ASSERT_PTR_EQUAL(iov[1].iov_base, mem);
	CU_ASSERT_EQUAL(memcmp(iov[0].iov_base, in, 10), 0);
	CU_ASSERT_EQUAL(memcmp(iov[1].iov_base, in + 10, 6), 0);
	CU_ASSERT_EQUAL_FATAL(tcp_ring_iov(&r, 2, 5, iov), 1);
	CU_ASSERT_PTR_EQUAL(iov[0].iov_base, mem + 8);
	CU_ASSERT_EQUAL(iov[0].iov_len, 5);
	CU_ASSERT_EQUAL_FATAL(tcp_ring_iov(&r, 12, 4, iov), 1);
	CU_ASSERT_PTR_EQUAL(iov[0].iov_base, mem + 2);
	CU_ASSERT_EQUAL(tcp_ring_iov(&r, 0, 0, iov), 0);
	tcp_ring_consume(&r, 16);
	CU_ASSERT_EQUAL(r.head, 6);
	CU_ASSERT_EQUAL(r.len, 0);
}

static uint8_t rmem[64];
static struct tcp_rcvbuf rb;
static uint8_t stream[256];
static uint8_t big[20000];

/* Bytes [from, from+n) of the test stream, at offset OFF past in-order end. */
static int put(uint32_t off, uint32_t from, uint32_t n)
{
	return tcp_rcvbuf_put(&rb, off, stream + from, n);
}

static void assert_ranges(const uint32_t (*want)[2], unsigned n)
{
	CU_ASSERT_EQUAL_FATAL(rb.nooo, n);
	for (unsigned i = 0; i < n; i++) {
		CU_ASSERT_EQUAL(rb.ooo[i].start, want[i][0]);
		CU_ASSERT_EQUAL(rb.ooo[i].end, want[i][1]);
	}
}

static void assert_in_order(uint32_t from, uint32_t n)
{
	uint8_t out[64];

	CU_ASSERT_EQUAL_FATAL(rb.ring.len, n);
	tcp_ring_peek(&rb.ring, 0, out, n);
	CU_ASSERT_EQUAL(memcmp(out, stream + from, n), 0);
}

static int buf_setup(void)
{
	fill(stream, 0, sizeof(stream));
	memset(rmem, 0, sizeof(rmem));
	tcp_rcvbuf_init(&rb, rmem, sizeof(rmem));
	return 0;
}

static void test_ooo_placement_merge(void)
{
	CU_ASSERT_EQUAL(put(10, 10, 5), 0);
	CU_ASSERT_EQUAL(rb.ring.len, 0);
	CU_ASSERT_EQUAL(memcmp(rmem + 10, stream + 10, 5), 0);
	CU_ASSERT_EQUAL(tcp_rcvbuf_ooo_end(&rb), 15);
	CU_ASSERT_EQUAL(put(20, 20, 5), 0);
	CU_ASSERT_EQUAL(put(30, 30, 4), 0);
	assert_ranges((const uint32_t[][2]){{10, 15}, {20, 25}, {30, 34}}, 3);
	CU_ASSERT_EQUAL(put(15, 15, 5), 0);             /* adjacent on both sides */
	assert_ranges((const uint32_t[][2]){{10, 25}, {30, 34}}, 2);
	CU_ASSERT_EQUAL(put(8, 8, 30), 0);              /* overlaps and covers */
	assert_ranges((const uint32_t[][2]){{8, 38}}, 1);
	CU_ASSERT_EQUAL(put(40, 40, 2), 0);
	CU_ASSERT_EQUAL(put(39, 39, 2), 0);             /* overlaps one, not the other */
	assert_ranges((const uint32_t[][2]){{8, 38}, {39, 42}}, 2);
	CU_ASSERT_EQUAL(tcp_rcvbuf_ooo_end(&rb), 42);
	CU_ASSERT_EQUAL(memcmp(rmem + 8, stream + 8, 30), 0);
}

/* The hole closes: everything up to the ranges it reaches is delivered,
 * and the ranges beyond shift down. */
static void test_ooo_hole_closes(void)
{
	CU_ASSERT_EQUAL(put(10, 10, 5), 0);
	CU_ASSERT_EQUAL(put(20, 20, 5), 0);
	CU_ASSERT_EQUAL(put(30, 30, 10), 0);
	CU_ASSERT_EQUAL(put(0, 0, 12), 15);             /* reaches [10, 15) */
	assert_in_order(0, 15);
	assert_ranges((const uint32_t[][2]){{5, 10}, {15, 25}}, 2);
	CU_ASSERT_EQUAL(put(0, 15, 5), 10);             /* exactly adjacent */
	assert_in_order(0, 25);
	assert_ranges((const uint32_t[][2]){{5, 15}}, 1);
	tcp_ring_consume(&rb.ring, 20);                 /* the reader took some */
	CU_ASSERT_EQUAL(put(0, 25, 5), 15);
	assert_in_order(20, 20);
	CU_ASSERT_EQUAL(rb.nooo, 0);
	CU_ASSERT_EQUAL(tcp_rcvbuf_ooo_end(&rb), 0);
}

/* Only the ring's free space is used; what lies beyond it is cut. */
static void test_ooo_cut_at_space(void)
{
	CU_ASSERT_EQUAL(tcp_ring_write(&rb.ring, stream, 40), 40);  /* 24 free */
	CU_ASSERT_EQUAL(put(20, 60, 10), 0);
	assert_ranges((const uint32_t[][2]){{20, 24}}, 1);
	CU_ASSERT_EQUAL(put(24, 64, 5), 0);             /* no room at all */
	CU_ASSERT_EQUAL(rb.nooo, 1);
	CU_ASSERT_EQUAL(put(0, 40, 100), 24);
	assert_in_order(0, 64);
	CU_ASSERT_EQUAL(put(0, 64, 1), 0);
	tcp_ring_consume(&rb.ring, 60);                 /* wraps from here on */
	CU_ASSERT_EQUAL(put(3, 67, 20), 0);
	CU_ASSERT_EQUAL(put(0, 64, 3), 23);
	assert_in_order(60, 27);
}

/* Eight ranges are kept; a ninth separate one is refused and not stored,
 * while one that merges is still taken. */
static void test_ooo_ninth_range(void)
{
	for (uint32_t i = 0; i < TCP_OOO_MAX; i++)
		CU_ASSERT_EQUAL(put(2 + 3 * i, 2 + 3 * i, 1), 0);
	CU_ASSERT_EQUAL(rb.nooo, TCP_OOO_MAX);
	memset(rmem + 40, 0xaa, 4);
	CU_ASSERT_EQUAL(put(40, 40, 4), -ENOSPC);
	CU_ASSERT_EQUAL(rb.nooo, TCP_OOO_MAX);
	CU_ASSERT_EQUAL(rmem[40], 0xaa);
	CU_ASSERT_EQUAL(tcp_rcvbuf_ooo_end(&rb), 24);
	CU_ASSERT_EQUAL(put(3, 3, 2), 0);               /* joins [2,3) and [5,6) */
	CU_ASSERT_EQUAL(rb.nooo, TCP_OOO_MAX - 1);
	CU_ASSERT_EQUAL(put(0, 0, 8), 9);               /* up to [8,9) */
	assert_in_order(0, 9);
	CU_ASSERT_EQUAL(rb.nooo, TCP_OOO_MAX - 3);
}

/* Received-or-not per stream byte, from the in-order end (rcv) on. */
struct rcv_model {
	uint32_t rcv, read;     /* in-order end; bytes the reader consumed */
	bool have[256];         /* have[i]: byte rcv + i is held out of order */
};

static unsigned model_runs(const struct rcv_model *m, uint32_t (*runs)[2])
{
	unsigned n = 0;

	for (uint32_t i = 1; i < 256; i++) {
		if (!m->have[i] || m->have[i - 1])
			continue;
		uint32_t e = i;

		while (e < 256 && m->have[e])
			e++;
		if (n < TCP_OOO_MAX + 1) {
			runs[n][0] = i;
			runs[n][1] = e;
		}
		n++;
	}
	return n;
}

/* Put [off, off+len) past rcv into the model; the expected return. */
static int model_put(struct rcv_model *m, uint32_t off, uint32_t len, uint32_t space)
{
	struct rcv_model before = *m;
	uint32_t runs[TCP_OOO_MAX + 1][2];
	uint32_t n = 0;

	for (uint32_t i = off; i < off + len && i < space; i++)
		m->have[i] = true;
	if (off > 0 && len > 0 && off < space) {
		if (model_runs(m, runs) > TCP_OOO_MAX) {
			*m = before;
			return -ENOSPC;
		}
		return 0;
	}
	while (n < 256 && m->have[n])
		n++;
	memmove(m->have, m->have + n, (256 - n) * sizeof(bool));
	memset(m->have + 256 - n, 0, n * sizeof(bool));
	m->rcv += n;
	return (int)n;
}

static void model_check(const struct rcv_model *m)
{
	uint32_t runs[TCP_OOO_MAX + 1][2];
	unsigned n = model_runs(m, runs);
	uint8_t out[64];

	CU_ASSERT_EQUAL_FATAL(n, rb.nooo);
	for (unsigned i = 0; i < n; i++) {
		CU_ASSERT_EQUAL(rb.ooo[i].start, runs[i][0]);
		CU_ASSERT_EQUAL(rb.ooo[i].end, runs[i][1]);
	}
	CU_ASSERT_EQUAL_FATAL(rb.ring.len, m->rcv - m->read);
	tcp_ring_peek(&rb.ring, 0, out, rb.ring.len);
	CU_ASSERT_EQUAL(memcmp(out, big + m->read, rb.ring.len), 0);
}

/* Random segments of a long stream — in order, out of order, overlapping,
 * past the window — and random reads, against a per-byte model. */
static void test_rcvbuf_random_model(void)
{
	static struct rcv_model m;
	uint32_t x = 777;

	memset(&m, 0, sizeof(m));
	fill(big, 0, sizeof(big));
	while (m.rcv + 128 < sizeof(big)) {
		uint32_t off = lcg(&x) % 16 ? lcg(&x) % 70 : 0;
		uint32_t len = lcg(&x) % 4 ? lcg(&x) % 3 : lcg(&x) % 24;
		const uint8_t *data = big + m.rcv + off;
		int want = model_put(&m, off, len, tcp_ring_space(&rb.ring));

		CU_ASSERT_EQUAL_FATAL(tcp_rcvbuf_put(&rb, off, data, len), want);
		model_check(&m);
		if (lcg(&x) % 4 == 0) {
			uint32_t r = lcg(&x) % (rb.ring.len + 1);

			tcp_ring_consume(&rb.ring, r);
			m.read += r;
		}
	}
}

/* ---- tcp_isn ---------------------------------------------------------- */

static struct tcp_isn_key isn_key;

#define SEC 1000000ull
#define L_ADDR 0xc6120001u      /* 198.18.0.1 */
#define R_ADDR 0xc6120002u

static int isn_init(void)
{
	uint8_t k[16];

	for (unsigned i = 0; i < sizeof(k); i++)
		k[i] = (uint8_t)i;
	return tcp_isn_key_set(&isn_key, k) == 0 ? 0 : -1;
}

static int isn_fini(void)
{
	tcp_isn_key_free(&isn_key);
	return 0;
}

static uint32_t isn_at(uint32_t la, uint16_t lp, uint32_t ra, uint16_t rp,
		       uint64_t now)
{
	return tcp_isn(&isn_key, la, lp, ra, rp, now);
}

static void test_isn_tuples(void)
{
	const uint64_t now = 1234 * SEC;
	uint32_t base = isn_at(L_ADDR, 25, R_ADDR, 40000, now);
	uint32_t other[] = {
		isn_at(L_ADDR + 1, 25, R_ADDR, 40000, now),
		isn_at(L_ADDR, 26, R_ADDR, 40000, now),
		isn_at(L_ADDR, 25, R_ADDR + 1, 40000, now),
		isn_at(L_ADDR, 25, R_ADDR, 40001, now),
		isn_at(R_ADDR, 40000, L_ADDR, 25, now),      /* the reverse */
	};

	CU_ASSERT_EQUAL(isn_at(L_ADDR, 25, R_ADDR, 40000, now), base);
	for (size_t i = 0; i < NELEM(other); i++)
		CU_ASSERT_NOT_EQUAL(other[i], base);
}

/* Known answer: SipHash-2-4 under key 00..0f of 'I' laddr lport raddr
 * rport (big-endian), low 32 bits, checked against an independent SipHash
 * written from the paper (whose own test vector OpenSSL also meets). */
static void test_isn_known_answer(void)
{
	CU_ASSERT_EQUAL(isn_at(L_ADDR, 25, R_ADDR, 40000, 0), 0xfec62fd4u);
	CU_ASSERT_EQUAL(isn_at(L_ADDR, 25, R_ADDR, 40000, 400), 0xfec62fd4u + 100);
}

static void test_isn_clock(void)
{
	const uint64_t now = 99 * SEC + 3;
	uint32_t a = isn_at(L_ADDR, 25, R_ADDR, 40000, now);

	CU_ASSERT_EQUAL(isn_at(L_ADDR, 25, R_ADDR, 40000, now + 4) - a, 1);
	CU_ASSERT_EQUAL(isn_at(L_ADDR, 25, R_ADDR, 40000, now + SEC) - a, 250000);
	/* wraps every 4.77 hours, as RFC 6528's 4 µs clock does */
	CU_ASSERT_EQUAL(isn_at(L_ADDR, 25, R_ADDR, 40000, now + (4ull << 32)), a);
}

/* A key from the kernel's random source gives other ISNs than ours. */
static void test_isn_random_key(void)
{
	struct tcp_isn_key k;

	CU_ASSERT_EQUAL_FATAL(tcp_isn_key_init(&k), 0);
	CU_ASSERT_NOT_EQUAL(tcp_isn(&k, L_ADDR, 25, R_ADDR, 40000, SEC),
			    isn_at(L_ADDR, 25, R_ADDR, 40000, SEC));
	tcp_isn_key_free(&k);
	CU_ASSERT_PTR_NULL(k.mac);
}

static uint32_t cookie(uint32_t peer_isn, uint16_t mss, uint64_t now)
{
	return tcp_cookie_make(&isn_key, L_ADDR, 25, R_ADDR, 40000, peer_isn,
			       mss, now);
}

static uint16_t check(uint32_t peer_isn, uint32_t c, uint64_t now)
{
	return tcp_cookie_check(&isn_key, L_ADDR, 25, R_ADDR, 40000, peer_isn,
				c, now);
}

static void test_cookie_round_trip(void)
{
	static const uint16_t mss[][2] = {
		{1460, 1460}, {9000, 1460}, {1459, 1452}, {1400, 1380},
		{1380, 1380}, {1300, 1300}, {1200, 1200}, {1000, 536},
		{536, 536}, {100, 536}, {1440, 1440}, {1420, 1420},
	};
	const uint64_t now = 5000 * SEC;

	for (size_t i = 0; i < NELEM(mss); i++) {
		uint32_t c = cookie(0x12345678u + (uint32_t)i, mss[i][0], now);

		CU_ASSERT_EQUAL(check(0x12345678u + (uint32_t)i, c, now + SEC), mss[i][1]);
	}
}

static void test_cookie_wrong_tuple_or_isn(void)
{
	const uint64_t now = 5000 * SEC;
	uint32_t c = cookie(777, 1460, now);

	CU_ASSERT_EQUAL(check(777, c, now), 1460);
	CU_ASSERT_EQUAL(check(778, c, now), 0);
	CU_ASSERT_EQUAL(tcp_cookie_check(&isn_key, L_ADDR, 25, R_ADDR, 40001, 777, c, now), 0);
	CU_ASSERT_EQUAL(tcp_cookie_check(&isn_key, L_ADDR, 25, R_ADDR + 1, 40000, 777, c, now), 0);
	CU_ASSERT_EQUAL(tcp_cookie_check(&isn_key, L_ADDR, 587, R_ADDR, 40000, 777, c, now), 0);
	CU_ASSERT_EQUAL(tcp_cookie_check(&isn_key, L_ADDR + 1, 25, R_ADDR, 40000, 777, c, now), 0);
	CU_ASSERT_EQUAL(check(777, c ^ 1, now), 0);
	CU_ASSERT_EQUAL(check(777, c ^ (1u << 23), now), 0);
	CU_ASSERT_EQUAL(check(777, c ^ (1u << 27), now), 0);    /* counter bits */
}

/* Made at the start of a 64 s period: good 70 s later (previous period),
 * gone 3 minutes later; the 5-bit counter wrapping from 31 to 0 is fine. */
static void test_cookie_age(void)
{
	const uint64_t start = 64 * SEC * 1000 + SEC;
	const uint64_t wrap = 64 * SEC * 31 + 30 * SEC;       /* counter 31 */
	uint32_t c = cookie(42, 1452, start);
	uint32_t w = cookie(42, 1300, wrap);

	CU_ASSERT_EQUAL(check(42, c, start + 70 * SEC), 1452);
	CU_ASSERT_EQUAL(check(42, c, start + 180 * SEC), 0);
	CU_ASSERT_EQUAL(check(42, c, start + 130 * SEC), 0);
	CU_ASSERT_EQUAL(w >> 27, 31);
	CU_ASSERT_EQUAL(check(42, w, wrap + 40 * SEC), 1300);   /* counter 0 */
	CU_ASSERT_EQUAL(check(42, w, wrap + 120 * SEC), 0);
}

/* ---- registration ----------------------------------------------------- */

static void add_opt_suite(void)
{
	CU_pSuite s = CU_add_suite("tcp_opt", NULL, NULL);

	CU_add_test(s, "syn all options linux layout", test_opt_syn_all);
	CU_add_test(s, "syn without sack-permitted", test_opt_syn_no_sack_perm);
	CU_add_test(s, "syn without timestamps", test_opt_syn_no_ts);
	CU_add_test(s, "ts and 3 sack blocks is 40 bytes", test_opt_nonsyn_ts_sack3);
	CU_add_test(s, "4th sack block left out", test_opt_nonsyn_sack4_cut);
	CU_add_test(s, "4 sack blocks without ts", test_opt_nonsyn_sack4_no_ts);
	CU_add_test(s, "ts only and nothing", test_opt_nonsyn_ts_only);
	CU_add_test(s, "round trip syn", test_opt_round_trip_syn);
	CU_add_test(s, "round trip sack", test_opt_round_trip_sack);
	CU_add_test(s, "eol and unknown kinds", test_opt_parse_eol_unknown);
	CU_add_test(s, "malformed lists", test_opt_parse_malformed);
}

static void add_wheel_suite(void)
{
	CU_pSuite s = CU_add_suite("tcp_wheel", NULL, NULL);

	CU_add_test(s, "fires at its expiry, not before", test_wheel_exact_tick);
	CU_add_test(s, "expiry order", test_wheel_order);
	CU_add_test(s, "cancel", test_wheel_cancel);
	CU_add_test(s, "re-arm and cancel from fn", test_wheel_rearm_in_fn);
	CU_add_test(s, "beyond one revolution", test_wheel_far_timer);
	CU_add_test(s, "huge time jump", test_wheel_huge_jump);
	CU_add_test(s, "armed count and past expiry", test_wheel_armed_count_and_past);
	CU_add_test(s, "random against a model", test_wheel_random_model);
}

static void add_buf_suite(void)
{
	CU_pSuite s = CU_add_suite_with_setup_and_teardown("tcp_buf", NULL, NULL,
							   (CU_SetUpFunc)buf_setup, NULL);

	CU_add_test(s, "ring wrap", test_ring_wrap);
	CU_add_test(s, "ring iov across wrap", test_ring_iov);
	CU_add_test(s, "ooo placement and merge", test_ooo_placement_merge);
	CU_add_test(s, "hole closes", test_ooo_hole_closes);
	CU_add_test(s, "cut at free space", test_ooo_cut_at_space);
	CU_add_test(s, "ninth range refused", test_ooo_ninth_range);
	CU_add_test(s, "random against a model", test_rcvbuf_random_model);
}

/* ---- tcp_cksum -------------------------------------------------------- */

/* Every length to past a segment, at each alignment, random and all-ones
 * octets: the same checksum as DPDK's rte_ipv4_udptcp_cksum(), and a
 * segment carrying it sums to 0xffff. */
static void test_cksum_against_dpdk(void)
{
	static uint8_t pkt[8 + sizeof(struct rte_ipv4_hdr) + 1600];
	unsigned seed = 7, bad = 0;

	for (int ones = 0; ones < 2; ones++)
		for (size_t align = 0; align < 8; align += 2) /* the header's */
			for (uint32_t len = 0; len <= 1600; len += len < 80 ? 1 : 37) {
				struct rte_ipv4_hdr *ip = (void *)(pkt + align);
				uint8_t *l4 = (uint8_t *)(ip + 1);
				uint16_t want, got;

				*ip = (struct rte_ipv4_hdr){
					.version_ihl = RTE_IPV4_VHL_DEF,
					.total_length = rte_cpu_to_be_16((uint16_t)(sizeof(*ip) + len)),
					.next_proto_id = IPPROTO_TCP,
					.src_addr = rte_cpu_to_be_32(0xc6120001 + len),
					.dst_addr = rte_cpu_to_be_32(0xc6120102)};
				for (uint32_t i = 0; i < len; i++)
					l4[i] = ones ? 0xff : (uint8_t)((seed = seed * 1103515245 + 12345) >> 16);
				if (len >= 18) /* the checksum field, zero while summed */
					l4[16] = l4[17] = 0;
				want = rte_ipv4_udptcp_cksum(ip, l4);
				got = tcp_cksum_out(ip, l4, len);
				if (got != want)
					bad++;
				if (len >= 18) {
					memcpy(l4 + 16, &got, 2);
					if (tcp_cksum_sum(ip, l4, len) != 0xffff)
						bad++;
				}
			}
	CU_ASSERT_EQUAL(bad, 0);
}

static void add_cksum_suite(void)
{
	CU_pSuite s = CU_add_suite("tcp_cksum", NULL, NULL);

	CU_add_test(s, "the same as DPDK's, and verifies", test_cksum_against_dpdk);
}

static void add_isn_suite(void)
{
	CU_pSuite s = CU_add_suite("tcp_isn", isn_init, isn_fini);

	CU_add_test(s, "tuples give different isns", test_isn_tuples);
	CU_add_test(s, "isn known answer", test_isn_known_answer);
	CU_add_test(s, "isn follows the 4us clock", test_isn_clock);
	CU_add_test(s, "random key", test_isn_random_key);
	CU_add_test(s, "cookie round trip", test_cookie_round_trip);
	CU_add_test(s, "cookie wrong tuple or isn", test_cookie_wrong_tuple_or_isn);
	CU_add_test(s, "cookie age", test_cookie_age);
}

void test_tcp_support_register(void)
{
	add_opt_suite();
	add_wheel_suite();
	add_buf_suite();
	add_isn_suite();
	add_cksum_suite();
}
