/*
** sim.h — one metersim process: the event loop, the simulation clock, the meters and
** their ports (DESIGN.md "Data flow").
** SPDX-License-Identifier: MIT
*/
#ifndef MS_SIM_H
#define MS_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "meter.h"
#include "model.h"
#include "phy.h"
#include "simclock.h"
#include "store.h"
#include "view_cosem.h"

typedef struct ms_sim ms_sim_t;
typedef struct ms_port ms_port_t;

#define MS_SIM_MAX_PORTS 4

/** A meter of the process with the ports it listens on. */
typedef struct ms_sim_meter {
    ms_sim_t *sim;
    ms_model_t *model; /* owned */
    ms_meter_t *meter; /* owned */
    ms_port_t *ports[MS_SIM_MAX_PORTS];
    size_t nports;
    ms_store_t *store; /* --state, or NULL */
    ms_cosem_t *cosem; /* the DLMS/COSEM view, shared by the meter's DLMS links */
} ms_sim_meter_t;

struct ms_sim {
    uv_loop_t *loop;
    ms_simclock_t clock;
    ms_sim_meter_t **meters;
    size_t nmeters;
};

/** Sim time now (ms UTC), read from the simulation clock. */
int64_t ms_sim_now(const ms_sim_t *s);

/** Bring a meter up to the current sim time (catch-up) before it is observed; with a
 *  state file, commit first when the time moved, so that nothing observed is ever
 *  lost (DESIGN.md "kill -9 at any moment loses nothing the meter had committed"). */
void ms_sim_sync(ms_sim_meter_t *sm);

/** Commit a meter now (after a command changed it). */
void ms_sim_commit(ms_sim_meter_t *sm);

/** The meter's persistence hook: commits at the meter's own commit points. */
void ms_sim_on_commit(ms_meter_t *m, void *sm);

/** Find a meter by id, or NULL. */
ms_sim_meter_t *ms_sim_find(const ms_sim_t *s, const char *id);

/** Port kinds. */
typedef enum ms_port_kind {
    MS_PORT_PTY = 1,
    MS_PORT_TCP,
    MS_PORT_SERIAL, /* a serial device (or another program's pty slave) */
} ms_port_kind_t;

/** What a port speaks (metersim --protocol). */
typedef enum ms_proto {
    MS_PROTO_IEC21 = 0, /* IEC 62056-21 (with mode E to HDLC when the model offers it) */
    MS_PROTO_DLMS_HDLC, /* DLMS/COSEM over IEC 62056-46 HDLC */
    MS_PROTO_DLMS_WRAP, /* DLMS/COSEM over the IEC 62056-47 TCP wrapper */
} ms_proto_t;

/** "iec62056-21", "dlms-hdlc", "dlms-wrapper". */
const char *ms_proto_name(ms_proto_t p);

/** Observable state of a port (for the ready line and the control API). */
typedef struct ms_port_info {
    ms_port_kind_t kind;
    const char *protocol;       /* ms_proto_name() */
    char path[128];             /* pty: slave path */
    char link[256];             /* pty: symlink ("" = none) */
    char address[64];           /* tcp: "127.0.0.1:4059" */
    unsigned baud;              /* pty: the meter's current rate */
    unsigned peer_baud;         /* pty: the rate the reader last set (0 = never seen) */
    unsigned peer_line_changes; /* pty: termios changes seen through packet mode */
    unsigned connections;       /* tcp: open connections */
    const char *session;        /* state of the (last) session, e.g. "idle" */
    uint64_t rx_bytes, tx_bytes;
    unsigned sign_ons, readouts, bad_bcc, wrong_passwords, naks_received;
    unsigned apdus;  /* DLMS: APDUs received */
    unsigned mode_e; /* IEC 62056-21: switches to HDLC */
} ms_port_info_t;

/**
 * Serve a protocol for a meter on a new pty, with a symlink at `link` (NULL: none).
 * IEC 62056-21 starts at 300 Bd 7E1; DLMS over HDLC at the model's rate, 8N1.
 * @param[out] msg  on error, what failed
 * @return 0 or a negative ms_err (MS_EINVAL: the wrapper needs TCP)
 */
int ms_port_open_pty(ms_sim_meter_t *sm, ms_proto_t proto, const char *link,
                     ms_port_t **out, char *msg, size_t msgcap);

/**
 * Serve a protocol for a meter on a serial device (termios): an optical head or RS-485
 * adapter wired to a reader, or the slave of a pty another program owns (then output is
 * paced in software at the line rate, as a UART would). Line: as for a pty.
 * @return 0 or a negative ms_err (MS_EINVAL: the wrapper needs TCP; the device errors
 *         of ms_phy_tty_open)
 */
int ms_port_open_serial(ms_sim_meter_t *sm, ms_proto_t proto, const char *device,
                        ms_port_t **out, char *msg, size_t msgcap);

/** Serve a protocol for a meter on TCP host:port (port 0: any free port); every
 *  connection is its own link (an IEC 62056-21 session, an HDLC link, or a wrapper
 *  stream with its associations). */
int ms_port_open_tcp(ms_sim_meter_t *sm, ms_proto_t proto, const char *host,
                     unsigned port, ms_port_t **out, char *msg, size_t msgcap);

void ms_port_info(const ms_port_t *p, ms_port_info_t *info);

/** Close the port (removes a pty's symlink) and every connection on it. */
void ms_port_close(ms_port_t *p);

#endif
