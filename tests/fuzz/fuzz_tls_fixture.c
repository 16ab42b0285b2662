/*
 * fuzz_tls_fixture: the certificate and contexts of the TLS fuzz targets
 * (see fuzz_tls_fixture.h).
 */
#include "tests/fuzz/fuzz_tls_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "tests/unit/tls_testcert.h"

static struct fuzz_tls fx;
static char dir[64], cert[128], key[128];

static void cleanup(void)
{
	tls_ctx_free(fx.server);
	tls_ctx_free(fx.client);
	unlink(cert);
	unlink(key);
	rmdir(dir);
}

const struct fuzz_tls *fuzz_tls_fixture(void)
{
	char err[256];

	if (fx.server != NULL)
		return &fx;
	snprintf(dir, sizeof(dir), "/tmp/sluice-fuzz-tls-XXXXXX");
	if (mkdtemp(dir) == NULL ||
	    tls_testcert_write(dir, "server", "mx.test", cert, key,
			       sizeof(cert)) != 0 ||
	    tls_ctx_server_new(cert, key, &fx.server, err, sizeof(err)) != 0 ||
	    tls_ctx_client_new(cert, &fx.client, err, sizeof(err)) != 0)
		abort();
	atexit(cleanup);
	return &fx;
}
