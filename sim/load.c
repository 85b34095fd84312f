/*
** load.c — constant and CSV-replay load sources.
** SPDX-License-Identifier: MIT
*/
#include "load.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ms_err.h"
#include "ms_int.h"
#include "ms_time.h"

#define MS_PER_HOUR 3600000

typedef struct csv_row {
    int64_t t_ms;
    int64_t mwh[MS_DIR_COUNT]; /* cumulative reading, interpolated inside gaps */
    bool bridged;              /* the reading was missing in the file */
} csv_row_t;

struct ms_load {
    int refs;
    const char *type;
    char spec[512];
    char desc[160];
    /* constant */
    int64_t power_mw[MS_DIR_COUNT];
    /* csv */
    csv_row_t *rows;
    size_t nrows;
    size_t cursor; /* last row index found: replay reads move forward */
};

static void set_msg(char *msg, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_msg(char *msg, size_t cap, const char *fmt, ...)
{
    if (!msg || !cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, cap, fmt, ap);
    va_end(ap);
}

ms_load_t *ms_load_constant(int64_t import_mw, int64_t export_mw, int *err)
{
    if (import_mw < 0 || export_mw < 0) {
        if (err)
            *err = MS_EINVAL;
        return NULL;
    }
    ms_load_t *l = calloc(1, sizeof *l);
    if (!l) {
        if (err)
            *err = MS_ENOMEM;
        return NULL;
    }
    l->refs = 1;
    l->type = "constant";
    snprintf(l->spec, sizeof l->spec,
             "constant:%" PRId64 ".%03" PRId64 ":%" PRId64 ".%03" PRId64,
             import_mw / 1000, import_mw % 1000, export_mw / 1000, export_mw % 1000);
    l->power_mw[MS_DIR_IMPORT] = import_mw;
    l->power_mw[MS_DIR_EXPORT] = export_mw;
    snprintf(l->desc, sizeof l->desc,
             "constant %" PRId64 ".%03" PRId64 " W import, %" PRId64 ".%03" PRId64
             " W export",
             import_mw / 1000, import_mw % 1000, export_mw / 1000, export_mw % 1000);
    return l;
}

/* Row index i with rows[i].t <= t < rows[i+1].t; the caller ensures
 * rows[0].t <= t < rows[n-1].t. Starts from the cursor: replay moves forward. */
static size_t find_row(ms_load_t *l, int64_t t)
{
    size_t i = l->cursor;
    if (i + 1 < l->nrows && l->rows[i].t_ms <= t && t < l->rows[i + 1].t_ms)
        return i;
    if (i + 2 < l->nrows && l->rows[i + 1].t_ms <= t && t < l->rows[i + 2].t_ms)
        return l->cursor = i + 1;
    size_t lo = 0, hi = l->nrows - 1; /* invariant: rows[lo].t <= t < rows[hi].t */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (l->rows[mid].t_ms <= t)
            lo = mid;
        else
            hi = mid;
    }
    return l->cursor = lo;
}

void ms_load_cumulative(ms_load_t *l, int64_t t, int64_t mwh[MS_DIR_COUNT])
{
    if (!l->rows) {
        /* Constant source: origin at t = 0; floor keeps the sequence telescoping. */
        for (int d = 0; d < MS_DIR_COUNT; d++)
            mwh[d] = ms_muldiv_floor(l->power_mw[d], t, MS_PER_HOUR);
        return;
    }
    if (t <= l->rows[0].t_ms) {
        for (int d = 0; d < MS_DIR_COUNT; d++)
            mwh[d] = l->rows[0].mwh[d];
        return;
    }
    if (t >= l->rows[l->nrows - 1].t_ms) {
        for (int d = 0; d < MS_DIR_COUNT; d++)
            mwh[d] = l->rows[l->nrows - 1].mwh[d];
        return;
    }
    size_t i = find_row(l, t);
    const csv_row_t *a = &l->rows[i], *b = &l->rows[i + 1];
    for (int d = 0; d < MS_DIR_COUNT; d++)
        mwh[d] = a->mwh[d] +
                 ms_muldiv_floor(b->mwh[d] - a->mwh[d], t - a->t_ms, b->t_ms - a->t_ms);
}

