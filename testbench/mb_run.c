/*
** mb_run.c — `meterbench run`: find scenario files, select scenarios (tags, filter, the
** selftest rule), run them a few at a time on one libuv loop, show progress, build the
** results document (docs/results-format.md) and write the reports.
** SPDX-License-Identifier: MIT
*/
#include "mb_run.h"

#include <dirent.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <libserialport.h>
#include <uv.h>

#include "mb_http.h"
#include "mb_rt.h"
#include "ms_time.h"
#include "mb_report.h"

#ifndef MB_DATA_DIR
#define MB_DATA_DIR "../shared/data"
#endif

static const char usage[] =
    "usage: meterbench run [PATHS...] [options]\n"
    "\n"
    "Run Lua conformance scenarios (docs/scenario-api.md) against a simulated meter\n"
    "(the default) or a real one. PATHS are scenario files or folders (default:\n"
    "scenarios/). Scenarios of a selftest/ folder or tagged selftest run only when a\n"
    "PATH names that folder or --tags names selftest.\n"
    "\n"
    "  --meter SPEC          sim (default: metersim per scenario), serial:DEVICE or\n"
    "                        tcp:HOST:PORT (a real meter; sim-only scenarios are "
    "skipped)\n"
    "  --tags LIST           only scenarios with one of these tags (comma-separated;\n"
    "                        !TAG excludes)\n"
    "  --filter TEXT         only scenarios whose id contains TEXT (case-insensitive)\n"
    "  --seed N              seed of math.random and of simulations (default 1)\n"
    "  --list                list the selected scenarios and exit\n"
    "  --json FILE           write the results document (JSON)\n"
    "  --junit FILE          write JUnit XML\n"
    "  --tap FILE            write TAP 13\n"
    "  --html FILE           write a self-contained HTML report\n"
    "  --jobs N              scenarios at a time (default 4 with sim, 1 with a real "
    "meter)\n"
    "  --param KEY=VALUE     a value for t:param(KEY) (repeatable), e.g. password=...\n"
    "  --allow LIBS          grant scenarios os, io, debug, package (comma-separated)\n"
    "  --metersim PATH       the metersim program (default: $METERSIM, beside "
    "meterbench)\n"
    "  --sim-load SPEC       default load of simulated meters (a CSV path or\n"
    "                        constant:W; default constant:500)\n"
    "  --sim-set FIELD=VALUE override a model field of every simulated meter, e.g.\n"
    "                        iec62056_21.bcc_corrupt=true (repeatable)\n"
    "  --step-timeout-ms N   default time limit of a step (default 60000)\n"
    "  --timeout-ms N        default wall-clock limit of a scenario (default 180000)\n"
    "  --verbose, -v         show steps, failures and t:log lines as they happen\n"
    "\n"
    "Exit status: 0 every selected scenario passed (skips allowed), 1 otherwise or none\n"
    "selected, 2 usage, 130 interrupted.\n";

typedef struct job {
    mb_file_t *file;
    size_t index; /* declaration, or SIZE_MAX for a file that did not load */
    json_t *res;
    mb_scn_t *scn;
    uint64_t t0;
} job_t;

typedef struct run {
    mb_env_t env;
    job_t *jobs;
    size_t njobs, next, running, finished;
    unsigned max_jobs;
    bool interrupted;
    uv_signal_t sigint;
    uint64_t t0;
    json_t *doc;
    int counts[4]; /* passed failed error skipped */
} run_t;

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

/* ---- finding files ----------------------------------------------------------------- */

typedef struct paths {
    char **v;
    size_t n, cap;
} paths_t;

static void paths_add(paths_t *p, const char *s)
{
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 32;
        p->v = realloc(p->v, p->cap * sizeof *p->v);
        if (!p->v)
            abort();
    }
    p->v[p->n++] = strdup(s);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

/* Scenario files below dir: *.lua, not starting with '_', outside models/ and lib/
 * (meter models and helper modules) and hidden folders; sorted. */
