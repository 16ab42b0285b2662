/*
 * test_relay_conf: the "relay" configuration section (control/config_relay.c)
 * — what a full section loads to, and for each mistake the exact
 * "t.conf:LINE: KEY: message" — and route selection (dataplane/relay_route.c):
 * most specific match, cost order, round-robin among equal costs.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "control/config.h"
#include "dataplane/relay_route.h"
#include "tests/unit/suites.h"

static struct conf C;
static char E[CONF_ERR_LEN];

/* Line 1 holds the fixed part, the relay section starts on line 2. */
static const char *with_relay(const char *relay)
{
	static char text[4096];

	snprintf(text, sizeof(text), "eal = [\"--no-huge\"]; control = { socket = "
		 "\"/run/sl.sock\"; }; ports = ({ name = \"in\"; device = "
		 "\"net_tap0\"; address = \"198.18.0.1/24\"; });\n%s", relay);
	return text;
}

static void expect_err(const char *relay, const char *want, unsigned at)
{
	char msg[CONF_ERR_LEN * 3];
	int rc = conf_load_string(with_relay(relay), "t.conf", &C, E, sizeof(E));

	snprintf(msg, sizeof(msg), "rc %d, error \"%s\" should be \"%s\"", rc, E, want);
	CU_assertImplementation(rc == -EINVAL && strcmp(E, want) == 0, at, msg,
				__FILE__, "", CU_FALSE);
	conf_free(&C);
}
#define EXPECT_ERR(relay, want) expect_err(relay, want, __LINE__)

static const char FULL[] =
	"relay = {\n"
	"  smart_hosts = (\n"
	"    { name = \"a\"; host = \"198.18.1.2\"; cost = 10; tls = \"none\"; },\n"
	"    { name = \"b\"; host = \"198.18.1.3\"; port = 2525; cost = 10;\n"
	"      max_conns = 2; msgs_per_conn = 5; },\n"
	"    { name = \"c\"; host = \"198.18.1.4\"; cost = 5; tls = \"verify\";\n"
	"      ca_file = \"/ca.pem\"; auth_file = \"/auth\"; },\n"
	"    { name = \"d\"; host = \"Smart-1.Lab.test\"; cost = 20; tls = \"required\"; }\n"
	"  );\n"
	"  routes = (\n"
	"    { domain = \"*\"; hosts = [\"a\", \"b\", \"d\"]; },\n"
	"    { domain = \"*.Example.com\"; hosts = [\"c\", \"a\"]; },\n"
	"    { domain = \"example.com\"; hosts = [\"d\"]; },\n"
	"    { domain = \"*.com\"; hosts = [\"b\"]; }\n"
	"  );\n"
	"  retry_s = [2, 4, 8]; lifetime_s = 60; host_down_s = 3;\n"
	"  resolver = \"127.0.0.1:5353\";\n"
	"};\n";

