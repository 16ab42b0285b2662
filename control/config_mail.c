/*
 * config_mail: the "smtp", "spool" and "queue" sections of the
 * configuration — the inbound SMTP service (listener, allow list, policy for
 * unknown sources, AUTH and STARTTLS material, limits), the durable spool
 * and the delivery queue's bounds.
 */
#include <string.h>

#include "control/allow_file.h"
#include "control/config_impl.h"
#include "dataplane/smtp/smtp_admit.h"

static int load_allow(const struct loader *ld, const config_setting_t *g,
		      struct conf_smtp *m)
{
	const config_setting_t *list = config_setting_get_member(g, "allow");
	int rc, n;

	if (list == NULL)
		return 0;
	if ((rc = conf_need_type(ld, list, CONFIG_TYPE_ARRAY, "a list of strings")) < 0)
		return rc;
	n = config_setting_length(list);
	if (n > CONF_ALLOW_MAX)
		return conf_fail_at(ld, list, "at most %d entries, got %d",
				    CONF_ALLOW_MAX, n);
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(list, (unsigned)i);
		const char *text = config_setting_get_string(e);
		struct smtp_cidr cidr;
		char err[CONF_ERR_LEN / 2];

		if (text == NULL)
			return conf_fail_at(ld, e, "expected a string");
		if (smtp_cidr_parse(text, &cidr, err, sizeof(err)) < 0)
			return conf_fail_at(ld, e, "%s", err);
		smtp_cidr_format(&cidr, m->allow[i], sizeof(m->allow[i]));
		m->nb_allow++;
	}
	return 0;
}

/* The entries of smtp.allow_file, when it is set (a missing file is an
 * empty list: `sluicectl allow add` creates it). */
static int load_allow_file(const struct loader *ld, struct conf_smtp *m)
{
	if (m->allow_file[0] == '\0')
		return 0;
	return allow_file_read(m->allow_file, m->allow_file_entries, CONF_ALLOW_MAX,
			       &m->nb_allow_file, ld->err, ld->errlen);
}

/* Copy optional string NAME into DST (SIZE bytes). */
static int load_path(const struct loader *ld, const config_setting_t *g,
		     const char *name, char *dst, size_t size)
{
	const char *text;
	int rc = conf_get_string(ld, g, name, false, size, &text, NULL);

	if (rc == 0 && text != NULL)
		strcpy(dst, text);
	return rc;
}

static int load_unknown(const struct loader *ld, const config_setting_t *g,
			struct conf_smtp *m)
{
	static const char *const names[] = {"tempfail", "reject", "drop"};
	const config_setting_t *s;
	const char *text;
	int rc = conf_get_string(ld, g, "unknown", false, 16, &text, &s);

	if (rc < 0 || text == NULL)
		return rc;
	for (unsigned i = 0; i < 3; i++)
		if (strcmp(text, names[i]) == 0) {
			m->unknown = (enum conf_unknown)i;
			return 0;
		}
	return conf_fail_at(ld, s, "expected \"tempfail\", \"reject\" or \"drop\", got \"%s\"",
			    text);
}

int conf_load_smtp(const struct loader *ld, const config_setting_t *root,
		   struct conf *out)
{
	static const char *const keys[] = {
		"port", "hostname", "allow", "allow_file", "unknown", "auth", "credentials",
		"tls_cert", "tls_key", "max_message_size", "max_rcpt",
		"max_errors", "sessions", "normalize_bare", "cmd_line_max",
		"text_line_max", "auth_line_max", "cmd_timeout_s", "data_timeout_s",
		"min_data_rate", NULL};
	struct conf_smtp *m = &out->smtp;
	uint32_t port;
	const struct conf_uint_key k[] = {
		{"port", 0, 65535, 0, &port},
		{"max_message_size", 65536, 1u << 30, 36700160, &m->max_message_size},
		{"max_rcpt", 100, 1000, 100, &m->max_rcpt},
		{"max_errors", 1, 1000, 10, &m->max_errors},
		{"sessions", 1, 65536, 256, &m->sessions},
		/* RFC 5321 §4.5.3.1 and §4.5.3.2, RFC 4954 §4: never below */
		{"cmd_line_max", 512, 16384, 512, &m->cmd_line_max},
		{"text_line_max", 1000, 1u << 20, 1000, &m->text_line_max},
		{"auth_line_max", 12288, 16384, 12288, &m->auth_line_max},
		{"cmd_timeout_s", 300, 3600, 300, &m->cmd_timeout_s},
		{"data_timeout_s", 180, 3600, 180, &m->data_timeout_s},
		{"min_data_rate", 0, 1u << 30, 100, &m->min_data_rate},
	};
	const config_setting_t *g;
	int rc;

