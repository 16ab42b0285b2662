/*
 * test_loadgen: sluice-bench's own parts — the size, duration,
 * distribution and memif network parsers, the command line, the message stuffing, and the
 * histogram's buckets and exact percentiles on known data.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "bench/loadgen/lg_hist.h"
#include "bench/loadgen/lg_msg.h"
#include "bench/loadgen/lg_opts.h"
#include "bench/loadgen/lg_spec.h"
#include "tests/unit/suites.h"

static void test_size(void)
{
	static const struct {
		const char *in;
		int rc;
		uint64_t v;
	} t[] = {
		{"512", 0, 512}, {"1k", 0, 1024}, {"50K", 0, 51200}, {"2m", 0, 2097152},
		{"64M", 0, 64u << 20}, {"65m", -ERANGE, 0}, {"0", -ERANGE, 0},
		{"", -EINVAL, 0}, {"k", -EINVAL, 0}, {"1kb", -EINVAL, 0}, {"1g", -EINVAL, 0},
		{"-1", -EINVAL, 0}, {" 1", -EINVAL, 0}, {"1 ", -EINVAL, 0},
		{"9999999999999999999", -EINVAL, 0},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		uint64_t v = 0;

		CU_ASSERT_EQUAL(lg_parse_size(t[i].in, strlen(t[i].in), LG_SIZE_MAX, &v), t[i].rc);
		if (t[i].rc == 0)
			CU_ASSERT_EQUAL(v, t[i].v);
	}
}

static void test_duration(void)
{
	uint64_t us = 0;

	CU_ASSERT_EQUAL(lg_parse_duration("10", &us), 0);
	CU_ASSERT_EQUAL(us, 10000000);
	CU_ASSERT_EQUAL(lg_parse_duration("10s", &us), 0);
	CU_ASSERT_EQUAL(us, 10000000);
	CU_ASSERT_EQUAL(lg_parse_duration("500ms", &us), 0);
	CU_ASSERT_EQUAL(us, 500000);
	CU_ASSERT_EQUAL(lg_parse_duration("2m", &us), 0);
	CU_ASSERT_EQUAL(us, 120000000);
	CU_ASSERT_EQUAL(lg_parse_duration("1440m", &us), 0);
	CU_ASSERT_EQUAL(lg_parse_duration("1441m", &us), -ERANGE);
	CU_ASSERT_EQUAL(lg_parse_duration("0s", &us), -ERANGE);
	CU_ASSERT_EQUAL(lg_parse_duration("5h", &us), -EINVAL);
	CU_ASSERT_EQUAL(lg_parse_duration("s", &us), -EINVAL);
	CU_ASSERT_EQUAL(lg_parse_duration("1.5s", &us), -EINVAL);
}

static void test_sizes(void)
{
	struct lg_sizes sz;

	CU_ASSERT_EQUAL(lg_parse_sizes("1k:70,50k:30", &sz), 0);
	CU_ASSERT_EQUAL(sz.n, 2);
	CU_ASSERT_EQUAL(sz.e[0].size, 1024);
	CU_ASSERT_EQUAL(sz.e[0].weight, 70);
	CU_ASSERT_EQUAL(sz.e[1].size, 51200);
	CU_ASSERT_EQUAL(sz.e[1].weight, 30);
	CU_ASSERT_EQUAL(sz.total_weight, 100);
	/* r mod 100: 0..69 the first, 70..99 the second */
	CU_ASSERT_EQUAL(lg_sizes_pick(&sz, 0), 0);
	CU_ASSERT_EQUAL(lg_sizes_pick(&sz, 69), 0);
	CU_ASSERT_EQUAL(lg_sizes_pick(&sz, 70), 1);
	CU_ASSERT_EQUAL(lg_sizes_pick(&sz, 199), 1);
	CU_ASSERT_EQUAL(lg_parse_sizes("1k", &sz), 0);
	CU_ASSERT_EQUAL(sz.n, 1);
	CU_ASSERT_EQUAL(sz.e[0].weight, 1);
	CU_ASSERT_EQUAL(lg_parse_sizes("1k,2k,3k", &sz), 0);
	CU_ASSERT_EQUAL(sz.total_weight, 3);
	CU_ASSERT_EQUAL(lg_parse_sizes("1k:", &sz), -EINVAL);
	CU_ASSERT_EQUAL(sz.n, 0);
	CU_ASSERT_EQUAL(lg_parse_sizes("1k:0", &sz), -ERANGE);
	CU_ASSERT_EQUAL(lg_parse_sizes("1k,", &sz), -EINVAL);
	CU_ASSERT_EQUAL(lg_parse_sizes(",1k", &sz), -EINVAL);
	CU_ASSERT_EQUAL(lg_parse_sizes("1k:5:5", &sz), -EINVAL);
	CU_ASSERT_EQUAL(lg_parse_sizes("1k:1000001", &sz), -ERANGE);
	CU_ASSERT_EQUAL(lg_parse_sizes("1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16", &sz), 0);
	CU_ASSERT_EQUAL(lg_parse_sizes("1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17", &sz), -ERANGE);
}

