/*
** dlms_apdu.c — xDLMS APDUs (LN referencing) in A-XDR: decode and encode.
** SPDX-License-Identifier: MIT
*/
#include "dlms_apdu.h"

#include <string.h>

#include "ms_err.h"

/* ---- names ---- */

const char *dlms_apdu_tag_name(unsigned tag)
{
    switch (tag) {
    case DLMS_TAG_INITIATE_REQUEST:
        return "initiateRequest";
    case DLMS_TAG_READ_REQUEST:
        return "readRequest";
    case DLMS_TAG_WRITE_REQUEST:
        return "writeRequest";
    case DLMS_TAG_INITIATE_RESPONSE:
        return "initiateResponse";
    case DLMS_TAG_READ_RESPONSE:
        return "readResponse";
    case DLMS_TAG_WRITE_RESPONSE:
        return "writeResponse";
    case DLMS_TAG_CONFIRMED_SERVICE_ERROR:
        return "confirmedServiceError";
    case DLMS_TAG_DATA_NOTIFICATION:
        return "data-notification";
    case DLMS_TAG_UNCONFIRMED_WRITE_REQUEST:
        return "unconfirmedWriteRequest";
    case DLMS_TAG_INFORMATION_REPORT_REQUEST:
        return "informationReportRequest";
    case DLMS_TAG_GLO_INITIATE_REQUEST:
        return "glo-initiateRequest";
    case DLMS_TAG_GLO_READ_REQUEST:
        return "glo-readRequest";
    case DLMS_TAG_GLO_WRITE_REQUEST:
        return "glo-writeRequest";
    case DLMS_TAG_GLO_INITIATE_RESPONSE:
        return "glo-initiateResponse";
    case DLMS_TAG_GLO_READ_RESPONSE:
        return "glo-readResponse";
    case DLMS_TAG_GLO_WRITE_RESPONSE:
        return "glo-writeResponse";
    case DLMS_TAG_GLO_CONFIRMED_SERVICE_ERROR:
        return "glo-confirmedServiceError";
    case DLMS_TAG_GLO_UNCONFIRMED_WRITE_REQUEST:
        return "glo-unconfirmedWriteRequest";
    case DLMS_TAG_GLO_INFORMATION_REPORT_REQUEST:
        return "glo-informationReportRequest";
    case DLMS_TAG_DED_INITIATE_REQUEST:
        return "ded-initiateRequest";
    case DLMS_TAG_DED_INITIATE_RESPONSE:
        return "ded-initiateResponse";
    case DLMS_TAG_DED_CONFIRMED_SERVICE_ERROR:
        return "ded-confirmedServiceError";
    case DLMS_TAG_AARQ:
        return "aarq";
    case DLMS_TAG_AARE:
        return "aare";
    case DLMS_TAG_RLRQ:
        return "rlrq";
    case DLMS_TAG_RLRE:
        return "rlre";
    case DLMS_TAG_GET_REQUEST:
        return "get-request";
    case DLMS_TAG_SET_REQUEST:
        return "set-request";
    case DLMS_TAG_EVENT_NOTIFICATION_REQUEST:
        return "event-notification-request";
    case DLMS_TAG_ACTION_REQUEST:
        return "action-request";
    case DLMS_TAG_GET_RESPONSE:
        return "get-response";
    case DLMS_TAG_SET_RESPONSE:
        return "set-response";
    case DLMS_TAG_ACTION_RESPONSE:
        return "action-response";
    case DLMS_TAG_GLO_GET_REQUEST:
        return "glo-get-request";
    case DLMS_TAG_GLO_SET_REQUEST:
        return "glo-set-request";
    case DLMS_TAG_GLO_EVENT_NOTIFICATION_REQUEST:
        return "glo-event-notification-request";
    case DLMS_TAG_GLO_ACTION_REQUEST:
        return "glo-action-request";
    case DLMS_TAG_GLO_GET_RESPONSE:
        return "glo-get-response";
    case DLMS_TAG_GLO_SET_RESPONSE:
        return "glo-set-response";
    case DLMS_TAG_GLO_ACTION_RESPONSE:
        return "glo-action-response";
    case DLMS_TAG_DED_GET_REQUEST:
        return "ded-get-request";
    case DLMS_TAG_DED_SET_REQUEST:
        return "ded-set-request";
    case DLMS_TAG_DED_EVENT_NOTIFICATION_REQUEST:
        return "ded-event-notification-request";
    case DLMS_TAG_DED_ACTION_REQUEST:
        return "ded-actionRequest";
    case DLMS_TAG_DED_GET_RESPONSE:
        return "ded-get-response";
    case DLMS_TAG_DED_SET_RESPONSE:
        return "ded-set-response";
    case DLMS_TAG_DED_ACTION_RESPONSE:
        return "ded-action-response";
    case DLMS_TAG_EXCEPTION_RESPONSE:
        return "exception-response";
    case DLMS_TAG_ACCESS_REQUEST:
        return "access-request";
    case DLMS_TAG_ACCESS_RESPONSE:
        return "access-response";
    case DLMS_TAG_GENERAL_GLO_CIPHERING:
        return "general-glo-ciphering";
    case DLMS_TAG_GENERAL_DED_CIPHERING:
        return "general-ded-ciphering";
    case DLMS_TAG_GENERAL_CIPHERING:
        return "general-ciphering";
    case DLMS_TAG_GENERAL_SIGNING:
        return "general-signing";
    case DLMS_TAG_GENERAL_BLOCK_TRANSFER:
        return "general-block-transfer";
    default:
        return "?";
    }
}

