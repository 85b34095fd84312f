/*
** test_dlms_session.c — the association sessions back to back: dlms_client against
** dlms_server with the fake meter of dlms_fake_meter.h, for every mechanism (lowest,
** LLS, HLS-GMAC) with and without a ciphering policy and every ciphered framing; GET
** normal / with-list / selective access / block transfer, SET normal and with
** datablocks, ACTION normal and with parameter blocks and long answers, release. Then
** the server's standard answers to what a client should not send, checked byte for byte
** where the answer is fixed by the Green Book encoding (hand-built requests, so the
** server is not only checked against its own client): wrong LLS password, unknown
** client, unsupported context, wrong f(StoC), GET before HLS pass 3, replayed invocation
** counter, altered authentication tag, plain request under an encryption policy,
** malformed APDUs, wrong block numbers, a second AARQ.
** SPDX-License-Identifier: MIT
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "dlms_acse.h"
#include "dlms_client.h"
#include "dlms_fake_meter.h"
#include "dlms_security.h"
#include "dlms_server.h"
#include "dlms_test_util.h"
#include "ms_err.h"

#define BUF 70000

typedef struct pair {
    fake_meter_t m;
    dlms_server_ops_t ops;
    dlms_server_t *s;
    dlms_client_t *c;
    uint16_t csap;
    uint8_t req[BUF], resp[BUF];
    size_t req_len, resp_len;
    unsigned exchanges;
} pair_t;

static const uint8_t ctos16[16] = "CtoS-challenge16";

static dlms_client_cfg_t client_cfg(uint16_t sap)
{
    dlms_client_cfg_t c;
    memset(&c, 0, sizeof c);
    memcpy(c.password, "12345678", 8);
    c.password_len = 8;
    memcpy(c.ctos, ctos16, 16);
    c.ctos_len = 16;
    memcpy(c.ek, fm_ek, 16);
    memcpy(c.ak, fm_ak, 16);
    memcpy(c.client_title, fm_client_title, 8);
    c.max_pdu = 1024;
    c.ic = 1;
    switch (sap) {
    case FM_SAP_LLS:
        c.mechanism = DLMS_MECH_LLS;
        break;
    case FM_SAP_HLS:
        c.mechanism = DLMS_MECH_HLS_GMAC;
        break;
    case FM_SAP_LLS_ENC:
        c.mechanism = DLMS_MECH_LLS;
        c.ciphering = true;
        break;
    case FM_SAP_HLS_ENC:
        c.mechanism = DLMS_MECH_HLS_GMAC;
        c.ciphering = true;
        break;
    default:
        c.mechanism = DLMS_MECH_LOWEST;
        break;
    }
    return c;
}

static pair_t *pair_new(uint16_t sap, const dlms_client_cfg_t *ccfg,
                        const dlms_server_cfg_t *scfg)
{
    pair_t *p = calloc(1, sizeof *p);
    assert_non_null(p);
    fm_init(&p->m);
    p->ops = fm_ops(&p->m);
    int err = 0;
    p->s = dlms_server_new(scfg, &p->ops, &p->m, &err);
    assert_non_null(p->s);
    dlms_client_cfg_t cc = ccfg ? *ccfg : client_cfg(sap);
    p->c = dlms_client_new(&cc, &err);
    assert_non_null(p->c);
    p->csap = sap;
    return p;
}

static void pair_free(pair_t *p)
{
    dlms_client_free(p->c);
    dlms_server_free(p->s);
    fm_free(&p->m);
    free(p);
}

/* Server answer to p->req (appended to a fresh p->resp). */
static void serve(pair_t *p)
{
    ms_wr_t out;
    ms_wr_init(&out, p->resp, sizeof p->resp);
    assert_int_equal(dlms_server_apdu(p->s, p->csap, 1, p->req, p->req_len, &out), 0);
    p->resp_len = out.len;
    p->exchanges++;
}

/* Serve, feed, repeat while the client has a follow-up; the client's last code. */
static int exchange(pair_t *p)
{
    for (;;) {
        serve(p);
        ms_wr_t next;
        ms_wr_init(&next, p->req, sizeof p->req);
        int rc = dlms_client_feed(p->c, p->resp, p->resp_len, &next);
        p->req_len = next.len;
        if (rc != DLMS_CLIENT_SEND)
            return rc;
    }
}

#define BUILD(call)                             \
    do {                                        \
        ms_wr_t w_;                             \
        ms_wr_init(&w_, p->req, sizeof p->req); \
        assert_int_equal((call), 0);            \
        p->req_len = w_.len;                    \
    } while (0)
#define W (&w_)

static const dlms_client_result_t *associate(pair_t *p)
{
    BUILD(dlms_client_aarq(p->c, W));
    assert_int_equal(exchange(p), DLMS_CLIENT_DONE);
    return dlms_client_result(p->c);
}

static dlms_attr_sel_t attr(uint16_t cls, ms_obis_t ln, int8_t id)
{
    dlms_attr_sel_t s;
    memset(&s, 0, sizeof s);
    s.desc.class_id = cls;
    s.desc.instance_id = ln;
    s.desc.attribute_id = id;
    return s;
}

static const dlms_attr_sel_t *name_attr(void)
{
    static dlms_attr_sel_t s;
    s = attr(1, MS_OBIS(0, 0, 96, 1, 0, 255), 2);
    return &s;
}

static const dlms_attr_sel_t *profile_attr(void)
{
    static dlms_attr_sel_t s;
    s = attr(7, MS_OBIS(1, 0, 99, 1, 0, 255), 2);
    return &s;
}

/* The one GET result of the last operation, which must be data. */
static const dlms_data_t *got(pair_t *p)
{
    const dlms_client_result_t *r = dlms_client_result(p->c);
    assert_int_equal(r->apdu_tag, DLMS_TAG_GET_RESPONSE);
    assert_int_equal(r->count, 1);
    assert_true(r->get[0].is_data);
    return &r->get[0].data;
}

static const dlms_data_t *get_ok(pair_t *p, const dlms_attr_sel_t *a)
{
    BUILD(dlms_client_get(p->c, a, W));
    assert_int_equal(exchange(p), DLMS_CLIENT_DONE);
    return got(p);
}

static void expect_name(pair_t *p)
{
    const dlms_data_t *d = get_ok(p, name_attr());
    assert_int_equal(d->type, DLMS_OCTET_STRING);
    assert_int_equal(d->n, p->m.name_len);
    assert_memory_equal(d->v.bytes, p->m.name, p->m.name_len);
}

