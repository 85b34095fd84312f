/*
** meterbench.c — the test bench's command line: `run` (Lua conformance scenarios,
** mb_run.c), `read` (read a meter over IEC 62056-21 like a field tool: readout, or
** single registers in programming mode) and `ports` (serial ports).
** SPDX-License-Identifier: MIT
*/
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <uv.h>

#include "iec21_drive.h"
#include "iec21_msg.h"
#include "mb_report.h"
#include "mb_run.h"
#include "ms_buf.h"
#include "ms_err.h"

static const char main_usage[] =
    "usage: meterbench run [PATHS...] [--meter sim|serial:DEV|tcp:HOST:PORT] [--tags "
    "...]\n"
    "                      [--filter ...] [--seed N] [--list] [--junit F] [--tap F]\n"
    "                      [--json F] [--html F] [...]   (meterbench run --help)\n"
    "       meterbench read --meter serial:DEVICE|tcp:HOST:PORT [...] (meterbench read "
    "--help)\n"
    "       meterbench ports [--json]\n"
    "\n"
    "run   run Lua conformance scenarios against a simulated or a real meter\n"
    "read  read a meter over IEC 62056-21 like a field tool\n"
    "ports list serial ports (optical heads, USB adapters)\n";

static const char usage[] =
    "usage: meterbench read --meter serial:DEVICE|tcp:HOST:PORT [options]\n"
    "\n"
    "Read a meter over IEC 62056-21 (IEC 61107) like a field tool.\n"
    "\n"
    "  --meter SPEC        serial:DEVICE (a tty, optical head or pty) or tcp:HOST:PORT\n"
    "  --address ADDR      device address for the request message (default: none)\n"
    "  --register ADDR     read one register (e.g. 1.8.0) in programming mode, "
    "repeatable;\n"
    "                      needs --password\n"
    "  --password PW       P1 password for programming mode\n"
    "  --max-baud N        highest rate to switch to (default 19200)\n"
    "  --no-switch         stay at 300 Bd (option select Z = 0)\n"
    "  --timeout-ms N      limit for each exchange (default 30000)\n"
    "  --json              print JSON instead of text\n"
    "  --trace             print every message sent and received on stderr\n"
    "\n"
    "Exit status: 0 read, 1 the meter answered wrongly or not at all, 2 usage.\n";

static int fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("meterbench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return code;
}

/* --trace: each chunk with its time and the bytes, control characters named. */
static void trace(void *ud, int dir, const uint8_t *p, size_t n, uint64_t t_ns)
{
    static uint64_t t0;
    if (!t0)
        t0 = t_ns;
    size_t len;
    char *text = mb_report_bytes_text(p, n, &len);
    fprintf(stderr, "%9.3f %s %s\n", (double)(t_ns - t0) / 1e6,
            dir == MB_TRACE_TX ? "->" : "<-", text ? text : "");
    free(text);
}

/* Data sets of a block as JSON [{address, value, unit}] (values as text, exactly as the
 * meter sent them). */
static json_t *datasets_json(const uint8_t *p, size_t n)
{
    json_t *a = json_array();
    ms_rd_t r;
    ms_rd_init(&r, p, n);
    iec21_dataset_t ds;
    while (iec21_dataset_next(&r, &ds) == 1) {
        json_t *o = json_object();
        json_object_set_new(o, "address", json_stringn(ds.address, ds.address_len));
        json_object_set_new(o, "value", json_stringn(ds.value, ds.value_len));
        if (ds.unit_len)
            json_object_set_new(o, "unit", json_stringn(ds.unit, ds.unit_len));
        json_array_append_new(a, o);
    }
    return a;
}

