/*
 * ctl_telemetry: the stats walk as DPDK telemetry commands, for
 * dpdk-telemetry.py and other clients of the telemetry socket:
 *
 *   /sluice/metrics         the metric names (as /metrics shows them)
 *   /sluice/metric,NAME     that metric's samples: {"KEY": value}, KEY
 *                           its label values joined by "/" (telemetry
 *                           allows only [A-Za-z0-9_./-] there: others
 *                           become "_"), "value" without labels
 *
 * The callbacks run on EAL's telemetry thread, not the main lcore; the
 * walk only reads counters, published snapshots and ethdevs, which is
 * safe from any thread.  The telemetry API passes no argument to its
 * callbacks, hence the one static pointer to the control context.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_telemetry.h>

#include "control/ctl.h"
#include "control/prom.h"

static const struct ctl_ctx *tel_ctx;

/* The walk's samples, sorted; 0 or a negative errno (P is to be freed). */
static int collect(struct prom_out *p)
{
	const struct ctl_ctx *ctx = __atomic_load_n(&tel_ctx, __ATOMIC_ACQUIRE);

	prom_out_init(p);
	if (ctx == NULL)
		return -ENODEV;
	ctl_stats_walk(ctx, &p->out);
	return p->out.err != 0 ? p->out.err : prom_out_sort(p);
}

static int tel_metrics(const char *cmd, const char *params,
		       struct rte_tel_data *d)
{
	struct prom_out p;
	char name[PROM_NAME_MAX + 8], prev[PROM_NAME_MAX + 8] = "";
	int rc = collect(&p);

	(void)cmd;
	(void)params;
	rte_tel_data_start_array(d, RTE_TEL_STRING_VAL);
	for (uint32_t i = 0; rc == 0 && i < p.n; i++) {
		prom_sample_name(&p.s[i], name, sizeof(name));
		if (strcmp(name, prev) == 0)
			continue;
		rc = rte_tel_data_add_array_string(d, name);
		memcpy(prev, name, sizeof(prev));
	}
	prom_out_fini(&p);
	return rc;
}

static bool key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

/* The label values of LABELS (a="x",b="y") as "x/y" into KEY. */
static void tel_key(const char *labels, char *key, size_t len)
{
	size_t k = 0;
	bool in_value = false;

	for (const char *c = labels; *c != '\0' && k + 2 < len; c++) {
		if (!in_value) {
			if (*c == '"') {
				in_value = true;
				if (k > 0)
					key[k++] = '/';
			}
		} else if (*c == '"') {
			in_value = false;
		} else {
			if (*c == '\\' && c[1] != '\0')
				c++;
			key[k++] = key_char(*c) ? *c : '_';
		}
	}
	key[k] = '\0';
	if (k == 0)
		snprintf(key, len, "value");
}

static int tel_metric(const char *cmd, const char *params,
		      struct rte_tel_data *d)
{
	struct prom_out p;
	char name[PROM_NAME_MAX + 8], key[RTE_TEL_MAX_STRING_LEN];
	int rc = collect(&p);

	(void)cmd;
	if (params == NULL || params[0] == '\0')
		rc = -EINVAL;
	rte_tel_data_start_dict(d);
	for (uint32_t i = 0; rc == 0 && i < p.n; i++) {
		prom_sample_name(&p.s[i], name, sizeof(name));
		if (strcmp(name, params) != 0)
			continue;
		tel_key(p.s[i].labels, key, sizeof(key));
		rc = rte_tel_data_add_dict_u64(d, key, p.s[i].v);
	}
	prom_out_fini(&p);
	return rc;
}

int ctl_telemetry_register(const struct ctl_ctx *ctx)
{
	static bool registered;   /* commands cannot be unregistered */
	int rc;

	__atomic_store_n(&tel_ctx, ctx, __ATOMIC_RELEASE);
	if (registered)
		return 0;
	registered = true;
	rc = rte_telemetry_register_cmd("/sluice/metrics", tel_metrics,
		"The names of Sluice's metrics, as /metrics shows them");
	if (rc == 0)
		rc = rte_telemetry_register_cmd("/sluice/metric", tel_metric,
			"One metric's samples by labels. Parameters: the metric's name");
	return rc;
}

void ctl_telemetry_unregister(void)
{
	__atomic_store_n(&tel_ctx, NULL, __ATOMIC_RELEASE);
}