/* Decode the server's last answer as a plain xDLMS APDU. */
static void answer(pair_t *p, dlms_apdu_t *a)
{
    static uint64_t mem[1024];
    dlms_arena_t ar;
    dlms_arena_init(&ar, mem, sizeof mem);
    int rc = dlms_apdu_decode(p->resp, p->resp_len, &ar, a);
    if (rc < 0)
        t_dump("undecodable answer", p->resp, p->resp_len);
    assert_int_equal(rc, 0);
}

static void expect_exception(pair_t *p, uint8_t state, uint8_t service)
{
    dlms_apdu_t a;
    answer(p, &a);
    assert_int_equal(a.tag, DLMS_TAG_EXCEPTION_RESPONSE);
    assert_int_equal(a.u.exception.state_error, state);
    assert_int_equal(a.u.exception.service_error, service);
}

/* Send hand-built bytes (hex) to the server. */
static void raw(pair_t *p, const char *hex)
{
    p->req_len = t_hex(hex, p->req, sizeof p->req);
    serve(p);
}

static void expect_resp_hex(pair_t *p, const char *hex)
{
    uint8_t want[256];
    size_t n = t_hex(hex, want, sizeof want);
    if (p->resp_len != n || memcmp(p->resp, want, n) != 0) {
        t_dump("got", p->resp, p->resp_len);
        t_dump("want", want, n);
        fail();
    }
}

static void release(pair_t *p)
{
    BUILD(dlms_client_rlrq(p->c, W));
    assert_int_equal(exchange(p), DLMS_CLIENT_DONE);
    const dlms_client_result_t *r = dlms_client_result(p->c);
    assert_int_equal(r->apdu_tag, DLMS_TAG_RLRE);
    assert_true(r->has_reason);
    assert_int_equal(r->reason, ACSE_RELEASE_NORMAL);
    assert_false(dlms_client_associated(p->c));
    assert_false(dlms_server_associated(p->s, p->csap));
}

/* ---- every mechanism ---- */

static void check_accepted(pair_t *p, const dlms_client_result_t *r)
{
    assert_int_equal(r->apdu_tag, r->op == DLMS_OP_ASSOCIATE && r->action
                                      ? DLMS_TAG_ACTION_RESPONSE
                                      : DLMS_TAG_AARE);
    assert_true(r->associated);
    assert_true(dlms_client_associated(p->c));
    assert_true(dlms_server_associated(p->s, p->csap));
}

static void test_lowest(void **state)
{
    pair_t *p = pair_new(FM_SAP_PUBLIC, NULL, NULL);
    const dlms_client_result_t *r = associate(p);
    check_accepted(p, r);
    assert_int_equal(r->result, ACSE_RESULT_ACCEPTED);
    assert_int_equal(r->diagnostic, ACSE_DIAG_NULL);
    assert_true(r->has_initiate_response);
    assert_int_equal(r->initiate_response.dlms_version, 6);
    assert_int_equal(r->initiate_response.max_receive_pdu_size, 1024);
    assert_int_equal(r->initiate_response.vaa_name, DLMS_VAA_NAME_LN);
    /* negotiated = proposed (007E1F) & offered (the server default) */
    assert_int_equal(dlms_client_conformance(p->c),
                     DLMS_CLIENT_CONFORMANCE_DEFAULT & DLMS_SERVER_CONFORMANCE_DEFAULT);
    expect_name(p);
    /* Register value and scaler_unit */
    dlms_attr_sel_t reg = attr(3, MS_OBIS(1, 0, 1, 8, 0, 255), 2);
    const dlms_data_t *d = get_ok(p, &reg);
    assert_int_equal(d->type, DLMS_DOUBLE_LONG_UNSIGNED);
    assert_int_equal(d->v.u, 123456);
    reg.desc.attribute_id = 3;
    d = get_ok(p, &reg);
    assert_int_equal(d->type, DLMS_STRUCTURE);
    assert_int_equal(d->n, 2);
    assert_int_equal(d->v.items[0].type, DLMS_INTEGER);
    assert_int_equal(d->v.items[0].v.i, 0);
    assert_int_equal(d->v.items[1].type, DLMS_ENUM);
    assert_int_equal(d->v.items[1].v.u, 30);
    /* an undefined object is a result, not an error */
    dlms_attr_sel_t none = attr(1, MS_OBIS(0, 0, 96, 99, 0, 255), 2);
    BUILD(dlms_client_get(p->c, &none, W));
    assert_int_equal(exchange(p), DLMS_CLIENT_DONE);
    r = dlms_client_result(p->c);
    assert_false(r->get[0].is_data);
    assert_int_equal(r->get[0].dar, DLMS_DAR_OBJECT_UNDEFINED);
    /* attribute 0 without attribute0-supported-with-get */
    none = attr(1, MS_OBIS(0, 0, 96, 1, 0, 255), 0);
    BUILD(dlms_client_get(p->c, &none, W));
    assert_int_equal(exchange(p), DLMS_CLIENT_DONE);
    assert_int_equal(dlms_client_result(p->c)->get[0].dar, DLMS_DAR_OBJECT_UNAVAILABLE);
    /* the public client may not write */
    dlms_data_t v = dlms_data_string(DLMS_OCTET_STRING, "X", 1);
    BUILD(dlms_client_set(p->c, name_attr(), &v, W));
    assert_int_equal(exchange(p), DLMS_CLIENT_DONE);
    assert_int_equal(dlms_client_result(p->c)->set[0], DLMS_DAR_READ_WRITE_DENIED);
    release(p);
    /* after the release: a GET is outside any association */
    raw(p, "c001c100010000600100ff0200");
    expect_exception(p, DLMS_EXC_STATE_SERVICE_NOT_ALLOWED,
                     DLMS_EXC_SERVICE_OPERATION_NOT_POSSIBLE);
    pair_free(p);
}

static void test_lls(void **state)
{
    dlms_client_cfg_t cc = client_cfg(FM_SAP_LLS);
    memcpy(cc.password, "12345679", 8);
    pair_t *p = pair_new(FM_SAP_LLS, &cc, NULL);
    const dlms_client_result_t *r = associate(p);
    assert_int_equal(r->result, ACSE_RESULT_REJECTED_PERMANENT);
    assert_int_equal(r->result_source, ACSE_SOURCE_SERVICE_USER);
    assert_int_equal(r->diagnostic, ACSE_DIAG_AUTHENTICATION_FAILURE);
    assert_true(r->has_initiate_response); /* the xDLMS part itself was fine */
    assert_false(r->associated);
    assert_false(dlms_server_associated(p->s, FM_SAP_LLS));
    dlms_client_free(p->c);
    cc = client_cfg(FM_SAP_LLS);
    int err;
    p->c = dlms_client_new(&cc, &err);
    r = associate(p);
    check_accepted(p, r);
    expect_name(p);
    /* SET normal, read back */
    dlms_data_t v = dlms_data_string(DLMS_OCTET_STRING, "RENAMED", 7);
    BUILD(dlms_client_set(p->c, name_attr(), &v, W));
    assert_int_equal(exchange(p), DLMS_CLIENT_DONE);
    r = dlms_client_result(p->c);
    assert_int_equal(r->apdu_tag, DLMS_TAG_SET_RESPONSE);
    assert_int_equal(r->set[0], DLMS_DAR_SUCCESS);
    assert_int_equal(r->blocks, 0);
    expect_name(p);
    assert_memory_equal(p->m.name, "RENAMED", 7);
    release(p);
    pair_free(p);
}

