/*
** dlms_apdu.h — xDLMS APDUs with logical name referencing: GET, SET, ACTION (every
** request/response type), EVENT-NOTIFICATION, DATA-NOTIFICATION, exception-response,
** InitiateRequest / InitiateResponse / ConfirmedServiceError, and the APDU tag table.
** SPDX-License-Identifier: MIT
**
** Implements the A-XDR encoding of the Green Book's COSEM APDU ASN.1 module (DLMS UA
** 1000-2 / IEC 62056-5-3, "COSEM APDUs"): each APDU is its tag octet, for GET/SET/ACTION
*a
** CHOICE octet (the request/response type), then the SEQUENCE fields in order; OPTIONAL
** fields carry a presence octet (0x00 absent, 0x01 present); SEQUENCE OF a count in the
** A-XDR length form. Ciphered APDUs (glo-/ded-/general-*) are framed by dlms_security.h,
** ACSE APDUs (AARQ/AARE/RLRQ/RLRE) by dlms_acse.h.
**
** Ownership: decoding never allocates; list items and Data child nodes come from the
** caller's arena, octet strings (raw block data, dedicated key, date-time) point into the
** input. Both must outlive the decoded APDU. A negative answer from the peer (a
** Data-Access-Result, an Action-Result, an exception-response, a ConfirmedServiceError)
** decodes successfully: it is data, not an error.
*/
#ifndef DLMS_APDU_H
#define DLMS_APDU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "axdr.h"
#include "ms_buf.h"
#include "ms_obis.h"

/** APDU tags (Green Book, COSEM APDU module "xDLMS-APDU" CHOICE and ACSE-APDU). */
typedef enum dlms_apdu_tag {
    /* xDLMS, no ciphering */
    DLMS_TAG_INITIATE_REQUEST = 0x01,
    DLMS_TAG_READ_REQUEST = 0x05, /* SN referencing: tag only, not decoded here */
    DLMS_TAG_WRITE_REQUEST = 0x06,
    DLMS_TAG_INITIATE_RESPONSE = 0x08,
    DLMS_TAG_READ_RESPONSE = 0x0C,
    DLMS_TAG_WRITE_RESPONSE = 0x0D,
    DLMS_TAG_CONFIRMED_SERVICE_ERROR = 0x0E,
    DLMS_TAG_DATA_NOTIFICATION = 0x0F,
    DLMS_TAG_UNCONFIRMED_WRITE_REQUEST = 0x16,
    DLMS_TAG_INFORMATION_REPORT_REQUEST = 0x18,
    /* global ciphering of the above */
    DLMS_TAG_GLO_INITIATE_REQUEST = 0x21,
    DLMS_TAG_GLO_READ_REQUEST = 0x25,
    DLMS_TAG_GLO_WRITE_REQUEST = 0x26,
    DLMS_TAG_GLO_INITIATE_RESPONSE = 0x28,
    DLMS_TAG_GLO_READ_RESPONSE = 0x2C,
    DLMS_TAG_GLO_WRITE_RESPONSE = 0x2D,
    DLMS_TAG_GLO_CONFIRMED_SERVICE_ERROR = 0x2E,
    DLMS_TAG_GLO_UNCONFIRMED_WRITE_REQUEST = 0x36,
    DLMS_TAG_GLO_INFORMATION_REPORT_REQUEST = 0x38,
    /* dedicated ciphering */
    DLMS_TAG_DED_INITIATE_REQUEST = 0x41,
    DLMS_TAG_DED_INITIATE_RESPONSE = 0x48,
    DLMS_TAG_DED_CONFIRMED_SERVICE_ERROR = 0x4E,
    /* ACSE */
    DLMS_TAG_AARQ = 0x60,
    DLMS_TAG_AARE = 0x61,
    DLMS_TAG_RLRQ = 0x62,
    DLMS_TAG_RLRE = 0x63,
    /* LN referencing services */
    DLMS_TAG_GET_REQUEST = 0xC0,
    DLMS_TAG_SET_REQUEST = 0xC1,
    DLMS_TAG_EVENT_NOTIFICATION_REQUEST = 0xC2,
    DLMS_TAG_ACTION_REQUEST = 0xC3,
    DLMS_TAG_GET_RESPONSE = 0xC4,
    DLMS_TAG_SET_RESPONSE = 0xC5,
    DLMS_TAG_ACTION_RESPONSE = 0xC7,
    DLMS_TAG_GLO_GET_REQUEST = 0xC8,
    DLMS_TAG_GLO_SET_REQUEST = 0xC9,
    DLMS_TAG_GLO_EVENT_NOTIFICATION_REQUEST = 0xCA,
    DLMS_TAG_GLO_ACTION_REQUEST = 0xCB,
    DLMS_TAG_GLO_GET_RESPONSE = 0xCC,
    DLMS_TAG_GLO_SET_RESPONSE = 0xCD,
    DLMS_TAG_GLO_ACTION_RESPONSE = 0xCF,
    DLMS_TAG_DED_GET_REQUEST = 0xD0,
    DLMS_TAG_DED_SET_REQUEST = 0xD1,
    DLMS_TAG_DED_EVENT_NOTIFICATION_REQUEST = 0xD2,
    DLMS_TAG_DED_ACTION_REQUEST = 0xD3,
    DLMS_TAG_DED_GET_RESPONSE = 0xD4,
    DLMS_TAG_DED_SET_RESPONSE = 0xD5,
    DLMS_TAG_DED_ACTION_RESPONSE = 0xD7,
    DLMS_TAG_EXCEPTION_RESPONSE = 0xD8,
    DLMS_TAG_ACCESS_REQUEST = 0xD9,
    DLMS_TAG_ACCESS_RESPONSE = 0xDA,
    DLMS_TAG_GENERAL_GLO_CIPHERING = 0xDB,
    DLMS_TAG_GENERAL_DED_CIPHERING = 0xDC,
    DLMS_TAG_GENERAL_CIPHERING = 0xDD,
    DLMS_TAG_GENERAL_SIGNING = 0xDF,
    DLMS_TAG_GENERAL_BLOCK_TRANSFER = 0xE0
} dlms_apdu_tag_t;

