/*
** dlms_wrapper.h — the IEC 62056-47 (COSEM transport layers for IPv4 networks) wrapper:
** the 8-octet header that carries one xDLMS/ACSE APDU over TCP or UDP.
** SPDX-License-Identifier: MIT
**
** Header (IEC 62056-47 clause "The wrapper protocol data unit", also Green Book
** "TCP-UDP/IP based communication profiles"): version (2 octets, 0x0001), source wPort
** (2), destination wPort (2), length of the APDU that follows (2), all big-endian. The
** default port is 4059 (TCP and UDP). wPorts carry the client and server SAPs (e.g. 0x10
** the public client, 0x01 the management logical device); what they mean is the
** session's business.
*/
#ifndef DLMS_WRAPPER_H
#define DLMS_WRAPPER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ms_buf.h"

#define WRAP_VERSION    0x0001u /* the only version IEC 62056-47 defines */
#define WRAP_HEADER_LEN 8u
#define WRAP_MAX_APDU   0xFFFFu /* the length field is 16 bits */
#define WRAP_PORT       4059u   /* IANA "dlms/cosem", TCP and UDP */

/** One wrapper frame. apdu points into the decoder's buffer (stream decoder) or into the
 * caller's datagram (wrap_decode) and is valid until the next feed / while that lives. */
typedef struct wrap_frame {
    uint16_t version;
    uint16_t src_wport;
    uint16_t dst_wport;
    uint16_t length; /* octets of apdu */
    const uint8_t *apdu;
} wrap_frame_t;

/** Incremental decoder for a TCP byte stream. Treat the fields as private. */
typedef struct wrap_decoder {
    uint8_t hdr[WRAP_HEADER_LEN];
    size_t hdr_len; /* header octets collected */
    uint8_t *buf;   /* APDU storage, caller-owned */
    size_t cap;     /* its size = the largest APDU accepted */
    size_t got;     /* APDU octets collected */
    wrap_frame_t cur;
} wrap_decoder_t;

/**
 * Start a stream decoder.
 * @param[in] buf  storage for one APDU (caller-owned, kept by the decoder)
 * @param[in] cap  its size in octets: frames announcing a longer APDU are refused with
 *                 MS_ETOOBIG (so cap is the "max receive PDU size" of this end)
 */
void wrap_decoder_init(wrap_decoder_t *d, uint8_t *buf, size_t cap);

/** Drop a partly received frame. */
void wrap_decoder_reset(wrap_decoder_t *d);

/** True while a frame is partly received. */
bool wrap_decoder_busy(const wrap_decoder_t *d);

/**
 * Feed received octets. Consumes at most one frame per call: on 1 the rest of the input
 * is left for the next call.
 *
 * @param[in]  in    received octets (not retained)
 * @param[in]  len   their number
 * @param[out] used  octets consumed (<= len)
 * @param[out] out   on 1: the frame; out->apdu points into the decoder's buffer and stays
 *                   valid until the next feed or reset
 * @return 1 = a whole frame is in *out; 0 = all input consumed, frame incomplete;
 *         MS_EFRAME = the header's version is not 0x0001; MS_ETOOBIG = the header
 *         announces more than cap octets. On an error the header has been consumed and
 * the decoder is idle again; IEC 62056-47 has no resynchronisation, so a TCP session
 *         should close the connection. MS_EINVAL for NULL arguments.
 */
int wrap_decoder_feed(wrap_decoder_t *d, const uint8_t *in, size_t len, size_t *used,
                      wrap_frame_t *out);

/**
 * Decode a datagram (UDP) that holds exactly one frame.
 * @param[out] out  out->apdu points into buf
 * @return 0, MS_ETRUNC (shorter than the header, or than the announced length),
 *         MS_EFRAME (bad version, or octets after the announced APDU), MS_EINVAL
 */
int wrap_decode(const uint8_t *buf, size_t len, wrap_frame_t *out);

/**
 * Append a wrapper header for an APDU of apdu_len octets (the APDU follows separately).
 * @return 0, MS_ETOOBIG (apdu_len > 65535), MS_ENOSPC
 */
int wrap_encode_header(ms_wr_t *w, uint16_t src_wport, uint16_t dst_wport,
                       size_t apdu_len);

/**
 * Append a whole frame: header (version 0x0001) and the APDU.
 * @param[in] apdu  apdu_len octets (may be NULL when apdu_len is 0)
 * @return 0, MS_ETOOBIG (apdu_len > 65535), MS_ENOSPC (nothing useful written)
 */
int wrap_encode(ms_wr_t *w, uint16_t src_wport, uint16_t dst_wport, const uint8_t *apdu,
                size_t apdu_len);

#endif