static void test_hls(void **state)
{
    pair_t *p = pair_new(FM_SAP_HLS, NULL, NULL);
    const dlms_client_result_t *r = associate(p);
    check_accepted(p, r);
    assert_int_equal(r->count, 1);
    assert_int_equal(r->action[0].result, DLMS_ACTION_SUCCESS);
    assert_int_equal(p->exchanges, 2); /* AARQ/AARE, pass 3/4 */
    expect_name(p);
    release(p);
    pair_free(p);
}

/* Every ciphered framing, with LLS and HLS under the authenticated+encrypted policy. */
static void test_ciphered(void **state)
{
    static const dlms_client_framing_t framings[] = { DLMS_FRAMING_GLO, DLMS_FRAMING_DED,
                                                      DLMS_FRAMING_GENERAL_GLO,
                                                      DLMS_FRAMING_GENERAL_DED };
    static const uint16_t saps[] = { FM_SAP_LLS_ENC, FM_SAP_HLS_ENC };
    for (size_t si = 0; si < 2; si++) {
        for (size_t f = 0; f < 4; f++) {
            dlms_client_cfg_t cc = client_cfg(saps[si]);
            cc.framing = framings[f];
            cc.has_dedicated_key = true;
            for (int i = 0; i < 16; i++)
                cc.dedicated_key[i] = (uint8_t)(0xA0 + i);
            pair_t *p = pair_new(saps[si], &cc, NULL);
            const dlms_client_result_t *r = associate(p);
            check_accepted(p, r);
            assert_int_equal(r->rx_sc, 0x30);
            expect_name(p);
            r = dlms_client_result(p->c);
            assert_int_equal(r->rx_sc, 0x30);
            /* what went over the wire was ciphered in the requested framing */
            uint8_t want = f == 0   ? DLMS_TAG_GLO_GET_RESPONSE
                           : f == 1 ? DLMS_TAG_DED_GET_RESPONSE
                           : f == 2 ? DLMS_TAG_GENERAL_GLO_CIPHERING
                                    : DLMS_TAG_GENERAL_DED_CIPHERING;
            assert_int_equal(p->resp[0], want);
            /* SET and ACTION through the ciphering too */
            dlms_data_t v = dlms_data_string(DLMS_OCTET_STRING, "SECRET", 6);
            BUILD(dlms_client_set(p->c, name_attr(), &v, W));
            assert_int_equal(exchange(p), DLMS_CLIENT_DONE);
            assert_int_equal(dlms_client_result(p->c)->set[0], 0);
            dlms_method_desc_t reset = { 3, MS_OBIS(1, 0, 1, 8, 0, 255), 1 };
            dlms_data_t zero = dlms_data_int(DLMS_INTEGER, 0);
            BUILD(dlms_client_action(p->c, &reset, &zero, W));
            assert_int_equal(exchange(p), DLMS_CLIENT_DONE);
            assert_int_equal(dlms_client_result(p->c)->action[0].result, 0);
            assert_int_equal(p->m.energy, 0);
            /* the server's counters went up, the client's too */
            assert_true(dlms_client_ic(p->c) > 3);
            release(p);
            /* the RLRE carried a glo-ciphered InitiateResponse */
            r = dlms_client_result(p->c);
            assert_true(r->has_initiate_response);
            assert_int_equal(r->rx_sc, 0x30);
            pair_free(p);
        }
    }
}

/* ---- GET with-list, selective access, block transfer ---- */

static void test_get_list_and_selective(void **state)
{
    pair_t *p = pair_new(FM_SAP_PUBLIC, NULL, NULL);
    associate(p);
    dlms_attr_sel_t list[3] = { *name_attr(), attr(3, MS_OBIS(1, 0, 1, 8, 0, 255), 2),
                                attr(3, MS_OBIS(1, 0, 2, 8, 0, 255), 2) };
    BUILD(dlms_client_get_list(p->c, list, 3, W));
    assert_int_equal(exchange(p), DLMS_CLIENT_DONE);
    const dlms_client_result_t *r = dlms_client_result(p->c);
    assert_int_equal(r->op, DLMS_OP_GET_LIST);
    assert_int_equal(r->count, 3);
    assert_true(r->get[0].is_data);
    assert_int_equal(r->get[0].data.type, DLMS_OCTET_STRING);
    assert_true(r->get[1].is_data);
    assert_int_equal(r->get[1].data.v.u, 123456);
    assert_false(r->get[2].is_data);
    assert_int_equal(r->get[2].dar, DLMS_DAR_OBJECT_UNDEFINED);
    assert_int_equal(p->resp[1], DLMS_GET_RESPONSE_WITH_LIST);

    /* entry_descriptor {from 3, to 5, 1, 0}: passed to the provider unchanged */
    dlms_data_t items[4] = { dlms_data_uint(DLMS_DOUBLE_LONG_UNSIGNED, 3),
                             dlms_data_uint(DLMS_DOUBLE_LONG_UNSIGNED, 5),
                             dlms_data_uint(DLMS_LONG_UNSIGNED, 1),
                             dlms_data_uint(DLMS_LONG_UNSIGNED, 0) };
    dlms_attr_sel_t sel = *profile_attr();
    sel.access.present = true;
    sel.access.selector = 2;
    sel.access.parameters = dlms_data_list(DLMS_STRUCTURE, items, 4);
    const dlms_data_t *d = get_ok(p, &sel);
    assert_int_equal(d->type, DLMS_ARRAY);
    assert_int_equal(d->n, 3);
    assert_int_equal(d->v.items[0].v.items[1].v.u, 1000 + 2 * 7);
    assert_true(p->m.last_sel.access.present);
    assert_int_equal(p->m.last_sel.access.selector, 2);
    uint8_t enc[64];
    ms_wr_t w;
    ms_wr_init(&w, enc, sizeof enc);
    assert_int_equal(dlms_access_sel_write(&w, &sel.access), 0);
    assert_int_equal(p->m.last_access_len, w.len);
    assert_memory_equal(p->m.last_access, enc, w.len);
    pair_free(p);
}