const char *dlms_data_access_result_name(unsigned v)
{
    switch (v) {
    case DLMS_DAR_SUCCESS:
        return "success";
    case DLMS_DAR_HARDWARE_FAULT:
        return "hardware-fault";
    case DLMS_DAR_TEMPORARY_FAILURE:
        return "temporary-failure";
    case DLMS_DAR_READ_WRITE_DENIED:
        return "read-write-denied";
    case DLMS_DAR_OBJECT_UNDEFINED:
        return "object-undefined";
    case DLMS_DAR_OBJECT_CLASS_INCONSISTENT:
        return "object-class-inconsistent";
    case DLMS_DAR_OBJECT_UNAVAILABLE:
        return "object-unavailable";
    case DLMS_DAR_TYPE_UNMATCHED:
        return "type-unmatched";
    case DLMS_DAR_SCOPE_OF_ACCESS_VIOLATED:
        return "scope-of-access-violated";
    case DLMS_DAR_DATA_BLOCK_UNAVAILABLE:
        return "data-block-unavailable";
    case DLMS_DAR_LONG_GET_ABORTED:
        return "long-get-aborted";
    case DLMS_DAR_NO_LONG_GET_IN_PROGRESS:
        return "no-long-get-in-progress";
    case DLMS_DAR_LONG_SET_ABORTED:
        return "long-set-aborted";
    case DLMS_DAR_NO_LONG_SET_IN_PROGRESS:
        return "no-long-set-in-progress";
    case DLMS_DAR_DATA_BLOCK_NUMBER_INVALID:
        return "data-block-number-invalid";
    case DLMS_DAR_OTHER_REASON:
        return "other-reason";
    default:
        return "?";
    }
}

const char *dlms_action_result_name(unsigned v)
{
    switch (v) {
    case DLMS_ACTION_LONG_ACTION_ABORTED:
        return "long-action-aborted";
    case DLMS_ACTION_NO_LONG_ACTION_IN_PROGRESS:
        return "no-long-action-in-progress";
    case DLMS_DAR_LONG_SET_ABORTED:
    case DLMS_DAR_NO_LONG_SET_IN_PROGRESS:
    case DLMS_DAR_DATA_BLOCK_NUMBER_INVALID:
        return "?";
    default: /* 0..14 and 250 share their names with Data-Access-Result */
        return dlms_data_access_result_name(v);
    }
}

const char *dlms_exception_state_name(unsigned v)
{
    static const char *const names[] = { "?", "service-not-allowed", "service-unknown" };
    return v < sizeof names / sizeof names[0] ? names[v] : "?";
}

const char *dlms_exception_service_name(unsigned v)
{
    static const char *const names[] = { "?",
                                         "operation-not-possible",
                                         "service-not-supported",
                                         "other-reason",
                                         "pdu-too-long",
                                         "deciphering-error",
                                         "invocation-counter-error" };
    return v < sizeof names / sizeof names[0] ? names[v] : "?";
}

const char *dlms_conformance_bit_name(unsigned n)
{
    static const char *const names[24] = {
        "reserved-zero",
        "general-protection",
        "general-block-transfer",
        "read",
        "write",
        "unconfirmed-write",
        "delta-value-encoding",
        "reserved-seven",
        "attribute0-supported-with-set",
        "priority-mgmt-supported",
        "attribute0-supported-with-get",
        "block-transfer-with-get-or-read",
        "block-transfer-with-set-or-write",
        "block-transfer-with-action",
        "multiple-references",
        "information-report",
        "data-notification",
        "access",
        "parameterized-access",
        "get",
        "set",
        "selective-access",
        "event-notification",
        "action",
    };
    return n < 24 ? names[n] : "?";
}

/* ---- reading helpers ---- */

static int trunc_or(ms_rd_t *r, int rc)
{
    return r->err ? MS_ETRUNC : rc;
}

/* A-XDR OPTIONAL / DEFAULT presence octet: 0x00 or 0x01. */
static int rd_flag(ms_rd_t *r, bool *present)
{
    uint8_t b = ms_rd_u8(r);
    if (r->err)
        return MS_ETRUNC;
    if (b > 1)
        return MS_EFRAME;
    *present = b != 0;
    return 0;
}

/* SEQUENCE OF count; each item takes at least min_octets, so a count larger than the
 * input could hold is refused before anything is allocated. */
static int rd_count(ms_rd_t *r, size_t min_octets, uint32_t *n)
{
    int rc = axdr_read_length(r, n);
    if (rc < 0)
        return rc;
    if (*n > ms_rd_left(r) / min_octets)
        return MS_ETRUNC;
    return 0;
}

static int alloc_list(dlms_arena_t *a, uint32_t n, size_t item, void **out)
{
    *out = NULL;
    if (n == 0)
        return 0;
    if ((size_t)n > SIZE_MAX / item)
        return MS_ENOMEM;
    *out = dlms_arena_alloc(a, (size_t)n * item);
    return *out ? 0 : MS_ENOMEM;
}

static void rd_obis(ms_rd_t *r, ms_obis_t *o)
{
    const uint8_t *p = ms_rd_bytes(r, 6);
    if (!p)
        return;
    *o = MS_OBIS(p[0], p[1], p[2], p[3], p[4], p[5]);
}

int dlms_attr_desc_read(ms_rd_t *r, dlms_attr_desc_t *out)
{
    out->class_id = ms_rd_u16be(r);
    rd_obis(r, &out->instance_id);
    out->attribute_id = (int8_t)ms_rd_u8(r);
    return trunc_or(r, 0);
}

int dlms_method_desc_read(ms_rd_t *r, dlms_method_desc_t *out)
{
    out->class_id = ms_rd_u16be(r);
    rd_obis(r, &out->instance_id);
    out->method_id = (int8_t)ms_rd_u8(r);
    return trunc_or(r, 0);
}

int dlms_access_sel_read(ms_rd_t *r, dlms_arena_t *a, dlms_access_sel_t *out)
{
    memset(out, 0, sizeof *out);
    int rc = rd_flag(r, &out->present);
    if (rc < 0 || !out->present)
        return rc;
    out->selector = ms_rd_u8(r);
    if (r->err)
        return MS_ETRUNC;
    return axdr_decode_data(r, a, &out->parameters);
}

