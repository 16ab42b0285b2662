/*
 * lg_report: the counters' arithmetic and their presentation — the
 * progress line, the text report and the JSON report (json-c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <json-c/json.h>
#include <string.h>

#include "bench/loadgen/lg_report.h"

static const char *const err_names[LG_ERR_MAX] = {
	"connect", "io", "protocol", "timeout", "tls",
};

static const double percentiles[] = {50, 90, 99, 99.9};
static const char *const pct_names[] = {"p50", "p90", "p99", "p99_9"};
#define NPCT (sizeof(percentiles) / sizeof(percentiles[0]))

void lg_stats_init(struct lg_stats *st, uint64_t now_us)
{
	memset(st, 0, sizeof(*st));
	st->started_us = st->ended_us = now_us;
	lg_hist_init(&st->from_connect);
	lg_hist_init(&st->from_eod);
}

uint64_t lg_stats_class(const struct lg_stats *st, int c)
{
	uint64_t n = 0;

	for (int code = c * 100; code < c * 100 + 100; code++)
		n += st->replies[code];
	return n;
}

static double seconds(const struct lg_stats *st)
{
	return (double)(st->ended_us - st->started_us) / 1e6;
}

static double rate(const struct lg_stats *st)
{
	double s = seconds(st);

	return s > 0 ? (double)st->msgs_ok / s : 0.0;
}

static uint64_t errors(const struct lg_stats *st)
{
	uint64_t n = 0;

	for (int i = 0; i < LG_ERR_MAX; i++)
		n += st->err[i];
	return n;
}

void lg_report_progress(FILE *f, const struct lg_stats *st, uint64_t now_us,
			uint64_t *prev_ok, uint64_t *prev_us)
{
	double dt = (double)(now_us - *prev_us) / 1e6;

	fprintf(f, "\r%7.1f s %9.0f msg/s  in flight %-5lu ok %-9lu 4xx %-6lu 5xx %-6lu errors %-6lu",
		(double)(now_us - st->started_us) / 1e6,
		dt > 0 ? (double)(st->msgs_ok - *prev_ok) / dt : 0.0,
		(unsigned long)st->in_flight, (unsigned long)st->msgs_ok,
		(unsigned long)lg_stats_class(st, 4), (unsigned long)lg_stats_class(st, 5),
		(unsigned long)errors(st));
	fflush(f);
	*prev_ok = st->msgs_ok;
	*prev_us = now_us;
}

static void text_latency(FILE *f, const char *name, const struct lg_hist *h)
{
	fprintf(f, "  %-13s", name);
	for (size_t i = 0; i < NPCT; i++)
		fprintf(f, " %9.3f", (double)lg_hist_percentile(h, percentiles[i]) / 1000.0);
	fprintf(f, " %9.3f %9.3f\n", lg_hist_mean(h) / 1000.0,
		h->count != 0 ? (double)h->max / 1000.0 : 0.0);
}

/* Messages/s from the start until the sink had the last one. */
static double relayed_rate(const struct lg_stats *st)
{
	uint64_t us = st->relayed_last_us > st->started_us ?
		      st->relayed_last_us - st->started_us : 0;

	return us != 0 ? (double)st->relayed * 1e6 / (double)us : 0.0;
}

static void text_report(FILE *f, const struct lg_stats *st, const struct lg_opts *o,
			const char *transport)
{
	char addr[INET_ADDRSTRLEN];
	int any = 0;

	inet_ntop(AF_INET, &o->server.sin_addr, addr, sizeof(addr));
	fprintf(f, "sluice-bench: %s:%u over %s, %u sessions, %u messages per session, "
		"%u recipients, pipelining %s, STARTTLS %s\n",
		addr, ntohs(o->server.sin_port), transport, o->sessions, o->per_session,
		o->rcpts, o->pipelining ? "on" : "off", o->starttls ? "on" : "off");
	fprintf(f, "  %lu messages accepted in %.3f s: %.1f messages/s, %.2f MB/s; %lu failed; "
		"%lu connections\n",
		(unsigned long)st->msgs_ok, seconds(st), rate(st),
		seconds(st) > 0 ? (double)st->bytes / seconds(st) / 1e6 : 0.0,
		(unsigned long)st->msgs_failed, (unsigned long)st->sessions);
	if (st->has_sink)
		fprintf(f, "  %lu messages (%lu octets) at the sink; relayed end to end: %.1f "
			"messages/s\n", (unsigned long)st->relayed,
			(unsigned long)st->relayed_bytes, relayed_rate(st));
	fprintf(f, "  latency (ms)        p50       p90       p99     p99.9      mean       max\n");
	text_latency(f, "from connect", &st->from_connect);
	text_latency(f, "end of data", &st->from_eod);
	fprintf(f, "  replies:");
	for (int c = 200; c < 600; c++)
		if (st->replies[c] != 0)
			fprintf(f, " %d×%lu", c, (unsigned long)st->replies[c]);
	fprintf(f, "\n  errors:");
	for (int i = 0; i < LG_ERR_MAX; i++)
		if (st->err[i] != 0) {
			fprintf(f, " %s %lu", err_names[i], (unsigned long)st->err[i]);
			any = 1;
		}
	fprintf(f, "%s\n", any ? "" : " none");
}

