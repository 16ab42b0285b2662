/*
 * test_relay_dns: the smart hosts' names without a network — DNS answers
 * built byte by byte (A records with their TTLs, a CNAME chain, no
 * answer, garbage) through relay_dns_parse(); when a name is asked again
 * (TTL, its bounds, the retry after a failure that keeps the old
 * addresses) through relay_dns_update(); and the addresses the workers
 * read (relay_addrs_set/get); and a reload's new smart hosts taking over
 * the addresses already resolved (relay_dns_repoint).
 */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "control/relay_dns.h"

#define SEC 1000000ull

struct msg {
	uint8_t b[512];
	int n;
};

static void put8(struct msg *m, unsigned v) { m->b[m->n++] = (uint8_t)v; }
static void put16(struct msg *m, unsigned v) { put8(m, v >> 8); put8(m, v & 0xff); }
static void put32(struct msg *m, uint32_t v) { put16(m, v >> 16); put16(m, v & 0xffff); }

static void put_name(struct msg *m, const char *name)
{
	while (*name != '\0') {
		size_t len = strcspn(name, ".");

		put8(m, (unsigned)len);
		memcpy(m->b + m->n, name, len);
		m->n += (int)len;
		name += len + (name[len] == '.');
	}
	put8(m, 0);
}

/* A response to "smart.lab.test A" with ANCOUNT answers to follow. */
static void header(struct msg *m, unsigned rcode, unsigned ancount)
{
	m->n = 0;
	put16(m, 0x1234);
	put16(m, 0x8180 | rcode);
	put16(m, 1);
	put16(m, ancount);
	put16(m, 0);
	put16(m, 0);
	put_name(m, "smart.lab.test");
	put16(m, 1);          /* A */
	put16(m, 1);          /* IN */
}

/* An A record; OWNER is a compression pointer. */
static void answer_a(struct msg *m, unsigned owner, uint32_t ttl, uint32_t addr)
{
	put16(m, 0xc000 | owner);
	put16(m, 1);
	put16(m, 1);
	put32(m, ttl);
	put16(m, 4);
	put32(m, addr);
}

static void test_parse(void)
{
	struct msg m;
	uint32_t a[RELAY_ADDRS_MAX], ttl;
	int cname_at;

	/* two A records: both addresses, the shorter TTL */
	header(&m, 0, 2);
	answer_a(&m, 12, 300, 0xC6120102);
	answer_a(&m, 12, 7, 0xC6120103);
	CU_ASSERT_EQUAL(relay_dns_parse(m.b, m.n, a, RELAY_ADDRS_MAX, &ttl), 2);
	CU_ASSERT_EQUAL(a[0], 0xC6120102);
	CU_ASSERT_EQUAL(a[1], 0xC6120103);
	CU_ASSERT_EQUAL(ttl, 7);

	/* at most MAX of them */
	CU_ASSERT_EQUAL(relay_dns_parse(m.b, m.n, a, 1, &ttl), 1);
	CU_ASSERT_EQUAL(a[0], 0xC6120102);

	/* a CNAME, then the A record of its target */
	header(&m, 0, 2);
	put16(&m, 0xc00c);
	put16(&m, 5);         /* CNAME */
	put16(&m, 1);
	put32(&m, 60);
	put16(&m, 15);
	cname_at = m.n;
	put_name(&m, "real.lab.test");
	answer_a(&m, (unsigned)cname_at, 30, 0x0A000001);
	CU_ASSERT_EQUAL(relay_dns_parse(m.b, m.n, a, RELAY_ADDRS_MAX, &ttl), 1);
	CU_ASSERT_EQUAL(a[0], 0x0A000001);
	CU_ASSERT_EQUAL(ttl, 30);

	/* no answer (NOERROR, nothing), NXDOMAIN */
	header(&m, 0, 0);
	CU_ASSERT_EQUAL(relay_dns_parse(m.b, m.n, a, RELAY_ADDRS_MAX, &ttl), -ENODATA);
	header(&m, 3, 0);
	CU_ASSERT(relay_dns_parse(m.b, m.n, a, RELAY_ADDRS_MAX, &ttl) < 0);

	/* cut short inside the answer, and garbage */
	header(&m, 0, 1);
	answer_a(&m, 12, 60, 0x0A000001);
	CU_ASSERT_EQUAL(relay_dns_parse(m.b, m.n - 3, a, RELAY_ADDRS_MAX, &ttl), -EBADMSG);
	CU_ASSERT_EQUAL(relay_dns_parse((const uint8_t *)"\x12\x34", 2, a,
					RELAY_ADDRS_MAX, &ttl), -EBADMSG);
}

