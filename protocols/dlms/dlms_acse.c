/*
** dlms_acse.c — AARQ, AARE, RLRQ, RLRE in BER, with xDLMS user-information.
** SPDX-License-Identifier: MIT
**
** Context-specific tags of each APDU (ACSE-APDU module as used by the Green Book):
**   AARQ  80 protocol-version    A1 application-context-name  A2 called-AP-title
**         A3 called-AE-qualifier A4 called-AP-invocation-id   A5 called-AE-invocation-id
**         A6 calling-AP-title    A7 calling-AE-qualifier      A8 calling-AP-invocation-id
**         A9 calling-AE-invocation-id  8A sender-acse-requirements  8B mechanism-name
**         AC calling-authentication-value  9D implementation-information  BE user-info
**   AARE  80 protocol-version    A1 application-context-name  A2 result
**         A3 result-source-diagnostic  A4 responding-AP-title  A5 responding-AE-qualifier
**         A6 responding-AP-invocation-id  A7 responding-AE-invocation-id
**         88 responder-acse-requirements  89 mechanism-name
**         AA responding-authentication-value  9D implementation-information  BE user-info
**   RLRQ / RLRE  80 reason  BE user-information
** Constructed [n] tags are EXPLICIT: A1 holds 06 (OID), A2..A9 hold 04 (OCTET STRING) or
** 02 (INTEGER), AC/AA hold the Authentication-value CHOICE, BE holds 04 (the xDLMS APDU).
*/
#include "dlms_acse.h"

#include <string.h>

#include "ms_err.h"

#define BER_INTEGER      0x02u
#define BER_OCTET_STRING 0x04u
#define BER_OID          0x06u

/* ---- names and OIDs ---- */

static const uint8_t oid_prefix_context[6] = { 0x60, 0x85, 0x74, 0x05, 0x08, 0x01 };
static const uint8_t oid_prefix_mechanism[6] = { 0x60, 0x85, 0x74, 0x05, 0x08, 0x02 };

#define OID(arc, x)                              \
    {                                            \
        0x60, 0x85, 0x74, 0x05, 0x08, (arc), (x) \
    }
static const uint8_t oid_context[5][7] = { OID(1, 0), OID(1, 1), OID(1, 2), OID(1, 3),
                                           OID(1, 4) };
static const uint8_t oid_mechanism[8][7] = { OID(2, 0), OID(2, 1), OID(2, 2), OID(2, 3),
                                             OID(2, 4), OID(2, 5), OID(2, 6), OID(2, 7) };
#undef OID

dlms_bytes_t acse_context_name(unsigned x)
{
    if (x < ACSE_CONTEXT_LN || x > ACSE_CONTEXT_SN_CIPHERING)
        return (dlms_bytes_t){ NULL, 0 };
    return (dlms_bytes_t){ oid_context[x], 7 };
}

dlms_bytes_t acse_mechanism_name(unsigned x)
{
    if (x > ACSE_MECHANISM_HIGH_ECDSA)
        return (dlms_bytes_t){ NULL, 0 };
    return (dlms_bytes_t){ oid_mechanism[x], 7 };
}

static int oid_id(dlms_bytes_t oid, const uint8_t prefix[6])
{
    if (!oid.p || oid.len != 7 || memcmp(oid.p, prefix, 6) != 0 || oid.p[6] >= 0x80)
        return -1;
    return oid.p[6];
}

int acse_context_id(dlms_bytes_t oid)
{
    return oid_id(oid, oid_prefix_context);
}

int acse_mechanism_id(dlms_bytes_t oid)
{
    return oid_id(oid, oid_prefix_mechanism);
}

dlms_bytes_t acse_requirements_authentication(void)
{
    static const uint8_t bits[2] = { 0x07, 0x80 };
    return (dlms_bytes_t){ bits, 2 };
}

