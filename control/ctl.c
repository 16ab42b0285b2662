/*
 * ctl: the control socket server.  Owns the listening Unix socket, the
 * connected clients with their input and output buffers, the framing
 * (one JSON object per line each way), the command table and the small
 * commands ("status", "help"); "stats" is built by ctl_stats.c.  Runs on
 * the main lcore: every socket is non-blocking, ctl_poll() waits only in
 * poll(), and a slow or silent client costs buffer space, never time.
 * The protocol is described in docs/control-protocol.md.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_log.h>

#include "control/ctl.h"
#include "control/http.h"
#include "control/reload.h"

#ifndef SLUICE_VERSION
#define SLUICE_VERSION "0.1.0"
#endif

#define CTL_REQUEST_MAX 65536            /* bytes in one request, without '\n' */
#define CTL_OUT_HIGH    (1u << 20)       /* take no new request above this much unsent output */
#define CTL_OUT_KEEP    (64u << 10)      /* free a drained output buffer bigger than this */
#define CTL_IDLE_NS     (60ull * 1000000000ull)
#define CTL_BACKLOG     16
#define CTL_SOCK_MODE   0660
#define CTL_DIR_MODE    0755

#define CTL_LOG(level, fmt, ...) \
	RTE_LOG(level, USER1, "ctl: " fmt "\n", ##__VA_ARGS__)

struct ctl_client {
	int fd;
	struct ucred cred;        /* the peer's, at connect (SO_PEERCRED) */
	bool eof;                 /* the peer will send nothing more */
	bool closing;             /* close once the output is flushed */
	uint64_t last_active_ns;  /* last byte read or written */
	char *out;                /* responses not yet written: out[out_off, out_len) */
	size_t out_off, out_len, out_cap;
	size_t in_len;
	char in[CTL_REQUEST_MAX + 1];
};

struct ctl_command {
	const char *name;
	const char *description;
	struct json_object *(*run)(const struct ctl_ctx *ctx);  /* no arguments */
	ctl_args_fn run_args;                                   /* or with them */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t ctl_uptime_s(const struct ctl_ctx *ctx)
{
	uint64_t now = now_ns();

	return now > ctx->started_ns ? (now - ctx->started_ns) / 1000000000u : 0;
}

/* ---- commands ---------------------------------------------------------- */

static bool port_link_up(uint16_t port_id)
{
	struct rte_eth_link link;

	return rte_eth_dev_is_valid_port(port_id) &&
	       rte_eth_link_get_nowait(port_id, &link) == 0 &&
	       link.link_status == RTE_ETH_LINK_UP;
}

static struct json_object *status_port_json(const struct ctl_ctx *ctx,
					    unsigned i)
{
	struct json_object *obj = json_object_new_object();

	if (obj == NULL)
		return NULL;
	if (jout_put(obj, "name", json_object_new_string(ctx->conf->ports[i].name)) ||
	    jout_put(obj, "link_up", json_object_new_boolean(port_link_up(ctx->port_id[i])))) {
		json_object_put(obj);
		return NULL;
	}
	return obj;
}

static struct json_object *status_ports_json(const struct ctl_ctx *ctx)
{
	struct json_object *arr = json_object_new_array();

	if (arr == NULL)
		return NULL;
	for (unsigned i = 0; i < ctx->conf->nb_ports && i < CONF_MAX_PORTS; i++) {
		if (jout_append(arr, status_port_json(ctx, i)) < 0) {
			json_object_put(arr);
			return NULL;
		}
	}
	return arr;
}

/* Workers whose loop is running. */
static unsigned workers_alive(const struct ctl_ctx *ctx)
{
	unsigned n = 0;

	for (unsigned i = 0; i < ctx->nb_workers; i++)
		n += rte_eal_get_lcore_state(ctx->worker[i].lcore) == RUNNING;
	return n;
}

static unsigned ports_up(const struct ctl_ctx *ctx)
{
	unsigned n = 0;

	for (unsigned i = 0; i < ctx->conf->nb_ports && i < CONF_MAX_PORTS; i++)
		n += port_link_up(ctx->port_id[i]);
	return n;
}

static struct json_object *status_json(const struct ctl_ctx *ctx)
{
	const struct snap *snap = ctx->reload ? snap_current(ctx->reload->pub) : NULL;
	struct json_object *obj = json_object_new_object();

	if (obj == NULL)
		return NULL;
	if (jout_put(obj, "version", json_object_new_string(SLUICE_VERSION)) ||
	    jout_put(obj, "uptime_s", json_object_new_uint64(ctl_uptime_s(ctx))) ||
	    jout_put(obj, "nb_ports", json_object_new_uint64(ctx->conf->nb_ports)) ||
	    jout_put(obj, "nb_workers", json_object_new_uint64(ctx->nb_workers)) ||
	    jout_put(obj, "ports_up", json_object_new_uint64(ports_up(ctx))) ||
	    jout_put(obj, "workers_alive", json_object_new_uint64(workers_alive(ctx))) ||
	    jout_put(obj, "snapshot_version", json_object_new_uint64(snap ? snap->version : 0)) ||
	    jout_put(obj, "snapshot_loaded", json_object_new_int64(snap ? snap->loaded : 0)) ||
	    jout_put(obj, "snapshots_retired",
		json_object_new_uint64(ctx->reload ? ctx->reload->pub->nb_retired : 0)) ||
	    jout_put(obj, "reloads", json_object_new_uint64(ctx->reload ? ctx->reload->reloads : 0)) ||
	    jout_put(obj, "reloads_refused",
		json_object_new_uint64(ctx->reload ? ctx->reload->refused : 0)) ||
	    jout_put(obj, "ports", status_ports_json(ctx))) {
		json_object_put(obj);
		return NULL;
	}
	return obj;
}

static struct json_object *help_json(const struct ctl_ctx *ctx);

static const struct ctl_command ctl_commands[] = {
	{"stats", "packet counters per port and per worker, hardware counters",
	 ctl_stats_json},
	{"status", "version, uptime, ports up, workers alive, config snapshot version",
	 status_json},
	{"help", "the commands this server understands", help_json},
	{"diag-send", "open diagnostic TCP connections that send a pattern: "
	 "{\"addr\", \"port\", \"bytes\", \"conns\"}", NULL, ctl_diag_send_json},
	{"accepted", "recently accepted messages and their status: "
	 "{\"since\", \"from\", \"to\", \"id\", \"limit\"}, all optional",
	 NULL, ctl_accepted_json},
	{"queue", "queued messages: state, attempts, next attempt, last reply",
	 NULL, ctl_queue_json},
	{"queue-hold", "hold queued messages: {\"ids\": [...]}", NULL,
	 ctl_queue_hold_json},
	{"queue-release", "release held messages: {\"ids\": [...]}", NULL,
	 ctl_queue_release_json},
	{"queue-delete", "delete queued messages: {\"ids\": [...]}", NULL,
	 ctl_queue_delete_json},
	{"queue-retry", "retry deferred messages now: {\"ids\": [...]}", NULL,
	 ctl_queue_retry_json},
	{"reload", "re-read the config file and apply it (nothing changes if it "
	 "is invalid or needs a restart)", NULL, ctl_reload_json},
	{"config", "the running config: version, file text, allow list", NULL,
	 ctl_config_json},
	{"allow-list", "the allow list: {\"cidr\", \"source\"} entries", NULL,
	 ctl_allow_list_json},
	{"allow-add", "allow a client network, live and in smtp.allow_file: "
	 "{\"cidr\"}", NULL, ctl_allow_add_json},
	{"allow-remove", "remove a network from smtp.allow_file, live and on disk: "
	 "{\"cidr\"}", NULL, ctl_allow_remove_json},
};

#define CTL_NB_COMMANDS (sizeof(ctl_commands) / sizeof(ctl_commands[0]))

static struct json_object *command_json(const struct ctl_command *cmd)
{
	struct json_object *obj = json_object_new_object();

	if (obj == NULL)
		return NULL;
	if (jout_put(obj, "name", json_object_new_string(cmd->name)) ||
	    jout_put(obj, "description", json_object_new_string(cmd->description))) {
		json_object_put(obj);
		return NULL;
	}
	return obj;
}

static struct json_object *help_json(const struct ctl_ctx *ctx)
{
	struct json_object *obj = json_object_new_object();
	struct json_object *arr = json_object_new_array();

	(void)ctx;
	if (obj == NULL || arr == NULL)
		goto fail;
	for (unsigned i = 0; i < CTL_NB_COMMANDS; i++)
		if (jout_append(arr, command_json(&ctl_commands[i])) < 0)
			goto fail;
	if (jout_put(obj, "commands", arr) < 0) {
		arr = NULL; /* released by jout_put() */
		goto fail;
	}
	return obj;
fail:
	json_object_put(arr);
	json_object_put(obj);
	return NULL;
}

/* ---- requests and responses ------------------------------------------- */

static struct json_object *ok_response(struct json_object *result)
{
	struct json_object *obj = json_object_new_object();

	if (obj == NULL || result == NULL) {
		json_object_put(obj);
		json_object_put(result);
		return NULL;
	}
	if (jout_put(obj, "ok", json_object_new_boolean(1)) ||
	    jout_put(obj, "result", result)) {
		json_object_put(obj);
		return NULL;
	}
	return obj;
}

static struct json_object *error_response(const char *msg)
{
	struct json_object *obj = json_object_new_object();

	if (obj == NULL)
		return NULL;
	if (jout_put(obj, "ok", json_object_new_boolean(0)) ||
	    jout_put(obj, "error", json_object_new_string(msg))) {
		json_object_put(obj);
		return NULL;
	}
	return obj;
}

static struct json_object *run_command(const struct ctl_ctx *ctx,
				       const struct ctl_command *cmd,
				       struct json_object *req)
{
	char err[CONF_ERR_LEN] = "", msg[CONF_ERR_LEN + 64];
	struct json_object *result = cmd->run != NULL
		? cmd->run(ctx) : cmd->run_args(ctx, req, err, sizeof(err));

	if (result != NULL)
		return ok_response(result);
	snprintf(msg, sizeof(msg), "%s: %s", cmd->name,
		 err[0] != '\0' ? err : "out of memory");
	return error_response(msg);
}

struct json_object *ctl_dispatch(const struct ctl_ctx *ctx,
				 struct json_object *req)
{
	struct json_object *cmd;
	const char *name;
	char msg[96];

	if (!json_object_is_type(req, json_type_object))
		return error_response("request must be a JSON object");
	if (!json_object_object_get_ex(req, "cmd", &cmd) ||
	    !json_object_is_type(cmd, json_type_string))
		return error_response("request has no \"cmd\" string");
	name = json_object_get_string(cmd);
	for (unsigned i = 0; i < CTL_NB_COMMANDS; i++)
		if (strcmp(name, ctl_commands[i].name) == 0)
			return run_command(ctx, &ctl_commands[i], req);
	snprintf(msg, sizeof(msg), "unknown command: %.64s", name);
	return error_response(msg);
}

/* Parse one request line (LINE[len] is '\0').  NULL with ERR filled when
 * the line is not exactly one JSON value. */
static struct json_object *parse_line(const char *line, size_t len,
				      char *err, size_t errlen)
{
	struct json_tokener *tok;
	struct json_object *obj;
	enum json_tokener_error jerr;

	if (memchr(line, '\0', len) != NULL) {
		snprintf(err, errlen, "invalid JSON: NUL byte in request");
		return NULL;
	}
	tok = json_tokener_new();
	if (tok == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, line, (int)len + 1);
	jerr = json_tokener_get_error(tok);
	if (obj != NULL && json_tokener_get_parse_end(tok) < len) {
		json_object_put(obj);
		obj = NULL;
		snprintf(err, errlen, "invalid JSON: text after the request");
	} else if (obj == NULL) {
		snprintf(err, errlen, "invalid JSON: %s",
			 json_tokener_error_desc(jerr));
	}
	json_tokener_free(tok);
	return obj;
}

/* ---- client buffers ------------------------------------------------------ */

static size_t out_pending(const struct ctl_client *c)
{
	return c->out_len - c->out_off;
}

static int out_append(struct ctl_client *c, const char *data, size_t len)
{
	if (c->out_off > 0) {
		memmove(c->out, c->out + c->out_off, out_pending(c));
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	if (c->out_len + len > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap * 2 : 4096;
		char *p;

		while (cap < c->out_len + len)
			cap *= 2;
		p = realloc(c->out, cap);
		if (p == NULL)
			return -ENOMEM;
		c->out = p;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, data, len);
	c->out_len += len;
	return 0;
}

/* Queue RESP (taken) as one line; -ENOMEM when RESP is NULL. */
static int queue_response(struct ctl_client *c, struct json_object *resp)
{
	const char *text;
	size_t len;
	int rc;

	if (resp == NULL)
		return -ENOMEM;
	text = jout_text(resp, &len);
	rc = text == NULL ? -ENOMEM : out_append(c, text, len);
	if (rc == 0)
		rc = out_append(c, "\n", 1);
	json_object_put(resp);
	return rc;
}

/* Answer with an error, then close the connection: the rest of its input
 * cannot be trusted to be framed (consume_input() discards it). */
static int client_fail(struct ctl_client *c, const char *msg)
{
	c->closing = true;
	return queue_response(c, error_response(msg));
}

static bool is_blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!isspace((unsigned char)s[i]))
			return false;
	return true;
}

/* Serve one request line of LEN bytes (the '\n' at LINE[len] is replaced). */
static int client_request(const struct ctl_ctx *ctx, struct ctl_client *c,
			  char *line, size_t len)
{
	struct json_object *req;
	char err[128];
	int rc;

	line[len] = '\0';
	if (is_blank(line, len))
		return 0;
	req = parse_line(line, len, err, sizeof(err));
	if (req == NULL)
		return client_fail(c, err);
	rc = queue_response(c, ctl_dispatch(ctx, req));
	json_object_put(req);
	return rc;
}

/* Drop the N bytes served from the input, or all of it once closing. */
static void consume_input(struct ctl_client *c, size_t n)
{
	if (c->closing)
		n = c->in_len;
	memmove(c->in, c->in + n, c->in_len - n);
	c->in_len -= n;
}

/* Serve every complete request in the input buffer while the output is
 * below its high-water mark; then reject an over-long request, or start
 * closing after the peer's EOF (a partial request is dropped). */
static int client_handle(const struct ctl_ctx *ctx, struct ctl_client *c)
{
	size_t start = 0;
	char *nl;
	int rc = 0;

	while (rc == 0 && !c->closing && out_pending(c) < CTL_OUT_HIGH &&
	       (nl = memchr(c->in + start, '\n', c->in_len - start)) != NULL) {
		size_t len = (size_t)(nl - (c->in + start));

		rc = client_request(ctx, c, c->in + start, len);
		start += len + 1;
	}
	consume_input(c, start);
	if (rc < 0 || c->closing || memchr(c->in, '\n', c->in_len) != NULL)
		return rc;
	if (c->in_len == sizeof(c->in)) {
		c->in_len = 0;
		return client_fail(c, "request too long (limit 65536 bytes)");
	}
	if (c->eof)
		c->closing = true;
	return 0;
}

static bool wants_input(const struct ctl_client *c)
{
	return !c->eof && !c->closing && c->in_len < sizeof(c->in) &&
	       out_pending(c) < CTL_OUT_HIGH;
}

static int client_read(struct ctl_client *c, uint64_t now)
{
	while (wants_input(c)) {
		ssize_t n = recv(c->fd, c->in + c->in_len,
				 sizeof(c->in) - c->in_len, 0);

		if (n > 0) {
			c->in_len += (size_t)n;
			c->last_active_ns = now;
		} else if (n == 0) {
			c->eof = true;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			return 0;
		} else if (errno != EINTR) {
			return -errno;
		}
	}
	return 0;
}

static int client_flush(struct ctl_client *c, uint64_t now)
{
	while (out_pending(c) > 0) {
		ssize_t n = send(c->fd, c->out + c->out_off, out_pending(c),
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n > 0) {
			c->out_off += (size_t)n;
			c->last_active_ns = now;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			return 0;
		} else if (n == 0 || errno != EINTR) {
			return n == 0 ? -EIO : -errno;
		}
	}
	c->out_off = c->out_len = 0;
	if (c->out_cap > CTL_OUT_KEEP) {
		free(c->out);
		c->out = NULL;
		c->out_cap = 0;
	}
	return 0;
}

/* ---- connections --------------------------------------------------------- */

static void drop_client(struct ctl_ctx *ctx, unsigned i)
{
	struct ctl_client *c = ctx->client[i];

	close(c->fd);
	free(c->out);
	free(c);
	ctx->client[i] = NULL;
}

/* Read, answer, write: whatever client I is ready for. */
static void serve_client(struct ctl_ctx *ctx, unsigned i, short revents,
			 uint64_t now)
{
	struct ctl_client *c = ctx->client[i];
	int rc = 0;

	ctx->peer = &c->cred;
	if (revents & (POLLIN | POLLHUP | POLLERR))
		rc = client_read(c, now);
	if (rc == 0)
		rc = client_flush(c, now);
	if (rc == 0)
		rc = client_handle(ctx, c);
	if (rc == 0)
		rc = client_flush(c, now);
	ctx->peer = NULL;
	if (rc < 0 || (c->closing && out_pending(c) == 0))
		drop_client(ctx, i);
}

static int free_slot(const struct ctl_ctx *ctx)
{
	for (unsigned i = 0; i < CTL_MAX_CLIENTS; i++)
		if (ctx->client[i] == NULL)
			return (int)i;
	return -1;
}

/* Best effort: tell a client we have no room for it, then hang up. */
static void refuse_client(int fd)
{
	static const char msg[] = "{\"ok\":false,\"error\":\"too many clients\"}\n";

	CTL_LOG(WARNING, "refusing a client: %d already connected",
		CTL_MAX_CLIENTS);
	if (send(fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		CTL_LOG(DEBUG, "refusal not sent: %s", strerror(errno));
	close(fd);
}

static void add_client(struct ctl_ctx *ctx, int fd, uint64_t now)
{
	int slot = free_slot(ctx);
	struct ctl_client *c;

	if (slot < 0) {
		refuse_client(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		CTL_LOG(ERR, "no memory for a client");
		close(fd);
		return;
	}
	c->fd = fd;
	c->last_active_ns = now;
	socklen_t len = sizeof(c->cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c->cred, &len) < 0)
		c->cred = (struct ucred){.pid = 0, .uid = (uid_t)-1, .gid = (gid_t)-1};
	ctx->client[slot] = c;
	serve_client(ctx, (unsigned)slot, POLLIN, now);
}

/* accept() without relying on _GNU_SOURCE's accept4(): a non-blocking,
 * close-on-exec connection or -errno. */
static int accept_nonblock(int listen_fd)
{
	int fd = accept(listen_fd, NULL, NULL);
	int flags;

	if (fd < 0)
		return -errno;
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
		int rc = -errno;

		close(fd);
		return rc;
	}
	return fd;
}

/* Accept what is waiting, a bounded number per round. */
static void accept_clients(struct ctl_ctx *ctx, uint64_t now)
{
	for (unsigned n = 0; n <= CTL_MAX_CLIENTS; n++) {
		int fd = accept_nonblock(ctx->listen_fd);

		if (fd >= 0) {
			add_client(ctx, fd, now);
		} else if (fd == -EAGAIN || fd == -EWOULDBLOCK) {
			return;
		} else if (fd != -EINTR && fd != -ECONNABORTED) {
			CTL_LOG(ERR, "accept: %s", strerror(-fd));
			return;
		}
	}
}

static void expire_idle(struct ctl_ctx *ctx, uint64_t now)
{
	for (unsigned i = 0; i < CTL_MAX_CLIENTS; i++) {
		struct ctl_client *c = ctx->client[i];

		if (c != NULL && now - c->last_active_ns > CTL_IDLE_NS) {
			CTL_LOG(INFO, "closing a client idle for 60 s");
			drop_client(ctx, i);
		}
	}
}

static short client_events(const struct ctl_client *c)
{
	return (short)((wants_input(c) ? POLLIN : 0) |
		       (out_pending(c) > 0 ? POLLOUT : 0));
}

/* pfd[0] is the listening socket, pfd[1] the HTTP listener (-1: none);
 * pfd[k] is client slot[k] for k > 1. */
static unsigned fill_pollfds(const struct ctl_ctx *ctx, struct pollfd *pfd,
			     unsigned *slot)
{
	unsigned n = 2;

	pfd[0] = (struct pollfd){.fd = ctx->listen_fd, .events = POLLIN};
	pfd[1] = (struct pollfd){.fd = http_fd(ctx), .events = POLLIN};
	for (unsigned i = 0; i < CTL_MAX_CLIENTS; i++) {
		if (ctx->client[i] == NULL)
			continue;
		pfd[n] = (struct pollfd){.fd = ctx->client[i]->fd,
					 .events = client_events(ctx->client[i])};
		slot[n++] = i;
	}
	return n;
}

int ctl_poll(struct ctl_ctx *ctx, int timeout_ms)
{
	struct pollfd pfd[CTL_MAX_CLIENTS + 2];
	unsigned slot[CTL_MAX_CLIENTS + 2];
	unsigned n;
	uint64_t now;

	if (ctx->listen_fd < 0)
		return -EBADF;
	n = fill_pollfds(ctx, pfd, slot);
	if (poll(pfd, n, timeout_ms) < 0)
		return errno == EINTR ? 0 : -errno;
	now = now_ns();
	for (unsigned k = 2; k < n; k++)
		if (pfd[k].revents != 0)
			serve_client(ctx, slot[k], pfd[k].revents, now);
	http_run(ctx);
	if (pfd[0].revents & POLLIN)
		accept_clients(ctx, now);
	expire_idle(ctx, now);
	return 0;
}

/* ---- the listening socket ------------------------------------------------ */

/* mkdir -p DIR (modified in place and restored); new directories get
 * CTL_DIR_MODE whatever the umask. */
static int make_dirs(char *dir)
{
	for (char *p = dir + 1;; p++) {
		char saved = *p;

		if (saved != '/' && saved != '\0')
			continue;
		*p = '\0';
		if (mkdir(dir, CTL_DIR_MODE) == 0) {
			if (chmod(dir, CTL_DIR_MODE) < 0) {
				*p = saved;
				return -errno;
			}
		} else if (errno != EEXIST) {
			*p = saved;
			return -errno;
		}
		*p = saved;
		if (saved == '\0')
			return 0;
	}
}

static int make_parent_dir(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir)
		return 0;
	*slash = '\0';
	return make_dirs(dir);
}

/* 0 when nothing answers at SA (stale), -EADDRINUSE when a server does. */
static int probe_socket(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int rc = 0;

	if (fd < 0)
		return -errno;
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0 ||
	    errno == EAGAIN)
		rc = -EADDRINUSE;
	else if (errno != ECONNREFUSED && errno != ENOENT)
		rc = -errno;
	close(fd);
	return rc;
}

