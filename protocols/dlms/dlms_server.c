/*
** dlms_server.c — DLMS/COSEM application associations, server (meter) side: ACSE,
** xDLMS GET / SET / ACTION with block transfer, security suite 0, exception responses.
** SPDX-License-Identifier: MIT
**
** Sources (facts only; the standards are the authority): DLMS UA 1000-2 Green Book /
** IEC 62056-5-3 — application association establishment and release (AARQ/AARE,
** RLRQ/RLRE, result-source-diagnostic), xDLMS InitiateRequest/Response and
** ConfirmedServiceError, GET/SET/ACTION services and "transferring long application
** data" (service-specific block transfer), EXCEPTION-Response, security (cryptographic
** protection, HLS mechanism 5 GMAC); DLMS UA 1000-1 Blue Book / IEC 62056-6-2 class
** Association LN (class_id 15, method 1 reply_to_HLS_authentication, the instance
** 0.0.40.0.0.255 meaning "the current association"), Security setup (class_id 64,
** security_policy, client_system_title). Public facts cross-checked against
** ../shared/PROTOCOL-NOTES.md (DLMS traps 6-10) and the shared pwitab/EPRI vectors.
**
** Behaviour choices where the text leaves room or was not at hand (each is tested):
** - AARE: the first failing ACSE check gives the diagnostic (protocol version ->
**   acse-service-provider no-common-acse-version; unknown client SAP -> no-reason-given;
**   context not LN / not LN-with-ciphering when the policy needs ciphering ->
**   application-context-name-not-supported; a calling-AP-title of the wrong length, not
**   the configured one, or missing where ciphering or HLS-GMAC needs one ->
**   calling-AP-title-not-recognized; no mechanism-name where one is required ->
**   authentication-mechanism-name-required; another mechanism ->
**   authentication-mechanism-name-not-recognised; wrong or missing password or CtoS ->
**   authentication-failure). The xDLMS InitiateRequest is judged independently: its
**   InitiateResponse is in the user-information also of an AARE rejected at the ACSE
**   level (as the pwitab wrong-context AARE shows); when it fails (dlms version < 6,
**   client PDU size 1..11 or below 64 with ciphering, no common conformance bit, not
**   decipherable, replayed counter, plain under a ciphering policy) the AARE is
**   rejected-permanent / no-reason-given with a ConfirmedServiceError (initiateError,
**   initiate, value). Client max receive PDU size 0 means "no limit" (65535).
** - A second AARQ for a client SAP that has an open or pending association is rejected
**   (no-reason-given); the existing association is left as it was (so a forged AARQ
**   cannot end an authenticated association). RLRQ first.
** - AARE fields: responding-AP-title in the context with ciphering, and with HLS-GMAC
**   when the AARQ carried a calling-AP-title (answer in kind: pwitab's LN-context HLS
**   AARQ has none and its AARE none);
**   responder-acse-requirements, mechanism-name and responding-authentication-value
**   only with HLS (pwitab's LLS/lowest AAREs have none of them).
** - HLS-GMAC: pass 3 is ACTION method 1 on class 15 at 0.0.40.0.0.255 or at the
**   client's own Association LN. A wrong f(StoC) is answered with action-result
**   read-write-denied and the pending association is dropped (one challenge, one try).
**   The IC inside f(StoC) is not replay-checked (the challenge is fresh each time).
**   While pass 3 is pending every other xDLMS request gets EXCEPTION-Response
**   service-not-allowed / operation-not-possible; RLRQ is allowed.
** - Exception responses (always in clear; there is no ciphered form): request outside
**   an association, or in the HLS pending state -> service-not-allowed /
**   operation-not-possible; an APDU that is not a request this server knows ->
**   service-unknown / service-not-supported; a service or block transfer not in the
**   negotiated conformance, or a ciphered APDU in an association without the ciphering
**   context -> service-not-allowed / service-not-supported; undecodable request ->
**   service-not-allowed / other-reason; longer than the server max receive PDU ->
**   service-not-allowed / pdu-too-long; plain (or too weakly protected) request under a
**   ciphering policy -> service-not-allowed / operation-not-possible; authentication tag
**   failure, unknown system title, no dedicated key -> service-not-allowed /
**   deciphering-error; replayed or stale invocation counter -> service-not-allowed /
**   invocation-counter-error carrying the refused counter. The association stays open.
** - Answers to ciphered requests use the same framing (glo-, ded-, general-glo-,
**   general-ded-) and the request's security control (suite, A, E); invoke-id-and-
**   priority is echoed; the service-class bit is not used to suppress answers.
** - Block transfer: a GET value longer than the client's max receive PDU (less the
**   ciphering overhead) goes in GET-Response-With-Datablock; the blocks are numbered from
**   1 and GET-Request-Next must name the last block received. A wrong number ->
**   data-block-number-invalid, no transfer -> no-long-get-in-progress, both in a
**   datablock answer with last-block TRUE and the client's number; the transfer is
**   dropped. Any new GET/SET/ACTION request drops a transfer in progress. SET datablocks
**   (first block number 1) are reassembled and passed to one set call; errors are
**   answered with SET-Response-Last-Datablock (data-block-number-invalid,
**   no-long-set-in-progress, long-set-aborted when max_value is exceeded). ACTION
**   parameter blocks likewise (ACTION-Response-Next-Pblock between blocks); long ACTION
**   answers go in ACTION-Response-With-Pblock whose raw data is the encoded response
**   body (Action-Response-With-Optional-Data, or the list of them); their errors are
**   long-action-aborted / no-long-action-in-progress.
** - RLRQ: on an association established with a ciphered InitiateRequest, an RLRQ whose
**   user-information deciphers gets an RLRE (normal) with a ciphered InitiateResponse;
**   one that does not decipher gets an RLRE "not-finished" and the association stays.
**   Otherwise the RLRE has no user-information. An RLRQ without association gets RLRE
**   normal.
** Per-GET cost: the request is decoded into the per-link arena, the value encoded into
** the association's value buffer and copied behind the 4-octet response header; no
** allocation once the buffers have grown to the largest value served.
*/
#include "dlms_server.h"

#include <stdlib.h>
#include <string.h>

#include "dlms_acse.h"
#include "dlms_security.h"
#include "ms_err.h"

#define MAX_ASSOC            32u /* associations (client SAPs) per link */
#define DEFAULT_MAX_VALUE    (1u << 20)
#define DEFAULT_ARENA        (64u << 10)
#define DEFAULT_SERVER_PDU   1024u
#define DEFAULT_CHALLENGE    16u
#define MIN_CLIENT_PDU       12u /* Green Book: smaller values are reserved */
#define MIN_CIPHERED_PDU     64u /* room for the ciphering overhead and some data */
#define ACTION_RET_CAP       (16u << 10)
#define FIRST_VALUE_CAP      1024u
#define CIPHER_OVERHEAD      30u /* tag, length (3), title (1 + 8), SC, IC (4), GCM tag */
#define HLS_METHOD           1
#define CLASS_ASSOCIATION_LN 15u

enum { AS_IDLE = 0, AS_PENDING, AS_OPEN };
enum { XF_NONE = 0, XF_GET, XF_ACTION_RESP, XF_SET, XF_ACTION_REQ };
enum { PROT_PLAIN = 0, PROT_GLO, PROT_DED, PROT_GENERAL_GLO, PROT_GENERAL_DED };

/* Exception to answer: state-error << 8 | service-error. */
#define EXC(state, service)  (0x10000 | ((state) << 8) | (service))
#define EXC_NOT_ALLOWED(svc) EXC(DLMS_EXC_STATE_SERVICE_NOT_ALLOWED, (svc))

typedef struct assoc {
    uint8_t state;
    uint16_t client_sap, server_sap;
    dlms_assoc_cfg_t cfg;
    uint32_t conformance;   /* negotiated */
    uint32_t client_pdu;    /* client max receive PDU size: the most we send */
    bool ciphered;          /* context LN with ciphering */
    bool ciphered_initiate; /* the InitiateRequest came ciphered (RLRQ/RLRE use it) */
    bool has_title;
    uint8_t title[8]; /* client system title */
    bool has_ded;
    uint8_t ded[16];
    dlms_ic_t ded_rx; /* received counters of the dedicated key */
    uint8_t stoc[64], ctos[64];
    uint8_t stoc_len, ctos_len;
    /* transfer in progress */
    uint8_t xf;
    bool xf_list;
    uint32_t xf_block; /* last block sent (long answers) or received (reassembly) */
    uint32_t xf_count; /* descriptors in the prefix (reassembly with list) */
    size_t xf_hdr;     /* reassembly: octets of re-encoded descriptors at buf[0] */
    size_t xf_pos, xf_len;
    uint8_t *buf; /* value / reassembly buffer, grows to the largest value */
    size_t cap;
} assoc_t;

struct dlms_server {
    size_t max_value, arena_size;
    const dlms_server_ops_t *ops;
    void *ctx;
    assoc_t *as;
    size_t nas;
    void *arena_mem;
    dlms_arena_t arena;
    uint8_t *rx; /* deciphered request */
    size_t rx_cap;
    uint8_t *tx; /* plain answer before ciphering */
    size_t tx_cap;
};

/* One request being answered. */
typedef struct req {
    dlms_server_t *s;
    assoc_t *a;
    uint16_t csap, ssap;
    uint8_t prot, sc; /* protection of the answer */
    uint8_t iip;
    ms_wr_t w;   /* the plain answer */
    size_t room; /* the most octets the plain answer may take */
    dlms_who_t who;
} req_t;

/* ---- small helpers ---- */

static void event(dlms_server_t *s, uint16_t csap, uint16_t ssap, const assoc_t *a,
                  const char *what)
{
    if (!s->ops->event)
        return;
    dlms_who_t who = { csap, ssap, a ? a->cfg.mechanism : DLMS_MECH_LOWEST,
                       a && a->state == AS_OPEN, a && a->has_title ? a->title : NULL };
    s->ops->event(s->ctx, &who, what);
}

