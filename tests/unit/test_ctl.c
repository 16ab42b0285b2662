/*
 * test_ctl: the control socket.  A ctl_ctx over a fake two-port conf and
 * two fake workers with known counters, listening in a mkdtemp directory.
 * Checks the "stats" object directly (sums over workers, every drop
 * reason), then drives real socket round trips in-process: a client
 * socket writes, ctl_poll() serves, the client reads what an operator's
 * tool would see.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <json-c/json.h>
#include <rte_dev.h>
#include <rte_ethdev.h>

#include "control/ctl.h"
#include "tests/unit/suites.h"

#define FAKE_PORT_ID 200 /* never a valid ethdev: no hw, no mac, link down */
#define POLL_ROUNDS  500 /* of 10 ms: how long a test waits for the server */

static struct {
	char dir[64];
	struct conf conf;
	struct worker_stats ws[2];
	struct relay_stats rs[2];
	struct relay_dns dns;
	struct ctl_ctx ctx;
} T;

/* ---- fixture ------------------------------------------------------------- */

static void fake_port(struct conf_port *p, const char *name, uint32_t addr,
		      uint32_t gateway)
{
	snprintf(p->name, sizeof(p->name), "%s", name);
	snprintf(p->device, sizeof(p->device), "net_fake_%s", name);
	p->addr = addr;
	p->prefix = 24;
	p->gateway = gateway;
}

static void fake_counters(void)
{
	struct stats_port *a = &T.ws[0].port[0], *b = &T.ws[1].port[0];

	STATS_SET(a->rx_pkts, 100);
	STATS_SET(a->rx_bytes, 6400);
	STATS_SET(a->tx_pkts, 10);
	STATS_SET(a->tx_bytes, 980);
	STATS_SET(a->drops[DROP_ETH_RUNT], 3);
	STATS_SET(b->rx_pkts, 50);
	STATS_SET(b->rx_bytes, 3200);
	STATS_SET(b->tx_pkts, 5);
	STATS_SET(b->tx_bytes, 490);
	STATS_SET(b->drops[DROP_ETH_RUNT], 4);
	STATS_SET(b->drops[DROP_IP_NOT_US], 5);
	STATS_SET(T.ws[1].port[1].rx_pkts, 7);
	STATS_SET(T.ws[0].polls, 1000);
	STATS_SET(T.ws[0].busy_polls, 250);
	STATS_SET(T.ws[0].arp_entries, 2);
	STATS_SET(T.ws[1].arp_pending, 1);
}

static int suite_init(void)
{
	memset(&T, 0, sizeof(T));
	snprintf(T.dir, sizeof(T.dir), "/tmp/sluice-ctl-XXXXXX");
	if (mkdtemp(T.dir) == NULL)
		return -1;
	/* A directory that does not exist yet: ctl_open creates it. */
	snprintf(T.conf.ctl_socket, sizeof(T.conf.ctl_socket), "%s/run/ctl.sock",
		 T.dir);
	T.conf.nb_ports = 2;
	fake_port(&T.conf.ports[0], "inside", 0xc6120001, 0);          /* 198.18.0.1 */
	fake_port(&T.conf.ports[1], "outside", 0xc6120101, 0xc61201fe); /* 198.18.1.1, gw .254 */
	fake_counters();
	T.ctx.conf = &T.conf;
	T.ctx.port_id[0] = FAKE_PORT_ID;
	T.ctx.port_id[1] = FAKE_PORT_ID + 1;
	T.ctx.nb_workers = 2;
	T.ctx.worker[0] = (struct ctl_worker){.lcore = 1, .stats = &T.ws[0]};
	T.ctx.worker[1] = (struct ctl_worker){.lcore = 2, .stats = &T.ws[1]};
	return ctl_open(&T.ctx) == 0 ? 0 : -1;
}

static int suite_cleanup(void)
{
	char run[96];

	ctl_close(&T.ctx);
	snprintf(run, sizeof(run), "%s/run", T.dir);
	rmdir(run);
	return rmdir(T.dir) == 0 ? 0 : -1;
}

/* ---- a client, driven in-process ---------------------------------------- */

struct client {
	int fd;
	size_t len;
	char buf[1 << 16];
};

