/*
 * test_config: control/config.  Loads the shipped conf/lab.conf and checks
 * every value sluiced would use, then feeds small configs through
 * conf_load_string() and asserts, for each class of mistake, the exact
 * "t.conf:LINE: KEY: message" line an operator would see.  Ends with the
 * CIDR and IPv4 parsers on their own and the file-level errors.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "control/config.h"
#include "tests/unit/suites.h"

#define TEXT_LEN 8192

static struct conf C;
static char E[CONF_ERR_LEN];

/* ---- helpers ------------------------------------------------------------- */

/* An assertion whose failure shows both strings. */
static void check_error(const char *got, const char *want, unsigned line)
{
	char msg[CONF_ERR_LEN * 3];

	snprintf(msg, sizeof(msg), "error \"%s\" should be \"%s\"", got, want);
	CU_assertImplementation(strcmp(got, want) == 0, line, msg, __FILE__, "",
				CU_FALSE);
}

static int load(const char *text)
{
	return conf_load_string(text, "t.conf", &C, E, sizeof(E));
}

/* TEXT must fail with -EINVAL and exactly the error
 * "t.conf:LINE: KEY: MSG". */
#define EXPECT_ERR(text, line, key, msg) expect_err(text, line, key, msg, __LINE__)

static void expect_err(const char *text, int line, const char *key,
		       const char *msg, unsigned at)
{
	char want[CONF_ERR_LEN], what[64];
	int rc = load(text);

	snprintf(want, sizeof(want), "t.conf:%d: %s: %s", line, key, msg);
	snprintf(what, sizeof(what), "rc %d should be -EINVAL", rc);
	CU_assertImplementation(rc == -EINVAL, at, what, __FILE__, "", CU_FALSE);
	check_error(E, want, at);
	CU_ASSERT_EQUAL(C.eal_argc, 0); /* a failed load leaves nothing owned */
	conf_free(&C);
}

/* TEXT must load; the caller inspects C and calls conf_free(). */
#define EXPECT_OK(text) expect_ok(text, __LINE__)

static bool expect_ok(const char *text, unsigned at)
{
	char msg[CONF_ERR_LEN + 32];
	int rc = load(text);

	snprintf(msg, sizeof(msg), "load failed: %s", rc ? E : "");
	CU_assertImplementation(rc == 0, at, msg, __FILE__, "", CU_FALSE);
	return rc == 0;
}

/*
 * The configs most tests start from, built so line numbers are fixed:
 *   1 eal, 2 control, 3 "ports = (", then 6 lines per port i:
 *   L_PORT(i) "{", L_NAME(i), L_DEV(i), L_ADDR(i) (blank when the field
 *   is NULL), L_EXTRA(i) (free text such as a gateway), then "}"; then
 *   ");" and TAIL from L_TAIL(nb_ports) on.
 */
#define L_PORT(i)  (4 + 6 * (i))
#define L_NAME(i)  (L_PORT(i) + 1)
#define L_DEV(i)   (L_PORT(i) + 2)
#define L_ADDR(i)  (L_PORT(i) + 3)
#define L_EXTRA(i) (L_PORT(i) + 4)
#define L_TAIL(n)  (L_PORT(n) + 1)

struct port_text {
	const char *name, *device, *address, *extra;
};

static const struct port_text P0 = {"inside", "net_tap0", "198.18.0.1/24", ""};
static const struct port_text P1 = {"outside", "net_tap1", "198.18.1.1/24", ""};

/* A field line, or a blank line in its place when VALUE is NULL. */
static size_t field(char *buf, size_t len, const char *key, const char *value)
{
	if (value == NULL)
		return (size_t)snprintf(buf, len, "\n");
	return (size_t)snprintf(buf, len, "    %s = \"%s\";\n", key, value);
}

static const char *build(const struct port_text *ports, unsigned n,
			 const char *tail)
{
	static char text[TEXT_LEN];
	size_t len;

	len = (size_t)snprintf(text, sizeof(text), "%s",
			       "eal = [\"--no-huge\", \"-l\", \"0-1\"];\n"
			       "control = { socket = \"/run/sl.sock\"; };\n"
			       "ports = (\n");
	for (unsigned i = 0; i < n && len < sizeof(text); i++) {
		len += (size_t)snprintf(text + len, sizeof(text) - len, "  {\n");
		len += field(text + len, sizeof(text) - len, "name", ports[i].name);
		len += field(text + len, sizeof(text) - len, "device", ports[i].device);
		len += field(text + len, sizeof(text) - len, "address",
			     ports[i].address);
		len += (size_t)snprintf(text + len, sizeof(text) - len,
					"    %s\n  }%s\n", ports[i].extra,
					i + 1 < n ? "," : "");
	}
	CU_ASSERT_FATAL(len < sizeof(text));
	snprintf(text + len, sizeof(text) - len, ");\n%s", tail);
	return text;
}

/* The two default ports, then TAIL at line L_TAIL(2). */
static const char *with_tail(const char *tail)
{
	const struct port_text p[] = {P0, P1};

	return build(p, 2, tail);
}

/* with_tail(TAIL) with CONTROL added to the control group (line 2). */
static const char *with_control(const char *control, const char *tail)
{
	static char text[TEXT_LEN];
	const char *base = with_tail(tail), *at = strstr(base, " };\n");
	int n;

	CU_ASSERT_FATAL(at != NULL);
	n = snprintf(text, sizeof(text), "%.*s %s%s", (int)(at - base), base,
		     control, at);
	CU_ASSERT_FATAL(n > 0 && (size_t)n < sizeof(text));
	return text;
}

/* The two default ports with port 1's fields changed where non-NULL. */
static const char *with_port1(const char *name, const char *device,
			      const char *address, const char *extra)
{
	struct port_text p[] = {P0, P1};

	p[1].name = name ? name : P1.name;
	p[1].device = device ? device : P1.device;
	p[1].address = address ? address : P1.address;
	p[1].extra = extra ? extra : P1.extra;
	return build(p, 2, "");
}

/* N distinct ports p0.., net_tap0.., 10.0.0.1/24, 10.0.1.1/24, ... */
struct port_set {
	struct port_text p[CONF_MAX_PORTS + 1];
	char names[CONF_MAX_PORTS + 1][16];
	char devs[CONF_MAX_PORTS + 1][16];
	char addrs[CONF_MAX_PORTS + 1][24];
};

static void make_ports(struct port_set *s, unsigned n)
{
	for (unsigned i = 0; i < n && i <= CONF_MAX_PORTS; i++) {
		snprintf(s->names[i], sizeof(s->names[i]), "p%u", i);
		snprintf(s->devs[i], sizeof(s->devs[i]), "net_tap%u", i);
		snprintf(s->addrs[i], sizeof(s->addrs[i]), "10.0.%u.1/24", i);
		s->p[i] = (struct port_text){s->names[i], s->devs[i], s->addrs[i], ""};
	}
}

/* The shipped lab.conf, by the source root meson passes in. */
static const char *lab_conf_path(void)
{
	return SLUICE_SOURCE_ROOT "/conf/lab.conf";
}

#define IP(a, b, c, d) (((uint32_t)(a) << 24) | ((b) << 16) | ((c) << 8) | (d))

