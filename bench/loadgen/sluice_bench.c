/*
 * sluice-bench: an SMTP load generator.  Owns the run: the options, the
 * messages, the sessions on one transport (kernel sockets via io_uring,
 * or Sluice's own TCP over memif, whose sink it then waits for), the tickets that start each message (a count or a duration, and the
 * rate), reopening sessions until the run is over, the progress line and
 * the final report.  Exit status: 0 when every message got a 2xx and no
 * error happened, 1 otherwise, 2 for a usage or setup error.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench/loadgen/lg_memif.h"
#include "bench/loadgen/lg_msg.h"
#include "bench/loadgen/lg_opts.h"
#include "bench/loadgen/lg_report.h"
#include "bench/loadgen/lg_session.h"
#include "bench/loadgen/lg_transport.h"

#define EVENTS 256
#define TICK_US 100000 /* the longest wait, and the progress line's step */
#define SCAN_US 1000

struct run {
	struct lg_env env;
	struct lg_opts o;
	struct lg_msgs msgs;
	struct lg_stats st;
	struct lg_session **s;
	uint64_t issued;   /* messages started */
};

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static struct run *run_of(struct lg_env *env)
{
	return (struct run *)((char *)env - offsetof(struct run, env));
}

/* No message is to start any more. */
static bool run_over(const struct run *r, uint64_t now)
{
	const struct lg_opts *o = &r->o;

	return interrupted || (o->count != 0 && r->issued >= o->count) ||
	       (o->duration_us != 0 && now - r->st.started_us >= o->duration_us);
}

/* Gives up when nothing works at all (a server that is down or refuses). */
static bool hopeless(const struct run *r)
{
	uint64_t e = 0;

	for (int i = 0; i < LG_ERR_MAX; i++)
		e += r->st.err[i];
	return r->st.msgs_ok == 0 && e >= 10 * (uint64_t)r->o.sessions + 100;
}

static enum lg_take take(struct lg_env *env, uint64_t now, uint64_t *when)
{
	struct run *r = run_of(env);
	uint64_t due;

	if (run_over(r, now))
		return LG_TAKE_END;
	if (r->o.rate != 0) {
		due = r->st.started_us + r->issued * 1000000 / r->o.rate;
		if (now < due) {
			*when = due;
			return LG_TAKE_LATER;
		}
	}
	r->issued++;
	return LG_TAKE_GO;
}

static int setup(struct run *r)
{
	char err[512];
	int rc;

	if (r->o.sample_dir != NULL)
		rc = lg_msgs_load_dir(&r->msgs, r->o.sample_dir, err, sizeof(err));
	else if ((rc = lg_msgs_generate(&r->msgs, &r->o.sizes, r->o.from,
					r->o.to_domain)) < 0)
		snprintf(err, sizeof(err), "out of memory");
	if (rc < 0) {
		fprintf(stderr, "sluice-bench: %s\n", err);
		return rc;
	}
	if (r->o.starttls &&
	    (rc = tls_ctx_client_new(r->o.cafile, &r->env.tls, err, sizeof(err))) < 0) {
		fprintf(stderr, "sluice-bench: %s\n", err);
		return rc;
	}
	if (r->o.memif) {
		struct lg_memif_conf mc = {
			.server = r->o.server,
			.client = {r->o.net.socket, r->o.net.addr, r->o.net.prefix},
			.sink = {r->o.sink ? r->o.sink_net.socket : NULL,
				 r->o.sink_net.addr, r->o.sink_net.prefix},
			.sink_port = r->o.sink_port, .lcore = r->o.lcore,
			.idle_sleep_us = r->o.idle_sleep_us};

		if ((rc = lg_memif_new(&mc, r->o.sessions, &r->env.t, err, sizeof(err))) < 0) {
			fprintf(stderr, "sluice-bench: memif: %s\n", err);
			return rc;
		}
	} else if ((rc = lg_uring_new(r->o.sessions, &r->env.t)) < 0) {
		fprintf(stderr, "sluice-bench: io_uring: %s\n", strerror(-rc));
		return rc;
	}
	r->env.o = &r->o;
	r->env.msgs = &r->msgs;
	r->env.st = &r->st;
	r->env.rnd = r->o.seed * 0x9e3779b97f4a7c15ull | 1;
	r->env.take = take;
	if ((r->s = calloc(r->o.sessions, sizeof(*r->s))) == NULL)
		return -ENOMEM;
	for (unsigned i = 0; i < r->o.sessions; i++)
		if ((r->s[i] = lg_session_new(&r->env, i)) == NULL)
			return -ENOMEM;
	return 0;
}

/* Messages the open sessions may still start (each up to -m). */
static uint64_t outstanding(const struct run *r)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < r->o.sessions; i++)
		if (lg_session_state(r->s[i]) != LG_S_IDLE)
			n += r->o.per_session - lg_session_started(r->s[i]);
	return n;
}

/* Opens idle sessions while the run goes on — with --count, only while
 * the open ones cannot take every remaining message; false once all are
 * idle and the run is over. */
