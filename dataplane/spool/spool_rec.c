/*
 * spool_rec: encoding and decoding of spool log records (format in
 * spool_rec.h).  Encoders compute the size first and fail without writing
 * when the record does not fit; the decoder trusts nothing it reads.
 */
#include <errno.h>
#include <string.h>

#include <rte_hash_crc.h>

#include "dataplane/spool/spool_rec.h"

#define REC_LEN_MAX (16u << 20)

uint32_t spool_crc(const void *p, size_t len, uint32_t crc)
{
	const uint8_t *b = p;

	/* rte_hash_crc loads whole words: feed it an aligned start (records
	 * and mmapped segments put data at any offset). */
	for (; len && ((uintptr_t)b & 7); len--)
		crc = rte_hash_crc_1byte(*b++, crc);
	return rte_hash_crc(b, (uint32_t)len, crc);
}

/* ---- little-endian writer ------------------------------------------------ */

static uint8_t *put_u8(uint8_t *p, uint8_t v)
{
	*p = v;
	return p + 1;
}

static uint8_t *put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	return p + 2;
}

static uint8_t *put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
	return p + 4;
}

static uint8_t *put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
	return p + 8;
}

static uint8_t *put_bytes(uint8_t *p, const void *s, size_t n)
{
	if (n)
		memcpy(p, s, n);
	return p + n;
}

static uint8_t *put_str(uint8_t *p, struct spool_str s)
{
	return put_bytes(put_u16(p, s.len), s.p, s.len);
}

/* Over the whole record but the crc itself and the in-place mark. */
static uint32_t rec_crc(const uint8_t *rec, uint32_t len)
{
	uint32_t crc = spool_crc(rec + 4, SPOOL_REC_MARK_OFF - 4, SPOOL_CRC_SEED);

	return spool_crc(rec + SPOOL_REC_MARK_OFF + 1,
			 SPOOL_REC_HDR - SPOOL_REC_MARK_OFF - 1 + (size_t)len, crc);
}

/* Header with the CRC filled in over header tail and payload. */
static long finish(uint8_t *dst, uint8_t type, uint32_t len, uint32_t seq,
		   uint64_t qid)
{
	uint8_t *p = dst + 4;

	p = put_u8(p, type);
	p = put_u8(p, SPOOL_REC_VERSION);
	p = put_u16(p, 0);
	p = put_u32(p, len);
	p = put_u32(p, seq);
	put_u64(p, qid);
	put_u32(dst, rec_crc(dst, len));
	return SPOOL_REC_HDR + (long)len;
}

/* ---- encoders ------------------------------------------------------------ */

long spool_rec_put_segment(uint8_t *dst, size_t cap, uint32_t seq,
			   const struct spool_seg_hdr *h)
{
	const uint32_t len = 20;

	if (cap < SPOOL_REC_HDR + len)
		return -ENOSPC;
	uint8_t *p = dst + SPOOL_REC_HDR;
	p = put_u32(p, h->worker);
	p = put_u32(p, h->index);
	p = put_u64(p, h->size);
	put_u32(p, h->free);
	return finish(dst, SPOOL_REC_SEGMENT, len, seq, 0);
}

static size_t env_payload(const struct spool_env *e)
{
	size_t n = 1 + 16 + 2 + 6 * 2 + 3 + 8 + 8 + 4;

	n += (size_t)e->helo.len + e->tls_version.len + e->tls_cipher.len +
	     e->auth_id.len + e->sender.len + e->envid.len;
	for (uint32_t i = 0; i < e->nrcpt; i++)
		n += 2 + e->rcpt[i].addr.len + 2 + e->rcpt[i].orcpt.len + 1;
	return n;
}

long spool_rec_env_size(const struct spool_env *env)
{
	if (env->nrcpt > SPOOL_RCPT_MAX)
		return -E2BIG;
	size_t n = env_payload(env);

	if (n > REC_LEN_MAX)
		return -E2BIG;
	return SPOOL_REC_HDR + (long)n;
}

