/*
 * impair: a seeded, reproducible link impairment stage — drops, duplicates,
 * corrupts, delays, jitters and reorders Ethernet frames (rte_mbufs) on
 * their way between a sender and a receiver.  It stands in for netem (which
 * this kernel lacks): wrapped around a port's TX or RX path it impairs a
 * real link, and two of them make the in-memory link of memlink.h.  Also
 * parses the compact impairment spec of the config ("loss=1%,delay=10ms").
 *
 * Frames wait in a heap of max_held slots allocated at create, ordered by
 * (release time, arrival order), so frames due at the same microsecond
 * leave in the order they came.  Nothing is allocated per frame except the
 * mbufs of duplicates, taken from the frame's own pool.
 *
 * One instance serves one direction of one queue on one core: not
 * thread-safe.  Time is whatever microsecond clock the caller passes in;
 * with the same conf, seed and inputs, the output is the same every run.
 */
#ifndef SLUICE_DRIVERS_IMPAIR_H
#define SLUICE_DRIVERS_IMPAIR_H

#include <stddef.h>
#include <stdint.h>

#include <rte_mbuf.h>

#define IMPAIR_PPM_MAX           1000000u  /* 100% */
#define IMPAIR_MAX_HELD_DEFAULT  4096u     /* used when max_held is 0 */
#define IMPAIR_MAX_HELD_LIMIT    (1u << 22)

struct impair_conf {
	uint32_t loss_ppm;         /* probability a frame is dropped */
	uint32_t dup_ppm;          /* ... that a copy is sent as well */
	uint32_t reorder_ppm;      /* ... that it is held reorder_delay_us */
	uint32_t corrupt_ppm;      /* ... that one bit past byte 14 flips */
	uint32_t delay_us;         /* every frame waits at least this */
	uint32_t jitter_us;        /* plus uniform [0, jitter_us] */
	uint32_t reorder_delay_us; /* instead of jitter, for reordered frames */
	uint64_t seed;
	uint32_t max_held;         /* frames waiting at most; 0 = default */
};

/* Every frame pushed is eventually dropped or released (or freed by
 * impair_destroy), so pushed + duplicated == dropped_loss + dropped_full
 * + released + impair_held(). */
struct impair_stats {
	uint64_t pushed;        /* frames handed to impair_push */
	uint64_t dropped_loss;  /* dropped by the loss draw */
	uint64_t dropped_full;  /* dropped because max_held were waiting */
	uint64_t duplicated;    /* extra copies made */
	uint64_t corrupted;     /* frames with one bit flipped */
	uint64_t reordered;     /* frames held back by reorder_delay_us */
	uint64_t released;      /* frames returned by impair_pull */
	uint64_t nomem;         /* copies (duplicate, or a private copy of a
				 * shared frame to corrupt) the pool refused;
				 * the frame went on without that impairment */
};

struct impair;

/* Create an impairment stage.  NAME tags the allocation (and is kept for
 * the owner's logs); memory comes from SOCKET (or SOCKET_ID_ANY).
 * Returns NULL with rte_errno EINVAL (a probability over 100%, max_held
 * over IMPAIR_MAX_HELD_LIMIT) or ENOMEM. */
struct impair *impair_create(const struct impair_conf *conf, const char *name,
			     int socket);

/* Free the stage and every frame still waiting in it.  NULL is a no-op. */
void impair_destroy(struct impair *imp);

/* Take ownership of N frames received or sent at NOW_US and schedule each
 * for release, or drop (free) it.  Returns how many of the N were kept
 * (duplicates not counted). */
uint16_t impair_push(struct impair *imp, struct rte_mbuf **pkts, uint16_t n,
		     uint64_t now_us);

/* Hand over up to MAX frames whose release time is at or before NOW_US,
 * earliest first.  Returns how many were written to OUT. */
uint16_t impair_pull(struct impair *imp, struct rte_mbuf **out, uint16_t max,
		     uint64_t now_us);

/* Release time of the next frame, or UINT64_MAX when none waits. */
uint64_t impair_next_due(const struct impair *imp);

/* Number of frames waiting. */
uint32_t impair_held(const struct impair *imp);

struct impair_stats impair_stats(const struct impair *imp);

const char *impair_name(const struct impair *imp);

/* Parse SPEC, a comma-separated list of key=value:
 *   loss, dup, reorder, corrupt   "1%", "0.0125%" (at most 4 decimals), "50ppm"
 *   delay, jitter, reorder_delay  "500us", "10ms", "2s"
 *   seed                          decimal, 0 .. 2^64-1
 *   max_held                      1 .. IMPAIR_MAX_HELD_LIMIT
 * Keys left out are 0 (max_held: IMPAIR_MAX_HELD_DEFAULT); an empty spec
 * is no impairment.  Returns 0, or -EINVAL with a message naming the key
 * in ERR (ERRLEN bytes, always terminated when ERRLEN > 0). */
int impair_parse(const char *spec, struct impair_conf *out, char *err,
		 size_t errlen);

#endif
