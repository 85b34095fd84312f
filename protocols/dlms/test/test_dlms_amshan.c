/*
** test_dlms_amshan.c — Norwegian/Swedish HAN push messages (LLC + DATA-NOTIFICATION) from
** Aidon, Kaifa and Kamstrup meters: each decodes, re-encodes byte for byte, and yields
*the
** registers of the HAN lists (OBIS codes, values, scaler and unit, clock).
** SPDX-License-Identifier: MIT
**
** Source: toreamun/amshan tests (MIT), as stored in $MS_SHARED_DATA/dlms/amshan_norway/
** (*.llc_apdu.hex; the "real_sample" files are captures from meters). The HDLC frames in
** that folder belong to protocols/hdlc and are not read here.
**
** The expected values below were read by hand from the hex dumps, field by field, with
*the
** list layouts of the NVE / Norwegian HAN documentation: Aidon sends an array of
** {OBIS, value[, {scaler, unit}]} structures; Kamstrup and Kaifa's Swedish list send one
** structure alternating OBIS and value (Kamstrup first a list version string); Kaifa's
** Norwegian lists send bare values in a fixed order. Units (Blue Book enum): 27 W,
** 29 var, 30 Wh, 32 varh, 33 A, 35 V. A plausibility check then asks every phase voltage
** to be 200..260 V: a decoder that mis-sized a field would not pass it by chance.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dlms_apdu.h"
#include "dlms_test_util.h"
#include "ms_err.h"
#include "ms_obis.h"

typedef struct chk {
    const char *obis; /* six dotted groups, or NULL to use pos */
    int pos;          /* index into a positional structure */
    char kind;        /* 'i' integer, 's' string, 't' date-time (v = UTC or local s) */
    int64_t v;
    const char *s;
    int scaler; /* checked when unit != 0 */
    int unit;
} chk_t;

typedef struct push {
    const char *file;
    uint32_t liip;
    int dt_form; /* DLMS_DN_DATE_TIME_* */
    int64_t dt;  /* notification date-time as seconds, or -1 when none */
    uint8_t body_type;
    uint32_t body_n;
    chk_t checks[24];
} push_t;

#define I(o, val)                   \
    {                               \
        o, -1, 'i', val, NULL, 0, 0 \
    }
#define IU(o, val, sc, u)            \
    {                                \
        o, -1, 'i', val, NULL, sc, u \
    }
#define S(o, str)                \
    {                            \
        o, -1, 's', 0, str, 0, 0 \
    }
#define T(o, t)                   \
    {                             \
        o, -1, 't', t, NULL, 0, 0 \
    }
#define PI(p, val)                    \
    {                                 \
        NULL, p, 'i', val, NULL, 0, 0 \
    }
#define PS(p, str)                 \
    {                              \
        NULL, p, 's', 0, str, 0, 0 \
    }
#define PT(p, t)                    \
    {                               \
        NULL, p, 't', t, NULL, 0, 0 \
    }

