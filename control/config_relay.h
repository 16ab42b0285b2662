/*
 * config_relay: the "relay" section of the configuration as plain data —
 * the smart hosts (address or name, port, cost, TLS policy, AUTH
 * credentials file, connection limits), the resolver for the names, the
 * routes from recipient domains to smart hosts, and the retry schedule
 * and queue lifetime.  Loaded by
 * control/config_relay.c; read by the relay module (dataplane/relay.c).
 */
#ifndef SLUICE_CONTROL_CONFIG_RELAY_H
#define SLUICE_CONTROL_CONFIG_RELAY_H

#include <stdbool.h>
#include <stdint.h>

#define CONF_RELAY_HOSTS       16   /* smart hosts */
#define CONF_RELAY_ROUTES      64   /* routes */
#define CONF_RELAY_ROUTE_HOSTS 8    /* smart hosts named by one route */
#define CONF_RELAY_RETRY       16   /* steps in the retry schedule */
#define CONF_RELAY_NAME_LEN    32
#define CONF_RELAY_DOMAIN_LEN  256
#define CONF_RELAY_PATH_LEN    432

/* A smart host's TLS policy (the SMTP client's enum smtp_tls_policy). */
enum conf_relay_tls {
	CONF_RELAY_TLS_NONE,
	CONF_RELAY_TLS_OPPORTUNISTIC,
	CONF_RELAY_TLS_REQUIRED,
	CONF_RELAY_TLS_VERIFY,
};

struct conf_relay_host {
	char name[CONF_RELAY_NAME_LEN];     /* the operator's name, used by routes */
	char host[CONF_RELAY_DOMAIN_LEN];   /* as written: IPv4 address or name */
	uint32_t addr;                      /* IPv4, host byte order; 0: a name */
	bool named;                         /* HOST is a name: the control plane
					       resolves it (control/relay_dns.h) */
	uint16_t port;
	uint32_t cost;                      /* lower is preferred */
	enum conf_relay_tls tls;
	char ca_file[CONF_RELAY_PATH_LEN];  /* "" = the system store */
	char auth_file[CONF_RELAY_PATH_LEN]; /* "user:password" line; "" = no AUTH */
	uint32_t max_conns;                 /* per worker */
	uint32_t msgs_per_conn;
};

/* DOMAIN is "*", "example.com" or "*.example.com", lower case. */
struct conf_relay_route {
	char domain[CONF_RELAY_DOMAIN_LEN];
	unsigned nb_hosts;
	uint8_t hosts[CONF_RELAY_ROUTE_HOSTS];  /* indices into conf_relay.hosts */
};

struct conf_relay {
	unsigned nb_hosts;                  /* 0: no relay section, no delivery */
	struct conf_relay_host hosts[CONF_RELAY_HOSTS];
	unsigned nb_routes;
	struct conf_relay_route routes[CONF_RELAY_ROUTES];
	unsigned nb_retry;
	uint32_t retry_s[CONF_RELAY_RETRY]; /* wait after attempt n; the last repeats */
	uint32_t lifetime_s;                /* give up this long after arrival */
	uint32_t max_conns;                 /* per worker, all smart hosts */
	uint32_t timeout_s;                 /* client timeouts; 0 = RFC 5321's */
	uint32_t host_down_s;               /* skip a host this long after it failed */
	char resolver[CONF_RELAY_NAME_LEN]; /* "a.b.c.d[:port]"; "": resolv.conf */
};

#endif
