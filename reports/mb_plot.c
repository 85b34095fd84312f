/*
** mb_plot.c — a "plots" entry of the results document as an inline SVG line chart.
** SPDX-License-Identifier: MIT
**
** Time (ISO 8601, shown in UTC) or number x axis with ticks at round values, a y axis
** with 1-2-2.5-5 steps, one polyline per series (a null y is a gap and breaks the line),
** a legend, hover titles per point, and below the chart a table of each series' count,
** minimum, maximum and sum. With exactly two series the points where they differ are
** marked and the largest difference is named: "read" against "expected".
*/
#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mb_report_internal.h"
#include "ms_err.h"
#include "ms_time.h"

enum {
    W = 960,         /* viewBox width */
    H = 340,         /* viewBox height */
    ML = 74,         /* left margin: y tick labels and y axis label */
    MR = 38,         /* right margin: half a date label */
    MT = 34,         /* top margin: legend */
    MB = 60,         /* bottom margin: x tick labels (two lines) and x axis label */
    HOVER_MAX = 600, /* hover targets per series up to this many points */
    MARKER_MAX = 48, /* visible point markers up to this many points */
};

static const char *const palette[] = { "#1864ab", "#e8590c", "#2b8a3e",
                                       "#862e9c", "#c2255c", "#0b7285" };
#define NPALETTE (sizeof palette / sizeof palette[0])

typedef struct pt {
    double x, y;
    int gap; /* y was null: the line breaks here */
} pt_t;

typedef struct series {
    const char *name;
    size_t name_len;
    pt_t *pts;
    size_t n;     /* points kept (with gaps) */
    size_t valid; /* points with a y value */
    size_t gaps;  /* points with y null */
    size_t bad;   /* points that could not be read */
    double min, max, sum;
} series_t;

typedef struct axis {
    double lo, hi, step;
} axis_t;

/* ---- reading -------------------------------------------------------------------------
 */

static int read_x(const json_t *v, int is_time, double *x)
{
    if (is_time) {
        int64_t t;
        if (!json_is_string(v) || ms_iso8601_parse(json_string_value(v), &t, NULL) < 0)
            return 0;
        *x = (double)t;
        return 1;
    }
    if (!json_is_number(v))
        return 0;
    *x = json_number_value(v);
    return isfinite(*x);
}

static int read_series(const json_t *js, int is_time, series_t *s)
{
    memset(s, 0, sizeof *s);
    s->name = mb__str(js, "name", &s->name_len);
    const json_t *points = mb__arr(js, "points");
    size_t n = json_array_size(points);
    s->pts = calloc(n ? n : 1, sizeof *s->pts);
    if (!s->pts)
        return MS_ENOMEM;
    s->min = INFINITY;
    s->max = -INFINITY;
    size_t i;
    const json_t *p;
    json_array_foreach(points, i, p)
    {
        const json_t *jx = NULL, *jy = NULL;
        if (json_is_array(p) && json_array_size(p) >= 2) {
            jx = json_array_get(p, 0);
            jy = json_array_get(p, 1);
        } else if (json_is_object(p)) {
            jx = json_object_get(p, "x");
            jy = json_object_get(p, "y");
        }
        pt_t pt = { 0 };
        if (!read_x(jx, is_time, &pt.x)) {
            s->bad++;
            continue;
        }
        if (json_is_number(jy) && isfinite(json_number_value(jy))) {
            pt.y = json_number_value(jy);
            s->valid++;
            s->sum += pt.y;
            s->min = fmin(s->min, pt.y);
            s->max = fmax(s->max, pt.y);
        } else if (!jy || json_is_null(jy)) {
            pt.gap = 1;
            s->gaps++;
        } else {
            s->bad++;
            continue;
        }
        s->pts[s->n++] = pt;
    }
    return 0;
}

/* ---- axes ----------------------------------------------------------------------------
 */

/* A round step (1, 2, 2.5 or 5 times a power of ten) giving about `target` intervals. */
static double nice_step(double range, int target)
{
    double raw = range / target;
    double mag = pow(10, floor(log10(raw)));
    double norm = raw / mag;
    double f = norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 2.5 ? 2.5 : norm <= 5 ? 5 : 10;
    return f * mag;
}

