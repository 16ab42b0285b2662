/*
 * tcpcheck: the Linux-side peer of the lab's TCP tests and benchmarks, on
 * kernel sockets.  Every stream carries diag_pattern() bytes (diag.h), so
 * either end can check what it got byte for byte and by CRC32C.
 *
 *   tcpcheck echo ADDR PORT CONNS BYTES   CONNS parallel connections each
 *        send BYTES and read them back; exit 0 when every byte matched
 *   tcpcheck send ADDR PORT BYTES [CONNS] CONNS (1) parallel connections
 *        each send BYTES, close, and wait for the peer's close
 *   tcpcheck sink PORT [CONNS]            accept CONNS (1; 0 = until killed)
 *        connections at once, read each to its end, check it against the
 *        pattern; one line per connection
 *   tcpcheck crc BYTES                    CRC32C of the first BYTES
 *   tcpcheck cps ADDR PORT SECONDS        open and close connections one
 *        after another (connect, FIN both ways) for SECONDS
 *
 * Each prints one result line of key=value pairs; send/sink/echo add
 * Mbit/s, cps connections per second.  Exit status 0 success, 1 a check
 * failed, 2 usage or system error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <rte_hash_crc.h>

#include "dataplane/diag.h"

#define CHUNK     65536
#define TIMEOUT_S 600

struct conn {
	int fd;
	uint64_t sent, got;   /* bytes */
	uint32_t crc;
	bool bad;             /* a received byte differed from the pattern */
	bool eof, done;
	bool rx_only;         /* everything sent: wait for input only */
	unsigned id;          /* sink: in order of acceptance */
	double t0;            /* sink: accepted at */
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int die(const char *what)
{
	fprintf(stderr, "tcpcheck: %s: %s\n", what, strerror(errno));
	exit(2);
}

static uint64_t num(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);

	if (*s == '\0' || *end != '\0') {
		fprintf(stderr, "tcpcheck: not a number: %s\n", s);
		exit(2);
	}
	return v;
}

static struct sockaddr_in addr_of(const char *ip, const char *port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)num(port))};

	if (inet_pton(AF_INET, ip, &sa.sin_addr) != 1) {
		fprintf(stderr, "tcpcheck: not an IPv4 address: %s\n", ip);
		exit(2);
	}
	return sa;
}

static void fill(uint8_t *buf, size_t n, uint64_t off)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = diag_pattern(off + i);
}

/* Account N received bytes of C, checking them against the pattern. */
static void take(struct conn *c, const uint8_t *buf, size_t n)
{
	for (size_t i = 0; i < n && !c->bad; i++)
		c->bad = buf[i] != diag_pattern(c->got + i);
	c->crc = rte_hash_crc(buf, (uint32_t)n, c->crc);
	c->got += n;
}

static int nonblocking_connect(const struct sockaddr_in *sa)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	if (fd < 0)
		die("socket");
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0 &&
	    errno != EINPROGRESS)
		die("connect");
	return fd;
}

/* Drive CONNS connections that each send BYTES and read until EOF (send:
 * after shutting down the write side) or, for echo, until BYTES came back. */
static int run_clients(const struct sockaddr_in *sa, unsigned conns,
		       uint64_t bytes, bool echo)
{
	struct conn *c = calloc(conns, sizeof(*c));
	int ep = epoll_create1(0);
	uint8_t *buf = malloc(CHUNK);
	unsigned done = 0, good = 0;
	uint64_t total = 0;
	double t0 = now_s();

	if (c == NULL || buf == NULL || ep < 0)
		die("setup");
	for (unsigned i = 0; i < conns; i++) {
		struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.u32 = i};

		c[i].fd = nonblocking_connect(sa);
		if (epoll_ctl(ep, EPOLL_CTL_ADD, c[i].fd, &ev) < 0)
			die("epoll_ctl");
	}
	while (done < conns) {
		struct epoll_event evs[256];
		int n = epoll_wait(ep, evs, 256, 1000);

		if (n < 0 && errno != EINTR)
			die("epoll_wait");
		if (now_s() - t0 > TIMEOUT_S) {
			fprintf(stderr, "tcpcheck: timeout, %u of %u done\n", done, conns);
			break;
		}
		for (int k = 0; k < n; k++) {
			struct conn *x = &c[evs[k].data.u32];
			ssize_t r;

			if (x->done)
				continue;
			while ((evs[k].events & (EPOLLOUT | EPOLLERR)) && x->sent < bytes) {
				size_t want = (size_t)(bytes - x->sent < CHUNK ? bytes - x->sent : CHUNK);

				fill(buf, want, x->sent);
				r = send(x->fd, buf, want, MSG_NOSIGNAL);
				if (r <= 0)
					break;
				x->sent += (uint64_t)r;
				if (x->sent == bytes && !echo)
					shutdown(x->fd, SHUT_WR);
			}
			while ((r = recv(x->fd, buf, CHUNK, 0)) > 0)
				take(x, buf, (size_t)r);
			if (r == 0)
				x->eof = true;
			if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
				fprintf(stderr, "tcpcheck: connection %u: %s\n",
					evs[k].data.u32, strerror(errno));
				x->eof = true;
			}
			if (x->sent == bytes && !x->rx_only) {
				struct epoll_event ev = {.events = EPOLLIN,
							 .data.u32 = evs[k].data.u32};

				epoll_ctl(ep, EPOLL_CTL_MOD, x->fd, &ev);
				x->rx_only = true;
			}
			if (x->eof || (echo && x->got >= bytes)) {
				x->done = true;
				done++;
				total += echo ? x->got : x->sent;
				good += x->sent == bytes && !x->bad &&
					(echo ? x->got == bytes : x->got == 0);
				close(x->fd);
			}
		}
	}
	double dt = now_s() - t0;

	printf("conns=%u ok=%u bytes=%" PRIu64 " seconds=%.3f mbps=%.1f\n",
	       conns, good, total, dt, dt > 0 ? (double)total * 8 / dt / 1e6 : 0.0);
	free(buf);
	free(c);
	close(ep);
	return good == conns ? 0 : 1;
}

