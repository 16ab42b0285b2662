/*
 * diag: TCP echo, discard and send — see diag.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <rte_hash_crc.h>

#include "dataplane/diag.h"
#include "dataplane/stats.h"

#define DIAG_CHUNK 16384

enum diag_kind { DIAG_ECHO, DIAG_DISCARD, DIAG_SEND };

static const char *const kind_name[] = {"echo", "discard", "send"};

struct diag_conn {
	struct diag *d;
	enum diag_kind kind;
	uint32_t crc;          /* CRC32C of the bytes received (discard) */
	uint64_t bytes;        /* received (echo, discard) or sent (send) */
	uint64_t total;        /* send: bytes to send */
};

static size_t dc_recv(struct tcp_conn *c, void *arg, const uint8_t *data, size_t len)
{
	struct diag_conn *dc = arg;
	size_t took = len;

	if (dc->kind == DIAG_ECHO) {
		took = tcp_send(c, data, len);  /* the rest waits for WRITABLE */
		STATS_ADD(dc->d->stats.bytes_out, took);
	} else if (dc->kind == DIAG_DISCARD) {
		dc->crc = rte_hash_crc(data, (uint32_t)len, dc->crc);
	}
	dc->bytes += took;
	STATS_ADD(dc->d->stats.bytes_in, took);
	return took;
}

/* Send as much of the pattern as the connection takes; close at the end. */
static void send_more(struct tcp_conn *c, struct diag_conn *dc)
{
	uint8_t buf[DIAG_CHUNK];

	while (dc->bytes < dc->total) {
		size_t n = (size_t)RTE_MIN((uint64_t)sizeof(buf), dc->total - dc->bytes);
		size_t took;

		/* at least one byte, so that a full buffer arms TCP_EV_WRITABLE */
		n = RTE_MIN(n, RTE_MAX(tcp_send_space(c), (size_t)1));
		for (size_t i = 0; i < n; i++)
			buf[i] = diag_pattern(dc->bytes + i);
		took = tcp_send(c, buf, n);
		dc->bytes += took;
		STATS_ADD(dc->d->stats.bytes_out, took);
		if (took < n)
			return;
	}
	tcp_close(c);
}

static void log_close(const struct diag_conn *dc, struct tcp_conn *c, int err)
{
	uint32_t la, ra;
	uint16_t lp, rp;

	tcp_conn_addrs(c, &la, &lp, &ra, &rp);
	wlog(dc->d->log,
	     "diag %s %u.%u.%u.%u:%u: closed (%s), %" PRIu64 " bytes, crc32c %08x",
	     kind_name[dc->kind], ra >> 24, (ra >> 16) & 0xff, (ra >> 8) & 0xff,
	     ra & 0xff, rp, err == 0 ? "ok" : strerror(-err), dc->bytes, dc->crc);
}

static void dc_event(struct tcp_conn *c, void *arg, enum tcp_event ev, int err)
{
	struct diag_conn *dc = arg;
	struct diag *d = dc->d;

	switch (ev) {
	case TCP_EV_CONNECTED:
	case TCP_EV_WRITABLE:
		if (dc->kind == DIAG_SEND)
			send_more(c, dc);
		else
			tcp_recv_resume(c);  /* echo: room to send what waits */
		break;
	case TCP_EV_PEER_CLOSED:
		if (dc->kind != DIAG_SEND)
			tcp_close(c);
		break;
	case TCP_EV_CLOSED:
		if (dc->kind == DIAG_SEND && err == 0 && dc->bytes == dc->total)
			STATS_ADD(d->stats.sends_ok, 1);
		else if (dc->kind == DIAG_SEND)
			STATS_ADD(d->stats.sends_failed, 1);
		log_close(dc, c, err);
		rte_mempool_put(d->conns, dc);
		break;
	}
}

static const struct tcp_ops diag_ops = {.recv = dc_recv, .event = dc_event};

static struct diag_conn *dc_new(struct diag *d, enum diag_kind kind)
{
	struct diag_conn *dc;

	if (rte_mempool_get(d->conns, (void **)&dc) < 0) {
		STATS_ADD(d->stats.no_mem, 1);
		return NULL;
	}
	*dc = (struct diag_conn){.d = d, .kind = kind, .crc = 0};
	return dc;
}

static int dc_accept(void *arg, struct tcp_conn *c, const struct tcp_ops **ops,
		     void **carg)
{
	struct diag_listener *la = arg;
	struct diag_conn *dc = dc_new(la->d, (enum diag_kind)la->kind);

	(void)c;
	if (dc == NULL)
		return -ENOMEM;
	STATS_ADD(la->d->stats.accepted, 1);
	*ops = &diag_ops;
	*carg = dc;
	return 0;
}

int diag_init(struct diag *d, struct tcp_stack *tcp, const struct conf *conf,
	      struct wlog *log, unsigned lcore, int socket)
{
	const uint16_t port[2] = {conf->diag.echo_port, conf->diag.discard_port};
	char name[RTE_MEMPOOL_NAMESIZE];

	*d = (struct diag){.tcp = tcp, .log = log};
	if (port[0] == 0 && port[1] == 0 && !conf->diag.send)
		return 0;
	snprintf(name, sizeof(name), "diag_%u", lcore);
	d->conns = rte_mempool_create(name, conf->tcp.max_conns,
				      sizeof(struct diag_conn), 0, 0, NULL, NULL,
				      NULL, NULL, socket,
				      RTE_MEMPOOL_F_SP_PUT | RTE_MEMPOOL_F_SC_GET);
	if (d->conns == NULL)
		return -ENOMEM;
	for (int k = 0; k < 2; k++) {
		d->listener[k] = (struct diag_listener){.d = d, .kind = k};
		for (unsigned i = 0; port[k] != 0 && i < conf->nb_ports; i++) {
			int rc = tcp_listen(tcp, conf->ports[i].addr, port[k],
					    dc_accept, &d->listener[k]);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

void diag_fini(struct diag *d)
{
	rte_mempool_free(d->conns);
	d->conns = NULL;
}

int diag_send(struct diag *d, uint32_t laddr, uint32_t raddr, uint16_t rport,
	      uint64_t bytes)
{
	struct diag_conn *dc;
	int err;

	if (d->conns == NULL)
		return -ENOTSUP;
	if ((dc = dc_new(d, DIAG_SEND)) == NULL)
		return -ENOMEM;
	dc->total = bytes;
	if (tcp_connect(d->tcp, laddr, raddr, rport, &diag_ops, dc, &err) == NULL) {
		rte_mempool_put(d->conns, dc);
		STATS_ADD(d->stats.sends_failed, 1);
		return err;
	}
	STATS_ADD(d->stats.sends, 1);
	return 0;
}
