/*
 * track: tracking events, the worker's ring of them and their
 * Postfix-like log lines — see track.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <rte_errno.h>

#include "dataplane/spool/spool_qid.h"
#include "dataplane/track.h"

static const char *const type_names[TRACK__MAX] = {
	[TRACK_ACCEPTED] = "accepted", [TRACK_RELAYED] = "relayed",
	[TRACK_DEFERRED] = "deferred", [TRACK_BOUNCED] = "bounced",
	[TRACK_EXPIRED] = "expired",   [TRACK_DELETED] = "deleted",
	[TRACK_HELD] = "held",         [TRACK_RELEASED] = "released",
};

const char *track_type_name(unsigned type)
{
	return type > 0 && type < TRACK__MAX ? type_names[type] : "unknown";
}

void track_event_init(struct track_event *e, enum track_type type,
		      uint64_t time_us, uint64_t qid)
{
	memset(e, 0, sizeof(*e));
	e->type = (uint8_t)type;
	e->time_us = time_us;
	e->qid = qid;
}

void track_copy(char *dst, size_t cap, const char *s, size_t len)
{
	if (len > cap - 1)
		len = cap - 1;
	if (len > 0)
		memcpy(dst, s, len);
	dst[len] = '\0';
}

static void copy_str(char *dst, size_t cap, const struct spool_str *s)
{
	track_copy(dst, cap, s->p, s->p != NULL ? s->len : 0);
}

void track_event_env(struct track_event *e, const struct spool_env *env)
{
	e->client_family = env->client_family;
	memcpy(e->client_addr, env->client_addr, sizeof(e->client_addr));
	e->client_port = env->client_port;
	copy_str(e->tls, sizeof(e->tls), &env->tls_version);
	copy_str(e->sender, sizeof(e->sender), &env->sender);
	e->nrcpt = env->nrcpt;
	for (uint32_t i = 0; i < env->nrcpt && i < TRACK_RCPTS; i++)
		copy_str(e->rcpt[i], sizeof(e->rcpt[i]), &env->rcpt[i].addr);
}

void track_client_text(const struct track_event *e, char *buf, size_t len)
{
	int af = e->client_family == 4 ? AF_INET
		 : e->client_family == 6 ? AF_INET6 : AF_UNSPEC;

	if (af == AF_UNSPEC || inet_ntop(af, e->client_addr, buf, (socklen_t)len) == NULL)
		snprintf(buf, len, "unknown");
}

/* ---- log lines ---------------------------------------------------------- */

struct out {
	char *buf;
	size_t len, used;
};