/** Standard name of an APDU tag ("get-request", "glo-get-response"), "?" if unknown. */
const char *dlms_apdu_tag_name(unsigned tag);

/* GET-Request / GET-Response CHOICE (the octet after the tag). */
enum {
    DLMS_GET_REQUEST_NORMAL = 1,
    DLMS_GET_REQUEST_NEXT = 2,
    DLMS_GET_REQUEST_WITH_LIST = 3
};
enum {
    DLMS_GET_RESPONSE_NORMAL = 1,
    DLMS_GET_RESPONSE_WITH_DATABLOCK = 2,
    DLMS_GET_RESPONSE_WITH_LIST = 3
};
/* SET-Request / SET-Response CHOICE. */
enum {
    DLMS_SET_REQUEST_NORMAL = 1,
    DLMS_SET_REQUEST_WITH_FIRST_DATABLOCK = 2,
    DLMS_SET_REQUEST_WITH_DATABLOCK = 3,
    DLMS_SET_REQUEST_WITH_LIST = 4,
    DLMS_SET_REQUEST_WITH_LIST_AND_FIRST_DATABLOCK = 5
};
enum {
    DLMS_SET_RESPONSE_NORMAL = 1,
    DLMS_SET_RESPONSE_DATABLOCK = 2,
    DLMS_SET_RESPONSE_LAST_DATABLOCK = 3,
    DLMS_SET_RESPONSE_LAST_DATABLOCK_WITH_LIST = 4,
    DLMS_SET_RESPONSE_WITH_LIST = 5
};
/* ACTION-Request / ACTION-Response CHOICE. */
enum {
    DLMS_ACTION_REQUEST_NORMAL = 1,
    DLMS_ACTION_REQUEST_NEXT_PBLOCK = 2,
    DLMS_ACTION_REQUEST_WITH_LIST = 3,
    DLMS_ACTION_REQUEST_WITH_FIRST_PBLOCK = 4,
    DLMS_ACTION_REQUEST_WITH_LIST_AND_FIRST_PBLOCK = 5,
    DLMS_ACTION_REQUEST_WITH_PBLOCK = 6
};
enum {
    DLMS_ACTION_RESPONSE_NORMAL = 1,
    DLMS_ACTION_RESPONSE_WITH_PBLOCK = 2,
    DLMS_ACTION_RESPONSE_WITH_LIST = 3,
    DLMS_ACTION_RESPONSE_NEXT_PBLOCK = 4
};

