/*
 * tcp_wheel: the per-worker hashed timer wheel.  A timer lives in slot
 * (expiry tick mod TCP_WHEEL_SLOTS); advancing walks the slots of the ticks
 * that have come and fires the timers of each slot whose tick has come and
 * whose expiry is <= now, leaving timers of later rounds in place.  A timer
 * never fires before its expiry.
 */
#include "dataplane/tcp/tcp_wheel.h"

#include <stddef.h>
#include <string.h>

#define SLOT_MASK (TCP_WHEEL_SLOTS - 1)

_Static_assert((TCP_WHEEL_SLOTS & SLOT_MASK) == 0,
	       "TCP_WHEEL_SLOTS must be a power of two");

static void timer_link(struct tcp_timer **head, struct tcp_timer *t)
{
	t->next = *head;
	if (t->next)
		t->next->pprev = &t->next;
	*head = t;
	t->pprev = head;
}

static void timer_unlink(struct tcp_timer *t)
{
	*t->pprev = t->next;
	if (t->next)
		t->next->pprev = t->pprev;
	t->next = NULL;
	t->pprev = NULL;
}

void tcp_wheel_init(struct tcp_wheel *w, uint64_t tick_us, uint64_t now)
{
	memset(w, 0, sizeof(*w));
	w->tick_us = tick_us ? tick_us : 1;
	w->cur_tick = now / w->tick_us;
}

void tcp_timer_arm(struct tcp_wheel *w, struct tcp_timer *t, uint64_t expires)
{
	uint64_t tick = expires / w->tick_us;

	if (tcp_timer_armed(t))
		timer_unlink(t);
	else
		w->armed++;
	if (tick < w->cur_tick)
		tick = w->cur_tick;
	t->expires = expires;
	timer_link(&w->slot[tick & SLOT_MASK], t);
}

void tcp_timer_cancel(struct tcp_wheel *w, struct tcp_timer *t)
{
	if (!tcp_timer_armed(t))
		return;
	timer_unlink(t);
	w->armed--;
}

/*
 * Fire the timers of TICK's slot whose expiry is <= NOW.  An advance visits
 * a slot at most once, at the latest tick it stands for up to now's tick,
 * so a timer due by NOW has its tick <= TICK: a timer of a later round is
 * never due here, and the expiry alone decides.
 *
 * The slot's list is moved to a local head first and taken one timer at a
 * time from its front, so FN may re-arm the fired timer (it goes back to
 * the wheel, not to this list) or cancel and free any other timer,
 * including ones still on this list.
 */
static unsigned fire_slot(struct tcp_wheel *w, uint64_t tick, uint64_t now,
			  tcp_timer_fn fn, void *arg)
{
	struct tcp_timer **slot = &w->slot[tick & SLOT_MASK];
	struct tcp_timer *pending = NULL;
	unsigned fired = 0;

	if (*slot == NULL)
		return 0;
	pending = *slot;
	pending->pprev = &pending;
	*slot = NULL;
	while (pending) {
		struct tcp_timer *t = pending;

		timer_unlink(t);
		if (t->expires > now) {
			timer_link(slot, t);
			continue;
		}
		w->armed--;
		fired++;
		fn(t, arg);
	}
	return fired;
}

/*
 * Ticks cur_tick .. now's tick, inclusive.  After a jump of more than one
 * revolution only the last TCP_WHEEL_SLOTS ticks are walked: that visits
 * every slot once, at the latest tick it stands for, which fires every timer
 * that is due.  Now's tick is not done until it has passed, so cur_tick
 * stops there and the next advance looks at its slot again.
 */
unsigned tcp_wheel_advance(struct tcp_wheel *w, uint64_t now, tcp_timer_fn fn,
			   void *arg)
{
	uint64_t end = now / w->tick_us;
	uint64_t tick = w->cur_tick;
	unsigned fired = 0;

	if (end < tick)
		return 0;
	if (w->armed == 0) {
		w->cur_tick = end;
		return 0;
	}
	if (end - tick >= TCP_WHEEL_SLOTS)
		tick = end - (TCP_WHEEL_SLOTS - 1);
	for (; tick <= end; tick++) {
		w->cur_tick = tick;
		fired += fire_slot(w, tick, now, fn, arg);
	}
	return fired;
}
