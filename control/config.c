/*
 * config: reading sluiced's configuration (libconfig syntax) and checking
 * every key of it into a struct conf — see config.h.  Owns the whole
 * grammar of the file: which keys exist, their types, defaults and ranges,
 * and the rules between ports (unique names and devices, disjoint
 * networks, a port address that is a usable unicast host, a gateway on
 * the port's own network).  Keeps no state between calls; every failure
 * is reported as one "FILE:LINE: KEY: message" line.
 *
 * Before libconfig sees the text a small scan rejects what libconfig 1.5
 * would accept silently or unsafely: integer literals that do not fit
 * their type (libconfig wraps them modulo 2^32) and @include (a config is
 * one file, and every error names that file).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libconfig.h>

#include "control/config.h"
#include "control/config_impl.h"

#define CONF_MAX_FILE_BYTES (1u << 20) /* a real config is a few hundred */
#define CONF_KEY_LEN        128
#define CONF_SHOW_LEN       48 /* bytes of an offending value we echo */
#define CONF_SYNTAX         "(syntax)"
#define CONF_FILE           "(file)"


/* ---- error reporting ----------------------------------------------------- */

__attribute__((format(printf, 5, 0)))
static int report(const struct loader *ld, unsigned line, const char *key,
		  int rc, const char *fmt, va_list ap)
{
	char msg[CONF_ERR_LEN];

	if (ld->err == NULL || ld->errlen == 0)
		return rc;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	snprintf(ld->err, ld->errlen, "%s:%u: %s: %s", ld->name, line, key, msg);
	return rc;
}

/* An error not tied to a setting: a syntax or file error. */
__attribute__((format(printf, 5, 6)))
static int fail_plain(const struct loader *ld, unsigned line, const char *key,
		      int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rc = report(ld, line, key, rc, fmt, ap);
	va_end(ap);
	return rc;
}

/* The dotted path of S: "arp.timeout", "ports.[1].address". */
static void setting_path(const config_setting_t *s, char *buf, size_t len)
{
	const config_setting_t *parent = config_setting_parent(s);
	const char *name = config_setting_name(s);
	size_t n;

	buf[0] = '\0';
	if (parent == NULL)
		return;
	setting_path(parent, buf, len);
	n = strlen(buf);
	if (n > 0 && n + 1 < len)
		buf[n++] = '.';
	if (name != NULL)
		snprintf(buf + n, len - n, "%s", name);
	else
		snprintf(buf + n, len - n, "[%d]", config_setting_index(s));
}

/* An error in the value of setting S, with -EINVAL. */
__attribute__((format(printf, 3, 4)))
int conf_fail_at(const struct loader *ld, const config_setting_t *s,
		   const char *fmt, ...)
{
	char key[CONF_KEY_LEN];
	va_list ap;
	int rc;

	setting_path(s, key, sizeof(key));
	va_start(ap, fmt);
	rc = report(ld, config_setting_source_line(s), key, -EINVAL, fmt, ap);
	va_end(ap);
	return rc;
}

/* A required key NAME absent from GROUP: reported at the group's line. */
static int fail_missing(const struct loader *ld, const config_setting_t *group,
			const char *name)
{
	char key[CONF_KEY_LEN];
	unsigned line = 1;
	size_t n;

	setting_path(group, key, sizeof(key));
	n = strlen(key);
	snprintf(key + n, sizeof(key) - n, "%s%s", n ? "." : "", name);
	if (!config_setting_is_root(group))
		line = config_setting_source_line(group);
	return fail_plain(ld, line, key, -EINVAL, "missing required key");
}

/* A user-supplied string fit to echo: at most CONF_SHOW_LEN bytes, with
 * anything unprintable as '?'. */
static const char *show(const char *s, char buf[CONF_SHOW_LEN + 4])
{
	size_t i;

	for (i = 0; s[i] != '\0' && i < CONF_SHOW_LEN; i++)
		buf[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	buf[i] = '\0';
	if (s[i] != '\0')
		strcpy(buf + i, "...");
	return buf;
}

static const char *type_name(const config_setting_t *s)
{
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_GROUP:
		return "a group";
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		return "an integer";
	case CONFIG_TYPE_FLOAT:
		return "a float";
	case CONFIG_TYPE_STRING:
		return "a string";
	case CONFIG_TYPE_BOOL:
		return "a boolean";
	case CONFIG_TYPE_ARRAY:
		return "an array";
	case CONFIG_TYPE_LIST:
		return "a list";
	default:
		return "nothing";
	}
}

/* ---- lexical checks libconfig does not make ------------------------------ */

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int hex_value(char c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool is_name_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '*';
}

