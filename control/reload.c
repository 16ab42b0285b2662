/*
 * reload: config reloads and allow-list changes — see reload.h.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "control/allow_file.h"
#include "control/config_diff.h"
#include "control/reload.h"
#include "dataplane/smtp/smtp_admit.h"

__attribute__((format(printf, 2, 3)))
static void logline(const struct reload *r, const char *fmt, ...)
{
	va_list ap;

	if (r->log == NULL)
		return;
	fprintf(r->log, "sluiced: ");
	va_start(ap, fmt);
	vfprintf(r->log, fmt, ap);
	va_end(ap);
	fputc('\n', r->log);
	fflush(r->log);
}

/* Refuse: log it, say why in MSG. */
static int refuse(struct reload *r, const char *what, const char *who, int rc,
		  const char *why, char *msg, size_t len)
{
	r->refused++;
	snprintf(msg, len, "%s", why);
	logline(r, "%s by %s refused, version %ju unchanged: %s", what, who,
		(uintmax_t)snap_current(r->pub)->version, why);
	return rc;
}

/* Make S the current snapshot and tell the daemon. */
static void publish_snap(struct reload *r, struct snap *s)
{
	snap_publish(r->pub, s);
	r->reloads++;
	if (r->published != NULL)
		r->published(r->arg, s);
}

/* Build the snapshot of CONF and publish it; the caller logs. */
static int publish(struct reload *r, const struct conf *conf, char *err, size_t errlen)
{
	struct snap *s;
	int rc = snap_build(conf, snap_current(r->pub)->version + 1, r->authd, &s,
			    err, errlen);

	if (rc < 0)
		return rc;
	publish_snap(r, s);
	return 0;
}

int reload_config(struct reload *r, const char *who, char *msg, size_t len)
{
	const struct snap *cur = snap_current(r->pub);
	struct conf_change ch[CONF_CHANGES_MAX];
	char err[CONF_ERR_LEN * 4], keys[CONF_ERR_LEN];
	struct conf *conf = malloc(sizeof(*conf));
	unsigned n;
	int rc;

	if (conf == NULL)
		return refuse(r, "reload", who, -ENOMEM, "out of memory", msg, len);
	if ((rc = conf_load(r->path, conf, err, sizeof(err))) < 0) {
		free(conf);
		return refuse(r, "reload", who, rc, err, msg, len);
	}
	n = conf_diff(&cur->conf, conf, ch, CONF_CHANGES_MAX);
	if (conf_changes_join(ch, n, true, keys, sizeof(keys)) > 0) {
		snprintf(err, sizeof(err), "%s: changed, needs a restart: %s", r->path, keys);
		rc = -EPERM;
	} else {
		rc = publish(r, conf, err, sizeof(err));
	}
	conf_free(conf);
	free(conf);
	if (rc < 0)
		return refuse(r, "reload", who, rc, err, msg, len);
	if (conf_changes_join(ch, n, false, keys, sizeof(keys)) == 0)
		snprintf(keys, sizeof(keys), "nothing (files re-read)");
	snprintf(msg, len, "version %ju -> %ju: changed: %s", (uintmax_t)cur->version,
		 (uintmax_t)cur->version + 1, keys);
	logline(r, "reload by %s: %s", who, msg);
	return 0;
}

static int find(const char (*list)[CONF_CIDR_LEN], unsigned n, const char *cidr)
{
	for (unsigned i = 0; i < n; i++)
		if (strcmp(list[i], cidr) == 0)
			return (int)i;
	return -1;
}

/* Edit C's allow-file list (freshly read from disk) for ADD/remove CIDR. */
static int edit_list(struct conf *c, bool add, const char *cidr, char *err,
		     size_t errlen)
{
	struct conf_smtp *m = &c->smtp;
	int at;
	int rc = allow_file_read(m->allow_file, m->allow_file_entries, CONF_ALLOW_MAX,
				 &m->nb_allow_file, err, errlen);

	if (rc < 0)
		return rc;
	at = find((const char (*)[CONF_CIDR_LEN])m->allow_file_entries,
		  m->nb_allow_file, cidr);
	if (add && find((const char (*)[CONF_CIDR_LEN])m->allow, m->nb_allow, cidr) >= 0) {
		snprintf(err, errlen, "%s is already allowed by smtp.allow in %s", cidr, c->path);
		return -EEXIST;
	}
	if (add && at >= 0) {
		snprintf(err, errlen, "%s is already in %s", cidr, m->allow_file);
		return -EEXIST;
	}
	if (add && m->nb_allow_file == CONF_ALLOW_MAX) {
		snprintf(err, errlen, "%s is full (%u entries)", m->allow_file, CONF_ALLOW_MAX);
		return -ENOSPC;
	}
	if (add) {
		snprintf(m->allow_file_entries[m->nb_allow_file++], CONF_CIDR_LEN, "%s", cidr);
		return 0;
	}
	if (at < 0) {
		if (find((const char (*)[CONF_CIDR_LEN])m->allow, m->nb_allow, cidr) >= 0)
			snprintf(err, errlen, "%s is in smtp.allow of %s, not in %s: edit the "
				 "config and reload", cidr, c->path, m->allow_file);
		else
			snprintf(err, errlen, "%s is not in %s", cidr, m->allow_file);
		return -ENOENT;
	}
	memmove(m->allow_file_entries[at], m->allow_file_entries[at + 1],
		(m->nb_allow_file - (unsigned)at - 1) * CONF_CIDR_LEN);
	m->nb_allow_file--;
	return 0;
}

int reload_allow(struct reload *r, bool add, const char *cidr, const char *who,
		 char *msg, size_t len)
{
	const char *what = add ? "allow add" : "allow remove";
	const struct snap *cur = snap_current(r->pub);
	struct smtp_cidr parsed;
	char canon[CONF_CIDR_LEN], err[CONF_ERR_LEN * 4];
	struct conf *c;
	struct snap *s;
	int rc;

	if (cur->conf.smtp.allow_file[0] == '\0')
		return refuse(r, what, who, -ENOTSUP, "smtp.allow_file is not set in the "
			      "config: the allow list cannot be changed at run time",
			      msg, len);
	if (smtp_cidr_parse(cidr, &parsed, err, sizeof(err)) < 0)
		return refuse(r, what, who, -EINVAL, err, msg, len);
	smtp_cidr_format(&parsed, canon, sizeof(canon));
	/* a shallow copy: snap_build() copies what it keeps */
	if ((c = malloc(sizeof(*c))) == NULL)
		return refuse(r, what, who, -ENOMEM, "out of memory", msg, len);
	memcpy(c, &cur->conf, sizeof(*c));
	rc = edit_list(c, add, canon, err, sizeof(err));
	if (rc == 0)
		rc = snap_build(c, cur->version + 1, r->authd, &s, err, sizeof(err));
	if (rc == 0 && (rc = allow_file_write(c->smtp.allow_file,
					      (const char (*)[CONF_CIDR_LEN])c->smtp.allow_file_entries,
					      c->smtp.nb_allow_file, err, sizeof(err))) < 0)
		snap_free(s);
	if (rc == 0) {
		snprintf(msg, len, "%s %s %s: version %ju -> %ju", add ? "added" : "removed",
			 canon, add ? "to" : "from", (uintmax_t)cur->version,
			 (uintmax_t)s->version);
		publish_snap(r, s);
	}
	free(c);
	if (rc < 0)
		return refuse(r, what, who, rc, err, msg, len);
	logline(r, "%s by %s: %s", what, who, msg);
	return 0;
}
