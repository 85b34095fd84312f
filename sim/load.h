/*
** load.h — load sources: what the simulated meter measures. A source answers
** "cumulative active energy imported / exported at time t" and "the constant-power
** segment around t"; the meter integrates by differences of the cumulative values, so
** registers telescope exactly (no floating point, no drift).
** SPDX-License-Identifier: MIT
**
** Times are int64 milliseconds since 1970-01-01T00:00:00Z (sim time). Energy in mWh,
** power in mW (DESIGN.md "Meter model": exact integer units).
*/
#ifndef MS_LOAD_H
#define MS_LOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Active energy directions a source provides. */
enum { MS_DIR_IMPORT = 0, MS_DIR_EXPORT = 1, MS_DIR_COUNT = 2 };

/** A span of constant power. */
typedef struct ms_load_seg {
    int64_t start_ms, end_ms;       /* [start, end); end may be INT64_MAX */
    int64_t power_mw[MS_DIR_COUNT]; /* mean power over the span, mW, >= 0 */
    bool valid;   /* false: no data (before the first or after the last reading) */
    bool bridged; /* true: inside a gap of the data set, bridged linearly between the
                     readings that surround it */
} ms_load_seg_t;

typedef struct ms_load ms_load_t;

/**
 * Cumulative energy of the source at t, per direction (mWh), on the source's own
 * scale: only differences are meaningful. Non-decreasing in t.
 * @param[out] mwh  MS_DIR_COUNT values
 */
void ms_load_cumulative(ms_load_t *l, int64_t t_ms, int64_t mwh[MS_DIR_COUNT]);

/** The constant-power segment containing t_ms. */
void ms_load_segment(ms_load_t *l, int64_t t_ms, ms_load_seg_t *seg);

/** Short description for logs and the control API, e.g. "constant 2000 W". */
const char *ms_load_describe(const ms_load_t *l);

/** Type name: "constant" or "csv". */
const char *ms_load_type(const ms_load_t *l);

/** Take a reference (epochs of a meter keep the source they were measured with). */
ms_load_t *ms_load_retain(ms_load_t *l);

/** Drop a reference; the source is freed with the last one. NULL is ignored. */
void ms_load_free(ms_load_t *l);

/** The specification the source was made from ("constant:500", a CSV path), for
 *  persistence: ms_load_from_spec(spec) makes the same source again. */
const char *ms_load_spec(const ms_load_t *l);

/**
 * A constant load: import_mw and export_mw (>= 0) at every instant.
 * @return the source, or NULL (out of memory, or a negative power: *err MS_EINVAL)
 */
ms_load_t *ms_load_constant(int64_t import_mw, int64_t export_mw, int *err);

/** Options of a CSV replay. NULL names take the defaults given per field. */
typedef struct ms_load_csv_opts {
    const char *path;
    const char *time_column;   /* default "utc_timestamp" (ISO 8601 with offset) */
    const char *import_column; /* default: the first column whose name ends in
                                  "grid_import" */
    const char *export_column; /* default: the first ending in "grid_export"; a missing
                                  export column means no export */
    int64_t mwh_per_unit;      /* register unit in mWh, default 1000000 (kWh) */
} ms_load_csv_opts_t;

/**
 * Replay cumulative register readings from a CSV file (Open Power System Data
 * household format: one row per interval, cumulative kWh per column, empty cells for
 * missing readings). Interval energy is the difference of consecutive readings; a gap
 * (empty cells) is bridged linearly between the readings around it, so the cumulative
 * value matches every reading the file has — a gap is not zero consumption. Before
 * the first and after the last reading the source has no data (zero power, invalid).
 *
 * @param[out] err  MS_ENOENT (file), MS_EPARSE (syntax: the message names file, line
 *                  and column), MS_ERANGE (a reading that decreases), MS_ENOMEM
 * @param[out] msg  on error, a message naming file, line and column (may be NULL)
 * @return the source, or NULL
 */
ms_load_t *ms_load_csv(const ms_load_csv_opts_t *o, int *err, char *msg, size_t msgcap);

/**
 * Create a source from a command-line specification: "constant:IMPORT_W[:EXPORT_W]"
 * or the path of a CSV file (default options).
 * @param[out] msg  on error, a message naming the file, line and field
 */
ms_load_t *ms_load_from_spec(const char *spec, int *err, char *msg, size_t msgcap);

#endif