static void test_load(void)
{
	const struct conf_relay *r = &C.relay;

	CU_ASSERT_EQUAL_FATAL(conf_load_string(with_relay(""), "t.conf", &C, E,
					       sizeof(E)), 0);
	CU_ASSERT_EQUAL(r->nb_hosts, 0);
	CU_ASSERT_EQUAL(r->nb_retry, 5);
	CU_ASSERT_EQUAL(r->retry_s[0], 300);
	CU_ASSERT_EQUAL(r->lifetime_s, 5 * 86400);
	conf_free(&C);

	CU_ASSERT_EQUAL_FATAL(conf_load_string(with_relay(FULL), "t.conf", &C, E,
					       sizeof(E)), 0);
	CU_ASSERT_EQUAL(r->nb_hosts, 4);
	CU_ASSERT_STRING_EQUAL(r->hosts[1].name, "b");
	CU_ASSERT_EQUAL(r->hosts[0].addr, 0xC6120102u);
	CU_ASSERT(!r->hosts[0].named);
	CU_ASSERT(r->hosts[3].named);
	CU_ASSERT_STRING_EQUAL(r->hosts[3].host, "smart-1.lab.test");
	CU_ASSERT_EQUAL(r->hosts[3].addr, 0);
	CU_ASSERT_STRING_EQUAL(r->resolver, "127.0.0.1:5353");
	CU_ASSERT_EQUAL(r->hosts[0].port, 25);
	CU_ASSERT_EQUAL(r->hosts[1].port, 2525);
	CU_ASSERT_EQUAL(r->hosts[0].tls, CONF_RELAY_TLS_NONE);
	CU_ASSERT_EQUAL(r->hosts[1].tls, CONF_RELAY_TLS_OPPORTUNISTIC);
	CU_ASSERT_EQUAL(r->hosts[2].tls, CONF_RELAY_TLS_VERIFY);
	CU_ASSERT_EQUAL(r->hosts[3].tls, CONF_RELAY_TLS_REQUIRED);
	CU_ASSERT_STRING_EQUAL(r->hosts[2].ca_file, "/ca.pem");
	CU_ASSERT_STRING_EQUAL(r->hosts[2].auth_file, "/auth");
	CU_ASSERT_EQUAL(r->hosts[0].max_conns, 4);
	CU_ASSERT_EQUAL(r->hosts[1].max_conns, 2);
	CU_ASSERT_EQUAL(r->hosts[1].msgs_per_conn, 5);
	CU_ASSERT_EQUAL(r->nb_routes, 4);
	CU_ASSERT_STRING_EQUAL(r->routes[1].domain, "*.example.com");
	CU_ASSERT_EQUAL(r->routes[0].nb_hosts, 3);
	CU_ASSERT_EQUAL(r->routes[0].hosts[2], 3);
	CU_ASSERT_EQUAL(r->nb_retry, 3);
	CU_ASSERT_EQUAL(r->retry_s[2], 8);
	CU_ASSERT_EQUAL(r->lifetime_s, 60);
	CU_ASSERT_EQUAL(r->host_down_s, 3);
	conf_free(&C);
}

#define HOST "smart_hosts = ({ name = \"a\"; host = \"198.18.1.2\"; "
#define ROUTE "routes = ({ domain = \"*\"; hosts = [\"a\"]; });"

/* Each of VALUES in FMT (the relay section before the routes) is refused
 * with "t.conf:2: WHAT, got \"VALUE\"". */
static void bad_values(const char *fmt, const char *what, const char *const *values)
{
	char relay[512], want[512];

	for (; *values != NULL; values++) {
		snprintf(relay, sizeof(relay), "relay = { ");
		snprintf(relay + strlen(relay), sizeof(relay) - strlen(relay), fmt, *values);
		snprintf(relay + strlen(relay), sizeof(relay) - strlen(relay), " %s };", ROUTE);
		snprintf(want, sizeof(want), "t.conf:2: %s, got \"%s\"", what, *values);
		EXPECT_ERR(relay, want);
	}
}

