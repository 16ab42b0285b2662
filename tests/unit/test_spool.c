/*
 * test_spool: the spool engine on real files in temporary directories.
 * A message's end callback (the 250) fires only after the fdatasync of its
 * group completed; bodies read back from memory and from disk; recovery
 * from a log cut at every byte of its last message keeps every committed
 * message and never returns the torn one; finished messages' segments are
 * reclaimed and the space reused; a failing write fails only its group; a
 * full filesystem (a small tmpfs mounted by the test) refuses new mail,
 * keeps accepted mail and resumes by itself; thousands of bodies arriving
 * in small pieces past a small memory budget are all committed; every
 * refusal is counted by its cause and is a storage refusal (452 4.3.1).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "dataplane/spool/spool.h"
#include "dataplane/spool/spool_impl.h"
#include "tests/unit/suites.h"

#define S(lit) ((struct spool_str){.p = (lit), .len = sizeof(lit) - 1})

static uint64_t NOW = 1795000000ull * 1000000;

/* ---- helpers ------------------------------------------------------------ */

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static void rm_rf(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void tmpdir(char *buf)
{
	strcpy(buf, "/tmp/sluice-spool-XXXXXX");
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(buf));
}

static void small_conf(struct spool_conf *c, const char *dir)
{
	spool_conf_defaults(c, dir, 7);
	c->seg_size = 128u << 10;
	c->block_size = 16u << 10;
	c->seg_initial = 2;
	c->seg_max = 4;
	c->blocks = 8;
	c->commit_interval_us = 1000;
	c->max_msgs = 256;
	c->max_extents = 4096;
	c->mem_budget = 1u << 20;
	c->mem_chunk = 4096;
	c->retry_us = 1000;
}

static struct spool_rcpt RCPT[2] = {
	{.addr = S("alice@example.com"), .notify = SPOOL_NOTIFY_FAILURE},
	{.addr = S("bob@example.org")},
};

static struct spool_env env(void)
{
	return (struct spool_env){
		.client_family = 4, .client_addr = {198, 18, 0, 2},
		.client_port = 5000, .helo = S("exch01"),
		.sender = S("news@corp.example"), .arrival_us = NOW,
		.nrcpt = 2, .rcpt = RCPT,
	};
}

static void fill(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 31 + seed * 7 + (i >> 8));
}

struct ended {
	int fired, err;
	uint64_t commits_then, written_then;
	struct spool_msg *m;
	struct spool *sp;
};

static void on_end(void *arg, struct spool_msg *m, int err)
{
	struct ended *e = arg;

	e->fired++;
	e->err = err;
	e->m = err ? NULL : m;
	e->commits_then = spool_stats(e->sp)->commits;
	e->written_then = spool_stats(e->sp)->bytes_written;
}

/* Poll, letting time pass, until *FLAG is set (about 10 s at most). */
static void poll_until(struct spool *sp, const int *flag)
{
	for (int i = 0; i < 100000 && !*flag; i++) {
		NOW += 100;
		spool_poll(sp, NOW);
		if (!*flag)
			usleep(100);
	}
	CU_ASSERT(*flag);
}

/* Poll until the spool takes new messages again (about 10 s at most). */
static bool wait_not_full(struct spool *sp)
{
	for (int i = 0; i < 50000; i++) {
		if (!spool_full(sp))
			return true;
		NOW += 100;
		spool_poll(sp, NOW);
		usleep(100);
	}
	return false;
}

static void settle(struct spool *sp, int rounds)
{
	for (int i = 0; i < rounds; i++) {
		NOW += 1000;
		spool_poll(sp, NOW);
		usleep(200);
	}
}

/* Begin, append LEN pattern bytes in pieces, end. 0 or a negative errno. */
static int send_msg(struct spool *sp, size_t len, unsigned seed,
		    struct ended *e)
{
	static uint8_t body[64 << 10];
	struct spool_env en = env();
	struct spool_msg *m;
	int rc;

	memset(e, 0, sizeof(*e));
	e->sp = sp;
	fill(body, len, seed);
	rc = spool_msg_begin(sp, &en, NOW, &m);
	if (rc != 0)
		return rc;
	for (size_t off = 0; off < len; off += 1400) {
		rc = spool_msg_append(m, body + off, len - off < 1400 ? len - off : 1400);
		if (rc != 0) {
			spool_msg_abort(m);
			return rc;
		}
	}
	rc = spool_msg_end(m, on_end, e);
	if (rc != 0)
		spool_msg_abort(m);
	return rc;
}

/* Send and wait for the commit; the handle, or NULL on failure. */
static struct spool_msg *commit_msg(struct spool *sp, size_t len, unsigned seed)
{
	struct ended e;

	if (send_msg(sp, len, seed, &e) != 0)
		return NULL;
	poll_until(sp, &e.fired);
	return e.err == 0 ? e.m : NULL;
}

struct rd {
	int fired, err;
};

static void on_read(void *arg, int err)
{
	struct rd *r = arg;

	r->fired = 1;
	r->err = err;
}

