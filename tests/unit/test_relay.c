/*
 * test_relay: the relay module (dataplane/relay*.c) in one process — a
 * real spool in a temporary directory, a delivery queue, a tracking ring,
 * and two TCP stacks joined by the test link (tcp_harness): the relay's on
 * side A, a scripted SMTP server on side B.  Checks that a message reaches
 * the server with its body intact (dot-stuffing undone), that each
 * recipient's reply ends up in the queue and the tracking events, that a
 * smart host refusing connections fails over to the next cost, that a 4xx
 * defers and the retry delivers, and that the relay QUITs, waits for the
 * 221 and leaves TIME_WAIT to the server.
 */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include "dataplane/net/net.h"
#include "dataplane/queue/queue.h"
#include "dataplane/relay.h"
#include "dataplane/spool/spool.h"
#include "dataplane/tls/tls.h"
#include "dataplane/track.h"
#include "dataplane/wlog.h"
#include "tests/unit/suites.h"
#include "tests/unit/tcp_harness.h"
#include "tests/unit/tls_testcert.h"

/* ---- the scripted server -------------------------------------------------- */

struct srv;

/* One connection to the server. */
struct srv_conn {
	struct srv *s;
	struct tcp_conn *c;
	char line[2048];
	size_t llen;
	bool data;
	bool null_sender;            /* this transaction's MAIL FROM:<> */
	struct tls_conn *tls;        /* after STARTTLS */
};

struct srv {
	struct srv_conn conn[8];
	char body[256 * 1024];       /* the last message with a sender */
	char dsn[32768];             /* the last one from <> */
	size_t dlen;
	unsigned dsns;
	size_t blen;
	const char *mail_reply;      /* NULL: 250 */
	struct tls_ctx *tls;         /* offer STARTTLS with this */
	unsigned conns, mails, msgs, quits, closed, tls_done;   /* mails: with a sender */
};

static void flush(struct srv_conn *sc)
{
	uint8_t buf[8192];
	size_t n;

	while ((n = tls_drain_cipher(sc->tls, buf, sizeof(buf))) > 0)
		tcp_send(sc->c, buf, n);
}

static void say(struct srv_conn *sc, const char *text)
{
	size_t put;

	if (sc->tls == NULL) {
		tcp_send(sc->c, text, strlen(text));
		return;
	}
	tls_write_plain(sc->tls, text, strlen(text), &put);
	flush(sc);
}

static void srv_line(struct srv_conn *sc)
{
	struct srv *s = sc->s;
	const char *l = sc->line;

	if (sc->data) {
		char *buf = sc->null_sender ? s->dsn : s->body;
		size_t *len = sc->null_sender ? &s->dlen : &s->blen;
		size_t cap = sc->null_sender ? sizeof(s->dsn) : sizeof(s->body);

		if (strcmp(l, ".\r\n") == 0) {
			sc->data = false;
			if (sc->null_sender)
				s->dsns++;
			else
				s->msgs++;
			say(sc, "250 2.0.0 Ok: queued as SINK1\r\n");
			return;
		}
		if (l[0] == '.')
			l++;
		if (*len + strlen(l) < cap) {
			memcpy(buf + *len, l, strlen(l));
			*len += strlen(l);
			buf[*len] = '\0';
		}
		return;
	}
	if (strncmp(l, "EHLO", 4) == 0)
		say(sc, s->tls && !sc->tls ? "250-sink\r\n250-STARTTLS\r\n250 8BITMIME\r\n"
					   : "250-sink\r\n250 8BITMIME\r\n");
	else if (strncmp(l, "STARTTLS", 8) == 0 && s->tls && !sc->tls) {
		say(sc, "220 2.0.0 Ready to start TLS\r\n");
		CU_ASSERT_EQUAL(tls_conn_new(s->tls, NULL, &sc->tls), 0);
	} else if (strncmp(l, "MAIL", 4) == 0) {
		sc->null_sender = strncmp(l, "MAIL FROM:<>", 12) == 0;
		s->mails += !sc->null_sender;
		say(sc, s->mail_reply ? s->mail_reply : "250 2.1.0 Ok\r\n");
	}
	else if (strncmp(l, "RCPT", 4) == 0)
		say(sc, strstr(l, "bad@") ? "550 5.1.1 no such user\r\n" : "250 2.1.5 Ok\r\n");
	else if (strncmp(l, "DATA", 4) == 0) {
		sc->data = true;
		if (sc->null_sender)
			s->dlen = 0;
		else
			s->blen = 0;
		say(sc, "354 go ahead\r\n");
	} else if (strncmp(l, "RSET", 4) == 0)
		say(sc, "250 2.0.0 Ok\r\n");
	else if (strncmp(l, "QUIT", 4) == 0) {
		s->quits++;
		say(sc, "221 2.0.0 Bye\r\n");
		tcp_close(sc->c);
	} else
		say(sc, "502 5.5.2 what\r\n");
}

