/*
** fuzz_dlms_acse.c — libFuzzer target: AARQ/AARE/RLRQ/RLRE decoding. A decoded APDU must
** encode again (never longer than its input: inner lengths are re-encoded shortest, the
** outer keeps its form), decode again and encode to the same octets; the OID and name
** helpers run on what was decoded.
** SPDX-License-Identifier: MIT
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dlms_acse.h"
#include "ms_err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)     \
    do {             \
        if (!(x))    \
            abort(); \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    acse_apdu_t a;
    int rc = acse_decode(data, size, &a);
    if (rc < 0) {
        CHECK(rc == MS_ETRUNC || rc == MS_EFRAME || rc == MS_ENOTSUP);
        return 0;
    }
    (void)acse_context_id(a.application_context_name);
    (void)acse_mechanism_id(a.mechanism_name);
    (void)acse_requires_authentication(a.acse_requirements);
    CHECK(acse_diagnostic_name(a.result_source, a.diagnostic) != NULL);

    size_t ecap = size + 16;
    uint8_t *e1 = malloc(ecap), *e2 = malloc(ecap);
    ms_wr_t w;
    ms_wr_init(&w, e1, ecap);
    CHECK(acse_encode(&w, &a) == 0); /* what decodes, encodes */
    CHECK(w.len <= size);
    size_t l1 = w.len;
    acse_apdu_t b;
    CHECK(acse_decode(e1, l1, &b) == 0);
    CHECK(b.type == a.type && b.has_result == a.has_result && b.result == a.result &&
          b.result_source == a.result_source && b.diagnostic == a.diagnostic &&
          b.user_information.kind == a.user_information.kind);
    ms_wr_init(&w, e2, ecap);
    CHECK(acse_encode(&w, &b) == 0);
    CHECK(w.len == l1 && memcmp(e1, e2, l1) == 0);
    free(e1);
    free(e2);
    return 0;
}