/* Invoke-Id-And-Priority (one octet): bits 0-3 invoke-id, 4-5 reserved, 6 service-class
 * (1 = confirmed), 7 priority (1 = high). */
#define DLMS_IIP_INVOKE_ID(iip)    ((unsigned)(iip)&0x0Fu)
#define DLMS_IIP_SERVICE_CONFIRMED 0x40u
#define DLMS_IIP_PRIORITY_HIGH     0x80u
/* Long-Invoke-Id-And-Priority (DATA-NOTIFICATION, four octets): bits 0-23 invoke-id,
 * 24-27 reserved, 28 self-descriptive, 29 processing-option (1 = break on error),
 * 30 service-class (1 = confirmed), 31 priority (1 = high). */
#define DLMS_LIIP_INVOKE_ID(liip)   ((uint32_t)(liip)&0x00FFFFFFu)
#define DLMS_LIIP_SELF_DESCRIPTIVE  0x10000000u
#define DLMS_LIIP_BREAK_ON_ERROR    0x20000000u
#define DLMS_LIIP_SERVICE_CONFIRMED 0x40000000u
#define DLMS_LIIP_PRIORITY_HIGH     0x80000000u

/** Data-Access-Result (Green Book; GET/SET results). */
typedef enum dlms_data_access_result {
    DLMS_DAR_SUCCESS = 0,
    DLMS_DAR_HARDWARE_FAULT = 1,
    DLMS_DAR_TEMPORARY_FAILURE = 2,
    DLMS_DAR_READ_WRITE_DENIED = 3,
    DLMS_DAR_OBJECT_UNDEFINED = 4,
    DLMS_DAR_OBJECT_CLASS_INCONSISTENT = 9,
    DLMS_DAR_OBJECT_UNAVAILABLE = 11,
    DLMS_DAR_TYPE_UNMATCHED = 12,
    DLMS_DAR_SCOPE_OF_ACCESS_VIOLATED = 13,
    DLMS_DAR_DATA_BLOCK_UNAVAILABLE = 14,
    DLMS_DAR_LONG_GET_ABORTED = 15,
    DLMS_DAR_NO_LONG_GET_IN_PROGRESS = 16,
    DLMS_DAR_LONG_SET_ABORTED = 17,
    DLMS_DAR_NO_LONG_SET_IN_PROGRESS = 18,
    DLMS_DAR_DATA_BLOCK_NUMBER_INVALID = 19,
    DLMS_DAR_OTHER_REASON = 250
} dlms_data_access_result_t;

/** Action-Result (Green Book; ACTION results). */
typedef enum dlms_action_result_code {
    DLMS_ACTION_SUCCESS = 0,
    DLMS_ACTION_HARDWARE_FAULT = 1,
    DLMS_ACTION_TEMPORARY_FAILURE = 2,
    DLMS_ACTION_READ_WRITE_DENIED = 3,
    DLMS_ACTION_OBJECT_UNDEFINED = 4,
    DLMS_ACTION_OBJECT_CLASS_INCONSISTENT = 9,
    DLMS_ACTION_OBJECT_UNAVAILABLE = 11,
    DLMS_ACTION_TYPE_UNMATCHED = 12,
    DLMS_ACTION_SCOPE_OF_ACCESS_VIOLATED = 13,
    DLMS_ACTION_DATA_BLOCK_UNAVAILABLE = 14,
    DLMS_ACTION_LONG_ACTION_ABORTED = 15,
    DLMS_ACTION_NO_LONG_ACTION_IN_PROGRESS = 16,
    DLMS_ACTION_OTHER_REASON = 250
} dlms_action_result_code_t;