static void walk(const char *dir, paths_t *out)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    paths_t here = { 0 };
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || e->d_name[0] == '_')
            continue;
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s%s%s", dir, ends_with(dir, "/") ? "" : "/",
                 e->d_name);
        struct stat st;
        if (stat(path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            if (strcmp(e->d_name, "models") && strcmp(e->d_name, "lib"))
                paths_add(&here, path);
        } else if (ends_with(e->d_name, ".lua")) {
            paths_add(&here, path);
        }
    }
    closedir(d);
    if (here.n)
        qsort(here.v, here.n, sizeof *here.v, cmp_str);
    for (size_t i = 0; i < here.n; i++) {
        struct stat st;
        if (stat(here.v[i], &st) == 0 && S_ISDIR(st.st_mode))
            walk(here.v[i], out);
        else
            paths_add(out, here.v[i]);
        free(here.v[i]);
    }
    free(here.v);
}

/* rel: the path below the last folder named "scenarios" (else below the PATH's
 * parent); suite: the first folder of rel (else the file's folder name). */
static void suite_of(const char *path, char **suite, char **rel)
{
    const char *p = path, *hit = NULL;
    while ((p = strstr(p, "scenarios/"))) {
        if (p == path || p[-1] == '/')
            hit = p + strlen("scenarios/");
        p++;
    }
    const char *r = hit;
    if (!r) {
        const char *slash = strrchr(path, '/');
        const char *prev = slash;
        while (prev && prev > path && prev[-1] != '/')
            prev--;
        r = prev && prev != slash ? prev : (slash ? slash + 1 : path);
    }
    while (*r == '/')
        r++;
    *rel = strdup(r);
    const char *slash = strchr(r, '/');
    if (slash) {
        *suite = strndup(r, (size_t)(slash - r));
    } else {
        *suite = strdup("scenarios");
    }
}

static bool in_selftest_dir(const char *path)
{
    return strstr(path, "/selftest/") || !strncmp(path, "selftest/", 9);
}

/* ---- selection ------------------------------------------------------------------------
 */

typedef struct sel {
    char **tags;
    size_t ntags;
    const char *filter;
} sel_t;

static bool has_tag(json_t *tags, const char *t)
{
    size_t i;
    json_t *v;
    json_array_foreach(tags, i, v)
    {
        if (!strcmp(json_string_value(v), t))
            return true;
    }
    return false;
}

static bool tags_name(const sel_t *s, const char *t)
{
    for (size_t i = 0; i < s->ntags; i++)
        if (!strcmp(s->tags[i], t))
            return true;
    return false;
}

static bool selected(const sel_t *s, json_t *tags, const char *id, bool selftest_ok)
{
    if (has_tag(tags, "selftest") && !selftest_ok && !tags_name(s, "selftest"))
        return false;
    bool any_pos = false, pos_hit = false;
    for (size_t i = 0; i < s->ntags; i++) {
        const char *t = s->tags[i];
        if (t[0] == '!' || t[0] == '-') {
            if (has_tag(tags, t + 1))
                return false;
        } else {
            any_pos = true;
            pos_hit |= has_tag(tags, t);
        }
    }
    if (any_pos && !pos_hit)
        return false;
    if (s->filter && !strcasestr(id, s->filter))
        return false;
    return true;
}

/* ---- running ----------------------------------------------------------------------- */

static const char *status_word(const char *st)
{
    if (!strcmp(st, "passed"))
        return "PASS ";
    if (!strcmp(st, "failed"))
        return "FAIL ";
    if (!strcmp(st, "skipped"))
        return "SKIP ";
    return "ERROR";
}

static void count(run_t *r, const char *st)
{
    int k = !strcmp(st, "passed")   ? 0
            : !strcmp(st, "failed") ? 1
            : !strcmp(st, "error")  ? 2
                                    : 3;
    r->counts[k]++;
}

