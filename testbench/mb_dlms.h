/*
** mb_dlms.h — meterbench's DLMS/COSEM binding: the session (mb_dlms.c: m:dlms{...} over
** the IEC 62056-47 wrapper or IEC 62056-46 HDLC, on a pty, a serial port or TCP) and the
** codec helpers it shares with the Lua modules `dlms` and `hdlc` (mb_dlms_codec.c):
** COSEM values between Lua tables and dlms_data_t, and the meanings of APDUs and HDLC
** frames written into the step's frame trace.
** SPDX-License-Identifier: MIT
*/
#ifndef MB_DLMS_H
#define MB_DLMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <lua.h>

#include "axdr.h"
#include "dlms_apdu.h"
#include "dlms_wrapper.h"
#include "hdlc_frame.h"
#include "ms_obis.h"

/**
 * Push a COSEM value as a Lua table: { type = "double-long-unsigned", value = 12000 }.
 * Arrays, structures and compact arrays keep their elements at 1..n (with `type`);
 * octet strings give `value` (the octets as a Lua string) and `hex`; visible and UTF-8
 * strings `value` as text; bit strings `value` as "0101..." and `bits`; date-time, date
 * and time (the tagged types) `value` and `hex`; null-data and dont-care only `type`.
 */
void mb_dlms_push_data(lua_State *L, const dlms_data_t *d);

/**
 * Convert the typed Lua value at idx (the form mb_dlms_push_data gives) to a dlms_data_t
 * whose children and strings live in the arena or on the Lua stack (the caller keeps
 * the Lua value alive while it uses *out). Raises a Lua error naming the path of a
 * wrong element ("value[2].type: unknown COSEM type 'int'").
 */
void mb_dlms_to_data(lua_State *L, int idx, dlms_arena_t *a, dlms_data_t *out);

/** A short description of a value for messages and traces: "double-long-unsigned
 *  12000", "structure{2}", "array[96]", "octet-string(12) 07e00a1e...". */
void mb_dlms_brief(const dlms_data_t *d, char *buf, size_t cap);

/**
 * The meaning of an APDU for the frame trace: "AARE: accepted, diagnostic null (0),
 * negotiated conformance 0x001E1D, server max PDU 1024", "GET-Request-Normal
 * 3/1-0:1.8.0.255/2", "exception-response: service invocation-counter-error", ...
 * plain (may be NULL) is the deciphered form of a ciphered APDU.
 */
void mb_dlms_describe_apdu(const uint8_t *apdu, size_t len, const uint8_t *plain,
                           size_t plain_len, char *buf, size_t cap);

/** The meaning of a decoded HDLC frame ("I N(S)=0 N(R)=0 P, 16->1, info 64 octets"), or
 * of a decoder error rc < 0 (MS_EBADFCS: "frame with a wrong FCS (discarded)"). */
void mb_hdlc_describe_frame(const hdlc_frame_t *f, int rc, char *buf, size_t cap);

/** Push a decoded HDLC frame (or decoder error rc) as the table hdlc.parse() gives. */
void mb_hdlc_push_frame(lua_State *L, const hdlc_frame_t *f, int rc, const uint8_t *bytes,
                        size_t n);

/** The fields of the wrapper header at p (WRAP_HEADER_LEN octets, any version: raw
 *  frames of negative tests); apdu = p + WRAP_HEADER_LEN. */
void mb_wrap_header(const uint8_t *p, wrap_frame_t *f);

/** Set version, src, dst and length of the table at the top of the stack. */
void mb_wrap_push_header(lua_State *L, const wrap_frame_t *f);

/** The meaning of a wrapper frame ("wrapper v1 16->1, 13 octets"). */
void mb_wrap_describe(const wrap_frame_t *f, char *buf, size_t cap);

/** The meaning of an exception-response ("exception-response: state
 *  service-not-allowed, service invocation-counter-error (counter 7)"). */
void mb_dlms_describe_exception(const dlms_exception_response_t *e, char *buf,
                                size_t cap);

/** The OBIS code at idx: "0-0:1.0.0.255", "0-0:1.0.0*255" or "0.0.1.0.0.255" (all six
 *  groups; ms_obis_parse); raises on other text. */
ms_obis_t mb_dlms_check_obis(lua_State *L, int idx);

/** Convert an ISO 8601 time to a COSEM date-time (12 octets). With an offset ("+02:00",
 *  "Z") the fields are that local time and the deviation is -offset (Blue Book sign);
 *  without one the deviation is "not specified" (0x8000). status: the clock status
 *  octet (0xFF not specified). @return 0 or MS_EPARSE */
int mb_dlms_datetime_from_iso(const char *iso, uint8_t status, uint8_t out[12]);

/** Modules (require "dlms", require "hdlc"). */
int luaopen_mb_dlms(lua_State *L);
int luaopen_mb_hdlc(lua_State *L);

/** m:dlms{...}: open a DLMS/COSEM session; pushes it (blocking for TCP).
 *  phy_spec: "serial:DEV" or "tcp:HOST:PORT"; hdlc: the transport; baud: the line rate
 *  of a serial port unless the options give one. */
int mb_dlms_open(lua_State *L, const char *phy_spec, bool hdlc, unsigned baud,
                 int opts_idx);

/** Metatable of session handles (called by the runtime with the others). */
void mb_dlms_register(lua_State *L);

#endif