static unsigned nb_clients(void)
{
	unsigned n = 0;

	for (unsigned i = 0; i < CTL_MAX_CLIENTS; i++)
		n += T.ctx.client[i] != NULL;
	return n;
}

static int connect_path(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    fcntl(fd, F_SETFL, O_NONBLOCK) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static struct client *client_open(void)
{
	struct client *c = calloc(1, sizeof(*c));

	CU_ASSERT_FATAL(c != NULL);
	c->fd = connect_path(T.conf.ctl_socket);
	CU_ASSERT_FATAL(c->fd >= 0);
	return c;
}

/* Let the server notice that every client has gone. */
static void drain_clients(void)
{
	for (int i = 0; i < POLL_ROUNDS && nb_clients() > 0; i++)
		ctl_poll(&T.ctx, 10);
	CU_ASSERT_EQUAL(nb_clients(), 0);
}

static void client_free(struct client *c)
{
	close(c->fd);
	free(c);
}

/* Close the only client and let the server notice. */
static void client_close(struct client *c)
{
	client_free(c);
	drain_clients();
}

static void client_write(struct client *c, const char *data, size_t len)
{
	for (int i = 0; i < POLL_ROUNDS && len > 0; i++) {
		ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL);

		if (n > 0) {
			data += n;
			len -= (size_t)n;
		} else {
			CU_ASSERT_FATAL(errno == EAGAIN || errno == EWOULDBLOCK);
			ctl_poll(&T.ctx, 10);
		}
	}
	CU_ASSERT_EQUAL(len, 0);
}

static void client_say(struct client *c, const char *text)
{
	client_write(c, text, strlen(text));
}

/* The next response line, parsed; NULL if none came or it did not parse. */
static struct json_object *client_response(struct client *c)
{
	for (int i = 0; i < POLL_ROUNDS; i++) {
		char *nl = memchr(c->buf, '\n', c->len);

		if (nl != NULL) {
			struct json_object *obj;
			size_t used = (size_t)(nl - c->buf) + 1;

			*nl = '\0';
			obj = json_tokener_parse(c->buf);
			memmove(c->buf, c->buf + used, c->len - used);
			c->len -= used;
			return obj;
		}
		ssize_t n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);

		if (n > 0)
			c->len += (size_t)n;
		else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
			return NULL;
		else
			ctl_poll(&T.ctx, 10);
	}
	return NULL;
}

/* True when the server hung up with nothing more to say. */
static bool client_hung_up(struct client *c)
{
	for (int i = 0; i < POLL_ROUNDS; i++) {
		char b;
		ssize_t n = recv(c->fd, &b, 1, 0);

		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return c->len == 0;
		if (n > 0)
			return false;
		ctl_poll(&T.ctx, 10);
	}
	return false;
}

/* ---- JSON helpers ------------------------------------------------------------ */

static struct json_object *jget(struct json_object *obj, const char *key)
{
	struct json_object *val = NULL;

	json_object_object_get_ex(obj, key, &val);
	return val;
}

static uint64_t ju64(struct json_object *obj, const char *key)
{
	return json_object_get_uint64(jget(obj, key));
}

static const char *jstr(struct json_object *obj, const char *key)
{
	struct json_object *val = jget(obj, key);

	return json_object_is_type(val, json_type_string) ?
	       json_object_get_string(val) : "";
}

static struct json_object *jidx(struct json_object *arr, size_t i)
{
	if (!json_object_is_type(arr, json_type_array) ||
	    i >= json_object_array_length(arr))
		return NULL;
	return json_object_array_get_idx(arr, i);
}

static bool response_ok(struct json_object *resp)
{
	return json_object_get_boolean(jget(resp, "ok")) &&
	       json_object_is_type(jget(resp, "result"), json_type_object);
}

/* Send REQ on a new connection and return the response. */
static struct json_object *ask(const char *req)
{
	struct client *c = client_open();
	struct json_object *resp;

	client_say(c, req);
	resp = client_response(c);
	client_close(c);
	return resp;
}

/* ---- the stats object ------------------------------------------------------ */

