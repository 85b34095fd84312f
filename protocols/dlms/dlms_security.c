/*
** dlms_security.c — security suite 0 (AES-GCM-128) protection of xDLMS APDUs, HLS-GMAC,
** ciphered APDU framing, invocation counters.
** SPDX-License-Identifier: MIT
*/
#include "dlms_security.h"

#include <limits.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "dlms_apdu.h"
#include "ms_err.h"

/* ---- AES-GCM ---- */

static const EVP_CIPHER *suite_cipher(uint8_t sc, const dlms_sec_keys_t *k, int *rc)
{
    unsigned suite = sc & DLMS_SC_SUITE_MASK;
    if (sc & DLMS_SC_COMPRESSION) {
        *rc = MS_ENOTSUP;
        return NULL;
    }
    if (suite > 2) {
        *rc = MS_ENOTSUP;
        return NULL;
    }
    size_t want = suite == 2 ? 32 : 16;
    if (!k || !k->ek || k->ek_len != want) {
        *rc = MS_EINVAL;
        return NULL;
    }
    if ((sc & DLMS_SC_AUTHENTICATION) && !k->ak && k->ak_len) {
        *rc = MS_EINVAL;
        return NULL;
    }
    *rc = 0;
    return suite == 2 ? EVP_aes_256_gcm() : EVP_aes_128_gcm();
}

static void make_iv(uint8_t iv[12], const uint8_t st[8], uint32_t ic)
{
    ms_wr_t w;
    ms_wr_init(&w, iv, 12);
    ms_wr_bytes(&w, st, DLMS_SYSTEM_TITLE_LEN);
    ms_wr_u32be(&w, ic);
}

/* Security header SH = SC ‖ IC (IC big-endian). */
static void put_header(uint8_t h[DLMS_SEC_HEADER_LEN], uint8_t sc, uint32_t ic)
{
    ms_wr_t w;
    ms_wr_init(&w, h, DLMS_SEC_HEADER_LEN);
    ms_wr_u8(&w, sc);
    ms_wr_u32be(&w, ic);
}

static uint32_t header_ic(const uint8_t h[DLMS_SEC_HEADER_LEN])
{
    ms_rd_t r;
    ms_rd_init(&r, h + 1, 4);
    return ms_rd_u32be(&r);
}

/*
 * One AES-GCM operation. AAD = aad[0] ‖ aad[1] ‖ aad[2] (NULL/0 parts skipped).
 * enc: in -> out (in_len octets), tag written when tag != NULL.
 * !enc: in -> out, the tag checked when tag != NULL.
 */
static int gcm(bool enc, const EVP_CIPHER *cipher, const uint8_t *key,
               const uint8_t iv[12], const uint8_t *const aad[3], const size_t aad_len[3],
               const uint8_t *in, size_t in_len, uint8_t *out, uint8_t *tag)
{
    int rc = MS_EIO, n;
    if (in_len > INT_MAX)
        return MS_ETOOBIG;
    for (int i = 0; i < 3; i++)
        if (aad_len[i] > INT_MAX)
            return MS_ETOOBIG;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (!ctx)
        return MS_ENOMEM;
    if (EVP_CipherInit_ex(ctx, cipher, NULL, NULL, NULL, enc ? 1 : 0) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) != 1 ||
        EVP_CipherInit_ex(ctx, NULL, NULL, key, iv, enc ? 1 : 0) != 1)
        goto fail;
    for (int i = 0; i < 3; i++)
        if (aad[i] && aad_len[i] &&
            EVP_CipherUpdate(ctx, NULL, &n, aad[i], (int)aad_len[i]) != 1)
            goto fail;
    if (in_len && EVP_CipherUpdate(ctx, out, &n, in, (int)in_len) != 1)
        goto fail;
    if (!tag) { /* encryption only: GCM without its tag is the counter mode stream */
        rc = 0;
        goto fail;
    }
    if (!enc &&
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, DLMS_GCM_TAG_LEN, tag) != 1)
        goto fail;
    uint8_t scratch[16];
    if (EVP_CipherFinal_ex(ctx, scratch, &n) != 1) {
        rc = enc ? MS_EIO : MS_EACCES;
        goto fail;
    }
    if (enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, DLMS_GCM_TAG_LEN, tag) != 1)
        goto fail;
    rc = 0;
