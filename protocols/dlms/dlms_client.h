/*
** dlms_client.h — DLMS/COSEM application associations, client (head-end) side, for
** meterbench and the tests: AARQ with lowest / LLS / HLS-GMAC authentication (pass 3/4
** built and checked), GET (normal, with-list, selective access, automatic
** GET-Request-Next until the last block), SET (normal, with datablocks when the value is
** too large for the server), ACTION (normal, with parameter blocks, long answers), RLRQ;
** security suite 0 with the client's keys, system title and its own invocation counter.
** Pure: request APDUs are built into the caller's ms_wr_t, answer APDUs are fed back;
** no I/O, no clock.
** SPDX-License-Identifier: MIT
**
** Source: DLMS UA 1000-2 (Green Book) / IEC 62056-5-3: ACSE (AARQ/AARE, RLRQ/RLRE),
** xDLMS InitiateRequest/Response, GET/SET/ACTION and their block transfer, security
** (suite 0, HLS mechanism 5 "GMAC"); DLMS UA 1000-1 (Blue Book) class Association LN
** (class_id 15, 0.0.40.0.0.255 = the current association, method 1
** reply_to_HLS_authentication). The server side is dlms_server.h.
**
** Use: build a request (dlms_client_aarq, _get, _get_list, _set, _action, _rlrq) into an
** empty or header-prefixed writer and send what was appended; feed each answer APDU to
** dlms_client_feed(). It returns DLMS_CLIENT_SEND when it has appended a follow-up
** request to out (the HLS pass-3 ACTION, GET-Request-Next, the next SET datablock or
** parameter block): send it and feed the next answer. DLMS_CLIENT_DONE means the
** operation ended: dlms_client_result() tells how. A refusal by the meter (AARE
** rejected, a Data-Access-Result, an Action-Result, an exception-response, a
** ConfirmedServiceError) is a result, not an error.
**
** Ownership: the client owns the memory of its results (an arena and reassembly
** buffers sized by dlms_client_cfg_t): every pointer in a dlms_client_result_t stays
** valid until the next call that starts an operation or feeds an APDU, or until
** dlms_client_free(). Copy what must live longer (axdr_encode_data() is the easy way).
*/
#ifndef DLMS_CLIENT_H
#define DLMS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "axdr.h"
#include "dlms_apdu.h"
#include "dlms_server.h" /* dlms_mechanism_t */
#include "ms_buf.h"

/** How protected xDLMS requests are framed (Green Book "ciphered APDUs"). */
typedef enum dlms_client_framing {
    DLMS_FRAMING_GLO = 0,     /* service-specific global ciphering (glo-get-request...) */
    DLMS_FRAMING_DED,         /* service-specific dedicated ciphering (dedicated key) */
    DLMS_FRAMING_GENERAL_GLO, /* general-glo-ciphering (carries the system title) */
    DLMS_FRAMING_GENERAL_DED, /* general-ded-ciphering */
} dlms_client_framing_t;

/** Defaults used for zero fields of dlms_client_cfg_t. */
#define DLMS_CLIENT_CONFORMANCE_DEFAULT 0x007E1Fu /* the usual LN proposal */
#define DLMS_CLIENT_IIP_DEFAULT         0xC1u     /* high priority, confirmed, id 1 */
#define DLMS_CLIENT_SC_DEFAULT          0x30u /* suite 0, authenticated and encrypted */

/** Client settings. All fields are copied by dlms_client_new(). */
typedef struct dlms_client_cfg {
    dlms_mechanism_t mechanism;
    uint8_t password[32]; /* LLS secret */
    size_t password_len;
    uint8_t ctos[64]; /* HLS-GMAC client challenge CtoS (8..64 octets, random: the
                         caller's business, since this code reads no entropy) */
    size_t ctos_len;
    bool ciphering; /* application context LN with ciphering: the InitiateRequest and
                       every xDLMS request are protected with sc */
    uint8_t sc;     /* security control of protected APDUs (0: DLMS_CLIENT_SC_DEFAULT) */
    dlms_client_framing_t framing;
    uint8_t ek[16], ak[16]; /* global unicast encryption key, authentication key; HLS-GMAC
                               uses them also without ciphering */
    uint8_t client_title[8];
    bool has_server_title; /* else the AARE's responding-AP-title is used */
    uint8_t server_title[8];
    bool has_dedicated_key; /* sent in the (ciphered) InitiateRequest */
    uint8_t dedicated_key[16];
    uint32_t ic;           /* invocation counter of the next protected APDU */
    bool no_calling_title; /* field quirk: no calling-AP-title even where ciphering or
                              HLS-GMAC would send it */
    uint32_t conformance;  /* proposed (0: DLMS_CLIENT_CONFORMANCE_DEFAULT) */
    uint16_t max_pdu;      /* client-max-receive-pdu-size, sent as given (0 = no limit) */
    uint8_t invoke_id_and_priority; /* of every request (0: DLMS_CLIENT_IIP_DEFAULT) */
    size_t max_value;  /* largest value reassembled or sent in blocks (0: 1 MiB) */
    size_t arena_size; /* result arena (0: 64 KiB) */
} dlms_client_cfg_t;

