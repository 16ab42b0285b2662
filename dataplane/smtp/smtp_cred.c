/*
 * smtp_cred: the credentials file — loading and checking it line by line,
 * and verifying a password against it with libxcrypt.
 */
#include "dataplane/smtp/smtp_cred.h"

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

/* A credentials file larger than this is a mistake, not a user list. */
#define CRED_FILE_MAX (16u << 20)

struct cred_entry {
	char *user;
	char *hash;
	unsigned line;
};

struct smtp_cred {
	struct cred_entry *e; /* sorted by user */
	size_t n, cap;
};

static int cred_fail(char *err, size_t errlen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int cred_fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r';
}

/* Trims blanks off [*s, *e). */
static void trim(const char **s, const char **e)
{
	while (*s < *e && is_blank(**s))
		(*s)++;
	while (*e > *s && is_blank((*e)[-1]))
		(*e)--;
}

static bool user_ok(const char *s, size_t n)
{
	if (n == 0 || n > SMTP_CRED_USER_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch <= 0x20 || ch == 0x7f)
			return false;
	}
	return true;
}

/* A hash is one printable word that libxcrypt accepts as a modern
 * setting.  Returns NULL when fine, else what is wrong. */
static const char *hash_problem(const char *h, size_t n)
{
	char setting[CRYPT_OUTPUT_SIZE];

	if (n == 0)
		return "empty hash";
	if (h[0] != '$' || n >= CRYPT_OUTPUT_SIZE)
		return "not a crypt(3) hash (make one with tools/sluice-passwd)";
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)h[i] <= 0x20 || (unsigned char)h[i] >= 0x7f)
			return "blank or control character in hash";
	memcpy(setting, h, n);
	setting[n] = '\0';
	switch (crypt_checksalt(setting)) {
	case CRYPT_SALT_OK:
		return NULL;
	case CRYPT_SALT_METHOD_LEGACY:
		return "legacy hash method, rehash with tools/sluice-passwd";
	default:
		return "hash method not supported by libcrypt";
	}
}

static int add_entry(struct smtp_cred *c, const char *u, size_t un,
		     const char *h, size_t hn, unsigned line)
{
	struct cred_entry *e;

	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 16;
		struct cred_entry *ne = realloc(c->e, cap * sizeof(*ne));

		if (ne == NULL)
			return -ENOMEM;
		c->e = ne;
		c->cap = cap;
	}
	e = &c->e[c->n];
	e->user = strndup(u, un);
	e->hash = strndup(h, hn);
	e->line = line;
	if (e->user == NULL || e->hash == NULL) {
		free(e->user);
		free(e->hash);
		return -ENOMEM;
	}
	c->n++;
	return 0;
}

/* One line [s, e), without its newline. */
static int parse_line(struct smtp_cred *c, const char *s, const char *e,
		      const char *name, unsigned line, char *err, size_t errlen)
{
	const char *colon, *problem;

	trim(&s, &e);
	if (s == e || *s == '#')
		return 0;
	colon = memchr(s, ':', (size_t)(e - s));
	if (colon == NULL)
		return cred_fail(err, errlen, -EINVAL,
				 "%s:%u: expected user:hash", name, line);
	const char *ue = colon, *hs = colon + 1;

	trim(&s, &ue);
	trim(&hs, &e);
	if (!user_ok(s, (size_t)(ue - s)))
		return cred_fail(err, errlen, -EINVAL,
				 "%s:%u: user name must be 1..%d characters "
				 "without blanks or control characters",
				 name, line, SMTP_CRED_USER_MAX);
	problem = hash_problem(hs, (size_t)(e - hs));
	if (problem != NULL)
		return cred_fail(err, errlen, -EINVAL, "%s:%u: user %.*s: %s",
				 name, line, (int)(ue - s), s, problem);
	if (add_entry(c, s, (size_t)(ue - s), hs, (size_t)(e - hs), line) != 0)
		return cred_fail(err, errlen, -ENOMEM, "%s:%u: out of memory",
				 name, line);
	return 0;
}

static int by_user(const void *a, const void *b)
{
	const struct cred_entry *x = a, *y = b;
	int d = strcmp(x->user, y->user);

	return d != 0 ? d : (x->line > y->line) - (x->line < y->line);
}

static int check_duplicates(const struct smtp_cred *c, const char *name,
			    char *err, size_t errlen)
{
	for (size_t i = 1; i < c->n; i++)
		if (strcmp(c->e[i - 1].user, c->e[i].user) == 0)
			return cred_fail(err, errlen, -EINVAL,
					 "%s:%u: duplicate user %s (first on "
					 "line %u)", name, c->e[i].line,
					 c->e[i].user, c->e[i - 1].line);
	return 0;
}

