/*
** log.c — stderr log lines with wall-clock time stamps.
** SPDX-License-Identifier: MIT
*/
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ms_err.h"

static ms_log_level_t max_level = MS_LOG_INFO;
static const char *const names[] = { "error", "warn", "info", "debug" };

void ms_log_set_level(ms_log_level_t level)
{
    max_level = level;
}

int ms_log_parse_level(const char *s, ms_log_level_t *out)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (ms_log_level_t)i;
            return 0;
        }
    }
    return MS_EPARSE;
}

void ms_log(ms_log_level_t level, const char *who, const char *fmt, ...)
{
    if (level > max_level)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char line[1024];
    int n = snprintf(line, sizeof line, "%02d:%02d:%02d.%03ld %-5s %s%s%s", tm.tm_hour,
                     tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, names[level],
                     who ? "[" : "", who ? who : "", who ? "] " : "");
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof line)
        vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s\n", line);
}