static void test_errors(void)
{
	EXPECT_ERR("relay = { " ROUTE " };", "t.conf:2: relay.smart_hosts: missing required key");
	EXPECT_ERR("relay = { " HOST "}); };", "t.conf:2: relay.routes: missing required key");
	EXPECT_ERR("relay = { smart_hosts = (); " ROUTE " };",
		   "t.conf:2: relay.smart_hosts: must hold 1..16 entries, got 0");
	EXPECT_ERR("relay = { " HOST "port = 0; }); " ROUTE " };",
		   "t.conf:2: relay.smart_hosts.[0].port: must be 1..65535, got 0");
	bad_values("smart_hosts = ({ name = \"a\"; host = \"%s\"; });",
		   "relay.smart_hosts.[0].host: expected an IPv4 address or a host name",
		   (const char *[]){"mx..example", "*.example", "mx_1.example", "-", "mx-.example",
				   "a.-b", ".a", "a.", NULL});
	bad_values("resolver = \"%s\"; " HOST "});",
		   "relay.resolver: expected \"a.b.c.d\" or \"a.b.c.d:port\"",
		   (const char *[]){"127.0.0.1:0", "localhost", "127.0.0.1:", "1.2.3.4:x", NULL});
	EXPECT_ERR("relay = { " HOST "tls = \"always\"; }); " ROUTE " };",
		   "t.conf:2: relay.smart_hosts.[0].tls: expected \"none\", \"opportunistic\", "
		   "\"required\" or \"verify\", got \"always\"");
	EXPECT_ERR("relay = { " HOST "ca_file = \"/ca\"; }); " ROUTE " };",
		   "t.conf:2: relay.smart_hosts.[0].ca_file: only used with tls = \"verify\"");
	EXPECT_ERR("relay = { " HOST "tls = \"none\"; auth_file = \"/a\"; }); " ROUTE " };",
		   "t.conf:2: relay.smart_hosts.[0].auth_file: AUTH needs TLS (tls = \"none\")");
	EXPECT_ERR("relay = { " HOST "auth_file = \"/a\"; }); " ROUTE " };",
		   "t.conf:2: relay.smart_hosts.[0].auth_file: AUTH needs TLS: tls = "
		   "\"required\" or \"verify\" (opportunistic may send in clear)");
	EXPECT_ERR("relay = { smart_hosts = ({ name = \"a\"; host = \"198.18.1.2\"; },\n"
		   "{ name = \"a\"; host = \"198.18.1.3\"; }); " ROUTE " };",
		   "t.conf:3: relay.smart_hosts.[1].name: smart host \"a\" is defined twice");
	EXPECT_ERR("relay = { " HOST "mx = 1; }); " ROUTE " };",
		   "t.conf:2: relay.smart_hosts.[0].mx: unknown key (expected one of: name, "
		   "host, port, cost, tls, ca_file, auth_file, max_conns, msgs_per_conn)");
	EXPECT_ERR("relay = { " HOST "}); routes = ({ domain = \"ex*.com\"; hosts = [\"a\"]; }); };",
		   "t.conf:2: relay.routes.[0].domain: expected \"*\", \"example.com\" or "
		   "\"*.example.com\", got \"ex*.com\"");
	EXPECT_ERR("relay = { " HOST "}); routes = ({ domain = \"a..b\"; hosts = [\"a\"]; }); };",
		   "t.conf:2: relay.routes.[0].domain: expected \"*\", \"example.com\" or "
		   "\"*.example.com\", got \"a..b\"");
	EXPECT_ERR("relay = { " HOST "}); routes = ({ domain = \"*\"; hosts = [\"b\"]; }); };",
		   "t.conf:2: relay.routes.[0].hosts.[0]: no smart host is named \"b\"");
	EXPECT_ERR("relay = { " HOST "}); routes = ({ domain = \"*\"; hosts = []; }); };",
		   "t.conf:2: relay.routes.[0].hosts: must name 1..8 smart hosts, got 0");
	EXPECT_ERR("relay = { " HOST "}); routes = ({ domain = \"*\"; hosts = [\"a\", \"a\"]; }); };",
		   "t.conf:2: relay.routes.[0].hosts.[1]: \"a\" is named twice");
	EXPECT_ERR("relay = { " HOST "}); routes = ({ domain = \"X.org\"; hosts = [\"a\"]; },\n"
		   "{ domain = \"x.ORG\"; hosts = [\"a\"]; }); };",
		   "t.conf:3: relay.routes.[1].domain: route \"x.org\" is defined twice");
	EXPECT_ERR("relay = { " HOST "}); " ROUTE " retry_s = [5, 3]; };",
		   "t.conf:2: relay.retry_s.[1]: must not be shorter than the step before (5), got 3");
	EXPECT_ERR("relay = { " HOST "}); " ROUTE " retry_s = [0]; };",
		   "t.conf:2: relay.retry_s.[0]: must be 1..86400, got 0");
	EXPECT_ERR("relay = { " HOST "}); " ROUTE " retry_s = [10]; lifetime_s = 5; };",
		   "t.conf:2: relay.lifetime_s: must not be shorter than the first retry step (10)");
}

