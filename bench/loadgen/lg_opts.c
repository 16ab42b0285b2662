/*
 * lg_opts: getopt_long over sluice-bench's options, each value checked by
 * the lg_spec parsers.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "bench/loadgen/lg_opts.h"

static const char usage[] =
"usage: sluice-bench [OPTIONS]\n"
"  -S, --server A.B.C.D[:PORT]  the SMTP server (127.0.0.1:25)\n"
"  -c, --sessions N             concurrent sessions (10)\n"
"  -m, --per-session N          messages per session (10)\n"
"  -r, --rcpts N                recipients per message (1)\n"
"  -s, --size SPEC              size, or distribution: 1k | 1k:70,50k:30 (1k)\n"
"      --sample-dir DIR         send the files of DIR instead\n"
"  -n, --count N                messages in all (1000)\n"
"  -d, --duration T             or run for T (10s, 500ms, 2m)\n"
"      --rate N                 messages/s over all sessions (open: as fast as\n"
"                               replies come)\n"
"      --no-pipelining          one command at a time even if offered\n"
"      --starttls               STARTTLS before the first message\n"
"      --cafile FILE            trust FILE's certificates for STARTTLS\n"
"      --tls-name NAME          the name the certificate must carry (the address)\n"
"      --from ADDR              envelope sender (bench@sluice-bench.test)\n"
"      --to-domain DOMAIN       recipients rcptN@DOMAIN (example.com)\n"
"      --helo NAME              EHLO name (sluice-bench.test)\n"
"      --timeout T              per reply (30s)\n"
"      --seed N                 for the size choice (1)\n"
"      --json                   the final report as JSON\n"
"      --memif SOCKET,A.B.C.D/P Sluice's own TCP over DPDK memif instead of\n"
"                               kernel sockets, from A.B.C.D on the memif whose\n"
"                               control socket the gateway serves at SOCKET\n"
"      --sink-memif SOCKET,A.B.C.D/P  also be the smart-host sink, on this\n"
"                               second memif, at A.B.C.D:--sink-port (25)\n"
"      --sink-wait T            after the load, wait up to T for the sink to\n"
"                               get every accepted message (10s)\n"
"      --lcore N                the memif poll loop's CPU (0)\n"
"      --idle-sleep US          sleep US after an empty poll round, for a core\n"
"                               shared with the kernel's work (0: spin)\n"
"  -q, --quiet                  no progress line\n";

enum {
	OPT_SAMPLE = 256, OPT_RATE, OPT_NOPIPE, OPT_STARTTLS, OPT_CAFILE,
	OPT_TLSNAME, OPT_FROM, OPT_TODOMAIN, OPT_HELO, OPT_TIMEOUT, OPT_SEED,
	OPT_JSON, OPT_MEMIF, OPT_SINK_MEMIF, OPT_SINK_PORT, OPT_SINK_WAIT, OPT_LCORE, OPT_IDLE,
};

static const struct option longopts[] = {
	{"server", required_argument, NULL, 'S'},
	{"sessions", required_argument, NULL, 'c'},
	{"per-session", required_argument, NULL, 'm'},
	{"rcpts", required_argument, NULL, 'r'},
	{"size", required_argument, NULL, 's'},
	{"sample-dir", required_argument, NULL, OPT_SAMPLE},
	{"count", required_argument, NULL, 'n'},
	{"duration", required_argument, NULL, 'd'},
	{"rate", required_argument, NULL, OPT_RATE},
	{"no-pipelining", no_argument, NULL, OPT_NOPIPE},
	{"starttls", no_argument, NULL, OPT_STARTTLS},
	{"cafile", required_argument, NULL, OPT_CAFILE},
	{"tls-name", required_argument, NULL, OPT_TLSNAME},
	{"from", required_argument, NULL, OPT_FROM},
	{"to-domain", required_argument, NULL, OPT_TODOMAIN},
	{"helo", required_argument, NULL, OPT_HELO},
	{"timeout", required_argument, NULL, OPT_TIMEOUT},
	{"seed", required_argument, NULL, OPT_SEED},
	{"json", no_argument, NULL, OPT_JSON},
	{"memif", required_argument, NULL, OPT_MEMIF},
	{"sink-memif", required_argument, NULL, OPT_SINK_MEMIF},
	{"sink-port", required_argument, NULL, OPT_SINK_PORT},
	{"sink-wait", required_argument, NULL, OPT_SINK_WAIT},
	{"lcore", required_argument, NULL, OPT_LCORE},
	{"idle-sleep", required_argument, NULL, OPT_IDLE},
	{"quiet", no_argument, NULL, 'q'},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

/* "A.B.C.D[:PORT]" into SA. */
static int parse_server(const char *s, struct sockaddr_in *sa)
{
	char host[INET_ADDRSTRLEN];
	const char *colon = strchr(s, ':');
	size_t hlen = colon != NULL ? (size_t)(colon - s) : strlen(s);
	uint64_t port = 25;

	if (hlen == 0 || hlen >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
		return -EINVAL;
	if (colon != NULL && lg_parse_uint(colon + 1, 65535, &port) < 0)
		return -EINVAL;
	sa->sin_port = htons((uint16_t)port);
	return 0;
}

static void defaults(struct lg_opts *o)
{
	memset(o, 0, sizeof(*o));
	parse_server("127.0.0.1:25", &o->server);
	o->sessions = 10;
	o->per_session = 10;
	o->rcpts = 1;
	lg_parse_sizes("1k", &o->sizes);
	o->timeout_us = 30000000;
	o->seed = 1;
	o->pipelining = true;
	o->from = "bench@sluice-bench.test";
	o->to_domain = "example.com";
	o->helo = "sluice-bench.test";
	o->sink_port = 25;
	o->sink_wait_us = 10000000;
}

/* The value V of option C into O; 0 or a negative errno. */
static int take(struct lg_opts *o, int c, const char *v)
{
	uint64_t u = 0;
	int rc = 0;

	switch (c) {
	case 'S': return parse_server(v, &o->server);
	case 'c': rc = lg_parse_uint(v, 100000, &u); o->sessions = (unsigned)u; break;
	case 'm': rc = lg_parse_uint(v, 1000000000, &u); o->per_session = (unsigned)u; break;
	case 'r': rc = lg_parse_uint(v, 1000, &u); o->rcpts = (unsigned)u; break;
	case 's': return lg_parse_sizes(v, &o->sizes);
	case 'n': rc = lg_parse_uint(v, UINT64_MAX / 2, &o->count); break;
	case 'd': return lg_parse_duration(v, &o->duration_us);
	case OPT_RATE: return lg_parse_uint(v, 10000000, &o->rate);
	case OPT_TIMEOUT: return lg_parse_duration(v, &o->timeout_us);
	case OPT_SEED: return lg_parse_uint(v, UINT64_MAX / 2, &o->seed);
	case OPT_MEMIF: o->memif = true; return lg_parse_net(v, &o->net);
	case OPT_SINK_MEMIF: o->sink = true; return lg_parse_net(v, &o->sink_net);
	case OPT_SINK_PORT: rc = lg_parse_uint(v, 65535, &u); o->sink_port = (uint16_t)u; break;
	case OPT_SINK_WAIT: return lg_parse_duration(v, &o->sink_wait_us);
	case OPT_LCORE:
	case OPT_IDLE:
		/* 0 is a valid choice: "0" does not pass lg_parse_uint */
		rc = strcmp(v, "0") == 0 ? 0 : lg_parse_uint(v, c == OPT_LCORE ? 1023 : 1000000, &u);
		*(c == OPT_LCORE ? &o->lcore : &o->idle_sleep_us) = (unsigned)u;
		break;
	case OPT_SAMPLE: o->sample_dir = v; break;
	case OPT_CAFILE: o->cafile = v; break;
	case OPT_TLSNAME: o->tls_name = v; break;
	case OPT_FROM: o->from = v; break;
	case OPT_TODOMAIN: o->to_domain = v; break;
	case OPT_HELO: o->helo = v; break;
	}
	return rc;
}

int lg_opts_parse(int argc, char **argv, struct lg_opts *o, char *err, size_t errlen)
{
	int c, idx;

	defaults(o);
	optind = 0; /* glibc: a full restart, so the tests can call it again */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "S:c:m:r:s:n:d:qh", longopts, &idx)) != -1) {
		switch (c) {
		case 'h':
			fputs(usage, stdout);
			return 1;
		case 'q': o->quiet = true; break;
		case OPT_NOPIPE: o->pipelining = false; break;
		case OPT_STARTTLS: o->starttls = true; break;
		case OPT_JSON: o->json = true; break;
		case '?':
			snprintf(err, errlen, "unknown option or missing value: %s",
				 argv[optind - 1]);
			return -EINVAL;
		default:
			if (take(o, c, optarg) < 0) {
				snprintf(err, errlen, "bad value: '%s'", optarg);
				return -EINVAL;
			}
		}
	}
	if (optind < argc) {
		snprintf(err, errlen, "unexpected argument: %s", argv[optind]);
		return -EINVAL;
	}
	if (o->count != 0 && o->duration_us != 0) {
		snprintf(err, errlen, "--count and --duration exclude each other");
		return -EINVAL;
	}
	if (o->count == 0 && o->duration_us == 0)
		o->count = 1000;
	if (o->sink && !o->memif) {
		snprintf(err, errlen, "--sink-memif needs --memif");
		return -EINVAL;
	}
	if ((o->cafile != NULL || o->tls_name != NULL) && !o->starttls) {
		snprintf(err, errlen, "--cafile and --tls-name need --starttls");
		return -EINVAL;
	}
	return 0;
}