static bool grow(uint8_t **buf, size_t *cap, size_t need)
{
    return ms_buf_reserve(buf, cap, need, 256) == 0;
}

/* The most a->buf may hold: a value plus its list count or re-encoded descriptors. */
static size_t buf_limit(const dlms_server_t *s)
{
    return s->max_value + 4096u;
}

static bool assoc_grow(const dlms_server_t *s, assoc_t *a, size_t need)
{
    if (need > buf_limit(s))
        return false;
    if (a->cap >= need)
        return true;
    size_t n = a->cap ? a->cap * 2 : FIRST_VALUE_CAP;
    while (n < need)
        n *= 2;
    if (n > buf_limit(s))
        n = buf_limit(s);
    uint8_t *p = realloc(a->buf, n);
    if (!p)
        return false;
    a->buf = p;
    a->cap = n;
    return true;
}

static bool ensure_arena(dlms_server_t *s)
{
    if (!s->arena_mem) {
        s->arena_mem = malloc(s->arena_size);
        if (!s->arena_mem)
            return false;
        dlms_arena_init(&s->arena, s->arena_mem, s->arena_size);
    }
    dlms_arena_reset(&s->arena);
    return true;
}

static assoc_t *find(dlms_server_t *s, uint16_t csap)
{
    for (size_t i = 0; i < s->nas; i++)
        if (s->as[i].state != AS_IDLE && s->as[i].client_sap == csap)
            return &s->as[i];
    return NULL;
}

static assoc_t *slot(dlms_server_t *s)
{
    for (size_t i = 0; i < s->nas; i++)
        if (s->as[i].state == AS_IDLE)
            return &s->as[i];
    if (s->nas >= MAX_ASSOC)
        return NULL;
    assoc_t *p = realloc(s->as, (s->nas + 1) * sizeof *p);
    if (!p)
        return NULL;
    s->as = p;
    memset(&p[s->nas], 0, sizeof *p);
    return &p[s->nas++];
}

static void drop(assoc_t *a)
{
    uint8_t *buf = a->buf;
    size_t cap = a->cap;
    memset(a, 0, sizeof *a);
    a->buf = buf;
    a->cap = cap;
}

static dlms_sec_keys_t glo_keys(const assoc_t *a)
{
    return (dlms_sec_keys_t){ a->cfg.ek, 16, a->cfg.ak, 16 };
}

static dlms_sec_keys_t ded_keys(const assoc_t *a)
{
    return (dlms_sec_keys_t){ a->ded, 16, a->cfg.ak, 16 };
}

/* ---- exception-response ---- */

static int put_exception(ms_wr_t *out, int code, uint32_t ic)
{
    size_t at = out->len;
    dlms_apdu_t e;
    memset(&e, 0, sizeof e);
    e.tag = DLMS_TAG_EXCEPTION_RESPONSE;
    e.u.exception.state_error = (uint8_t)((code >> 8) & 0xFF);
    e.u.exception.service_error = (uint8_t)(code & 0xFF);
    e.u.exception.invocation_counter = ic;
    if (dlms_apdu_encode(out, &e) < 0) {
        out->len = at;
        out->err = 0;
        return MS_ENOSPC;
    }
    return 0;
}

/* ---- ACSE: AARQ -> AARE ---- */

typedef struct aarq_eval {
    int source, diag; /* ACSE verdict: 0/0 = accepted */
    int init_err;     /* -1: InitiateRequest fine; else the ServiceError initiate value */
    dlms_initiate_request_t iq;
    uint8_t init_sc; /* security control of a ciphered InitiateRequest, 0 if plain */
    bool init_ciphered;
    uint32_t conformance, client_pdu;
    bool has_title;
    uint8_t title[8];
    bool has_ded; /* a dedicated key came in a ciphered InitiateRequest */
    uint8_t ded[16];
} aarq_eval_t;

static void set_diag(aarq_eval_t *v, int source, int diag)
{
    if (!v->source) {
        v->source = source;
        v->diag = diag;
    }
}

/* The xDLMS InitiateRequest of an AARQ (Green Book "xDLMS InitiateRequest"), plain or
 * glo-ciphered; sets v->init_err on refusal. */
static void eval_initiate(dlms_server_t *s, uint16_t csap, const dlms_assoc_cfg_t *cfg,
                          bool ciphered_ctx, const acse_user_info_t *ui, aarq_eval_t *v)
{
    uint8_t plain[128]; /* the deciphered InitiateRequest: v->iq points into it */
    v->init_err = DLMS_INITIATE_OTHER;
    if (ui->kind == DLMS_TAG_INITIATE_REQUEST) {
        if (cfg->policy) {
            event(s, csap, 0, NULL,
                  "AARQ: plain InitiateRequest under a ciphering policy");
            return;
        }
        v->iq = ui->initiate_request;
    } else if (ui->kind == DLMS_TAG_GLO_INITIATE_REQUEST ||
               ui->kind == DLMS_TAG_GENERAL_GLO_CIPHERING) {
        if (!ciphered_ctx || !v->has_title || !s->ops->ic_check)
            return;
        dlms_ciphered_t c;
        if (dlms_ciphered_decode(ui->raw.p, ui->raw.len, &c) < 0)
            return;
        if (c.system_title.p && memcmp(c.system_title.p, v->title, 8) != 0)
            return;
        if ((cfg->policy & DLMS_POLICY_AUTHENTICATED) && !(c.sc & DLMS_SC_AUTHENTICATION))
            return;
        if ((cfg->policy & DLMS_POLICY_ENCRYPTED) && !(c.sc & DLMS_SC_ENCRYPTION))
            return;
        if (s->ops->ic_check(s->ctx, csap, c.ic) < 0) {
            event(s, csap, 0, NULL, "AARQ: replayed invocation counter");
            return;
        }
        dlms_sec_keys_t k = { cfg->ek, 16, cfg->ak, 16 };
        int n = dlms_sec_unprotect(c.content.p, c.content.len, v->title, &k, plain,
                                   sizeof plain, NULL, NULL);
        if (n < 0) {
            event(s, csap, 0, NULL, "AARQ: InitiateRequest does not decipher");
            return;
        }
        if (c.sc & DLMS_SC_AUTHENTICATION)
            s->ops->ic_accept(s->ctx, csap, c.ic);
        uint64_t mem[8];
        dlms_arena_t ar;
        dlms_apdu_t apdu;
        dlms_arena_init(&ar, mem, sizeof mem);
        if (dlms_apdu_decode(plain, (size_t)n, &ar, &apdu) < 0 ||
            apdu.tag != DLMS_TAG_INITIATE_REQUEST)
            return;
        v->iq = apdu.u.initiate_req;
        v->init_ciphered = true;
        v->init_sc =
            c.sc & (DLMS_SC_SUITE_MASK | DLMS_SC_AUTHENTICATION | DLMS_SC_ENCRYPTION);
    } else {
        return;
    }
    const dlms_initiate_request_t *q = &v->iq;
    if (q->dlms_version < DLMS_VERSION) {
        v->init_err = DLMS_INITIATE_DLMS_VERSION_TOO_LOW;
        return;
    }
    v->client_pdu = q->max_receive_pdu_size ? q->max_receive_pdu_size : 65535u;
    if (v->client_pdu < MIN_CLIENT_PDU ||
        (ciphered_ctx && v->client_pdu < MIN_CIPHERED_PDU)) {
        v->init_err = DLMS_INITIATE_PDU_SIZE_TOO_SHORT;
        return;
    }
    v->conformance = q->conformance & cfg->conformance;
    if (!v->conformance) {
        v->init_err = DLMS_INITIATE_INCOMPATIBLE_CONFORMANCE;
        return;
    }
    if (q->dedicated_key.p && q->dedicated_key.len != 16)
        return; /* suite 0 keys are 16 octets */
    if (q->dedicated_key.p && v->init_ciphered) {
        /* a key sent in clear is not used (it would be no secret) */
        v->has_ded = true;
        memcpy(v->ded, q->dedicated_key.p, 16);
    }
    v->iq.dedicated_key = (dlms_bytes_t){ NULL, 0 }; /* pointed into a local buffer */
    v->init_err = -1;
}

/* Mechanism and authentication value against the client's configuration. */
static void eval_auth(dlms_server_t *s, const dlms_assoc_cfg_t *cfg, const acse_apdu_t *q,
                      aarq_eval_t *v)
{
    int mech = q->mechanism_name.p ? acse_mechanism_id(q->mechanism_name) : -1;
    const acse_auth_value_t *av = &q->authentication_value;
    if (cfg->mechanism == DLMS_MECH_LOWEST) {
        if (mech > 0 || (q->mechanism_name.p && mech < 0))
            set_diag(v, ACSE_SOURCE_SERVICE_USER,
                     ACSE_DIAG_AUTHENTICATION_MECHANISM_NAME_NOT_RECOGNISED);
        return;
    }
    if (!q->mechanism_name.p) {
        set_diag(v, ACSE_SOURCE_SERVICE_USER,
                 ACSE_DIAG_AUTHENTICATION_MECHANISM_NAME_REQUIRED);
        return;
    }
    if (mech != (int)cfg->mechanism) {
        set_diag(v, ACSE_SOURCE_SERVICE_USER,
                 ACSE_DIAG_AUTHENTICATION_MECHANISM_NAME_NOT_RECOGNISED);
        return;
    }
    bool charstring = av->value.p && av->tag == ACSE_AUTH_CHARSTRING;
    if (cfg->mechanism == DLMS_MECH_LLS) {
        if (!charstring || av->value.len != cfg->password_len ||
            cfg->password_len > sizeof cfg->password ||
            memcmp(av->value.p, cfg->password, cfg->password_len) != 0)
            set_diag(v, ACSE_SOURCE_SERVICE_USER, ACSE_DIAG_AUTHENTICATION_FAILURE);
        return;
    }
    /* HLS-GMAC: CtoS of 8..64 octets (Green Book), a way to make StoC, and a counter
     * for f(CtoS) (a GCM IV must never repeat). */
    if (!charstring || av->value.len < 8 || av->value.len > 64 || !s->ops->random ||
        !s->ops->ic_next)
        set_diag(v, ACSE_SOURCE_SERVICE_USER, ACSE_DIAG_AUTHENTICATION_FAILURE);
}

