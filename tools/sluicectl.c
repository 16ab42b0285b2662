/*
 * sluicectl: the operator's command line for a running sluiced.  Sends one
 * request over the control socket (newline-delimited JSON, see
 * docs/control-protocol.md), waits at most 5 s for the response line and
 * prints it as a readable report, or as pretty JSON with --json.  Holds no
 * logic the daemon needs and links only json-c.
 *
 * Exit status: 0 success, 1 the server answered with an error, 2 usage
 * error or no usable answer (cannot connect, timeout, malformed reply).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#define SLUICECTL_DEFAULT_SOCKET "/run/sluice/sluice.sock"
#define SLUICECTL_TIMEOUT_MS     5000
#define SLUICECTL_RESPONSE_MAX   (64u << 20)

enum { EXIT_SERVER_ERROR = 1, EXIT_TROUBLE = 2 };

struct options {
	const char *socket;
	const char *command;
	char **args;                /* the command's arguments */
	int nargs;
	bool json;
	const char *since, *from, *to, *id, *limit;   /* "accepted" filters */
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: sluicectl [-s SOCKET] [--json] COMMAND [ARG...]\n"
		"\n"
		"Ask a running sluiced over its control socket.\n"
		"\n"
		"commands:\n"
		"  stats    every counter: ports, TCP, SMTP, spool, queue, relay, per worker\n"
		"  status   version, uptime, config version, ports up, workers alive\n"
		"  help     the commands the server understands\n"
		"  diag-send ADDR:PORT BYTES [CONNS]\n"
		"           open CONNS (1) connections that each send BYTES of the\n"
		"           diag pattern (needs diag.send = true)\n"
		"  accepted [--since T] [--from A] [--to A] [--id ID] [--limit N]\n"
		"           recently accepted messages: time, ID, client, sender,\n"
		"           recipients, size, TLS, status (newest N, default 100),\n"
		"           then each kept delivery attempt: time, outcome,\n"
		"           recipients, smart host, reply;\n"
		"           T is a unix time or an age such as 90s, 30m, 2h, 1d;\n"
		"           A matches any part of the address, in any case\n"
		"  queue    queued messages: state, attempts, next attempt, last reply\n"
		"  queue hold|release|delete|retry ID...\n"
		"           act on queued messages (retry: deferred ones, now)\n"
		"  reload   re-read the config file and apply it; an invalid file or a\n"
		"           change that needs a restart changes nothing\n"
		"  config   the running config: version, file, allow list\n"
		"  allow list|add CIDR|remove CIDR\n"
		"           the allow list; add and remove change smtp.allow_file,\n"
		"           live and on disk\n"
		"\n"
		"options:\n"
		"  -s, --socket SOCKET  control socket (default $SLUICE_SOCKET,\n"
		"                       else " SLUICECTL_DEFAULT_SOCKET ")\n"
		"      --json           print the result as JSON\n"
		"  -h, --help           this text\n");
}

/* 0, or an exit status for main() to return. */
static int parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{"socket", required_argument, NULL, 's'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{"since", required_argument, NULL, 'S'},
		{"from", required_argument, NULL, 'F'},
		{"to", required_argument, NULL, 'T'},
		{"id", required_argument, NULL, 'I'},
		{"limit", required_argument, NULL, 'L'},
		{NULL, 0, NULL, 0},
	};
	const char *env = getenv("SLUICE_SOCKET");
	int opt;

	o->socket = env != NULL && env[0] != '\0' ? env : SLUICECTL_DEFAULT_SOCKET;
	o->json = false;
	o->since = o->from = o->to = o->id = o->limit = NULL;
	while ((opt = getopt_long(argc, argv, "s:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 's': o->socket = optarg; break;
		case 'j': o->json = true; break;
		case 'h': usage(stdout); exit(0);
		case 'S': o->since = optarg; break;
		case 'F': o->from = optarg; break;
		case 'T': o->to = optarg; break;
		case 'I': o->id = optarg; break;
		case 'L': o->limit = optarg; break;
		default: usage(stderr); return EXIT_TROUBLE;
		}
	}
	if (optind == argc) {
		fprintf(stderr, "sluicectl: missing COMMAND\n");
		usage(stderr);
		return EXIT_TROUBLE;
	}
	o->command = argv[optind];
	o->args = argv + optind + 1;
	o->nargs = argc - optind - 1;
	return 0;
}

