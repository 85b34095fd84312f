/*
** fuzz_dlms_server.c — libFuzzer target: sequences of APDUs into a dlms_server with the
** fake meter of dlms_fake_meter.h (clients lowest, LLS, HLS-GMAC, and LLS / HLS-GMAC
** under an authenticated+encrypted policy), associated and not, plain and ciphered.
** Every call must return 0 or MS_ENOSPC (then with nothing written), and every answer
** must decode: ACSE answers with acse_decode(), xDLMS answers with dlms_apdu_decode()
** after deciphering with the client's keys and the server's system title.
**
** Input: one configuration octet, then records
**   op(1) sap(1) length(2, big-endian) bytes(length)
** sap % 6 picks client SAP 16, 17, 18, 32, 48 or 99 (unknown). op & 7:
**   0 the bytes as an APDU            1 glo-ciphered by the harness (general-glo when
**   2 ded-ciphered (key A0..AF)         the tag has no glo- form)
**   3 general-glo-ciphered           4 general-ded-ciphered
**   5 an AARQ built by dlms_client for the SAP (ciphered for 32 and 48, dedicated key
**     A0..AF; the bytes are ignored)
**   6 HLS pass 3 with f(StoC) for the last StoC the SAP got (glo-ciphered for 32 / 48)
**   7 the link ends (dlms_server_reset)
** op bit 3 set: the answer buffer has only 8 + 16 * (op >> 4) octets.
** Configuration octet: bits 0-2 pick max_value (0: default, else 256 << n), bit 3 a
** 1 KiB decode arena, bit 4 no invocation-counter callbacks.
** SPDX-License-Identifier: MIT
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dlms_acse.h"
#include "dlms_client.h"
#include "dlms_fake_meter.h"
#include "dlms_security.h"
#include "dlms_server.h"
#include "ms_err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)     \
    do {             \
        if (!(x))    \
            abort(); \
    } while (0)

static const uint16_t saps[6] = { FM_SAP_PUBLIC,  FM_SAP_LLS,     FM_SAP_HLS,
                                  FM_SAP_LLS_ENC, FM_SAP_HLS_ENC, 99 };
static const uint8_t ded_key[16] = { 0xA0, 0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7,
                                     0xA8, 0xA9, 0xAA, 0xAB, 0xAC, 0xAD, 0xAE, 0xAF };

typedef struct harness {
    fake_meter_t m;
    uint32_t ic[6];      /* the harness's own counters per SAP */
    uint8_t stoc[6][64]; /* last StoC seen per SAP */
    size_t stoc_len[6];
    uint8_t server_title[6][8];
} harness_t;

static dlms_client_cfg_t client_cfg(uint16_t sap)
{
    dlms_client_cfg_t c;
    memset(&c, 0, sizeof c);
    memcpy(c.password, "12345678", 8);
    c.password_len = 8;
    memcpy(c.ctos, "fuzz-CtoS-0123456", 16);
    c.ctos_len = 16;
    memcpy(c.ek, fm_ek, 16);
    memcpy(c.ak, fm_ak, 16);
    memcpy(c.client_title, fm_client_title, 8);
    c.has_dedicated_key = true;
    memcpy(c.dedicated_key, ded_key, 16);
    c.max_pdu = 512;
    c.ic = 1;
    c.mechanism = sap == FM_SAP_LLS || sap == FM_SAP_LLS_ENC   ? DLMS_MECH_LLS
                  : sap == FM_SAP_HLS || sap == FM_SAP_HLS_ENC ? DLMS_MECH_HLS_GMAC
                                                               : DLMS_MECH_LOWEST;
    c.ciphering = sap == FM_SAP_LLS_ENC || sap == FM_SAP_HLS_ENC;
    return c;
}

/* Protect plain as the harness's client would. */
static size_t cipher(harness_t *h, int si, unsigned mode, const uint8_t *plain, size_t n,
                     uint8_t *out, size_t cap)
{
    if (n == 0)
        return 0;
    bool ded = mode == 2 || mode == 4;
    int tag = mode == 3   ? DLMS_TAG_GENERAL_GLO_CIPHERING
              : mode == 4 ? DLMS_TAG_GENERAL_DED_CIPHERING
              : ded       ? dlms_ded_tag(plain[0])
                          : dlms_glo_tag(plain[0]);
    if (tag < 0)
        tag = ded ? DLMS_TAG_GENERAL_DED_CIPHERING : DLMS_TAG_GENERAL_GLO_CIPHERING;
    dlms_sec_keys_t k = { ded ? ded_key : fm_ek, 16, fm_ak, 16 };
    ms_wr_t w;
    ms_wr_init(&w, out, cap);
    if (dlms_cipher_apdu(&w, (uint8_t)tag, fm_client_title, 0x30, h->ic[si]++, &k, plain,
                         n) < 0)
        return 0;
    return w.len;
}