/* Unlink a socket left behind by a dead server; refuse to touch anything
 * else, or a socket that a live server still answers on. */
static int remove_stale_socket(const struct sockaddr_un *sa)
{
	struct stat st;
	int rc;

	if (lstat(sa->sun_path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	rc = probe_socket(sa);
	if (rc == 0 && unlink(sa->sun_path) < 0 && errno != ENOENT)
		rc = -errno;
	return rc;
}

/* A listening socket bound at SA with mode CTL_SOCK_MODE, or -errno. */
static int listen_on(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int rc;

	if (fd < 0)
		return -errno;
	if (bind(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	/* Nobody can connect before listen(), so the mode is set in time. */
	if (chmod(sa->sun_path, CTL_SOCK_MODE) < 0 || listen(fd, CTL_BACKLOG) < 0) {
		rc = -errno;
		unlink(sa->sun_path);
		close(fd);
		return rc;
	}
	return fd;
}

static int socket_address(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (path[0] == '\0')
		return -EINVAL;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	memcpy(sa->sun_path, path, strlen(path) + 1);
	return 0;
}

int ctl_open(struct ctl_ctx *ctx)
{
	struct sockaddr_un sa;
	int rc;

	ctx->listen_fd = -1;
	memset(ctx->client, 0, sizeof(ctx->client));
	ctx->http = NULL;
	if (ctx->started_ns == 0)
		ctx->started_ns = now_ns();
	rc = socket_address(ctx->conf->ctl_socket, &sa);
	if (rc == 0)
		rc = make_parent_dir(sa.sun_path);
	if (rc == 0)
		rc = remove_stale_socket(&sa);
	if (rc == 0)
		rc = listen_on(&sa);
	if (rc < 0)
		return rc; /* the caller reports it, with the path */
	ctx->listen_fd = rc;
	CTL_LOG(INFO, "listening on %s", ctx->conf->ctl_socket);
	rc = http_open(ctx);
	if (rc == 0 && ctl_telemetry_register(ctx) < 0)
		CTL_LOG(WARNING, "DPDK telemetry commands not registered");
	if (rc < 0)
		ctl_close(ctx); /* the caller reports it */
	return rc;
}

void ctl_close(struct ctl_ctx *ctx)
{
	ctl_telemetry_unregister();
	http_close(ctx);
	for (unsigned i = 0; i < CTL_MAX_CLIENTS; i++)
		if (ctx->client[i] != NULL)
			drop_client(ctx, i);
	if (ctx->listen_fd < 0)
		return;
	close(ctx->listen_fd);
	ctx->listen_fd = -1;
	if (unlink(ctx->conf->ctl_socket) < 0 && errno != ENOENT)
		CTL_LOG(WARNING, "cannot remove %s: %s", ctx->conf->ctl_socket,
			strerror(errno));
}