static axis_t number_axis(double lo, double hi, int target)
{
    if (!(hi > lo)) {
        double pad = lo != 0 ? fabs(lo) * 0.1 : 1;
        lo -= pad;
        hi += pad;
    }
    axis_t a;
    a.step = nice_step(hi - lo, target);
    a.lo = floor(lo / a.step + 1e-9) * a.step;
    a.hi = ceil(hi / a.step - 1e-9) * a.step;
    return a;
}

static axis_t time_axis(double lo, double hi)
{
    static const double steps[] = { 1,      2,      5,       10,      15,      30,
                                    60,     120,    300,     600,     900,     1800,
                                    3600,   7200,   10800,   21600,   43200,   86400,
                                    172800, 604800, 1209600, 2419200, 7257600, 31536000 };
    if (!(hi > lo)) {
        lo -= 1800;
        hi += 1800;
    }
    const double year = steps[sizeof steps / sizeof steps[0] - 1];
    axis_t a = { lo, hi, nice_step((hi - lo) / year, 8) * year };
    if (a.step < year)
        a.step = year;
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        if ((hi - lo) / steps[i] <= 8) {
            a.step = steps[i];
            break;
        }
    }
    a.lo = floor(lo / a.step) * a.step;
    a.hi = ceil(hi / a.step) * a.step;
    return a;
}

/* Decimals that show a tick step exactly. */
static int step_decimals(double step)
{
    int d = 0;
    while (d < 10 && fabs(step * pow(10, d) - round(step * pow(10, d))) > 1e-6)
        d++;
    return d;
}

static void sb_tick_num(mb__sb_t *sb, double v, int decimals)
{
    if (fabs(v) < 1e-12)
        v = 0; /* no "-0" */
    double a = fabs(v);
    if (a != 0 && (a >= 1e7 || a < 1e-4))
        mb__sb_fmt(sb, "%g", v);
    else
        mb__sb_fmt(sb, "%.*f", decimals, v);
}

static void sb_utc(mb__sb_t *sb, double t, int with_date)
{
    ms_tm_t tm;
    ms_tm_from_unix((int64_t)floor(t), &tm);
    if (with_date)
        mb__sb_fmt(sb, "%04d-%02u-%02u ", tm.year, tm.month, tm.day);
    mb__sb_fmt(sb, "%02u:%02u", tm.hour, tm.minute);
    if (tm.second)
        mb__sb_fmt(sb, ":%02u", tm.second);
}

static void sb_x_value(mb__sb_t *sb, double x, int is_time)
{
    if (is_time) {
        sb_utc(sb, x, 1);
        mb__sb_str(sb, " UTC");
    } else {
        mb__sb_num(sb, x);
    }
}

/* Ticks of an axis: lo, lo + step, ... hi; none when the arithmetic broke down (huge or
 * non-finite values), and never more than 60 whatever the doubles do. */
static size_t tick_count(const axis_t *a)
{
    double n = (a->hi - a->lo) / a->step;
    if (!isfinite(n) || n < 0 || n > 59)
        return 0;
    return (size_t)llround(n) + 1;
}

static double tick(const axis_t *a, size_t i)
{
    return a->lo + (double)i * a->step;
}

/* ---- drawing -------------------------------------------------------------------------
 */

typedef struct frame {
    axis_t x, y;
    double pw, ph;
} frame_t;

static double px(const frame_t *f, double x)
{
    return ML + (x - f->x.lo) / (f->x.hi - f->x.lo) * f->pw;
}

static double py(const frame_t *f, double y)
{
    return MT + f->ph - (y - f->y.lo) / (f->y.hi - f->y.lo) * f->ph;
}

