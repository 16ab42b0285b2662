/*
 * test_impair: the link impairment stage (drivers/impair) and the
 * in-memory link (drivers/memlink) on real rte_mbufs from a private pool,
 * with the clock passed in: exact pass-through, loss rate and seed
 * reproducibility, independent duplicates, one-bit corruption, exact
 * delays, reordering, the full-heap drop, no leaked mbufs, both link
 * directions, and the spec parser.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "drivers/impair.h"
#include "drivers/memlink.h"
#include "tests/unit/suites.h"

#define POOL_SIZE  8191
#define TAG_OFF    16      /* a frame's tag: 4 bytes past the Ethernet header */
#define FRAME_LEN  64
#define BIG_FRAME  2048
#define LOSS_RUN   100000
#define SEC        1000000ull

static struct rte_mempool *pool;

/* ---- frames ---- */

/* The bytes of frame TAG of LEN bytes: a pattern, with TAG at TAG_OFF. */
static void frame_fill(uint8_t *buf, uint32_t len, uint32_t tag)
{
	for (uint32_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(i * 7 + tag);
	if (len >= TAG_OFF + 4)
		memcpy(buf + TAG_OFF, &tag, 4);
}

static struct rte_mbuf *frame_new(uint16_t len, uint32_t tag)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	uint8_t *p;

	CU_ASSERT_FATAL(m != NULL);
	p = (uint8_t *)rte_pktmbuf_append(m, len);
	CU_ASSERT_FATAL(p != NULL);
	frame_fill(p, len, tag);
	return m;
}

/* Frame TAG as NSEG chained segments of SEGLEN bytes each. */
static struct rte_mbuf *frame_new_chain(unsigned nseg, uint16_t seglen,
					uint32_t tag)
{
	uint8_t buf[BIG_FRAME];
	struct rte_mbuf *head = NULL;

	CU_ASSERT_FATAL(nseg * seglen <= sizeof(buf));
	frame_fill(buf, nseg * seglen, tag);
	for (unsigned i = 0; i < nseg; i++) {
		struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
		char *p;

		CU_ASSERT_FATAL(m != NULL);
		p = rte_pktmbuf_append(m, seglen);
		CU_ASSERT_FATAL(p != NULL);
		memcpy(p, buf + i * seglen, seglen);
		if (head == NULL)
			head = m;
		else
			CU_ASSERT_FATAL(rte_pktmbuf_chain(head, m) == 0);
	}
	return head;
}

/* Copy the whole frame into BUF (BIG_FRAME bytes); returns its length. */
static uint32_t frame_bytes(const struct rte_mbuf *m, uint8_t *buf)
{
	uint32_t len = rte_pktmbuf_pkt_len(m);
	const void *p;

	CU_ASSERT_FATAL(len <= BIG_FRAME);
	p = rte_pktmbuf_read(m, 0, len, buf);
	CU_ASSERT_FATAL(p != NULL);
	if (p != buf)
		memcpy(buf, p, len);
	return len;
}

static uint32_t frame_tag(const struct rte_mbuf *m)
{
	uint32_t tag;
	const void *p = rte_pktmbuf_read(m, TAG_OFF, 4, &tag);

	CU_ASSERT_FATAL(p != NULL);
	memcpy(&tag, p, 4);
	return tag;
}

/* Bits that differ between A and B; *FIRST is the first differing byte. */
static unsigned bits_differing(const uint8_t *a, const uint8_t *b,
			       uint32_t len, uint32_t *first)
{
	unsigned bits = 0;

	*first = len;
	for (uint32_t i = 0; i < len; i++) {
		if (a[i] != b[i] && *first == len)
			*first = i;
		bits += (unsigned)__builtin_popcount(a[i] ^ b[i]);
	}
	return bits;
}

static void free_all(struct rte_mbuf **m, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		rte_pktmbuf_free(m[i]);
}

static unsigned in_use(void)
{
	return rte_mempool_in_use_count(pool);
}

static struct impair *make(const struct impair_conf *c)
{
	struct impair *imp = impair_create(c, "test_impair", SOCKET_ID_ANY);

	CU_ASSERT_FATAL(imp != NULL);
	return imp;
}

/* Every frame pushed is dropped, released or still held. */
static void check_balance(const struct impair *imp)
{
	struct impair_stats s = impair_stats(imp);

	CU_ASSERT_EQUAL(s.pushed + s.duplicated,
			s.dropped_loss + s.dropped_full + s.released +
				impair_held(imp));
}