void ms_load_segment(ms_load_t *l, int64_t t, ms_load_seg_t *seg)
{
    memset(seg, 0, sizeof *seg);
    if (!l->rows) {
        seg->start_ms = INT64_MIN;
        seg->end_ms = INT64_MAX;
        seg->valid = true;
        for (int d = 0; d < MS_DIR_COUNT; d++)
            seg->power_mw[d] = l->power_mw[d];
        return;
    }
    if (t < l->rows[0].t_ms) {
        seg->start_ms = INT64_MIN;
        seg->end_ms = l->rows[0].t_ms;
        return;
    }
    if (t >= l->rows[l->nrows - 1].t_ms) {
        seg->start_ms = l->rows[l->nrows - 1].t_ms;
        seg->end_ms = INT64_MAX;
        return;
    }
    size_t i = find_row(l, t);
    const csv_row_t *a = &l->rows[i], *b = &l->rows[i + 1];
    seg->start_ms = a->t_ms;
    seg->end_ms = b->t_ms;
    seg->valid = true;
    seg->bridged = a->bridged || b->bridged;
    for (int d = 0; d < MS_DIR_COUNT; d++)
        seg->power_mw[d] =
            ms_muldiv_floor(b->mwh[d] - a->mwh[d], MS_PER_HOUR, b->t_ms - a->t_ms);
}

const char *ms_load_describe(const ms_load_t *l)
{
    return l->desc;
}

const char *ms_load_type(const ms_load_t *l)
{
    return l->type;
}

ms_load_t *ms_load_retain(ms_load_t *l)
{
    if (l)
        l->refs++;
    return l;
}

const char *ms_load_spec(const ms_load_t *l)
{
    return l->spec;
}

void ms_load_free(ms_load_t *l)
{
    if (!l || --l->refs > 0)
        return;
    free(l->rows);
    free(l);
}

/* ---- CSV parsing ---------------------------------------------------------------- */

/* Split one CSV line in place at commas (the OPSD files use no quoting). Returns the
 * number of fields; fields[] point into line. */
static size_t split_fields(char *line, char **fields, size_t max)
{
    size_t n = 0;
    char *p = line;
    for (;;) {
        if (n < max)
            fields[n] = p;
        n++;
        char *c = strchr(p, ',');
        if (!c)
            break;
        *c = 0;
        p = c + 1;
    }
    return n;
}

/* Exact decimal "123.456" in units of `unit_mwh` mWh -> mWh (no floating point).
 * Returns 0 or MS_EPARSE. */
static int parse_decimal_mwh(const char *s, int64_t unit_mwh, int64_t *out)
{
    const char *p = s;
    bool neg = false;
    if (*p == '-' || *p == '+')
        neg = *p++ == '-';
    int64_t whole = 0, frac = 0, scale = 1;
    int digits = 0;
    while (*p >= '0' && *p <= '9') {
        if (whole > INT64_MAX / 100)
            return MS_EPARSE;
        whole = whole * 10 + (*p++ - '0');
        digits++;
    }
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9') {
            if (scale > INT64_MAX / 100)
                return MS_EPARSE; /* more precision than int64 holds: refuse */
            frac = frac * 10 + (*p++ - '0');
            scale *= 10;
            digits++;
        }
    }
    if (*p != 0 || digits == 0)
        return MS_EPARSE;
    __int128 fu = (__int128)frac * unit_mwh;
    if (fu % scale != 0)
        return MS_EPARSE; /* finer than a mWh */
    if (whole > INT64_MAX / unit_mwh)
        return MS_EPARSE;
    int64_t v = whole * unit_mwh + (int64_t)(fu / scale);
    *out = neg ? -v : v;
    return 0;
}

static int find_column(char **names, size_t n, const char *want, const char *suffix)
{
    for (size_t i = 0; i < n; i++) {
        if (want && strcmp(names[i], want) == 0)
            return (int)i;
        if (!want && suffix) {
            size_t ln = strlen(names[i]), ls = strlen(suffix);
            if (ln >= ls && strcmp(names[i] + ln - ls, suffix) == 0)
                return (int)i;
        }
    }
    return -1;
}

#define CSV_MAX_FIELDS 64

