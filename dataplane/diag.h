/*
 * diag: the diagnostic TCP services that prove the stack without SMTP, off
 * unless configured ("diag" in the config).  Echo (RFC 862) returns every
 * byte; discard (RFC 863) drops them, keeping a CRC32C of the stream that
 * is logged when the connection closes; send is the active-open
 * counterpart: connect to a peer, send diag_pattern() bytes, close.  One
 * struct diag per worker, on that worker's TCP stack.
 */
#ifndef SLUICE_DATAPLANE_DIAG_H
#define SLUICE_DATAPLANE_DIAG_H

#include <stdint.h>

#include <rte_mempool.h>

#include "control/config.h"
#include "dataplane/tcp/tcp.h"
#include "dataplane/wlog.h"

struct diag_stats {
	uint64_t accepted;     /* echo and discard connections */
	uint64_t sends;        /* send connections started */
	uint64_t sends_ok;     /* ... that sent every byte and closed cleanly */
	uint64_t sends_failed;
	uint64_t bytes_in;     /* to echo and discard */
	uint64_t bytes_out;    /* from echo and send */
	uint64_t no_mem;       /* connections refused: no diag_conn left */
};

struct diag;

/* What a listener's accept callback gets: the service it serves. */
struct diag_listener {
	struct diag *d;
	int kind;                    /* enum diag_kind (diag.c) */
};

struct diag {
	struct tcp_stack *tcp;
	struct diag_listener listener[2];  /* echo, discard */
	struct rte_mempool *conns;   /* struct diag_conn, one per connection */
	struct wlog *log;
	struct diag_stats stats;     /* single writer: the worker */
};

/* Listen on every port address for the configured services (nothing when
 * both are off).  Returns 0 or a negative errno. */
int diag_init(struct diag *d, struct tcp_stack *tcp, const struct conf *conf,
	      struct wlog *log, unsigned lcore, int socket);
void diag_fini(struct diag *d);

/* Open a connection from LADDR to RADDR:RPORT and send BYTES of
 * diag_pattern(), then close.  Returns 0 or a negative errno. */
int diag_send(struct diag *d, uint32_t laddr, uint32_t raddr, uint16_t rport,
	      uint64_t bytes);

/* Byte OFF of every diag stream: a multiplicative hash of the offset, so
 * a misplaced or repeated segment changes the stream's checksum. */
static inline uint8_t diag_pattern(uint64_t off)
{
	return (uint8_t)(((uint32_t)off * 2654435761u) >> 24) ^ (uint8_t)(off >> 32);
}

#endif