static void test_stats_sums_workers(void)
{
	struct json_object *st = ctl_stats_json(&T.ctx);
	struct json_object *in = jidx(jget(st, "ports"), 0);
	struct json_object *out = jidx(jget(st, "ports"), 1);
	struct json_object *drops = jget(in, "drops");

	CU_ASSERT_FATAL(in != NULL && out != NULL);
	CU_ASSERT_STRING_EQUAL(jstr(in, "name"), "inside");
	CU_ASSERT_EQUAL(ju64(in, "port_id"), FAKE_PORT_ID);
	CU_ASSERT_STRING_EQUAL(jstr(in, "device"), "net_fake_inside");
	CU_ASSERT_EQUAL(ju64(in, "rx_pkts"), 150);
	CU_ASSERT_EQUAL(ju64(in, "rx_bytes"), 9600);
	CU_ASSERT_EQUAL(ju64(in, "tx_pkts"), 15);
	CU_ASSERT_EQUAL(ju64(in, "tx_bytes"), 1470);
	CU_ASSERT_EQUAL(ju64(in, "drops_total"), 12);
	CU_ASSERT_EQUAL(ju64(drops, "eth_runt"), 7);
	CU_ASSERT_EQUAL(ju64(drops, "ip_not_us"), 5);
	CU_ASSERT_EQUAL(ju64(out, "rx_pkts"), 7);
	CU_ASSERT_EQUAL(ju64(out, "drops_total"), 0);
	json_object_put(st);
}

static void test_stats_lists_every_reason(void)
{
	struct json_object *st = ctl_stats_json(&T.ctx);

	for (size_t p = 0; p < 2; p++) {
		struct json_object *drops = jget(jidx(jget(st, "ports"), p), "drops");

		CU_ASSERT_FATAL(json_object_is_type(drops, json_type_object));
		CU_ASSERT_EQUAL(json_object_object_length(drops), DROP__COUNT);
		for (unsigned r = 0; r < DROP__COUNT; r++)
			CU_ASSERT_TRUE(json_object_object_get_ex(drops,
						stats_drop_name[r], NULL));
	}
	json_object_put(st);
}

static void test_stats_port_config(void)
{
	struct json_object *st = ctl_stats_json(&T.ctx);
	struct json_object *in = jidx(jget(st, "ports"), 0);
	struct json_object *out = jidx(jget(st, "ports"), 1);
	struct json_object *val = NULL;

	CU_ASSERT_STRING_EQUAL(jstr(in, "address"), "198.18.0.1/24");
	/* present, and JSON null */
	CU_ASSERT_TRUE(json_object_object_get_ex(in, "gateway", &val));
	CU_ASSERT_PTR_NULL(val);
	CU_ASSERT_STRING_EQUAL(jstr(out, "address"), "198.18.1.1/24");
	CU_ASSERT_STRING_EQUAL(jstr(out, "gateway"), "198.18.1.254");
	/* A port the ethdev layer does not know: reported, not an error. */
	val = out;
	CU_ASSERT_TRUE(json_object_object_get_ex(in, "mac", &val));
	CU_ASSERT_PTR_NULL(val);
	CU_ASSERT_TRUE(json_object_is_type(jget(in, "link_up"), json_type_boolean));
	CU_ASSERT_FALSE(json_object_get_boolean(jget(in, "link_up")));
	CU_ASSERT_PTR_NULL(jget(in, "hw"));
	json_object_put(st);
}

