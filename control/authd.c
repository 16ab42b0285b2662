/*
 * authd: the AUTH verifier thread — see authd.h.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <rte_errno.h>
#include <rte_malloc.h>

#include "control/authd.h"
#include "dataplane/smtp/smtp_server.h"
#include "dataplane/stats.h"

#define AUTHD_RING 1024

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000;
}

static int verdict(struct authd *a, struct authd_req *r)
{
	uint64_t now = now_us();
	bool ok;

	if (!smtp_authlimit_check(a->limit, &r->client, now)) {
		STATS_ADD(a->stats.limited, 1);
		return SMTP_AUTH_FAIL;
	}
	/* NULs in either, or a name the file cannot hold: not a match */
	if (r->user_len >= AUTHD_FIELD_MAX || r->pass_len >= AUTHD_FIELD_MAX ||
	    memchr(r->user, '\0', r->user_len) != NULL ||
	    memchr(r->pass, '\0', r->pass_len) != NULL) {
		STATS_ADD(a->stats.too_long, 1);
		ok = false;
	} else {
		r->user[r->user_len] = '\0';
		r->pass[r->pass_len] = '\0';
		ok = smtp_cred_verify(a->cred, r->user, r->pass);
		STATS_ADD(a->stats.checked, 1);
	}
	OPENSSL_cleanse(r->pass, sizeof(r->pass));
	if (ok) {
		smtp_authlimit_succeeded(a->limit, &r->client);
		STATS_ADD(a->stats.ok, 1);
		return SMTP_AUTH_OK;
	}
	smtp_authlimit_failed(a->limit, &r->client, now);
	STATS_ADD(a->stats.failed, 1);
	return SMTP_AUTH_FAIL;
}

static void *run(void *arg)
{
	struct authd *a = arg;

	while (!__atomic_load_n(&a->quit, __ATOMIC_RELAXED)) {
		struct authd_req r;
		struct authd_res res;

		if (rte_ring_dequeue_elem(a->req, &r, sizeof(r)) < 0) {
			usleep(500);
			continue;
		}
		res = (struct authd_res){.session = r.session, .gen = r.gen,
					 .verdict = verdict(a, &r)};
		if (r.worker >= a->nb_workers ||
		    rte_ring_enqueue_elem(a->res[r.worker], &res, sizeof(res)) < 0)
			STATS_ADD(a->stats.dropped, 1);  /* the session times out */
	}
	return NULL;
}

int authd_start(struct authd *a, const char *path, unsigned nb_workers,
		char *err, size_t errlen)
{
	struct smtp_authlimit_params lp = SMTP_AUTHLIMIT_DEFAULT;
	char name[RTE_RING_NAMESIZE];
	int rc;

	memset(a, 0, sizeof(*a));
	a->nb_workers = nb_workers;
	if ((rc = smtp_cred_load(path, &a->cred, err, errlen)) < 0)
		return rc;
	if ((rc = smtp_authlimit_create(&lp, &a->limit)) < 0) {
		snprintf(err, errlen, "auth limiter: %s", strerror(-rc));
		return rc;
	}
	a->req = rte_ring_create_elem("authd_req", sizeof(struct authd_req),
				      AUTHD_RING, SOCKET_ID_ANY, RING_F_SC_DEQ);
	for (unsigned i = 0; a->req != NULL && i < nb_workers; i++) {
		snprintf(name, sizeof(name), "authd_res_%u", i);
		a->res[i] = rte_ring_create_elem(name, sizeof(struct authd_res),
						 AUTHD_RING, SOCKET_ID_ANY,
						 RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (a->res[i] == NULL)
			break;
	}
	if (a->req == NULL || (nb_workers > 0 && a->res[nb_workers - 1] == NULL)) {
		snprintf(err, errlen, "auth rings: %s", rte_strerror(rte_errno));
		authd_stop(a);
		return -ENOMEM;
	}
	if ((rc = pthread_create(&a->thread, NULL, run, a)) != 0) {
		snprintf(err, errlen, "auth thread: %s", strerror(rc));
		authd_stop(a);
		return -rc;
	}
	a->running = true;
	return 0;
}

void authd_stop(struct authd *a)
{
	if (a->running) {
		__atomic_store_n(&a->quit, true, __ATOMIC_RELAXED);
		pthread_join(a->thread, NULL);
		a->running = false;
	}
	for (unsigned i = 0; i < a->nb_workers; i++)
		rte_ring_free(a->res[i]);
	rte_ring_free(a->req);
	smtp_authlimit_free(a->limit);
	smtp_cred_free(a->cred);
	memset(a, 0, sizeof(*a));
}

bool authd_post(struct authd *a, const struct authd_req *r)
{
	return rte_ring_enqueue_elem(a->req, (void *)(uintptr_t)r, sizeof(*r)) == 0;
}
