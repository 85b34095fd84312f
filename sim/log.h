/*
** log.h — metersim's log on stderr: one line per event, "LEVEL [meter] text".
** SPDX-License-Identifier: MIT
*/
#ifndef MS_LOG_H
#define MS_LOG_H

typedef enum ms_log_level {
    MS_LOG_ERROR = 0,
    MS_LOG_WARN,
    MS_LOG_INFO,
    MS_LOG_DEBUG,
} ms_log_level_t;

/** Messages above this level are dropped (default MS_LOG_INFO). */
void ms_log_set_level(ms_log_level_t level);

/** Parse "error", "warn", "info" or "debug". @return 0 or MS_EPARSE */
int ms_log_parse_level(const char *s, ms_log_level_t *out);

/** Log one line. who: meter id or subsystem ("control"), may be NULL. */
void ms_log(ms_log_level_t level, const char *who, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