static void test_get_blocks(void **state)
{
    dlms_client_cfg_t cc = client_cfg(FM_SAP_PUBLIC);
    cc.max_pdu = 256;
    pair_t *p = pair_new(FM_SAP_PUBLIC, &cc, NULL);
    associate(p);
    /* several kB in blocks of at most 256 octets, reassembled */
    const dlms_data_t *d = get_ok(p, profile_attr());
    const dlms_client_result_t *r = dlms_client_result(p->c);
    assert_true(p->m.profile_len > 4000);
    assert_true(r->blocks >= p->m.profile_len / 256);
    assert_int_equal(p->exchanges - 1, r->blocks);
    assert_int_equal(d->type, DLMS_ARRAY);
    assert_int_equal(d->n, FM_PROFILE_ROWS);
    uint8_t *enc = malloc(p->m.profile_len);
    ms_wr_t w;
    ms_wr_init(&w, enc, p->m.profile_len);
    assert_int_equal(axdr_encode_data(&w, d), 0);
    assert_int_equal(w.len, p->m.profile_len);
    assert_memory_equal(enc, p->m.profile, w.len);
    free(enc);
    /* the value buffer grew once (1 KiB -> 16 KiB: two provider calls); read again, the
     * value is encoded once and served from the same buffer */
    assert_int_equal(p->m.gets, 2);
    get_ok(p, profile_attr());
    assert_int_equal(p->m.gets, 3);
    /* a with-list answer too large for one APDU also goes in blocks */
    dlms_attr_sel_t list[2] = { *profile_attr(), *name_attr() };
    BUILD(dlms_client_get_list(p->c, list, 2, W));
    assert_int_equal(exchange(p), DLMS_CLIENT_DONE);
    r = dlms_client_result(p->c);
    assert_int_equal(r->count, 2);
    assert_true(r->blocks > 10);
    assert_int_equal(r->get[0].data.n, FM_PROFILE_ROWS);
    assert_int_equal(r->get[1].data.type, DLMS_OCTET_STRING);
    pair_free(p);
}

/* Hand-built GET-Request-Next with a wrong block number, and without a transfer. */
static void test_get_block_numbers(void **state)
{
    dlms_client_cfg_t cc = client_cfg(FM_SAP_PUBLIC);
    cc.max_pdu = 128;
    pair_t *p = pair_new(FM_SAP_PUBLIC, &cc, NULL);
    associate(p);
    raw(p, "c001c100070100630100ff0200");
    assert_int_equal(p->resp_len, 128);
    /* C4 02 C1, last-block FALSE, block 1, raw-data of 118 octets (10 + 118 = 128) */
    static const uint8_t head[] = { 0xC4, 0x02, 0xC1, 0x00, 0x00,
                                    0x00, 0x00, 0x01, 0x00, 118 };
    assert_memory_equal(p->resp, head, sizeof head);
    assert_memory_equal(p->resp + sizeof head, p->m.profile, 118);
    raw(p, "c002c100000002");                       /* block 2 was never sent */
    expect_resp_hex(p, "c402c1 01 00000002 01 13"); /* data-block-number-invalid */
    raw(p, "c002c100000001");                       /* the transfer was dropped */
    expect_resp_hex(p, "c402c1 01 00000001 01 10"); /* no-long-get-in-progress */
    /* a new GET starts over, and the right numbers go to the end */
    raw(p, "c001c100070100630100ff0200");
    uint32_t n = 1;
    size_t total = 0;
    for (;;) {
        dlms_apdu_t a;
        answer(p, &a);
        assert_int_equal(a.type, DLMS_GET_RESPONSE_WITH_DATABLOCK);
        assert_int_equal(a.u.get_resp.block.block_number, n);
        assert_true(a.u.get_resp.block.is_raw);
        assert_memory_equal(a.u.get_resp.block.raw.p, p->m.profile + total,
                            a.u.get_resp.block.raw.len);
        total += a.u.get_resp.block.raw.len;
        if (a.u.get_resp.block.last_block)
            break;
        char hex[32];
        snprintf(hex, sizeof hex, "c002c1%08x", n);
        raw(p, hex);
        n++;
    }
    assert_int_equal(total, p->m.profile_len);
    pair_free(p);
}

/* ---- SET with datablocks ---- */

static void test_set_blocks(void **state)
{
    dlms_server_cfg_t sc = { 0 };
    pair_t *p = pair_new(FM_SAP_LLS, NULL, &sc);
    p->m.clients[1].cfg.max_pdu = 256; /* the server receives at most 256 octets */
    associate(p);
    assert_int_equal(dlms_client_server_max_pdu(p->c), 256);
    /* a new profile buffer: rows 1..150 of another series */
    size_t rows = 150, len = 3 + rows * 21;
    uint8_t *buf = malloc(len);
    buf[0] = DLMS_ARRAY;
    buf[1] = 0x81;
    buf[2] = (uint8_t)rows;
    for (unsigned i = 0; i < rows; i++)
        fm_profile_row(buf + 3 + i * 21, 5000 + i);
    static uint64_t mem[8192];
    dlms_arena_t ar;
    dlms_arena_init(&ar, mem, sizeof mem);
    dlms_data_t v;
    assert_int_equal(axdr_decode(buf, len, &ar, &v), 0);
    BUILD(dlms_client_set(p->c, profile_attr(), &v, W));
    assert_int_equal(p->req[1], DLMS_SET_REQUEST_WITH_FIRST_DATABLOCK);
    assert_int_equal(exchange(p), DLMS_CLIENT_DONE);
    const dlms_client_result_t *r = dlms_client_result(p->c);
    assert_int_equal(r->set[0], DLMS_DAR_SUCCESS);
    assert_true(r->blocks >= len / 256);
    assert_int_equal(p->m.sets, 1); /* one set call with the whole value */
    assert_int_equal(p->m.profile_len, len);
    assert_memory_equal(p->m.profile, buf, len);
    /* and read back in blocks the other way */
    const dlms_data_t *d = get_ok(p, profile_attr());
    assert_int_equal(d->n, rows);
    free(buf);

    /* hand-built: a datablock without a first one, then a wrong first number */
    raw(p, "c103c1 00 00000002 03aabbcc");
    expect_resp_hex(p, "c503c1 12 00000002"); /* no-long-set-in-progress */
    raw(p, "c102c1 0001 0000600100ff 02 00 00 00000002 03 090361");
    expect_resp_hex(p, "c503c1 13 00000002"); /* data-block-number-invalid */
    /* a two-block SET by hand: 09 03 "abc" split 3 + 2 */
    raw(p, "c102c1 0001 0000600100ff 02 00 00 00000001 03 090361");
    expect_resp_hex(p, "c502c1 00000001");
    raw(p, "c103c1 00 00000003 026263"); /* skips 2 */
    expect_resp_hex(p, "c503c1 13 00000003");
    raw(p, "c102c1 0001 0000600100ff 02 00 00 00000001 03 090361");
    raw(p, "c103c1 01 00000002 026263");
    expect_resp_hex(p, "c503c1 00 00000002");
    assert_int_equal(p->m.name_len, 3);
    assert_memory_equal(p->m.name, "abc", 3);
    pair_free(p);
}

