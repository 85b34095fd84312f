/*
** bench_meter_year.c — CPU cost of simulating one meter-year (DESIGN.md "Targets":
** time-warp, one meter-year with a 15-min profile, daily tariff switches and monthly
** billing in <= 1 ms CPU), and how it scales with the load profile's capture period.
** SPDX-License-Identifier: MIT
**
** Usage: bench_meter_year [MODEL] [CSV]   (defaults: sim/models/ms3p-direct.lua and the
** OPSD household in ../shared/data). Each figure is the median of 21 runs of
** ms_meter_advance over 2016 (366 days) for a fresh meter, in CPU time
** (CLOCK_PROCESS_CPUTIME_ID); reading the year's profile is measured separately.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "load.h"
#include "meter.h"
#include "model.h"
#include "ms_time.h"

#define RUNS 21

static double cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v)
{
    qsort(v, RUNS, sizeof v[0], cmp);
    return v[RUNS / 2];
}

typedef struct result {
    double advance_ms, read_ms;
    size_t entries;
    uint32_t billing;
} result_t;

static result_t run(const ms_model_t *md, const char *load_spec)
{
    int64_t t0, t1;
    ms_iso8601_parse("2016-01-01T00:00:00Z", &t0, NULL);
    ms_iso8601_parse("2017-01-01T00:00:00Z", &t1, NULL);
    t0 *= 1000;
    t1 *= 1000;
    double adv[RUNS], rd[RUNS];
    result_t r = { 0 };
    size_t cap = 600000;
    ms_profile_entry_t *e = malloc(cap * sizeof *e);
    for (int i = 0; i < RUNS; i++) {
        char msg[256];
        ms_load_t *l = ms_load_from_spec(load_spec, NULL, msg, sizeof msg);
        if (!l) {
            fprintf(stderr, "bench: %s\n", msg);
            exit(1);
        }
        ms_meter_t *m = ms_meter_new("bench", md, l, t0, NULL);
        double a = cpu_ms();
        ms_meter_advance(m, t1);
        adv[i] = cpu_ms() - a;
        a = cpu_ms();
        r.entries = ms_meter_profile(m, 0, INT64_MIN, INT64_MAX, e, cap);
        rd[i] = cpu_ms() - a;
        r.billing = m->billing_count;
        ms_meter_free(m);
    }
    free(e);
    r.advance_ms = median(adv);
    r.read_ms = median(rd);
    return r;
}

int main(int argc, char **argv)
{
    const char *model = argc > 1 ? argv[1] : "sim/models/ms3p-direct.lua";
    const char *data = getenv("MS_SHARED_DATA");
    char csv[1024] = "";
    if (argc > 2)
        snprintf(csv, sizeof csv, "%s", argv[2]);
    else
        snprintf(csv, sizeof csv,
                 "%s/consumption/opsd_household_konstanz/"
                 "household_data_60min_singleindex_2017_residential4.csv",
                 data ? data : "../shared/data");
    static ms_model_t md;
    char msg[512];
    printf("one meter-year (2016, 366 days), median of %d runs, CPU time\n", RUNS);
    printf("%-28s %8s %10s %12s %10s %8s\n", "load", "period", "advance", "profile read",
           "entries", "billing");
    const char *loads[] = { "constant:1500", csv };
    const char *names[] = { "constant 1.5 kW", "OPSD household (hourly)" };
    const char *periods[] = { "60", "900", "3600" };
    for (int li = 0; li < 2; li++) {
        for (int pi = 0; pi < 3; pi++) {
            char period[64];
            snprintf(period, sizeof period, "profiles[1].period=%s", periods[pi]);
            /* a capacity that holds the whole year at any period */
            const char *sets[] = { period, "profiles[1].capacity=600000" };
            if (ms_model_load_with(model, sets, 2, &md, msg, sizeof msg)) {
                fprintf(stderr, "bench: %s\n", msg);
                return 1;
            }
            result_t r = run(&md, loads[li]);
            printf("%-28s %6s s %7.3f ms %9.3f ms %10zu %8u\n", names[li], periods[pi],
                   r.advance_ms, r.read_ms, r.entries, r.billing);
        }
    }
    printf("target (DESIGN.md): advance <= 1 ms CPU per meter-year\n");
    return 0;
}
