/*
** dlms_client.c — DLMS/COSEM application associations, client (head-end) side.
** SPDX-License-Identifier: MIT
**
** Sources and conventions: see dlms_client.h and the choices listed in dlms_server.c
** (the two sides follow the same reading of the Green Book). Points of note:
** - AARQ: calling-AP-title when ciphering or HLS-GMAC is used (unless no_calling_title);
**   sender-acse-requirements, mechanism-name and calling-authentication-value
**   (GraphicString) for LLS and HLS; the InitiateRequest has response-allowed by
**   DEFAULT, no quality of service, dlms version 6. With ciphering it goes out as
**   glo-initiate-request; the RLRQ of a ciphered association repeats it with the next
**   invocation counter (PROTOCOL-NOTES trap 9).
** - HLS-GMAC pass 3: ACTION on class 15, 0.0.40.0.0.255 (the current association), method
**   1 with the octet-string f(StoC) = SC ‖ IC ‖ GMAC computed with the client's system
**   title and invocation counter; pass 4: the answer's f(CtoS) is checked with the
**   server's system title (cfg, or the AARE's responding-AP-title).
** - Long answers: GET-Response-With-Datablock raw data is the encoded Data (normal) or
**   the SEQUENCE OF Get-Data-Result (with-list); ACTION-Response-With-Pblock raw data the
**   Action-Response-With-Optional-Data (or the SEQUENCE OF them), as dlms_server.c sends.
** - Ciphered answers: glo-/ded-/general-glo-/general-ded- framing, each key with its own
**   strictly increasing receive counter; exception-responses come in clear.
*/
#include "dlms_client.h"

#include <stdlib.h>
#include <string.h>

#include "dlms_acse.h"
#include "dlms_security.h"
#include "ms_err.h"

#define DEFAULT_MAX_VALUE (1u << 20)
#define DEFAULT_ARENA     (64u << 10)
#define CIPHER_OVERHEAD   30u /* tag, length (3), title (1 + 8), SC, IC (4), GCM tag */

enum { CS_IDLE = 0, CS_AARQ, CS_PASS3, CS_OPEN };

struct dlms_client {
    dlms_client_cfg_t cfg;
    dlms_client_trace_fn trace;
    void *trace_ctx;
    uint8_t state;
    dlms_client_op_t op; /* outstanding, or DLMS_OP_NONE */
    uint32_t ic;
    bool ic_exhausted;
    dlms_ic_t rx_glo, rx_ded;
    bool has_server_title;
    uint8_t server_title[8];
    uint32_t conformance;
    uint32_t server_pdu;
    uint8_t stoc[64];
    size_t stoc_len;
    /* operation in progress */
    uint32_t list_n;
    uint32_t blk_out; /* last block sent (SET datablocks, ACTION pblocks) */
    uint32_t blk_in;  /* last block received (long GET / ACTION answers) */
    size_t val_pos;   /* next octet of val to send */
    uint8_t *val;     /* outgoing value (SET) or parameters (ACTION) */
    size_t val_len, val_cap;
    uint8_t *acc; /* incoming reassembly */
    size_t acc_len, acc_cap;
    uint8_t *rx; /* plain copy of the last answer */
    size_t rx_cap;
    uint8_t *tx; /* plain request before ciphering */
    size_t tx_cap;
    void *arena_mem;
    dlms_arena_t arena;
    dlms_client_result_t res;
};

/* ---- helpers ---- */

static bool grow(uint8_t **buf, size_t *cap, size_t need)
{
    return ms_buf_reserve(buf, cap, need, 256) == 0;
}

static dlms_sec_keys_t glo_keys(const dlms_client_t *c)
{
    return (dlms_sec_keys_t){ c->cfg.ek, 16, c->cfg.ak, 16 };
}

static dlms_sec_keys_t ded_keys(const dlms_client_t *c)
{
    return (dlms_sec_keys_t){ c->cfg.dedicated_key, 16, c->cfg.ak, 16 };
}

static int take_ic(dlms_client_t *c, uint32_t *ic)
{
    if (c->ic_exhausted)
        return MS_ERANGE;
    *ic = c->ic;
    if (c->ic == UINT32_MAX)
        c->ic_exhausted = true;
    else
        c->ic++;
    return 0;
}

static void trace(dlms_client_t *c, bool sent, const uint8_t *wire, size_t wl,
                  const uint8_t *plain, size_t pl)
{
    if (c->trace)
        c->trace(c->trace_ctx, sent, wire, wl, plain, pl);
}

static void start(dlms_client_t *c, dlms_client_op_t op)
{
    memset(&c->res, 0, sizeof c->res);
    c->res.op = op;
    c->res.associated = c->state == CS_OPEN;
    c->op = op;
    c->blk_in = c->blk_out = 0;
    c->val_pos = c->val_len = c->acc_len = 0;
    c->list_n = 0;
    dlms_arena_reset(&c->arena);
}

/* Octets a plain request may take: the server's max receive PDU size (less the
 * ciphering overhead) and the room in out. */
static size_t req_room(const dlms_client_t *c, const ms_wr_t *out)
{
    size_t room = c->server_pdu ? c->server_pdu : 65535u;
    if (ms_wr_room(out) < room)
        room = ms_wr_room(out);
    if (c->cfg.ciphering)
        room = room > CIPHER_OVERHEAD ? room - CIPHER_OVERHEAD : 0;
    return room;
}

/* Start a plain request: in place in out, or in c->tx when it will be ciphered. */
static void begin(dlms_client_t *c, ms_wr_t *out, ms_wr_t *w)
{
    if (c->cfg.ciphering)
        ms_wr_init(w, c->tx, c->tx_cap);
    else
        ms_wr_init(w, out->buf + out->len, ms_wr_room(out));
}

