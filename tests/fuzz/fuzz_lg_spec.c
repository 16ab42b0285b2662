/*
 * fuzz_lg_spec: libFuzzer target for sluice-bench's value parsers (sizes,
 * size distributions, durations, memif networks, integers).  The first byte chooses the
 * parser; the rest, NUL-ended, is the option's value.  Aborts when a
 * parser breaks a promise: an error code other than -EINVAL/-ERANGE, a
 * value out of its range, a distribution whose total weight is not the sum
 * of its weights, or a pick outside it.
 *
 * Run: fuzz_lg_spec -max_len=256 CORPUS_COPY
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bench/loadgen/lg_spec.h"

static void check_rc(int rc)
{
	if (rc != 0 && rc != -EINVAL && rc != -ERANGE)
		abort();
}

static void check_sizes(const struct lg_sizes *sz)
{
	uint64_t total = 0;

	if (sz->n == 0 || sz->n > LG_SIZES_MAX)
		abort();
	for (unsigned i = 0; i < sz->n; i++) {
		if (sz->e[i].size == 0 || sz->e[i].size > LG_SIZE_MAX || sz->e[i].weight == 0)
			abort();
		total += sz->e[i].weight;
	}
	if (total != sz->total_weight)
		abort();
	for (uint64_t r = 0; r < 2 * total + 3; r += 1 + total / 7)
		if (lg_sizes_pick(sz, r * 0x9e3779b97f4a7c15ull) >= sz->n)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char s[257];
	uint64_t v = 0;
	struct lg_sizes sz;
	struct lg_net net;
	int rc;

	if (size < 1 || size > sizeof(s))
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	switch (data[0] % 5) {
	case 0:
		check_rc(rc = lg_parse_size(s, strlen(s), LG_SIZE_MAX, &v));
		if (rc == 0 && (v == 0 || v > LG_SIZE_MAX))
			abort();
		break;
	case 1:
		check_rc(rc = lg_parse_sizes(s, &sz));
		if (rc == 0)
			check_sizes(&sz);
		else if (sz.n != 0)
			abort();
		break;
	case 2:
		check_rc(rc = lg_parse_duration(s, &v));
		if (rc == 0 && (v == 0 || v > 86400000000ull))
			abort();
		break;
	case 3:
		check_rc(rc = lg_parse_net(s, &net));
		if (rc == 0 && (net.socket[0] != '/' || net.prefix == 0 || net.prefix > 32 ||
				strlen(net.socket) >= LG_SOCKET_MAX ||
				strpbrk(net.socket, ",=") != NULL))
			abort();
		break;
	default:
		check_rc(rc = lg_parse_uint(s, 65535, &v));
		if (rc == 0 && (v == 0 || v > 65535))
			abort();
	}
	return 0;
}
