/*
 * allow_file: reading and durably rewriting the operator-managed allow
 * list — see allow_file.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "control/allow_file.h"
#include "dataplane/smtp/smtp_admit.h"

#define ALLOW_FILE_MAX (1u << 20)   /* bytes read at most */

static const char *skip_blank(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

/* One line P..END (no '\n'): nothing, or an entry into ENTRY. */
static int parse_line(const char *p, const char *end, char *entry, size_t size,
		      char *why, size_t whylen)
{
	const char *q;
	struct smtp_cidr cidr;
	char text[CONF_CIDR_LEN];

	p = skip_blank(p, end);
	if (memchr(p, '#', (size_t)(end - p)) != NULL)
		end = memchr(p, '#', (size_t)(end - p));
	while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		end--;
	if (p == end)
		return 0;
	for (q = p; q < end; q++)
		if (*q == ' ' || *q == '\t') {
			snprintf(why, whylen, "one network per line");
			return -EINVAL;
		}
	if ((size_t)(end - p) >= sizeof(text)) {
		snprintf(why, whylen, "entry too long");
		return -EINVAL;
	}
	memcpy(text, p, (size_t)(end - p));
	text[end - p] = '\0';
	if (smtp_cidr_parse(text, &cidr, why, whylen) < 0)
		return -EINVAL;
	smtp_cidr_format(&cidr, entry, size);
	return 1;
}

int allow_file_parse(const char *text, size_t len, const char *name,
		     char entries[][CONF_CIDR_LEN], unsigned max, unsigned *n,
		     char *err, size_t errlen)
{
	const char *p = text, *end = text + len;
	unsigned line = 0;

	*n = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl != NULL ? nl : end;
		char why[CONF_ERR_LEN / 2] = "";
		int rc;

		line++;
		if (memchr(p, '\0', (size_t)(eol - p)) != NULL) {
			snprintf(why, sizeof(why), "NUL byte");
			rc = -EINVAL;
		} else if (*n == max) {
			snprintf(why, sizeof(why), "at most %u entries", max);
			rc = -EINVAL;
		} else {
			rc = parse_line(p, eol, entries[*n], CONF_CIDR_LEN, why, sizeof(why));
		}
		if (rc < 0) {
			snprintf(err, errlen, "%s:%u: smtp.allow_file: %s", name, line, why);
			return -EINVAL;
		}
		*n += (unsigned)rc;
		p = eol + (nl != NULL);
	}
	return 0;
}

/* PATH opened for reading, only if it is a regular file (a FIFO or a
 * device would block the control plane); NULL with errno set. */
static FILE *open_regular(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	struct stat st;
	FILE *f;
	int e;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0)
		e = errno;
	else if (!S_ISREG(st.st_mode))
		e = EINVAL;
	else if ((f = fdopen(fd, "r")) != NULL)
		return f;
	else
		e = errno;
	close(fd);
	errno = e;
	return NULL;
}

int allow_file_read(const char *path, char entries[][CONF_CIDR_LEN],
		    unsigned max, unsigned *n, char *err, size_t errlen)
{
	FILE *f = open_regular(path);
	char *buf;
	size_t len;
	int rc;

	*n = 0;
	if (f == NULL) {
		if (errno == ENOENT)
			return 0;
		rc = -errno;
		snprintf(err, errlen, "%s: smtp.allow_file: %s", path,
			 errno == EINVAL ? "not a regular file" : strerror(errno));
		return rc;
	}
	buf = malloc(ALLOW_FILE_MAX);
	if (buf == NULL) {
		fclose(f);
		snprintf(err, errlen, "%s: smtp.allow_file: out of memory", path);
		return -ENOMEM;
	}
	len = fread(buf, 1, ALLOW_FILE_MAX, f);
	if (ferror(f) || !feof(f)) {
		snprintf(err, errlen, "%s: smtp.allow_file: %s", path,
			 ferror(f) ? "read error" : "larger than 1 MiB");
		rc = -EIO;
	} else {
		rc = allow_file_parse(buf, len, path, entries, max, n, err, errlen);
	}
	free(buf);
	fclose(f);
	return rc;
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

static int write_entries(int fd, const char entries[][CONF_CIDR_LEN], unsigned n)
{
	static const char head[] =
		"# Sluice allow list: client networks admitted besides smtp.allow.\n"
		"# Written by sluiced (sluicectl allow add/remove); one per line.\n";
	int rc = write_all(fd, head, sizeof(head) - 1);

	for (unsigned i = 0; rc == 0 && i < n; i++) {
		rc = write_all(fd, entries[i], strlen(entries[i]));
		if (rc == 0)
			rc = write_all(fd, "\n", 1);
	}
	return rc;
}

/* fsync the directory holding PATH, so the rename is durable. */
static int sync_dir(const char *path)
{
	char copy[CONF_PATH_LEN * 4];
	int fd, rc = 0;

	snprintf(copy, sizeof(copy), "%s", path);
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

int allow_file_write(const char *path, const char entries[][CONF_CIDR_LEN],
		     unsigned n, char *err, size_t errlen)
{
	char tmp[CONF_PATH_LEN * 4 + 16];
	const char *step = "create";
	int fd, rc;

	if (snprintf(tmp, sizeof(tmp), "%s.tmpXXXXXX", path) >= (int)sizeof(tmp)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -ENAMETOOLONG;
	}
	fd = mkstemp(tmp);
	if (fd < 0) {
		rc = -errno;
		goto fail;
	}
	step = "write";
	rc = fchmod(fd, 0644) < 0 ? -errno : write_entries(fd, entries, n);
	if (rc == 0 && (step = "fsync", fsync(fd) < 0))
		rc = -errno;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && (step = "rename", rename(tmp, path) < 0))
		rc = -errno;
	if (rc < 0) {
		unlink(tmp);
		goto fail;
	}
	step = "fsync the directory of";
	if ((rc = sync_dir(path)) < 0)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "cannot %s %s: %s", step, path, strerror(-rc));
	return rc;
}
