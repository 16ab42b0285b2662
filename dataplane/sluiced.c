/*
 * sluiced: the gateway daemon.  Loads the config, starts EAL with the
 * config's arguments plus one device argument per port, brings the ports
 * up with a queue pair per worker, launches the worker loop on every worker
 * lcore, and runs the control plane on the main lcore until SIGTERM/SIGINT.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include <sys/stat.h>

#include "control/authd.h"
#include "control/config.h"
#include "control/ctl.h"
#include "dataplane/worker.h"
#include "drivers/port.h"

#define LINK_WAIT_MS 10000

struct daemon {
	struct conf conf;
	int eal_argc;
	char *eal_argv[CONF_MAX_EAL_ARGS + CONF_MAX_PORTS + 1];
	int owned_from;              /* eal_argv[owned_from..] are ours */
	struct rte_mempool *pool;
	struct port_info port[CONF_MAX_PORTS];
	unsigned nb_started;
	struct worker_set workers;
	struct inbound_shared smtp;   /* what every worker's SMTP service reads */
	struct relay_shared relay;    /* and its delivery to the smart hosts */
	struct smtp_admit *allow;
	struct authd authd;
	struct track_log *track;      /* the accepted-mail log and index */
	struct track_ring *rings[RTE_MAX_LCORE];
	struct ctl_ctx ctl;
	int sigfd;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: sluiced -c CONFIG [--check-config]\n"
		   "  -c, --config PATH   configuration file\n"
		   "      --check-config  validate the configuration and exit\n"
		   "  -h, --help          this text\n");
}

static int fail(const char *what)
{
	fprintf(stderr, "sluiced: %s\n", what);
	return 1;
}

/* SIGTERM/SIGINT arrive on a signalfd that the main lcore polls; blocked
 * before EAL starts, so no lcore thread ever takes them. */