/** Standard names ("object-undefined", "long-action-aborted"); "?" for other values. */
const char *dlms_data_access_result_name(unsigned v);
const char *dlms_action_result_name(unsigned v);

/* EXCEPTION-Response: state-error and service-error CHOICE (Green Book). */
enum { DLMS_EXC_STATE_SERVICE_NOT_ALLOWED = 1, DLMS_EXC_STATE_SERVICE_UNKNOWN = 2 };
enum {
    DLMS_EXC_SERVICE_OPERATION_NOT_POSSIBLE = 1,
    DLMS_EXC_SERVICE_NOT_SUPPORTED = 2,
    DLMS_EXC_SERVICE_OTHER_REASON = 3,
    DLMS_EXC_SERVICE_PDU_TOO_LONG = 4,
    DLMS_EXC_SERVICE_DECIPHERING_ERROR = 5,
    DLMS_EXC_SERVICE_INVOCATION_COUNTER_ERROR = 6 /* carries an Unsigned32 */
};

/** Standard names of the EXCEPTION-Response state-error ("service-not-allowed") and
 *  service-error ("invocation-counter-error"); "?" for other values. */
const char *dlms_exception_state_name(unsigned v);
const char *dlms_exception_service_name(unsigned v);

/* ConfirmedServiceError CHOICE (which service failed) and ServiceError CHOICE (class). */
enum { DLMS_CSE_INITIATE_ERROR = 1, DLMS_CSE_READ = 5, DLMS_CSE_WRITE = 6 };
enum {
    DLMS_SERVICE_ERROR_APPLICATION_REFERENCE = 0,
    DLMS_SERVICE_ERROR_HARDWARE_RESOURCE = 1,
    DLMS_SERVICE_ERROR_VDE_STATE_ERROR = 2,
    DLMS_SERVICE_ERROR_SERVICE = 3,
    DLMS_SERVICE_ERROR_DEFINITION = 4,
    DLMS_SERVICE_ERROR_ACCESS = 5,
    DLMS_SERVICE_ERROR_INITIATE = 6,
    DLMS_SERVICE_ERROR_LOAD_DATA_SET = 7,
    DLMS_SERVICE_ERROR_CHANGE_SCOPE = 8,
    DLMS_SERVICE_ERROR_TASK = 9,
    DLMS_SERVICE_ERROR_OTHER = 10
};
/* ServiceError initiate values. */
enum {
    DLMS_INITIATE_OTHER = 0,
    DLMS_INITIATE_DLMS_VERSION_TOO_LOW = 1,
    DLMS_INITIATE_INCOMPATIBLE_CONFORMANCE = 2,
    DLMS_INITIATE_PDU_SIZE_TOO_SHORT = 3,
    DLMS_INITIATE_REFUSED_BY_THE_VDE_HANDLER = 4
};

/* Conformance block: [APPLICATION 31] BIT STRING (SIZE(24)), named bits numbered from the
 * first (most significant) bit. As a uint32_t: bit n of the standard = 1 << (23 - n). */