fail:
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}

int dlms_sec_protect(ms_wr_t *w, uint8_t sc, uint32_t ic, const uint8_t st[8],
                     const dlms_sec_keys_t *keys, const uint8_t *plain, size_t plain_len)
{
    int rc;
    if (!w || !st || (!plain && plain_len))
        return MS_EINVAL;
    if (w->err)
        return w->err;
    bool a = sc & DLMS_SC_AUTHENTICATION, e = sc & DLMS_SC_ENCRYPTION;
    const EVP_CIPHER *cipher = NULL;
    if (a || e || (sc & DLMS_SC_COMPRESSION)) {
        cipher = suite_cipher(sc, keys, &rc);
        if (!cipher)
            return rc;
    }
    size_t need = DLMS_SEC_HEADER_LEN + plain_len + (a ? DLMS_GCM_TAG_LEN : 0);
    if (ms_wr_room(w) < need) {
        w->err = MS_ENOSPC;
        return MS_ENOSPC;
    }
    uint8_t *p = w->buf + w->len;
    put_header(p, sc, ic);
    uint8_t *payload = p + DLMS_SEC_HEADER_LEN;
    uint8_t iv[12];
    make_iv(iv, st, ic);
    if (!a && !e) {
        if (plain_len)
            memcpy(payload, plain, plain_len);
    } else if (e) {
        const uint8_t *aad[3] = { &sc, a ? keys->ak : NULL, NULL };
        const size_t aad_len[3] = { a ? 1u : 0u, a ? keys->ak_len : 0u, 0 };
        rc = gcm(true, cipher, keys->ek, iv, aad, aad_len, plain, plain_len, payload,
                 a ? payload + plain_len : NULL);
        if (rc < 0)
            return rc;
    } else { /* authentication only: plaintext in clear, all of it authenticated */
        if (plain_len)
            memmove(payload, plain, plain_len);
        const uint8_t *aad[3] = { &sc, keys->ak, payload };
        const size_t aad_len[3] = { 1, keys->ak_len, plain_len };
        rc = gcm(true, cipher, keys->ek, iv, aad, aad_len, NULL, 0, NULL,
                 payload + plain_len);
        if (rc < 0)
            return rc;
    }
    w->len += need;
    return 0;
}

int dlms_sec_unprotect(const uint8_t *in, size_t len, const uint8_t st[8],
                       const dlms_sec_keys_t *keys, uint8_t *out, size_t cap,
                       uint8_t *sc_out, uint32_t *ic_out)
{
    int rc;
    if (!st || (!in && len) || (!out && cap))
        return MS_EINVAL;
    if (len < DLMS_SEC_HEADER_LEN)
        return MS_ETRUNC;
    uint8_t sc = in[0];
    uint32_t ic = header_ic(in);
    if (sc_out)
        *sc_out = sc;
    if (ic_out)
        *ic_out = ic;
    bool a = sc & DLMS_SC_AUTHENTICATION, e = sc & DLMS_SC_ENCRYPTION;
    const EVP_CIPHER *cipher = NULL;
    if (a || e || (sc & DLMS_SC_COMPRESSION)) {
        cipher = suite_cipher(sc, keys, &rc);
        if (!cipher)
            return rc;
    }
    const uint8_t *payload = in + DLMS_SEC_HEADER_LEN;
    size_t plen = len - DLMS_SEC_HEADER_LEN;
    if (a) {
        if (plen < DLMS_GCM_TAG_LEN)
            return MS_ETRUNC;
        plen -= DLMS_GCM_TAG_LEN;
    }
    if (plen > INT_MAX)
        return MS_ETOOBIG;
    if (plen > cap)
        return MS_ENOSPC;
    uint8_t iv[12];
    make_iv(iv, st, ic);
    uint8_t tag[DLMS_GCM_TAG_LEN];
    if (a)
        memcpy(tag, payload + plen, DLMS_GCM_TAG_LEN);
    if (!a && !e) {
        if (plen)
            memcpy(out, payload, plen);
    } else if (e) {
        const uint8_t *aad[3] = { &sc, a ? keys->ak : NULL, NULL };
        const size_t aad_len[3] = { a ? 1u : 0u, a ? keys->ak_len : 0u, 0 };
        rc = gcm(false, cipher, keys->ek, iv, aad, aad_len, payload, plen, out,
                 a ? tag : NULL);
        if (rc < 0) {
            if (plen)
                memset(out, 0, plen); /* no unauthenticated plaintext leaks out */
            return rc;
        }
    } else {
        const uint8_t *aad[3] = { &sc, keys->ak, payload };
        const size_t aad_len[3] = { 1, keys->ak_len, plen };
        rc = gcm(false, cipher, keys->ek, iv, aad, aad_len, NULL, 0, NULL, tag);
        if (rc < 0)
            return rc;
        if (plen)
            memcpy(out, payload, plen);
    }
    return (int)plen;
}