int dlms_attr_sel_read(ms_rd_t *r, dlms_arena_t *a, dlms_attr_sel_t *out)
{
    int rc = dlms_attr_desc_read(r, &out->desc);
    if (rc < 0)
        return rc;
    return dlms_access_sel_read(r, a, &out->access);
}

int dlms_conformance_read(ms_rd_t *r, uint32_t *conformance)
{
    /* [APPLICATION 31] IMPLICIT BIT STRING (SIZE(24)): BER tag 5F 1F, length 4,
     * unused-bits 0, three octets (the COSEM conformance block). */
    const uint8_t *p = ms_rd_bytes(r, 7);
    if (!p)
        return MS_ETRUNC;
    if (p[0] != 0x5F || p[1] != 0x1F || p[2] != 0x04 || p[3] != 0x00)
        return MS_EFRAME;
    *conformance = (uint32_t)p[4] << 16 | (uint32_t)p[5] << 8 | p[6];
    return 0;
}

int dlms_get_data_result_read(ms_rd_t *r, dlms_arena_t *a, dlms_get_data_result_t *out)
{
    memset(out, 0, sizeof *out);
    uint8_t choice = ms_rd_u8(r);
    if (r->err)
        return MS_ETRUNC;
    switch (choice) {
    case 0:
        out->is_data = true;
        return axdr_decode_data(r, a, &out->data);
    case 1:
        out->is_data = false;
        out->dar = ms_rd_u8(r);
        return trunc_or(r, 0);
    default:
        return MS_EFRAME;
    }
}

static int rd_datablock_sa(ms_rd_t *r, dlms_datablock_sa_t *out)
{
    out->last_block = ms_rd_u8(r) != 0; /* A-XDR BOOLEAN: non-zero is TRUE */
    out->block_number = ms_rd_u32be(r);
    if (r->err)
        return MS_ETRUNC;
    return axdr_read_octets(r, &out->raw);
}

static int rd_datablock_g(ms_rd_t *r, dlms_datablock_g_t *out)
{
    out->last_block = ms_rd_u8(r) != 0;
    out->block_number = ms_rd_u32be(r);
    uint8_t choice = ms_rd_u8(r);
    if (r->err)
        return MS_ETRUNC;
    switch (choice) {
    case 0:
        out->is_raw = true;
        return axdr_read_octets(r, &out->raw);
    case 1:
        out->is_raw = false;
        out->dar = ms_rd_u8(r);
        return trunc_or(r, 0);
    default:
        return MS_EFRAME;
    }
}

int dlms_action_result_read(ms_rd_t *r, dlms_arena_t *a, dlms_action_result_t *out)
{
    memset(out, 0, sizeof *out);
    out->result = ms_rd_u8(r);
    if (r->err)
        return MS_ETRUNC;
    int rc = rd_flag(r, &out->has_return_parameters);
    if (rc < 0 || !out->has_return_parameters)
        return rc;
    return dlms_get_data_result_read(r, a, &out->return_parameters);
}

static int rd_attr_sel_list(ms_rd_t *r, dlms_arena_t *a, dlms_attr_sel_t **list,
                            uint32_t *count)
{
    int rc = rd_count(r, 10, count); /* descriptor 9 octets + presence octet */
    if (rc < 0)
        return rc;
    if ((rc = alloc_list(a, *count, sizeof **list, (void **)list)) < 0)
        return rc;
    for (uint32_t i = 0; i < *count; i++)
        if ((rc = dlms_attr_sel_read(r, a, &(*list)[i])) < 0)
            return rc;
    return 0;
}

static int rd_data_list(ms_rd_t *r, dlms_arena_t *a, dlms_data_t **list, uint32_t *count)
{
    int rc = rd_count(r, 1, count);
    if (rc < 0)
        return rc;
    if ((rc = alloc_list(a, *count, sizeof **list, (void **)list)) < 0)
        return rc;
    for (uint32_t i = 0; i < *count; i++)
        if ((rc = axdr_decode_data(r, a, &(*list)[i])) < 0)
            return rc;
    return 0;
}

/* ---- decoding per APDU ---- */

static int dec_get_request(ms_rd_t *r, dlms_arena_t *a, dlms_apdu_t *out)
{
    dlms_get_request_t *g = &out->u.get_req;
    switch (out->type) {
    case DLMS_GET_REQUEST_NORMAL:
        return dlms_attr_sel_read(r, a, &g->attr);
    case DLMS_GET_REQUEST_NEXT:
        g->block_number = ms_rd_u32be(r);
        return trunc_or(r, 0);
    case DLMS_GET_REQUEST_WITH_LIST:
        return rd_attr_sel_list(r, a, &g->list, &g->count);
    default:
        return MS_EFRAME;
    }
}

static int dec_get_response(ms_rd_t *r, dlms_arena_t *a, dlms_apdu_t *out)
{
    dlms_get_response_t *g = &out->u.get_resp;
    int rc;
    switch (out->type) {
    case DLMS_GET_RESPONSE_NORMAL:
        return dlms_get_data_result_read(r, a, &g->result);
    case DLMS_GET_RESPONSE_WITH_DATABLOCK:
        return rd_datablock_g(r, &g->block);
    case DLMS_GET_RESPONSE_WITH_LIST:
        if ((rc = rd_count(r, 2, &g->count)) < 0)
            return rc;
        if ((rc = alloc_list(a, g->count, sizeof *g->list, (void **)&g->list)) < 0)
            return rc;
        for (uint32_t i = 0; i < g->count; i++)
            if ((rc = dlms_get_data_result_read(r, a, &g->list[i])) < 0)
                return rc;
        return 0;
    default:
        return MS_EFRAME;
    }
}