/* Append the user-information answer of an AARE/RLRE: InitiateResponse (ciphered like
 * the request) or ConfirmedServiceError. tmp receives the ciphered APDU. */
static int aare_user_info(dlms_server_t *s, uint16_t csap, const dlms_assoc_cfg_t *cfg,
                          int init_err, bool ciphered, uint8_t sc, uint32_t conformance,
                          acse_user_info_t *ui, uint8_t *tmp, size_t tmp_cap)
{
    memset(ui, 0, sizeof *ui);
    if (init_err >= 0) {
        ui->kind = DLMS_TAG_CONFIRMED_SERVICE_ERROR;
        ui->service_error.service = DLMS_CSE_INITIATE_ERROR;
        ui->service_error.error_class = DLMS_SERVICE_ERROR_INITIATE;
        ui->service_error.error_value = (uint8_t)init_err;
        return 0;
    }
    dlms_initiate_response_t *p = &ui->initiate_response;
    p->dlms_version = DLMS_VERSION;
    p->conformance = conformance;
    p->max_receive_pdu_size = cfg->max_pdu;
    p->vaa_name = DLMS_VAA_NAME_LN;
    ui->kind = DLMS_TAG_INITIATE_RESPONSE;
    if (!ciphered)
        return 0;
    uint8_t plain[32];
    ms_wr_t w;
    dlms_apdu_t apdu;
    memset(&apdu, 0, sizeof apdu);
    apdu.tag = DLMS_TAG_INITIATE_RESPONSE;
    apdu.u.initiate_resp = *p;
    ms_wr_init(&w, plain, sizeof plain);
    int rc = dlms_apdu_encode(&w, &apdu);
    if (rc < 0)
        return rc;
    ms_wr_t c;
    ms_wr_init(&c, tmp, tmp_cap);
    dlms_sec_keys_t k = { cfg->ek, 16, cfg->ak, 16 };
    uint32_t ic = s->ops->ic_next(s->ctx, csap);
    rc = dlms_cipher_apdu(&c, DLMS_TAG_GLO_INITIATE_RESPONSE, cfg->server_title, sc, ic,
                          &k, plain, w.len);
    if (rc < 0)
        return rc;
    ui->kind = DLMS_TAG_GLO_INITIATE_RESPONSE;
    ui->raw = (dlms_bytes_t){ tmp, c.len };
    return 0;
}

static int put_acse(ms_wr_t *out, const acse_apdu_t *e)
{
    size_t at = out->len;
    if (acse_encode(out, e) < 0) {
        out->len = at;
        out->err = 0;
        return MS_ENOSPC;
    }
    return 0;
}

static void apply_defaults(dlms_assoc_cfg_t *cfg)
{
    if (!cfg->max_pdu)
        cfg->max_pdu = DEFAULT_SERVER_PDU;
    if (!cfg->conformance)
        cfg->conformance = DLMS_SERVER_CONFORMANCE_DEFAULT;
    cfg->conformance &= 0xFFFFFFu;
    if (!cfg->challenge_len)
        cfg->challenge_len = DEFAULT_CHALLENGE;
    if (cfg->challenge_len < 8)
        cfg->challenge_len = 8;
    if (cfg->challenge_len > 64)
        cfg->challenge_len = 64;
    if (cfg->password_len > sizeof cfg->password)
        cfg->password_len = sizeof cfg->password;
}

static int handle_aarq(dlms_server_t *s, uint16_t csap, uint16_t ssap,
                       const uint8_t *apdu, size_t len, ms_wr_t *out)
{
    acse_apdu_t q, e;
    memset(&e, 0, sizeof e);
    e.type = DLMS_TAG_AARE;
    e.has_result = true;
    e.result = ACSE_RESULT_REJECTED_PERMANENT;
    e.application_context_name = acse_context_name(ACSE_CONTEXT_LN);
    e.user_information.kind = DLMS_TAG_CONFIRMED_SERVICE_ERROR;
    e.user_information.service_error = (dlms_confirmed_service_error_t){
        DLMS_CSE_INITIATE_ERROR, DLMS_SERVICE_ERROR_INITIATE, DLMS_INITIATE_OTHER
    };
    if (acse_decode(apdu, len, &q) < 0) {
        e.result_source = ACSE_SOURCE_SERVICE_PROVIDER;
        e.diagnostic = ACSE_PROVIDER_NO_REASON_GIVEN;
        event(s, csap, ssap, NULL, "AARQ rejected: malformed");
        return put_acse(out, &e);
    }
    e.result_source = ACSE_SOURCE_SERVICE_USER;
    e.diagnostic = ACSE_DIAG_NO_REASON_GIVEN;
    if (find(s, csap)) {
        event(s, csap, ssap, NULL, "AARQ rejected: already associated");
        return put_acse(out, &e);
    }
    dlms_assoc_cfg_t cfg;
    memset(&cfg, 0, sizeof cfg);
    if (s->ops->association(s->ctx, csap, ssap, &cfg) < 0) {
        event(s, csap, ssap, NULL, "AARQ rejected: unknown client");
        return put_acse(out, &e);
    }
    apply_defaults(&cfg);

    aarq_eval_t v;
    memset(&v, 0, sizeof v);
    int ctx_id = acse_context_id(q.application_context_name);
    bool can_cipher = s->ops->ic_next && s->ops->ic_check && s->ops->ic_accept;
    bool ciphered = ctx_id == ACSE_CONTEXT_LN_CIPHERING && can_cipher;
    /* the context this server would accept for the client */
    e.application_context_name = acse_context_name(
        cfg.policy || ciphered ? ACSE_CONTEXT_LN_CIPHERING : ACSE_CONTEXT_LN);
    /* protocol-version: a BIT STRING in which version1 (the first bit) must be set */
    if (q.protocol_version.p &&
        (q.protocol_version.len < 2 || !(q.protocol_version.p[1] & 0x80)))
        set_diag(&v, ACSE_SOURCE_SERVICE_PROVIDER, ACSE_PROVIDER_NO_COMMON_ACSE_VERSION);
    if ((ctx_id != ACSE_CONTEXT_LN && !ciphered) || (cfg.policy && !ciphered))
        set_diag(&v, ACSE_SOURCE_SERVICE_USER,
                 ACSE_DIAG_APPLICATION_CONTEXT_NAME_NOT_SUPPORTED);
    bool need_title = ciphered || cfg.mechanism == DLMS_MECH_HLS_GMAC;
    if (q.calling_ap_title.p) {
        if (q.calling_ap_title.len != 8 ||
            (cfg.has_client_title &&
             memcmp(q.calling_ap_title.p, cfg.client_title, 8) != 0)) {
            if (need_title || cfg.has_client_title)
                set_diag(&v, ACSE_SOURCE_SERVICE_USER,
                         ACSE_DIAG_CALLING_AP_TITLE_NOT_RECOGNIZED);
        } else {
            v.has_title = true;
            memcpy(v.title, q.calling_ap_title.p, 8);
        }
    } else if (cfg.has_client_title) {
        v.has_title = true;
        memcpy(v.title, cfg.client_title, 8);
    }
    if (need_title && !v.has_title)
        set_diag(&v, ACSE_SOURCE_SERVICE_USER, ACSE_DIAG_CALLING_AP_TITLE_NOT_RECOGNIZED);
    eval_initiate(s, csap, &cfg, ciphered, &q.user_information, &v);
    eval_auth(s, &cfg, &q, &v);

    bool accepted = !v.source && v.init_err < 0;
    if (v.source) {
        e.result_source = (uint8_t)v.source;
        e.diagnostic = (uint8_t)v.diag;
    } else if (v.init_err >= 0) {
        e.result_source = ACSE_SOURCE_SERVICE_USER;
        e.diagnostic = ACSE_DIAG_NO_REASON_GIVEN;
    } else {
        e.result = ACSE_RESULT_ACCEPTED;
        e.diagnostic = ACSE_DIAG_NULL;
    }
    /* Answer in kind: the server title goes with the ciphering context, and with
     * HLS-GMAC when the client sent its own (the client needs it to check f(CtoS)). */
    if (ciphered || (cfg.mechanism == DLMS_MECH_HLS_GMAC && q.calling_ap_title.p))
        e.responding_ap_title = (dlms_bytes_t){ cfg.server_title, 8 };
    bool hls = accepted && cfg.mechanism == DLMS_MECH_HLS_GMAC;
    uint8_t stoc[64];
    if (hls) {
        s->ops->random(s->ctx, stoc, cfg.challenge_len);
        e.diagnostic = ACSE_DIAG_AUTHENTICATION_REQUIRED;
        e.acse_requirements = acse_requirements_authentication();
        e.mechanism_name = acse_mechanism_name(ACSE_MECHANISM_HIGH_GMAC);
        e.authentication_value.tag = ACSE_AUTH_CHARSTRING;
        e.authentication_value.value = (dlms_bytes_t){ stoc, cfg.challenge_len };
    }
    uint8_t tmp[96];
    int rc = aare_user_info(s, csap, &cfg, v.init_err, v.init_ciphered, v.init_sc,
                            v.conformance, &e.user_information, tmp, sizeof tmp);
    if (rc < 0)
        return rc;
    assoc_t *a = NULL;
    if (accepted && !(a = slot(s))) {
        /* no room for another association on this link */
        accepted = hls = false;
        memset(&e.acse_requirements, 0, sizeof e.acse_requirements);
        memset(&e.mechanism_name, 0, sizeof e.mechanism_name);
        memset(&e.authentication_value, 0, sizeof e.authentication_value);
        e.result = ACSE_RESULT_REJECTED_TRANSIENT;
        e.result_source = ACSE_SOURCE_SERVICE_USER;
        e.diagnostic = ACSE_DIAG_NO_REASON_GIVEN;
    }
    if ((rc = put_acse(out, &e)) < 0)
        return rc;
    if (!accepted) {
        event(s, csap, ssap, NULL,
              v.diag == ACSE_DIAG_AUTHENTICATION_FAILURE
                  ? "AARQ rejected: authentication failure"
                  : "AARQ rejected");
        return 0;
    }
    drop(a);
    a->state = hls ? AS_PENDING : AS_OPEN;
    a->client_sap = csap;
    a->server_sap = ssap;
    a->cfg = cfg;
    a->conformance = v.conformance;
    a->client_pdu = v.client_pdu;
    a->ciphered = ciphered;
    a->ciphered_initiate = v.init_ciphered;
    a->has_title = v.has_title;
    memcpy(a->title, v.title, 8);
    a->has_ded = v.has_ded;
    memcpy(a->ded, v.ded, 16);
    dlms_ic_init(&a->ded_rx);
    if (hls) {
        memcpy(a->stoc, stoc, cfg.challenge_len);
        a->stoc_len = cfg.challenge_len;
        memcpy(a->ctos, q.authentication_value.value.p, q.authentication_value.value.len);
        a->ctos_len = (uint8_t)q.authentication_value.value.len;
    }
    event(s, csap, ssap, a, hls ? "AARQ accepted: HLS pass 3 pending" : "AARQ accepted");
    return 0;
}

