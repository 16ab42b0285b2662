/*
 * tcp_wheel: a per-worker hashed timer wheel (Varghese & Lauck).  Timers
 * are embedded in their owners, arming and cancelling are O(1), and
 * tcp_wheel_advance() fires every timer whose expiry has come, each exactly
 * once, in expiry-tick order.  Expiries further away than one revolution
 * stay in their slot until their round comes.
 */
#ifndef SLUICE_DATAPLANE_TCP_TCP_WHEEL_H
#define SLUICE_DATAPLANE_TCP_TCP_WHEEL_H

#include <stdbool.h>
#include <stdint.h>

#define TCP_WHEEL_SLOTS 4096u   /* power of two */

struct tcp_timer {
	struct tcp_timer *next, **pprev;  /* pprev == NULL: not armed */
	uint64_t expires;                 /* µs */
};

struct tcp_wheel {
	uint64_t tick_us;                 /* granularity */
	uint64_t cur_tick;                /* every tick before this is done */
	uint32_t armed;                   /* timers currently armed */
	struct tcp_timer *slot[TCP_WHEEL_SLOTS];
};

typedef void (*tcp_timer_fn)(struct tcp_timer *t, void *arg);

void tcp_wheel_init(struct tcp_wheel *w, uint64_t tick_us, uint64_t now);

/* Arm (or re-arm) T to fire at EXPIRES (µs); a time in the past fires on
 * the next advance. */
void tcp_timer_arm(struct tcp_wheel *w, struct tcp_timer *t, uint64_t expires);
void tcp_timer_cancel(struct tcp_wheel *w, struct tcp_timer *t);
static inline bool tcp_timer_armed(const struct tcp_timer *t)
{
	return t->pprev != 0;
}

/* Fire, via FN, every armed timer whose expiry is <= NOW.  A timer is
 * disarmed before FN sees it, so FN may re-arm it (to a later time) or free
 * its owner.  Returns the number fired. */
unsigned tcp_wheel_advance(struct tcp_wheel *w, uint64_t now, tcp_timer_fn fn,
			   void *arg);

#endif
