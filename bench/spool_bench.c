/*
 * spool_bench: how many messages per second one worker's spool accepts
 * durably.  N producers (50 by default, standing in for SMTP sessions)
 * each loop over: begin, append the body in 4 KiB pieces (one piece per
 * poll round, as TCP segments would arrive), end, wait for the commit
 * callback (the 250), finish the message (as an instant delivery would,
 * so the segments are reclaimed), start the next.  One thread, one ring,
 * like a worker.  Prints committed messages/s, commits/s and messages per
 * commit for each message size; asserts nothing.
 *
 * usage: spool_bench [-d DIR] [-t SECONDS] [-p PRODUCERS] [-i INTERVAL_US]
 *                    [-b BATCH] [SIZE...]       (sizes default: 1024 51200)
 */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dataplane/spool/spool.h"

#define PIECE 4096
#define PRODUCERS_MAX 1000

struct producer {
	struct spool_msg *m;
	size_t sent;
	int waiting;
	uint64_t failed;
};

struct opts {
	const char *dir;
	double seconds;
	unsigned producers;
	uint64_t interval_us;
	unsigned batch;
};

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void on_end(void *arg, struct spool_msg *m, int err)
{
	struct producer *p = arg;

	p->waiting = 0;
	p->m = NULL;
	if (err != 0)
		p->failed++;
	else
		spool_msg_done(m, SPOOL_DONE_FINISHED);
}

/* One step of one producer: start, send a piece, or end. */
static void step(struct spool *sp, struct producer *p, const uint8_t *body,
		 size_t size, uint64_t now)
{
	static struct spool_rcpt rcpt = {.addr = {"rcpt@example.org", 16}};
	struct spool_env env = {
		.client_family = 4, .client_addr = {198, 18, 0, 2},
		.helo = {"bench", 5}, .sender = {"bench@example.com", 17},
		.arrival_us = now, .size = size, .nrcpt = 1, .rcpt = &rcpt,
	};

	if (p->waiting)
		return;
	if (p->m == NULL) {
		if (spool_msg_begin(sp, &env, now, &p->m) != 0)
			p->m = NULL;
		p->sent = 0;
		return;
	}
	if (p->sent < size) {
		size_t n = size - p->sent < PIECE ? size - p->sent : PIECE;

		if (spool_msg_append(p->m, body + p->sent, n) != 0) {
			spool_msg_abort(p->m);
			p->m = NULL;
			p->failed++;
			return;
		}
		p->sent += n;
		return;
	}
	if (spool_msg_end(p->m, on_end, p) != 0) {
		spool_msg_abort(p->m);
		p->m = NULL;
		p->failed++;
		return;
	}
	p->waiting = 1;
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static int run(const struct opts *o, size_t size)
{
	struct spool_conf c;
	struct spool *sp;
	struct producer *prod = calloc(o->producers, sizeof(*prod));
	uint8_t *body = malloc(size);
	uint64_t failed = 0;
	int rc;

	if (prod == NULL || body == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < size; i++)
		body[i] = (uint8_t)('a' + i % 26);
	spool_conf_defaults(&c, o->dir, 0);
	c.commit_interval_us = o->interval_us;
	c.commit_batch = o->batch;
	rc = spool_open(&c, now_us(), NULL, NULL, &sp);
	if (rc != 0) {
		fprintf(stderr, "spool_bench: %s: %s\n", o->dir, strerror(-rc));
		return rc;
	}
	const struct spool_stats *st = spool_stats(sp);
	uint64_t t0 = now_us(), now = t0, end = t0 + (uint64_t)(o->seconds * 1e6);
	uint64_t m0 = st->msgs_committed, c0 = st->commits, b0 = st->bytes_written;

	while (now < end) {
		for (unsigned i = 0; i < o->producers; i++)
			step(sp, &prod[i], body, size, now);
		spool_poll(sp, now);
		now = now_us();
	}
	double secs = (double)(now - t0) / 1e6;
	uint64_t msgs = st->msgs_committed - m0, commits = st->commits - c0;

	for (unsigned i = 0; i < o->producers; i++)
		failed += prod[i].failed;
	printf("%7zu B  %3u producers  %8.0f msgs/s  %7.0f commits/s  "
	       "%6.1f msgs/commit (max %llu)  %7.1f MB/s written  %llu failed  "
	       "%llu segments reclaimed\n",
	       size, o->producers, (double)msgs / secs, (double)commits / secs,
	       commits ? (double)msgs / (double)commits : 0.0,
	       (unsigned long long)st->commit_msgs_max,
	       (double)(st->bytes_written - b0) / secs / 1e6,
	       (unsigned long long)failed, (unsigned long long)st->reclaimed);
	spool_close(sp);
	nftw(o->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(prod);
	free(body);
	return 0;
}

int main(int argc, char **argv)
{
	char dir[] = "/tmp/sluice-spool-bench-XXXXXX";
	struct spool_conf defaults;

	spool_conf_defaults(&defaults, NULL, 0);
	struct opts o = {.seconds = 5, .producers = 50,
			 .interval_us = defaults.commit_interval_us,
			 .batch = defaults.commit_batch};
	int opt;

	while ((opt = getopt(argc, argv, "d:t:p:i:b:")) != -1) {
		switch (opt) {
		case 'd': o.dir = optarg; break;
		case 't': o.seconds = atof(optarg); break;
		case 'p': o.producers = (unsigned)atoi(optarg); break;
		case 'i': o.interval_us = strtoull(optarg, NULL, 10); break;
		case 'b': o.batch = (unsigned)atoi(optarg); break;
		default:
			fprintf(stderr, "usage: spool_bench [-d DIR] [-t SECONDS] "
				"[-p PRODUCERS] [-i INTERVAL_US] [-b BATCH] [SIZE...]\n");
			return 2;
		}
	}
	if (o.producers == 0 || o.producers > PRODUCERS_MAX || o.seconds <= 0)
		return 2;
	if (o.dir == NULL) {
		if (mkdtemp(dir) == NULL)
			return 1;
		o.dir = dir;
	}
	printf("spool_bench: %s, %.0f s per size, commit interval %llu us, "
	       "batch %u\n", o.dir, o.seconds,
	       (unsigned long long)o.interval_us, o.batch);
	if (optind == argc) {
		if (run(&o, 1024) != 0 || run(&o, 51200) != 0)
			return 1;
	}
	for (int i = optind; i < argc; i++)
		if (run(&o, (size_t)strtoull(argv[i], NULL, 10)) != 0)
			return 1;
	return 0;
}
