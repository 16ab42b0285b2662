/*
 * sluice-sink: a smart-host sink for the lab tests and the benchmark
 * harness — kernel sockets and epoll, one thread; each connection is a
 * sink_sess (the project's SMTP server engine, STARTTLS with the given
 * certificate and key).  Logs one line per MAIL and per message, and a
 * summary on SIGTERM / SIGINT.
 *
 *   sluice-sink -l ADDR:PORT [--cert PEM --key PEM] [--hostname NAME]
 *               [--delay-ms N] [--fail STAGE:CLASS:PCT]... [--dir DIR]
 *               [--log FILE]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench/sink/sink_sess.h"
#include "dataplane/tls/tls.h"

#define RBUF 16384

struct conn {
	struct conn *next;
	int fd;
	uint32_t events;          /* epoll interest */
	size_t rlen;
	uint8_t rbuf[RBUF];
	size_t wlen, woff;
	uint8_t wbuf[RBUF];
	struct sink_sess ss;
};

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: sluice-sink -l ADDR:PORT [options]\n"
		   "  -l, --listen ADDR:PORT   IPv4 address and port to listen on\n"
		   "      --cert PEM --key PEM offer STARTTLS with this certificate\n"
		   "      --hostname NAME      greeting and EHLO name (sink.test)\n"
		   "      --delay-ms N         wait N ms before each reply\n"
		   "      --fail STAGE:CLASS:PCT  answer PCT%% of MAIL|RCPT|DATA with\n"
		   "                           4xx|5xx (repeatable), e.g. rcpt:4xx:10\n"
		   "      --dir DIR            write each message to DIR/NNNNNN.eml\n"
		   "      --log FILE           log lines here (standard output)\n");
}

static int parse_listen(const char *arg, struct sockaddr_in *sa)
{
	char host[64];
	unsigned port;
	char end;

	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	if (sscanf(arg, "%63[0-9.]:%u%c", host, &port, &end) != 2 || port == 0 ||
	    port > 65535 || inet_pton(AF_INET, host, &sa->sin_addr) != 1)
		return -EINVAL;
	sa->sin_port = htons((uint16_t)port);
	return 0;
}

static int listen_on(const struct sockaddr_in *sa)
{
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0 || listen(fd, 512) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

static void set_events(int ep, struct conn *c, uint32_t ev)
{
	struct epoll_event e = {.events = ev, .data.ptr = c};

	if (ev != c->events && epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e) == 0)
		c->events = ev;
}

/* Read, feed, write as far as each goes.  False when C is to be closed. */
static bool service(int ep, struct conn *c)
{
	uint64_t t = now_us();
	bool eof = false;

	for (;;) {
		size_t taken;
		ssize_t rn = 0, wn;

		if (c->rlen < RBUF) {
			rn = read(c->fd, c->rbuf + c->rlen, RBUF - c->rlen);
			if (rn == 0 || (rn < 0 && errno != EAGAIN && errno != EINTR))
				eof = true;
			if (rn > 0)
				c->rlen += (size_t)rn;
		}
		taken = sink_sess_input(&c->ss, c->rbuf, c->rlen, t);
		memmove(c->rbuf, c->rbuf + taken, c->rlen - taken);
		c->rlen -= taken;
		for (;;) {
			if (c->woff == c->wlen) {
				c->woff = 0;
				c->wlen = sink_sess_output(&c->ss, c->wbuf, RBUF, t);
				if (c->wlen == 0)
					break;
			}
			wn = write(c->fd, c->wbuf + c->woff, c->wlen - c->woff);
			if (wn <= 0)
				break;
			c->woff += (size_t)wn;
		}
		if (eof || sink_sess_done(&c->ss))
			return false;
		if (rn <= 0 && taken == 0)
			break;
	}
	set_events(ep, c, (c->rlen < RBUF ? EPOLLIN : 0) | (c->woff < c->wlen ? EPOLLOUT : 0));
	return true;
}

static void conn_close(int ep, struct conn **list, struct conn *c)
{
	struct conn **pp = list;

	while (*pp != c)
		pp = &(*pp)->next;
	*pp = c->next;
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	sink_sess_fini(&c->ss);
	free(c);
}