static int dec_set_request(ms_rd_t *r, dlms_arena_t *a, dlms_apdu_t *out)
{
    dlms_set_request_t *s = &out->u.set_req;
    int rc;
    switch (out->type) {
    case DLMS_SET_REQUEST_NORMAL:
        if ((rc = dlms_attr_sel_read(r, a, &s->attr)) < 0)
            return rc;
        return axdr_decode_data(r, a, &s->value);
    case DLMS_SET_REQUEST_WITH_FIRST_DATABLOCK:
        if ((rc = dlms_attr_sel_read(r, a, &s->attr)) < 0)
            return rc;
        return rd_datablock_sa(r, &s->block);
    case DLMS_SET_REQUEST_WITH_DATABLOCK:
        return rd_datablock_sa(r, &s->block);
    case DLMS_SET_REQUEST_WITH_LIST:
        if ((rc = rd_attr_sel_list(r, a, &s->list, &s->count)) < 0)
            return rc;
        return rd_data_list(r, a, &s->values, &s->value_count);
    case DLMS_SET_REQUEST_WITH_LIST_AND_FIRST_DATABLOCK:
        if ((rc = rd_attr_sel_list(r, a, &s->list, &s->count)) < 0)
            return rc;
        return rd_datablock_sa(r, &s->block);
    default:
        return MS_EFRAME;
    }
}

static int rd_dar_list(ms_rd_t *r, dlms_arena_t *a, uint8_t **list, uint32_t *count)
{
    int rc = rd_count(r, 1, count);
    if (rc < 0)
        return rc;
    if ((rc = alloc_list(a, *count, 1, (void **)list)) < 0)
        return rc;
    const uint8_t *p = ms_rd_bytes(r, *count);
    if (!p)
        return MS_ETRUNC;
    if (*count)
        memcpy(*list, p, *count);
    return 0;
}

static int dec_set_response(ms_rd_t *r, dlms_arena_t *a, dlms_apdu_t *out)
{
    dlms_set_response_t *s = &out->u.set_resp;
    int rc;
    switch (out->type) {
    case DLMS_SET_RESPONSE_NORMAL:
        s->result = ms_rd_u8(r);
        return trunc_or(r, 0);
    case DLMS_SET_RESPONSE_DATABLOCK:
        s->block_number = ms_rd_u32be(r);
        return trunc_or(r, 0);
    case DLMS_SET_RESPONSE_LAST_DATABLOCK:
        s->result = ms_rd_u8(r);
        s->block_number = ms_rd_u32be(r);
        return trunc_or(r, 0);
    case DLMS_SET_RESPONSE_LAST_DATABLOCK_WITH_LIST:
        if ((rc = rd_dar_list(r, a, &s->results, &s->count)) < 0)
            return rc;
        s->block_number = ms_rd_u32be(r);
        return trunc_or(r, 0);
    case DLMS_SET_RESPONSE_WITH_LIST:
        return rd_dar_list(r, a, &s->results, &s->count);
    default:
        return MS_EFRAME;
    }
}

static int rd_method_list(ms_rd_t *r, dlms_arena_t *a, dlms_method_desc_t **list,
                          uint32_t *count)
{
    int rc = rd_count(r, 9, count);
    if (rc < 0)
        return rc;
    if ((rc = alloc_list(a, *count, sizeof **list, (void **)list)) < 0)
        return rc;
    for (uint32_t i = 0; i < *count; i++)
        if ((rc = dlms_method_desc_read(r, &(*list)[i])) < 0)
            return rc;
    return 0;
}

static int dec_action_request(ms_rd_t *r, dlms_arena_t *a, dlms_apdu_t *out)
{
    dlms_action_request_t *q = &out->u.action_req;
    int rc;
    switch (out->type) {
    case DLMS_ACTION_REQUEST_NORMAL:
        if ((rc = dlms_method_desc_read(r, &q->method)) < 0)
            return rc;
        if ((rc = rd_flag(r, &q->has_parameters)) < 0 || !q->has_parameters)
            return rc;
        return axdr_decode_data(r, a, &q->parameters);
    case DLMS_ACTION_REQUEST_NEXT_PBLOCK:
        q->block_number = ms_rd_u32be(r);
        return trunc_or(r, 0);
    case DLMS_ACTION_REQUEST_WITH_LIST:
        if ((rc = rd_method_list(r, a, &q->list, &q->count)) < 0)
            return rc;
        return rd_data_list(r, a, &q->parameter_list, &q->parameter_count);
    case DLMS_ACTION_REQUEST_WITH_FIRST_PBLOCK:
        if ((rc = dlms_method_desc_read(r, &q->method)) < 0)
            return rc;
        return rd_datablock_sa(r, &q->block);
    case DLMS_ACTION_REQUEST_WITH_LIST_AND_FIRST_PBLOCK:
        if ((rc = rd_method_list(r, a, &q->list, &q->count)) < 0)
            return rc;
        return rd_datablock_sa(r, &q->block);
    case DLMS_ACTION_REQUEST_WITH_PBLOCK:
        return rd_datablock_sa(r, &q->block);
    default:
        return MS_EFRAME;
    }
}

static int dec_action_response(ms_rd_t *r, dlms_arena_t *a, dlms_apdu_t *out)
{
    dlms_action_response_t *p = &out->u.action_resp;
    int rc;
    switch (out->type) {
    case DLMS_ACTION_RESPONSE_NORMAL:
        return dlms_action_result_read(r, a, &p->single);
    case DLMS_ACTION_RESPONSE_WITH_PBLOCK:
        return rd_datablock_sa(r, &p->block);
    case DLMS_ACTION_RESPONSE_WITH_LIST:
        if ((rc = rd_count(r, 2, &p->count)) < 0)
            return rc;
        if ((rc = alloc_list(a, p->count, sizeof *p->list, (void **)&p->list)) < 0)
            return rc;
        for (uint32_t i = 0; i < p->count; i++)
            if ((rc = dlms_action_result_read(r, a, &p->list[i])) < 0)
                return rc;
        return 0;
    case DLMS_ACTION_RESPONSE_NEXT_PBLOCK:
        p->block_number = ms_rd_u32be(r);
        return trunc_or(r, 0);
    default:
        return MS_EFRAME;
    }
}