static void draw_axes(mb__sb_t *sb, const frame_t *f, int is_time)
{
    mb__sb_fmt(
        sb, "<rect class=\"area\" x=\"%d\" y=\"%d\" width=\"%.0f\" height=\"%.0f\"/>\n",
        ML, MT, f->pw, f->ph);
    int yd = step_decimals(f->y.step);
    mb__sb_str(sb, "<g class=\"grid\">\n");
    size_t ny = tick_count(&f->y), nx = tick_count(&f->x);
    for (size_t i = 0; i < ny; i++) {
        double y = py(f, tick(&f->y, i));
        mb__sb_fmt(sb, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\"/>", ML, y,
                   ML + f->pw, y);
    }
    for (size_t i = 0; i < nx; i++) {
        double x = px(f, tick(&f->x, i));
        mb__sb_fmt(sb, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.0f\"/>", x, MT, x,
                   MT + f->ph);
    }
    mb__sb_str(sb, "\n</g>\n<g class=\"ticks\">\n");
    for (size_t i = 0; i < ny; i++) {
        double v = tick(&f->y, i);
        mb__sb_fmt(sb, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">", ML - 6,
                   py(f, v) + 4);
        sb_tick_num(sb, v, yd);
        mb__sb_str(sb, "</text>");
    }
    int xd = step_decimals(f->x.step);
    int last_day = -1;
    for (size_t i = 0; i < nx; i++) {
        double v = tick(&f->x, i);
        double x = px(f, v);
        mb__sb_fmt(sb, "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">", x,
                   MT + f->ph + 16);
        if (!is_time) {
            sb_tick_num(sb, v, xd);
            mb__sb_str(sb, "</text>");
            continue;
        }
        ms_tm_t tm;
        ms_tm_from_unix((int64_t)floor(v), &tm);
        if (f->x.step >= 86400) {
            mb__sb_fmt(sb, "%02u-%02u</text>", tm.month, tm.day);
            if (last_day < 0 || tm.yday == 1)
                mb__sb_fmt(sb,
                           "<text class=\"date\" x=\"%.1f\" y=\"%.0f\" "
                           "text-anchor=\"middle\">%04d</text>",
                           x, MT + f->ph + 31, tm.year);
            last_day = 0;
            continue;
        }
        mb__sb_fmt(sb, "%02u:%02u", tm.hour, tm.minute);
        if (f->x.step < 60)
            mb__sb_fmt(sb, ":%02u", tm.second);
        mb__sb_str(sb, "</text>");
        int day = (int)floor(v / 86400);
        if (day != last_day)
            mb__sb_fmt(sb,
                       "<text class=\"date\" x=\"%.1f\" y=\"%.0f\" "
                       "text-anchor=\"middle\">%04d-%02u-%02u</text>",
                       x, MT + f->ph + 31, tm.year, tm.month, tm.day);
        last_day = day;
    }
    mb__sb_str(sb, "\n</g>\n");
}

static void draw_labels(mb__sb_t *sb, const json_t *plot, const frame_t *f, int is_time)
{
    const json_t *xa = mb__obj(plot, "x"), *ya = mb__obj(plot, "y");
    size_t n, un;
    const char *xl = mb__str(xa, "label", &n);
    mb__sb_fmt(sb, "<text class=\"label\" x=\"%.0f\" y=\"%d\" text-anchor=\"middle\">",
               ML + f->pw / 2, H - 6);
    mb__sb_html(sb, xl ? xl : (is_time ? "time" : "x"),
                xl ? n : strlen(is_time ? "time" : "x"), 0);
    if (is_time)
        mb__sb_str(sb, " (UTC)");
    const char *xu = mb__str(xa, "unit", &un);
    if (xu && un) {
        mb__sb_str(sb, " (");
        mb__sb_html(sb, xu, un, 0);
        mb__sb_ch(sb, ')');
    }
    mb__sb_str(sb, "</text>\n");
    const char *yl = mb__str(ya, "label", &n);
    const char *yu = mb__str(ya, "unit", &un);
    mb__sb_fmt(sb,
               "<text class=\"label\" transform=\"translate(16 %.0f) rotate(-90)\" "
               "text-anchor=\"middle\">",
               MT + f->ph / 2);
    mb__sb_html(sb, yl ? yl : "y", yl ? n : 1, 0);
    if (yu && un) {
        mb__sb_str(sb, " (");
        mb__sb_html(sb, yu, un, 0);
        mb__sb_ch(sb, ')');
    }
    mb__sb_str(sb, "</text>\n");
}

static void sb_series_name(mb__sb_t *sb, const series_t *s, size_t k)
{
    if (s->name && s->name_len)
        mb__sb_html(sb, s->name, s->name_len, 0);
    else
        mb__sb_fmt(sb, "series %zu", k + 1);
}

