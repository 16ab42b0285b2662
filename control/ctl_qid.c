/*
 * ctl_qid: the "ids" argument of the queue commands — a JSON array of
 * queue ID strings, checked strictly (see ctl_parse_qids() in ctl.h).
 */
#include <errno.h>
#include <stdio.h>

#include "control/ctl.h"
#include "dataplane/spool/spool_qid.h"

int ctl_parse_qids(struct json_object *req, uint64_t *qids, unsigned max,
		   char *err, size_t errlen)
{
	struct json_object *ids;
	size_t n;

	if (!json_object_is_type(req, json_type_object) ||
	    !json_object_object_get_ex(req, "ids", &ids) ||
	    !json_object_is_type(ids, json_type_array)) {
		snprintf(err, errlen, "\"ids\" must be an array of queue IDs");
		return -EINVAL;
	}
	n = json_object_array_length(ids);
	if (n == 0 || n > max) {
		snprintf(err, errlen, "\"ids\" must hold 1..%u queue IDs", max);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		struct json_object *v = json_object_array_get_idx(ids, i);
		const char *s = json_object_get_string(v);

		if (!json_object_is_type(v, json_type_string) ||
		    json_object_get_string_len(v) != SPOOL_QID_LEN ||
		    spool_qid_parse(s, &qids[i]) < 0 || qids[i] == 0) {
			snprintf(err, errlen, "\"ids\"[%zu] is not a queue ID "
				 "(%d hex digits)", i, SPOOL_QID_LEN);
			return -EINVAL;
		}
		for (size_t j = 0; j < i; j++) {
			if (qids[j] == qids[i]) {
				snprintf(err, errlen, "\"ids\"[%zu] repeats a queue ID", i);
				return -EINVAL;
			}
		}
	}
	return (int)n;
}
