/*
 * sluiced: the gateway daemon.  Loads the config, starts EAL with the
 * config's arguments plus one device argument per port, brings the ports
 * up with a queue pair per worker, launches the worker loop on every worker
 * lcore, and runs the control plane on the main lcore until SIGTERM/SIGINT:
 * the control socket, config reloads (SIGHUP, `sluicectl reload`), the log
 * reopened on SIGUSR1, and systemd's readiness notification.
 */
#include <errno.h>
#include <fcntl.h>
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

#include <systemd/sd-daemon.h>

#include "control/authd.h"
#include "control/config.h"
#include "control/ctl.h"
#include "control/relay_dns.h"
#include "control/reload.h"
#include "control/snapshot.h"
#include "dataplane/worker.h"
#include "drivers/port.h"

#define LINK_WAIT_MS 10000
#define DNS_WAIT_MS  5000

struct daemon {
	struct conf conf;
	int eal_argc;
	char *eal_argv[CONF_MAX_EAL_ARGS + CONF_MAX_PORTS + 1];
	int owned_from;              /* eal_argv[owned_from..] are ours */
	struct rte_mempool *pool;
	struct port_info port[CONF_MAX_PORTS];
	unsigned nb_started;
	struct worker_set workers;
	struct snap_pub pub;          /* the configuration snapshot the workers run on */
	struct reload reload;
	struct relay_dns dns;         /* the smart hosts' names, for the current snapshot */
	struct authd authd;
	bool authd_up;
	const char *config_path;
	const char *log_path;         /* --log: stdout and stderr go there */
	struct track_log *track;      /* the accepted-mail log and index */
	struct track_ring *rings[RTE_MAX_LCORE];
	struct ctl_ctx ctl;
	int sigfd;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: sluiced -c CONFIG [--check-config] [--log FILE]\n"
		   "  -c, --config PATH   configuration file\n"
		   "      --check-config  validate the configuration and exit\n"
		   "  -l, --log FILE      append stdout and stderr to FILE, reopened on SIGUSR1\n"
		   "  -h, --help          this text\n");
}

static int fail(const char *what)
{
	fprintf(stderr, "sluiced: %s\n", what);
	return 1;
}

/* SIGTERM/SIGINT (stop), SIGHUP (reload) and SIGUSR1 (reopen the log)
 * arrive on a signalfd that the main lcore polls; blocked before EAL
 * starts, so no lcore thread ever takes them. */
static int signals_open(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
		return -1;
	signal(SIGPIPE, SIG_IGN);
	return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

/* Point stdout and stderr at the log file (again: logrotate moved it). */
static int log_open(const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	int rc = 0;

	if (fd < 0)
		return -errno;
	fflush(stdout);
	fflush(stderr);
	if (dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

static void log_reopen(struct daemon *d)
{
	int rc;

	if (d->log_path == NULL)
		return;
	if ((rc = log_open(d->log_path)) < 0)
		fprintf(stderr, "sluiced: cannot reopen the log %s: %s\n", d->log_path,
			strerror(-rc));
	else
		fprintf(stderr, "sluiced: log reopened (SIGUSR1)\n");
}

/* Act on the signals that came; true when asked to stop. */
static bool signals_handle(struct daemon *d)
{
	struct signalfd_siginfo si;
	char msg[CONF_ERR_LEN];

	while (read(d->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
			return true;
		if (si.ssi_signo == SIGUSR1) {
			log_reopen(d);
		} else if (si.ssi_signo == SIGHUP) {
			char who[64];

			snprintf(who, sizeof(who), "SIGHUP from pid %u", si.ssi_pid);
			reload_config(&d->reload, who, msg, sizeof(msg));
		}
	}
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

/* reload.published: the smart hosts' names now belong to snapshot S. */
static void snap_published(void *arg, struct snap *s)
{
	struct daemon *d = arg;

	relay_dns_repoint(&d->dns, &s->relay);
}

/* The first configuration snapshot (allow list, limits, TLS contexts,
 * smart hosts), the AUTH verifier and the spool directory. */
static int config_setup(struct daemon *d)
{
	unsigned nb_workers = rte_lcore_count() - 1;
	struct snap *first;
	char err[CONF_ERR_LEN];
	int rc;

	if (d->conf.smtp.port != 0 && d->conf.smtp.auth) {
		if (authd_start(&d->authd, d->conf.smtp.credentials, nb_workers,
				err, sizeof(err)) < 0)
			return fail(err);
		d->authd_up = true;
	}
	if (snap_build(&d->conf, 1, d->authd_up ? &d->authd : NULL, &first,
		       err, sizeof(err)) < 0)
		return fail(err);
	if (relay_dns_open(&d->dns, &first->relay, err, sizeof(err)) < 0) {
		snap_free(first);
		return fail(err);
	}
	if (snap_pub_init(&d->pub, nb_workers, first) < 0) {
		relay_dns_close(&d->dns);
		snap_free(first);
		return fail("cannot allocate the snapshot's RCU state");
	}
	d->workers.pub = &d->pub;
	d->reload = (struct reload){.path = d->config_path, .pub = &d->pub,
				    .authd = first->smtp.authd, .log = stderr,
				    .published = snap_published, .arg = d};
	if (d->conf.smtp.port != 0 && (rc = make_dirs(d->conf.spool.dir)) < 0) {
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
						 d->port, d->pool);

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
			c->worker[i].relay = &d->workers.w[i]->relay.stats;
			d->rings[i] = &d->workers.w[i]->track;
		}
	}
	c->hooks = (struct ctl_hooks){.diag_send = post_diag_send, .arg = d};
	c->track = d->track;
	c->dns = &d->dns;
	c->reload = &d->reload;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	c->started_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	if ((rc = ctl_open(c)) < 0) {
		fprintf(stderr, "sluiced: control socket %s or HTTP listener: %s\n",
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
	relay_dns_wait(&d->dns, DNS_WAIT_MS);  /* the first answers, before any relaying */
	for (unsigned i = 0; i < d->workers.n; i++)
		rte_eal_remote_launch(worker_main, d->workers.w[i],
				      d->workers.w[i]->lcore);
	printf("ready\n");
	fflush(stdout);
	/* systemd (Type=notify): the ports are up and the workers run */
	sd_notifyf(0, "READY=1\nSTATUS=serving, config version %ju\nMAINPID=%lu",
		   (uintmax_t)snap_current(&d->pub)->version, (unsigned long)getpid());
	while (!signals_handle(d)) {
		ctl_poll(&d->ctl, 20);
		relay_dns_poll(&d->dns);
		logs_drain(d);
		snap_reclaim(&d->pub);
	}
	sd_notify(0, "STOPPING=1");
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
	snap_pub_fini(&d->pub);
	if (d->authd_up)
		authd_stop(&d->authd);
	relay_dns_close(&d->dns);
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

static int parse_args(int argc, char **argv, const char **path, bool *check,
		      const char **log)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"check-config", no_argument, NULL, 'C'},
		{"log", required_argument, NULL, 'l'},
		{"help", no_argument, NULL, 'h'},
		{0}};
	int c;

	while ((c = getopt_long(argc, argv, "c:l:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': *path = optarg; break;
		case 'l': *log = optarg; break;
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

	if (parse_args(argc, argv, &path, &check, &d.log_path) < 0)
		return 2;
	if (d.log_path != NULL && (rc = log_open(d.log_path)) < 0) {
		fprintf(stderr, "sluiced: log %s: %s\n", d.log_path, strerror(-rc));
		return 2;
	}
	d.config_path = path;
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
		rc = config_setup(&d);
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