static void draw_series(mb__sb_t *sb, const frame_t *f, const series_t *s, size_t k,
                        int is_time, const char *yunit)
{
    const char *color = palette[k % NPALETTE];
    const char *dash = (k % 2) ? " stroke-dasharray=\"7 4\"" : "";
    /* one polyline per run of points between gaps */
    size_t i = 0;
    while (i < s->n) {
        while (i < s->n && s->pts[i].gap)
            i++;
        size_t start = i;
        while (i < s->n && !s->pts[i].gap)
            i++;
        if (i == start)
            break;
        if (i - start == 1) {
            mb__sb_fmt(sb, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"%s\"/>\n",
                       px(f, s->pts[start].x), py(f, s->pts[start].y), color);
            continue;
        }
        mb__sb_fmt(
            sb,
            "<polyline class=\"series\" data-series=\"%zu\" fill=\"none\" "
            "stroke=\"%s\" stroke-width=\"2\" stroke-linejoin=\"round\"%s points=\"",
            k, color, dash);
        for (size_t j = start; j < i; j++)
            mb__sb_fmt(sb, "%s%.1f,%.1f", j > start ? " " : "", px(f, s->pts[j].x),
                       py(f, s->pts[j].y));
        mb__sb_str(sb, "\"><title>");
        sb_series_name(sb, s, k);
        mb__sb_str(sb, "</title></polyline>\n");
    }
    int markers = s->valid <= MARKER_MAX, hover = s->valid <= HOVER_MAX;
    if (!markers && !hover)
        return;
    mb__sb_fmt(sb, "<g class=\"%s\" fill=\"%s\">", markers ? "marks" : "hover", color);
    for (i = 0; i < s->n; i++) {
        const pt_t *p = &s->pts[i];
        if (p->gap)
            continue;
        mb__sb_fmt(sb, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%s\"><title>", px(f, p->x),
                   py(f, p->y), markers ? "3" : "4");
        sb_series_name(sb, s, k);
        mb__sb_str(sb, " \xC2\xB7 ");
        mb__sb_t t;
        mb__sb_init(&t);
        sb_x_value(&t, p->x, is_time);
        mb__sb_str(&t, " \xC2\xB7 ");
        mb__sb_num(&t, p->y);
        if (yunit) {
            mb__sb_ch(&t, ' ');
            mb__sb_str(&t, yunit);
        }
        mb__sb_html(sb, t.buf ? t.buf : "", t.len, 0);
        if (t.err)
            sb->err = t.err;
        mb__sb_free(&t);
        mb__sb_str(sb, "</title></circle>");
    }
    mb__sb_str(sb, "</g>\n");
}

static void draw_legend(mb__sb_t *sb, const series_t *s, size_t ns, int diff_marks)
{
    double x = ML;
    mb__sb_str(sb, "<g class=\"legend\">");
    for (size_t k = 0; k < ns; k++) {
        const char *color = palette[k % NPALETTE];
        mb__sb_fmt(sb,
                   "<line x1=\"%.0f\" y1=\"16\" x2=\"%.0f\" y2=\"16\" stroke=\"%s\" "
                   "stroke-width=\"3\"%s/><text x=\"%.0f\" y=\"20\">",
                   x, x + 26, color, (k % 2) ? " stroke-dasharray=\"7 4\"" : "", x + 32);
        sb_series_name(sb, &s[k], k);
        mb__sb_str(sb, "</text>");
        size_t len = s[k].name_len ? s[k].name_len : 8;
        x += 32 + 8.0 * (double)(len > 40 ? 40 : len) + 28;
    }
    if (diff_marks)
        mb__sb_fmt(sb,
                   "<circle cx=\"%.0f\" cy=\"16\" r=\"4.5\" class=\"diff\"/>"
                   "<text x=\"%.0f\" y=\"20\">differs</text>",
                   x + 8, x + 18);
    mb__sb_str(sb, "</g>\n");
}

/* Points of a where b has the same x and another y; the largest |a - b|. */
typedef struct diff {
    size_t compared, differ;
    double max_abs, at_x, a_y, b_y;
} diff_t;

static int cmp_x(const void *pa, const void *pb)
{
    double a = ((const pt_t *)pa)->x, b = ((const pt_t *)pb)->x;
    return (a > b) - (a < b);
}

/* The point of sorted[0..n) at x, or NULL (also for a gap). */
static const pt_t *find_x(const pt_t *sorted, size_t n, double x)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (sorted[mid].x < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && sorted[lo].x == x && !sorted[lo].gap ? &sorted[lo] : NULL;
}