/* ---- loading what is right ----------------------------------------------- */

static void test_lab_conf(void)
{
	static const char *const eal[] = {
		"sluiced", "--no-huge", "-m", "512", "--no-pci", "--no-shconf",
		"-l", "0-1", "--log-level", "*:notice"};
	const char *path = lab_conf_path();
	char msg[CONF_ERR_LEN + 64];
	int rc = conf_load(path, &C, E, sizeof(E));

	snprintf(msg, sizeof(msg), "conf_load of lab.conf failed: %s", E);
	CU_assertImplementation(rc == 0, __LINE__, msg, __FILE__, "", CU_TRUE);
	CU_ASSERT_STRING_EQUAL(C.path, path);
	CU_ASSERT_EQUAL_FATAL(C.eal_argc, 10);
	for (int i = 0; i < 10; i++)
		CU_ASSERT_STRING_EQUAL(C.eal_argv[i], eal[i]);
	CU_ASSERT_STRING_EQUAL(C.ctl_socket, "/run/sluice/sluice.sock");
	CU_ASSERT_EQUAL(C.idle_sleep_us, 20);
	CU_ASSERT_EQUAL_FATAL(C.nb_ports, 2);
	CU_ASSERT_STRING_EQUAL(C.ports[0].name, "inside");
	CU_ASSERT_STRING_EQUAL(C.ports[0].device, "net_af_packet0,iface=sl-gw-in");
	CU_ASSERT_EQUAL(C.ports[0].addr, IP(198, 18, 0, 1));
	CU_ASSERT_EQUAL(C.ports[0].prefix, 24);
	CU_ASSERT_EQUAL(C.ports[0].gateway, 0);
	CU_ASSERT_STRING_EQUAL(C.ports[1].name, "outside");
	CU_ASSERT_STRING_EQUAL(C.ports[1].device, "net_af_packet1,iface=sl-gw-out");
	CU_ASSERT_EQUAL(C.ports[1].addr, IP(198, 18, 1, 1));
	CU_ASSERT_EQUAL(C.ports[1].prefix, 24);
	CU_ASSERT_EQUAL(C.ports[1].gateway, 0);
	for (int i = 0; i < 2; i++) {
		CU_ASSERT_EQUAL(C.ports[i].rx_desc, 1024);
		CU_ASSERT_EQUAL(C.ports[i].tx_desc, 1024);
	}
	CU_ASSERT_EQUAL(C.arp_timeout_s, 300);
	CU_ASSERT_EQUAL(C.arp_retry_ms, 1000);
	CU_ASSERT_EQUAL(C.arp_retries, 3);
	CU_ASSERT_EQUAL(C.arp_pending_max, 16);
	CU_ASSERT_EQUAL(C.arp_entries_max, 1024);
	CU_ASSERT_EQUAL(C.mbufs, 8191);
	conf_free(&C);
	CU_ASSERT_EQUAL(C.eal_argc, 0);
	CU_ASSERT_PTR_NULL(C.eal_argv[0]);
}

static void test_defaults(void)
{
	if (!EXPECT_OK(with_tail("")))
		return;
	CU_ASSERT_STRING_EQUAL(C.path, "t.conf");
	CU_ASSERT_EQUAL(C.eal_argc, 4);
	CU_ASSERT_STRING_EQUAL(C.eal_argv[0], "sluiced");
	CU_ASSERT_STRING_EQUAL(C.eal_argv[3], "0-1");
	CU_ASSERT_STRING_EQUAL(C.ctl_socket, "/run/sl.sock");
	CU_ASSERT_EQUAL(C.idle_sleep_us, 0);
	CU_ASSERT_EQUAL(C.nb_ports, 2);
	CU_ASSERT_EQUAL(C.ports[1].rx_desc, 1024);
	CU_ASSERT_EQUAL(C.ports[1].tx_desc, 1024);
	CU_ASSERT_EQUAL(C.ports[1].gateway, 0);
	CU_ASSERT_EQUAL(C.arp_timeout_s, 300);
	CU_ASSERT_EQUAL(C.arp_retry_ms, 1000);
	CU_ASSERT_EQUAL(C.arp_retries, 3);
	CU_ASSERT_EQUAL(C.arp_pending_max, 16);
	CU_ASSERT_EQUAL(C.arp_entries_max, 1024);
	CU_ASSERT_EQUAL(C.mbufs, 8191);
	conf_free(&C);
}

static void test_every_key(void)
{
	const char *text =
		"# every key, eal as a list\n"
		"eal = (\"-l\", \"0-3\");\n"
		"control = { socket = \"sluice.sock\"; };\n"
		"worker = { idle_sleep_us = 100000; };\n"
		"ports = ({ name = \"in-side_1\"; device = \"0000:03:00.0\";\n"
		"           address = \"10.1.2.3/20\"; gateway = \"10.1.0.1\";\n"
		"           rx_desc = 64; tx_desc = 4096; });\n"
		"arp = { timeout = 86400L; retry_ms = 10; retries = 20;\n"
		"        pending = 0x400; entries = 1048576; };\n"
		"mbufs = 1048575;\n";

	if (!EXPECT_OK(text))
		return;
	CU_ASSERT_EQUAL(C.eal_argc, 3);
	CU_ASSERT_STRING_EQUAL(C.eal_argv[1], "-l");
	CU_ASSERT_STRING_EQUAL(C.ctl_socket, "sluice.sock");
	CU_ASSERT_EQUAL(C.idle_sleep_us, 100000);
	CU_ASSERT_EQUAL(C.nb_ports, 1);
	CU_ASSERT_STRING_EQUAL(C.ports[0].name, "in-side_1");
	CU_ASSERT_STRING_EQUAL(C.ports[0].device, "0000:03:00.0");
	CU_ASSERT_EQUAL(C.ports[0].addr, IP(10, 1, 2, 3));
	CU_ASSERT_EQUAL(C.ports[0].prefix, 20);
	CU_ASSERT_EQUAL(C.ports[0].gateway, IP(10, 1, 0, 1));
	CU_ASSERT_EQUAL(C.ports[0].rx_desc, 64);
	CU_ASSERT_EQUAL(C.ports[0].tx_desc, 4096);
	CU_ASSERT_EQUAL(C.arp_timeout_s, 86400);
	CU_ASSERT_EQUAL(C.arp_retry_ms, 10);
	CU_ASSERT_EQUAL(C.arp_retries, 20);
	CU_ASSERT_EQUAL(C.arp_pending_max, 1024);
	CU_ASSERT_EQUAL(C.arp_entries_max, 1048576);
	CU_ASSERT_EQUAL(C.mbufs, 1048575);
	conf_free(&C);
}

