/*
 * fuzz_smtp_param: libFuzzer target for the ESMTP parameter parsers.  The
 * input is parsed as a MAIL and as a RCPT parameter list, and walked with
 * smtp_param_next(); what is kept must fit its limits and every step must
 * make progress inside the input.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/smtp/smtp_param.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data, *pos = s, *end = s + size;
	struct smtp_mail_params m;
	struct smtp_rcpt_params r;
	struct smtp_param p;
	int rc;

	rc = smtp_param_mail(s, size, &m);
	if (rc != 0 && rc != -EINVAL && rc != -ENOTSUP)
		abort();
	if (rc == 0 && (strlen(m.envid) > SMTP_ENVID_MAX ||
			m.body > SMTP_BODY_8BITMIME || m.ret > SMTP_RET_HDRS))
		abort();
	rc = smtp_param_rcpt(s, size, &r);
	if (rc != 0 && rc != -EINVAL && rc != -ENOTSUP)
		abort();
	if (rc == 0 && (strlen(r.orcpt) > SMTP_ORCPT_MAX || r.notify > 0xf ||
			((r.notify & SMTP_NOTIFY_NEVER) && r.notify != SMTP_NOTIFY_NEVER)))
		abort();
	while ((rc = smtp_param_next(&pos, end, &p)) == 1) {
		if (p.klen == 0 || p.key < s || p.key + p.klen > end ||
		    (p.has_val && (p.vlen == 0 || p.val + p.vlen > end)) || pos > end)
			abort();
	}
	if (rc != 0 && rc != -EINVAL)
		abort();
	return 0;
}
