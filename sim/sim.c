/*
** sim.c — process-wide helpers: sim time and catch-up of observed meters.
** SPDX-License-Identifier: MIT
*/
#include "sim.h"

#include <string.h>

#include "log.h"

int64_t ms_sim_now(const ms_sim_t *s)
{
    return ms_simclock_now(&s->clock, uv_hrtime());
}

void ms_sim_commit(ms_sim_meter_t *sm)
{
    if (!sm->store)
        return;
    char msg[256];
    if (ms_store_commit(sm->store, sm->meter, msg, sizeof msg) != 0)
        ms_log(MS_LOG_ERROR, sm->meter->id, "%s", msg);
}

void ms_sim_on_commit(ms_meter_t *m, void *sm)
{
    ms_sim_commit(sm);
}

void ms_sim_sync(ms_sim_meter_t *sm)
{
    int64_t before = sm->meter->t_ms;
    ms_meter_advance(sm->meter, ms_sim_now(sm->sim));
    if (sm->meter->t_ms != before)
        ms_sim_commit(sm);
}

ms_sim_meter_t *ms_sim_find(const ms_sim_t *s, const char *id)
{
    for (size_t i = 0; i < s->nmeters; i++)
        if (strcmp(s->meters[i]->meter->id, id) == 0)
            return s->meters[i];
    return NULL;
}