static int parse(const char *const *args, struct lg_opts *o)
{
	char *argv[32], err[256];
	int argc = 0;

	argv[argc++] = "sluice-bench";
	while (*args != NULL)
		argv[argc++] = (char *)*args++;
	argv[argc] = NULL;
	return lg_opts_parse(argc, argv, o, err, sizeof(err));
}

static void test_net(void)
{
	static const struct {
		const char *in;
		int rc;
	} bad[] = {
		{"", -EINVAL}, {"/s.sock", -EINVAL}, {"/s.sock,", -EINVAL},
		{"s.sock,10.0.0.1/24", -EINVAL},          /* not absolute */
		{"/s.sock,10.0.0.1", -EINVAL}, {"/s.sock,10.0.0.1/", -EINVAL},
		{"/s.sock,10.0.0.1/0", -ERANGE}, {"/s.sock,10.0.0.1/33", -ERANGE},
		{"/s.sock,10.0.0/24", -EINVAL}, {"/s.sock,10.0.0.1/24x", -EINVAL},
		{"/a,b.sock,10.0.0.1/24", -EINVAL},       /* DPDK's separators */
		{"/a=b.sock,10.0.0.1/24", -EINVAL},
		{",10.0.0.1/24", -EINVAL},
	};
	char longpath[LG_SOCKET_MAX + 32];
	struct lg_net n;

	CU_ASSERT_EQUAL(lg_parse_net("/run/sluice/memif-in.sock,198.18.0.2/24", &n), 0);
	CU_ASSERT_STRING_EQUAL(n.socket, "/run/sluice/memif-in.sock");
	CU_ASSERT_EQUAL(n.addr, 0xc6120002);
	CU_ASSERT_EQUAL(n.prefix, 24);
	CU_ASSERT_EQUAL(lg_parse_net("/s,10.1.2.3/32", &n), 0);
	CU_ASSERT_EQUAL(n.prefix, 32);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CU_ASSERT_EQUAL(lg_parse_net(bad[i].in, &n), bad[i].rc);
	memset(longpath, 'a', sizeof(longpath));
	longpath[0] = '/';
	snprintf(longpath + LG_SOCKET_MAX, 32, ",10.0.0.1/8");
	CU_ASSERT_EQUAL(lg_parse_net(longpath, &n), -ERANGE);
	longpath[LG_SOCKET_MAX - 1] = '\0';
	snprintf(longpath + LG_SOCKET_MAX - 1, 32, ",10.0.0.1/8");
	CU_ASSERT_EQUAL(lg_parse_net(longpath, &n), 0);
	CU_ASSERT_EQUAL(strlen(n.socket), LG_SOCKET_MAX - 1);
}

