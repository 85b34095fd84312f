/*
** dlms_security.h — DLMS/COSEM cryptographic protection with security suite 0
** (AES-128-GCM through libcrypto): security header, encryption and authentication of
** xDLMS APDUs, the ciphered APDU framing (glo-, ded-, general-glo-,
*general-ded-ciphering),
** HLS-GMAC authentication (mechanism 5) and invocation-counter bookkeeping.
** SPDX-License-Identifier: MIT
**
** Implements (Green Book, DLMS UA 1000-2 Ed. 8, clause 9.2.7 "cryptographic protection"
** as quoted by public sources; IEC 62056-5-3 the same):
** - security header SH = SC ‖ IC: security control byte (bits 0-3 security suite id,
**   bit 4 authentication, bit 5 encryption, bit 6 key set (0 unicast, 1 broadcast),
**   bit 7 compression) and the 32-bit invocation counter, big-endian (9.2.7.2.4.2);
** - AES-GCM with IV = system title (8 octets) ‖ IC (4 octets) and a 12-octet tag;
**   additional authenticated data: authenticated and encrypted: SC ‖ AK; authenticated
**   only: SC ‖ AK ‖ plaintext (sent in clear, followed by the tag); encrypted only: no
*tag;
** - the protected APDU is SC ‖ IC ‖ (ciphertext or plaintext) ‖ tag, carried in a
**   service-specific ciphered APDU (tag, A-XDR length, contents) or in
**   general-glo-/general-ded-ciphering (tag, system-title OCTET STRING, contents OCTET
**   STRING);
** - HLS authentication with GMAC (mechanism id 5): f(challenge) = SC ‖ IC ‖
**   GMAC(SC ‖ AK ‖ challenge), the GMAC being AES-GCM over no plaintext with the sender's
**   system title and IC as IV, truncated to 12 octets.
** Verified against the Green Book example (keys 000102..0F / D0D1..DF, system title
** 4D4D4D0000BC614E, IC 01234567; ../shared/data/dlms/greenbook-suite0-gcm-vectors.json).
**
** Suites 1 and 2 use the same GCM construction (2 with AES-256); they are accepted here
** by key length but their key agreement and signatures are out of scope. Keys and the
** policy (which SC a session accepts) belong to the caller; nothing is stored here.
*/
#ifndef DLMS_SECURITY_H
#define DLMS_SECURITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "axdr.h"
#include "ms_buf.h"

/* Security control byte. */
#define DLMS_SC_SUITE_MASK     0x0Fu
#define DLMS_SC_AUTHENTICATION 0x10u
#define DLMS_SC_ENCRYPTION     0x20u
#define DLMS_SC_BROADCAST_KEY  0x40u
#define DLMS_SC_COMPRESSION    0x80u

#define DLMS_SYSTEM_TITLE_LEN 8u
#define DLMS_SEC_HEADER_LEN   5u /* SC ‖ IC */
#define DLMS_GCM_TAG_LEN      12u
#define DLMS_HLS_GMAC_LEN     17u /* SC ‖ IC ‖ 12-octet tag */

/** Keys of one key set, owned by the caller. ek: the block cipher key (16 octets for
 * suites 0 and 1, 32 for suite 2): the global unicast, broadcast or dedicated key as
 * the session chooses. ak: the authentication key (suite 0: 16 octets). */
typedef struct dlms_sec_keys {
    const uint8_t *ek;
    size_t ek_len;
    const uint8_t *ak;
    size_t ak_len;
} dlms_sec_keys_t;

/**
 * Protect an APDU: append SC ‖ IC ‖ payload ‖ tag as selected by sc.
 *
 * @param[out] w     receives 5 + plain_len (+ 12 with authentication) octets
 * @param[in]  sc    security control byte (suite, A, E, key set; compression unsupported)
 * @param[in]  ic    invocation counter of the sender for this key (the caller keeps it
 *                   strictly increasing, see dlms_ic_next())
 * @param[in]  st    the sender's system title, 8 octets
 * @param[in]  keys  ek for A and/or E; ak when A is set
 * @param[in]  plain the unprotected xDLMS APDU (not retained)
 * @return 0; MS_ENOSPC; MS_ENOTSUP (compression, or a suite other than 0..2); MS_EINVAL
 *         (NULL key, ek length wrong for the suite); MS_EIO (libcrypto failed)
 */