bool acse_requires_authentication(dlms_bytes_t bits)
{
    /* BIT STRING contents: unused-bits octet, then bit 0 (authentication) as the MSB. */
    return bits.p && bits.len >= 2 && (bits.p[1] & 0x80u);
}

const char *acse_result_name(unsigned result)
{
    switch (result) {
    case ACSE_RESULT_ACCEPTED:
        return "accepted";
    case ACSE_RESULT_REJECTED_PERMANENT:
        return "rejected-permanent";
    case ACSE_RESULT_REJECTED_TRANSIENT:
        return "rejected-transient";
    default:
        return "?";
    }
}

const char *acse_diagnostic_name(unsigned source, unsigned diagnostic)
{
    static const char *const user[] = {
        "null",
        "no-reason-given",
        "application-context-name-not-supported",
        "calling-AP-title-not-recognized",
        "calling-AP-invocation-identifier-not-recognized",
        "calling-AE-qualifier-not-recognized",
        "calling-AE-invocation-identifier-not-recognized",
        "called-AP-title-not-recognized",
        "called-AP-invocation-identifier-not-recognized",
        "called-AE-qualifier-not-recognized",
        "called-AE-invocation-identifier-not-recognized",
        "authentication-mechanism-name-not-recognised",
        "authentication-mechanism-name-required",
        "authentication-failure",
        "authentication-required",
    };
    static const char *const provider[] = { "null", "no-reason-given",
                                            "no-common-acse-version" };
    if (source == ACSE_SOURCE_SERVICE_USER && diagnostic < sizeof user / sizeof *user)
        return user[diagnostic];
    if (source == ACSE_SOURCE_SERVICE_PROVIDER &&
        diagnostic < sizeof provider / sizeof *provider)
        return provider[diagnostic];
    return "?";
}

/* ---- BER reading ---- */

/* One TLV at the reader's position: tag (single octet: every tag here is < 31), length,
 * contents. */
static int ber_tlv(ms_rd_t *r, uint8_t *tag, dlms_bytes_t *contents, uint8_t *len_octets)
{
    *tag = ms_rd_u8(r);
    if (r->err)
        return MS_ETRUNC;
    if ((*tag & 0x1Fu) == 0x1Fu)
        return MS_EFRAME; /* multi-octet tags do not occur in these APDUs */
    int first = ms_rd_peek(r);
    int rc =
        axdr_read_octets(r, contents); /* BER definite lengths: same octets as A-XDR */
    if (rc < 0)
        return rc;
    if (len_octets)
        *len_octets = first >= 0x80 ? (uint8_t)(first & 0x7F) : 0;
    return 0;
}

/* The single TLV filling an EXPLICIT tag's contents, which must have tag want. */
static int ber_inner(dlms_bytes_t outer, uint8_t want, dlms_bytes_t *contents)
{
    ms_rd_t r;
    uint8_t tag;
    ms_rd_init(&r, outer.p, outer.len);
    int rc = ber_tlv(&r, &tag, contents, NULL);
    if (rc < 0)
        return rc;
    if (tag != want || ms_rd_left(&r))
        return MS_EFRAME;
    return 0;
}

static int ber_int_value(dlms_bytes_t c, int32_t *v)
{
    if (c.len < 1 || c.len > 4)
        return MS_EFRAME;
    uint32_t u = (c.p[0] & 0x80u) ? 0xFFFFFFFFu : 0;
    for (size_t i = 0; i < c.len; i++)
        u = (u << 8) | c.p[i];
    *v = (int32_t)u;
    return 0;
}

static int ber_explicit_int(dlms_bytes_t outer, int32_t *v)
{
    dlms_bytes_t c;
    int rc = ber_inner(outer, BER_INTEGER, &c);
    if (rc < 0)
        return rc;
    return ber_int_value(c, v);
}

static int set_once(dlms_bytes_t *field, dlms_bytes_t v)
{
    if (field->p)
        return MS_EFRAME;
    *field = v;
    return 0;
}