#define DLMS_CONF_BIT(n)                           (1u << (23 - (n)))
#define DLMS_CONF_RESERVED_ZERO                    DLMS_CONF_BIT(0)
#define DLMS_CONF_GENERAL_PROTECTION               DLMS_CONF_BIT(1)
#define DLMS_CONF_GENERAL_BLOCK_TRANSFER           DLMS_CONF_BIT(2)
#define DLMS_CONF_READ                             DLMS_CONF_BIT(3)
#define DLMS_CONF_WRITE                            DLMS_CONF_BIT(4)
#define DLMS_CONF_UNCONFIRMED_WRITE                DLMS_CONF_BIT(5)
#define DLMS_CONF_DELTA_VALUE_ENCODING             DLMS_CONF_BIT(6)
#define DLMS_CONF_RESERVED_SEVEN                   DLMS_CONF_BIT(7)
#define DLMS_CONF_ATTRIBUTE0_SUPPORTED_WITH_SET    DLMS_CONF_BIT(8)
#define DLMS_CONF_PRIORITY_MGMT_SUPPORTED          DLMS_CONF_BIT(9)
#define DLMS_CONF_ATTRIBUTE0_SUPPORTED_WITH_GET    DLMS_CONF_BIT(10)
#define DLMS_CONF_BLOCK_TRANSFER_WITH_GET_OR_READ  DLMS_CONF_BIT(11)
#define DLMS_CONF_BLOCK_TRANSFER_WITH_SET_OR_WRITE DLMS_CONF_BIT(12)
#define DLMS_CONF_BLOCK_TRANSFER_WITH_ACTION       DLMS_CONF_BIT(13)
#define DLMS_CONF_MULTIPLE_REFERENCES              DLMS_CONF_BIT(14)
#define DLMS_CONF_INFORMATION_REPORT               DLMS_CONF_BIT(15)
#define DLMS_CONF_DATA_NOTIFICATION                DLMS_CONF_BIT(16)
#define DLMS_CONF_ACCESS                           DLMS_CONF_BIT(17)
#define DLMS_CONF_PARAMETERIZED_ACCESS             DLMS_CONF_BIT(18)
#define DLMS_CONF_GET                              DLMS_CONF_BIT(19)
#define DLMS_CONF_SET                              DLMS_CONF_BIT(20)
#define DLMS_CONF_SELECTIVE_ACCESS                 DLMS_CONF_BIT(21)
#define DLMS_CONF_EVENT_NOTIFICATION               DLMS_CONF_BIT(22)
#define DLMS_CONF_ACTION                           DLMS_CONF_BIT(23)

/** Standard name of conformance bit n (0..23), e.g. "block-transfer-with-get-or-read". */
const char *dlms_conformance_bit_name(unsigned n);

/** The DLMS version this stack speaks (proposed/negotiated-dlms-version-number). */
#define DLMS_VERSION 6
/** vaa-name of InitiateResponse: 0x0007 with LN referencing, 0xFA00 with SN. */
#define DLMS_VAA_NAME_LN 0x0007u
#define DLMS_VAA_NAME_SN 0xFA00u

/** Cosem-Attribute-Descriptor. instance_id is the logical name (OBIS code). */
typedef struct dlms_attr_desc {
    uint16_t class_id;
    ms_obis_t instance_id;
    int8_t attribute_id; /* Integer8: negative ids are manufacturer-specific */
} dlms_attr_desc_t;

/** Cosem-Method-Descriptor. */
typedef struct dlms_method_desc {
    uint16_t class_id;
    ms_obis_t instance_id;
    int8_t method_id;
} dlms_method_desc_t;

/** Selective-Access-Descriptor (OPTIONAL where used): access-selector and its parameters,
 * whose meaning the interface class defines (e.g. Profile generic 1 = range_descriptor,
 * 2 = entry_descriptor). */
typedef struct dlms_access_sel {
    bool present;
    uint8_t selector;
    dlms_data_t parameters;
} dlms_access_sel_t;

/** Cosem-Attribute-Descriptor-With-Selection. */
typedef struct dlms_attr_sel {
    dlms_attr_desc_t desc;
    dlms_access_sel_t access;
} dlms_attr_sel_t;

/** Get-Data-Result: CHOICE data [0] | data-access-result [1]. */
typedef struct dlms_get_data_result {
    bool is_data;
    uint8_t dar; /* when !is_data */
    dlms_data_t data;
} dlms_get_data_result_t;

/** DataBlock-G (GET-Response-With-Datablock). raw is one slice of the encoded value;
 * the slices of all blocks, concatenated, are the A-XDR Data. */
