/*
 * spool_qid: queue ID generation, formatting and parsing (layout in
 * spool_qid.h).
 */
#include <errno.h>
#include <string.h>

#include "dataplane/spool/spool_qid.h"

#define SEQ_SHIFT  8
#define SEC_SHIFT  28
#define SEC_MASK   ((1ull << 36) - 1)

void spool_qid_init(struct spool_qid_gen *g, uint8_t worker)
{
	g->last = 0;
	g->worker = worker;
}

void spool_qid_seen(struct spool_qid_gen *g, uint64_t id)
{
	if (id > g->last)
		g->last = id;
}

uint64_t spool_qid_next(struct spool_qid_gen *g, uint64_t now_us)
{
	uint64_t id = ((now_us / 1000000) & SEC_MASK) << SEC_SHIFT | g->worker;

	/* Same second (or the clock went back): next sequence number, which
	 * borrows from the next second when 2^20 are used up. */
	if (id <= g->last)
		id = ((g->last >> SEQ_SHIFT) + 1) << SEQ_SHIFT | g->worker;
	g->last = id;
	return id;
}

uint8_t spool_qid_worker(uint64_t id)
{
	return (uint8_t)id;
}

uint64_t spool_qid_seconds(uint64_t id)
{
	return id >> SEC_SHIFT;
}

void spool_qid_format(uint64_t id, char *buf)
{
	static const char hex[] = "0123456789ABCDEF";

	for (int i = SPOOL_QID_LEN - 1; i >= 0; i--) {
		buf[i] = hex[id & 15];
		id >>= 4;
	}
	buf[SPOOL_QID_LEN] = '\0';
}

int spool_qid_parse(const char *s, uint64_t *id)
{
	uint64_t v = 0;

	if (strlen(s) != SPOOL_QID_LEN)
		return -EINVAL;
	for (int i = 0; i < SPOOL_QID_LEN; i++) {
		char c = s[i];
		unsigned d;

		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else if (c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else
			return -EINVAL;
		v = v << 4 | d;
	}
	*id = v;
	return 0;
}
