/*
 * lg_msg: the messages sluice-bench sends, built once before the run and
 * shared read-only by every session.  Owns generating a message of a given
 * size (headers and 76-column lines, CRLF) and loading sample messages
 * from a folder (every regular file, LF turned into CRLF, a final CRLF
 * added when missing); each is stored as DATA content: dot-stuffed and
 * ended by ".\r\n".
 */
#ifndef SLUICE_BENCH_LOADGEN_LG_MSG_H
#define SLUICE_BENCH_LOADGEN_LG_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "bench/loadgen/lg_spec.h"

struct lg_msg {
	uint8_t *data; /* DATA content, up to and including ".\r\n" */
	size_t len;
	size_t size;   /* the message's own size (before stuffing) */
};

struct lg_msgs {
	unsigned n;
	struct lg_msg *m;
	struct lg_sizes weights; /* generated: the distribution; loaded: none */
};

/* One message per size of SIZES, from FROM to TO (header fields only).
 * 0, or -ENOMEM. */
int lg_msgs_generate(struct lg_msgs *ms, const struct lg_sizes *sizes,
		     const char *from, const char *to);

/* Every regular file of DIR (sorted by name), at most LG_SIZE_MAX each.
 * 0; -ENOENT when DIR holds none; -errno on a read error (ERR says which
 * file). */
int lg_msgs_load_dir(struct lg_msgs *ms, const char *dir, char *err, size_t errlen);

/* Builds DATA content from a message's octets: CRLF line ends, dot-
 * stuffed, ".\r\n" at the end.  Returns the content's length, written to
 * OUT, which must hold lg_msg_stuffed_max(LEN) octets. */
size_t lg_msg_stuff(const uint8_t *in, size_t len, uint8_t *out);
size_t lg_msg_stuffed_max(size_t len);

/* The message chosen by R (uniformly random). */
const struct lg_msg *lg_msgs_pick(const struct lg_msgs *ms, uint64_t r);

void lg_msgs_free(struct lg_msgs *ms);

#endif