/* The low end of every range, and the largest allowed port count. */
static void test_lower_bounds_and_eight_ports(void)
{
	struct port_set ps;

	make_ports(&ps, CONF_MAX_PORTS);
	if (!EXPECT_OK(build(ps.p, CONF_MAX_PORTS,
			     "worker = { idle_sleep_us = 0; };\n"
			     "arp = { timeout = 1; retry_ms = 10; retries = 1;\n"
			     "        pending = 1; entries = 16; };\n"
			     "mbufs = 1023;\n")))
		return;
	CU_ASSERT_EQUAL(C.nb_ports, CONF_MAX_PORTS);
	CU_ASSERT_STRING_EQUAL(C.ports[7].name, "p7");
	CU_ASSERT_EQUAL(C.ports[7].addr, IP(10, 0, 7, 1));
	CU_ASSERT_EQUAL(C.arp_timeout_s, 1);
	CU_ASSERT_EQUAL(C.arp_retries, 1);
	CU_ASSERT_EQUAL(C.arp_pending_max, 1);
	CU_ASSERT_EQUAL(C.arp_entries_max, 16);
	CU_ASSERT_EQUAL(C.mbufs, 1023);
	conf_free(&C);
}

/* /31 and /32 have no network or broadcast address to refuse. */
static void test_point_to_point_prefixes(void)
{
	if (EXPECT_OK(with_port1(NULL, NULL, "198.18.1.0/31", "gateway = \"198.18.1.1\";"))) {
		CU_ASSERT_EQUAL(C.ports[1].prefix, 31);
		CU_ASSERT_EQUAL(C.ports[1].gateway, IP(198, 18, 1, 1));
		conf_free(&C);
	}
	if (EXPECT_OK(with_port1(NULL, NULL, "198.18.1.255/32", NULL))) {
		CU_ASSERT_EQUAL(C.ports[1].prefix, 32);
		conf_free(&C);
	}
}

/* ---- one test per class of mistake --------------------------------------- */

static void test_syntax_errors(void)
{
	EXPECT_ERR(with_tail("mbufs = ;\n"), L_TAIL(2), "(syntax)", "syntax error");
	/* (Not a syntax error right after a string: libconfig 1.5 leaks the
	 * string then, hyperrealm/libconfig#142, and LeakSanitizer would fail
	 * the ASan build of this binary.) */
	EXPECT_ERR("eal = [\"-l\"];\ncontrol = {\n  socket = ;\n};", 3,
		   "(syntax)", "syntax error");
	EXPECT_ERR("eal = [\"a\", 1];", 1, "(syntax)",
		   "mismatched element type in array");
	EXPECT_ERR("eal = [];\neal = [];", 2, "(syntax)", "duplicate setting name");
	EXPECT_ERR(with_tail("@include \"/etc/passwd\"\n"), L_TAIL(2), "(syntax)",
		   "@include is not supported");
}

/* libconfig 1.5 wraps integer literals modulo 2^32: 4294968319 would
 * become 1023 and pass the range check. */
static void test_integer_literal_overflow(void)
{
	EXPECT_ERR(with_tail("mbufs = 4294968319;\n"), L_TAIL(2), "(syntax)",
		   "integer 4294968319 is out of range");
	EXPECT_ERR(with_tail("\n/* \"x\" */ arp = { entries = 0x100000400; };\n"),
		   L_TAIL(2) + 1, "(syntax)", "integer 0x100000400 is out of range");
	EXPECT_ERR(with_tail("mbufs = -2147483649;\n"), L_TAIL(2), "(syntax)",
		   "integer -2147483649 is out of range");
	EXPECT_ERR(with_tail("mbufs = 99999999999999999999L;\n"), L_TAIL(2),
		   "(syntax)", "integer 99999999999999999999L is out of range");
	/* Numbers inside strings, comments and names are not literals. */
	if (EXPECT_OK(with_tail("# 99999999999\n/* 99999999999 */ // 99999999999\n"
				"mbufs = 2047; arp = { entries = 2048L; };\n"))) {
		CU_ASSERT_EQUAL(C.mbufs, 2047);
		CU_ASSERT_EQUAL(C.arp_entries_max, 2048);
		conf_free(&C);
	}
	/* Lines are counted through block comments and strings. */
	EXPECT_ERR(with_tail("/* 99999999999\n */ eal2 = \"\\\" 99999999999\n\";\n"
			     "mbufs = 0x10000000000000000L;\n"),
		   L_TAIL(2) + 3, "(syntax)", "integer 0x10000000000000000L is out of range");
	if (EXPECT_OK(with_tail("mbufs = 2048LL; arp = { entries = 0xFFFFL; };\n"))) {
		CU_ASSERT_EQUAL(C.mbufs, 2048);
		CU_ASSERT_EQUAL(C.arp_entries_max, 0xffff);
		conf_free(&C);
	}
	EXPECT_ERR(with_tail("mbufs = -2147483648;\n"), L_TAIL(2), "mbufs",
		   "must be 1023..1048575, got -2147483648");
}

/* tcp, diag and a port's impairment: values, defaults and errors. */
static void test_tcp_diag_impair(void)
{
	if (EXPECT_OK(with_tail(""))) {
		CU_ASSERT_EQUAL(C.tcp.max_conns, 2048);
		CU_ASSERT_EQUAL(C.tcp.sndbuf, 32768);
		CU_ASSERT_EQUAL(C.tcp.time_wait_us, 60000000);
		CU_ASSERT_EQUAL(C.diag.echo_port, 0);
		CU_ASSERT_EQUAL(C.diag.discard_port, 0);
		CU_ASSERT(!C.diag.send);
		CU_ASSERT(!C.ports[0].impaired);
		conf_free(&C);
	}
	if (EXPECT_OK(with_tail("tcp = { max_conns = 4096; sndbuf = 65536; "
				"rcvbuf = 131072; time_wait_s = 30; keepalive_s = 600; "
				"port_lo = 40000; port_hi = 49999; syn_backlog = 0; };\n"
				"diag = { echo_port = 7; discard_port = 9; send = true; };\n"))) {
		CU_ASSERT_EQUAL(C.tcp.max_conns, 4096);
		CU_ASSERT_EQUAL(C.tcp.sndbuf, 65536);
		CU_ASSERT_EQUAL(C.tcp.rcvbuf, 131072);
		CU_ASSERT_EQUAL(C.tcp.time_wait_us, 30000000);
		CU_ASSERT_EQUAL(C.tcp.keepalive_idle_us, 600000000ull);
		CU_ASSERT_EQUAL(C.tcp.port_lo, 40000);
		CU_ASSERT_EQUAL(C.tcp.port_hi, 49999);
		CU_ASSERT_EQUAL(C.tcp.syn_backlog, 0);
		CU_ASSERT_EQUAL(C.diag.echo_port, 7);
		CU_ASSERT_EQUAL(C.diag.discard_port, 9);
		CU_ASSERT(C.diag.send);
		conf_free(&C);
	}
	EXPECT_ERR(with_tail("tcp = { sndbuf = 40000; };\n"), L_TAIL(2),
		   "tcp.sndbuf", "must be a power of two, got 40000");
	EXPECT_ERR(with_tail("tcp = { port_lo = 50000; port_hi = 40000; };\n"),
		   L_TAIL(2), "tcp.port_lo", "must not exceed port_hi (40000), got 50000");
	EXPECT_ERR(with_tail("diag = { echo_port = 7; discard_port = 7; };\n"),
		   L_TAIL(2), "diag.discard_port", "must differ from echo_port (7)");
	EXPECT_ERR(with_tail("diag = { echo_port = 40000; };\n"), L_TAIL(2),
		   "diag.echo_port", "40000 is inside tcp.port_lo..port_hi (32768..60999)");
	EXPECT_ERR(with_tail("diag = { send = 1; };\n"), L_TAIL(2),
		   "diag.send", "expected true or false, got an integer");
	if (EXPECT_OK(with_port1(NULL, NULL, NULL,
				 "impair = \"loss=1%,delay=10ms,seed=7\";"))) {
		CU_ASSERT(C.ports[1].impaired);
		CU_ASSERT_EQUAL(C.ports[1].impair.loss_ppm, 10000);
		CU_ASSERT_EQUAL(C.ports[1].impair.delay_us, 10000);
		CU_ASSERT_EQUAL(C.ports[1].impair.seed, 7);
		conf_free(&C);
	}
	EXPECT_ERR(with_port1(NULL, NULL, NULL, "impair = \"loss=200%\";"),
		   L_EXTRA(1), "ports.[1].impair", "impair: loss: '200%' is over 100%");
}

