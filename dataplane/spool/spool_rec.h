/*
 * spool_rec: the on-disk record format of the spool log.  Owns encoding and
 * strictly bounds-checked decoding of every record type, and the CRC32C
 * that guards each record.  Knows nothing of files, rings or SMTP syntax:
 * addresses and parameters are opaque byte strings here.
 *
 * A record is a 24-byte header followed by LEN payload bytes, all integers
 * little-endian:
 *
 *   0  u32 crc    CRC32C (rte_hash_crc, seed 0xFFFFFFFF) of bytes 4..6 and
 *                 7..24+LEN: everything but the crc and the mark
 *   4  u8  type   enum spool_rec_type; 0 never starts a record
 *   5  u8  ver    SPOOL_REC_VERSION
 *   6  u8  mark   0, or SPOOL_MARK_DONE written in place into a finished
 *                 message's envelope (so finishing needs no other segment)
 *   7  u8  0
 *   8  u32 len    payload length
 *  12  u32 seq    sequence number of the segment the record was written in
 *  16  u64 qid    queue ID of the message (0 for segment headers)
 */
#ifndef SLUICE_DATAPLANE_SPOOL_SPOOL_REC_H
#define SLUICE_DATAPLANE_SPOOL_SPOOL_REC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SPOOL_REC_HDR      24
#define SPOOL_REC_VERSION  1
#define SPOOL_REC_MARK_OFF 6
#define SPOOL_MARK_DONE    0xD0
#define SPOOL_STR_MAX      65535   /* a string is at most this long (u16 length) */
#define SPOOL_RCPT_MAX     2000    /* recipients in one envelope */

enum spool_rec_type {
	SPOOL_REC_SEGMENT = 1,  /* first record of a segment */
	SPOOL_REC_ENVELOPE,     /* starts a message */
	SPOOL_REC_BODY,         /* a body chunk: u64 body offset + bytes */
	SPOOL_REC_END,          /* the body is complete: the message was accepted */
	SPOOL_REC_OUTCOME,      /* one recipient's delivery result */
	SPOOL_REC_DONE,         /* the message is finished (delivered, bounced, deleted, aborted) */
	SPOOL_REC__MAX
};

/* A byte string that is not NUL-terminated. */
struct spool_str {
	const char *p;
	uint16_t len;
};

/* DSN NOTIFY bits (RFC 3461); 0 means the parameter was absent. */
enum {
	SPOOL_NOTIFY_NEVER   = 1,
	SPOOL_NOTIFY_SUCCESS = 2,
	SPOOL_NOTIFY_FAILURE = 4,
	SPOOL_NOTIFY_DELAY   = 8,
};

enum spool_ret  { SPOOL_RET_NONE, SPOOL_RET_FULL, SPOOL_RET_HDRS };
enum spool_body { SPOOL_BODY_NONE, SPOOL_BODY_7BIT, SPOOL_BODY_8BITMIME,
		  SPOOL_BODY_BINARYMIME };

struct spool_rcpt {
	struct spool_str addr;
	struct spool_str orcpt;   /* DSN ORCPT, as given */
	uint8_t notify;           /* SPOOL_NOTIFY_* bits */
};

struct spool_env {
	uint8_t client_family;    /* 4 or 6 */
	uint8_t client_addr[16];  /* IPv4 in the first 4 bytes, network order */
	uint16_t client_port;
	struct spool_str helo;
	struct spool_str tls_version;  /* empty without TLS */
	struct spool_str tls_cipher;
	struct spool_str auth_id;      /* empty without AUTH */
	struct spool_str sender;       /* empty for the null reverse path */
	struct spool_str envid;        /* DSN ENVID */
	uint8_t ret;                   /* enum spool_ret */
	uint8_t body;                  /* enum spool_body */
	bool smtputf8;
	uint64_t size;                 /* SIZE parameter, 0 when absent */
	uint64_t arrival_us;           /* wall clock, microseconds since the epoch */
	uint32_t nrcpt;
	struct spool_rcpt *rcpt;       /* nrcpt entries */
};

