/*
** dlms_server.h — the server (meter) side of DLMS/COSEM application associations: ACSE
** (AARQ/AARE, RLRQ/RLRE) with lowest, LLS and HLS-GMAC authentication, xDLMS GET / SET /
** ACTION with logical name referencing (normal, next, with-list, block transfer both
** ways), security suite 0 (glo- and ded- ciphering, invocation counters), exception
** responses. Pure: APDUs in, APDUs out, no I/O, no clock; the COSEM objects, the keys
** and the counters come from the caller through dlms_server_ops_t.
** SPDX-License-Identifier: MIT
**
** Source: DLMS UA 1000-2 (Green Book) / IEC 62056-5-3: application association
** establishment and release (ACSE), xDLMS services and their block transfer, security
** (suite 0, HLS mechanism 5 "GMAC"); IEC 62056-6-2 (Blue Book) class Association LN
** (class_id 15) for the HLS pass 3/4 (method 1 reply_to_HLS_authentication).
**
** One dlms_server_t per transport link (an HDLC connection or a wrapper TCP
** connection): it holds at most one open association per client SAP.
*/
#ifndef DLMS_SERVER_H
#define DLMS_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "axdr.h"
#include "dlms_apdu.h"
#include "ms_buf.h"

/** Authentication mechanisms (mechanism-name ids, Green Book). */
typedef enum dlms_mechanism {
    DLMS_MECH_LOWEST = 0,   /* no authentication */
    DLMS_MECH_LLS = 1,      /* low level security: password in the AARQ */
    DLMS_MECH_HLS_GMAC = 5, /* high level security, GMAC (security suite 0) */
} dlms_mechanism_t;

/** Security policy of an association (Security Setup, class 64, attribute 2). */
#define DLMS_POLICY_AUTHENTICATED 0x01u /* all APDUs authenticated */
#define DLMS_POLICY_ENCRYPTED     0x02u /* all APDUs encrypted */

/** What the server accepts from one client SAP (the Association LN object of that
 *  client, and its Security Setup). */
typedef struct dlms_assoc_cfg {
    dlms_mechanism_t mechanism;
    uint8_t password[32]; /* LLS secret */
    size_t password_len;
    uint8_t ek[16], ak[16];  /* global unicast encryption key, authentication key */
    uint8_t server_title[8]; /* server system title */
    uint8_t policy;          /* DLMS_POLICY_* required on xDLMS APDUs */
    uint32_t conformance;    /* DLMS_CONF_* the server offers this client */
    uint16_t max_pdu;        /* server max receive PDU size (default 1024) */
    uint8_t logical_name[6]; /* OBIS of this Association LN object, e.g. 0.0.40.0.1.255 */
} dlms_assoc_cfg_t;

/** Who is asking: passed to every object access so the provider applies access rights. */
typedef struct dlms_who {
    uint16_t client_sap;
    uint16_t server_sap;
    dlms_mechanism_t mechanism;  /* of the association */
    bool authenticated;          /* HLS: after a successful pass 3/4; LLS/lowest: true */
    const uint8_t *client_title; /* 8 bytes, or NULL when the client sent none */
} dlms_who_t;

/** The COSEM object model and the secrets, provided by the caller (the meter's COSEM
 *  view). Callbacks run synchronously inside dlms_server_apdu(); they must not call back
 *  into the session. */