static int dec_data_notification(ms_rd_t *r, dlms_arena_t *a, dlms_data_notification_t *n)
{
    n->long_invoke_id_and_priority = ms_rd_u32be(r);
    if (r->err)
        return MS_ETRUNC;
    /* A nine-octet date-time starting with 0x0C is meaningless, so 09 0C is the tagged
     * form (see DLMS_DN_DATE_TIME_TAGGED), not an OCTET STRING of length 9. */
    if (ms_rd_left(r) >= 2 && r->buf[r->pos] == DLMS_OCTET_STRING &&
        r->buf[r->pos + 1] == DLMS_DATE_TIME_LEN) {
        n->date_time_form = DLMS_DN_DATE_TIME_TAGGED;
        ms_rd_bytes(r, 2);
        n->date_time.p = ms_rd_bytes(r, DLMS_DATE_TIME_LEN);
        n->date_time.len = DLMS_DATE_TIME_LEN;
        if (!n->date_time.p)
            return MS_ETRUNC;
    } else {
        int rc = axdr_read_octets(r, &n->date_time);
        if (rc < 0)
            return rc;
    }
    return axdr_decode_data(r, a, &n->body);
}

static int dec_event_notification(ms_rd_t *r, dlms_arena_t *a,
                                  dlms_event_notification_t *e)
{
    int rc = rd_flag(r, &e->has_time);
    if (rc < 0)
        return rc;
    if (e->has_time) {
        /* Cosem-Date-Time is OCTET STRING (SIZE(12)): fixed size, no length octet. */
        const uint8_t *p = ms_rd_bytes(r, DLMS_DATE_TIME_LEN);
        if (!p)
            return MS_ETRUNC;
        memcpy(e->time, p, DLMS_DATE_TIME_LEN);
    }
    if ((rc = dlms_attr_desc_read(r, &e->attr)) < 0)
        return rc;
    return axdr_decode_data(r, a, &e->value);
}

static int dec_initiate_request(ms_rd_t *r, dlms_initiate_request_t *q)
{
    bool present;
    int rc = rd_flag(r, &present);
    if (rc < 0)
        return rc;
    if (present && (rc = axdr_read_octets(r, &q->dedicated_key)) < 0)
        return rc;
    if ((rc = rd_flag(r, &q->response_allowed_present)) < 0)
        return rc;
    if (q->response_allowed_present) {
        q->response_allowed = ms_rd_u8(r) != 0;
    } else {
        q->response_allowed = true; /* DEFAULT TRUE */
    }
    if (r->err)
        return MS_ETRUNC;
    if ((rc = rd_flag(r, &q->has_quality_of_service)) < 0)
        return rc;
    if (q->has_quality_of_service)
        q->quality_of_service = (int8_t)ms_rd_u8(r);
    q->dlms_version = ms_rd_u8(r);
    if (r->err)
        return MS_ETRUNC;
    if ((rc = dlms_conformance_read(r, &q->conformance)) < 0)
        return rc;
    q->max_receive_pdu_size = ms_rd_u16be(r);
    return trunc_or(r, 0);
}

static int dec_initiate_response(ms_rd_t *r, dlms_initiate_response_t *p)
{
    int rc = rd_flag(r, &p->has_quality_of_service);
    if (rc < 0)
        return rc;
    if (p->has_quality_of_service)
        p->quality_of_service = (int8_t)ms_rd_u8(r);
    p->dlms_version = ms_rd_u8(r);
    if (r->err)
        return MS_ETRUNC;
    if ((rc = dlms_conformance_read(r, &p->conformance)) < 0)
        return rc;
    p->max_receive_pdu_size = ms_rd_u16be(r);
    p->vaa_name = ms_rd_u16be(r);
    return trunc_or(r, 0);
}

int dlms_apdu_decode(const uint8_t *buf, size_t len, dlms_arena_t *arena,
                     dlms_apdu_t *out)
{
    if (!out || !arena || (!buf && len))
        return MS_EINVAL;
    memset(out, 0, sizeof *out);
    ms_rd_t r;
    ms_rd_init(&r, buf, len);
    out->tag = ms_rd_u8(&r);
    if (r.err)
        return MS_ETRUNC;
    int rc;
    switch (out->tag) {
    case DLMS_TAG_GET_REQUEST:
    case DLMS_TAG_GET_RESPONSE:
    case DLMS_TAG_SET_REQUEST:
    case DLMS_TAG_SET_RESPONSE:
    case DLMS_TAG_ACTION_REQUEST:
    case DLMS_TAG_ACTION_RESPONSE:
        out->type = ms_rd_u8(&r);
        out->invoke_id_and_priority = ms_rd_u8(&r);
        if (r.err)
            return MS_ETRUNC;
        switch (out->tag) {
        case DLMS_TAG_GET_REQUEST:
            rc = dec_get_request(&r, arena, out);
            break;
        case DLMS_TAG_GET_RESPONSE:
            rc = dec_get_response(&r, arena, out);
            break;
        case DLMS_TAG_SET_REQUEST:
            rc = dec_set_request(&r, arena, out);
            break;
        case DLMS_TAG_SET_RESPONSE:
            rc = dec_set_response(&r, arena, out);
            break;
        case DLMS_TAG_ACTION_REQUEST:
            rc = dec_action_request(&r, arena, out);
            break;
        default:
            rc = dec_action_response(&r, arena, out);
            break;
        }
        break;
    case DLMS_TAG_DATA_NOTIFICATION:
        rc = dec_data_notification(&r, arena, &out->u.data_notification);
        break;
    case DLMS_TAG_EVENT_NOTIFICATION_REQUEST:
        rc = dec_event_notification(&r, arena, &out->u.event_notification);
        break;
    case DLMS_TAG_EXCEPTION_RESPONSE: {
        dlms_exception_response_t *e = &out->u.exception;
        e->state_error = ms_rd_u8(&r);
        e->service_error = ms_rd_u8(&r);
        if (e->service_error == DLMS_EXC_SERVICE_INVOCATION_COUNTER_ERROR)
            e->invocation_counter = ms_rd_u32be(&r);
        rc = trunc_or(&r, 0);
        break;
    }
    case DLMS_TAG_CONFIRMED_SERVICE_ERROR: {
        dlms_confirmed_service_error_t *e = &out->u.service_error;
        e->service = ms_rd_u8(&r);
        e->error_class = ms_rd_u8(&r);
        e->error_value = ms_rd_u8(&r);
        rc = trunc_or(&r, 0);
        break;
    }
    case DLMS_TAG_INITIATE_REQUEST:
        rc = dec_initiate_request(&r, &out->u.initiate_req);
        break;
    case DLMS_TAG_INITIATE_RESPONSE:
        rc = dec_initiate_response(&r, &out->u.initiate_resp);
        break;
    default:
        return MS_ENOTSUP;
    }
    if (rc < 0)
        return rc;
    return ms_rd_left(&r) ? MS_EFRAME : 0;
}