static const push_t pushes[] = {
    { "aidon_no_list_1.llc_apdu.hex",
      0x40000000,
      0,
      -1,
      DLMS_ARRAY,
      1,
      { IU("1.0.1.7.0.255", 280, 0, 27) } },
    { "aidon_no_list_2.llc_apdu.hex",
      0x40000000,
      0,
      -1,
      DLMS_ARRAY,
      12,
      { S("1.1.0.2.129.255", "AIDON_V0001"), S("0.0.96.1.0.255", "7359992892587665"),
        S("0.0.96.1.7.255", "6525"), IU("1.0.1.7.0.255", 280, 0, 27),
        IU("1.0.2.7.0.255", 0, 0, 27), IU("1.0.3.7.0.255", 0, 0, 29),
        IU("1.0.4.7.0.255", 128, 0, 29), IU("1.0.31.7.0.255", 13, -1, 33),
        IU("1.0.71.7.0.255", 9, -1, 33), IU("1.0.32.7.0.255", 2274, -1, 35),
        IU("1.0.52.7.0.255", 2301, -1, 35), IU("1.0.72.7.0.255", 2308, -1, 35) } },
    { "aidon_no_list_3.llc_apdu.hex",
      0x40000000,
      0,
      -1,
      DLMS_ARRAY,
      17,
      { IU("1.0.32.7.0.255", 2276, -1, 35), IU("1.0.52.7.0.255", 2303, -1, 35),
        IU("1.0.72.7.0.255", 2309, -1, 35), T("0.0.1.0.0.255", 1579622400),
        IU("1.0.1.8.0.255", 2272138, 1, 30), IU("1.0.2.8.0.255", 0, 1, 30),
        IU("1.0.3.8.0.255", 58243, 1, 32), IU("1.0.4.8.0.255", 170843, 1, 32) } },
    { "aidon_se_list.llc_apdu.hex",
      0x40000000,
      0,
      -1,
      DLMS_ARRAY,
      27,
      { T("0.0.1.0.0.255", 1576483180), IU("1.0.1.7.0.255", 1122, 0, 27),
        IU("1.0.3.7.0.255", 1507, 0, 29), IU("1.0.31.7.0.255", 0, -1, 33),
        IU("1.0.51.7.0.255", 75, -1, 33), IU("1.0.32.7.0.255", 2307, -1, 35),
        IU("1.0.52.7.0.255", 2499, -1, 35), IU("1.0.72.7.0.255", 2308, -1, 35),
        IU("1.0.21.7.0.255", 0, 0, 27), IU("1.0.41.7.0.255", 1122, 0, 27),
        IU("1.0.43.7.0.255", 1506, 0, 29), IU("1.0.1.8.0.255", 10049926, 0, 30),
        IU("1.0.2.8.0.255", 8, 0, 30), IU("1.0.3.8.0.255", 6614347, 0, 32),
        IU("1.0.4.8.0.255", 5, 0, 32) } },
    { "kaifa_no_list_1.llc_apdu.hex",
      0x40000000,
      DLMS_DN_DATE_TIME_TAGGED,
      1549324342,
      DLMS_STRUCTURE,
      1,
      { PI(0, 5852) } },
    { "kaifa_no_list_2.llc_apdu.hex",
      0x40000000,
      DLMS_DN_DATE_TIME_TAGGED,
      1579957770,
      DLMS_STRUCTURE,
      13,
      { PS(0, "KFM_001"), PS(1, "6970631402614476"), PS(2, "MA304H3E"), PI(3, 9745),
        PI(4, 0), PI(5, 0), PI(6, 435), PI(7, 33813), PI(8, 28103), PI(9, 18178),
        PI(10, 2168), PI(11, 0), PI(12, 2188) } },
    { "kaifa_no_list_3.llc_apdu.hex",
      0x40000000,
      DLMS_DN_DATE_TIME_TAGGED,
      1579960810,
      DLMS_STRUCTURE,
      18,
      { PS(0, "KFM_001"), PI(3, 4904), PI(6, 377), PI(7, 14571), PI(8, 15643),
        PI(9, 9525), PI(10, 2193), PI(12, 2205), PT(13, 1579960810), PI(14, 79591144),
        PI(15, 0), PI(16, 889389), PI(17, 3210932) } },
    { "kaifa_se_list.llc_apdu.hex",
      0x40000000,
      0,
      -1,
      DLMS_STRUCTURE,
      36,
      { S("1.0.0.2.129.255", "KFM_001"), S("0.0.96.1.0.255", "7340734073407340"),
        S("0.0.96.1.7.255", "MA304H4"), I("1.0.1.7.0.255", 2816), I("1.0.4.7.0.255", 66),
        I("1.0.31.7.0.255", 6781), I("1.0.51.7.0.255", 790), I("1.0.71.7.0.255", 6125),
        I("1.0.32.7.0.255", 2322), I("1.0.52.7.0.255", 2300), I("1.0.72.7.0.255", 2289),
        T("0.0.1.0.0.255", 1632328530), I("1.0.1.8.0.255", 4786979),
        I("1.0.2.8.0.255", 0), I("1.0.3.8.0.255", 26228), I("1.0.4.8.0.255", 578528) } },
    { "kamstrup_no_list_1_three_phase.llc_apdu.hex",
      0,
      0,
      946765980,
      DLMS_STRUCTURE,
      25,
      { PS(0, "Kamstrup_V0001"), S("1.1.0.0.5.255", "5706567000000000"),
        S("1.1.96.1.1.255", "000000000000000000"), I("1.1.1.7.0.255", 0),
        I("1.1.32.7.0.255", 0), I("1.1.72.7.0.255", 0) } },
    { "kamstrup_no_list_1_single_phase_real_sample.llc_apdu.hex",
      0,
      0,
      1642423480,
      DLMS_STRUCTURE,
      25,
      { PS(0, "Kamstrup_V0001"), S("1.1.0.0.5.255", "5705705705705702"),
        S("1.1.96.1.1.255", "6861111BN242101040"), I("1.1.1.7.0.255", 1896),
        I("1.1.2.7.0.255", 0), I("1.1.3.7.0.255", 0), I("1.1.4.7.0.255", 493),
        I("1.1.31.7.0.255", 896), I("1.1.32.7.0.255", 225) } },
    { "kamstrup_no_list_2_single_phase.llc_apdu.hex",
      0,
      0,
      1502899205,
      DLMS_STRUCTURE,
      15,
      { PS(0, "Kamstrup_V0001"), T("0.1.1.0.0.255", 1502899205),
        I("1.1.1.8.0.255", 0) } },
    { "kamstrup_no_list_2_single_phase_real_sample.llc_apdu.hex",
      0,
      0,
      1637712025,
      DLMS_STRUCTURE,
      35,
      { I("1.1.1.7.0.255", 10050), I("1.1.4.7.0.255", 279), I("1.1.31.7.0.255", 4512),
        I("1.1.32.7.0.255", 223), T("0.1.1.0.0.255", 1637712025),
        I("1.1.1.8.0.255", 7745250), I("1.1.2.8.0.255", 0), I("1.1.3.8.0.255", 13731),
        I("1.1.4.8.0.255", 1141587) } },
    { "kamstrup_no_list_2_three_phase.llc_apdu.hex",
      0,
      0,
      1502899205,
      DLMS_STRUCTURE,
      35,
      { T("0.1.1.0.0.255", 1502899205), I("1.1.4.8.0.255", 0), I("1.1.52.7.0.255", 0) } },
    { "kamstrup_se_list_real_sample.llc_apdu.hex",
      0,
      0,
      1643050730,
      DLMS_STRUCTURE,
      25,
      { S("1.1.0.0.5.255", "5705705705705707"), S("1.1.96.1.1.255", "6841138BN245101090"),
        I("1.1.1.7.0.255", 826), I("1.1.3.7.0.255", 104), I("1.1.4.7.0.255", 176),
        I("1.1.31.7.0.255", 237), I("1.1.51.7.0.255", 89), I("1.1.71.7.0.255", 75),
        I("1.1.32.7.0.255", 232), I("1.1.52.7.0.255", 233), I("1.1.72.7.0.255", 236) } },
};

