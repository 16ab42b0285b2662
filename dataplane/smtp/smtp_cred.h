/*
 * smtp_cred: who may AUTH.  Owns the credentials file (one "user:hash"
 * line per account, crypt(3) hashes: $y$ yescrypt, $6$ SHA-512, $5$,
 * $2b$, $gy$, $7$ — anything libxcrypt supports that is not a legacy
 * method), password verification against it, and the per-client-address
 * limiter of failed attempts.
 *
 * The credentials are loaded on the control plane, one set per config
 * snapshot, read-only afterwards: smtp_cred_verify() may run on any
 * number of threads at once.  It is deliberately slow (yescrypt at
 * mkpasswd's default cost takes tens to hundreds of milliseconds of CPU):
 * never call it on a NIC core's packet path; the
 * session hands the check to a control-plane thread and waits for the
 * answer.
 *
 * The limiter is mutable and not thread-safe: one per thread that uses it,
 * with the clock passed in.
 */
#ifndef SLUICE_DATAPLANE_SMTP_SMTP_CRED_H
#define SLUICE_DATAPLANE_SMTP_SMTP_CRED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dataplane/smtp/smtp_admit.h"

/* Longest user name and longest line in the file. */
#define SMTP_CRED_USER_MAX 255
#define SMTP_CRED_LINE_MAX 1024

struct smtp_cred;

/* Loads the file at PATH.  Blank lines and lines whose first non-blank
 * character is '#' are skipped; blanks around user and hash are trimmed.
 * Returns 0 with *OUT set, or a negative errno with one line in ERR that
 * names "PATH:LINE" (or just PATH when the file cannot be read). */
int smtp_cred_load(const char *path, struct smtp_cred **out, char *err,
		   size_t errlen);

/* The same from text in memory; NAME stands for the path in messages. */
int smtp_cred_parse(const char *text, size_t len, const char *name,
		    struct smtp_cred **out, char *err, size_t errlen);

void smtp_cred_free(struct smtp_cred *c);

size_t smtp_cred_count(const struct smtp_cred *c);

/* True when USER exists and PASS hashes to its hash.  The hash comparison
 * is constant-time, and an unknown user is hashed with the setting of the
 * first user in the file, so with one hash method throughout, timing tells
 * neither which users exist nor how much of a hash matched.  Slow by
 * design: see the header comment. */
bool smtp_cred_verify(const struct smtp_cred *c, const char *user,
		      const char *pass);

/*
 * The failed-AUTH limiter.  Each client address (an IPv6 client by its
 * /64, since one host may own all of it) earns a failure score that decays
 * continuously: after MAX_FAILURES failures within WINDOW_US, further
 * attempts are denied without checking, and one more attempt is allowed
 * every WINDOW_US / MAX_FAILURES after that.  The table has SLOTS entries,
 * allocated at creation; when it is full the entry closest to decaying is
 * evicted (and counted).
 */
struct smtp_authlimit_params {
	uint32_t slots;        /* table size, rounded up to a power of two */
	uint32_t max_failures; /* >= 1 */
	uint64_t window_us;    /* >= max_failures */
};

#define SMTP_AUTHLIMIT_DEFAULT \
	((struct smtp_authlimit_params){.slots = 4096, .max_failures = 5, \
					.window_us = 300000000})

struct smtp_authlimit_stats {
	uint64_t denied;    /* attempts refused without checking */
	uint64_t failures;  /* failures recorded */
	uint64_t evictions; /* live entries dropped because the table was full */
	uint32_t tracked;   /* entries in use */
};

struct smtp_authlimit;

/* Returns 0 with *OUT set, -EINVAL for bad parameters, -ENOMEM. */
int smtp_authlimit_create(const struct smtp_authlimit_params *p,
			  struct smtp_authlimit **out);
void smtp_authlimit_free(struct smtp_authlimit *l);

/* May ADDR try to authenticate at NOW_US?  False means deny without
 * running smtp_cred_verify() (the session still answers 535 5.7.8). */
bool smtp_authlimit_check(struct smtp_authlimit *l,
			  const struct smtp_ip *addr, uint64_t now_us);
/* Record a failed attempt from ADDR. */
void smtp_authlimit_failed(struct smtp_authlimit *l,
			   const struct smtp_ip *addr, uint64_t now_us);
/* Record a successful one: forget ADDR's failures. */
void smtp_authlimit_succeeded(struct smtp_authlimit *l,
			      const struct smtp_ip *addr);

void smtp_authlimit_stats(const struct smtp_authlimit *l,
			  struct smtp_authlimit_stats *out);

#endif
