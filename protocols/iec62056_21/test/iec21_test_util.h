/*
** iec21_test_util.h — helpers shared by the IEC 62056-21 unit tests: third-party
** streams from MS_SHARED_DATA, action and event recorders.
** SPDX-License-Identifier: MIT
*/
#ifndef IEC21_TEST_UTIL_H
#define IEC21_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iec21_meter.h"
#include "ms_check.h"

/* Directory of the smartmeter-obis streams (Apollon77/smartmeter-obis tests, MIT; see
 * ../shared/data/README.md). Fails the whole test program loudly when absent. */
static inline const char *t_stream_dir(void)
{
    static char dir[1024];
    const char *base = getenv("MS_SHARED_DATA");
    if (!base || !*base) {
        fprintf(stderr, "MS_SHARED_DATA is not set: run the test through ctest\n");
        abort();
    }
    snprintf(dir, sizeof dir, "%s/iec62056-21/smartmeter-obis", base);
    return dir;
}

/* Read a whole stream file; aborts when it is missing (a missing vector is a failure,
 * not a skip). *len receives its size; free() the result. */
static inline uint8_t *t_load_stream(const char *name, size_t *len)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", t_stream_dir(), name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "missing third-party vector %s\n", path);
        abort();
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)n + 1);
    if (!b || fread(b, 1, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "cannot read %s\n", path);
        abort();
    }
    fclose(f);
    b[n] = 0;
    *len = (size_t)n;
    return b;
}

/* A block STX|SOH body ETX bcc built by hand: the BCC comes from ms_bcc (checked
 * against published vectors in test_common and test_iec21_msg). */
static inline size_t t_block(uint8_t *dst, uint8_t start, const char *body, bool partial)
{
    size_t n = strlen(body);
    dst[0] = start;
    memcpy(dst + 1, body, n);
    dst[1 + n] = partial ? 0x04 : 0x03;
    dst[2 + n] = ms_bcc(dst + 1, n + 1);
    return n + 3;
}

/* One recorded action, with a copy of the bytes. */
typedef struct t_act {
    iec21_action_type_t type;
    unsigned delay_ms;
    unsigned baud;
    size_t len;
    uint8_t data[4096];
} t_act_t;

#endif
