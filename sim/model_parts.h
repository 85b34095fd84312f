/*
** model_parts.h — readers of the parts of a model table, shared by the model loader
** and the control API (which converts JSON to the same table form).
** SPDX-License-Identifier: MIT
*/
#ifndef MS_MODEL_PARTS_H
#define MS_MODEL_PARTS_H

#include <jansson.h>

#include "luacfg.h"
#include "model.h"

/** Field `key` of the current table: a zone name, or { offset, name, dst = { begin, end,
 *  deviation } }. Absent: UTC. @return 0 or MS_EINVAL (message set) */
int ms_cfg_timezone(ms_luacfg_t *c, const char *key, ms_tz_t *tz);

/** Field "calendar" (or the legacy "tariff") of the current table, checked.
 *  @return 0 or MS_EINVAL (message names the field) */
int ms_cfg_calendar(ms_luacfg_t *c, ms_calendar_t *cal);

/** Field "profiles" (needs m->calendar for the rate check). */
int ms_cfg_profiles(ms_luacfg_t *c, ms_model_t *m);

/** Fields "billing", "logs", "battery_response", "drift_ppm". */
int ms_cfg_billing_logs(ms_luacfg_t *c, ms_model_t *m);

/** Field "dlms" (absent: the default logical device with clients 16, 17 and 1). */
int ms_cfg_dlms(ms_luacfg_t *c, ms_model_t *m);

/**
 * A calendar from JSON with the model's calendar schema (docs/models.md), checked.
 * @param[out] msg  "field 'calendar.days[2][1]': ..." on error
 * @return 0, MS_EINVAL
 */
int ms_calendar_from_json(const json_t *j, ms_calendar_t *cal, char *msg, size_t msgcap);

#endif
