/*
 * lg_spec: sizes, durations, integers and size distributions as the
 * options spell them, and memif networks.  Every parser takes the whole
 * string or fails.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "bench/loadgen/lg_spec.h"

/* Digits of S[0..LEN) into *V (at most 18 of them); the digits taken,
 * 0 when there are none or too many. */
static size_t digits(const char *s, size_t len, uint64_t *v)
{
	size_t i = 0;

	*v = 0;
	while (i < len && s[i] >= '0' && s[i] <= '9') {
		if (i == 18)
			return 0;
		*v = *v * 10 + (uint64_t)(s[i] - '0');
		i++;
	}
	return i;
}

int lg_parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	size_t len = strlen(s);
	uint64_t v;

	if (len == 0 || digits(s, len, &v) != len)
		return -EINVAL;
	if (v == 0 || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int lg_parse_size(const char *s, size_t len, uint64_t max, uint64_t *out)
{
	uint64_t v, mult = 1;
	size_t i = digits(s, len, &v);

	if (i == 0)
		return -EINVAL;
	if (i + 1 == len && (s[i] == 'k' || s[i] == 'K'))
		mult = 1024;
	else if (i + 1 == len && (s[i] == 'm' || s[i] == 'M'))
		mult = 1024 * 1024;
	else if (i != len)
		return -EINVAL;
	if (v == 0 || v > max / mult)
		return -ERANGE;
	*out = v * mult;
	return 0;
}

int lg_parse_duration(const char *s, uint64_t *us)
{
	size_t len = strlen(s);
	uint64_t v, mult;
	size_t i = digits(s, len, &v);
	const char *unit = s + i;

	if (i == 0)
		return -EINVAL;
	if (*unit == '\0' || strcmp(unit, "s") == 0)
		mult = 1000000;
	else if (strcmp(unit, "ms") == 0)
		mult = 1000;
	else if (strcmp(unit, "m") == 0)
		mult = 60000000;
	else
		return -EINVAL;
	if (v == 0 || v > 86400000000ull / mult)
		return -ERANGE;
	*us = v * mult;
	return 0;
}

/* One "SIZE[:WEIGHT]" of LEN octets into entry E of OUT. */
static int parse_entry(const char *s, size_t len, struct lg_sizes *out)
{
	const char *colon = memchr(s, ':', len);
	size_t slen = colon != NULL ? (size_t)(colon - s) : len;
	uint64_t size, weight = 1;
	int rc;

	if ((rc = lg_parse_size(s, slen, LG_SIZE_MAX, &size)) < 0)
		return rc;
	if (colon != NULL) {
		size_t wlen = len - slen - 1;

		if (wlen == 0 || digits(colon + 1, wlen, &weight) != wlen)
			return -EINVAL;
		if (weight == 0 || weight > 1000000)
			return -ERANGE;
	}
	if (out->n == LG_SIZES_MAX)
		return -ERANGE;
	out->e[out->n].size = (uint32_t)size;
	out->e[out->n].weight = (uint32_t)weight;
	out->n++;
	out->total_weight += weight;
	return 0;
}

int lg_parse_sizes(const char *s, struct lg_sizes *out)
{
	memset(out, 0, sizeof(*out));
	for (;;) {
		const char *comma = strchr(s, ',');
		size_t len = comma != NULL ? (size_t)(comma - s) : strlen(s);
		int rc = parse_entry(s, len, out);

		if (rc < 0) {
			memset(out, 0, sizeof(*out));
			return rc;
		}
		if (comma == NULL)
			return 0;
		s = comma + 1;
	}
}

unsigned lg_sizes_pick(const struct lg_sizes *sz, uint64_t r)
{
	uint64_t x = r % sz->total_weight;
	unsigned i;

	for (i = 0; i + 1 < sz->n && x >= sz->e[i].weight; i++)
		x -= sz->e[i].weight;
	return i;
}

int lg_parse_net(const char *s, struct lg_net *out)
{
	const char *comma = strrchr(s, ',');
	char addr[INET_ADDRSTRLEN];
	const char *slash;
	uint64_t prefix;
	struct in_addr a;
	size_t plen, alen;
	int rc;

	if (comma == NULL || s[0] != '/' || (slash = strchr(comma, '/')) == NULL)
		return -EINVAL;
	plen = (size_t)(comma - s);
	alen = (size_t)(slash - comma - 1);
	if (memchr(s, '=', plen) != NULL || memchr(s, ',', plen) != NULL ||
	    alen == 0 || alen >= sizeof(addr))
		return -EINVAL;
	if (plen >= LG_SOCKET_MAX)
		return -ERANGE;
	memcpy(addr, comma + 1, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET, addr, &a) != 1)
		return -EINVAL;
	if ((rc = lg_parse_uint(slash + 1, 32, &prefix)) < 0)
		return rc;
	memcpy(out->socket, s, plen);
	out->socket[plen] = '\0';
	out->addr = ntohl(a.s_addr);
	out->prefix = (uint8_t)prefix;
	return 0;
}
