/*
** mb_report.h — meterbench report writers: JSON, JUnit XML, TAP 13 and HTML.
** SPDX-License-Identifier: MIT
**
** Every writer is a pure function of the results document (docs/results-format.md,
** format 1) that meterbench builds while it runs: same document in, same bytes out.
** Optional members of the document may be absent or null; the writers cope with both.
** Errors are negative ms_err codes (protocols/common/ms_err.h); where a msg buffer is
** given it receives one line saying what went wrong (NUL-terminated, truncated to
** msgcap; msg may be NULL or msgcap 0).
*/
#ifndef MB_REPORT_H
#define MB_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/** The format names mb_report_write() takes, NULL-terminated: "json", "junit", "tap",
 *  "html". */
extern const char *const mb_report_formats[];

/**
 * Write the results document in one format to path ("-" = stdout).
 *
 * The text is rendered completely in memory before the file is opened, so a document
 * that is rejected leaves no file behind; a regular file that could not be written whole
 * is removed. An existing file is replaced.
 *
 * @param[in]  results  the results document (format 1); not retained, not modified
 * @param[in]  format   "json" | "junit" | "tap" | "html"
 * @param[in]  path     file to create or replace, or "-" for standard output
 * @param[out] msg      receives the reason on failure (may be NULL)
 * @param[in]  msgcap   size of msg in bytes
 * @return 0; MS_EINVAL for an unknown format, a NULL argument, or a document that is
 *         not format 1 (msg names the member: "member 'format' is missing", ...);
 *         MS_EIO when the file cannot be written (msg names the path and the errno
 *         text); MS_ENOMEM.
 */
int mb_report_write(const json_t *results, const char *format, const char *path,
                    char *msg, size_t msgcap);

/**
 * Render the results document in one format into a new buffer.
 *
 * @param[in]  results  the results document (format 1); not retained
 * @param[in]  format   "json" | "junit" | "tap" | "html"
 * @param[out] text     on success a malloc'ed, NUL-terminated buffer the caller frees
 * @param[out] len      its length in bytes without the NUL (may be NULL)
 * @param[out] msg      receives the reason on failure (may be NULL)
 * @param[in]  msgcap   size of msg in bytes
 * @return 0; MS_EINVAL (unknown format, or not a format-1 document); MS_ENOMEM.
 */
int mb_report_render(const json_t *results, const char *format, char **text, size_t *len,
                     char *msg, size_t msgcap);

/**
 * Bytes as the reports show them in frame traces: printable ASCII as is, control
 * characters by name ("<STX>"), other bytes in hex ("<0x9F>"). meterbench records trace
 * text with it, so that the HTML report recognises every token.
 * @param[out] len  the text's length
 * @return a malloc'ed NUL-terminated text the caller frees, or NULL (out of memory)
 */
char *mb_report_bytes_text(const uint8_t *p, size_t n, size_t *len);

/**
 * Check that a document is one the writers read: a JSON object with "format": 1 and
 * "scenarios" an array of objects. Everything else is optional.
 * @return 0, or MS_EINVAL with msg naming the member.
 */
int mb_report_check(const json_t *results, char *msg, size_t msgcap);

/*
 * One function per format, with the arguments and results of mb_report_render().
 *
 * mb_report_json:  the document itself, pretty-printed with two-space indentation, keys
 *                  in document order, flat arrays and objects on one line (one
 * load-profile point per line), numbers exact (shortest text that reads back equal).
 * mb_report_junit: JUnit XML (testsuites > testsuite per suite > testcase per scenario)
 *                  as Jenkins, GitLab and GitHub test reporters read it; valid against
 *                  reports/schema/junit-10.xsd.
 * mb_report_tap:   TAP version 13, one test point per scenario, YAML diagnostics for
 *                  every scenario that did not pass.
 * mb_report_html:  one self-contained HTML page (inline CSS and SVG plots, a few lines
 *                  of inline JavaScript for expand/collapse; no external fetches).
 */
int mb_report_json(const json_t *results, char **text, size_t *len, char *msg,
                   size_t msgcap);
int mb_report_junit(const json_t *results, char **text, size_t *len, char *msg,
                    size_t msgcap);
int mb_report_tap(const json_t *results, char **text, size_t *len, char *msg,
                  size_t msgcap);
int mb_report_html(const json_t *results, char **text, size_t *len, char *msg,
                   size_t msgcap);

#endif