/* ---- tags ---- */

static const uint8_t glo_map[][2] = {
    { DLMS_TAG_INITIATE_REQUEST, DLMS_TAG_GLO_INITIATE_REQUEST },
    { DLMS_TAG_READ_REQUEST, DLMS_TAG_GLO_READ_REQUEST },
    { DLMS_TAG_WRITE_REQUEST, DLMS_TAG_GLO_WRITE_REQUEST },
    { DLMS_TAG_INITIATE_RESPONSE, DLMS_TAG_GLO_INITIATE_RESPONSE },
    { DLMS_TAG_READ_RESPONSE, DLMS_TAG_GLO_READ_RESPONSE },
    { DLMS_TAG_WRITE_RESPONSE, DLMS_TAG_GLO_WRITE_RESPONSE },
    { DLMS_TAG_CONFIRMED_SERVICE_ERROR, DLMS_TAG_GLO_CONFIRMED_SERVICE_ERROR },
    { DLMS_TAG_UNCONFIRMED_WRITE_REQUEST, DLMS_TAG_GLO_UNCONFIRMED_WRITE_REQUEST },
    { DLMS_TAG_INFORMATION_REPORT_REQUEST, DLMS_TAG_GLO_INFORMATION_REPORT_REQUEST },
    { DLMS_TAG_GET_REQUEST, DLMS_TAG_GLO_GET_REQUEST },
    { DLMS_TAG_SET_REQUEST, DLMS_TAG_GLO_SET_REQUEST },
    { DLMS_TAG_EVENT_NOTIFICATION_REQUEST, DLMS_TAG_GLO_EVENT_NOTIFICATION_REQUEST },
    { DLMS_TAG_ACTION_REQUEST, DLMS_TAG_GLO_ACTION_REQUEST },
    { DLMS_TAG_GET_RESPONSE, DLMS_TAG_GLO_GET_RESPONSE },
    { DLMS_TAG_SET_RESPONSE, DLMS_TAG_GLO_SET_RESPONSE },
    { DLMS_TAG_ACTION_RESPONSE, DLMS_TAG_GLO_ACTION_RESPONSE },
};

static const uint8_t ded_map[][2] = {
    { DLMS_TAG_INITIATE_REQUEST, DLMS_TAG_DED_INITIATE_REQUEST },
    { DLMS_TAG_INITIATE_RESPONSE, DLMS_TAG_DED_INITIATE_RESPONSE },
    { DLMS_TAG_CONFIRMED_SERVICE_ERROR, DLMS_TAG_DED_CONFIRMED_SERVICE_ERROR },
    { DLMS_TAG_GET_REQUEST, DLMS_TAG_DED_GET_REQUEST },
    { DLMS_TAG_SET_REQUEST, DLMS_TAG_DED_SET_REQUEST },
    { DLMS_TAG_EVENT_NOTIFICATION_REQUEST, DLMS_TAG_DED_EVENT_NOTIFICATION_REQUEST },
    { DLMS_TAG_ACTION_REQUEST, DLMS_TAG_DED_ACTION_REQUEST },
    { DLMS_TAG_GET_RESPONSE, DLMS_TAG_DED_GET_RESPONSE },
    { DLMS_TAG_SET_RESPONSE, DLMS_TAG_DED_SET_RESPONSE },
    { DLMS_TAG_ACTION_RESPONSE, DLMS_TAG_DED_ACTION_RESPONSE },
};

#define MAP_LOOKUP(map, from, to, key)                               \
    do {                                                             \
        for (size_t i_ = 0; i_ < sizeof(map) / sizeof(map)[0]; i_++) \
            if ((map)[i_][from] == (key))                            \
                return (map)[i_][to];                                \
    } while (0)

