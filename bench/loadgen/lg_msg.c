/*
 * lg_msg: generated and loaded benchmark messages, as DATA content.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/loadgen/lg_msg.h"

size_t lg_msg_stuffed_max(size_t len)
{
	/* each LF may become CRLF and each line may gain a dot; + CRLF.CRLF */
	return 3 * len + 5;
}

size_t lg_msg_stuff(const uint8_t *in, size_t len, uint8_t *out)
{
	size_t o = 0;
	int bol = 1;

	for (size_t i = 0; i < len; i++) {
		uint8_t c = in[i];

		if (bol && c == '.')
			out[o++] = '.';
		bol = 0;
		if (c == '\n') {
			if (i == 0 || in[i - 1] != '\r')
				out[o++] = '\r';
			bol = 1;
		}
		out[o++] = c;
	}
	if (len > 0 && !bol) {
		out[o++] = '\r';
		out[o++] = '\n';
	}
	memcpy(out + o, ".\r\n", 3);
	return o + 3;
}

static int msgs_alloc(struct lg_msgs *ms, unsigned n)
{
	memset(ms, 0, sizeof(*ms));
	ms->m = calloc(n, sizeof(*ms->m));
	return ms->m != NULL ? 0 : -ENOMEM;
}

/* Adds the message in RAW (LEN octets) to MS, which has room. */
static int msgs_add(struct lg_msgs *ms, const uint8_t *raw, size_t len)
{
	uint8_t *out = malloc(lg_msg_stuffed_max(len));

	if (out == NULL)
		return -ENOMEM;
	ms->m[ms->n].len = lg_msg_stuff(raw, len, out);
	ms->m[ms->n].data = out;
	ms->m[ms->n].size = len;
	ms->n++;
	return 0;
}

/* Raw message of exactly SIZE octets: the header, then lines of 'x' (76
 * columns and CRLF), the last one shorter. */
static uint8_t *generate(size_t size, const char *from, const char *to)
{
	uint8_t *raw = malloc(size + 1);
	int h;
	size_t o;

	if (raw == NULL)
		return NULL;
	h = snprintf((char *)raw, size + 1,
		     "From: <%s>\r\nTo: <%s>\r\nSubject: sluice-bench %zu octets\r\n\r\n",
		     from, to, size);
	o = h < 0 ? 0 : (size_t)h < size ? (size_t)h : size;
	while (o < size) {
		size_t line = size - o < 78 ? size - o : 78;

		memset(raw + o, 'x', line);
		if (line >= 2)
			memcpy(raw + o + line - 2, "\r\n", 2);
		o += line;
	}
	return raw;
}

int lg_msgs_generate(struct lg_msgs *ms, const struct lg_sizes *sizes,
		     const char *from, const char *to)
{
	if (msgs_alloc(ms, sizes->n) < 0)
		return -ENOMEM;
	ms->weights = *sizes;
	for (unsigned i = 0; i < sizes->n; i++) {
		uint8_t *raw = generate(sizes->e[i].size, from, to);
		int rc = raw != NULL ? msgs_add(ms, raw, sizes->e[i].size) : -ENOMEM;

		free(raw);
		if (rc < 0) {
			lg_msgs_free(ms);
			return rc;
		}
	}
	return 0;
}
/* The whole of PATH into a new buffer; -errno, -EFBIG past LG_SIZE_MAX. */
static int read_file(const char *path, uint8_t **buf, size_t *len)
{
	FILE *f = fopen(path, "rb");
	size_t cap = 0, n = 0, got;
	uint8_t *b = NULL, *nb;
	int rc = 0;

	if (f == NULL)
		return -errno;
	do {
		if (n == cap) {
			cap = cap == 0 ? 65536 : 2 * cap;
			if ((nb = realloc(b, cap)) == NULL) {
				rc = -ENOMEM;
				break;
			}
			b = nb;
		}
		got = fread(b + n, 1, cap - n, f);
		n += got;
		if (n > LG_SIZE_MAX)
			rc = -EFBIG;
	} while (got > 0 && rc == 0);
	if (rc == 0 && ferror(f))
		rc = -EIO;
	fclose(f);
	if (rc < 0) {
		free(b);
		return rc;
	}
	*buf = b;
	*len = n;
	return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

int lg_msgs_load_dir(struct lg_msgs *ms, const char *dir, char *err, size_t errlen)
{
	struct dirent **ents;
	int n = scandir(dir, &ents, NULL, by_name), rc = 0;

	if (n < 0) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -errno;
	}
	if ((rc = msgs_alloc(ms, (unsigned)n + 1)) == 0) {
		for (int i = 0; i < n && rc == 0; i++) {
			char path[4096];
			uint8_t *raw = NULL;
			size_t len = 0;

			if (ents[i]->d_type != DT_REG)
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, ents[i]->d_name);
			if ((rc = read_file(path, &raw, &len)) < 0) {
				snprintf(err, errlen, "%s: %s", path, strerror(-rc));
				break;
			}
			rc = msgs_add(ms, raw, len);
			free(raw);
		}
	}
	for (int i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	if (rc == 0 && ms->n == 0) {
		snprintf(err, errlen, "%s: no regular files", dir);
		rc = -ENOENT;
	}
	if (rc < 0)
		lg_msgs_free(ms);
	return rc;
}

const struct lg_msg *lg_msgs_pick(const struct lg_msgs *ms, uint64_t r)
{
	if (ms->weights.n == 0)
		return &ms->m[r % ms->n];
	return &ms->m[lg_sizes_pick(&ms->weights, r)];
}

void lg_msgs_free(struct lg_msgs *ms)
{
	for (unsigned i = 0; i < ms->n; i++)
		free(ms->m[i].data);
	free(ms->m);
	memset(ms, 0, sizeof(*ms));
}
