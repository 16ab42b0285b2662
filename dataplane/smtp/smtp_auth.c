/*
 * smtp_auth: SMTP AUTH (RFC 4954) with PLAIN (RFC 4616) and LOGIN.  Owns
 * when AUTH is allowed (offered only under TLS), the exchange (initial
 * response, 334 challenges, "*" cancel, base64 through OpenSSL), the
 * handing of credentials to the caller's auth_check and its verdict.
 * Decoded secrets live on the stack and are wiped after use.
 */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "dataplane/smtp/smtp_impl.h"

/* Lines are at most SMTP_LINE_CAP octets, so any decodes into this. */
#define DEC_CAP (SMTP_LINE_CAP / 4 * 3 + 1)

static bool b64_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '+' || c == '/';
}

/* Strict base64 (RFC 4648 §4, padded) into OUT; "=" alone is the empty
 * response (RFC 4954 §4).  Returns the decoded length or -EINVAL. */
static int b64_decode(const char *in, size_t n, uint8_t *out)
{
	size_t pad = 0;
	int r;

	if (n == 1 && in[0] == '=')
		return 0;
	if (n % 4 != 0 || n > SMTP_LINE_CAP)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c == '=' && i + 2 >= n && (pad > 0 || i + 1 == n || in[i + 1] == '='))
			pad++;
		else if (pad > 0 || !b64_char(c))
			return -EINVAL;
	}
	r = EVP_DecodeBlock(out, (const unsigned char *)in, (int)n);
	if (r < 0 || (size_t)r < pad)
		return -EINVAL;
	return r - (int)pad;
}

static void auth_over(struct smtp_server *s)
{
	s->phase = SMTP_PH_CMD;
	s->login_user_len = 0;
	OPENSSL_cleanse(s->login_user, sizeof(s->login_user));
}

static void auth_fail(struct smtp_server *s)
{
	s->ctr.auth_fail++;
	auth_over(s);
	smtp_reply_err(s, "535 5.7.8 Authentication credentials invalid");
}

static void decode_fail(struct smtp_server *s)
{
	auth_over(s);
	smtp_reply_err(s, "501 5.5.2 Cannot decode response");
}

/* Hand the credentials over; the verdict comes by smtp_server_auth_result(),
 * possibly from inside the callback. */
static void auth_check(struct smtp_server *s, const struct smtp_auth_req *req)
{
	smtp_sanitize(s->auth_user, sizeof(s->auth_user), req->user, req->user_len);
	s->phase = SMTP_PH_WAIT;
	s->wait = SMTP_WAIT_AUTH;
	s->ops->auth_check(s->arg, req);
}

/* PLAIN: [authzid] NUL authcid NUL passwd */
static void plain_response(struct smtp_server *s, const char *in, size_t n)
{
	uint8_t buf[DEC_CAP];
	const uint8_t *z1, *z2;
	int r = b64_decode(in, n, buf);
	size_t len;

	if (r < 0) {
		decode_fail(s);
		return;
	}
	len = (size_t)r;
	z1 = memchr(buf, 0, len);
	z2 = z1 ? memchr(z1 + 1, 0, len - (size_t)(z1 + 1 - buf)) : NULL;
	if (z2 == NULL || z2 == z1 + 1 || memchr(z2 + 1, 0, len - (size_t)(z2 + 1 - buf))) {
		OPENSSL_cleanse(buf, len);
		auth_fail(s);
		return;
	}
	buf[len] = '\0';
	auth_over(s);
	auth_check(s, &(struct smtp_auth_req){
		.mech = "PLAIN", .authzid = (const char *)buf,
		.user = (const char *)z1 + 1, .user_len = (size_t)(z2 - z1 - 1),
		.pass = (const char *)z2 + 1, .pass_len = len - (size_t)(z2 + 1 - buf)});
	OPENSSL_cleanse(buf, len);
}

static void login_user(struct smtp_server *s, const char *in, size_t n)
{
	uint8_t buf[DEC_CAP];
	int r = b64_decode(in, n, buf);

	if (r < 0) {
		decode_fail(s);
		return;
	}
	if (r == 0 || (size_t)r > SMTP_AUTH_ID_MAX) {
		OPENSSL_cleanse(buf, (size_t)r);
		auth_fail(s);
		return;
	}
	memcpy(s->login_user, buf, (size_t)r);
	s->login_user[r] = '\0';
	s->login_user_len = (size_t)r;
	OPENSSL_cleanse(buf, (size_t)r);
	s->auth_step = SMTP_AS_LOGIN_PASS;
	s->phase = SMTP_PH_AUTH;
	smtp_reply(s, "334 UGFzc3dvcmQ6"); /* "Password:" */
}

