/*
** control.h — the control API of a metersim process: HTTP/JSON on loopback, version 1
** (paths under /v1/). Reference: docs/control-api.md.
** SPDX-License-Identifier: MIT
**
** libmicrohttpd runs in external-select mode on its epoll descriptor, watched by the
** libuv loop: requests are handled on the loop thread, so handlers read and change the
** meters without locks.
*/
#ifndef MS_CONTROL_H
#define MS_CONTROL_H

#include <stddef.h>

#include "sim.h"

typedef struct ms_control ms_control_t;

/**
 * Start serving the control API on host:port (port 0: any free port).
 * @param[out] msg  on error, why
 * @return 0, MS_EINVAL (host is not an IPv4/IPv6 literal), MS_EADDRINUSE, MS_ESYS
 */
int ms_control_start(ms_sim_t *sim, const char *host, unsigned port, ms_control_t **out,
                     char *msg, size_t msgcap);

/** Base URL, e.g. "http://127.0.0.1:41234/v1". */
const char *ms_control_url(const ms_control_t *c);

void ms_control_stop(ms_control_t *c);

#endif