/* The relay's counters per worker and summed, each smart host's by name. */
static void test_stats_relay(void)
{
	struct json_object *st, *w1, *hosts;

	snprintf(T.conf.relay.hosts[0].name, CONF_RELAY_NAME_LEN, "primary");
	snprintf(T.conf.relay.hosts[1].name, CONF_RELAY_NAME_LEN, "backup");
	T.conf.relay.nb_hosts = 2;
	memset(T.rs, 0, sizeof(T.rs));
	T.rs[0] = (struct relay_stats){.attempts = 5, .sent = 4, .replies_2xx = 20,
				       .replies_5xx = 1, .tls_ok = 2, .unresolved = 3};
	T.rs[1] = (struct relay_stats){.attempts = 2, .deferred = 2, .replies_4xx = 2,
				       .tls_failed = 1, .dsn_sent = 1};
	T.rs[0].host[0] = (struct relay_host_stats){.attempts = 5, .conns = 2, .tls_ok = 2};
	T.rs[1].host[0] = (struct relay_host_stats){.attempts = 1, .tls_failed = 1};
	T.rs[1].host[1] = (struct relay_host_stats){.attempts = 1, .conn_fail = 1};
	T.ctx.worker[0].relay = &T.rs[0];
	T.ctx.worker[1].relay = &T.rs[1];
	T.dns.host[1] = (struct relay_dns_host){.named = true, .n = 2, .ttl = 30, .ok = 3,
						.failed = 1, .a = {0xC6120102, 0xC6120103}};
	T.ctx.dns = &T.dns;
	st = ctl_stats_json(&T.ctx);
	hosts = jget(jget(st, "relay"), "hosts");
	static const struct {
		const char *host, *key;     /* host NULL: the relay's own */
		uint64_t want;
	} sums[] = {
		{NULL, "attempts", 7}, {NULL, "sent", 4}, {NULL, "deferred", 2},
		{NULL, "replies_2xx", 20}, {NULL, "replies_4xx", 2},
		{NULL, "replies_5xx", 1}, {NULL, "tls_ok", 2}, {NULL, "tls_failed", 1},
		{NULL, "dsn_sent", 1}, {NULL, "unresolved", 3},
		{"primary", "attempts", 6}, {"primary", "conns", 2},
		{"primary", "tls_failed", 1}, {"backup", "conn_fail", 1},
		/* a host by name: what the control plane's resolver knows */
		{"backup", "lookups_ok", 3}, {"backup", "lookups_failed", 1},
		{"backup", "ttl_s", 30},
	};

	for (size_t i = 0; i < sizeof(sums) / sizeof(sums[0]); i++)
		CU_ASSERT_EQUAL(ju64(sums[i].host ? jget(hosts, sums[i].host)
						  : jget(st, "relay"), sums[i].key), sums[i].want);
	CU_ASSERT_EQUAL(json_object_object_length(hosts), 2);
	CU_ASSERT_STRING_EQUAL(json_object_get_string(jget(jget(hosts, "backup"), "addresses")),
			       "198.18.1.2 198.18.1.3");
	CU_ASSERT_PTR_NULL(jget(jget(hosts, "primary"), "addresses"));
	w1 = jidx(jget(st, "workers"), 1);
	CU_ASSERT_EQUAL(ju64(jget(w1, "relay"), "attempts"), 2);
	CU_ASSERT_EQUAL(ju64(jget(jget(jget(w1, "relay"), "hosts"), "primary"), "attempts"), 1);
	CU_ASSERT_PTR_NULL(jget(jget(jget(jget(w1, "relay"), "hosts"), "backup"), "addresses"));
	json_object_put(st);
	T.ctx.dns = NULL;
	T.ctx.worker[0].relay = T.ctx.worker[1].relay = NULL;
	T.conf.relay.nb_hosts = 0;
}

static void test_stats_workers(void)
{
	struct json_object *st = ctl_stats_json(&T.ctx);
	struct json_object *w0 = jidx(jget(st, "workers"), 0);
	struct json_object *w1 = jidx(jget(st, "workers"), 1);
	struct json_object *w0in = jidx(jget(w0, "ports"), 0);
	struct json_object *w0out = jidx(jget(w0, "ports"), 1);
	struct json_object *w1in = jidx(jget(w1, "ports"), 0);

	CU_ASSERT_EQUAL(json_object_array_length(jget(st, "workers")), 2);
	CU_ASSERT_EQUAL(ju64(w0, "lcore"), 1);
	CU_ASSERT_EQUAL(ju64(w1, "lcore"), 2);
	CU_ASSERT_EQUAL(ju64(w0, "polls"), 1000);
	CU_ASSERT_EQUAL(ju64(w0, "busy_polls"), 250);
	CU_ASSERT_EQUAL(ju64(w0, "arp_entries"), 2);
	CU_ASSERT_EQUAL(ju64(w1, "arp_pending"), 1);
	CU_ASSERT_STRING_EQUAL(jstr(w0in, "name"), "inside");
	CU_ASSERT_EQUAL(ju64(w0in, "rx_pkts"), 100);
	CU_ASSERT_EQUAL(ju64(w1in, "rx_pkts"), 50);
	CU_ASSERT_EQUAL(ju64(w1in, "drops_total"), 9);
	/* Per worker, only the reasons that happened. */
	CU_ASSERT_EQUAL(json_object_object_length(jget(w0in, "drops")), 1);
	CU_ASSERT_EQUAL(ju64(jget(w0in, "drops"), "eth_runt"), 3);
	CU_ASSERT_EQUAL(json_object_object_length(jget(w1in, "drops")), 2);
	CU_ASSERT_EQUAL(json_object_object_length(jget(w0out, "drops")), 0);
	json_object_put(st);
}

