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
** (class_id 15) for the HLS pass 3/4 (method 1 reply_to_HLS_authentication): the AARE
** carries the server challenge StoC; pass 3 is the client's ACTION with f(StoC) (client
** system title and invocation counter), pass 4 the answer with f(CtoS) (server title).
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

/** Conformance offered when dlms_assoc_cfg_t.conformance is 0: get, set, action,
 *  selective-access, multiple-references and block transfer with get, set and action. */
#define DLMS_SERVER_CONFORMANCE_DEFAULT                                              \
    (DLMS_CONF_GET | DLMS_CONF_SET | DLMS_CONF_ACTION | DLMS_CONF_SELECTIVE_ACCESS | \
     DLMS_CONF_MULTIPLE_REFERENCES | DLMS_CONF_BLOCK_TRANSFER_WITH_GET_OR_READ |     \
     DLMS_CONF_BLOCK_TRANSFER_WITH_SET_OR_WRITE | DLMS_CONF_BLOCK_TRANSFER_WITH_ACTION)

/** What the server accepts from one client SAP (the Association LN object of that
 *  client, and its Security Setup). The session zero-fills it before calling
 *  ops->association(), so fields the provider leaves alone take their defaults. */
typedef struct dlms_assoc_cfg {
    dlms_mechanism_t mechanism;
    uint8_t password[32]; /* LLS secret */
    size_t password_len;
    uint8_t ek[16], ak[16];  /* global unicast encryption key, authentication key */
    uint8_t server_title[8]; /* server system title */
    uint8_t policy;          /* DLMS_POLICY_* required on xDLMS APDUs; non-zero also
                                requires the application context LN with ciphering */
    uint32_t conformance;    /* DLMS_CONF_* the server offers this client (0: the
                                DLMS_SERVER_CONFORMANCE_DEFAULT set) */
    uint16_t max_pdu;        /* server max receive PDU size (0: default 1024) */
    uint8_t logical_name[6]; /* OBIS of this Association LN object, e.g. 0.0.40.0.1.255 */
    /* Security Setup client_system_title (class 64 attribute 4): when set, an AARQ must
     * carry this calling-AP-title or none; it is also the title HLS-GMAC uses when the
     * AARQ has none (LN context without ciphering, as some clients send it). */
    bool has_client_title;
    uint8_t client_title[8];
    uint8_t challenge_len; /* HLS StoC length, 8..64 octets (0: default 16) */
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
     *  answer (e.g. object-undefined, read-write-denied, scope-of-access-violated).
     *  When the value did not fit (out->err == MS_ENOSPC after a successful return) the
     *  session grows out (up to dlms_server_cfg_t.max_value) and calls get again for
     *  the same attribute, so get must not change state. Attribute 0 reaches get only
     *  when attribute0-supported-with-get was negotiated (else the session answers
     *  object-unavailable); the same holds for set. */
    int (*get)(void *ctx, const dlms_who_t *who, const dlms_attr_sel_t *sel,
               ms_wr_t *out);

    /** SET: write value to the attribute. @return a Data-Access-Result. */
    int (*set)(void *ctx, const dlms_who_t *who, const dlms_attr_sel_t *sel,
               const dlms_data_t *value);

    /** ACTION: invoke the method with parameters (NULL when none). Return parameters, if
     *  any, are encoded as A-XDR Data into ret and *has_ret set. @return an
     * Action-Result. Method 1 of the client's own Association LN object
     * (reply_to_HLS_authentication) is handled by the session, not passed here. ret holds
     * at least min(16 KiB, max_value) octets; an ACTION is never repeated, so return
     * parameters that do not fit (ret->err set) are answered with other-reason. */
    int (*action)(void *ctx, const dlms_who_t *who, const dlms_method_desc_t *m,
                  const dlms_data_t *params, ms_wr_t *ret, bool *has_ret);

    /** Fill buf with n random octets (HLS challenges). May be NULL: AARQs asking for
     *  HLS-GMAC are then rejected. */
    void (*random)(void *ctx, uint8_t *buf, size_t n);

    /** The next server (transmit) invocation counter for the key set of this client:
     *  returns the counter to use and stores counter + 1 persistently (it must strictly
     *  increase across restarts). It numbers every ciphered answer (global and dedicated
     *  key) and the HLS f(CtoS). ic_check and ic_accept concern the global key set; the
     *  received counters of a dedicated key live only as long as its association and
     *  are kept by the session. Either all three are set or none: without them an AARQ
     *  asking for the context with ciphering is rejected. */
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

/** @param[in] cfg  may be NULL (defaults). @param[in] ops  retained; ctx passed to every
 *  callback; association and get are required, set and action may be NULL (then
 *  read-write-denied is answered). @param[out] err MS_EINVAL, MS_ENOMEM. Memory: a few
 *  hundred octets per link until the first request; the decode arena, the deciphering
 *  buffers and per-association value buffers are allocated when first needed and
 *  reused (never per request). */
dlms_server_t *dlms_server_new(const dlms_server_cfg_t *cfg, const dlms_server_ops_t *ops,
                               void *ctx, int *err);
void dlms_server_free(dlms_server_t *s);

/**
 * Handle one APDU a client sent (transport framing already removed: the HDLC LLC header
 * or the wrapper header) and produce the answer.
 * @param[in]  apdu, len  the request; not retained
 * @param[out] out        the answer APDU (AARE, RLRE, GET/SET/ACTION-Response, their
 *                        ciphered forms, exception-response) is appended at out->len (so
 *                        the caller may write its transport header first); out->len is
 *                        unchanged when there is nothing to send (an empty APDU, an
 *                        unconfirmed service). A room of the negotiated client max
 *                        receive PDU size is enough: larger answers go in blocks, sized
 *                        to the smaller of that size and the room in out.
 * @return 0, or MS_ENOSPC when out is too small for the answer (an AARE or RLRE) or even
 *         for an exception-response (out->len then unchanged, no state changed);
 *         MS_EINVAL for NULL arguments or an out already in error.
 *         Malformed or refused requests are answered on the wire, not returned as
 *         errors. The behaviour choices (which answer for which refusal) are listed at
 *         the top of dlms_server.c.
 */
int dlms_server_apdu(dlms_server_t *s, uint16_t client_sap, uint16_t server_sap,
                     const uint8_t *apdu, size_t len, ms_wr_t *out);

/** The transport link ended (HDLC DISC, TCP close): every association is released. */
void dlms_server_reset(dlms_server_t *s);

/** Whether an association with client_sap is open (for diagnostics and tests). */
bool dlms_server_associated(const dlms_server_t *s, uint16_t client_sap);

#endif
