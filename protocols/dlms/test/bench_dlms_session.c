/*
** bench_dlms_session.c — cost of one GET through dlms_server, run by hand (not a timed
** test; the throughput benchmark proper lives in testbench/perf/). Counts allocations:
** this program is linked with --wrap=malloc/calloc/realloc for the code of
** ms_protocols, and libcrypto's are counted through CRYPTO_set_mem_functions().
**   bench_dlms_session [iterations]
** Prints ns per GET and allocations per GET for: a plain GET of a Register value, the
** same glo-ciphered (server deciphers, answers ciphered), and a client+server round trip
** with ciphering.
** SPDX-License-Identifier: MIT
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "dlms_client.h"
#include "dlms_fake_meter.h"
#include "dlms_security.h"
#include "dlms_server.h"

static unsigned long n_ours, n_crypto;

void *__real_malloc(size_t n);
void *__real_calloc(size_t a, size_t b);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t a, size_t b);
void *__wrap_realloc(void *p, size_t n);

void *__wrap_malloc(size_t n)
{
    n_ours++;
    return __real_malloc(n);
}

void *__wrap_calloc(size_t a, size_t b)
{
    n_ours++;
    return __real_calloc(a, b);
}

void *__wrap_realloc(void *p, size_t n)
{
    n_ours++;
    return __real_realloc(p, n);
}

static void *c_malloc(size_t n, const char *f, int l)
{
    n_crypto++;
    return __real_malloc(n);
}

static void *c_realloc(void *p, size_t n, const char *f, int l)
{
    n_crypto++;
    return __real_realloc(p, n);
}

static void c_free(void *p, const char *f, int l)
{
    free(p);
}

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static void report(const char *what, long n, double ns, unsigned long ours,
                   unsigned long crypto)
{
    printf("%-44s %8.0f ns/GET  %6.2f allocations/GET here, %6.2f in libcrypto\n", what,
           ns / (double)n, (double)ours / (double)n, (double)crypto / (double)n);
}

int main(int argc, char **argv)
{
    CRYPTO_set_mem_functions(c_malloc, c_realloc, c_free);
    long n = argc > 1 ? atol(argv[1]) : 200000;
    static fake_meter_t m;
    fm_init(&m);
    dlms_server_ops_t ops = fm_ops(&m);
    int err;
    dlms_server_t *s = dlms_server_new(NULL, &ops, &m, &err);
    static uint8_t out[4096], req[4096];
    ms_wr_t w;

    /* plain: public client, GET Register 1.0.1.8.0.255 attribute 2 */
    static const uint8_t aarq[] = { 0x60, 0x1d, 0xa1, 0x09, 0x06, 0x07, 0x60, 0x85,
                                    0x74, 0x05, 0x08, 0x01, 0x01, 0xbe, 0x10, 0x04,
                                    0x0e, 0x01, 0x00, 0x00, 0x00, 0x06, 0x5f, 0x1f,
                                    0x04, 0x00, 0x00, 0x7e, 0x1f, 0x04, 0x00 };
    ms_wr_init(&w, out, sizeof out);
    dlms_server_apdu(s, FM_SAP_PUBLIC, 1, aarq, sizeof aarq, &w);
    static const uint8_t get[] = { 0xc0, 0x01, 0xc1, 0x00, 0x03, 0x01, 0x00,
                                   0x01, 0x08, 0x00, 0xff, 0x02, 0x00 };
    for (int i = 0; i < 1000; i++) { /* warm up: buffers reach their size */
        ms_wr_init(&w, out, sizeof out);
        dlms_server_apdu(s, FM_SAP_PUBLIC, 1, get, sizeof get, &w);
    }
    unsigned long o0 = n_ours, c0 = n_crypto;
    double t0 = now_ns();
    for (long i = 0; i < n; i++) {
        ms_wr_init(&w, out, sizeof out);
        if (dlms_server_apdu(s, FM_SAP_PUBLIC, 1, get, sizeof get, &w) < 0 || w.len != 9)
            abort();
    }
    report("server, plain GET (13 -> 9 octets)", n, now_ns() - t0, n_ours - o0,
           n_crypto - c0);

    /* ciphered: LLS client under the encrypted policy, requests prepared beforehand */
    dlms_client_cfg_t cc;
    memset(&cc, 0, sizeof cc);
    cc.mechanism = DLMS_MECH_LLS;
    memcpy(cc.password, "12345678", 8);
    cc.password_len = 8;
    cc.ciphering = true;
    memcpy(cc.ek, fm_ek, 16);
    memcpy(cc.ak, fm_ak, 16);
    memcpy(cc.client_title, fm_client_title, 8);
    cc.max_pdu = 1024;
    cc.ic = 1;
    dlms_client_t *c = dlms_client_new(&cc, &err);
    ms_wr_init(&w, req, sizeof req);
    dlms_client_aarq(c, &w);
    size_t rl = w.len;
    ms_wr_init(&w, out, sizeof out);
    dlms_server_apdu(s, FM_SAP_LLS_ENC, 1, req, rl, &w);
    size_t ol = w.len;
    ms_wr_init(&w, req, sizeof req);
    if (dlms_client_feed(c, out, ol, &w) != DLMS_CLIENT_DONE ||
        !dlms_client_associated(c))
        abort();
    size_t one = 0;
    uint8_t *reqs = malloc((size_t)n * 64);
    dlms_sec_keys_t k = { fm_ek, 16, fm_ak, 16 };
    for (long i = 0; i < n; i++) {
        ms_wr_init(&w, reqs + (size_t)i * 64, 64);
        dlms_cipher_apdu(&w, DLMS_TAG_GLO_GET_REQUEST, fm_client_title, 0x30,
                         (uint32_t)(100 + i), &k, get, sizeof get);
        one = w.len;
    }
    o0 = n_ours;
    c0 = n_crypto;
    t0 = now_ns();
    for (long i = 0; i < n; i++) {
        ms_wr_init(&w, out, sizeof out);
        if (dlms_server_apdu(s, FM_SAP_LLS_ENC, 1, reqs + (size_t)i * 64, one, &w) < 0 ||
            out[0] != DLMS_TAG_GLO_GET_RESPONSE)
            abort();
    }
    report("server, glo-ciphered GET (SC 30)", n, now_ns() - t0, n_ours - o0,
           n_crypto - c0);
    free(reqs);

    /* client + server round trip, ciphered */
    dlms_client_set_ic(c, (uint32_t)(200 + n));
    dlms_attr_sel_t a;
    memset(&a, 0, sizeof a);
    a.desc = (dlms_attr_desc_t){ 3, MS_OBIS(1, 0, 1, 8, 0, 255), 2 };
    o0 = n_ours;
    c0 = n_crypto;
    t0 = now_ns();
    for (long i = 0; i < n; i++) {
        ms_wr_init(&w, req, sizeof req);
        dlms_client_get(c, &a, &w);
        rl = w.len;
        ms_wr_init(&w, out, sizeof out);
        dlms_server_apdu(s, FM_SAP_LLS_ENC, 1, req, rl, &w);
        ol = w.len;
        ms_wr_init(&w, req, sizeof req);
        if (dlms_client_feed(c, out, ol, &w) != DLMS_CLIENT_DONE)
            abort();
    }
    report("client + server round trip, ciphered", n, now_ns() - t0, n_ours - o0,
           n_crypto - c0);
    dlms_client_free(c);
    dlms_server_free(s);
    fm_free(&m);
    return 0;
}