/* The queue's bounds, the spool's memory budget and the tracking log's
 * rotation and index: values, defaults, ranges. */
static void test_queue_track(void)
{
	if (EXPECT_OK(with_tail(""))) {
		CU_ASSERT_STRING_EQUAL(C.track.log, "");
		CU_ASSERT_EQUAL(C.track.log_mb, 64);
		CU_ASSERT_EQUAL(C.track.keep, 5);
		CU_ASSERT_EQUAL(C.track.index, 100000);
		conf_free(&C);
	}
	if (EXPECT_OK(with_control("track_log = \"/t.jsonl\"; track_log_mb = 2; "
				   "track_log_keep = 9; track_index = 500;",
				   "queue = { max_messages = 1000; max_recipients = 5000; };\n"
				   "spool = { memory_mb = 0; };\n"))) {
		CU_ASSERT_STRING_EQUAL(C.track.log, "/t.jsonl");
		CU_ASSERT_EQUAL(C.track.log_mb, 2);
		CU_ASSERT_EQUAL(C.track.keep, 9);
		CU_ASSERT_EQUAL(C.track.index, 500);
		CU_ASSERT_EQUAL(C.queue.max_messages, 1000);
		CU_ASSERT_EQUAL(C.queue.max_recipients, 5000);
		CU_ASSERT_EQUAL(C.spool.memory_mb, 0);
		conf_free(&C);
	}
	EXPECT_ERR("eal = [];\ncontrol = { socket = \"/x\"; track_log_keep = 100; };", 2,
		   "control.track_log_keep", "must be 1..99, got 100");
	EXPECT_ERR("eal = [];\ncontrol = { socket = \"/x\"; track_index = 0; };", 2,
		   "control.track_index", "must be 1..4000000, got 0");
	EXPECT_ERR(with_tail("queue = { max_messages = 0; };\n"), L_TAIL(2),
		   "queue.max_messages", "must be 1..4194304, got 0");
	EXPECT_ERR(with_tail("queue = { max_messages = 100;\n max_recipients = 99; };\n"),
		   L_TAIL(2) + 1, "queue.max_recipients",
		   "must be at least max_messages (100), got 99");
	EXPECT_ERR(with_tail("queue = { max_msgs = 10; };\n"), L_TAIL(2), "queue.max_msgs",
		   "unknown key (expected one of: max_messages, max_recipients)");
}

/* smtp and spool: values, defaults and the rules between keys. */
static void test_smtp_spool(void)
{
	if (EXPECT_OK(with_tail(""))) {
		CU_ASSERT_EQUAL(C.smtp.port, 0);
		CU_ASSERT_EQUAL(C.smtp.nb_allow, 0);
		CU_ASSERT_EQUAL(C.smtp.unknown, CONF_UNKNOWN_TEMPFAIL);
		CU_ASSERT_STRING_EQUAL(C.spool.dir, "/var/spool/sluice");
		CU_ASSERT_EQUAL(C.spool.segment_mb, 64);
		CU_ASSERT_EQUAL(C.spool.memory_mb, 64);
		CU_ASSERT_EQUAL(C.queue.max_messages, 16384);
		CU_ASSERT_EQUAL(C.queue.max_recipients, 262144);
		conf_free(&C);
	}
	if (EXPECT_OK(with_tail("smtp = { port = 25; hostname = \"gw.example\"; "
				"allow = [\"198.18.0.2\", \"10.0.0.0/8\", \"2001:db8::/32\"]; "
				"unknown = \"reject\"; max_rcpt = 200; sessions = 64; "
				"tls_cert = \"/c.pem\"; tls_key = \"/k.pem\"; auth = true; "
				"credentials = \"/p\"; };\n"
				"spool = { dir = \"/tmp/sp\"; segment_mb = 8; segments = 2; };\n"))) {
		CU_ASSERT_EQUAL(C.smtp.port, 25);
		CU_ASSERT_STRING_EQUAL(C.smtp.hostname, "gw.example");
		CU_ASSERT_EQUAL(C.smtp.nb_allow, 3);
		CU_ASSERT_STRING_EQUAL(C.smtp.allow[0], "198.18.0.2/32");
		CU_ASSERT_STRING_EQUAL(C.smtp.allow[2], "2001:db8::/32");
		CU_ASSERT_EQUAL(C.smtp.unknown, CONF_UNKNOWN_REJECT);
		CU_ASSERT_EQUAL(C.smtp.max_rcpt, 200);
		CU_ASSERT(C.smtp.auth);
		CU_ASSERT_STRING_EQUAL(C.spool.dir, "/tmp/sp");
		CU_ASSERT_EQUAL(C.spool.segments, 2);
		conf_free(&C);
	}
	EXPECT_ERR(with_tail("smtp = { allow = [\"10.1.2.3/8\"]; };\n"), L_TAIL(2),
		   "smtp.allow.[0]", "allow entry \"10.1.2.3/8\": host bits set (network is 10.0.0.0/8)");
	EXPECT_ERR(with_tail("smtp = { unknown = \"bounce\"; };\n"), L_TAIL(2), "smtp.unknown",
		   "expected \"tempfail\", \"reject\" or \"drop\", got \"bounce\"");
	EXPECT_ERR(with_tail("smtp = { auth = true; credentials = \"/p\"; };\n"), L_TAIL(2), "smtp",
		   "auth = true needs tls_cert and tls_key (AUTH is offered only after STARTTLS)");
	EXPECT_ERR(with_tail("smtp = { port = 25; };\n"), L_TAIL(2), "smtp.port",
		   "a \"spool\" group with \"dir\" is needed (mail is spooled before the 250)");
	EXPECT_ERR(with_tail("smtp = { max_rcpt = 50; };\n"), L_TAIL(2), "smtp.max_rcpt",
		   "must be 100..1000, got 50");
	EXPECT_ERR(with_tail("smtp = { cmd_line_max = 256; };\n"), L_TAIL(2),
		   "smtp.cmd_line_max", "must be 512..16384, got 256");
	EXPECT_ERR(with_tail("smtp = { data_timeout_s = 60; };\n"), L_TAIL(2),
		   "smtp.data_timeout_s", "must be 180..3600, got 60");
	if (EXPECT_OK(with_tail("smtp = { text_line_max = 2000; cmd_timeout_s = 600; "
				"min_data_rate = 0; };\n"))) {
		CU_ASSERT_EQUAL(C.smtp.text_line_max, 2000);
		CU_ASSERT_EQUAL(C.smtp.cmd_timeout_s, 600);
		CU_ASSERT_EQUAL(C.smtp.min_data_rate, 0);
		CU_ASSERT_EQUAL(C.smtp.cmd_line_max, 512);
		conf_free(&C);
	}
}