static void report_done(run_t *r, job_t *j)
{
    const char *st = json_string_value(json_object_get(j->res, "status"));
    count(r, st);
    r->finished++;
    double ms = json_real_value(json_object_get(j->res, "duration_ms"));
    printf("[%*zu/%zu] %s %s  (%.1f s)\n", r->njobs >= 100 ? 3 : 2, r->finished, r->njobs,
           status_word(st), json_string_value(json_object_get(j->res, "id")),
           ms / 1000.0);
    const char *msg = json_string_value(json_object_get(j->res, "message"));
    if (msg && strcmp(st, "passed") != 0) {
        /* first line of the message, indented */
        const char *nl = strchr(msg, '\n');
        printf("         %.*s\n", nl ? (int)(nl - msg) : (int)strlen(msg), msg);
    }
    fflush(stdout);
}

static void start_more(run_t *r);

typedef struct done_ctx {
    run_t *r;
    job_t *j;
} done_ctx_t;

static void on_scn_done(mb_scn_t *s, void *ud)
{
    done_ctx_t *d = ud;
    run_t *r = d->r;
    job_t *j = d->j;
    free(d);
    j->scn = NULL;
    mb_scn_free(s);
    r->running--;
    report_done(r, j);
    start_more(r);
}

static void start_more(run_t *r)
{
    while (r->running < r->max_jobs && r->next < r->njobs) {
        job_t *j = &r->jobs[r->next++];
        if (r->interrupted) {
            json_object_set_new(j->res, "status", json_string("skipped"));
            json_object_set_new(j->res, "message", json_string("run interrupted"));
            json_object_set_new(j->res, "duration_ms", json_real(0));
            json_object_set_new(j->res, "steps", json_array());
            report_done(r, j);
            continue;
        }
        if (j->index == SIZE_MAX) {
            /* the file did not load: one error entry for it */
            json_object_set_new(j->res, "status", json_string("error"));
            json_object_set_new(j->res, "message", json_string(j->file->load_error));
            json_object_set_new(j->res, "duration_ms", json_real(0));
            json_object_set_new(j->res, "steps",
                                json_pack("[{s:s, s:s, s:s, s:f, s:i, s:[], s:[], s:[]}]",
                                          "name", "(load)", "status", "error", "message",
                                          j->file->load_error, "duration_ms", 0.0,
                                          "attempts", 1, "measurements", "trace",
                                          "plots"));
            report_done(r, j);
            continue;
        }
        done_ctx_t *d = malloc(sizeof *d);
        if (!d)
            abort();
        d->r = r;
        d->j = j;
        r->running++;
        if (r->env.verbose)
            fprintf(stderr, "  start %s\n",
                    json_string_value(json_object_get(j->res, "id")));
        j->scn = mb_scn_start(&r->env, j->file, j->index, j->res, on_scn_done, d);
        if (!j->scn) {
            free(d);
            r->running--;
            json_object_set_new(j->res, "status", json_string("error"));
            json_object_set_new(j->res, "message", json_string("out of memory"));
            report_done(r, j);
        }
    }
    if (r->running == 0 && r->next >= r->njobs) {
        uv_signal_stop(&r->sigint);
        uv_close((uv_handle_t *)&r->sigint, NULL);
        mb_http_free(r->env.http);
        r->env.http = NULL;
    }
}

static void on_sigint(uv_signal_t *h, int signum)
{
    run_t *r = h->data;
    if (r->interrupted) {
        fputs("meterbench: interrupted twice, leaving now\n", stderr);
        _exit(130);
    }
    r->interrupted = true;
    fputs("\nmeterbench: interrupted; stopping the scenarios that run (Ctrl-C again "
          "to leave at once)\n",
          stderr);
    for (size_t i = 0; i < r->njobs; i++)
        if (r->jobs[i].scn)
            mb_scn_abort(r->jobs[i].scn);
}

/* ---- the command ----------------------------------------------------------------------
 */

static const char *default_metersim(char *buf, size_t cap)
{
    const char *e = getenv("METERSIM");
    if (e && e[0])
        return e;
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = 0;
        char *slash = strrchr(self, '/');
        if (slash) {
            *slash = 0;
            snprintf(buf, cap, "%s/../sim/metersim", self);
            if (access(buf, X_OK) == 0)
                return buf;
            snprintf(buf, cap, "%s/metersim", self);
            if (access(buf, X_OK) == 0)
                return buf;
        }
    }
    return "metersim";
}