static void test_opts(void)
{
	struct lg_opts o;
	const char *all[] = {"-S", "198.18.0.1:2525", "-c", "50", "-m", "100", "-r", "3",
			     "-s", "1k:70,50k:30", "-d", "5s", "--rate", "2000",
			     "--no-pipelining", "--starttls", "--cafile", "/x.pem",
			     "--json", "-q", NULL};
	const char *none[] = {NULL};

	CU_ASSERT_EQUAL(parse(none, &o), 0);
	CU_ASSERT_EQUAL(ntohl(o.server.sin_addr.s_addr), 0x7f000001);
	CU_ASSERT_EQUAL(ntohs(o.server.sin_port), 25);
	CU_ASSERT_EQUAL(o.sessions, 10);
	CU_ASSERT_EQUAL(o.count, 1000);
	CU_ASSERT_EQUAL(o.sizes.e[0].size, 1024);
	CU_ASSERT(o.pipelining && !o.starttls && !o.json);

	CU_ASSERT_EQUAL(parse(all, &o), 0);
	CU_ASSERT_EQUAL(ntohl(o.server.sin_addr.s_addr), 0xc6120001);
	CU_ASSERT_EQUAL(ntohs(o.server.sin_port), 2525);
	CU_ASSERT_EQUAL(o.sessions, 50);
	CU_ASSERT_EQUAL(o.per_session, 100);
	CU_ASSERT_EQUAL(o.rcpts, 3);
	CU_ASSERT_EQUAL(o.sizes.n, 2);
	CU_ASSERT_EQUAL(o.count, 0);
	CU_ASSERT_EQUAL(o.duration_us, 5000000);
	CU_ASSERT_EQUAL(o.rate, 2000);
	CU_ASSERT(!o.pipelining && o.starttls && o.json && o.quiet);
	CU_ASSERT_STRING_EQUAL(o.cafile, "/x.pem");
	CU_ASSERT(!o.memif && !o.sink);

	const char *memif[] = {"--memif", "/m/in.sock,198.18.0.2/24", "--sink-memif",
			       "/m/out.sock,198.18.1.2/24", "--sink-port", "2525",
			       "--sink-wait", "3s", "--lcore", "0", "--idle-sleep", "20", NULL};

	CU_ASSERT_EQUAL(parse(memif, &o), 0);
	CU_ASSERT(o.memif && o.sink);
	CU_ASSERT_STRING_EQUAL(o.net.socket, "/m/in.sock");
	CU_ASSERT_EQUAL(o.sink_net.addr, 0xc6120102);
	CU_ASSERT_EQUAL(o.sink_port, 2525);
	CU_ASSERT_EQUAL(o.sink_wait_us, 3000000);
	CU_ASSERT_EQUAL(o.lcore, 0);
	CU_ASSERT_EQUAL(o.idle_sleep_us, 20);

	const char *bad[][5] = {
		{"-S", "host.example", NULL}, {"-S", "1.2.3.4:0", NULL},
		{"-S", "1.2.3.4:65536", NULL}, {"-c", "0", NULL}, {"-r", "1001", NULL},
		{"-s", "1x", NULL}, {"-n", "10", "-d", "1s", NULL}, {"--cafile", "x", NULL},
		{"--bogus", NULL}, {"extra", NULL}, {"-c", NULL},
		{"--sink-memif", "/m/out.sock,198.18.1.2/24", NULL},   /* no --memif */
		{"--memif", "/m/in.sock", NULL}, {"--lcore", "x", NULL},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CU_ASSERT_EQUAL(parse(bad[i], &o), -EINVAL);
}

static void test_stuff(void)
{
	static const struct {
		const char *in, *out;
	} t[] = {
		{"a\r\nb\r\n", "a\r\nb\r\n.\r\n"},
		{"a\nb", "a\r\nb\r\n.\r\n"},
		{".x\n..y\r\nz.\n", "..x\r\n...y\r\nz.\r\n.\r\n"},
		{"", ".\r\n"},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		uint8_t out[64];
		size_t n = lg_msg_stuff((const uint8_t *)t[i].in, strlen(t[i].in), out);

		CU_ASSERT_EQUAL(n, strlen(t[i].out));
		CU_ASSERT(memcmp(out, t[i].out, n) == 0);
	}
}

static void test_generate(void)
{
	struct lg_msgs ms;
	struct lg_sizes sz;

	CU_ASSERT_EQUAL(lg_parse_sizes("100,1k,50k", &sz), 0);
	CU_ASSERT_EQUAL(lg_msgs_generate(&ms, &sz, "a@b.c", "d@e.f"), 0);
	CU_ASSERT_EQUAL(ms.n, 3);
	for (unsigned i = 0; i < ms.n; i++) {
		/* exactly the size, CRLF lines, no stuffing needed, ".\r\n" */
		CU_ASSERT_EQUAL(ms.m[i].size, sz.e[i].size);
		CU_ASSERT_EQUAL(ms.m[i].len, sz.e[i].size + 3);
		CU_ASSERT(memcmp(ms.m[i].data + ms.m[i].len - 5, "\r\n.\r\n", 5) == 0);
		CU_ASSERT(memcmp(ms.m[i].data, "From: <a@b.c>\r\n", 15) == 0);
	}
	lg_msgs_free(&ms);
}

static void test_hist_exact(void)
{
	static struct lg_hist h;

	lg_hist_init(&h);
	CU_ASSERT_EQUAL(lg_hist_percentile(&h, 50), 0);
	for (uint64_t v = 1; v <= 100; v++)
		lg_hist_record(&h, v);
	CU_ASSERT_EQUAL(lg_hist_percentile(&h, 50), 50);
	CU_ASSERT_EQUAL(lg_hist_percentile(&h, 90), 90);
	CU_ASSERT_EQUAL(lg_hist_percentile(&h, 99), 99);
	CU_ASSERT_EQUAL(lg_hist_percentile(&h, 99.9), 100);
	CU_ASSERT_EQUAL(lg_hist_percentile(&h, 100), 100);
	CU_ASSERT_DOUBLE_EQUAL(lg_hist_mean(&h), 50.5, 1e-9);
	CU_ASSERT_EQUAL(h.min, 1);
	CU_ASSERT_EQUAL(h.max, 100);

	/* 1000 values 0..999 µs... in ms: 990 fast, 9 slow, 1 very slow */
	lg_hist_init(&h);
	for (int i = 0; i < 990; i++)
		lg_hist_record(&h, 1000);
	for (int i = 0; i < 9; i++)
		lg_hist_record(&h, 5000);
	lg_hist_record(&h, 200000);
	CU_ASSERT_EQUAL(lg_hist_percentile(&h, 50), 1007);   /* bucket 1000..1007 */
	CU_ASSERT_EQUAL(lg_hist_percentile(&h, 99), 1007);   /* the 990th value */
	CU_ASSERT_EQUAL(lg_hist_percentile(&h, 99.9), 5055); /* the 999th: 5000..5055 */
	CU_ASSERT_EQUAL(lg_hist_percentile(&h, 100), 200000); /* capped at the max */
}

static void test_hist_buckets(void)
{
	/* exact below 128; then 64 per power of two, contiguous */
	CU_ASSERT_EQUAL(lg_hist_bucket(0), 0);
	CU_ASSERT_EQUAL(lg_hist_bucket(127), 127);
	CU_ASSERT_EQUAL(lg_hist_bucket(128), 128);
	CU_ASSERT_EQUAL(lg_hist_bucket(129), 128);
	CU_ASSERT_EQUAL(lg_hist_bucket(130), 129);
	CU_ASSERT_EQUAL(lg_hist_bucket(255), 191);
	CU_ASSERT_EQUAL(lg_hist_bucket(256), 192);
	CU_ASSERT_EQUAL(lg_hist_bucket(UINT64_MAX), LG_HIST_SUB * 57 + 127);
	CU_ASSERT(lg_hist_bucket(UINT64_MAX) < LG_HIST_BUCKETS);
	CU_ASSERT_EQUAL(lg_hist_bucket_high(128), 129);
	CU_ASSERT_EQUAL(lg_hist_bucket_high(191), 255);
	CU_ASSERT_EQUAL(lg_hist_bucket_high(LG_HIST_SUB * 57 + 127), UINT64_MAX);
	/* every value lies in its bucket, within 1/64 of the bucket's top */
	for (uint64_t v = 1; v < (1ull << 40); v = v * 3 + 1) {
		uint64_t hi = lg_hist_bucket_high(lg_hist_bucket(v));

		CU_ASSERT(hi >= v);
		CU_ASSERT(hi - v <= v / 64);
		CU_ASSERT_EQUAL(lg_hist_bucket(hi), lg_hist_bucket(v));
		CU_ASSERT_EQUAL(lg_hist_bucket(hi + 1), lg_hist_bucket(v) + 1);
	}
}

void test_loadgen_register(void)
{
	CU_pSuite s = CU_add_suite("loadgen", NULL, NULL);

	CU_add_test(s, "size", test_size);
	CU_add_test(s, "duration", test_duration);
	CU_add_test(s, "sizes", test_sizes);
	CU_add_test(s, "net", test_net);
	CU_add_test(s, "opts", test_opts);
	CU_add_test(s, "stuff", test_stuff);
	CU_add_test(s, "generate", test_generate);
	CU_add_test(s, "hist_exact", test_hist_exact);
	CU_add_test(s, "hist_buckets", test_hist_buckets);
}