/* ---- impair ---- */

static void test_passthrough_fifo(void)
{
	struct impair_conf c = {0};
	struct rte_mbuf *in[32], *out[32];
	unsigned base = in_use(), got = 0;
	struct impair *imp = make(&c);

	for (uint32_t i = 0; i < 32; i++)
		in[i] = frame_new(FRAME_LEN, i);
	CU_ASSERT_EQUAL(impair_next_due(imp), UINT64_MAX);
	CU_ASSERT_EQUAL(impair_push(imp, in, 10, 100), 10);
	CU_ASSERT_EQUAL(impair_push(imp, in + 10, 1, 100), 1);
	CU_ASSERT_EQUAL(impair_push(imp, in + 11, 21, 100), 21);
	CU_ASSERT_EQUAL(impair_next_due(imp), 100);
	CU_ASSERT_EQUAL(impair_pull(imp, out, 32, 99), 0);
	for (uint16_t n; (n = impair_pull(imp, out + got, 5, 100)) > 0;)
		got += n;
	CU_ASSERT_EQUAL_FATAL(got, 32);
	for (unsigned i = 0; i < 32; i++) {
		CU_ASSERT_PTR_EQUAL(out[i], in[i]);
		CU_ASSERT_EQUAL(frame_tag(out[i]), i);
	}
	CU_ASSERT_EQUAL(impair_next_due(imp), UINT64_MAX);
	CU_ASSERT_EQUAL(impair_stats(imp).pushed, 32);
	CU_ASSERT_EQUAL(impair_stats(imp).released, 32);
	check_balance(imp);
	free_all(out, got);
	impair_destroy(imp);
	CU_ASSERT_EQUAL(in_use(), base);
}

/* Push LOSS_RUN frames through 1% loss; mark the survivors in SEEN.
 * Returns the number lost. */
static unsigned run_loss(uint64_t seed, uint8_t *seen)
{
	struct impair_conf c = {.loss_ppm = 10000, .seed = seed};
	struct impair *imp = make(&c);
	struct rte_mbuf *burst[32], *out[32];
	unsigned lost;

	memset(seen, 0, LOSS_RUN / 8);
	for (uint32_t t = 0; t < LOSS_RUN; t += 32) {
		uint16_t n = 0, got;

		while (n < 32 && t + n < LOSS_RUN) {
			burst[n] = frame_new(FRAME_LEN, t + n);
			n++;
		}
		impair_push(imp, burst, n, t);
		got = impair_pull(imp, out, 32, t);
		for (uint16_t i = 0; i < got; i++) {
			uint32_t tag = frame_tag(out[i]);

			seen[tag / 8] |= (uint8_t)(1u << (tag % 8));
		}
		free_all(out, got);
	}
	CU_ASSERT_EQUAL(impair_held(imp), 0);
	CU_ASSERT_EQUAL(impair_stats(imp).pushed, LOSS_RUN);
	check_balance(imp);
	lost = (unsigned)impair_stats(imp).dropped_loss;
	impair_destroy(imp);
	return lost;
}

static unsigned count_zero_bits(const uint8_t *bits, unsigned nbits)
{
	unsigned n = 0;

	for (unsigned i = 0; i < nbits; i++)
		n += !(bits[i / 8] & (1u << (i % 8)));
	return n;
}

static void test_loss_rate_and_seed(void)
{
	static uint8_t a[LOSS_RUN / 8], b[LOSS_RUN / 8], other[LOSS_RUN / 8];
	unsigned base = in_use();
	unsigned lost = run_loss(42, a);

	/* 1% of 100,000 is 1000, sd ~31: +-200 is over 6 sd */
	CU_ASSERT(lost >= 800 && lost <= 1200);
	CU_ASSERT_EQUAL(count_zero_bits(a, LOSS_RUN), lost);
	CU_ASSERT_EQUAL(run_loss(42, b), lost);
	CU_ASSERT(memcmp(a, b, sizeof(a)) == 0);
	run_loss(43, other);
	CU_ASSERT(memcmp(a, other, sizeof(a)) != 0);
	CU_ASSERT_EQUAL(in_use(), base);
}