static int signals_open(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
		return -1;
	signal(SIGPIPE, SIG_IGN);
	return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

static bool stop_requested(int sigfd)
{
	struct signalfd_siginfo si;

	while (read(sigfd, &si, sizeof(si)) == sizeof(si))
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
			return true;
	return false;
}

static int eal_start(struct daemon *d)
{
	int rc;

	for (int i = 0; i < d->conf.eal_argc; i++)
		d->eal_argv[i] = d->conf.eal_argv[i];
	d->eal_argc = d->owned_from = d->conf.eal_argc;
	rc = port_eal_args(&d->conf, &d->eal_argc, d->eal_argv,
			   (int)RTE_DIM(d->eal_argv) - 1);
	if (rc < 0)
		return fail("too many EAL arguments");
	/* rte_eal_init permutes argv: hand it a copy of the pointers. */
	char *argv[RTE_DIM(d->eal_argv)];

	memcpy(argv, d->eal_argv, sizeof(argv));
	if (rte_eal_init(d->eal_argc, argv) < 0) {
		fprintf(stderr, "sluiced: EAL init failed: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	return 0;
}

static int ports_start(struct daemon *d, uint16_t nb_queues)
{
	char err[256];

	d->pool = rte_pktmbuf_pool_create("sl_mbuf", d->conf.mbufs, 256, 0,
					  RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
	if (d->pool == NULL)
		return fail("cannot create the mbuf pool");
	for (unsigned i = 0; i < d->conf.nb_ports; i++) {
		const struct port_info *pi = &d->port[i];

		if (port_start(&d->conf.ports[i], nb_queues, d->pool, &d->port[i],
			       err, sizeof(err)) < 0)
			return fail(err);
		d->nb_started++;
		fprintf(stderr, "sluiced: port %s: ethdev %u, mac " RTE_ETHER_ADDR_PRT_FMT
			", %u queue pair(s), rss %s, ip checksum offload rx %s tx %s\n",
			d->conf.ports[i].name, pi->port_id,
			RTE_ETHER_ADDR_BYTES(&pi->mac), nb_queues,
			pi->rss ? "on" : "off", pi->rx_ip_cksum ? "on" : "off",
			pi->tx_ip_cksum ? "on" : "off");
	}
	return 0;
}

/* "mkdir -p" for the spool directory. */
static int make_dirs(const char *path)
{
	char buf[sizeof(((struct conf_spool *)0)->dir)];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0750) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return mkdir(buf, 0750) < 0 && errno != EEXIST ? -errno : 0;
}

/* What the SMTP service needs beyond the config: the allow list's tables,
 * the STARTTLS context, the AUTH verifier, the spool directory. */
static int smtp_setup(struct daemon *d)
{
	const struct conf_smtp *m = &d->conf.smtp;
	struct inbound_shared *sh = &d->smtp;
	const char *allow[CONF_ALLOW_MAX];
	char err[512];
	int rc;

	sh->conf = &d->conf;
	if (m->port == 0)
		return 0;
	smtp_server_conf_default(&sh->server);
	snprintf(sh->server.hostname, sizeof(sh->server.hostname), "%s", m->hostname);
	sh->server.max_rcpt = m->max_rcpt;
	sh->server.max_msg_size = m->max_message_size;
	sh->server.max_errors = m->max_errors;
	sh->server.cmd_line_max = m->cmd_line_max;
	sh->server.text_line_max = m->text_line_max;
	sh->server.auth_line_max = m->auth_line_max;
	sh->server.cmd_timeout_us = (uint64_t)m->cmd_timeout_s * 1000000u;
	sh->server.data_timeout_us = (uint64_t)m->data_timeout_s * 1000000u;
	sh->server.min_data_rate = m->min_data_rate;
	sh->server.normalize_bare = m->normalize_bare;
	sh->server.starttls = m->tls_cert[0] != '\0';
	sh->server.auth = m->auth;
	sh->policy = (struct smtp_admit_policy){
		.unknown = m->unknown == CONF_UNKNOWN_REJECT ? SMTP_UNKNOWN_REJECT
			 : m->unknown == CONF_UNKNOWN_DROP ? SMTP_UNKNOWN_DROP
			 : SMTP_UNKNOWN_TEMPFAIL,
		.auth_admits_unknown = m->auth};
	for (unsigned i = 0; i < m->nb_allow; i++)
		allow[i] = m->allow[i];
	if (m->nb_allow > 0 &&
	    smtp_admit_build(allow, m->nb_allow, 1, SOCKET_ID_ANY, &d->allow,
			     err, sizeof(err)) < 0)
		return fail(err);
	sh->allow = d->allow;
	if (sh->server.starttls &&
	    tls_ctx_server_new(m->tls_cert, m->tls_key, &sh->tls, err, sizeof(err)) < 0)
		return fail(err);
	if (m->auth) {
		if (authd_start(&d->authd, m->credentials, rte_lcore_count() - 1,
				err, sizeof(err)) < 0)
			return fail(err);
		sh->authd = &d->authd;
	}
	if (relay_shared_init(&d->relay, &d->conf, err, sizeof(err)) < 0)
		return fail(err);
	if ((rc = make_dirs(d->conf.spool.dir)) < 0) {
		fprintf(stderr, "sluiced: spool directory %s: %s\n", d->conf.spool.dir,
			strerror(-rc));
		return 1;
	}
	return 0;
}

static int workers_create(struct daemon *d)
{
	unsigned lcore;
	uint16_t q = 0;

	if (getrandom(d->workers.tcp_secret, sizeof(d->workers.tcp_secret), 0) !=
	    (ssize_t)sizeof(d->workers.tcp_secret))
		return fail("getrandom failed");
	RTE_LCORE_FOREACH_WORKER(lcore) {
		struct worker *w = worker_create(&d->workers, lcore, q++,
						 rte_lcore_count() - 1, &d->conf,
						 d->port, d->pool, &d->smtp, &d->relay);

		if (w == NULL)
			return fail("cannot allocate a worker");
		d->workers.w[d->workers.n++] = w;
	}
	return 0;
}

/* ctl_hooks.diag_send: spread CONNS over the workers. */
static int post_diag_send(void *arg, uint32_t raddr, uint16_t rport, uint32_t conns,
		     uint64_t bytes)
{
	struct daemon *d = arg;
	unsigned n = d->workers.n;

	for (unsigned i = 0; i < n; i++) {
		uint32_t share = conns / n + (i < conns % n);
		int rc = share == 0 ? 0 : worker_post_diag_send(d->workers.w[i], raddr,
								 rport, share, bytes);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int control_open(struct daemon *d)
{
	struct ctl_ctx *c = &d->ctl;
	struct timespec ts;
	int rc;

	c->conf = &d->conf;
	for (unsigned i = 0; i < d->conf.nb_ports; i++)
		c->port_id[i] = d->port[i].port_id;
	c->nb_workers = d->workers.n;
	for (unsigned i = 0; i < d->workers.n; i++) {
		c->worker[i].lcore = d->workers.w[i]->lcore;
		c->worker[i].stats = &d->workers.w[i]->stats;
		c->worker[i].tcp = tcp_stack_stats(d->workers.w[i]->tcp);
		c->worker[i].diag = &d->workers.w[i]->diag.stats;
		c->worker[i].smtp = &d->workers.w[i]->inbound.stats;
		c->worker[i].spool = d->workers.w[i]->spool != NULL
			? spool_stats(d->workers.w[i]->spool) : NULL;
		if (d->workers.w[i]->delivery != NULL) {
			c->worker[i].queue = &d->workers.w[i]->qport;
			c->worker[i].track = &d->workers.w[i]->track;
			d->rings[i] = &d->workers.w[i]->track;
		}
	}
	c->hooks = (struct ctl_hooks){.diag_send = post_diag_send, .arg = d};
	c->track = d->track;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	c->started_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	if ((rc = ctl_open(c)) < 0) {
		fprintf(stderr, "sluiced: control socket %s: %s\n",
			d->conf.ctl_socket, strerror(-rc));
		return 1;
	}
	return 0;
}

static int links_wait(struct daemon *d)
{
	for (unsigned i = 0; i < d->conf.nb_ports; i++)
		if (!port_wait_link(d->port[i].port_id, LINK_WAIT_MS)) {
			fprintf(stderr, "sluiced: port %s: link down after %u ms\n",
				d->conf.ports[i].name, LINK_WAIT_MS);
			return 1;
		}
	return 0;
}

static void logs_drain(struct daemon *d)
{
	for (unsigned i = 0; i < d->workers.n; i++)
		wlog_drain(&d->workers.w[i]->log, stderr);
	if (d->track != NULL)
		track_log_poll(d->track, d->rings, d->workers.n);
}

/* The accepted-mail log: the index behind `sluicectl accepted`, the
 * Postfix-like lines on stderr, and JSON lines in control.track_log. */
static int track_open(struct daemon *d)
{
	struct track_log_conf tc;
	int rc;

	if (d->conf.smtp.port == 0)
		return 0;
	track_log_conf_defaults(&tc, d->conf.track.log[0] ? d->conf.track.log : NULL);
	tc.max_bytes = (uint64_t)d->conf.track.log_mb << 20;
	tc.keep = d->conf.track.keep;
	tc.index_max = d->conf.track.index;
	if ((rc = track_log_open(&tc, &d->track)) < 0) {
		fprintf(stderr, "sluiced: tracking log %s: %s\n", d->conf.track.log,
			strerror(-rc));
		return 1;
	}
	return 0;
}

static void serve(struct daemon *d)
{
	for (unsigned i = 0; i < d->workers.n; i++)
		rte_eal_remote_launch(worker_main, d->workers.w[i],
				      d->workers.w[i]->lcore);
	printf("ready\n");
	fflush(stdout);
	while (!stop_requested(d->sigfd)) {
		ctl_poll(&d->ctl, 20);
		logs_drain(d);
	}
	fprintf(stderr, "sluiced: stopping\n");
	__atomic_store_n(&d->workers.quit, true, __ATOMIC_RELAXED);
	rte_eal_mp_wait_lcore();
	logs_drain(d);
}

static void shutdown_all(struct daemon *d, bool eal_up)
{
	if (d->ctl.conf != NULL)
		ctl_close(&d->ctl);
	if (d->track != NULL)
		track_log_close(d->track);
	for (unsigned i = 0; i < d->workers.n; i++)
		worker_destroy(d->workers.w[i]);
	if (d->smtp.authd != NULL)
		authd_stop(&d->authd);
	tls_ctx_free(d->smtp.tls);
	relay_shared_fini(&d->relay);
	smtp_admit_free(d->allow);
	for (unsigned i = 0; i < d->nb_started; i++)
		port_stop(d->port[i].port_id);
	rte_mempool_free(d->pool);
	if (eal_up)
		rte_eal_cleanup();
	for (int i = d->owned_from; i < d->eal_argc; i++)
		free(d->eal_argv[i]);
	conf_free(&d->conf);
	if (d->sigfd >= 0)
		close(d->sigfd);
}

static int parse_args(int argc, char **argv, const char **path, bool *check)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"check-config", no_argument, NULL, 'C'},
		{"help", no_argument, NULL, 'h'},
		{0}};
	int c;

	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': *path = optarg; break;
		case 'C': *check = true; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -1;
		}
	}
	if (*path == NULL || optind != argc) {
		usage(stderr);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct daemon d = {.sigfd = -1};
	const char *path = NULL;
	bool check = false;
	char err[CONF_ERR_LEN];
	int rc;

	if (parse_args(argc, argv, &path, &check) < 0)
		return 2;
	if (conf_load(path, &d.conf, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	if (check) {
		printf("%s: configuration OK\n", path);
		conf_free(&d.conf);
		return 0;
	}
	if ((d.sigfd = signals_open()) < 0)
		return fail("cannot set up signal handling");
	if ((rc = eal_start(&d)) != 0) {
		shutdown_all(&d, false);
		return rc;
	}
	if (rte_lcore_count() < 2)
		rc = fail("the EAL lcore list needs a worker lcore besides the main one");
	if (rc == 0)
		rc = ports_start(&d, (uint16_t)(rte_lcore_count() - 1));
	if (rc == 0)
		rc = smtp_setup(&d);
	if (rc == 0)
		rc = workers_create(&d);
	if (rc == 0)
		rc = track_open(&d);
	if (rc == 0)
		rc = control_open(&d);
	if (rc == 0)
		rc = links_wait(&d);
	if (rc == 0)
		serve(&d);
	shutdown_all(&d, true);
	return rc;
}
