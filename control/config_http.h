/*
 * config_http: the control plane's HTTP listener settings (the "http"
 * group of the "control" section) as plain data — where it listens and
 * the credentials it asks for.  Loaded by control/config_http.c; read by
 * control/http.c.  A listener bound anywhere but loopback must have a
 * token or a basic-auth credential: the loader refuses it otherwise.
 */
#ifndef SLUICE_CONTROL_CONFIG_HTTP_H
#define SLUICE_CONTROL_CONFIG_HTTP_H

#include <stdbool.h>
#include <stdint.h>

#define CONF_HTTP_SECRET_LEN 256

struct conf_http {
	bool on;                            /* control.http present */
	uint32_t addr;                      /* IPv4, host order (127.0.0.1) */
	uint16_t port;                      /* 8025 */
	char token[CONF_HTTP_SECRET_LEN];   /* "Authorization: Bearer T"; "" none */
	char basic[CONF_HTTP_SECRET_LEN];   /* "user:password" for Basic; "" none */
};

/* "a.b.c.d:port" → host-order address and port; -EINVAL when malformed. */
int conf_http_parse_listen(const char *s, uint32_t *addr, uint16_t *port);

/* True for 127.0.0.0/8. */
bool conf_http_loopback(uint32_t addr);

#endif
