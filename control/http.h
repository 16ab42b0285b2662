/*
 * http: the control plane's HTTP listener (control.http), on
 * libmicrohttpd driven from the main lcore's poll loop (its epoll fd sits
 * in ctl_poll()'s poll set, so handlers run on the main lcore beside the
 * control socket and never race the tracking index).  Read-only, GET and
 * HEAD only:
 *
 *   /metrics        the stats walk as Prometheus text
 *   /               the accepted-mail page (static HTML and JS, embedded)
 *   /api/accepted   the "accepted" query (from, to, id, since, limit)
 *   /api/stats      the "stats" object
 *   /api/queue      the "queue" object
 *
 * Every path but the page itself needs the configured credential when one
 * is set ("Authorization: Bearer TOKEN", or Basic with user:password); the
 * page holds no data, it asks the API for it.
 */
#ifndef SLUICE_CONTROL_HTTP_H
#define SLUICE_CONTROL_HTTP_H

#include <stdbool.h>

#include "control/config_http.h"

struct ctl_ctx;
struct http;

/* Start listening on ctx->conf->http; 0 (also when it is off) or -errno. */
int http_open(struct ctl_ctx *ctx);
/* The fd to poll for input, or -1 when off. */
int http_fd(const struct ctl_ctx *ctx);
/* Serve what is ready; never blocks. */
void http_run(struct ctl_ctx *ctx);
void http_close(struct ctl_ctx *ctx);

#endif