static void test_unknown_keys(void)
{
	EXPECT_ERR(with_tail("mbuf = 4096;\n"), L_TAIL(2), "mbuf",
		   "unknown key (expected one of: eal, control, worker, ports, arp, mbufs, tcp, diag, smtp, spool, queue, relay)");
	EXPECT_ERR(with_tail("arp = {\n  timeout = 30;\n  retry = 100;\n};\n"),
		   L_TAIL(2) + 2, "arp.retry",
		   "unknown key (expected one of: timeout, retry_ms, retries, pending, entries)");
	EXPECT_ERR(with_tail("worker = { idle_sleep = 5; };\n"), L_TAIL(2),
		   "worker.idle_sleep",
		   "unknown key (expected one of: idle_sleep_us)");
	EXPECT_ERR("eal = [];\ncontrol = { socket = \"/x\"; path = \"/y\"; };", 2,
		   "control.path", "unknown key (expected one of: socket, track_log, track_log_mb, "
		   "track_log_keep, track_index, http)");
	EXPECT_ERR(with_port1(NULL, NULL, NULL, "gatway = \"198.18.1.254\";"),
		   L_EXTRA(1), "ports.[1].gatway",
		   "unknown key (expected one of: name, device, address, gateway, "
		   "rx_desc, tx_desc, impair)");
	/* A typo is reported before the key it was meant to be is missed. */
	EXPECT_ERR("eal = [];\ncontrol = { sockt = \"/x\"; };", 2, "control.sockt",
		   "unknown key (expected one of: socket, track_log, track_log_mb, "
		   "track_log_keep, track_index, http)");
}

static void test_missing_keys(void)
{
	struct port_text p[] = {P0, P1};

	EXPECT_ERR("control = { socket = \"/x\"; };", 1, "eal",
		   "missing required key");
	EXPECT_ERR("eal = [];", 1, "control", "missing required key");
	EXPECT_ERR("eal = [];\n\ncontrol = {\n};", 3, "control.socket",
		   "missing required key");
	EXPECT_ERR("eal = [];\ncontrol = { socket = \"/x\"; };", 1, "ports",
		   "missing required key");
	p[1].device = NULL;
	EXPECT_ERR(build(p, 2, ""), L_PORT(1), "ports.[1].device",
		   "missing required key");
	p[1] = P1;
	p[0].name = NULL;
	EXPECT_ERR(build(p, 2, ""), L_PORT(0), "ports.[0].name",
		   "missing required key");
	p[0] = P0;
	p[1].address = NULL;
	EXPECT_ERR(build(p, 2, ""), L_PORT(1), "ports.[1].address",
		   "missing required key");
}

struct bad_value {
	const char *tail; /* at L_TAIL(2) */
	const char *key, *msg;
};

static void expect_tails(const struct bad_value *t, size_t n, unsigned at)
{
	for (size_t i = 0; i < n; i++)
		expect_err(with_tail(t[i].tail), L_TAIL(2), t[i].key, t[i].msg, at);
}

static void test_wrong_types(void)
{
	static const struct bad_value t[] = {
		{"mbufs = \"8191\";", "mbufs", "expected an integer, got a string"},
		{"mbufs = 8191.0;", "mbufs", "expected an integer, got a float"},
		{"mbufs = 8.191e3;", "mbufs", "expected an integer, got a float"},
		{"arp = { timeout = true; };", "arp.timeout",
		 "expected an integer, got a boolean"},
		{"arp = { entries = [1024]; };", "arp.entries",
		 "expected an integer, got an array"},
		{"arp = ( );", "arp", "expected a group, got a list"},
		{"worker = 5;", "worker", "expected a group, got an integer"},
	};

	expect_tails(t, sizeof(t) / sizeof(t[0]), __LINE__);
	EXPECT_ERR("eal = \"--no-huge\";", 1, "eal",
		   "expected a list of strings, got a string");
	EXPECT_ERR("eal = (\"-l\",\n  1);", 2, "eal.[1]",
		   "expected a string, got an integer");
	EXPECT_ERR("eal = [];\ncontrol = \"/x\";", 2, "control",
		   "expected a group, got a string");
	EXPECT_ERR("eal = [];\ncontrol = { socket = 5; };", 2, "control.socket",
		   "expected a string, got an integer");
	EXPECT_ERR("eal = [];\ncontrol = { socket = \"/x\"; };\nports = { };", 3,
		   "ports", "expected a list of groups, got a group");
	EXPECT_ERR("eal = [];\ncontrol = { socket = \"/x\"; };\n"
		   "ports = (\n  \"inside\" );", 4, "ports.[0]",
		   "expected a group, got a string");
	EXPECT_ERR(with_port1(NULL, NULL, NULL, "rx_desc = \"1024\";"), L_EXTRA(1),
		   "ports.[1].rx_desc", "expected an integer, got a string");
	EXPECT_ERR(with_port1(NULL, NULL, NULL, "gateway = 3323068926;"), L_EXTRA(1),
		   "(syntax)", "integer 3323068926 is out of range");
	EXPECT_ERR(with_port1(NULL, NULL, NULL, "gateway = [\"198.18.1.254\"];"),
		   L_EXTRA(1), "ports.[1].gateway", "expected a string, got an array");
}

static void test_out_of_range(void)
{
	static const struct bad_value t[] = {
		{"arp = { timeout = 0; };", "arp.timeout", "must be 1..86400, got 0"},
		{"arp = { timeout = 86401; };", "arp.timeout",
		 "must be 1..86400, got 86401"},
		{"arp = { retry_ms = 9; };", "arp.retry_ms", "must be 10..60000, got 9"},
		{"arp = { retry_ms = 60001; };", "arp.retry_ms",
		 "must be 10..60000, got 60001"},
		{"arp = { retries = 0; };", "arp.retries", "must be 1..20, got 0"},
		{"arp = { retries = 21; };", "arp.retries", "must be 1..20, got 21"},
		{"arp = { pending = 0; };", "arp.pending", "must be 1..1024, got 0"},
		{"arp = { pending = 1025; };", "arp.pending", "must be 1..1024, got 1025"},
		{"arp = { entries = 15; };", "arp.entries", "must be 16..1048576, got 15"},
		{"arp = { entries = 1048577L; };", "arp.entries",
		 "must be 16..1048576, got 1048577"},
		{"mbufs = 1022;", "mbufs", "must be 1023..1048575, got 1022"},
		{"mbufs = 1048576;", "mbufs", "must be 1023..1048575, got 1048576"},
		{"mbufs = -8191;", "mbufs", "must be 1023..1048575, got -8191"},
		{"mbufs = 0x7fffffffffffffffL;", "mbufs",
		 "must be 1023..1048575, got 9223372036854775807"},
		{"worker = { idle_sleep_us = -1; };", "worker.idle_sleep_us",
		 "must be 0..100000, got -1"},
		{"worker = { idle_sleep_us = 100001; };", "worker.idle_sleep_us",
		 "must be 0..100000, got 100001"},
	};

	expect_tails(t, sizeof(t) / sizeof(t[0]), __LINE__);
	EXPECT_ERR(with_port1(NULL, NULL, NULL, "rx_desc = 32;"), L_EXTRA(1),
		   "ports.[1].rx_desc", "must be 64..4096, got 32");
	EXPECT_ERR(with_port1(NULL, NULL, NULL, "tx_desc = 8192;"), L_EXTRA(1),
		   "ports.[1].tx_desc", "must be 64..4096, got 8192");
	EXPECT_ERR(with_port1(NULL, NULL, NULL, "tx_desc = 1000;"), L_EXTRA(1),
		   "ports.[1].tx_desc", "must be a power of two, got 1000");
}