/** The operation a result belongs to. */
typedef enum dlms_client_op {
    DLMS_OP_NONE = 0,
    DLMS_OP_ASSOCIATE,
    DLMS_OP_GET,
    DLMS_OP_GET_LIST,
    DLMS_OP_SET,
    DLMS_OP_ACTION,
    DLMS_OP_RELEASE,
} dlms_client_op_t;

/**
 * How the last operation ended. apdu_tag says which answer ended it: DLMS_TAG_AARE,
 * DLMS_TAG_RLRE, DLMS_TAG_GET/SET/ACTION_RESPONSE, DLMS_TAG_EXCEPTION_RESPONSE or
 * DLMS_TAG_CONFIRMED_SERVICE_ERROR (the plain tag also when the answer came ciphered).
 */
typedef struct dlms_client_result {
    dlms_client_op_t op;
    uint8_t apdu_tag;
    uint8_t rx_sc;   /* security control of the (last) answer, 0 when it came in clear */
    uint32_t blocks; /* datablocks received or sent by the operation */
    /* AARE / RLRE */
    bool associated; /* the association is open (after pass 4 for HLS) */
    uint8_t result, result_source, diagnostic; /* AARE: ACSE_RESULT_*, ACSE_SOURCE_*,
                                                  ACSE_DIAG_* */
    bool has_initiate_response;
    dlms_initiate_response_t initiate_response;
    bool has_service_error; /* AARE user-information, or an xDLMS ConfirmedServiceError */
    dlms_confirmed_service_error_t service_error;
    bool has_reason; /* RLRE */
    int32_t reason;
    /* xDLMS */
    dlms_exception_response_t exception; /* apdu_tag == DLMS_TAG_EXCEPTION_RESPONSE */
    uint32_t count;                      /* entries in the array of the operation below */
    dlms_get_data_result_t *get;  /* GET: 1 entry, GET_LIST: one per attribute (1 when
                                     a datablock answer carried a Data-Access-Result) */
    uint8_t *set;                 /* SET: the Data-Access-Result */
    dlms_action_result_t *action; /* ACTION (and the HLS pass 4 answer) */
} dlms_client_result_t;

/** dlms_client_feed() outcomes (errors are negative ms_err). */
#define DLMS_CLIENT_DONE 0
#define DLMS_CLIENT_SEND 1

typedef struct dlms_client dlms_client_t;

/**
 * Trace hook: called for every APDU the client builds (sent = true, once the request is
 * in out) and every APDU fed to it (sent = false). wire is the APDU as on the wire; plain
 * the unciphered xDLMS APDU (the same pointer as wire when it travelled in clear, NULL
 * when it could not be deciphered). Both are only valid during the call.
 */
typedef void (*dlms_client_trace_fn)(void *ctx, bool sent, const uint8_t *wire,
                                     size_t wire_len, const uint8_t *plain,
                                     size_t plain_len);

/**
 * Create a client.
 * @param[in]  cfg  settings (copied)
 * @param[out] err  MS_EINVAL (cfg NULL, password longer than 32, ctos not 8..64 octets
 *                  for HLS-GMAC, dedicated framing without a dedicated key), MS_ENOMEM
 * @return the client, or NULL
 */
dlms_client_t *dlms_client_new(const dlms_client_cfg_t *cfg, int *err);
void dlms_client_free(dlms_client_t *c);

/** Set the trace hook (fn NULL: off). */
void dlms_client_set_trace(dlms_client_t *c, dlms_client_trace_fn fn, void *ctx);

/**
 * Append the AARQ (Green Book "AARQ", xDLMS InitiateRequest in user-information, glo-
 * ciphered when cfg.ciphering). Starts DLMS_OP_ASSOCIATE.
 * @return 0; MS_ESTATE (an association is open or an operation is outstanding);
 *         MS_ENOSPC (out too small: nothing appended); MS_ERANGE (invocation counter
 *         exhausted); MS_EIO (libcrypto)
 */
