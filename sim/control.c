/*
** control.c — control API: libmicrohttpd on the libuv loop, JSON with jansson.
** SPDX-License-Identifier: MIT
*/
#include "control.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <microhttpd.h>

#include "load.h"
#include "model_parts.h"
#include "log.h"
#include "ms_err.h"
#include "ms_time.h"
#include "state_json.h"

#define MAX_BODY 65536

struct ms_control {
    ms_sim_t *sim;
    struct MHD_Daemon *daemon;
    uv_poll_t poll;
    uv_timer_t timer;
    char url[96];
    int handles; /* libuv handles still open */
};

/* Body of a request being received. */
typedef struct request {
    char *body;
    size_t len;
    bool too_big;
} request_t;

static enum MHD_Result send_json(struct MHD_Connection *c, unsigned status, json_t *j)
{
    char *text = json_dumps(j, JSON_INDENT(2) | JSON_REAL_PRECISION(15) | JSON_SORT_KEYS);
    json_decref(j);
    if (!text)
        return MHD_NO;
    size_t n = strlen(text);
    char *body = realloc(text, n + 2);
    if (!body) {
        free(text);
        return MHD_NO;
    }
    body[n] = '\n';
    body[n + 1] = 0;
    struct MHD_Response *r =
        MHD_create_response_from_buffer(n + 1, body, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result send_errorv(struct MHD_Connection *c, unsigned status,
                                   const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
static enum MHD_Result send_errorv(struct MHD_Connection *c, unsigned status,
                                   const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    return send_json(
        c, status,
        json_pack("{s:{s:i, s:s}}", "error", "status", (int)status, "message", msg));
}

static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status,
                                  const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status,
                                  const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    enum MHD_Result ret = send_errorv(c, status, fmt, ap);
    va_end(ap);
    return ret;
}

/* Refuse a command: send the error response into *ret; returns false. */
static bool refuse(struct MHD_Connection *c, enum MHD_Result *ret, unsigned status,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static bool refuse(struct MHD_Connection *c, enum MHD_Result *ret, unsigned status,
                   const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    *ret = send_errorv(c, status, fmt, ap);
    va_end(ap);
    return false;
}

/* Parse the request body as a JSON object; on failure an error response is sent and
 * NULL returned. */
static json_t *body_object(struct MHD_Connection *c, const request_t *rq,
                           enum MHD_Result *ret)
{
    json_error_t e;
    json_t *j = json_loadb(rq->body ? rq->body : "", rq->len, 0, &e);
    if (!j) {
        *ret = send_error(c, 400, "request body is not JSON: line %d column %d: %s",
                          e.line, e.column, e.text);
        return NULL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        *ret = send_error(c, 400, "request body must be a JSON object");
        return NULL;
    }
    return j;
}

/* Typed fields of a request body. Each returns true with *out set, or false with a 400
 * response naming the field sent into *ret. */

/* A required number in [lo, hi]. */
static bool number_field(struct MHD_Connection *c, json_t *j, const char *key, double lo,
                         double hi, double *out, enum MHD_Result *ret)
{
    json_t *v = json_object_get(j, key);
    if (!json_is_number(v) || json_number_value(v) < lo || json_number_value(v) > hi)
        return refuse(c, ret, 400, "field '%s': a number from %g to %g expected", key, lo,
                      hi);
    *out = json_number_value(v);
    return true;
}

/* An optional number in [lo, hi]: *out keeps its default when the field is absent. */
static bool optional_number_field(struct MHD_Connection *c, json_t *j, const char *key,
                                  double lo, double hi, double *out, enum MHD_Result *ret)
{
    return !json_object_get(j, key) || number_field(c, j, key, lo, hi, out, ret);
}

/* A required ISO 8601 time with offset: *out in seconds since the epoch. */
static bool time_field(struct MHD_Connection *c, json_t *j, const char *key, int64_t *out,
                       enum MHD_Result *ret)
{
    json_t *v = json_object_get(j, key);
    if (!json_is_string(v) || ms_iso8601_parse(json_string_value(v), out, NULL) != 0)
        return refuse(c, ret, 400,
                      "field '%s': an ISO 8601 time with offset expected, e.g. "
                      "\"2016-01-01T00:00:00Z\"",
                      key);
    return true;
}

/* POST /v1/clock {"advance_s": N} | {"set": "ISO 8601"} */
static bool set_sim_clock(ms_control_t *ctl, struct MHD_Connection *c, json_t *j,
                          enum MHD_Result *ret)
{
    bool adv = json_object_get(j, "advance_s"), set = json_object_get(j, "set");
    if (adv == set)
        return refuse(c, ret, 400, "give exactly one of 'advance_s' and 'set'");
    if (adv) {
        double s;
        if (!number_field(c, j, "advance_s", 0, 100.0 * 365 * 86400, &s, ret))
            return false;
        ms_simclock_advance(&ctl->sim->clock, uv_hrtime(), (int64_t)(s * 1000.0 + 0.5));
        return true;
    }
    int64_t t;
    if (!time_field(c, j, "set", &t, ret))
        return false;
    if (ms_simclock_set(&ctl->sim->clock, uv_hrtime(), t * 1000) != 0) {
        char now[40];
        ms_iso8601_format(ms_floor_div(ms_sim_now(ctl->sim), 1000), 0, now, sizeof now);
        return refuse(c, ret, 409,
                      "field 'set': simulation time cannot go back (now %s); a meter "
                      "clock jump is a per-meter fault",
                      now);
    }
    return true;
}

static enum MHD_Result post_clock(ms_control_t *ctl, struct MHD_Connection *c,
                                  const request_t *rq)
{
    enum MHD_Result ret;
    json_t *j = body_object(c, rq, &ret);
    if (!j)
        return ret;
    bool ok = set_sim_clock(ctl, c, j, &ret);
    json_decref(j);
    if (!ok)
        return ret;
    char now[40];
    ms_iso8601_format(ms_floor_div(ms_sim_now(ctl->sim), 1000), 0, now, sizeof now);
    ms_log(MS_LOG_INFO, "control", "simulation clock now %s", now);
    return send_json(c, 200, ms_json_clock(ctl->sim));
}

static const char *who_of(struct MHD_Connection *c)
{
    return "control API";
}

/*
 * The commands on a meter (POST /v1/meters/{id}/...). Each checks the fields of its
 * JSON body j and applies itself to the meter, brought to the current time first.
 * Returns true when applied (run_command then commits and answers the meter's state),
 * or false when refused, with the error response sent into *ret.
 */
typedef bool (*command_fn)(ms_sim_meter_t *sm, struct MHD_Connection *c, json_t *j,
                           enum MHD_Result *ret);

/* /load {"type": "constant", "import_w": W, "export_w": W} | {"type": "csv", "path":
 * FILE} */
static bool cmd_load(ms_sim_meter_t *sm, struct MHD_Connection *c, json_t *j,
                     enum MHD_Result *ret)
{
    const char *type = json_string_value(json_object_get(j, "type"));
    ms_load_t *l = NULL;
    int err = 0;
    char msg[512] = "";
    if (type && strcmp(type, "constant") == 0) {
        double iw = 0, ew = 0;
        if (!optional_number_field(c, j, "import_w", 0, 1e9, &iw, ret) ||
            !optional_number_field(c, j, "export_w", 0, 1e9, &ew, ret))
            return false;
        l = ms_load_constant((int64_t)(iw * 1000 + 0.5), (int64_t)(ew * 1000 + 0.5),
                             &err);
    } else if (type && strcmp(type, "csv") == 0) {
        const char *path = json_string_value(json_object_get(j, "path"));
        if (!path)
            return refuse(c, ret, 400, "field 'path': the CSV file expected");
        ms_load_csv_opts_t o = {
            .path = path,
            .import_column = json_string_value(json_object_get(j, "import_column")),
            .export_column = json_string_value(json_object_get(j, "export_column")),
        };
        l = ms_load_csv(&o, &err, msg, sizeof msg);
    } else {
        return refuse(c, ret, 400, "field 'type': \"constant\" or \"csv\" expected");
    }
    if (!l)
        return refuse(c, ret, 400, "%s", msg[0] ? msg : ms_strerror(err));
    ms_meter_set_load(sm->meter, l); /* energy up to now belongs to the old load */
    ms_log(MS_LOG_INFO, sm->meter->id, "load now %s", ms_load_describe(l));
    return true;
}

/* /clock {"set": ISO} | {"jump_s": N} | {"drift_ppm": N}: the meter's own clock (not
 * the simulation clock): a clock set, a jump (fault), or its drift. */
static bool cmd_meter_clock(ms_sim_meter_t *sm, struct MHD_Connection *c, json_t *j,
                            enum MHD_Result *ret)
{
    ms_meter_t *m = sm->meter;
    int64_t t;
    double v;
    if (json_object_get(j, "set")) {
        if (!time_field(c, j, "set", &t, ret))
            return false;
        ms_meter_set_clock(m, t * 1000, who_of(c));
    } else if (json_object_get(j, "jump_s")) {
        if (!number_field(c, j, "jump_s", -10.0 * 365 * 86400, 10.0 * 365 * 86400, &v,
                          ret))
            return false;
        ms_meter_set_clock(m, ms_meter_rtc_ms(m) + (int64_t)(v * 1000),
                           "clock jump (fault)");
    } else if (json_object_get(j, "drift_ppm")) {
        if (!number_field(c, j, "drift_ppm", -1000, 1000, &v, ret))
            return false;
        ms_meter_set_drift(m, (int32_t)v, who_of(c));
    } else {
        return refuse(c, ret, 400, "give one of 'set', 'jump_s', 'drift_ppm'");
    }
    return true;
}

/* /outage {"duration_s": N} */
static bool cmd_outage(ms_sim_meter_t *sm, struct MHD_Connection *c, json_t *j,
                       enum MHD_Result *ret)
{
    double d;
    if (!number_field(c, j, "duration_s", 0.001, 10.0 * 365 * 86400, &d, ret))
        return false;
    if (ms_meter_outage(sm->meter, (int64_t)(d * 1000)) == MS_ESTATE)
        return refuse(c, ret, 409, "the meter is already in a supply outage");
    ms_log(MS_LOG_INFO, sm->meter->id, "supply outage for %.3f s (battery %s)", d,
           sm->meter->battery_ok ? "ok" : "failed");
    return true;
}

/* /battery {"ok": false} */
static bool cmd_battery(ms_sim_meter_t *sm, struct MHD_Connection *c, json_t *j,
                        enum MHD_Result *ret)
{
    json_t *ok = json_object_get(j, "ok");
    if (!json_is_boolean(ok))
        return refuse(c, ret, 400, "field 'ok': true (battery fine) or false (failed)");
    ms_meter_set_battery(sm->meter, json_is_true(ok), who_of(c));
    return true;
}

/* /tariff {"override": rate} */
static bool cmd_tariff(ms_sim_meter_t *sm, struct MHD_Connection *c, json_t *j,
                       enum MHD_Result *ret)
{
    double r;
    if (!number_field(c, j, "override", 1, MS_MAX_RATES, &r, ret))
        return false;
    if (ms_meter_override_rate(sm->meter, (int)r, who_of(c)) != 0)
        return refuse(c, ret, 400, "field 'override': the calendar has %u rates",
                      sm->meter->cal->nrates);
    return true;
}

/* /billing-reset (no body needed) */
static bool cmd_billing_reset(ms_sim_meter_t *sm, struct MHD_Connection *c, json_t *j,
                              enum MHD_Result *ret)
{
    ms_meter_billing_reset(sm->meter, who_of(c));
    return true;
}

/* /breaker {"op": "remote_disconnect" | "remote_reconnect" | "manual_reconnect" |
 * "manual_disconnect"} — disconnect control (class 70) */
static bool cmd_breaker(ms_sim_meter_t *sm, struct MHD_Connection *c, json_t *j,
                        enum MHD_Result *ret)
{
    static const char *const ops[] = { "remote_disconnect", "remote_reconnect",
                                       "manual_reconnect", "manual_disconnect" };
    const char *op = json_string_value(json_object_get(j, "op"));
    int k = -1;
    for (int i = 0; op && i < 4; i++)
        if (!strcmp(op, ops[i]))
            k = i;
    if (k < 0)
        return refuse(c, ret, 400,
                      "field 'op': remote_disconnect, remote_reconnect, "
                      "manual_reconnect or manual_disconnect");
    int rc = ms_meter_breaker(sm->meter, (ms_breaker_op_t)k, who_of(c));
    if (rc == MS_ESTATE)
        return refuse(
            c, ret, 409, "%s is not a transition from %s in disconnect control mode %u",
            ops[k], ms_breaker_state_names[sm->meter->breaker], sm->model->breaker_mode);
    if (rc == MS_EBUSY)
        return refuse(c, ret, 409, "%s: the minimum reconnection wait (%u s) is not over",
                      ops[k], sm->model->reconnect_wait_s);
    return true;
}

/* /limiter {"threshold_w": W (0 = off), "min_over_s": N} */
static bool cmd_limiter(ms_sim_meter_t *sm, struct MHD_Connection *c, json_t *j,
                        enum MHD_Result *ret)
{
    double w, s = 60;
    if (!number_field(c, j, "threshold_w", 0, 1e7, &w, ret) ||
        !optional_number_field(c, j, "min_over_s", 1, 86400, &s, ret))
        return false;
    ms_meter_set_limiter(sm->meter, (int64_t)(w * 1000), (int64_t)(s * 1000), who_of(c));
    return true;
}

/* /calendar {"calendar": {...}, "activate": ISO (passive) | absent} */
static bool cmd_calendar(ms_sim_meter_t *sm, struct MHD_Connection *c, json_t *j,
                         enum MHD_Result *ret)
{
    json_t *cj = json_object_get(j, "calendar");
    if (!json_is_object(cj))
        return refuse(c, ret, 400,
                      "field 'calendar': the calendar object expected "
                      "(docs/control-api.md)");
    int64_t act = 0;
    if (json_object_get(j, "activate")) {
        if (!time_field(c, j, "activate", &act, ret))
            return false;
        act = act ? act * 1000 : 1; /* 0 means "active now" to the meter */
    }
    ms_calendar_t *cal = malloc(sizeof *cal);
    char msg[300];
    int rc = cal ? ms_calendar_from_json(cj, cal, msg, sizeof msg) : MS_ENOMEM;
    if (rc == 0)
        rc = ms_meter_program_calendar(sm->meter, cal, act, who_of(c), msg, sizeof msg);
    else if (!cal)
        snprintf(msg, sizeof msg, "%s", ms_strerror(rc));
    free(cal);
    if (rc) /* the message names the field */
        return refuse(c, ret, 400, "calendar refused, the meter keeps its own: %s", msg);
    return true;
}

/* Run a command: read its body (when it takes one), bring the meter to now, apply,
 * commit, answer the meter's state. */
static enum MHD_Result run_command(ms_sim_meter_t *sm, struct MHD_Connection *c,
                                   const request_t *rq, command_fn fn, bool body)
{
    enum MHD_Result ret;
    json_t *j = NULL;
    if (body && !(j = body_object(c, rq, &ret)))
        return ret;
    ms_sim_sync(sm); /* commands apply at the current time */
    bool ok = fn(sm, c, j, &ret);
    json_decref(j);
    if (!ok)
        return ret;
    ms_sim_commit(sm);
    return send_json(c, 200, ms_json_meter_state(sm));
}

/* ?from=ISO&to=ISO&max=N of a profile request */
static bool range_args(struct MHD_Connection *c, int64_t *from, int64_t *to, size_t *max,
                       enum MHD_Result *ret)
{
    const char *f = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "from");
    const char *t = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "to");
    const char *mx = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "max");
    int64_t v;
    *from = INT64_MIN;
    *to = INT64_MAX;
    *max = 10000;
    if (f) {
        if (ms_iso8601_parse(f, &v, NULL)) {
            *ret = send_error(c, 400,
                              "argument 'from': an ISO 8601 time with offset expected");
            return false;
        }
        *from = v * 1000;
    }
    if (t) {
        if (ms_iso8601_parse(t, &v, NULL)) {
            *ret = send_error(c, 400,
                              "argument 'to': an ISO 8601 time with offset expected");
            return false;
        }
        *to = v * 1000;
    }
    if (mx) {
        char *e;
        long n = strtol(mx, &e, 10);
        if (*e || n < 1 || n > 1000000) {
            *ret = send_error(c, 400, "argument 'max': 1 to 1000000");
            return false;
        }
        *max = (size_t)n;
    }
    return true;
}