static void test_schedule(void)
{
	struct relay_dns_host h = {.named = true, .busy = true};
	uint32_t one[] = {0x0A000002, 0x0A000001}, same[] = {0x0A000001, 0x0A000002};
	uint32_t other[] = {0x0A000003};

	/* first answer: sorted, asked again when the TTL runs out */
	CU_ASSERT_TRUE(relay_dns_update(&h, one, 2, 30, 100 * SEC));
	CU_ASSERT_FALSE(h.busy);
	CU_ASSERT_TRUE(h.answered);
	CU_ASSERT_EQUAL(h.n, 2);
	CU_ASSERT_EQUAL(h.a[0], 0x0A000001);
	CU_ASSERT_EQUAL(h.due_us, 130 * SEC);
	/* the same set in another order is no change */
	CU_ASSERT_FALSE(relay_dns_update(&h, same, 2, 30, 130 * SEC));
	CU_ASSERT_EQUAL(h.due_us, 160 * SEC);
	/* a failure keeps the addresses and retries sooner */
	CU_ASSERT_FALSE(relay_dns_update(&h, NULL, -EIO, 0, 160 * SEC));
	CU_ASSERT_EQUAL(h.n, 2);
	CU_ASSERT_EQUAL(h.due_us, 160 * SEC + RELAY_DNS_RETRY_S * SEC);
	CU_ASSERT_EQUAL(h.failed, 1);
	/* a new address; TTL 0 counts as the minimum, a huge one as the maximum */
	CU_ASSERT_TRUE(relay_dns_update(&h, other, 1, 0, 200 * SEC));
	CU_ASSERT_EQUAL(h.n, 1);
	CU_ASSERT_EQUAL(h.a[0], 0x0A000003);
	CU_ASSERT_EQUAL(h.due_us, 200 * SEC + RELAY_DNS_TTL_MIN * SEC);
	CU_ASSERT_FALSE(relay_dns_update(&h, other, 1, 0x7fffffff, 300 * SEC));
	CU_ASSERT_EQUAL(h.due_us, 300 * SEC + RELAY_DNS_TTL_MAX * SEC);
	CU_ASSERT_EQUAL(h.ok, 4);
}

static void test_addrs(void)
{
	struct relay_shared sh = {0};
	uint32_t two[] = {0x0A000001, 0x0A000002}, addr = 0;

	CU_ASSERT_EQUAL_FATAL(relay_addrs_new(&sh), 0);
	CU_ASSERT_EQUAL(relay_addrs_get(&sh, 3, 0, &addr), -EHOSTUNREACH);
	relay_addrs_set(&sh, 3, two, 2);
	CU_ASSERT_EQUAL(relay_addrs_get(&sh, 3, 0, &addr), 0);
	CU_ASSERT_EQUAL(addr, 0x0A000001);
	CU_ASSERT_EQUAL(relay_addrs_get(&sh, 3, 5, &addr), 0);
	CU_ASSERT_EQUAL(addr, 0x0A000002);
	CU_ASSERT_EQUAL(relay_addrs_get(&sh, 2, 0, &addr), -EHOSTUNREACH);
	relay_addrs_set(&sh, 3, NULL, 0);
	CU_ASSERT_EQUAL(relay_addrs_get(&sh, 3, 0, &addr), -EHOSTUNREACH);
	relay_addrs_free(&sh);
}

static void named_host(struct conf_relay *c, unsigned i, const char *name,
		       const char *host)
{
	snprintf(c->hosts[i].name, sizeof(c->hosts[i].name), "%s", name);
	snprintf(c->hosts[i].host, sizeof(c->hosts[i].host), "%s", host);
	c->hosts[i].named = true;
}

/* A reload reorders the hosts and adds one: the known name keeps its
 * addresses at its new index at once; the new name has none yet. */
static void test_repoint(void)
{
	static struct conf_relay oc, nc;
	struct relay_shared osh = {.conf = &oc}, nsh = {.conf = &nc};
	struct relay_dns d;
	uint32_t two[] = {0xC6120102, 0xC6120103}, addr = 0;
	char err[256];

	memset(&oc, 0, sizeof(oc));
	memset(&nc, 0, sizeof(nc));
	/* a resolver that never answers: nothing here may wait for one */
	snprintf(oc.resolver, sizeof(oc.resolver), "127.0.0.1:9");
	snprintf(nc.resolver, sizeof(nc.resolver), "127.0.0.1:9");
	named_host(&oc, 0, "smart", "smart.lab.test");
	oc.nb_hosts = 1;
	named_host(&nc, 0, "other", "other.lab.test");
	named_host(&nc, 1, "smart", "smart.lab.test");
	nc.nb_hosts = 2;
	CU_ASSERT_EQUAL_FATAL(relay_addrs_new(&osh), 0);
	CU_ASSERT_EQUAL_FATAL(relay_addrs_new(&nsh), 0);
	CU_ASSERT_EQUAL_FATAL(relay_dns_open(&d, &osh, err, sizeof(err)), 0);
	CU_ASSERT_TRUE(d.host[0].busy);
	relay_dns_update(&d.host[0], two, 2, 60, 0);
	relay_addrs_set(&osh, 0, d.host[0].a, d.host[0].n);

	relay_dns_repoint(&d, &nsh);
	CU_ASSERT_PTR_EQUAL(d.sh, &nsh);
	CU_ASSERT_EQUAL(relay_addrs_get(&nsh, 1, 1, &addr), 0);
	CU_ASSERT_EQUAL(addr, 0xC6120103);
	CU_ASSERT_EQUAL(d.host[1].n, 2);
	CU_ASSERT_EQUAL(d.host[1].ok, 1);
	CU_ASSERT_TRUE(d.host[1].busy);       /* asked again all the same */
	CU_ASSERT_EQUAL(relay_addrs_get(&nsh, 0, 0, &addr), -EHOSTUNREACH);
	CU_ASSERT_TRUE(d.host[0].busy);
	relay_dns_close(&d);
	relay_addrs_free(&osh);
	relay_addrs_free(&nsh);
}

void test_relay_dns_register(void)
{
	CU_pSuite s = CU_add_suite("relay_dns", NULL, NULL);

	if (s == NULL)
		return;
	CU_add_test(s, "DNS answers: addresses and the shortest TTL", test_parse);
	CU_add_test(s, "when a name is asked again", test_schedule);
	CU_add_test(s, "the addresses workers read", test_addrs);
	CU_add_test(s, "a reload's hosts keep the resolved addresses", test_repoint);
}
