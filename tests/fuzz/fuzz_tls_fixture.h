/*
 * fuzz_tls_fixture: the TLS contexts the TLS fuzz targets share — a
 * throwaway self-signed certificate for "mx.test" in a temporary directory
 * (removed at exit), a server context on it and a client context that
 * trusts it.  Call from LLVMFuzzerInitialize; aborts if any step fails.
 */
#ifndef SLUICE_TESTS_FUZZ_TLS_FIXTURE_H
#define SLUICE_TESTS_FUZZ_TLS_FIXTURE_H

#include "dataplane/tls/tls.h"

struct fuzz_tls {
	struct tls_ctx *server;
	struct tls_ctx *client; /* verifies against the fixture's certificate */
};

const struct fuzz_tls *fuzz_tls_fixture(void);

#endif
