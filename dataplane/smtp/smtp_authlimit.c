/*
 * smtp_authlimit: the bounded per-address table of failed AUTH attempts
 * (declared in smtp_cred.h).  Each entry holds a "theoretical arrival time"
 * as in GCRA: every failure pushes it WINDOW/MAX further, capped at
 * now + WINDOW; attempts are denied while it lies more than
 * WINDOW - WINDOW/MAX ahead; the entry is free again once it has passed.
 */
#include "dataplane/smtp/smtp_cred.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/rand.h>
#include <rte_jhash.h>

/* Slots probed for a key; a full window evicts its oldest entry. */
#define PROBE 8

struct limit_slot {
	uint8_t key[16];
	uint64_t tat; /* 0: slot free */
};

struct smtp_authlimit {
	struct limit_slot *slot;
	uint32_t mask;
	uint32_t seed;  /* random, so clients cannot aim at one probe window */
	uint64_t step;  /* window / max_failures */
	uint64_t window;
	struct smtp_authlimit_stats st;
};

int smtp_authlimit_create(const struct smtp_authlimit_params *p,
			  struct smtp_authlimit **out)
{
	struct smtp_authlimit *l;
	uint32_t n = PROBE;

	if (p->slots == 0 || p->slots > (1u << 24) || p->max_failures == 0 ||
	    p->window_us < p->max_failures)
		return -EINVAL;
	while (n < p->slots)
		n <<= 1;
	l = calloc(1, sizeof(*l));
	if (l == NULL)
		return -ENOMEM;
	l->slot = calloc(n, sizeof(*l->slot));
	if (l->slot == NULL ||
	    RAND_bytes((unsigned char *)&l->seed, sizeof(l->seed)) != 1) {
		smtp_authlimit_free(l);
		return -ENOMEM;
	}
	l->mask = n - 1;
	l->window = p->window_us;
	l->step = p->window_us / p->max_failures;
	*out = l;
	return 0;
}

void smtp_authlimit_free(struct smtp_authlimit *l)
{
	if (l == NULL)
		return;
	free(l->slot);
	free(l);
}

/* IPv4 as ::ffff:a.b.c.d (so an IPv4-mapped client is its IPv4 self),
 * other IPv6 cut to its /64. */
static void addr_key(const struct smtp_ip *a, uint8_t key[16])
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
					   0xff, 0xff};

	memset(key, 0, 16);
	if (a->family == AF_INET6) {
		bool is_mapped = memcmp(a->v6, mapped, sizeof(mapped)) == 0;

		memcpy(key, a->v6, is_mapped ? 16 : 8);
		return;
	}
	key[10] = key[11] = 0xff;
	key[12] = (uint8_t)(a->v4 >> 24);
	key[13] = (uint8_t)(a->v4 >> 16);
	key[14] = (uint8_t)(a->v4 >> 8);
	key[15] = (uint8_t)a->v4;
}

static uint32_t home(const struct smtp_authlimit *l, const uint8_t key[16])
{
	return rte_jhash(key, 16, l->seed) & l->mask;
}

/* Frees the slot when its score has decayed by NOW. */
static void expire(struct smtp_authlimit *l, struct limit_slot *s,
		   uint64_t now)
{
	if (s->tat != 0 && s->tat <= now) {
		s->tat = 0;
		l->st.tracked--;
	}
}

static struct limit_slot *find(struct smtp_authlimit *l,
			       const uint8_t key[16], uint64_t now)
{
	uint32_t h = home(l, key);

	for (uint32_t i = 0; i < PROBE; i++) {
		struct limit_slot *s = &l->slot[(h + i) & l->mask];

		expire(l, s, now);
		if (s->tat != 0 && memcmp(s->key, key, 16) == 0)
			return s;
	}
	return NULL;
}

/* A free slot in KEY's window, or the one closest to expiry, evicted. */
static struct limit_slot *claim(struct smtp_authlimit *l,
				const uint8_t key[16])
{
	uint32_t h = home(l, key);
	struct limit_slot *victim = NULL;

	for (uint32_t i = 0; i < PROBE; i++) {
		struct limit_slot *s = &l->slot[(h + i) & l->mask];

		if (s->tat == 0) {
			victim = s;
			break;
		}
		if (victim == NULL || s->tat < victim->tat)
			victim = s;
	}
	if (victim->tat != 0)
		l->st.evictions++;
	else
		l->st.tracked++;
	memcpy(victim->key, key, 16);
	victim->tat = 0;
	return victim;
}

bool smtp_authlimit_check(struct smtp_authlimit *l,
			  const struct smtp_ip *addr, uint64_t now_us)
{
	uint8_t key[16];
	struct limit_slot *s;

	addr_key(addr, key);
	s = find(l, key, now_us);
	if (s == NULL || s->tat - now_us <= l->window - l->step)
		return true;
	l->st.denied++;
	return false;
}

void smtp_authlimit_failed(struct smtp_authlimit *l,
			   const struct smtp_ip *addr, uint64_t now_us)
{
	uint8_t key[16];
	struct limit_slot *s;
	uint64_t base;

	addr_key(addr, key);
	s = find(l, key, now_us);
	if (s == NULL)
		s = claim(l, key);
	base = s->tat > now_us ? s->tat : now_us; /* step >= 1: tat stays > 0 */
	s->tat = base + l->step;
	if (s->tat > now_us + l->window)
		s->tat = now_us + l->window;
	l->st.failures++;
}

void smtp_authlimit_succeeded(struct smtp_authlimit *l,
			      const struct smtp_ip *addr)
{
	uint8_t key[16];
	uint32_t h;

	addr_key(addr, key);
	h = home(l, key);
	for (uint32_t i = 0; i < PROBE; i++) {
		struct limit_slot *s = &l->slot[(h + i) & l->mask];

		if (s->tat != 0 && memcmp(s->key, key, 16) == 0) {
			s->tat = 0;
			l->st.tracked--;
			return;
		}
	}
}

void smtp_authlimit_stats(const struct smtp_authlimit *l,
			  struct smtp_authlimit_stats *out)
{
	*out = l->st;
}
