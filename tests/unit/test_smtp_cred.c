/*
 * test_smtp_cred: the credentials file — what loads, what is refused and
 * with which "file:line" message, password verification for yescrypt and
 * SHA-512 hashes (including lines made by tools/sluice-passwd), and the
 * failed-AUTH limiter's decay, bounds and counters.
 */
#include <sys/socket.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "dataplane/smtp/smtp_cred.h"
#include "tests/unit/suites.h"
#include "tests/unit/test_ip.h"

/* Made with tools/sluice-passwd: alice/"hunter2" (yescrypt) and
 * bob/"pw with space" (-m sha512). */
#define ALICE "alice:$y$j9T$Zw6agfFSg6iRARwqhq0jo0$3LD1X67RfV3HJeereryblCNvqjiI3KZ3pRkBR3CteE2"
#define BOB "bob:$6$F2kT58nct58HCq1D$nwdHs4kJ4dGugq3MHh2zYQqZWkGADWVnw4OqhBesYaq70m1dSU7bppK.YfE0zhjmcGU6uik.qk5JjoV1lbN9w1"

static struct smtp_cred *parse_ok(const char *text)
{
	struct smtp_cred *c = NULL;
	char err[256] = "";

	CU_ASSERT_EQUAL(smtp_cred_parse(text, strlen(text), "users", &c, err,
					sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(err, "");
	return c;
}

static void test_verify(void)
{
	struct smtp_cred *c = parse_ok(
		"# AUTH users of the gateway\n"
		"\n" ALICE "\r\n"
		"   # indented comment\n"
		"\t" BOB "  \n");

	CU_ASSERT_FATAL(c != NULL);
	CU_ASSERT_EQUAL(smtp_cred_count(c), 2);
	CU_ASSERT_TRUE(smtp_cred_verify(c, "alice", "hunter2"));
	CU_ASSERT_TRUE(smtp_cred_verify(c, "bob", "pw with space"));
	CU_ASSERT_FALSE(smtp_cred_verify(c, "alice", "hunter3"));
	CU_ASSERT_FALSE(smtp_cred_verify(c, "alice", "hunter2 "));
	CU_ASSERT_FALSE(smtp_cred_verify(c, "alice", ""));
	CU_ASSERT_FALSE(smtp_cred_verify(c, "alice", "pw with space"));
	CU_ASSERT_FALSE(smtp_cred_verify(c, "bob", "hunter2"));
	CU_ASSERT_FALSE(smtp_cred_verify(c, "Alice", "hunter2"));
	CU_ASSERT_FALSE(smtp_cred_verify(c, "carol", "hunter2"));
	CU_ASSERT_FALSE(smtp_cred_verify(c, "", ""));
	smtp_cred_free(c);
}

static void test_long_password(void)
{
	struct smtp_cred *c = parse_ok(ALICE "\n");
	char *pass = malloc(20000);

	CU_ASSERT_FATAL(c != NULL && pass != NULL);
	memset(pass, 'p', 19999);
	pass[19999] = '\0';
	CU_ASSERT_FALSE(smtp_cred_verify(c, "alice", pass));
	free(pass);
	smtp_cred_free(c);
}

static void test_empty(void)
{
	struct smtp_cred *c = parse_ok("# nobody yet\n\n");

	CU_ASSERT_FATAL(c != NULL);
	CU_ASSERT_EQUAL(smtp_cred_count(c), 0);
	CU_ASSERT_FALSE(smtp_cred_verify(c, "alice", "hunter2"));
	smtp_cred_free(c);
}

static void assert_refused(const char *text, size_t len, const char *want)
{
	struct smtp_cred *c = NULL;
	char err[256] = "";

	CU_ASSERT_EQUAL(smtp_cred_parse(text, len, "users", &c, err,
					sizeof(err)), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err, want);
	CU_ASSERT_PTR_NULL(c);
}

#define REFUSED(text, want) assert_refused(text, sizeof(text) - 1, want)

static void test_refused(void)
{
	static char long_line[SMTP_CRED_LINE_MAX + 2];

	REFUSED("# users\nalice\n", "users:2: expected user:hash");
	REFUSED(":$6$abc$def\n", "users:1: user name must be 1..255 characters "
		"without blanks or control characters");
	REFUSED("al ice:$6$abc$def\n", "users:1: user name must be 1..255 "
		"characters without blanks or control characters");
	REFUSED("alice:\n", "users:1: user alice: empty hash");
	REFUSED("alice:hunter2\n", "users:1: user alice: not a crypt(3) hash "
		"(make one with tools/sluice-passwd)");
	REFUSED("alice:$1$mx1iT77X$td.bZ9x2C.Hy6CRLE9R2t/\n",
		"users:1: user alice: legacy hash method, rehash with "
		"tools/sluice-passwd");
	REFUSED("alice:$9$nosuch$method\n", "users:1: user alice: hash method "
		"not supported by libcrypt");
	REFUSED("alice:$6$ab c$def\n", "users:1: user alice: blank or control "
		"character in hash");
	REFUSED(BOB "\n" ALICE "\n\n" "alice:$6$x$y\n",
		"users:4: duplicate user alice (first on line 2)");
	REFUSED(ALICE "\nbob\0:x\n", "users:2: NUL byte");
	memset(long_line, 'a', sizeof(long_line) - 1);
	assert_refused(long_line, sizeof(long_line) - 1,
		       "users:1: line longer than 1024 bytes");
}

static void test_load_file(void)
{
	char path[] = "/tmp/sluice-users-XXXXXX", err[256];
	struct smtp_cred *c = NULL;
	int fd = mkstemp(path);
	FILE *f;

	CU_ASSERT_FATAL(fd >= 0);
	f = fdopen(fd, "w");
	fputs(ALICE "\n" BOB, f); /* no newline at the end */
	fclose(f);
	CU_ASSERT_EQUAL_FATAL(smtp_cred_load(path, &c, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(smtp_cred_count(c), 2);
	CU_ASSERT_TRUE(smtp_cred_verify(c, "bob", "pw with space"));
	smtp_cred_free(c);
	f = fopen(path, "a");
	fputs("\ncarol\n", f);
	fclose(f);
	CU_ASSERT_EQUAL(smtp_cred_load(path, &c, err, sizeof(err)), -EINVAL);
	CU_ASSERT(strncmp(err, path, strlen(path)) == 0);
	CU_ASSERT_STRING_EQUAL(err + strlen(path), ":3: expected user:hash");
	unlink(path);
	CU_ASSERT_EQUAL(smtp_cred_load(path, &c, err, sizeof(err)), -ENOENT);
	CU_ASSERT(strstr(err, ": No such file or directory") != NULL);
	CU_ASSERT_EQUAL(smtp_cred_load("/tmp", &c, err, sizeof(err)), -EINVAL);
}

/* tools/sluice-passwd's line, loaded and verified. */
static void passwd_round_trip(const char *opts, const char *pass)
{
	char cmd[512], line[512], err[256];
	struct smtp_cred *c = NULL;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "printf '%%s\\n' '%s' | %s/tools/sluice-passwd %s dave",
		 pass, SLUICE_SOURCE_ROOT, opts);
	p = popen(cmd, "r");
	CU_ASSERT_FATAL(p != NULL);
	CU_ASSERT_PTR_NOT_NULL(fgets(line, sizeof(line), p));
	CU_ASSERT_EQUAL(pclose(p), 0);
	CU_ASSERT_EQUAL_FATAL(smtp_cred_parse(line, strlen(line), "tool", &c,
					      err, sizeof(err)), 0);
	CU_ASSERT_TRUE(smtp_cred_verify(c, "dave", pass));
	CU_ASSERT_FALSE(smtp_cred_verify(c, "dave", "wrong"));
	smtp_cred_free(c);
}

static void test_passwd_tool(void)
{
	passwd_round_trip("", "correct horse battery staple");
	passwd_round_trip("-m sha512", "s3cret:with#odd$chars");
}

/* ---- smtp_authlimit --------------------------------------------------- */

#define SEC 1000000ull

static struct smtp_authlimit *limiter(uint32_t slots)
{
	struct smtp_authlimit_params p = {.slots = slots, .max_failures = 3,
					  .window_us = 300 * SEC};
	struct smtp_authlimit *l = NULL;

	CU_ASSERT_EQUAL_FATAL(smtp_authlimit_create(&p, &l), 0);
	return l;
}

static void test_limit_decay(void)
{
	struct smtp_authlimit *l = limiter(64);
	struct smtp_ip a = test_ip_v4("198.18.0.9"), b = test_ip_v4("198.18.0.10");
	struct smtp_authlimit_stats st;
	uint64_t t = 1000 * SEC;

	for (int i = 0; i < 3; i++) {
		CU_ASSERT_TRUE(smtp_authlimit_check(l, &a, t + i * SEC));
		smtp_authlimit_failed(l, &a, t + i * SEC);
	}
	CU_ASSERT_FALSE(smtp_authlimit_check(l, &a, t + 3 * SEC));
	CU_ASSERT_FALSE(smtp_authlimit_check(l, &a, t + 99 * SEC));
	CU_ASSERT_TRUE(smtp_authlimit_check(l, &b, t + 3 * SEC));
	/* One attempt back per window / max = 100 s. */
	CU_ASSERT_TRUE(smtp_authlimit_check(l, &a, t + 102 * SEC));
	smtp_authlimit_failed(l, &a, t + 102 * SEC);
	CU_ASSERT_FALSE(smtp_authlimit_check(l, &a, t + 103 * SEC));
	/* Fully decayed: the entry is gone. */
	CU_ASSERT_TRUE(smtp_authlimit_check(l, &a, t + 1000 * SEC));
	smtp_authlimit_stats(l, &st);
	CU_ASSERT_EQUAL(st.denied, 3);
	CU_ASSERT_EQUAL(st.failures, 4);
	CU_ASSERT_EQUAL(st.tracked, 0);
	CU_ASSERT_EQUAL(st.evictions, 0);
	smtp_authlimit_free(l);
}

static void test_limit_success_and_cap(void)
{
	struct smtp_authlimit *l = limiter(64);
	struct smtp_ip a = test_ip_v4("203.0.113.5");
	struct smtp_authlimit_stats st;

	/* Failing on while denied does not dig deeper than one window. */
	for (int i = 0; i < 50; i++)
		smtp_authlimit_failed(l, &a, 10 * SEC);
	CU_ASSERT_FALSE(smtp_authlimit_check(l, &a, 10 * SEC));
	CU_ASSERT_TRUE(smtp_authlimit_check(l, &a, 110 * SEC));
	smtp_authlimit_failed(l, &a, 110 * SEC);
	CU_ASSERT_FALSE(smtp_authlimit_check(l, &a, 110 * SEC));
	smtp_authlimit_succeeded(l, &a);
	CU_ASSERT_TRUE(smtp_authlimit_check(l, &a, 110 * SEC));
	smtp_authlimit_stats(l, &st);
	CU_ASSERT_EQUAL(st.tracked, 0);
	smtp_authlimit_free(l);
}

static void test_limit_ipv6_prefix(void)
{
	struct smtp_authlimit *l = limiter(64);
	struct smtp_ip a = test_ip_v6("2001:db8:1:2::1"), b = test_ip_v6("2001:db8:1:2:ffff::9"),
			 other = test_ip_v6("2001:db8:1:3::1"), m = test_ip_v6("::ffff:198.18.0.9"),
			 m4 = test_ip_v4("198.18.0.9");

	for (int i = 0; i < 2; i++)
		smtp_authlimit_failed(l, &a, SEC);
	smtp_authlimit_failed(l, &b, SEC);
	CU_ASSERT_FALSE(smtp_authlimit_check(l, &a, 2 * SEC));
	CU_ASSERT_FALSE(smtp_authlimit_check(l, &b, 2 * SEC));
	CU_ASSERT_TRUE(smtp_authlimit_check(l, &other, 2 * SEC));
	/* A mapped address is the IPv4 client it carries. */
	for (int i = 0; i < 3; i++)
		smtp_authlimit_failed(l, &m4, SEC);
	CU_ASSERT_FALSE(smtp_authlimit_check(l, &m, 2 * SEC));
	smtp_authlimit_free(l);
}

static void test_limit_bounded(void)
{
	struct smtp_authlimit *l = limiter(8);
	struct smtp_authlimit_stats st;
	struct smtp_ip a = {.family = AF_INET};

	for (uint32_t i = 0; i < 1000; i++) {
		a.v4 = 0xc6120000 + i;
		smtp_authlimit_failed(l, &a, SEC + i);
	}
	smtp_authlimit_stats(l, &st);
	CU_ASSERT_EQUAL(st.failures, 1000);
	CU_ASSERT(st.tracked <= 8);
	CU_ASSERT_EQUAL(st.tracked + st.evictions, 1000);
	/* The newest entry survives; an evicted one starts afresh. */
	a.v4 = 0xc6120000 + 999;
	smtp_authlimit_failed(l, &a, SEC + 1000);
	smtp_authlimit_failed(l, &a, SEC + 1000);
	CU_ASSERT_FALSE(smtp_authlimit_check(l, &a, SEC + 1001));
	smtp_authlimit_free(l);
}

static void test_limit_params(void)
{
	struct smtp_authlimit *l = NULL;
	struct smtp_authlimit_params p = SMTP_AUTHLIMIT_DEFAULT;

	CU_ASSERT_EQUAL(smtp_authlimit_create(&p, &l), 0);
	smtp_authlimit_free(l);
	p.max_failures = 0;
	CU_ASSERT_EQUAL(smtp_authlimit_create(&p, &l), -EINVAL);
	p = SMTP_AUTHLIMIT_DEFAULT;
	p.slots = 0;
	CU_ASSERT_EQUAL(smtp_authlimit_create(&p, &l), -EINVAL);
	p = SMTP_AUTHLIMIT_DEFAULT;
	p.window_us = 2;
	CU_ASSERT_EQUAL(smtp_authlimit_create(&p, &l), -EINVAL);
}

void test_smtp_cred_register(void)
{
	CU_pSuite s = CU_add_suite("smtp_cred", NULL, NULL);

	CU_add_test(s, "verify", test_verify);
	CU_add_test(s, "very long password", test_long_password);
	CU_add_test(s, "empty file", test_empty);
	CU_add_test(s, "bad lines refused", test_refused);
	CU_add_test(s, "load a file", test_load_file);
	CU_add_test(s, "sluice-passwd lines verify", test_passwd_tool);
	s = CU_add_suite("smtp_authlimit", NULL, NULL);
	CU_add_test(s, "decay", test_limit_decay);
	CU_add_test(s, "success and cap", test_limit_success_and_cap);
	CU_add_test(s, "ipv6 by /64", test_limit_ipv6_prefix);
	CU_add_test(s, "bounded table", test_limit_bounded);
	CU_add_test(s, "parameters", test_limit_params);
}
