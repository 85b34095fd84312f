/*
** fuzz_cosem_view.c — libFuzzer target: xDLMS requests into a DLMS server session whose
** objects are the real COSEM view of a meter (sim/view_cosem*.c over the model
** ms3p-direct), so the view's decoding of SET values, ACTION parameters and selective
** access parameters meets arbitrary trees. The client is associated by the harness
** (lowest authentication as SAP 16, or LLS as SAP 17 given "manage" access here so that
** SET and ACTION reach the view). Every call must return 0 or MS_ENOSPC and every answer
** must decode as an xDLMS APDU; the meter must stay consistent (its time never goes
** backwards, its energy never decreases).
**
** Input: one configuration octet (bit 0: client 17 instead of 16; bit 1: a day of
** consumption first; bits 2-3: the meter advances 0, 15 min, 1 h or 1 day between
** requests), then records: length(2, big-endian) bytes(length), each an APDU.
** SPDX-License-Identifier: MIT
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlms_apdu.h"
#include "dlms_client.h"
#include "dlms_server.h"
#include "load.h"
#include "meter.h"
#include "model.h"
#include "ms_err.h"
#include "view_cosem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)     \
    do {             \
        if (!(x))    \
            abort(); \
    } while (0)

static ms_model_t *model(void)
{
    static ms_model_t *md;
    if (!md) {
        md = calloc(1, sizeof *md);
        char msg[512];
        const char *dir = getenv("MS_SOURCE_DIR");
        char path[1024];
        snprintf(path, sizeof path, "%s/sim/models/ms3p-direct.lua", dir ? dir : ".");
        if (ms_model_load(path, md, msg, sizeof msg) != 0) {
            fprintf(stderr, "%s\n", msg);
            abort();
        }
        for (size_t i = 0; i < md->dlms.nclients; i++)
            if (md->dlms.clients[i].sap == 17)
                md->dlms.clients[i].access = MS_DLMS_MANAGE;
    }
    return md;
}

static uint8_t out_buf[70000], req_buf[2048];

static void feed(dlms_server_t *s, uint16_t sap, const uint8_t *apdu, size_t n)
{
    ms_wr_t w;
    ms_wr_init(&w, out_buf, 1024);
    int rc = dlms_server_apdu(s, sap, 1, apdu, n, &w);
    CHECK(rc == 0 || rc == MS_ENOSPC);
    if (rc == 0 && w.len > 0 && out_buf[0] != 0x61 && out_buf[0] != 0x63) {
        static uint8_t arena_mem[1 << 16];
        dlms_arena_t a;
        dlms_arena_init(&a, arena_mem, sizeof arena_mem);
        dlms_apdu_t apd;
        CHECK(dlms_apdu_decode(out_buf, w.len, &a, &apd) == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    ms_model_t *md = model();
    const int64_t t0 = 1452762000000LL; /* 2016-01-14T09:00:00Z */
    int err = 0;
    ms_meter_t *m =
        ms_meter_new("f", md, ms_load_constant(1200000, 300000, NULL), t0, &err);
    CHECK(m);
    ms_cosem_t *v = ms_cosem_new(m, md, NULL, &err);
    CHECK(v);
    dlms_server_t *s = dlms_server_new(NULL, &ms_cosem_ops, v, &err);
    CHECK(s);
    const uint8_t cfg = data[0];
    const uint16_t sap = cfg & 1 ? 17 : 16;
    static const int64_t step[4] = { 0, 900000, 3600000, 86400000 };
    int64_t t = t0 + (cfg & 2 ? 86400000 : 0);
    ms_meter_advance(m, t);

    /* associate (AARQ from the client session) */
    dlms_client_cfg_t cc;
    memset(&cc, 0, sizeof cc);
    if (sap == 17) {
        cc.mechanism = DLMS_MECH_LLS;
        memcpy(cc.password, "00000000", 8);
        cc.password_len = 8;
    }
    dlms_client_t *c = dlms_client_new(&cc, &err);
    CHECK(c);
    ms_wr_t w;
    ms_wr_init(&w, req_buf, sizeof req_buf);
    CHECK(dlms_client_aarq(c, &w) == 0);
    feed(s, sap, req_buf, w.len);
    CHECK(dlms_server_associated(s, sap));
    dlms_client_free(c);

    size_t pos = 1;
    while (pos + 2 <= size) {
        size_t n = (size_t)data[pos] << 8 | data[pos + 1];
        pos += 2;
        if (n > size - pos)
            n = size - pos;
        int64_t before = m->regs.energy[0][0];
        feed(s, sap, data + pos, n);
        pos += n;
        t += step[(cfg >> 2) & 3];
        ms_meter_advance(m, t);
        CHECK(m->regs.energy[0][0] >= before);
        CHECK(m->t_ms == t);
    }
    dlms_server_free(s);
    ms_cosem_free(v);
    ms_meter_free(m);
    return 0;
}
