/*
 * smtp_client_open: opening a client session.  Owns the replies to the
 * greeting, EHLO and HELO, the capabilities of the EHLO reply, STARTTLS by
 * policy and AUTH PLAIN / LOGIN (only under TLS).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "dataplane/smtp/smtp_client_impl.h"

void cl_ehlo(struct smtp_client *c, uint64_t now)
{
	c->ext = 0;
	c->ext_size = 0;
	cl_cmd(c, EXP_EHLO, 0, now, "EHLO %s", c->conf.helo_name);
}

static bool word_is(const char *w, size_t n, const char *kw)
{
	return strlen(kw) == n && strncasecmp(w, kw, n) == 0;
}

static void auth_mechs(struct smtp_client *c, const char *p)
{
	while (*p != '\0') {
		size_t n;

		while (*p == ' ' || *p == '=')
			p++;
		n = strcspn(p, " ");
		if (word_is(p, n, "PLAIN"))
			c->ext |= SMTP_EXT_AUTH_PLAIN;
		else if (word_is(p, n, "LOGIN"))
			c->ext |= SMTP_EXT_AUTH_LOGIN;
		p += n;
	}
}

/* One line of a 250 reply to EHLO after the first: a capability. */
void cl_ehlo_line(struct smtp_client *c, const char *line)
{
	static const struct { const char *kw; unsigned bit; } kws[] = {
		{"PIPELINING", SMTP_EXT_PIPELINING}, {"8BITMIME", SMTP_EXT_8BITMIME},
		{"SMTPUTF8", SMTP_EXT_SMTPUTF8}, {"CHUNKING", SMTP_EXT_CHUNKING},
		{"DSN", SMTP_EXT_DSN}, {"STARTTLS", SMTP_EXT_STARTTLS},
		{"ENHANCEDSTATUSCODES", SMTP_EXT_ENHANCED},
	};
	size_t n = strcspn(line, " =");

	if (word_is(line, n, "AUTH")) {
		auth_mechs(c, line + n);
		return;
	}
	if (word_is(line, n, "SIZE")) {
		const char *v = line + n;
		uint64_t sz = 0;

		c->ext |= SMTP_EXT_SIZE;
		while (*v == ' ')
			v++;
		for (; *v >= '0' && *v <= '9'; v++)
			sz = sz > UINT64_MAX / 10 - 1 ? UINT64_MAX : sz * 10 + (uint64_t)(*v - '0');
		c->ext_size = sz;
		return;
	}
	if (line[n] != '\0' && line[n] != ' ')
		return;
	for (size_t i = 0; i < sizeof(kws) / sizeof(kws[0]); i++)
		if (word_is(line, n, kws[i].kw))
			c->ext |= kws[i].bit;
}

static void b64(const char *in, size_t n, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)in, (int)n);
}

static void auth_start(struct smtp_client *c, uint64_t now)
{
	char buf[2 * SMTP_CLIENT_CRED_MAX + 4];
	char enc[(sizeof(buf) + 2) / 3 * 4 + 1];
	size_t ul = strlen(c->conf.auth_user), pl = strlen(c->conf.auth_pass);

	if (!c->tls) {
		cl_fail(c, true, now, "4.7.10 AUTH to %s needs TLS", c->conf.peer_name);
	} else if (c->ext & SMTP_EXT_AUTH_PLAIN) {
		buf[0] = '\0';
		memcpy(buf + 1, c->conf.auth_user, ul);
		buf[1 + ul] = '\0';
		memcpy(buf + 2 + ul, c->conf.auth_pass, pl);
		b64(buf, 2 + ul + pl, enc);
		cl_cmd(c, EXP_AUTH, 0, now, "AUTH PLAIN %s", enc);
	} else if (c->ext & SMTP_EXT_AUTH_LOGIN) {
		cl_cmd(c, EXP_AUTH_USER, 0, now, "AUTH LOGIN");
	} else {
		cl_fail(c, true, now, "4.7.4 %s offers no AUTH PLAIN or LOGIN",
			c->conf.peer_name);
	}
}

/* EHLO or HELO succeeded: STARTTLS, AUTH, or ready. */
static void opened(struct smtp_client *c, uint64_t now)
{
	if (!c->tls && c->conf.tls != SMTP_TLS_NONE) {
		if (c->ext & SMTP_EXT_STARTTLS) {
			cl_cmd(c, EXP_STARTTLS, 0, now, "STARTTLS");
			return;
		}
		if (c->conf.tls != SMTP_TLS_OPPORTUNISTIC) {
			cl_fail(c, true, now, "4.7.10 %s does not offer STARTTLS, TLS required",
				c->conf.peer_name);
			return;
		}
	}
	if (c->conf.auth && !c->authed)
		auth_start(c, now);
	else
		cl_ready(c, now);
}

static void auth_login_step(struct smtp_client *c, const char *s,
			    enum cl_exp next, uint64_t now)
{
	char enc[(SMTP_CLIENT_CRED_MAX + 2) / 3 * 4 + 1];

	b64(s, strlen(s), enc);
	cl_cmd(c, next, 0, now, "%s", enc);
}

void cl_open_reply(struct smtp_client *c, enum cl_exp kind, uint64_t now)
{
	int code = c->rp.code;

	switch (kind) {
	case EXP_GREET:
		if (code == 220)
			cl_ehlo(c, now);
		else
			cl_fail_reply(c, true, now);
		break;
	case EXP_EHLO:
		if (code == 250)
			opened(c, now);
		else if (code >= 500)
			cl_cmd(c, EXP_HELO, 0, now, "HELO %s", c->conf.helo_name);
		else
			cl_fail_reply(c, true, now);
		break;
	case EXP_HELO:
		if (code == 250) {
			c->ext = 0;
			opened(c, now);
		} else {
			cl_fail_reply(c, true, now);
		}
		break;
	case EXP_STARTTLS:
		if (code == 220) {
			c->phase = CL_TLS;
			c->wait_since = now;
			c->ops->tls_start(c->arg);
		} else {   /* offered, then refused: never in clear, any policy */
			cl_fail_reply(c, true, now);
		}
		break;
	case EXP_AUTH_USER:
	case EXP_AUTH_PASS:
		if (code != 334)
			cl_fail_reply(c, true, now);
		else if (kind == EXP_AUTH_USER)
			auth_login_step(c, c->conf.auth_user, EXP_AUTH_PASS, now);
		else
			auth_login_step(c, c->conf.auth_pass, EXP_AUTH, now);
		break;
	case EXP_AUTH:
		if (code == 235) {
			c->authed = true;
			cl_ready(c, now);
		} else {
			cl_fail_reply(c, true, now);
		}
		break;
	default:
		break;
	}
}
