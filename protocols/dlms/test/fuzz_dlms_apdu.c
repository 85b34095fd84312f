/*
** fuzz_dlms_apdu.c — libFuzzer target: xDLMS APDU decoding (every tag and CHOICE) and the
** ciphered APDU framing. A decoded APDU must encode again (never longer than its input),
** decode again and encode to the same octets. Ciphered framings are also put through
** dlms_sec_unprotect() with fixed keys: it may refuse, never crash or over-read.
** SPDX-License-Identifier: MIT
**
** Input: byte 0 = arena size selector, then the APDU.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dlms_apdu.h"
#include "dlms_security.h"
#include "ms_err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)     \
    do {             \
        if (!(x))    \
            abort(); \
    } while (0)

static void fuzz_ciphered(const uint8_t *data, size_t size)
{
    dlms_ciphered_t c;
    int rc = dlms_ciphered_decode(data, size, &c);
    if (rc < 0) {
        CHECK(rc == MS_ETRUNC || rc == MS_EFRAME || rc == MS_ENOTSUP);
        return;
    }
    uint8_t *e = malloc(size + 16);
    ms_wr_t w;
    ms_wr_init(&w, e, size + 16);
    CHECK(dlms_ciphered_encode(&w, &c) == 0);
    CHECK(w.len <= size);
    dlms_ciphered_t c2;
    CHECK(dlms_ciphered_decode(e, w.len, &c2) == 0);
    CHECK(c2.tag == c.tag && c2.sc == c.sc && c2.ic == c.ic &&
          c2.content.len == c.content.len &&
          memcmp(c2.content.p, c.content.p, c.content.len) == 0);
    free(e);

    static const uint8_t ek[32] = {
        0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
    };
    static const uint8_t st[8] = { 0x4D, 0x4D, 0x4D, 0, 0, 0xBC, 0x61, 0x4E };
    dlms_sec_keys_t k = { ek, (c.sc & 0x0F) == 2 ? 32 : 16, ek, 16 };
    uint8_t *out = malloc(c.content.len ? c.content.len : 1);
    rc = dlms_sec_unprotect(c.content.p, c.content.len,
                            c.system_title.p ? c.system_title.p : st, &k, out,
                            c.content.len, NULL, NULL);
    if (rc >= 0) {
        /* without authentication anything "deciphers"; with it only a genuine APDU */
        size_t tag_len = (c.sc & DLMS_SC_AUTHENTICATION) ? DLMS_GCM_TAG_LEN : 0;
        CHECK((size_t)rc == c.content.len - DLMS_SEC_HEADER_LEN - tag_len);
    } else {
        CHECK(rc == MS_EACCES || rc == MS_ETRUNC || rc == MS_ENOTSUP || rc == MS_EINVAL);
    }
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t caps[] = { 0, 64, 512, 4096, 65536, 1 << 20 };
    if (size < 1)
        return 0;
    size_t cap = caps[data[0] % 6];
    data++;
    size--;

    fuzz_ciphered(data, size);

    void *mem = malloc(cap ? cap : 1);
    dlms_arena_t a;
    dlms_arena_init(&a, mem, cap);
    dlms_apdu_t apdu;
    int rc = dlms_apdu_decode(data, size, &a, &apdu);
    if (rc < 0) {
        CHECK(rc == MS_ETRUNC || rc == MS_EFRAME || rc == MS_ETOOBIG || rc == MS_ENOMEM ||
              rc == MS_ENOTSUP);
        free(mem);
        return 0;
    }
    size_t ecap = size + 16;
    uint8_t *e1 = malloc(ecap), *e2 = malloc(ecap);
    ms_wr_t w;
    ms_wr_init(&w, e1, ecap);
    CHECK(dlms_apdu_encode(&w, &apdu) == 0); /* what decodes, encodes */
    CHECK(w.len <= size);
    size_t l1 = w.len;

    size_t cap2 = a.used + 64; /* the re-encoding needs no more nodes than the input */
    void *mem2 = malloc(cap2);
    dlms_arena_t a2;
    dlms_arena_init(&a2, mem2, cap2);
    dlms_apdu_t apdu2;
    CHECK(dlms_apdu_decode(e1, l1, &a2, &apdu2) == 0);
    CHECK(apdu2.tag == apdu.tag && apdu2.type == apdu.type &&
          apdu2.invoke_id_and_priority == apdu.invoke_id_and_priority);
    ms_wr_init(&w, e2, ecap);
    CHECK(dlms_apdu_encode(&w, &apdu2) == 0);
    CHECK(w.len == l1 && memcmp(e1, e2, l1) == 0);
    free(mem2);
    free(e1);
    free(e2);
    free(mem);
    return 0;
}
