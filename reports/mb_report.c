/*
** mb_report.c — format dispatch, document check and file output of the report writers.
** SPDX-License-Identifier: MIT
*/
#include "mb_report.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mb_report_internal.h"
#include "ms_err.h"

const char *const mb_report_formats[] = { "json", "junit", "tap", "html", NULL };

typedef int (*writer_fn)(const json_t *, char **, size_t *, char *, size_t);

static const writer_fn writers[] = { mb_report_json, mb_report_junit, mb_report_tap,
                                     mb_report_html };

__attribute__((format(printf, 3, 4))) static int fail(char *msg, size_t msgcap,
                                                      const char *fmt, ...)
{
    if (msg && msgcap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, msgcap, fmt, ap);
        va_end(ap);
    }
    return MS_EINVAL;
}

int mb_report_check(const json_t *results, char *msg, size_t msgcap)
{
    if (!json_is_object(results))
        return fail(msg, msgcap, "the results document is not a JSON object");
    const json_t *format = json_object_get(results, "format");
    if (!format)
        return fail(msg, msgcap, "member 'format' is missing: not a results document");
    if (!json_is_integer(format))
        return fail(msg, msgcap, "member 'format' is not an integer");
    if (json_integer_value(format) != 1)
        return fail(msg, msgcap,
                    "member 'format' is %" JSON_INTEGER_FORMAT
                    "; these writers read format 1",
                    json_integer_value(format));
    const json_t *scenarios = json_object_get(results, "scenarios");
    if (!json_is_array(scenarios))
        return fail(msg, msgcap, "member 'scenarios' is %s, not an array",
                    scenarios ? "of another type" : "missing");
    size_t i;
    const json_t *sc;
    json_array_foreach(scenarios, i, sc)
    {
        if (!json_is_object(sc))
            return fail(msg, msgcap, "member 'scenarios[%zu]' is not an object", i);
    }
    return 0;
}

static int format_index(const char *format)
{
    for (int i = 0; format && mb_report_formats[i]; i++)
        if (strcmp(format, mb_report_formats[i]) == 0)
            return i;
    return -1;
}

int mb__prepare(const json_t *results, char **text, char *msg, size_t msgcap)
{
    if (!text)
        return fail(msg, msgcap, "no output buffer");
    *text = NULL;
    return mb_report_check(results, msg, msgcap);
}

int mb_report_render(const json_t *results, const char *format, char **text, size_t *len,
                     char *msg, size_t msgcap)
{
    int k = format_index(format);
    if (k < 0)
        return fail(msg, msgcap, "unknown report format '%s' (json, junit, tap or html)",
                    format ? format : "(null)");
    return writers[k](results, text, len, msg, msgcap);
}