/* Finish it: protect as configured and append to out. */
static int finish(dlms_client_t *c, ms_wr_t *out, ms_wr_t *w)
{
    if (w->err)
        return MS_ENOSPC;
    if (!c->cfg.ciphering) {
        trace(c, true, out->buf + out->len, w->len, out->buf + out->len, w->len);
        out->len += w->len;
        return 0;
    }
    int tag;
    dlms_sec_keys_t k;
    switch (c->cfg.framing) {
    case DLMS_FRAMING_DED:
        tag = dlms_ded_tag(w->buf[0]);
        k = ded_keys(c);
        break;
    case DLMS_FRAMING_GENERAL_GLO:
        tag = DLMS_TAG_GENERAL_GLO_CIPHERING;
        k = glo_keys(c);
        break;
    case DLMS_FRAMING_GENERAL_DED:
        tag = DLMS_TAG_GENERAL_DED_CIPHERING;
        k = ded_keys(c);
        break;
    default:
        tag = dlms_glo_tag(w->buf[0]);
        k = glo_keys(c);
        break;
    }
    if (tag < 0)
        return MS_EINVAL;
    uint32_t ic;
    int rc = take_ic(c, &ic);
    if (rc < 0)
        return rc;
    size_t at = out->len;
    rc = dlms_cipher_apdu(out, (uint8_t)tag, c->cfg.client_title, c->cfg.sc, ic, &k,
                          w->buf, w->len);
    if (rc < 0) {
        out->len = at;
        out->err = 0;
        return rc;
    }
    trace(c, true, out->buf + at, out->len - at, w->buf, w->len);
    return 0;
}

static void hdr(const dlms_client_t *c, ms_wr_t *w, uint8_t tag, uint8_t type)
{
    ms_wr_u8(w, tag);
    ms_wr_u8(w, type);
    ms_wr_u8(w, c->cfg.invoke_id_and_priority);
}

/* Encode a value into c->val, growing it up to max_value. */
static int encode_value(dlms_client_t *c, const dlms_data_t *v)
{
    size_t cap = c->val_cap ? c->val_cap : 256;
    for (;;) {
        if (!grow(&c->val, &c->val_cap, cap))
            return MS_ENOMEM;
        ms_wr_t w;
        ms_wr_init(&w, c->val, c->val_cap);
        int rc = axdr_encode_data(&w, v);
        if (rc == 0) {
            c->val_len = w.len;
            c->val_pos = 0;
            return 0;
        }
        if (rc != MS_ENOSPC)
            return rc;
        if (c->val_cap >= c->cfg.max_value)
            return MS_ETOOBIG;
        cap = c->val_cap * 2;
    }
}

/* ---- lifecycle ---- */

dlms_client_t *dlms_client_new(const dlms_client_cfg_t *cfg, int *err)
{
    int e = MS_EINVAL;
    dlms_client_t *c = NULL;
    if (!cfg || cfg->password_len > sizeof cfg->password || cfg->ctos_len > 64)
        goto fail;
    if (cfg->mechanism == DLMS_MECH_HLS_GMAC && cfg->ctos_len < 8)
        goto fail;
    if (cfg->mechanism != DLMS_MECH_LOWEST && cfg->mechanism != DLMS_MECH_LLS &&
        cfg->mechanism != DLMS_MECH_HLS_GMAC)
        goto fail;
    if (cfg->ciphering &&
        (cfg->framing == DLMS_FRAMING_DED || cfg->framing == DLMS_FRAMING_GENERAL_DED) &&
        !cfg->has_dedicated_key)
        goto fail;
    e = MS_ENOMEM;
    c = calloc(1, sizeof *c);
    if (!c)
        goto fail;
    c->cfg = *cfg;
    if (!c->cfg.sc)
        c->cfg.sc = DLMS_CLIENT_SC_DEFAULT;
    if (!c->cfg.conformance)
        c->cfg.conformance = DLMS_CLIENT_CONFORMANCE_DEFAULT;
    if (!c->cfg.invoke_id_and_priority)
        c->cfg.invoke_id_and_priority = DLMS_CLIENT_IIP_DEFAULT;
    if (!c->cfg.max_value)
        c->cfg.max_value = DEFAULT_MAX_VALUE;
    if (!c->cfg.arena_size)
        c->cfg.arena_size = DEFAULT_ARENA;
    c->ic = cfg->ic;
    c->has_server_title = cfg->has_server_title;
    memcpy(c->server_title, cfg->server_title, 8);
    dlms_ic_init(&c->rx_glo);
    dlms_ic_init(&c->rx_ded);
    c->arena_mem = malloc(c->cfg.arena_size);
    if (!c->arena_mem || !grow(&c->tx, &c->tx_cap, 512))
        goto fail;
    dlms_arena_init(&c->arena, c->arena_mem, c->cfg.arena_size);
    if (err)
        *err = 0;
    return c;
fail:
    dlms_client_free(c);
    if (err)
        *err = e;
    return NULL;
}

void dlms_client_free(dlms_client_t *c)
{
    if (!c)
        return;
    free(c->val);
    free(c->acc);
    free(c->rx);
    free(c->tx);
    free(c->arena_mem);
    free(c);
}

void dlms_client_set_trace(dlms_client_t *c, dlms_client_trace_fn fn, void *ctx)
{
    c->trace = fn;
    c->trace_ctx = ctx;
}

const dlms_client_result_t *dlms_client_result(const dlms_client_t *c)
{
    return &c->res;
}

bool dlms_client_associated(const dlms_client_t *c)
{
    return c->state == CS_OPEN;
}

uint32_t dlms_client_ic(const dlms_client_t *c)
{
    return c->ic;
}

void dlms_client_set_ic(dlms_client_t *c, uint32_t ic)
{
    c->ic = ic;
    c->ic_exhausted = false;
}

uint32_t dlms_client_conformance(const dlms_client_t *c)
{
    return c->conformance;
}