static void test_dup_independent(void)
{
	struct impair_conf c = {.dup_ppm = IMPAIR_PPM_MAX, .seed = 1};
	struct rte_mbuf *in[8], *out[16];
	uint8_t x[BIG_FRAME], y[BIG_FRAME];
	unsigned base = in_use();
	struct impair *imp = make(&c);

	for (uint32_t i = 0; i < 8; i++)
		in[i] = frame_new(FRAME_LEN, i);
	CU_ASSERT_EQUAL(impair_push(imp, in, 8, 0), 8);
	CU_ASSERT_EQUAL_FATAL(impair_pull(imp, out, 16, 0), 16);
	for (unsigned i = 0; i < 16; i++) {
		/* each frame then its copy: same time, arrival order */
		CU_ASSERT_EQUAL(frame_tag(out[i]), i / 2);
		CU_ASSERT(RTE_MBUF_DIRECT(out[i]));
		CU_ASSERT_EQUAL(rte_mbuf_refcnt_read(out[i]), 1);
	}
	CU_ASSERT_PTR_NOT_EQUAL(out[0], out[1]);
	CU_ASSERT_EQUAL(frame_bytes(out[0], x), FRAME_LEN);
	CU_ASSERT_EQUAL(frame_bytes(out[1], y), FRAME_LEN);
	CU_ASSERT(memcmp(x, y, FRAME_LEN) == 0);
	rte_pktmbuf_mtod(out[0], uint8_t *)[30] ^= 0xff;
	frame_bytes(out[1], y);
	CU_ASSERT(memcmp(x, y, FRAME_LEN) == 0);
	CU_ASSERT_EQUAL(impair_stats(imp).duplicated, 8);
	check_balance(imp);
	free_all(out, 16);
	impair_destroy(imp);
	CU_ASSERT_EQUAL(in_use(), base);
}

/* Push FRAME (tag TAG, LEN bytes of frame_fill) through IMP and check
 * the frame released differs from it in exactly one bit past byte 14.
 * Returns the offset of the changed byte. */
static uint32_t check_one_bit(struct impair *imp, struct rte_mbuf *frame,
			      uint32_t tag, uint32_t len)
{
	uint8_t want[BIG_FRAME], got[BIG_FRAME];
	struct rte_mbuf *out;
	uint32_t first;

	frame_fill(want, len, tag);
	CU_ASSERT_EQUAL_FATAL(impair_push(imp, &frame, 1, 0), 1);
	CU_ASSERT_EQUAL_FATAL(impair_pull(imp, &out, 1, 0), 1);
	CU_ASSERT_EQUAL(frame_bytes(out, got), len);
	CU_ASSERT_EQUAL(bits_differing(want, got, len, &first), 1);
	CU_ASSERT(first >= 14 && first < len);
	rte_pktmbuf_free(out);
	return first;
}

static void test_corrupt_one_bit(void)
{
	struct impair_conf c = {.corrupt_ppm = IMPAIR_PPM_MAX, .seed = 7};
	unsigned base = in_use(), later_segs = 0, n = 0;
	struct impair *imp = make(&c);

	for (uint32_t len = 15; len <= 1514; len += 7, n++)
		check_one_bit(imp, frame_new((uint16_t)len, len), len, len);
	for (uint32_t i = 0; i < 100; i++, n++)
		later_segs += check_one_bit(imp, frame_new_chain(3, 40, i), i,
					    120) >= 40;
	CU_ASSERT(later_segs > 0);  /* the flip reaches chained segments */
	CU_ASSERT_EQUAL(impair_stats(imp).corrupted, n);
	check_balance(imp);
	impair_destroy(imp);
	CU_ASSERT_EQUAL(in_use(), base);
}