static int set_explicit_octets(dlms_bytes_t *field, dlms_bytes_t outer)
{
    dlms_bytes_t c;
    int rc = ber_inner(outer, BER_OCTET_STRING, &c);
    if (rc < 0)
        return rc;
    return set_once(field, c);
}

static int set_explicit_int(acse_int_t *field, dlms_bytes_t outer)
{
    if (field->present)
        return MS_EFRAME;
    int rc = ber_explicit_int(outer, &field->value);
    if (rc < 0)
        return rc;
    field->present = true;
    return 0;
}

static int set_auth_value(acse_auth_value_t *field, dlms_bytes_t outer)
{
    ms_rd_t r;
    uint8_t tag;
    dlms_bytes_t c;
    if (field->value.p)
        return MS_EFRAME;
    ms_rd_init(&r, outer.p, outer.len);
    int rc = ber_tlv(&r, &tag, &c, NULL);
    if (rc < 0)
        return rc;
    if (ms_rd_left(&r) || (tag != ACSE_AUTH_CHARSTRING && tag != ACSE_AUTH_BITSTRING &&
                           tag != 0xA2 && tag != 0xA3))
        return MS_EFRAME;
    field->tag = tag;
    field->value = c;
    return 0;
}

static int set_user_info(acse_user_info_t *ui, dlms_bytes_t outer)
{
    dlms_bytes_t x;
    if (ui->kind)
        return MS_EFRAME;
    int rc = ber_inner(outer, BER_OCTET_STRING, &x);
    if (rc < 0)
        return rc;
    if (x.len == 0 || x.p[0] == 0)
        return MS_EFRAME; /* no xDLMS APDU has tag 0 (kind 0 means "absent") */
    ui->raw = x;
    ui->kind = x.p[0];
    if (ui->kind != DLMS_TAG_INITIATE_REQUEST && ui->kind != DLMS_TAG_INITIATE_RESPONSE &&
        ui->kind != DLMS_TAG_CONFIRMED_SERVICE_ERROR)
        return 0; /* ciphered or other: left to dlms_security.h */
    /* These three APDUs have no Data values, so a tiny arena suffices. */
    uint64_t mem[4];
    dlms_arena_t arena;
    dlms_apdu_t apdu;
    dlms_arena_init(&arena, mem, sizeof mem);
    if ((rc = dlms_apdu_decode(x.p, x.len, &arena, &apdu)) < 0)
        return rc == MS_ENOTSUP ? MS_EFRAME : rc;
    switch (ui->kind) {
    case DLMS_TAG_INITIATE_REQUEST:
        ui->initiate_request = apdu.u.initiate_req;
        break;
    case DLMS_TAG_INITIATE_RESPONSE:
        ui->initiate_response = apdu.u.initiate_resp;
        break;
    default:
        ui->service_error = apdu.u.service_error;
        break;
    }
    return 0;
}

static int dec_aarq_field(acse_apdu_t *a, uint8_t tag, dlms_bytes_t c)
{
    switch (tag) {
    case 0xA2:
        return set_explicit_octets(&a->called_ap_title, c);
    case 0xA3:
        return set_explicit_octets(&a->called_ae_qualifier, c);
    case 0xA4:
        return set_explicit_int(&a->called_ap_invocation_id, c);
    case 0xA5:
        return set_explicit_int(&a->called_ae_invocation_id, c);
    case 0xA6:
        return set_explicit_octets(&a->calling_ap_title, c);
    case 0xA7:
        return set_explicit_octets(&a->calling_ae_qualifier, c);
    case 0xA8:
        return set_explicit_int(&a->calling_ap_invocation_id, c);
    case 0xA9:
        return set_explicit_int(&a->calling_ae_invocation_id, c);
    case 0x8A:
        return set_once(&a->acse_requirements, c);
    case 0x8B:
        return set_once(&a->mechanism_name, c);
    case 0xAC:
        return set_auth_value(&a->authentication_value, c);
    default:
        return MS_EFRAME;
    }
}

