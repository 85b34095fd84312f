/*
** store.h — what a meter keeps in non-volatile memory, in SQLite (DESIGN.md "Meter
** model": persistence). WAL journal, synchronous=NORMAL: a commit survives the process
** being killed at any moment (kill -9); the meter commits at its own commit points (an
** event, a billing reset, a change of rules) and before any value is reported.
** SPDX-License-Identifier: MIT
*/
#ifndef MS_STORE_H
#define MS_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "meter.h"
#include "view_cosem.h"

typedef struct ms_store ms_store_t;

/**
 * Open (or create) a state file.
 * @param[out] msg  on error, names the file and what failed
 * @return 0, MS_EIO (cannot open or create, not a metersim state file, or written by an
 *         incompatible version), MS_ENOMEM
 */
int ms_store_open(const char *path, ms_store_t **out, char *msg, size_t msgcap);

void ms_store_close(ms_store_t *s);

/**
 * Restore a meter from the store. `m` is a fresh meter of the same model (its load is
 * kept when `keep_load` is true, e.g. when --load was given again; otherwise the stored
 * load is re-created from its specification).
 * @param[out] sim_ms  the sim time of the last commit (the meter's time)
 * @return 0 (restored), MS_ENOENT (no stored meter with that id), MS_EIO (damaged or
 *         from another model: msg says which), MS_ENOMEM
 */
int ms_store_restore(ms_store_t *s, ms_meter_t *m, bool keep_load, int64_t *sim_ms,
                     char *msg, size_t msgcap);

/**
 * Commit the meter's state at its current time in one transaction: the core state, new
 * events and billing snapshots, the epochs and programmed calendars.
 * @return 0, MS_EIO (msg set)
 */
int ms_store_commit(ms_store_t *s, const ms_meter_t *m, char *msg, size_t msgcap);

/**
 * Write the DLMS invocation counters of a client SAP (one small transaction; Green
 * Book: they must survive a restart): the next transmit counter and the least receive
 * counter accepted next.
 * @return 0, MS_EIO (msg set)
 */
int ms_store_put_counters(ms_store_t *s, const char *id, uint16_t sap, uint32_t tx_next,
                          uint32_t rx_next, char *msg, size_t cap);

/** Restore every stored client's counters into the COSEM view (clients the model no
 *  longer has are skipped). @return 0, MS_EIO */
int ms_store_restore_counters(ms_store_t *s, const char *id, ms_cosem_t *v, char *msg,
                              size_t cap);

#endif