static void srv_byte(struct srv_conn *sc, uint8_t b)
{
	if (sc->llen + 1 < sizeof(sc->line))
		sc->line[sc->llen++] = (char)b;
	if (b == '\n') {
		sc->line[sc->llen] = '\0';
		srv_line(sc);
		sc->llen = 0;
	}
}

static void srv_tls(struct srv_conn *sc, const uint8_t *d, size_t len)
{
	uint8_t plain[4096];
	size_t taken, got;

	CU_ASSERT_EQUAL(tls_feed_cipher(sc->tls, d, len, &taken), TLS_OK);
	if (!tls_handshake_done(sc->tls)) {
		enum tls_result rc = tls_handshake(sc->tls);

		flush(sc);
		if (rc != TLS_OK)
			return;
		sc->s->tls_done++;
	}
	while (tls_read_plain(sc->tls, plain, sizeof(plain), &got) == TLS_OK)
		for (size_t i = 0; i < got; i++)
			srv_byte(sc, plain[i]);
}

static size_t srv_recv(struct tcp_conn *c, void *arg, const uint8_t *d, size_t len)
{
	struct srv_conn *sc = arg;
	size_t i = 0;

	(void)c;
	/* in clear up to STARTTLS, then ciphertext */
	while (i < len && sc->tls == NULL)
		srv_byte(sc, d[i++]);
	if (i < len)
		srv_tls(sc, d + i, len - i);
	return len;
}

static void srv_event(struct tcp_conn *c, void *arg, enum tcp_event ev, int err)
{
	struct srv_conn *sc = arg;

	(void)err;
	if (ev == TCP_EV_PEER_CLOSED)
		tcp_close(c);
	if (ev == TCP_EV_CLOSED) {
		sc->s->closed++;
		sc->c = NULL;
		tls_conn_free(sc->tls);
		sc->tls = NULL;
	}
}

static const struct tcp_ops srv_ops = {.recv = srv_recv, .event = srv_event};

static int srv_accept(void *arg, struct tcp_conn *c, const struct tcp_ops **ops,
		      void **oarg)
{
	struct srv *s = arg;
	struct srv_conn *sc = NULL;

	for (unsigned i = 0; i < 8 && sc == NULL; i++)
		if (s->conn[i].c == NULL)
			sc = &s->conn[i];
	if (sc == NULL)
		return -ENOBUFS;
	*sc = (struct srv_conn){.s = s, .c = c};
	s->conns++;
	*ops = &srv_ops;
	*oarg = sc;
	say(sc, "220 sink ESMTP\r\n");
	return 0;
}

/* ---- the fixture ----------------------------------------------------------------- */

static struct rte_mempool *pool;

struct fix {
	struct harness h;
	char dir[64];
	struct spool *sp;
	struct queue *q;
	struct track_ring track;
	struct wlog log;
	struct net_ctx net;
	struct conf conf;
	struct relay_shared sh;
	struct relay r;
	struct srv srv;
	int committed;
	bool disk_reads;       /* set before setup() */
	unsigned down_port;    /* the cost-5 host's port (24: nobody listens) */
};

/* The relay section's smart hosts: a cost-5 one nobody listens for, and
 * the server's port at cost 10 with TLS policy UP_TLS. */
