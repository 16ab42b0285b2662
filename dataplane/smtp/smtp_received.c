/*
 * smtp_received: what the session writes into message headers.  Owns the
 * sanitizing of client-supplied text (HELO argument, AUTH identity, TLS
 * strings) and the "Received:" trace header (RFC 5321 §4.4, with the
 * RFC 3848 / RFC 6531 "with" protocol names).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "dataplane/smtp/smtp_impl.h"

void smtp_sanitize(char *dst, size_t cap, const char *src, size_t n)
{
	size_t j = 0;

	for (size_t i = 0; i < n && j + 1 < cap; i++) {
		unsigned char c = (unsigned char)src[i];

		dst[j++] = c >= 33 && c <= 126 && strchr("()<>\\\"", c) == NULL ?
				   (char)c : '?';
	}
	dst[j] = '\0';
}

static const char *with_protocol(const struct smtp_envelope *e)
{
	static const char *const names[2][4] = {
		{"ESMTP", "ESMTPA", "ESMTPS", "ESMTPSA"},
		{"UTF8SMTP", "UTF8SMTPA", "UTF8SMTPS", "UTF8SMTPSA"},
	};

	if (!e->esmtp)
		return "SMTP";
	return names[e->mail->smtputf8][(e->tls_version ? 2 : 0) +
					(e->auth_user ? 1 : 0)];
}

/* The date-time of a trace header (RFC 5322 §3.3), in UTC; NULL when
 * WHEN is out of range.  It changes once a second and a worker stamps
 * many messages in one: each thread keeps the last one made. */
static const char *date_text(time_t when)
{
	static const char *const day[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	static __thread struct {
		bool made;
		time_t when;
		char text[64];
	} last;
	struct tm tm;

	if (last.made && last.when == when)
		return last.text;
	if (gmtime_r(&when, &tm) == NULL)
		return NULL;
	snprintf(last.text, sizeof(last.text), "%s, %d %s %04d %02d:%02d:%02d +0000",
		 day[tm.tm_wday], tm.tm_mday, mon[tm.tm_mon], tm.tm_year + 1900,
		 tm.tm_hour, tm.tm_min, tm.tm_sec);
	last.made = true;
	last.when = when;
	return last.text;
}

int smtp_received(const struct smtp_envelope *env, const char *by,
		  const char *qid, time_t when, char *buf, size_t len)
{
	char tls[200] = "", auth[SMTP_AUTH_ID_MAX + 40] = "";
	const char *date = date_text(when);
	size_t at = 0;

	if (date == NULL)
		return -EINVAL;
	if (env->tls_version)
		snprintf(tls, sizeof(tls), "\t(using %s with cipher %s)\r\n",
			 env->tls_version, env->tls_cipher);
	if (env->auth_user)
		snprintf(auth, sizeof(auth), "\t(Authenticated sender: %s)\r\n",
			 env->auth_user);
	/* the header is all strings: joined, not printf'd (per message) */
	const char *const part[] = {
		"Received: from ", env->helo, " ([",
		strchr(env->client_addr, ':') ? "IPv6:" : "", env->client_addr, "])\r\n",
		tls, auth,
		"\tby ", by, " with ", with_protocol(env), " id ", qid, ";\r\n",
		"\t", date, "\r\n",
	};

	for (size_t i = 0; i < sizeof(part) / sizeof(part[0]); i++) {
		size_t n = strlen(part[i]);

		if (n >= len - at)
			return -ENOSPC;
		memcpy(buf + at, part[i], n);
		at += n;
	}
	buf[at] = '\0';
	return (int)at;
}
