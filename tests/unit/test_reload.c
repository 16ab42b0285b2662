/*
 * test_reload: configuration snapshots and reloads — the allow-list file
 * (parsing with FILE:LINE errors, the durable writer), the diff that tells
 * reloadable changes from restart-only ones, building a snapshot (its
 * admission table and a failure that leaves nothing behind), publishing
 * with rte_rcu_qsbr (a replaced snapshot lives while a worker has not been
 * quiescent or a session holds it), and reload_config()/reload_allow()
 * against files on disk.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "control/allow_file.h"
#include "control/config_diff.h"
#include "control/reload.h"
#include "control/snapshot.h"
#include "tests/unit/suites.h"
#include "tests/unit/test_ip.h"

static char entries[CONF_ALLOW_MAX][CONF_CIDR_LEN];
static char dir[64];

/* A fresh temporary directory in DIR. */
static void make_dir(void)
{
	snprintf(dir, sizeof(dir), "/tmp/sl-unit-reload.XXXXXX");
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
}

static void remove_dir(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[512];

	while (d != NULL && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	if (d != NULL)
		closedir(d);
	rmdir(dir);
}

static unsigned files_in_dir(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	unsigned n = 0;

	while (d != NULL && (e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	if (d != NULL)
		closedir(d);
	return n;
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(text, f);
	fclose(f);
}

static char *read_text(const char *path)
{
	static char buf[8192];
	FILE *f = fopen(path, "r");
	size_t n;

	if (f == NULL)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* ---- the allow file ------------------------------------------------------- */

static int parse(const char *text, unsigned *n, char *err, size_t errlen)
{
	return allow_file_parse(text, strlen(text), "allow.list", entries,
				CONF_ALLOW_MAX, n, err, errlen);
}

static void test_allow_parse(void)
{
	char err[256] = "";
	unsigned n = 99;

	CU_ASSERT_EQUAL(parse("", &n, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_EQUAL(parse("# only a comment\n\n   \n", &n, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_EQUAL(parse("10.0.0.0/8\n  198.18.0.3  # a host\r\n2001:DB8::/32\n"
			      "192.0.2.1", &n, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL_FATAL(n, 4);
	CU_ASSERT_STRING_EQUAL(entries[0], "10.0.0.0/8");
	CU_ASSERT_STRING_EQUAL(entries[1], "198.18.0.3/32");
	CU_ASSERT_STRING_EQUAL(entries[2], "2001:db8::/32");
	CU_ASSERT_STRING_EQUAL(entries[3], "192.0.2.1/32");
}

static void test_allow_parse_errors(void)
{
	char err[256] = "";
	unsigned n;

	CU_ASSERT_EQUAL(parse("10.0.0.0/8\n\n10.1.2.3/8\n", &n, err, sizeof(err)), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "allow.list:3: smtp.allow_file: allow entry "
			       "\"10.1.2.3/8\": host bits set (network is 10.0.0.0/8)");
	CU_ASSERT_EQUAL(parse("# x\n10.0.0.1 10.0.0.2\n", &n, err, sizeof(err)), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "allow.list:2: smtp.allow_file: one network per line");
	CU_ASSERT_EQUAL(allow_file_parse("10.0.0.1\n1\0.2\n", 14, "a", entries,
					 CONF_ALLOW_MAX, &n, err, sizeof(err)), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "a:2: smtp.allow_file: NUL byte");
	CU_ASSERT_EQUAL(allow_file_parse("10.0.0.1\n10.0.0.2\n", 18, "a", entries, 1, &n,
					 err, sizeof(err)), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "a:2: smtp.allow_file: at most 1 entries");
}

static void test_allow_write(void)
{
	static const char want[] =
		"# Sluice allow list: client networks admitted besides smtp.allow.\n"
		"# Written by sluiced (sluicectl allow add/remove); one per line.\n"
		"10.0.0.0/8\n198.18.0.3/32\n";
	const char list[2][CONF_CIDR_LEN] = {"10.0.0.0/8", "198.18.0.3/32"};
	char path[128], err[256] = "";
	struct stat st;
	unsigned n;

	make_dir();
	snprintf(path, sizeof(path), "%s/allow.list", dir);
	CU_ASSERT_EQUAL(allow_file_read(path, entries, CONF_ALLOW_MAX, &n, err,
					sizeof(err)), 0);
	CU_ASSERT_EQUAL(n, 0);                  /* missing: an empty list */
	CU_ASSERT_EQUAL(allow_file_write(path, list, 2, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(read_text(path), want);
	CU_ASSERT_EQUAL(files_in_dir(), 1);     /* no temporary file left */
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0644);
	CU_ASSERT_EQUAL(allow_file_read(path, entries, CONF_ALLOW_MAX, &n, err,
					sizeof(err)), 0);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT_STRING_EQUAL(entries[1], "198.18.0.3/32");
	CU_ASSERT_EQUAL(allow_file_write(path, list, 0, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(allow_file_read(path, entries, CONF_ALLOW_MAX, &n, err,
					sizeof(err)), 0);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_EQUAL(allow_file_read("/dev/null", entries, CONF_ALLOW_MAX, &n, err,
					sizeof(err)), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "/dev/null: smtp.allow_file: not a regular file");
	snprintf(path, sizeof(path), "%s/nodir/allow.list", dir);
	CU_ASSERT_EQUAL(allow_file_write(path, list, 2, err, sizeof(err)), -ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "cannot create"));
	CU_ASSERT_EQUAL(files_in_dir(), 1);
	remove_dir();
}

/* ---- the diff ------------------------------------------------------------------ */

#define BASE_EAL "eal = [\"--no-huge\", \"-l\", \"0-1\"];\n" \
	"control = { socket = \"/tmp/sl-unit-reload.sock\"; };\n"
#define BASE_PORT "ports = ({ name = \"in\"; device = \"net_null0\"; address = \"10.1.0.1/24\"; });\n"
#define BASE_SMTP(host, allow, extra) \
	"smtp = { port = 25; hostname = \"" host "\"; allow = [" allow "]; " extra " };\n" \
	"spool = { dir = \"/tmp/sl-unit-reload-spool\"; };\n"

static struct conf A, B;

static void load2(const char *a, const char *b)
{
	char err[CONF_ERR_LEN];

	CU_ASSERT_EQUAL_FATAL(conf_load_string(a, "a.conf", &A, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL_FATAL(conf_load_string(b, "b.conf", &B, err, sizeof(err)), 0);
}

static void free2(void)
{
	conf_free(&A);
	conf_free(&B);
}

static void test_diff(void)
{
	const char *base = BASE_EAL BASE_PORT BASE_SMTP("a.lab", "\"10.0.0.0/8\"", "");
	struct conf_change ch[CONF_CHANGES_MAX];
	char keys[256];

	load2(base, base);
	CU_ASSERT_EQUAL(conf_diff(&A, &B, ch, CONF_CHANGES_MAX), 0);
	free2();

	load2(base, BASE_EAL BASE_PORT BASE_SMTP("b.lab", "\"10.0.0.0/8\", \"::1\"",
						 "max_rcpt = 200; unknown = \"reject\";"));
	CU_ASSERT_EQUAL_FATAL(conf_diff(&A, &B, ch, CONF_CHANGES_MAX), 4);
	CU_ASSERT_EQUAL(conf_changes_join(ch, 4, true, keys, sizeof(keys)), 0);
	CU_ASSERT_STRING_EQUAL(keys, "");
	CU_ASSERT_EQUAL(conf_changes_join(ch, 4, false, keys, sizeof(keys)), 4);
	CU_ASSERT_STRING_EQUAL(keys, "smtp.hostname, smtp.allow, smtp.unknown, smtp limits");
	free2();

	load2(base, "eal = [\"--no-huge\", \"-l\", \"0-2\"];\n"
		    "control = { socket = \"/tmp/sl-unit-reload.sock\"; };\n"
		    "ports = ({ name = \"in\"; device = \"net_null0\"; address = \"10.1.0.2/24\"; });\n"
		    "tcp = { mss = 1400; };\n"
		    BASE_SMTP("b.lab", "\"10.0.0.0/8\"", "sessions = 10;"));
	CU_ASSERT_EQUAL_FATAL(conf_diff(&A, &B, ch, CONF_CHANGES_MAX), 5);
	CU_ASSERT_EQUAL(conf_changes_join(ch, 5, true, keys, sizeof(keys)), 4);
	CU_ASSERT_STRING_EQUAL(keys, "eal, ports, tcp, smtp.port/sessions");
	CU_ASSERT_EQUAL(conf_changes_join(ch, 5, false, keys, sizeof(keys)), 1);
	CU_ASSERT_STRING_EQUAL(keys, "smtp.hostname");
	CU_ASSERT_EQUAL(conf_diff(&A, &B, ch, 2), 2);   /* bounded */
	free2();
}

/* ---- snapshots ------------------------------------------------------------------ */

static void test_snap_build(void)
{
	const char *text = BASE_EAL BASE_PORT BASE_SMTP("a.lab", "\"10.0.0.0/8\"", "");
	struct smtp_ip ip;
	struct snap *s;
	char err[CONF_ERR_LEN] = "";

	CU_ASSERT_EQUAL_FATAL(conf_load_string(text, "a.conf", &A, err, sizeof(err)), 0);
	snprintf(A.smtp.allow_file_entries[0], CONF_CIDR_LEN, "198.18.0.3/32");
	A.smtp.nb_allow_file = 1;
	CU_ASSERT_EQUAL_FATAL(snap_build(&A, 7, NULL, &s, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(s->version, 7);
	CU_ASSERT_EQUAL(s->refs, 0);
	CU_ASSERT_PTR_NOT_EQUAL(s->conf.eal_argv[0], A.eal_argv[0]);  /* a deep copy */
	CU_ASSERT_STRING_EQUAL(s->conf.eal_argv[2], "-l");
	CU_ASSERT_STRING_EQUAL(s->smtp.server.hostname, "a.lab");
	CU_ASSERT_PTR_EQUAL(s->smtp.conf, &s->conf);
	CU_ASSERT_PTR_NULL(s->smtp.tls);
	ip = test_ip_v4("10.9.9.9");
	CU_ASSERT_EQUAL(smtp_admit_lookup(s->smtp.allow, &ip), SMTP_ADMIT_ALLOWED);
	ip = test_ip_v4("198.18.0.3");
	CU_ASSERT_EQUAL(smtp_admit_lookup(s->smtp.allow, &ip), SMTP_ADMIT_ALLOWED);
	ip = test_ip_v4("198.18.0.2");
	CU_ASSERT_EQUAL(smtp_admit_lookup(s->smtp.allow, &ip), SMTP_ADMIT_UNKNOWN);
	snap_free(s);

	snprintf(A.smtp.tls_cert, sizeof(A.smtp.tls_cert), "/nonexistent/cert.pem");
	snprintf(A.smtp.tls_key, sizeof(A.smtp.tls_key), "/nonexistent/key.pem");
	CU_ASSERT_EQUAL(snap_build(&A, 8, NULL, &s, err, sizeof(err)) < 0, 1);
	CU_ASSERT_PTR_NULL(s);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "/nonexistent/cert.pem"));
	conf_free(&A);
}

static struct snap *make_snap(uint64_t version)
{
	const char *text = BASE_EAL BASE_PORT BASE_SMTP("a.lab", "", "");
	struct snap *s = NULL;
	char err[CONF_ERR_LEN];

	CU_ASSERT_EQUAL_FATAL(conf_load_string(text, "a.conf", &A, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(snap_build(&A, version, NULL, &s, err, sizeof(err)), 0);
	conf_free(&A);
	return s;
}

/* Worker 0 is this thread; worker 1 stays offline (offline is quiescent). */
static void test_snap_publish(void)
{
	struct snap_pub p;
	struct snap *one = make_snap(1), *two = make_snap(2), *three = make_snap(3);
	struct snap *held;

	CU_ASSERT_EQUAL_FATAL(snap_pub_init(&p, 2, one), 0);
	snap_worker_online(&p, 0);
	held = snap_hold(snap_current(&p));       /* a session accepted under 1 */
	CU_ASSERT_PTR_EQUAL(held, one);
	snap_publish(&p, two);
	CU_ASSERT_PTR_EQUAL(snap_current(&p), two);
	CU_ASSERT_EQUAL(snap_reclaim(&p), 1);     /* worker 0 not quiescent yet */
	CU_ASSERT_FALSE(one->grace);
	snap_worker_quiescent(&p, 0);
	CU_ASSERT_EQUAL(snap_reclaim(&p), 1);     /* grace passed, still held */
	CU_ASSERT_TRUE(one->grace);
	snap_publish(&p, three);                  /* two retires unheld */
	snap_worker_quiescent(&p, 0);
	CU_ASSERT_EQUAL(snap_reclaim(&p), 1);     /* two freed, one still held */
	CU_ASSERT_PTR_EQUAL(p.retired, one);
	snap_release(held);
	CU_ASSERT_EQUAL(snap_reclaim(&p), 0);
	CU_ASSERT_PTR_NULL(p.retired);
	snap_worker_offline(&p, 0);
	snap_pub_fini(&p);
}

/* ---- reload_config and reload_allow on files -------------------------------------------- */

static void write_conf(const char *path, const char *smtp)
{
	char text[2048];

	snprintf(text, sizeof(text), BASE_EAL BASE_PORT "%s"
		 "spool = { dir = \"/tmp/sl-unit-reload-spool\"; };\n", smtp);
	write_text(path, text);
}

static void test_reload_files(void)
{
	char conf_path[128], allow_path[128], smtp[512], msg[CONF_ERR_LEN];
	struct snap_pub p;
	struct reload r;
	struct snap *first;
	char err[CONF_ERR_LEN];
	FILE *log = tmpfile();

	make_dir();
	snprintf(conf_path, sizeof(conf_path), "%s/sluice.conf", dir);
	snprintf(allow_path, sizeof(allow_path), "%s/allow.list", dir);
	snprintf(smtp, sizeof(smtp), "smtp = { port = 25; allow = [\"10.0.0.0/8\"]; "
		 "allow_file = \"%s\"; };\n", allow_path);
	write_conf(conf_path, smtp);
	CU_ASSERT_EQUAL_FATAL(conf_load(conf_path, &A, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL_FATAL(snap_build(&A, 1, NULL, &first, err, sizeof(err)), 0);
	conf_free(&A);
	CU_ASSERT_EQUAL_FATAL(snap_pub_init(&p, 1, first), 0);
	r = (struct reload){.path = conf_path, .pub = &p, .log = log};

	CU_ASSERT_EQUAL(reload_allow(&r, true, "198.18.0.3", "tester", msg, sizeof(msg)), 0);
	CU_ASSERT_STRING_EQUAL(msg, "added 198.18.0.3/32 to: version 1 -> 2");
	CU_ASSERT_PTR_NOT_NULL(strstr(read_text(allow_path), "\n198.18.0.3/32\n"));
	CU_ASSERT_EQUAL(snap_current(&p)->conf.smtp.nb_allow_file, 1);
	CU_ASSERT_EQUAL(reload_allow(&r, true, "198.18.0.3/32", "tester", msg, sizeof(msg)),
			-EEXIST);
	CU_ASSERT_EQUAL(reload_allow(&r, true, "10.0.0.0/8", "tester", msg, sizeof(msg)),
			-EEXIST);
	CU_ASSERT_EQUAL(reload_allow(&r, false, "10.0.0.0/8", "tester", msg, sizeof(msg)),
			-ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "edit the config and reload"));
	CU_ASSERT_EQUAL(reload_allow(&r, true, "10.1.2.3/8", "tester", msg, sizeof(msg)),
			-EINVAL);
	CU_ASSERT_EQUAL(snap_current(&p)->version, 2);
	snap_reclaim(&p);                          /* no worker online: freed */
	CU_ASSERT_EQUAL(reload_allow(&r, false, "198.18.0.3", "tester", msg, sizeof(msg)), 0);
	CU_ASSERT_PTR_NULL(strstr(read_text(allow_path), "198.18.0.3"));
	CU_ASSERT_EQUAL(snap_current(&p)->version, 3);
	snap_reclaim(&p);

	/* a reload that changes the hostname, one with an error, one that
	 * needs a restart */
	snprintf(smtp, sizeof(smtp), "smtp = { port = 25; hostname = \"new.lab\"; "
		 "allow = [\"10.0.0.0/8\"]; allow_file = \"%s\"; };\n", allow_path);
	write_conf(conf_path, smtp);
	CU_ASSERT_EQUAL(reload_config(&r, "tester", msg, sizeof(msg)), 0);
	CU_ASSERT_STRING_EQUAL(msg, "version 3 -> 4: changed: smtp.hostname");
	CU_ASSERT_STRING_EQUAL(snap_current(&p)->smtp.server.hostname, "new.lab");
	snap_reclaim(&p);
	write_conf(conf_path, "smtp = { port = 25;\n  max_rcpt = 5; };\n");
	CU_ASSERT_EQUAL(reload_config(&r, "tester", msg, sizeof(msg)), -EINVAL);
	snprintf(err, sizeof(err), "%s:5: smtp.max_rcpt: must be 100..1000, got 5", conf_path);
	CU_ASSERT_STRING_EQUAL(msg, err);
	write_conf(conf_path, "smtp = { port = 26; };\n");
	CU_ASSERT_EQUAL(reload_config(&r, "tester", msg, sizeof(msg)), -EPERM);
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "needs a restart: smtp.port/sessions"));
	CU_ASSERT_EQUAL(snap_current(&p)->version, 4);
	CU_ASSERT_STRING_EQUAL(snap_current(&p)->smtp.server.hostname, "new.lab");
	CU_ASSERT_EQUAL(r.reloads, 3);
	CU_ASSERT_EQUAL(r.refused, 6);
	CU_ASSERT_PTR_NOT_NULL(strstr(read_text(conf_path), "port = 26"));
	snap_pub_fini(&p);
	fclose(log);
	remove_dir();
}

void test_reload_register(void)
{
	static const struct {
		const char *name;
		CU_TestFunc fn;
	} tests[] = {
		{"allow file: entries, comments, canonical form", test_allow_parse},
		{"allow file: errors name file and line", test_allow_parse_errors},
		{"allow file: durable rewrite", test_allow_write},
		{"diff: reloadable and restart-only keys", test_diff},
		{"snapshot: built from a config, failure leaves nothing", test_snap_build},
		{"snapshot: freed after quiescence and the last reference", test_snap_publish},
		{"reload_config and reload_allow on files", test_reload_files},
	};
	CU_pSuite s = CU_add_suite("reload", NULL, NULL);

	if (s == NULL)
		return;
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		CU_add_test(s, tests[i].name, tests[i].fn);
}
