/*
 * test_smtp_parse: the SMTP address (smtp_addr) and ESMTP parameter
 * (smtp_param) parsers on their own: tables of accepted paths with the
 * mailbox that comes out, rejected paths with their error, and MAIL / RCPT
 * parameter lists with the values kept; and line text (smtp_fmt) the same
 * as vsnprintf's, fixed, strings only or formatted, at every buffer size.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "dataplane/smtp/smtp_addr.h"
#include "dataplane/smtp/smtp_fmt.h"
#include "dataplane/smtp/smtp_param.h"
#include "tests/unit/suites.h"

static void test_addr_good(void)
{
	static const struct {
		const char *in;
		unsigned flags;
		const char *mailbox;
		size_t used;
		bool utf8;
	} t[] = {
		{"<a@b.c>", 0, "a@b.c", 7, false},
		{"<a.b-c+d@x-y.example.org> SIZE=1", 0, "a.b-c+d@x-y.example.org", 25, false},
		{"<\"john doe\"@b.c>", 0, "\"john doe\"@b.c", 16, false},
		{"<\"a\\\"b\\\\\"@b.c>", 0, "\"a\\\"b\\\\\"@b.c", 14, false},
		{"<a@[192.0.2.1]>", 0, "a@[192.0.2.1]", 15, false},
		{"<a@[IPv6:2001:db8::1]>", 0, "a@[IPv6:2001:db8::1]", 22, false},
		{"<a@[x-tag:stuff]>", 0, "a@[x-tag:stuff]", 17, false},
		{"<@r1.example,@r2.example:a@b.c>", 0, "a@b.c", 31, false},
		{"<@r\xc3\xa9.example:a@b.c>", 0, "a@b.c", 20, false},
		{"<>", SMTP_ADDR_NULL_OK, "", 2, false},
		{"<postmaster>", SMTP_ADDR_POSTMASTER_OK, "postmaster", 12, false},
		{"<Postmaster@b.c>", SMTP_ADDR_POSTMASTER_OK, "Postmaster@b.c", 16, false},
		{"<j\xc3\xb6rg@m\xc3\xbcller.de>", 0, "j\xc3\xb6rg@m\xc3\xbcller.de", 18, true},
		{"<!#$%&'*+-/=?^_`{|}~@b.c>", 0, "!#$%&'*+-/=?^_`{|}~@b.c", 25, false},
		{"<\xf0\x9f\x98\x80@b.c>", 0, "\xf0\x9f\x98\x80@b.c", 10, true},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct smtp_addr a;
		size_t used = 0;
		int rc = smtp_addr_parse(t[i].in, strlen(t[i].in), t[i].flags, &a, &used);

		CU_ASSERT_EQUAL(rc, 0);
		if (rc != 0) {
			fprintf(stderr, "rejected %s: %d\n", t[i].in, rc);
			continue;
		}
		CU_ASSERT_STRING_EQUAL(a.mailbox, t[i].mailbox);
		CU_ASSERT_EQUAL(a.len, strlen(t[i].mailbox));
		CU_ASSERT_EQUAL(used, t[i].used);
		CU_ASSERT_EQUAL(a.utf8, t[i].utf8);
	}
}

static void test_addr_bad(void)
{
	char local65[128], long_dom[400];

	snprintf(local65, sizeof(local65), "<%065d@b.c>", 0);
	memset(long_dom, 'a', sizeof(long_dom));
	memcpy(long_dom, "<x@", 3);
	for (size_t i = 63; i < 290; i += 63)
		long_dom[i] = '.';
	memcpy(long_dom + 290, ".com>", 6);

	static const struct {
		const char *in;
		unsigned flags;
		int rc;
	} t[] = {
		{"a@b.c", 0, -EINVAL},
		{"<a@b.c", 0, -EINVAL},
		{"<>", 0, -EINVAL},
		{"<postmaster>", 0, -EINVAL},
		{"<a@>", 0, -EINVAL},
		{"<@b.c>", 0, -EINVAL},
		{"<a..b@c.d>", 0, -EINVAL},
		{"<.a@c.d>", 0, -EINVAL},
		{"<a.@c.d>", 0, -EINVAL},
		{"<a@-b.c>", 0, -EINVAL},
		{"<a@b-.c>", 0, -EINVAL},
		{"<a@b..c>", 0, -EINVAL},
		{"<a b@c.d>", 0, -EINVAL},
		{"<a@b.c d>", 0, -EINVAL},
		{"<\"unterminated@b.c>", 0, -EINVAL},
		{"<a@[192.0.2.256]>", 0, -EINVAL},
		{"<a@[192.0.2]>", 0, -EINVAL},
		{"<a@[IPv6:zz::1]>", 0, -EINVAL},
		{"<a@[tag:]>", 0, -EINVAL},
		{"<@r1:>", 0, -EINVAL},
		{"<@r1,a@b.c>", 0, -EINVAL},
		{"<a\xc3@b.c>", 0, -EILSEQ},
		{"<a\xc0\xaf@b.c>", 0, -EILSEQ},
		{"<a\xed\xa0\x80@b.c>", 0, -EILSEQ},
		{"<a@b\xff.c>", 0, -EILSEQ},
		{"<a\x01@b.c>", 0, -EINVAL},
		{"<\"a\\\x01\"@b.c>", 0, -EINVAL},
		{"<\"a\x01\"@b.c>", 0, -EINVAL},
		{"<a@[1.2.3.x]>", 0, -EINVAL},
		{"<a@[1.2.3.4444]>", 0, -EINVAL},
		{"<a@[1.2 .3.4]>", 0, -EINVAL},
		{"<a@[1.2.3.4>", 0, -EINVAL},
		{"<a@[IPv6:1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa:bbbb:cccc:dddd]>", 0, -EINVAL},
		{"<a@[-x:abc]>", 0, -EINVAL},
		{"<a@[x-:abc]>", 0, -EINVAL},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct smtp_addr a;
		size_t used;
		int rc = smtp_addr_parse(t[i].in, strlen(t[i].in), t[i].flags, &a, &used);

		CU_ASSERT_EQUAL(rc, t[i].rc);
		if (rc != t[i].rc)
			fprintf(stderr, "%s: %d\n", t[i].in, rc);
	}
	struct smtp_addr a;
	size_t used;

	CU_ASSERT_EQUAL(smtp_addr_parse(local65, strlen(local65), 0, &a, &used), -ENAMETOOLONG);
	snprintf(local65, sizeof(local65), "<%064d@b.c>", 0); /* 64 octets: fine */
	CU_ASSERT_EQUAL(smtp_addr_parse(local65, strlen(local65), 0, &a, &used), 0);
	CU_ASSERT_EQUAL(smtp_addr_parse(long_dom, strlen(long_dom), 0, &a, &used), -ENAMETOOLONG);
	CU_ASSERT_EQUAL(smtp_addr_parse("<a@b.c>", 3, 0, &a, &used), -EINVAL);
}