/* Every answer must be a well-formed APDU. */
static void check_answer(harness_t *h, int si, const uint8_t *a, size_t n)
{
    if (n == 0)
        return;
    static uint64_t mem[8192];
    dlms_arena_t ar;
    dlms_arena_init(&ar, mem, sizeof mem);
    if (a[0] == DLMS_TAG_AARE || a[0] == DLMS_TAG_RLRE) {
        acse_apdu_t x;
        CHECK(acse_decode(a, n, &x) == 0);
        if (x.type == DLMS_TAG_AARE) {
            CHECK(x.has_result && x.application_context_name.p);
            CHECK(x.user_information.kind != 0);
            if (x.responding_ap_title.len == 8)
                memcpy(h->server_title[si], x.responding_ap_title.p, 8);
            if (x.authentication_value.value.p &&
                x.authentication_value.value.len <= 64) {
                memcpy(h->stoc[si], x.authentication_value.value.p,
                       x.authentication_value.value.len);
                h->stoc_len[si] = x.authentication_value.value.len;
            }
        }
        return;
    }
    dlms_apdu_t apdu;
    if (!dlms_tag_is_ciphered(a[0])) {
        CHECK(dlms_apdu_decode(a, n, &ar, &apdu) == 0);
        CHECK(apdu.tag == DLMS_TAG_EXCEPTION_RESPONSE ||
              apdu.tag == DLMS_TAG_GET_RESPONSE || apdu.tag == DLMS_TAG_SET_RESPONSE ||
              apdu.tag == DLMS_TAG_ACTION_RESPONSE);
        return;
    }
    static uint8_t plain[70000];
    dlms_ciphered_t c;
    CHECK(dlms_ciphered_decode(a, n, &c) == 0);
    bool ded =
        c.tag == DLMS_TAG_GENERAL_DED_CIPHERING ||
        (c.tag >= DLMS_TAG_DED_GET_REQUEST && c.tag <= DLMS_TAG_DED_ACTION_RESPONSE);
    dlms_sec_keys_t k = { ded ? ded_key : fm_ek, 16, fm_ak, 16 };
    int pl = dlms_decipher_apdu(a, n, fm_server_title, &k, plain, sizeof plain, NULL);
    CHECK(pl > 0);
    CHECK(dlms_apdu_decode(plain, (size_t)pl, &ar, &apdu) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static harness_t h;
    memset(&h, 0, sizeof h);
    fm_init(&h.m);
    for (int i = 0; i < 6; i++)
        h.ic[i] = 1000;
    uint8_t conf = data[0];
    h.m.ic_callbacks = !(conf & 0x10);
    dlms_server_ops_t ops = fm_ops(&h.m);
    dlms_server_cfg_t cfg = { (conf & 7) ? (size_t)256 << (conf & 7) : 0,
                              (conf & 8) ? 1024 : 0 };
    int err;
    dlms_server_t *s = dlms_server_new(&cfg, &ops, &h.m, &err);
    CHECK(s);
    static uint8_t out[70000], apdu[70000];
    size_t pos = 1;
    while (pos + 4 <= size) {
        uint8_t op = data[pos];
        int si = data[pos + 1] % 6;
        size_t len = (size_t)data[pos + 2] << 8 | data[pos + 3];
        pos += 4;
        if (len > size - pos)
            len = size - pos;
        const uint8_t *bytes = data + pos;
        pos += len;
        uint16_t sap = saps[si];
        size_t n = 0;
        const uint8_t *req = apdu;
        unsigned mode = op & 7;
        switch (mode) {
        case 0:
            req = bytes;
            n = len;
            break;
        case 5: {
            dlms_client_cfg_t cc = client_cfg(sap);
            cc.ic = h.ic[si]++;
            dlms_client_t *c = dlms_client_new(&cc, &err);
            CHECK(c);
            ms_wr_t w;
            ms_wr_init(&w, apdu, sizeof apdu);
            CHECK(dlms_client_aarq(c, &w) == 0);
            n = w.len;
            dlms_client_free(c);
            break;
        }
        case 6: {
            if (!h.stoc_len[si])
                continue;
            uint8_t f[DLMS_HLS_GMAC_LEN], plain[64];
            dlms_sec_keys_t k = { fm_ek, 16, fm_ak, 16 };
            if (dlms_hls_gmac(f, 0x10, h.ic[si]++, fm_client_title, &k, h.stoc[si],
                              h.stoc_len[si]) < 0)
                continue;
            static const dlms_method_desc_t m = { 15, { 0, 0, 40, 0, 0, 255 }, 1 };
            ms_wr_t w;
            ms_wr_init(&w, plain, sizeof plain);
            ms_wr_u8(&w, DLMS_TAG_ACTION_REQUEST);
            ms_wr_u8(&w, DLMS_ACTION_REQUEST_NORMAL);
            ms_wr_u8(&w, 0xC1);
            dlms_method_desc_write(&w, &m);
            ms_wr_u8(&w, 1);
            ms_wr_u8(&w, DLMS_OCTET_STRING);
            ms_wr_u8(&w, DLMS_HLS_GMAC_LEN);
            ms_wr_bytes(&w, f, sizeof f);
            if (sap == FM_SAP_HLS_ENC) {
                n = cipher(&h, si, 1, plain, w.len, apdu, sizeof apdu);
            } else {
                memcpy(apdu, plain, w.len);
                n = w.len;
            }
            break;
        }
        case 7:
            dlms_server_reset(s);
            continue;
        default:
            n = cipher(&h, si, mode, bytes, len, apdu, sizeof apdu);
            break;
        }
        size_t cap = (op & 8) ? 8u + 16u * (op >> 4) : sizeof out;
        ms_wr_t w;
        ms_wr_init(&w, out, cap);
        int rc = dlms_server_apdu(s, sap, 1, req, n, &w);
        CHECK(rc == 0 || rc == MS_ENOSPC);
        CHECK(w.len <= cap && !w.err);
        if (rc == MS_ENOSPC)
            CHECK(w.len == 0);
        check_answer(&h, si, out, w.len);
        (void)dlms_server_associated(s, sap);
    }
    dlms_server_free(s);
    fm_free(&h.m);
    return 0;
}
