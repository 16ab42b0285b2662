/*
 * smtp_admit: the allow list of client networks — CIDR parsing, the
 * rte_lpm/rte_lpm6 tables built per snapshot, lookup at connect, and the
 * reply for an unknown source.
 */
#include "dataplane/smtp/smtp_admit.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_lpm.h>
#include <rte_lpm6.h>
#include <rte_malloc.h>

struct smtp_admit {
	struct rte_lpm *lpm4;   /* NULL when no IPv4 entry needs one */
	struct rte_lpm6 *lpm6;  /* NULL when no IPv6 entry needs one */
	bool all4;              /* an entry of depth 0 covers every IPv4 */
	bool all6;              /* ... every IPv6 */
};

/* ::ffff:0:0/96, the IPv4-mapped prefix (RFC 4291 §2.5.5.2). */
static const uint8_t MAPPED_PREFIX[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
					  0xff, 0xff};

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* Prefix length: decimal digits only, no sign, no leading zero. */
static int parse_depth(const char *s, unsigned max, uint8_t *out)
{
	unsigned v = 0;

	if (*s == '\0' || (s[0] == '0' && s[1] != '\0'))
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (unsigned)(*s - '0');
		if (v > max)
			return -1;
	}
	*out = (uint8_t)v;
	return 0;
}

/* True when any bit of B (LEN bytes) at or past bit DEPTH is set. */
static bool host_bits_set(const uint8_t *b, size_t len, unsigned depth)
{
	for (size_t i = 0; i < len; i++) {
		unsigned first = (unsigned)i * 8;
		uint8_t keep;

		if (first + 8 <= depth)
			continue;
		keep = first >= depth ? 0 : (uint8_t)(0xff << (8 - (depth - first)));
		if (b[i] & (uint8_t)~keep)
			return true;
	}
	return false;
}

static void mask_bits(uint8_t *b, size_t len, unsigned depth)
{
	for (size_t i = 0; i < len; i++) {
		unsigned first = (unsigned)i * 8;

		if (first + 8 <= depth)
			continue;
		b[i] &= first >= depth ? 0 : (uint8_t)(0xff << (8 - (depth - first)));
	}
}

/* Address bytes as inet_pton() left them into A. */
static void set_addr(struct smtp_ip *a, const uint8_t *bytes, bool v6)
{
	if (v6) {
		a->family = AF_INET6;
		memcpy(a->v6, bytes, 16);
		return;
	}
	a->family = AF_INET;
	a->v4 = (uint32_t)bytes[0] << 24 | (uint32_t)bytes[1] << 16 |
		(uint32_t)bytes[2] << 8 | bytes[3];
}

int smtp_cidr_parse(const char *s, struct smtp_cidr *out, char *err,
		    size_t errlen)
{
	char host[SMTP_CIDR_STRLEN];
	const char *slash = strchr(s, '/');
	size_t hl = slash != NULL ? (size_t)(slash - s) : strlen(s);
	bool v6 = memchr(s, ':', hl) != NULL;
	unsigned max = v6 ? 128 : 32;
	uint8_t bytes[16];
	struct smtp_cidr c = {.depth = (uint8_t)max};

	if (hl == 0)
		return fail(err, errlen, "allow entry \"%.*s\": no address",
			    SMTP_CIDR_STRLEN, s);
	if (hl >= sizeof(host))
		return fail(err, errlen, "allow entry \"%.*s...\": too long",
			    SMTP_CIDR_STRLEN, s);
	memcpy(host, s, hl);
	host[hl] = '\0';
	if (inet_pton(v6 ? AF_INET6 : AF_INET, host, bytes) != 1)
		return fail(err, errlen,
			    "allow entry \"%.*s\": not an IPv%c address",
			    SMTP_CIDR_STRLEN, s, v6 ? '6' : '4');
	if (slash != NULL && parse_depth(slash + 1, max, &c.depth) != 0)
		return fail(err, errlen,
			    "allow entry \"%.*s\": prefix length must be 0..%u",
			    SMTP_CIDR_STRLEN, s, max);
	if (host_bits_set(bytes, max / 8, c.depth)) {
		char want[SMTP_CIDR_STRLEN];

		mask_bits(bytes, max / 8, c.depth);
		set_addr(&c.net, bytes, v6);
		smtp_cidr_format(&c, want, sizeof(want));
		return fail(err, errlen,
			    "allow entry \"%.*s\": host bits set (network is %s)",
			    SMTP_CIDR_STRLEN, s, want);
	}
	set_addr(&c.net, bytes, v6);
	*out = c;
	return 0;
}