static void test_param_mail(void)
{
	struct smtp_mail_params m;
	const char *s;

	s = " SIZE=12345  BODY=8bitmime SMTPUTF8 RET=FULL ENVID=abc+2Bdef AUTH=<>";
	CU_ASSERT_EQUAL(smtp_param_mail(s, strlen(s), &m), 0);
	CU_ASSERT_TRUE(m.has_size);
	CU_ASSERT_EQUAL(m.size, 12345);
	CU_ASSERT_EQUAL(m.body, SMTP_BODY_8BITMIME);
	CU_ASSERT_TRUE(m.smtputf8);
	CU_ASSERT_EQUAL(m.ret, SMTP_RET_FULL);
	CU_ASSERT_STRING_EQUAL(m.envid, "abc+2Bdef");
	CU_ASSERT_EQUAL(smtp_param_mail("", 0, &m), 0);
	CU_ASSERT_FALSE(m.has_size);
	s = " SIZE=99999999999999999999";
	CU_ASSERT_EQUAL(smtp_param_mail(s, strlen(s), &m), 0);
	CU_ASSERT_EQUAL(m.size, UINT64_MAX);

	static const struct {
		const char *in;
		int rc;
	} bad[] = {
		{" SIZE=", -EINVAL}, {" SIZE=1x", -EINVAL}, {" SIZE", -EINVAL},
		{" SIZE=123456789012345678901", -EINVAL},
		{" BODY=BINARYMIME", -ENOTSUP}, {" BODY=9BIT", -EINVAL},
		{" SMTPUTF8=yes", -EINVAL}, {" RET=ALL", -EINVAL},
		{" ENVID=a=b", -EINVAL}, {" ENVID=a+2b", -EINVAL}, {" ENVID=a+", -EINVAL},
		{" XFOO=1", -ENOTSUP}, {" -X=1", -EINVAL}, {" RET=FULL RET=HDRS", -EINVAL},
		{" SIZE=1\t", -EINVAL}, {" SIZE=1=2", -EINVAL},
		{" ENVID=\xc3\xa9", -EINVAL},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = smtp_param_mail(bad[i].in, strlen(bad[i].in), &m);

		CU_ASSERT_EQUAL(rc, bad[i].rc);
		if (rc != bad[i].rc)
			fprintf(stderr, "%s: %d\n", bad[i].in, rc);
	}
}