static bool is_name_char(char c)
{
	return is_name_start(c) || is_digit(c) || c == '-' || c == '_';
}

/* Past a string body (P just after the opening quote), counting lines. */
static const char *skip_string(const char *p, unsigned *line)
{
	while (*p != '\0' && *p != '"') {
		if (*p == '\\' && p[1] != '\0')
			p++;
		if (*p == '\n')
			(*line)++;
		p++;
	}
	return *p == '"' ? p + 1 : p;
}

/* Past a block comment body (P just after the opening slash-star). */
static const char *skip_block_comment(const char *p, unsigned *line)
{
	while (*p != '\0' && !(p[0] == '*' && p[1] == '/')) {
		if (*p == '\n')
			(*line)++;
		p++;
	}
	return *p != '\0' ? p + 2 : p;
}

/* Past the fraction and exponent of a float whose integer digits are
 * already behind P. */
static const char *skip_float_tail(const char *p)
{
	if (*p == '.')
		for (p++; is_digit(*p); p++)
			;
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		while (is_digit(*p))
			p++;
	}
	return p;
}

/* Past an "L" or "LL" suffix; *wide says whether there was one. */
static const char *skip_long_suffix(const char *p, bool *wide)
{
	*wide = *p == 'L';
	if (*p == 'L')
		p++;
	if (*p == 'L')
		p++;
	return p;
}

/* Past a hex literal's digits (P after "0x"); false when it does not fit
 * in 32 bits, or 64 with the L suffix. */
static bool scan_hex(const char **pp)
{
	unsigned long long v = 0;
	bool overflow = false, wide;
	const char *p = *pp;

	for (; hex_value(*p) >= 0; p++) {
		if (v >> 60)
			overflow = true;
		v = (v << 4) | (unsigned)hex_value(*p);
	}
	*pp = skip_long_suffix(p, &wide);
	return !overflow && (wide || v <= 0xffffffffull);
}

/* Past a decimal number at *PP (sign included); false when it is an
 * integer that does not fit in int, or in long long with the L suffix. */
static bool scan_decimal(const char **pp)
{
	unsigned long long v = 0, limit;
	bool overflow = false, neg = false, wide;
	const char *p = *pp;

	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	for (; is_digit(*p); p++) {
		if (v > (~0ull - 9) / 10)
			overflow = true;
		v = v * 10 + (unsigned)(*p - '0');
	}
	if (*p == '.' || *p == 'e' || *p == 'E') {
		*pp = skip_float_tail(p);
		return true;
	}
	*pp = skip_long_suffix(p, &wide);
	limit = wide ? (1ull << 63) - 1 : (1ull << 31) - 1;
	return !overflow && v <= limit + neg;
}

static bool starts_number(const char *p)
{
	if (*p == '+' || *p == '-')
		p++;
	return is_digit(*p) || (*p == '.' && is_digit(p[1]));
}

/* Check the number at *PP and step past it. */
static int check_number(const struct loader *ld, const char **pp, unsigned line)
{
	const char *start = *pp;
	bool ok;
	int len;

	if (start[0] == '0' && (start[1] == 'x' || start[1] == 'X') &&
	    hex_value(start[2]) >= 0) {
		*pp = start + 2;
		ok = scan_hex(pp);
	} else {
		ok = scan_decimal(pp);
	}
	if (ok)
		return 0;
	len = *pp - start < CONF_SHOW_LEN ? (int)(*pp - start) : CONF_SHOW_LEN;
	return fail_plain(ld, line, CONF_SYNTAX, -EINVAL,
			  "integer %.*s is out of range", len, start);
}

/* Walk TEXT the way libconfig's scanner does, skipping comments, strings
 * and names, and check what lies between. */
static int lex_check(const struct loader *ld, const char *p)
{
	unsigned line = 1;
	int rc;

	while (*p != '\0') {
		if (*p == '\n') {
			line++;
			p++;
		} else if (*p == '#' || (p[0] == '/' && p[1] == '/')) {
			p += strcspn(p, "\n");
		} else if (p[0] == '/' && p[1] == '*') {
			p = skip_block_comment(p + 2, &line);
		} else if (*p == '"') {
			p = skip_string(p + 1, &line);
		} else if (strncmp(p, "@include", 8) == 0) {
			return fail_plain(ld, line, CONF_SYNTAX, -EINVAL,
					  "@include is not supported");
		} else if (is_name_start(*p)) {
			while (is_name_char(*p))
				p++;
		} else if (starts_number(p)) {
			if ((rc = check_number(ld, &p, line)) < 0)
				return rc;
		} else {
			p++;
		}
	}
	return 0;
}

