/*
 * ctl_reload: the control socket's configuration commands — "reload",
 * "config" (the running config and its version), "allow-list",
 * "allow-add" and "allow-remove".  The work is control/reload.c's; this
 * file checks arguments, names the requester from the socket's peer
 * credentials (SO_PEERCRED) and shapes the answers.
 */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>

#include "control/ctl.h"
#include "control/reload.h"

/* "uid 0 (root) pid 42" from the requester's credentials. */
static void who(const struct ctl_ctx *ctx, char *buf, size_t len)
{
	struct passwd pw, *found = NULL;
	char pwbuf[1024];

	if (ctx->peer == NULL) {
		snprintf(buf, len, "an unknown client");
		return;
	}
	getpwuid_r(ctx->peer->uid, &pw, pwbuf, sizeof(pwbuf), &found);
	snprintf(buf, len, "uid %u (%s) pid %d", (unsigned)ctx->peer->uid,
		 found != NULL ? found->pw_name : "?", (int)ctx->peer->pid);
}

static struct reload *reload_of(const struct ctl_ctx *ctx, char *err, size_t errlen)
{
	if (ctx->reload == NULL)
		snprintf(err, errlen, "this server cannot reload");
	return ctx->reload;
}

/* {"version": N, "message": MSG}, the answer to a change. */
static struct json_object *change_json(const struct reload *r, const char *msg)
{
	struct json_object *o = json_object_new_object();

	if (o == NULL)
		return NULL;
	if (json_object_object_add(o, "version",
			json_object_new_uint64(snap_current(r->pub)->version)) < 0 ||
	    json_object_object_add(o, "message", json_object_new_string(msg)) < 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

struct json_object *ctl_reload_json(const struct ctl_ctx *ctx,
				    struct json_object *req, char *err, size_t errlen)
{
	struct reload *r = reload_of(ctx, err, errlen);
	char by[128], msg[CONF_ERR_LEN];

	(void)req;
	if (r == NULL)
		return NULL;
	who(ctx, by, sizeof(by));
	if (reload_config(r, by, msg, sizeof(msg)) < 0) {
		snprintf(err, errlen, "%s", msg);
		return NULL;
	}
	return change_json(r, msg);
}

static struct json_object *change_allow(const struct ctl_ctx *ctx, bool add,
					struct json_object *req, char *err,
					size_t errlen)
{
	struct reload *r = reload_of(ctx, err, errlen);
	struct json_object *cidr;
	char by[128], msg[CONF_ERR_LEN];

	if (r == NULL)
		return NULL;
	if (!json_object_object_get_ex(req, "cidr", &cidr) ||
	    !json_object_is_type(cidr, json_type_string)) {
		snprintf(err, errlen, "\"cidr\" must be a string (an address or network)");
		return NULL;
	}
	who(ctx, by, sizeof(by));
	if (reload_allow(r, add, json_object_get_string(cidr), by, msg, sizeof(msg)) < 0) {
		snprintf(err, errlen, "%s", msg);
		return NULL;
	}
	return change_json(r, msg);
}

struct json_object *ctl_allow_add_json(const struct ctl_ctx *ctx,
				       struct json_object *req, char *err, size_t errlen)
{
	return change_allow(ctx, true, req, err, errlen);
}

struct json_object *ctl_allow_remove_json(const struct ctl_ctx *ctx,
					  struct json_object *req, char *err,
					  size_t errlen)
{
	return change_allow(ctx, false, req, err, errlen);
}

/* Append each of LIST[0..n) to ARR as {"cidr", "source": SOURCE}. */
static int entries_json(struct json_object *arr, const char (*list)[CONF_CIDR_LEN],
			unsigned n, const char *source)
{
	for (unsigned i = 0; i < n; i++) {
		struct json_object *e = json_object_new_object();

		if (e == NULL || json_object_array_add(arr, e) < 0) {
			json_object_put(e);
			return -ENOMEM;
		}
		if (json_object_object_add(e, "cidr", json_object_new_string(list[i])) < 0 ||
		    json_object_object_add(e, "source", json_object_new_string(source)) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* What "config" and "allow-list" share: version, path, the allow list. */
static struct json_object *snap_json(const struct snap *s)
{
	const struct conf_smtp *m = &s->conf.smtp;
	struct json_object *o = json_object_new_object();
	struct json_object *allow = json_object_new_array();

	if (o == NULL || allow == NULL ||
	    json_object_object_add(o, "allow", allow) < 0) {
		json_object_put(allow);
		json_object_put(o);
		return NULL;
	}
	if (json_object_object_add(o, "version", json_object_new_uint64(s->version)) < 0 ||
	    json_object_object_add(o, "loaded", json_object_new_int64(s->loaded)) < 0 ||
	    json_object_object_add(o, "path", json_object_new_string(s->conf.path)) < 0 ||
	    json_object_object_add(o, "allow_file", json_object_new_string(m->allow_file)) < 0 ||
	    entries_json(allow, m->allow, m->nb_allow, "config") < 0 ||
	    entries_json(allow, m->allow_file_entries, m->nb_allow_file, "file") < 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

struct json_object *ctl_allow_list_json(const struct ctl_ctx *ctx,
					struct json_object *req, char *err,
					size_t errlen)
{
	struct reload *r = reload_of(ctx, err, errlen);

	(void)req;
	return r != NULL ? snap_json(snap_current(r->pub)) : NULL;
}

struct json_object *ctl_config_json(const struct ctl_ctx *ctx,
				    struct json_object *req, char *err, size_t errlen)
{
	struct reload *r = reload_of(ctx, err, errlen);
	const struct snap *s;
	struct json_object *o;

	(void)req;
	if (r == NULL)
		return NULL;
	s = snap_current(r->pub);
	o = snap_json(s);
	if (o != NULL &&
	    json_object_object_add(o, "text", json_object_new_string(s->conf.text ? s->conf.text
									      : "")) < 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}