int mb__finish(mb__sb_t *sb, char **text, size_t *len, const char *format, char *msg,
               size_t msgcap)
{
    int rc = mb__sb_take(sb, text, len);
    if (rc < 0 && msg && msgcap)
        snprintf(msg, msgcap, "%s report: %s", format, ms_strerror(rc));
    return rc;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int mb_report_write(const json_t *results, const char *format, const char *path,
                    char *msg, size_t msgcap)
{
    if (!path)
        return fail(msg, msgcap, "no output path");
    char *text;
    size_t len;
    int rc = mb_report_render(results, format, &text, &len, msg, msgcap);
    if (rc < 0)
        return rc;
    int to_stdout = strcmp(path, "-") == 0;
    int fd = to_stdout ? STDOUT_FILENO
                       : open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int err = 0;
    if (fd < 0 || write_all(fd, text, len) < 0)
        err = errno ? errno : EIO;
    if (fd >= 0 && !to_stdout) {
        /* a half-written report must not pass for a whole one: remove it (a regular
         * file only: never a device such as /dev/full) */
        struct stat st;
        int regular = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
        if (close(fd) < 0 && !err)
            err = errno;
        if (err && regular)
            unlink(path);
    }
    free(text);
    if (err) {
        if (msg && msgcap)
            snprintf(msg, msgcap, "cannot write %s report to '%s': %s", format,
                     to_stdout ? "standard output" : path, strerror(err));
        return MS_EIO;
    }
    return 0;
}

/* ---- JSON ----------------------------------------------------------------------------
 */

/* A container whose members are all scalars. */
static int is_flat(const json_t *v)
{
    const json_t *m;
    if (json_is_array(v)) {
        size_t i;
        json_array_foreach(v, i, m)
        {
            if (json_is_array(m) || json_is_object(m))
                return 0;
        }
        return 1;
    }
    if (json_is_object(v)) {
        const char *key;
        json_object_foreach((json_t *)v, key, m)
        {
            if (json_is_array(m) || json_is_object(m))
                return 0;
        }
        return 1;
    }
    return 0;
}

static void json_scalar(mb__sb_t *sb, const json_t *v)
{
    if (json_is_string(v)) {
        mb__sb_json_str(sb, json_string_value(v), json_string_length(v));
    } else if (json_is_real(v)) {
        size_t at = sb->len;
        mb__sb_num(sb, json_real_value(v));
        /* keep a real a real when it is read back: 2 -> 2.0 */
        if (!sb->err && !strpbrk(sb->buf + at, ".eEn"))
            mb__sb_str(sb, ".0");
    } else {
        mb__sb_value(sb, v, 0);
    }
}

static void json_inline(mb__sb_t *sb, const json_t *v)
{
    const json_t *m;
    if (json_is_array(v)) {
        size_t i;
        mb__sb_ch(sb, '[');
        json_array_foreach(v, i, m)
        {
            mb__sb_str(sb, i ? ", " : "");
            json_scalar(sb, m);
        }
        mb__sb_ch(sb, ']');
    } else if (json_is_object(v)) {
        const char *key;
        int first = 1;
        mb__sb_ch(sb, '{');
        json_object_foreach((json_t *)v, key, m)
        {
            mb__sb_str(sb, first ? "" : ", ");
            first = 0;
            mb__sb_json_str(sb, key, strlen(key));
            mb__sb_str(sb, ": ");
            json_scalar(sb, m);
        }
        mb__sb_ch(sb, '}');
    } else {
        json_scalar(sb, v);
    }
}

enum { JSON_INLINE_MAX = 120 };

static void json_pretty(mb__sb_t *sb, const json_t *v, int indent)
{
    if (!json_is_array(v) && !json_is_object(v)) {
        json_scalar(sb, v);
        return;
    }
    size_t n = json_is_array(v) ? json_array_size(v) : json_object_size(v);
    if (n == 0) {
        mb__sb_str(sb, json_is_array(v) ? "[]" : "{}");
        return;
    }
    if (is_flat(v)) {
        size_t at = sb->len;
        json_inline(sb, v);
        if (sb->err || sb->len - at + (size_t)indent <= JSON_INLINE_MAX)
            return;
        sb->len = at; /* too long for one line: one member per line */
        sb->buf[at] = '\0';
    }
    const json_t *m;
    if (json_is_array(v)) {
        size_t i;
        mb__sb_ch(sb, '[');
        json_array_foreach(v, i, m)
        {
            mb__sb_fmt(sb, "%s\n%*s", i ? "," : "", indent + 2, "");
            json_pretty(sb, m, indent + 2);
        }
        mb__sb_fmt(sb, "\n%*s]", indent, "");
    } else {
        const char *key;
        int first = 1;
        mb__sb_ch(sb, '{');
        json_object_foreach((json_t *)v, key, m)
        {
            mb__sb_fmt(sb, "%s\n%*s", first ? "" : ",", indent + 2, "");
            first = 0;
            mb__sb_json_str(sb, key, strlen(key));
            mb__sb_str(sb, ": ");
            json_pretty(sb, m, indent + 2);
        }
        mb__sb_fmt(sb, "\n%*s}", indent, "");
    }
}

int mb_report_json(const json_t *results, char **text, size_t *len, char *msg,
                   size_t msgcap)
{
    int rc = mb__prepare(results, text, msg, msgcap);
    if (rc < 0)
        return rc;
    mb__sb_t sb;
    mb__sb_init(&sb);
    json_pretty(&sb, results, 0);
    mb__sb_ch(&sb, '\n');
    return mb__finish(&sb, text, len, "json", msg, msgcap);
}
