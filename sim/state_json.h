/*
** state_json.h — JSON views of the process state for the control API and the ready
** line (jansson). Every function returns a new reference, or NULL when out of memory.
** SPDX-License-Identifier: MIT
*/
#ifndef MS_STATE_JSON_H
#define MS_STATE_JSON_H

#include <jansson.h>

#include "sim.h"

/** {"mode": "stepped", "factor": 0, "now": "2016-01-01T00:00:00Z", "now_ms": ...} */
json_t *ms_json_clock(const ms_sim_t *s);

/** The ports of a meter: [{"type": "pty", "path": ..., "link": ..., ...}, ...] */
json_t *ms_json_ports(const ms_sim_meter_t *sm);

/** Summary of a meter: {"id", "model", "serial", "ports"}. */
json_t *ms_json_meter_summary(const ms_sim_meter_t *sm);

/**
 * Full state of a meter at its current time (call ms_sim_sync first): clock, tariff,
 * load, registers with units (the model's data set, values as the readout shows them
 * plus the exact integer), ports.
 */
json_t *ms_json_meter_state(const ms_sim_meter_t *sm);

/** Events of one log: {"log", "total", "kept", "events": [{"seq", "time", "sim_time",
 *  "code", "name", "duration_s", "detail"}]} (oldest first). */
json_t *ms_json_events(const ms_meter_t *m, ms_log_id_t log);

/** Billing snapshots: {"counter", "snapshots": [{"counter", "time", "cause",
 *  "registers": {OBIS: value}}]}. */
json_t *ms_json_billing(const ms_meter_t *m);

/** A profile's entries with capture time in [from, to] (RTC ms), at most max:
 *  {"name", "obis", "period_s", "capacity", "channels": [{obis, kind, unit}],
 *  "entries": [{"time", "status", "values": [kWh...], "raw": [mWh...]}]}. */
json_t *ms_json_profile(const ms_meter_t *m, unsigned p, int64_t from, int64_t to,
                        size_t max);

/** A calendar in the model's schema (docs/models.md), as the control API accepts it. */
json_t *ms_json_calendar(const ms_calendar_t *c);

/** Name of an event code ("power down", "clock adjusted (new time)", ...). */
const char *ms_event_name(unsigned code);

#endif