static int dec_aare_field(acse_apdu_t *a, uint8_t tag, dlms_bytes_t c)
{
    int rc;
    int32_t v;
    switch (tag) {
    case 0xA2:
        if (a->has_result)
            return MS_EFRAME;
        if ((rc = ber_explicit_int(c, &v)) < 0)
            return rc;
        if (v < 0 || v > 255)
            return MS_EFRAME;
        a->has_result = true;
        a->result = (uint8_t)v;
        return 0;
    case 0xA3: {
        /* CHOICE { acse-service-user [1] INTEGER, acse-service-provider [2] INTEGER } */
        ms_rd_t r;
        uint8_t choice;
        dlms_bytes_t inner;
        if (a->result_source)
            return MS_EFRAME;
        ms_rd_init(&r, c.p, c.len);
        if ((rc = ber_tlv(&r, &choice, &inner, NULL)) < 0)
            return rc;
        if (ms_rd_left(&r) || (choice != 0xA1 && choice != 0xA2))
            return MS_EFRAME;
        if ((rc = ber_explicit_int(inner, &v)) < 0)
            return rc;
        if (v < 0 || v > 255)
            return MS_EFRAME;
        a->result_source =
            choice == 0xA1 ? ACSE_SOURCE_SERVICE_USER : ACSE_SOURCE_SERVICE_PROVIDER;
        a->diagnostic = (uint8_t)v;
        return 0;
    }
    case 0xA4:
        return set_explicit_octets(&a->responding_ap_title, c);
    case 0xA5:
        return set_explicit_octets(&a->responding_ae_qualifier, c);
    case 0xA6:
        return set_explicit_int(&a->responding_ap_invocation_id, c);
    case 0xA7:
        return set_explicit_int(&a->responding_ae_invocation_id, c);
    case 0x88:
        return set_once(&a->acse_requirements, c);
    case 0x89:
        return set_once(&a->mechanism_name, c);
    case 0xAA:
        return set_auth_value(&a->authentication_value, c);
    default:
        return MS_EFRAME;
    }
}

