/*
 * snapshot: building, publishing and reclaiming configuration snapshots —
 * see snapshot.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_malloc.h>

#include "control/authd.h"
#include "control/snapshot.h"
#include "dataplane/tls/tls.h"

/* A deep copy of SRC into DST (the EAL arguments are duplicated). */
static int conf_copy(struct conf *dst, const struct conf *src)
{
	memcpy(dst, src, sizeof(*dst));
	for (int i = 0; i < src->eal_argc; i++)
		dst->eal_argv[i] = NULL;
	dst->text = NULL;
	if (src->text != NULL && (dst->text = strdup(src->text)) == NULL)
		return -ENOMEM;
	for (int i = 0; i < src->eal_argc; i++)
		if ((dst->eal_argv[i] = strdup(src->eal_argv[i])) == NULL)
			return -ENOMEM;
	return 0;
}

static void server_conf(const struct conf_smtp *m, struct smtp_server_conf *c)
{
	smtp_server_conf_default(c);
	snprintf(c->hostname, sizeof(c->hostname), "%s", m->hostname);
	c->max_rcpt = m->max_rcpt;
	c->max_msg_size = m->max_message_size;
	c->max_errors = m->max_errors;
	c->cmd_line_max = m->cmd_line_max;
	c->text_line_max = m->text_line_max;
	c->auth_line_max = m->auth_line_max;
	c->cmd_timeout_us = (uint64_t)m->cmd_timeout_s * 1000000u;
	c->data_timeout_us = (uint64_t)m->data_timeout_s * 1000000u;
	c->min_data_rate = m->min_data_rate;
	c->normalize_bare = m->normalize_bare;
	c->starttls = m->tls_cert[0] != '\0';
	c->auth = m->auth;
}

/* smtp.allow then smtp.allow_file, in one table named after VERSION. */
static int build_allow(struct snap *s, char *err, size_t errlen)
{
	const struct conf_smtp *m = &s->conf.smtp;
	const char *list[2 * CONF_ALLOW_MAX];
	size_t n = 0;

	for (unsigned i = 0; i < m->nb_allow; i++)
		list[n++] = m->allow[i];
	for (unsigned i = 0; i < m->nb_allow_file; i++)
		list[n++] = m->allow_file_entries[i];
	if (n == 0)
		return 0;
	return smtp_admit_build(list, n, (uint32_t)s->version, SOCKET_ID_ANY,
				&s->allow, err, errlen);
}

static int build_smtp(struct snap *s, struct authd *authd, char *err, size_t errlen)
{
	const struct conf_smtp *m = &s->conf.smtp;
	struct inbound_shared *sh = &s->smtp;
	int rc;

	sh->conf = &s->conf;
	server_conf(m, &sh->server);
	sh->policy = (struct smtp_admit_policy){
		.unknown = m->unknown == CONF_UNKNOWN_REJECT ? SMTP_UNKNOWN_REJECT
			 : m->unknown == CONF_UNKNOWN_DROP ? SMTP_UNKNOWN_DROP
			 : SMTP_UNKNOWN_TEMPFAIL,
		.auth_admits_unknown = m->auth};
	if ((rc = build_allow(s, err, errlen)) < 0)
		return rc;
	sh->allow = s->allow;
	sh->authd = m->auth ? authd : NULL;
	if (sh->server.starttls &&
	    (rc = tls_ctx_server_new(m->tls_cert, m->tls_key, &sh->tls, err, errlen)) < 0)
		return rc;
	return 0;
}

int snap_build(const struct conf *conf, uint64_t version, struct authd *authd,
	       struct snap **out, char *err, size_t errlen)
{
	struct snap *s = calloc(1, sizeof(*s));
	int rc;

	*out = NULL;
	if (s == NULL || conf_copy(&s->conf, conf) < 0) {
		snprintf(err, errlen, "out of memory for a configuration snapshot");
		rc = -ENOMEM;
		goto fail;
	}
	s->version = version;
	s->loaded = time(NULL);
	if ((rc = build_smtp(s, authd, err, errlen)) < 0 ||
	    (rc = relay_shared_init(&s->relay, &s->conf, err, errlen)) < 0)
		goto fail;
	*out = s;
	return 0;
fail:
	snap_free(s);
	return rc;
}

void snap_free(struct snap *s)
{
	if (s == NULL)
		return;
	relay_shared_fini(&s->relay);
	tls_ctx_free(s->smtp.tls);
	smtp_admit_free(s->allow);
	conf_free(&s->conf);
	free(s);
}

/* ---- publishing ----------------------------------------------------------- */

int snap_pub_init(struct snap_pub *p, unsigned nb_workers, struct snap *first)
{
	size_t sz = rte_rcu_qsbr_get_memsize(nb_workers);

	memset(p, 0, sizeof(*p));
	p->qsbr = rte_zmalloc("snap_qsbr", sz, RTE_CACHE_LINE_SIZE);
	if (p->qsbr == NULL || rte_rcu_qsbr_init(p->qsbr, nb_workers) != 0) {
		rte_free(p->qsbr);
		p->qsbr = NULL;
		return -ENOMEM;
	}
	for (unsigned i = 0; i < nb_workers; i++)
		rte_rcu_qsbr_thread_register(p->qsbr, i);
	p->cur = first;
	return 0;
}

void snap_publish(struct snap_pub *p, struct snap *s)
{
	struct snap *old = p->cur;

	__atomic_store_n(&p->cur, s, __ATOMIC_RELEASE);
	if (old == NULL)
		return;
	old->token = rte_rcu_qsbr_start(p->qsbr);
	old->next = p->retired;
	p->retired = old;
}

unsigned snap_reclaim(struct snap_pub *p)
{
	struct snap **link = &p->retired;
	unsigned waiting = 0;

	while (*link != NULL) {
		struct snap *s = *link;

		if (!s->grace && rte_rcu_qsbr_check(p->qsbr, s->token, false) == 1)
			s->grace = true;
		if (s->grace && __atomic_load_n(&s->refs, __ATOMIC_ACQUIRE) == 0) {
			*link = s->next;
			snap_free(s);
			continue;
		}
		waiting++;
		link = &s->next;
	}
	p->nb_retired = waiting;
	return waiting;
}

void snap_pub_fini(struct snap_pub *p)
{
	while (p->retired != NULL) {
		struct snap *s = p->retired;

		p->retired = s->next;
		snap_free(s);
	}
	snap_free(p->cur);
	p->cur = NULL;
	rte_free(p->qsbr);
	p->qsbr = NULL;
}