int dlms_glo_tag(unsigned plain_tag)
{
    MAP_LOOKUP(glo_map, 0, 1, plain_tag);
    return MS_ENOTSUP;
}

int dlms_ded_tag(unsigned plain_tag)
{
    MAP_LOOKUP(ded_map, 0, 1, plain_tag);
    return MS_ENOTSUP;
}

int dlms_plain_tag(unsigned ciphered_tag)
{
    MAP_LOOKUP(glo_map, 1, 0, ciphered_tag);
    MAP_LOOKUP(ded_map, 1, 0, ciphered_tag);
    return MS_ENOTSUP;
}

static bool is_general(unsigned tag)
{
    return tag == DLMS_TAG_GENERAL_GLO_CIPHERING || tag == DLMS_TAG_GENERAL_DED_CIPHERING;
}

bool dlms_tag_is_ciphered(unsigned tag)
{
    return dlms_plain_tag(tag) >= 0 || is_general(tag) ||
           tag == DLMS_TAG_GENERAL_CIPHERING;
}

bool dlms_tag_is_ded(unsigned tag)
{
    if (tag == DLMS_TAG_GENERAL_DED_CIPHERING)
        return true;
    for (size_t i = 0; i < sizeof ded_map / sizeof ded_map[0]; i++)
        if (ded_map[i][1] == tag)
            return true;
    return false;
}

/* ---- framing ---- */

int dlms_ciphered_decode(const uint8_t *buf, size_t len, dlms_ciphered_t *out)
{
    if (!out || (!buf && len))
        return MS_EINVAL;
    memset(out, 0, sizeof *out);
    ms_rd_t r;
    ms_rd_init(&r, buf, len);
    out->tag = ms_rd_u8(&r);
    if (r.err)
        return MS_ETRUNC;
    int rc;
    if (is_general(out->tag)) {
        if ((rc = axdr_read_octets(&r, &out->system_title)) < 0)
            return rc;
        if (out->system_title.len == 0)
            out->system_title.p = NULL;
        else if (out->system_title.len != DLMS_SYSTEM_TITLE_LEN)
            return MS_EFRAME; /* a system title is 8 octets (it is half of the IV) */
    } else if (dlms_plain_tag(out->tag) < 0) {
        return MS_ENOTSUP;
    }
    if ((rc = axdr_read_octets(&r, &out->content)) < 0)
        return rc;
    if (ms_rd_left(&r) || out->content.len < DLMS_SEC_HEADER_LEN)
        return MS_EFRAME;
    const uint8_t *c = out->content.p;
    out->sc = c[0];
    out->ic = header_ic(c);
    return 0;
}

int dlms_ciphered_encode(ms_wr_t *w, const dlms_ciphered_t *c)
{
    if (!w || !c)
        return MS_EINVAL;
    if (!c->content.p || c->content.len < DLMS_SEC_HEADER_LEN ||
        c->content.len > UINT32_MAX)
        return MS_EINVAL;
    bool general = is_general(c->tag);
    if (!general && dlms_plain_tag(c->tag) < 0)
        return MS_ENOTSUP;
    if (!general && c->system_title.p)
        return MS_EINVAL;
    ms_wr_u8(w, c->tag);
    if (general) {
        size_t stl = c->system_title.p ? c->system_title.len : 0;
        if (stl != 0 && stl != DLMS_SYSTEM_TITLE_LEN)
            return MS_EINVAL;
        axdr_write_length(w, (uint32_t)stl);
        if (stl)
            ms_wr_bytes(w, c->system_title.p, stl);
    }
    axdr_write_length(w, (uint32_t)c->content.len);
    return ms_wr_bytes(w, c->content.p, c->content.len);
}

int dlms_cipher_apdu(ms_wr_t *w, uint8_t tag, const uint8_t st[8], uint8_t sc,
                     uint32_t ic, const dlms_sec_keys_t *keys, const uint8_t *plain,
                     size_t plain_len)
{
    if (!w || !st)
        return MS_EINVAL;
    if (w->err)
        return w->err;
    bool general = is_general(tag);
    if (!general && dlms_plain_tag(tag) < 0)
        return MS_ENOTSUP;
    size_t clen = DLMS_SEC_HEADER_LEN + plain_len +
                  ((sc & DLMS_SC_AUTHENTICATION) ? DLMS_GCM_TAG_LEN : 0);
    if (clen > UINT32_MAX)
        return MS_ETOOBIG;
    ms_wr_u8(w, tag);
    if (general) {
        axdr_write_length(w, DLMS_SYSTEM_TITLE_LEN);
        ms_wr_bytes(w, st, DLMS_SYSTEM_TITLE_LEN);
    }
    if (axdr_write_length(w, (uint32_t)clen) < 0)
        return w->err;
    return dlms_sec_protect(w, sc, ic, st, keys, plain, plain_len);
}

