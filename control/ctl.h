/*
 * ctl: the control socket.  A Unix stream socket on the main lcore that
 * speaks newline-delimited JSON: one request object per line, one response
 * object per line (see docs/control-protocol.md).  Never blocks: the main
 * lcore calls ctl_poll() in its loop.  Reads worker counters without locks.
 */
#ifndef SLUICE_CONTROL_CTL_H
#define SLUICE_CONTROL_CTL_H

#include <stdint.h>
#include <sys/socket.h>

#include <json-c/json.h>
#include <rte_config.h>

#include "control/config.h"
#include "control/relay_dns.h"
#include "control/json_out.h"
#include "control/stats_out.h"
#include "control/track_log.h"
#include "dataplane/queue/queue_ctl.h"
#include "dataplane/diag.h"
#include "dataplane/inbound.h"
#include "dataplane/relay.h"
#include "dataplane/spool/spool_stats.h"
#include "dataplane/stats.h"
#include "dataplane/tcp/tcp_stats.h"

#define CTL_MAX_CLIENTS 16

struct ctl_worker {
	unsigned lcore;
	const struct worker_stats *stats;
	const struct tcp_stats *tcp;
	const struct diag_stats *diag;
	const struct inbound_stats *smtp;   /* NULL: no SMTP service */
	const struct spool_stats *spool;    /* NULL: no spool */
	const struct relay_stats *relay;    /* NULL: no relay */
	struct queue_port *queue;        /* its delivery queue's link, or NULL */
	const struct track_ring *track;  /* its tracking ring (for drop counts), or NULL */
};

/* What the control plane asks of the daemon (set by sluiced; tests point
 * them at fakes).  Each returns 0 or a negative errno. */
struct ctl_hooks {
	/* open CONNS diag send connections to RADDR:RPORT, BYTES each */
	int (*diag_send)(void *arg, uint32_t raddr, uint16_t rport,
			 uint32_t conns, uint64_t bytes);
	void *arg;
};

struct ctl_client;
struct http;
struct reload;

struct ctl_ctx {
	const struct conf *conf;
	uint16_t port_id[CONF_MAX_PORTS]; /* ethdev id of conf->ports[i] */
	unsigned nb_workers;
	struct ctl_worker worker[RTE_MAX_LCORE];
	struct ctl_hooks hooks;
	struct track_log *track;          /* message tracking, or NULL when off */
	const struct relay_dns *dns;      /* the smart hosts' names, or NULL */
	uint64_t started_ns;              /* CLOCK_MONOTONIC at start */
	struct reload *reload;            /* config reloads, or NULL */
	const struct ucred *peer;         /* who sent the request being served */
	int listen_fd;
	struct ctl_client *client[CTL_MAX_CLIENTS];
	struct http *http;                /* control.http, or NULL */
};

/* Bind and listen on conf->ctl_socket (creating its directory, replacing a
 * stale socket), and on conf->http when set (control/http.c).  The caller
 * has filled conf, port_id and worker[]. */
int ctl_open(struct ctl_ctx *ctx);

/* Serve ready clients, waiting at most timeout_ms for activity. */
int ctl_poll(struct ctl_ctx *ctx, int timeout_ms);

/* Close every client and the socket, and unlink its path. */
void ctl_close(struct ctl_ctx *ctx);

/* The stats as DPDK telemetry commands /sluice/metrics and
 * /sluice/metric,NAME (ctl_telemetry.c); CTX must outlive the
 * registration, which ctl_telemetry_unregister() ends.  0 or -errno. */
int ctl_telemetry_register(const struct ctl_ctx *ctx);
void ctl_telemetry_unregister(void);

/* Seconds since ctx->started_ns. */
uint64_t ctl_uptime_s(const struct ctl_ctx *ctx);

/* Every statistic, once, into O (ctl_stats.c).  Safe off the main lcore:
 * it only reads counters, snapshots and the ethdevs. */
void ctl_stats_walk(const struct ctl_ctx *ctx, struct stats_out *o);
/* The result object of the "stats" command (new reference). */
struct json_object *ctl_stats_json(const struct ctl_ctx *ctx);
/* The same figures as Prometheus text (malloc'd, *LEN bytes), or NULL. */
char *ctl_stats_prom(const struct ctl_ctx *ctx, size_t *len);

/* A command with arguments: the result object, or NULL with ERR set (an
 * empty ERR means out of memory). */
typedef struct json_object *(*ctl_args_fn)(const struct ctl_ctx *ctx,
					   struct json_object *req, char *err,
					   size_t errlen);

/* The response object to a parsed request (what ctl_poll() sends back
 * for one line); NULL when out of memory. */
struct json_object *ctl_dispatch(const struct ctl_ctx *ctx,
				 struct json_object *req);

/* "diag-send" (ctl_diag.c). */
struct json_object *ctl_diag_send_json(const struct ctl_ctx *ctx,
				       struct json_object *req, char *err,
				       size_t errlen);

/* "accepted", "queue", "queue-hold", "queue-release", "queue-delete",
 * "queue-retry" (ctl_queue.c). */
struct json_object *ctl_accepted_json(const struct ctl_ctx *ctx,
				      struct json_object *req, char *err,
				      size_t errlen);
struct json_object *ctl_queue_json(const struct ctl_ctx *ctx,
				   struct json_object *req, char *err,
				   size_t errlen);
struct json_object *ctl_queue_hold_json(const struct ctl_ctx *ctx,
					struct json_object *req, char *err,
					size_t errlen);
struct json_object *ctl_queue_release_json(const struct ctl_ctx *ctx,
					   struct json_object *req, char *err,
					   size_t errlen);
struct json_object *ctl_queue_delete_json(const struct ctl_ctx *ctx,
					  struct json_object *req, char *err,
					  size_t errlen);
struct json_object *ctl_queue_retry_json(const struct ctl_ctx *ctx,
					 struct json_object *req, char *err,
					 size_t errlen);

/* "reload", "config", "allow-list", "allow-add", "allow-remove"
 * (ctl_reload.c). */
struct json_object *ctl_reload_json(const struct ctl_ctx *ctx,
				    struct json_object *req, char *err, size_t errlen);
struct json_object *ctl_config_json(const struct ctl_ctx *ctx,
				    struct json_object *req, char *err, size_t errlen);
struct json_object *ctl_allow_list_json(const struct ctl_ctx *ctx,
					struct json_object *req, char *err,
					size_t errlen);
struct json_object *ctl_allow_add_json(const struct ctl_ctx *ctx,
				       struct json_object *req, char *err, size_t errlen);
struct json_object *ctl_allow_remove_json(const struct ctl_ctx *ctx,
					  struct json_object *req, char *err,
					  size_t errlen);

#define CTL_QIDS_MAX 1000   /* queue IDs in one request */

/* The "ids" member of REQ: a non-empty array of at most MAX queue ID
 * strings (16 hex digits), into QIDS.  Returns how many, or -EINVAL with
 * a reason in ERR (ctl_qid.c). */
int ctl_parse_qids(struct json_object *req, uint64_t *qids, unsigned max,
		   char *err, size_t errlen);

#endif
