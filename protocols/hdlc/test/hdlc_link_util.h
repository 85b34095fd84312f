/*
** hdlc_link_util.h — harness for the HDLC session tests: action recorder, output frame
** decoder, input frame builder, event recorder.
** SPDX-License-Identifier: MIT
*/
#ifndef HDLC_LINK_UTIL_H
#define HDLC_LINK_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hdlc_frame.h"
#include "hdlc_link.h"
#include "ms_err.h"

#define T_MAX_ACTS   64
#define T_MAX_FRAMES 64

typedef struct t_act {
    hdlc_action_type_t type;
    unsigned delay_ms;
    size_t len;
    uint8_t *data; /* malloc'ed copy */
    hdlc_addr_t server, client;
    bool ui, broadcast;
    int reason;
} t_act_t;

typedef struct t_frm {
    hdlc_frame_t f;
    uint8_t info[HDLC_FORMAT_LENGTH_MAX];
} t_frm_t;

/* Everything one call into a session produced. */
typedef struct t_out {
    t_act_t act[T_MAX_ACTS];
    int nact;
    t_frm_t frm[T_MAX_FRAMES]; /* the frames of every SEND, decoded */
    int nfrm;
    uint8_t wire[1 << 16]; /* the bytes of every SEND, in order */
    size_t wire_len;
    int napdu, nsend, nconn, ndisc;
    int last_reason;
} t_out_t;

static inline void t_out_clear(t_out_t *o)
{
    for (int i = 0; i < o->nact; i++)
        free(o->act[i].data);
    o->nact = o->nfrm = 0;
    o->wire_len = 0;
    o->napdu = o->nsend = o->nconn = o->ndisc = 0;
    o->last_reason = 1;
}

/* Take every pending action of l into o (cleared first); the SEND bytes are decoded
 * with the frame decoder, which must find only whole, good frames in them. */
static inline t_out_t *t_drain(hdlc_link_t *l, t_out_t *o)
{
    t_out_clear(o);
    hdlc_action_t a;
    while (hdlc_link_next_action(l, &a)) {
        if (o->nact >= T_MAX_ACTS) {
            fprintf(stderr, "too many actions\n");
            abort();
        }
        t_act_t *t = &o->act[o->nact++];
        t->type = a.type;
        t->delay_ms = a.delay_ms;
        t->len = a.len;
        t->data = malloc(a.len + 1);
        if (a.len)
            memcpy(t->data, a.data, a.len);
        t->server = a.server;
        t->client = a.client;
        t->ui = a.ui;
        t->broadcast = a.broadcast;
        t->reason = a.reason;
        switch (a.type) {
        case HDLC_ACT_SEND:
            o->nsend++;
            if (o->wire_len + a.len > sizeof o->wire)
                abort();
            memcpy(o->wire + o->wire_len, a.data, a.len);
            o->wire_len += a.len;
            break;
        case HDLC_ACT_APDU:
            o->napdu++;
            break;
        case HDLC_ACT_CONNECTED:
            o->nconn++;
            break;
        case HDLC_ACT_DISCONNECTED:
            o->ndisc++;
            o->last_reason = a.reason;
            break;
        }
    }
    static uint8_t buf[HDLC_FORMAT_LENGTH_MAX];
    hdlc_decoder_t d;
    hdlc_decoder_init(&d, buf, sizeof buf);
    size_t pos = 0;
    while (pos < o->wire_len) {
        size_t used;
        hdlc_frame_t f;
        int rc = hdlc_decoder_feed(&d, o->wire + pos, o->wire_len - pos, &used, &f);
        pos += used;
        if (rc == 0)
            break;
        if (rc != 1 || o->nfrm >= T_MAX_FRAMES) {
            fprintf(stderr, "session sent a bad frame (%d)\n", rc);
            abort();
        }
        t_frm_t *t = &o->frm[o->nfrm++];
        t->f = f;
        if (f.info_len)
            memcpy(t->info, f.info, f.info_len);
        t->f.info = f.info_len ? t->info : NULL;
    }
    return o;
}

/* The first action of a type, or NULL. */
static inline t_act_t *t_find(t_out_t *o, hdlc_action_type_t type)
{
    for (int i = 0; i < o->nact; i++)
        if (o->act[i].type == type)
            return &o->act[i];
    return NULL;
}

/* Build one frame with the encoder (checked byte for byte against third-party vectors
 * in test_hdlc_frame). ns/nr < 0: 0. Returns its length. */
static inline size_t t_mk(uint8_t *b, size_t cap, hdlc_type_t type, hdlc_addr_t dst,
                          hdlc_addr_t src, bool pf, int ns, int nr, bool seg,
                          const uint8_t *info, size_t n)
{
    hdlc_frame_t f;
    memset(&f, 0, sizeof f);
    f.type = type;
    f.dst = dst;
    f.src = src;
    f.pf = pf;
    f.ns = (uint8_t)(ns < 0 ? 0 : ns);
    f.nr = (uint8_t)(nr < 0 ? 0 : nr);
    f.segmented = seg;
    f.info = info;
    f.info_len = n;
    int len = hdlc_frame_encode(&f, b, cap);
    if (len < 0) {
        fprintf(stderr, "t_mk: %s\n", ms_err_name(len));
        abort();
    }
    return (size_t)len;
}

/* Event recorder. */
typedef struct t_events {
    int n[16];
    int last_detail[16];
} t_events_t;

static inline void t_event_fn(void *ctx, hdlc_link_event_t ev, const hdlc_frame_t *f,
                              int detail)
{
    t_events_t *e = ctx;
    if ((unsigned)ev < 16) {
        e->n[ev]++;
        e->last_detail[ev] = detail;
    }
}

static inline hdlc_addr_t t_addr(unsigned upper, unsigned lower, unsigned size)
{
    hdlc_addr_t a;
    if (hdlc_addr_server(&a, upper, lower, size) < 0)
        abort();
    return a;
}

static inline hdlc_addr_t t_client(unsigned c)
{
    hdlc_addr_t a;
    if (hdlc_addr_client(&a, c) < 0)
        abort();
    return a;
}

#endif
