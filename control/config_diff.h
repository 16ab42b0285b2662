/*
 * config_diff: what differs between the running configuration and a newly
 * loaded one, key by key, and whether a reload can apply each difference
 * or only a restart can (ports, cores, EAL, spool, TCP sizes, the control
 * socket...).  Pure: two struct conf in, a list of key names out.
 */
#ifndef SLUICE_CONTROL_CONFIG_DIFF_H
#define SLUICE_CONTROL_CONFIG_DIFF_H

#include <stdbool.h>

#include "control/config.h"

#define CONF_CHANGES_MAX 64

struct conf_change {
	const char *key;      /* "smtp.allow", "ports", "relay.routes"... */
	bool restart;         /* a reload cannot apply it */
};

/* The keys whose values differ between OLD and NEW, in a fixed order, at
 * most MAX of them; returns how many. */
unsigned conf_diff(const struct conf *old, const struct conf *new,
		   struct conf_change *out, unsigned max);

/* Join the keys of CH[0..n) with RESTART as given into BUF ("a, b");
 * returns how many were joined. */
unsigned conf_changes_join(const struct conf_change *ch, unsigned n,
			   bool restart, char *buf, size_t len);

#endif