void smtp_cidr_format(const struct smtp_cidr *c, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];

	if (c->net.family == AF_INET) {
		uint32_t be = htonl(c->net.v4);

		inet_ntop(AF_INET, &be, host, sizeof(host));
	} else {
		inet_ntop(AF_INET6, c->net.v6, host, sizeof(host));
	}
	snprintf(buf, len, "%s/%u", host, c->depth);
}

/* An IPv6 entry that overlaps ::ffff:0:0/96 also admits IPv4: all of it
 * when the entry is that wide or wider, else the mapped sub-network.
 * Returns false when it does not overlap. */
static bool mapped_part(const struct smtp_cidr *c, struct smtp_cidr *v4)
{
	uint8_t pre[12];

	memcpy(pre, c->net.v6, 12);
	if (c->depth <= 96) {
		uint8_t want[12];

		memcpy(want, MAPPED_PREFIX, 12);
		mask_bits(want, 12, c->depth);
		if (memcmp(pre, want, 12) != 0)
			return false;
		*v4 = (struct smtp_cidr){.net = {.family = AF_INET}, .depth = 0};
		return true;
	}
	if (memcmp(pre, MAPPED_PREFIX, 12) != 0)
		return false;
	*v4 = (struct smtp_cidr){.net = {.family = AF_INET},
				 .depth = (uint8_t)(c->depth - 96)};
	memcpy(&v4->net.v4, c->net.v6 + 12, 4);
	v4->net.v4 = ntohl(v4->net.v4);
	return true;
}

/* The entries, parsed: IPv4 networks (mapped parts of IPv6 entries
 * included) and IPv6 networks. */
struct parsed {
	struct smtp_cidr *v4, *v6;
	size_t n4, n6;
};