static int write_reports(json_t *doc, const char *json_path, const char *junit,
                         const char *tap, const char *html)
{
    int rc = 0;
    const char *fmts[4] = { "json", "junit", "tap", "html" };
    const char *files[4] = { json_path, junit, tap, html };
    for (int i = 0; i < 4; i++) {
        if (!files[i])
            continue;
        char msg[512] = "";
        if (mb_report_write(doc, fmts[i], files[i], msg, sizeof msg) != 0)
            rc = fail(1, "--%s %s: %s", fmts[i], files[i], msg[0] ? msg : "cannot write");
    }
    return rc;
}

static void split_list(const char *s, char ***out, size_t *n)
{
    char *copy = strdup(s), *save = NULL;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        while (*t == ' ')
            t++;
        if (!*t)
            continue;
        *out = realloc(*out, (*n + 1) * sizeof **out);
        (*out)[(*n)++] = strdup(t);
    }
    free(copy);
}

int mb_cmd_run(int argc, char **argv)
{
    enum {
        O_METER = 256,
        O_TAGS,
        O_FILTER,
        O_SEED,
        O_LIST,
        O_JSON,
        O_JUNIT,
        O_TAP,
        O_HTML,
        O_JOBS,
        O_PARAM,
        O_ALLOW,
        O_METERSIM,
        O_SIM_LOAD,
        O_SIM_SET,
        O_STEP_TO,
        O_SCN_TO,
        O_HELP,
    };
    static const struct option opts[] = {
        { "meter", required_argument, 0, O_METER },
        { "tags", required_argument, 0, O_TAGS },
        { "filter", required_argument, 0, O_FILTER },
        { "seed", required_argument, 0, O_SEED },
        { "list", no_argument, 0, O_LIST },
        { "json", required_argument, 0, O_JSON },
        { "junit", required_argument, 0, O_JUNIT },
        { "tap", required_argument, 0, O_TAP },
        { "html", required_argument, 0, O_HTML },
        { "jobs", required_argument, 0, O_JOBS },
        { "param", required_argument, 0, O_PARAM },
        { "allow", required_argument, 0, O_ALLOW },
        { "metersim", required_argument, 0, O_METERSIM },
        { "sim-load", required_argument, 0, O_SIM_LOAD },
        { "sim-set", required_argument, 0, O_SIM_SET },
        { "step-timeout-ms", required_argument, 0, O_STEP_TO },
        { "timeout-ms", required_argument, 0, O_SCN_TO },
        { "verbose", no_argument, 0, 'v' },
        { "help", no_argument, 0, O_HELP },
        { 0, 0, 0, 0 },
    };
    static run_t run;
    run_t *r = &run;
    memset(r, 0, sizeof *r);
    mb_env_t *env = &r->env;
    env->meter = "sim";
    env->seed = 1;
    env->step_timeout_ms = 60000;
    env->scenario_timeout_ms = 180000;
    env->ready_timeout_ms = 15000;
    env->max_instructions = 4000000000LL;
    env->max_memory = 512u << 20;
    env->params = json_object();
    env->sim_sets = json_array();
    const char *data = getenv("MS_SHARED_DATA");
    env->data_dir = data && data[0] ? data : MB_DATA_DIR;
    char msbuf[PATH_MAX];
    env->metersim = default_metersim(msbuf, sizeof msbuf);
    sel_t sel = { 0 };
    bool list = false;
    const char *json_path = NULL, *junit = NULL, *tap = NULL, *html = NULL;
    long jobs = 0;
    json_t *tags_json = json_array();
    paths_t args = { 0 }, files = { 0 };
    json_t *paths_json = json_array();
    bool *selftest_ok = NULL;
    mb_file_t *mf = NULL;
    json_t *run_obj = NULL, *scenarios = NULL;
    uv_loop_t *loop = NULL;
    int rc = 0;
    opterr = 0;
    optind = 1;
    int c;
    char *end;
#define BAIL(...)               \
    do {                        \
        rc = fail(__VA_ARGS__); \
        goto out;               \
    } while (0)
    while ((c = getopt_long(argc, argv, "v", opts, NULL)) != -1) {
        switch (c) {
        case O_METER:
            if (strcmp(optarg, "sim") && strncmp(optarg, "serial:", 7) &&
                strncmp(optarg, "tcp:", 4))
                BAIL(2, "--meter %s: sim, serial:DEVICE or tcp:HOST:PORT expected",
                     optarg);
            env->meter = optarg;
            break;
        case O_TAGS:
            split_list(optarg, &sel.tags, &sel.ntags);
            break;
        case O_FILTER:
            sel.filter = optarg;
            break;
        case O_SEED:
            env->seed = strtoll(optarg, &end, 10);
            if (*end || !optarg[0])
                BAIL(2, "--seed %s: an integer expected", optarg);
            break;
        case O_LIST:
            list = true;
            break;
        case O_JSON:
            json_path = optarg;
            break;
        case O_JUNIT:
            junit = optarg;
            break;
        case O_TAP:
            tap = optarg;
            break;
        case O_HTML:
            html = optarg;
            break;
        case O_JOBS:
            jobs = strtol(optarg, &end, 10);
            if (*end || jobs < 1 || jobs > 64)
                BAIL(2, "--jobs %s: 1..64 expected", optarg);
            break;
        case O_PARAM: {
            const char *eq = strchr(optarg, '=');
            if (!eq || eq == optarg)
                BAIL(2, "--param %s: KEY=VALUE expected", optarg);
            char key[128];
            snprintf(key, sizeof key, "%.*s", (int)(eq - optarg), optarg);
            json_object_set_new(env->params, key, json_string(eq + 1));
            break;
        }
        case O_ALLOW: {
            char **libs = NULL;
            const char *bad = NULL;
            size_t n = 0;
            split_list(optarg, &libs, &n);
            for (size_t i = 0; i < n; i++) {
                if (!strcmp(libs[i], "os"))
                    env->allow |= MB_ALLOW_OS;
                else if (!strcmp(libs[i], "io"))
                    env->allow |= MB_ALLOW_IO;
                else if (!strcmp(libs[i], "debug"))
                    env->allow |= MB_ALLOW_DEBUG;
                else if (!strcmp(libs[i], "package") || !strcmp(libs[i], "loadlib"))
                    env->allow |= MB_ALLOW_PACKAGE;
                else if (!bad)
                    bad = libs[i];
            }
            if (bad)
                rc = fail(2, "--allow %s: os, io, debug or package expected", bad);
            for (size_t i = 0; i < n; i++)
                free(libs[i]);
            free(libs);
            if (rc)
                goto out;
            break;
        }
        case O_METERSIM:
            env->metersim = optarg;
            break;
        case O_SIM_LOAD: {
            static char load_path[PATH_MAX];
            env->sim_load = optarg;
            if (strncmp(optarg, "constant:", 9) != 0) {
                if (!realpath(optarg, load_path))
                    BAIL(2, "--sim-load %s: no such file", optarg);
                env->sim_load = load_path;
            }
            break;
        }
        case O_SIM_SET:
            if (!strchr(optarg, '=') || optarg[0] == '=')
                BAIL(2, "--sim-set %s: FIELD=VALUE expected", optarg);
            json_array_append_new(env->sim_sets, json_string(optarg));
            break;
        case O_STEP_TO:
        case O_SCN_TO: {
            long v = strtol(optarg, &end, 10);
            if (*end || v < 1 || v > 86400000)
                BAIL(2, "%s %s: 1..86400000 ms expected", argv[optind - 2], optarg);
            if (c == O_STEP_TO)
                env->step_timeout_ms = (unsigned)v;
            else
                env->scenario_timeout_ms = (unsigned)v;
            break;
        }
        case 'v':
            env->verbose = true;
            break;
        case O_HELP:
            fputs(usage, stdout);
            goto out;
        default:
            BAIL(2, "run: unknown or incomplete option '%s' (meterbench run --help)",
                 argv[optind - 1]);
        }
    }
    for (size_t i = 0; i < sel.ntags; i++)
        json_array_append_new(tags_json, json_string(sel.tags[i]));
    r->max_jobs = jobs ? (unsigned)jobs : strcmp(env->meter, "sim") ? 1u : 4u;
    if (strcmp(env->meter, "sim") && r->max_jobs > 1) {
        fprintf(stderr, "meterbench: one real meter: running one scenario at a time\n");
        r->max_jobs = 1;
    }

    /* Files. */
    for (int i = optind; i < argc; i++)
        paths_add(&args, argv[i]);
    if (!args.n)
        paths_add(&args, "scenarios/");
    for (size_t i = 0; i < args.n; i++) {
        json_array_append_new(paths_json, json_string(args.v[i]));
        struct stat st;
        if (stat(args.v[i], &st) != 0)
            BAIL(2, "%s: no such file or folder", args.v[i]);
        size_t before = files.n;
        if (S_ISDIR(st.st_mode))
            walk(args.v[i], &files);
        else
            paths_add(&files, args.v[i]);
        /* selftest files run when the PATH given is inside a selftest folder */
        char norm[PATH_MAX];
        snprintf(norm, sizeof norm, "%s%s", args.v[i], S_ISDIR(st.st_mode) ? "/" : "");
        bool ok = in_selftest_dir(norm) || !strncmp(norm, "selftest", 8);
        selftest_ok = realloc(selftest_ok, (files.n + 1) * sizeof *selftest_ok);
        for (size_t k = before; k < files.n; k++)
            selftest_ok[k] = ok;
    }

    /* Declarations and the selection. */
    mf = calloc(files.n + 1, sizeof *mf);
    r->jobs = calloc(1, sizeof *r->jobs);
    size_t nfiles_used = 0;
    r->doc = json_object();
    scenarios = json_array();
    for (size_t i = 0; i < files.n; i++) {
        mb_file_t *f = &mf[i];
        f->path = strdup(files.v[i]);
        suite_of(f->path, &f->suite, &f->rel);
        bool st_ok = selftest_ok[i];
        bool st_dir = in_selftest_dir(f->path);
        if (st_dir && !st_ok && !tags_name(&sel, "selftest"))
            continue; /* selftest folder, not asked for */
        mb_file_scan(env, f);
        size_t n = f->load_error ? 1 : f->ndecls;
        bool used = false;
        for (size_t k = 0; k < n; k++) {
            const char *name = f->load_error ? "(file)" : f->decls[k].name;
            char *id = NULL;
            if (asprintf(&id, "%s:%s", f->rel, name) < 0)
                abort();
            json_t *tags = f->load_error ? json_array() : json_copy(f->decls[k].tags);
            if (st_dir && !has_tag(tags, "selftest"))
                json_array_append_new(tags, json_string("selftest"));
            bool take = selected(&sel, tags, id, st_ok || st_dir);
            if (!take) {
                free(id);
                json_decref(tags);
                continue;
            }
            json_t *res = json_pack(
                "{s:s, s:s, s:s, s:s, s:i, s:o, s:o, s:s, s:n, s:n, s:f, s:n, s:[]}",
                "id", id, "name", name, "suite", f->suite, "file", f->path, "line",
                f->load_error ? 0 : f->decls[k].line, "tags", tags, "requirements",
                f->load_error ? json_array() : json_incref(f->decls[k].requirements),
                "status", "skipped", "message", "traceback", "duration_ms", 0.0, "meter",
                "steps");
            free(id);
            json_array_append_new(scenarios, res);
            r->jobs = realloc(r->jobs, (r->njobs + 1) * sizeof *r->jobs);
            r->jobs[r->njobs++] =
                (job_t){ .file = f, .index = f->load_error ? SIZE_MAX : k, .res = res };
            used = true;
        }
        nfiles_used += used;
    }

    if (list) {
        for (size_t i = 0; i < r->njobs; i++) {
            json_t *res = r->jobs[i].res;
            printf("%s\n", json_string_value(json_object_get(res, "id")));
            char *t = json_dumps(json_object_get(res, "tags"), JSON_COMPACT);
            char *q = json_dumps(json_object_get(res, "requirements"), JSON_COMPACT);
            printf("    %s:%d  tags %s  requirements %s\n",
                   json_string_value(json_object_get(res, "file")),
                   (int)json_integer_value(json_object_get(res, "line")), t, q);
            if (r->jobs[i].index == SIZE_MAX)
                printf("    does not load: %s\n", r->jobs[i].file->load_error);
            free(t);
            free(q);
        }
        printf("%zu scenarios\n", r->njobs);
        rc = r->njobs ? 0 : 1;
        goto out;
    }

    char started[40], host[256] = "";
    ms_iso8601_format((int64_t)time(NULL), 0, started, sizeof started);
    gethostname(host, sizeof host - 1);
    run_obj = json_pack("{s:s, s:f, s:s, s:I, s:o, s:o, s:s?, s:s}", "started", started,
                        "duration_ms", 0.0, "meter", env->meter, "seed",
                        (json_int_t)env->seed, "paths", paths_json, "tags", tags_json,
                        "filter", sel.filter, "host", host);
    paths_json = tags_json = NULL; /* the run object has them */
    if (!sel.filter)
        json_object_set_new(run_obj, "filter", json_null());
    json_object_set_new(r->doc, "format", json_integer(1));
    json_object_set_new(
        r->doc, "tool",
        json_pack("{s:s, s:s}", "name", "meterbench", "version", MS_VERSION));
    json_object_set_new(r->doc, "run", run_obj);
    json_object_set_new(r->doc, "summary", json_object());
    json_object_set_new(r->doc, "scenarios", scenarios);
    scenarios = NULL;

    if (!r->njobs) {
        fail(1, "no scenario selected (paths, --tags, --filter)");
        write_reports(r->doc, json_path, junit, tap, html);
        rc = 1;
        goto out;
    }

    loop = uv_default_loop();
    env->loop = loop;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    env->http = mb_http_new(loop);
    if (!env->http)
        BAIL(1, "cannot set up libcurl");
    uv_signal_init(loop, &r->sigint);
    r->sigint.data = r;
    uv_signal_start(&r->sigint, on_sigint, SIGINT);
    signal(SIGPIPE, SIG_IGN);

    printf("meterbench run: %zu scenarios from %zu files against %s (%u at a time)\n",
           r->njobs, nfiles_used, env->meter, r->max_jobs);
    fflush(stdout);
    r->t0 = uv_hrtime();
    start_more(r);
    uv_run(loop, UV_RUN_DEFAULT);
    double total_ms = (double)(uv_hrtime() - r->t0) / 1e6;

    json_object_set_new(run_obj, "duration_ms", json_real(total_ms));
    json_object_set_new(json_object_get(r->doc, "summary"), "total",
                        json_integer((json_int_t)r->njobs));
    static const char *const keys[4] = { "passed", "failed", "error", "skipped" };
    for (int i = 0; i < 4; i++)
        json_object_set_new(json_object_get(r->doc, "summary"), keys[i],
                            json_integer(r->counts[i]));
    printf("\n%zu scenarios: %d passed, %d failed, %d errors, %d skipped  (%.1f s)\n",
           r->njobs, r->counts[0], r->counts[1], r->counts[2], r->counts[3],
           total_ms / 1000.0);
    rc = write_reports(r->doc, json_path, junit, tap, html);
    if (json_path)
        printf("results: %s\n", json_path);
    for (int i = 0; i < 3; i++) {
        const char *f[3] = { junit, tap, html };
        if (f[i])
            printf("report: %s\n", f[i]);
    }
    if (r->interrupted)
        rc = 130;
    else if (!rc)
        rc = r->counts[1] || r->counts[2] ? 1 : 0;
out:
    if (loop) {
        uv_loop_close(loop);
        curl_global_cleanup();
    }
    for (size_t i = 0; i < files.n; i++) {
        if (mf)
            mb_file_free(&mf[i]);
        mb_file_free(&mf[i]);
        free(files.v[i]);
    }
    free(mf);
    free(files.v);
    for (size_t i = 0; i < args.n; i++)
        free(args.v[i]);
    free(args.v);
    free(selftest_ok);
    for (size_t i = 0; i < sel.ntags; i++)
        free(sel.tags[i]);
    free(sel.tags);
    free(r->jobs);
    json_decref(r->doc);
    json_decref(env->params);
    json_decref(env->sim_sets);
    json_decref(tags_json);
    json_decref(paths_json);
    json_decref(scenarios);
    return rc;
}