static enum MHD_Result meter_route(ms_control_t *ctl, ms_sim_meter_t *sm,
                                   struct MHD_Connection *c, const char *sub,
                                   const char *url, const char *method,
                                   const request_t *rq)
{
    bool get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0;
    static const struct {
        const char *path;
        command_fn fn;
        bool body; /* takes a JSON object body */
    } posts[] = {
        { "/clock", cmd_meter_clock, true },
        { "/outage", cmd_outage, true },
        { "/battery", cmd_battery, true },
        { "/tariff", cmd_tariff, true },
        { "/calendar", cmd_calendar, true },
        { "/breaker", cmd_breaker, true },
        { "/limiter", cmd_limiter, true },
        { "/load", cmd_load, true },
        { "/billing-reset", cmd_billing_reset, false },
    };
    if (post)
        for (size_t i = 0; i < sizeof posts / sizeof posts[0]; i++)
            if (!strcmp(sub, posts[i].path))
                return run_command(sm, c, rq, posts[i].fn, posts[i].body);
    if (get) {
        ms_sim_sync(sm);
        if (!strcmp(sub, "/events")) {
            const char *log =
                MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "log");
            for (int l = 0; l < MS_LOG_COUNT; l++)
                if (!log || !strcmp(log, ms_log_names[l])) {
                    if (log)
                        return send_json(c, 200,
                                         ms_json_events(sm->meter, (ms_log_id_t)l));
                }
            if (log)
                return send_error(
                    c, 400,
                    "argument 'log': standard, power, clock, config or disconnect");
            json_t *all = json_object();
            for (int l = 0; l < MS_LOG_COUNT; l++)
                json_object_set_new(all, ms_log_names[l],
                                    ms_json_events(sm->meter, (ms_log_id_t)l));
            return send_json(c, 200, all);
        }
        if (!strcmp(sub, "/billing"))
            return send_json(c, 200, ms_json_billing(sm->meter));
        if (!strcmp(sub, "/calendar"))
            return send_json(c, 200,
                             json_pack("{s:o, s:o}", "active",
                                       ms_json_calendar(sm->meter->cal), "passive",
                                       sm->meter->passive
                                           ? ms_json_calendar(sm->meter->passive)
                                           : json_null()));
        if (!strncmp(sub, "/profiles/", 10)) {
            for (unsigned p = 0; p < sm->model->nprofiles; p++)
                if (!strcmp(sub + 10, sm->model->profiles[p].name)) {
                    int64_t from, to;
                    size_t max;
                    enum MHD_Result ret;
                    if (!range_args(c, &from, &to, &max, &ret))
                        return ret;
                    json_t *j = ms_json_profile(sm->meter, p, from, to, max);
                    return j ? send_json(c, 200, j) : send_error(c, 500, "out of memory");
                }
            return send_error(c, 404, "no profile '%s' (GET /v1/meters/%s lists them)",
                              sub + 10, sm->meter->id);
        }
    }
    return send_error(c, 404, "no resource %s %s (GET /v1 lists the endpoints)", method,
                      url);
}

