/*
 * test_spool_rec: the spool's record format and queue IDs on their own.
 * The CRC is checked against a bitwise CRC32C written here from the
 * polynomial (so rte_hash_crc is proven to be CRC32C with our seed), one
 * record is compared byte for byte, an envelope with every field goes
 * through encode and decode, and every truncation and every flipped bit of
 * a record is rejected.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "dataplane/spool/spool_qid.h"
#include "dataplane/spool/spool_rec.h"
#include "tests/unit/suites.h"

#define S(lit) ((struct spool_str){.p = (lit), .len = sizeof(lit) - 1})

/* Reflected CRC32C (Castagnoli, 0x82F63B78), no final inversion. */
static uint32_t crc32c_ref(const uint8_t *p, size_t n, uint32_t crc)
{
	while (n--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1)));
	}
	return crc;
}

static void test_crc_is_crc32c(void)
{
	/* The standard check value of CRC-32C is 0xE3069283 (with the final
	 * inversion that the records leave out). */
	CU_ASSERT_EQUAL(~spool_crc("123456789", 9, SPOOL_CRC_SEED), 0xE3069283u);
	uint8_t buf[1000];

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7 + 3);
	for (size_t n = 0; n < sizeof(buf); n += 37)
		CU_ASSERT_EQUAL(spool_crc(buf, n, SPOOL_CRC_SEED),
				crc32c_ref(buf, n, SPOOL_CRC_SEED));
}

static void test_done_record_bytes(void)
{
	uint8_t want[25] = {
		0, 0, 0, 0,                    /* crc, filled below */
		SPOOL_REC_DONE, 1, 0, 0,       /* type, version, zero */
		1, 0, 0, 0,                    /* len 1 */
		7, 0, 0, 0,                    /* segment seq 7 */
		0x03, 0x01, 0, 0, 0xc0, 0xb3, 0xa1, 0x92, /* qid */
		SPOOL_DONE_FINISHED,
	};
	/* Everything after the crc but the mark byte (offset 6). */
	uint32_t crc = crc32c_ref(want + 7, sizeof(want) - 7,
				  crc32c_ref(want + 4, 2, 0xFFFFFFFFu));
	uint8_t got[64];

	for (int i = 0; i < 4; i++)
		want[i] = (uint8_t)(crc >> (8 * i));
	memset(got, 0xee, sizeof(got));
	CU_ASSERT_EQUAL(spool_rec_put_done(got, sizeof(got), 7,
					   0x92A1B3C000000103ull,
					   SPOOL_DONE_FINISHED), 25);
	CU_ASSERT_EQUAL(memcmp(got, want, sizeof(want)), 0);
	CU_ASSERT_EQUAL(got[25], 0xee);
	CU_ASSERT_EQUAL(spool_rec_put_done(got, 24, 7, 1, 1), -ENOSPC);

	struct spool_rec r;
	uint8_t reason;

	CU_ASSERT_EQUAL(spool_rec_decode(want, sizeof(want), &r), 25);
	CU_ASSERT_EQUAL(r.type, SPOOL_REC_DONE);
	CU_ASSERT_EQUAL(r.seq, 7);
	CU_ASSERT_EQUAL(r.qid, 0x92A1B3C000000103ull);
	CU_ASSERT_EQUAL(spool_rec_get_done(&r, &reason), 0);
	CU_ASSERT_EQUAL(reason, SPOOL_DONE_FINISHED);
}

static struct spool_rcpt RCPT[3] = {
	{.addr = S("alice@example.com"), .orcpt = S("rfc822;alice@example.com"),
	 .notify = SPOOL_NOTIFY_SUCCESS | SPOOL_NOTIFY_FAILURE},
	{.addr = S("bob@example.org"), .notify = SPOOL_NOTIFY_NEVER},
	{.addr = S("\xc3\xa9ve@example.net")},
};

static struct spool_env full_env(void)
{
	struct spool_env e = {
		.client_family = 6, .client_port = 40001,
		.helo = S("exch01.corp.example"), .tls_version = S("TLSv1.3"),
		.tls_cipher = S("TLS_AES_256_GCM_SHA384"), .auth_id = S("relay-user"),
		.sender = S("news@corp.example"), .envid = S("QQ314159"),
		.ret = SPOOL_RET_HDRS, .body = SPOOL_BODY_8BITMIME, .smtputf8 = true,
		.size = 123456, .arrival_us = 1795000000123456ull,
		.nrcpt = 3, .rcpt = RCPT,
	};

	for (int i = 0; i < 16; i++)
		e.client_addr[i] = (uint8_t)(0x20 + i);
	return e;
}