uint16_t dlms_client_server_max_pdu(const dlms_client_t *c)
{
    return (uint16_t)(c->server_pdu > 65535u ? 65535u : c->server_pdu);
}

/* ---- ACSE ---- */

/* The InitiateRequest of the AARQ (and of the RLRQ on ciphered associations), plain or
 * glo-ciphered into ui. buf receives the ciphered APDU. */
static int initiate_request(dlms_client_t *c, acse_user_info_t *ui, uint8_t *buf,
                            size_t cap)
{
    memset(ui, 0, sizeof *ui);
    dlms_initiate_request_t *q = &ui->initiate_request;
    if (c->cfg.has_dedicated_key)
        q->dedicated_key = (dlms_bytes_t){ c->cfg.dedicated_key, 16 };
    q->response_allowed = true;
    q->dlms_version = DLMS_VERSION;
    q->conformance = c->cfg.conformance;
    q->max_receive_pdu_size = c->cfg.max_pdu;
    ui->kind = DLMS_TAG_INITIATE_REQUEST;
    if (!c->cfg.ciphering)
        return 0;
    uint8_t plain[64];
    ms_wr_t w;
    ms_wr_init(&w, plain, sizeof plain);
    dlms_apdu_t apdu;
    memset(&apdu, 0, sizeof apdu);
    apdu.tag = DLMS_TAG_INITIATE_REQUEST;
    apdu.u.initiate_req = *q;
    int rc = dlms_apdu_encode(&w, &apdu);
    if (rc < 0)
        return rc;
    uint32_t ic;
    if ((rc = take_ic(c, &ic)) < 0)
        return rc;
    ms_wr_t cw;
    ms_wr_init(&cw, buf, cap);
    dlms_sec_keys_t k = glo_keys(c);
    rc = dlms_cipher_apdu(&cw, DLMS_TAG_GLO_INITIATE_REQUEST, c->cfg.client_title,
                          c->cfg.sc, ic, &k, plain, w.len);
    if (rc < 0)
        return rc;
    ui->kind = DLMS_TAG_GLO_INITIATE_REQUEST;
    ui->raw = (dlms_bytes_t){ buf, cw.len };
    return 0;
}

static int put_acse(dlms_client_t *c, ms_wr_t *out, const acse_apdu_t *a)
{
    size_t at = out->len;
    if (acse_encode(out, a) < 0) {
        out->len = at;
        out->err = 0;
        return MS_ENOSPC;
    }
    trace(c, true, out->buf + at, out->len - at, out->buf + at, out->len - at);
    return 0;
}

int dlms_client_aarq(dlms_client_t *c, ms_wr_t *out)
{
    if (!c || !out || out->err)
        return MS_EINVAL;
    if (c->op != DLMS_OP_NONE || c->state != CS_IDLE)
        return MS_ESTATE;
    start(c, DLMS_OP_ASSOCIATE);
    c->op = DLMS_OP_NONE;
    acse_apdu_t q;
    memset(&q, 0, sizeof q);
    q.type = DLMS_TAG_AARQ;
    q.application_context_name =
        acse_context_name(c->cfg.ciphering ? ACSE_CONTEXT_LN_CIPHERING : ACSE_CONTEXT_LN);
    if ((c->cfg.ciphering || c->cfg.mechanism == DLMS_MECH_HLS_GMAC) &&
        !c->cfg.no_calling_title)
        q.calling_ap_title = (dlms_bytes_t){ c->cfg.client_title, 8 };
    if (c->cfg.mechanism != DLMS_MECH_LOWEST) {
        q.acse_requirements = acse_requirements_authentication();
        q.mechanism_name = acse_mechanism_name((unsigned)c->cfg.mechanism);
        q.authentication_value.tag = ACSE_AUTH_CHARSTRING;
        if (c->cfg.mechanism == DLMS_MECH_LLS)
            q.authentication_value.value =
                (dlms_bytes_t){ c->cfg.password, c->cfg.password_len };
        else
            q.authentication_value.value = (dlms_bytes_t){ c->cfg.ctos, c->cfg.ctos_len };
    }
    uint8_t ui[128];
    int rc = initiate_request(c, &q.user_information, ui, sizeof ui);
    if (rc < 0)
        return rc;
    if ((rc = put_acse(c, out, &q)) < 0)
        return rc;
    c->op = DLMS_OP_ASSOCIATE;
    c->state = CS_AARQ;
    return 0;
}

int dlms_client_rlrq(dlms_client_t *c, ms_wr_t *out)
{
    if (!c || !out || out->err)
        return MS_EINVAL;
    if (c->op != DLMS_OP_NONE)
        return MS_ESTATE;
    start(c, DLMS_OP_RELEASE);
    c->op = DLMS_OP_NONE;
    acse_apdu_t q;
    memset(&q, 0, sizeof q);
    q.type = DLMS_TAG_RLRQ;
    q.has_reason = true;
    q.reason = ACSE_RELEASE_NORMAL;
    uint8_t ui[128];
    if (c->cfg.ciphering && c->state == CS_OPEN) {
        int rc = initiate_request(c, &q.user_information, ui, sizeof ui);
        if (rc < 0)
            return rc;
    }
    int rc = put_acse(c, out, &q);
    if (rc < 0)
        return rc;
    c->op = DLMS_OP_RELEASE;
    return 0;
}

/* The xDLMS user-information of an AARE/RLRE: plain or glo-ciphered InitiateResponse,
 * or a ConfirmedServiceError. */