int dlms_sec_protect(ms_wr_t *w, uint8_t sc, uint32_t ic, const uint8_t st[8],
                     const dlms_sec_keys_t *keys, const uint8_t *plain, size_t plain_len);

/**
 * Check and remove the protection of SC ‖ IC ‖ payload ‖ tag.
 *
 * The invocation counter is NOT checked here: read it from *ic, check it with
 * dlms_ic_check() before and record it with dlms_ic_accept() after a successful call.
 * A security control byte without A and E yields the payload as it is: the session's
 * security policy must refuse what it did not ask for.
 *
 * @param[in]  in    protected content (not retained)
 * @param[in]  st    the sender's system title
 * @param[out] out   the plaintext, cap octets available (may not overlap in)
 * @param[out] sc,ic the security header (may be NULL)
 * @return the plaintext length; MS_ETRUNC (shorter than the header, or than header + tag
 *         when A is set); MS_EACCES (authentication tag mismatch: wrong key, system
 * title, IC or altered octets); MS_ENOSPC; MS_ENOTSUP; MS_EINVAL; MS_EIO
 */
int dlms_sec_unprotect(const uint8_t *in, size_t len, const uint8_t st[8],
                       const dlms_sec_keys_t *keys, uint8_t *out, size_t cap, uint8_t *sc,
                       uint32_t *ic);

/** A ciphered APDU's framing. content = SC ‖ IC ‖ payload (what dlms_sec_unprotect
 * takes); system_title only for general-glo-/general-ded-ciphering, always 8 octets
 * (p == NULL when that APDU's system-title is empty, and for service-specific tags). */
typedef struct dlms_ciphered {
    uint8_t tag;
    dlms_bytes_t system_title;
    uint8_t sc;
    uint32_t ic;
    dlms_bytes_t content;
} dlms_ciphered_t;

/**
 * Split a ciphered APDU that fills buf exactly (pointers into buf).
 * @return 0; MS_ENOTSUP (not a glo-/ded- service tag, general-glo-ciphering or
 *         general-ded-ciphering); MS_ETRUNC (a length points past the end); MS_EFRAME
 *         (contents shorter than the security header, a system title neither empty nor
 *         8 octets, octets after the APDU); MS_EINVAL
 */
int dlms_ciphered_decode(const uint8_t *buf, size_t len, dlms_ciphered_t *out);

/**
 * Append the framing of c around c->content (sc and ic are taken from the content).
 * @return 0, MS_ENOSPC, MS_ENOTSUP (tag), MS_EINVAL (content shorter than 5 octets, a
 *         system title on a service-specific tag or not 8 octets long)
 */
int dlms_ciphered_encode(ms_wr_t *w, const dlms_ciphered_t *c);

/**
 * Protect plain and frame it: tag ‖ [system title] ‖ length ‖ SC ‖ IC ‖ payload ‖ tag.
 * @param[in] tag  a glo-/ded- tag matching plain[0] (see dlms_glo_tag()), or
 *                 DLMS_TAG_GENERAL_GLO_CIPHERING / _DED_ (st is then written into the
 * APDU)
 * @return 0, or the errors of dlms_sec_protect() and dlms_ciphered_encode()
 */
int dlms_cipher_apdu(ms_wr_t *w, uint8_t tag, const uint8_t st[8], uint8_t sc,
                     uint32_t ic, const dlms_sec_keys_t *keys, const uint8_t *plain,
                     size_t plain_len);