/* ---- ACTION ---- */

static void test_action(void **state)
{
    dlms_client_cfg_t cc = client_cfg(FM_SAP_LLS);
    cc.max_pdu = 200;
    pair_t *p = pair_new(FM_SAP_LLS, &cc, NULL);
    p->m.clients[1].cfg.max_pdu = 200;
    associate(p);
    dlms_method_desc_t reset = { 3, MS_OBIS(1, 0, 1, 8, 0, 255), 1 };
    dlms_data_t zero = dlms_data_int(DLMS_INTEGER, 0);
    BUILD(dlms_client_action(p->c, &reset, &zero, W));
    assert_int_equal(exchange(p), DLMS_CLIENT_DONE);
    const dlms_client_result_t *r = dlms_client_result(p->c);
    assert_int_equal(r->apdu_tag, DLMS_TAG_ACTION_RESPONSE);
    assert_int_equal(r->action[0].result, DLMS_ACTION_SUCCESS);
    assert_false(r->action[0].has_return_parameters);
    assert_int_equal(p->m.energy, 0);
    /* without parameters the fake refuses: an Action-Result, not an error */
    BUILD(dlms_client_action(p->c, &reset, NULL, W));
    assert_int_equal(exchange(p), DLMS_CLIENT_DONE);
    assert_int_equal(dlms_client_result(p->c)->action[0].result,
                     DLMS_ACTION_TYPE_UNMATCHED);
    /* echo with a small parameter: return parameters */
    dlms_method_desc_t echo = { 1, MS_OBIS(0, 128, 0, 0, 0, 255), 1 };
    dlms_data_t small = dlms_data_uint(DLMS_LONG_UNSIGNED, 4242);
    BUILD(dlms_client_action(p->c, &echo, &small, W));
    assert_int_equal(exchange(p), DLMS_CLIENT_DONE);
    r = dlms_client_result(p->c);
    assert_true(r->action[0].has_return_parameters);
    assert_true(r->action[0].return_parameters.is_data);
    assert_int_equal(r->action[0].return_parameters.data.v.u, 4242);
    /* echo with 1000 octets: parameter blocks out, a long answer back */
    uint8_t big[1000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 13);
    dlms_data_t bigv = dlms_data_string(DLMS_OCTET_STRING, big, sizeof big);
    BUILD(dlms_client_action(p->c, &echo, &bigv, W));
    assert_int_equal(p->req[1], DLMS_ACTION_REQUEST_WITH_FIRST_PBLOCK);
    assert_int_equal(exchange(p), DLMS_CLIENT_DONE);
    r = dlms_client_result(p->c);
    assert_int_equal(r->action[0].result, DLMS_ACTION_SUCCESS);
    assert_true(r->action[0].has_return_parameters);
    assert_int_equal(r->action[0].return_parameters.data.n, sizeof big);
    assert_memory_equal(r->action[0].return_parameters.data.v.bytes, big, sizeof big);
    assert_true(r->blocks >= 2 * (sizeof big / 200));
    /* an undefined method */
    dlms_method_desc_t none = { 9, MS_OBIS(0, 0, 10, 0, 0, 255), 1 };
    BUILD(dlms_client_action(p->c, &none, &small, W));
    assert_int_equal(exchange(p), DLMS_CLIENT_DONE);
    assert_int_equal(dlms_client_result(p->c)->action[0].result,
                     DLMS_ACTION_OBJECT_UNDEFINED);
    /* hand-built: next pblock / with-pblock without a transfer */
    raw(p, "c302c1 00000001");
    expect_resp_hex(p, "c701c1 10 00"); /* no-long-action-in-progress */
    raw(p, "c306c1 01 00000002 0100");
    expect_resp_hex(p, "c701c1 10 00");
    release(p);
    pair_free(p);
}

/* ---- refusals, byte for byte ---- */

/* AARQ: LN context, public client, plain InitiateRequest (conformance 007E1F, PDU 1024).
 */
#define AARQ_LOWEST "601da109060760857405080101be10040e01000000065f1f0400007e1f0400"

