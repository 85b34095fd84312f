/*
** model_dlms.c — the "dlms" part of a model: the logical device, its HDLC settings and
** its clients (Association LN objects with their Security Setup).
** SPDX-License-Identifier: MIT
**
** Defaults after the usual client layout of the DLMS UA / IDIS meters: client SAP 16
** "public" without authentication, read-only; 17 with LLS; 1 "management" with HLS-GMAC
** (security suite 0). The default keys are the Green Book's example keys (encryption
** 000102..0F, authentication D0D1..DF), which DLMS test tools default to as well: a
** simulator's keys are test keys.
*/
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "model_parts.h"
#include "ms_err.h"
#include "ms_hex.h"

static const uint8_t example_ek[16] = { 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
                                        0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F };
static const uint8_t example_ak[16] = { 0xD0, 0xD1, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7,
                                        0xD8, 0xD9, 0xDA, 0xDB, 0xDC, 0xDD, 0xDE, 0xDF };

/* A hex string of exactly n octets (spaces or colons allowed between octets). */
static int hex_field(ms_luacfg_t *c, const char *key, uint8_t *out, size_t n,
                     bool *present)
{
    char s[80];
    int rc = ms_luacfg_str(c, key, s, sizeof s, "");
    if (rc)
        return rc;
    *present = s[0] != 0;
    if (*present && ms_hex_decode(s, strlen(s), out, n) != (int)n)
        return ms_luacfg_fail(c, key, "%zu octets in hex expected", n);
    return 0;
}

static void default_clients(ms_model_dlms_t *d)
{
    ms_dlms_client_t *c = d->clients;
    memset(c, 0, 3 * sizeof *c);
    c[0] = (ms_dlms_client_t){ .sap = 16, .name = "public", .access = MS_DLMS_PUBLIC };
    c[1] = (ms_dlms_client_t){
        .sap = 17, .name = "reader", .mechanism = 1, .access = MS_DLMS_READ
    };
    snprintf(c[1].password, sizeof c[1].password, "00000000");
    c[2] = (ms_dlms_client_t){ .sap = 1,
                               .name = "management",
                               .mechanism = 5,
                               .access = MS_DLMS_MANAGE,
                               .policy = 3,
                               .ciphered = true };
    memcpy(c[2].ek, example_ek, 16);
    memcpy(c[2].ak, example_ak, 16);
    d->nclients = 3;
}

static int load_client(ms_luacfg_t *c, ms_dlms_client_t *cl)
{
    static const char *const keys[] = { "sap",          "name", "auth", "access",
                                        "password",     "ek",   "ak",   "security",
                                        "client_title", NULL };
    static const char *const auths[] = { "none", "lls", "hls-gmac", NULL };
    static const char *const access[] = { "public", "read", "manage", NULL };
    static const char *const security[] = { "none", "authenticated", "encrypted",
                                            "authenticated+encrypted", NULL };
    int64_t sap;
    int auth, acc, sec, rc;
    bool has_ek, has_ak;
    if ((rc = ms_luacfg_only(c, keys)) ||
        (rc = ms_luacfg_int(c, "sap", &sap, -1, 1, 127)) ||
        (rc = ms_luacfg_str(c, "name", cl->name, sizeof cl->name, "")) ||
        (rc = ms_luacfg_choice(c, "auth", auths, &auth, 0)) ||
        (rc = ms_luacfg_choice(c, "access", access, &acc, 0)) ||
        (rc = ms_luacfg_str(c, "password", cl->password, sizeof cl->password, "")) ||
        (rc = hex_field(c, "ek", cl->ek, 16, &has_ek)) ||
        (rc = hex_field(c, "ak", cl->ak, 16, &has_ak)) ||
        (rc = ms_luacfg_choice(c, "security", security, &sec, auth == 2 ? 3 : 0)) ||
        (rc = hex_field(c, "client_title", cl->client_title, 8, &cl->has_title)))
        return rc;
    if (sap < 0)
        return ms_luacfg_fail(c, "sap", "required (the client's SAP, 1..127)");
    cl->sap = (uint16_t)sap;
    cl->mechanism = auth == 0 ? 0 : auth == 1 ? 1 : 5;
    cl->access = (uint8_t)acc;
    cl->policy = (uint8_t)sec;
    if (auth == 1 && !cl->password[0])
        return ms_luacfg_fail(c, "password", "required with auth = \"lls\"");
    if (has_ek != has_ak)
        return ms_luacfg_fail(c, has_ek ? "ak" : "ek", "ek and ak go together");
    cl->ciphered = has_ek || auth == 2 || sec != 0;
    if (cl->ciphered && !has_ek) { /* the Green Book example keys */
        memcpy(cl->ek, example_ek, 16);
        memcpy(cl->ak, example_ak, 16);
    }
    if (!cl->name[0])
        snprintf(cl->name, sizeof cl->name, "client %u", cl->sap);
    return 0;
}

