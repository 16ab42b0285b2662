/*
 * test_prom: the stats writers (control/stats_out.c, control/prom.c).  One
 * small walk — a group, a list of labelled items, a map keyed by reason,
 * a counter, a gauge, a total, a flag, a text and a histogram — written
 * as Prometheus text (exact bytes: families grouped, HELP/TYPE once each,
 * labels escaped, totals and texts left out, µs and s keys as seconds)
 * and as JSON (exact text).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "control/json_out.h"
#include "control/prom.h"
#include "control/stats_out.h"
#include "tests/unit/suites.h"

static const uint64_t bounds[] = {100, 1000};  /* µs */
static const uint64_t counts[] = {1, 2, 3};      /* <=100, <=1000, above */

static void walk(struct stats_out *o)
{
	struct stats_hist h = {.bound = bounds, .count = counts, .n = 2, .sum = 999};

	stats_gauge(o, "uptime_s", 7);
	stats_list(o, "ports", "port", "port");
	stats_item(o, "in\"side");
	stats_text(o, "name", "in\"side");
	stats_counter(o, "rx_pkts", 5);
	stats_total(o, "drops_total", 3);
	stats_map(o, "drops", "drops", "reason");
	stats_counter(o, "ip_cksum", 1);
	stats_counter(o, "eth_runt", 2);
	stats_end(o);
	stats_flag(o, "link_up", true);
	stats_end(o);
	stats_item(o, "out");
	stats_text(o, "name", "out");
	stats_counter(o, "rx_pkts", 6);
	stats_total(o, "drops_total", 0);
	stats_map(o, "drops", "drops", "reason");
	stats_end(o);
	stats_flag(o, "link_up", false);
	stats_end(o);
	stats_end(o);
	stats_group(o, "spool", "spool");
	stats_hist(o, "lat_us", &h);
	stats_end(o);
}

static void test_prom_text(void)
{
	static const char want[] =
		"# HELP sluice_port_drops_total sluicectl stats: ports[].drops.*\n"
		"# TYPE sluice_port_drops_total counter\n"
		"sluice_port_drops_total{port=\"in\\\"side\",reason=\"ip_cksum\"} 1\n"
		"sluice_port_drops_total{port=\"in\\\"side\",reason=\"eth_runt\"} 2\n"
		"# HELP sluice_port_link_up sluicectl stats: ports[].link_up\n"
		"# TYPE sluice_port_link_up gauge\n"
		"sluice_port_link_up{port=\"in\\\"side\"} 1\n"
		"sluice_port_link_up{port=\"out\"} 0\n"
		"# HELP sluice_port_rx_pkts_total sluicectl stats: ports[].rx_pkts\n"
		"# TYPE sluice_port_rx_pkts_total counter\n"
		"sluice_port_rx_pkts_total{port=\"in\\\"side\"} 5\n"
		"sluice_port_rx_pkts_total{port=\"out\"} 6\n"
		"# HELP sluice_spool_lat_seconds sluicectl stats: spool.lat_us\n"
		"# TYPE sluice_spool_lat_seconds histogram\n"
		"sluice_spool_lat_seconds_bucket{le=\"0.0001\"} 1\n"
		"sluice_spool_lat_seconds_bucket{le=\"0.001\"} 3\n"
		"sluice_spool_lat_seconds_bucket{le=\"+Inf\"} 6\n"
		"sluice_spool_lat_seconds_sum 0.000999\n"
		"sluice_spool_lat_seconds_count 6\n"
		"# HELP sluice_uptime_seconds sluicectl stats: uptime_s\n"
		"# TYPE sluice_uptime_seconds gauge\n"
		"sluice_uptime_seconds 7\n";
	struct prom_out p;
	size_t len = 0;
	char *text;

	prom_out_init(&p);
	walk(&p.out);
	CU_ASSERT_EQUAL(p.out.err, 0);
	CU_ASSERT_EQUAL(prom_out_sort(&p), 0);
	text = prom_out_text(&p, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_EQUAL(len, strlen(want));
	CU_ASSERT_STRING_EQUAL(text, want);
	free(text);
	prom_out_fini(&p);
}

static void test_prom_counter_family_name(void)
{
	/* text format 0.0.4: a counter's family and sample are both named
	 * with _total (OpenMetrics would name the family without) */
	struct prom_out p;
	char name[PROM_NAME_MAX + 8];

	prom_out_init(&p);
	stats_group(&p.out, "tcp", "tcp");
	stats_counter(&p.out, "segs_in", 1);
	stats_end(&p.out);
	CU_ASSERT_EQUAL_FATAL(p.n, 1);
	CU_ASSERT_STRING_EQUAL(p.s[0].family, "sluice_tcp_segs_in_total");
	prom_sample_name(&p.s[0], name, sizeof(name));
	CU_ASSERT_STRING_EQUAL(name, "sluice_tcp_segs_in_total");
	prom_out_fini(&p);
}

static void test_prom_type_conflict(void)
{
	struct prom_out p;

	prom_out_init(&p);
	stats_counter(&p.out, "x", 1);          /* sluice_x_total, a counter */
	stats_gauge(&p.out, "x_total", 2);      /* the same family, a gauge */
	CU_ASSERT_EQUAL(p.out.err, 0);
	CU_ASSERT_EQUAL(prom_out_sort(&p), -EINVAL);
	prom_out_fini(&p);
}

static void test_prom_unbalanced(void)
{
	struct prom_out p;

	prom_out_init(&p);
	stats_end(&p.out);
	CU_ASSERT_EQUAL(p.out.err, -EINVAL);
	stats_counter(&p.out, "after", 1);        /* sticky: ignored */
	CU_ASSERT_EQUAL(p.n, 0);
	prom_out_fini(&p);
}

static void test_json_text(void)
{
	static const char want[] =
		"{\"uptime_s\":7,\"ports\":[{\"name\":\"in\\\"side\",\"rx_pkts\":5,"
		"\"drops_total\":3,\"drops\":{\"ip_cksum\":1,\"eth_runt\":2},"
		"\"link_up\":true},{\"name\":\"out\",\"rx_pkts\":6,\"drops_total\":0,"
		"\"drops\":{},\"link_up\":false}],\"spool\":{\"lat_us\":{\"count\":6,"
		"\"sum\":999,\"buckets\":{\"100\":1,\"1000\":3,\"+Inf\":6}}}}";
	struct stats_out_json j;
	struct json_object *obj;
	const char *text;
	size_t len;

	stats_out_json_init(&j);
	walk(&j.out);
	obj = stats_out_json_take(&j);
	CU_ASSERT_PTR_NOT_NULL_FATAL(obj);
	text = jout_text(obj, &len);
	CU_ASSERT_STRING_EQUAL(text, want);
	json_object_put(obj);
}

static void test_json_unclosed(void)
{
	struct stats_out_json j;

	stats_out_json_init(&j);
	stats_group(&j.out, "open", "open");
	CU_ASSERT_PTR_NULL(stats_out_json_take(&j));
}

void test_prom_register(void)
{
	CU_pSuite s = CU_add_suite("prom", NULL, NULL);

	CU_add_test(s, "Prometheus text of a walk, exact", test_prom_text);
	CU_add_test(s, "counter family and sample names", test_prom_counter_family_name);
	CU_add_test(s, "one family, two types: refused", test_prom_type_conflict);
	CU_add_test(s, "unbalanced end: sticky error", test_prom_unbalanced);
	CU_add_test(s, "JSON of the same walk, exact", test_json_text);
	CU_add_test(s, "JSON with an unclosed group: none", test_json_unclosed);
}