static int answer_user_info(dlms_client_t *c, const acse_user_info_t *ui)
{
    dlms_client_result_t *r = &c->res;
    switch (ui->kind) {
    case 0:
        return 0;
    case DLMS_TAG_INITIATE_RESPONSE:
        r->has_initiate_response = true;
        r->initiate_response = ui->initiate_response;
        return 0;
    case DLMS_TAG_CONFIRMED_SERVICE_ERROR:
        r->has_service_error = true;
        r->service_error = ui->service_error;
        return 0;
    case DLMS_TAG_GLO_INITIATE_RESPONSE:
    case DLMS_TAG_GLO_CONFIRMED_SERVICE_ERROR:
        break;
    default:
        return MS_EPROTO;
    }
    if (!c->has_server_title)
        return MS_EACCES;
    dlms_ciphered_t info;
    uint8_t plain[64];
    dlms_sec_keys_t k = glo_keys(c);
    int n = dlms_decipher_apdu(ui->raw.p, ui->raw.len, c->server_title, &k, plain,
                               sizeof plain, &info);
    if (n < 0)
        return n == MS_EFRAME || n == MS_ETRUNC ? n : MS_EACCES;
    if (dlms_ic_check(&c->rx_glo, info.ic) < 0)
        return MS_EREPLAY;
    if (info.sc & DLMS_SC_AUTHENTICATION)
        dlms_ic_accept(&c->rx_glo, info.ic);
    r->rx_sc = info.sc;
    uint64_t mem[8];
    dlms_arena_t ar;
    dlms_arena_init(&ar, mem, sizeof mem);
    dlms_apdu_t apdu;
    int rc = dlms_apdu_decode(plain, (size_t)n, &ar, &apdu);
    if (rc < 0)
        return rc == MS_ENOTSUP ? MS_EPROTO : rc;
    if (apdu.tag == DLMS_TAG_INITIATE_RESPONSE) {
        r->has_initiate_response = true;
        r->initiate_response = apdu.u.initiate_resp;
    } else if (apdu.tag == DLMS_TAG_CONFIRMED_SERVICE_ERROR) {
        r->has_service_error = true;
        r->service_error = apdu.u.service_error;
    } else {
        return MS_EPROTO;
    }
    return 0;
}

static int pass3(dlms_client_t *c, ms_wr_t *out)
{
    uint8_t f[DLMS_HLS_GMAC_LEN];
    uint32_t ic;
    int rc = take_ic(c, &ic);
    if (rc < 0)
        return rc;
    dlms_sec_keys_t k = glo_keys(c);
    if ((rc = dlms_hls_gmac(
             f, (uint8_t)(DLMS_SC_AUTHENTICATION | (c->cfg.sc & DLMS_SC_SUITE_MASK)), ic,
             c->cfg.client_title, &k, c->stoc, c->stoc_len)) < 0)
        return rc;
    static const dlms_method_desc_t m = { 15, { 0, 0, 40, 0, 0, 255 }, 1 };
    ms_wr_t w;
    begin(c, out, &w);
    hdr(c, &w, DLMS_TAG_ACTION_REQUEST, DLMS_ACTION_REQUEST_NORMAL);
    dlms_method_desc_write(&w, &m);
    ms_wr_u8(&w, 1);
    ms_wr_u8(&w, DLMS_OCTET_STRING);
    ms_wr_u8(&w, DLMS_HLS_GMAC_LEN);
    ms_wr_bytes(&w, f, sizeof f);
    return finish(c, out, &w);
}

static int on_aare(dlms_client_t *c, const uint8_t *apdu, size_t len, ms_wr_t *out)
{
    acse_apdu_t a;
    int rc = acse_decode(apdu, len, &a);
    trace(c, false, apdu, len, apdu, len);
    if (rc < 0)
        return rc == MS_ENOTSUP ? MS_EPROTO : rc;
    if (a.type != DLMS_TAG_AARE || !a.has_result)
        return MS_EPROTO;
    dlms_client_result_t *r = &c->res;
    r->apdu_tag = DLMS_TAG_AARE;
    r->result = a.result;
    r->result_source = a.result_source;
    r->diagnostic = a.diagnostic;
    if (!c->cfg.has_server_title && a.responding_ap_title.len == 8) {
        c->has_server_title = true;
        memcpy(c->server_title, a.responding_ap_title.p, 8);
    }
    if ((rc = answer_user_info(c, &a.user_information)) < 0)
        return rc;
    if (a.result != ACSE_RESULT_ACCEPTED) {
        c->state = CS_IDLE;
        return DLMS_CLIENT_DONE;
    }
    if (!r->has_initiate_response)
        return MS_EPROTO;
    c->conformance = r->initiate_response.conformance;
    c->server_pdu = r->initiate_response.max_receive_pdu_size;
    if (!c->server_pdu)
        c->server_pdu = 65535u;
    if (!grow(&c->tx, &c->tx_cap, c->server_pdu + 64u))
        return MS_ENOMEM;
    if (a.result_source == ACSE_SOURCE_SERVICE_USER &&
        a.diagnostic == ACSE_DIAG_AUTHENTICATION_REQUIRED) {
        const acse_auth_value_t *v = &a.authentication_value;
        if (c->cfg.mechanism != DLMS_MECH_HLS_GMAC || !v->value.p ||
            v->tag != ACSE_AUTH_CHARSTRING || v->value.len < 8 || v->value.len > 64)
            return MS_EPROTO;
        memcpy(c->stoc, v->value.p, v->value.len);
        c->stoc_len = v->value.len;
        if ((rc = pass3(c, out)) < 0)
            return rc;
        c->state = CS_PASS3;
        return DLMS_CLIENT_SEND;
    }
    if (c->cfg.mechanism == DLMS_MECH_HLS_GMAC)
        return MS_EPROTO; /* accepted without the HLS exchange */
    c->state = CS_OPEN;
    r->associated = true;
    return DLMS_CLIENT_DONE;
}