/* A real ethdev (net_null): "hw", a MAC and a link state appear. */
static void test_stats_real_port(void)
{
	static const char name[] = "net_null_ctltest";
	struct json_object *st, *in, *hw;
	uint16_t pid;
	const char *mac;

	CU_ASSERT_FATAL(rte_eal_hotplug_add("vdev", name, "") == 0);
	CU_ASSERT_FATAL(rte_eth_dev_get_port_by_name(name, &pid) == 0);
	T.ctx.port_id[0] = pid;
	st = ctl_stats_json(&T.ctx);
	T.ctx.port_id[0] = FAKE_PORT_ID;
	in = jidx(jget(st, "ports"), 0);
	hw = jget(in, "hw");
	mac = jstr(in, "mac");
	CU_ASSERT(json_object_is_type(hw, json_type_object));
	CU_ASSERT_EQUAL(ju64(hw, "ipackets"), 0);
	CU_ASSERT_PTR_NOT_NULL(jget(hw, "rx_nombuf"));
	CU_ASSERT_EQUAL(strlen(mac), 17);
	CU_ASSERT_EQUAL(strspn(mac, "0123456789abcdef:"), 17);
	CU_ASSERT(json_object_is_type(jget(in, "link_up"), json_type_boolean));
	json_object_put(st);
	CU_ASSERT_EQUAL(rte_eal_hotplug_remove("vdev", name), 0);
}

/* ---- the socket ------------------------------------------------------------- */

static void test_socket_created(void)
{
	char run[96];
	struct stat st;

	CU_ASSERT_FATAL(stat(T.conf.ctl_socket, &st) == 0);
	CU_ASSERT_TRUE(S_ISSOCK(st.st_mode));
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0660);
	snprintf(run, sizeof(run), "%s/run", T.dir);
	CU_ASSERT_FATAL(stat(run, &st) == 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0755);
}

static void test_stats_command(void)
{
	struct json_object *resp = ask("{\"cmd\":\"stats\"}\n");
	struct json_object *res = jget(resp, "result");

	CU_ASSERT_TRUE(response_ok(resp));
	CU_ASSERT_PTR_NOT_NULL(jget(res, "uptime_s"));
	CU_ASSERT_EQUAL(json_object_array_length(jget(res, "ports")), 2);
	CU_ASSERT_EQUAL(ju64(jidx(jget(res, "ports"), 0), "rx_pkts"), 150);
	CU_ASSERT_EQUAL(json_object_array_length(jget(res, "workers")), 2);
	json_object_put(resp);
}

static void test_status_command(void)
{
	struct json_object *resp = ask("{\"cmd\":\"status\"}\n");
	struct json_object *res = jget(resp, "result");
	struct json_object *ports = jget(res, "ports");

	CU_ASSERT_TRUE(response_ok(resp));
	CU_ASSERT_STRING_EQUAL(jstr(res, "version"), "0.1.0");
	CU_ASSERT_TRUE(json_object_is_type(jget(res, "uptime_s"), json_type_int));
	CU_ASSERT_EQUAL(ju64(res, "nb_ports"), 2);
	CU_ASSERT_EQUAL(ju64(res, "nb_workers"), 2);
	CU_ASSERT_EQUAL(ju64(res, "ports_up"), 0);          /* fake ports: down */
	CU_ASSERT_EQUAL(ju64(res, "workers_alive"), 0);     /* no worker loop runs */
	CU_ASSERT_EQUAL(ju64(res, "snapshot_version"), 0);  /* no reload context */
	CU_ASSERT_STRING_EQUAL(jstr(jidx(ports, 0), "name"), "inside");
	CU_ASSERT_STRING_EQUAL(jstr(jidx(ports, 1), "name"), "outside");
	CU_ASSERT_TRUE(json_object_is_type(jget(jidx(ports, 1), "link_up"),
					   json_type_boolean));
	json_object_put(resp);
}

