/*
 * relay_dns: the smart hosts' names — c-ares queries on the main lcore,
 * the answers' addresses and TTLs, when to ask again, and publishing the
 * addresses to the workers.
 */
#include "control/relay_dns.h"
#include "control/config.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <time.h>

#include <ares.h>

#define TIMEOUT_MS 2000   /* per try; c-ares tries each server TRIES times */
#define TRIES      2

/* ---- answers and their schedule (no I/O) -------------------------------- */

int relay_dns_parse(const uint8_t *abuf, int alen, uint32_t *a, unsigned max,
		    uint32_t *ttl)
{
	struct ares_addrttl rr[RELAY_ADDRS_MAX];
	int n = RELAY_ADDRS_MAX < max ? RELAY_ADDRS_MAX : (int)max;
	int rc = ares_parse_a_reply(abuf, alen, NULL, rr, &n);

	if (rc == ARES_ENODATA || (rc == ARES_SUCCESS && n == 0))
		return -ENODATA;
	if (rc != ARES_SUCCESS)
		return -EBADMSG;
	*ttl = UINT32_MAX;
	for (int i = 0; i < n; i++) {
		a[i] = ntohl(rr[i].ipaddr.s_addr);
		if (rr[i].ttl >= 0 && (uint32_t)rr[i].ttl < *ttl)
			*ttl = (uint32_t)rr[i].ttl;
	}
	return n;
}

static int cmp_u32(const void *x, const void *y)
{
	uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;

	return a < b ? -1 : a > b;
}

bool relay_dns_update(struct relay_dns_host *h, const uint32_t *a, int n,
		      uint32_t ttl, uint64_t now)
{
	uint32_t sorted[RELAY_ADDRS_MAX];
	bool changed;

	h->busy = false;
	h->answered = true;
	if (n <= 0) {
		h->failed++;
		h->due_us = now + RELAY_DNS_RETRY_S * 1000000ull;
		return false;
	}
	h->ok++;
	if (n > RELAY_ADDRS_MAX)
		n = RELAY_ADDRS_MAX;
	memcpy(sorted, a, (size_t)n * sizeof(a[0]));
	qsort(sorted, (size_t)n, sizeof(sorted[0]), cmp_u32);
	ttl = ttl < RELAY_DNS_TTL_MIN ? RELAY_DNS_TTL_MIN :
	      ttl > RELAY_DNS_TTL_MAX ? RELAY_DNS_TTL_MAX : ttl;
	h->ttl = ttl;
	h->due_us = now + ttl * 1000000ull;
	changed = h->n != (unsigned)n || memcmp(h->a, sorted, (size_t)n * sizeof(a[0])) != 0;
	h->n = (unsigned)n;
	memcpy(h->a, sorted, (size_t)n * sizeof(a[0]));
	return changed;
}

/* ---- c-ares ----------------------------------------------------------------- */

static const char *host_name(const struct relay_dns *d, unsigned h)
{
	return d->sh->conf->hosts[h].host;
}

static void on_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct relay_dns_query *q = arg;
	struct relay_dns *d = q->d;
	struct relay_dns_host *h = &d->host[q->host];
	uint32_t a[RELAY_ADDRS_MAX] = {0}, ttl = 0;
	int n = status == ARES_SUCCESS ? relay_dns_parse(abuf, alen, a, RELAY_ADDRS_MAX, &ttl)
				       : -EIO;
	char list[RELAY_ADDRS_MAX * 17] = "";
	size_t len = 0;

	(void)timeouts;
	if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED)
		return;
	if (!relay_dns_update(h, a, n, ttl, d->now)) {
		if (n <= 0)
			fprintf(stderr, "sluiced: relay: %s: lookup failed (%s); %u address(es) "
				"kept, asked again in %u s\n", host_name(d, q->host),
				status != ARES_SUCCESS ? ares_strerror(status) : strerror(-n),
				h->n, RELAY_DNS_RETRY_S);
		return;
	}
	for (unsigned i = 0; i < h->n; i++) {
		struct in_addr in = {.s_addr = htonl(h->a[i])};
		char ip[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &in, ip, sizeof(ip));
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s", i ? " " : "", ip);
	}
	fprintf(stderr, "sluiced: relay: %s: %s (ttl %u s)\n", host_name(d, q->host), list,
		h->ttl);
	relay_addrs_set(d->sh, q->host, h->a, h->n);
}