int acse_decode(const uint8_t *buf, size_t len, acse_apdu_t *out)
{
    if (!out || (!buf && len))
        return MS_EINVAL;
    memset(out, 0, sizeof *out);
    ms_rd_t r;
    uint8_t type;
    dlms_bytes_t body;
    ms_rd_init(&r, buf, len);
    if (len && (buf[0] < DLMS_TAG_AARQ || buf[0] > DLMS_TAG_RLRE))
        return MS_ENOTSUP;
    int rc = ber_tlv(&r, &type, &body, &out->len_octets);
    if (rc < 0)
        return rc;
    if (ms_rd_left(&r))
        return MS_EFRAME;
    out->type = type;

    ms_rd_t f;
    ms_rd_init(&f, body.p, body.len);
    while (ms_rd_left(&f)) {
        uint8_t tag;
        dlms_bytes_t c;
        if ((rc = ber_tlv(&f, &tag, &c, NULL)) < 0)
            return rc;
        if (tag == 0xBE) { /* user-information [30], in every ACSE APDU */
            rc = set_user_info(&out->user_information, c);
        } else if (type == DLMS_TAG_RLRQ || type == DLMS_TAG_RLRE) {
            if (tag != 0x80 || out->has_reason)
                return MS_EFRAME;
            rc = ber_int_value(c, &out->reason);
            out->has_reason = true;
        } else if (tag == 0x80) {
            rc = set_once(&out->protocol_version, c);
        } else if (tag == 0xA1) {
            dlms_bytes_t oid;
            if ((rc = ber_inner(c, BER_OID, &oid)) == 0)
                rc = set_once(&out->application_context_name, oid);
        } else if (tag == 0x9D) {
            rc = set_once(&out->implementation_information, c);
        } else if (type == DLMS_TAG_AARQ) {
            rc = dec_aarq_field(out, tag, c);
        } else {
            rc = dec_aare_field(out, tag, c);
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* ---- BER writing ---- */

/* Begin a TLV whose contents length is not known yet; end it with
 * axdr_length_end(w, at, min_octets) (BER definite lengths have the A-XDR octets). */
static size_t tlv_begin(ms_wr_t *w, uint8_t tag)
{
    ms_wr_u8(w, tag);
    return axdr_length_begin(w);
}

static int put_prim(ms_wr_t *w, uint8_t tag, dlms_bytes_t v)
{
    if (!v.p)
        return 0;
    if (v.len > 0xFFFF)
        return MS_EINVAL;
    ms_wr_u8(w, tag);
    axdr_write_length(w, (uint32_t)v.len);
    return ms_wr_bytes(w, v.p, v.len);
}

/* [n] EXPLICIT around a primitive inner TLV. */
static int put_explicit(ms_wr_t *w, uint8_t tag, uint8_t inner_tag, dlms_bytes_t v)
{
    if (!v.p)
        return 0;
    if (v.len > 0xFFFF)
        return MS_EINVAL;
    size_t at = tlv_begin(w, tag);
    put_prim(w, inner_tag, v);
    return axdr_length_end(w, at, 0);
}

static size_t int_octets(int32_t v, uint8_t out[4])
{
    /* Shortest two's complement. */
    size_t n = 4;
    uint32_t u = (uint32_t)v;
    for (int i = 0; i < 4; i++)
        out[i] = (uint8_t)(u >> (24 - 8 * i));
    size_t start = 0;
    while (start < 3 && ((out[start] == 0x00 && !(out[start + 1] & 0x80)) ||
                         (out[start] == 0xFF && (out[start + 1] & 0x80))))
        start++;
    memmove(out, out + start, n - start);
    return n - start;
}

static int put_explicit_int(ms_wr_t *w, uint8_t tag, int32_t v)
{
    uint8_t b[4];
    size_t n = int_octets(v, b);
    size_t at = tlv_begin(w, tag);
    put_prim(w, BER_INTEGER, (dlms_bytes_t){ b, n });
    return axdr_length_end(w, at, 0);
}

static int put_opt_int(ms_wr_t *w, uint8_t tag, const acse_int_t *v)
{
    return v->present ? put_explicit_int(w, tag, v->value) : 0;
}

static int put_auth(ms_wr_t *w, uint8_t tag, const acse_auth_value_t *v)
{
    if (!v->value.p)
        return 0;
    if (v->tag != ACSE_AUTH_CHARSTRING && v->tag != ACSE_AUTH_BITSTRING &&
        v->tag != 0xA2 && v->tag != 0xA3)
        return MS_EINVAL;
    return put_explicit(w, tag, v->tag, v->value);
}

static int put_user_info(ms_wr_t *w, const acse_user_info_t *ui)
{
    int rc;
    if (!ui->kind)
        return 0;
    size_t outer = tlv_begin(w, 0xBE);
    size_t inner = tlv_begin(w, BER_OCTET_STRING);
    if (ui->kind == DLMS_TAG_INITIATE_REQUEST || ui->kind == DLMS_TAG_INITIATE_RESPONSE ||
        ui->kind == DLMS_TAG_CONFIRMED_SERVICE_ERROR) {
        dlms_apdu_t apdu;
        memset(&apdu, 0, sizeof apdu);
        apdu.tag = ui->kind;
        if (ui->kind == DLMS_TAG_INITIATE_REQUEST)
            apdu.u.initiate_req = ui->initiate_request;
        else if (ui->kind == DLMS_TAG_INITIATE_RESPONSE)
            apdu.u.initiate_resp = ui->initiate_response;
        else
            apdu.u.service_error = ui->service_error;
        if ((rc = dlms_apdu_encode(w, &apdu)) < 0)
            return rc;
    } else {
        if (!ui->raw.p || ui->raw.len == 0)
            return MS_EINVAL;
        ms_wr_bytes(w, ui->raw.p, ui->raw.len);
    }
    if ((rc = axdr_length_end(w, inner, 0)) < 0)
        return rc;
    return axdr_length_end(w, outer, 0);
}

static int put_oid(ms_wr_t *w, uint8_t tag, dlms_bytes_t oid)
{
    return put_explicit(w, tag, BER_OID, oid);
}

int acse_encode(ms_wr_t *w, const acse_apdu_t *a)
{
    if (!w || !a)
        return MS_EINVAL;
    if (a->type < DLMS_TAG_AARQ || a->type > DLMS_TAG_RLRE)
        return MS_EINVAL;
    if (w->err)
        return w->err;
    int rc = 0;
    size_t at = tlv_begin(w, a->type);
#define PUT(x)              \
    do {                    \
        if ((rc = (x)) < 0) \
            return rc;      \
    } while (0)
    switch (a->type) {
    case DLMS_TAG_AARQ:
        PUT(put_prim(w, 0x80, a->protocol_version));
        PUT(put_oid(w, 0xA1, a->application_context_name));
        PUT(put_explicit(w, 0xA2, BER_OCTET_STRING, a->called_ap_title));
        PUT(put_explicit(w, 0xA3, BER_OCTET_STRING, a->called_ae_qualifier));
        PUT(put_opt_int(w, 0xA4, &a->called_ap_invocation_id));
        PUT(put_opt_int(w, 0xA5, &a->called_ae_invocation_id));
        PUT(put_explicit(w, 0xA6, BER_OCTET_STRING, a->calling_ap_title));
        PUT(put_explicit(w, 0xA7, BER_OCTET_STRING, a->calling_ae_qualifier));
        PUT(put_opt_int(w, 0xA8, &a->calling_ap_invocation_id));
        PUT(put_opt_int(w, 0xA9, &a->calling_ae_invocation_id));
        PUT(put_prim(w, 0x8A, a->acse_requirements));
        PUT(put_prim(w, 0x8B, a->mechanism_name));
        PUT(put_auth(w, 0xAC, &a->authentication_value));
        PUT(put_prim(w, 0x9D, a->implementation_information));
        break;
    case DLMS_TAG_AARE:
        PUT(put_prim(w, 0x80, a->protocol_version));
        PUT(put_oid(w, 0xA1, a->application_context_name));
        if (a->has_result)
            PUT(put_explicit_int(w, 0xA2, a->result));
        if (a->result_source) {
            if (a->result_source != ACSE_SOURCE_SERVICE_USER &&
                a->result_source != ACSE_SOURCE_SERVICE_PROVIDER)
                return MS_EINVAL;
            size_t d = tlv_begin(w, 0xA3);
            PUT(put_explicit_int(
                w, a->result_source == ACSE_SOURCE_SERVICE_USER ? 0xA1 : 0xA2,
                a->diagnostic));
            PUT(axdr_length_end(w, d, 0));
        }
        PUT(put_explicit(w, 0xA4, BER_OCTET_STRING, a->responding_ap_title));
        PUT(put_explicit(w, 0xA5, BER_OCTET_STRING, a->responding_ae_qualifier));
        PUT(put_opt_int(w, 0xA6, &a->responding_ap_invocation_id));
        PUT(put_opt_int(w, 0xA7, &a->responding_ae_invocation_id));
        PUT(put_prim(w, 0x88, a->acse_requirements));
        PUT(put_prim(w, 0x89, a->mechanism_name));
        PUT(put_auth(w, 0xAA, &a->authentication_value));
        PUT(put_prim(w, 0x9D, a->implementation_information));
        break;
    default: /* RLRQ, RLRE */
        if (a->has_reason) {
            uint8_t b[4];
            size_t n = int_octets(a->reason, b);
            PUT(put_prim(w, 0x80, (dlms_bytes_t){ b, n }));
        }
        break;
    }
    PUT(put_user_info(w, &a->user_information));
#undef PUT
    return axdr_length_end(w, at, a->len_octets);
}