static int on_rlre(dlms_client_t *c, const uint8_t *apdu, size_t len)
{
    acse_apdu_t a;
    int rc = acse_decode(apdu, len, &a);
    trace(c, false, apdu, len, apdu, len);
    if (rc < 0)
        return rc == MS_ENOTSUP ? MS_EPROTO : rc;
    if (a.type != DLMS_TAG_RLRE)
        return MS_EPROTO;
    dlms_client_result_t *r = &c->res;
    r->apdu_tag = DLMS_TAG_RLRE;
    r->has_reason = a.has_reason;
    r->reason = a.reason;
    rc = answer_user_info(c, &a.user_information);
    if (!a.has_reason || a.reason == ACSE_RELEASE_NORMAL)
        c->state = CS_IDLE;
    r->associated = c->state == CS_OPEN;
    return rc < 0 ? rc : DLMS_CLIENT_DONE;
}

/* ---- xDLMS answers ---- */

/* The answer in clear in c->rx (deciphered when it came ciphered). */
static int plain_answer(dlms_client_t *c, const uint8_t *apdu, size_t len, size_t *plen)
{
    if (!dlms_tag_is_ciphered(apdu[0])) {
        if (!grow(&c->rx, &c->rx_cap, len))
            return MS_ENOMEM;
        memcpy(c->rx, apdu, len);
        *plen = len;
        c->res.rx_sc = 0;
        trace(c, false, apdu, len, c->rx, len);
        return 0;
    }
    dlms_ciphered_t ci;
    int rc = dlms_ciphered_decode(apdu, len, &ci);
    if (rc < 0) {
        trace(c, false, apdu, len, NULL, 0);
        return rc == MS_ENOTSUP ? MS_EPROTO : rc;
    }
    bool ded = dlms_tag_is_ded(ci.tag);
    const uint8_t *title = c->has_server_title ? c->server_title : NULL;
    if (ci.system_title.p) {
        if (title && memcmp(title, ci.system_title.p, 8) != 0)
            title = NULL;
        else
            title = ci.system_title.p;
    }
    dlms_ic_t *rx = ded ? &c->rx_ded : &c->rx_glo;
    int n = MS_EACCES;
    if (title && (!ded || c->cfg.has_dedicated_key)) {
        if (dlms_ic_check(rx, ci.ic) < 0) {
            trace(c, false, apdu, len, NULL, 0);
            return MS_EREPLAY;
        }
        if (!grow(&c->rx, &c->rx_cap, ci.content.len))
            return MS_ENOMEM;
        dlms_sec_keys_t k = ded ? ded_keys(c) : glo_keys(c);
        n = dlms_sec_unprotect(ci.content.p, ci.content.len, title, &k, c->rx, c->rx_cap,
                               NULL, NULL);
    }
    if (n <= 0) {
        trace(c, false, apdu, len, NULL, 0);
        return n == MS_ETRUNC ? MS_ETRUNC : MS_EACCES;
    }
    int plain = dlms_plain_tag(ci.tag);
    if (plain >= 0 && c->rx[0] != plain) {
        trace(c, false, apdu, len, NULL, 0);
        return MS_EFRAME;
    }
    if (ci.sc & DLMS_SC_AUTHENTICATION)
        dlms_ic_accept(rx, ci.ic);
    c->res.rx_sc = ci.sc;
    *plen = (size_t)n;
    trace(c, false, apdu, len, c->rx, (size_t)n);
    return 0;
}

/* Exception-response or ConfirmedServiceError end any operation; otherwise the tag and
 * invoke-id must be the request's. Returns 1 to go on, DONE, or an error. */
static int common(dlms_client_t *c, const dlms_apdu_t *a, uint8_t want)
{
    dlms_client_result_t *r = &c->res;
    r->apdu_tag = a->tag;
    if (a->tag == DLMS_TAG_EXCEPTION_RESPONSE) {
        r->exception = a->u.exception;
        return DLMS_CLIENT_DONE;
    }
    if (a->tag == DLMS_TAG_CONFIRMED_SERVICE_ERROR) {
        r->has_service_error = true;
        r->service_error = a->u.service_error;
        return DLMS_CLIENT_DONE;
    }
    if (a->tag != want || DLMS_IIP_INVOKE_ID(a->invoke_id_and_priority) !=
                              DLMS_IIP_INVOKE_ID(c->cfg.invoke_id_and_priority))
        return MS_EPROTO;
    return 1;
}

static int acc_add(dlms_client_t *c, dlms_bytes_t raw)
{
    if (c->acc_len + raw.len > c->cfg.max_value)
        return MS_ETOOBIG;
    if (!grow(&c->acc, &c->acc_cap, c->acc_len + raw.len))
        return MS_ENOMEM;
    if (raw.len)
        memcpy(c->acc + c->acc_len, raw.p, raw.len);
    c->acc_len += raw.len;
    return 0;
}

/* Start reading a reassembled long answer from c->acc: one item, or (list) a SEQUENCE OF
 * items of at least 2 octets each. Returns an arena array for the *n items (of size
 * item), or NULL with *rc set. */
static void *acc_items(dlms_client_t *c, bool list, ms_rd_t *rd, uint32_t *n, size_t item,
                       int *rc)
{
    ms_rd_init(rd, c->acc, c->acc_len);
    *n = 1;
    if (list && (*rc = axdr_read_length(rd, n)) < 0)
        return NULL;
    *rc = MS_EFRAME;
    if (*n > ms_rd_left(rd) / 2 + 1)
        return NULL;
    *rc = MS_ENOMEM;
    void *items = dlms_arena_alloc(&c->arena, (*n ? *n : 1) * item);
    if (!items)
        return NULL;
    *rc = 0;
    c->res.count = *n;
    return items;
}