static void test_unknown_client_and_context(void **state)
{
    pair_t *p = pair_new(99, NULL, NULL);
    raw(p, AARQ_LOWEST);
    /* rejected-permanent, acse-service-user no-reason-given, ConfirmedServiceError
     * initiateError / initiate / other */
    expect_resp_hex(p, "611fa109060760857405080101a203020101a305a103020101"
                       "be0604040e010600");
    p->csap = FM_SAP_PUBLIC;
    /* SN referencing (context 2): application-context-name-not-supported, with the
     * xDLMS answer it would have given */
    raw(p, "601da109060760857405080102be10040e01000000065f1f0400007e1f0400");
    expect_resp_hex(p, "6129a109060760857405080101a203020101a305a103020102"
                       "be10040e0800065f1f0400001e1d04000007");
    /* LN without ciphering for a client whose policy needs it */
    p->csap = FM_SAP_LLS_ENC;
    raw(p, AARQ_LOWEST);
    acse_apdu_t a;
    assert_int_equal(acse_decode(p->resp, p->resp_len, &a), 0);
    assert_int_equal(a.result, ACSE_RESULT_REJECTED_PERMANENT);
    assert_int_equal(a.diagnostic, ACSE_DIAG_APPLICATION_CONTEXT_NAME_NOT_SUPPORTED);
    assert_int_equal(acse_context_id(a.application_context_name),
                     ACSE_CONTEXT_LN_CIPHERING);
    assert_int_equal(a.user_information.kind, DLMS_TAG_CONFIRMED_SERVICE_ERROR);
    /* mechanism: LLS asked of the public client, none asked of the LLS client */
    p->csap = FM_SAP_PUBLIC;
    raw(p, "6036a1090607608574050801018a0207808b0760857405080201ac0a80083132333435363738"
           "be10040e01000000065f1f0400007e1f0400");
    assert_int_equal(acse_decode(p->resp, p->resp_len, &a), 0);
    assert_int_equal(a.diagnostic,
                     ACSE_DIAG_AUTHENTICATION_MECHANISM_NAME_NOT_RECOGNISED);
    p->csap = FM_SAP_LLS;
    raw(p, AARQ_LOWEST);
    assert_int_equal(acse_decode(p->resp, p->resp_len, &a), 0);
    assert_int_equal(a.diagnostic, ACSE_DIAG_AUTHENTICATION_MECHANISM_NAME_REQUIRED);
    /* HLS mechanism (5) asked of the LLS client */
    raw(p, "6036a1090607608574050801018a0207808b0760857405080205ac0a80083132333435363738"
           "be10040e01000000065f1f0400007e1f0400");
    assert_int_equal(acse_decode(p->resp, p->resp_len, &a), 0);
    assert_int_equal(a.diagnostic,
                     ACSE_DIAG_AUTHENTICATION_MECHANISM_NAME_NOT_RECOGNISED);
    /* xDLMS: PDU size 11 is reserved -> ConfirmedServiceError pdu-size-too-short */
    p->csap = FM_SAP_PUBLIC;
    raw(p, "601da109060760857405080101be10040e01000000065f1f0400007e1f000b");
    expect_resp_hex(p, "611fa109060760857405080101a203020101a305a103020101"
                       "be0604040e010603");
    /* no common conformance bit -> incompatible-conformance */
    raw(p, "601da109060760857405080101be10040e01000000065f1f0400000000 0400");
    expect_resp_hex(p, "611fa109060760857405080101a203020101a305a103020101"
                       "be0604040e010602");
    /* protocol-version without version1 */
    raw(p, "6021800207 00a109060760857405080101be10040e01000000065f1f0400007e1f0400");
    assert_int_equal(acse_decode(p->resp, p->resp_len, &a), 0);
    assert_int_equal(a.result_source, ACSE_SOURCE_SERVICE_PROVIDER);
    assert_int_equal(a.diagnostic, ACSE_PROVIDER_NO_COMMON_ACSE_VERSION);
    /* malformed AARQ: rejected by the ACSE provider */
    raw(p, "6005a1030601");
    assert_int_equal(acse_decode(p->resp, p->resp_len, &a), 0);
    assert_int_equal(a.result, ACSE_RESULT_REJECTED_PERMANENT);
    assert_int_equal(a.result_source, ACSE_SOURCE_SERVICE_PROVIDER);
    assert_false(dlms_server_associated(p->s, FM_SAP_PUBLIC));
    pair_free(p);
}

static void test_second_aarq(void **state)
{
    pair_t *p = pair_new(FM_SAP_PUBLIC, NULL, NULL);
    associate(p);
    raw(p, AARQ_LOWEST);
    expect_resp_hex(p, "611fa109060760857405080101a203020101a305a103020101"
                       "be0604040e010600");
    assert_true(dlms_server_associated(p->s, FM_SAP_PUBLIC));
    expect_name(p); /* the first association is untouched */
    /* another client SAP on the same link has its own association */
    p->csap = FM_SAP_LLS;
    raw(p, "6036a1090607608574050801018a0207808b0760857405080201ac0a80083132333435363738"
           "be10040e01000000065f1f0400007e1f0400");
    acse_apdu_t a;
    assert_int_equal(acse_decode(p->resp, p->resp_len, &a), 0);
    assert_int_equal(a.result, ACSE_RESULT_ACCEPTED);
    assert_true(dlms_server_associated(p->s, FM_SAP_LLS));
    assert_true(dlms_server_associated(p->s, FM_SAP_PUBLIC));
    /* RLRQ without association, and the link ending */
    p->csap = FM_SAP_HLS;
    raw(p, "6203800100");
    expect_resp_hex(p, "6303800100");
    dlms_server_reset(p->s);
    assert_false(dlms_server_associated(p->s, FM_SAP_LLS));
    assert_false(dlms_server_associated(p->s, FM_SAP_PUBLIC));
    pair_free(p);
}

/* HLS: a GET before pass 3, a wrong f(StoC), the right one after a new AARQ. */
static void test_hls_refusals(void **state)
{
    pair_t *p = pair_new(FM_SAP_HLS, NULL, NULL);
    BUILD(dlms_client_aarq(p->c, W));
    serve(p);
    acse_apdu_t a;
    assert_int_equal(acse_decode(p->resp, p->resp_len, &a), 0);
    assert_int_equal(a.result, ACSE_RESULT_ACCEPTED);
    assert_int_equal(a.diagnostic, ACSE_DIAG_AUTHENTICATION_REQUIRED);
    assert_int_equal(a.authentication_value.value.len, 16);
    assert_true(acse_requires_authentication(a.acse_requirements));
    assert_int_equal(acse_mechanism_id(a.mechanism_name), ACSE_MECHANISM_HIGH_GMAC);
    assert_false(dlms_server_associated(p->s, FM_SAP_HLS));
    /* keep the client's pass 3 for later */
    ms_wr_t w;
    uint8_t pass3[128];
    ms_wr_init(&w, pass3, sizeof pass3);
    assert_int_equal(dlms_client_feed(p->c, p->resp, p->resp_len, &w), DLMS_CLIENT_SEND);
    size_t pass3_len = w.len;
    /* GET before pass 3 */
    raw(p, "c001c100010000600100ff0200");
    expect_resp_hex(p, "d80101");
    /* pass 3 with a wrong f(StoC): read-write-denied, association dropped */
    uint8_t bad[128];
    memcpy(bad, pass3, pass3_len);
    bad[pass3_len - 1] ^= 0x01;
    memcpy(p->req, bad, pass3_len);
    p->req_len = pass3_len;
    serve(p);
    expect_resp_hex(p, "c701c10300");
    assert_false(dlms_server_associated(p->s, FM_SAP_HLS));
    memcpy(p->req, pass3, pass3_len);
    p->req_len = pass3_len;
    serve(p); /* the right value is too late: no association any more */
    expect_resp_hex(p, "d80101");
    /* a fresh association with the right pass 3 */
    dlms_client_free(p->c);
    dlms_client_cfg_t cc = client_cfg(FM_SAP_HLS);
    int err;
    p->c = dlms_client_new(&cc, &err);
    check_accepted(p, associate(p));
    /* pass 3 again once open: refused, the association stays */
    raw(p, "c301c1000f0000280000ff010109111000000001000000000000000000000000");
    expect_resp_hex(p, "c701c10300");
    assert_true(dlms_server_associated(p->s, FM_SAP_HLS));
    /* a server whose f(CtoS) is wrong is refused by the client */
    dlms_client_free(p->c);
    p->c = dlms_client_new(&cc, &err);
    dlms_server_reset(p->s);
    BUILD(dlms_client_aarq(p->c, W));
    serve(p);
    ms_wr_init(&w, p->req, sizeof p->req);
    assert_int_equal(dlms_client_feed(p->c, p->resp, p->resp_len, &w), DLMS_CLIENT_SEND);
    p->req_len = w.len;
    serve(p);
    p->resp[p->resp_len - 1] ^= 0x80; /* the last octet of f(CtoS) */
    ms_wr_init(&w, p->req, sizeof p->req);
    assert_int_equal(dlms_client_feed(p->c, p->resp, p->resp_len, &w), MS_EACCES);
    assert_false(dlms_client_associated(p->c));
    pair_free(p);
}