/* ---- ACSE: RLRQ -> RLRE ---- */

static int handle_rlrq(dlms_server_t *s, uint16_t csap, uint16_t ssap,
                       const uint8_t *apdu, size_t len, ms_wr_t *out)
{
    acse_apdu_t q, e;
    if (acse_decode(apdu, len, &q) < 0)
        return put_exception(out, EXC_NOT_ALLOWED(DLMS_EXC_SERVICE_OTHER_REASON), 0);
    memset(&e, 0, sizeof e);
    e.type = DLMS_TAG_RLRE;
    e.has_reason = true;
    e.reason = ACSE_RELEASE_NORMAL;
    assoc_t *a = find(s, csap);
    if (!a)
        return put_acse(out, &e);
    uint8_t tmp[96];
    const acse_user_info_t *ui = &q.user_information;
    if (a->ciphered_initiate && ui->kind) {
        /* The release must come from the same client: its ciphered InitiateRequest has to
         * decipher with the association's keys and a fresh counter. */
        bool ok = false;
        dlms_ciphered_t c;
        memset(&c, 0, sizeof c);
        if ((ui->kind == DLMS_TAG_GLO_INITIATE_REQUEST ||
             ui->kind == DLMS_TAG_GENERAL_GLO_CIPHERING) &&
            dlms_ciphered_decode(ui->raw.p, ui->raw.len, &c) == 0 && a->has_title &&
            (!c.system_title.p || memcmp(c.system_title.p, a->title, 8) == 0) &&
            (c.sc & DLMS_SC_AUTHENTICATION) &&
            s->ops->ic_check(s->ctx, csap, c.ic) == 0) {
            uint8_t plain[128];
            dlms_sec_keys_t k = glo_keys(a);
            int n = dlms_sec_unprotect(c.content.p, c.content.len, a->title, &k, plain,
                                       sizeof plain, NULL, NULL);
            if (n > 0 && plain[0] == DLMS_TAG_INITIATE_REQUEST) {
                s->ops->ic_accept(s->ctx, csap, c.ic);
                ok = true;
            }
        }
        if (!ok) {
            e.reason = ACSE_RELEASE_NOT_FINISHED;
            event(s, csap, ssap, a, "RLRQ refused: user-information does not decipher");
            return put_acse(out, &e);
        }
        uint8_t sc =
            c.sc & (DLMS_SC_SUITE_MASK | DLMS_SC_AUTHENTICATION | DLMS_SC_ENCRYPTION);
        int rc = aare_user_info(s, csap, &a->cfg, -1, true, sc, a->conformance,
                                &e.user_information, tmp, sizeof tmp);
        if (rc < 0)
            return rc;
    }
    int rc = put_acse(out, &e);
    if (rc < 0)
        return rc;
    event(s, csap, ssap, a, "released");
    drop(a);
    return 0;
}

/* ---- xDLMS answers ---- */

static void iip_hdr(req_t *r, uint8_t tag, uint8_t type)
{
    ms_wr_u8(&r->w, tag);
    ms_wr_u8(&r->w, type);
    ms_wr_u8(&r->w, r->iip);
}

/* GET-Response-With-Datablock / ACTION-Response-With-Pblock carrying the next slice of
 * a long answer held in a->buf[xf_pos..xf_len). */
static int next_block(req_t *r)
{
    assoc_t *a = r->a;
    bool get = a->xf == XF_GET;
    size_t fixed = get ? 9u : 8u; /* tag type iip last(1) number(4) [choice(1)] */
    if (r->room < fixed + 2) {
        a->xf = XF_NONE;
        return EXC_NOT_ALLOWED(DLMS_EXC_SERVICE_PDU_TOO_LONG);
    }
    size_t left = a->xf_len - a->xf_pos;
    size_t n = axdr_max_contents(r->room - fixed);
    if (n > left)
        n = left;
    bool last = n == left;
    iip_hdr(r, get ? DLMS_TAG_GET_RESPONSE : DLMS_TAG_ACTION_RESPONSE,
            get ? DLMS_GET_RESPONSE_WITH_DATABLOCK : DLMS_ACTION_RESPONSE_WITH_PBLOCK);
    ms_wr_u8(&r->w, last ? 1 : 0);
    ms_wr_u32be(&r->w, ++a->xf_block);
    if (get)
        ms_wr_u8(&r->w, 0); /* raw-data */
    axdr_write_length(&r->w, (uint32_t)n);
    ms_wr_bytes(&r->w, a->buf + a->xf_pos, n);
    a->xf_pos += n;
    if (last)
        a->xf = XF_NONE;
    return 0;
}

/* Send a->buf[0..len) (an encoded response body) whole behind tag/type, or start a long
 * answer with a->buf[skip..len) when it does not fit. Returns 0, -1 (too long and no
 * block transfer), or an EXC() code (not even a block fits). */
static int answer_body(req_t *r, uint8_t tag, uint8_t type, size_t len, bool blocks_ok,
                       uint8_t xf, size_t skip)
{
    assoc_t *a = r->a;
    if (3 + len <= r->room) {
        iip_hdr(r, tag, type);
        ms_wr_bytes(&r->w, a->buf, len);
        return 0;
    }
    if (!blocks_ok)
        return -1;
    a->xf = xf;
    a->xf_block = 0;
    a->xf_pos = skip;
    a->xf_len = len;
    return next_block(r);
}

static bool attr0_ok(const req_t *r, const dlms_attr_sel_t *sel, uint32_t bit)
{
    return sel->desc.attribute_id != 0 || (r->a->conformance & bit);
}

/* Encode one Get-Data-Result for sel at w (data [0] + value, or data-access-result [1]);
 * returns 1 when the buffer was too small (the caller grows it and starts again). */
static int get_one(req_t *r, ms_wr_t *w, const dlms_attr_sel_t *sel)
{
    size_t at = w->len;
    int dar;
    if (!attr0_ok(r, sel, DLMS_CONF_ATTRIBUTE0_SUPPORTED_WITH_GET)) {
        dar = DLMS_DAR_OBJECT_UNAVAILABLE;
    } else if (sel->access.present && !(r->a->conformance & DLMS_CONF_SELECTIVE_ACCESS)) {
        dar = DLMS_DAR_SCOPE_OF_ACCESS_VIOLATED;
    } else {
        ms_wr_u8(w, 0);
        if (w->err)
            return 1;
        size_t vstart = w->len;
        dar = r->s->ops->get(r->s->ctx, &r->who, sel, w);
        if (dar == 0 && w->err == MS_ENOSPC)
            return 1;
        if (dar == 0 && w->len == vstart)
            dar = DLMS_DAR_OTHER_REASON; /* the provider gave no value */
        if (dar < 0 || dar > 255)
            dar = DLMS_DAR_OTHER_REASON;
    }
    if (dar != 0) {
        w->len = at;
        w->err = 0;
        ms_wr_u8(w, 1);
        ms_wr_u8(w, (uint8_t)dar);
        if (w->err)
            return 1;
    }
    return 0;
}

/* GET-Request-Normal (list == NULL) or -With-List: results into a->buf. For the normal
 * form the body is the Get-Data-Result; for the list, count + results. */
static int get_results(req_t *r, const dlms_attr_sel_t *one, const dlms_attr_sel_t *list,
                       uint32_t n, size_t *len)
{
    assoc_t *a = r->a;
    if (!assoc_grow(r->s, a, FIRST_VALUE_CAP))
        return -1;
    for (;;) {
        ms_wr_t w;
        ms_wr_init(&w, a->buf, a->cap);
        int more = 0;
        if (one) {
            more = get_one(r, &w, one);
        } else {
            axdr_write_length(&w, n);
            for (uint32_t i = 0; !more && i < n; i++)
                more = w.err ? 1 : get_one(r, &w, &list[i]);
        }
        if (!more && !w.err) {
            *len = w.len;
            return 0;
        }
        /* grow fast: each step costs the provider another encoding of the value */
        size_t want = a->cap * 4 < (16u << 10) ? (16u << 10) : a->cap * 4;
        if (want > buf_limit(r->s))
            want = buf_limit(r->s);
        if (a->cap >= buf_limit(r->s) || !assoc_grow(r->s, a, want))
            return -1;
    }
}

