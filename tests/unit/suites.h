/* suites: the registration function of every CUnit suite in sluice-unit. */
#ifndef SLUICE_TESTS_UNIT_SUITES_H
#define SLUICE_TESTS_UNIT_SUITES_H

void test_config_register(void);
void test_net_register(void);
void test_ctl_register(void);
void test_impair_register(void);
void test_tcp_register(void);
void test_tcp_support_register(void);
void test_smtp_admit_register(void);
void test_smtp_cred_register(void);
void test_tls_register(void);
void test_spool_rec_register(void);
void test_spool_register(void);
void test_smtp_register(void);
void test_smtp_parse_register(void);
void test_queue_register(void);
void test_track_register(void);
void test_ctl_queue_register(void);
void test_smtp_client_register(void);
void test_relay_conf_register(void);
void test_relay_register(void);
void test_sink_register(void);
void test_msink_register(void);
void test_relay_dns_register(void);
void test_prom_register(void);
void test_http_register(void);
void test_reload_register(void);
void test_loadgen_register(void);

#endif
