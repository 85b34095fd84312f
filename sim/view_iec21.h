/*
** view_iec21.h — the IEC 62056-21 view of the meter model: the readout data set, and
** the answers to programming-mode commands (R1/R2/R5 reads by address).
** SPDX-License-Identifier: MIT
*/
#ifndef MS_VIEW_IEC21_H
#define MS_VIEW_IEC21_H

#include <stddef.h>

#include "iec21_meter.h"
#include "meter.h"

/** A data set's address as the model's readout shows it (address style, letter codes),
 *  e.g. "1-0:1.8.1*255" or "1.8.1". @return the text length, or MS_ENOSPC */
int ms_iec21_address(const ms_model_t *md, const ms_obis_t *obis, char *buf, size_t cap);

/**
 * Append one data set "address(value*unit)" for a readout item at the meter's current
 * time: energy truncated to the item's decimals, max demand followed by its time
 * "(YYMMDDhhmm)", text values as they are (IEC 62056-21 clause 6.3.x data set,
 * EDIS value formats).
 * @param[in] address  address text to show, or NULL for the model's address style
 * @return 0, MS_ENOSPC, MS_ENOENT (the meter lacks the register)
 */
int ms_iec21_format_item(const ms_meter_t *m, const ms_readout_item_t *it,
                         const char *address, ms_wr_t *out);

/** The readout data block: one data set per line, CR LF after each (the session adds
 *  STX, "!" CR LF, ETX and BCC). @return 0 or MS_ENOSPC */
int ms_iec21_readout(const ms_meter_t *m, ms_wr_t *out);

/** Check a P1/P2 password against the model. @return 0 or MS_EACCES */
int ms_iec21_password(const ms_meter_t *m, int level, const char *operand, size_t len);

/**
 * Answer a programming command:
 *  - R1/R2 (and R5 for an address): the register named by the data set's address
 *    (reduced forms such as "1.8.1" match the model's full codes; F = 1..99 reads the
 *    F-th last billing snapshot);
 *  - R5 "P.01(from;to)" (a profile's name): the load profile in VDEW/EDIS layout;
 *    R5 "P.98(from;to)": the logbook (standard event log); time stamps
 *    "[s]YYMMDDhhmm[ss]" in local time, s = 1 for daylight saving time, either may be
 *    empty;
 *  - W1/W5 "0.9.1(hhmmss)", "0.9.2(YYMMDD)": set the clock's local time or date;
 *    "96.14.0(n)": tariff override to rate n until the next scheduled switch;
 *  - E2 "0.1.0()": end-of-billing reset.
 * Writes and commands need P1 (or P2) access and enter the audit trail.
 * @param[out] out  data block or error text
 */
iec21_reply_t ms_iec21_command(ms_meter_t *m, int access, const iec21_msg_t *cmd,
                               ms_wr_t *out);

#endif
