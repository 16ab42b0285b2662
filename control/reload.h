/*
 * reload: changing the running configuration without a restart.  A reload
 * (sluicectl reload, SIGHUP) reads the config file again, validates it
 * completely, refuses any change a reload cannot apply (config_diff),
 * builds a new snapshot and publishes it; an allow-list change (sluicectl
 * allow add/remove) edits smtp.allow_file the same way, writing the file
 * back durably before publishing.  Each outcome is one log line naming who
 * asked, the versions and what changed.  Runs on the main lcore only.
 */
#ifndef SLUICE_CONTROL_RELOAD_H
#define SLUICE_CONTROL_RELOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "control/snapshot.h"

struct reload {
	const char *path;          /* the config file */
	struct snap_pub *pub;
	struct authd *authd;       /* passed to every snapshot */
	FILE *log;                 /* where the log lines go */
	uint64_t reloads, refused; /* counts, for status */
	/* Called with each snapshot right after it is published (NULL: none). */
	void (*published)(void *arg, struct snap *s);
	void *arg;
};

/* Reload the config file; WHO names the requester in the log ("signal
 * SIGHUP", "uid 0 (root) pid 42").  0 with a summary in MSG, or a
 * negative errno with the reason (FILE:LINE: KEY: ... for a bad file,
 * the keys that need a restart) in MSG; then nothing changed. */
int reload_config(struct reload *r, const char *who, char *msg, size_t len);

/* Add or remove CIDR in smtp.allow_file, live and on disk.  Same
 * contract as reload_config(). */
int reload_allow(struct reload *r, bool add, const char *cidr, const char *who,
		 char *msg, size_t len);

#endif