	strcpy(m->hostname, "sluice");
	if ((rc = conf_get_group(ld, root, "smtp", false, keys, &g)) < 0 ||
	    (rc = conf_get_uints(ld, g, k, sizeof(k) / sizeof(k[0]))) < 0 || g == NULL)
		return rc;            /* no group: the defaults, no SMTP service */
	if ((rc = load_path(ld, g, "hostname", m->hostname, sizeof(m->hostname))) < 0 ||
	    (rc = load_allow(ld, g, m)) < 0 || (rc = load_unknown(ld, g, m)) < 0 ||
	    (rc = conf_get_bool(ld, g, "auth", &m->auth)) < 0 ||
	    (rc = conf_get_bool(ld, g, "normalize_bare", &m->normalize_bare)) < 0 ||
	    (rc = load_path(ld, g, "credentials", m->credentials, sizeof(m->credentials))) < 0 ||
	    (rc = load_path(ld, g, "tls_cert", m->tls_cert, sizeof(m->tls_cert))) < 0 ||
	    (rc = load_path(ld, g, "tls_key", m->tls_key, sizeof(m->tls_key))) < 0 ||
	    (rc = load_path(ld, g, "allow_file", m->allow_file, sizeof(m->allow_file))) < 0 ||
	    (rc = load_allow_file(ld, m)) < 0)
		return rc;
	m->port = (uint16_t)port;
	if ((m->tls_cert[0] == '\0') != (m->tls_key[0] == '\0'))
		return conf_fail_at(ld, g, "tls_cert and tls_key go together");
	if (m->auth && m->credentials[0] == '\0')
		return conf_fail_at(ld, g, "auth = true needs credentials");
	if (m->auth && m->tls_cert[0] == '\0')
		return conf_fail_at(ld, g, "auth = true needs tls_cert and tls_key "
				    "(AUTH is offered only after STARTTLS)");
	if (m->port != 0 && m->port >= out->tcp.port_lo && m->port <= out->tcp.port_hi)
		return conf_fail_at(ld, config_setting_get_member(g, "port"),
				    "%u is inside tcp.port_lo..port_hi (%u..%u)",
				    m->port, out->tcp.port_lo, out->tcp.port_hi);
	return 0;
}

int conf_load_spool(const struct loader *ld, const config_setting_t *root,
		    struct conf *out)
{
	static const char *const keys[] = {"dir", "segment_mb", "segments",
					   "max_segments", "commit_interval_us",
					   "commit_batch", "memory_mb", NULL};
	struct conf_spool *sp = &out->spool;
	const struct conf_uint_key k[] = {
		{"segment_mb", 1, 4096, 64, &sp->segment_mb},
		{"segments", 1, 64, 4, &sp->segments},
		{"max_segments", 1, 64, 16, &sp->max_segments},
		{"commit_interval_us", 0, 1000000, 2000, &sp->commit_interval_us},
		{"commit_batch", 1, 4096, 64, &sp->commit_batch},
		{"memory_mb", 0, 65536, 64, &sp->memory_mb},
	};
	const config_setting_t *g;
	int rc;

	strcpy(sp->dir, "/var/spool/sluice");
	if ((rc = conf_get_group(ld, root, "spool", false, keys, &g)) < 0 ||
	    (rc = conf_get_uints(ld, g, k, sizeof(k) / sizeof(k[0]))) < 0 ||
	    (g != NULL && (rc = load_path(ld, g, "dir", sp->dir, sizeof(sp->dir))) < 0))
		return rc;
	if (sp->segments > sp->max_segments)
		return conf_fail_at(ld, config_setting_get_member(g, "segments"),
				    "must not exceed max_segments (%u), got %u",
				    sp->max_segments, sp->segments);
	if (out->smtp.port != 0 && g == NULL)
		return conf_fail_at(ld, config_setting_get_member(
				config_setting_get_member(root, "smtp"), "port"),
				"a \"spool\" group with \"dir\" is needed (mail is "
				"spooled before the 250)");
	return 0;
}

int conf_load_queue(const struct loader *ld, const config_setting_t *root,
		    struct conf *out)
{
	static const char *const keys[] = {"max_messages", "max_recipients", NULL};
	struct conf_queue *q = &out->queue;
	const struct conf_uint_key k[] = {
		{"max_messages", 1, 1u << 22, 16384, &q->max_messages},
		{"max_recipients", 1, 1u << 26, 262144, &q->max_recipients},
	};
	const config_setting_t *g;
	int rc;

	if ((rc = conf_get_group(ld, root, "queue", false, keys, &g)) < 0 ||
	    (rc = conf_get_uints(ld, g, k, sizeof(k) / sizeof(k[0]))) < 0)
		return rc;
	if (q->max_recipients < q->max_messages)
		return conf_fail_at(ld, config_setting_get_member(g, "max_recipients"),
				    "must be at least max_messages (%u), got %u",
				    q->max_messages, q->max_recipients);
	return 0;
}