enum spool_outcome { SPOOL_DELIVERED = 1, SPOOL_BOUNCED, SPOOL_DEFERRED };
enum spool_done_reason { SPOOL_DONE_FINISHED = 1, SPOOL_DONE_DELETED,
			 SPOOL_DONE_ABORTED };

/* A decoded record header; the payload stays where it was. */
struct spool_rec {
	uint8_t type;
	uint8_t mark;
	uint32_t len;
	uint32_t seq;
	uint64_t qid;
	const uint8_t *payload;
};

/* A segment starts with one; a reclaimed segment's is rewritten with
 * free = 1 and the same seq, so sequence numbers are never reused. */
struct spool_seg_hdr {
	uint32_t worker;
	uint32_t index;
	uint64_t size;       /* segment file size */
	uint32_t free;       /* 1: the segment holds nothing */
};

struct spool_outcome_rec {
	uint32_t rcpt;
	uint8_t outcome;     /* enum spool_outcome */
	struct spool_str reply;
};

struct spool_end_rec {
	uint64_t body_size;
	uint32_t body_crc;   /* rte_hash_crc of the whole body, seed 0xFFFFFFFF */
};

/* Bytes an encoded envelope takes (header included); -E2BIG past the
 * limits (SPOOL_RCPT_MAX recipients, a record larger than 16 MiB). */
long spool_rec_env_size(const struct spool_env *env);

/*
 * Encoders write one whole record (header, payload, CRC) at DST, which has
 * room for CAP bytes, and return the bytes written, or -ENOSPC when it does
 * not fit (-E2BIG for an envelope past the limits).
 */
long spool_rec_put_segment(uint8_t *dst, size_t cap, uint32_t seq,
			   const struct spool_seg_hdr *h);
long spool_rec_put_envelope(uint8_t *dst, size_t cap, uint32_t seq,
			    uint64_t qid, const struct spool_env *env);
long spool_rec_put_body(uint8_t *dst, size_t cap, uint32_t seq, uint64_t qid,
			uint64_t body_off, const void *data, size_t len);
long spool_rec_put_end(uint8_t *dst, size_t cap, uint32_t seq, uint64_t qid,
		       const struct spool_end_rec *e);
long spool_rec_put_outcome(uint8_t *dst, size_t cap, uint32_t seq,
			   uint64_t qid, const struct spool_outcome_rec *o);
long spool_rec_put_done(uint8_t *dst, size_t cap, uint32_t seq, uint64_t qid,
			uint8_t reason);

/*
 * Decode the record at SRC (AVAIL bytes readable).  Returns the record's
 * total length, 0 when SRC starts with a zero type byte (the unwritten end
 * of a segment), or -EBADMSG (bad version, type, length or CRC) /
 * -ENODATA (the record runs past AVAIL).
 */
long spool_rec_decode(const uint8_t *src, size_t avail, struct spool_rec *out);

/* Payload decoders for the record types; -EBADMSG when malformed.  The
 * envelope decoder stores at most CAP recipients in RCPT (-E2BIG beyond). */
int spool_rec_get_segment(const struct spool_rec *r, struct spool_seg_hdr *h);
int spool_rec_get_envelope(const struct spool_rec *r, struct spool_env *env,
			   struct spool_rcpt *rcpt, uint32_t cap);
int spool_rec_get_body(const struct spool_rec *r, uint64_t *body_off,
		       const uint8_t **data, uint32_t *len);
int spool_rec_get_end(const struct spool_rec *r, struct spool_end_rec *e);
int spool_rec_get_outcome(const struct spool_rec *r,
			  struct spool_outcome_rec *o);
int spool_rec_get_done(const struct spool_rec *r, uint8_t *reason);

/* CRC32C as the records use it (rte_hash_crc with the given running
 * value; start with SPOOL_CRC_SEED). */
#define SPOOL_CRC_SEED 0xFFFFFFFFu
uint32_t spool_crc(const void *p, size_t len, uint32_t crc);

#endif
