/*
 * config_http: the "control.http" group — see config_http.h.
 *
 *   control = { http = { listen = "127.0.0.1:8025"; token = "...";
 *                        basic_auth = "user:password"; }; };
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "control/config_http.h"
#include "control/config_impl.h"

bool conf_http_loopback(uint32_t addr)
{
	return (addr >> 24) == 127;
}

int conf_http_parse_listen(const char *s, uint32_t *addr, uint16_t *port)
{
	const char *colon = strrchr(s, ':');
	char ip[16], *end;
	unsigned long p;

	if (colon == NULL || (size_t)(colon - s) >= sizeof(ip) || colon[1] == '\0')
		return -EINVAL;
	memcpy(ip, s, (size_t)(colon - s));
	ip[colon - s] = '\0';
	p = strtoul(colon + 1, &end, 10);
	if (*end != '\0' || p == 0 || p > 65535 || conf_parse_ipv4(ip, addr) < 0)
		return -EINVAL;
	*port = (uint16_t)p;
	return 0;
}

/* Optional secret NAME of G into DST. */
static int get_secret(const struct loader *ld, const config_setting_t *g,
		      const char *name, char *dst, const config_setting_t **where)
{
	const char *v;
	int rc = conf_get_string(ld, g, name, false, CONF_HTTP_SECRET_LEN, &v, where);

	if (rc == 0 && v != NULL)
		strcpy(dst, v);
	return rc;
}

int conf_load_http(const struct loader *ld, const config_setting_t *control,
		   struct conf *out)
{
	static const char *const keys[] = {"listen", "token", "basic_auth", NULL};
	struct conf_http *h = &out->http;
	const config_setting_t *g, *where, *basic;
	const char *listen;
	int rc;

	if ((rc = conf_get_group(ld, control, "http", false, keys, &g)) < 0 ||
	    g == NULL)
		return rc;
	h->on = true;
	h->addr = 0x7f000001;
	h->port = 8025;
	if ((rc = conf_get_string(ld, g, "listen", false, 32, &listen, &where)) < 0 ||
	    (rc = get_secret(ld, g, "token", h->token, NULL)) < 0 ||
	    (rc = get_secret(ld, g, "basic_auth", h->basic, &basic)) < 0)
		return rc;
	if (listen != NULL && conf_http_parse_listen(listen, &h->addr, &h->port) < 0)
		return conf_fail_at(ld, where, "\"%s\" is not \"a.b.c.d:port\"", listen);
	if (h->basic[0] != '\0' && strchr(h->basic, ':') == NULL)
		return conf_fail_at(ld, basic,
				    "must be \"user:password\"");
	if (!conf_http_loopback(h->addr) && h->token[0] == '\0' &&
	    h->basic[0] == '\0')
		return conf_fail_at(ld, where, "listening on %s off loopback needs "
				    "a token or basic_auth", listen);
	return 0;
}