static bool lists_command(struct json_object *cmds, const char *name)
{
	for (size_t i = 0; jidx(cmds, i) != NULL; i++)
		if (strcmp(jstr(jidx(cmds, i), "name"), name) == 0 &&
		    jstr(jidx(cmds, i), "description")[0] != '\0')
			return true;
	return false;
}

static void test_help_command(void)
{
	struct json_object *resp = ask("{\"cmd\":\"help\"}\n");
	struct json_object *cmds = jget(jget(resp, "result"), "commands");

	CU_ASSERT_TRUE(response_ok(resp));
	CU_ASSERT_TRUE(lists_command(cmds, "stats"));
	CU_ASSERT_TRUE(lists_command(cmds, "status"));
	CU_ASSERT_TRUE(lists_command(cmds, "help"));
	CU_ASSERT_TRUE(lists_command(cmds, "reload"));
	CU_ASSERT_TRUE(lists_command(cmds, "allow-add"));
	json_object_put(resp);
	resp = ask("{\"cmd\":\"reload\"}\n");
	CU_ASSERT_FALSE(response_ok(resp));
	CU_ASSERT_STRING_EQUAL(jstr(resp, "error"), "reload: this server cannot reload");
	json_object_put(resp);
}

/* An unknown command is answered and the connection stays usable. */
static void test_unknown_command(void)
{
	struct client *c = client_open();
	struct json_object *resp;

	client_say(c, "{\"cmd\":\"foo\"}\n");
	resp = client_response(c);
	CU_ASSERT_FALSE(json_object_get_boolean(jget(resp, "ok")));
	CU_ASSERT_STRING_EQUAL(jstr(resp, "error"), "unknown command: foo");
	json_object_put(resp);
	client_say(c, "{\"cmd\":\"help\"}\n");
	resp = client_response(c);
	CU_ASSERT_TRUE(response_ok(resp));
	json_object_put(resp);
	client_close(c);
}

/* Well-formed JSON that is not a request: an error, connection kept. */
static void test_malformed_request(void)
{
	static const char *const bad[] = {
		"{\"command\":\"stats\"}\n", "{\"cmd\":7}\n", "[\"stats\"]\n",
	};
	struct client *c = client_open();

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct json_object *resp;

		client_say(c, bad[i]);
		resp = client_response(c);
		CU_ASSERT_PTR_NOT_NULL(resp);
		CU_ASSERT_FALSE(json_object_get_boolean(jget(resp, "ok")));
		CU_ASSERT_NOT_EQUAL(jstr(resp, "error")[0], '\0');
		json_object_put(resp);
	}
	CU_ASSERT_EQUAL(nb_clients(), 1);
	client_close(c);
}

static void expect_error_then_hangup(const char *req, const char *error_prefix)
{
	struct client *c = client_open();
	struct json_object *resp;

	client_say(c, req);
	resp = client_response(c);
	CU_ASSERT_PTR_NOT_NULL(resp);
	CU_ASSERT_FALSE(json_object_get_boolean(jget(resp, "ok")));
	CU_ASSERT_EQUAL(strncmp(jstr(resp, "error"), error_prefix,
				strlen(error_prefix)), 0);
	CU_ASSERT_TRUE(client_hung_up(c));
	CU_ASSERT_EQUAL(nb_clients(), 0);
	json_object_put(resp);
	client_close(c);
}

static void test_invalid_json(void)
{
	expect_error_then_hangup("{\"cmd\":\"stats\"\n", "invalid JSON");
	expect_error_then_hangup("{\"cmd\":\"stats\"} trailing\n", "invalid JSON");
	expect_error_then_hangup("{'cmd':'stats'}\n", "invalid JSON");
}

static void test_pipelined_requests(void)
{
	struct client *c = client_open();
	struct json_object *a, *b;

	client_say(c, "{\"cmd\":\"status\"}\n{\"cmd\":\"help\"}\n");
	a = client_response(c);
	b = client_response(c);
	CU_ASSERT_TRUE(response_ok(a));
	CU_ASSERT_TRUE(response_ok(b));
	CU_ASSERT_PTR_NOT_NULL(jget(jget(a, "result"), "version"));
	CU_ASSERT_PTR_NOT_NULL(jget(jget(b, "result"), "commands"));
	json_object_put(a);
	json_object_put(b);
	client_close(c);
}