typedef struct dlms_datablock_g {
    bool last_block;
    uint32_t block_number;
    bool is_raw;      /* CHOICE raw-data [0] | data-access-result [1] */
    dlms_bytes_t raw; /* when is_raw */
    uint8_t dar;      /* when !is_raw */
} dlms_datablock_g_t;

/** DataBlock-SA (SET-Request/ACTION-Request/-Response with datablock / pblock). */
typedef struct dlms_datablock_sa {
    bool last_block;
    uint32_t block_number;
    dlms_bytes_t raw;
} dlms_datablock_sa_t;

/** Action-Response-With-Optional-Data. */
typedef struct dlms_action_result {
    uint8_t result; /* Action-Result */
    bool has_return_parameters;
    dlms_get_data_result_t return_parameters;
} dlms_action_result_t;

/** GET-Request; fields used per type are marked. */
typedef struct dlms_get_request {
    dlms_attr_sel_t attr;  /* NORMAL */
    uint32_t block_number; /* NEXT */
    dlms_attr_sel_t *list; /* WITH_LIST: count items */
    uint32_t count;
} dlms_get_request_t;

typedef struct dlms_get_response {
    dlms_get_data_result_t result; /* NORMAL */
    dlms_datablock_g_t block;      /* WITH_DATABLOCK */
    dlms_get_data_result_t *list;  /* WITH_LIST: count results */
    uint32_t count;
} dlms_get_response_t;

typedef struct dlms_set_request {
    dlms_attr_sel_t attr;      /* NORMAL, WITH_FIRST_DATABLOCK */
    dlms_data_t value;         /* NORMAL */
    dlms_datablock_sa_t block; /* WITH_FIRST_DATABLOCK, WITH_DATABLOCK,
                                  WITH_LIST_AND_FIRST_DATABLOCK */
    dlms_attr_sel_t *list;     /* WITH_LIST, WITH_LIST_AND_FIRST_DATABLOCK */
    uint32_t count;
    dlms_data_t *values; /* WITH_LIST: value_count values */
    uint32_t value_count;
} dlms_set_request_t;

typedef struct dlms_set_response {
    uint8_t result;        /* NORMAL, LAST_DATABLOCK: Data-Access-Result */
    uint32_t block_number; /* DATABLOCK, LAST_DATABLOCK, LAST_DATABLOCK_WITH_LIST */
    uint8_t *results;      /* WITH_LIST, LAST_DATABLOCK_WITH_LIST: count results */
    uint32_t count;
} dlms_set_response_t;

typedef struct dlms_action_request {
    dlms_method_desc_t method; /* NORMAL, WITH_FIRST_PBLOCK */
    bool has_parameters;       /* NORMAL: method-invocation-parameters OPTIONAL */
    dlms_data_t parameters;
    uint32_t block_number;    /* NEXT_PBLOCK */
    dlms_method_desc_t *list; /* WITH_LIST, WITH_LIST_AND_FIRST_PBLOCK */
    uint32_t count;
    dlms_data_t *parameter_list; /* WITH_LIST: parameter_count values */
    uint32_t parameter_count;
    dlms_datablock_sa_t block; /* WITH_FIRST_PBLOCK, WITH_LIST_AND_FIRST_PBLOCK,
                                  WITH_PBLOCK */
} dlms_action_request_t;

typedef struct dlms_action_response {
    dlms_action_result_t single; /* NORMAL */
    dlms_datablock_sa_t block;   /* WITH_PBLOCK */
    dlms_action_result_t *list;  /* WITH_LIST: count responses */
    uint32_t count;
    uint32_t block_number; /* NEXT_PBLOCK */
} dlms_action_response_t;

/* How a DATA-NOTIFICATION carried its date-time. The Green Book field is an OCTET STRING
 * (A-XDR: length, then 0 or 12 octets). Some meters (Kaifa, Norwegian HAN) send it as a
 * tagged Data octet-string, 09 0C + 12 octets; toreamun/amshan's parser accepts the same
 * three forms. The decoder records the form so re-encoding is byte-exact. */
