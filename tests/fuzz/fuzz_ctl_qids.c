/*
 * fuzz_ctl_qids: libFuzzer target for the queue commands' "ids" argument
 * (ctl_parse_qids).  The input is parsed as a JSON request; whatever it
 * is, the parser must either refuse it with a reason or return 1..MAX
 * distinct, non-zero IDs, each of which is what the request held (its
 * text, in upper case, is the ID formatted back).
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "control/ctl.h"
#include "dataplane/spool/spool_qid.h"

#define MAX 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_ids(struct json_object *req, const uint64_t *qids, int n)
{
	struct json_object *ids = json_object_object_get(req, "ids");
	char text[SPOOL_QID_LEN + 1];

	if (n < 1 || n > MAX || (size_t)n != json_object_array_length(ids))
		abort();
	for (int i = 0; i < n; i++) {
		const char *s = json_object_get_string(json_object_array_get_idx(ids, i));

		if (qids[i] == 0)
			abort();
		spool_qid_format(qids[i], text);
		for (int k = 0; k < SPOOL_QID_LEN; k++)
			if (toupper((unsigned char)s[k]) != text[k])
				abort();
		for (int j = 0; j < i; j++)
			if (qids[j] == qids[i])
				abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *req;
	uint64_t qids[MAX];
	char err[128] = "";
	int n;

	if (tok == NULL || size > 65536) {
		json_tokener_free(tok);
		return 0;
	}
	req = json_tokener_parse_ex(tok, (const char *)data, (int)size);
	json_tokener_free(tok);
	if (req == NULL)
		return 0;
	n = ctl_parse_qids(req, qids, MAX, err, sizeof(err));
	if (n < 0 && err[0] == '\0')
		abort();
	if (n >= 0)
		check_ids(req, qids, n);
	json_object_put(req);
	return 0;
}