/* ---- writing helpers ---- */

static int wr_octets(ms_wr_t *w, const dlms_bytes_t *b)
{
    if (b->len && !b->p)
        return MS_EINVAL;
    if (b->len > UINT32_MAX)
        return MS_ERANGE;
    axdr_write_length(w, (uint32_t)b->len);
    return ms_wr_bytes(w, b->p, b->len);
}

static int wr_count(ms_wr_t *w, uint32_t n, const void *list)
{
    if (n && !list)
        return MS_EINVAL;
    return axdr_write_length(w, n);
}

static void wr_obis(ms_wr_t *w, const ms_obis_t *o)
{
    const uint8_t b[6] = { o->a, o->b, o->c, o->d, o->e, o->f };
    ms_wr_bytes(w, b, 6);
}

int dlms_attr_desc_write(ms_wr_t *w, const dlms_attr_desc_t *d)
{
    ms_wr_u16be(w, d->class_id);
    wr_obis(w, &d->instance_id);
    return ms_wr_u8(w, (uint8_t)d->attribute_id);
}

int dlms_method_desc_write(ms_wr_t *w, const dlms_method_desc_t *d)
{
    ms_wr_u16be(w, d->class_id);
    wr_obis(w, &d->instance_id);
    return ms_wr_u8(w, (uint8_t)d->method_id);
}

int dlms_access_sel_write(ms_wr_t *w, const dlms_access_sel_t *s)
{
    if (!s->present)
        return ms_wr_u8(w, 0);
    ms_wr_u8(w, 1);
    ms_wr_u8(w, s->selector);
    return axdr_encode_data(w, &s->parameters);
}

int dlms_attr_sel_write(ms_wr_t *w, const dlms_attr_sel_t *s)
{
    int rc = dlms_attr_desc_write(w, &s->desc);
    if (rc < 0)
        return rc;
    return dlms_access_sel_write(w, &s->access);
}

int dlms_conformance_write(ms_wr_t *w, uint32_t conformance)
{
    if (conformance > 0xFFFFFFu)
        return MS_ERANGE;
    const uint8_t b[7] = { 0x5F,
                           0x1F,
                           0x04,
                           0x00,
                           (uint8_t)(conformance >> 16),
                           (uint8_t)(conformance >> 8),
                           (uint8_t)conformance };
    return ms_wr_bytes(w, b, sizeof b);
}

static int wr_get_data_result(ms_wr_t *w, const dlms_get_data_result_t *g)
{
    if (!g->is_data) {
        ms_wr_u8(w, 1);
        return ms_wr_u8(w, g->dar);
    }
    ms_wr_u8(w, 0);
    return axdr_encode_data(w, &g->data);
}

static int wr_datablock_sa(ms_wr_t *w, const dlms_datablock_sa_t *b)
{
    ms_wr_u8(w, b->last_block ? 1 : 0);
    ms_wr_u32be(w, b->block_number);
    return wr_octets(w, &b->raw);
}

static int wr_datablock_g(ms_wr_t *w, const dlms_datablock_g_t *b)
{
    ms_wr_u8(w, b->last_block ? 1 : 0);
    ms_wr_u32be(w, b->block_number);
    if (!b->is_raw) {
        ms_wr_u8(w, 1);
        return ms_wr_u8(w, b->dar);
    }
    ms_wr_u8(w, 0);
    return wr_octets(w, &b->raw);
}

static int wr_action_result(ms_wr_t *w, const dlms_action_result_t *p)
{
    ms_wr_u8(w, p->result);
    if (!p->has_return_parameters)
        return ms_wr_u8(w, 0);
    ms_wr_u8(w, 1);
    return wr_get_data_result(w, &p->return_parameters);
}

static int wr_attr_sel_list(ms_wr_t *w, const dlms_attr_sel_t *list, uint32_t n)
{
    int rc = wr_count(w, n, list);
    for (uint32_t i = 0; rc >= 0 && i < n; i++)
        rc = dlms_attr_sel_write(w, &list[i]);
    return rc;
}

static int wr_data_list(ms_wr_t *w, const dlms_data_t *list, uint32_t n)
{
    int rc = wr_count(w, n, list);
    for (uint32_t i = 0; rc >= 0 && i < n; i++)
        rc = axdr_encode_data(w, &list[i]);
    return rc;
}

static int wr_method_list(ms_wr_t *w, const dlms_method_desc_t *list, uint32_t n)
{
    int rc = wr_count(w, n, list);
    for (uint32_t i = 0; rc >= 0 && i < n; i++)
        rc = dlms_method_desc_write(w, &list[i]);
    return rc;
}

static int wr_dar_list(ms_wr_t *w, const uint8_t *list, uint32_t n)
{
    int rc = wr_count(w, n, list);
    if (rc < 0)
        return rc;
    return ms_wr_bytes(w, list, n);
}

/* ---- encoding per APDU ---- */

