/*
 * authd: the AUTH verifier.  Checking a password (yescrypt, SHA-512 crypt)
 * costs milliseconds to hundreds of them, so it never runs on a NIC core:
 * workers post requests on one ring, a thread of the control plane checks
 * them against the credentials file (behind the failed-AUTH limiter) and
 * answers on the asking worker's own ring.  The worker matches an answer
 * to its session by pointer and generation, so a session that ended while
 * waiting is never touched.
 */
#ifndef SLUICE_CONTROL_AUTHD_H
#define SLUICE_CONTROL_AUTHD_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <rte_ring.h>

#include "dataplane/smtp/smtp_admit.h"
#include "dataplane/smtp/smtp_cred.h"

#define AUTHD_FIELD_MAX 256     /* longest user name or password checked */

struct authd_req {
	unsigned worker;            /* whose ring gets the answer */
	void *session;              /* echoed back */
	uint32_t gen;               /* echoed back */
	struct smtp_ip client;      /* for the limiter */
	uint16_t user_len, pass_len;
	char user[AUTHD_FIELD_MAX];
	char pass[AUTHD_FIELD_MAX];
};

struct authd_res {
	void *session;
	uint32_t gen;
	int verdict;                /* enum smtp_auth_result */
};

struct authd_stats {
	uint64_t checked, ok, failed, limited, too_long, dropped;
};

struct authd {
	struct rte_ring *req;       /* MP (workers) / SC (the thread) */
	struct rte_ring *res[RTE_MAX_LCORE]; /* per worker: SP / SC */
	unsigned nb_workers;
	struct smtp_cred *cred;
	struct smtp_authlimit *limit;
	pthread_t thread;
	bool running, quit;
	struct authd_stats stats;   /* written by the thread only */
};

/* Load PATH and start the thread.  Returns 0, or a negative errno with a
 * message in ERR. */
int authd_start(struct authd *a, const char *path, unsigned nb_workers,
		char *err, size_t errlen);
void authd_stop(struct authd *a);

/* Worker side: post a request (false: the ring is full — answer 454). */
bool authd_post(struct authd *a, const struct authd_req *r);

#endif
