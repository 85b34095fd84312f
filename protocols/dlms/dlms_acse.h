/*
** dlms_acse.h — the ACSE APDUs of DLMS/COSEM: AARQ, AARE, RLRQ, RLRE (BER), with the
** xDLMS InitiateRequest / InitiateResponse / ConfirmedServiceError they carry in their
** user-information, plain or ciphered.
** SPDX-License-Identifier: MIT
**
** Implements: the ACSE APDU definitions as profiled by the Green Book (DLMS UA 1000-2,
** IEC 62056-5-3 "COSEM application layer", ACSE-APDU module after ISO/IEC 8650-1), BER
** encoding (ISO/IEC 8825-1). Tags: AARQ [APPLICATION 0] 0x60, AARE 0x61, RLRQ 0x62,
** RLRE 0x63; inside, context-specific tags numbered as in the module (see the table in
** dlms_acse.c). Registered names (Green Book "Registered COSEM names"): application
** context {2 16 756 5 8 1 x}, authentication mechanism {2 16 756 5 8 2 x}.
**
** Decoding is lenient about which fields are present (the caller checks that an AARQ has
** an application-context-name and decides what AARE to send) and strict about BER syntax.
** Lengths in the long form 0x81..0x84 are accepted everywhere, also for short contents
** (Kamstrup meters send 61 82 00 35; u9n/dlms-cosem#115/#116); the outer length's form
** is kept in len_octets so such an APDU re-encodes byte for byte. Inner lengths are
** re-encoded in the shortest form.
**
** Ownership: every dlms_bytes_t of a decoded APDU points into the input buffer.
*/
#ifndef DLMS_ACSE_H
#define DLMS_ACSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "axdr.h"
#include "dlms_apdu.h"
#include "ms_buf.h"

/* application-context-name: last arc of {2 16 756 5 8 1 x}. */
enum {
    ACSE_CONTEXT_LN = 1,           /* Logical_Name_Referencing_No_Ciphering */
    ACSE_CONTEXT_SN = 2,           /* Short_Name_Referencing_No_Ciphering */
    ACSE_CONTEXT_LN_CIPHERING = 3, /* Logical_Name_Referencing_With_Ciphering */
    ACSE_CONTEXT_SN_CIPHERING = 4  /* Short_Name_Referencing_With_Ciphering */
};

/* mechanism-name: last arc of {2 16 756 5 8 2 x}. */
enum {
    ACSE_MECHANISM_LOWEST = 0, /* no authentication */
    ACSE_MECHANISM_LOW = 1,    /* LLS: password */
    ACSE_MECHANISM_HIGH = 2,   /* HLS, manufacturer specific */
    ACSE_MECHANISM_HIGH_MD5 = 3,
    ACSE_MECHANISM_HIGH_SHA1 = 4,
    ACSE_MECHANISM_HIGH_GMAC = 5, /* HLS with GMAC, see dlms_hls_gmac() */
    ACSE_MECHANISM_HIGH_SHA256 = 6,
    ACSE_MECHANISM_HIGH_ECDSA = 7
};

/* Association-result (AARE result). */
enum {
    ACSE_RESULT_ACCEPTED = 0,
    ACSE_RESULT_REJECTED_PERMANENT = 1,
    ACSE_RESULT_REJECTED_TRANSIENT = 2
};

/* result-source-diagnostic CHOICE. */
enum {
    ACSE_SOURCE_NONE = 0, /* field absent */
    ACSE_SOURCE_SERVICE_USER = 1,
    ACSE_SOURCE_SERVICE_PROVIDER = 2
};

