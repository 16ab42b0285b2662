/*
 * fuzz_spool_rec: libFuzzer target for the spool record decoder, which
 * recovery runs over whatever a crash left on disk.  The input is walked
 * as a segment is: record after record until the decoder stops.  Every
 * record that decodes, and whose payload decodes, is encoded again from
 * the decoded fields and must come out byte for byte as it went in (the
 * in-place done mark aside, which encoders never set).  Random bytes
 * almost never carry a valid CRC, so each input is walked twice: as it is,
 * and with the CRC of every record in it recomputed, which lets the
 * fuzzer reach the payload decoders.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/spool/spool_rec.h"

static uint8_t out[(16u << 20) + 64];
static struct spool_rcpt rcpt[SPOOL_RCPT_MAX];

static long reencode(const struct spool_rec *r)
{
	struct spool_seg_hdr h;
	struct spool_env env;
	struct spool_end_rec e;
	struct spool_outcome_rec o;
	const uint8_t *data;
	uint64_t off;
	uint32_t len;
	uint8_t reason;

	switch (r->type) {
	case SPOOL_REC_SEGMENT:
		if (spool_rec_get_segment(r, &h) != 0)
			return 0;
		return spool_rec_put_segment(out, sizeof(out), r->seq, &h);
	case SPOOL_REC_ENVELOPE:
		if (spool_rec_get_envelope(r, &env, rcpt, SPOOL_RCPT_MAX) != 0)
			return 0;
		return spool_rec_put_envelope(out, sizeof(out), r->seq, r->qid, &env);
	case SPOOL_REC_BODY:
		if (spool_rec_get_body(r, &off, &data, &len) != 0)
			return 0;
		return spool_rec_put_body(out, sizeof(out), r->seq, r->qid, off,
					  data, len);
	case SPOOL_REC_END:
		if (spool_rec_get_end(r, &e) != 0)
			return 0;
		return spool_rec_put_end(out, sizeof(out), r->seq, r->qid, &e);
	case SPOOL_REC_OUTCOME:
		if (spool_rec_get_outcome(r, &o) != 0)
			return 0;
		return spool_rec_put_outcome(out, sizeof(out), r->seq, r->qid, &o);
	case SPOOL_REC_DONE:
		if (spool_rec_get_done(r, &reason) != 0)
			return 0;
		return spool_rec_put_done(out, sizeof(out), r->seq, r->qid, reason);
	}
	abort();  /* the decoder let an unknown type through */
}

static void walk(const uint8_t *data, size_t size)
{
	size_t off = 0;
	struct spool_rec r;
	long n;

	while ((n = spool_rec_decode(data + off, size - off, &r)) > 0) {
		if ((size_t)n > size - off || n < SPOOL_REC_HDR ||
		    (size_t)n != SPOOL_REC_HDR + r.len)
			abort();
		long m = reencode(&r);

		if (m != 0) {
			out[SPOOL_REC_MARK_OFF] = r.mark;
			if (m != n || memcmp(out, data + off, (size_t)n) != 0)
				abort();
		}
		off += (size_t)n;
	}
}

static uint32_t le32(const uint8_t *p)
{
	return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/* The record CRC: everything after the crc field but the mark byte. */
static void fix_crcs(uint8_t *p, size_t size)
{
	for (size_t off = 0; size - off >= SPOOL_REC_HDR;) {
		uint8_t *r = p + off;
		uint32_t len = le32(r + 8), crc;

		if (len > size - off - SPOOL_REC_HDR)
			return;
		crc = spool_crc(r + 4, SPOOL_REC_MARK_OFF - 4, SPOOL_CRC_SEED);
		crc = spool_crc(r + SPOOL_REC_MARK_OFF + 1,
				SPOOL_REC_HDR - SPOOL_REC_MARK_OFF - 1 + len, crc);
		for (int i = 0; i < 4; i++)
			r[i] = (uint8_t)(crc >> (8 * i));
		off += SPOOL_REC_HDR + len;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *fixed = malloc(size ? size : 1);

	walk(data, size);
	if (fixed == NULL)
		return 0;
	memcpy(fixed, data, size);
	fix_crcs(fixed, size);
	walk(fixed, size);
	free(fixed);
	return 0;
}
