/*
 * tcp_buf: a connection's byte buffers.  The send ring holds bytes from
 * snd_una onward (unacknowledged, then unsent); the receive ring holds bytes
 * from rcv_nxt's left edge onward, in order, plus out-of-order bytes placed
 * at their offset and tracked as ranges (which also feed SACK).  Payload is
 * copied into a ring once and out of it once.  Storage comes from the
 * caller (one allocation per connection, sized at open).
 */
#ifndef SLUICE_DATAPLANE_TCP_TCP_BUF_H
#define SLUICE_DATAPLANE_TCP_TCP_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define TCP_OOO_MAX 8   /* out-of-order ranges kept; more are dropped */

struct tcp_ring {
	uint8_t *mem;
	uint32_t size;      /* power of two */
	uint32_t head;      /* offset of the first byte held (free-running) */
	uint32_t len;       /* bytes held */
};

void tcp_ring_init(struct tcp_ring *r, uint8_t *mem, uint32_t size);
static inline uint32_t tcp_ring_space(const struct tcp_ring *r)
{
	return r->size - r->len;
}

/* Append up to LEN bytes; returns how many fitted. */
uint32_t tcp_ring_write(struct tcp_ring *r, const void *data, uint32_t len);
/* Copy LEN bytes starting OFF bytes past the head into DST (no consume);
 * OFF + LEN must be within len. */
void tcp_ring_peek(const struct tcp_ring *r, uint32_t off, void *dst, uint32_t len);
/* Up to two iovecs covering LEN bytes from OFF past the head; returns count. */
int tcp_ring_iov(const struct tcp_ring *r, uint32_t off, uint32_t len, struct iovec iov[2]);
/* Drop LEN bytes from the head. */
void tcp_ring_consume(struct tcp_ring *r, uint32_t len);

/* Receive side: the in-order ring plus out-of-order ranges beyond it. */
struct tcp_ooo_range {
	uint32_t start, end;   /* offsets past the ring's end of in-order data */
};

struct tcp_rcvbuf {
	struct tcp_ring ring;
	uint8_t nooo;
	struct tcp_ooo_range ooo[TCP_OOO_MAX];  /* sorted, disjoint, non-adjacent */
};

void tcp_rcvbuf_init(struct tcp_rcvbuf *b, uint8_t *mem, uint32_t size);

/* Place LEN bytes that start OFF bytes past the in-order end (OFF 0 = the
 * next expected byte).  Bytes past the ring's free space are cut.  Returns
 * the number of bytes that became in order (0 when OFF > 0 and no hole
 * closed), or -ENOSPC when an out-of-order range could not be kept. */
int tcp_rcvbuf_put(struct tcp_rcvbuf *b, uint32_t off, const void *data, uint32_t len);

/* Bytes of out-of-order data held, i.e. the highest range end. */
uint32_t tcp_rcvbuf_ooo_end(const struct tcp_rcvbuf *b);

#endif