static void test_corrupt_spares_short_and_shared(void)
{
	struct impair_conf c = {.corrupt_ppm = IMPAIR_PPM_MAX, .seed = 9};
	uint8_t want[BIG_FRAME], got[BIG_FRAME];
	struct rte_mbuf *m, *clone, *out;
	unsigned base = in_use();
	struct impair *imp = make(&c);

	/* a bare Ethernet header has nothing to corrupt */
	m = frame_new(14, 5);
	CU_ASSERT_EQUAL(impair_push(imp, &m, 1, 0), 1);
	CU_ASSERT_EQUAL_FATAL(impair_pull(imp, &out, 1, 0), 1);
	frame_fill(want, 14, 5);
	CU_ASSERT_EQUAL(frame_bytes(out, got), 14);
	CU_ASSERT(memcmp(want, got, 14) == 0);
	CU_ASSERT_EQUAL(impair_stats(imp).corrupted, 0);
	rte_pktmbuf_free(out);

	/* a frame the sender still references (held for retransmission) */
	m = frame_new(FRAME_LEN, 6);
	rte_mbuf_refcnt_update(m, 1);
	check_one_bit(imp, m, 6, FRAME_LEN);
	frame_fill(want, FRAME_LEN, 6);
	frame_bytes(m, got);
	CU_ASSERT(memcmp(want, got, FRAME_LEN) == 0);
	CU_ASSERT_EQUAL(rte_mbuf_refcnt_read(m), 1);
	rte_pktmbuf_free(m);

	/* a clone: the original's data must stay intact */
	m = frame_new(FRAME_LEN, 8);
	clone = rte_pktmbuf_clone(m, pool);
	CU_ASSERT_FATAL(clone != NULL);
	check_one_bit(imp, clone, 8, FRAME_LEN);
	frame_fill(want, FRAME_LEN, 8);
	frame_bytes(m, got);
	CU_ASSERT(memcmp(want, got, FRAME_LEN) == 0);
	rte_pktmbuf_free(m);

	CU_ASSERT_EQUAL(impair_stats(imp).corrupted, 2);
	impair_destroy(imp);
	CU_ASSERT_EQUAL(in_use(), base);
}

static void test_delay_exact(void)
{
	struct impair_conf c = {.delay_us = 1000};
	struct rte_mbuf *m = frame_new(FRAME_LEN, 1), *out;
	unsigned base = in_use() - 1;
	struct impair *imp = make(&c);

	CU_ASSERT_EQUAL(impair_push(imp, &m, 1, 5000), 1);
	CU_ASSERT_EQUAL(impair_next_due(imp), 6000);
	CU_ASSERT_EQUAL(impair_pull(imp, &out, 1, 5999), 0);
	CU_ASSERT_EQUAL(impair_held(imp), 1);
	CU_ASSERT_EQUAL_FATAL(impair_pull(imp, &out, 1, 6000), 1);
	CU_ASSERT_PTR_EQUAL(out, m);
	CU_ASSERT_EQUAL(impair_next_due(imp), UINT64_MAX);
	rte_pktmbuf_free(out);
	impair_destroy(imp);
	CU_ASSERT_EQUAL(in_use(), base);
}

static void test_jitter_window(void)
{
	struct impair_conf c = {.delay_us = 1000, .jitter_us = 500, .seed = 5};
	struct rte_mbuf *in[256], *out[256];
	uint64_t prev = 0, due;
	unsigned base = in_use(), got = 0, distinct = 0;
	struct impair *imp = make(&c);

	for (uint32_t i = 0; i < 256; i++)
		in[i] = frame_new(FRAME_LEN, i);
	CU_ASSERT_EQUAL(impair_push(imp, in, 256, 0), 256);
	CU_ASSERT_EQUAL(impair_pull(imp, out, 256, 999), 0);
	while ((due = impair_next_due(imp)) != UINT64_MAX) {
		CU_ASSERT(due >= 1000 && due <= 1500);
		CU_ASSERT(due >= prev);
		distinct += due != prev;
		prev = due;
		CU_ASSERT_FATAL(impair_pull(imp, out + got, 1, due) == 1);
		got++;
	}
	CU_ASSERT_EQUAL(got, 256);
	CU_ASSERT(distinct > 100);  /* the jitter spreads them */
	free_all(out, got);
	impair_destroy(imp);
	CU_ASSERT_EQUAL(in_use(), base);
}

static void test_reorder(void)
{
	struct impair_conf c = {.reorder_ppm = 100000, .reorder_delay_us = 50,
				.seed = 11};
	struct rte_mbuf *m, *out[8];
	unsigned base = in_use(), got = 0, late = 0, inversions = 0;
	uint32_t last = 0;
	struct impair *imp = make(&c);

	/* one frame a microsecond; a held one comes out 50 us later */
	for (uint64_t t = 0; t < 10050; t++) {
		uint16_t n;

		if (t < 10000) {
			m = frame_new(FRAME_LEN, (uint32_t)t);
			impair_push(imp, &m, 1, t);
		}
		n = impair_pull(imp, out, 8, t);
		for (uint16_t i = 0; i < n; i++) {
			uint32_t tag = frame_tag(out[i]);

			CU_ASSERT(tag == t || tag + 50 == t);
			late += tag + 50 == t;
			inversions += got > 0 && tag < last;
			last = tag;
			got++;
		}
		free_all(out, n);
	}
	CU_ASSERT_EQUAL(got, 10000);
	CU_ASSERT_EQUAL(impair_held(imp), 0);
	CU_ASSERT_EQUAL(impair_stats(imp).reordered, late);
	CU_ASSERT(late >= 850 && late <= 1150);  /* 10% of 10,000, sd 30 */
	CU_ASSERT(inversions > 0);
	check_balance(imp);
	impair_destroy(imp);
	CU_ASSERT_EQUAL(in_use(), base);
}