static int parse_all(const char *const *entries, size_t n, struct parsed *p,
		     char *err, size_t errlen)
{
	/* Each entry gives at most one IPv4 network (itself or its mapped
	 * part) and at most one IPv6 network. */
	p->v4 = calloc(n > 0 ? n : 1, sizeof(*p->v4));
	p->v6 = calloc(n > 0 ? n : 1, sizeof(*p->v6));
	p->n4 = p->n6 = 0;
	if (p->v4 == NULL || p->v6 == NULL) {
		fail(err, errlen, "allow list: out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		struct smtp_cidr c;
		int rc = smtp_cidr_parse(entries[i], &c, err, errlen);

		if (rc != 0)
			return rc;
		if (c.net.family == AF_INET) {
			p->v4[p->n4++] = c;
			continue;
		}
		p->v6[p->n6++] = c;
		if (mapped_part(&c, &p->v4[p->n4]))
			p->n4++;
	}
	return 0;
}

/* Tables only for rules of depth >= 1 (a /0 is a flag).  tbl8 groups: at
 * most one per IPv4 rule longer than /24, at most (128 - 24) / 8 = 13 per
 * IPv6 rule. */
static int create_tables(struct smtp_admit *a, const struct parsed *p,
			 uint32_t id, int socket, char *err, size_t errlen)
{
	char name[RTE_LPM_NAMESIZE];
	size_t real4 = 0, long4 = 0, real6 = 0;

	for (size_t i = 0; i < p->n4; i++) {
		real4 += p->v4[i].depth > 0;
		long4 += p->v4[i].depth > 24;
	}
	for (size_t i = 0; i < p->n6; i++)
		real6 += p->v6[i].depth > 0;
	if (real4 > 0) {
		struct rte_lpm_config cfg = {.max_rules = (uint32_t)real4,
					     .number_tbl8s = (uint32_t)long4 + 1};

		snprintf(name, sizeof(name), "sl_admit4_%u", id);
		a->lpm4 = rte_lpm_create(name, socket, &cfg);
		if (a->lpm4 == NULL)
			goto no_table;
	}
	if (real6 > 0) {
		struct rte_lpm6_config cfg = {.max_rules = (uint32_t)real6,
					      .number_tbl8s = (uint32_t)real6 * 13};

		snprintf(name, sizeof(name), "sl_admit6_%u", id);
		a->lpm6 = rte_lpm6_create(name, socket, &cfg);
		if (a->lpm6 == NULL)
			goto no_table;
	}
	return 0;
no_table:
	fail(err, errlen, "allow list: cannot create table %s: %s", name,
	     rte_strerror(rte_errno));
	return rte_errno > 0 ? -rte_errno : -ENOMEM;
}

static int fill_tables(struct smtp_admit *a, const struct parsed *p,
		       char *err, size_t errlen)
{
	int rc;

	for (size_t i = 0; i < p->n4; i++) {
		if (p->v4[i].depth == 0) {
			a->all4 = true;
			continue;
		}
		rc = rte_lpm_add(a->lpm4, p->v4[i].net.v4, p->v4[i].depth, 1);
		if (rc < 0)
			goto add_failed;
	}
	for (size_t i = 0; i < p->n6; i++) {
		if (p->v6[i].depth == 0) {
			a->all6 = true;
			continue;
		}
		rc = rte_lpm6_add(a->lpm6, p->v6[i].net.v6, p->v6[i].depth, 1);
		if (rc < 0)
			goto add_failed;
	}
	return 0;
add_failed:
	fail(err, errlen, "allow list: cannot add a network: %s",
	     strerror(-rc));
	return rc;
}

int smtp_admit_build(const char *const *entries, size_t n, uint32_t id,
		     int socket, struct smtp_admit **out, char *err,
		     size_t errlen)
{
	struct parsed p;
	struct smtp_admit *a = NULL;
	int rc = parse_all(entries, n, &p, err, errlen);

	if (rc == 0) {
		a = rte_zmalloc_socket("sl_admit", sizeof(*a), 0, socket);
		if (a == NULL) {
			fail(err, errlen, "allow list: out of memory");
			rc = -ENOMEM;
		}
	}
	if (rc == 0)
		rc = create_tables(a, &p, id, socket, err, errlen);
	if (rc == 0)
		rc = fill_tables(a, &p, err, errlen);
	free(p.v4);
	free(p.v6);
	if (rc != 0) {
		smtp_admit_free(a);
		return rc;
	}
	*out = a;
	return 0;
}

void smtp_admit_free(struct smtp_admit *a)
{
	if (a == NULL)
		return;
	rte_lpm_free(a->lpm4);
	rte_lpm6_free(a->lpm6);
	rte_free(a);
}

static bool is_mapped(const uint8_t *v6)
{
	return memcmp(v6, MAPPED_PREFIX, sizeof(MAPPED_PREFIX)) == 0;
}

static uint32_t mapped_v4(const uint8_t *v6)
{
	return (uint32_t)v6[12] << 24 | (uint32_t)v6[13] << 16 |
	       (uint32_t)v6[14] << 8 | v6[15];
}

static bool lookup4(const struct smtp_admit *a, uint32_t v4)
{
	uint32_t hop;

	if (a->all4)
		return true;
	return a->lpm4 != NULL && rte_lpm_lookup(a->lpm4, v4, &hop) == 0;
}

enum smtp_admit_result smtp_admit_lookup(const struct smtp_admit *a,
					 const struct smtp_ip *addr)
{
	uint32_t hop;
	bool ok;

	if (addr->family == AF_INET)
		ok = lookup4(a, addr->v4);
	else if (addr->family != AF_INET6)
		ok = false;
	else if (is_mapped(addr->v6))
		ok = lookup4(a, mapped_v4(addr->v6));
	else
		ok = a->all6 || (a->lpm6 != NULL &&
				 rte_lpm6_lookup(a->lpm6, addr->v6, &hop) == 0);
	return ok ? SMTP_ADMIT_ALLOWED : SMTP_ADMIT_UNKNOWN;
}

enum smtp_admit_verdict smtp_admit_decide(const struct smtp_admit_policy *p,
					  enum smtp_admit_result r)
{
	if (r == SMTP_ADMIT_ALLOWED)
		return SMTP_ADMIT_GREET;
	if (p->auth_admits_unknown)
		return SMTP_ADMIT_GREET_AUTH;
	return p->unknown == SMTP_UNKNOWN_DROP ? SMTP_ADMIT_CLOSE_SILENTLY
					     : SMTP_ADMIT_REFUSE;
}

int smtp_admit_reply(const struct smtp_admit_policy *p,
		     const struct smtp_ip *addr, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN] = "unknown";
	const char *code = p->unknown == SMTP_UNKNOWN_REJECT ? "554 5.7.1"
							   : "451 4.7.1";
	int n;

	if (p->unknown == SMTP_UNKNOWN_DROP)
		return 0;
	if (addr->family == AF_INET6 && !is_mapped(addr->v6)) {
		inet_ntop(AF_INET6, addr->v6, host, sizeof(host));
	} else if (addr->family == AF_INET || addr->family == AF_INET6) {
		uint32_t be = htonl(addr->family == AF_INET ? addr->v4
							    : mapped_v4(addr->v6));

		inet_ntop(AF_INET, &be, host, sizeof(host));
	}
	n = snprintf(buf, len,
		     "%s Client host %s is not authorized to relay through "
		     "this gateway\r\n", code, host);
	return n < 0 || (size_t)n >= len ? -ENOSPC : n;
}