static int enc_get_request(ms_wr_t *w, const dlms_apdu_t *a)
{
    const dlms_get_request_t *g = &a->u.get_req;
    switch (a->type) {
    case DLMS_GET_REQUEST_NORMAL:
        return dlms_attr_sel_write(w, &g->attr);
    case DLMS_GET_REQUEST_NEXT:
        return ms_wr_u32be(w, g->block_number);
    case DLMS_GET_REQUEST_WITH_LIST:
        return wr_attr_sel_list(w, g->list, g->count);
    default:
        return MS_EINVAL;
    }
}

static int enc_get_response(ms_wr_t *w, const dlms_apdu_t *a)
{
    const dlms_get_response_t *g = &a->u.get_resp;
    int rc;
    switch (a->type) {
    case DLMS_GET_RESPONSE_NORMAL:
        return wr_get_data_result(w, &g->result);
    case DLMS_GET_RESPONSE_WITH_DATABLOCK:
        return wr_datablock_g(w, &g->block);
    case DLMS_GET_RESPONSE_WITH_LIST:
        rc = wr_count(w, g->count, g->list);
        for (uint32_t i = 0; rc >= 0 && i < g->count; i++)
            rc = wr_get_data_result(w, &g->list[i]);
        return rc;
    default:
        return MS_EINVAL;
    }
}

static int enc_set_request(ms_wr_t *w, const dlms_apdu_t *a)
{
    const dlms_set_request_t *s = &a->u.set_req;
    int rc;
    switch (a->type) {
    case DLMS_SET_REQUEST_NORMAL:
        if ((rc = dlms_attr_sel_write(w, &s->attr)) < 0)
            return rc;
        return axdr_encode_data(w, &s->value);
    case DLMS_SET_REQUEST_WITH_FIRST_DATABLOCK:
        if ((rc = dlms_attr_sel_write(w, &s->attr)) < 0)
            return rc;
        return wr_datablock_sa(w, &s->block);
    case DLMS_SET_REQUEST_WITH_DATABLOCK:
        return wr_datablock_sa(w, &s->block);
    case DLMS_SET_REQUEST_WITH_LIST:
        if ((rc = wr_attr_sel_list(w, s->list, s->count)) < 0)
            return rc;
        return wr_data_list(w, s->values, s->value_count);
    case DLMS_SET_REQUEST_WITH_LIST_AND_FIRST_DATABLOCK:
        if ((rc = wr_attr_sel_list(w, s->list, s->count)) < 0)
            return rc;
        return wr_datablock_sa(w, &s->block);
    default:
        return MS_EINVAL;
    }
}

static int enc_set_response(ms_wr_t *w, const dlms_apdu_t *a)
{
    const dlms_set_response_t *s = &a->u.set_resp;
    int rc;
    switch (a->type) {
    case DLMS_SET_RESPONSE_NORMAL:
        return ms_wr_u8(w, s->result);
    case DLMS_SET_RESPONSE_DATABLOCK:
        return ms_wr_u32be(w, s->block_number);
    case DLMS_SET_RESPONSE_LAST_DATABLOCK:
        ms_wr_u8(w, s->result);
        return ms_wr_u32be(w, s->block_number);
    case DLMS_SET_RESPONSE_LAST_DATABLOCK_WITH_LIST:
        if ((rc = wr_dar_list(w, s->results, s->count)) < 0)
            return rc;
        return ms_wr_u32be(w, s->block_number);
    case DLMS_SET_RESPONSE_WITH_LIST:
        return wr_dar_list(w, s->results, s->count);
    default:
        return MS_EINVAL;
    }
}

static int enc_action_request(ms_wr_t *w, const dlms_apdu_t *a)
{
    const dlms_action_request_t *q = &a->u.action_req;
    int rc;
    switch (a->type) {
    case DLMS_ACTION_REQUEST_NORMAL:
        dlms_method_desc_write(w, &q->method);
        if (!q->has_parameters)
            return ms_wr_u8(w, 0);
        ms_wr_u8(w, 1);
        return axdr_encode_data(w, &q->parameters);
    case DLMS_ACTION_REQUEST_NEXT_PBLOCK:
        return ms_wr_u32be(w, q->block_number);
    case DLMS_ACTION_REQUEST_WITH_LIST:
        if ((rc = wr_method_list(w, q->list, q->count)) < 0)
            return rc;
        return wr_data_list(w, q->parameter_list, q->parameter_count);
    case DLMS_ACTION_REQUEST_WITH_FIRST_PBLOCK:
        dlms_method_desc_write(w, &q->method);
        return wr_datablock_sa(w, &q->block);
    case DLMS_ACTION_REQUEST_WITH_LIST_AND_FIRST_PBLOCK:
        if ((rc = wr_method_list(w, q->list, q->count)) < 0)
            return rc;
        return wr_datablock_sa(w, &q->block);
    case DLMS_ACTION_REQUEST_WITH_PBLOCK:
        return wr_datablock_sa(w, &q->block);
    default:
        return MS_EINVAL;
    }
}

static int enc_action_response(ms_wr_t *w, const dlms_apdu_t *a)
{
    const dlms_action_response_t *p = &a->u.action_resp;
    int rc;
    switch (a->type) {
    case DLMS_ACTION_RESPONSE_NORMAL:
        return wr_action_result(w, &p->single);
    case DLMS_ACTION_RESPONSE_WITH_PBLOCK:
        return wr_datablock_sa(w, &p->block);
    case DLMS_ACTION_RESPONSE_WITH_LIST:
        rc = wr_count(w, p->count, p->list);
        for (uint32_t i = 0; rc >= 0 && i < p->count; i++)
            rc = wr_action_result(w, &p->list[i]);
        return rc;
    case DLMS_ACTION_RESPONSE_NEXT_PBLOCK:
        return ms_wr_u32be(w, p->block_number);
    default:
        return MS_EINVAL;
    }
}

