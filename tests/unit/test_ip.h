/*
 * test_ip: struct smtp_ip from address text, for the unit tests of the
 * code that keys on client addresses (allow list, AUTH limiter).  A string
 * that does not parse fails the running test.
 */
#ifndef SLUICE_TESTS_UNIT_TEST_IP_H
#define SLUICE_TESTS_UNIT_TEST_IP_H

#include "dataplane/smtp/smtp_admit.h"

struct smtp_ip test_ip_v4(const char *s);
struct smtp_ip test_ip_v6(const char *s);

#endif