static void test_full_heap_drops(void)
{
	struct impair_conf c = {.delay_us = 10, .max_held = 8};
	struct impair_conf d = {.dup_ppm = IMPAIR_PPM_MAX, .max_held = 4};
	struct rte_mbuf *in[12], *out[12];
	unsigned base = in_use();
	struct impair *imp = make(&c);

	for (uint32_t i = 0; i < 12; i++)
		in[i] = frame_new(FRAME_LEN, i);
	CU_ASSERT_EQUAL(impair_push(imp, in, 12, 0), 8);
	CU_ASSERT_EQUAL(impair_stats(imp).dropped_full, 4);
	CU_ASSERT_EQUAL(impair_held(imp), 8);
	CU_ASSERT_EQUAL(in_use(), base + 8);
	CU_ASSERT_EQUAL_FATAL(impair_pull(imp, out, 12, 10), 8);
	for (unsigned i = 0; i < 8; i++)
		CU_ASSERT_EQUAL(frame_tag(out[i]), i);
	free_all(out, 8);
	check_balance(imp);
	impair_destroy(imp);

	/* duplicates count against the capacity too */
	imp = make(&d);
	for (uint32_t i = 0; i < 3; i++)
		in[i] = frame_new(FRAME_LEN, i);
	CU_ASSERT_EQUAL(impair_push(imp, in, 3, 0), 2);
	CU_ASSERT_EQUAL(impair_stats(imp).duplicated, 3);
	CU_ASSERT_EQUAL(impair_stats(imp).dropped_full, 2);
	CU_ASSERT_EQUAL(impair_held(imp), 4);
	check_balance(imp);
	impair_destroy(imp);
	CU_ASSERT_EQUAL(in_use(), base);
}

static void test_create_and_destroy(void)
{
	struct impair_conf bad_rate = {.loss_ppm = IMPAIR_PPM_MAX + 1};
	struct impair_conf bad_cap = {.max_held = IMPAIR_MAX_HELD_LIMIT + 1};
	struct impair_conf slow = {.delay_us = SEC};
	struct rte_mbuf *in[50];
	unsigned base = in_use();
	struct impair *imp;

	CU_ASSERT_PTR_NULL(impair_create(&bad_rate, "bad", SOCKET_ID_ANY));
	CU_ASSERT_EQUAL(rte_errno, EINVAL);
	CU_ASSERT_PTR_NULL(impair_create(&bad_cap, "bad", SOCKET_ID_ANY));
	CU_ASSERT_EQUAL(rte_errno, EINVAL);
	CU_ASSERT_PTR_NULL(impair_create(NULL, "bad", SOCKET_ID_ANY));
	impair_destroy(NULL);

	imp = make(&slow);
	CU_ASSERT_STRING_EQUAL(impair_name(imp), "test_impair");
	for (uint32_t i = 0; i < 50; i++)
		in[i] = frame_new(FRAME_LEN, i);
	CU_ASSERT_EQUAL(impair_push(imp, in, 50, 0), 50);
	CU_ASSERT_EQUAL(in_use(), base + 50);
	impair_destroy(imp);  /* frees the 50 still held */
	CU_ASSERT_EQUAL(in_use(), base);
}

/* FNV-1a over the bytes of every frame released, in order. */
static uint64_t hash_frame(uint64_t h, const struct rte_mbuf *m)
{
	uint8_t buf[BIG_FRAME];
	uint32_t len = frame_bytes(m, buf);

	for (uint32_t i = 0; i < len; i++)
		h = (h ^ buf[i]) * 0x100000001b3ull;
	return h;
}

