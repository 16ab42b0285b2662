/*
 * ctl_queue: the control socket's message commands.  "accepted" answers
 * from the tracking index (control/track_log.c); "queue" reads every
 * worker's published queue snapshot; "queue-hold", "queue-release",
 * "queue-delete" and "queue-retry" check each queue ID against the
 * snapshot of the worker that owns it (the worker number is in the ID)
 * and post the command on that worker's command ring — the worker applies
 * it on its next loop, and the next snapshot and the tracking log show
 * the result.  Never touches a worker's queue.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/ctl.h"
#include "dataplane/spool/spool_qid.h"

#define ACCEPTED_LIMIT_DEFAULT 100u
#define ACCEPTED_LIMIT_MAX     10000u

/* ---- "accepted" -------------------------------------------------------------- */

/* Optional member KEY of REQ: 0 absent, 1 present (*v set), -EINVAL wrong type. */
static int opt_member(struct json_object *req, const char *key,
		      enum json_type type, struct json_object **v,
		      char *err, size_t errlen)
{
	if (!json_object_object_get_ex(req, key, v) || *v == NULL)
		return 0;
	if (!json_object_is_type(*v, type)) {
		snprintf(err, errlen, "\"%s\" must be %s", key,
			 type == json_type_int ? "an integer" : "a string");
		return -EINVAL;
	}
	return 1;
}

static int parse_query(struct json_object *req, struct track_query *q,
		       char *err, size_t errlen)
{
	struct json_object *v;
	int rc;

	memset(q, 0, sizeof(*q));
	q->limit = ACCEPTED_LIMIT_DEFAULT;
	if ((rc = opt_member(req, "since", json_type_int, &v, err, errlen)) < 0)
		return rc;
	if (rc > 0) {
		int64_t t = json_object_get_int64(v);

		if (t < 0 || t > INT64_C(1) << 40) {
			snprintf(err, errlen, "\"since\" must be a unix time");
			return -EINVAL;
		}
		q->since_us = (uint64_t)t * 1000000u;
	}
	if ((rc = opt_member(req, "from", json_type_string, &v, err, errlen)) < 0)
		return rc;
	q->from = rc > 0 ? json_object_get_string(v) : NULL;
	if ((rc = opt_member(req, "to", json_type_string, &v, err, errlen)) < 0)
		return rc;
	q->to = rc > 0 ? json_object_get_string(v) : NULL;
	if ((rc = opt_member(req, "id", json_type_string, &v, err, errlen)) < 0)
		return rc;
	if (rc > 0 && (json_object_get_string_len(v) != SPOOL_QID_LEN ||
		       spool_qid_parse(json_object_get_string(v), &q->qid) < 0)) {
		snprintf(err, errlen, "\"id\" is not a queue ID (%d hex digits)",
			 SPOOL_QID_LEN);
		return -EINVAL;
	}
	if ((rc = opt_member(req, "limit", json_type_int, &v, err, errlen)) < 0)
		return rc;
	if (rc > 0) {
		int64_t n = json_object_get_int64(v);

		if (n < 1 || n > ACCEPTED_LIMIT_MAX) {
			snprintf(err, errlen, "\"limit\" must be 1..%u",
				 ACCEPTED_LIMIT_MAX);
			return -EINVAL;
		}
		q->limit = (uint32_t)n;
	}
	return 0;
}

/* M's kept delivery attempts, oldest first (new reference or NULL). */
static struct json_object *attempts_json(const struct track_msg *m)
{
	struct json_object *arr = json_object_new_array();

	for (uint32_t i = 0; arr != NULL && i < track_msg_kept(m); i++) {
		const struct track_attempt *a = &m->attempt[i];
		struct json_object *obj = json_object_new_object();

		if (jout_append(arr, obj) < 0 ||
		    jout_put(obj, "time", jout_time(a->time_us)) ||
		    jout_put(obj, "status", json_object_new_string(track_type_name(a->type))) ||
		    jout_put(obj, "nrcpt", json_object_new_int64(a->nrcpt)) ||
		    jout_put(obj, "relay", json_object_new_string(a->relay)) ||
		    jout_put(obj, "reply", json_object_new_string(a->reply))) {
			json_object_put(arr);
			return NULL;
		}
	}
	return arr;
}