static int parse_lines(struct smtp_cred *c, const char *text, size_t len,
		       const char *name, char *err, size_t errlen)
{
	const char *p = text, *end = text + len;
	unsigned line = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl != NULL ? nl : end;
		int rc;

		line++;
		if ((size_t)(le - p) > SMTP_CRED_LINE_MAX)
			return cred_fail(err, errlen, -EINVAL,
					 "%s:%u: line longer than %d bytes",
					 name, line, SMTP_CRED_LINE_MAX);
		if (memchr(p, '\0', (size_t)(le - p)) != NULL)
			return cred_fail(err, errlen, -EINVAL,
					 "%s:%u: NUL byte", name, line);
		rc = parse_line(c, p, le, name, line, err, errlen);
		if (rc != 0)
			return rc;
		p = nl != NULL ? nl + 1 : end;
	}
	return 0;
}

int smtp_cred_parse(const char *text, size_t len, const char *name,
		    struct smtp_cred **out, char *err, size_t errlen)
{
	struct smtp_cred *c = calloc(1, sizeof(*c));
	int rc;

	if (c == NULL)
		return cred_fail(err, errlen, -ENOMEM, "%s: out of memory",
				 name);
	rc = parse_lines(c, text, len, name, err, errlen);
	if (rc == 0 && c->n > 1) {
		qsort(c->e, c->n, sizeof(*c->e), by_user);
		rc = check_duplicates(c, name, err, errlen);
	}
	if (rc != 0) {
		smtp_cred_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

static int read_file(int fd, const char *path, char **text, size_t *len,
		     char *err, size_t errlen)
{
	struct stat st;
	size_t got = 0;

	if (fstat(fd, &st) != 0)
		return cred_fail(err, errlen, -errno, "%s: %s", path,
				 strerror(errno));
	if (!S_ISREG(st.st_mode) || st.st_size > CRED_FILE_MAX)
		return cred_fail(err, errlen, -EINVAL,
				 "%s: not a regular file of at most %u bytes",
				 path, CRED_FILE_MAX);
	*text = malloc((size_t)st.st_size + 1);
	if (*text == NULL)
		return cred_fail(err, errlen, -ENOMEM, "%s: out of memory",
				 path);
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, *text + got, (size_t)st.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return cred_fail(err, errlen, -errno, "%s: %s", path,
					 strerror(errno));
		if (r == 0)
			break;
		got += (size_t)r;
	}
	*len = got;
	return 0;
}

int smtp_cred_load(const char *path, struct smtp_cred **out, char *err,
		   size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return cred_fail(err, errlen, -errno, "%s: %s", path,
				 strerror(errno));
	rc = read_file(fd, path, &text, &len, err, errlen);
	close(fd);
	if (rc == 0)
		rc = smtp_cred_parse(text, len, path, out, err, errlen);
	if (text != NULL)
		OPENSSL_cleanse(text, len);
	free(text);
	return rc;
}

void smtp_cred_free(struct smtp_cred *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->n; i++) {
		free(c->e[i].user);
		OPENSSL_cleanse(c->e[i].hash, strlen(c->e[i].hash));
		free(c->e[i].hash);
	}
	free(c->e);
	free(c);
}

size_t smtp_cred_count(const struct smtp_cred *c)
{
	return c->n;
}

static const struct cred_entry *find_user(const struct smtp_cred *c,
					  const char *user)
{
	size_t lo = 0, hi = c->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int d = strcmp(user, c->e[mid].user);

		if (d == 0)
			return &c->e[mid];
		if (d < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

bool smtp_cred_verify(const struct smtp_cred *c, const char *user,
		      const char *pass)
{
	const struct cred_entry *e;
	struct crypt_data *cd;
	const char *target, *got;
	bool ok = false;

	if (c->n == 0)
		return false;
	e = find_user(c, user);
	/* An unknown user is hashed against a real entry's setting so that it
	 * costs what a known one does; the result is discarded. */
	target = e != NULL ? e->hash : c->e[0].hash;
	cd = calloc(1, sizeof(*cd));
	if (cd == NULL)
		return false;
	got = crypt_rn(pass, target, cd, (int)sizeof(*cd));
	if (got != NULL) {
		size_t n = strlen(target);

		ok = strlen(got) == n && CRYPTO_memcmp(got, target, n) == 0;
	}
	OPENSSL_cleanse(cd, sizeof(*cd));
	free(cd);
	return ok && e != NULL;
}
