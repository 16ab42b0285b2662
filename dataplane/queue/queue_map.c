/*
 * queue_map: queue ID → slot, open addressing — see queue_map.h.
 */
#include <errno.h>
#include <stdlib.h>

#include "dataplane/queue/queue_map.h"

/* Queue IDs put the seconds in the high bits and the worker in the low
 * ones: mix them so that neighbouring IDs land apart. */
static uint32_t home(const struct queue_map *m, uint64_t key)
{
	key ^= key >> 31;
	key *= UINT64_C(0x9E3779B97F4A7C15);
	key ^= key >> 29;
	return (uint32_t)key & m->mask;
}

int queue_map_init(struct queue_map *m, uint32_t max)
{
	uint64_t cells = 2;

	if (max == 0 || max > (UINT32_C(1) << 30))
		return -EINVAL;
	while (cells < 2 * (uint64_t)max)
		cells <<= 1;
	m->cell = calloc(cells, sizeof(*m->cell));
	if (m->cell == NULL)
		return -ENOMEM;
	m->mask = (uint32_t)(cells - 1);
	m->max = max;
	m->n = 0;
	return 0;
}

void queue_map_fini(struct queue_map *m)
{
	free(m->cell);
	m->cell = NULL;
	m->n = 0;
}

/* The cell holding KEY, or the empty cell where it would go. */
static uint32_t probe(const struct queue_map *m, uint64_t key)
{
	uint32_t i = home(m, key);

	while (m->cell[i].key != 0 && m->cell[i].key != key)
		i = (i + 1) & m->mask;
	return i;
}

int queue_map_put(struct queue_map *m, uint64_t key, uint32_t val)
{
	uint32_t i;

	if (key == 0)
		return -EINVAL;
	i = probe(m, key);
	if (m->cell[i].key == key)
		return -EEXIST;
	if (m->n == m->max)
		return -ENOSPC;
	m->cell[i] = (struct queue_map_cell){.key = key, .val = val};
	m->n++;
	return 0;
}

int queue_map_get(const struct queue_map *m, uint64_t key, uint32_t *val)
{
	uint32_t i;

	if (key == 0)
		return -ENOENT;
	i = probe(m, key);
	if (m->cell[i].key != key)
		return -ENOENT;
	*val = m->cell[i].val;
	return 0;
}

/* True when a key whose home is H may move to the hole at I from J (it
 * would still be found: I lies cyclically in [H, J)). */
static int may_fill(uint32_t h, uint32_t i, uint32_t j)
{
	return i <= j ? (h <= i || h > j) : (h <= i && h > j);
}

int queue_map_del(struct queue_map *m, uint64_t key)
{
	uint32_t i, j;

	if (key == 0)
		return -ENOENT;
	i = probe(m, key);
	if (m->cell[i].key != key)
		return -ENOENT;
	for (j = (i + 1) & m->mask; m->cell[j].key != 0; j = (j + 1) & m->mask) {
		if (may_fill(home(m, m->cell[j].key), i, j)) {
			m->cell[i] = m->cell[j];
			i = j;
		}
	}
	m->cell[i].key = 0;
	m->n--;
	return 0;
}