/* Everything at once, 20,000 frames, one every microsecond. */
static uint64_t run_soak(const char *spec)
{
	struct impair_conf c;
	char err[128];
	struct rte_mbuf *burst[4], *out[64];
	uint64_t h = 0xcbf29ce484222325ull;
	struct impair *imp;

	CU_ASSERT_EQUAL_FATAL(impair_parse(spec, &c, err, sizeof(err)), 0);
	imp = make(&c);
	for (uint64_t t = 0; t < 20000 || impair_held(imp) > 0; t += 4) {
		uint16_t n;

		for (unsigned i = 0; t < 20000 && i < 4; i++)
			burst[i] = frame_new(FRAME_LEN, (uint32_t)(t + i));
		if (t < 20000)
			impair_push(imp, burst, 4, t);
		while ((n = impair_pull(imp, out, 64, t)) > 0) {
			for (uint16_t i = 0; i < n; i++)
				h = hash_frame(h, out[i]);
			free_all(out, n);
		}
		check_balance(imp);
	}
	{
		struct impair_stats s = impair_stats(imp);

		CU_ASSERT(s.dropped_loss > 0 && s.duplicated > 0);
		CU_ASSERT(s.corrupted > 0 && s.reordered > 0);
		CU_ASSERT(s.dropped_full > 0);
	}
	impair_destroy(imp);
	return h;
}

static void test_soak_reproducible(void)
{
	const char *spec = "loss=5%,dup=5%,reorder=10%,corrupt=5%,delay=100us,"
			   "jitter=50us,reorder_delay=300us,seed=99,max_held=32";
	unsigned base = in_use();
	uint64_t h = run_soak(spec);

	CU_ASSERT_EQUAL(run_soak(spec), h);
	CU_ASSERT_EQUAL(in_use(), base);
}

/* ---- memlink ---- */

static void send_tags(struct memlink *ml, int side, uint32_t first,
		      unsigned n, uint64_t now)
{
	struct rte_mbuf *m[16];

	for (unsigned i = 0; i < n; i++)
		m[i] = frame_new(FRAME_LEN, first + i);
	memlink_send(ml, side, m, (uint16_t)n, now);
}

