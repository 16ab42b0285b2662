/*
 * allow_file: the operator-managed allow list (smtp.allow_file) — one
 * client network per line (IPv4/IPv6 CIDR or address), '#' comments and
 * blank lines ignored, entries kept in canonical form.  Parsing names
 * FILE:LINE in every error; writing replaces the file atomically (a
 * temporary file in the same directory, fsync, rename, fsync of the
 * directory), so a crash leaves the old list or the new one, never a mix.
 * The main configuration file is never rewritten.
 */
#ifndef SLUICE_CONTROL_ALLOW_FILE_H
#define SLUICE_CONTROL_ALLOW_FILE_H

#include <stddef.h>

#include "control/config.h"

/* Parse TEXT[len] (NAME stands for the file in errors) into ENTRIES
 * (canonical CIDRs), at most MAX.  0 with *N set, or -EINVAL with
 * "NAME:LINE: smtp.allow_file: reason" in ERR. */
int allow_file_parse(const char *text, size_t len, const char *name,
		     char entries[][CONF_CIDR_LEN], unsigned max, unsigned *n,
		     char *err, size_t errlen);

/* Read and parse PATH; a file that does not exist is an empty list. */
int allow_file_read(const char *path, char entries[][CONF_CIDR_LEN],
		    unsigned max, unsigned *n, char *err, size_t errlen);

/* Replace PATH with ENTRIES[0..n) (durably, see above).  0, or -errno
 * with the reason in ERR; on failure PATH is untouched. */
int allow_file_write(const char *path, const char entries[][CONF_CIDR_LEN],
		     unsigned n, char *err, size_t errlen);

#endif