static struct json_object *hist_json(const struct lg_hist *h)
{
	struct json_object *o = json_object_new_object();

	if (o == NULL)
		return NULL;
	json_object_object_add(o, "count", json_object_new_int64((int64_t)h->count));
	json_object_object_add(o, "min", json_object_new_int64(h->count ? (int64_t)h->min : 0));
	json_object_object_add(o, "mean", json_object_new_double(lg_hist_mean(h)));
	for (size_t i = 0; i < NPCT; i++)
		json_object_object_add(o, pct_names[i], json_object_new_int64(
			(int64_t)lg_hist_percentile(h, percentiles[i])));
	json_object_object_add(o, "max", json_object_new_int64((int64_t)h->max));
	return o;
}

static struct json_object *report_json(const struct lg_stats *st, const struct lg_opts *o,
				       const char *transport)
{
	struct json_object *j = json_object_new_object(), *lat, *rep, *err;
	char addr[INET_ADDRSTRLEN + 8], code[8];
	size_t n;

	if (j == NULL)
		return NULL;
	inet_ntop(AF_INET, &o->server.sin_addr, addr, sizeof(addr));
	n = strlen(addr);
	snprintf(addr + n, sizeof(addr) - n, ":%u", ntohs(o->server.sin_port));
	json_object_object_add(j, "server", json_object_new_string(addr));
	json_object_object_add(j, "transport", json_object_new_string(transport));
	json_object_object_add(j, "sessions", json_object_new_int64(o->sessions));
	json_object_object_add(j, "per_session", json_object_new_int64(o->per_session));
	json_object_object_add(j, "rcpts", json_object_new_int64(o->rcpts));
	json_object_object_add(j, "pipelining", json_object_new_boolean(o->pipelining));
	json_object_object_add(j, "starttls", json_object_new_boolean(o->starttls));
	json_object_object_add(j, "elapsed_s", json_object_new_double(seconds(st)));
	json_object_object_add(j, "messages_ok", json_object_new_int64((int64_t)st->msgs_ok));
	json_object_object_add(j, "messages_failed", json_object_new_int64((int64_t)st->msgs_failed));
	json_object_object_add(j, "messages_per_s", json_object_new_double(rate(st)));
	json_object_object_add(j, "bytes", json_object_new_int64((int64_t)st->bytes));
	json_object_object_add(j, "connections", json_object_new_int64((int64_t)st->sessions));
	if (st->has_sink) {
		struct json_object *k = json_object_new_object();

		json_object_object_add(k, "messages", json_object_new_int64((int64_t)st->relayed));
		json_object_object_add(k, "bytes", json_object_new_int64((int64_t)st->relayed_bytes));
		json_object_object_add(k, "messages_per_s", json_object_new_double(relayed_rate(st)));
		json_object_object_add(j, "sink", k);
	}
	lat = json_object_new_object();
	json_object_object_add(lat, "from_connect", hist_json(&st->from_connect));
	json_object_object_add(lat, "from_eod", hist_json(&st->from_eod));
	json_object_object_add(j, "latency_us", lat);
	rep = json_object_new_object();
	for (int c = 200; c < 600; c++)
		if (st->replies[c] != 0) {
			snprintf(code, sizeof(code), "%d", c);
			json_object_object_add(rep, code, json_object_new_int64((int64_t)st->replies[c]));
		}
	json_object_object_add(j, "replies", rep);
	err = json_object_new_object();
	for (int i = 0; i < LG_ERR_MAX; i++)
		json_object_object_add(err, err_names[i], json_object_new_int64((int64_t)st->err[i]));
	json_object_object_add(j, "errors", err);
	return j;
}

int lg_report_final(FILE *f, const struct lg_stats *st, const struct lg_opts *o,
		    const char *transport, int json)
{
	struct json_object *j;

	if (!json) {
		text_report(f, st, o, transport);
		return 0;
	}
	if ((j = report_json(st, o, transport)) == NULL)
		return -ENOMEM;
	fprintf(f, "%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY));
	json_object_put(j);
	return 0;
}