static const char CONF_FMT[] =
	"eal = [\"--no-huge\"]; control = { socket = \"/run/sl.sock\"; };\n"
	"ports = ({ name = \"in\"; device = \"net_tap0\"; address = \"10.0.0.1/24\"; });\n"
	"relay = { smart_hosts = (\n"
	"  { name = \"down\"; host = \"10.0.0.2\"; port = %u; cost = 5; tls = \"none\"; },\n"
	"  { name = \"up\"; host = \"10.0.0.2\"; port = 25; cost = 10; %s });\n"
	"  routes = ({ domain = \"*\"; hosts = [\"down\", \"up\"]; });\n"
	"  retry_s = [2]; lifetime_s = 60; host_down_s = 30; max_conns = 2; };\n";

/* Spool, queue and relay work every step of the clock. */
static bool drive(void *arg)
{
	struct fix *f = arg;

	spool_poll(f->sp, f->h.now);
	relay_poll(&f->r);
	return false;
}

static void run(struct fix *f, uint64_t us)
{
	h_run_until(&f->h, us, drive, f);
}

/* Run until DONE(F) for what waits on the spool's real I/O: the clock
 * runs free in run(), a millisecond per step when nothing is due, so a
 * slow fdatasync would cost it seconds.  Here each millisecond of it takes
 * at least 100 µs of real time; gives up after 5 s of the clock. */
static void run_io(struct fix *f, bool (*done)(const struct fix *))
{
	for (int i = 0; i < 5000 && !done(f); i++) {
		run(f, 1000);
		usleep(100);
	}
}

static bool msg_relayed(const struct fix *f)
{
	return f->srv.msgs > 0;
}

static bool dsn_relayed(const struct fix *f)
{
	return f->srv.dsns > 0;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(p);
}

static void on_end(void *arg, struct spool_msg *m, int err)
{
	struct fix *f = arg;

	(void)m;
	f->committed = err == 0 ? 1 : -1;
}

#define S(x) {.p = (x), .len = sizeof(x) - 1}

static const char BODY[] =
	"Received: from exch01 by sluice; Fri, 27 Nov 2026 04:00:00 +0000\r\n"
	"Subject: relay test\r\n"
	"\r\n"
	".a line that starts with a dot\r\n"
	"the end\r\n";

/* Accept one message to a@example.com and bad@example.com, queued. */
static uint64_t accept_body(struct fix *f, const char *body, size_t len)
{
	static struct spool_rcpt rcpt[] = {{.addr = S("a@example.com")},
					   {.addr = S("bad@example.com")}};
	struct spool_env env = {.client_family = 4, .client_addr = {198, 18, 0, 2},
				.helo = S("exch01"), .sender = S("news@corp.example"),
				.nrcpt = 2, .rcpt = rcpt};
	struct spool_msg *m;
	uint64_t qid;

	f->committed = 0;
	CU_ASSERT_EQUAL_FATAL(spool_msg_begin(f->sp, &env, f->h.now, &m), 0);
	CU_ASSERT_EQUAL_FATAL(spool_msg_append(m, body, len), 0);
	CU_ASSERT_EQUAL_FATAL(spool_msg_end(m, on_end, f), 0);
	for (int i = 0; i < 20000 && f->committed == 0; i++) {
		f->h.now += 100;
		spool_poll(f->sp, f->h.now);
		usleep(50);
	}
	CU_ASSERT_EQUAL_FATAL(f->committed, 1);
	qid = spool_msg_qid(m);
	CU_ASSERT_EQUAL_FATAL(relay_env_add(&f->r, qid, &env), 0);
	CU_ASSERT_EQUAL_FATAL(queue_add(f->q, &(struct queue_add){
		.msg = m, .qid = qid, .arrival_us = f->h.now, .size = spool_msg_size(m),
		.nrcpt = 2, .sender = "news@corp.example"}, f->h.now), 0);
	return qid;
}

static uint64_t accept_msg(struct fix *f)
{
	return accept_body(f, BODY, sizeof(BODY) - 1);
}