int dlms_client_aarq(dlms_client_t *c, ms_wr_t *out);

/**
 * Append a GET-Request-Normal for one attribute (selective access passed as given).
 * Blocks of a long answer are fetched with GET-Request-Next by dlms_client_feed() and the
 * value reassembled (at most cfg.max_value octets).
 * @return 0; MS_ESTATE (not associated, or busy); MS_ENOSPC; MS_EINVAL (access parameters
 *         that do not encode); MS_ERANGE
 */
int dlms_client_get(dlms_client_t *c, const dlms_attr_sel_t *attr, ms_wr_t *out);

/** GET-Request-With-List for n attributes (n >= 1); errors as dlms_client_get(). */
int dlms_client_get_list(dlms_client_t *c, const dlms_attr_sel_t *list, uint32_t n,
                         ms_wr_t *out);

/**
 * Append a SET-Request-Normal, or SET-Request-With-First-Datablock when the request would
 * not fit the server's max receive PDU size (the next blocks follow from
 * dlms_client_feed()). value is encoded at once and not retained.
 * @return 0; MS_ESTATE; MS_ENOSPC; MS_EINVAL (value does not encode); MS_ETOOBIG (value
 *         larger than cfg.max_value); MS_ERANGE
 */
int dlms_client_set(dlms_client_t *c, const dlms_attr_sel_t *attr,
                    const dlms_data_t *value, ms_wr_t *out);

/**
 * Append an ACTION-Request-Normal (params NULL: no method-invocation-parameters), or
 * -With-First-Pblock when the parameters do not fit. Long answers
 * (ACTION-Response-With-Pblock) are fetched by dlms_client_feed().
 * @return as dlms_client_set()
 */
int dlms_client_action(dlms_client_t *c, const dlms_method_desc_t *m,
                       const dlms_data_t *params, ms_wr_t *out);

/**
 * Append an RLRQ (reason normal). On a ciphered association its user-information is the
 * InitiateRequest of the AARQ, glo-ciphered with the next invocation counter; otherwise
 * it has none (PROTOCOL-NOTES trap 9). Starts DLMS_OP_RELEASE; also allowed without an
 * association.
 * @return 0; MS_ESTATE (busy); MS_ENOSPC; MS_ERANGE; MS_EIO
 */
int dlms_client_rlrq(dlms_client_t *c, ms_wr_t *out);

/**
 * Feed one answer APDU (transport framing removed).
 * @param[in]  apdu, len  the answer (copied; not retained)
 * @param[out] out        receives the follow-up request on DLMS_CLIENT_SEND
 * @return DLMS_CLIENT_DONE (the result is ready), DLMS_CLIENT_SEND (send what was
 *         appended to out, feed the next answer); MS_ESTATE (no operation outstanding);
 *         MS_EFRAME / MS_ETRUNC (malformed answer); MS_EPROTO (an answer that does not
 *         fit the request: another APDU type, another invoke-id, a block number out of
 *         order); MS_EACCES (an answer that does not
 *         decipher or authenticate, a ciphered answer without a known server system
 *         title, or a wrong f(CtoS) in HLS pass 4); MS_EREPLAY (the server's invocation
 *         counter did not increase); MS_ETOOBIG (reassembled value above cfg.max_value);
 *         MS_ENOSPC (out too small for the follow-up). After an error the operation is
 *         abandoned (an association being set up is dropped; an open one stays open).
 */
int dlms_client_feed(dlms_client_t *c, const uint8_t *apdu, size_t len, ms_wr_t *out);

/** The result of the last operation (see "Ownership"). Never NULL. */
const dlms_client_result_t *dlms_client_result(const dlms_client_t *c);

/** True while an association is open (after HLS pass 4 where HLS is used). */
bool dlms_client_associated(const dlms_client_t *c);

/** Invocation counter the next protected APDU will use (persist it). */
uint32_t dlms_client_ic(const dlms_client_t *c);

/** Continue from ic, e.g. after reading the meter's counter object 0.0.43.1.x.255. */
void dlms_client_set_ic(dlms_client_t *c, uint32_t ic);

/** Negotiated conformance and server max receive PDU size (0 before an AARE). */
uint32_t dlms_client_conformance(const dlms_client_t *c);
uint16_t dlms_client_server_max_pdu(const dlms_client_t *c);

#endif