long spool_rec_put_envelope(uint8_t *dst, size_t cap, uint32_t seq,
			    uint64_t qid, const struct spool_env *e)
{
	long total = spool_rec_env_size(e);

	if (total < 0)
		return total;
	if ((size_t)total > cap)
		return -ENOSPC;
	uint8_t *p = dst + SPOOL_REC_HDR;
	p = put_u8(p, e->client_family);
	p = put_bytes(p, e->client_addr, 16);
	p = put_u16(p, e->client_port);
	p = put_str(p, e->helo);
	p = put_str(p, e->tls_version);
	p = put_str(p, e->tls_cipher);
	p = put_str(p, e->auth_id);
	p = put_str(p, e->sender);
	p = put_str(p, e->envid);
	p = put_u8(p, e->ret);
	p = put_u8(p, e->body);
	p = put_u8(p, e->smtputf8);
	p = put_u64(p, e->size);
	p = put_u64(p, e->arrival_us);
	p = put_u32(p, e->nrcpt);
	for (uint32_t i = 0; i < e->nrcpt; i++) {
		p = put_str(p, e->rcpt[i].addr);
		p = put_str(p, e->rcpt[i].orcpt);
		p = put_u8(p, e->rcpt[i].notify);
	}
	return finish(dst, SPOOL_REC_ENVELOPE,
		      (uint32_t)(total - SPOOL_REC_HDR), seq, qid);
}

long spool_rec_put_body(uint8_t *dst, size_t cap, uint32_t seq, uint64_t qid,
			uint64_t body_off, const void *data, size_t len)
{
	if (len > REC_LEN_MAX)
		return -E2BIG;
	if (cap < SPOOL_REC_HDR + 8 + len)
		return -ENOSPC;
	put_bytes(put_u64(dst + SPOOL_REC_HDR, body_off), data, len);
	return finish(dst, SPOOL_REC_BODY, (uint32_t)(8 + len), seq, qid);
}

long spool_rec_put_end(uint8_t *dst, size_t cap, uint32_t seq, uint64_t qid,
		       const struct spool_end_rec *e)
{
	if (cap < SPOOL_REC_HDR + 12)
		return -ENOSPC;
	put_u32(put_u64(dst + SPOOL_REC_HDR, e->body_size), e->body_crc);
	return finish(dst, SPOOL_REC_END, 12, seq, qid);
}

long spool_rec_put_outcome(uint8_t *dst, size_t cap, uint32_t seq,
			   uint64_t qid, const struct spool_outcome_rec *o)
{
	uint32_t len = 4 + 1 + 2 + o->reply.len;

	if (cap < SPOOL_REC_HDR + len)
		return -ENOSPC;
	uint8_t *p = put_u32(dst + SPOOL_REC_HDR, o->rcpt);
	put_str(put_u8(p, o->outcome), o->reply);
	return finish(dst, SPOOL_REC_OUTCOME, len, seq, qid);
}

long spool_rec_put_done(uint8_t *dst, size_t cap, uint32_t seq, uint64_t qid,
			uint8_t reason)
{
	if (cap < SPOOL_REC_HDR + 1)
		return -ENOSPC;
	put_u8(dst + SPOOL_REC_HDR, reason);
	return finish(dst, SPOOL_REC_DONE, 1, seq, qid);
}

/* ---- bounded reader ------------------------------------------------------ */

struct cur {
	const uint8_t *p, *end;
	bool bad;
};

static bool need(struct cur *c, size_t n)
{
	if (c->bad || (size_t)(c->end - c->p) < n) {
		c->bad = true;
		return false;
	}
	return true;
}

static uint64_t get_le(struct cur *c, unsigned n)
{
	uint64_t v = 0;

	if (!need(c, n))
		return 0;
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)c->p[i] << (8 * i);
	c->p += n;
	return v;
}

static struct spool_str get_str(struct cur *c)
{
	struct spool_str s = {.len = (uint16_t)get_le(c, 2)};

	if (need(c, s.len)) {
		s.p = (const char *)c->p;
		c->p += s.len;
	}
	return s;
}

static struct cur payload(const struct spool_rec *r)
{
	return (struct cur){.p = r->payload, .end = r->payload + r->len};
}

/* Every payload must be consumed exactly. */
static int done(const struct cur *c)
{
	return c->bad || c->p != c->end ? -EBADMSG : 0;
}

long spool_rec_decode(const uint8_t *src, size_t avail, struct spool_rec *out)
{
	if (avail > 4 && src[4] == 0)
		return 0;
	if (avail < SPOOL_REC_HDR)
		return -ENODATA;
	struct cur c = {.p = src, .end = src + SPOOL_REC_HDR};
	uint32_t crc = (uint32_t)get_le(&c, 4);
	uint8_t type = (uint8_t)get_le(&c, 1);
	uint8_t ver = (uint8_t)get_le(&c, 1);
	uint8_t mark = (uint8_t)get_le(&c, 1);
	uint8_t zero = (uint8_t)get_le(&c, 1);

	out->len = (uint32_t)get_le(&c, 4);
	out->seq = (uint32_t)get_le(&c, 4);
	out->qid = get_le(&c, 8);
	out->type = type;
	out->mark = mark;
	out->payload = src + SPOOL_REC_HDR;
	if (type >= SPOOL_REC__MAX || ver != SPOOL_REC_VERSION || zero != 0 ||
	    (mark != 0 && mark != SPOOL_MARK_DONE) || out->len > REC_LEN_MAX)
		return -EBADMSG;
	if (avail - SPOOL_REC_HDR < out->len)
		return -ENODATA;
	if (rec_crc(src, out->len) != crc)
		return -EBADMSG;
	return SPOOL_REC_HDR + (long)out->len;
}