static void test_memlink_directions(void)
{
	struct impair_conf ab = {.delay_us = 100};
	struct impair_conf ba = {.delay_us = 300};
	struct rte_mbuf *out[8];
	unsigned base = in_use();
	struct memlink *ml = memlink_create(&ab, &ba, SOCKET_ID_ANY);

	CU_ASSERT_FATAL(ml != NULL);
	CU_ASSERT_EQUAL(memlink_next_due(ml), UINT64_MAX);
	send_tags(ml, MEMLINK_A, 0, 3, 0);
	send_tags(ml, MEMLINK_B, 10, 2, 0);
	CU_ASSERT_EQUAL(memlink_next_due(ml), 100);
	CU_ASSERT_EQUAL(memlink_recv(ml, MEMLINK_B, out, 8, 99), 0);
	CU_ASSERT_EQUAL(memlink_recv(ml, MEMLINK_A, out, 8, 100), 0);
	CU_ASSERT_EQUAL_FATAL(memlink_recv(ml, MEMLINK_B, out, 8, 100), 3);
	for (unsigned i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(frame_tag(out[i]), i);
	free_all(out, 3);
	CU_ASSERT_EQUAL(memlink_next_due(ml), 300);
	CU_ASSERT_EQUAL(memlink_recv(ml, MEMLINK_A, out, 8, 299), 0);
	CU_ASSERT_EQUAL_FATAL(memlink_recv(ml, MEMLINK_A, out, 8, 300), 2);
	CU_ASSERT_EQUAL(frame_tag(out[0]), 10);
	CU_ASSERT_EQUAL(frame_tag(out[1]), 11);
	free_all(out, 2);
	CU_ASSERT_EQUAL(memlink_stats(ml, MEMLINK_A).impair.released, 3);
	CU_ASSERT_EQUAL(memlink_stats(ml, MEMLINK_B).impair.released, 2);
	CU_ASSERT_EQUAL(memlink_send(ml, 2, out, 0, 0), 0);
	memlink_destroy(ml);
	CU_ASSERT_EQUAL(in_use(), base);
}

static void test_memlink_one_way_loss(void)
{
	struct impair_conf dead = {.loss_ppm = IMPAIR_PPM_MAX};
	struct rte_mbuf *out[16];
	unsigned base = in_use();
	struct memlink *ml = memlink_create(NULL, &dead, SOCKET_ID_ANY);

	CU_ASSERT_FATAL(ml != NULL);
	send_tags(ml, MEMLINK_A, 0, 16, 0);
	send_tags(ml, MEMLINK_B, 100, 16, 0);
	CU_ASSERT_EQUAL_FATAL(memlink_recv(ml, MEMLINK_B, out, 16, 0), 16);
	free_all(out, 16);
	CU_ASSERT_EQUAL(memlink_recv(ml, MEMLINK_A, out, 16, SEC), 0);
	CU_ASSERT_EQUAL(memlink_stats(ml, MEMLINK_A).impair.dropped_loss, 0);
	CU_ASSERT_EQUAL(memlink_stats(ml, MEMLINK_B).impair.dropped_loss, 16);

	/* frames still on the wire are freed with the link */
	send_tags(ml, MEMLINK_A, 0, 5, SEC);
	CU_ASSERT_EQUAL(in_use(), base + 5);
	memlink_destroy(ml);
	CU_ASSERT_EQUAL(in_use(), base);
}

static void test_memlink_like_a_wire(void)
{
	uint8_t want[BIG_FRAME], got[BIG_FRAME];
	struct rte_mbuf *m = frame_new(FRAME_LEN, 3), *clone, *out;
	unsigned base = in_use() - 1;
	struct memlink *ml = memlink_create(NULL, NULL, SOCKET_ID_ANY);

	CU_ASSERT_FATAL(ml != NULL);
	/* the sender keeps M for retransmission and sends a clone */
	m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM;
	m->l2_len = 14;
	clone = rte_pktmbuf_clone(m, pool);
	CU_ASSERT_FATAL(clone != NULL);
	CU_ASSERT_EQUAL(memlink_send(ml, MEMLINK_A, &clone, 1, 0), 1);
	CU_ASSERT_EQUAL_FATAL(memlink_recv(ml, MEMLINK_B, &out, 1, 0), 1);
	CU_ASSERT_PTR_NOT_EQUAL(out, m);
	CU_ASSERT(RTE_MBUF_DIRECT(out));
	CU_ASSERT_EQUAL(rte_mbuf_refcnt_read(out), 1);
	CU_ASSERT_EQUAL(rte_mbuf_refcnt_read(m), 1);
	CU_ASSERT_EQUAL(out->ol_flags, 0);
	CU_ASSERT_EQUAL(out->l2_len, 0);
	CU_ASSERT_EQUAL(memlink_stats(ml, MEMLINK_A).unshared, 1);
	/* the receiver answers in place; the sender's copy is untouched */
	rte_pktmbuf_mtod(out, uint8_t *)[20] ^= 0xff;
	frame_fill(want, FRAME_LEN, 3);
	frame_bytes(m, got);
	CU_ASSERT(memcmp(want, got, FRAME_LEN) == 0);
	rte_pktmbuf_free(out);
	rte_pktmbuf_free(m);
	memlink_destroy(ml);
	CU_ASSERT_EQUAL(in_use(), base);
}

/* ---- impair_parse ---- */

static void test_parse_accepts(void)
{
	struct impair_conf c;
	char err[128];

	CU_ASSERT_EQUAL(impair_parse("loss=1%,dup=1%,reorder=5%,corrupt=0.1%,"
				     "delay=10ms,jitter=2ms,reorder_delay=3ms,"
				     "seed=42,max_held=4096", &c, err,
				     sizeof(err)), 0);
	CU_ASSERT_EQUAL(c.loss_ppm, 10000);
	CU_ASSERT_EQUAL(c.dup_ppm, 10000);
	CU_ASSERT_EQUAL(c.reorder_ppm, 50000);
	CU_ASSERT_EQUAL(c.corrupt_ppm, 1000);
	CU_ASSERT_EQUAL(c.delay_us, 10000);
	CU_ASSERT_EQUAL(c.jitter_us, 2000);
	CU_ASSERT_EQUAL(c.reorder_delay_us, 3000);
	CU_ASSERT_EQUAL(c.seed, 42);
	CU_ASSERT_EQUAL(c.max_held, 4096);

	CU_ASSERT_EQUAL(impair_parse(" loss = 0.0001% , dup=50ppm,"
				     "corrupt=100%,delay=2s,jitter=7us,"
				     "seed=18446744073709551615", &c, err,
				     sizeof(err)), 0);
	CU_ASSERT_EQUAL(c.loss_ppm, 1);
	CU_ASSERT_EQUAL(c.dup_ppm, 50);
	CU_ASSERT_EQUAL(c.corrupt_ppm, IMPAIR_PPM_MAX);
	CU_ASSERT_EQUAL(c.delay_us, 2 * SEC);
	CU_ASSERT_EQUAL(c.jitter_us, 7);
	CU_ASSERT_EQUAL(c.seed, UINT64_MAX);
	CU_ASSERT_EQUAL(c.reorder_ppm, 0);
	CU_ASSERT_EQUAL(c.max_held, IMPAIR_MAX_HELD_DEFAULT);

	CU_ASSERT_EQUAL(impair_parse("", &c, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(c.loss_ppm, 0);
	CU_ASSERT_EQUAL(c.max_held, IMPAIR_MAX_HELD_DEFAULT);
	CU_ASSERT_EQUAL(impair_parse(NULL, &c, NULL, 0), 0);
}

static void test_parse_rejects(void)
{
	static const struct {
		const char *spec, *named;
	} bad[] = {
		{"loss=101%", "loss"},
		{"loss=100.0001%", "loss"},
		{"loss=1000001ppm", "loss"},
		{"dup=abc", "dup"},
		{"dup=-1%", "dup"},
		{"bogus=1", "bogus"},
		{"delay=10", "delay"},
		{"jitter=5h", "jitter"},
		{"corrupt=0.12345%", "corrupt"},
		{"reorder=1.%", "reorder"},
		{"reorder=1 %", "reorder"},
		{"reorder_delay=5000s", "reorder_delay"},
		{"seed=", "seed"},
		{"seed=18446744073709551616", "seed"},
		{"max_held=0", "max_held"},
		{"max_held=99999999", "max_held"},
		{"loss=1%,loss=2%", "loss"},
		{"loss", "loss"},
		{"loss=1%,", "empty"},
	};
	struct impair_conf c, before;
	char err[128];

	memset(&before, 0xa5, sizeof(before));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c = before;
		CU_ASSERT_EQUAL(impair_parse(bad[i].spec, &c, err, sizeof(err)),
				-EINVAL);
		if (strstr(err, bad[i].named) == NULL)
			fprintf(stderr, "\n'%s' gave '%s'\n", bad[i].spec, err);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, bad[i].named));
		CU_ASSERT(memcmp(&c, &before, sizeof(c)) == 0);
	}
	/* a short buffer still gets a terminated message */
	CU_ASSERT_EQUAL(impair_parse("bogus=1", &c, err, 8), -EINVAL);
	CU_ASSERT_EQUAL(strlen(err), 7);
}