/**
 * Unframe and unprotect a ciphered APDU.
 * @param[in]  st    the sender's system title; NULL to take it from a general-*-ciphering
 *                   APDU (MS_EINVAL when there is none); when both exist the APDU's wins
 * @param[out] info  the framing (may be NULL)
 * @return the plaintext length, or the errors of dlms_ciphered_decode() and
 *         dlms_sec_unprotect(); MS_EFRAME when a service-specific tag does not match the
 *         deciphered APDU's tag
 */
int dlms_decipher_apdu(const uint8_t *buf, size_t len, const uint8_t *st,
                       const dlms_sec_keys_t *keys, uint8_t *out, size_t cap,
                       dlms_ciphered_t *info);

/** Ciphered tag for a plain xDLMS tag (glo-: global key, ded-: dedicated key), or
 * MS_ENOTSUP when the service has no such variant. */
int dlms_glo_tag(unsigned plain_tag);
int dlms_ded_tag(unsigned plain_tag);
/** Plain tag of a glo-/ded- tag, or MS_ENOTSUP. */
int dlms_plain_tag(unsigned ciphered_tag);
/** True for glo-, ded-, general-glo-, general-ded- and general-ciphering tags. */
bool dlms_tag_is_ciphered(unsigned tag);
/** True for the tags protected with the dedicated key: ded- and general-ded-ciphering. */
bool dlms_tag_is_ded(unsigned tag);

/**
 * HLS-GMAC (mechanism 5) authentication value f(challenge) = SC ‖ IC ‖ GMAC tag.
 * The client computes f(StoC) with its own system title and IC; the server f(CtoS) with
 * its own.
 * @param[out] out   17 octets
 * @param[in]  sc    security control byte; DLMS_SC_AUTHENTICATION | suite (0x10 for
 *                   suite 0) in practice
 * @return 0, or the errors of dlms_sec_protect()
 */
int dlms_hls_gmac(uint8_t out[DLMS_HLS_GMAC_LEN], uint8_t sc, uint32_t ic,
                  const uint8_t st[8], const dlms_sec_keys_t *keys,
                  const uint8_t *challenge, size_t challenge_len);

/**
 * Check a peer's HLS-GMAC value against the challenge this end sent.
 * @param[in]  st  the peer's system title
 * @param[out] ic  the peer's invocation counter from the value (may be NULL); the caller
 *                 checks it with dlms_ic_check()
 * @return 0; MS_EACCES (tag mismatch); MS_EFRAME (not 17 octets, or SC without the
 *         authentication bit); other errors of dlms_sec_protect()
 */
int dlms_hls_gmac_verify(const uint8_t *value, size_t value_len, const uint8_t st[8],
                         const dlms_sec_keys_t *keys, const uint8_t *challenge,
                         size_t challenge_len, uint32_t *ic);

/** Invocation counter of one key in one direction. Persist `last` (and `seen`): a meter
 * must not accept or reuse a counter after a restart (PROTOCOL-NOTES trap 8). */
typedef struct dlms_ic {
    uint32_t last; /* highest counter accepted (rx) or used (tx) */
    bool seen;     /* false: none yet */
} dlms_ic_t;

/** Nothing seen yet: the first counter is accepted whatever its value. */
void dlms_ic_init(dlms_ic_t *c);
/** Continue after last (restored from storage). */
void dlms_ic_restore(dlms_ic_t *c, uint32_t last);
/** 0 when ic is strictly greater than every counter accepted so far; MS_EREPLAY when not
 * (a replay, or a counter gone backwards). Changes nothing. */
int dlms_ic_check(const dlms_ic_t *c, uint32_t ic);
/** Record ic as accepted (call only after the APDU authenticated). */
void dlms_ic_accept(dlms_ic_t *c, uint32_t ic);
/** Transmit side: the next counter to use (0 first, then last + 1), recorded as used.
 * @return 0, or MS_ERANGE when 0xFFFFFFFF has been used (the key must be changed) */
int dlms_ic_next(dlms_ic_t *c, uint32_t *ic);

#endif