static void login_pass(struct smtp_server *s, const char *in, size_t n)
{
	uint8_t buf[DEC_CAP];
	char user[SMTP_AUTH_ID_MAX + 1];
	size_t ulen = s->login_user_len;
	int r = b64_decode(in, n, buf);

	if (r < 0) {
		decode_fail(s);
		return;
	}
	buf[r] = '\0';
	memcpy(user, s->login_user, ulen + 1);
	auth_over(s);
	auth_check(s, &(struct smtp_auth_req){
		.mech = "LOGIN", .authzid = "", .user = user, .user_len = ulen,
		.pass = (const char *)buf, .pass_len = (size_t)r});
	OPENSSL_cleanse(buf, (size_t)r);
	OPENSSL_cleanse(user, sizeof(user));
}

void smtp_cmd_auth(struct smtp_server *s, const char *a, size_t n)
{
	size_t m = 0;
	const char *ir;
	size_t irn;

	if (!s->conf.auth) {
		smtp_reply_err(s, "503 5.5.1 Error: authentication not enabled");
		return;
	}
	if (!s->tls) {
		smtp_reply_err(s, "538 5.7.11 Encryption required for requested authentication mechanism");
		return;
	}
	if (!s->esmtp) {
		smtp_reply_err(s, "503 5.5.1 Error: send EHLO first");
		return;
	}
	if (s->authed) {
		smtp_reply_err(s, "503 5.5.1 Error: already authenticated");
		return;
	}
	if (s->tx.mail) {
		smtp_reply_err(s, "503 5.5.1 Error: MAIL transaction in progress");
		return;
	}
	while (m < n && a[m] != ' ')
		m++;
	ir = m < n ? a + m + 1 : NULL;
	irn = ir ? n - m - 1 : 0;
	if (m == 5 && strncasecmp(a, "PLAIN", 5) == 0) {
		if (ir != NULL) {
			plain_response(s, ir, irn);
			return;
		}
		s->auth_step = SMTP_AS_PLAIN;
		s->phase = SMTP_PH_AUTH;
		smtp_reply(s, "334 ");
	} else if (m == 5 && strncasecmp(a, "LOGIN", 5) == 0) {
		if (ir != NULL) {
			login_user(s, ir, irn);
			return;
		}
		s->auth_step = SMTP_AS_LOGIN_USER;
		s->phase = SMTP_PH_AUTH;
		smtp_reply(s, "334 VXNlcm5hbWU6"); /* "Username:" */
	} else {
		smtp_reply_err(s, "504 5.5.4 Unrecognized authentication type");
	}
}

void smtp_auth_line(struct smtp_server *s, const char *line, size_t len,
		    unsigned bad)
{
	if (bad & SMTP_LINE_LONG) {
		s->ctr.long_line++;
		auth_over(s);
		smtp_reply_err(s, "500 5.5.6 Authentication Exchange line is too long");
		return;
	}
	if (len == 1 && line[0] == '*' && !bad) {
		auth_over(s);
		smtp_reply_err(s, "501 5.0.0 Authentication aborted");
		return;
	}
	if (bad) {
		decode_fail(s);
		return;
	}
	switch (s->auth_step) {
	case SMTP_AS_PLAIN:
		plain_response(s, line, len);
		break;
	case SMTP_AS_LOGIN_USER:
		login_user(s, line, len);
		break;
	default:
		login_pass(s, line, len);
		break;
	}
}

int smtp_server_auth_result(struct smtp_server *s, enum smtp_auth_result res,
			    uint64_t now)
{
	if (s->phase != SMTP_PH_WAIT || s->wait != SMTP_WAIT_AUTH)
		return -EINVAL;
	s->wait = SMTP_WAIT_NONE;
	s->phase = SMTP_PH_CMD;
	s->cmd_since = now;
	switch (res) {
	case SMTP_AUTH_OK:
		s->authed = true;
		smtp_reply(s, "235 2.7.0 Authentication successful");
		break;
	case SMTP_AUTH_TEMPFAIL:
		s->auth_user[0] = '\0';
		smtp_reply(s, "454 4.7.0 Temporary authentication failure");
		break;
	default:
		s->ctr.auth_fail++;
		s->auth_user[0] = '\0';
		smtp_reply_err(s, "535 5.7.8 Authentication credentials invalid");
		break;
	}
	return 0;
}
