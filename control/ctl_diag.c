/*
 * ctl_diag: the control socket's "diag-send" command — validates its
 * arguments and hands the work to the daemon's hook, which spreads the
 * connections over the workers.  The outcome shows in the "diag" counters
 * of "stats" and in sluiced's log.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "control/ctl.h"

#define DIAG_MAX_CONNS 100000u

/* Member KEY of REQ as an integer in LO..HI. */
static int get_int(struct json_object *req, const char *key, uint64_t lo,
		   uint64_t hi, uint64_t *out, char *err, size_t errlen)
{
	struct json_object *v;
	int64_t n;

	if (!json_object_object_get_ex(req, key, &v) ||
	    !json_object_is_type(v, json_type_int)) {
		snprintf(err, errlen, "\"%s\" must be an integer", key);
		return -EINVAL;
	}
	n = json_object_get_int64(v);
	if (n < 0 || (uint64_t)n < lo || (uint64_t)n > hi) {
		snprintf(err, errlen, "\"%s\" must be %llu..%llu", key,
			 (unsigned long long)lo, (unsigned long long)hi);
		return -EINVAL;
	}
	*out = (uint64_t)n;
	return 0;
}

struct json_object *ctl_diag_send_json(const struct ctl_ctx *ctx,
				       struct json_object *req, char *err,
				       size_t errlen)
{
	struct json_object *addr, *res;
	uint64_t port, bytes, conns = 1;
	uint32_t raddr;
	int rc;

	if (!ctx->conf->diag.send || ctx->hooks.diag_send == NULL) {
		snprintf(err, errlen, "diag.send is off in the configuration");
		return NULL;
	}
	if (!json_object_object_get_ex(req, "addr", &addr) ||
	    !json_object_is_type(addr, json_type_string) ||
	    conf_parse_ipv4(json_object_get_string(addr), &raddr) < 0) {
		snprintf(err, errlen, "\"addr\" must be an IPv4 address string");
		return NULL;
	}
	if (get_int(req, "port", 1, 65535, &port, err, errlen) < 0 ||
	    get_int(req, "bytes", 0, UINT64_C(1) << 40, &bytes, err, errlen) < 0)
		return NULL;
	if (json_object_object_get_ex(req, "conns", NULL) &&
	    get_int(req, "conns", 1, DIAG_MAX_CONNS, &conns, err, errlen) < 0)
		return NULL;
	rc = ctx->hooks.diag_send(ctx->hooks.arg, raddr, (uint16_t)port,
				  (uint32_t)conns, bytes);
	if (rc < 0) {
		snprintf(err, errlen, "%s", strerror(-rc));
		return NULL;
	}
	res = json_object_new_object();
	if (res != NULL && json_object_object_add(res, "started",
						  json_object_new_uint64(conns)) < 0) {
		json_object_put(res);
		return NULL;
	}
	return res;
}