typedef struct dlms_server_ops {
    /** Association settings for a client SAP. @return 0, or MS_ENOENT (no such client:
     *  the AARQ is rejected, diagnostic "no reason given" / calling AP title not
     *  recognised as the standard says) */
    int (*association)(void *ctx, uint16_t client_sap, uint16_t server_sap,
                       dlms_assoc_cfg_t *out);

    /** GET: encode the attribute's value (A-XDR Data, with selective access applied) into
     *  out. @return a Data-Access-Result: 0 success (out holds the Data), else the DAR to
     *  answer (e.g. object-undefined, read-write-denied, scope-of-access-violated). */
    int (*get)(void *ctx, const dlms_who_t *who, const dlms_attr_sel_t *sel,
               ms_wr_t *out);

    /** SET: write value to the attribute. @return a Data-Access-Result. */
    int (*set)(void *ctx, const dlms_who_t *who, const dlms_attr_sel_t *sel,
               const dlms_data_t *value);

    /** ACTION: invoke the method with parameters (NULL when none). Return parameters, if
     *  any, are encoded as A-XDR Data into ret and *has_ret set. @return an
     * Action-Result. Method 1 of the client's own Association LN object
     * (reply_to_HLS_authentication) is handled by the session, not passed here. */
    int (*action)(void *ctx, const dlms_who_t *who, const dlms_method_desc_t *m,
                  const dlms_data_t *params, ms_wr_t *ret, bool *has_ret);

    /** Fill buf with n random octets (HLS challenges). */
    void (*random)(void *ctx, uint8_t *buf, size_t n);

    /** The next server (transmit) invocation counter for the key set of this client:
     *  returns the counter to use and stores counter + 1 persistently (it must strictly
     *  increase across restarts). */
    uint32_t (*ic_next)(void *ctx, uint16_t client_sap);

    /** Check a received invocation counter of a client, without recording it: 0 when ic
     *  is greater than every one accepted before, MS_EREPLAY otherwise. */
    int (*ic_check)(void *ctx, uint16_t client_sap, uint32_t ic);

    /** Record a received invocation counter as accepted (persistently): called only after
     *  the APDU carrying it authenticated, so a forged APDU cannot use counters up. */
    void (*ic_accept)(void *ctx, uint16_t client_sap, uint32_t ic);

    /** Association events for logs and statistics (may be NULL): "AARQ accepted",
     *  "AARQ rejected: wrong password", "HLS pass 4 ok", "replayed invocation counter",
     *  "released", ... */
    void (*event)(void *ctx, const dlms_who_t *who, const char *what);
} dlms_server_ops_t;

/** Session limits. Zero fields take the defaults. */
typedef struct dlms_server_cfg {
    size_t max_value;  /* largest encoded attribute value a GET may produce, served in
                          blocks (default 1 MiB) */
    size_t arena_size; /* decode arena per request (default 64 KiB) */
} dlms_server_cfg_t;

typedef struct dlms_server dlms_server_t;

/** @param[in] ops  retained; ctx passed to every callback. @param[out] err MS_ENOMEM */
dlms_server_t *dlms_server_new(const dlms_server_cfg_t *cfg, const dlms_server_ops_t *ops,
                               void *ctx, int *err);
void dlms_server_free(dlms_server_t *s);

/**
 * Handle one APDU a client sent (transport framing already removed: the HDLC LLC header
 * or the wrapper header) and produce the answer.
 * @param[in]  apdu, len  the request; not retained
 * @param[out] out        the answer APDU (AARE, RLRE, GET/SET/ACTION-Response, their
 *                        ciphered forms, exception-response, ConfirmedServiceError);
 *                        out->len == 0 when there is nothing to send (e.g. a request
 *                        outside an association that the standard says to ignore).
 *                        A capacity of the negotiated client max receive PDU size is
 *                        enough: larger answers go in blocks.
 * @return 0, or MS_ENOSPC when out is too small for even an exception-response. Malformed
 *         or refused requests are answered on the wire, not returned as errors.
 */
int dlms_server_apdu(dlms_server_t *s, uint16_t client_sap, uint16_t server_sap,
                     const uint8_t *apdu, size_t len, ms_wr_t *out);

/** The transport link ended (HDLC DISC, TCP close): every association is released. */
void dlms_server_reset(dlms_server_t *s);

/** Whether an association with client_sap is open (for diagnostics and tests). */
bool dlms_server_associated(const dlms_server_t *s, uint16_t client_sap);

#endif