static int str_eq(struct spool_str a, struct spool_str b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

static void test_envelope_round_trip(void)
{
	struct spool_env in = full_env(), out;
	struct spool_rcpt rc[3];
	struct spool_rec r;
	uint8_t buf[1024];
	long n = spool_rec_put_envelope(buf, sizeof(buf), 9, 0x42, &in);

	CU_ASSERT_EQUAL_FATAL(n, spool_rec_env_size(&in));
	CU_ASSERT_EQUAL(spool_rec_put_envelope(buf, (size_t)n - 1, 9, 0x42, &in),
			-ENOSPC);
	CU_ASSERT_EQUAL_FATAL(spool_rec_decode(buf, sizeof(buf), &r), n);
	CU_ASSERT_EQUAL(r.type, SPOOL_REC_ENVELOPE);
	CU_ASSERT_EQUAL(spool_rec_get_envelope(&r, &out, rc, 2), -E2BIG);
	CU_ASSERT_EQUAL_FATAL(spool_rec_get_envelope(&r, &out, rc, 3), 0);
	CU_ASSERT_EQUAL(out.client_family, 6);
	CU_ASSERT_EQUAL(memcmp(out.client_addr, in.client_addr, 16), 0);
	CU_ASSERT_EQUAL(out.client_port, 40001);
	CU_ASSERT(str_eq(out.helo, in.helo));
	CU_ASSERT(str_eq(out.tls_version, in.tls_version));
	CU_ASSERT(str_eq(out.tls_cipher, in.tls_cipher));
	CU_ASSERT(str_eq(out.auth_id, in.auth_id));
	CU_ASSERT(str_eq(out.sender, in.sender));
	CU_ASSERT(str_eq(out.envid, in.envid));
	CU_ASSERT_EQUAL(out.ret, SPOOL_RET_HDRS);
	CU_ASSERT_EQUAL(out.body, SPOOL_BODY_8BITMIME);
	CU_ASSERT(out.smtputf8);
	CU_ASSERT_EQUAL(out.size, 123456);
	CU_ASSERT_EQUAL(out.arrival_us, 1795000000123456ull);
	CU_ASSERT_EQUAL_FATAL(out.nrcpt, 3);
	for (int i = 0; i < 3; i++) {
		CU_ASSERT(str_eq(out.rcpt[i].addr, RCPT[i].addr));
		CU_ASSERT(str_eq(out.rcpt[i].orcpt, RCPT[i].orcpt));
		CU_ASSERT_EQUAL(out.rcpt[i].notify, RCPT[i].notify);
	}
}

/* Every prefix is incomplete; every single flipped bit is caught. */
static void test_truncated_and_flipped(void)
{
	struct spool_env in = full_env();
	struct spool_rec r;
	uint8_t buf[1024];
	long n = spool_rec_put_envelope(buf, sizeof(buf), 3, 0x77, &in);

	CU_ASSERT_FATAL(n > 0);
	for (long cut = 5; cut < n; cut++)
		CU_ASSERT_EQUAL(spool_rec_decode(buf, (size_t)cut, &r), -ENODATA);
	for (long i = 0; i < n; i++) {
		for (int bit = 0; bit < 8; bit++) {
			buf[i] ^= (uint8_t)(1 << bit);
			long rc = spool_rec_decode(buf, sizeof(buf), &r);
			/* A zeroed type byte reads as the end of the log. */
			CU_ASSERT(rc == -EBADMSG || rc == -ENODATA ||
				  (i == 4 && rc == 0));
			if (rc >= 0 && i != 4)
				CU_FAIL("a flipped bit went unnoticed");
			buf[i] ^= (uint8_t)(1 << bit);
		}
	}
	CU_ASSERT_EQUAL(spool_rec_decode(buf, sizeof(buf), &r), n);
}

static void test_payload_checks(void)
{
	struct spool_outcome_rec o = {.rcpt = 2, .outcome = SPOOL_DEFERRED,
				      .reply = S("451 4.7.1 try later")}, oo;
	struct spool_end_rec e = {.body_size = 99, .body_crc = 0xabcdef01}, ee;
	struct spool_seg_hdr h = {.worker = 3, .index = 5, .size = 1 << 20}, hh;
	uint8_t buf[256];
	const uint8_t *data;
	uint64_t off;
	uint32_t len;
	struct spool_rec r;

	CU_ASSERT(spool_rec_put_outcome(buf, sizeof(buf), 1, 5, &o) > 0);
	CU_ASSERT(spool_rec_decode(buf, sizeof(buf), &r) > 0);
	CU_ASSERT_EQUAL(spool_rec_get_outcome(&r, &oo), 0);
	CU_ASSERT_EQUAL(oo.rcpt, 2);
	CU_ASSERT_EQUAL(oo.outcome, SPOOL_DEFERRED);
	CU_ASSERT(str_eq(oo.reply, o.reply));
	CU_ASSERT_EQUAL(spool_rec_get_end(&r, &ee), -EBADMSG); /* wrong type */

	CU_ASSERT(spool_rec_put_end(buf, sizeof(buf), 1, 5, &e) > 0);
	CU_ASSERT(spool_rec_decode(buf, sizeof(buf), &r) > 0);
	CU_ASSERT_EQUAL(spool_rec_get_end(&r, &ee), 0);
	CU_ASSERT_EQUAL(ee.body_size, 99);
	CU_ASSERT_EQUAL(ee.body_crc, 0xabcdef01);

	CU_ASSERT(spool_rec_put_segment(buf, sizeof(buf), 4, &h) > 0);
	CU_ASSERT(spool_rec_decode(buf, sizeof(buf), &r) > 0);
	CU_ASSERT_EQUAL(spool_rec_get_segment(&r, &hh), 0);
	CU_ASSERT(hh.worker == 3 && hh.index == 5 && hh.size == 1 << 20 && !hh.free);

	CU_ASSERT(spool_rec_put_body(buf, sizeof(buf), 1, 5, 4096, "abc", 3) > 0);
	CU_ASSERT(spool_rec_decode(buf, sizeof(buf), &r) > 0);
	CU_ASSERT_EQUAL(spool_rec_get_body(&r, &off, &data, &len), 0);
	CU_ASSERT(off == 4096 && len == 3 && memcmp(data, "abc", 3) == 0);

	/* Zeroes are the end of the log, not an error. */
	memset(buf, 0, sizeof(buf));
	CU_ASSERT_EQUAL(spool_rec_decode(buf, sizeof(buf), &r), 0);
}

static void test_qid(void)
{
	struct spool_qid_gen g;
	const uint64_t t = 1795000000ull * 1000000;
	char s[SPOOL_QID_LEN + 1];
	uint64_t a, b, c, back;

	spool_qid_init(&g, 3);
	a = spool_qid_next(&g, t);
	b = spool_qid_next(&g, t);           /* same second */
	c = spool_qid_next(&g, t - 5000000);  /* clock went back */
	CU_ASSERT(a < b && b < c);
	CU_ASSERT(spool_qid_worker(a) == 3 && spool_qid_worker(c) == 3);
	CU_ASSERT_EQUAL(spool_qid_seconds(a), 1795000000ull);
	spool_qid_format(a, s);
	CU_ASSERT_STRING_EQUAL(s, "06AFD86C00000003");
	CU_ASSERT_EQUAL(spool_qid_parse(s, &back), 0);
	CU_ASSERT_EQUAL(back, a);
	CU_ASSERT_EQUAL(spool_qid_parse("06afd86c00000003", &back), 0);
	CU_ASSERT_EQUAL(back, a);
	CU_ASSERT_EQUAL(spool_qid_parse("06AFD86C0000003", &back), -EINVAL);
	CU_ASSERT_EQUAL(spool_qid_parse("06AFD86C0000000G", &back), -EINVAL);

	/* Another worker in the same second never collides, and text order is
	 * numeric order. */
	struct spool_qid_gen h;
	char s2[SPOOL_QID_LEN + 1];

	spool_qid_init(&h, 4);
	uint64_t d = spool_qid_next(&h, t);
	CU_ASSERT(d != a && d != b && d != c);
	spool_qid_format(b, s);
	spool_qid_format(c, s2);
	CU_ASSERT(strcmp(s, s2) < 0);

	/* Recovery's highest ID bounds what comes next. */
	spool_qid_seen(&h, c + (1ull << 40));
	CU_ASSERT(spool_qid_next(&h, t) > c + (1ull << 40));
}

void test_spool_rec_register(void)
{
	CU_pSuite s = CU_add_suite("spool_rec", NULL, NULL);

	CU_add_test(s, "rte_hash_crc is CRC32C", test_crc_is_crc32c);
	CU_add_test(s, "done record, byte for byte", test_done_record_bytes);
	CU_add_test(s, "envelope round trip", test_envelope_round_trip);
	CU_add_test(s, "truncated and flipped records", test_truncated_and_flipped);
	CU_add_test(s, "outcome, end, segment, body", test_payload_checks);
	CU_add_test(s, "queue IDs", test_qid);
}
