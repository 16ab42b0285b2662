/*
 * wlog: worker log lines over a ring — see wlog.h.
 */
#include <errno.h>
#include <stdarg.h>

#include "dataplane/stats.h"
#include "dataplane/wlog.h"

#define WLOG_RING_SIZE 1024

struct wlog_line {
	char text[WLOG_LINE];
};

int wlog_init(struct wlog *l, unsigned lcore, int socket)
{
	char name[RTE_RING_NAMESIZE];

	snprintf(name, sizeof(name), "wlog_%u", lcore);
	l->dropped = 0;
	l->ring = rte_ring_create_elem(name, sizeof(struct wlog_line),
				       WLOG_RING_SIZE, socket,
				       RING_F_SP_ENQ | RING_F_SC_DEQ);
	return l->ring == NULL ? -ENOMEM : 0;
}

void wlog_fini(struct wlog *l)
{
	rte_ring_free(l->ring);
	l->ring = NULL;
}

void wlog(struct wlog *l, const char *fmt, ...)
{
	struct wlog_line line;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line.text, sizeof(line.text), fmt, ap);
	va_end(ap);
	if (rte_ring_enqueue_elem(l->ring, &line, sizeof(line)) < 0)
		STATS_ADD(l->dropped, 1);
}

unsigned wlog_drain(struct wlog *l, FILE *out)
{
	struct wlog_line line;
	unsigned n = 0;

	while (rte_ring_dequeue_elem(l->ring, &line, sizeof(line)) == 0) {
		fprintf(out, "%s\n", line.text);
		n++;
	}
	if (n != 0)
		fflush(out);
	return n;
}