/* Decode a reassembled GET answer: a Data (normal) or SEQUENCE OF Get-Data-Result. */
static int get_from_acc(dlms_client_t *c, bool list)
{
    dlms_client_result_t *r = &c->res;
    ms_rd_t rd;
    uint32_t n;
    int rc;
    r->get = acc_items(c, list, &rd, &n, sizeof *r->get, &rc);
    for (uint32_t i = 0; rc == 0 && i < n; i++) {
        if (list) {
            rc = dlms_get_data_result_read(&rd, &c->arena, &r->get[i]);
        } else {
            r->get[i].is_data = true;
            rc = axdr_decode_data(&rd, &c->arena, &r->get[i].data);
        }
    }
    if (rc < 0)
        return rc;
    return ms_rd_left(&rd) ? MS_EFRAME : 0;
}

static int get_next(dlms_client_t *c, ms_wr_t *out)
{
    ms_wr_t w;
    begin(c, out, &w);
    hdr(c, &w, DLMS_TAG_GET_REQUEST, DLMS_GET_REQUEST_NEXT);
    ms_wr_u32be(&w, c->blk_in);
    return finish(c, out, &w);
}

static int on_get(dlms_client_t *c, const dlms_apdu_t *a, ms_wr_t *out)
{
    dlms_client_result_t *r = &c->res;
    const dlms_get_response_t *g = &a->u.get_resp;
    bool list = c->op == DLMS_OP_GET_LIST;
    int rc;
    switch (a->type) {
    case DLMS_GET_RESPONSE_NORMAL:
        if (list || c->blk_in)
            return MS_EPROTO;
        r->get = dlms_arena_alloc(&c->arena, sizeof *r->get);
        if (!r->get)
            return MS_ENOMEM;
        r->get[0] = g->result;
        r->count = 1;
        return DLMS_CLIENT_DONE;
    case DLMS_GET_RESPONSE_WITH_LIST:
        if (!list || c->blk_in || g->count != c->list_n)
            return MS_EPROTO;
        r->get = g->list;
        r->count = g->count;
        return DLMS_CLIENT_DONE;
    case DLMS_GET_RESPONSE_WITH_DATABLOCK:
        if (g->block.block_number != c->blk_in + 1) {
            if (!g->block.is_raw && g->block.last_block) {
                /* the server gave up (e.g. data-block-number-invalid): a result */
                r->get = dlms_arena_alloc(&c->arena, sizeof *r->get);
                if (!r->get)
                    return MS_ENOMEM;
                r->get[0].dar = g->block.dar;
                r->count = 1;
                return DLMS_CLIENT_DONE;
            }
            return MS_EPROTO;
        }
        c->blk_in++;
        r->blocks++;
        if (!g->block.is_raw) {
            r->get = dlms_arena_alloc(&c->arena, sizeof *r->get);
            if (!r->get)
                return MS_ENOMEM;
            r->get[0].dar = g->block.dar;
            r->count = 1;
            return DLMS_CLIENT_DONE;
        }
        if ((rc = acc_add(c, g->block.raw)) < 0)
            return rc;
        if (!g->block.last_block)
            return (rc = get_next(c, out)) < 0 ? rc : DLMS_CLIENT_SEND;
        if ((rc = get_from_acc(c, list)) < 0)
            return rc;
        return DLMS_CLIENT_DONE;
    default:
        return MS_EPROTO;
    }
}

/* Next SET datablock or ACTION parameter block from c->val. */
static int send_block(dlms_client_t *c, ms_wr_t *out, bool set)
{
    ms_wr_t w;
    begin(c, out, &w);
    size_t room = req_room(c, out);
    hdr(c, &w, set ? DLMS_TAG_SET_REQUEST : DLMS_TAG_ACTION_REQUEST,
        set ? DLMS_SET_REQUEST_WITH_DATABLOCK : DLMS_ACTION_REQUEST_WITH_PBLOCK);
    size_t left = c->val_len - c->val_pos;
    size_t n = room > 8 ? axdr_max_contents(room - 8) : 0;
    if (n == 0 && left)
        return MS_ENOSPC;
    if (n > left)
        n = left;
    ms_wr_u8(&w, n == left ? 1 : 0);
    ms_wr_u32be(&w, c->blk_out + 1);
    axdr_write_length(&w, (uint32_t)n);
    ms_wr_bytes(&w, c->val + c->val_pos, n);
    int rc = finish(c, out, &w);
    if (rc < 0)
        return rc;
    c->val_pos += n;
    c->blk_out++;
    c->res.blocks++;
    return 0;
}

static int on_set(dlms_client_t *c, const dlms_apdu_t *a, ms_wr_t *out)
{
    dlms_client_result_t *r = &c->res;
    const dlms_set_response_t *s = &a->u.set_resp;
    int rc;
    switch (a->type) {
    case DLMS_SET_RESPONSE_NORMAL:
    case DLMS_SET_RESPONSE_LAST_DATABLOCK:
        if (a->type == DLMS_SET_RESPONSE_LAST_DATABLOCK && s->result == 0 &&
            (s->block_number != c->blk_out || c->val_pos != c->val_len))
            return MS_EPROTO;
        r->set = dlms_arena_alloc(&c->arena, 1);
        if (!r->set)
            return MS_ENOMEM;
        r->set[0] = s->result;
        r->count = 1;
        return DLMS_CLIENT_DONE;
    case DLMS_SET_RESPONSE_WITH_LIST:
    case DLMS_SET_RESPONSE_LAST_DATABLOCK_WITH_LIST:
        r->set = s->results;
        r->count = s->count;
        return DLMS_CLIENT_DONE;
    case DLMS_SET_RESPONSE_DATABLOCK:
        if (s->block_number != c->blk_out || c->val_pos >= c->val_len)
            return MS_EPROTO;
        return (rc = send_block(c, out, true)) < 0 ? rc : DLMS_CLIENT_SEND;
    default:
        return MS_EPROTO;
    }
}

/* Decode a reassembled ACTION answer: Action-Response-With-Optional-Data (normal) or
 * a SEQUENCE OF them. */