/* ---- typed access to settings -------------------------------------------- */

/* "a, b, c" from the NULL-terminated KNOWN. */
static void join_keys(const char *const *known, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (const char *const *k = known; *k != NULL && used < len; k++) {
		int n = snprintf(buf + used, len - used, "%s%s",
				 k == known ? "" : ", ", *k);

		used += n > 0 ? (size_t)n : 0;
	}
}

static bool is_known(const char *name, const char *const *known)
{
	for (const char *const *k = known; name != NULL && *k != NULL; k++)
		if (strcmp(name, *k) == 0)
			return true;
	return false;
}

/* Fails on the first member of GROUP whose name is not in KNOWN. */
int conf_check_keys(const struct loader *ld, const config_setting_t *group,
		      const char *const *known)
{
	int n = config_setting_length(group);

	for (int i = 0; i < n; i++) {
		const config_setting_t *s = config_setting_get_elem(group, (unsigned)i);
		char list[CONF_KEY_LEN * 2];

		if (is_known(config_setting_name(s), known))
			continue;
		join_keys(known, list, sizeof(list));
		return conf_fail_at(ld, s, "unknown key (expected one of: %s)", list);
	}
	return 0;
}

/* *OUT = member NAME of GROUP; an error when REQUIRED and absent, else
 * NULL when absent. */
int conf_get_member(const struct loader *ld, const config_setting_t *group,
		      const char *name, bool required, const config_setting_t **out)
{
	*out = config_setting_get_member(group, name);
	if (*out == NULL && required)
		return fail_missing(ld, group, name);
	return 0;
}

int conf_need_type(const struct loader *ld, const config_setting_t *s,
		     int type, const char *what)
{
	if (config_setting_type(s) == type)
		return 0;
	return conf_fail_at(ld, s, "expected %s, got %s", what, type_name(s));
}

/* Optional integer NAME of GROUP (DFLT when absent, or when GROUP is
 * NULL) in LO..HI; *WHERE is the setting, or NULL when absent. */
int conf_get_uint(const struct loader *ld, const config_setting_t *group,
		    const char *name, uint32_t lo, uint32_t hi, uint32_t dflt,
		    uint32_t *out, const config_setting_t **where)
{
	const config_setting_t *s =
		group ? config_setting_get_member(group, name) : NULL;
	long long v;

	*out = dflt;
	if (where != NULL)
		*where = s;
	if (s == NULL)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_INT &&
	    config_setting_type(s) != CONFIG_TYPE_INT64)
		return conf_fail_at(ld, s, "expected an integer, got %s", type_name(s));
	v = config_setting_get_int64(s);
	if (v < (long long)lo || v > (long long)hi)
		return conf_fail_at(ld, s, "must be %u..%u, got %lld", lo, hi, v);
	*out = (uint32_t)v;
	return 0;
}

/* String NAME of GROUP, non-empty and shorter than SIZE bytes; *OUT stays
 * NULL when it is optional and absent. */
int conf_get_string(const struct loader *ld, const config_setting_t *group,
		      const char *name, bool required, size_t size,
		      const char **out, const config_setting_t **where)
{
	const config_setting_t *s;
	int rc;

	*out = NULL;
	if ((rc = conf_get_member(ld, group, name, required, &s)) < 0 || s == NULL)
		return rc;
	if ((rc = conf_need_type(ld, s, CONFIG_TYPE_STRING, "a string")) < 0)
		return rc;
	*out = config_setting_get_string(s);
	if (**out == '\0')
		return conf_fail_at(ld, s, "must not be empty");
	if (strlen(*out) >= size)
		return conf_fail_at(ld, s, "longer than %zu bytes", size - 1);
	if (where != NULL)
		*where = s;
	return 0;
}

/* Optional group NAME of GROUP holding only KNOWN keys; NULL when absent. */
int conf_get_group(const struct loader *ld, const config_setting_t *group,
		     const char *name, bool required, const char *const *known,
		     const config_setting_t **out)
{
	int rc;

	if ((rc = conf_get_member(ld, group, name, required, out)) < 0 || *out == NULL)
		return rc;
	if ((rc = conf_need_type(ld, *out, CONFIG_TYPE_GROUP, "a group")) < 0)
		return rc;
	return conf_check_keys(ld, *out, known);
}

/* ---- addresses ----------------------------------------------------------- */

static uint32_t prefix_mask(unsigned prefix)
{
	return prefix == 0 ? 0 : ~0u << (32 - prefix);
}

static void format_ipv4(uint32_t addr, char buf[INET_ADDRSTRLEN])
{
	uint32_t be = htonl(addr);

	if (inet_ntop(AF_INET, &be, buf, INET_ADDRSTRLEN) == NULL)
		strcpy(buf, "?");
}