static int do_get(req_t *r, const dlms_apdu_t *q)
{
    assoc_t *a = r->a;
    const dlms_get_request_t *g = &q->u.get_req;
    if (!(a->conformance & DLMS_CONF_GET))
        return EXC_NOT_ALLOWED(DLMS_EXC_SERVICE_NOT_SUPPORTED);
    bool blocks = a->conformance & DLMS_CONF_BLOCK_TRANSFER_WITH_GET_OR_READ;
    size_t len = 0;
    int rc;
    switch (q->type) {
    case DLMS_GET_REQUEST_NORMAL:
        a->xf = XF_NONE;
        if (get_results(r, &g->attr, NULL, 0, &len) < 0) {
            iip_hdr(r, DLMS_TAG_GET_RESPONSE, DLMS_GET_RESPONSE_NORMAL);
            ms_wr_u8(&r->w, 1);
            ms_wr_u8(&r->w, DLMS_DAR_OTHER_REASON);
            return 0;
        }
        /* a long value goes in blocks as the Data alone, without the Get-Data-Result
         * choice octet (a DAR always fits) */
        rc = answer_body(r, DLMS_TAG_GET_RESPONSE, DLMS_GET_RESPONSE_NORMAL, len, blocks,
                         XF_GET, 1);
        if (rc < 0) {
            r->w.len = 0;
            iip_hdr(r, DLMS_TAG_GET_RESPONSE, DLMS_GET_RESPONSE_NORMAL);
            ms_wr_u8(&r->w, 1);
            ms_wr_u8(&r->w, DLMS_DAR_OTHER_REASON);
            rc = 0;
        }
        return rc;
    case DLMS_GET_REQUEST_WITH_LIST:
        if (!(a->conformance & DLMS_CONF_MULTIPLE_REFERENCES))
            return EXC_NOT_ALLOWED(DLMS_EXC_SERVICE_NOT_SUPPORTED);
        a->xf = XF_NONE;
        rc = get_results(r, NULL, g->list, g->count, &len);
        if (rc == 0)
            rc = answer_body(r, DLMS_TAG_GET_RESPONSE, DLMS_GET_RESPONSE_WITH_LIST, len,
                             blocks, XF_GET, 0);
        if (rc > 0)
            return rc;
        if (rc < 0) {
            /* too large for the association: every item other-reason */
            r->w.len = 0;
            iip_hdr(r, DLMS_TAG_GET_RESPONSE, DLMS_GET_RESPONSE_WITH_LIST);
            axdr_write_length(&r->w, g->count);
            for (uint32_t i = 0; i < g->count; i++) {
                ms_wr_u8(&r->w, 1);
                ms_wr_u8(&r->w, DLMS_DAR_OTHER_REASON);
            }
            if (r->w.err)
                return EXC_NOT_ALLOWED(DLMS_EXC_SERVICE_PDU_TOO_LONG);
        }
        return 0;
    case DLMS_GET_REQUEST_NEXT: {
        uint8_t dar = 0;
        if (a->xf != XF_GET)
            dar = DLMS_DAR_NO_LONG_GET_IN_PROGRESS;
        else if (g->block_number != a->xf_block)
            dar = DLMS_DAR_DATA_BLOCK_NUMBER_INVALID;
        if (!dar)
            return next_block(r);
        if (a->xf == XF_GET)
            a->xf = XF_NONE;
        iip_hdr(r, DLMS_TAG_GET_RESPONSE, DLMS_GET_RESPONSE_WITH_DATABLOCK);
        ms_wr_u8(&r->w, 1);
        ms_wr_u32be(&r->w, g->block_number);
        ms_wr_u8(&r->w, 1);
        ms_wr_u8(&r->w, dar);
        return 0;
    }
    default:
        return EXC_NOT_ALLOWED(DLMS_EXC_SERVICE_NOT_SUPPORTED);
    }
}

static uint8_t call_set(req_t *r, const dlms_attr_sel_t *sel, const dlms_data_t *v)
{
    if (!attr0_ok(r, sel, DLMS_CONF_ATTRIBUTE0_SUPPORTED_WITH_SET))
        return DLMS_DAR_OBJECT_UNAVAILABLE;
    if (sel->access.present && !(r->a->conformance & DLMS_CONF_SELECTIVE_ACCESS))
        return DLMS_DAR_SCOPE_OF_ACCESS_VIOLATED;
    if (!r->s->ops->set)
        return DLMS_DAR_READ_WRITE_DENIED;
    int dar = r->s->ops->set(r->s->ctx, &r->who, sel, v);
    return dar < 0 || dar > 255 ? DLMS_DAR_OTHER_REASON : (uint8_t)dar;
}

/* Start a reassembly: the descriptors re-encoded at a->buf[0..xf_hdr), data after. */
static bool xfer_start(req_t *r, uint8_t kind, const dlms_attr_sel_t *attrs,
                       const dlms_method_desc_t *methods, uint32_t n, bool list)
{
    assoc_t *a = r->a;
    a->xf = XF_NONE;
    for (size_t cap = 256;; cap *= 2) {
        if (!assoc_grow(r->s, a, cap))
            return false;
        ms_wr_t w;
        ms_wr_init(&w, a->buf, a->cap);
        for (uint32_t i = 0; i < n; i++) {
            if (attrs)
                dlms_attr_sel_write(&w, &attrs[i]);
            else
                dlms_method_desc_write(&w, &methods[i]);
        }
        if (!w.err) {
            a->xf = kind;
            a->xf_list = list;
            a->xf_count = n;
            a->xf_hdr = w.len;
            a->xf_len = w.len;
            a->xf_block = 0;
            return true;
        }
        if (a->cap >= buf_limit(r->s))
            return false;
    }
}

/* Append one received block; 0 ok, else the reason to abort (a DAR / action result). */
static int xfer_add(req_t *r, const dlms_datablock_sa_t *b, int bad_number, int too_long)
{
    assoc_t *a = r->a;
    if (b->block_number != a->xf_block + 1)
        return bad_number;
    if (a->xf_len - a->xf_hdr + b->raw.len > r->s->max_value ||
        !assoc_grow(r->s, a, a->xf_len + b->raw.len))
        return too_long;
    if (b->raw.len)
        memcpy(a->buf + a->xf_len, b->raw.p, b->raw.len);
    a->xf_len += b->raw.len;
    a->xf_block = b->block_number;
    return 0;
}

static void set_last_block(req_t *r, uint8_t dar, uint32_t number)
{
    iip_hdr(r, DLMS_TAG_SET_RESPONSE, DLMS_SET_RESPONSE_LAST_DATABLOCK);
    ms_wr_u8(&r->w, dar);
    ms_wr_u32be(&r->w, number);
}

/* All SET blocks are in: decode descriptors and value(s), call set, answer. */
static int set_complete(req_t *r)
{
    assoc_t *a = r->a;
    dlms_arena_t *ar = &r->s->arena;
    ms_rd_t rd;
    ms_rd_init(&rd, a->buf, a->xf_hdr);
    uint32_t n = a->xf_count;
    dlms_attr_sel_t *sels = dlms_arena_alloc(ar, (n ? n : 1) * sizeof *sels);
    bool ok = sels != NULL;
    for (uint32_t i = 0; ok && i < n; i++)
        ok = dlms_attr_sel_read(&rd, ar, &sels[i]) == 0;
    ms_rd_t vd;
    ms_rd_init(&vd, a->buf + a->xf_hdr, a->xf_len - a->xf_hdr);
    dlms_data_t *vals = NULL;
    uint32_t count = 1;
    if (ok && a->xf_list)
        ok = axdr_read_length(&vd, &count) == 0 && count == n;
    if (ok)
        ok = (vals = dlms_arena_alloc(ar, (count ? count : 1) * sizeof *vals)) != NULL;
    for (uint32_t i = 0; ok && i < count; i++)
        ok = axdr_decode_data(&vd, ar, &vals[i]) == 0;
    ok = ok && ms_rd_left(&vd) == 0;
    uint32_t block = a->xf_block;
    a->xf = XF_NONE;
    if (!a->xf_list) {
        set_last_block(r, ok ? call_set(r, &sels[0], &vals[0]) : DLMS_DAR_OTHER_REASON,
                       block);
        return 0;
    }
    iip_hdr(r, DLMS_TAG_SET_RESPONSE, DLMS_SET_RESPONSE_LAST_DATABLOCK_WITH_LIST);
    axdr_write_length(&r->w, n);
    for (uint32_t i = 0; i < n; i++)
        ms_wr_u8(&r->w, ok ? call_set(r, &sels[i], &vals[i]) : DLMS_DAR_OTHER_REASON);
    ms_wr_u32be(&r->w, block);
    return r->w.err ? EXC_NOT_ALLOWED(DLMS_EXC_SERVICE_PDU_TOO_LONG) : 0;
}

static int set_block(req_t *r, const dlms_datablock_sa_t *b)
{
    int why =
        xfer_add(r, b, DLMS_DAR_DATA_BLOCK_NUMBER_INVALID, DLMS_DAR_LONG_SET_ABORTED);
    if (why) {
        r->a->xf = XF_NONE;
        set_last_block(r, (uint8_t)why, b->block_number);
        return 0;
    }
    if (b->last_block)
        return set_complete(r);
    iip_hdr(r, DLMS_TAG_SET_RESPONSE, DLMS_SET_RESPONSE_DATABLOCK);
    ms_wr_u32be(&r->w, b->block_number);
    return 0;
}