/* acse-service-user diagnostics. */
enum {
    ACSE_DIAG_NULL = 0,
    ACSE_DIAG_NO_REASON_GIVEN = 1,
    ACSE_DIAG_APPLICATION_CONTEXT_NAME_NOT_SUPPORTED = 2,
    ACSE_DIAG_CALLING_AP_TITLE_NOT_RECOGNIZED = 3,
    ACSE_DIAG_CALLING_AP_INVOCATION_IDENTIFIER_NOT_RECOGNIZED = 4,
    ACSE_DIAG_CALLING_AE_QUALIFIER_NOT_RECOGNIZED = 5,
    ACSE_DIAG_CALLING_AE_INVOCATION_IDENTIFIER_NOT_RECOGNIZED = 6,
    ACSE_DIAG_CALLED_AP_TITLE_NOT_RECOGNIZED = 7,
    ACSE_DIAG_CALLED_AP_INVOCATION_IDENTIFIER_NOT_RECOGNIZED = 8,
    ACSE_DIAG_CALLED_AE_QUALIFIER_NOT_RECOGNIZED = 9,
    ACSE_DIAG_CALLED_AE_INVOCATION_IDENTIFIER_NOT_RECOGNIZED = 10,
    ACSE_DIAG_AUTHENTICATION_MECHANISM_NAME_NOT_RECOGNISED = 11,
    ACSE_DIAG_AUTHENTICATION_MECHANISM_NAME_REQUIRED = 12,
    ACSE_DIAG_AUTHENTICATION_FAILURE = 13,
    /* HLS: the server accepted pass 1/2 and expects pass 3/4
     * (reply_to_HLS_authentication, method 1 of the Association LN object
     * 0.0.40.0.0.255). */
    ACSE_DIAG_AUTHENTICATION_REQUIRED = 14
};

/* acse-service-provider diagnostics. */
enum {
    ACSE_PROVIDER_NULL = 0,
    ACSE_PROVIDER_NO_REASON_GIVEN = 1,
    ACSE_PROVIDER_NO_COMMON_ACSE_VERSION = 2
};

/* Release-request-reason / Release-response-reason. */
enum {
    ACSE_RELEASE_NORMAL = 0,
    ACSE_RELEASE_URGENT = 1,       /* RLRQ */
    ACSE_RELEASE_NOT_FINISHED = 1, /* RLRE */
    ACSE_RELEASE_USER_DEFINED = 30
};

/* Authentication-value CHOICE tags (calling/responding-authentication-value). */
#define ACSE_AUTH_CHARSTRING 0x80u /* [0] GraphicString: LLS password, HLS challenge */
#define ACSE_AUTH_BITSTRING                                     \
    0x81u /* [1] BIT STRING (contents include the unused octet) \
           */

/** An INTEGER field (AP/AE invocation identifiers). */
typedef struct acse_int {
    bool present;
    int32_t value;
} acse_int_t;

/** Authentication-value: tag (ACSE_AUTH_*, or 0xA2 external / 0xA3 other) and contents;
 * absent when value.p == NULL. */
typedef struct acse_auth_value {
    uint8_t tag;
    dlms_bytes_t value;
} acse_auth_value_t;

/** user-information: the xDLMS APDU inside Association-information (an OCTET STRING).
 * kind == 0: absent. When the APDU is an unciphered InitiateRequest (0x01),
 * InitiateResponse (0x08) or ConfirmedServiceError (0x0E) it is decoded into the matching
 * member; any other tag (glo-/ded-initiate, general-glo-ciphering ...) is left in raw for
 * dlms_security.h. raw always holds the whole xDLMS APDU after decoding. For encoding,
 * set kind to the APDU tag: plain kinds are encoded from the member, others copy raw. */
typedef struct acse_user_info {
    uint8_t kind; /* 0 or the xDLMS APDU tag (DLMS_TAG_*) */
    dlms_bytes_t raw;
    dlms_initiate_request_t initiate_request;
    dlms_initiate_response_t initiate_response;
    dlms_confirmed_service_error_t service_error;
} acse_user_info_t;

/**
 * One ACSE APDU. Fields that belong to another APDU type stay zero/absent. Optional
 * octet fields are absent when .p == NULL. AP titles and AE qualifiers hold the contents
 * of the OCTET STRING inside the tag (the system title for an AP title).
 */