ms_load_t *ms_load_csv(const ms_load_csv_opts_t *o, int *err, char *msg, size_t msgcap)
{
    int rc = 0;
    ms_load_t *l = NULL;
    char *line = NULL;
    size_t linecap = 0;
    const char *path = o->path;
    FILE *f = fopen(path, "r");
    if (!f) {
        rc = ms_err_from_errno(errno);
        set_msg(msg, msgcap, "%s: cannot open load file: %s", path, strerror(errno));
        goto fail;
    }
    l = calloc(1, sizeof *l);
    if (!l) {
        rc = MS_ENOMEM;
        goto fail;
    }
    l->refs = 1;
    l->type = "csv";
    snprintf(l->spec, sizeof l->spec, "%s", o->path);
    int64_t unit = o->mwh_per_unit > 0 ? o->mwh_per_unit : 1000000;

    /* Header. */
    ssize_t got = getline(&line, &linecap, f);
    if (got <= 0) {
        rc = MS_EPARSE;
        set_msg(msg, msgcap, "%s:1: empty file, expected a header line", path);
        goto fail;
    }
    line[strcspn(line, "\r\n")] = 0;
    char *names[CSV_MAX_FIELDS];
    size_t ncols = split_fields(line, names, CSV_MAX_FIELDS);
    if (ncols > CSV_MAX_FIELDS) {
        rc = MS_EPARSE;
        set_msg(msg, msgcap, "%s:1: more than %d columns", path, CSV_MAX_FIELDS);
        goto fail;
    }
    const char *tname = o->time_column ? o->time_column : "utc_timestamp";
    int tcol = find_column(names, ncols, tname, NULL);
    int col[MS_DIR_COUNT];
    col[MS_DIR_IMPORT] = find_column(names, ncols, o->import_column, "grid_import");
    col[MS_DIR_EXPORT] = find_column(names, ncols, o->export_column, "grid_export");
    if (tcol < 0 || col[MS_DIR_IMPORT] < 0 ||
        (o->export_column && col[MS_DIR_EXPORT] < 0)) {
        rc = MS_EPARSE;
        set_msg(msg, msgcap, "%s:1: no column '%s'", path,
                tcol < 0 ? tname
                : col[MS_DIR_IMPORT] < 0
                    ? (o->import_column ? o->import_column : "*grid_import")
                    : o->export_column);
        goto fail;
    }
    char colname[MS_DIR_COUNT][96];
    for (int d = 0; d < MS_DIR_COUNT; d++)
        snprintf(colname[d], sizeof colname[d], "%s", col[d] >= 0 ? names[col[d]] : "-");

    /* Rows: keep every row with a timestamp; readings may be missing (gap). */
    size_t cap = 0, n = 0;
    csv_row_t *rows = NULL;
    bool have[MS_DIR_COUNT] = { false, false };
    unsigned lineno = 1;
    while ((got = getline(&line, &linecap, f)) > 0) {
        lineno++;
        line[strcspn(line, "\r\n")] = 0;
        if (line[0] == 0)
            continue;
        char *fields[CSV_MAX_FIELDS];
        size_t nf = split_fields(line, fields, CSV_MAX_FIELDS);
        if (nf != ncols) {
            rc = MS_EPARSE;
            set_msg(msg, msgcap, "%s:%u: %zu fields, the header has %zu", path, lineno,
                    nf, ncols);
            break;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 4096;
            csv_row_t *nr = realloc(rows, cap * sizeof *rows);
            if (!nr) {
                rc = MS_ENOMEM;
                break;
            }
            rows = nr;
        }
        csv_row_t *r = &rows[n];
        memset(r, 0, sizeof *r);
        int64_t ts;
        if (ms_iso8601_parse(fields[tcol], &ts, NULL) != 0) {
            rc = MS_EPARSE;
            set_msg(msg, msgcap, "%s:%u: column '%s': '%s' is not an ISO 8601 time", path,
                    lineno, tname, fields[tcol]);
            break;
        }
        r->t_ms = ts * 1000;
        if (n > 0 && r->t_ms <= rows[n - 1].t_ms) {
            rc = MS_EPARSE;
            set_msg(msg, msgcap,
                    "%s:%u: column '%s': time %s is not after the previous row", path,
                    lineno, tname, fields[tcol]);
            break;
        }
        for (int d = 0; d < MS_DIR_COUNT; d++) {
            r->mwh[d] = INT64_MIN; /* missing */
            if (col[d] < 0)
                continue;
            const char *v = fields[col[d]];
            if (v[0] == 0)
                continue;
            if (parse_decimal_mwh(v, unit, &r->mwh[d]) != 0 || r->mwh[d] < 0) {
                rc = MS_EPARSE;
                set_msg(msg, msgcap, "%s:%u: column '%s': '%s' is not a register reading",
                        path, lineno, colname[d], v);
                break;
            }
            have[d] = true;
        }
        if (rc)
            break;
        n++;
    }
    l->rows = rows;
    if (rc)
        goto fail;

    /* Trim rows before the first and after the last import reading: no data there. */
    size_t first = 0, last = n;
    while (first < n && rows[first].mwh[MS_DIR_IMPORT] == INT64_MIN)
        first++;
    while (last > first && rows[last - 1].mwh[MS_DIR_IMPORT] == INT64_MIN)
        last--;
    if (last - first < 2) {
        rc = MS_EPARSE;
        set_msg(msg, msgcap, "%s: column '%s' has fewer than two readings", path,
                colname[MS_DIR_IMPORT]);
        goto fail;
    }
    memmove(rows, rows + first, (last - first) * sizeof *rows);
    n = last - first;

    /* Bridge gaps linearly between the surrounding readings; check monotonicity. */
    for (int d = 0; d < MS_DIR_COUNT; d++) {
        if (!have[d]) {
            for (size_t i = 0; i < n; i++)
                rows[i].mwh[d] = 0;
            continue;
        }
        size_t prev = SIZE_MAX;
        for (size_t i = 0; i < n; i++) {
            if (rows[i].mwh[d] == INT64_MIN)
                continue;
            if (prev == SIZE_MAX) {
                for (size_t k = 0; k < i; k++) { /* leading gap of this column: flat */
                    rows[k].mwh[d] = rows[i].mwh[d];
                    rows[k].bridged = true;
                }
            } else {
                const csv_row_t *a = &rows[prev], *b = &rows[i];
                if (b->mwh[d] < a->mwh[d]) {
                    rc = MS_ERANGE;
                    set_msg(msg, msgcap,
                            "%s: column '%s': reading at row time %" PRId64
                            " s decreases (register reset or swap?)",
                            path, colname[d], b->t_ms / 1000);
                    goto fail;
                }
                for (size_t k = prev + 1; k < i; k++) {
                    rows[k].mwh[d] = a->mwh[d] + ms_muldiv_floor(b->mwh[d] - a->mwh[d],
                                                                 rows[k].t_ms - a->t_ms,
                                                                 b->t_ms - a->t_ms);
                    rows[k].bridged = true;
                }
            }
            prev = i;
        }
        for (size_t k = prev + 1; k < n; k++) { /* trailing gap of this column: flat */
            rows[k].mwh[d] = rows[prev].mwh[d];
            rows[k].bridged = true;
        }
    }
    l->nrows = n;
    char t0[32], t1[32];
    ms_iso8601_format(rows[0].t_ms / 1000, 0, t0, sizeof t0);
    ms_iso8601_format(rows[n - 1].t_ms / 1000, 0, t1, sizeof t1);
    const char *base = strrchr(path, '/');
    snprintf(l->desc, sizeof l->desc, "csv %s (%zu readings, %s .. %s)",
             base ? base + 1 : path, n, t0, t1);
    free(line);
    fclose(f);
    return l;

fail:
    free(line);
    if (f)
        fclose(f);
    ms_load_free(l);
    if (err)
        *err = rc ? rc : MS_EPARSE;
    return NULL;
}

ms_load_t *ms_load_from_spec(const char *spec, int *err, char *msg, size_t msgcap)
{
    if (strncmp(spec, "constant:", 9) == 0) {
        char *end;
        double imp_w = strtod(spec + 9, &end), exp_w = 0;
        if (*end == ':')
            exp_w = strtod(end + 1, &end);
        if (*end != 0 || imp_w < 0 || exp_w < 0 || imp_w > 1e9 || exp_w > 1e9) {
            if (err)
                *err = MS_EPARSE;
            set_msg(msg, msgcap,
                    "--load %s: expected constant:IMPORT_W[:EXPORT_W] with watts >= 0",
                    spec);
            return NULL;
        }
        /* Watts given as text are converted once to integer mW. */
        return ms_load_constant((int64_t)(imp_w * 1000 + 0.5),
                                (int64_t)(exp_w * 1000 + 0.5), err);
    }
    ms_load_csv_opts_t o = { .path = spec };
    return ms_load_csv(&o, err, msg, msgcap);
}
