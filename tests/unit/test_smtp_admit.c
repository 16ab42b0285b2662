/*
 * test_smtp_admit: the allow list — CIDR strings accepted and refused with
 * the message an operator sees, lookups in the rte_lpm/rte_lpm6 tables
 * (IPv4-mapped IPv6 included), the policy's verdicts and the exact reply
 * an unknown source gets.
 */
#include <sys/socket.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <rte_memory.h>

#include "dataplane/smtp/smtp_admit.h"
#include "tests/unit/suites.h"
#include "tests/unit/test_ip.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Parses S and formats it back. */
static void assert_canonical(const char *s, const char *want)
{
	struct smtp_cidr c;
	char err[128] = "", got[SMTP_CIDR_STRLEN];

	CU_ASSERT_EQUAL_FATAL(smtp_cidr_parse(s, &c, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(err, "");
	smtp_cidr_format(&c, got, sizeof(got));
	CU_ASSERT_STRING_EQUAL(got, want);
}

static void test_parse_good(void)
{
	struct smtp_cidr c;

	CU_ASSERT_EQUAL(smtp_cidr_parse("10.0.0.0/8", &c, NULL, 0), 0);
	CU_ASSERT_EQUAL(c.net.family, AF_INET);
	CU_ASSERT_EQUAL(c.net.v4, 0x0a000000);
	CU_ASSERT_EQUAL(c.depth, 8);
	assert_canonical("198.18.0.9", "198.18.0.9/32");
	assert_canonical("192.168.1.128/25", "192.168.1.128/25");
	assert_canonical("0.0.0.0/0", "0.0.0.0/0");
	assert_canonical("2001:db8::/32", "2001:db8::/32");
	assert_canonical("2001:DB8:0:0::/48", "2001:db8::/48");
	assert_canonical("::1", "::1/128");
	assert_canonical("::/0", "::/0");
	assert_canonical("::ffff:10.0.0.0/104", "::ffff:10.0.0.0/104");
	CU_ASSERT_EQUAL(smtp_cidr_parse("2001:db8::/32", &c, NULL, 0), 0);
	CU_ASSERT_EQUAL(c.net.family, AF_INET6);
	CU_ASSERT_EQUAL(c.depth, 32);
	CU_ASSERT_EQUAL(c.net.v6[0], 0x20);
	CU_ASSERT_EQUAL(c.net.v6[3], 0xb8);
}

static void assert_refused(const char *s, const char *want)
{
	struct smtp_cidr c;
	char err[160] = "";

	CU_ASSERT_EQUAL(smtp_cidr_parse(s, &c, err, sizeof(err)), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err, want);
}

static void test_parse_bad(void)
{
	assert_refused("", "allow entry \"\": no address");
	assert_refused("/8", "allow entry \"/8\": no address");
	assert_refused("10.0.0.0/33",
		       "allow entry \"10.0.0.0/33\": prefix length must be 0..32");
	assert_refused("10.0.0.0/",
		       "allow entry \"10.0.0.0/\": prefix length must be 0..32");
	assert_refused("10.0.0.0/08",
		       "allow entry \"10.0.0.0/08\": prefix length must be 0..32");
	assert_refused("10.0.0.0/+8",
		       "allow entry \"10.0.0.0/+8\": prefix length must be 0..32");
	assert_refused("10.0.0.0/8/8",
		       "allow entry \"10.0.0.0/8/8\": prefix length must be 0..32");
	assert_refused("2001:db8::/129",
		       "allow entry \"2001:db8::/129\": prefix length must be 0..128");
	assert_refused("10.1.2.3/8",
		       "allow entry \"10.1.2.3/8\": host bits set (network is 10.0.0.0/8)");
	assert_refused("2001:db8::1/32",
		       "allow entry \"2001:db8::1/32\": host bits set (network is 2001:db8::/32)");
	assert_refused("300.1.1.1",
		       "allow entry \"300.1.1.1\": not an IPv4 address");
	assert_refused("10.0.0",
		       "allow entry \"10.0.0\": not an IPv4 address");
	assert_refused("010.0.0.1",
		       "allow entry \"010.0.0.1\": not an IPv4 address");
	assert_refused(" 10.0.0.0/8",
		       "allow entry \" 10.0.0.0/8\": not an IPv4 address");
	assert_refused("10.0.0.0/8 ",
		       "allow entry \"10.0.0.0/8 \": prefix length must be 0..32");
	assert_refused("fe80::1%eth0",
		       "allow entry \"fe80::1%eth0\": not an IPv6 address");
	assert_refused("mail.example.com",
		       "allow entry \"mail.example.com\": not an IPv4 address");
}

static void test_parse_long(void)
{
	char s[200], err[200];
	struct smtp_cidr c;

	memset(s, '1', sizeof(s) - 1);
	s[sizeof(s) - 1] = '\0';
	CU_ASSERT_EQUAL(smtp_cidr_parse(s, &c, err, sizeof(err)), -EINVAL);
	CU_ASSERT(strstr(err, "...\": too long") != NULL);
	/* A short error buffer is truncated, not overrun. */
	CU_ASSERT_EQUAL(smtp_cidr_parse("x", &c, err, 8), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "allow e");
}

static const char *const LIST[] = {
	"10.0.0.0/8", "198.18.0.2", "192.168.1.128/25", "2001:db8::/32",
	"::ffff:172.16.0.0/108", "2001:db8:ffff::1",
};

static void test_lookup(void)
{
	struct smtp_admit *a;
	char err[128];
	struct {
		struct smtp_ip addr;
		enum smtp_admit_result want;
	} cases[] = {
		{test_ip_v4("10.1.2.3"), SMTP_ADMIT_ALLOWED},
		{test_ip_v4("10.255.255.255"), SMTP_ADMIT_ALLOWED},
		{test_ip_v4("11.0.0.0"), SMTP_ADMIT_UNKNOWN},
		{test_ip_v4("198.18.0.2"), SMTP_ADMIT_ALLOWED},
		{test_ip_v4("198.18.0.3"), SMTP_ADMIT_UNKNOWN},
		{test_ip_v4("192.168.1.200"), SMTP_ADMIT_ALLOWED},
		{test_ip_v4("192.168.1.127"), SMTP_ADMIT_UNKNOWN},
		{test_ip_v4("172.31.1.1"), SMTP_ADMIT_ALLOWED}, /* from the mapped entry */
		{test_ip_v4("172.32.0.0"), SMTP_ADMIT_UNKNOWN},
		{test_ip_v6("2001:db8:1::5"), SMTP_ADMIT_ALLOWED},
		{test_ip_v6("2001:db9::"), SMTP_ADMIT_UNKNOWN},
		{test_ip_v6("2001:db8:ffff::1"), SMTP_ADMIT_ALLOWED},
		{test_ip_v6("::ffff:10.9.9.9"), SMTP_ADMIT_ALLOWED},
		{test_ip_v6("::ffff:198.18.0.3"), SMTP_ADMIT_UNKNOWN},
		{test_ip_v6("::10.9.9.9"), SMTP_ADMIT_UNKNOWN}, /* compatible, not mapped */
		{test_ip_v6("::1"), SMTP_ADMIT_UNKNOWN},
		{{.family = AF_UNIX}, SMTP_ADMIT_UNKNOWN},
	};

	CU_ASSERT_EQUAL_FATAL(smtp_admit_build(LIST, NELEM(LIST), 1,
					       SOCKET_ID_ANY, &a, err,
					       sizeof(err)), 0);
	for (size_t i = 0; i < NELEM(cases); i++) {
		if (smtp_admit_lookup(a, &cases[i].addr) != cases[i].want)
			CU_FAIL("wrong lookup result");
	}
	smtp_admit_free(a);
}

static void test_empty_and_everything(void)
{
	static const char *const all4[] = {"0.0.0.0/0"};
	static const char *const all6[] = {"::/0"};
	struct smtp_admit *a;
	struct smtp_ip x4 = test_ip_v4("203.0.113.7"), x6 = test_ip_v6("2001:db8::7");

	CU_ASSERT_EQUAL_FATAL(smtp_admit_build(NULL, 0, 2, SOCKET_ID_ANY, &a,
					       NULL, 0), 0);
	CU_ASSERT_EQUAL(smtp_admit_lookup(a, &x4), SMTP_ADMIT_UNKNOWN);
	CU_ASSERT_EQUAL(smtp_admit_lookup(a, &x6), SMTP_ADMIT_UNKNOWN);
	smtp_admit_free(a);
	CU_ASSERT_EQUAL_FATAL(smtp_admit_build(all4, 1, 2, SOCKET_ID_ANY, &a,
					       NULL, 0), 0);
	CU_ASSERT_EQUAL(smtp_admit_lookup(a, &x4), SMTP_ADMIT_ALLOWED);
	CU_ASSERT_EQUAL(smtp_admit_lookup(a, &x6), SMTP_ADMIT_UNKNOWN);
	smtp_admit_free(a);
	/* ::/0 contains ::ffff:0:0/96, hence every IPv4 address too. */
	CU_ASSERT_EQUAL_FATAL(smtp_admit_build(all6, 1, 2, SOCKET_ID_ANY, &a,
					       NULL, 0), 0);
	CU_ASSERT_EQUAL(smtp_admit_lookup(a, &x4), SMTP_ADMIT_ALLOWED);
	CU_ASSERT_EQUAL(smtp_admit_lookup(a, &x6), SMTP_ADMIT_ALLOWED);
	smtp_admit_free(a);
}

static void test_build_errors(void)
{
	static const char *const bad[] = {"10.0.0.0/8", "192.0.2.0/33"};
	struct smtp_admit *a = NULL, *b = NULL;
	char err[128];

	CU_ASSERT_EQUAL(smtp_admit_build(bad, 2, 3, SOCKET_ID_ANY, &a, err,
					 sizeof(err)), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "allow entry \"192.0.2.0/33\": "
				    "prefix length must be 0..32");
	CU_ASSERT_PTR_NULL(a);
	/* Two snapshots' tables live side by side, under different ids. */
	CU_ASSERT_EQUAL_FATAL(smtp_admit_build(LIST, NELEM(LIST), 4,
					       SOCKET_ID_ANY, &a, err,
					       sizeof(err)), 0);
	CU_ASSERT_EQUAL_FATAL(smtp_admit_build(LIST, 1, 5, SOCKET_ID_ANY, &b,
					       err, sizeof(err)), 0);
	smtp_admit_free(b);
	b = NULL;
	CU_ASSERT_EQUAL(smtp_admit_build(LIST, 1, 4, SOCKET_ID_ANY, &b, err,
					 sizeof(err)), -EEXIST);
	CU_ASSERT(strstr(err, "cannot create table sl_admit4_4") != NULL);
	CU_ASSERT_PTR_NULL(b);
	smtp_admit_free(a);
}

/* Enough rules to need many tbl8 groups: every /28 of a /16. */
static void test_many_entries(void)
{
	enum { N = 4096 };
	static char text[N][24];
	static const char *list[N];
	struct smtp_admit *a;
	char err[128];
	struct smtp_ip in = test_ip_v4("100.64.200.17"), out = test_ip_v4("100.65.0.1");

	for (int i = 0; i < N; i++) {
		snprintf(text[i], sizeof(text[i]), "100.64.%d.%d/28", i / 16,
			 (i % 16) * 16);
		list[i] = text[i];
	}
	CU_ASSERT_EQUAL_FATAL(smtp_admit_build(list, N, 6, SOCKET_ID_ANY, &a,
					       err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(smtp_admit_lookup(a, &in), SMTP_ADMIT_ALLOWED);
	CU_ASSERT_EQUAL(smtp_admit_lookup(a, &out), SMTP_ADMIT_UNKNOWN);
	smtp_admit_free(a);
}

static void test_decide(void)
{
	struct smtp_admit_policy p = SMTP_ADMIT_POLICY_DEFAULT;

	CU_ASSERT_EQUAL(p.unknown, SMTP_UNKNOWN_TEMPFAIL);
	CU_ASSERT_FALSE(p.auth_admits_unknown);
	CU_ASSERT_EQUAL(smtp_admit_decide(&p, SMTP_ADMIT_ALLOWED), SMTP_ADMIT_GREET);
	CU_ASSERT_EQUAL(smtp_admit_decide(&p, SMTP_ADMIT_UNKNOWN), SMTP_ADMIT_REFUSE);
	p.unknown = SMTP_UNKNOWN_REJECT;
	CU_ASSERT_EQUAL(smtp_admit_decide(&p, SMTP_ADMIT_UNKNOWN), SMTP_ADMIT_REFUSE);
	p.unknown = SMTP_UNKNOWN_DROP;
	CU_ASSERT_EQUAL(smtp_admit_decide(&p, SMTP_ADMIT_UNKNOWN),
			SMTP_ADMIT_CLOSE_SILENTLY);
	p.auth_admits_unknown = true;
	CU_ASSERT_EQUAL(smtp_admit_decide(&p, SMTP_ADMIT_UNKNOWN),
			SMTP_ADMIT_GREET_AUTH);
	CU_ASSERT_EQUAL(smtp_admit_decide(&p, SMTP_ADMIT_ALLOWED), SMTP_ADMIT_GREET);
}

static void assert_reply(const struct smtp_admit_policy *p, const char *addr,
			 const char *want)
{
	struct smtp_ip a = strchr(addr, ':') ? test_ip_v6(addr) : test_ip_v4(addr);
	char buf[SMTP_ADMIT_REPLY_MAX];
	int n = smtp_admit_reply(p, &a, buf, sizeof(buf));

	CU_ASSERT_EQUAL(n, (int)strlen(want));
	if (n > 0)
		CU_ASSERT_STRING_EQUAL(buf, want);
}

static void test_reply(void)
{
	struct smtp_admit_policy p = SMTP_ADMIT_POLICY_DEFAULT;
	struct smtp_ip a = test_ip_v4("198.18.0.9");
	char small[20];

	assert_reply(&p, "198.18.0.9", "451 4.7.1 Client host 198.18.0.9 is not "
		     "authorized to relay through this gateway\r\n");
	assert_reply(&p, "::ffff:198.18.0.9", "451 4.7.1 Client host 198.18.0.9 "
		     "is not authorized to relay through this gateway\r\n");
	assert_reply(&p, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe",
		     "451 4.7.1 Client host ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe"
		     " is not authorized to relay through this gateway\r\n");
	p.unknown = SMTP_UNKNOWN_REJECT;
	assert_reply(&p, "2001:db8::9", "554 5.7.1 Client host 2001:db8::9 is "
		     "not authorized to relay through this gateway\r\n");
	CU_ASSERT_EQUAL(smtp_admit_reply(&p, &a, small, sizeof(small)), -ENOSPC);
	p.unknown = SMTP_UNKNOWN_DROP;
	CU_ASSERT_EQUAL(smtp_admit_reply(&p, &a, small, sizeof(small)), 0);
}

void test_smtp_admit_register(void)
{
	CU_pSuite s = CU_add_suite("smtp_admit", NULL, NULL);

	CU_add_test(s, "parse good entries", test_parse_good);
	CU_add_test(s, "parse bad entries", test_parse_bad);
	CU_add_test(s, "parse long entry", test_parse_long);
	CU_add_test(s, "lookup", test_lookup);
	CU_add_test(s, "empty list and /0", test_empty_and_everything);
	CU_add_test(s, "build errors", test_build_errors);
	CU_add_test(s, "4096 entries", test_many_entries);
	CU_add_test(s, "verdicts", test_decide);
	CU_add_test(s, "refusal reply", test_reply);
}