int conf_parse_ipv4(const char *s, uint32_t *addr)
{
	struct in_addr in;

	if (s == NULL || strlen(s) >= INET_ADDRSTRLEN ||
	    inet_pton(AF_INET, s, &in) != 1)
		return -EINVAL;
	*addr = ntohl(in.s_addr);
	return 0;
}

/* "a.b.c.d/len" with len 0..32, no leading zeros in len. */
static int parse_cidr_any(const char *s, uint32_t *addr, uint8_t *prefix)
{
	char ip[INET_ADDRSTRLEN];
	const char *slash = s ? strchr(s, '/') : NULL;
	const char *len;
	size_t n;

	if (slash == NULL || (size_t)(slash - s) >= sizeof(ip))
		return -EINVAL;
	len = slash + 1;
	n = strlen(len);
	if (n < 1 || n > 2 || !is_digit(len[0]) || (n == 2 && !is_digit(len[1])) ||
	    (n == 2 && len[0] == '0'))
		return -EINVAL;
	if (atoi(len) > 32)
		return -EINVAL;
	memcpy(ip, s, (size_t)(slash - s));
	ip[slash - s] = '\0';
	if (conf_parse_ipv4(ip, addr) < 0)
		return -EINVAL;
	*prefix = (uint8_t)atoi(len);
	return 0;
}

int conf_parse_cidr(const char *s, uint32_t *addr, uint8_t *prefix)
{
	uint32_t a;
	uint8_t p;

	if (parse_cidr_any(s, &a, &p) < 0 || p == 0)
		return -EINVAL;
	*addr = a;
	*prefix = p;
	return 0;
}

/* Not 0/8, loopback, multicast or reserved. */
static bool is_unicast(uint32_t addr)
{
	unsigned first = addr >> 24;

	return first != 0 && first != 127 && first < 224;
}

/* The all-zeros or all-ones host of a network with room for both. */
static bool is_net_or_bcast(uint32_t addr, unsigned prefix)
{
	uint32_t host = addr & ~prefix_mask(prefix);

	return prefix <= 30 && (host == 0 || host == ~prefix_mask(prefix));
}

/* ---- sections ------------------------------------------------------------ */

static int add_eal_arg(const struct loader *ld, const config_setting_t *s,
		       struct conf *out, const char *arg)
{
	char *copy = strdup(arg);

	if (copy == NULL)
		return fail_plain(ld, config_setting_source_line(s), "eal", -ENOMEM,
				  "out of memory");
	out->eal_argv[out->eal_argc++] = copy;
	return 0;
}

static int load_eal(const struct loader *ld, const config_setting_t *root,
		    struct conf *out)
{
	const config_setting_t *eal;
	int rc, n;

	if ((rc = conf_get_member(ld, root, "eal", true, &eal)) < 0)
		return rc;
	if (!config_setting_is_list(eal) && !config_setting_is_array(eal))
		return conf_fail_at(ld, eal, "expected a list of strings, got %s",
			       type_name(eal));
	n = config_setting_length(eal);
	if (n > CONF_MAX_EAL_ARGS - 1)
		return conf_fail_at(ld, eal, "at most %d arguments, got %d",
			       CONF_MAX_EAL_ARGS - 1, n);
	if ((rc = add_eal_arg(ld, eal, out, "sluiced")) < 0)
		return rc;
	for (int i = 0; i < n; i++) {
		const config_setting_t *a = config_setting_get_elem(eal, (unsigned)i);

		if ((rc = conf_need_type(ld, a, CONFIG_TYPE_STRING, "a string")) < 0)
			return rc;
		if (config_setting_get_string(a)[0] == '\0')
			return conf_fail_at(ld, a, "must not be empty");
		if ((rc = add_eal_arg(ld, a, out, config_setting_get_string(a))) < 0)
			return rc;
	}
	return 0;
}

static int load_control(const struct loader *ld, const config_setting_t *root,
			struct conf *out)
{
	static const char *const keys[] = {"socket", "track_log", "track_log_mb",
					   "track_log_keep", "track_index", "http", NULL};
	struct conf_track *t = &out->track;
	const struct conf_uint_key k[] = {
		{"track_log_mb", 1, 65536, 64, &t->log_mb},
		{"track_log_keep", 1, 99, 5, &t->keep},
		{"track_index", 1, 4000000, 100000, &t->index},
	};
	const config_setting_t *g;
	const char *path;
	int rc;