static enum MHD_Result route(ms_control_t *ctl, struct MHD_Connection *c, const char *url,
                             const char *method, const request_t *rq)
{
    bool get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0;
    if (strcmp(url, "/v1") == 0 || strcmp(url, "/v1/") == 0) {
        if (!get)
            return send_error(c, 405, "%s %s: use GET", method, url);
        return send_json(c, 200,
                         json_pack("{s:s, s:i, s:[s,s,s,s,s]}", "service", "metersim",
                                   "api_version", 1, "endpoints", "GET /v1/meters",
                                   "GET /v1/meters/{id}", "GET|POST /v1/clock",
                                   "POST /v1/meters/{id}/load", "GET /v1"));
    }
    if (strcmp(url, "/v1/clock") == 0) {
        if (get)
            return send_json(c, 200, ms_json_clock(ctl->sim));
        if (post)
            return post_clock(ctl, c, rq);
        return send_error(c, 405, "%s %s: use GET or POST", method, url);
    }
    if (strcmp(url, "/v1/meters") == 0) {
        if (!get)
            return send_error(c, 405, "%s %s: use GET", method, url);
        json_t *a = json_array();
        for (size_t i = 0; i < ctl->sim->nmeters; i++)
            json_array_append_new(a, ms_json_meter_summary(ctl->sim->meters[i]));
        return send_json(c, 200, json_pack("{s:o}", "meters", a));
    }
    if (strncmp(url, "/v1/meters/", 11) == 0) {
        char id[64];
        const char *rest = url + 11, *slash = strchr(rest, '/');
        size_t n = slash ? (size_t)(slash - rest) : strlen(rest);
        if (n == 0 || n >= sizeof id)
            return send_error(c, 404, "no such meter");
        memcpy(id, rest, n);
        id[n] = 0;
        ms_sim_meter_t *sm = ms_sim_find(ctl->sim, id);
        if (!sm)
            return send_error(c, 404, "no meter '%s' (GET /v1/meters lists them)", id);
        const char *sub = slash ? slash : "";
        if (sub[0] == 0 || strcmp(sub, "/") == 0) {
            if (!get)
                return send_error(c, 405, "%s %s: use GET", method, url);
            ms_sim_sync(sm);
            return send_json(c, 200, ms_json_meter_state(sm));
        }
        return meter_route(ctl, sm, c, sub, url, method, rq);
    }
    return send_error(c, 404, "no resource %s (GET /v1 lists the endpoints)", url);
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version,
                               const char *upload, size_t *upload_size, void **con_cls)
{
    ms_control_t *ctl = cls;
    request_t *rq = *con_cls;
    if (!rq) {
        rq = calloc(1, sizeof *rq);
        if (!rq)
            return MHD_NO;
        *con_cls = rq;
        return MHD_YES;
    }
    if (*upload_size) {
        if (rq->len + *upload_size > MAX_BODY) {
            rq->too_big = true;
        } else {
            char *nb = realloc(rq->body, rq->len + *upload_size + 1);
            if (!nb)
                return MHD_NO;
            rq->body = nb;
            memcpy(rq->body + rq->len, upload, *upload_size);
            rq->len += *upload_size;
            rq->body[rq->len] = 0;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (rq->too_big)
        return send_error(c, 413, "request body over %d bytes", MAX_BODY);
    return route(ctl, c, url, method, rq);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    request_t *rq = *con_cls;
    if (rq) {
        free(rq->body);
        free(rq);
        *con_cls = NULL;
    }
}

static void on_timer(uv_timer_t *t);

/* Let MHD work, then arm the timer for its next time-out. */
static void run(ms_control_t *ctl)
{
    MHD_run(ctl->daemon);
    MHD_UNSIGNED_LONG_LONG to;
    if (MHD_get_timeout(ctl->daemon, &to) == MHD_YES)
        uv_timer_start(&ctl->timer, on_timer, to, 0);
    else
        uv_timer_stop(&ctl->timer);
}

static void on_timer(uv_timer_t *t)
{
    run(t->data);
}

static void on_poll(uv_poll_t *p, int status, int events)
{
    run(p->data);
}

int ms_control_start(ms_sim_t *sim, const char *host, unsigned port, ms_control_t **out,
                     char *msg, size_t msgcap)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
    unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
    } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        flags |= MHD_USE_IPv6;
    } else {
        snprintf(msg, msgcap, "--control %s:%u: host must be an IP address literal", host,
                 port);
        return MS_EINVAL;
    }
    ms_control_t *ctl = calloc(1, sizeof *ctl);
    if (!ctl)
        return MS_ENOMEM;
    ctl->sim = sim;
    ctl->daemon = MHD_start_daemon(
        flags, (uint16_t)port, NULL, NULL, handler, ctl, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&ss, MHD_OPTION_NOTIFY_COMPLETED, completed, ctl,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_END);
    if (!ctl->daemon) {
        snprintf(msg, msgcap, "--control %s:%u: cannot listen (address in use?)", host,
                 port);
        free(ctl);
        return MS_EADDRINUSE;
    }
    const union MHD_DaemonInfo *ep =
        MHD_get_daemon_info(ctl->daemon, MHD_DAEMON_INFO_EPOLL_FD);
    const union MHD_DaemonInfo *bp =
        MHD_get_daemon_info(ctl->daemon, MHD_DAEMON_INFO_BIND_PORT);
    if (!ep || !bp) {
        snprintf(msg, msgcap, "libmicrohttpd lacks epoll support");
        MHD_stop_daemon(ctl->daemon);
        free(ctl);
        return MS_ENOTSUP;
    }
    uv_poll_init(sim->loop, &ctl->poll, ep->epoll_fd);
    ctl->poll.data = ctl;
    uv_poll_start(&ctl->poll, UV_READABLE, on_poll);
    uv_timer_init(sim->loop, &ctl->timer);
    ctl->timer.data = ctl;
    snprintf(ctl->url, sizeof ctl->url, "http://%s%s%s:%u/v1",
             v6->sin6_family == AF_INET6 ? "[" : "", host,
             v6->sin6_family == AF_INET6 ? "]" : "", (unsigned)bp->port);
    *out = ctl;
    return 0;
}

const char *ms_control_url(const ms_control_t *c)
{
    return c->url;
}

static void closed(uv_handle_t *h)
{
    ms_control_t *ctl = h->data;
    if (--ctl->handles == 0)
        free(ctl);
}

void ms_control_stop(ms_control_t *ctl)
{
    if (!ctl)
        return;
    uv_poll_stop(&ctl->poll);
    MHD_stop_daemon(ctl->daemon);
    ctl->handles = 2;
    uv_close((uv_handle_t *)&ctl->poll, closed);
    uv_close((uv_handle_t *)&ctl->timer, closed);
}