static void setup(struct fix *f, const char *up_tls)
{
	char text[2048];

	struct tcp_stack_conf tc = TCP_STACK_CONF_DEFAULT;
	struct spool_conf sc;
	struct queue_conf qc;
	char err[CONF_ERR_LEN];

	bool disk_reads = f->disk_reads;
	unsigned down_port = f->down_port;

	memset(f, 0, sizeof(*f));
	f->disk_reads = disk_reads;
	f->down_port = down_port;
	snprintf(text, sizeof(text), CONF_FMT, down_port ? down_port : 24, up_tls);
	CU_ASSERT_EQUAL_FATAL(conf_load_string(text, "t.conf", &f->conf, err,
					       sizeof(err)), 0);
	CU_ASSERT_EQUAL_FATAL(h_init(&f->h, pool, &tc, NULL, NULL), 0);
	strcpy(f->dir, "/tmp/sluice-relay-XXXXXX");
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(f->dir));
	spool_conf_defaults(&sc, f->dir, 3);
	sc.seg_size = 1u << 20;
	sc.block_size = 64u << 10;
	sc.seg_initial = 1;
	sc.seg_max = 2;
	sc.blocks = 8;         /* room for the large body at once */
	if (f->disk_reads)
		sc.mem_budget = 0; /* no body in memory: every read is I/O */
	CU_ASSERT_EQUAL_FATAL(spool_open(&sc, f->h.now, NULL, NULL, &f->sp), 0);
	queue_conf_defaults(&qc);
	relay_queue_conf(&f->conf.relay, &qc);
	CU_ASSERT_EQUAL_FATAL(queue_create(&qc, &f->q), 0);
	CU_ASSERT_EQUAL_FATAL(track_ring_init(&f->track, 240, SOCKET_ID_ANY, 64), 0);
	CU_ASSERT_EQUAL_FATAL(wlog_init(&f->log, 240, SOCKET_ID_ANY), 0);
	f->net.nb_ifaces = 1;
	f->net.iface[0].addr = H_ADDR_A;
	f->net.iface[0].mask = 0xffffff00u;
	CU_ASSERT_EQUAL_FATAL(relay_shared_init(&f->sh, &f->conf, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL_FATAL(relay_init(&f->r, &f->sh, f->h.side[0].s, &f->net, f->q,
					 &f->track, &f->log, 0, &f->h.now, &f->h.now), 0);
	relay_set_spool(&f->r, f->sp);
	CU_ASSERT_EQUAL_FATAL(tcp_listen(f->h.side[1].s, H_ADDR_B, 25, srv_accept,
					 &f->srv), 0);
}

static void teardown(struct fix *f)
{
	spool_close(f->sp);
	h_fini(&f->h);
	relay_fini(&f->r);
	relay_shared_fini(&f->sh);
	wlog_fini(&f->log);
	track_ring_fini(&f->track);
	queue_destroy(f->q);
	conf_free(&f->conf);
	nftw(f->dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

/* The tracking events so far: how many of TYPE, and the text of the last. */
static unsigned events(struct fix *f, unsigned *count, char texts[][TRACK_TEXT_MAX])
{
	struct track_event ev[16];
	unsigned n = track_take(&f->track, ev, 16);

	for (unsigned i = 0; i < n; i++) {
		count[ev[i].type]++;
		strcpy(texts[ev[i].type], ev[i].text);
	}
	return n;
}

/* ---- tests -------------------------------------------------------------------- */

static void test_deliver_failover_quit(void)
{
	static struct fix f;
	unsigned count[TRACK__MAX] = {0};
	char texts[TRACK__MAX][TRACK_TEXT_MAX];
	struct queue_info qi;
	uint64_t qid;
	unsigned early;

	setup(&f, "tls = \"none\";");
	qid = accept_msg(&f);
	run(&f, 1000000);
	/* port 24 refuses: the message went on to the cost-10 host */
	CU_ASSERT_EQUAL(f.r.stats.failovers, 1);
	CU_ASSERT_EQUAL(f.r.stats.conn_fail, 1);
	CU_ASSERT_EQUAL(f.srv.conns, 1);
	CU_ASSERT_EQUAL(f.srv.msgs, 1);
	/* the DSN below may have gone out already: its spool commit is real
	 * I/O, which can finish within this second of virtual time */
	early = f.srv.dsns;
	CU_ASSERT(early <= 1);
	CU_ASSERT_EQUAL(f.srv.blen, sizeof(BODY) - 1);
	CU_ASSERT(f.srv.blen == sizeof(BODY) - 1 && memcmp(f.srv.body, BODY, f.srv.blen) == 0);
	CU_ASSERT_EQUAL(f.r.stats.sent, 1 + early);
	CU_ASSERT_EQUAL(f.r.stats.bounced, 1);
	/* one sent, one bounced: the message is finished and gone */
	CU_ASSERT_EQUAL(queue_get(f.q, qid, &qi), -ENOENT);
	CU_ASSERT_EQUAL(queue_stats(f.q)->finished, 1 + early);
	events(&f, count, texts);
	CU_ASSERT_EQUAL(count[TRACK_RELAYED], 1 + early);
	if (early == 0)
		CU_ASSERT_STRING_EQUAL(texts[TRACK_RELAYED], "250 2.0.0 Ok: queued as SINK1");
	CU_ASSERT_EQUAL(count[TRACK_BOUNCED], 1);
	CU_ASSERT_STRING_EQUAL(texts[TRACK_BOUNCED], "550 5.1.1 no such user");
	/* the bounce made a DSN to the sender, relayed like any message once
	 * the spool committed it (real I/O: real time passes) */
	run_io(&f, dsn_relayed);
	CU_ASSERT_EQUAL(f.r.stats.dsn_dropped, 0);
	CU_ASSERT_EQUAL(f.r.stats.dsn_sent, 1);
	CU_ASSERT_EQUAL(f.srv.dsns, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(f.srv.dsn, "multipart/report"));
	CU_ASSERT_PTR_NOT_NULL(strstr(f.srv.dsn, "Final-Recipient: rfc822; bad@example.com"));
	CU_ASSERT_PTR_NOT_NULL(strstr(f.srv.dsn, "Status: 5.1.1"));
	CU_ASSERT_PTR_NOT_NULL(strstr(f.srv.dsn, "550 5.1.1 no such user"));
	CU_ASSERT_PTR_NOT_NULL(strstr(f.srv.dsn, ".a line that starts with a dot"));
	/* idle: QUIT, the 221, the server closes first, then we do */
	run(&f, 5000000);
	CU_ASSERT(f.srv.quits >= 1 && f.srv.quits == f.srv.conns);
	CU_ASSERT_EQUAL(f.srv.closed, f.srv.conns);
	CU_ASSERT_EQUAL(tcp_stack_stats(f.h.side[0].s)->time_wait, 0);
	teardown(&f);
}

/* Frames from the server's side are lost (a host that goes away
 * without a word). */
static bool drop_from_server(void *arg, int side, const struct rte_mbuf *m)
{
	(void)arg;
	(void)m;
	return side == 1;
}

static bool two_relayed(const struct fix *f)
{
	return f->srv.msgs >= 2;
}

/* A smart host that restarted: the relay's idle connection is dead on the
 * host's side and the relay does not know.  The next message goes on it,
 * the host answers with a reset, and the message moves to a fresh
 * connection at once: delivered, the host not held down, counted. */
static void test_stale_conn(void)
{
	static struct fix f;

	setup(&f, "tls = \"none\";");
	accept_msg(&f);
	run_io(&f, msg_relayed);
	run_io(&f, dsn_relayed);          /* the bounce's DSN, same connection */
	CU_ASSERT_EQUAL_FATAL(f.srv.msgs, 1);
	CU_ASSERT_EQUAL(f.srv.conns, 1);
	CU_ASSERT_EQUAL(f.r.stats.failovers, 1);        /* from the down host */
	/* the host forgets its connections; its resets are lost */
	f.h.filter = drop_from_server;
	for (unsigned i = 0; i < 8; i++)
		if (f.srv.conn[i].c != NULL) {
			tcp_abort(f.srv.conn[i].c);
			f.srv.conn[i].c = NULL;
		}
	run(&f, 1000);
	f.h.filter = NULL;
	accept_msg(&f);
	run_io(&f, two_relayed);
	CU_ASSERT_EQUAL(f.srv.msgs, 2);
	CU_ASSERT_EQUAL(f.srv.conns, 2);                 /* a fresh one */
	CU_ASSERT_EQUAL(f.r.stats.stale_retries, 1);
	CU_ASSERT_EQUAL(f.r.stats.failovers, 1);         /* no failover for it */
	CU_ASSERT_EQUAL(f.r.stats.conn_fail, 1);
	CU_ASSERT_EQUAL(f.r.stats.deferred, 0);
	teardown(&f);
}

/* A config reload: relay_drain() takes no new message and closes idle
 * connections; it says true only once nothing is in flight, and after
 * relay_set_shared() delivery resumes on the new smart hosts. */
static void test_drain_switch(void)
{
	static struct fix f;
	struct relay_shared sh2;
	char err[CONF_ERR_LEN];
	unsigned msgs, conns;
	bool drained = false;

	setup(&f, "tls = \"none\";");
	accept_msg(&f);
	run(&f, 1000000);
	CU_ASSERT_EQUAL_FATAL(f.srv.msgs, 1);
	CU_ASSERT_FALSE(relay_drain(&f.r));       /* its connection is still open */
	for (int i = 0; i < 5000 && !drained; i++) {
		run(&f, 10000);
		usleep(100);
		drained = relay_drain(&f.r);
	}
	CU_ASSERT_TRUE_FATAL(drained);
	CU_ASSERT_EQUAL(f.srv.closed, f.srv.conns); /* QUIT at once, not after 2 s idle */
	msgs = f.srv.msgs;
	conns = f.srv.conns;
	accept_msg(&f);
	run(&f, 1000000);
	CU_ASSERT_EQUAL(f.srv.msgs, msgs);         /* nothing taken while draining */
	CU_ASSERT_EQUAL(f.srv.conns, conns);
	CU_ASSERT_TRUE(relay_drain(&f.r));
	CU_ASSERT_EQUAL_FATAL(relay_shared_init(&sh2, &f.conf, err, sizeof(err)), 0);
	relay_set_shared(&f.r, &sh2);
	run(&f, 1000000);
	CU_ASSERT(f.srv.msgs > msgs);
	run(&f, 5000000);
	teardown(&f);
	relay_shared_fini(&sh2);
}

/* A 4xx from the cost-5 host: the retry goes to the next host first. */
static void test_defer_next_host(void)
{
	static struct fix f;
	static struct srv first;
	struct queue_info qi;
	uint64_t qid;

	f.down_port = 26;
	setup(&f, "tls = \"none\";");
	memset(&first, 0, sizeof(first));
	first.mail_reply = "451 4.3.0 try again later\r\n";
	CU_ASSERT_EQUAL_FATAL(tcp_listen(f.h.side[1].s, H_ADDR_B, 26, srv_accept, &first), 0);
	qid = accept_msg(&f);
	run(&f, 1000000);
	CU_ASSERT_EQUAL(first.mails, 1);
	CU_ASSERT_EQUAL(f.srv.conns, 0);
	CU_ASSERT_EQUAL_FATAL(queue_get(f.q, qid, &qi), 0);
	CU_ASSERT_EQUAL(qi.state, QUEUE_DEFERRED);
	run(&f, 3000000);       /* the DSN for bad@ may have gone to FIRST (real I/O) */
	CU_ASSERT_EQUAL(first.mails, 1);
	CU_ASSERT_EQUAL(f.srv.msgs, 1);
	CU_ASSERT_EQUAL(queue_get(f.q, qid, &qi), -ENOENT);
	run(&f, 5000000);
	teardown(&f);
}

/* A body larger than the relay's read window (8 KiB) and the engine's
 * output buffer: read from the spool in many pieces, lines starting with
 * dots throughout. */
static void large_body(bool disk_reads)
{
	static struct fix f;
	static char body[200 * 1024];
	size_t len = 0;
	uint64_t qid;
	struct queue_info qi;

	for (unsigned i = 0; len + 100 < sizeof(body); i++)
		len += (size_t)snprintf(body + len, sizeof(body) - len, "%sline %u of a long body\r\n",
					i % 7 == 0 ? "." : "", i);
	f.disk_reads = disk_reads;
	setup(&f, "tls = \"none\";");
	qid = accept_body(&f, body, len);
	run_io(&f, msg_relayed);
	CU_ASSERT_EQUAL(f.srv.msgs, 1);
	CU_ASSERT_EQUAL(f.srv.blen, len);
	CU_ASSERT(f.srv.blen == len && memcmp(f.srv.body, body, len) == 0);
	CU_ASSERT_EQUAL(queue_get(f.q, qid, &qi), -ENOENT);
	if (disk_reads) {
		CU_ASSERT(spool_stats(f.sp)->disk_reads >= len / SMTP_CLIENT_CHUNK);
	} else {
		CU_ASSERT_EQUAL(spool_stats(f.sp)->disk_reads, 0);
	}
	run(&f, 5000000);
	teardown(&f);
}

static void test_large_body(void)
{
	large_body(false);
}

static void test_large_body_disk(void)
{
	large_body(true);
}

static void test_defer_then_retry(void)
{
	static struct fix f;
	unsigned count[TRACK__MAX] = {0};
	char texts[TRACK__MAX][TRACK_TEXT_MAX];
	struct queue_info qi;
	uint64_t qid;

	setup(&f, "tls = \"none\";");
	f.srv.mail_reply = "451 4.3.0 try again later\r\n";
	qid = accept_msg(&f);
	run(&f, 1000000);
	CU_ASSERT_EQUAL(f.srv.msgs, 0);
	CU_ASSERT_EQUAL_FATAL(queue_get(f.q, qid, &qi), 0);
	CU_ASSERT_EQUAL(qi.state, QUEUE_DEFERRED);
	CU_ASSERT_EQUAL(qi.pending, 2);
	CU_ASSERT_STRING_EQUAL(qi.reply, "451 4.3.0 try again later");
	events(&f, count, texts);
	CU_ASSERT_EQUAL(count[TRACK_DEFERRED], 2);
	/* the server recovers; the retry (2 s) delivers */
	f.srv.mail_reply = NULL;
	run(&f, 3000000);
	CU_ASSERT_EQUAL(f.srv.msgs, 1);
	CU_ASSERT_EQUAL(queue_get(f.q, qid, &qi), -ENOENT);
	/* the DSN for bad@ may or may not have gone out yet (real I/O) */
	CU_ASSERT(f.r.stats.sent >= 1 && f.r.stats.sent <= 2);
	CU_ASSERT_EQUAL(f.r.stats.bounced, 1);
	run(&f, 5000000);
	teardown(&f);
}

/* STARTTLS under POLICY: under "verify" against a certificate for the
 * host's address the message goes over TLS; against one for another
 * address the handshake fails, the message is deferred and MAIL is never
 * sent.  "required" and "opportunistic" do not verify: any self-signed
 * certificate carries the message over TLS. */
static void tls_case(const char *policy, const char *cert_host, bool good)
{
	static struct fix f;
	char dir[] = "/tmp/sluice-relay-tls-XXXXXX", cert[256], key[256], up[512];
	char err[256];
	struct queue_info qi;
	uint64_t qid;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	CU_ASSERT_EQUAL_FATAL(tls_testcert_write(dir, "sink", cert_host, cert, key,
						 sizeof(cert)), 0);
	if (strcmp(policy, "verify") == 0)
		snprintf(up, sizeof(up), "tls = \"verify\"; ca_file = \"%s\";", cert);
	else
		snprintf(up, sizeof(up), "tls = \"%s\";", policy);
	setup(&f, up);
	CU_ASSERT_EQUAL_FATAL(tls_ctx_server_new(cert, key, &f.srv.tls, err, sizeof(err)), 0);
	qid = accept_msg(&f);
	run(&f, 1000000);
	if (good) {
		CU_ASSERT_EQUAL(f.srv.msgs, 1);
		CU_ASSERT(f.srv.blen == sizeof(BODY) - 1 &&
			  memcmp(f.srv.body, BODY, f.srv.blen) == 0);
		CU_ASSERT_EQUAL(queue_get(f.q, qid, &qi), -ENOENT);
		CU_ASSERT_EQUAL(f.r.stats.bounced, 1);
		/* the DSN for bad@, once the spool committed it, goes over TLS
		 * too: on the same connection or, after its idle QUIT, a new one */
		run_io(&f, dsn_relayed);
		CU_ASSERT_EQUAL(f.srv.dsns, 1);
		CU_ASSERT_EQUAL(f.r.stats.sent, 2);
		CU_ASSERT(f.srv.conns >= 1 && f.srv.tls_done == f.srv.conns);
		CU_ASSERT_EQUAL(f.r.stats.tls_ok, f.srv.conns);
		CU_ASSERT_EQUAL(f.r.stats.host[1].tls_ok, f.srv.conns);
	} else {
		CU_ASSERT_EQUAL(f.r.stats.tls_failed, 1);
		CU_ASSERT_EQUAL(f.r.stats.host[1].tls_failed, 1);
		CU_ASSERT_EQUAL(f.r.stats.sent, 0);
		CU_ASSERT_EQUAL(f.srv.tls_done, 0);
		CU_ASSERT_EQUAL(f.srv.mails, 0);
		CU_ASSERT_EQUAL_FATAL(queue_get(f.q, qid, &qi), 0);
		CU_ASSERT_EQUAL(qi.state, QUEUE_DEFERRED);
		CU_ASSERT_EQUAL(qi.pending, 2);
	}
	run(&f, 12000000);   /* after a failure: at most RELAY_LINGER_US for its FIN */
	CU_ASSERT_EQUAL(f.srv.closed, f.srv.conns);
	if (good)
		CU_ASSERT_EQUAL(f.r.stats.host[1].attempts, 2);   /* a@, the DSN */
	CU_ASSERT(f.r.stats.host[1].attempts >= 1);
	CU_ASSERT_EQUAL(f.r.stats.host[1].conns, f.srv.conns);
	CU_ASSERT(f.r.stats.attempts == f.r.stats.host[1].attempts);
	CU_ASSERT(f.r.stats.replies_2xx >= (good ? 6u : 2u));  /* greeting, EHLO... */
	CU_ASSERT_EQUAL(f.r.stats.replies_4xx, 0);
	CU_ASSERT_EQUAL(f.r.stats.replies_5xx, good ? 1 : 0);   /* 550 to bad@ */
	teardown(&f);
	tls_ctx_free(f.srv.tls);
	unlink(cert);
	unlink(key);
	rmdir(dir);
}

static void test_tls_verified(void)
{
	tls_case("verify", "10.0.0.2", true);
}

static void test_tls_wrong_name(void)
{
	tls_case("verify", "10.0.0.9", false);
}

static void test_tls_unverified(void)
{
	tls_case("required", "10.0.0.9", true);
	tls_case("opportunistic", "10.0.0.9", true);
}

static int suite_init(void)
{
	pool = rte_pktmbuf_pool_create("test_relay", 4095, 256, 0,
				       RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	return pool == NULL ? -1 : 0;
}

static int suite_fini(void)
{
	rte_mempool_free(pool);
	return 0;
}

void test_relay_register(void)
{
	CU_pSuite s = CU_add_suite("relay", suite_init, suite_fini);

	if (s == NULL)
		return;
	CU_add_test(s, "delivery, failover, bounce, QUIT", test_deliver_failover_quit);
	CU_add_test(s, "4xx defers, the retry delivers", test_defer_then_retry);
	CU_add_test(s, "after a 4xx the retry tries the next host first", test_defer_next_host);
	CU_add_test(s, "a 200 KiB body in many reads", test_large_body);
	CU_add_test(s, "... read from disk (io_uring)", test_large_body_disk);
	CU_add_test(s, "STARTTLS, verified", test_tls_verified);
	CU_add_test(s, "STARTTLS, wrong certificate: deferred, no MAIL", test_tls_wrong_name);
	CU_add_test(s, "STARTTLS required/opportunistic, self-signed: sent over TLS", test_tls_unverified);
	CU_add_test(s, "drain for a reload, then switch", test_drain_switch);
	CU_add_test(s, "a stale connection: the message moves to a fresh one", test_stale_conn);
}
