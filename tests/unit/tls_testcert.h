/* tls_testcert: a throwaway self-signed certificate for the TLS tests and
 * the TLS fuzz target. */
#ifndef SLUICE_TESTS_UNIT_TLS_TESTCERT_H
#define SLUICE_TESTS_UNIT_TLS_TESTCERT_H

#include <stddef.h>

/* Writes DIR/NAME.crt (self-signed, P-256, CN HOST and a subjectAltName
 * for it: an IP entry when HOST is an address literal, else DNS; valid for
 * a day) and DIR/NAME.key (its key, PEM).  The paths go to CERT
 * and KEY (LEN bytes each).  Returns 0 or -1. */
int tls_testcert_write(const char *dir, const char *name, const char *host,
		       char *cert, char *key, size_t len);

#endif
