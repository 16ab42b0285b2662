/*
 * json_out: the small helpers every JSON writer of the control plane
 * shares (the control socket's commands, the stats, the tracking log, the
 * HTTP endpoints): adding a member or an element while taking the value's
 * reference (and releasing it when the add fails), the queue ID and time
 * forms, and the plain text of an object.
 */
#ifndef SLUICE_CONTROL_JSON_OUT_H
#define SLUICE_CONTROL_JSON_OUT_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

/* Add KEY: VAL to OBJ, taking VAL; -ENOMEM when VAL is NULL or the add
 * fails (VAL is released then). */
int jout_put(struct json_object *obj, const char *key, struct json_object *val);
int jout_put_u64(struct json_object *obj, const char *key, uint64_t v);
int jout_put_str(struct json_object *obj, const char *key, const char *s);
int jout_put_null(struct json_object *obj, const char *key);

/* Append VAL to ARR, taking VAL; -ENOMEM as jout_put(). */
int jout_append(struct json_object *arr, struct json_object *val);

/* A queue ID as its 16 hex digits. */
struct json_object *jout_qid(uint64_t qid);
/* µs since the epoch as seconds with milliseconds (0 stays 0). */
struct json_object *jout_time(uint64_t us);

/* OBJ as one line of plain JSON ("/" not escaped); NULL without memory.
 * The text belongs to OBJ. */
const char *jout_text(struct json_object *obj, size_t *len);

#endif