enum {
    DLMS_DN_DATE_TIME_OCTET_STRING = 0, /* standard */
    DLMS_DN_DATE_TIME_TAGGED = 1        /* 0x09 0x0C + 12 octets */
};

/** DATA-NOTIFICATION (Green Book; push). */
typedef struct dlms_data_notification {
    uint32_t long_invoke_id_and_priority;
    dlms_bytes_t date_time; /* len 0 = not sent; else usually 12 octets (date-time) */
    uint8_t date_time_form; /* DLMS_DN_DATE_TIME_* */
    dlms_data_t body;       /* notification-body: one Data */
} dlms_data_notification_t;

/** EVENT-NOTIFICATION-Request (LN). */
typedef struct dlms_event_notification {
    bool has_time;
    uint8_t time[DLMS_DATE_TIME_LEN]; /* Cosem-Date-Time OPTIONAL */
    dlms_attr_desc_t attr;
    dlms_data_t value;
} dlms_event_notification_t;

/** EXCEPTION-Response. */
typedef struct dlms_exception_response {
    uint8_t state_error;         /* DLMS_EXC_STATE_* */
    uint8_t service_error;       /* DLMS_EXC_SERVICE_* */
    uint32_t invocation_counter; /* when service_error == INVOCATION_COUNTER_ERROR */
} dlms_exception_response_t;

/** ConfirmedServiceError: which service (DLMS_CSE_*), ServiceError class
 * (DLMS_SERVICE_ERROR_*) and its enumerated value. */
typedef struct dlms_confirmed_service_error {
    uint8_t service;
    uint8_t error_class;
    uint8_t error_value;
} dlms_confirmed_service_error_t;

/** xDLMS InitiateRequest (inside the AARQ user-information). */
typedef struct dlms_initiate_request {
    dlms_bytes_t dedicated_key;    /* OPTIONAL: p == NULL when absent */
    bool response_allowed_present; /* false: the DEFAULT (TRUE) was used, encoded 0x00 */
    bool response_allowed;
    bool has_quality_of_service; /* proposed-quality-of-service [0] Integer8 OPTIONAL */
    int8_t quality_of_service;
    uint8_t dlms_version;          /* proposed-dlms-version-number (6) */
    uint32_t conformance;          /* proposed-conformance, DLMS_CONF_* */
    uint16_t max_receive_pdu_size; /* client-max-receive-pdu-size */
} dlms_initiate_request_t;

/** xDLMS InitiateResponse (inside the AARE user-information). */
typedef struct dlms_initiate_response {
    bool has_quality_of_service; /* negotiated-quality-of-service OPTIONAL */
    int8_t quality_of_service;
    uint8_t dlms_version;          /* negotiated-dlms-version-number */
    uint32_t conformance;          /* negotiated-conformance */
    uint16_t max_receive_pdu_size; /* server-max-receive-pdu-size */
    uint16_t vaa_name;             /* DLMS_VAA_NAME_LN / _SN */
} dlms_initiate_response_t;

/** One decoded APDU: tag, the service CHOICE (0 where the APDU has none), the
 * Invoke-Id-And-Priority octet (GET/SET/ACTION), and the body named after the tag. */
typedef struct dlms_apdu {
    uint8_t tag;  /* DLMS_TAG_* */
    uint8_t type; /* DLMS_GET_REQUEST_* ... for GET/SET/ACTION */
    uint8_t invoke_id_and_priority;
    union {
        dlms_get_request_t get_req;
        dlms_get_response_t get_resp;
        dlms_set_request_t set_req;
        dlms_set_response_t set_resp;
        dlms_action_request_t action_req;
        dlms_action_response_t action_resp;
        dlms_data_notification_t data_notification;
        dlms_event_notification_t event_notification;
        dlms_exception_response_t exception;
        dlms_confirmed_service_error_t service_error;
        dlms_initiate_request_t initiate_req;
        dlms_initiate_response_t initiate_resp;
    } u;
} dlms_apdu_t;