static void test_bad_cidr(void)
{
	static const char *const bad[] = {
		"198.18.1.1", "198.18.1.1/", "198.18.1.1/33", "198.18.1.1/24 ",
		" 198.18.1.1/24", "198.18.1.256/24", "198.18.1.1/024", "198.18.1.1/2x",
		"198.18.1/24", "198.018.1.1/24", "198.18.1.1/-1", "198.18.1.1/+8",
		"198.18.1.1//24", "host/24", "::1/64", "198.18.1.1/24/24",
		"198.18.1.1.1/24", "/24",
	};
	char msg[128];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(msg, sizeof(msg), "expected \"a.b.c.d/len\", got \"%s\"",
			 bad[i]);
		expect_err(with_port1(NULL, NULL, bad[i], NULL), L_ADDR(1),
			   "ports.[1].address", msg, __LINE__);
	}
}

static void test_prefix_zero(void)
{
	EXPECT_ERR(with_port1(NULL, NULL, "198.18.1.1/0", NULL), L_ADDR(1),
		   "ports.[1].address", "prefix length must be 1..32, got /0");
}

static void test_not_a_host_address(void)
{
	static const char *const net_or_bcast[] = {
		"198.18.1.0/24", "198.18.1.255/24", "198.18.1.64/26", "198.18.1.3/30"};
	static const char *const not_unicast[] = {
		"127.0.0.1/8", "0.1.2.3/24", "224.0.0.1/24", "240.0.0.1/8",
		"255.255.255.255/32"};
	char msg[128];

	for (size_t i = 0; i < sizeof(net_or_bcast) / sizeof(net_or_bcast[0]); i++) {
		snprintf(msg, sizeof(msg),
			 "%s is the network or broadcast address, not a host",
			 net_or_bcast[i]);
		expect_err(with_port1(NULL, NULL, net_or_bcast[i], NULL), L_ADDR(1),
			   "ports.[1].address", msg, __LINE__);
	}
	for (size_t i = 0; i < sizeof(not_unicast) / sizeof(not_unicast[0]); i++) {
		snprintf(msg, sizeof(msg), "%s is not a unicast host address",
			 not_unicast[i]);
		expect_err(with_port1(NULL, NULL, not_unicast[i], NULL), L_ADDR(1),
			   "ports.[1].address", msg, __LINE__);
	}
}

static void test_gateway(void)
{
	if (EXPECT_OK(with_port1(NULL, NULL, NULL, "gateway = \"198.18.1.254\";"))) {
		CU_ASSERT_EQUAL(C.ports[1].gateway, IP(198, 18, 1, 254));
		CU_ASSERT_EQUAL(C.ports[0].gateway, 0);
		conf_free(&C);
	}
	EXPECT_ERR(with_port1(NULL, NULL, NULL, "gateway = \"198.18.2.1\";"),
		   L_EXTRA(1), "ports.[1].gateway",
		   "198.18.2.1 is outside the port's network 198.18.1.0/24");
	EXPECT_ERR(with_port1(NULL, NULL, "198.18.1.1/25", "gateway = \"198.18.1.129\";"),
		   L_EXTRA(1), "ports.[1].gateway",
		   "198.18.1.129 is outside the port's network 198.18.1.0/25");
	EXPECT_ERR(with_port1(NULL, NULL, NULL, "gateway = \"198.18.1.1\";"),
		   L_EXTRA(1), "ports.[1].gateway",
		   "198.18.1.1 is the port's own address");
	EXPECT_ERR(with_port1(NULL, NULL, NULL, "gateway = \"198.18.1.255\";"),
		   L_EXTRA(1), "ports.[1].gateway",
		   "198.18.1.255 is the network or broadcast address of 198.18.1.0/24");
	EXPECT_ERR(with_port1(NULL, NULL, NULL, "gateway = \"198.18.1.254/24\";"),
		   L_EXTRA(1), "ports.[1].gateway",
		   "expected \"a.b.c.d\", got \"198.18.1.254/24\"");
}

static void test_duplicate_port_name(void)
{
	EXPECT_ERR(with_port1("inside", NULL, NULL, NULL), L_NAME(1),
		   "ports.[1].name", "duplicate port name \"inside\" (also ports.[0])");
}

static void test_duplicate_device(void)
{
	struct port_text p[] = {P0, P1};

	EXPECT_ERR(with_port1(NULL, "net_tap0", NULL, NULL), L_DEV(1),
		   "ports.[1].device", "device already used by ports.[0] (\"inside\")");
	EXPECT_ERR(with_port1(NULL, "net_tap0,iface=other", NULL, NULL), L_DEV(1),
		   "ports.[1].device", "device already used by ports.[0] (\"inside\")");
	p[0].device = "0000:0a:00.0";
	p[1].device = "0000:0A:00.0,rxq=2";
	EXPECT_ERR(build(p, 2, ""), L_DEV(1), "ports.[1].device",
		   "device already used by ports.[0] (\"inside\")");
	p[1].device = "0000:0a:00.1";
	if (EXPECT_OK(build(p, 2, "")))
		conf_free(&C);
}

static void test_overlapping_networks(void)
{
	struct port_text p[] = {P0, P1};

	EXPECT_ERR(with_port1(NULL, NULL, "198.18.200.1/16", NULL), L_ADDR(1),
		   "ports.[1].address",
		   "network 198.18.0.0/16 overlaps 198.18.0.0/24 of ports.[0] (\"inside\")");
	EXPECT_ERR(with_port1(NULL, NULL, "198.18.0.130/25", NULL), L_ADDR(1),
		   "ports.[1].address",
		   "network 198.18.0.128/25 overlaps 198.18.0.0/24 of ports.[0] (\"inside\")");
	/* Adjacent networks are fine. */
	p[0].address = "198.18.0.1/25";
	p[1].address = "198.18.0.129/25";
	if (EXPECT_OK(build(p, 2, "")))
		conf_free(&C);
}

