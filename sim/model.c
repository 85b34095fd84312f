/*
** model.c — load and check meter models (Lua tables in sim/models/).
** SPDX-License-Identifier: MIT
**
** The schema is documented in docs/models.md; every field is checked here and an error
** names the file, line and field.
*/
#include "model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "iec21_msg.h"
#include "luacfg.h"
#include "model_parts.h"
#include "ms_err.h"
#include "registers.h"

#ifndef MS_MODELS_DIR
#define MS_MODELS_DIR "sim/models"
#endif

static const char *const top_keys[] = { "name",
                                        "description",
                                        "manufacturer",
                                        "serial",
                                        "device_address",
                                        "firmware",
                                        "phases",
                                        "phase_share",
                                        "nominal_voltage",
                                        "frequency",
                                        "power_factor",
                                        "timezone",
                                        "tariff",
                                        "calendar",
                                        "demand_period",
                                        "billing",
                                        "logs",
                                        "battery_response",
                                        "drift_ppm",
                                        "profiles",
                                        "iec62056_21",
                                        "demand_subperiods",
                                        "breaker",
                                        "limiter",
                                        "dlms",
                                        NULL };

static int load_readout(ms_luacfg_t *c, ms_model_iec21_t *x)
{
    static const char *const keys[] = { "obis", "unit", "digits", "decimals", NULL };
    int rc = ms_luacfg_push(c, "readout");
    if (rc <= 0)
        return rc < 0 ? rc
                      : ms_luacfg_fail(c, "readout",
                                       "required: the data set, a list "
                                       "of { \"1-0:1.8.0*255\", \"kWh\", 7, 3 }");
    size_t n = ms_luacfg_len(c);
    if (n > MS_MODEL_MAX_READOUT)
        return ms_luacfg_fail(c, NULL, "more than %d data sets", MS_MODEL_MAX_READOUT);
    for (size_t i = 1; i <= n; i++) {
        if ((rc = ms_luacfg_push_index(c, i)) <= 0)
            return rc < 0 ? rc : ms_luacfg_fail(c, NULL, "element %zu missing", i);
        ms_readout_item_t *it = &x->readout[i - 1];
        char obis[40] = "";
        int64_t digits = 0, decimals = 0;
        if ((rc = ms_luacfg_only(c, keys)))
            return rc;
        /* Short form { obis, unit, digits, decimals } or named fields. */
        size_t npos = ms_luacfg_len(c);
        if (npos >= 1 && (rc = ms_luacfg_index_str(c, 1, obis, sizeof obis)))
            return rc;
        if (npos >= 2 && (rc = ms_luacfg_index_str(c, 2, it->unit, sizeof it->unit)))
            return rc;
        if (npos >= 3 && (rc = ms_luacfg_index_int(c, 3, &digits, 0, 15)))
            return rc;
        if (npos >= 4 && (rc = ms_luacfg_index_int(c, 4, &decimals, 0, 9)))
            return rc;
        if ((rc = ms_luacfg_str(c, "obis", obis, sizeof obis, obis[0] ? obis : NULL)) ||
            (rc = ms_luacfg_str(c, "unit", it->unit, sizeof it->unit, it->unit)) ||
            (rc = ms_luacfg_int(c, "digits", &digits, digits, 0, 15)) ||
            (rc = ms_luacfg_int(c, "decimals", &decimals, decimals, 0, 9)))
            return rc;
        const char *key = npos >= 1 ? "[1]" : "obis";
        unsigned present;
        if (ms_obis_parse(obis, strlen(obis), &it->obis, &present) != 0 ||
            present != MS_OBIS_ALL)
            return ms_luacfg_fail(c, key, "\"%s\" is not a full OBIS code A-B:C.D.E*F",
                                  obis);
        ms_reg_def_t def;
        if (!ms_reg_lookup(&it->obis, &def))
            return ms_luacfg_fail(c, key, "%s is not a register this meter model knows",
                                  obis);
        if (!def.text && it->unit[0]) {
            char probe[40];
            if (ms_reg_format_fixed(0, def.exp10, def.unit, it->unit, 1, 0, probe,
                                    sizeof probe) == MS_EINVAL)
                return ms_luacfg_fail(c, npos >= 2 ? "[2]" : "unit",
                                      "unit \"%s\" does not fit %s (base unit %s)",
                                      it->unit, obis, def.unit[0] ? def.unit : "none");
        }
        it->digits = (uint8_t)digits;
        it->decimals = (uint8_t)decimals;
        ms_luacfg_pop(c);
    }
    x->nreadout = n;
    ms_luacfg_pop(c);
    return 0;
}