/* ---- meterbench ports ---------------------------------------------------------------
 */

int mb_cmd_ports(int argc, char **argv)
{
    bool json = argc > 1 && !strcmp(argv[1], "--json");
    if (argc > 1 && !json) {
        if (!strcmp(argv[1], "--help")) {
            puts(
                "usage: meterbench ports [--json]\n\nList the serial ports libserialport "
                "finds (USB adapters, optical heads, on-board UARTs).");
            return 0;
        }
        return fail(2, "ports: unknown option '%s'", argv[1]);
    }
    struct sp_port **list = NULL;
    enum sp_return rc = sp_list_ports(&list);
    if (rc != SP_OK) {
        char *m = sp_last_error_message();
        fail(1, "cannot list serial ports: %s", m ? m : "libserialport error");
        sp_free_error_message(m);
        return 1;
    }
    json_t *out = json_array();
    size_t n = 0;
    for (; list[n]; n++) {
        struct sp_port *p = list[n];
        const char *name = sp_get_port_name(p);
        const char *desc = sp_get_port_description(p);
        enum sp_transport tr = sp_get_port_transport(p);
        const char *trs = tr == SP_TRANSPORT_USB         ? "usb"
                          : tr == SP_TRANSPORT_BLUETOOTH ? "bluetooth"
                                                         : "native";
        json_t *o = json_pack("{s:s, s:s, s:s}", "name", name, "description",
                              desc ? desc : "", "transport", trs);
        if (tr == SP_TRANSPORT_USB) {
            int vid = 0, pid = 0;
            sp_get_port_usb_vid_pid(p, &vid, &pid);
            const char *man = sp_get_port_usb_manufacturer(p);
            const char *prod = sp_get_port_usb_product(p);
            const char *ser = sp_get_port_usb_serial(p);
            json_object_set_new(o, "usb_vid", json_sprintf("%04x", vid));
            json_object_set_new(o, "usb_pid", json_sprintf("%04x", pid));
            if (man)
                json_object_set_new(o, "manufacturer", json_string(man));
            if (prod)
                json_object_set_new(o, "product", json_string(prod));
            if (ser)
                json_object_set_new(o, "serial", json_string(ser));
        }
        json_array_append_new(out, o);
    }
    sp_free_port_list(list);
    if (json) {
        char *t = json_dumps(out, JSON_INDENT(2));
        puts(t);
        free(t);
    } else {
        size_t i;
        json_t *o;
        json_array_foreach(out, i, o)
        {
            printf("%-20s %-9s %s", json_string_value(json_object_get(o, "name")),
                   json_string_value(json_object_get(o, "transport")),
                   json_string_value(json_object_get(o, "description")));
            if (json_object_get(o, "usb_vid"))
                printf("  [%s:%s%s%s]", json_string_value(json_object_get(o, "usb_vid")),
                       json_string_value(json_object_get(o, "usb_pid")),
                       json_object_get(o, "serial") ? " serial " : "",
                       json_object_get(o, "serial")
                           ? json_string_value(json_object_get(o, "serial"))
                           : "");
            putchar('\n');
        }
        if (!n)
            puts("no serial ports found");
    }
    json_decref(out);
    return 0;
}