/* Ciphered association: replayed counter, altered tag, plain request, wrong framing. */
static void test_security_refusals(void **state)
{
    pair_t *p = pair_new(FM_SAP_LLS_ENC, NULL, NULL);
    check_accepted(p, associate(p));
    /* a plain GET under the policy */
    raw(p, "c001c100010000600100ff0200");
    expect_resp_hex(p, "d80101");
    /* a GET, answered; then the same APDU again */
    BUILD(dlms_client_get(p->c, name_attr(), W));
    uint8_t once[256];
    size_t once_len = p->req_len;
    memcpy(once, p->req, once_len);
    assert_int_equal(exchange(p), DLMS_CLIENT_DONE);
    got(p);
    memcpy(p->req, once, once_len);
    p->req_len = once_len;
    serve(p);
    /* invocation-counter-error with the refused counter (the GET used IC 2) */
    expect_resp_hex(p, "d8010600000002");
    /* an altered authentication tag: deciphering-error, nothing accepted */
    BUILD(dlms_client_get(p->c, name_attr(), W));
    p->req[p->req_len - 1] ^= 0x01;
    serve(p);
    expect_resp_hex(p, "d80105");
    ms_wr_t w;
    ms_wr_init(&w, p->req, sizeof p->req);
    assert_int_equal(dlms_client_feed(p->c, p->resp, p->resp_len, &w), DLMS_CLIENT_DONE);
    assert_int_equal(dlms_client_result(p->c)->apdu_tag, DLMS_TAG_EXCEPTION_RESPONSE);
    /* authenticated-only (SC 0x10) where encryption is required */
    uint8_t plain[] = { 0xC0, 0x01, 0xC1, 0x00, 0x01, 0x00, 0x00,
                        0x60, 0x01, 0x00, 0xFF, 0x02, 0x00 };
    dlms_sec_keys_t k = { fm_ek, 16, fm_ak, 16 };
    ms_wr_init(&w, p->req, sizeof p->req);
    assert_int_equal(dlms_cipher_apdu(&w, DLMS_TAG_GLO_GET_REQUEST, fm_client_title, 0x10,
                                      100, &k, plain, sizeof plain),
                     0);
    p->req_len = w.len;
    serve(p);
    expect_resp_hex(p, "d80101");
    /* another sender's system title in general-glo-ciphering */
    uint8_t other[8] = "OTHER-01";
    ms_wr_init(&w, p->req, sizeof p->req);
    assert_int_equal(dlms_cipher_apdu(&w, DLMS_TAG_GENERAL_GLO_CIPHERING, other, 0x30,
                                      101, &k, plain, sizeof plain),
                     0);
    p->req_len = w.len;
    serve(p);
    expect_resp_hex(p, "d80105");
    /* ded- without a dedicated key in this association */
    ms_wr_init(&w, p->req, sizeof p->req);
    assert_int_equal(dlms_cipher_apdu(&w, DLMS_TAG_DED_GET_REQUEST, fm_client_title, 0x30,
                                      102, &k, plain, sizeof plain),
                     0);
    p->req_len = w.len;
    serve(p);
    expect_resp_hex(p, "d80105");
    /* general-ciphering (DD) is not supported */
    raw(p, "dd0000");
    expect_resp_hex(p, "d80202");
    /* a counter far ahead is fine (gaps are allowed), and the association still works */
    ms_wr_init(&w, p->req, sizeof p->req);
    assert_int_equal(dlms_cipher_apdu(&w, DLMS_TAG_GLO_GET_REQUEST, fm_client_title, 0x30,
                                      1000, &k, plain, sizeof plain),
                     0);
    p->req_len = w.len;
    serve(p);
    assert_int_equal(p->resp[0], DLMS_TAG_GLO_GET_RESPONSE);
    dlms_client_set_ic(p->c, 1001);
    expect_name(p);
    /* the client refuses a replayed answer */
    uint8_t ans[256];
    size_t ans_len = p->resp_len;
    memcpy(ans, p->resp, ans_len);
    BUILD(dlms_client_get(p->c, name_attr(), W));
    ms_wr_init(&w, p->req, sizeof p->req);
    assert_int_equal(dlms_client_feed(p->c, ans, ans_len, &w), MS_EREPLAY);
    /* a ciphered APDU in an association without the ciphering context */
    pair_t *q = pair_new(FM_SAP_LLS, NULL, NULL);
    associate(q);
    memcpy(q->req, once, once_len);
    q->req_len = once_len;
    serve(q);
    expect_resp_hex(q, "d80102");
    pair_free(q);
    pair_free(p);
}