static int action_from_acc(dlms_client_t *c, bool list)
{
    dlms_client_result_t *r = &c->res;
    ms_rd_t rd;
    uint32_t n;
    int rc;
    r->action = acc_items(c, list, &rd, &n, sizeof *r->action, &rc);
    for (uint32_t i = 0; rc == 0 && i < n; i++)
        rc = dlms_action_result_read(&rd, &c->arena, &r->action[i]);
    if (rc < 0)
        return rc;
    return ms_rd_left(&rd) ? MS_EFRAME : 0;
}

static int on_action(dlms_client_t *c, const dlms_apdu_t *a, ms_wr_t *out)
{
    dlms_client_result_t *r = &c->res;
    const dlms_action_response_t *p = &a->u.action_resp;
    int rc;
    switch (a->type) {
    case DLMS_ACTION_RESPONSE_NORMAL:
        r->action = dlms_arena_alloc(&c->arena, sizeof *r->action);
        if (!r->action)
            return MS_ENOMEM;
        r->action[0] = p->single;
        r->count = 1;
        return DLMS_CLIENT_DONE;
    case DLMS_ACTION_RESPONSE_WITH_LIST:
        r->action = p->list;
        r->count = p->count;
        return DLMS_CLIENT_DONE;
    case DLMS_ACTION_RESPONSE_NEXT_PBLOCK:
        if (p->block_number != c->blk_out || c->val_pos >= c->val_len)
            return MS_EPROTO;
        return (rc = send_block(c, out, false)) < 0 ? rc : DLMS_CLIENT_SEND;
    case DLMS_ACTION_RESPONSE_WITH_PBLOCK: {
        if (p->block.block_number != c->blk_in + 1)
            return MS_EPROTO;
        c->blk_in++;
        r->blocks++;
        if ((rc = acc_add(c, p->block.raw)) < 0)
            return rc;
        if (p->block.last_block)
            return (rc = action_from_acc(c, c->list_n > 0)) < 0 ? rc : DLMS_CLIENT_DONE;
        ms_wr_t w;
        begin(c, out, &w);
        hdr(c, &w, DLMS_TAG_ACTION_REQUEST, DLMS_ACTION_REQUEST_NEXT_PBLOCK);
        ms_wr_u32be(&w, c->blk_in);
        return (rc = finish(c, out, &w)) < 0 ? rc : DLMS_CLIENT_SEND;
    }
    default:
        return MS_EPROTO;
    }
}

static int on_pass4(dlms_client_t *c, const dlms_apdu_t *a)
{
    dlms_client_result_t *r = &c->res;
    if (a->type != DLMS_ACTION_RESPONSE_NORMAL)
        return MS_EPROTO;
    r->action = dlms_arena_alloc(&c->arena, sizeof *r->action);
    if (!r->action)
        return MS_ENOMEM;
    r->action[0] = a->u.action_resp.single;
    r->count = 1;
    const dlms_action_result_t *s = &a->u.action_resp.single;
    if (s->result != DLMS_ACTION_SUCCESS) {
        c->state = CS_IDLE;
        return DLMS_CLIENT_DONE;
    }
    const dlms_data_t *d = &s->return_parameters.data;
    if (!s->has_return_parameters || !s->return_parameters.is_data ||
        d->type != DLMS_OCTET_STRING || !c->has_server_title)
        return MS_EACCES;
    dlms_sec_keys_t k = glo_keys(c);
    if (dlms_hls_gmac_verify(d->v.bytes, d->n, c->server_title, &k, c->cfg.ctos,
                             c->cfg.ctos_len, NULL) < 0)
        return MS_EACCES;
    c->state = CS_OPEN;
    r->associated = true;
    return DLMS_CLIENT_DONE;
}

int dlms_client_feed(dlms_client_t *c, const uint8_t *apdu, size_t len, ms_wr_t *out)
{
    if (!c || !out || (!apdu && len) || out->err)
        return MS_EINVAL;
    if (c->op == DLMS_OP_NONE)
        return MS_ESTATE;
    int rc;
    if (len == 0) {
        rc = MS_ETRUNC;
    } else if (c->op == DLMS_OP_ASSOCIATE && c->state == CS_AARQ) {
        rc = on_aare(c, apdu, len, out);
    } else if (c->op == DLMS_OP_RELEASE) {
        rc = on_rlre(c, apdu, len);
    } else {
        size_t plen = 0;
        dlms_apdu_t a;
        dlms_arena_reset(&c->arena);
        rc = plain_answer(c, apdu, len, &plen);
        if (rc == 0) {
            rc = dlms_apdu_decode(c->rx, plen, &c->arena, &a);
            if (rc == MS_ENOTSUP)
                rc = MS_EPROTO;
        }
        if (rc == 0) {
            uint8_t want = c->op == DLMS_OP_SET         ? DLMS_TAG_SET_RESPONSE
                           : c->op == DLMS_OP_ACTION    ? DLMS_TAG_ACTION_RESPONSE
                           : c->op == DLMS_OP_ASSOCIATE ? DLMS_TAG_ACTION_RESPONSE
                                                        : DLMS_TAG_GET_RESPONSE;
            rc = common(c, &a, want);
            if (rc == 1) {
                switch (c->op) {
                case DLMS_OP_ASSOCIATE:
                    rc = on_pass4(c, &a);
                    break;
                case DLMS_OP_SET:
                    rc = on_set(c, &a, out);
                    break;
                case DLMS_OP_ACTION:
                    rc = on_action(c, &a, out);
                    break;
                default:
                    rc = on_get(c, &a, out);
                    break;
                }
            } else if (rc == DLMS_CLIENT_DONE && c->op == DLMS_OP_ASSOCIATE) {
                c->state = CS_IDLE; /* pass 3 refused with an exception */
            }
        }
    }
    if (rc != DLMS_CLIENT_SEND) {
        if (rc < 0 && (c->state == CS_AARQ || c->state == CS_PASS3))
            c->state = CS_IDLE;
        c->op = DLMS_OP_NONE;
    }
    c->res.associated = c->state == CS_OPEN;
    return rc;
}