static void accept_all(int ep, int lfd, struct sink *k, struct conn **list)
{
	for (;;) {
		struct sockaddr_in sa;
		socklen_t sl = sizeof(sa);
		int fd = accept4(lfd, (struct sockaddr *)&sa, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		char name[64], ip[INET_ADDRSTRLEN];
		struct conn *c;
		struct epoll_event e;

		if (fd < 0)
			return;
		c = malloc(sizeof(*c));
		inet_ntop(AF_INET, &sa.sin_addr, ip, sizeof(ip));
		snprintf(name, sizeof(name), "%s:%u", ip, ntohs(sa.sin_port));
		if (c == NULL || sink_sess_init(&c->ss, k, name, now_us()) < 0) {
			free(c);
			close(fd);
			continue;
		}
		c->fd = fd;
		c->rlen = c->wlen = c->woff = 0;
		c->events = EPOLLIN;
		c->next = *list;
		*list = c;
		e = (struct epoll_event){.events = EPOLLIN, .data.ptr = c};
		epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
		if (!service(ep, c))
			conn_close(ep, list, c);
	}
}

/* Serve until SIGTERM / SIGINT. */
static void serve(struct sink *k, int lfd, int sfd)
{
	struct conn *list = NULL;
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event e = {.events = EPOLLIN, .data.ptr = &lfd};
	struct epoll_event evs[64];

	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &e);
	e.data.ptr = &sfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &e);
	for (;;) {
		uint64_t t = now_us(), next = UINT64_MAX;
		int timeout, n;

		for (struct conn *c = list, *nx; c != NULL; c = nx) {
			uint64_t d = sink_sess_deadline(&c->ss);

			nx = c->next;
			if (d <= t) {
				sink_sess_tick(&c->ss, t);
				if (!service(ep, c)) {
					conn_close(ep, &list, c);
					continue;
				}
				d = sink_sess_deadline(&c->ss);
			}
			next = d < next ? d : next;
		}
		timeout = next == UINT64_MAX ? 1000 :
			  next <= t ? 0 : (int)((next - t + 999) / 1000);
		n = epoll_wait(ep, evs, 64, timeout < 1000 ? timeout : 1000);
		for (int i = 0; i < n; i++) {
			if (evs[i].data.ptr == &sfd) {
				while (list != NULL)
					conn_close(ep, &list, list);
				close(ep);
				return;
			}
			if (evs[i].data.ptr == &lfd)
				accept_all(ep, lfd, k, &list);
			else if (!service(ep, evs[i].data.ptr))
				conn_close(ep, &list, evs[i].data.ptr);
		}
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"listen", required_argument, NULL, 'l'},
		{"cert", required_argument, NULL, 'c'},
		{"key", required_argument, NULL, 'k'},
		{"hostname", required_argument, NULL, 'n'},
		{"delay-ms", required_argument, NULL, 'D'},
		{"fail", required_argument, NULL, 'f'},
		{"dir", required_argument, NULL, 'd'},
		{"log", required_argument, NULL, 'L'},
		{"help", no_argument, NULL, 'h'},
		{0}};
	static struct sink k;
	const char *cert = NULL, *key = NULL, *listen_arg = NULL, *log = NULL;
	struct sockaddr_in sa;
	char err[512];
	sigset_t set;
	int o, lfd, sfd;

	smtp_server_conf_default(&k.server);
	snprintf(k.server.hostname, sizeof(k.server.hostname), "sink.test");
	while ((o = getopt_long(argc, argv, "l:h", opts, NULL)) != -1) {
		switch (o) {
		case 'l': listen_arg = optarg; break;
		case 'c': cert = optarg; break;
		case 'k': key = optarg; break;
		case 'n': snprintf(k.server.hostname, sizeof(k.server.hostname), "%s", optarg); break;
		case 'D': k.delay_us = strtoull(optarg, NULL, 10) * 1000u; break;
		case 'd': k.dir = optarg; break;
		case 'L': log = optarg; break;
		case 'f':
			if (sink_fail_parse(&k.fail, optarg) < 0) {
				fprintf(stderr, "sluice-sink: --fail %s: expected "
					"mail|rcpt|data:4xx|5xx:0..100\n", optarg);
				return 2;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (listen_arg == NULL || optind != argc || (cert == NULL) != (key == NULL) ||
	    parse_listen(listen_arg, &sa) < 0) {
		usage(stderr);
		return 2;
	}
	if (cert != NULL && tls_ctx_server_new(cert, key, &k.tls, err, sizeof(err)) < 0) {
		fprintf(stderr, "sluice-sink: %s\n", err);
		return 1;
	}
	k.log = log ? fopen(log, "a") : stdout;
	if (k.log == NULL) {
		fprintf(stderr, "sluice-sink: %s: %s\n", log, strerror(errno));
		return 1;
	}
	setvbuf(k.log, NULL, _IOLBF, 0);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	lfd = listen_on(&sa);
	if (lfd < 0) {
		fprintf(stderr, "sluice-sink: %s: %s\n", listen_arg, strerror(-lfd));
		return 1;
	}
	fprintf(k.log, "listening %s tls=%s\n", listen_arg, k.tls ? "yes" : "no");
	serve(&k, lfd, sfd);
	sink_summary(&k, k.log);
	close(lfd);
	close(sfd);
	tls_ctx_free(k.tls);
	if (k.log != stdout)
		fclose(k.log);
	return 0;
}