static void test_split_request(void)
{
	struct client *c = client_open();
	struct json_object *resp;

	client_say(c, "{\"cmd\":\"st");
	for (int i = 0; i < 5; i++)
		ctl_poll(&T.ctx, 1);
	CU_ASSERT_EQUAL(nb_clients(), 1);
	client_say(c, "atus\"}\n");
	resp = client_response(c);
	CU_ASSERT_TRUE(response_ok(resp));
	CU_ASSERT_STRING_EQUAL(jstr(jget(resp, "result"), "version"), "0.1.0");
	json_object_put(resp);
	client_close(c);
}

/* CRLF line ends and blank lines are tolerated: one response per request. */
static void test_crlf_and_blank_lines(void)
{
	struct client *c = client_open();
	struct json_object *resp;

	client_say(c, "\n  \r\n{\"cmd\":\"help\"}\r\n{\"cmd\":\"foo\"}\n");
	resp = client_response(c);
	CU_ASSERT_TRUE(response_ok(resp));
	json_object_put(resp);
	resp = client_response(c);
	CU_ASSERT_STRING_EQUAL(jstr(resp, "error"), "unknown command: foo");
	json_object_put(resp);
	client_close(c);
}

static void test_disconnect_mid_request(void)
{
	struct client *c = client_open();
	struct json_object *resp;

	client_say(c, "{\"cmd\":\"sta");
	ctl_poll(&T.ctx, 1);
	CU_ASSERT_EQUAL(nb_clients(), 1);
	client_close(c); /* asserts the server dropped it */
	resp = ask("{\"cmd\":\"status\"}\n");
	CU_ASSERT_TRUE(response_ok(resp));
	json_object_put(resp);
}

/* A request of SIZE bytes plus the newline: {"cmd":"help","pad":"xxx..."} */
static char *padded_request(size_t size)
{
	static const char head[] = "{\"cmd\":\"help\",\"pad\":\"";
	char *req = malloc(size + 2);

	CU_ASSERT_FATAL(req != NULL);
	memset(req, 'x', size);
	memcpy(req, head, sizeof(head) - 1);
	memcpy(req + size - 2, "\"}\n", 4);
	return req;
}

static void test_request_size_limit(void)
{
	struct client *c = client_open();
	char *req = padded_request(65536);
	struct json_object *resp;

	client_say(c, req); /* exactly at the limit: served */
	resp = client_response(c);
	CU_ASSERT_TRUE(response_ok(resp));
	json_object_put(resp);
	client_close(c);
	free(req);

	req = padded_request(65537); /* one byte over */
	expect_error_then_hangup(req, "request too long");
	free(req);
}

static void test_too_many_clients(void)
{
	struct client *c[CTL_MAX_CLIENTS], *extra;
	struct json_object *resp;

	for (unsigned i = 0; i < CTL_MAX_CLIENTS; i++)
		c[i] = client_open();
	for (int i = 0; i < POLL_ROUNDS && nb_clients() < CTL_MAX_CLIENTS; i++)
		ctl_poll(&T.ctx, 10);
	CU_ASSERT_EQUAL(nb_clients(), CTL_MAX_CLIENTS);
	extra = client_open();
	resp = client_response(extra);
	CU_ASSERT_STRING_EQUAL(jstr(resp, "error"), "too many clients");
	CU_ASSERT_TRUE(client_hung_up(extra));
	json_object_put(resp);
	/* The ones already in are still served. */
	client_say(c[CTL_MAX_CLIENTS - 1], "{\"cmd\":\"help\"}\n");
	resp = client_response(c[CTL_MAX_CLIENTS - 1]);
	CU_ASSERT_TRUE(response_ok(resp));
	json_object_put(resp);
	client_free(extra);
	for (unsigned i = 0; i < CTL_MAX_CLIENTS; i++)
		client_free(c[i]);
	drain_clients();
}

/* ---- opening and closing -------------------------------------------------- */

static void other_ctx(struct ctl_ctx *ctx, struct conf *conf, const char *file)
{
	*conf = T.conf;
	snprintf(conf->ctl_socket, sizeof(conf->ctl_socket), "%s/%s", T.dir, file);
	memset(ctx, 0, sizeof(*ctx));
	ctx->conf = conf;
	ctx->port_id[0] = FAKE_PORT_ID;
	ctx->port_id[1] = FAKE_PORT_ID + 1;
}