static void test_malformed(void **state)
{
    dlms_server_cfg_t sc = { 0 };
    pair_t *p = pair_new(FM_SAP_PUBLIC, NULL, &sc);
    /* outside an association */
    raw(p, "c001c100010000600100ff0200");
    expect_resp_hex(p, "d80101");
    raw(p, "c8123001234567aabbccddeeff00112233445566"); /* ciphered, no association */
    expect_resp_hex(p, "d80101");
    associate(p);
    raw(p, "c001");
    expect_resp_hex(p, "d80103"); /* truncated: other-reason */
    raw(p, "c007c1");
    expect_resp_hex(p, "d80103"); /* no such GET-Request CHOICE */
    raw(p, "c001c100010000600100ff02020000");
    expect_resp_hex(p, "d80103"); /* access-selection presence octet 2 */
    raw(p, "c001c100010000600100ff020000");
    expect_resp_hex(p, "d80103"); /* an octet after the APDU */
    raw(p, "ff00");
    expect_resp_hex(p, "d80202"); /* unknown tag: service-unknown */
    raw(p, "c401c1000600000001");
    expect_resp_hex(p, "d80202"); /* a response sent to the server */
    raw(p, "0501020304");
    expect_resp_hex(p, "d80202"); /* SN readRequest */
    raw(p, "6103800100");
    expect_resp_hex(p, "d80202"); /* an AARE */
    raw(p, "0f00000001000100");   /* data-notification: unconfirmed, no answer */
    assert_int_equal(p->resp_len, 0);
    p->req_len = 0;
    serve(p); /* empty APDU: nothing */
    assert_int_equal(p->resp_len, 0);
    /* longer than the server's max receive PDU size (1024) */
    memset(p->req, 0, 1100);
    memcpy(p->req, "\xc0\x01\xc1", 3);
    p->req_len = 1100;
    serve(p);
    expect_resp_hex(p, "d80104");
    /* with-list without multiple-references negotiated */
    pair_t *q = pair_new(FM_SAP_PUBLIC, NULL, NULL);
    q->m.clients[0].cfg.conformance = DLMS_CONF_GET;
    associate(q);
    raw(q, "c003c102000100006001 00ff0200000100006001 00ff0200");
    expect_resp_hex(q, "d80102");
    raw(q, "c101c100010000600100ff0200090141");
    expect_resp_hex(q, "d80102"); /* SET not negotiated */
    pair_free(q);
    /* the association survived it all */
    expect_name(p);
    /* out too small for even an exception: MS_ENOSPC, nothing written */
    uint8_t tiny[2];
    ms_wr_t w;
    ms_wr_init(&w, tiny, sizeof tiny);
    assert_int_equal(
        dlms_server_apdu(p->s, FM_SAP_PUBLIC, 1, (const uint8_t *)"\xff", 1, &w),
        MS_ENOSPC);
    assert_int_equal(w.len, 0);
    /* a ciphered association whose answer room is too small for even one block (found
     * by fuzz_dlms_server: an empty plaintext was ciphered) */
    pair_t *e = pair_new(FM_SAP_LLS_ENC, NULL, NULL);
    {
        pair_t *p_ = p;
        p = e;
        associate(p);
        BUILD(dlms_client_get(p->c, name_attr(), W));
        p = p_;
    }
    uint8_t small[40];
    ms_wr_init(&w, small, sizeof small);
    assert_int_equal(dlms_server_apdu(e->s, FM_SAP_LLS_ENC, 1, e->req, e->req_len, &w),
                     0);
    assert_int_equal(w.len, 3);
    assert_memory_equal(small, "\xd8\x01\x04", 3);
    pair_free(e);
    /* the answer is appended after a caller's header */
    uint8_t hdrbuf[64] = { 0xE6, 0xE7, 0x00 };
    ms_wr_init(&w, hdrbuf, sizeof hdrbuf);
    w.len = 3;
    assert_int_equal(
        dlms_server_apdu(p->s, FM_SAP_PUBLIC, 1, (const uint8_t *)"\xff", 1, &w), 0);
    assert_int_equal(w.len, 6);
    assert_memory_equal(hdrbuf, "\xe6\xe7\x00\xd8\x02\x02", 6);
    pair_free(p);
}

/* The client's own checks: state errors, unexpected answers. */
static void test_client_states(void **state)
{
    pair_t *p = pair_new(FM_SAP_PUBLIC, NULL, NULL);
    ms_wr_t w;
    ms_wr_init(&w, p->req, sizeof p->req);
    assert_int_equal(dlms_client_get(p->c, name_attr(), &w), MS_ESTATE);
    assert_int_equal(dlms_client_feed(p->c, (const uint8_t *)"\xc4", 1, &w), MS_ESTATE);
    associate(p);
    ms_wr_init(&w, p->req, sizeof p->req);
    assert_int_equal(dlms_client_aarq(p->c, &w), MS_ESTATE);
    BUILD(dlms_client_get(p->c, name_attr(), W));
    ms_wr_init(&w, p->req, sizeof p->req);
    assert_int_equal(dlms_client_get(p->c, name_attr(), &w), MS_ESTATE); /* busy */
    /* a SET-Response to a GET */
    assert_int_equal(dlms_client_feed(p->c, (const uint8_t *)"\xc5\x01\xc1\x00", 4, &w),
                     MS_EPROTO);
    /* another invoke-id */
    BUILD(dlms_client_get(p->c, name_attr(), W));
    assert_int_equal(
        dlms_client_feed(p->c, (const uint8_t *)"\xc4\x01\xc2\x01\x04", 5, &w),
        MS_EPROTO);
    /* a truncated answer */
    BUILD(dlms_client_get(p->c, name_attr(), W));
    assert_int_equal(
        dlms_client_feed(p->c, (const uint8_t *)"\xc4\x01\xc1\x00\x09\x05", 6, &w),
        MS_ETRUNC);
    /* an exception-response ends the operation as a result */
    BUILD(dlms_client_get(p->c, name_attr(), W));
    assert_int_equal(dlms_client_feed(p->c, (const uint8_t *)"\xd8\x01\x03", 3, &w),
                     DLMS_CLIENT_DONE);
    const dlms_client_result_t *r = dlms_client_result(p->c);
    assert_int_equal(r->apdu_tag, DLMS_TAG_EXCEPTION_RESPONSE);
    assert_int_equal(r->exception.service_error, DLMS_EXC_SERVICE_OTHER_REASON);
    assert_true(dlms_client_associated(p->c)); /* still open */
    /* a block out of order */
    BUILD(dlms_client_get(p->c, name_attr(), W));
    assert_int_equal(
        dlms_client_feed(p->c,
                         (const uint8_t *)"\xc4\x02\xc1\x00\x00\x00\x00\x02\x00\x01\x00",
                         11, &w),
        MS_EPROTO);
    pair_free(p);
}

static unsigned trace_tx, trace_rx;
static void on_trace(void *ctx, bool sent, const uint8_t *wire, size_t wl,
                     const uint8_t *plain, size_t pl)
{
    if (sent)
        trace_tx++;
    else
        trace_rx++;
    assert_non_null(plain);
    assert_true(pl > 0 && wl >= pl);
}

static void test_trace(void **state)
{
    pair_t *p = pair_new(FM_SAP_HLS_ENC, NULL, NULL);
    dlms_client_set_trace(p->c, on_trace, NULL);
    associate(p);
    expect_name(p);
    release(p);
    assert_int_equal(trace_tx, 4); /* AARQ, pass 3, GET, RLRQ */
    assert_int_equal(trace_rx, 4);
    pair_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lowest),
        cmocka_unit_test(test_lls),
        cmocka_unit_test(test_hls),
        cmocka_unit_test(test_ciphered),
        cmocka_unit_test(test_get_list_and_selective),
        cmocka_unit_test(test_get_blocks),
        cmocka_unit_test(test_get_block_numbers),
        cmocka_unit_test(test_set_blocks),
        cmocka_unit_test(test_action),
        cmocka_unit_test(test_unknown_client_and_context),
        cmocka_unit_test(test_second_aarq),
        cmocka_unit_test(test_hls_refusals),
        cmocka_unit_test(test_security_refusals),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_client_states),
        cmocka_unit_test(test_trace),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
