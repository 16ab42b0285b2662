/*
 * tcp_opt: TCP option parsing and writing (RFC 9293 §3.2, RFC 7323 for
 * window scale and timestamps, RFC 2018 for SACK).  Parsing is strict about
 * bounds and lengths; writing follows the layout Linux uses, so captures of
 * our segments read like any other host's.
 */
#include "dataplane/tcp/tcp_opt.h"

#include <errno.h>
#include <string.h>

enum {
	OPT_EOL = 0,
	OPT_NOP = 1,
	OPT_MSS = 2,
	OPT_WS = 3,
	OPT_SACK_PERM = 4,
	OPT_SACK = 5,
	OPT_TS = 8,
};

enum {
	OPT_MSS_LEN = 4,
	OPT_WS_LEN = 3,
	OPT_SACK_PERM_LEN = 2,
	OPT_TS_LEN = 10,
	OPT_SACK_HDR_LEN = 2,
	OPT_SACK_BLOCK_LEN = 8,
};

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	       ((uint32_t)p[2] << 8) | p[3];
}

static uint8_t *put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return p + 2;
}

static uint8_t *put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
	return p + 4;
}

static uint8_t *put4(uint8_t *p, uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	p[0] = a;
	p[1] = b;
	p[2] = c;
	p[3] = d;
	return p + 4;
}

/* SACK: 2 + 8n bytes, 1 <= n <= 4 (RFC 2018 §3). */
static int parse_sack(const uint8_t *p, uint8_t olen, struct tcp_opts *out)
{
	unsigned body = (unsigned)olen - OPT_SACK_HDR_LEN;
	unsigned n = body / OPT_SACK_BLOCK_LEN;

	if (body % OPT_SACK_BLOCK_LEN || n < 1 || n > TCP_OPT_SACK_MAX)
		return -EINVAL;
	for (unsigned i = 0; i < n; i++) {
		const uint8_t *b = p + OPT_SACK_HDR_LEN + i * OPT_SACK_BLOCK_LEN;

		out->sack[i].start = get32(b);
		out->sack[i].end = get32(b + 4);
	}
	out->nsack = (uint8_t)n;
	return 0;
}

/* One option of OLEN bytes (kind and length included) at P. */
static int parse_one(const uint8_t *p, uint8_t olen, struct tcp_opts *out)
{
	switch (p[0]) {
	case OPT_MSS:
		if (olen != OPT_MSS_LEN)
			return -EINVAL;
		out->mss_ok = true;
		out->mss = get16(p + 2);
		return 0;
	case OPT_WS:
		if (olen != OPT_WS_LEN)
			return -EINVAL;
		out->ws_ok = true;
		out->ws = p[2];
		return 0;
	case OPT_SACK_PERM:
		if (olen != OPT_SACK_PERM_LEN)
			return -EINVAL;
		out->sack_perm = true;
		return 0;
	case OPT_TS:
		if (olen != OPT_TS_LEN)
			return -EINVAL;
		out->ts_ok = true;
		out->ts_val = get32(p + 2);
		out->ts_ecr = get32(p + 6);
		return 0;
	case OPT_SACK:
		return parse_sack(p, olen, out);
	default:
		return 0;       /* unknown: skipped by its length */
	}
}

int tcp_opt_parse(const uint8_t *p, size_t len, struct tcp_opts *out)
{
	size_t i = 0;

	memset(out, 0, sizeof(*out));
	while (i < len && p[i] != OPT_EOL) {
		if (p[i] == OPT_NOP) {
			i++;
			continue;
		}
		if (len - i < 2 || p[i + 1] < 2 || p[i + 1] > len - i)
			return -EINVAL;
		int rc = parse_one(p + i, p[i + 1], out);

		if (rc < 0)
			return rc;
		i += p[i + 1];
	}
	return 0;
}

/* Timestamps, preceded by SACK-permitted in its NOP slot when both go on a
 * SYN: 04 02 08 0a <val> <ecr>, else 01 01 08 0a <val> <ecr>. */
static uint8_t *write_ts(uint8_t *p, const struct tcp_opt_out *o, bool perm)
{
	if (perm)
		p = put4(p, OPT_SACK_PERM, OPT_SACK_PERM_LEN, OPT_TS, OPT_TS_LEN);
	else
		p = put4(p, OPT_NOP, OPT_NOP, OPT_TS, OPT_TS_LEN);
	p = put32(p, o->ts_val);
	return put32(p, o->ts_ecr);
}

/* MSS, SACK-permitted, timestamps, window scale: 20 bytes at most. */
static uint8_t *write_syn(uint8_t *p, const struct tcp_opt_out *o)
{
	if (o->mss) {
		p[0] = OPT_MSS;
		p[1] = OPT_MSS_LEN;
		p = put16(p + 2, o->mss);
	}
	if (o->ts)
		p = write_ts(p, o, o->sack_perm);
	else if (o->sack_perm)
		p = put4(p, OPT_NOP, OPT_NOP, OPT_SACK_PERM, OPT_SACK_PERM_LEN);
	if (o->ws)
		p = put4(p, OPT_NOP, OPT_WS, OPT_WS_LEN, o->ws_shift);
	return p;
}

/* NOP NOP SACK as many blocks as fit in ROOM bytes. */
static uint8_t *write_sack(uint8_t *p, const struct tcp_opt_out *o, size_t room)
{
	unsigned n = o->nsack;
	unsigned fit;

	if (n == 0 || room < 4 + OPT_SACK_BLOCK_LEN)
		return p;
	fit = (unsigned)(room - 4) / OPT_SACK_BLOCK_LEN;
	if (n > fit)
		n = fit;
	if (n > TCP_OPT_SACK_MAX)
		n = TCP_OPT_SACK_MAX;
	p = put4(p, OPT_NOP, OPT_NOP, OPT_SACK,
		 (uint8_t)(OPT_SACK_HDR_LEN + n * OPT_SACK_BLOCK_LEN));
	for (unsigned i = 0; i < n; i++) {
		p = put32(p, o->sack[i].start);
		p = put32(p, o->sack[i].end);
	}
	return p;
}

size_t tcp_opt_write(uint8_t *p, const struct tcp_opt_out *o)
{
	uint8_t *q;

	if (o->syn)
		return (size_t)(write_syn(p, o) - p);
	q = o->ts ? write_ts(p, o, false) : p;
	q = write_sack(q, o, TCP_OPT_LEN_MAX - (size_t)(q - p));
	return (size_t)(q - p);
}