static uint64_t arena_mem[16384];
static uint8_t enc[4096];

static bool is_obis(const dlms_data_t *d, const ms_obis_t *o)
{
    const uint8_t want[6] = { o->a, o->b, o->c, o->d, o->e, o->f };
    return d->type == DLMS_OCTET_STRING && d->n == 6 && memcmp(d->v.bytes, want, 6) == 0;
}

/* Find a register by logical name in either layout; *su = its {scaler, unit} or NULL. */
static const dlms_data_t *lookup(const dlms_data_t *body, const ms_obis_t *o,
                                 const dlms_data_t **su)
{
    *su = NULL;
    for (uint32_t i = 0; i < body->n; i++) {
        const dlms_data_t *it = &body->v.items[i];
        if (body->type == DLMS_ARRAY && it->type == DLMS_STRUCTURE && it->n >= 2 &&
            is_obis(&it->v.items[0], o)) {
            if (it->n == 3)
                *su = &it->v.items[2];
            return &it->v.items[1];
        }
        if (body->type == DLMS_STRUCTURE && is_obis(it, o) && i + 1 < body->n)
            return &body->v.items[i + 1];
    }
    return NULL;
}

static int64_t dt_seconds(const uint8_t *b)
{
    int64_t t;
    int rc = dlms_datetime_to_utc(b, &t, NULL);
    assert_true(rc == 0 || rc == 1);
    return t;
}