typedef struct acse_apdu {
    uint8_t type;       /* DLMS_TAG_AARQ, _AARE, _RLRQ, _RLRE */
    uint8_t len_octets; /* outer length as received: 0 short form, k = 0x80|k form */

    dlms_bytes_t protocol_version; /* [0] BIT STRING contents; absent = version1 */
    dlms_bytes_t application_context_name; /* OBJECT IDENTIFIER contents */

    /* AARQ */
    dlms_bytes_t called_ap_title;        /* [2] */
    dlms_bytes_t called_ae_qualifier;    /* [3] */
    acse_int_t called_ap_invocation_id;  /* [4] */
    acse_int_t called_ae_invocation_id;  /* [5] */
    dlms_bytes_t calling_ap_title;       /* [6]: client system title */
    dlms_bytes_t calling_ae_qualifier;   /* [7]: e.g. the client's certificate */
    acse_int_t calling_ap_invocation_id; /* [8] */
    acse_int_t calling_ae_invocation_id; /* [9] */

    /* AARE */
    bool has_result;
    uint8_t result;                         /* [2] ACSE_RESULT_* */
    uint8_t result_source;                  /* [3] ACSE_SOURCE_* */
    uint8_t diagnostic;                     /* ACSE_DIAG_* / ACSE_PROVIDER_* */
    dlms_bytes_t responding_ap_title;       /* [4]: server system title */
    dlms_bytes_t responding_ae_qualifier;   /* [5] */
    acse_int_t responding_ap_invocation_id; /* [6] */
    acse_int_t responding_ae_invocation_id; /* [7] */

    /* AARQ: sender-acse-requirements [10], mechanism-name [11], calling-authentication-
     * value [12]; AARE: responder-acse-requirements [8], mechanism-name [9],
     * responding-authentication-value [10]. */
    dlms_bytes_t acse_requirements; /* BIT STRING contents, e.g. 07 80 = authentication */
    dlms_bytes_t mechanism_name;    /* OBJECT IDENTIFIER contents */
    acse_auth_value_t authentication_value;
    dlms_bytes_t implementation_information; /* [29] GraphicString */

    /* RLRQ / RLRE */
    bool has_reason;
    int32_t reason; /* [0] ACSE_RELEASE_* */

    acse_user_info_t user_information; /* [30] */
} acse_apdu_t;

/**
 * Decode an ACSE APDU that fills buf exactly.
 * @param[out] out  the APDU; its octet fields point into buf
 * @return 0; MS_ENOTSUP (first octet is not 0x60..0x63); MS_EFRAME (a tag not defined for
 *         this APDU type or given twice, indefinite length 0x80, a wrong inner tag such
 * as an AP title that is not an OCTET STRING, an INTEGER of 0 or more than 4 octets,
 *         octets after the APDU, malformed plain user-information); MS_ETRUNC (a length
 *         points past the end); MS_EINVAL (NULL argument)
 */
int acse_decode(const uint8_t *buf, size_t len, acse_apdu_t *out);

/**
 * Append the BER encoding of a (fields in the order of the ASN.1 module, shortest inner
 * lengths, the outer length in the form len_octets asks for if it is longer than needed).
 * @return 0; MS_ENOSPC; MS_EINVAL (type not 0x60..0x63, user-information kind with no
 *         raw bytes, an AP title/auth value longer than 65535 octets); errors of
 *         dlms_apdu_encode() for the plain user-information
 */
int acse_encode(ms_wr_t *w, const acse_apdu_t *a);

/** The OID contents (7 octets, static storage) of application context x
 * (ACSE_CONTEXT_LN .. ACSE_CONTEXT_SN_CIPHERING) or mechanism x (ACSE_MECHANISM_LOWEST ..
 * ACSE_MECHANISM_HIGH_ECDSA); {NULL, 0} for other x (build those by hand). */
dlms_bytes_t acse_context_name(unsigned x);
dlms_bytes_t acse_mechanism_name(unsigned x);

/** The last arc of a DLMS UA application context / mechanism name OID, or -1 when oid is
 * absent or not under {2 16 756 5 8 1} / {2 16 756 5 8 2}. */
int acse_context_id(dlms_bytes_t oid);
int acse_mechanism_id(dlms_bytes_t oid);

/** acse-requirements BIT STRING contents with the authentication bit (07 80). */
dlms_bytes_t acse_requirements_authentication(void);

/** True when an acse-requirements BIT STRING has the authentication functional unit. */
bool acse_requires_authentication(dlms_bytes_t bits);

/** Names of an association result and of a diagnostic ("authentication-required"). */
const char *acse_result_name(unsigned result);
const char *acse_diagnostic_name(unsigned source, unsigned diagnostic);

#endif
