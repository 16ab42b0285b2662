/*
 * config: loading and validating sluiced's configuration file (libconfig
 * syntax) into a plain, immutable struct conf.  Every error names the file,
 * the line and the key ("FILE:LINE: KEY: message").  Owns nothing at run
 * time: the caller keeps the struct and frees it with conf_free().
 */
#ifndef SLUICE_CONTROL_CONFIG_H
#define SLUICE_CONTROL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "control/config_http.h"
#include "control/config_relay.h"
#include "dataplane/tcp/tcp.h"
#include "drivers/impair.h"

#define CONF_MAX_PORTS     8
#define CONF_MAX_EAL_ARGS  64
#define CONF_NAME_LEN      32
#define CONF_DEVICE_LEN    256
#define CONF_PATH_LEN      108 /* sizeof(sun_path) */
#define CONF_ERR_LEN       512

struct conf_port {
	char name[CONF_NAME_LEN];     /* operator's name, e.g. "inside" */
	char device[CONF_DEVICE_LEN]; /* PCI address or vdev string */
	uint32_t addr;                /* IPv4, host byte order */
	uint8_t prefix;               /* 1..32 */
	uint32_t gateway;             /* IPv4 host order, 0 = none */
	uint16_t rx_desc, tx_desc;    /* descriptor ring sizes */
	bool impaired;                /* frames both ways go through impair */
	struct impair_conf impair;    /* from the "impair" spec string */
};

#define CONF_ALLOW_MAX   256
#define CONF_CIDR_LEN    64
#define CONF_HOST_LEN    256

/* What an SMTP client not on the allow list gets. */
enum conf_unknown {
	CONF_UNKNOWN_TEMPFAIL,   /* 451 4.7.1 naming it, close (default) */
	CONF_UNKNOWN_REJECT,     /* 554 5.7.1, close */
	CONF_UNKNOWN_DROP,       /* close without a word */
};

/* The inbound SMTP service. */
struct conf_smtp {
	uint16_t port;                /* 0 = no SMTP listener */
	char hostname[CONF_HOST_LEN]; /* greeting, EHLO, Received: */
	unsigned nb_allow;
	char allow[CONF_ALLOW_MAX][CONF_CIDR_LEN];  /* client networks */
	char allow_file[CONF_PATH_LEN * 4];   /* operator-managed list; "" = none */
	unsigned nb_allow_file;               /* its entries, read at load */
	char allow_file_entries[CONF_ALLOW_MAX][CONF_CIDR_LEN];
	enum conf_unknown unknown;
	bool auth;                    /* AUTH (after STARTTLS) admits unknown sources */
	char credentials[CONF_PATH_LEN * 4];  /* user:crypt-hash lines */
	char tls_cert[CONF_PATH_LEN * 4];     /* STARTTLS when both are set */
	char tls_key[CONF_PATH_LEN * 4];
	uint32_t max_message_size;    /* octets */
	uint32_t max_rcpt;            /* per transaction */
	uint32_t max_errors;          /* error replies before 421 */
	uint32_t cmd_line_max;        /* octets with CRLF (RFC floor 512) */
	uint32_t text_line_max;       /* body line (RFC floor 1000) */
	uint32_t auth_line_max;       /* AUTH lines (RFC 4954 floor 12288) */
	uint32_t cmd_timeout_s;       /* waiting for a command (floor 300) */
	uint32_t data_timeout_s;      /* between body octets (floor 180) */
	uint32_t min_data_rate;       /* octets/s over a body; 0 = none */
	uint32_t sessions;            /* per worker */
	bool normalize_bare;          /* bare CR/LF in a body: space, not 550 */
};

/* The durable spool. */
struct conf_spool {
	char dir[CONF_PATH_LEN * 4];
	uint32_t segment_mb;          /* size of a segment file */
	uint32_t segments;            /* preallocated per worker at start */
	uint32_t max_segments;        /* per worker */
	uint32_t commit_interval_us;  /* least time between commit starts */
	uint32_t commit_batch;        /* commit at once at this many */
	uint32_t memory_mb;           /* bodies kept in memory for delivery;
				       * past it they are read back from disk */
};

/* The delivery queue's bounds, per worker. */
struct conf_queue {
	uint32_t max_messages;        /* messages queued (the spool holds as many) */
	uint32_t max_recipients;      /* recipient states, all messages */
};

/* The accepted-mail log. */
struct conf_track {
	char log[CONF_PATH_LEN * 4];  /* JSON lines; "" = none */
	uint32_t log_mb;              /* rotate before a line would pass this */
	uint32_t keep;                /* rotated files kept */
	uint32_t index;               /* messages remembered for "accepted" */
};

/* The diagnostic TCP services (0 = off). */
struct conf_diag {
	uint16_t echo_port;           /* RFC 862 */
	uint16_t discard_port;        /* RFC 863 */
	bool send;                    /* sluicectl diag-send may open connections */
};

struct conf {
	char path[CONF_PATH_LEN * 4];
	char *text;                        /* owned: the file as conf_load() parsed it */
	int eal_argc;
	char *eal_argv[CONF_MAX_EAL_ARGS]; /* owned; argv[0] is "sluiced" */
	char ctl_socket[CONF_PATH_LEN];
	struct conf_track track;   /* control.track_* */
	struct conf_http http;             /* control.http: metrics and the web page */
	unsigned nb_ports;
	struct conf_port ports[CONF_MAX_PORTS];
	uint32_t arp_timeout_s;    /* reachable lifetime of an ARP entry */
	uint32_t arp_retry_ms;     /* interval between ARP requests */
	uint32_t arp_retries;      /* requests before the pending packets drop */
	uint32_t arp_pending_max;  /* packets queued per unresolved next hop */
	uint32_t arp_entries_max;  /* ARP cache size per worker */
	uint32_t idle_sleep_us;    /* worker sleep after an empty poll round; 0 = pure busy poll */
	uint32_t mbufs;            /* mbufs in the packet pool */
	struct tcp_stack_conf tcp; /* per worker */
	struct conf_diag diag;
	struct conf_smtp smtp;
	struct conf_spool spool;
	struct conf_queue queue;
	struct conf_relay relay;
};

/*
 * Load and validate PATH into *out (zeroed first).  On failure returns
 * -EINVAL (or -errno for I/O) and writes "FILE:LINE: KEY: message" into
 * err.  On success returns 0 and *out must later go to conf_free().
 */
int conf_load(const char *path, struct conf *out, char *err, size_t errlen);

/* Same, from a string; NAME stands in for the file name in errors. */
int conf_load_string(const char *text, const char *name, struct conf *out,
		     char *err, size_t errlen);

void conf_free(struct conf *c);

/* "a.b.c.d/len" → host-order address and prefix; -EINVAL when malformed. */
int conf_parse_cidr(const char *s, uint32_t *addr, uint8_t *prefix);
/* "a.b.c.d" → host-order address; -EINVAL when malformed. */
int conf_parse_ipv4(const char *s, uint32_t *addr);

#endif