	if ((rc = conf_get_group(ld, root, "control", true, keys, &g)) < 0 ||
	    (rc = conf_get_uints(ld, g, k, sizeof(k) / sizeof(k[0]))) < 0)
		return rc;
	if ((rc = conf_get_string(ld, g, "socket", true, sizeof(out->ctl_socket),
				  &path, NULL)) < 0)
		return rc;
	strcpy(out->ctl_socket, path);
	if ((rc = conf_get_string(ld, g, "track_log", false, sizeof(t->log),
				  &path, NULL)) < 0)
		return rc;
	if (path != NULL)
		strcpy(t->log, path);
	return conf_load_http(ld, g, out);
}

static int load_worker(const struct loader *ld, const config_setting_t *root,
		       struct conf *out)
{
	static const char *const keys[] = {"idle_sleep_us", NULL};
	const config_setting_t *g;
	int rc;

	if ((rc = conf_get_group(ld, root, "worker", false, keys, &g)) < 0)
		return rc;
	return conf_get_uint(ld, g, "idle_sleep_us", 0, 100000, 0, &out->idle_sleep_us,
			NULL);
}

int conf_get_uints(const struct loader *ld, const config_setting_t *g,
		     const struct conf_uint_key *k, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int rc = conf_get_uint(ld, g, k[i].name, k[i].lo, k[i].hi, k[i].dflt,
				  k[i].dst, NULL);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int load_arp(const struct loader *ld, const config_setting_t *root,
		    struct conf *out)
{
	static const char *const keys[] = {"timeout", "retry_ms", "retries",
					   "pending", "entries", NULL};
	const struct conf_uint_key k[] = {
		{"timeout", 1, 86400, 300, &out->arp_timeout_s},
		{"retry_ms", 10, 60000, 1000, &out->arp_retry_ms},
		{"retries", 1, 20, 3, &out->arp_retries},
		{"pending", 1, 1024, 16, &out->arp_pending_max},
		{"entries", 16, 1048576, 1024, &out->arp_entries_max},
	};
	const config_setting_t *g;
	int rc;

	if ((rc = conf_get_group(ld, root, "arp", false, keys, &g)) < 0)
		return rc;
	return conf_get_uints(ld, g, k, sizeof(k) / sizeof(k[0]));
}

/* Optional boolean NAME of GROUP (false when absent). */
int conf_get_bool(const struct loader *ld, const config_setting_t *group,
		    const char *name, bool *out)
{
	const config_setting_t *s =
		group ? config_setting_get_member(group, name) : NULL;
	int rc;

	*out = false;
	if (s == NULL)
		return 0;
	if ((rc = conf_need_type(ld, s, CONFIG_TYPE_BOOL, "true or false")) < 0)
		return rc;
	*out = config_setting_get_bool(s) != 0;
	return 0;
}

/* ---- ports --------------------------------------------------------------- */

/* The settings of one port, for errors about it after it is parsed. */
struct port_src {
	const config_setting_t *name, *device, *address;
};

static bool valid_port_name(const char *s)
{
	for (; *s != '\0'; s++)
		if (!is_digit(*s) && !((*s | 0x20) >= 'a' && (*s | 0x20) <= 'z') &&
		    *s != '_' && *s != '-')
			return false;
	return true;
}

/* "DDDD:BB:DD.F", N bytes long (the part before any devargs). */
static bool is_pci_address(const char *s, size_t n)
{
	static const char shape[] = "xxxx:xx:xx.x";

	if (n != sizeof(shape) - 1)
		return false;
	for (size_t i = 0; i < n; i++)
		if (shape[i] == 'x' ? hex_value(s[i]) < 0 : s[i] != shape[i])
			return false;
	return hex_value(s[8]) * 16 + hex_value(s[9]) <= 0x1f && hex_value(s[11]) <= 7;
}

/* "net_<driver><n>", N bytes long. */
static bool is_vdev_name(const char *s, size_t n)
{
	if (n <= 4 || strncmp(s, "net_", 4) != 0)
		return false;
	for (size_t i = 4; i < n; i++)
		if (!is_name_char(s[i]) || s[i] == '-' || s[i] == '*')
			return false;
	return true;
}

static bool valid_device(const char *s)
{
	size_t n = strcspn(s, ",");

	for (const char *c = s; *c != '\0'; c++)
		if (*c <= 0x20 || *c >= 0x7f)
			return false;
	return is_pci_address(s, n) || is_vdev_name(s, n);
}

static int load_port_name(const struct loader *ld, const config_setting_t *g,
			  struct conf_port *p, struct port_src *src)
{
	const char *name;
	int rc;

	if ((rc = conf_get_string(ld, g, "name", true, sizeof(p->name), &name,
			     &src->name)) < 0)
		return rc;
	if (!valid_port_name(name))
		return conf_fail_at(ld, src->name, "may hold only letters, digits, '_' and '-'");
	strcpy(p->name, name);
	return 0;
}

static int load_port_device(const struct loader *ld, const config_setting_t *g,
			    struct conf_port *p, struct port_src *src)
{
	char buf[CONF_SHOW_LEN + 4];
	const char *dev;
	int rc;

	if ((rc = conf_get_string(ld, g, "device", true, sizeof(p->device), &dev,
			     &src->device)) < 0)
		return rc;
	if (!valid_device(dev))
		return conf_fail_at(ld, src->device,
			       "expected a PCI address (0000:03:00.0) or a vdev "
			       "(net_...), got \"%s\"", show(dev, buf));
	strcpy(p->device, dev);
	return 0;
}

static int load_port_address(const struct loader *ld, const config_setting_t *g,
			     struct conf_port *p, struct port_src *src)
{
	char buf[CONF_SHOW_LEN + 4];
	const char *text;
	int rc;

	if ((rc = conf_get_string(ld, g, "address", true, CONF_ANY_LEN, &text,
			     &src->address)) < 0)
		return rc;
	if (parse_cidr_any(text, &p->addr, &p->prefix) < 0)
		return conf_fail_at(ld, src->address, "expected \"a.b.c.d/len\", got \"%s\"",
			       show(text, buf));
	if (p->prefix == 0)
		return conf_fail_at(ld, src->address, "prefix length must be 1..32, got /0");
	if (!is_unicast(p->addr))
		return conf_fail_at(ld, src->address, "%s is not a unicast host address", text);
	if (is_net_or_bcast(p->addr, p->prefix))
		return conf_fail_at(ld, src->address,
			       "%s is the network or broadcast address, not a host",
			       text);
	return 0;
}

static int load_port_gateway(const struct loader *ld, const config_setting_t *g,
			     struct conf_port *p)
{
	char buf[CONF_SHOW_LEN + 4], net[INET_ADDRSTRLEN];
	const config_setting_t *s;
	const char *text;
	uint32_t gw;
	int rc;

	p->gateway = 0;
	if ((rc = conf_get_string(ld, g, "gateway", false, CONF_ANY_LEN, &text, &s)) < 0 ||
	    text == NULL)
		return rc;
	if (conf_parse_ipv4(text, &gw) < 0)
		return conf_fail_at(ld, s, "expected \"a.b.c.d\", got \"%s\"", show(text, buf));
	format_ipv4(p->addr & prefix_mask(p->prefix), net);
	if ((gw ^ p->addr) & prefix_mask(p->prefix))
		return conf_fail_at(ld, s, "%s is outside the port's network %s/%u", text,
			       net, p->prefix);
	if (gw == p->addr)
		return conf_fail_at(ld, s, "%s is the port's own address", text);
	if (is_net_or_bcast(gw, p->prefix))
		return conf_fail_at(ld, s, "%s is the network or broadcast address of %s/%u",
			       text, net, p->prefix);
	p->gateway = gw;
	return 0;
}

static int load_port_rings(const struct loader *ld, const config_setting_t *g,
			   struct conf_port *p)
{
	static const char *const keys[] = {"rx_desc", "tx_desc"};
	uint16_t *dst[] = {&p->rx_desc, &p->tx_desc};

	for (int i = 0; i < 2; i++) {
		const config_setting_t *s;
		uint32_t v;
		int rc = conf_get_uint(ld, g, keys[i], 64, 4096, 1024, &v, &s);

		if (rc < 0)
			return rc;
		if (v & (v - 1))
			return conf_fail_at(ld, s, "must be a power of two, got %u", v);
		*dst[i] = (uint16_t)v;
	}
	return 0;
}

/* "impair": the spec of drivers/impair.h, for lab runs against real peers. */
static int load_port_impair(const struct loader *ld, const config_setting_t *g,
			    struct conf_port *p)
{
	char err[CONF_ERR_LEN / 2];
	const config_setting_t *s;
	const char *spec;
	int rc;

	if ((rc = conf_get_string(ld, g, "impair", false, CONF_ANY_LEN, &spec, &s)) < 0 ||
	    spec == NULL)
		return rc;
	if (impair_parse(spec, &p->impair, err, sizeof(err)) < 0)
		return conf_fail_at(ld, s, "%s", err);
	p->impaired = true;
	return 0;
}

static bool same_device(const char *a, const char *b)
{
	size_t n = strcspn(a, ",");

	return n == strcspn(b, ",") && strncasecmp(a, b, n) == 0;
}

static bool networks_overlap(const struct conf_port *a, const struct conf_port *b)
{
	unsigned shorter = a->prefix < b->prefix ? a->prefix : b->prefix;

	return ((a->addr ^ b->addr) & prefix_mask(shorter)) == 0;
}

/* Port I against every port before it. */
static int check_port_pairs(const struct loader *ld, const struct conf *c,
			    unsigned i, const struct port_src *src)
{
	const struct conf_port *p = &c->ports[i];
	char net[INET_ADDRSTRLEN], other[INET_ADDRSTRLEN];

	for (unsigned j = 0; j < i; j++) {
		const struct conf_port *q = &c->ports[j];

		if (strcmp(p->name, q->name) == 0)
			return conf_fail_at(ld, src->name, "duplicate port name \"%s\" "
				       "(also ports.[%u])", p->name, j);
		if (same_device(p->device, q->device))
			return conf_fail_at(ld, src->device, "device already used by "
				       "ports.[%u] (\"%s\")", j, q->name);
		if (networks_overlap(p, q)) {
			format_ipv4(p->addr & prefix_mask(p->prefix), net);
			format_ipv4(q->addr & prefix_mask(q->prefix), other);
			return conf_fail_at(ld, src->address, "network %s/%u overlaps "
				       "%s/%u of ports.[%u] (\"%s\")", net, p->prefix,
				       other, q->prefix, j, q->name);
		}
	}
	return 0;
}

static int load_port(const struct loader *ld, const config_setting_t *g,
		     struct conf *c, unsigned i)
{
	static const char *const keys[] = {"name", "device", "address", "gateway",
					   "rx_desc", "tx_desc", "impair", NULL};
	struct conf_port *p = &c->ports[i];
	struct port_src src = {0};
	int rc;

	if ((rc = conf_need_type(ld, g, CONFIG_TYPE_GROUP, "a group")) < 0 ||
	    (rc = conf_check_keys(ld, g, keys)) < 0 ||
	    (rc = load_port_name(ld, g, p, &src)) < 0 ||
	    (rc = load_port_device(ld, g, p, &src)) < 0 ||
	    (rc = load_port_address(ld, g, p, &src)) < 0 ||
	    (rc = load_port_gateway(ld, g, p)) < 0 ||
	    (rc = load_port_rings(ld, g, p)) < 0 ||
	    (rc = load_port_impair(ld, g, p)) < 0)
		return rc;
	return check_port_pairs(ld, c, i, &src);
}

static int load_ports(const struct loader *ld, const config_setting_t *root,
		      struct conf *out)
{
	const config_setting_t *ports;
	int rc, n;

	if ((rc = conf_get_member(ld, root, "ports", true, &ports)) < 0 ||
	    (rc = conf_need_type(ld, ports, CONFIG_TYPE_LIST, "a list of groups")) < 0)
		return rc;
	n = config_setting_length(ports);
	if (n < 1 || n > CONF_MAX_PORTS)
		return conf_fail_at(ld, ports, "must hold 1..%d ports, got %d",
			       CONF_MAX_PORTS, n);
	for (int i = 0; i < n; i++) {
		rc = load_port(ld, config_setting_get_elem(ports, (unsigned)i), out,
			       (unsigned)i);
		if (rc < 0)
			return rc;
		out->nb_ports++;
	}
	return 0;
}

/* ---- the whole file ------------------------------------------------------ */

static int load_root(const struct loader *ld, const config_setting_t *root,
		     struct conf *out)
{
	static const char *const keys[] = {"eal", "control", "worker", "ports",
					   "arp", "mbufs", "tcp", "diag", "smtp", "spool",
					   "queue", "relay",
					   NULL};
	int rc;

	if ((rc = conf_check_keys(ld, root, keys)) < 0 ||
	    (rc = load_eal(ld, root, out)) < 0 ||
	    (rc = load_control(ld, root, out)) < 0 ||
	    (rc = load_worker(ld, root, out)) < 0 ||
	    (rc = load_ports(ld, root, out)) < 0 ||
	    (rc = load_arp(ld, root, out)) < 0 ||
	    (rc = conf_load_tcp(ld, root, out)) < 0 ||
	    (rc = conf_load_diag(ld, root, out)) < 0 ||
	    (rc = conf_load_smtp(ld, root, out)) < 0 ||
	    (rc = conf_load_spool(ld, root, out)) < 0 ||
	    (rc = conf_load_queue(ld, root, out)) < 0 ||
	    (rc = conf_load_relay(ld, root, out)) < 0)
		return rc;
	return conf_get_uint(ld, root, "mbufs", 1023, 1048575, 8191, &out->mbufs, NULL);
}

static int load_text(const struct loader *ld, const char *text, struct conf *out)
{
	config_t cfg;
	int rc;

	if (strlen(ld->name) >= sizeof(out->path))
		return fail_plain(ld, 0, CONF_FILE, -ENAMETOOLONG, "%s",
				  strerror(ENAMETOOLONG));
	strcpy(out->path, ld->name);
	if ((rc = lex_check(ld, text)) < 0)
		return rc;
	config_init(&cfg);
	if (config_read_string(&cfg, text) != CONFIG_TRUE) {
		const char *why = config_error_text(&cfg);

		rc = fail_plain(ld, (unsigned)config_error_line(&cfg), CONF_SYNTAX,
				-EINVAL, "%s", why ? why : "cannot parse");
	} else {
		rc = load_root(ld, config_root_setting(&cfg), out);
	}
	config_destroy(&cfg);
	return rc;
}

/* Runs load_text and leaves *OUT zeroed on failure. */
static int load(const struct loader *ld, const char *text, struct conf *out)
{
	int rc;

	memset(out, 0, sizeof(*out));
	out->tcp = (struct tcp_stack_conf)TCP_STACK_CONF_DEFAULT;
	if (ld->err != NULL && ld->errlen > 0)
		ld->err[0] = '\0';
	rc = load_text(ld, text, out);
	if (rc < 0) {
		conf_free(out);
		memset(out, 0, sizeof(*out));
	}
	return rc;
}

int conf_load_string(const char *text, const char *name, struct conf *out,
		     char *err, size_t errlen)
{
	struct loader ld = {.name = name ? name : "(string)", .err = err,
			    .errlen = errlen};

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (text == NULL || out == NULL)
		return fail_plain(&ld, 0, CONF_FILE, -EINVAL, "no text");
	return load(&ld, text, out);
}

/* The whole of file PATH, NUL-terminated, into *TEXT. */
static int read_file(const struct loader *ld, const char *path, char **text)
{
	FILE *f = fopen(path, "re");
	size_t len = 0, got;
	char *buf;
	int rc = 0;

	*text = NULL;
	if (f == NULL)
		return fail_plain(ld, 0, CONF_FILE, -errno, "%s", strerror(errno));
	if ((buf = malloc(CONF_MAX_FILE_BYTES + 1)) == NULL) {
		fclose(f);
		return fail_plain(ld, 0, CONF_FILE, -ENOMEM, "%s", strerror(ENOMEM));
	}
	while ((got = fread(buf + len, 1, CONF_MAX_FILE_BYTES + 1 - len, f)) > 0)
		len += got;
	if (ferror(f))
		rc = fail_plain(ld, 0, CONF_FILE, errno ? -errno : -EIO, "%s",
				strerror(errno ? errno : EIO));
	else if (len > CONF_MAX_FILE_BYTES)
		rc = fail_plain(ld, 0, CONF_FILE, -EFBIG, "larger than %u bytes",
				CONF_MAX_FILE_BYTES);
	fclose(f);
	if (rc < 0) {
		free(buf);
		return rc;
	}
	buf[len] = '\0';
	*text = buf;
	return (int)len;
}

/* A NUL byte would end the text libconfig sees: refuse it. */
static int check_no_nul(const struct loader *ld, const char *text, size_t len)
{
	const char *nul = memchr(text, '\0', len);
	unsigned line = 1;

	if (nul == NULL)
		return 0;
	for (const char *p = text; p < nul; p++)
		line += *p == '\n';
	return fail_plain(ld, line, CONF_SYNTAX, -EINVAL, "NUL byte in the file");
}

int conf_load(const char *path, struct conf *out, char *err, size_t errlen)
{
	struct loader ld = {.name = path ? path : "(null)", .err = err,
			    .errlen = errlen};
	char *text;
	int rc;

	if (out == NULL || path == NULL)
		return fail_plain(&ld, 0, CONF_FILE, -EINVAL, "no file");
	memset(out, 0, sizeof(*out));
	if ((rc = read_file(&ld, path, &text)) < 0)
		return rc;
	if ((rc = check_no_nul(&ld, text, (size_t)rc)) == 0)
		rc = load(&ld, text, out);
	if (rc == 0)
		out->text = text;
	else
		free(text);
	return rc;
}

void conf_free(struct conf *c)
{
	if (c == NULL)
		return;
	for (int i = 0; i < c->eal_argc && i < CONF_MAX_EAL_ARGS; i++) {
		free(c->eal_argv[i]);
		c->eal_argv[i] = NULL;
	}
	c->eal_argc = 0;
	free(c->text);
	c->text = NULL;
}