static int do_set(req_t *r, const dlms_apdu_t *q)
{
    assoc_t *a = r->a;
    const dlms_set_request_t *sq = &q->u.set_req;
    if (!(a->conformance & DLMS_CONF_SET))
        return EXC_NOT_ALLOWED(DLMS_EXC_SERVICE_NOT_SUPPORTED);
    bool blocks = a->conformance & DLMS_CONF_BLOCK_TRANSFER_WITH_SET_OR_WRITE;
    bool multi = a->conformance & DLMS_CONF_MULTIPLE_REFERENCES;
    switch (q->type) {
    case DLMS_SET_REQUEST_NORMAL:
        a->xf = XF_NONE;
        iip_hdr(r, DLMS_TAG_SET_RESPONSE, DLMS_SET_RESPONSE_NORMAL);
        ms_wr_u8(&r->w, call_set(r, &sq->attr, &sq->value));
        return 0;
    case DLMS_SET_REQUEST_WITH_LIST:
        if (!multi)
            return EXC_NOT_ALLOWED(DLMS_EXC_SERVICE_NOT_SUPPORTED);
        if (sq->count != sq->value_count)
            return EXC_NOT_ALLOWED(DLMS_EXC_SERVICE_OTHER_REASON);
        a->xf = XF_NONE;
        iip_hdr(r, DLMS_TAG_SET_RESPONSE, DLMS_SET_RESPONSE_WITH_LIST);
        axdr_write_length(&r->w, sq->count);
        for (uint32_t i = 0; i < sq->count; i++)
            ms_wr_u8(&r->w, call_set(r, &sq->list[i], &sq->values[i]));
        return r->w.err ? EXC_NOT_ALLOWED(DLMS_EXC_SERVICE_PDU_TOO_LONG) : 0;
    case DLMS_SET_REQUEST_WITH_FIRST_DATABLOCK:
    case DLMS_SET_REQUEST_WITH_LIST_AND_FIRST_DATABLOCK: {
        bool list = q->type == DLMS_SET_REQUEST_WITH_LIST_AND_FIRST_DATABLOCK;
        if (!blocks || (list && !multi))
            return EXC_NOT_ALLOWED(DLMS_EXC_SERVICE_NOT_SUPPORTED);
        if (!xfer_start(r, XF_SET, list ? sq->list : &sq->attr, NULL,
                        list ? sq->count : 1, list)) {
            set_last_block(r, DLMS_DAR_LONG_SET_ABORTED, sq->block.block_number);
            return 0;
        }
        return set_block(r, &sq->block);
    }
    case DLMS_SET_REQUEST_WITH_DATABLOCK:
        if (!blocks)
            return EXC_NOT_ALLOWED(DLMS_EXC_SERVICE_NOT_SUPPORTED);
        if (a->xf != XF_SET) {
            set_last_block(r, DLMS_DAR_NO_LONG_SET_IN_PROGRESS, sq->block.block_number);
            return 0;
        }
        return set_block(r, &sq->block);
    default:
        return EXC_NOT_ALLOWED(DLMS_EXC_SERVICE_NOT_SUPPORTED);
    }
}

static bool is_hls_method(const assoc_t *a, const dlms_method_desc_t *m)
{
    const uint8_t *ln = a->cfg.logical_name;
    const ms_obis_t current = MS_OBIS(0, 0, 40, 0, 0, 255);
    const ms_obis_t own = MS_OBIS(ln[0], ln[1], ln[2], ln[3], ln[4], ln[5]);
    return m->class_id == CLASS_ASSOCIATION_LN && m->method_id == HLS_METHOD &&
           (ms_obis_equal(&m->instance_id, &current) ||
            ms_obis_equal(&m->instance_id, &own));
}

/* HLS pass 3 (client's f(StoC)) and pass 4 (our f(CtoS)). */
static int hls_reply(req_t *r, const dlms_apdu_t *q)
{
    assoc_t *a = r->a;
    const dlms_action_request_t *ar = &q->u.action_req;
    const dlms_data_t *p = &ar->parameters;
    dlms_sec_keys_t k = glo_keys(a);
    bool ok = a->state == AS_PENDING && ar->has_parameters &&
              p->type == DLMS_OCTET_STRING && a->has_title &&
              dlms_hls_gmac_verify(p->v.bytes, p->n, a->title, &k, a->stoc, a->stoc_len,
                                   NULL) == 0;
    iip_hdr(r, DLMS_TAG_ACTION_RESPONSE, DLMS_ACTION_RESPONSE_NORMAL);
    if (!ok) {
        ms_wr_u8(&r->w, DLMS_ACTION_READ_WRITE_DENIED);
        ms_wr_u8(&r->w, 0);
        if (a->state == AS_PENDING) {
            event(r->s, r->csap, r->ssap, a, "HLS pass 3 failed: association dropped");
            drop(a);
        }
        return 0;
    }
    uint8_t f[DLMS_HLS_GMAC_LEN];
    uint8_t sc = (uint8_t)(DLMS_SC_AUTHENTICATION | (p->v.bytes[0] & DLMS_SC_SUITE_MASK));
    uint32_t ic = r->s->ops->ic_next(r->s->ctx, r->csap);
    if (dlms_hls_gmac(f, sc, ic, a->cfg.server_title, &k, a->ctos, a->ctos_len) < 0) {
        ms_wr_u8(&r->w, DLMS_ACTION_OTHER_REASON);
        ms_wr_u8(&r->w, 0);
        return 0;
    }
    a->state = AS_OPEN;
    r->who.authenticated = true;
    ms_wr_u8(&r->w, DLMS_ACTION_SUCCESS);
    ms_wr_u8(&r->w, 1); /* return-parameters present */
    ms_wr_u8(&r->w, 0); /* Get-Data-Result: data */
    ms_wr_u8(&r->w, DLMS_OCTET_STRING);
    ms_wr_u8(&r->w, DLMS_HLS_GMAC_LEN);
    ms_wr_bytes(&r->w, f, sizeof f);
    event(r->s, r->csap, r->ssap, a, "HLS pass 4 ok");
    return 0;
}

/* Append one Action-Response-With-Optional-Data for m at w. */
static void action_one(req_t *r, ms_wr_t *w, const dlms_method_desc_t *m,
                       const dlms_data_t *params)
{
    const dlms_server_ops_t *ops = r->s->ops;
    size_t at = w->len;
    if (is_hls_method(r->a, m) || !ops->action) {
        ms_wr_u8(w, DLMS_ACTION_READ_WRITE_DENIED);
        ms_wr_u8(w, 0);
        return;
    }
    ms_wr_u8(w, 0); /* result, patched below */
    ms_wr_u8(w, 1);
    ms_wr_u8(w, 0);
    size_t vstart = w->len;
    ms_wr_t ret;
    ms_wr_init(&ret, w->buf + vstart, w->err ? 0 : w->cap - vstart);
    bool has_ret = false;
    int res = ops->action(r->s->ctx, &r->who, m, params, &ret, &has_ret);
    if (res < 0 || res > 255)
        res = DLMS_ACTION_OTHER_REASON;
    if (has_ret && (ret.err || ret.len == 0)) {
        res = DLMS_ACTION_OTHER_REASON;
        has_ret = false;
    }
    w->len = at;
    ms_wr_u8(w, (uint8_t)res);
    if (has_ret) {
        ms_wr_u8(w, 1);
        ms_wr_u8(w, 0);
        w->len += ret.len; /* already in place */
    } else {
        ms_wr_u8(w, 0);
    }
}

/* Run one (list == false) or n actions; the response body goes to a->buf. */
static int action_results(req_t *r, const dlms_method_desc_t *ms, const dlms_data_t *ps,
                          const bool *has_p, uint32_t n, bool list, size_t *len)
{
    assoc_t *a = r->a;
    size_t want = ACTION_RET_CAP < r->s->max_value ? ACTION_RET_CAP : r->s->max_value;
    if (!assoc_grow(r->s, a, want + 16u * (n + 1)))
        return -1;
    ms_wr_t w;
    ms_wr_init(&w, a->buf, a->cap);
    if (list)
        axdr_write_length(&w, n);
    for (uint32_t i = 0; i < n; i++) {
        if (w.err)
            return -1;
        action_one(r, &w, &ms[i], has_p[i] ? &ps[i] : NULL);
    }
    if (w.err)
        return -1;
    *len = w.len;
    return 0;
}

static int action_answer(req_t *r, size_t len, bool list, int rc)
{
    bool blocks = r->a->conformance & DLMS_CONF_BLOCK_TRANSFER_WITH_ACTION;
    uint8_t type = list ? DLMS_ACTION_RESPONSE_WITH_LIST : DLMS_ACTION_RESPONSE_NORMAL;
    if (rc == 0)
        rc = answer_body(r, DLMS_TAG_ACTION_RESPONSE, type, len, blocks, XF_ACTION_RESP,
                         0);
    if (rc >= 0)
        return rc; /* 0, or an exception: the actions ran but not even a block fits */
    r->w.len = 0;
    r->a->xf = XF_NONE;
    iip_hdr(r, DLMS_TAG_ACTION_RESPONSE, DLMS_ACTION_RESPONSE_NORMAL);
    ms_wr_u8(&r->w, DLMS_ACTION_OTHER_REASON);
    ms_wr_u8(&r->w, 0);
    return 0;
}

static void action_normal_error(req_t *r, uint8_t result)
{
    iip_hdr(r, DLMS_TAG_ACTION_RESPONSE, DLMS_ACTION_RESPONSE_NORMAL);
    ms_wr_u8(&r->w, result);
    ms_wr_u8(&r->w, 0);
}

/* All parameter blocks are in: decode the method descriptors and parameters, invoke.
 * The answer is built in a->buf, so what the actions read is copied to the arena. */