static void test_port_name_and_device(void)
{
	static const char *const bad_devices[] = {
		"eth0", "0000:03:20.0", "0000:03:00.8", "03:00.0", "net_",
		"net_tap0 ,x", "net_ta p0", "0000:3:00.0", "net_tap-0", "pci:0000:03:00.0"};
	char name31[32], name32[33], dev256[257], msg[160];

	memset(name31, 'n', 31);
	name31[31] = '\0';
	memset(name32, 'n', 32);
	name32[32] = '\0';
	if (EXPECT_OK(with_port1(name31, NULL, NULL, NULL))) {
		CU_ASSERT_STRING_EQUAL(C.ports[1].name, name31);
		conf_free(&C);
	}
	EXPECT_ERR(with_port1(name32, NULL, NULL, NULL), L_NAME(1), "ports.[1].name",
		   "longer than 31 bytes");
	EXPECT_ERR(with_port1("out side", NULL, NULL, NULL), L_NAME(1),
		   "ports.[1].name", "may hold only letters, digits, '_' and '-'");
	EXPECT_ERR(with_port1("out.side", NULL, NULL, NULL), L_NAME(1),
		   "ports.[1].name", "may hold only letters, digits, '_' and '-'");
	EXPECT_ERR(with_port1("", NULL, NULL, NULL), L_NAME(1), "ports.[1].name",
		   "must not be empty");
	for (size_t i = 0; i < sizeof(bad_devices) / sizeof(bad_devices[0]); i++) {
		snprintf(msg, sizeof(msg), "expected a PCI address (0000:03:00.0) or "
			 "a vdev (net_...), got \"%s\"", bad_devices[i]);
		expect_err(with_port1(NULL, bad_devices[i], NULL, NULL), L_DEV(1),
			   "ports.[1].device", msg, __LINE__);
	}
	memset(dev256, 'x', 60);
	dev256[60] = '\0';
	EXPECT_ERR(with_port1(NULL, dev256, NULL, NULL), L_DEV(1), "ports.[1].device",
		   "expected a PCI address (0000:03:00.0) or a vdev (net_...), got "
		   "\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...\"");
	memset(dev256, 'x', 256);
	memcpy(dev256, "net_tap1,", 9);
	dev256[256] = '\0';
	EXPECT_ERR(with_port1(NULL, dev256, NULL, NULL), L_DEV(1), "ports.[1].device",
		   "longer than 255 bytes");
	dev256[255] = '\0';
	if (EXPECT_OK(with_port1(NULL, dev256, NULL, NULL))) {
		CU_ASSERT_EQUAL(strlen(C.ports[1].device), 255);
		conf_free(&C);
	}
	if (EXPECT_OK(with_port1(NULL, "0000:ff:1f.7,rx_vec_en=0", NULL, NULL))) {
		CU_ASSERT_STRING_EQUAL(C.ports[1].device, "0000:ff:1f.7,rx_vec_en=0");
		conf_free(&C);
	}
}

static void test_port_count(void)
{
	struct port_set ps;

	EXPECT_ERR("eal = [];\ncontrol = { socket = \"/x\"; };\nports = ();", 3,
		   "ports", "must hold 1..8 ports, got 0");
	make_ports(&ps, CONF_MAX_PORTS + 1);
	EXPECT_ERR(build(ps.p, CONF_MAX_PORTS + 1, ""), 3, "ports",
		   "must hold 1..8 ports, got 9");
}

static void test_eal(void)
{
	char text[TEXT_LEN];
	size_t len = (size_t)snprintf(text, sizeof(text), "eal = [");

	for (int i = 0; i < CONF_MAX_EAL_ARGS - 1; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len, "%s\"a%d\"",
					i ? ", " : "", i);
	snprintf(text + len, sizeof(text) - len, "];\n%s", strchr(with_tail(""), '\n') + 1);
	if (EXPECT_OK(text)) {
		CU_ASSERT_EQUAL(C.eal_argc, CONF_MAX_EAL_ARGS);
		CU_ASSERT_STRING_EQUAL(C.eal_argv[0], "sluiced");
		CU_ASSERT_STRING_EQUAL(C.eal_argv[CONF_MAX_EAL_ARGS - 1], "a62");
		conf_free(&C);
	}
	snprintf(text + len, sizeof(text) - len, ", \"one-too-many\"];\n%s",
		 strchr(with_tail(""), '\n') + 1);
	EXPECT_ERR(text, 1, "eal", "at most 63 arguments, got 64");
	EXPECT_ERR("eal = [\"-l\", \"\"];", 1, "eal.[1]", "must not be empty");
	if (EXPECT_OK("eal = [];\ncontrol = { socket = \"/x\"; };\n"
		      "ports = ({ name = \"a\"; device = \"net_null0\"; "
		      "address = \"192.0.2.1/24\"; });\n")) {
		CU_ASSERT_EQUAL(C.eal_argc, 1);
		CU_ASSERT_STRING_EQUAL(C.eal_argv[0], "sluiced");
		conf_free(&C);
	}
}

static void test_control_socket(void)
{
	char text[TEXT_LEN], path[CONF_PATH_LEN + 1];

	memset(path, 's', sizeof(path) - 1);
	path[0] = '/';
	path[CONF_PATH_LEN] = '\0';
	snprintf(text, sizeof(text), "eal = [];\ncontrol = {\n  socket = \"%s\";\n};",
		 path);
	EXPECT_ERR(text, 3, "control.socket", "longer than 107 bytes");
	path[CONF_PATH_LEN - 1] = '\0';
	snprintf(text, sizeof(text), "eal = [];\ncontrol = { socket = \"%s\"; };\n%s",
		 path, strstr(with_tail(""), "ports = ("));
	if (EXPECT_OK(text)) {
		CU_ASSERT_STRING_EQUAL(C.ctl_socket, path);
		conf_free(&C);
	}
	EXPECT_ERR("eal = [];\ncontrol = { socket = \"\"; };", 2, "control.socket",
		   "must not be empty");
}

static void test_file_errors(void)
{
	char path[] = "/tmp/sluice-test-config-XXXXXX", want[128];
	static const char bad[] = "eal = [];\ncontrol = { socket = \"/x\"; };\n"
				  "ports = ();\n";
	static const char nul[] = "eal = [];\n#\0\n";
	const char *good = with_tail("mbufs = 4095;\n");
	int fd;

	CU_ASSERT_EQUAL(conf_load("/nonexistent/sluice.conf", &C, E, sizeof(E)),
			-ENOENT);
	CU_ASSERT_STRING_EQUAL(E, "/nonexistent/sluice.conf:0: (file): "
				  "No such file or directory");
	CU_ASSERT_EQUAL(conf_load("/", &C, E, sizeof(E)), -EISDIR);
	CU_ASSERT_STRING_EQUAL(E, "/:0: (file): Is a directory");

	fd = mkstemp(path);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(write(fd, bad, sizeof(bad) - 1) == (ssize_t)sizeof(bad) - 1);
	CU_ASSERT_EQUAL(conf_load(path, &C, E, sizeof(E)), -EINVAL);
	snprintf(want, sizeof(want), "%s:3: ports: must hold 1..8 ports, got 0", path);
	CU_ASSERT_STRING_EQUAL(E, want);

	CU_ASSERT_FATAL(ftruncate(fd, 0) == 0 && lseek(fd, 0, SEEK_SET) == 0);
	CU_ASSERT_FATAL(write(fd, nul, sizeof(nul) - 1) == (ssize_t)sizeof(nul) - 1);
	CU_ASSERT_EQUAL(conf_load(path, &C, E, sizeof(E)), -EINVAL);
	snprintf(want, sizeof(want), "%s:2: (syntax): NUL byte in the file", path);
	CU_ASSERT_STRING_EQUAL(E, want);

	CU_ASSERT_FATAL(ftruncate(fd, 0) == 0 && lseek(fd, 0, SEEK_SET) == 0);
	CU_ASSERT_FATAL(write(fd, "#", 1) == 1);
	CU_ASSERT_FATAL(ftruncate(fd, (1 << 20) + 1) == 0); /* "#" and NULs */
	CU_ASSERT_EQUAL(conf_load(path, &C, E, sizeof(E)), -EFBIG);
	snprintf(want, sizeof(want), "%s:0: (file): larger than 1048576 bytes", path);
	CU_ASSERT_STRING_EQUAL(E, want);

	CU_ASSERT_FATAL(ftruncate(fd, 0) == 0 && lseek(fd, 0, SEEK_SET) == 0);
	CU_ASSERT_FATAL(write(fd, good, strlen(good)) == (ssize_t)strlen(good));
	CU_ASSERT_EQUAL(conf_load(path, &C, E, sizeof(E)), 0);
	CU_ASSERT_STRING_EQUAL(C.path, path);
	CU_ASSERT_EQUAL(C.mbufs, 4095);
	conf_free(&C);
	close(fd);
	unlink(path);
}