/* ---- xDLMS requests ---- */

static int ready(dlms_client_t *c, ms_wr_t *out)
{
    if (!c || !out || out->err)
        return MS_EINVAL;
    if (c->op != DLMS_OP_NONE || c->state != CS_OPEN)
        return MS_ESTATE;
    return 0;
}

static int get_common(dlms_client_t *c, const dlms_attr_sel_t *list, uint32_t n,
                      bool many, ms_wr_t *out)
{
    int rc = ready(c, out);
    if (rc < 0)
        return rc;
    if (!list || (many && n == 0))
        return MS_EINVAL;
    start(c, many ? DLMS_OP_GET_LIST : DLMS_OP_GET);
    c->op = DLMS_OP_NONE;
    ms_wr_t w;
    begin(c, out, &w);
    hdr(c, &w, DLMS_TAG_GET_REQUEST,
        many ? DLMS_GET_REQUEST_WITH_LIST : DLMS_GET_REQUEST_NORMAL);
    if (many)
        axdr_write_length(&w, n);
    for (uint32_t i = 0; i < (many ? n : 1); i++)
        if ((rc = dlms_attr_sel_write(&w, &list[i])) < 0 && rc != MS_ENOSPC)
            return rc;
    if ((rc = finish(c, out, &w)) < 0)
        return rc;
    c->op = many ? DLMS_OP_GET_LIST : DLMS_OP_GET;
    c->list_n = many ? n : 0;
    return 0;
}

int dlms_client_get(dlms_client_t *c, const dlms_attr_sel_t *attr, ms_wr_t *out)
{
    return get_common(c, attr, 1, false, out);
}

int dlms_client_get_list(dlms_client_t *c, const dlms_attr_sel_t *list, uint32_t n,
                         ms_wr_t *out)
{
    return get_common(c, list, n, true, out);
}

int dlms_client_set(dlms_client_t *c, const dlms_attr_sel_t *attr,
                    const dlms_data_t *value, ms_wr_t *out)
{
    int rc = ready(c, out);
    if (rc < 0)
        return rc;
    if (!attr || !value)
        return MS_EINVAL;
    start(c, DLMS_OP_SET);
    c->op = DLMS_OP_NONE;
    if ((rc = encode_value(c, value)) < 0)
        return rc;
    uint8_t sel[512];
    ms_wr_t sw;
    ms_wr_init(&sw, sel, sizeof sel);
    if ((rc = dlms_attr_sel_write(&sw, attr)) < 0)
        return rc == MS_ENOSPC ? MS_EINVAL : rc;
    size_t room = req_room(c, out);
    ms_wr_t w;
    begin(c, out, &w);
    if (3 + sw.len + c->val_len <= room) {
        hdr(c, &w, DLMS_TAG_SET_REQUEST, DLMS_SET_REQUEST_NORMAL);
        ms_wr_bytes(&w, sel, sw.len);
        ms_wr_bytes(&w, c->val, c->val_len);
        c->val_pos = c->val_len;
    } else {
        size_t fixed = 3 + sw.len + 5;
        size_t n = room > fixed ? axdr_max_contents(room - fixed) : 0;
        if (n == 0)
            return MS_ENOSPC;
        hdr(c, &w, DLMS_TAG_SET_REQUEST, DLMS_SET_REQUEST_WITH_FIRST_DATABLOCK);
        ms_wr_bytes(&w, sel, sw.len);
        ms_wr_u8(&w, 0);
        ms_wr_u32be(&w, 1);
        axdr_write_length(&w, (uint32_t)n);
        ms_wr_bytes(&w, c->val, n);
        c->val_pos = n;
        c->blk_out = 1;
        c->res.blocks = 1;
    }
    if ((rc = finish(c, out, &w)) < 0)
        return rc;
    c->op = DLMS_OP_SET;
    return 0;
}

int dlms_client_action(dlms_client_t *c, const dlms_method_desc_t *m,
                       const dlms_data_t *params, ms_wr_t *out)
{
    int rc = ready(c, out);
    if (rc < 0)
        return rc;
    if (!m)
        return MS_EINVAL;
    start(c, DLMS_OP_ACTION);
    c->op = DLMS_OP_NONE;
    if (params && (rc = encode_value(c, params)) < 0)
        return rc;
    size_t room = req_room(c, out);
    ms_wr_t w;
    begin(c, out, &w);
    if (!params || 3 + 9 + 1 + c->val_len <= room) {
        hdr(c, &w, DLMS_TAG_ACTION_REQUEST, DLMS_ACTION_REQUEST_NORMAL);
        dlms_method_desc_write(&w, m);
        ms_wr_u8(&w, params ? 1 : 0);
        if (params)
            ms_wr_bytes(&w, c->val, c->val_len);
        c->val_pos = c->val_len;
    } else {
        size_t fixed = 3 + 9 + 5;
        size_t n = room > fixed ? axdr_max_contents(room - fixed) : 0;
        if (n == 0)
            return MS_ENOSPC;
        hdr(c, &w, DLMS_TAG_ACTION_REQUEST, DLMS_ACTION_REQUEST_WITH_FIRST_PBLOCK);
        dlms_method_desc_write(&w, m);
        ms_wr_u8(&w, 0);
        ms_wr_u32be(&w, 1);
        axdr_write_length(&w, (uint32_t)n);
        ms_wr_bytes(&w, c->val, n);
        c->val_pos = n;
        c->blk_out = 1;
        c->res.blocks = 1;
    }
    if ((rc = finish(c, out, &w)) < 0)
        return rc;
    c->op = DLMS_OP_ACTION;
    return 0;
}