static void sink_report(const struct conn *c, unsigned i, bool error)
{
	double dt = now_s() - c->t0;

	printf("conn=%u bytes=%" PRIu64 " crc32c=%08x pattern=%s%s seconds=%.3f mbps=%.1f\n",
	       i, c->got, c->crc, c->bad ? "bad" : "ok", error ? " error" : "",
	       dt, dt > 0 ? (double)c->got * 8 / dt / 1e6 : 0.0);
	fflush(stdout);
}

/* Accept connections (CONNS of them; 0 = until killed), all at once, and
 * read each to its end. */
static int run_sink(const char *port, unsigned conns)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)num(port))};
	uint8_t *buf = malloc(CHUNK);
	int one = 1, ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	int ep = epoll_create1(0), bad = 0;
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
	unsigned accepted = 0, finished = 0;

	if (ls < 0 || buf == NULL || ep < 0 ||
	    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(ls, 4096) < 0 ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev) < 0)
		die("listen");
	printf("listening\n");
	fflush(stdout);
	while (conns == 0 || finished < conns) {
		struct epoll_event evs[256];
		int n = epoll_wait(ep, evs, 256, -1);

		if (n < 0 && errno != EINTR)
			die("epoll_wait");
		for (int k = 0; k < n; k++) {
			struct conn *c = evs[k].data.ptr;
			ssize_t r;

			if (c == NULL) {        /* the listener */
				int fd;

				while ((fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
					struct epoll_event cev = {.events = EPOLLIN};

					if ((c = calloc(1, sizeof(*c))) == NULL)
						die("calloc");
					c->fd = fd;
					c->id = accepted++;
					c->t0 = now_s();
					cev.data.ptr = c;
					if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev) < 0)
						die("epoll_ctl");
				}
				continue;
			}
			while ((r = recv(c->fd, buf, CHUNK, 0)) > 0)
				take(c, buf, (size_t)r);
			if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				continue;
			sink_report(c, c->id, r < 0);
			bad += c->bad || r < 0;
			finished++;
			close(c->fd);
			free(c);
		}
	}
	close(ls);
	close(ep);
	free(buf);
	return bad ? 1 : 0;
}

static int run_crc(uint64_t bytes)
{
	uint8_t *buf = malloc(CHUNK);
	uint32_t crc = 0;

	if (buf == NULL)
		die("malloc");
	for (uint64_t off = 0; off < bytes; off += CHUNK) {
		size_t n = (size_t)(bytes - off < CHUNK ? bytes - off : CHUNK);

		fill(buf, n, off);
		crc = rte_hash_crc(buf, (uint32_t)n, crc);
	}
	printf("bytes=%" PRIu64 " crc32c=%08x\n", bytes, crc);
	free(buf);
	return 0;
}

/* One connection: connect, close, wait for the peer's FIN. */
static bool one_cps(const struct sockaddr_in *sa)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	char b;
	bool ok;

	if (fd < 0)
		die("socket");
	ok = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0 &&
	     shutdown(fd, SHUT_WR) == 0 && recv(fd, &b, 1, 0) == 0;
	close(fd);
	return ok;
}

static int run_cps(const struct sockaddr_in *sa, double seconds)
{
	double t0 = now_s(), dt;
	uint64_t ok = 0, failed = 0;

	while ((dt = now_s() - t0) < seconds) {
		if (one_cps(sa))
			ok++;
		else
			failed++;
	}
	printf("conns=%" PRIu64 " failed=%" PRIu64 " seconds=%.3f cps=%.0f\n",
	       ok, failed, dt, (double)ok / dt);
	return failed ? 1 : 0;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc == 6 && strcmp(argv[1], "echo") == 0) {
		struct sockaddr_in sa = addr_of(argv[2], argv[3]);

		return run_clients(&sa, (unsigned)num(argv[4]), num(argv[5]), true);
	}
	if ((argc == 5 || argc == 6) && strcmp(argv[1], "send") == 0) {
		struct sockaddr_in sa = addr_of(argv[2], argv[3]);

		return run_clients(&sa, argc == 6 ? (unsigned)num(argv[5]) : 1,
				   num(argv[4]), false);
	}
	if ((argc == 3 || argc == 4) && strcmp(argv[1], "sink") == 0)
		return run_sink(argv[2], argc == 4 ? (unsigned)num(argv[3]) : 1);
	if (argc == 3 && strcmp(argv[1], "crc") == 0)
		return run_crc(num(argv[2]));
	if (argc == 5 && strcmp(argv[1], "cps") == 0) {
		struct sockaddr_in sa = addr_of(argv[2], argv[3]);

		return run_cps(&sa, (double)num(argv[4]));
	}
	fprintf(stderr, "usage: tcpcheck echo ADDR PORT CONNS BYTES | send ADDR PORT BYTES [CONNS]\n"
			"     | sink PORT [CONNS] | crc BYTES | cps ADDR PORT SECONDS\n");
	return 2;
}
