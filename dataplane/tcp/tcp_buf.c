/*
 * tcp_buf: the send and receive rings of a connection and the receive
 * side's out-of-order ranges.  Rings have a power-of-two size and a
 * free-running head, so positions are masked and a wrap costs a second
 * memcpy.  Out-of-order bytes sit in the ring's free space at their offset
 * until the hole before them closes; the ranges say which bytes are there.
 */
#include "dataplane/tcp/tcp_buf.h"

#include <errno.h>
#include <string.h>

void tcp_ring_init(struct tcp_ring *r, uint8_t *mem, uint32_t size)
{
	r->mem = mem;
	r->size = size;
	r->head = 0;
	r->len = 0;
}

/* Bytes from POS (free-running) to the end of the storage. */
static uint32_t ring_contig(const struct tcp_ring *r, uint32_t pos)
{
	return r->size - (pos & (r->size - 1));
}

/* Copy LEN bytes in at OFF past the head; the caller checked the room. */
static void ring_copy_in(struct tcp_ring *r, uint32_t off, const void *data,
			 uint32_t len)
{
	uint32_t pos = r->head + off;
	uint32_t first = ring_contig(r, pos);

	if (len == 0)
		return;
	if (first > len)
		first = len;
	memcpy(r->mem + (pos & (r->size - 1)), data, first);
	memcpy(r->mem, (const uint8_t *)data + first, len - first);
}

uint32_t tcp_ring_write(struct tcp_ring *r, const void *data, uint32_t len)
{
	uint32_t space = tcp_ring_space(r);

	if (len > space)
		len = space;
	ring_copy_in(r, r->len, data, len);
	r->len += len;
	return len;
}

void tcp_ring_peek(const struct tcp_ring *r, uint32_t off, void *dst, uint32_t len)
{
	uint32_t pos = r->head + off;
	uint32_t first = ring_contig(r, pos);

	if (len == 0)
		return;
	if (first > len)
		first = len;
	memcpy(dst, r->mem + (pos & (r->size - 1)), first);
	memcpy((uint8_t *)dst + first, r->mem, len - first);
}

int tcp_ring_iov(const struct tcp_ring *r, uint32_t off, uint32_t len, struct iovec iov[2])
{
	uint32_t pos = r->head + off;
	uint32_t first = ring_contig(r, pos);

	if (len == 0)
		return 0;
	iov[0].iov_base = r->mem + (pos & (r->size - 1));
	if (first >= len) {
		iov[0].iov_len = len;
		return 1;
	}
	iov[0].iov_len = first;
	iov[1].iov_base = r->mem;
	iov[1].iov_len = len - first;
	return 2;
}

void tcp_ring_consume(struct tcp_ring *r, uint32_t len)
{
	r->head += len;
	r->len -= len;
}

void tcp_rcvbuf_init(struct tcp_rcvbuf *b, uint8_t *mem, uint32_t size)
{
	tcp_ring_init(&b->ring, mem, size);
	b->nooo = 0;
	memset(b->ooo, 0, sizeof(b->ooo));
}

uint32_t tcp_rcvbuf_ooo_end(const struct tcp_rcvbuf *b)
{
	return b->nooo ? b->ooo[b->nooo - 1].end : 0;
}

/* Remove ranges [from, to) of the array. */
static void ooo_remove(struct tcp_rcvbuf *b, unsigned from, unsigned to)
{
	memmove(&b->ooo[from], &b->ooo[to], (b->nooo - to) * sizeof(b->ooo[0]));
	b->nooo = (uint8_t)(b->nooo - (to - from));
}

/*
 * Record [start, end) among the ranges, merging every range it overlaps or
 * touches.  Ranges i .. j-1 are those; none means a new range at i, which
 * needs a free entry.
 */
static int ooo_insert(struct tcp_rcvbuf *b, uint32_t start, uint32_t end)
{
	unsigned i = 0, j;

	while (i < b->nooo && b->ooo[i].end < start)
		i++;
	j = i;
	while (j < b->nooo && b->ooo[j].start <= end)
		j++;
	if (i == j) {
		if (b->nooo == TCP_OOO_MAX)
			return -ENOSPC;
		memmove(&b->ooo[i + 1], &b->ooo[i], (b->nooo - i) * sizeof(b->ooo[0]));
		b->nooo++;
	} else {
		if (b->ooo[i].start < start)
			start = b->ooo[i].start;
		if (b->ooo[j - 1].end > end)
			end = b->ooo[j - 1].end;
		ooo_remove(b, i + 1, j);
	}
	b->ooo[i].start = start;
	b->ooo[i].end = end;
	return 0;
}

/*
 * LEN new in-order bytes: absorb the ranges they reach (each may carry the
 * in-order end further), shift the rest down, grow the ring.  Returns the
 * bytes that became in order.
 */
static uint32_t deliver(struct tcp_rcvbuf *b, uint32_t len)
{
	unsigned n = 0;

	while (n < b->nooo && b->ooo[n].start <= len) {
		if (b->ooo[n].end > len)
			len = b->ooo[n].end;
		n++;
	}
	ooo_remove(b, 0, n);
	for (unsigned i = 0; i < b->nooo; i++) {
		b->ooo[i].start -= len;
		b->ooo[i].end -= len;
	}
	b->ring.len += len;
	return len;
}

int tcp_rcvbuf_put(struct tcp_rcvbuf *b, uint32_t off, const void *data, uint32_t len)
{
	uint32_t space = tcp_ring_space(&b->ring);

	if (off >= space || len == 0)
		return 0;
	if (len > space - off)
		len = space - off;
	if (off > 0) {
		int rc = ooo_insert(b, off, off + len);

		if (rc < 0)
			return rc;
	}
	ring_copy_in(&b->ring, b->ring.len + off, data, len);
	return off == 0 ? (int)deliver(b, len) : 0;
}