int spool_rec_get_segment(const struct spool_rec *r, struct spool_seg_hdr *h)
{
	struct cur c = payload(r);

	if (r->type != SPOOL_REC_SEGMENT || r->qid != 0)
		return -EBADMSG;
	h->worker = (uint32_t)get_le(&c, 4);
	h->index = (uint32_t)get_le(&c, 4);
	h->size = get_le(&c, 8);
	h->free = (uint32_t)get_le(&c, 4);
	if (h->free > 1)
		return -EBADMSG;
	return done(&c);
}

int spool_rec_get_envelope(const struct spool_rec *r, struct spool_env *e,
			   struct spool_rcpt *rcpt, uint32_t cap)
{
	struct cur c = payload(r);

	if (r->type != SPOOL_REC_ENVELOPE)
		return -EBADMSG;
	memset(e, 0, sizeof(*e));
	e->client_family = (uint8_t)get_le(&c, 1);
	if (need(&c, 16)) {
		memcpy(e->client_addr, c.p, 16);
		c.p += 16;
	}
	e->client_port = (uint16_t)get_le(&c, 2);
	e->helo = get_str(&c);
	e->tls_version = get_str(&c);
	e->tls_cipher = get_str(&c);
	e->auth_id = get_str(&c);
	e->sender = get_str(&c);
	e->envid = get_str(&c);
	e->ret = (uint8_t)get_le(&c, 1);
	e->body = (uint8_t)get_le(&c, 1);
	uint8_t utf8 = (uint8_t)get_le(&c, 1);
	e->size = get_le(&c, 8);
	e->arrival_us = get_le(&c, 8);
	e->nrcpt = (uint32_t)get_le(&c, 4);
	if (c.bad || (e->client_family != 4 && e->client_family != 6) ||
	    e->ret > SPOOL_RET_HDRS || e->body > SPOOL_BODY_BINARYMIME ||
	    utf8 > 1 || e->nrcpt > SPOOL_RCPT_MAX)
		return -EBADMSG;
	e->smtputf8 = utf8;
	if (e->nrcpt > cap)
		return -E2BIG;
	e->rcpt = rcpt;
	for (uint32_t i = 0; i < e->nrcpt && !c.bad; i++) {
		rcpt[i].addr = get_str(&c);
		rcpt[i].orcpt = get_str(&c);
		rcpt[i].notify = (uint8_t)get_le(&c, 1);
		if (rcpt[i].notify > 15)
			return -EBADMSG;
	}
	return done(&c);
}

int spool_rec_get_body(const struct spool_rec *r, uint64_t *body_off,
		       const uint8_t **data, uint32_t *len)
{
	struct cur c = payload(r);

	if (r->type != SPOOL_REC_BODY)
		return -EBADMSG;
	*body_off = get_le(&c, 8);
	if (c.bad)
		return -EBADMSG;
	*data = c.p;
	*len = (uint32_t)(c.end - c.p);
	return 0;
}

int spool_rec_get_end(const struct spool_rec *r, struct spool_end_rec *e)
{
	struct cur c = payload(r);

	if (r->type != SPOOL_REC_END)
		return -EBADMSG;
	e->body_size = get_le(&c, 8);
	e->body_crc = (uint32_t)get_le(&c, 4);
	return done(&c);
}

int spool_rec_get_outcome(const struct spool_rec *r,
			  struct spool_outcome_rec *o)
{
	struct cur c = payload(r);

	if (r->type != SPOOL_REC_OUTCOME)
		return -EBADMSG;
	o->rcpt = (uint32_t)get_le(&c, 4);
	o->outcome = (uint8_t)get_le(&c, 1);
	o->reply = get_str(&c);
	if (o->outcome < SPOOL_DELIVERED || o->outcome > SPOOL_DEFERRED)
		return -EBADMSG;
	return done(&c);
}

int spool_rec_get_done(const struct spool_rec *r, uint8_t *reason)
{
	struct cur c = payload(r);

	if (r->type != SPOOL_REC_DONE)
		return -EBADMSG;
	*reason = (uint8_t)get_le(&c, 1);
	if (*reason < SPOOL_DONE_FINISHED || *reason > SPOOL_DONE_ABORTED)
		return -EBADMSG;
	return done(&c);
}