static int cmd_read(int argc, char **argv)
{
    enum {
        O_METER = 256,
        O_ADDRESS,
        O_REGISTER,
        O_PASSWORD,
        O_MAXBAUD,
        O_NOSWITCH,
        O_TIMEOUT,
        O_JSON,
        O_TRACE,
        O_HELP
    };
    static const struct option opts[] = {
        { "meter", required_argument, 0, O_METER },
        { "address", required_argument, 0, O_ADDRESS },
        { "register", required_argument, 0, O_REGISTER },
        { "password", required_argument, 0, O_PASSWORD },
        { "max-baud", required_argument, 0, O_MAXBAUD },
        { "no-switch", no_argument, 0, O_NOSWITCH },
        { "timeout-ms", required_argument, 0, O_TIMEOUT },
        { "json", no_argument, 0, O_JSON },
        { "trace", no_argument, 0, O_TRACE },
        { "help", no_argument, 0, O_HELP },
        { 0, 0, 0, 0 },
    };
    const char *meter = NULL, *password = NULL, *regs[64];
    int nregs = 0;
    bool json = false, tracing = false;
    unsigned timeout_ms = 30000;
    iec21_client_cfg_t cfg;
    memset(&cfg, 0, sizeof cfg);
    opterr = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_METER:
            meter = optarg;
            break;
        case O_ADDRESS:
            if (strlen(optarg) > IEC21_ADDRESS_MAX)
                return fail(2, "--address: at most %d characters", IEC21_ADDRESS_MAX);
            snprintf(cfg.address, sizeof cfg.address, "%s", optarg);
            break;
        case O_REGISTER:
            if (nregs == 64)
                return fail(2, "--register: at most 64");
            regs[nregs++] = optarg;
            break;
        case O_PASSWORD:
            password = optarg;
            break;
        case O_MAXBAUD:
            cfg.max_baud = (unsigned)strtoul(optarg, NULL, 10);
            if (cfg.max_baud < 300 || cfg.max_baud > 19200)
                return fail(2, "--max-baud %s: 300..19200 expected", optarg);
            break;
        case O_NOSWITCH:
            cfg.no_switch = true;
            break;
        case O_TIMEOUT:
            timeout_ms = (unsigned)strtoul(optarg, NULL, 10);
            if (timeout_ms == 0)
                return fail(2, "--timeout-ms %s: a positive number expected", optarg);
            break;
        case O_JSON:
            json = true;
            break;
        case O_TRACE:
            tracing = true;
            break;
        case O_HELP:
            fputs(usage, stdout);
            return 0;
        default:
            return fail(
                2, "read: unknown or incomplete option '%s' (meterbench read --help)",
                argv[optind - 1]);
        }
    }
    if (!meter)
        return fail(2, "read: --meter is required (meterbench read --help)");
    if (nregs && !password)
        return fail(2, "read: --register needs --password (programming mode)");

    uv_loop_t *loop = uv_default_loop();
    mb_iec21_t s;
    char msg[512];
    int rc = mb_iec21_open(&s, loop, meter, &cfg, timeout_ms, msg, sizeof msg);
    if (rc)
        return fail(1, "%s", msg);
    if (tracing)
        s.trace = trace;
    const iec21_client_result_t *r = mb_iec21_result(&s);
    json_t *out = json_object();
    int status = 0;
    if (!nregs) {
        rc = mb_iec21_readout(&s, timeout_ms);
        if (rc) {
            status = fail(1, "readout failed: %s", ms_strerror(rc));
        } else {
            char ident[64], enh[3] = "";
            if (r->ident.enh_w)
                snprintf(enh, sizeof enh, "\\%c", r->ident.enh_w);
            snprintf(ident, sizeof ident, "/%s%c%s%s", r->ident.mfr, r->ident.baud_z, enh,
                     r->ident.ident);
            /* The rate the identification offered, unless we asked to stay at 300. */
            unsigned rate =
                iec21_baud_of_z(r->mode == 'E' ? 'C' : r->mode, r->ident.baud_z);
            if (cfg.no_switch || r->mode == 'A' || !rate ||
                (cfg.max_baud && rate > cfg.max_baud))
                rate = 300;
            if (json) {
                json_object_set_new(out, "identification", json_string(ident));
                json_object_set_new(out, "mode", json_sprintf("%c", r->mode));
                json_object_set_new(out, "baud", json_integer(rate));
                json_object_set_new(out, "reaction_ms",
                                    json_integer(r->ident_reaction_ms));
                json_object_set_new(out, "data", datasets_json(r->data, r->len));
            } else {
                printf(
                    "# %s  (mode %c, readout at %u Bd, identification's first byte %u ms "
                    "after the request)\n",
                    ident, r->mode, rate, r->ident_reaction_ms);
                fwrite(r->data, 1, r->len, stdout);
            }
        }
    } else {
        rc = mb_iec21_program(&s, password, 1, timeout_ms);
        if (rc) {
            status = fail(1, "programming mode refused: %s", ms_strerror(rc));
        } else {
            json_t *vals = json_array();
            for (int i = 0; i < nregs && !status; i++) {
                char data[96];
                snprintf(data, sizeof data, "%s()", regs[i]);
                rc = mb_iec21_command(&s, 'R', '1', data, timeout_ms);
                if (rc) {
                    status = fail(1, "R1 %s: %s", regs[i], ms_strerror(rc));
                    break;
                }
                if (json) {
                    json_t *ds = datasets_json(r->data, r->len);
                    json_array_extend(vals, ds);
                    json_decref(ds);
                } else
                    printf("%.*s\n", (int)r->len, (const char *)r->data);
            }
            mb_iec21_break(&s, timeout_ms);
            json_object_set_new(out, "data", vals);
        }
    }
    if (json && !status) {
        char *t = json_dumps(out, JSON_INDENT(2));
        puts(t);
        free(t);
    }
    json_decref(out);
    mb_iec21_close(&s);
    return status;
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        fputs(main_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("meterbench %s\n", MS_VERSION);
        return 0;
    }
    if (!strcmp(argv[1], "read"))
        return cmd_read(argc - 1, argv + 1);
    if (!strcmp(argv[1], "run"))
        return mb_cmd_run(argc - 1, argv + 1);
    if (!strcmp(argv[1], "ports"))
        return mb_cmd_ports(argc - 1, argv + 1);
    return fail(2, "unknown command '%s' (meterbench --help)", argv[1]);
}