static void ask_due(struct relay_dns *d)
{
	for (unsigned i = 0; i < d->sh->conf->nb_hosts; i++) {
		struct relay_dns_host *h = &d->host[i];

		if (!h->named || h->busy || h->due_us > d->now)
			continue;
		h->busy = true;
		ares_query(d->channel, host_name(d, i), ns_c_in, ns_t_a, on_answer, &d->q[i]);
	}
}

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int relay_dns_open(struct relay_dns *d, struct relay_shared *sh, char *err,
		   size_t errlen)
{
	const struct conf_relay *c = sh->conf;
	struct ares_options o = {.flags = ARES_FLAG_NOSEARCH, .timeout = TIMEOUT_MS,
				 .tries = TRIES};
	ares_channel ch;
	bool any = false;
	int rc;

	memset(d, 0, sizeof(*d));
	d->sh = sh;
	for (unsigned i = 0; i < c->nb_hosts; i++) {
		d->host[i].named = c->hosts[i].named;
		d->q[i] = (struct relay_dns_query){.d = d, .host = i};
		any |= c->hosts[i].named;
	}
	if (!any)
		return 0;
	if ((rc = ares_library_init(ARES_LIB_INIT_ALL)) != ARES_SUCCESS ||
	    (rc = ares_init_options(&ch, &o, ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS |
				    ARES_OPT_TRIES)) != ARES_SUCCESS) {
		snprintf(err, errlen, "relay: resolver: %s", ares_strerror(rc));
		return -EIO;
	}
	d->channel = ch;
	if (c->resolver[0] != '\0' &&
	    (rc = ares_set_servers_ports_csv(ch, c->resolver)) != ARES_SUCCESS) {
		snprintf(err, errlen, "relay: resolver %s: %s", c->resolver, ares_strerror(rc));
		relay_dns_close(d);
		return -EINVAL;
	}
	d->now = mono_us();
	ask_due(d);
	return 0;
}

void relay_dns_poll(struct relay_dns *d)
{
	ares_socket_t socks[ARES_GETSOCK_MAXNUM];
	struct pollfd pfd[ARES_GETSOCK_MAXNUM];
	int bits, n = 0;

	if (d->channel == NULL)
		return;
	d->now = mono_us();
	bits = ares_getsock(d->channel, socks, ARES_GETSOCK_MAXNUM);
	for (int i = 0; i < ARES_GETSOCK_MAXNUM; i++)
		if (ARES_GETSOCK_READABLE(bits, i) || ARES_GETSOCK_WRITABLE(bits, i))
			pfd[n++] = (struct pollfd){.fd = socks[i],
				.events = (short)((ARES_GETSOCK_READABLE(bits, i) ? POLLIN : 0) |
						  (ARES_GETSOCK_WRITABLE(bits, i) ? POLLOUT : 0))};
	if (n > 0 && poll(pfd, (nfds_t)n, 0) > 0)
		for (int i = 0; i < n; i++)
			ares_process_fd(d->channel,
					pfd[i].revents & (POLLIN | POLLERR | POLLHUP) ? pfd[i].fd
										    : ARES_SOCKET_BAD,
					pfd[i].revents & POLLOUT ? pfd[i].fd : ARES_SOCKET_BAD);
	/* nothing ready: still expires timed-out queries (and retries them) */
	ares_process_fd(d->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	ask_due(d);
}

void relay_dns_wait(struct relay_dns *d, int timeout_ms)
{
	uint64_t until = mono_us() + (uint64_t)timeout_ms * 1000u;

	while (d->channel != NULL && mono_us() < until) {
		struct timespec pause = {0, 5000000};
		bool pending = false;

		for (unsigned i = 0; i < d->sh->conf->nb_hosts; i++)
			pending |= d->host[i].named && !d->host[i].answered;
		if (!pending)
			return;
		relay_dns_poll(d);
		nanosleep(&pause, NULL);
	}
}

void relay_dns_repoint(struct relay_dns *d, struct relay_shared *sh)
{
	struct relay_dns_host old[CONF_RELAY_HOSTS];
	const struct conf_relay *oc = d->sh != NULL ? d->sh->conf : NULL;
	char err[CONF_ERR_LEN];

	memcpy(old, d->host, sizeof(old));
	if (d->channel != NULL)
		ares_cancel(d->channel);   /* their callbacks see ARES_ECANCELLED */
	relay_dns_close(d);
	if (relay_dns_open(d, sh, err, sizeof(err)) < 0)
		fprintf(stderr, "sluiced: %s\n", err);
	for (unsigned i = 0; oc != NULL && i < sh->conf->nb_hosts; i++) {
		struct relay_dns_host *h = &d->host[i];

		for (unsigned j = 0; h->named && j < oc->nb_hosts; j++) {
			if (!old[j].named || old[j].n == 0 ||
			    strcmp(oc->hosts[j].host, sh->conf->hosts[i].host) != 0)
				continue;
			memcpy(h->a, old[j].a, sizeof(h->a));
			h->n = old[j].n;
			h->ttl = old[j].ttl;
			h->ok = old[j].ok;
			h->failed = old[j].failed;
			relay_addrs_set(sh, i, h->a, h->n);
			break;
		}
	}
}

void relay_dns_close(struct relay_dns *d)
{
	if (d->channel == NULL)
		return;
	ares_destroy(d->channel);
	ares_library_cleanup();
	d->channel = NULL;
}