static int enc_data_notification(ms_wr_t *w, const dlms_data_notification_t *n)
{
    int rc;
    ms_wr_u32be(w, n->long_invoke_id_and_priority);
    if (n->date_time_form == DLMS_DN_DATE_TIME_TAGGED) {
        if (n->date_time.len != DLMS_DATE_TIME_LEN || !n->date_time.p)
            return MS_ERANGE;
        ms_wr_u8(w, DLMS_OCTET_STRING);
        ms_wr_u8(w, DLMS_DATE_TIME_LEN);
        ms_wr_bytes(w, n->date_time.p, DLMS_DATE_TIME_LEN);
    } else if (n->date_time_form == DLMS_DN_DATE_TIME_OCTET_STRING) {
        if ((rc = wr_octets(w, &n->date_time)) < 0)
            return rc;
    } else {
        return MS_EINVAL;
    }
    return axdr_encode_data(w, &n->body);
}

static int enc_initiate_request(ms_wr_t *w, const dlms_initiate_request_t *q)
{
    int rc;
    if (q->dedicated_key.p) {
        ms_wr_u8(w, 1);
        if ((rc = wr_octets(w, &q->dedicated_key)) < 0)
            return rc;
    } else {
        ms_wr_u8(w, 0);
    }
    if (q->response_allowed_present) {
        ms_wr_u8(w, 1);
        ms_wr_u8(w, q->response_allowed ? 1 : 0);
    } else {
        if (!q->response_allowed)
            return MS_EINVAL; /* FALSE cannot be sent as the DEFAULT */
        ms_wr_u8(w, 0);
    }
    if (q->has_quality_of_service) {
        ms_wr_u8(w, 1);
        ms_wr_u8(w, (uint8_t)q->quality_of_service);
    } else {
        ms_wr_u8(w, 0);
    }
    ms_wr_u8(w, q->dlms_version);
    if ((rc = dlms_conformance_write(w, q->conformance)) < 0)
        return rc;
    return ms_wr_u16be(w, q->max_receive_pdu_size);
}

static int enc_initiate_response(ms_wr_t *w, const dlms_initiate_response_t *p)
{
    int rc;
    if (p->has_quality_of_service) {
        ms_wr_u8(w, 1);
        ms_wr_u8(w, (uint8_t)p->quality_of_service);
    } else {
        ms_wr_u8(w, 0);
    }
    ms_wr_u8(w, p->dlms_version);
    if ((rc = dlms_conformance_write(w, p->conformance)) < 0)
        return rc;
    ms_wr_u16be(w, p->max_receive_pdu_size);
    return ms_wr_u16be(w, p->vaa_name);
}

int dlms_apdu_encode(ms_wr_t *w, const dlms_apdu_t *a)
{
    if (!w || !a)
        return MS_EINVAL;
    if (w->err)
        return w->err;
    int rc;
    switch (a->tag) {
    case DLMS_TAG_GET_REQUEST:
    case DLMS_TAG_GET_RESPONSE:
    case DLMS_TAG_SET_REQUEST:
    case DLMS_TAG_SET_RESPONSE:
    case DLMS_TAG_ACTION_REQUEST:
    case DLMS_TAG_ACTION_RESPONSE:
        ms_wr_u8(w, a->tag);
        ms_wr_u8(w, a->type);
        ms_wr_u8(w, a->invoke_id_and_priority);
        switch (a->tag) {
        case DLMS_TAG_GET_REQUEST:
            rc = enc_get_request(w, a);
            break;
        case DLMS_TAG_GET_RESPONSE:
            rc = enc_get_response(w, a);
            break;
        case DLMS_TAG_SET_REQUEST:
            rc = enc_set_request(w, a);
            break;
        case DLMS_TAG_SET_RESPONSE:
            rc = enc_set_response(w, a);
            break;
        case DLMS_TAG_ACTION_REQUEST:
            rc = enc_action_request(w, a);
            break;
        default:
            rc = enc_action_response(w, a);
            break;
        }
        break;
    case DLMS_TAG_DATA_NOTIFICATION:
        ms_wr_u8(w, a->tag);
        rc = enc_data_notification(w, &a->u.data_notification);
        break;
    case DLMS_TAG_EVENT_NOTIFICATION_REQUEST: {
        const dlms_event_notification_t *e = &a->u.event_notification;
        ms_wr_u8(w, a->tag);
        if (e->has_time) {
            ms_wr_u8(w, 1);
            ms_wr_bytes(w, e->time, DLMS_DATE_TIME_LEN);
        } else {
            ms_wr_u8(w, 0);
        }
        dlms_attr_desc_write(w, &e->attr);
        rc = axdr_encode_data(w, &e->value);
        break;
    }
    case DLMS_TAG_EXCEPTION_RESPONSE: {
        const dlms_exception_response_t *e = &a->u.exception;
        ms_wr_u8(w, a->tag);
        ms_wr_u8(w, e->state_error);
        rc = ms_wr_u8(w, e->service_error);
        if (e->service_error == DLMS_EXC_SERVICE_INVOCATION_COUNTER_ERROR)
            rc = ms_wr_u32be(w, e->invocation_counter);
        break;
    }
    case DLMS_TAG_CONFIRMED_SERVICE_ERROR: {
        const dlms_confirmed_service_error_t *e = &a->u.service_error;
        ms_wr_u8(w, a->tag);
        ms_wr_u8(w, e->service);
        ms_wr_u8(w, e->error_class);
        rc = ms_wr_u8(w, e->error_value);
        break;
    }
    case DLMS_TAG_INITIATE_REQUEST:
        ms_wr_u8(w, a->tag);
        rc = enc_initiate_request(w, &a->u.initiate_req);
        break;
    case DLMS_TAG_INITIATE_RESPONSE:
        ms_wr_u8(w, a->tag);
        rc = enc_initiate_response(w, &a->u.initiate_resp);
        break;
    default:
        return MS_ENOTSUP;
    }
    if (rc < 0)
        return rc;
    return w->err;
}