/* Read the whole body back and compare it with the pattern. */
static bool body_ok(struct spool *sp, struct spool_msg *m, size_t len,
		    unsigned seed)
{
	static uint8_t want[64 << 10], got[64 << 10];
	struct rd r = {0};
	long n;

	fill(want, len, seed);
	memset(got, 0, len);
	n = spool_msg_read(m, 0, got, len, on_read, &r);
	if (n == 0) {
		poll_until(sp, &r.fired);
		if (r.err != 0)
			return false;
	} else if (n != (long)len) {
		return false;
	}
	return spool_msg_size(m) == len && memcmp(got, want, len) == 0;
}

/* ---- the 250 waits for the commit --------------------------------------- */

/* Poll with the clock held at T until *FLAG is set (about 10 s at most). */
static void poll_at(struct spool *sp, uint64_t t, const int *flag)
{
	for (int i = 0; i < 100000 && !*flag; i++) {
		spool_poll(sp, t);
		if (!*flag)
			usleep(100);
	}
	CU_ASSERT(*flag);
}

/* A message after a quiet spell commits at once; the next one waits until
 * commit_interval_us after that commit started, however long the wall
 * clock runs; the 250 comes only after the write and its fdatasync. */
static void test_end_waits_for_commit(void)
{
	char dir[64];
	struct spool_conf c;
	struct spool *sp;
	struct ended a, b;
	uint64_t t0 = NOW;

	tmpdir(dir);
	small_conf(&c, dir);
	c.commit_interval_us = 5000;
	CU_ASSERT_EQUAL_FATAL(spool_open(&c, t0, NULL, NULL, &sp), 0);
	CU_ASSERT_EQUAL(send_msg(sp, 3000, 1, &a), 0);

	/* The poll that starts the commit submits the write and, in the same
	 * submission, the fdatasync the kernel starts only after it
	 * (IOSQE_IO_DRAIN); no 250 yet. */
	spool_poll(sp, t0);
	CU_ASSERT_EQUAL(sp->fsyncs, 1);
	CU_ASSERT_EQUAL(a.fired, 0);
	poll_at(sp, t0, &a.fired);
	CU_ASSERT_EQUAL(a.err, 0);
	/* When the callback ran, the write and its fdatasync had completed. */
	CU_ASSERT_EQUAL(a.commits_then, 1);
	CU_ASSERT(a.written_then >= 3000);

	/* Within the interval after that commit's start nothing is synced. */
	CU_ASSERT_EQUAL(send_msg(sp, 3000, 2, &b), 0);
	for (int i = 0; i < 50; i++) {
		spool_poll(sp, t0 + 4999);
		usleep(200);
	}
	CU_ASSERT_EQUAL(b.fired, 0);
	CU_ASSERT_EQUAL(sp->committing, -1);
	CU_ASSERT_EQUAL(spool_stats(sp)->commits, 1);

	/* The interval is up: it commits. */
	spool_poll(sp, t0 + 5000);
	CU_ASSERT_EQUAL(sp->fsyncs, 1);
	poll_at(sp, t0 + 5000, &b.fired);
	CU_ASSERT_EQUAL(b.err, 0);
	CU_ASSERT_EQUAL(b.commits_then, 2);
	CU_ASSERT(b.written_then >= 6000);
	CU_ASSERT_EQUAL(spool_stats(sp)->msgs_committed, 2);
	spool_close(sp);
	rm_rf(dir);
	NOW = t0 + 5000;
}

/* Many messages ending together share one fdatasync. */
static void test_group_commit(void)
{
	char dir[64];
	struct spool_conf c;
	struct spool *sp;
	struct ended e[20];
	uint64_t hist;
	int all = 0;

	tmpdir(dir);
	small_conf(&c, dir);
	c.commit_interval_us = 100000;
	c.commit_batch = 20;
	CU_ASSERT_EQUAL_FATAL(spool_open(&c, NOW, NULL, NULL, &sp), 0);
	for (int i = 0; i < 20; i++)
		CU_ASSERT_EQUAL(send_msg(sp, 1000, (unsigned)i, &e[i]), 0);
	for (int k = 0; k < 100000 && !all; k++) {
		spool_poll(sp, NOW);
		all = 1;
		for (int i = 0; i < 20; i++)
			all &= e[i].fired;
		if (!all)
			usleep(100);
	}
	CU_ASSERT(all);
	CU_ASSERT_EQUAL(spool_stats(sp)->commits, 1);
	CU_ASSERT_EQUAL(spool_stats(sp)->msgs_committed, 20);
	CU_ASSERT_EQUAL(spool_stats(sp)->commit_msgs_max, 20);
	hist = 0;
	for (unsigned b = 0; b <= SPOOL_COMMIT_BUCKETS; b++)
		hist += spool_stats(sp)->commit_us_hist[b];
	CU_ASSERT_EQUAL(hist, 1);                /* the commit's latency counted */
	spool_close(sp);
	rm_rf(dir);
}

/* ---- reading back -------------------------------------------------------- */