int dlms_decipher_apdu(const uint8_t *buf, size_t len, const uint8_t *st,
                       const dlms_sec_keys_t *keys, uint8_t *out, size_t cap,
                       dlms_ciphered_t *info)
{
    dlms_ciphered_t c;
    int rc = dlms_ciphered_decode(buf, len, &c);
    if (rc < 0)
        return rc;
    if (info)
        *info = c;
    const uint8_t *title = c.system_title.p ? c.system_title.p : st;
    if (!title)
        return MS_EINVAL;
    rc =
        dlms_sec_unprotect(c.content.p, c.content.len, title, keys, out, cap, NULL, NULL);
    if (rc < 0)
        return rc;
    int plain = dlms_plain_tag(c.tag);
    if (plain >= 0 && (rc == 0 || out[0] != plain))
        return MS_EFRAME;
    return rc;
}

/* ---- HLS-GMAC ---- */

int dlms_hls_gmac(uint8_t out[DLMS_HLS_GMAC_LEN], uint8_t sc, uint32_t ic,
                  const uint8_t st[8], const dlms_sec_keys_t *keys,
                  const uint8_t *challenge, size_t challenge_len)
{
    if (!out || !st || (!challenge && challenge_len))
        return MS_EINVAL;
    int rc;
    const EVP_CIPHER *cipher = suite_cipher(sc, keys, &rc);
    if (!cipher)
        return rc;
    if (!keys->ak && keys->ak_len)
        return MS_EINVAL;
    uint8_t iv[12];
    make_iv(iv, st, ic);
    put_header(out, sc, ic);
    const uint8_t *aad[3] = { &sc, keys->ak, challenge };
    const size_t aad_len[3] = { 1, keys->ak_len, challenge_len };
    return gcm(true, cipher, keys->ek, iv, aad, aad_len, NULL, 0, NULL,
               out + DLMS_SEC_HEADER_LEN);
}

int dlms_hls_gmac_verify(const uint8_t *value, size_t value_len, const uint8_t st[8],
                         const dlms_sec_keys_t *keys, const uint8_t *challenge,
                         size_t challenge_len, uint32_t *ic_out)
{
    if (!value && value_len)
        return MS_EINVAL;
    if (value_len != DLMS_HLS_GMAC_LEN || !(value[0] & DLMS_SC_AUTHENTICATION))
        return MS_EFRAME;
    uint32_t ic = header_ic(value);
    if (ic_out)
        *ic_out = ic;
    uint8_t expect[DLMS_HLS_GMAC_LEN];
    int rc = dlms_hls_gmac(expect, value[0], ic, st, keys, challenge, challenge_len);
    if (rc < 0)
        return rc;
    return CRYPTO_memcmp(expect, value, DLMS_HLS_GMAC_LEN) == 0 ? 0 : MS_EACCES;
}

/* ---- invocation counters ---- */

void dlms_ic_init(dlms_ic_t *c)
{
    c->last = 0;
    c->seen = false;
}

void dlms_ic_restore(dlms_ic_t *c, uint32_t last)
{
    c->last = last;
    c->seen = true;
}

int dlms_ic_check(const dlms_ic_t *c, uint32_t ic)
{
    return (!c->seen || ic > c->last) ? 0 : MS_EREPLAY;
}

void dlms_ic_accept(dlms_ic_t *c, uint32_t ic)
{
    if (!c->seen || ic > c->last) {
        c->last = ic;
        c->seen = true;
    }
}

int dlms_ic_next(dlms_ic_t *c, uint32_t *ic)
{
    if (c->seen && c->last == UINT32_MAX)
        return MS_ERANGE;
    c->last = c->seen ? c->last + 1 : 0;
    c->seen = true;
    *ic = c->last;
    return 0;
}