static int compare(const series_t *a, const series_t *b, diff_t *d, mb__sb_t *marks,
                   const frame_t *f)
{
    memset(d, 0, sizeof *d);
    if (!b->n)
        return 0;
    pt_t *sorted = malloc(b->n * sizeof *sorted);
    if (!sorted)
        return MS_ENOMEM;
    memcpy(sorted, b->pts, b->n * sizeof *sorted);
    qsort(sorted, b->n, sizeof *sorted, cmp_x);
    double scale =
        fmax(fmax(fabs(a->max), fabs(a->min)), fmax(fabs(b->max), fabs(b->min)));
    for (size_t i = 0; i < a->n; i++) {
        if (a->pts[i].gap)
            continue;
        const pt_t *q = find_x(sorted, b->n, a->pts[i].x);
        if (!q)
            continue;
        d->compared++;
        double diff = a->pts[i].y - q->y;
        if (fabs(diff) <= 1e-9 * scale)
            continue;
        d->differ++;
        if (marks)
            mb__sb_fmt(marks,
                       "<circle class=\"diff\" cx=\"%.1f\" cy=\"%.1f\" r=\"4.5\"/>",
                       px(f, a->pts[i].x), py(f, a->pts[i].y));
        if (fabs(diff) > d->max_abs) {
            d->max_abs = fabs(diff);
            d->at_x = a->pts[i].x;
            d->a_y = a->pts[i].y;
            d->b_y = q->y;
        }
    }
    free(sorted);
    return 0;
}

static void stats_table(mb__sb_t *sb, const series_t *s, size_t ns, const char *yunit,
                        size_t yun)
{
    mb__sb_str(sb,
               "<table class=\"pstats\"><thead><tr><th>series</th><th>points</th>"
               "<th>gaps</th><th>min</th><th>max</th><th>sum</th></tr></thead><tbody>\n");
    for (size_t k = 0; k < ns; k++) {
        mb__sb_fmt(sb, "<tr><td><span class=\"swatch\" style=\"background:%s\"></span>",
                   palette[k % NPALETTE]);
        sb_series_name(sb, &s[k], k);
        mb__sb_fmt(sb, "</td><td>%zu</td><td>%zu</td>", s[k].valid, s[k].gaps);
        /* the sum to 12 significant digits: no 12.879999999999997 from adding decimals */
        char sum[32];
        snprintf(sum, sizeof sum, "%.12g", s[k].sum);
        double v[3] = { s[k].min, s[k].max, strtod(sum, NULL) };
        for (int c = 0; c < 3; c++) {
            mb__sb_str(sb, "<td>");
            if (s[k].valid) {
                mb__sb_num(sb, v[c]);
                if (yunit && yun) {
                    mb__sb_ch(sb, ' ');
                    mb__sb_html(sb, yunit, yun, 0);
                }
            } else {
                mb__sb_str(sb, "\xE2\x80\x94");
            }
            mb__sb_str(sb, "</td>");
        }
        mb__sb_str(sb, "</tr>\n");
    }
    mb__sb_str(sb, "</tbody></table>\n");
}

