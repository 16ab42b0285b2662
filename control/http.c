/*
 * http: the HTTP listener of the control plane — see http.h.
 *
 * libmicrohttpd (Debian's libmicrohttpd-dev) does the HTTP: request
 * parsing, keep-alive, limits and timeouts, a mature and fuzzed parser we
 * would otherwise have to write and fuzz ourselves.  It runs without a
 * thread of its own (MHD_USE_EPOLL, external polling).
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>
#include <rte_log.h>

#include "control/ctl.h"
#include "control/http.h"
#include "control/http_auth.h"

#define HTTP_CONNS      32
#define HTTP_TIMEOUT_S  30

#define HTTP_LOG(level, fmt, ...) \
	RTE_LOG(level, USER1, "http: " fmt "\n", ##__VA_ARGS__)

/* control/web/accepted.html, embedded at build time (xxd -i) */
extern unsigned char http_page[];
extern unsigned int http_page_len;

struct http {
	struct MHD_Daemon *d;
	int fd;
};

/* ---- responses ------------------------------------------------------------- */

static enum MHD_Result send_buffer(struct MHD_Connection *conn,
				   unsigned status, const char *type,
				   void *data, size_t len,
				   enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, data, mode);
	enum MHD_Result rc;

	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	if (status == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
					"Basic realm=\"sluice\"");
	rc = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return rc;
}

/* OBJ (taken) as JSON with STATUS; NULL OBJ is a 500. */
static enum MHD_Result send_json(struct MHD_Connection *conn, unsigned status,
				 struct json_object *obj)
{
	const char *text;
	size_t len;
	enum MHD_Result rc;

	text = obj != NULL ? jout_text(obj, &len) : NULL;
	if (text == NULL) {
		json_object_put(obj);
		return send_buffer(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain",
				   (void *)"out of memory\n", 14, MHD_RESPMEM_PERSISTENT);
	}
	rc = send_buffer(conn, status, "application/json", (void *)text, len,
			 MHD_RESPMEM_MUST_COPY);
	json_object_put(obj);
	return rc;
}

static enum MHD_Result send_error(struct MHD_Connection *conn, unsigned status,
				  const char *msg)
{
	struct json_object *obj = json_object_new_object();

	if (obj != NULL && jout_put_str(obj, "error", msg) < 0) {
		json_object_put(obj);
		obj = NULL;
	}
	return send_json(conn, status, obj);
}

/* ---- the endpoints ----------------------------------------------------------- */

static enum MHD_Result serve_metrics(struct ctl_ctx *ctx,
				     struct MHD_Connection *conn)
{
	size_t len;
	char *text = ctl_stats_prom(ctx, &len);

	if (text == NULL)
		return send_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
	return send_buffer(conn, MHD_HTTP_OK,
			   "text/plain; version=0.0.4; charset=utf-8", text, len,
			   MHD_RESPMEM_MUST_FREE);
}

/* Query argument NAME into REQ: a string, or an integer when INT. */
static int put_arg(struct MHD_Connection *conn, struct json_object *req,
		   const char *name, bool integer)
{
	const char *v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, name);
	char *end;
	long long n;

	if (v == NULL || v[0] == '\0')
		return 0;
	if (!integer)
		return jout_put_str(req, name, v);
	n = strtoll(v, &end, 10);
	if (*end != '\0')
		return -EINVAL;
	return jout_put(req, name, json_object_new_int64(n));
}

/* The "accepted" command with the query string as its arguments. */
static enum MHD_Result serve_accepted(struct ctl_ctx *ctx,
				      struct MHD_Connection *conn)
{
	struct json_object *req = json_object_new_object(), *res;
	char err[128] = "";
	int rc;

