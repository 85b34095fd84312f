/*
** sim.c — process-wide helpers: sim time and catch-up of observed meters.
** SPDX-License-Identifier: MIT
*/
#include "sim.h"

#include <string.h>

int64_t ms_sim_now(const ms_sim_t *s)
{
    return ms_simclock_now(&s->clock, uv_hrtime());
}

void ms_sim_sync(ms_sim_meter_t *sm)
{
    ms_meter_advance(sm->meter, ms_sim_now(sm->sim));
}

ms_sim_meter_t *ms_sim_find(const ms_sim_t *s, const char *id)
{
    for (size_t i = 0; i < s->nmeters; i++)
        if (strcmp(s->meters[i]->meter->id, id) == 0)
            return s->meters[i];
    return NULL;
}