static int load_iec21(ms_luacfg_t *c, ms_model_t *m)
{
    static const char *const keys[] = { "mode",
                                        "baud",
                                        "baud_char",
                                        "identification",
                                        "enhanced",
                                        "address",
                                        "password",
                                        "reaction_ms",
                                        "reaction_option_ms",
                                        "tt_ms",
                                        "ta_ms",
                                        "inactivity_ms",
                                        "mode_d_period_ms",
                                        "wrong_password",
                                        "unknown_address",
                                        "address_style",
                                        "letters",
                                        "parity",
                                        "readout",
                                        "bcc_corrupt",
                                        NULL };
    static const char *const modes[] = { "A", "B", "C", "D", NULL };
    static const char *const refusals[] = { "break", "error", "nak", NULL };
    static const char *const unknown[] = { "error", "silent", NULL };
    static const char *const styles[] = { "full", "abcde", "cde", NULL };
    ms_model_iec21_t *x = &m->iec21;
    iec21_meter_cfg_t *s = &x->session;
    int rc = ms_luacfg_push(c, "iec62056_21");
    if (rc <= 0)
        return rc < 0 ? rc
                      : ms_luacfg_fail(c, "iec62056_21", "required (protocol settings)");
    if ((rc = ms_luacfg_only(c, keys)))
        return rc;
    int mode, refusal, unk, style;
    int64_t baud, v;
    char zc[4] = "", enh[4] = "";
    if ((rc = ms_luacfg_choice(c, "mode", modes, &mode, 2)) ||
        (rc = ms_luacfg_int(c, "baud", &baud,
                            mode == 3   ? 2400
                            : mode == 0 ? 300
                                        : 9600,
                            300, 19200)) ||
        (rc = ms_luacfg_str(c, "baud_char", zc, sizeof zc, "")) ||
        (rc = ms_luacfg_str(c, "identification", s->ident, sizeof s->ident, NULL)) ||
        (rc = ms_luacfg_str(c, "enhanced", enh, sizeof enh, "")) ||
        (rc = ms_luacfg_str(c, "address", s->address, sizeof s->address,
                            m->device_address)) ||
        (rc = ms_luacfg_str(c, "password", x->password_p1, sizeof x->password_p1, "")) ||
        (rc = ms_luacfg_choice(c, "wrong_password", refusals, &refusal, 0)) ||
        (rc = ms_luacfg_choice(c, "unknown_address", unknown, &unk, 0)) ||
        (rc = ms_luacfg_choice(c, "address_style", styles, &style, 0)) ||
        (rc = ms_luacfg_bool(c, "letters", &x->letters, true)) ||
        (rc = ms_luacfg_bool(c, "parity", &x->parity_out, false)) ||
        (rc = ms_luacfg_bool(c, "bcc_corrupt", &s->bcc_corrupt, false)))
        return rc;
    s->mode = modes[mode][0];
    x->baud = (unsigned)baud;
    /* Times: accepted outside the standard's ranges on purpose (conformance-breaking
     * models for the test bench); 0 means the session default. */
    struct {
        const char *key;
        unsigned *dst;
    } times[] = { { "reaction_ms", &s->reaction_ms },
                  { "reaction_option_ms", &s->reaction_option_ms },
                  { "tt_ms", &s->tt_ms },
                  { "ta_ms", &s->ta_ms },
                  { "inactivity_ms", &s->inactivity_ms },
                  { "mode_d_period_ms", &s->mode_d_period_ms } };
    for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
        if ((rc = ms_luacfg_int(c, times[i].key, &v, 0, 0, 3600000)))
            return rc;
        *times[i].dst = (unsigned)v;
    }
    if (zc[0]) {
        if (zc[1])
            return ms_luacfg_fail(c, "baud_char", "one character expected");
        s->baud_z = zc[0];
    } else if (s->mode == 'A') {
        s->baud_z = 'H'; /* mode A: a character that names no rate (clause 6.4.1) */
    } else {
        s->baud_z = iec21_z_of_baud(s->mode, x->baud);
        if (!s->baud_z)
            return ms_luacfg_fail(c, "baud",
                                  "%u Bd has no baud rate character in mode %c", x->baud,
                                  s->mode);
    }
    if (s->mode != 'A' && iec21_baud_of_z(s->mode, s->baud_z) == 0)
        return ms_luacfg_fail(c, "baud_char", "'%c' names no rate in mode %c", s->baud_z,
                              s->mode);
    if (enh[0] && enh[1])
        return ms_luacfg_fail(c, "enhanced", "one character expected");
    s->enh_w = enh[0];
    memcpy(s->mfr, m->manufacturer, 4);
    s->refusal = (iec21_refusal_t)refusal;
    s->unknown_address = (iec21_unknown_address_t)unk;
    s->programming = x->password_p1[0] != 0;
    x->addr_style = (ms_addr_style_t)style;
    if ((rc = load_readout(c, x)))
        return rc;
    ms_luacfg_pop(c);
    return 0;
}

