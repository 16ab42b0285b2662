/*
 * config_impl: what the config loader's section files share — the error
 * sink and the typed getters that turn a libconfig setting into a checked
 * value or a "FILE:LINE: KEY: message" error.  Internal to control/config*.c.
 */
#ifndef SLUICE_CONTROL_CONFIG_IMPL_H
#define SLUICE_CONTROL_CONFIG_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libconfig.h>

#include "control/config.h"

#define CONF_ANY_LEN ((size_t)-1) /* conf_get_string: no length limit */

/* Where errors go, and what they name as FILE. */
struct loader {
	const char *name;
	char *err;
	size_t errlen;
};

/* One optional integer key of a group, stored through a uint32_t. */
struct conf_uint_key {
	const char *name;
	uint32_t lo, hi, dflt;
	uint32_t *dst;
};

/* An error in the value of setting S; returns -EINVAL. */
__attribute__((format(printf, 3, 4)))
int conf_fail_at(const struct loader *ld, const config_setting_t *s,
		 const char *fmt, ...);
int conf_check_keys(const struct loader *ld, const config_setting_t *group,
		    const char *const *known);
int conf_get_member(const struct loader *ld, const config_setting_t *group,
		    const char *name, bool required, const config_setting_t **out);
int conf_need_type(const struct loader *ld, const config_setting_t *s,
		   int type, const char *what);
/* Optional integer NAME of GROUP (DFLT when absent, or when GROUP is NULL)
 * in LO..HI; *WHERE is the setting, or NULL when absent. */
int conf_get_uint(const struct loader *ld, const config_setting_t *group,
		  const char *name, uint32_t lo, uint32_t hi, uint32_t dflt,
		  uint32_t *out, const config_setting_t **where);
int conf_get_uints(const struct loader *ld, const config_setting_t *g,
		   const struct conf_uint_key *k, size_t n);
/* String NAME of GROUP, non-empty and shorter than SIZE bytes; *OUT stays
 * NULL when it is optional and absent. */
int conf_get_string(const struct loader *ld, const config_setting_t *group,
		    const char *name, bool required, size_t size,
		    const char **out, const config_setting_t **where);
/* Optional boolean NAME of GROUP (false when absent). */
int conf_get_bool(const struct loader *ld, const config_setting_t *group,
		  const char *name, bool *out);
/* Optional group NAME of GROUP holding only KNOWN keys; NULL when absent. */
int conf_get_group(const struct loader *ld, const config_setting_t *group,
		   const char *name, bool required, const char *const *known,
		   const config_setting_t **out);

/* The sections kept in files of their own. */
int conf_load_tcp(const struct loader *ld, const config_setting_t *root,
		  struct conf *out);
int conf_load_diag(const struct loader *ld, const config_setting_t *root,
		   struct conf *out);
int conf_load_smtp(const struct loader *ld, const config_setting_t *root,
		   struct conf *out);
int conf_load_spool(const struct loader *ld, const config_setting_t *root,
		    struct conf *out);
int conf_load_http(const struct loader *ld, const config_setting_t *control,
		   struct conf *out);
int conf_load_queue(const struct loader *ld, const config_setting_t *root,
		    struct conf *out);
int conf_load_relay(const struct loader *ld, const config_setting_t *root,
		    struct conf *out);

#endif