static void test_open_refuses_live_socket(void)
{
	static struct ctl_ctx ctx;
	struct conf conf = T.conf;
	struct json_object *resp;

	memset(&ctx, 0, sizeof(ctx));
	ctx.conf = &conf;
	CU_ASSERT_EQUAL(ctl_open(&ctx), -EADDRINUSE);
	CU_ASSERT_EQUAL(ctx.listen_fd, -1);
	ctl_close(&ctx); /* harmless after a failed open; must not unlink */
	resp = ask("{\"cmd\":\"status\"}\n");
	CU_ASSERT_TRUE(response_ok(resp));
	json_object_put(resp);
}

static void test_open_refuses_other_file(void)
{
	static struct ctl_ctx ctx;
	struct conf conf;
	struct stat st;
	int fd;

	other_ctx(&ctx, &conf, "not-a-socket");
	fd = open(conf.ctl_socket, O_CREAT | O_WRONLY, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	CU_ASSERT_EQUAL(ctl_open(&ctx), -EEXIST);
	CU_ASSERT_EQUAL(stat(conf.ctl_socket, &st), 0);
	unlink(conf.ctl_socket);
}

/* A socket file left by a dead server is replaced; ctl_close unlinks. */
static void test_open_replaces_stale_socket(void)
{
	static struct ctl_ctx ctx;
	struct conf conf;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	int fd;

	other_ctx(&ctx, &conf, "stale.sock");
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", conf.ctl_socket);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	CU_ASSERT_FATAL(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	close(fd);
	CU_ASSERT_FATAL(ctl_open(&ctx) == 0);
	fd = connect_path(conf.ctl_socket);
	CU_ASSERT(fd >= 0);
	for (int i = 0; i < 3; i++)
		ctl_poll(&ctx, 1);
	CU_ASSERT_PTR_NOT_NULL(ctx.client[0]);
	ctl_close(&ctx);
	CU_ASSERT_PTR_NULL(ctx.client[0]);
	CU_ASSERT_EQUAL(stat(conf.ctl_socket, &st), -1);
	CU_ASSERT_EQUAL(errno, ENOENT);
	CU_ASSERT_EQUAL(ctl_poll(&ctx, 0), -EBADF);
	if (fd >= 0)
		close(fd);
}

void test_ctl_register(void)
{
	CU_pSuite s = CU_add_suite("ctl", suite_init, suite_cleanup);

	CU_add_test(s, "stats sums counters over workers", test_stats_sums_workers);
	CU_add_test(s, "stats lists every drop reason", test_stats_lists_every_reason);
	CU_add_test(s, "stats shows port config, no ethdev", test_stats_port_config);
	CU_add_test(s, "stats per worker, nonzero drops", test_stats_workers);
	CU_add_test(s, "relay counters per worker, summed, per smart host", test_stats_relay);
	CU_add_test(s, "stats of a real ethdev has hw", test_stats_real_port);
	CU_add_test(s, "socket and directory modes", test_socket_created);
	CU_add_test(s, "stats over the socket", test_stats_command);
	CU_add_test(s, "status over the socket", test_status_command);
	CU_add_test(s, "help over the socket", test_help_command);
	CU_add_test(s, "unknown command keeps the connection", test_unknown_command);
	CU_add_test(s, "malformed request keeps the connection", test_malformed_request);
	CU_add_test(s, "invalid JSON: error, then hang up", test_invalid_json);
	CU_add_test(s, "two pipelined requests", test_pipelined_requests);
	CU_add_test(s, "request split over two writes", test_split_request);
	CU_add_test(s, "CRLF and blank lines", test_crlf_and_blank_lines);
	CU_add_test(s, "client disconnects mid-request", test_disconnect_mid_request);
	CU_add_test(s, "64 KiB request limit", test_request_size_limit);
	CU_add_test(s, "too many clients", test_too_many_clients);
	CU_add_test(s, "open refuses a live socket", test_open_refuses_live_socket);
	CU_add_test(s, "open refuses a non-socket file", test_open_refuses_other_file);
	CU_add_test(s, "open replaces a stale socket, close unlinks",
		    test_open_replaces_stale_socket);
}