static void test_route_find(void)
{
	const struct conf_relay *r = &C.relay;
	size_t len;
	const char *d;

	CU_ASSERT_EQUAL_FATAL(conf_load_string(with_relay(FULL), "t.conf", &C, E,
					       sizeof(E)), 0);
	CU_ASSERT_EQUAL(relay_route_find(r, "example.com", 11), 2);
	CU_ASSERT_EQUAL(relay_route_find(r, "EXAMPLE.Com", 11), 2);
	CU_ASSERT_EQUAL(relay_route_find(r, "mx.example.com", 14), 1);
	CU_ASSERT_EQUAL(relay_route_find(r, "a.b.example.com", 15), 1);
	CU_ASSERT_EQUAL(relay_route_find(r, "xexample.com", 12), 3);
	CU_ASSERT_EQUAL(relay_route_find(r, "other.com", 9), 3);
	CU_ASSERT_EQUAL(relay_route_find(r, "example.org", 11), 0);
	CU_ASSERT_EQUAL(relay_route_find(r, "com", 3), 0);
	d = relay_route_domain("u@x@Example.com", 15, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_EQUAL(len, 11);
	CU_ASSERT_EQUAL(relay_route_find(r, d, len), 2);
	CU_ASSERT_PTR_NULL(relay_route_domain("postmaster", 10, &len));
	CU_ASSERT_PTR_NULL(relay_route_domain("u@", 2, &len));
	conf_free(&C);
	/* without a "*" route an unmatched domain has none */
	CU_ASSERT_EQUAL_FATAL(conf_load_string(with_relay("relay = { " HOST "}); routes = "
		"({ domain = \"a.org\"; hosts = [\"a\"]; }); };"), "t.conf", &C, E,
		sizeof(E)), 0);
	CU_ASSERT_EQUAL(relay_route_find(r, "b.org", 5), -ENOENT);
	conf_free(&C);
}

static void test_route_order(void)
{
	const struct conf_relay *r = &C.relay;
	uint8_t o[CONF_RELAY_ROUTE_HOSTS];

	CU_ASSERT_EQUAL_FATAL(conf_load_string(with_relay(FULL), "t.conf", &C, E,
					       sizeof(E)), 0);
	/* route "*": a (10), b (10), d (20): a and b alternate, d last */
	CU_ASSERT_EQUAL(relay_route_order(r, 0, 0, o), 3);
	CU_ASSERT(o[0] == 0 && o[1] == 1 && o[2] == 3);
	CU_ASSERT_EQUAL(relay_route_order(r, 0, 1, o), 3);
	CU_ASSERT(o[0] == 1 && o[1] == 0 && o[2] == 3);
	CU_ASSERT_EQUAL(relay_route_order(r, 0, 2, o), 3);
	CU_ASSERT(o[0] == 0 && o[1] == 1 && o[2] == 3);
	/* route "*.example.com": c (5) before a (10), whatever the counter */
	for (uint32_t rr = 0; rr < 3; rr++) {
		CU_ASSERT_EQUAL(relay_route_order(r, 1, rr, o), 2);
		CU_ASSERT(o[0] == 2 && o[1] == 0);
	}
	conf_free(&C);
}

void test_relay_conf_register(void)
{
	CU_pSuite s = CU_add_suite("relay_conf", NULL, NULL);

	if (s == NULL)
		return;
	CU_add_test(s, "a full section and the defaults", test_load);
	CU_add_test(s, "exact errors", test_errors);
	CU_add_test(s, "most specific route", test_route_find);
	CU_add_test(s, "cost order and round-robin", test_route_order);
}