/**
 * Decode one unciphered xDLMS APDU that fills buf exactly.
 *
 * Handles the tags initiateRequest (0x01), initiateResponse (0x08), confirmedServiceError
 * (0x0E), data-notification (0x0F), get/set/action request and response (0xC0, 0xC1,
 * 0xC3, 0xC4, 0xC5, 0xC7, every CHOICE), event-notification-request (0xC2),
 * exception-response (0xD8).
 *
 * @param[in]     buf    the APDU (kept: see "Ownership")
 * @param[in,out] arena  storage for lists and Data nodes
 * @param[out]    out    the APDU
 * @return 0; MS_ENOTSUP (a tag this codec does not decode: ciphered, SN, ACSE, general-*;
 *         the session decides between exception-response and dropping it); MS_EFRAME
 *         (unknown CHOICE, presence octet other than 0/1, conformance not 5F 1F 04 00,
 *         octets after the APDU); MS_ETRUNC (input ends, or a length points past the
 * end); MS_ETOOBIG / MS_ENOMEM (Data nesting or arena, see axdr_decode_data); MS_EINVAL
 * (NULL argument)
 */
int dlms_apdu_decode(const uint8_t *buf, size_t len, dlms_arena_t *arena,
                     dlms_apdu_t *out);

/**
 * Append the encoding of apdu (shortest lengths; booleans as 0x00/0x01).
 * @return 0; MS_ENOSPC; MS_ENOTSUP (tag not handled, see dlms_apdu_decode); MS_EINVAL
 *         (unknown CHOICE, NULL list with count > 0, a value axdr_encode_data refuses);
 *         MS_ERANGE (a value outside its field, e.g. a date-time of 13 octets)
 */
int dlms_apdu_encode(ms_wr_t *w, const dlms_apdu_t *apdu);

/* Building blocks, for sessions and interface classes that meet these structures inside
 * other data (e.g. a selective access descriptor in a Profile generic request). Each
 * reads/writes exactly the A-XDR of its Green Book type and returns 0 or an error as
 * above (MS_ETRUNC, MS_EFRAME, MS_ENOSPC ...). */
int dlms_attr_desc_read(ms_rd_t *r, dlms_attr_desc_t *out);
int dlms_attr_desc_write(ms_wr_t *w, const dlms_attr_desc_t *d);
int dlms_method_desc_read(ms_rd_t *r, dlms_method_desc_t *out);
int dlms_method_desc_write(ms_wr_t *w, const dlms_method_desc_t *d);
/** access-selection OPTIONAL: presence octet, then access-selector and access-parameters.
 */
int dlms_access_sel_read(ms_rd_t *r, dlms_arena_t *a, dlms_access_sel_t *out);
int dlms_access_sel_write(ms_wr_t *w, const dlms_access_sel_t *s);
/** Cosem-Attribute-Descriptor-With-Selection: the descriptor, then access-selection. */
int dlms_attr_sel_read(ms_rd_t *r, dlms_arena_t *a, dlms_attr_sel_t *out);
int dlms_attr_sel_write(ms_wr_t *w, const dlms_attr_sel_t *s);
/** Get-Data-Result (CHOICE octet, then Data or Data-Access-Result) and
 * Action-Response-With-Optional-Data (result, presence octet, Get-Data-Result), e.g. the
 * items of a reassembled long GET / ACTION answer. */
int dlms_get_data_result_read(ms_rd_t *r, dlms_arena_t *a, dlms_get_data_result_t *out);
int dlms_action_result_read(ms_rd_t *r, dlms_arena_t *a, dlms_action_result_t *out);

/** Read / write a conformance block (5F 1F 04 00 + 24 bits). */
int dlms_conformance_read(ms_rd_t *r, uint32_t *conformance);
int dlms_conformance_write(ms_wr_t *w, uint32_t conformance);

#endif