/* ---- the suite ---- */

static int suite_init(void)
{
	pool = rte_pktmbuf_pool_create("test_impair", POOL_SIZE, 0, 0,
				       RTE_MBUF_DEFAULT_BUF_SIZE,
				       SOCKET_ID_ANY);
	return pool ? 0 : -1;
}

static int suite_fini(void)
{
	rte_mempool_free(pool);
	pool = NULL;
	return 0;
}

void test_impair_register(void)
{
	CU_pSuite s = CU_add_suite("impair", suite_init, suite_fini);

	CU_add_test(s, "zero impairment is an exact FIFO", test_passthrough_fifo);
	CU_add_test(s, "1% loss: rate and seed", test_loss_rate_and_seed);
	CU_add_test(s, "duplicates are independent copies", test_dup_independent);
	CU_add_test(s, "corruption flips one bit past byte 14",
		    test_corrupt_one_bit);
	CU_add_test(s, "corruption spares headers and shared data",
		    test_corrupt_spares_short_and_shared);
	CU_add_test(s, "delay holds until now+delay", test_delay_exact);
	CU_add_test(s, "jitter stays in its window", test_jitter_window);
	CU_add_test(s, "reorder overtakes and releases all", test_reorder);
	CU_add_test(s, "full heap drops and counts", test_full_heap_drops);
	CU_add_test(s, "create checks, destroy frees held",
		    test_create_and_destroy);
	CU_add_test(s, "all impairments: balanced, reproducible",
		    test_soak_reproducible);
	CU_add_test(s, "memlink: directions are independent",
		    test_memlink_directions);
	CU_add_test(s, "memlink: one-way loss, destroy frees",
		    test_memlink_one_way_loss);
	CU_add_test(s, "memlink: receiver owns a clean frame",
		    test_memlink_like_a_wire);
	CU_add_test(s, "parse: accepts the spec", test_parse_accepts);
	CU_add_test(s, "parse: rejects naming the key", test_parse_rejects);
}