static void test_param_rcpt(void)
{
	struct smtp_rcpt_params r;
	const char *s;

	s = " NOTIFY=success,DELAY ORCPT=rfc822;a+2Bb@c.d";
	CU_ASSERT_EQUAL(smtp_param_rcpt(s, strlen(s), &r), 0);
	CU_ASSERT_EQUAL(r.notify, SMTP_NOTIFY_SUCCESS | SMTP_NOTIFY_DELAY);
	CU_ASSERT_STRING_EQUAL(r.orcpt, "rfc822;a+2Bb@c.d");
	CU_ASSERT_FALSE(r.nonascii);
	s = " NOTIFY=NEVER ORCPT=utf-8;\xc3\xa5@b.c";
	CU_ASSERT_EQUAL(smtp_param_rcpt(s, strlen(s), &r), 0);
	CU_ASSERT_EQUAL(r.notify, SMTP_NOTIFY_NEVER);
	CU_ASSERT_TRUE(r.nonascii);

	static const char *const bad[] = {
		" NOTIFY=", " NOTIFY=NEVER,SUCCESS", " NOTIFY=SUCCESS,SUCCESS",
		" NOTIFY=SOMETIMES", " NOTIFY=SUCCESS,", " ORCPT=rfc822", " ORCPT=;a@b",
		" ORCPT=rfc822;", " ORCPT=rfc 822;a", " ORCPT=r!;a", " NOTIFY=DELAY NOTIFY=DELAY",
		" NOTIFY", " ORCPT",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = smtp_param_rcpt(bad[i], strlen(bad[i]), &r);

		CU_ASSERT_EQUAL(rc, -EINVAL);
		if (rc != -EINVAL)
			fprintf(stderr, "%s: %d\n", bad[i], rc);
	}
	CU_ASSERT_EQUAL(smtp_param_rcpt(" SIZE=1", 7, &r), -ENOTSUP);
}

static int fmt_both(char *a, char *b, size_t size, int *nb, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* FMT into A with smtp_vformat() and into B with vsnprintf(). */
static int fmt_both(char *a, char *b, size_t size, int *nb, const char *fmt, ...)
{
	va_list ap;
	int na;

	va_start(ap, fmt);
	na = smtp_vformat(a, size, fmt, ap);
	va_end(ap);
	va_start(ap, fmt);
	*nb = vsnprintf(b, size, fmt, ap);
	va_end(ap);
	return na;
}

static void test_fmt(void)
{
	for (size_t size = 0; size < 20; size++) {
		char a[20], b[20];
		int na, nb;

		memset(a, 'x', sizeof(a));
		memset(b, 'x', sizeof(b));
		na = fmt_both(a, b, size, &nb, "250 2.1.0 Ok");
		CU_ASSERT_EQUAL(na, nb);
		CU_ASSERT_EQUAL(memcmp(a, b, sizeof(a)), 0);
		na = fmt_both(a, b, size, &nb, "250 %s Ok: %d%%", "2.0.0", 42);
		CU_ASSERT_EQUAL(na, nb);
		CU_ASSERT_EQUAL(memcmp(a, b, sizeof(a)), 0);
		na = fmt_both(a, b, size, &nb, "MAIL FROM:<%s>%s", "a@b.c", " SIZE=9");
		CU_ASSERT_EQUAL(na, nb);
		CU_ASSERT_EQUAL(memcmp(a, b, sizeof(a)), 0);
		na = fmt_both(a, b, size, &nb, "%s%s", "", "%s");
		CU_ASSERT_EQUAL(na, nb);
		CU_ASSERT_EQUAL(memcmp(a, b, sizeof(a)), 0);
	}
}

void test_smtp_parse_register(void)
{
	static const struct {
		const char *name;
		CU_TestFunc fn;
	} tests[] = {
		{"paths accepted", test_addr_good},
		{"paths rejected", test_addr_bad},
		{"MAIL parameters", test_param_mail},
		{"RCPT parameters", test_param_rcpt},
		{"line text fixed or formatted", test_fmt},
	};
	CU_pSuite s = CU_add_suite("smtp_parse", NULL, NULL);

	if (s == NULL)
		return;
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		CU_add_test(s, tests[i].name, tests[i].fn);
}
