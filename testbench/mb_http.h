/*
** mb_http.h — asynchronous HTTP requests on the libuv loop (libcurl's multi-socket
** interface): how meterbench talks to metersim's control API without blocking the
** scenarios that run beside it.
** SPDX-License-Identifier: MIT
*/
#ifndef MB_HTTP_H
#define MB_HTTP_H

#include <stddef.h>

#include <uv.h>

typedef struct mb_http mb_http_t;
typedef struct mb_http_req mb_http_req_t;

/**
 * End of a request: status is the HTTP status (0 when no answer came), body the
 * response (NUL-terminated, valid during the call), err a message when status is 0.
 */
typedef void (*mb_http_cb)(long status, const char *body, size_t len, const char *err,
                           void *ud);

/** A client on `loop`; NULL when libcurl cannot be set up. curl_global_init is the
 *  caller's. */
mb_http_t *mb_http_new(uv_loop_t *loop);

/** Cancel every request (no callbacks) and free the client once its handles close. */
void mb_http_free(mb_http_t *h);

/**
 * Start a request. body (may be NULL) is sent as application/json. Proxies are never
 * used (the control API is on loopback). cb runs once, on the loop, unless the request
 * is cancelled first.
 * @return the request, or NULL (out of memory, bad URL)
 */
mb_http_req_t *mb_http_request(mb_http_t *h, const char *method, const char *url,
                               const char *body, unsigned timeout_ms, mb_http_cb cb,
                               void *ud);

/** Abandon a request: its callback will not run. */
void mb_http_cancel(mb_http_t *h, mb_http_req_t *r);

#endif