static void test_error_buffer(void)
{
	static const struct conf zero;
	char small[8];
	char name[CONF_PATH_LEN * 4 + 1];

	memset(&C, 0xa5, sizeof(C));
	C.eal_argc = 0;
	CU_ASSERT_EQUAL(conf_load_string("ports = ();", "t.conf", &C, small,
					 sizeof(small)), -EINVAL);
	CU_ASSERT_STRING_EQUAL(small, "t.conf:");
	CU_ASSERT_EQUAL(memcmp(&C, &zero, sizeof(C)), 0); /* zeroed on failure */
	CU_ASSERT_EQUAL(conf_load_string("ports = ();", "t.conf", &C, NULL, 0),
			-EINVAL);
	conf_free(&C);
	conf_free(&C);
	conf_free(NULL);
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	CU_ASSERT_EQUAL(conf_load_string(with_tail(""), name, &C, E, sizeof(E)),
			-ENAMETOOLONG);
	CU_ASSERT_PTR_NOT_NULL(strstr(E, ":0: (file): File name too long"));
}

/* ---- the address parsers ------------------------------------------------- */

static void test_parse_cidr(void)
{
	static const char *const bad[] = {
		"", "/", "1.2.3.4", "1.2.3.4/", "1.2.3.4/0", "1.2.3.4/33",
		"1.2.3.4/08", "1.2.3.4/8 ", " 1.2.3.4/8", "1.2.3.4 /8", "1.2.3/8",
		"1.2.3.4.5/8", "01.2.3.4/8", "256.2.3.4/8", "1.2.3.4/8/8",
		"1.2.3.4/100", "1.2.3.4/0x8", "1.2.3.4\n/8", "::/0"};
	uint32_t addr = 7;
	uint8_t prefix = 7;

	CU_ASSERT_EQUAL(conf_parse_cidr("198.18.0.1/24", &addr, &prefix), 0);
	CU_ASSERT_EQUAL(addr, IP(198, 18, 0, 1));
	CU_ASSERT_EQUAL(prefix, 24);
	CU_ASSERT_EQUAL(conf_parse_cidr("255.255.255.255/32", &addr, &prefix), 0);
	CU_ASSERT_EQUAL(addr, 0xffffffffu);
	CU_ASSERT_EQUAL(prefix, 32);
	CU_ASSERT_EQUAL(conf_parse_cidr("0.0.0.0/1", &addr, &prefix), 0);
	CU_ASSERT_EQUAL(addr, 0);
	CU_ASSERT_EQUAL(prefix, 1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		addr = 7;
		prefix = 7;
		CU_ASSERT_EQUAL(conf_parse_cidr(bad[i], &addr, &prefix), -EINVAL);
		CU_ASSERT(addr == 7 && prefix == 7);
	}
	CU_ASSERT_EQUAL(conf_parse_cidr(NULL, &addr, &prefix), -EINVAL);
}

static void test_parse_ipv4(void)
{
	static const char *const bad[] = {
		"", "1.2.3", "1.2.3.4.", "1.2.3.4 ", " 1.2.3.4", "01.2.3.4",
		"1.2.3.256", "1.2.3.4/32", "0x1.2.3.4", "1..3.4", "1.2.3.4.5",
		"16909060", "a.b.c.d", "1.2.3.-4"};
	uint32_t addr = 7;

	CU_ASSERT_EQUAL(conf_parse_ipv4("10.20.30.40", &addr), 0);
	CU_ASSERT_EQUAL(addr, IP(10, 20, 30, 40));
	CU_ASSERT_EQUAL(conf_parse_ipv4("0.0.0.0", &addr), 0);
	CU_ASSERT_EQUAL(addr, 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		addr = 7;
		CU_ASSERT_EQUAL(conf_parse_ipv4(bad[i], &addr), -EINVAL);
		CU_ASSERT_EQUAL(addr, 7);
	}
	CU_ASSERT_EQUAL(conf_parse_ipv4(NULL, &addr), -EINVAL);
}

/* ---- registration -------------------------------------------------------- */

void test_config_register(void)
{
	static const struct {
		const char *name;
		CU_TestFunc fn;
	} tests[] = {
		{"lab.conf loads with every value", test_lab_conf},
		{"defaults", test_defaults},
		{"every key, upper bounds", test_every_key},
		{"lower bounds, eight ports", test_lower_bounds_and_eight_ports},
		{"/31 and /32 ports", test_point_to_point_prefixes},
		{"syntax errors", test_syntax_errors},
		{"integer literal overflow", test_integer_literal_overflow},
		{"unknown keys", test_unknown_keys},
		{"tcp, diag and port impairment", test_tcp_diag_impair},
		{"smtp and spool", test_smtp_spool},
		{"queue and tracking", test_queue_track},
		{"missing required keys", test_missing_keys},
		{"wrong types", test_wrong_types},
		{"out-of-range values", test_out_of_range},
		{"malformed CIDR", test_bad_cidr},
		{"prefix length 0", test_prefix_zero},
		{"network, broadcast, non-unicast port address", test_not_a_host_address},
		{"gateway", test_gateway},
		{"duplicate port name", test_duplicate_port_name},
		{"duplicate device", test_duplicate_device},
		{"overlapping networks", test_overlapping_networks},
		{"port name and device syntax", test_port_name_and_device},
		{"port count", test_port_count},
		{"eal arguments", test_eal},
		{"control socket", test_control_socket},
		{"file errors", test_file_errors},
		{"error buffer and conf_free", test_error_buffer},
		{"conf_parse_cidr", test_parse_cidr},
		{"conf_parse_ipv4", test_parse_ipv4},
	};
	CU_pSuite s = CU_add_suite("config", NULL, NULL);

	if (s == NULL)
		return;
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		CU_add_test(s, tests[i].name, tests[i].fn);
}