static struct json_object *msg_json(const struct track_msg *m)
{
	struct json_object *obj = json_object_new_object();
	struct track_event ev;
	char client[64];

	if (obj == NULL)
		return NULL;
	ev.client_family = m->client_family;
	memcpy(ev.client_addr, m->client_addr, sizeof(ev.client_addr));
	track_client_text(&ev, client, sizeof(client));
	if (jout_put(obj, "time", jout_time(m->time_us)) ||
	    jout_put(obj, "id", jout_qid(m->qid)) ||
	    jout_put(obj, "client", json_object_new_string(client)) ||
	    jout_put(obj, "from", json_object_new_string(m->sender)) ||
	    jout_put(obj, "to", track_rcpts_json(m->rcpt, m->nrcpt)) ||
	    jout_put(obj, "nrcpt", json_object_new_int64(m->nrcpt)) ||
	    jout_put(obj, "size", json_object_new_uint64(m->size)) ||
	    jout_put(obj, "tls", json_object_new_string(m->tls)) ||
	    jout_put(obj, "status", json_object_new_string(track_type_name(m->status))) ||
	    jout_put(obj, "relay", json_object_new_string(m->relay)) ||
	    jout_put(obj, "reply", json_object_new_string(m->reply)) ||
	    jout_put(obj, "attempts_total", json_object_new_int64(m->nattempts)) ||
	    jout_put(obj, "attempts", attempts_json(m)) ||
	    jout_put(obj, "updated", jout_time(m->updated_us))) {
		json_object_put(obj);
		return NULL;
	}
	return obj;
}

/* Tracking events the workers lost to full rings, all told. */
static uint64_t events_dropped(const struct ctl_ctx *ctx)
{
	uint64_t n = 0;

	for (unsigned w = 0; w < ctx->nb_workers && w < RTE_MAX_LCORE; w++)
		if (ctx->worker[w].track != NULL)
			n += __atomic_load_n(&ctx->worker[w].track->dropped,
					     __ATOMIC_RELAXED);
	return n;
}

struct json_object *ctl_accepted_json(const struct ctl_ctx *ctx,
				      struct json_object *req, char *err,
				      size_t errlen)
{
	struct track_query q;
	const struct track_msg **found;
	struct json_object *res = NULL, *arr;
	uint32_t n;

	if (ctx->track == NULL) {
		snprintf(err, errlen, "message tracking is off");
		return NULL;
	}
	if (parse_query(req, &q, err, errlen) < 0)
		return NULL;
	found = calloc(q.limit, sizeof(*found));
	arr = json_object_new_array();
	if (found == NULL || arr == NULL)
		goto out;
	n = track_log_query(ctx->track, &q, found, q.limit);
	for (uint32_t i = 0; i < n; i++)
		if (jout_append(arr, msg_json(found[i])) < 0)
			goto out;
	res = json_object_new_object();
	if (res != NULL && (jout_put(res, "messages", arr) < 0 ||
			    jout_put(res, "events_dropped",
				json_object_new_uint64(events_dropped(ctx))) < 0)) {
		json_object_put(res);
		res = NULL;
	}
	arr = NULL;
out:
	json_object_put(arr);
	free(found);
	return res;
}

/* ---- "queue" ------------------------------------------------------------------- */

static const char *state_name(const struct queue_info *e)
{
	switch (e->state) {
	case QUEUE_ACTIVE: return "active";
	case QUEUE_DEFERRED: return "deferred";
	case QUEUE_HELD: return "held";
	default: return "unknown";
	}
}

static struct json_object *entry_json(const struct queue_info *e, unsigned w)
{
	struct json_object *obj = json_object_new_object();