/* ---- talking to the server ----------------------------------------------- */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A socket connected to PATH, or -errno.  Sends (and a connect that waits
 * for a full backlog) give up after the timeout too. */
static int connect_to(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct timeval tv = {.tv_sec = SLUICECTL_TIMEOUT_MS / 1000};
	int fd, rc;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

static int send_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Add the arguments of "diag-send ADDR:PORT BYTES [CONNS]" to REQ. */
static int diag_send_args(const struct options *o, struct json_object *req)
{
	char addr[64], *colon, *end;
	unsigned long long port, bytes, conns = 1;

	if (o->nargs < 2 || o->nargs > 3 || strlen(o->args[0]) >= sizeof(addr))
		return -EINVAL;
	strcpy(addr, o->args[0]);
	if ((colon = strrchr(addr, ':')) == NULL)
		return -EINVAL;
	*colon = '\0';
	port = strtoull(colon + 1, &end, 10);
	if (*end != '\0' || colon[1] == '\0')
		return -EINVAL;
	bytes = strtoull(o->args[1], &end, 10);
	if (*end != '\0' || o->args[1][0] == '\0')
		return -EINVAL;
	if (o->nargs == 3) {
		conns = strtoull(o->args[2], &end, 10);
		if (*end != '\0' || o->args[2][0] == '\0')
			return -EINVAL;
	}
	if (json_object_object_add(req, "addr", json_object_new_string(addr)) ||
	    json_object_object_add(req, "port", json_object_new_int64((int64_t)port)) ||
	    json_object_object_add(req, "bytes", json_object_new_int64((int64_t)bytes)) ||
	    json_object_object_add(req, "conns", json_object_new_int64((int64_t)conns)))
		return -ENOMEM;
	return 0;
}

/* T as a unix time: digits, or digits and s/m/h/d for that long ago.
 * -EINVAL when it is neither. */
static int parse_since(const char *t, long long *out)
{
	static const struct { char unit; long long s; } units[] = {
		{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400},
	};
	char *end;
	long long n;

	if (t[0] < '0' || t[0] > '9')
		return -EINVAL;
	errno = 0;
	n = strtoll(t, &end, 10);
	if (errno != 0 || n > (1ll << 40))
		return -EINVAL;
	if (*end == '\0') {
		*out = n;
		return 0;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (end[0] == units[i].unit && end[1] == '\0') {
			*out = (long long)time(NULL) - n * units[i].s;
			*out = *out < 0 ? 0 : *out;
			return 0;
		}
	}
	return -EINVAL;
}

static bool has_filters(const struct options *o)
{
	return o->since != NULL || o->from != NULL || o->to != NULL ||
	       o->id != NULL || o->limit != NULL;
}

static int add_str(struct json_object *req, const char *key, const char *val)
{
	if (val == NULL)
		return 0;
	return json_object_object_add(req, key, json_object_new_string(val)) < 0
	       ? -ENOMEM : 0;
}

/* The filters of "accepted". */
static int accepted_args(const struct options *o, struct json_object *req)
{
	long long since, limit;
	char *end;

	if (o->nargs != 0)
		return -EINVAL;
	if (o->since != NULL) {
		if (parse_since(o->since, &since) < 0)
			return -EINVAL;
		if (json_object_object_add(req, "since", json_object_new_int64(since)) < 0)
			return -ENOMEM;
	}
	if (o->limit != NULL) {
		limit = strtoll(o->limit, &end, 10);
		if (*end != '\0' || o->limit[0] == '\0' || limit < 1 || limit > 10000)
			return -EINVAL;
		if (json_object_object_add(req, "limit", json_object_new_int64(limit)) < 0)
			return -ENOMEM;
	}
	if (add_str(req, "from", o->from) || add_str(req, "to", o->to) ||
	    add_str(req, "id", o->id))
		return -ENOMEM;
	return 0;
}

/* "queue" alone, or "queue ACTION ID...": sets the command name to
 * "queue-ACTION" and adds the IDs (the server checks them). */
static int queue_args(const struct options *o, struct json_object *req)
{
	static const char *const actions[] = {"hold", "release", "delete", "retry"};
	struct json_object *ids;
	char name[32];
	bool known = false;

	if (o->nargs == 0)
		return 0;
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		known = known || strcmp(o->args[0], actions[i]) == 0;
	if (!known || o->nargs < 2)
		return -EINVAL;
	snprintf(name, sizeof(name), "queue-%s", o->args[0]);
	ids = json_object_new_array();
	if (ids == NULL || json_object_object_add(req, "ids", ids) < 0) {
		json_object_put(ids);
		return -ENOMEM;
	}
	for (int i = 1; i < o->nargs; i++)
		if (json_object_array_add(ids, json_object_new_string(o->args[i])) < 0)
			return -ENOMEM;
	return json_object_object_add(req, "cmd", json_object_new_string(name)) < 0
	       ? -ENOMEM : 0;
}

/* "allow list" / "allow add|remove CIDR": the command "allow-ACTION". */
static int allow_args(const struct options *o, struct json_object *req)
{
	bool list = o->nargs == 1 && strcmp(o->args[0], "list") == 0;
	char name[32];

	if (!list && (o->nargs != 2 || (strcmp(o->args[0], "add") != 0 &&
					strcmp(o->args[0], "remove") != 0)))
		return -EINVAL;
	snprintf(name, sizeof(name), "allow-%s", o->args[0]);
	if (!list && add_str(req, "cidr", o->args[1]) < 0)
		return -ENOMEM;
	return json_object_object_add(req, "cmd", json_object_new_string(name)) < 0
	       ? -ENOMEM : 0;
}

/* The request object for the command line, or NULL with *err set. */
static struct json_object *build_request(const struct options *o, int *err)
{
	struct json_object *req = json_object_new_object();

	*err = -ENOMEM;
	if (req == NULL ||
	    json_object_object_add(req, "cmd", json_object_new_string(o->command)))
		goto fail;
	if (strcmp(o->command, "accepted") == 0)
		*err = accepted_args(o, req);
	else if (has_filters(o))
		*err = -EINVAL;
	else if (strcmp(o->command, "diag-send") == 0)
		*err = diag_send_args(o, req);
	else if (strcmp(o->command, "queue") == 0)
		*err = queue_args(o, req);
	else if (strcmp(o->command, "allow") == 0)
		*err = allow_args(o, req);
	else
		*err = o->nargs == 0 ? 0 : -EINVAL;
	if (*err == 0)
		return req;
fail:
	json_object_put(req);
	return NULL;
}

/* The request and a newline. */
static int send_request(int fd, struct json_object *req)
{
	const char *text = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
	int rc;

	if (text == NULL)
		return -ENOMEM;
	rc = send_all(fd, text, strlen(text));
	if (rc == 0)
		rc = send_all(fd, "\n", 1);
	return rc;
}

/* Wait until FD is readable or DEADLINE (ms) passes: 0, or -ETIMEDOUT. */
static int wait_readable(int fd, int64_t deadline)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};

	for (;;) {
		int64_t left = deadline - now_ms();
		int rc;

		if (left <= 0)
			return -ETIMEDOUT;
		rc = poll(&pfd, 1, (int)left);
		if (rc > 0)
			return 0;
		if (rc < 0 && errno != EINTR)
			return -errno;
	}
}

