/*
** mb_http.c — libcurl multi-socket requests driven by libuv: curl tells which sockets
** to watch (CURLMOPT_SOCKETFUNCTION) and when to time out (CURLMOPT_TIMERFUNCTION);
** uv_poll_t and uv_timer_t report back with curl_multi_socket_action (libcurl's
** documented multi-socket pattern, docs/libcurl/libcurl-multi.md).
** SPDX-License-Identifier: MIT
*/
#include "mb_http.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#define BODY_MAX (16u << 20)

struct mb_http_req {
    mb_http_req_t *next, *prev;
    CURL *easy;
    struct curl_slist *headers;
    char *buf;
    size_t len, cap;
    bool too_big;
    char err[CURL_ERROR_SIZE];
    mb_http_cb cb;
    void *ud;
};

struct mb_http {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t timer;
    mb_http_req_t head; /* requests under way */
};

typedef struct sock_ctx {
    uv_poll_t poll;
    curl_socket_t fd;
    mb_http_t *h;
} sock_ctx_t;

static void req_free(mb_http_req_t *r)
{
    if (r->next) {
        r->next->prev = r->prev;
        r->prev->next = r->next;
    }
    curl_easy_cleanup(r->easy);
    curl_slist_free_all(r->headers);
    free(r->buf);
    free(r);
}

static void check_done(mb_http_t *h)
{
    CURLMsg *msg;
    int pending;
    while ((msg = curl_multi_info_read(h->multi, &pending))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        CURL *easy = msg->easy_handle;
        CURLcode res = msg->data.result;
        mb_http_req_t *r = NULL;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&r);
        curl_multi_remove_handle(h->multi, easy);
        long status = 0;
        if (res == CURLE_OK)
            curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
        const char *err = res == CURLE_OK ? NULL
                          : r->err[0]     ? r->err
                                          : curl_easy_strerror(res);
        if (r->too_big) {
            status = 0;
            err = "response larger than 16 MiB";
        }
        r->cb(status, r->buf ? r->buf : "", r->len, err, r->ud);
        req_free(r);
    }
}

static void on_poll(uv_poll_t *p, int status, int events)
{
    sock_ctx_t *c = p->data;
    int flags = 0;
    if (status < 0)
        flags |= CURL_CSELECT_ERR;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    int running;
    mb_http_t *h = c->h;
    curl_multi_socket_action(h->multi, c->fd, flags, &running);
    check_done(h);
}

static void on_timeout(uv_timer_t *t)
{
    mb_http_t *h = t->data;
    int running;
    curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(h);
}

static void poll_closed(uv_handle_t *hd)
{
    free(hd->data);
}

static int sock_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    mb_http_t *h = userp;
    sock_ctx_t *c = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (c) {
            uv_poll_stop(&c->poll);
            uv_close((uv_handle_t *)&c->poll, poll_closed);
            curl_multi_assign(h->multi, fd, NULL);
        }
        return 0;
    }
    if (!c) {
        c = calloc(1, sizeof *c);
        if (!c)
            return -1;
        c->fd = fd;
        c->h = h;
        if (uv_poll_init_socket(h->loop, &c->poll, fd) != 0) {
            free(c);
            return -1;
        }
        c->poll.data = c;
        curl_multi_assign(h->multi, fd, c);
    }
    int ev = 0;
    if (what & CURL_POLL_IN)
        ev |= UV_READABLE;
    if (what & CURL_POLL_OUT)
        ev |= UV_WRITABLE;
    uv_poll_start(&c->poll, ev, on_poll);
    return 0;
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    mb_http_t *h = userp;
    if (timeout_ms < 0)
        uv_timer_stop(&h->timer);
    else
        uv_timer_start(&h->timer, on_timeout, (uint64_t)timeout_ms, 0);
    return 0;
}

mb_http_t *mb_http_new(uv_loop_t *loop)
{
    mb_http_t *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->loop = loop;
    h->multi = curl_multi_init();
    if (!h->multi) {
        free(h);
        return NULL;
    }
    uv_timer_init(loop, &h->timer);
    h->timer.data = h;
    h->head.next = h->head.prev = &h->head;
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
    return h;
}

static void http_timer_closed(uv_handle_t *hd)
{
    free(hd->data);
}

void mb_http_free(mb_http_t *h)
{
    if (!h)
        return;
    /* Requests still running belong to scenarios that were cut short. */
    while (h->head.next != &h->head) {
        mb_http_req_t *r = h->head.next;
        curl_multi_remove_handle(h->multi, r->easy);
        req_free(r);
    }
    curl_multi_cleanup(h->multi);
    uv_timer_stop(&h->timer);
    uv_close((uv_handle_t *)&h->timer, http_timer_closed);
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    mb_http_req_t *r = ud;
    size_t k = size * n;
    if (r->len + k + 1 > BODY_MAX) {
        r->too_big = true;
        return 0;
    }
    if (r->len + k + 1 > r->cap) {
        size_t cap = r->cap ? r->cap : 4096;
        while (cap < r->len + k + 1)
            cap *= 2;
        char *b = realloc(r->buf, cap);
        if (!b)
            return 0;
        r->buf = b;
        r->cap = cap;
    }
    memcpy(r->buf + r->len, p, k);
    r->len += k;
    r->buf[r->len] = 0;
    return k;
}

mb_http_req_t *mb_http_request(mb_http_t *h, const char *method, const char *url,
                               const char *body, unsigned timeout_ms, mb_http_cb cb,
                               void *ud)
{
    mb_http_req_t *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->cb = cb;
    r->ud = ud;
    r->easy = curl_easy_init();
    if (!r->easy) {
        free(r);
        return NULL;
    }
    CURL *e = r->easy;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)r);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->err);
    if (body) {
        r->headers = curl_slist_append(NULL, "Content-Type: application/json");
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
        curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, body);
    }
    if (curl_multi_add_handle(h->multi, e) != CURLM_OK) {
        req_free(r);
        return NULL;
    }
    r->next = h->head.next;
    r->prev = &h->head;
    h->head.next->prev = r;
    h->head.next = r;
    return r;
}

void mb_http_cancel(mb_http_t *h, mb_http_req_t *r)
{
    if (!r)
        return;
    curl_multi_remove_handle(h->multi, r->easy);
    req_free(r);
}
