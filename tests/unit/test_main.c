/*
 * test_main: the CUnit runner.  Starts EAL once (--no-huge --no-pci, no
 * shared config) so the suites can use real rte_mbufs, registers every
 * suite and runs them with the basic interface.  Exit status is non-zero
 * when any test failed.
 *
 * usage: sluice-unit [-v] [SUITE [TEST]]   (-v: one line per test)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>
#include <rte_eal.h>

#include "tests/unit/suites.h"

int main(int argc, char **argv)
{
	char *eal_argv[] = {argv[0], "--no-huge", "-m", "1024", "--no-pci",
			    "--no-shconf", "-l", "0", "--log-level", "*:error",
			    NULL};
	int eal_argc = (int)(sizeof(eal_argv) / sizeof(eal_argv[0])) - 1;

	if (rte_eal_init(eal_argc, eal_argv) < 0) {
		fprintf(stderr, "sluice-unit: EAL init failed\n");
		return 2;
	}
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	test_config_register();
	test_net_register();
	test_ctl_register();
	test_prom_register();
	test_http_register();
	test_impair_register();
	test_tcp_register();
	test_tcp_support_register();
	test_smtp_admit_register();
	test_smtp_cred_register();
	test_tls_register();
	test_spool_rec_register();
	test_spool_register();
	test_smtp_register();
	test_smtp_parse_register();
	test_queue_register();
	test_track_register();
	test_ctl_queue_register();
	test_smtp_client_register();
	test_relay_conf_register();
	test_relay_register();
	test_sink_register();
	test_msink_register();
	test_relay_dns_register();
	test_reload_register();
	test_loadgen_register();

	int a = 1;
	CU_basic_set_mode(CU_BRM_NORMAL);
	if (a < argc && strcmp(argv[a], "-v") == 0) {
		CU_basic_set_mode(CU_BRM_VERBOSE);
		a++;
	}
	if (a < argc) {
		CU_pSuite suite = CU_get_suite(argv[a]);
		CU_pTest test = NULL;

		if (suite != NULL && a + 1 < argc)
			test = CU_get_test(suite, argv[a + 1]);
		if (suite == NULL || (a + 1 < argc && test == NULL)) {
			fprintf(stderr, "sluice-unit: no such suite or test\n");
			return 2;
		}
		if (test != NULL)
			CU_basic_run_test(suite, test);
		else
			CU_basic_run_suite(suite);
	} else {
		CU_basic_run_tests();
	}
	unsigned failed = CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	rte_eal_cleanup();
	return failed ? 1 : 0;
}