	if (obj == NULL)
		return NULL;
	if (jout_put(obj, "id", jout_qid(e->qid)) ||
	    jout_put(obj, "worker", json_object_new_int64(w)) ||
	    jout_put(obj, "state", json_object_new_string(state_name(e))) ||
	    jout_put(obj, "inflight", json_object_new_boolean(e->inflight)) ||
	    jout_put(obj, "arrival", jout_time(e->arrival_us)) ||
	    jout_put(obj, "attempts", json_object_new_int64(e->attempts)) ||
	    jout_put(obj, "next_attempt", jout_time(e->state == QUEUE_HELD ? 0 : e->next_attempt_us)) ||
	    jout_put(obj, "from", json_object_new_string(e->sender)) ||
	    jout_put(obj, "nrcpt", json_object_new_int64(e->nrcpt)) ||
	    jout_put(obj, "pending", json_object_new_int64(e->pending)) ||
	    jout_put(obj, "size", json_object_new_uint64(e->size)) ||
	    jout_put(obj, "reply", json_object_new_string(e->reply))) {
		json_object_put(obj);
		return NULL;
	}
	return obj;
}

/* One worker's snapshot into ARR; its summary object, NULL without memory. */
static struct json_object *worker_queue_json(const struct ctl_ctx *ctx,
					     unsigned w, struct json_object *arr)
{
	struct queue_port *p = ctx->worker[w].queue;
	struct queue_snap_head head;
	struct queue_info *e = calloc(p->snap_max, sizeof(*e));
	struct json_object *obj = json_object_new_object();
	int n;

	if (e == NULL || obj == NULL)
		goto fail;
	memset(&head, 0, sizeof(head));
	n = queue_port_read(p, &head, e, p->snap_max);
	for (int i = 0; i < n; i++)
		if (jout_append(arr, entry_json(&e[i], w)) < 0)
			goto fail;
	if (jout_put(obj, "worker", json_object_new_int64(w)) ||
	    jout_put(obj, "snapshot", json_object_new_string(n >= 0 ? "ok"
			: n == -ENODATA ? "none yet" : "busy")) ||
	    jout_put(obj, "queued", json_object_new_int64(head.total)) ||
	    jout_put(obj, "listed", json_object_new_int64(n > 0 ? n : 0)) ||
	    jout_put(obj, "as_of", jout_time(head.time_us)) ||
	    jout_put(obj, "full", json_object_new_uint64(head.stats.full)) ||
	    jout_put(obj, "expired", json_object_new_uint64(head.stats.expired)))
		goto fail;
	free(e);
	return obj;
fail:
	free(e);
	json_object_put(obj);
	return NULL;
}

struct json_object *ctl_queue_json(const struct ctl_ctx *ctx,
				   struct json_object *req, char *err,
				   size_t errlen)
{
	struct json_object *res = json_object_new_object();
	struct json_object *msgs = json_object_new_array();
	struct json_object *workers = json_object_new_array();

	(void)req;
	(void)err;
	(void)errlen;
	if (res == NULL || msgs == NULL || workers == NULL)
		goto fail;
	for (unsigned w = 0; w < ctx->nb_workers && w < RTE_MAX_LCORE; w++)
		if (ctx->worker[w].queue != NULL &&
		    jout_append(workers, worker_queue_json(ctx, w, msgs)) < 0)
			goto fail;
	if (jout_put(res, "messages", msgs) < 0) {
		msgs = NULL;
		goto fail;
	}
	msgs = NULL;
	if (jout_put(res, "workers", workers) < 0)
		workers = NULL;
	else
		return res;
fail:
	json_object_put(msgs);
	json_object_put(workers);
	json_object_put(res);
	return NULL;
}

/* ---- the actions ------------------------------------------------------------------- */

/* Why OP cannot apply to E as the snapshot shows it; NULL when it can. */
static const char *refusal(enum queue_op op, const struct queue_info *e)
{
	switch (op) {
	case QUEUE_OP_RELEASE:
		return e->state == QUEUE_HELD ? NULL : "not held";
	case QUEUE_OP_RETRY:
		return e->state == QUEUE_DEFERRED ? NULL
		       : e->state == QUEUE_HELD ? "held (release it)" : "not deferred";
	case QUEUE_OP_DELETE:
		return e->inflight ? "delivery in progress" : NULL;
	default:
		return NULL;
	}
}

/* Check QID against its worker's snapshot: 1 known (*e set), 0 not known
 * for sure (no or a truncated snapshot), -ENOENT unknown. */
