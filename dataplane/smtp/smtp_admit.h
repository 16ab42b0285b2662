/*
 * smtp_admit: who may hand us mail.  Owns the allow list of client networks
 * (IPv4 and IPv6 CIDRs parsed from the config's strings), its rte_lpm and
 * rte_lpm6 tables, the lookup of a client address at connect, the policy
 * for sources that are not on the list, and the exact reply such a source
 * gets in place of the 220 greeting.
 *
 * Threading: the control plane builds one table per config snapshot with
 * smtp_admit_build(); from then on it is read-only and any number of
 * workers may call smtp_admit_lookup() on it concurrently without locks.
 * It is freed with smtp_admit_free() only after every worker has passed a
 * quiescent state (the snapshot's RCU rule).  Building and freeing use
 * DPDK memory (EAL must be up); parsing and formatting do not.  A table
 * with any IPv4 entry costs 64 MiB of it whatever the list's length
 * (rte_lpm's flat /24 array): that is the price of a one-read lookup.
 */
#ifndef SLUICE_DATAPLANE_SMTP_SMTP_ADMIT_H
#define SLUICE_DATAPLANE_SMTP_SMTP_ADMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A client IP address.  v4 is in host byte order, as the TCP engine keeps it;
 * v6 is the 16 bytes as on the wire. */
struct smtp_ip {
	int family; /* AF_INET or AF_INET6 */
	union {
		uint32_t v4;
		uint8_t v6[16];
	};
};

/* One parsed allow-list entry: the network address with its host bits
 * zero, and the prefix length (0..32 or 0..128). */
struct smtp_cidr {
	struct smtp_ip net;
	uint8_t depth;
};

/* Longest entry text and longest formatted CIDR, with the NUL. */
#define SMTP_CIDR_STRLEN 64
/* Room for any reply smtp_admit_reply() writes. */
#define SMTP_ADMIT_REPLY_MAX 160

enum smtp_admit_result {
	SMTP_ADMIT_ALLOWED, /* the source is on the allow list */
	SMTP_ADMIT_UNKNOWN, /* it is not: the policy decides */
};

/* What to do with a source that is not on the list. */
enum smtp_admit_action {
	SMTP_UNKNOWN_TEMPFAIL, /* 451 4.7.1 and close: the sender retries later */
	SMTP_UNKNOWN_REJECT,   /* 554 5.7.1 and close */
	SMTP_UNKNOWN_DROP,     /* close without a word */
};

struct smtp_admit_policy {
	enum smtp_admit_action unknown;
	/* An unknown source gets the 220 greeting but must AUTH before it
	 * may do anything else (the session answers 530 5.7.0 otherwise). */
	bool auth_admits_unknown;
};

#define SMTP_ADMIT_POLICY_DEFAULT \
	((struct smtp_admit_policy){.unknown = SMTP_UNKNOWN_TEMPFAIL, \
				    .auth_admits_unknown = false})

/* What the session does at connect, from a lookup result and the policy. */
enum smtp_admit_verdict {
	SMTP_ADMIT_GREET,         /* 220, full service */
	SMTP_ADMIT_GREET_AUTH,    /* 220, but nothing before a successful AUTH */
	SMTP_ADMIT_REFUSE,        /* send smtp_admit_reply(), then close */
	SMTP_ADMIT_CLOSE_SILENTLY,/* close without a reply */
};

struct smtp_admit;

/* Parses "10.0.0.0/8", "2001:db8::/32", or a bare address (/32, /128).
 * Host bits beyond the prefix are an error, as is anything else that is
 * not exactly such a string.  Returns 0, or -EINVAL with a one-line
 * message naming the entry in ERR (ERRLEN bytes, may be 0). */
int smtp_cidr_parse(const char *s, struct smtp_cidr *out, char *err,
		    size_t errlen);

/* Writes C in canonical text form ("10.0.0.0/8", "2001:db8::/32") into BUF
 * (at least SMTP_CIDR_STRLEN bytes). */
void smtp_cidr_format(const struct smtp_cidr *c, char *buf, size_t len);

/* Builds the table for one snapshot from N entry strings.  ID must differ
 * between tables alive at the same time (the snapshot generation): DPDK
 * names its tables.  SOCKET is the NUMA socket for the memory
 * (SOCKET_ID_ANY is fine).  An IPv6 entry inside ::ffff:0:0/96 also admits
 * the IPv4 addresses it maps.  Returns 0 with *OUT set, -EINVAL with a
 * message naming the first bad entry, or -ENOMEM / -rte_errno when DPDK
 * cannot create the tables (with a message too). */
int smtp_admit_build(const char *const *entries, size_t n, uint32_t id,
		     int socket, struct smtp_admit **out, char *err,
		     size_t errlen);

void smtp_admit_free(struct smtp_admit *a);

/* Is A on the list?  An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is
 * looked up as the IPv4 address it carries.  Lock-free, no allocation. */
enum smtp_admit_result smtp_admit_lookup(const struct smtp_admit *a,
					 const struct smtp_ip *addr);

enum smtp_admit_verdict smtp_admit_decide(const struct smtp_admit_policy *p,
					  enum smtp_admit_result r);

/* The reply a refused source gets instead of the greeting, CRLF included,
 * naming its address (an IPv4-mapped address as the IPv4 address), e.g.
 *   451 4.7.1 Client host 198.18.0.9 is not authorized to relay through this gateway
 * (one line; 554 5.7.1 with the same text under SMTP_UNKNOWN_REJECT).  Returns its length, 0 when the policy closes silently, or
 * -ENOSPC when LEN is too small (SMTP_ADMIT_REPLY_MAX always suffices). */
int smtp_admit_reply(const struct smtp_admit_policy *p,
		     const struct smtp_ip *addr, char *buf, size_t len);

#endif
