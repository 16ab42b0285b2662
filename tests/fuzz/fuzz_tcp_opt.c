/*
 * fuzz_tcp_opt: libFuzzer target for the TCP option parser.  Any input is
 * parsed (at most a header's 40 bytes of options are ever handed to it, but
 * longer inputs are fed too, to check the bounds); when it parses, the
 * timestamps and SACK blocks are written into a non-SYN header and parsed
 * back, and must come out as they went in.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/tcp/tcp_opt.h"

static void check_round_trip(const struct tcp_opts *in)
{
	struct tcp_opt_out o = {
		.ts = in->ts_ok, .ts_val = in->ts_val, .ts_ecr = in->ts_ecr,
		.nsack = in->nsack, .sack = in->sack,
	};
	unsigned fit = in->ts_ok ? 3 : TCP_OPT_SACK_MAX;
	unsigned want = in->nsack < fit ? in->nsack : fit;
	uint8_t buf[TCP_OPT_LEN_MAX];
	struct tcp_opts back;
	size_t n = tcp_opt_write(buf, &o);

	if (n > TCP_OPT_LEN_MAX || n % 4 || tcp_opt_parse(buf, n, &back) != 0)
		abort();
	if (back.ts_ok != in->ts_ok || back.mss_ok || back.ws_ok || back.sack_perm)
		abort();
	if (in->ts_ok && (back.ts_val != in->ts_val || back.ts_ecr != in->ts_ecr))
		abort();
	if (back.nsack != want ||
	    memcmp(back.sack, in->sack, want * sizeof(in->sack[0])) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tcp_opts in;

	/* libFuzzer's buffer is exactly SIZE bytes, so ASan catches overreads. */
	if (tcp_opt_parse(data, size, &in) != 0)
		return 0;
	if (in.nsack > TCP_OPT_SACK_MAX)
		abort();
	check_round_trip(&in);
	return 0;
}