/* Double *buf's capacity, up to SLUICECTL_RESPONSE_MAX. */
static int grow(char **buf, size_t *cap)
{
	size_t ncap = *cap ? *cap * 2 : 8192;
	char *p;

	if (ncap > SLUICECTL_RESPONSE_MAX)
		return -EMSGSIZE;
	p = realloc(*buf, ncap);
	if (p == NULL)
		return -ENOMEM;
	*buf = p;
	*cap = ncap;
	return 0;
}

/* Read up to the first newline into *line (malloc'd, NUL-terminated,
 * newline removed).  -ETIMEDOUT, -EPIPE when the server hung up first,
 * -EMSGSIZE, -ENOMEM or another -errno otherwise. */
static int read_line(int fd, char **line)
{
	int64_t deadline = now_ms() + SLUICECTL_TIMEOUT_MS;
	size_t len = 0, cap = 0;
	char *buf = NULL, *nl = NULL;
	ssize_t n;
	int rc = 0;

	while (nl == NULL) {
		if (cap - len < 4096 && (rc = grow(&buf, &cap)) < 0)
			break;
		if ((rc = wait_readable(fd, deadline)) < 0)
			break;
		n = recv(fd, buf + len, cap - len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n == 0 ? -EPIPE : -errno;
			break;
		}
		nl = memchr(buf + len, '\n', (size_t)n);
		len += (size_t)n;
	}
	if (rc < 0) {
		free(buf);
		return rc;
	}
	*nl = '\0';
	*line = buf;
	return 0;
}