static int action_complete(req_t *r)
{
    assoc_t *a = r->a;
    dlms_arena_t *ar = &r->s->arena;
    uint32_t n = a->xf_count;
    bool list = a->xf_list;
    size_t used = a->xf_len, hdr = a->xf_hdr;
    a->xf = XF_NONE;
    uint8_t *copy = dlms_arena_alloc(ar, used ? used : 1);
    dlms_method_desc_t *ms = dlms_arena_alloc(ar, (n ? n : 1) * sizeof *ms);
    dlms_data_t *ps = dlms_arena_alloc(ar, (n ? n : 1) * sizeof *ps);
    bool *has = dlms_arena_alloc(ar, (n ? n : 1) * sizeof *has);
    bool ok = copy && ms && ps && has;
    if (ok)
        memcpy(copy, a->buf, used);
    ms_rd_t rd, vd;
    ms_rd_init(&rd, copy, ok ? hdr : 0);
    ms_rd_init(&vd, copy + (ok ? hdr : 0), ok ? used - hdr : 0);
    for (uint32_t i = 0; ok && i < n; i++)
        ok = dlms_method_desc_read(&rd, &ms[i]) == 0;
    uint32_t count = 1;
    if (ok && list)
        ok = axdr_read_length(&vd, &count) == 0 && count == n;
    for (uint32_t i = 0; ok && i < n; i++) {
        ok = axdr_decode_data(&vd, ar, &ps[i]) == 0;
        has[i] = true;
    }
    if (!ok || ms_rd_left(&vd) != 0) {
        action_normal_error(r, DLMS_ACTION_OTHER_REASON);
        return 0;
    }
    size_t len = 0;
    int rc = action_results(r, ms, ps, has, n, list, &len);
    return action_answer(r, len, list, rc);
}

static int action_block(req_t *r, const dlms_datablock_sa_t *b)
{
    int why =
        xfer_add(r, b, DLMS_ACTION_LONG_ACTION_ABORTED, DLMS_ACTION_LONG_ACTION_ABORTED);
    if (why) {
        r->a->xf = XF_NONE;
        action_normal_error(r, (uint8_t)why);
        return 0;
    }
    if (b->last_block)
        return action_complete(r);
    iip_hdr(r, DLMS_TAG_ACTION_RESPONSE, DLMS_ACTION_RESPONSE_NEXT_PBLOCK);
    ms_wr_u32be(&r->w, b->block_number);
    return 0;
}

static int do_action(req_t *r, const dlms_apdu_t *q)
{
    assoc_t *a = r->a;
    const dlms_action_request_t *aq = &q->u.action_req;
    if (q->type == DLMS_ACTION_REQUEST_NORMAL && is_hls_method(a, &aq->method))
        return hls_reply(r, q);
    if (a->state != AS_OPEN)
        return EXC_NOT_ALLOWED(DLMS_EXC_SERVICE_OPERATION_NOT_POSSIBLE);
    if (!(a->conformance & DLMS_CONF_ACTION))
        return EXC_NOT_ALLOWED(DLMS_EXC_SERVICE_NOT_SUPPORTED);
    bool blocks = a->conformance & DLMS_CONF_BLOCK_TRANSFER_WITH_ACTION;
    bool multi = a->conformance & DLMS_CONF_MULTIPLE_REFERENCES;
    size_t len = 0;
    int rc;
    switch (q->type) {
    case DLMS_ACTION_REQUEST_NORMAL: {
        a->xf = XF_NONE;
        bool has = aq->has_parameters;
        rc = action_results(r, &aq->method, &aq->parameters, &has, 1, false, &len);
        return action_answer(r, len, false, rc);
    }
    case DLMS_ACTION_REQUEST_WITH_LIST: {
        if (!multi)
            return EXC_NOT_ALLOWED(DLMS_EXC_SERVICE_NOT_SUPPORTED);
        if (aq->count != aq->parameter_count)
            return EXC_NOT_ALLOWED(DLMS_EXC_SERVICE_OTHER_REASON);
        a->xf = XF_NONE;
        bool *has = dlms_arena_alloc(&r->s->arena, (aq->count + 1) * sizeof *has);
        if (!has)
            return EXC_NOT_ALLOWED(DLMS_EXC_SERVICE_OTHER_REASON);
        for (uint32_t i = 0; i < aq->count; i++)
            has[i] = true;
        rc = action_results(r, aq->list, aq->parameter_list, has, aq->count, true, &len);
        return action_answer(r, len, true, rc);
    }
    case DLMS_ACTION_REQUEST_WITH_FIRST_PBLOCK:
    case DLMS_ACTION_REQUEST_WITH_LIST_AND_FIRST_PBLOCK: {
        bool list = q->type == DLMS_ACTION_REQUEST_WITH_LIST_AND_FIRST_PBLOCK;
        if (!blocks || (list && !multi))
            return EXC_NOT_ALLOWED(DLMS_EXC_SERVICE_NOT_SUPPORTED);
        if (!xfer_start(r, XF_ACTION_REQ, NULL, list ? aq->list : &aq->method,
                        list ? aq->count : 1, list)) {
            action_normal_error(r, DLMS_ACTION_LONG_ACTION_ABORTED);
            return 0;
        }
        return action_block(r, &aq->block);
    }
    case DLMS_ACTION_REQUEST_WITH_PBLOCK:
        if (!blocks)
            return EXC_NOT_ALLOWED(DLMS_EXC_SERVICE_NOT_SUPPORTED);
        if (a->xf != XF_ACTION_REQ) {
            action_normal_error(r, DLMS_ACTION_NO_LONG_ACTION_IN_PROGRESS);
            return 0;
        }
        return action_block(r, &aq->block);
    case DLMS_ACTION_REQUEST_NEXT_PBLOCK:
        if (!blocks)
            return EXC_NOT_ALLOWED(DLMS_EXC_SERVICE_NOT_SUPPORTED);
        if (a->xf != XF_ACTION_RESP || aq->block_number != a->xf_block) {
            uint8_t why = a->xf == XF_ACTION_RESP
                              ? DLMS_ACTION_LONG_ACTION_ABORTED
                              : DLMS_ACTION_NO_LONG_ACTION_IN_PROGRESS;
            if (a->xf == XF_ACTION_RESP)
                a->xf = XF_NONE;
            action_normal_error(r, why);
            return 0;
        }
        return next_block(r);
    default:
        return EXC_NOT_ALLOWED(DLMS_EXC_SERVICE_NOT_SUPPORTED);
    }
}

/* ---- ciphered requests ---- */

/* Unwrap a ciphered request into s->rx. Returns the plaintext length, or an EXC() code;
 * *ic_refused is set for invocation-counter-error. */
static int decipher_request(req_t *r, const uint8_t *apdu, size_t len,
                            uint32_t *ic_refused)
{
    dlms_server_t *s = r->s;
    assoc_t *a = r->a;
    dlms_ciphered_t c;
    int rc = dlms_ciphered_decode(apdu, len, &c);
    if (rc == MS_ENOTSUP)
        return EXC(DLMS_EXC_STATE_SERVICE_UNKNOWN, DLMS_EXC_SERVICE_NOT_SUPPORTED);
    if (rc < 0)
        return EXC_NOT_ALLOWED(DLMS_EXC_SERVICE_OTHER_REASON);
    if (!a->ciphered)
        return EXC_NOT_ALLOWED(DLMS_EXC_SERVICE_NOT_SUPPORTED);
    uint8_t pol = a->cfg.policy;
    if (((pol & DLMS_POLICY_AUTHENTICATED) && !(c.sc & DLMS_SC_AUTHENTICATION)) ||
        ((pol & DLMS_POLICY_ENCRYPTED) && !(c.sc & DLMS_SC_ENCRYPTION))) {
        event(s, r->csap, r->ssap, a, "request protected less than the policy requires");
        return EXC_NOT_ALLOWED(DLMS_EXC_SERVICE_OPERATION_NOT_POSSIBLE);
    }
    bool ded = dlms_tag_is_ded(c.tag);
    const uint8_t *title = a->has_title ? a->title : NULL;
    if (c.system_title.p) {
        if (title && memcmp(title, c.system_title.p, 8) != 0)
            return EXC_NOT_ALLOWED(DLMS_EXC_SERVICE_DECIPHERING_ERROR);
        title = c.system_title.p;
    }
    if (!title || (ded && !a->has_ded))
        return EXC_NOT_ALLOWED(DLMS_EXC_SERVICE_DECIPHERING_ERROR);
    int ic_ok =
        ded ? dlms_ic_check(&a->ded_rx, c.ic) : s->ops->ic_check(s->ctx, r->csap, c.ic);
    if (ic_ok < 0) {
        *ic_refused = c.ic;
        event(s, r->csap, r->ssap, a, "replayed invocation counter");
        return EXC_NOT_ALLOWED(DLMS_EXC_SERVICE_INVOCATION_COUNTER_ERROR);
    }
    if (!grow(&s->rx, &s->rx_cap, c.content.len))
        return EXC_NOT_ALLOWED(DLMS_EXC_SERVICE_OTHER_REASON);
    dlms_sec_keys_t k = ded ? ded_keys(a) : glo_keys(a);
    int n = dlms_sec_unprotect(c.content.p, c.content.len, title, &k, s->rx, s->rx_cap,
                               NULL, NULL);
    if (n < 0) {
        event(s, r->csap, r->ssap, a, "authentication tag or deciphering failed");
        return EXC_NOT_ALLOWED(DLMS_EXC_SERVICE_DECIPHERING_ERROR);
    }
    if (c.sc & DLMS_SC_AUTHENTICATION) {
        if (ded)
            dlms_ic_accept(&a->ded_rx, c.ic);
        else
            s->ops->ic_accept(s->ctx, r->csap, c.ic);
    }
    int plain = dlms_plain_tag(c.tag);
    if (n == 0 || (plain >= 0 && s->rx[0] != plain))
        return EXC_NOT_ALLOWED(DLMS_EXC_SERVICE_OTHER_REASON);
    if (!a->has_title && c.system_title.p) {
        a->has_title = true; /* learnt from an authenticated general-*-ciphering APDU */
        memcpy(a->title, c.system_title.p, 8);
    }
    r->sc = c.sc & (DLMS_SC_SUITE_MASK | DLMS_SC_AUTHENTICATION | DLMS_SC_ENCRYPTION);
    r->prot = c.tag == DLMS_TAG_GENERAL_GLO_CIPHERING   ? PROT_GENERAL_GLO
              : c.tag == DLMS_TAG_GENERAL_DED_CIPHERING ? PROT_GENERAL_DED
              : ded                                     ? PROT_DED
                                                        : PROT_GLO;
    return n;
}