	if (req == NULL)
		return send_json(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL);
	rc = put_arg(conn, req, "from", false);
	if (rc == 0)
		rc = put_arg(conn, req, "to", false);
	if (rc == 0)
		rc = put_arg(conn, req, "id", false);
	if (rc == 0)
		rc = put_arg(conn, req, "since", true);
	if (rc == 0)
		rc = put_arg(conn, req, "limit", true);
	if (rc == -EINVAL) {
		json_object_put(req);
		return send_error(conn, MHD_HTTP_BAD_REQUEST,
				  "\"since\" and \"limit\" are integers");
	}
	res = rc == 0 ? ctl_accepted_json(ctx, req, err, sizeof(err)) : NULL;
	json_object_put(req);
	if (res == NULL && err[0] != '\0')
		return send_error(conn, MHD_HTTP_BAD_REQUEST, err);
	return send_json(conn, MHD_HTTP_OK, res);
}

static enum MHD_Result serve_queue(struct ctl_ctx *ctx,
				   struct MHD_Connection *conn)
{
	char err[128] = "";

	return send_json(conn, MHD_HTTP_OK,
			 ctl_queue_json(ctx, NULL, err, sizeof(err)));
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
				  const char *url, const char *method,
				  const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct ctl_ctx *ctx = cls;
	const char *auth;

	(void)version;
	(void)upload_data;
	(void)con_cls;
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return send_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "read-only");
	if (*upload_data_size != 0)
		return send_error(conn, MHD_HTTP_BAD_REQUEST, "no body expected");
	if (strcmp(url, "/") == 0)
		return send_buffer(conn, MHD_HTTP_OK, "text/html; charset=utf-8",
				   (void *)http_page, http_page_len,
				   MHD_RESPMEM_PERSISTENT);
	auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
					   MHD_HTTP_HEADER_AUTHORIZATION);
	if (!http_auth_ok(&ctx->conf->http, auth))
		return send_error(conn, MHD_HTTP_UNAUTHORIZED, "credentials needed");
	if (strcmp(url, "/metrics") == 0)
		return serve_metrics(ctx, conn);
	if (strcmp(url, "/api/accepted") == 0)
		return serve_accepted(ctx, conn);
	if (strcmp(url, "/api/stats") == 0)
		return send_json(conn, MHD_HTTP_OK, ctl_stats_json(ctx));
	if (strcmp(url, "/api/queue") == 0)
		return serve_queue(ctx, conn);
	return send_error(conn, MHD_HTTP_NOT_FOUND, "no such page");
}

/* ---- the listener -------------------------------------------------------------- */

int http_open(struct ctl_ctx *ctx)
{
	const struct conf_http *c = &ctx->conf->http;
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons(c->port),
				 .sin_addr.s_addr = htonl(c->addr)};
	const union MHD_DaemonInfo *info;
	struct http *h;

	ctx->http = NULL;
	if (!c->on)
		return 0;
	h = calloc(1, sizeof(*h));
	if (h == NULL)
		return -ENOMEM;
	h->d = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG, c->port, NULL,
				NULL, on_request, ctx,
				MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_CONNS,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_TIMEOUT_S,
				MHD_OPTION_END);
	info = h->d != NULL ? MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_EPOLL_FD)
			    : NULL;
	if (info == NULL) {
		int rc = errno != 0 ? -errno : -EIO;

		if (h->d != NULL)
			MHD_stop_daemon(h->d);
		free(h);
		return rc;
	}
	h->fd = info->epoll_fd;
	ctx->http = h;
	HTTP_LOG(INFO, "listening on %u.%u.%u.%u:%u", c->addr >> 24,
		 (c->addr >> 16) & 0xff, (c->addr >> 8) & 0xff, c->addr & 0xff,
		 c->port);
	return 0;
}

int http_fd(const struct ctl_ctx *ctx)
{
	return ctx->http != NULL ? ctx->http->fd : -1;
}

void http_run(struct ctl_ctx *ctx)
{
	if (ctx->http != NULL)
		MHD_run(ctx->http->d);
}

void http_close(struct ctl_ctx *ctx)
{
	if (ctx->http == NULL)
		return;
	MHD_stop_daemon(ctx->http->d);
	free(ctx->http);
	ctx->http = NULL;
}
