/*
 * lg_uring: the kernel-socket transport of sluice-bench on one io_uring.
 * Every connect, send and receive is an SQE; the user data carries the
 * connection, the operation and the connection's generation, so that a
 * completion that arrives after close() is recognised and dropped.  A
 * receive stays posted on every open connection: it is re-armed at the
 * next wait(), once its data has been handed out.
 */
#include <errno.h>
#include <liburing.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include "bench/loadgen/lg_transport.h"

#define RECV_BUF 16384
#define IOV_MAX_SEND 4

enum op { OP_CONNECT, OP_SEND, OP_RECV };

struct uconn {
	int fd;                 /* -1: closed */
	uint32_t gen;
	bool rearm;             /* post a receive at the next wait() */
	struct sockaddr_in dst;
	struct msghdr msg;
	struct iovec iov[IOV_MAX_SEND];
	uint8_t rbuf[RECV_BUF];
};

struct uring_transport {
	struct lg_transport t;
	struct io_uring ring;
	unsigned max;
	struct uconn *c;
};

static struct uring_transport *ut(struct lg_transport *t)
{
	return (struct uring_transport *)t;
}

static uint64_t udata(unsigned conn, enum op op, uint32_t gen)
{
	return (uint64_t)gen << 32 | (uint64_t)op << 24 | conn;
}

/* An SQE, submitting what is queued when the ring is full. */
static struct io_uring_sqe *sqe_get(struct uring_transport *u)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);

	if (sqe == NULL) {
		io_uring_submit(&u->ring);
		sqe = io_uring_get_sqe(&u->ring);
	}
	return sqe;
}

static int post_recv(struct uring_transport *u, unsigned conn)
{
	struct uconn *c = &u->c[conn];
	struct io_uring_sqe *sqe = sqe_get(u);

	if (sqe == NULL)
		return -EBUSY;
	io_uring_prep_recv(sqe, c->fd, c->rbuf, RECV_BUF, 0);
	io_uring_sqe_set_data64(sqe, udata(conn, OP_RECV, c->gen));
	c->rearm = false;
	return 0;
}

static int u_open(struct lg_transport *t, unsigned conn, const struct sockaddr_in *dst)
{
	struct uring_transport *u = ut(t);
	struct uconn *c = &u->c[conn];
	struct io_uring_sqe *sqe;
	int one = 1;

	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -errno;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->gen++;
	c->rearm = false;
	c->dst = *dst;
	if ((sqe = sqe_get(u)) == NULL) {
		close(c->fd);
		c->fd = -1;
		return -EBUSY;
	}
	io_uring_prep_connect(sqe, c->fd, (struct sockaddr *)&c->dst, sizeof(c->dst));
	io_uring_sqe_set_data64(sqe, udata(conn, OP_CONNECT, c->gen));
	return 0;
}

static int u_send(struct lg_transport *t, unsigned conn, const struct iovec *iov,
		  unsigned iovcnt)
{
	struct uring_transport *u = ut(t);
	struct uconn *c = &u->c[conn];
	struct io_uring_sqe *sqe;

	if (iovcnt > IOV_MAX_SEND || c->fd < 0)
		return -EINVAL;
	if ((sqe = sqe_get(u)) == NULL)
		return -EBUSY;
	memcpy(c->iov, iov, iovcnt * sizeof(*iov));
	memset(&c->msg, 0, sizeof(c->msg));
	c->msg.msg_iov = c->iov;
	c->msg.msg_iovlen = iovcnt;
	io_uring_prep_sendmsg(sqe, c->fd, &c->msg, MSG_NOSIGNAL);
	io_uring_sqe_set_data64(sqe, udata(conn, OP_SEND, c->gen));
	return 0;
}

static void u_close(struct lg_transport *t, unsigned conn)
{
	struct uconn *c = &ut(t)->c[conn];

	if (c->fd < 0)
		return;
	/* wakes a posted receive, so the kernel lets go of the socket */
	shutdown(c->fd, SHUT_RDWR);
	close(c->fd);
	c->fd = -1;
	c->gen++;
}

/* The event for CQE, or false when it belongs to a closed connection. */
static bool cqe_event(struct uring_transport *u, const struct io_uring_cqe *cqe,
		      struct lg_tev *ev)
{
	uint64_t d = io_uring_cqe_get_data64(cqe);
	unsigned conn = (unsigned)(d & 0xffffff);
	enum op op = (enum op)((d >> 24) & 0xff);
	struct uconn *c = &u->c[conn];

	if (conn >= u->max || c->fd < 0 || (uint32_t)(d >> 32) != c->gen)
		return false;
	memset(ev, 0, sizeof(*ev));
	ev->conn = conn;
	if (cqe->res < 0) {
		ev->kind = LG_TEV_ERROR;
		ev->err = cqe->res;
		return true;
	}
	switch (op) {
	case OP_CONNECT:
		ev->kind = LG_TEV_OPEN;
		c->rearm = true;
		break;
	case OP_SEND:
		ev->kind = LG_TEV_SENT;
		ev->len = (size_t)cqe->res;
		break;
	case OP_RECV:
		ev->kind = cqe->res == 0 ? LG_TEV_EOF : LG_TEV_RECV;
		ev->data = c->rbuf;
		ev->len = (size_t)cqe->res;
		c->rearm = cqe->res > 0;
		break;
	}
	return true;
}

static int u_wait(struct lg_transport *t, struct lg_tev *ev, unsigned max,
		  uint64_t timeout_us)
{
	struct uring_transport *u = ut(t);
	struct __kernel_timespec ts = {
		.tv_sec = (long long)(timeout_us / 1000000),
		.tv_nsec = (long long)(timeout_us % 1000000) * 1000,
	};
	struct io_uring_cqe *cqe;
	unsigned n = 0, head, seen = 0;
	int rc;

	for (unsigned i = 0; i < u->max; i++)
		if (u->c[i].fd >= 0 && u->c[i].rearm && (rc = post_recv(u, i)) < 0)
			return rc;
	rc = io_uring_submit_and_wait_timeout(&u->ring, &cqe, 1, &ts, NULL);
	if (rc < 0 && rc != -ETIME && rc != -EINTR)
		return rc;
	io_uring_for_each_cqe(&u->ring, head, cqe) {
		if (n == max)
			break;
		seen++;
		if (cqe_event(u, cqe, &ev[n]))
			n++;
	}
	io_uring_cq_advance(&u->ring, seen);
	return (int)n;
}

static void u_destroy(struct lg_transport *t)
{
	struct uring_transport *u = ut(t);

	for (unsigned i = 0; i < u->max; i++)
		u_close(t, i);
	io_uring_queue_exit(&u->ring);
	free(u->c);
	free(u);
}

static const struct lg_transport_ops uring_ops = {
	.name = "io_uring",
	.open = u_open,
	.send = u_send,
	.close = u_close,
	.wait = u_wait,
	.destroy = u_destroy,
};

int lg_uring_new(unsigned max, struct lg_transport **out)
{
	struct uring_transport *u = calloc(1, sizeof(*u));
	unsigned entries = 64;
	int rc;

	if (u == NULL || (u->c = calloc(max, sizeof(*u->c))) == NULL) {
		free(u);
		return -ENOMEM;
	}
	while (entries < 4 * max && entries < 32768)
		entries *= 2;
	if ((rc = io_uring_queue_init(entries, &u->ring, 0)) < 0) {
		free(u->c);
		free(u);
		return rc;
	}
	u->t.ops = &uring_ops;
	u->max = max;
	for (unsigned i = 0; i < max; i++)
		u->c[i].fd = -1;
	*out = &u->t;
	return 0;
}