/* Connect, ask, and parse the response line into *resp.  0, or an exit
 * status after printing why. */
static int ask(const struct options *o, struct json_object **resp)
{
	char *line = NULL;
	int fd, rc;
	struct json_object *req = build_request(o, &rc);

	if (req == NULL) {
		fprintf(stderr, "sluicectl: %s: %s\n", o->command, rc == -EINVAL
			? "wrong arguments (see sluicectl --help)" : strerror(-rc));
		return EXIT_TROUBLE;
	}
	fd = connect_to(o->socket);
	if (fd < 0) {
		fprintf(stderr, "sluicectl: cannot connect to %s: %s\n",
			o->socket, strerror(-fd));
		json_object_put(req);
		return EXIT_TROUBLE;
	}
	rc = send_request(fd, req);
	json_object_put(req);
	if (rc == 0)
		rc = read_line(fd, &line);
	close(fd);
	if (rc == -ETIMEDOUT)
		fprintf(stderr, "sluicectl: no response from %s within %d s\n",
			o->socket, SLUICECTL_TIMEOUT_MS / 1000);
	else if (rc == -EPIPE)
		fprintf(stderr, "sluicectl: %s closed the connection without answering\n",
			o->socket);
	else if (rc < 0)
		fprintf(stderr, "sluicectl: %s: %s\n", o->socket, strerror(-rc));
	if (rc < 0)
		return EXIT_TROUBLE;
	*resp = json_tokener_parse(line);
	free(line);
	if (!json_object_is_type(*resp, json_type_object)) {
		fprintf(stderr, "sluicectl: malformed response from %s\n", o->socket);
		json_object_put(*resp);
		return EXIT_TROUBLE;
	}
	return 0;
}

/* ---- reading the result ---------------------------------------------------- */

static struct json_object *jget(struct json_object *obj, const char *key)
{
	struct json_object *val = NULL;

	json_object_object_get_ex(obj, key, &val);
	return val;
}

/* Elements in an array; 0 for anything else, including NULL. */
static size_t jlen(struct json_object *arr)
{
	return json_object_is_type(arr, json_type_array) ?
	       json_object_array_length(arr) : 0;
}

static uint64_t ju64(struct json_object *obj, const char *key)
{
	return json_object_get_uint64(jget(obj, key));
}

static const char *jstr(struct json_object *obj, const char *key,
			const char *dflt)
{
	struct json_object *val = jget(obj, key);

	return json_object_is_type(val, json_type_string) ?
	       json_object_get_string(val) : dflt;
}

static const char *jlink(struct json_object *obj)
{
	return json_object_get_boolean(jget(obj, "link_up")) ? "up" : "down";
}

static void format_duration(char *buf, size_t len, uint64_t s)
{
	uint64_t d = s / 86400, h = s / 3600 % 24, m = s / 60 % 60;

	if (d > 0)
		snprintf(buf, len, "%" PRIu64 "d %" PRIu64 "h %" PRIu64 "m %" PRIu64 "s",
			 d, h, m, s % 60);
	else if (h > 0)
		snprintf(buf, len, "%" PRIu64 "h %" PRIu64 "m %" PRIu64 "s", h, m, s % 60);
	else if (m > 0)
		snprintf(buf, len, "%" PRIu64 "m %" PRIu64 "s", m, s % 60);
	else
		snprintf(buf, len, "%" PRIu64 "s", s);
}

static void print_uptime(struct json_object *result)
{
	char up[64];

	format_duration(up, sizeof(up), ju64(result, "uptime_s"));
	printf("uptime     %s\n", up);
}