static void emit(struct out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void emit(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->used + 1 >= o->len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->used, o->len - o->used, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	o->used += (size_t)n < o->len - o->used ? (size_t)n : o->len - o->used - 1;
}

/* Append the N strings of PART, truncated as emit() truncates: most
 * fields are strings, joined without printf's cost per conversion. */
static void join(struct out *o, const char *const *part, size_t n)
{
	for (size_t i = 0; i < n && o->used + 1 < o->len; i++) {
		size_t k = strlen(part[i]), room = o->len - o->used - 1;

		if (k > room)
			k = room;
		memcpy(o->buf + o->used, part[i], k);
		o->used += k;
	}
	o->buf[o->used] = '\0';
}

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static void format_accepted(struct out *o, const char *qid,
			    const struct track_event *e)
{
	char client[INET6_ADDRSTRLEN];
	const char *const line[] = {qid, ": client=unknown[", client, "]",
				    e->tls[0] != '\0' ? ", tls=" : "", e->tls, "\n"};

	track_client_text(e, client, sizeof(client));
	join(o, line, NELEM(line));
	emit(o, "%s: from=<%s>, size=%llu, nrcpt=%u\n", qid, e->sender,
	     (unsigned long long)e->size, e->nrcpt);
}

static void format_rcpts(struct out *o, const char *qid,
			 const struct track_event *e, const char *status)
{
	const char *relay = e->relay[0] != '\0' ? e->relay : "none";
	uint32_t listed = e->nrcpt < TRACK_RCPTS ? e->nrcpt : TRACK_RCPTS;

	for (uint32_t i = 0; i < listed; i++) {
		const char *const line[] = {qid, ": to=<", e->rcpt[i], ">, relay=", relay,
					    ", status=", status, " (", e->text, ")\n"};

		join(o, line, NELEM(line));
	}
	if (e->nrcpt > listed)
		emit(o, "%s: and %u more recipients, relay=%s, status=%s (%s)\n",
		     qid, e->nrcpt - listed, relay, status, e->text);
}

size_t track_format(const struct track_event *e, char *buf, size_t len)
{
	struct out o = {.buf = buf, .len = len};
	char qid[SPOOL_QID_LEN + 1];

	if (len == 0)
		return 0;
	buf[0] = '\0';
	spool_qid_format(e->qid, qid);
	switch (e->type) {
	case TRACK_ACCEPTED: format_accepted(&o, qid, e); break;
	case TRACK_RELAYED: format_rcpts(&o, qid, e, "sent"); break;
	case TRACK_DEFERRED: format_rcpts(&o, qid, e, "deferred"); break;
	case TRACK_BOUNCED: format_rcpts(&o, qid, e, "bounced"); break;
	case TRACK_EXPIRED:
		emit(&o, "%s: from=<%s>, status=expired, returned to sender (%s)\n",
		     qid, e->sender, e->text);
		break;
	case TRACK_DELETED: emit(&o, "%s: removed\n", qid); break;
	case TRACK_HELD: emit(&o, "%s: placed on hold\n", qid); break;
	case TRACK_RELEASED: emit(&o, "%s: released from hold\n", qid); break;
	default: emit(&o, "%s: unknown event %u\n", qid, e->type); break;
	}
	return o.used;
}

/* ---- the ring ----------------------------------------------------------
 * An event travels as UNITS elements of 16 bytes, moved in bulk: DPDK
 * copies 16-byte elements 32 bytes at a time, any other size 4 bytes at a
 * time (~850 instructions for an event each way, ~120 this way).  The
 * ring is single-producer, single-consumer, so the units of one event
 * stay together. */

#define UNIT  16
#define UNITS (sizeof(struct track_event) / UNIT)

_Static_assert(sizeof(struct track_event) % UNIT == 0, "an event is whole units");

int track_ring_init(struct track_ring *t, unsigned worker, int socket,
		    unsigned size)
{
	char name[RTE_RING_NAMESIZE];

	memset(t, 0, sizeof(*t));
	if (size < 2 || (size & (size - 1)) != 0)
		return -EINVAL;
	snprintf(name, sizeof(name), "track_%u", worker);
	/* SIZE slots hold SIZE - 1 events, as a ring of SIZE does */
	t->ring = rte_ring_create_elem(name, UNIT, (unsigned)((size - 1) * UNITS), socket,
				       RING_F_SP_ENQ | RING_F_SC_DEQ | RING_F_EXACT_SZ);
	if (t->ring == NULL)
		return rte_errno == EEXIST ? -EEXIST : -ENOMEM;
	return 0;
}

void track_ring_fini(struct track_ring *t)
{
	rte_ring_free(t->ring);
	t->ring = NULL;
}

int track_put(struct track_ring *t, const struct track_event *e)
{
	if (rte_ring_enqueue_bulk_elem(t->ring, e, UNIT, UNITS, NULL) == 0) {
		__atomic_store_n(&t->dropped, t->dropped + 1, __ATOMIC_RELAXED);
		return -ENOBUFS;
	}
	__atomic_store_n(&t->put, t->put + 1, __ATOMIC_RELAXED);
	return 0;
}

unsigned track_take(struct track_ring *t, struct track_event *ev, unsigned n)
{
	unsigned have = rte_ring_count(t->ring) / UNITS;

	if (have < n)
		n = have;
	if (n == 0)
		return 0;
	return rte_ring_dequeue_bulk_elem(t->ring, ev, UNIT, (unsigned)(n * UNITS), NULL) / UNITS;
}