static void check_push(const push_t *p)
{
    char rel[256];
    snprintf(rel, sizeof rel, "amshan_norway/%s", p->file);
    char *text = t_read_file(t_dlms_path(rel), NULL);
    uint8_t b[2048];
    size_t n = t_hex(text, b, sizeof b);
    free(text);
    /* LLC header of a response (IEC 62056-46): E6 E7 00 */
    assert_true(n > 3 && b[0] == 0xE6 && b[1] == 0xE7 && b[2] == 0x00);
    dlms_arena_t a;
    dlms_arena_init(&a, arena_mem, sizeof arena_mem);
    dlms_apdu_t apdu;
    int rc = dlms_apdu_decode(b + 3, n - 3, &a, &apdu);
    if (rc != 0)
        fail_msg("%s: %s", p->file, ms_err_name(rc));
    ms_wr_t w;
    ms_wr_init(&w, enc, sizeof enc);
    assert_int_equal(dlms_apdu_encode(&w, &apdu), 0);
    assert_int_equal(w.len, n - 3);
    assert_memory_equal(enc, b + 3, n - 3);

    assert_int_equal(apdu.tag, DLMS_TAG_DATA_NOTIFICATION);
    const dlms_data_notification_t *dn = &apdu.u.data_notification;
    assert_int_equal(dn->long_invoke_id_and_priority, p->liip);
    assert_int_equal(dn->date_time_form, p->dt_form);
    if (p->dt < 0) {
        assert_int_equal(dn->date_time.len, 0);
    } else {
        assert_int_equal(dn->date_time.len, 12);
        assert_true(dt_seconds(dn->date_time.p) == p->dt);
    }
    const dlms_data_t *body = &dn->body;
    assert_int_equal(body->type, p->body_type);
    assert_int_equal(body->n, p->body_n);

    unsigned checked = 0;
    for (size_t i = 0; i < sizeof p->checks / sizeof *p->checks && p->checks[i].kind;
         i++) {
        const chk_t *c = &p->checks[i];
        const dlms_data_t *v, *su = NULL;
        if (c->obis) {
            ms_obis_t o;
            unsigned present;
            assert_int_equal(ms_obis_parse(c->obis, strlen(c->obis), &o, &present), 0);
            v = lookup(body, &o, &su);
        } else {
            assert_true((uint32_t)c->pos < body->n);
            v = &body->v.items[c->pos];
        }
        if (!v)
            fail_msg("%s: no %s", p->file, c->obis);
        int64_t x;
        switch (c->kind) {
        case 'i':
            assert_int_equal(dlms_data_to_i64(v, &x), 0);
            if (x != c->v)
                fail_msg("%s: %s = %lld, expected %lld", p->file, c->obis ? c->obis : "#",
                         (long long)x, (long long)c->v);
            break;
        case 's':
            assert_true(v->type == DLMS_OCTET_STRING || v->type == DLMS_VISIBLE_STRING);
            assert_int_equal(v->n, strlen(c->s));
            assert_memory_equal(v->v.bytes, c->s, v->n);
            break;
        case 't':
            assert_int_equal(v->type, DLMS_OCTET_STRING);
            assert_int_equal(v->n, 12);
            assert_true(dt_seconds(v->v.bytes) == c->v);
            break;
        default:
            fail();
        }
        if (c->unit) {
            assert_non_null(su);
            assert_int_equal(su->type, DLMS_STRUCTURE);
            assert_true(su->v.items[0].type == DLMS_INTEGER &&
                        su->v.items[0].v.i == c->scaler);
            assert_true(su->v.items[1].type == DLMS_ENUM &&
                        su->v.items[1].v.u == (uint64_t)c->unit);
        }
        checked++;
    }
    assert_true(checked > 0);

    /* Plausibility: every phase voltage register present and non-zero is 200..260 V
     * after its scaler (Kamstrup sends volts, the others tenths). */
    static const unsigned voltage_c[] = { 32, 52, 72 };
    for (int b_group = 0; b_group <= 1; b_group++)
        for (size_t k = 0; k < 3; k++) {
            ms_obis_t o = MS_OBIS(1, (uint8_t)b_group, (uint8_t)voltage_c[k], 7, 0, 255);
            const dlms_data_t *su;
            const dlms_data_t *v = lookup(body, &o, &su);
            int64_t x;
            if (!v || dlms_data_to_i64(v, &x) < 0 || x == 0)
                continue;
            int scaler = su ? (int)su->v.items[0].v.i : (x > 1000 ? -1 : 0);
            double volts = (double)x * (scaler == -1 ? 0.1 : 1.0);
            if (volts < 200 || volts > 260)
                fail_msg("%s: voltage %g V", p->file, volts);
        }
}

static void test_pushes(void **state)
{
    for (size_t i = 0; i < sizeof pushes / sizeof *pushes; i++)
        check_push(&pushes[i]);
    printf(
        "amshan_norway: %zu DATA-NOTIFICATION pushes decoded, re-encoded byte for byte, "
        "registers checked\n",
        sizeof pushes / sizeof *pushes);
}

/* The real Kamstrup single-phase list pads the three-phase layout with null-data in place
 * of the L2/L3 OBIS codes and values. */
static void test_kamstrup_padding(void **state)
{
    char *text = t_read_file(
        t_dlms_path(
            "amshan_norway/kamstrup_no_list_1_single_phase_real_sample.llc_apdu.hex"),
        NULL);
    uint8_t b[1024];
    size_t n = t_hex(text, b, sizeof b);
    free(text);
    dlms_arena_t a;
    dlms_arena_init(&a, arena_mem, sizeof arena_mem);
    dlms_apdu_t apdu;
    assert_int_equal(dlms_apdu_decode(b + 3, n - 3, &a, &apdu), 0);
    const dlms_data_t *body = &apdu.u.data_notification.body;
    unsigned nulls = 0;
    for (uint32_t i = 0; i < body->n; i++)
        nulls += body->v.items[i].type == DLMS_NULL_DATA;
    assert_int_equal(nulls, 8);
    assert_int_equal(body->v.items[15].type, DLMS_NULL_DATA);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pushes),
        cmocka_unit_test(test_kamstrup_padding),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