int ms_model_load(const char *path, ms_model_t *m, char *msg, size_t msgcap)
{
    return ms_model_load_with(path, NULL, 0, m, msg, msgcap);
}

int ms_model_load_with(const char *path, const char *const *overrides, size_t nover,
                       ms_model_t *m, char *msg, size_t msgcap)
{
    memset(m, 0, sizeof *m);
    ms_luacfg_t c;
    int rc = ms_luacfg_open(&c, path, msg, msgcap);
    if (rc)
        goto out;
    for (size_t i = 0; i < nover; i++)
        if ((rc = ms_luacfg_set(&c, overrides[i])))
            goto out;
    snprintf(m->path, sizeof m->path, "%s", path);
    int64_t phases, share[3] = { 34, 33, 33 };
    int64_t pf;
    if ((rc = ms_luacfg_only(&c, top_keys)) ||
        (rc = ms_luacfg_str(&c, "name", m->name, sizeof m->name, NULL)) ||
        (rc = ms_luacfg_str(&c, "description", m->description, sizeof m->description,
                            "")) ||
        (rc = ms_luacfg_str(&c, "manufacturer", m->manufacturer, sizeof m->manufacturer,
                            NULL)) ||
        (rc = ms_luacfg_str(&c, "serial", m->serial, sizeof m->serial, NULL)) ||
        (rc = ms_luacfg_str(&c, "device_address", m->device_address,
                            sizeof m->device_address, m->serial)) ||
        (rc = ms_luacfg_str(&c, "firmware", m->firmware, sizeof m->firmware, "1.0")) ||
        (rc = ms_luacfg_int(&c, "phases", &phases, 3, 1, 3)) ||
        (rc = ms_luacfg_scaled(&c, "nominal_voltage", &m->nominal_voltage_mv, 230, 1,
                               1000, 1000)) ||
        (rc = ms_luacfg_scaled(&c, "frequency", &m->frequency_mhz, 50, 1, 1000, 1000)) ||
        (rc = ms_luacfg_scaled(&c, "power_factor", &pf, 1.0, 0.05, 1.0, 1000)) ||
        (rc = ms_cfg_timezone(&c, "timezone", &m->tz)))
        goto out;
    if (phases == 2) {
        rc = ms_luacfg_fail(&c, "phases", "1 or 3 expected");
        goto out;
    }
    if (strlen(m->manufacturer) != 3) {
        rc = ms_luacfg_fail(&c, "manufacturer",
                            "three letters expected (FLAG manufacturer ID)");
        goto out;
    }
    m->phases = (uint8_t)phases;
    if (ms_luacfg_has(&c, "phase_share")) {
        if ((rc = ms_luacfg_push(&c, "phase_share")) < 0)
            goto out;
        if (ms_luacfg_len(&c) != (size_t)phases) {
            rc = ms_luacfg_fail(&c, NULL, "needs %lld shares (one per phase)",
                                (long long)phases);
            goto out;
        }
        int64_t sum = 0;
        for (size_t i = 1; i <= (size_t)phases; i++) {
            if ((rc = ms_luacfg_index_int(&c, i, &share[i - 1], 0, 100)))
                goto out;
            sum += share[i - 1];
        }
        if (sum != 100) {
            rc = ms_luacfg_fail(&c, NULL, "shares add up to %lld, not 100",
                                (long long)sum);
            goto out;
        }
        ms_luacfg_pop(&c);
    } else if (phases == 1) {
        share[0] = 100;
    }
    for (int i = 0; i < 3; i++)
        m->phase_share_pct[i] = i < phases ? (uint8_t)share[i] : 0;
    m->power_factor_permille = (int32_t)pf;
    /* tan(acos(pf)): reactive per active energy of the load (a configuration value; the
     * registers themselves stay integer). */
    double cphi = (double)pf / 1000.0;
    m->reactive_permille = (int32_t)lround(sqrt(1.0 - cphi * cphi) / cphi * 1000.0);
    int64_t dp;
    if ((rc = ms_luacfg_int(&c, "demand_period", &dp, 900, 60, 3600)))
        goto out;
    if (3600 % dp != 0) {
        rc = ms_luacfg_fail(&c, "demand_period", "%lld s does not divide an hour",
                            (long long)dp);
        goto out;
    }
    m->demand_period_s = (uint32_t)dp;
    int64_t sub;
    if ((rc = ms_luacfg_int(&c, "demand_subperiods", &sub, 1, 1, 15)))
        goto out;
    if ((dp * 1000) % sub != 0) {
        rc = ms_luacfg_fail(&c, "demand_subperiods",
                            "%lld does not divide the period of %lld s", (long long)sub,
                            (long long)dp);
        goto out;
    }
    m->demand_subperiods = (uint8_t)sub;
    if ((rc = ms_cfg_calendar(&c, &m->calendar)) || (rc = ms_cfg_billing_logs(&c, m)) ||
        (rc = ms_cfg_profiles(&c, m)) || (rc = load_iec21(&c, m)) ||
        (rc = ms_cfg_dlms(&c, m)))
        goto out;
out:
    ms_luacfg_close(&c);
    return rc;
}

int ms_model_find(const char *name, char *path, size_t cap)
{
    size_t n = strlen(name);
    if (strchr(name, '/') || (n > 4 && strcmp(name + n - 4, ".lua") == 0)) {
        snprintf(path, cap, "%s", name);
        return access(path, R_OK) == 0 ? 0 : MS_ENOENT;
    }
    const char *dirs[] = { getenv("METERSIM_MODELS"), MS_MODELS_DIR };
    for (size_t i = 0; i < 2; i++) {
        if (!dirs[i] || !dirs[i][0])
            continue;
        snprintf(path, cap, "%s/%s.lua", dirs[i], name);
        if (access(path, R_OK) == 0)
            return 0;
    }
    return MS_ENOENT;
}