static int lookup(const struct ctl_ctx *ctx, uint64_t qid,
		  struct queue_info *e)
{
	unsigned w = spool_qid_worker(qid);
	struct queue_snap_head head;
	int rc;

	if (w >= ctx->nb_workers || ctx->worker[w].queue == NULL)
		return -ENOENT;
	rc = queue_port_find(ctx->worker[w].queue, qid, &head, e);
	if (rc == 0)
		return 1;
	return rc == -ENOENT && head.n == head.total ? -ENOENT : 0;
}

static int refuse(struct json_object *arr, uint64_t qid, const char *why)
{
	struct json_object *obj = json_object_new_object();

	if (obj == NULL)
		return -ENOMEM;
	if (jout_put(obj, "id", jout_qid(qid)) ||
	    jout_put(obj, "reason", json_object_new_string(why))) {
		json_object_put(obj);
		return -ENOMEM;
	}
	return jout_append(arr, obj);
}

/* Post OP for every ID that can take it. */
static struct json_object *post_all(const struct ctl_ctx *ctx,
				    enum queue_op op, const uint64_t *qids,
				    int n)
{
	struct json_object *res = json_object_new_object();
	struct json_object *posted = json_object_new_array();
	struct json_object *refused = json_object_new_array();
	struct queue_info e;

	if (res == NULL || posted == NULL || refused == NULL)
		goto fail;
	for (int i = 0; i < n; i++) {
		const char *why = lookup(ctx, qids[i], &e) == 1 ? refusal(op, &e) : NULL;
		int rc = why != NULL ? 0 : queue_port_post(
			ctx->worker[spool_qid_worker(qids[i])].queue, op, qids[i]);

		if (rc == -ENOBUFS)
			why = "worker busy (command ring full), try again";
		if (why != NULL ? refuse(refused, qids[i], why) < 0
				: jout_append(posted, jout_qid(qids[i])) < 0)
			goto fail;
	}
	if (jout_put(res, "posted", posted) < 0) {
		posted = NULL;
		goto fail;
	}
	posted = NULL;
	if (jout_put(res, "refused", refused) < 0)
		refused = NULL;
	else
		return res;
fail:
	json_object_put(posted);
	json_object_put(refused);
	json_object_put(res);
	return NULL;
}

static struct json_object *queue_op_json(const struct ctl_ctx *ctx,
					 enum queue_op op,
					 struct json_object *req, char *err,
					 size_t errlen)
{
	uint64_t *qids = calloc(CTL_QIDS_MAX, sizeof(*qids));
	struct json_object *res = NULL;
	struct queue_info e;
	char id[SPOOL_QID_LEN + 1];
	int n;

	if (qids == NULL)
		return NULL;
	n = ctl_parse_qids(req, qids, CTL_QIDS_MAX, err, errlen);
	for (int i = 0; i < n; i++) {
		if (lookup(ctx, qids[i], &e) == -ENOENT) {
			spool_qid_format(qids[i], id);
			snprintf(err, errlen, "unknown queue ID %s", id);
			n = -ENOENT;
			break;
		}
	}
	if (n > 0)
		res = post_all(ctx, op, qids, n);
	free(qids);
	return res;
}

struct json_object *ctl_queue_hold_json(const struct ctl_ctx *ctx,
					struct json_object *req, char *err,
					size_t errlen)
{
	return queue_op_json(ctx, QUEUE_OP_HOLD, req, err, errlen);
}

struct json_object *ctl_queue_release_json(const struct ctl_ctx *ctx,
					   struct json_object *req, char *err,
					   size_t errlen)
{
	return queue_op_json(ctx, QUEUE_OP_RELEASE, req, err, errlen);
}

struct json_object *ctl_queue_delete_json(const struct ctl_ctx *ctx,
					  struct json_object *req, char *err,
					  size_t errlen)
{
	return queue_op_json(ctx, QUEUE_OP_DELETE, req, err, errlen);
}

struct json_object *ctl_queue_retry_json(const struct ctl_ctx *ctx,
					 struct json_object *req, char *err,
					 size_t errlen)
{
	return queue_op_json(ctx, QUEUE_OP_RETRY, req, err, errlen);
}
