/*
** view_cosem.h — the DLMS/COSEM view of the meter model: the logical device's objects
** (IEC 62056-6-2 "Blue Book" interface classes, IEC 62056-6-1 OBIS codes) served to the
** DLMS server sessions of protocols/dlms through dlms_server_ops_t.
** SPDX-License-Identifier: MIT
**
** One view per meter; every DLMS link of the meter (HDLC or wrapper, pty or TCP) shares
** it. The objects are built from the model when the view is created: the energy
** registers of every rate, maximum demand, instantaneous values, the model's profiles,
** the billing profile and the event logs, the clock, the calendar objects, disconnect
** control and limiter, the port setups, one Association LN and one Security Setup per
** client of the model. docs/cosem.md lists them with their OBIS codes and access rights.
**
** Reads see the live meter (the hooks bring it to the current time first); writes and
** methods change it through the meter's commands and enter its audit trail as
** "DLMS client SAP (name)".
*/
#ifndef MS_VIEW_COSEM_H
#define MS_VIEW_COSEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dlms_server.h"
#include "meter.h"
#include "model.h"

typedef struct ms_cosem ms_cosem_t;

/** What the view needs from its surroundings. Every callback may be NULL. */
typedef struct ms_cosem_hooks {
    /** Bring the meter to the current simulation time (before any access). */
    void (*sync)(void *ud);
    /** The meter changed (a write, a method): commit it. */
    void (*commit)(void *ud);
    /** Persist the invocation counters of a client SAP: the next transmit counter and
     *  the least received counter accepted next (the last accepted + 1; Green Book
     *  security: both must survive a restart). Called on every change, before the APDU
     *  that uses it is sent. */
    void (*ic_persist)(void *ud, uint16_t client_sap, uint32_t tx_next, uint32_t rx_next);
    /** Association events ("AARQ accepted", "HLS pass 4 ok", ...) for the log. */
    void (*event)(void *ud, uint16_t client_sap, const char *what);
    /** Push setup method push: send the DATA-NOTIFICATION apdu (len octets, valid for
     *  the call) to destination "HOST:PORT" over the wrapper. @return 0 or a negative
     *  ms_err (the method then answers temporary-failure) */
    int (*push)(void *ud, const char *destination, const uint8_t *apdu, size_t len);
    void *ud;
} ms_cosem_hooks_t;

/**
 * Build the view of a meter.
 * @param[in] m, md  the meter and its model; both must outlive the view
 * @param[in] hooks  copied; may be NULL
 * @param[out] err   MS_ENOMEM
 * @return the view, or NULL
 */
ms_cosem_t *ms_cosem_new(ms_meter_t *m, const ms_model_t *md,
                         const ms_cosem_hooks_t *hooks, int *err);
void ms_cosem_free(ms_cosem_t *v);

/** The callbacks of a dlms_server_t for this view (ctx = the ms_cosem_t). */
extern const dlms_server_ops_t ms_cosem_ops;

/** Number of COSEM objects of the logical device (every client's view together). */
size_t ms_cosem_object_count(const ms_cosem_t *v);

/** Restore the invocation counters of a client SAP (from the state file): the next
 *  transmit counter and the least receive counter accepted next (a fresh view has 1
 *  and 0). @return 0 or MS_ENOENT (the model has no such client) */
int ms_cosem_set_counters(ms_cosem_t *v, uint16_t client_sap, uint32_t tx_next,
                          uint32_t rx_next);

/** The invocation counters of a client SAP. @return 0 or MS_ENOENT */
int ms_cosem_get_counters(const ms_cosem_t *v, uint16_t client_sap, uint32_t *tx_next,
                          uint32_t *rx_next);

#endif
