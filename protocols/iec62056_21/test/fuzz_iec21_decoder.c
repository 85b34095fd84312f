/*
** fuzz_iec21_decoder.c — libFuzzer target: the IEC 62056-21 decoder on arbitrary bytes,
** split into arbitrary chunks, with every decoded message re-encoded and decoded again
** (the fields must survive), and data blocks walked with the data-set iterator.
** SPDX-License-Identifier: MIT
**
** Input: byte 0 = decoder flags (low 2 bits), byte 1 = chunk size - 1 (low 4 bits) and
** buffer size selector (high 4 bits), then the stream.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "iec21_msg.h"
#include "ms_err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)     \
    do {             \
        if (!(x))    \
            abort(); \
    } while (0)

/* Encode m again, decode the encoding, compare the fields. */
static void round_trip(const iec21_msg_t *m)
{
    uint8_t enc[600], buf[600];
    ms_wr_t w;
    ms_wr_init(&w, enc, sizeof enc);
    unsigned flags = 0;
    int rc;
    switch (m->type) {
    case IEC21_MSG_REQUEST:
        rc = iec21_encode_request(&w, m->address);
        CHECK(rc == 0); /* everything the decoder accepts is encodable */
        break;
    case IEC21_MSG_IDENT:
        rc = iec21_encode_ident(&w, m->mfr, m->baud_z, m->enh_w, m->ident);
        if (rc == MS_EINVAL) /* "\" as the first identification character without W */
            return;
        CHECK(rc == 0);
        break;
    case IEC21_MSG_OPTION_SELECT:
        rc = iec21_encode_option_select(&w, m->opt_v, m->opt_z, m->opt_y);
        CHECK(rc == 0);
        flags = IEC21_DEC_OPTION_SELECT;
        break;
    case IEC21_MSG_DATA:
        if (m->unframed)
            return;
        rc = iec21_encode_data(&w, m->data, m->data_len, m->partial);
        if (rc == MS_ENOSPC)
            return;
        CHECK(rc == 0);
        break;
    case IEC21_MSG_COMMAND:
        rc = iec21_encode_command(&w, m->cmd, m->cmd_type, m->has_data ? m->data : NULL,
                                  m->data_len, m->partial);
        if (rc == MS_ENOSPC)
            return;
        CHECK(rc == 0);
        CHECK(m->has_data || m->data_len == 0);
        break;
    case IEC21_MSG_ACK:
        CHECK(iec21_encode_ack(&w) == 0);
        break;
    case IEC21_MSG_NAK:
        CHECK(iec21_encode_nak(&w) == 0);
        break;
    default:
        abort();
    }
    iec21_decoder_t d;
    iec21_decoder_init(&d, buf, sizeof buf);
    iec21_decoder_set_flags(&d, flags);
    iec21_msg_t m2;
    size_t used = 0;
    rc = iec21_decoder_feed(&d, enc, w.len, &used, &m2);
    CHECK(rc == 1 && used == w.len);
    CHECK(m2.type == m->type);
    CHECK(strcmp(m2.address, m->address) == 0 && strcmp(m2.ident, m->ident) == 0);
    CHECK(memcmp(m2.mfr, m->mfr, sizeof m->mfr) == 0 && m2.baud_z == m->baud_z &&
          m2.enh_w == m->enh_w);
    CHECK(m2.opt_v == m->opt_v && m2.opt_z == m->opt_z && m2.opt_y == m->opt_y);
    CHECK(m2.cmd == m->cmd && m2.cmd_type == m->cmd_type && m2.has_data == m->has_data);
    CHECK(m2.partial == m->partial && m2.bcc == m->bcc && m2.data_len == m->data_len);
    if (m->data_len)
        CHECK(memcmp(m2.data, m->data, m->data_len) == 0);
}

static void walk_datasets(const iec21_msg_t *m)
{
    ms_rd_t r;
    iec21_dataset_t ds;
    ms_rd_init(&r, m->data, m->data_len);
    for (int i = 0; i < 10000; i++) {
        size_t before = r.pos;
        int rc = iec21_dataset_next(&r, &ds);
        CHECK(r.pos <= r.len);
        if (rc != 1)
            return;
        CHECK(r.pos > before);
        CHECK(ds.address + ds.address_len <= (const char *)m->data + m->data_len);
        CHECK(ds.value + ds.value_len <= (const char *)m->data + m->data_len);
    }
    abort(); /* the iterator must end */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t caps[] = { 4, 16, 40, 64, 256, 512 };
    if (size < 2)
        return 0;
    unsigned flags = data[0] & 3u;
    size_t chunk = (size_t)(data[1] & 15u) + 1;
    size_t cap = caps[(data[1] >> 4) % 6];
    data += 2;
    size -= 2;
    uint8_t *buf = malloc(cap); /* exact size: ASan sees any overrun */
    iec21_decoder_t d;
    iec21_decoder_init(&d, buf, cap);
    iec21_decoder_set_flags(&d, flags);
    size_t pos = 0;
    while (pos < size) {
        size_t n = size - pos < chunk ? size - pos : chunk;
        size_t used = 0;
        iec21_msg_t m;
        int rc = iec21_decoder_feed(&d, data + pos, n, &used, &m);
        CHECK(used <= n);
        if (rc == 0)
            CHECK(used == n);
        if (used == 0)
            CHECK(rc == MS_EFRAME && !iec21_decoder_busy(&d)); /* a restart character */
        pos += used;
        if (rc == 1) {
            CHECK(!iec21_decoder_busy(&d));
            if (m.type == IEC21_MSG_DATA || m.type == IEC21_MSG_COMMAND)
                walk_datasets(&m);
            round_trip(&m);
        } else if (rc < 0) {
            CHECK(rc == MS_EFRAME || rc == MS_ETOOBIG || rc == MS_EBADBCC);
            CHECK(!iec21_decoder_busy(&d));
        }
    }
    free(buf);
    return 0;
}
