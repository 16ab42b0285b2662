/*
 * http_auth: the HTTP listener's credential check — an Authorization
 * header against control.http's token (Bearer) and basic_auth (Basic
 * user:password), compared in constant time.  Pure: no I/O, no state.
 */
#ifndef SLUICE_CONTROL_HTTP_AUTH_H
#define SLUICE_CONTROL_HTTP_AUTH_H

#include <stdbool.h>

#include "control/config_http.h"

/* Does the Authorization header AUTH (NULL: absent) satisfy C?  True
 * when C asks for nothing. */
bool http_auth_ok(const struct conf_http *c, const char *auth);

#endif