/* Protect the plain answer r->w into out as the request was protected. */
static int protect_answer(req_t *r, ms_wr_t *out)
{
    dlms_server_t *s = r->s;
    assoc_t *a = r->a;
    bool ded = r->prot == PROT_DED || r->prot == PROT_GENERAL_DED;
    int tag;
    switch (r->prot) {
    case PROT_GENERAL_GLO:
        tag = DLMS_TAG_GENERAL_GLO_CIPHERING;
        break;
    case PROT_GENERAL_DED:
        tag = DLMS_TAG_GENERAL_DED_CIPHERING;
        break;
    default:
        tag = ded ? dlms_ded_tag(r->w.buf[0]) : dlms_glo_tag(r->w.buf[0]);
        break;
    }
    if (tag < 0)
        return put_exception(out, EXC_NOT_ALLOWED(DLMS_EXC_SERVICE_OTHER_REASON), 0);
    /* one transmit counter for every key: a server IV never repeats, even when a
     * client brings the same dedicated key to two associations */
    uint32_t ic = s->ops->ic_next(s->ctx, r->csap);
    dlms_sec_keys_t k = ded ? ded_keys(a) : glo_keys(a);
    size_t at = out->len;
    if (dlms_cipher_apdu(out, (uint8_t)tag, a->cfg.server_title, r->sc, ic, &k, r->w.buf,
                         r->w.len) < 0) {
        out->len = at;
        out->err = 0;
        return put_exception(out, EXC_NOT_ALLOWED(DLMS_EXC_SERVICE_PDU_TOO_LONG), 0);
    }
    return 0;
}

static bool is_request_tag(uint8_t tag)
{
    return tag == DLMS_TAG_GET_REQUEST || tag == DLMS_TAG_SET_REQUEST ||
           tag == DLMS_TAG_ACTION_REQUEST;
}

static int handle_xdlms(dlms_server_t *s, uint16_t csap, uint16_t ssap,
                        const uint8_t *apdu, size_t len, ms_wr_t *out)
{
    uint8_t tag = apdu[0];
    bool ciphered = dlms_tag_is_ciphered(tag);
    if (!ciphered && !is_request_tag(tag)) {
        /* unconfirmed services (notifications) are not answered */
        if (tag == DLMS_TAG_DATA_NOTIFICATION ||
            tag == DLMS_TAG_EVENT_NOTIFICATION_REQUEST ||
            tag == DLMS_TAG_UNCONFIRMED_WRITE_REQUEST ||
            tag == DLMS_TAG_INFORMATION_REPORT_REQUEST)
            return 0;
        return put_exception(
            out, EXC(DLMS_EXC_STATE_SERVICE_UNKNOWN, DLMS_EXC_SERVICE_NOT_SUPPORTED), 0);
    }
    req_t r;
    memset(&r, 0, sizeof r);
    r.s = s;
    r.csap = csap;
    r.ssap = ssap;
    r.a = find(s, csap);
    assoc_t *a = r.a;
    if (!a || a->server_sap != ssap)
        return put_exception(out,
                             EXC_NOT_ALLOWED(DLMS_EXC_SERVICE_OPERATION_NOT_POSSIBLE), 0);
    if (len > a->cfg.max_pdu)
        return put_exception(out, EXC_NOT_ALLOWED(DLMS_EXC_SERVICE_PDU_TOO_LONG), 0);
    const uint8_t *plain = apdu;
    size_t plen = len;
    if (ciphered) {
        uint32_t ic = 0;
        int n = decipher_request(&r, apdu, len, &ic);
        if (n < 0 || n >= 0x10000)
            return put_exception(out, n, ic);
        plain = s->rx;
        plen = (size_t)n;
    } else if (a->cfg.policy) {
        event(s, csap, ssap, a, "unprotected request under a ciphering policy");
        return put_exception(out,
                             EXC_NOT_ALLOWED(DLMS_EXC_SERVICE_OPERATION_NOT_POSSIBLE), 0);
    }
    if (!is_request_tag(plain[0]))
        return put_exception(
            out, EXC(DLMS_EXC_STATE_SERVICE_UNKNOWN, DLMS_EXC_SERVICE_NOT_SUPPORTED), 0);
    if (!ensure_arena(s))
        return put_exception(out, EXC_NOT_ALLOWED(DLMS_EXC_SERVICE_OTHER_REASON), 0);
    dlms_apdu_t q;
    int rc = dlms_apdu_decode(plain, plen, &s->arena, &q);
    if (rc < 0)
        return put_exception(out, EXC_NOT_ALLOWED(DLMS_EXC_SERVICE_OTHER_REASON), 0);
    bool hls_action = q.tag == DLMS_TAG_ACTION_REQUEST &&
                      q.type == DLMS_ACTION_REQUEST_NORMAL &&
                      is_hls_method(a, &q.u.action_req.method);
    if (a->state != AS_OPEN && !hls_action)
        return put_exception(out,
                             EXC_NOT_ALLOWED(DLMS_EXC_SERVICE_OPERATION_NOT_POSSIBLE), 0);

    /* where the plain answer goes, and how long it may be */
    size_t pdu = a->client_pdu;
    size_t avail = ms_wr_room(out);
    if (avail < pdu)
        pdu = avail;
    if (r.prot != PROT_PLAIN) {
        if (!grow(&s->tx, &s->tx_cap, a->client_pdu))
            return put_exception(out, EXC_NOT_ALLOWED(DLMS_EXC_SERVICE_OTHER_REASON), 0);
        ms_wr_init(&r.w, s->tx, s->tx_cap);
        r.room = pdu > CIPHER_OVERHEAD ? pdu - CIPHER_OVERHEAD : 0;
    } else {
        ms_wr_init(&r.w, out->buf + out->len, avail);
        r.room = pdu;
    }
    r.iip = q.invoke_id_and_priority;
    r.who = (dlms_who_t){ csap, ssap, a->cfg.mechanism, a->state == AS_OPEN,
                          a->has_title ? a->title : NULL };
    switch (q.tag) {
    case DLMS_TAG_GET_REQUEST:
        rc = do_get(&r, &q);
        break;
    case DLMS_TAG_SET_REQUEST:
        rc = do_set(&r, &q);
        break;
    default:
        rc = do_action(&r, &q);
        break;
    }
    if (rc == 0 && (r.w.err || r.w.len > r.room))
        rc = EXC_NOT_ALLOWED(DLMS_EXC_SERVICE_PDU_TOO_LONG);
    if (rc == 0 && r.w.len == 0)
        rc = EXC_NOT_ALLOWED(DLMS_EXC_SERVICE_OTHER_REASON); /* never an empty answer */
    if (rc != 0)
        return put_exception(out, rc, 0);
    if (r.prot == PROT_PLAIN) {
        out->len += r.w.len;
        return 0;
    }
    return protect_answer(&r, out);
}

/* ---- public ---- */

dlms_server_t *dlms_server_new(const dlms_server_cfg_t *cfg, const dlms_server_ops_t *ops,
                               void *ctx, int *err)
{
    int e = MS_EINVAL;
    dlms_server_t *s = NULL;
    if (!ops || !ops->association || !ops->get)
        goto fail;
    if ((ops->ic_next || ops->ic_check || ops->ic_accept) &&
        !(ops->ic_next && ops->ic_check && ops->ic_accept))
        goto fail;
    e = MS_ENOMEM;
    s = calloc(1, sizeof *s);
    if (!s)
        goto fail;
    s->ops = ops;
    s->ctx = ctx;
    s->max_value = cfg && cfg->max_value ? cfg->max_value : DEFAULT_MAX_VALUE;
    s->arena_size = cfg && cfg->arena_size ? cfg->arena_size : DEFAULT_ARENA;
    if (s->max_value > 0x7FFFFFFFu)
        s->max_value = 0x7FFFFFFFu;
    if (err)
        *err = 0;
    return s;
fail:
    free(s);
    if (err)
        *err = e;
    return NULL;
}

void dlms_server_free(dlms_server_t *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nas; i++)
        free(s->as[i].buf);
    free(s->as);
    free(s->arena_mem);
    free(s->rx);
    free(s->tx);
    free(s);
}

void dlms_server_reset(dlms_server_t *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nas; i++) {
        if (s->as[i].state != AS_IDLE)
            event(s, s->as[i].client_sap, s->as[i].server_sap, &s->as[i],
                  "released: link ended");
        drop(&s->as[i]);
    }
}

bool dlms_server_associated(const dlms_server_t *s, uint16_t client_sap)
{
    if (!s)
        return false;
    for (size_t i = 0; i < s->nas; i++)
        if (s->as[i].state == AS_OPEN && s->as[i].client_sap == client_sap)
            return true;
    return false;
}

int dlms_server_apdu(dlms_server_t *s, uint16_t client_sap, uint16_t server_sap,
                     const uint8_t *apdu, size_t len, ms_wr_t *out)
{
    if (!s || !out || (!apdu && len) || out->err)
        return MS_EINVAL;
    if (len == 0)
        return 0;
    switch (apdu[0]) {
    case DLMS_TAG_AARQ:
        return handle_aarq(s, client_sap, server_sap, apdu, len, out);
    case DLMS_TAG_RLRQ:
        return handle_rlrq(s, client_sap, server_sap, apdu, len, out);
    case DLMS_TAG_AARE:
    case DLMS_TAG_RLRE:
        return put_exception(
            out, EXC(DLMS_EXC_STATE_SERVICE_UNKNOWN, DLMS_EXC_SERVICE_NOT_SUPPORTED), 0);
    default:
        return handle_xdlms(s, client_sap, server_sap, apdu, len, out);
    }
}