static bool refill(struct run *r, uint64_t now)
{
	uint64_t out = r->o.count != 0 ? outstanding(r) : 0;
	bool busy = false;

	for (unsigned i = 0; i < r->o.sessions; i++) {
		if (lg_session_state(r->s[i]) == LG_S_IDLE && !run_over(r, now) &&
		    !hopeless(r) && (r->o.count == 0 || r->o.count - r->issued > out)) {
			if (lg_session_open(r->s[i], now) < 0)
				r->st.err[LG_ERR_CONNECT]++;
			else
				out += r->o.per_session;
		}
		busy |= lg_session_state(r->s[i]) != LG_S_IDLE;
	}
	return busy;
}

/* Ticks the sessions that are due; the earliest deadline left. */
static uint64_t tick_due(struct run *r, uint64_t now)
{
	uint64_t wake = UINT64_MAX;

	for (unsigned i = 0; i < r->o.sessions; i++) {
		uint64_t d = lg_session_deadline(r->s[i]);

		if (d <= now) {
			lg_session_tick(r->s[i], now);
			d = lg_session_deadline(r->s[i]);
		}
		wake = d < wake ? d : wake;
	}
	return wake;
}

/* The sessions are walked (deadlines, reopening) at most every SCAN_US,
 * and after an event that may have ended one: with a thousand sessions
 * on a polling transport, walking them at every event costs more than
 * the events. */
static void loop(struct run *r)
{
	struct lg_tev ev[EVENTS];
	uint64_t now = now_us(), next_tick = now + TICK_US, prev_ok = 0, prev_us = now;
	uint64_t next_scan = 0, wake = 0;
	bool progress = !r->o.quiet && isatty(STDOUT_FILENO), ended = true;

	for (;;) {
		uint64_t until;
		int n;

		if (ended || now >= next_scan || now >= wake) {
			if (!refill(r, now))
				break;
			wake = tick_due(r, now);
			next_scan = now + SCAN_US;
			ended = false;
		}
		until = wake < next_scan ? wake : next_scan;
		until = until < next_tick ? until : next_tick;
		n = r->env.t->ops->wait(r->env.t, ev, EVENTS, until > now ? until - now : 0);
		if (n < 0) {
			fprintf(stderr, "sluice-bench: wait: %s\n", strerror(-n));
			break;
		}
		now = now_us();
		for (int i = 0; i < n; i++) {
			lg_session_event(r->s[ev[i].conn], &ev[i], now);
			ended |= lg_session_state(r->s[ev[i].conn]) == LG_S_IDLE;
		}
		if (now >= next_tick) {
			next_tick = now + TICK_US;
			if (progress && now - prev_us >= 1000000)
				lg_report_progress(stdout, &r->st, now, &prev_ok, &prev_us);
		}
	}
	r->st.ended_us = now_us();
	if (progress)
		printf("\n");
}

/* With the memif sink: keep the network going until the sink has every
 * accepted message, or nothing more came for --sink-wait. */
static void sink_drain(struct run *r)
{
	struct lg_tev ev[EVENTS];
	const struct sink_stats *k;
	uint64_t last = 0, now = now_us(), quiet_since = now;

	while ((k = lg_memif_sink(r->env.t, &last)) != NULL && !interrupted) {
		if (k->msgs != r->st.relayed)
			quiet_since = now;
		r->st.has_sink = true;
		r->st.relayed = k->msgs;
		r->st.relayed_bytes = k->bytes;
		r->st.relayed_last_us = last;
		if (k->msgs >= r->st.msgs_ok || now - quiet_since >= r->o.sink_wait_us)
			return;
		if (r->env.t->ops->wait(r->env.t, ev, EVENTS, TICK_US) < 0)
			return;
		now = now_us();
	}
}

static void teardown(struct run *r)
{
	for (unsigned i = 0; r->s != NULL && i < r->o.sessions; i++)
		lg_session_free(r->s[i]);
	free(r->s);
	if (r->env.t != NULL)
		r->env.t->ops->destroy(r->env.t);
	tls_ctx_free(r->env.tls);
	lg_msgs_free(&r->msgs);
}

int main(int argc, char **argv)
{
	static struct run r;
	char err[256];
	int rc = lg_opts_parse(argc, argv, &r.o, err, sizeof(err)), status;

	if (rc != 0) {
		if (rc < 0)
			fprintf(stderr, "sluice-bench: %s (--help lists the options)\n", err);
		return rc > 0 ? 0 : 2;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	lg_stats_init(&r.st, now_us());
	if (setup(&r) < 0) {
		teardown(&r);
		return 2;
	}
	lg_stats_init(&r.st, now_us());
	loop(&r);
	sink_drain(&r);
	lg_report_final(stdout, &r.st, &r.o, r.env.t->ops->name, r.o.json);
	status = r.st.msgs_ok > 0 && r.st.msgs_failed == 0 &&
		 (!r.st.has_sink || r.st.relayed >= r.st.msgs_ok) && r.st.err[LG_ERR_CONNECT] +
		 r.st.err[LG_ERR_IO] + r.st.err[LG_ERR_PROTOCOL] + r.st.err[LG_ERR_TIMEOUT] +
		 r.st.err[LG_ERR_TLS] == 0 ? 0 : 1;
	teardown(&r);
	return status;
}
