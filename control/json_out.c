/*
 * json_out: shared JSON writing helpers — see json_out.h.
 */
#include <errno.h>

#include "control/json_out.h"
#include "dataplane/spool/spool_qid.h"

int jout_put(struct json_object *obj, const char *key, struct json_object *val)
{
	if (val == NULL)
		return -ENOMEM;
	if (json_object_object_add(obj, key, val) < 0) {
		json_object_put(val);
		return -ENOMEM;
	}
	return 0;
}

int jout_put_u64(struct json_object *obj, const char *key, uint64_t v)
{
	return jout_put(obj, key, json_object_new_uint64(v));
}

int jout_put_str(struct json_object *obj, const char *key, const char *s)
{
	return jout_put(obj, key, json_object_new_string(s));
}

int jout_put_null(struct json_object *obj, const char *key)
{
	return json_object_object_add(obj, key, NULL) < 0 ? -ENOMEM : 0;
}

int jout_append(struct json_object *arr, struct json_object *val)
{
	if (val == NULL)
		return -ENOMEM;
	if (json_object_array_add(arr, val) < 0) {
		json_object_put(val);
		return -ENOMEM;
	}
	return 0;
}

struct json_object *jout_qid(uint64_t qid)
{
	char s[SPOOL_QID_LEN + 1];

	spool_qid_format(qid, s);
	return json_object_new_string(s);
}

struct json_object *jout_time(uint64_t us)
{
	return json_object_new_double((double)(us / 1000) / 1e3);
}

const char *jout_text(struct json_object *obj, size_t *len)
{
	return json_object_to_json_string_length(obj,
		JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, len);
}