static void test_read_back(void)
{
	char dir[64];
	struct spool_conf c;
	struct spool *sp;
	struct spool_msg *small, *big;
	struct rd r = {0};
	uint8_t buf[16];

	tmpdir(dir);
	small_conf(&c, dir);
	c.mem_budget = 8192;  /* two chunks: the second body will not fit */
	CU_ASSERT_EQUAL_FATAL(spool_open(&c, NOW, NULL, NULL, &sp), 0);
	small = commit_msg(sp, 3000, 1);
	big = commit_msg(sp, 40000, 2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(small);
	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	CU_ASSERT(spool_msg_in_memory(small));
	CU_ASSERT(!spool_msg_in_memory(big));
	CU_ASSERT(body_ok(sp, small, 3000, 1));
	CU_ASSERT(body_ok(sp, big, 40000, 2));
	CU_ASSERT(spool_stats(sp)->disk_reads >= 1);
	CU_ASSERT_EQUAL(spool_msg_read(big, 39990, buf, 11, on_read, &r), -EINVAL);
	CU_ASSERT_EQUAL(spool_msg_outcome(big, 2, SPOOL_DELIVERED, "250 ok", 6),
			-EINVAL);
	CU_ASSERT_EQUAL(spool_msg_outcome(big, 1, SPOOL_DELIVERED, "250 ok", 6), 0);
	CU_ASSERT_EQUAL(spool_msg_done(small, SPOOL_DONE_FINISHED), 0);
	CU_ASSERT_EQUAL(spool_msg_done(big, SPOOL_DONE_FINISHED), 0);
	CU_ASSERT_EQUAL(spool_stats(sp)->mem_bytes, 0);
	spool_close(sp);
	rm_rf(dir);
}

/* ---- bodies in small pieces ----------------------------------------------- */

#define PIECES_MSGS   2000
#define PIECES_OPEN   50
#define PIECES_LEN    (50u << 10)

/* Body records (extents) of M. */
static unsigned extents_of(const struct spool_msg *m)
{
	unsigned n = 0;

	for (uint32_t e = m->ext_head; e != SPOOL_NONE; e = m->sp->ext[e].next)
		n++;
	return n;
}

/* Like 50 sessions: 2,000 messages of 50 KiB, 50 receiving at once, the
 * bodies interleaved in pieces of 1 to 1,400 bytes with now and then one
 * larger than a staging buffer.  The pools are sized as the worker sizes
 * them for that queue; the memory budget holds a handful of bodies.  Every
 * message is committed, each in a few records, and reads back whole. */
static void test_small_pieces(void)
{
	static const size_t piece[] = {1400, 1, 300, 20000, 7, 1399, 2};
	static uint8_t body[PIECES_OPEN][PIECES_LEN];
	static struct spool_msg *acc[PIECES_MSGS];
	char dir[64];
	struct spool_conf c;
	struct spool *sp;
	unsigned n = 0, failed = 0, max_ext = 0, disk = 0;

	tmpdir(dir);
	small_conf(&c, dir);
	c.seg_size = 16u << 20;
	c.seg_max = 8;
	c.block_size = 256u << 10;
	c.blocks = 16;
	c.commit_interval_us = 0;
	c.mem_budget = 256u << 10;
	spool_conf_size(&c, PIECES_MSGS, PIECES_OPEN);
	CU_ASSERT_EQUAL_FATAL(spool_open(&c, NOW, NULL, NULL, &sp), 0);
	while (n + failed < PIECES_MSGS) {
		struct spool_msg *m[PIECES_OPEN];
		struct ended e[PIECES_OPEN];
		size_t off = 0;
		unsigned k = 0;

		memset(e, 0, sizeof(e));
		for (int i = 0; i < PIECES_OPEN; i++) {
			struct spool_env en = env();

			e[i].sp = sp;
			fill(body[i], PIECES_LEN, n + (unsigned)i);
			CU_ASSERT_EQUAL_FATAL(spool_msg_begin(sp, &en, NOW, &m[i]), 0);
		}
		while (off < PIECES_LEN) {
			size_t len = piece[k++ % RTE_DIM(piece)];

			len = len < PIECES_LEN - off ? len : PIECES_LEN - off;
			for (int i = 0; i < PIECES_OPEN; i++)
				CU_ASSERT_EQUAL_FATAL(spool_msg_append(m[i], body[i] + off, len), 0);
			off += len;
			NOW += 10;
			spool_poll(sp, NOW);
		}
		for (int i = 0; i < PIECES_OPEN; i++)
			CU_ASSERT_EQUAL_FATAL(spool_msg_end(m[i], on_end, &e[i]), 0);
		for (int i = 0; i < PIECES_OPEN; i++) {
			poll_until(sp, &e[i].fired);
			if (e[i].err != 0) {
				failed++;
				continue;
			}
			unsigned x = extents_of(e[i].m);

			max_ext = x > max_ext ? x : max_ext;
			disk += !spool_msg_in_memory(e[i].m);
			if (!body_ok(sp, e[i].m, PIECES_LEN, n))
				failed++;
			acc[n++] = e[i].m;
		}
	}
	const struct spool_stats *st = spool_stats(sp);

	CU_ASSERT_EQUAL(failed, 0);
	CU_ASSERT_EQUAL(st->msgs_committed, PIECES_MSGS);
	CU_ASSERT_EQUAL(st->refused_records + st->refused_slots +
			st->refused_blocks + st->refused_full + st->refused_io, 0);
	/* 50 KiB in 16 KiB records, each split at most once by a block end */
	CU_ASSERT(max_ext >= 4 && max_ext <= 8);
	CU_ASSERT(disk >= PIECES_MSGS - 16);
	CU_ASSERT(st->mem_bytes <= c.mem_budget);
	for (unsigned i = 0; i < n; i++)
		CU_ASSERT_EQUAL(spool_msg_done(acc[i], SPOOL_DONE_FINISHED), 0);
	spool_close(sp);
	rm_rf(dir);
}

/* ---- refusals by cause ----------------------------------------------------- */

/* A 100 KiB body appended in pieces of STEP into a small spool with
 * MAX_EXTENTS body records and BLOCKS write blocks is refused with
 * -ENOBUFS, a storage refusal, for CAUSE; the spool's counters then. */
static struct spool_stats body_refused(unsigned max_extents, unsigned blocks,
				       size_t step, const char *cause)
{
	static uint8_t big[100 << 10];
	char dir[64];
	struct spool_conf c;
	struct spool *sp;
	struct spool_msg *m;
	struct spool_env en = env();
	struct spool_stats st;
	int rc = 0;

	tmpdir(dir);
	small_conf(&c, dir);
	c.max_extents = max_extents;
	c.blocks = blocks;
	CU_ASSERT_EQUAL_FATAL(spool_open(&c, NOW, NULL, NULL, &sp), 0);
	CU_ASSERT_EQUAL_FATAL(spool_msg_begin(sp, &en, NOW, &m), 0);
	for (size_t off = 0; off < sizeof(big) && rc == 0; off += step)
		rc = spool_msg_append(m, big + off, step);
	CU_ASSERT_EQUAL(rc, -ENOBUFS);
	CU_ASSERT(spool_err_storage(rc));
	CU_ASSERT_STRING_EQUAL(spool_refusal(sp), cause);
	st = *spool_stats(sp);
	spool_msg_abort(m);
	settle(sp, 3);
	spool_close(sp);
	rm_rf(dir);
	return st;
}

/* Each way the spool refuses a message is counted under its own name, and
 * each is a storage refusal (the SMTP layer answers 452 4.3.1); only an
 * envelope past the limits is not (451 4.3.0). */
static void test_refusal_causes(void)
{
	char dir[64];
	struct spool_conf c;
	struct spool *sp;
	struct spool_msg *a, *b, *m;
	struct spool_env en = env();
	struct spool_stats st;
	int rc;

	/* no message slot */
	tmpdir(dir);
	small_conf(&c, dir);
	c.max_msgs = 2;
	CU_ASSERT_EQUAL_FATAL(spool_open(&c, NOW, NULL, NULL, &sp), 0);
	CU_ASSERT_EQUAL(spool_msg_begin(sp, &en, NOW, &a), 0);
	CU_ASSERT_EQUAL(spool_msg_begin(sp, &en, NOW, &b), 0);
	rc = spool_msg_begin(sp, &en, NOW, &m);
	CU_ASSERT_EQUAL(rc, -ENOBUFS);
	CU_ASSERT(spool_err_storage(rc));
	CU_ASSERT_EQUAL(spool_stats(sp)->refused_slots, 1);
	CU_ASSERT_STRING_EQUAL(spool_refusal(sp), "no message slot (queue full)");
	spool_msg_abort(a);
	spool_msg_abort(b);
	settle(sp, 3);
	spool_close(sp);
	rm_rf(dir);

	/* no body record: 100 KiB needs seven 16 KiB records */
	st = body_refused(3, 8, 1000, "no body record slot");
	CU_ASSERT_EQUAL(st.refused_records, 1);
	CU_ASSERT_EQUAL(st.refused_blocks, 0);
	/* every write block in flight: nothing is reaped without a poll */
	st = body_refused(4096, 2, 100 << 10, "every write block in flight");
	CU_ASSERT_EQUAL(st.refused_blocks, 1);
	CU_ASSERT_EQUAL(st.refused_records, 0);

	/* full (the disk-full test fills a real filesystem), write errors
	 * (the end callback's errno) and an envelope past the limits */
	CU_ASSERT(spool_err_storage(-ENOSPC));
	CU_ASSERT(spool_err_storage(-EIO));
	CU_ASSERT(spool_err_storage(-EBADF));
	CU_ASSERT(!spool_err_storage(-E2BIG));
	CU_ASSERT(!spool_err_storage(-EINVAL));
}

/* ---- recovery ------------------------------------------------------------ */

struct found {
	int n;
	uint64_t qid[8];
	uint8_t outcome0[8];
	struct spool_msg *m[8];
	char sender[8][32];
};

static void on_recovered(void *arg, struct spool_msg *m,
			 const struct spool_env *en, const uint8_t *outcomes)
{
	struct found *f = arg;

	if (f->n >= 8)
		return;
	f->qid[f->n] = spool_msg_qid(m);
	f->outcome0[f->n] = outcomes[0];
	f->m[f->n] = m;
	snprintf(f->sender[f->n], sizeof(f->sender[0]), "%.*s", en->sender.len,
		 en->sender.p);
	f->n++;
}

static bool copy_file(const char *from, const char *to)
{
	FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
	char buf[1 << 16];
	size_t n;
	bool ok = a && b;

	while (ok && (n = fread(buf, 1, sizeof(buf), a)) > 0)
		ok = fwrite(buf, 1, n, b) == n;
	if (a)
		fclose(a);
	if (b && fclose(b) != 0)
		ok = false;
	return ok;
}

static bool copy_spool(const char *from, const char *to, unsigned nseg)
{
	char a[128], b[128];

	if (mkdir(to, 0750) != 0)
		return false;
	for (unsigned i = 0; i < nseg; i++) {
		snprintf(a, sizeof(a), "%s/w007-%02u.seg", from, i);
		snprintf(b, sizeof(b), "%s/w007-%02u.seg", to, i);
		if (access(a, F_OK) == 0 && !copy_file(a, b))
			return false;
	}
	return true;
}

/* Offsets of the first and past the last record of QID in segment file
 * PATH (the records of one message written without others in between). */
static bool find_msg(const char *path, uint64_t qid, size_t size,
		     long *start, long *end)
{
	FILE *f = fopen(path, "rb");
	uint8_t *map = malloc(size);
	bool found = false;

	if (f == NULL || map == NULL || fread(map, 1, size, f) != size) {
		if (f)
			fclose(f);
		free(map);
		return false;
	}
	fclose(f);
	struct spool_rec r;
	long off = 0, n;

	while ((n = spool_rec_decode(map + off, size - (size_t)off, &r)) > 0) {
		if (r.qid == qid) {
			if (!found)
				*start = off;
			found = true;
			*end = off + n;
		}
		off += n;
	}
	free(map);
	return found;
}

static void zero_range(const char *path, long from, long to)
{
	FILE *f = fopen(path, "r+b");
	static const uint8_t z[4096];

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fseek(f, from, SEEK_SET);
	for (long n = to - from; n > 0; n -= (long)sizeof(z))
		fwrite(z, 1, n < (long)sizeof(z) ? (size_t)n : sizeof(z), f);
	fclose(f);
}

static void test_recovery_every_cut(void)
{
	char dir[64], cut_dir[96], seg[128], where[160];
	struct spool_conf c;
	struct spool *sp;
	struct spool_msg *m[4];
	uint64_t q[4];
	long start = 0, end = 0;
	int bad = 0;

	tmpdir(dir);
	small_conf(&c, dir);
	CU_ASSERT_EQUAL_FATAL(spool_open(&c, NOW, NULL, NULL, &sp), 0);
	for (int i = 0; i < 4; i++) {
		m[i] = commit_msg(sp, i == 3 ? 300 : 5000u + (unsigned)i, (unsigned)i);
		CU_ASSERT_PTR_NOT_NULL_FATAL(m[i]);
		q[i] = spool_msg_qid(m[i]);
		if (i == 0) {
			CU_ASSERT_EQUAL(spool_msg_outcome(m[0], 0, SPOOL_DELIVERED,
							  "250 2.0.0 Ok", 12), 0);
		}
		if (i == 1)
			CU_ASSERT_EQUAL(spool_msg_done(m[1], SPOOL_DONE_FINISHED), 0);
	}
	settle(sp, 5);
	spool_close(sp);

	snprintf(seg, sizeof(seg), "%s/w007-00.seg", dir);
	CU_ASSERT_FATAL(find_msg(seg, q[3], c.seg_size, &start, &end));

	/* Cut the log at every byte of the last message: zeroes from the cut
	 * on, as a preallocated segment looks after a crash mid-write. */
	for (long cut = start; cut <= end; cut++) {
		struct found f = {0};

		snprintf(cut_dir, sizeof(cut_dir), "%s-cut", dir);
		rm_rf(cut_dir);
		CU_ASSERT_FATAL(copy_spool(dir, cut_dir, c.seg_max));
		snprintf(where, sizeof(where), "%s/w007-00.seg", cut_dir);
		zero_range(where, cut, end);
		small_conf(&c, cut_dir);
		c.mem_budget = 0;
		CU_ASSERT_EQUAL_FATAL(spool_open(&c, NOW, on_recovered, &f, &sp), 0);

		bool whole = cut == end;
		bool ok = f.n == (whole ? 3 : 2) && f.qid[0] == q[0] &&
			  f.qid[1] == q[2] && (!whole || f.qid[2] == q[3]) &&
			  f.outcome0[0] == SPOOL_DELIVERED && f.outcome0[1] == 0 &&
			  strcmp(f.sender[0], "news@corp.example") == 0 &&
			  spool_stats(sp)->recovered == (uint64_t)f.n &&
			  spool_stats(sp)->discarded <= (whole ? 0u : 1u);
		if (ok && (cut == start + 1 || whole))
			ok = body_ok(sp, f.m[0], 5000, 0) &&
			     body_ok(sp, f.m[1], 5002, 2) &&
			     (!whole || body_ok(sp, f.m[2], 300, 3));
		if (!ok && bad++ < 3)
			fprintf(stderr, "\n  cut at %ld of [%ld, %ld]: %d recovered, "
				"%llu discarded\n", cut, start, end, f.n,
				(unsigned long long)spool_stats(sp)->discarded);
		spool_close(sp);
	}
	CU_ASSERT_EQUAL(bad, 0);
	rm_rf(cut_dir);
	rm_rf(dir);
}

/* A message dropped before acceptance does not come back, and is not
 * counted as torn either; a second recovery finds what the first did. */
static void test_abort_not_recovered(void)
{
	char dir[64];
	struct spool_conf c;
	struct spool *sp;
	struct spool_env en = env();
	struct spool_msg *m, *kept;
	struct found f = {0}, g = {0};

	tmpdir(dir);
	small_conf(&c, dir);
	CU_ASSERT_EQUAL_FATAL(spool_open(&c, NOW, NULL, NULL, &sp), 0);
	CU_ASSERT_EQUAL_FATAL(spool_msg_begin(sp, &en, NOW, &m), 0);
	CU_ASSERT_EQUAL(spool_msg_append(m, "half a message", 14), 0);
	uint64_t aborted = spool_msg_qid(m);
	spool_msg_abort(m);
	kept = commit_msg(sp, 2000, 9);
	CU_ASSERT_PTR_NOT_NULL_FATAL(kept);
	uint64_t q = spool_msg_qid(kept);
	settle(sp, 5);
	spool_close(sp);

	/* Its done record went to the envelope's own segment: no mark in
	 * place (recovery below finds the record: nothing discarded). */
	char seg[128];
	long start = 0, end = 0;
	uint8_t hdr[SPOOL_REC_HDR];
	FILE *fp;

	snprintf(seg, sizeof(seg), "%s/w007-00.seg", dir);
	CU_ASSERT_FATAL(find_msg(seg, aborted, c.seg_size, &start, &end));
	fp = fopen(seg, "rb");
	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	fseek(fp, start, SEEK_SET);
	CU_ASSERT_EQUAL(fread(hdr, 1, sizeof(hdr), fp), sizeof(hdr));
	fclose(fp);
	CU_ASSERT_EQUAL(hdr[4], SPOOL_REC_ENVELOPE);
	CU_ASSERT_EQUAL(hdr[SPOOL_REC_MARK_OFF], 0);

	CU_ASSERT_EQUAL_FATAL(spool_open(&c, NOW, on_recovered, &f, &sp), 0);
	CU_ASSERT_EQUAL(f.n, 1);
	CU_ASSERT_EQUAL(f.qid[0], q);
	CU_ASSERT_EQUAL(spool_stats(sp)->discarded, 0);
	/* New IDs sort after everything recovered. */
	struct spool_msg *next = commit_msg(sp, 100, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(next);
	CU_ASSERT(spool_msg_qid(next) > q);
	CU_ASSERT_EQUAL(spool_msg_done(next, SPOOL_DONE_DELETED), 0);
	settle(sp, 5);
	spool_close(sp);

	CU_ASSERT_EQUAL_FATAL(spool_open(&c, NOW, on_recovered, &g, &sp), 0);
	CU_ASSERT_EQUAL(g.n, 1);
	CU_ASSERT_EQUAL(g.qid[0], q);
	spool_close(sp);
	rm_rf(dir);
}

/* The mark byte of M's envelope as it is on disk. */
static uint8_t mark_on_disk(const char *dir, const struct spool_msg *m)
{
	char path[128];
	uint8_t b = 0xFF;
	int fd;

	snprintf(path, sizeof(path), "%s/w007-%02u.seg", dir, m->env_seg);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (pread(fd, &b, 1, (off_t)m->env_off + SPOOL_REC_MARK_OFF) != 1)
			b = 0xFF;
		close(fd);
	}
	return b;
}

/* A message finished in its envelope's segment gets only a done record;
 * one finished after writing moved on also gets the mark in place, since
 * the newer segment may be reclaimed first.  Neither comes back. */
static void test_done_mark_across_segments(void)
{
	char dir[64];
	struct spool_conf c;
	struct spool *sp;
	struct spool_msg *here, *across, *m;
	uint64_t fill[8];
	struct found f = {0};
	int nfill = 0;

	tmpdir(dir);
	small_conf(&c, dir);
	CU_ASSERT_EQUAL_FATAL(spool_open(&c, NOW, NULL, NULL, &sp), 0);
	here = commit_msg(sp, 3000, 1);
	across = commit_msg(sp, 3000, 2);
	CU_ASSERT_FATAL(here != NULL && across != NULL);
	CU_ASSERT_EQUAL(spool_msg_done(here, SPOOL_DONE_FINISHED), 0);
	settle(sp, 5);
	CU_ASSERT_EQUAL(mark_on_disk(dir, here), 0);

	/* Unfinished messages until writing moves to the next segment. */
	while (nfill < 8 && (uint32_t)sp->active == across->env_seg) {
		m = commit_msg(sp, 30000, 10 + (unsigned)nfill);
		CU_ASSERT_PTR_NOT_NULL_FATAL(m);
		fill[nfill++] = spool_msg_qid(m);
	}
	CU_ASSERT_FATAL((uint32_t)sp->active != across->env_seg);
	CU_ASSERT_EQUAL(spool_msg_done(across, SPOOL_DONE_FINISHED), 0);
	settle(sp, 5);
	CU_ASSERT_EQUAL(mark_on_disk(dir, across), SPOOL_MARK_DONE);
	spool_close(sp);

	CU_ASSERT_EQUAL_FATAL(spool_open(&c, NOW, on_recovered, &f, &sp), 0);
	CU_ASSERT_EQUAL(f.n, nfill);
	CU_ASSERT_EQUAL(spool_stats(sp)->discarded, 0);
	for (int i = 0; i < f.n; i++)
		CU_ASSERT_EQUAL(f.qid[i], fill[i]);
	spool_close(sp);
	rm_rf(dir);
}

/* ---- reclaim ------------------------------------------------------------- */

static void test_reclaim(void)
{
	char dir[64];
	struct spool_conf c;
	struct spool *sp;
	struct spool_msg *pinned;
	struct found f = {0};
	int failed = 0;

	tmpdir(dir);
	small_conf(&c, dir);
	c.seg_size = 64u << 10;
	c.seg_initial = 3;
	c.seg_max = 3;
	CU_ASSERT_EQUAL_FATAL(spool_open(&c, NOW, NULL, NULL, &sp), 0);
	pinned = commit_msg(sp, 4000, 77);
	CU_ASSERT_PTR_NOT_NULL_FATAL(pinned);

	/* 1.2 MB through 192 KiB of segments: only reuse makes room. */
	for (unsigned i = 0; i < 240; i++) {
		struct spool_msg *m = commit_msg(sp, 5000, i);

		if (m == NULL || spool_msg_done(m, SPOOL_DONE_FINISHED) != 0)
			failed++;
		if (!wait_not_full(sp))
			failed++;
	}
	CU_ASSERT_EQUAL(failed, 0);
	CU_ASSERT(spool_stats(sp)->reclaimed >= 10);
	CU_ASSERT(body_ok(sp, pinned, 4000, 77));
	settle(sp, 5);
	spool_close(sp);

	/* Only the unfinished message comes back. */
	CU_ASSERT_EQUAL_FATAL(spool_open(&c, NOW, on_recovered, &f, &sp), 0);
	CU_ASSERT_EQUAL(f.n, 1);
	CU_ASSERT_EQUAL(spool_stats(sp)->discarded, 0);
	CU_ASSERT_FATAL(f.n == 1);
	CU_ASSERT(body_ok(sp, f.m[0], 4000, 77));
	CU_ASSERT_EQUAL(spool_msg_done(f.m[0], SPOOL_DONE_FINISHED), 0);
	/* Everything finished: all that is left in use is the active one
	 * (once the done mark is committed and the free headers synced). */
	int one = 0;

	for (int i = 0; i < 10000 && !one; i++) {
		settle(sp, 1);
		one = spool_stats(sp)->segs_in_use == 1;
	}
	CU_ASSERT(one);
	spool_close(sp);

	struct found g = {0};

	CU_ASSERT_EQUAL_FATAL(spool_open(&c, NOW, on_recovered, &g, &sp), 0);
	CU_ASSERT_EQUAL(g.n, 0);
	spool_close(sp);
	rm_rf(dir);
}

/* ---- write errors -------------------------------------------------------- */

/* The active segment's descriptor is swapped for a read-only one (white
 * box: the test reaches into the spool for it), so the next writes fail
 * for real.  The messages of that group get the error (the 452), accepted
 * mail stays readable and recoverable, writing moves to another segment. */
static void test_write_error(void)
{
	char dir[64], path[128];
	struct spool_conf c;
	struct spool *sp;
	struct spool_msg *kept, *after;
	struct ended e;
	struct found f = {0};

	tmpdir(dir);
	small_conf(&c, dir);
	CU_ASSERT_EQUAL_FATAL(spool_open(&c, NOW, NULL, NULL, &sp), 0);
	kept = commit_msg(sp, 6000, 11);
	CU_ASSERT_PTR_NOT_NULL_FATAL(kept);
	CU_ASSERT_FATAL(sp->active >= 0);
	snprintf(path, sizeof(path), "%s/w007-%02d.seg", dir, sp->active);
	int ro = open(path, O_RDONLY | O_CLOEXEC);

	CU_ASSERT_FATAL(ro >= 0);
	CU_ASSERT_FATAL(dup2(ro, sp->seg[sp->active].fd) >= 0);
	close(ro);

	CU_ASSERT_EQUAL(send_msg(sp, 3000, 12, &e), 0);
	poll_until(sp, &e.fired);
	CU_ASSERT(e.err < 0);
	CU_ASSERT(spool_stats(sp)->write_errors >= 1);
	CU_ASSERT_EQUAL(spool_stats(sp)->msgs_failed, 1);

	after = commit_msg(sp, 4000, 13);
	CU_ASSERT_PTR_NOT_NULL(after);
	CU_ASSERT(body_ok(sp, kept, 6000, 11));
	settle(sp, 5);
	spool_close(sp);

	CU_ASSERT_EQUAL_FATAL(spool_open(&c, NOW, on_recovered, &f, &sp), 0);
	CU_ASSERT_EQUAL(f.n, 2);
	CU_ASSERT(f.n == 2 && body_ok(sp, f.m[0], 6000, 11) &&
		  body_ok(sp, f.m[1], 4000, 13));
	spool_close(sp);
	rm_rf(dir);
}

/* ---- disk full ----------------------------------------------------------- */

static void disk_full_on(const char *dir)
{
	struct spool_conf c;
	struct spool *sp;
	struct spool_msg *acc[64];
	int n = 0, refused = 0;

	small_conf(&c, dir);
	c.seg_initial = 1;
	c.seg_max = 8;
	c.blocks = 4;
	int rc = spool_open(&c, NOW, NULL, NULL, &sp);

	CU_ASSERT_EQUAL(rc, 0);
	if (rc != 0)
		return;

	/* Fill it: the spool grows until the filesystem says ENOSPC, then
	 * refuses new messages. */
	while (n < 64 && refused == 0) {
		struct ended e;
		int rc = send_msg(sp, 12000, (unsigned)n, &e);

		if (rc == 0) {
			poll_until(sp, &e.fired);
			if (e.err == 0)
				acc[n++] = e.m;
			else
				refused = e.err;
		} else {
			refused = rc;
		}
		settle(sp, 3);
	}
	CU_ASSERT_EQUAL(refused, -ENOSPC);
	CU_ASSERT(n >= 8);
	CU_ASSERT(spool_stats(sp)->enospc >= 1);
	CU_ASSERT(spool_full(sp));
	struct ended e;

	CU_ASSERT_EQUAL(send_msg(sp, 100, 1, &e), -ENOSPC);
	CU_ASSERT(spool_stats(sp)->refused_full >= 1);

	/* Accepted mail is untouched. */
	int intact = 0;

	for (int i = 0; i < n; i++)
		intact += body_ok(sp, acc[i], 12000, (unsigned)i);
	CU_ASSERT_EQUAL(intact, n);

	/* Delivering frees segments; the spool accepts again by itself. */
	for (int i = 0; i < n; i++)
		CU_ASSERT_EQUAL(spool_msg_done(acc[i], SPOOL_DONE_FINISHED), 0);
	CU_ASSERT(wait_not_full(sp));
	struct spool_msg *again = commit_msg(sp, 12000, 5);

	CU_ASSERT_PTR_NOT_NULL(again);
	spool_close(sp);
}

static void test_disk_full(void)
{
	char dir[64];

	tmpdir(dir);
	if (mount("tmpfs", dir, "tmpfs", 0, "size=512k,mode=0700") != 0) {
		CU_FAIL("cannot mount a tmpfs (needs root)");
		rm_rf(dir);
		return;
	}
	disk_full_on(dir);  /* no fatal asserts inside: the unmount runs */
	CU_ASSERT_EQUAL(umount2(dir, MNT_DETACH), 0);
	rmdir(dir);
}

/* Commit latency: the bucket of each bound holds what is <= it. */
static void test_commit_histogram(void)
{
	struct spool_stats st;

	memset(&st, 0, sizeof(st));
	spool_stats_commit(&st, 50);
	spool_stats_commit(&st, 100);
	spool_stats_commit(&st, 101);
	spool_stats_commit(&st, 1000000);
	spool_stats_commit(&st, 1000001);
	CU_ASSERT_EQUAL(st.commit_us_hist[0], 2);                     /* <= 100 */
	CU_ASSERT_EQUAL(st.commit_us_hist[1], 1);                     /* <= 250 */
	CU_ASSERT_EQUAL(st.commit_us_hist[SPOOL_COMMIT_BUCKETS - 1], 1);  /* <= 1 s */
	CU_ASSERT_EQUAL(st.commit_us_hist[SPOOL_COMMIT_BUCKETS], 1);  /* above */
	CU_ASSERT_EQUAL(st.commit_us_sum, 2000252);
	CU_ASSERT_EQUAL(st.commit_us_max, 1000001);
}

void test_spool_register(void)
{
	CU_pSuite s = CU_add_suite("spool", NULL, NULL);

	CU_add_test(s, "end callback waits for the commit", test_end_waits_for_commit);
	CU_add_test(s, "one fdatasync for a group", test_group_commit);
	CU_add_test(s, "bodies read back from memory and disk", test_read_back);
	CU_add_test(s, "recovery with the log cut at every byte", test_recovery_every_cut);
	CU_add_test(s, "aborted messages stay gone", test_abort_not_recovered);
	CU_add_test(s, "done mark in place only across segments",
		    test_done_mark_across_segments);
	CU_add_test(s, "finished segments are reclaimed", test_reclaim);
	CU_add_test(s, "bodies in small pieces past the memory budget", test_small_pieces);
	CU_add_test(s, "refusals counted by cause, all 452", test_refusal_causes);
	CU_add_test(s, "write error: 452 to its group only", test_write_error);
	CU_add_test(s, "disk full: refuse, keep, resume", test_disk_full);
	CU_add_test(s, "commit latency histogram", test_commit_histogram);
}
