/*
** mb_report_tool.c — write one report from a results document: the report writers'
** command line for the integration tests (meterbench itself calls mb_report_write).
** SPDX-License-Identifier: MIT
**
** usage: mb_report_tool FORMAT RESULTS.json OUT|-
** exit status: 0 written; 1 MS_EINVAL (format or document); 2 MS_EIO; 3 anything else.
*/
#include <stdio.h>

#include "mb_report.h"
#include "ms_err.h"

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s json|junit|tap|html RESULTS.json OUT|-\n", argv[0]);
        return 3;
    }
    json_error_t jerr;
    json_t *doc = json_load_file(argv[2], JSON_ALLOW_NUL, &jerr);
    if (!doc) {
        fprintf(stderr, "%s:%d: %s\n", argv[2], jerr.line, jerr.text);
        return 3;
    }
    char msg[512];
    int rc = mb_report_write(doc, argv[1], argv[3], msg, sizeof msg);
    json_decref(doc);
    if (rc < 0) {
        fprintf(stderr, "mb_report_tool: %s (%s)\n", msg, ms_err_name(rc));
        return rc == MS_EINVAL ? 1 : rc == MS_EIO ? 2 : 3;
    }
    return 0;
}