int ms_cfg_dlms(ms_luacfg_t *c, ms_model_t *m)
{
    static const char *const keys[] = {
        "logical_device", "physical_address", "system_title", "max_pdu", "hdlc",
        "master_key",     "clients",          "push",         NULL
    };
    static const char *const hkeys[] = { "window", "max_info", "inactivity_s",
                                         "inter_octet_ms", NULL };
    ms_model_dlms_t *d = &m->dlms;
    /* default system title: the FLAG id and the serial's last ten digits in BCD */
    char digits[11] = "0000000000";
    size_t sl = strlen(m->serial), k = 10;
    for (size_t i = sl; i-- > 0 && k > 0;)
        if (isdigit((unsigned char)m->serial[i]))
            digits[--k] = m->serial[i];
    memcpy(d->system_title, m->manufacturer, 3);
    for (int i = 0; i < 5; i++)
        d->system_title[3 + i] =
            (uint8_t)((digits[2 * i] - '0') << 4 | (digits[2 * i + 1] - '0'));
    unsigned last4 = (unsigned)((digits[6] - '0') * 1000 + (digits[7] - '0') * 100 +
                                (digits[8] - '0') * 10 + (digits[9] - '0'));
    /* the defaults, for a model without a "dlms" table or the fields it leaves out */
    d->logical_device = 1;
    d->physical_address = (uint16_t)(16 + last4);
    d->max_pdu = 1024;
    d->hdlc_window = 1;
    d->hdlc_max_info = 128;
    d->hdlc_inactivity_s = 120;
    d->hdlc_inter_octet_ms = 200;
    int64_t ld, pa, pdu, v;
    bool has_title;
    int rc = ms_luacfg_push(c, "dlms");
    if (rc <= 0) {
        if (rc == 0)
            default_clients(d);
        return rc;
    }
    if ((rc = ms_luacfg_only(c, keys)) ||
        (rc = ms_luacfg_int(c, "logical_device", &ld, d->logical_device, 1, 0x3FFF)) ||
        (rc = ms_luacfg_int(c, "physical_address", &pa, d->physical_address, 16,
                            0x3FFD)) ||
        (rc = hex_field(c, "system_title", d->system_title, 8, &has_title)) ||
        (rc = ms_luacfg_int(c, "max_pdu", &pdu, d->max_pdu, 64, 65535)) ||
        (rc = hex_field(c, "master_key", d->master_key, 16, &d->has_master_key)) ||
        (rc = ms_luacfg_str(c, "push", d->push_destination, sizeof d->push_destination,
                            "")))
        return rc;
    if (d->push_destination[0] && !strrchr(d->push_destination, ':'))
        return ms_luacfg_fail(c, "push", "HOST:PORT expected, e.g. \"127.0.0.1:4059\"");
    d->logical_device = (uint16_t)ld;
    d->physical_address = (uint16_t)pa;
    d->max_pdu = (uint16_t)pdu;
    if ((rc = ms_luacfg_push(c, "hdlc")) < 0)
        return rc;
    if (rc > 0) {
        /* IEC 62056-46 6.4.4.4.3.2: window 1..7, information field 32..2030 here
         * (the HDLC codec's limit) */
        if ((rc = ms_luacfg_only(c, hkeys)) ||
            (rc = ms_luacfg_int(c, "window", &v, d->hdlc_window, 1, 7)))
            return rc;
        d->hdlc_window = (uint8_t)v;
        if ((rc = ms_luacfg_int(c, "max_info", &v, d->hdlc_max_info, 32, 2030)))
            return rc;
        d->hdlc_max_info = (uint16_t)v;
        if ((rc = ms_luacfg_int(c, "inactivity_s", &v, d->hdlc_inactivity_s, 0, 65535)))
            return rc;
        d->hdlc_inactivity_s = (uint32_t)v;
        if ((rc = ms_luacfg_int(c, "inter_octet_ms", &v, d->hdlc_inter_octet_ms, 0,
                                65535)))
            return rc;
        d->hdlc_inter_octet_ms = (uint32_t)v;
        ms_luacfg_pop(c);
    }
    if ((rc = ms_luacfg_push(c, "clients")) < 0)
        return rc;
    if (rc == 0) {
        default_clients(d);
    } else {
        size_t n = ms_luacfg_len(c);
        if (n == 0 || n > MS_MODEL_MAX_CLIENTS)
            return ms_luacfg_fail(c, NULL, "1..%d clients expected",
                                  MS_MODEL_MAX_CLIENTS);
        for (size_t i = 0; i < n; i++) {
            if ((rc = ms_luacfg_push_index(c, i + 1)) <= 0)
                return rc < 0 ? rc
                              : ms_luacfg_fail(c, NULL, "element %zu: a table", i + 1);
            if ((rc = load_client(c, &d->clients[i])))
                return rc;
            for (size_t j = 0; j < i; j++)
                if (d->clients[j].sap == d->clients[i].sap)
                    return ms_luacfg_fail(c, "sap", "SAP %u is also clients[%zu]",
                                          d->clients[i].sap, j + 1);
            ms_luacfg_pop(c);
        }
        d->nclients = n;
        ms_luacfg_pop(c);
    }
    ms_luacfg_pop(c);
    return 0;
}