void mb__html_plot(mb__sb_t *sb, const json_t *plot, size_t id)
{
    const json_t *jseries = mb__arr(plot, "series");
    size_t ns = json_array_size(jseries);
    const char *xkind = mb__str(mb__obj(plot, "x"), "kind", NULL);
    int is_time;
    if (xkind)
        is_time = strcmp(xkind, "time") == 0;
    else { /* not declared: time when the first x is text */
        const json_t *p0 =
            json_array_get(mb__arr(json_array_get(jseries, 0), "points"), 0);
        is_time = json_is_string(json_array_get(p0, 0));
    }
    size_t tn, yun;
    const char *title = mb__str(plot, "title", &tn);
    const char *yunit = mb__str(mb__obj(plot, "y"), "unit", &yun);

    mb__sb_str(sb, "<figure class=\"plot\">\n<figcaption>");
    if (title)
        mb__sb_html(sb, title, tn, 0);
    else
        mb__sb_fmt(sb, "plot %zu", id + 1);
    mb__sb_str(sb, "</figcaption>\n");

    series_t *s = calloc(ns ? ns : 1, sizeof *s);
    if (!s) {
        sb->err = MS_ENOMEM;
        return;
    }
    size_t valid = 0, bad = 0;
    double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
    for (size_t k = 0; k < ns; k++) {
        if (read_series(json_array_get(jseries, k), is_time, &s[k]) < 0) {
            sb->err = MS_ENOMEM;
            goto done;
        }
        valid += s[k].valid;
        bad += s[k].bad;
        for (size_t i = 0; i < s[k].n; i++) {
            xmin = fmin(xmin, s[k].pts[i].x);
            xmax = fmax(xmax, s[k].pts[i].x);
        }
        if (s[k].valid) {
            ymin = fmin(ymin, s[k].min);
            ymax = fmax(ymax, s[k].max);
        }
    }
    if (!valid) {
        mb__sb_str(sb, "<p class=\"nodata\">no data points</p>\n");
        goto table;
    }
    /* energies and counts read best from zero */
    if (ymin >= 0 && ymin <= 0.5 * ymax)
        ymin = 0;
    if (ymax <= 0 && ymax >= 0.5 * ymin)
        ymax = 0;
    frame_t f;
    f.pw = W - ML - MR;
    f.ph = H - MT - MB;
    f.x = is_time ? time_axis(xmin, xmax) : number_axis(xmin, xmax, 8);
    f.y = number_axis(ymin, ymax, 5);

    diff_t d = { 0 };
    mb__sb_t marks;
    mb__sb_init(&marks);
    if (ns == 2 && compare(&s[0], &s[1], &d, &marks, &f) < 0)
        sb->err = MS_ENOMEM;

    mb__sb_fmt(sb,
               "<svg class=\"chart\" viewBox=\"0 0 %d %d\" role=\"img\" "
               "aria-labelledby=\"plot%zu-t\" xmlns=\"http://www.w3.org/2000/svg\">\n"
               "<title id=\"plot%zu-t\">",
               W, H, id, id);
    if (title)
        mb__sb_html(sb, title, tn, 0);
    mb__sb_str(sb, "</title>\n");
    draw_axes(sb, &f, is_time);
    draw_labels(sb, plot, &f, is_time);
    draw_legend(sb, s, ns, d.differ > 0);
    for (size_t k = 0; k < ns; k++)
        draw_series(sb, &f, &s[k], k, is_time, yunit);
    if (d.differ) {
        mb__sb_str(sb, "<g class=\"diffs\">");
        mb__sb_add(sb, marks.buf, marks.len);
        mb__sb_str(sb, "</g>\n");
    }
    if (marks.err)
        sb->err = marks.err;
    mb__sb_free(&marks);
    mb__sb_str(sb, "</svg>\n");
    if (ns == 2 && d.compared) {
        mb__sb_str(sb, "<p class=\"pdiff\">");
        if (!d.differ) {
            mb__sb_fmt(sb, "All %zu points at the same x agree.", d.compared);
        } else {
            mb__sb_fmt(sb, "<b>%zu of %zu</b> points differ; largest difference ",
                       d.differ, d.compared);
            sb_series_name(sb, &s[0], 0);
            mb__sb_str(sb, " \xE2\x88\x92 ");
            sb_series_name(sb, &s[1], 1);
            mb__sb_str(sb, ": <b>");
            mb__sb_num(sb, d.a_y - d.b_y);
            if (yunit && yun) {
                mb__sb_ch(sb, ' ');
                mb__sb_html(sb, yunit, yun, 0);
            }
            mb__sb_str(sb, "</b> at ");
            mb__sb_t t;
            mb__sb_init(&t);
            sb_x_value(&t, d.at_x, is_time);
            mb__sb_html(sb, t.buf ? t.buf : "", t.len, 0);
            mb__sb_free(&t);
            mb__sb_str(sb, " (");
            mb__sb_num(sb, d.a_y);
            mb__sb_str(sb, " against ");
            mb__sb_num(sb, d.b_y);
            mb__sb_str(sb, ").");
        }
        mb__sb_str(sb, "</p>\n");
    }
table:
    if (bad)
        mb__sb_fmt(
            sb,
            "<p class=\"nodata\">%zu point%s could not be read and %s left out.</p>\n",
            bad, bad == 1 ? "" : "s", bad == 1 ? "is" : "are");
    if (ns)
        stats_table(sb, s, ns, yunit, yun);
done:
    for (size_t k = 0; k < ns; k++)
        free(s[k].pts);
    free(s);
    mb__sb_str(sb, "</figure>\n");
}