/* "    reason       n" for each nonzero drop reason. */
static void print_drops(struct json_object *drops)
{
	if (!json_object_is_type(drops, json_type_object))
		return;
	json_object_object_foreach(drops, reason, val) {
		uint64_t n = json_object_get_uint64(val);

		if (n != 0)
			printf("    %-20s %" PRIu64 "\n", reason, n);
	}
}

static void print_port(struct json_object *p)
{
	struct json_object *hw = jget(p, "hw");

	printf("\nport %s (port %" PRIu64 ", %s)\n", jstr(p, "name", "?"),
	       ju64(p, "port_id"), jstr(p, "device", "?"));
	printf("  address  %s  gateway %s\n", jstr(p, "address", "-"),
	       jstr(p, "gateway", "none"));
	printf("  mac      %s  link %s\n", jstr(p, "mac", "unknown"), jlink(p));
	printf("  rx       %" PRIu64 " packets  %" PRIu64 " bytes\n",
	       ju64(p, "rx_pkts"), ju64(p, "rx_bytes"));
	printf("  tx       %" PRIu64 " packets  %" PRIu64 " bytes\n",
	       ju64(p, "tx_pkts"), ju64(p, "tx_bytes"));
	printf("  drops    %" PRIu64 "\n", ju64(p, "drops_total"));
	print_drops(jget(p, "drops"));
	if (hw != NULL)
		printf("  hw       imissed %" PRIu64 "  ierrors %" PRIu64 "\n",
		       ju64(hw, "imissed"), ju64(hw, "ierrors"));
	else
		printf("  hw       no counters\n");
}

static void print_worker_port(struct json_object *p)
{
	printf("  %-8s rx %" PRIu64 " packets %" PRIu64 " bytes  "
	       "tx %" PRIu64 " packets %" PRIu64 " bytes  drops %" PRIu64 "\n",
	       jstr(p, "name", "?"), ju64(p, "rx_pkts"), ju64(p, "rx_bytes"),
	       ju64(p, "tx_pkts"), ju64(p, "tx_bytes"), ju64(p, "drops_total"));
	print_drops(jget(p, "drops"));
}

/* "  name n" for the numbers of OBJ, three to a line: every one when ALL,
 * else the nonzero ones (lists and strings, such as a smart host's
 * addresses, as JSON); then each nested object the same way, titled
 * TITLE.KEY, with all its numbers (maps such as queue.by_state, whose
 * zeroes say something). */
static void print_section(const char *title, struct json_object *obj, bool all)
{
	char sub[128];
	int col = 0;

	if (!json_object_is_type(obj, json_type_object))
		return;
	printf("  %s\n", title);
	json_object_object_foreach(obj, key, val) {
		uint64_t n = json_object_get_uint64(val);
		bool text = json_object_is_type(val, json_type_array) ||
			    json_object_is_type(val, json_type_string);

		if (json_object_is_type(val, json_type_object) ||
		    (!text && n == 0 && !all))
			continue;
		if (text)
			printf("%s%-20s %s", col == 0 ? "    " : "  ", key,
			       json_object_to_json_string_ext(val, JSON_C_TO_STRING_PLAIN));
		else
			printf("%s%-20s %-12" PRIu64, col == 0 ? "    " : "  ", key, n);
		if (++col == 3) {
			printf("\n");
			col = 0;
		}
	}
	if (col != 0)
		printf("\n");
	json_object_object_foreach(obj, k2, v2) {
		if (!json_object_is_type(v2, json_type_object))
			continue;
		snprintf(sub, sizeof(sub), "%s.%s", title, k2);
		print_section(sub, v2, true);
	}
}

