/*
 * test_http: the HTTP listener's credential check (http_auth_ok: Bearer
 * token, Basic user:password, neither configured) and the control.http
 * config group (listen parsing, the rule that a listener off loopback
 * needs a credential), with the exact error an operator sees.
 */
#include <errno.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "control/config.h"
#include "control/http_auth.h"
#include "tests/unit/suites.h"

static void test_auth_none_configured(void)
{
	struct conf_http c = {.on = true};

	CU_ASSERT_TRUE(http_auth_ok(&c, NULL));
	CU_ASSERT_TRUE(http_auth_ok(&c, "Bearer whatever"));
}

static void test_auth_token(void)
{
	struct conf_http c = {.on = true};

	strcpy(c.token, "s3cret");
	CU_ASSERT_TRUE(http_auth_ok(&c, "Bearer s3cret"));
	CU_ASSERT_TRUE(http_auth_ok(&c, "bearer s3cret"));
	CU_ASSERT_FALSE(http_auth_ok(&c, NULL));
	CU_ASSERT_FALSE(http_auth_ok(&c, ""));
	CU_ASSERT_FALSE(http_auth_ok(&c, "Bearer s3cre"));
	CU_ASSERT_FALSE(http_auth_ok(&c, "Bearer s3cret2"));
	CU_ASSERT_FALSE(http_auth_ok(&c, "Bearer S3CRET"));
	CU_ASSERT_FALSE(http_auth_ok(&c, "s3cret"));
	CU_ASSERT_FALSE(http_auth_ok(&c, "Basic czNjcmV0"));
}

static void test_auth_basic(void)
{
	struct conf_http c = {.on = true};

	strcpy(c.basic, "admin:pa ss");
	/* base64("admin:pa ss") */
	CU_ASSERT_TRUE(http_auth_ok(&c, "Basic YWRtaW46cGEgc3M="));
	CU_ASSERT_FALSE(http_auth_ok(&c, "Basic YWRtaW46cGEgc3N="));
	CU_ASSERT_FALSE(http_auth_ok(&c, "Basic YWRtaW46cGE="));
	CU_ASSERT_FALSE(http_auth_ok(&c, "Bearer admin:pa ss"));
	CU_ASSERT_FALSE(http_auth_ok(&c, NULL));
	strcpy(c.token, "tok");             /* either one will do */
	CU_ASSERT_TRUE(http_auth_ok(&c, "Bearer tok"));
	CU_ASSERT_TRUE(http_auth_ok(&c, "Basic YWRtaW46cGEgc3M="));
}

#define CONF_HEAD \
	"eal = [\"--no-pci\"];\n" \
	"ports = ({ name = \"in\"; device = \"net_null0\"; address = \"10.0.0.1/24\"; });\n" \
	"control = { socket = \"/tmp/x.sock\";\n"

static int load(const char *http, struct conf *c, char *err, size_t len)
{
	char text[1024];

	snprintf(text, sizeof(text), CONF_HEAD "%s };\n", http);
	return conf_load_string(text, "t.conf", c, err, len);
}

static void test_conf_default_loopback(void)
{
	struct conf c;
	char err[CONF_ERR_LEN] = "";

	CU_ASSERT_EQUAL_FATAL(load("", &c, err, sizeof(err)), 0);
	CU_ASSERT_FALSE(c.http.on);
	conf_free(&c);
	CU_ASSERT_EQUAL_FATAL(load("http = { };", &c, err, sizeof(err)), 0);
	CU_ASSERT_TRUE(c.http.on);
	CU_ASSERT_EQUAL(c.http.addr, 0x7f000001);
	CU_ASSERT_EQUAL(c.http.port, 8025);
	conf_free(&c);
}

static void test_conf_off_loopback(void)
{
	struct conf c;
	char err[CONF_ERR_LEN] = "";

	CU_ASSERT_EQUAL(load("http = { listen = \"0.0.0.0:80\"; };", &c, err,
			     sizeof(err)), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "t.conf:4: control.http.listen: listening on "
			       "0.0.0.0:80 off loopback needs a token or basic_auth");
	CU_ASSERT_EQUAL_FATAL(load("http = { listen = \"10.0.0.1:8080\"; token = \"t\"; };",
				   &c, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(c.http.addr, 0x0a000001);
	CU_ASSERT_EQUAL(c.http.port, 8080);
	CU_ASSERT_STRING_EQUAL(c.http.token, "t");
	conf_free(&c);
	CU_ASSERT_EQUAL_FATAL(load("http = { listen = \"10.0.0.1:8080\"; basic_auth = \"u:p\"; };",
				   &c, err, sizeof(err)), 0);
	conf_free(&c);
	CU_ASSERT_EQUAL(load("http = { listen = \"10.0.0.1:8080\"; basic_auth = \"up\"; };",
			     &c, err, sizeof(err)), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "t.conf:4: control.http.basic_auth: must be "
			       "\"user:password\"");
}

static void test_conf_bad_listen(void)
{
	static const char *const bad[] = {"127.0.0.1", "127.0.0.1:", "127.0.0.1:0",
					  "127.0.0.1:65536", "localhost:80",
					  "127.0.0.1:80x"};
	uint32_t a;
	uint16_t p;

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CU_ASSERT_EQUAL(conf_http_parse_listen(bad[i], &a, &p), -EINVAL);
	CU_ASSERT_EQUAL(conf_http_parse_listen("127.0.0.2:1", &a, &p), 0);
	CU_ASSERT_EQUAL(a, 0x7f000002);
	CU_ASSERT_EQUAL(p, 1);
	CU_ASSERT_TRUE(conf_http_loopback(a));
	CU_ASSERT_FALSE(conf_http_loopback(0x80000001));
}

void test_http_register(void)
{
	CU_pSuite s = CU_add_suite("http", NULL, NULL);

	CU_add_test(s, "no credential configured: open", test_auth_none_configured);
	CU_add_test(s, "Bearer token", test_auth_token);
	CU_add_test(s, "Basic user:password", test_auth_basic);
	CU_add_test(s, "config: off by default, loopback:8025", test_conf_default_loopback);
	CU_add_test(s, "config: off loopback needs a credential", test_conf_off_loopback);
	CU_add_test(s, "config: malformed listen", test_conf_bad_listen);
}
