/*
 * test_ip: address text to struct smtp_ip for the unit tests (see
 * test_ip.h).
 */
#include "tests/unit/test_ip.h"

#include <arpa/inet.h>

#include <CUnit/CUnit.h>

struct smtp_ip test_ip_v4(const char *s)
{
	struct smtp_ip a = {.family = AF_INET};
	uint32_t be;

	CU_ASSERT_FATAL(inet_pton(AF_INET, s, &be) == 1);
	a.v4 = ntohl(be);
	return a;
}

struct smtp_ip test_ip_v6(const char *s)
{
	struct smtp_ip a = {.family = AF_INET6};

	CU_ASSERT_FATAL(inet_pton(AF_INET6, s, a.v6) == 1);
	return a;
}