static void print_worker(struct json_object *w)
{
	struct json_object *ports = jget(w, "ports");
	uint64_t polls = ju64(w, "polls");
	double busy = polls ? 100.0 * (double)ju64(w, "busy_polls") / (double)polls : 0.0;
	uint64_t loop = ju64(w, "loop_us");
	double load = loop ? 100.0 * (double)ju64(w, "work_us") / (double)loop : 0.0;

	printf("\nworker on lcore %" PRIu64 "\n", ju64(w, "lcore"));
	printf("  polls    %" PRIu64 "  busy %.1f%%  load %.1f%% (work %" PRIu64 " of %"
	       PRIu64 " ms)\n", polls, busy, load, ju64(w, "work_us") / 1000,
	       ju64(w, "loop_us") / 1000);
	printf("  arp      %" PRIu64 " entries  %" PRIu64 " pending\n",
	       ju64(w, "arp_entries"), ju64(w, "arp_pending"));
	printf("  tcp      %" PRIu64 " conns  %" PRIu64 " time_wait  "
	       "redirected out %" PRIu64 " in %" PRIu64 " dropped %" PRIu64 "\n",
	       ju64(jget(w, "tcp"), "conns"), ju64(jget(w, "tcp"), "time_wait"),
	       ju64(w, "tcp_redirect_out"), ju64(w, "tcp_redirect_in"),
	       ju64(w, "tcp_redirect_drops"));
	for (size_t i = 0; i < jlen(ports); i++)
		print_worker_port(json_object_array_get_idx(ports, i));
}

static void print_stats(struct json_object *result)
{
	struct json_object *ports = jget(result, "ports");
	struct json_object *workers = jget(result, "workers");

	print_uptime(result);
	for (size_t i = 0; i < jlen(ports); i++)
		print_port(json_object_array_get_idx(ports, i));
	printf("\n(all workers)\n");
	json_object_object_foreach(result, key, val)
		if (json_object_is_type(val, json_type_object))
			print_section(key, val, false);
	for (size_t i = 0; i < jlen(workers); i++)
		print_worker(json_object_array_get_idx(workers, i));
}

static void print_status(struct json_object *result)
{
	struct json_object *ports = jget(result, "ports");

	printf("version    %s\n", jstr(result, "version", "?"));
	print_uptime(result);
	printf("config     version %" PRIu64 ", %" PRIu64 " reload(s), %" PRIu64
	       " refused\n", ju64(result, "snapshot_version"), ju64(result, "reloads"),
	       ju64(result, "reloads_refused"));
	printf("workers    %" PRIu64 " of %" PRIu64 " alive\n", ju64(result, "workers_alive"),
	       ju64(result, "nb_workers"));
	printf("ports      %" PRIu64 " of %" PRIu64 " up\n", ju64(result, "ports_up"),
	       ju64(result, "nb_ports"));
	for (size_t i = 0; i < jlen(ports); i++) {
		struct json_object *p = json_object_array_get_idx(ports, i);

		printf("  %-16s link %s\n", jstr(p, "name", "?"), jlink(p));
	}
}

static void print_help(struct json_object *result)
{
	struct json_object *cmds = jget(result, "commands");

	printf("commands:\n");
	for (size_t i = 0; i < jlen(cmds); i++) {
		struct json_object *c = json_object_array_get_idx(cmds, i);

		printf("  %-10s %s\n", jstr(c, "name", "?"),
		       jstr(c, "description", ""));
	}
}

/* A unix time (seconds, fractional) as local "YYYY-MM-DD HH:MM:SS"; "-"
 * for 0. */
