/*
 * queue_map: a fixed-capacity map from queue ID to a 32-bit slot number,
 * open addressing with linear probing and backward-shift deletion (no
 * tombstones, so lookups stay short however long it runs).  Owns only its
 * table; the memory is allocated once by queue_map_init().  Queue ID 0 is
 * never a key (spool_qid never makes it).
 */
#ifndef SLUICE_DATAPLANE_QUEUE_QUEUE_MAP_H
#define SLUICE_DATAPLANE_QUEUE_QUEUE_MAP_H

#include <stdint.h>

struct queue_map_cell {
	uint64_t key;     /* 0: empty */
	uint32_t val;
};

struct queue_map {
	struct queue_map_cell *cell;
	uint32_t mask;    /* cells - 1; cells is a power of two >= 2 * max */
	uint32_t max;     /* keys at most */
	uint32_t n;
};

/* Room for MAX keys.  0, -EINVAL or -ENOMEM. */
int queue_map_init(struct queue_map *m, uint32_t max);
void queue_map_fini(struct queue_map *m);

/* 0; -EEXIST when KEY is there, -ENOSPC when MAX keys are, -EINVAL for 0. */
int queue_map_put(struct queue_map *m, uint64_t key, uint32_t val);
/* 0 with *val set, or -ENOENT. */
int queue_map_get(const struct queue_map *m, uint64_t key, uint32_t *val);
/* 0, or -ENOENT. */
int queue_map_del(struct queue_map *m, uint64_t key);

#endif