static void format_time(char *buf, size_t len, double t)
{
	time_t s = (time_t)t;
	struct tm tm;

	if (t <= 0 || localtime_r(&s, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(buf, len, "-");
}

static double jtime(struct json_object *obj, const char *key)
{
	return json_object_get_double(jget(obj, key));
}

/* The first recipient and how many more: "bob@example.net (+2)". */
static void format_rcpts(char *buf, size_t len, struct json_object *m)
{
	struct json_object *to = jget(m, "to");
	uint64_t n = ju64(m, "nrcpt");
	const char *first = jlen(to) > 0 ?
		json_object_get_string(json_object_array_get_idx(to, 0)) : "-";

	if (n > 1)
		snprintf(buf, len, "%s (+%" PRIu64 ")", first, n - 1);
	else
		snprintf(buf, len, "%s", first);
}

static const char *or_dash(const char *s)
{
	return s[0] != '\0' ? s : "-";
}

static const char *sender_text(struct json_object *m)
{
	const char *from = jstr(m, "from", "");

	return from[0] != '\0' ? from : "<>";
}

/* A message's delivery attempts, one indented line each, oldest first. */
static void print_attempts(struct json_object *m)
{
	struct json_object *list = jget(m, "attempts");
	uint64_t total = ju64(m, "attempts_total");
	char when[32];

	if (total > jlen(list))
		printf("    (%" PRIu64 " earlier attempts not kept)\n", total - jlen(list));
	for (size_t i = 0; i < jlen(list); i++) {
		struct json_object *a = json_object_array_get_idx(list, i);

		format_time(when, sizeof(when), jtime(a, "time"));
		printf("    %-19s  %-8s  %3" PRIu64 " rcpt  %-30s  %s\n", when,
		       jstr(a, "status", "?"), ju64(a, "nrcpt"),
		       or_dash(jstr(a, "relay", "")), jstr(a, "reply", ""));
	}
}

static void print_accepted(struct json_object *result)
{
	struct json_object *msgs = jget(result, "messages");
	char when[32], rcpts[160];

	printf("%-19s  %-16s  %-15s  %-26s  %-26s  %9s  %-7s  %s\n", "TIME", "ID",
	       "CLIENT", "SENDER", "RECIPIENTS", "SIZE", "TLS", "STATUS");
	for (size_t i = 0; i < jlen(msgs); i++) {
		struct json_object *m = json_object_array_get_idx(msgs, i);
		const char *reply = jstr(m, "reply", "");

		format_time(when, sizeof(when), jtime(m, "time"));
		format_rcpts(rcpts, sizeof(rcpts), m);
		printf("%-19s  %-16s  %-15s  %-26s  %-26s  %9" PRIu64 "  %-7s  %s",
		       when, jstr(m, "id", "?"), jstr(m, "client", "?"),
		       sender_text(m), rcpts, ju64(m, "size"), or_dash(jstr(m, "tls", "")),
		       jstr(m, "status", "?"));
		printf(reply[0] != '\0' ? " (%s)\n" : "\n", reply);
		print_attempts(m);
	}
	printf("%zu message%s\n", jlen(msgs), jlen(msgs) == 1 ? "" : "s");
}

static void print_queue(struct json_object *result)
{
	struct json_object *msgs = jget(result, "messages");
	struct json_object *workers = jget(result, "workers");
	char next[32], arrival[32], rcpts[48];
	uint64_t queued = 0;

	printf("%-16s  %-8s  %8s  %-19s  %-19s  %9s  %-9s  %-26s  %s\n", "ID", "STATE",
	       "ATTEMPTS", "ARRIVAL", "NEXT ATTEMPT", "SIZE", "PENDING", "SENDER",
	       "LAST REPLY");
	for (size_t i = 0; i < jlen(msgs); i++) {
		struct json_object *m = json_object_array_get_idx(msgs, i);
		bool inflight = json_object_get_boolean(jget(m, "inflight"));

		format_time(arrival, sizeof(arrival), jtime(m, "arrival"));
		format_time(next, sizeof(next), jtime(m, "next_attempt"));
		snprintf(rcpts, sizeof(rcpts), "%" PRIu64 "/%" PRIu64,
			 ju64(m, "pending"), ju64(m, "nrcpt"));
		printf("%-16s  %-8s  %8" PRIu64 "  %-19s  %-19s  %9" PRIu64 "  %-9s"
		       "  %-26s  %s\n", jstr(m, "id", "?"),
		       inflight ? "sending" : jstr(m, "state", "?"), ju64(m, "attempts"),
		       arrival, inflight ? "now" : next, ju64(m, "size"), rcpts,
		       sender_text(m), or_dash(jstr(m, "reply", "")));
	}
	for (size_t i = 0; i < jlen(workers); i++) {
		struct json_object *w = json_object_array_get_idx(workers, i);

		queued += ju64(w, "queued");
		if (strcmp(jstr(w, "snapshot", "ok"), "ok") != 0)
			printf("worker %" PRIu64 ": snapshot %s\n", ju64(w, "worker"),
			       jstr(w, "snapshot", "?"));
	}
	printf("%" PRIu64 " message%s queued, %zu listed\n", queued,
	       queued == 1 ? "" : "s", jlen(msgs));
}

/* The outcome of a queue action (the IDs the server took, as text unless
 * JSON is asked for; the refused ones on stderr): 0, or
 * EXIT_SERVER_ERROR when some IDs were refused. */
static int print_queue_action(struct json_object *result, bool json)
{
	struct json_object *posted = jget(result, "posted");
	struct json_object *refused = jget(result, "refused");

	for (size_t i = 0; !json && i < jlen(posted); i++)
		printf("%s: requested\n",
		       json_object_get_string(json_object_array_get_idx(posted, i)));
	for (size_t i = 0; i < jlen(refused); i++) {
		struct json_object *r = json_object_array_get_idx(refused, i);

		fprintf(stderr, "sluicectl: %s: %s\n", jstr(r, "id", "?"),
			jstr(r, "reason", "refused"));
	}
	return jlen(refused) > 0 ? EXIT_SERVER_ERROR : 0;
}

static void print_json(struct json_object *result)
{
	printf("%s\n", json_object_to_json_string_ext(result,
		JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
		JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* "allow list": one entry a line, with where it comes from. */
static void print_allow(struct json_object *result)
{
	struct json_object *allow = jget(result, "allow");
	const char *file = jstr(result, "allow_file", "");

	printf("# config version %" PRIu64 "; allow file: %s\n", ju64(result, "version"),
	       file[0] ? file : "(none: smtp.allow_file is not set)");
	for (size_t i = 0; i < jlen(allow); i++) {
		struct json_object *e = json_object_array_get_idx(allow, i);

		printf("%-44s %s\n", jstr(e, "cidr", "?"),
		       strcmp(jstr(e, "source", ""), "file") == 0 ? file : "smtp.allow");
	}
}

/* "config": the file text as loaded, under a header, then the allow file. */
static void print_config(struct json_object *result)
{
	char when[32];
	const char *text = jstr(result, "text", "");

	format_time(when, sizeof(when), (double)ju64(result, "loaded"));
	printf("# %s, config version %" PRIu64 ", loaded %s\n", jstr(result, "path", "?"),
	       ju64(result, "version"), when);
	fputs(text, stdout);
	if (text[0] != '\0' && text[strlen(text) - 1] != '\n')
		putchar('\n');
	printf("\n# allow list in force:\n");
	print_allow(result);
}

/* Print RESULT; the exit status. */
static int print_result(const struct options *o, struct json_object *result)
{
	if (strcmp(o->command, "queue") == 0 && o->nargs > 0) {
		int rc = print_queue_action(result, o->json);

		if (o->json)
			print_json(result);
		return rc;
	}
	if (o->json)
		print_json(result);
	else if (strcmp(o->command, "accepted") == 0)
		print_accepted(result);
	else if (strcmp(o->command, "queue") == 0)
		print_queue(result);
	else if (strcmp(o->command, "stats") == 0)
		print_stats(result);
	else if (strcmp(o->command, "status") == 0)
		print_status(result);
	else if (strcmp(o->command, "help") == 0)
		print_help(result);
	else if (strcmp(o->command, "config") == 0)
		print_config(result);
	else if (strcmp(o->command, "allow") == 0 && strcmp(o->args[0], "list") == 0)
		print_allow(result);
	else if (strcmp(o->command, "reload") == 0 || strcmp(o->command, "allow") == 0)
		printf("%s\n", jstr(result, "message", "done"));
	else
		print_json(result);
	return 0;
}

int main(int argc, char **argv)
{
	struct options o;
	struct json_object *resp = NULL;
	int rc = parse_args(argc, argv, &o);

	if (rc == 0)
		rc = ask(&o, &resp);
	if (rc != 0)
		return rc;
	if (!json_object_get_boolean(jget(resp, "ok"))) {
		fprintf(stderr, "sluicectl: %s\n",
			jstr(resp, "error", "the server reported an unspecified error"));
		rc = EXIT_SERVER_ERROR;
	} else {
		rc = print_result(&o, jget(resp, "result"));
	}
	json_object_put(resp);
	if (fflush(stdout) != 0) {
		fprintf(stderr, "sluicectl: writing the output: %s\n", strerror(errno));
		rc = EXIT_TROUBLE;
	}
	return rc;
}
