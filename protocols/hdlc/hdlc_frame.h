/*
** hdlc_frame.h — IEC 62056-46 HDLC frames: frame format type 3, addresses, control
** field, HCS/FCS, LLC header, parameter negotiation field, FRMR field; an incremental
** decoder and an encoder. No I/O.
** SPDX-License-Identifier: MIT
**
** Sources (facts only; no code taken):
** - IEC 62056-46:2002+A1:2006 (DLMS/COSEM "data link layer using HDLC protocol"), the
**   same text as DLMS UA 1000-2 (Green Book) "HDLC-based data link layer". Subclause
**   numbers below follow the 2002 layout as other public implementations cite it
**   (6.4.1 frame format, 6.4.2 address field, 6.4.3 control field, 6.4.4 commands and
**   responses, 6.4.4.4.3.2 parameter negotiation); check them against the edition you
**   hold. Where 62056-46 defers to ISO/IEC 13239 (HDLC procedures) that is cited.
** - ../shared/PROTOCOL-NOTES.md "DLMS/COSEM traps" 1-5.
**
** Frame on the wire (flags not counted in the length):
**   7E | format(2) | dest addr(1..4) | src addr(1..4) | control(1) | [HCS(2) | info(n)] |
**   FCS(2) | 7E
** The frame is delimited by the 11-bit length of the format field, never by byte
** stuffing: 0x7E and 0x7D may appear anywhere inside (e.g. HCS = 0x497E).
*/
#ifndef HDLC_FRAME_H
#define HDLC_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ms_buf.h"

#define HDLC_FLAG 0x7Eu /* opening and closing flag (6.4.1) */

/* Frame format field (6.4.1): 1010 S LLL LLLLLLLL — format type 3, segmentation bit S,
 * 11-bit frame length (every byte between the flags). */
#define HDLC_FORMAT_TYPE3      0xA000u
#define HDLC_FORMAT_TYPE_MASK  0xF000u
#define HDLC_FORMAT_SEGMENTED  0x0800u
#define HDLC_FORMAT_LENGTH_MAX 0x07FFu /* 2047 */

/* Smallest frame: format(2) + two 1-byte addresses + control + FCS(2). */
#define HDLC_FRAME_LENGTH_MIN 7u
/* A whole frame with both flags never exceeds this (11-bit length + 2 flags). */
#define HDLC_FRAME_WIRE_MAX (HDLC_FORMAT_LENGTH_MAX + 2u)
/* Largest information field a link may negotiate here. The 11-bit length less the
 * longest header (2 + 4 + 1 + 1 + HCS 2) and the FCS leaves 2035; 2030 is the upper
 * limit DLMS implementations give for max_info_field_length (IC 23) — a project choice
 * to check against the Blue Book edition you hold. */
#define HDLC_INFO_MAX 2030u

/* Control field (6.4.3; bit 1 = LSB is sent first). Values with P/F = 0. */
#define HDLC_CTRL_PF     0x10u /* poll/final bit */
#define HDLC_CTRL_I      0x00u /* RRR P SSS 0 (I: bit 1 = 0) */
#define HDLC_CTRL_RR     0x01u /* RRR P/F 0001 receive ready */
#define HDLC_CTRL_RNR    0x05u /* RRR P/F 0101 receive not ready */
#define HDLC_CTRL_SNRM   0x83u /* 100P 0011 set normal response mode */
#define HDLC_CTRL_DISC   0x43u /* 010P 0011 disconnect */
#define HDLC_CTRL_UA     0x63u /* 011F 0011 unnumbered acknowledge */
#define HDLC_CTRL_DM     0x0Fu /* 000F 1111 disconnected mode */
#define HDLC_CTRL_FRMR   0x87u /* 100F 0111 frame reject */
#define HDLC_CTRL_UI     0x03u /* 000P/F 0011 unnumbered information */
#define HDLC_SEQ_MODULUS 8u    /* N(S), N(R): modulo 8 */

/* Reserved addresses (6.4.2.2). Client addresses are one byte (7 bits); server
 * addresses have an upper HDLC address (logical device) and, in the 2- and 4-byte
 * forms, a lower HDLC address (physical device) of 7 or 14 bits. */
#define HDLC_ADDR_NO_STATION          0x00u   /* received by no one */
#define HDLC_ADDR_CLIENT_MANAGEMENT   0x01u   /* client management process */
#define HDLC_ADDR_CLIENT_PUBLIC       0x10u   /* public client */
#define HDLC_ADDR_ALL_STATION         0x7Fu   /* broadcast, 7-bit forms */
#define HDLC_ADDR_ALL_STATION_14      0x3FFFu /* broadcast, 14-bit forms */
#define HDLC_ADDR_MANAGEMENT_LD       0x01u   /* upper: management logical device */
#define HDLC_ADDR_CALLING_PHYSICAL    0x7Eu   /* lower: the device that called in */
#define HDLC_ADDR_CALLING_PHYSICAL_14 0x3FFEu

/* LLC header in front of every APDU in I and UI frames (62056-46 clause 5, LLC
 * sublayer): destination LSAP, source LSAP (E6 command = client to server, E7
 * response = server to client), LLC quality 00. */
#define HDLC_LLC_LSAP          0xE6u
#define HDLC_LLC_LSAP_RESPONSE 0xE7u
#define HDLC_LLC_QUALITY       0x00u
#define HDLC_LLC_LEN           3u

/* Parameter negotiation field of SNRM and UA (6.4.4.4.3.2). */
#define HDLC_PARAM_FORMAT_ID 0x81u /* format identifier */
#define HDLC_PARAM_GROUP_ID  0x80u /* group identifier: HDLC parameters */
#define HDLC_DEFAULT_INFO    128u  /* max info field length when not negotiated */
#define HDLC_DEFAULT_WINDOW  1u    /* window size when not negotiated */
#define HDLC_WINDOW_MAX      7u    /* modulo 8 */

/* FRMR information field, third byte (ISO/IEC 13239 basic format, as 62056-46). */
#define HDLC_FRMR_W   0x01u /* control field undefined, not implemented or invalid */
#define HDLC_FRMR_X   0x02u /* information field not permitted with this control field */
#define HDLC_FRMR_Y   0x04u /* information field longer than the maximum */
#define HDLC_FRMR_Z   0x08u /* invalid N(R) */
#define HDLC_FRMR_LEN 3u

/** Frame types by control field (6.4.4). HDLC_UNKNOWN: a control field 62056-46 does
 *  not use (REJ, SREJ, SABM, XID, TEST, ...); the raw byte is in hdlc_frame.control. */
typedef enum hdlc_type {
    HDLC_NONE = 0,
    HDLC_I,
    HDLC_RR,
    HDLC_RNR,
    HDLC_SNRM,
    HDLC_DISC,
    HDLC_UA,
    HDLC_DM,
    HDLC_FRMR,
    HDLC_UI,
    HDLC_UNKNOWN,
} hdlc_type_t;

/** One HDLC address field (6.4.2). */
typedef struct hdlc_addr {
    uint16_t upper; /* upper HDLC address: client address, or server logical device */
    uint16_t lower; /* lower HDLC address: server physical device; 0 when size is 1 */
    uint8_t size;   /* bytes on the wire: 1 (7-bit upper), 2 (7 + 7) or 4 (14 + 14) */
} hdlc_addr_t;

/**
 * One frame. The decoder fills every field; the encoder takes type, segmented, pf,
 * ns, nr, dst, src and info (control only for HDLC_UNKNOWN).
 */
typedef struct hdlc_frame {
    hdlc_type_t type;
    uint8_t control;     /* the control field as received (decoder) */
    bool segmented;      /* S bit of the frame format field */
    bool pf;             /* P/F bit of the control field */
    uint8_t ns;          /* I: N(S), 0..7 */
    uint8_t nr;          /* I, RR, RNR: N(R), 0..7 */
    hdlc_addr_t dst;     /* destination address */
    hdlc_addr_t src;     /* source address */
    const uint8_t *info; /* information field; decoder: points into the decoder's
                            buffer, valid until the next feed or reset; NULL when
                            info_len is 0 or the frame was too long (MS_ETOOBIG) */
    size_t info_len;
    uint16_t length; /* frame length field (decoder) */
} hdlc_frame_t;

/* ---- addresses ---- */

/**
 * Build a server address (6.4.2.2): upper = logical device, lower = physical device.
 * @param[out] a     filled on success
 * @param[in] upper  7 bits for size 1 and 2, 14 bits for size 4
 * @param[in] lower  ignored for size 1; 7 bits for size 2, 14 bits for size 4
 * @param[in] size   1, 2 or 4 bytes on the wire
 * @return 0, or MS_EINVAL (size not 1, 2 or 4), MS_ERANGE (a half does not fit)
 */
int hdlc_addr_server(hdlc_addr_t *a, unsigned upper, unsigned lower, unsigned size);

/**
 * Build a client address: one byte, 7 bits (6.4.2.2).
 * @return 0, or MS_ERANGE (addr > 0x7F)
 */
int hdlc_addr_client(hdlc_addr_t *a, unsigned addr);

/**
 * Append an address field: each half in 7-bit groups, most significant first, each
 * byte holding 7 bits in bits 8..2 and the extension bit in bit 1, set only in the
 * last byte (6.4.2.1). Example: upper 1, lower 866, size 4 -> 00 02 0C C5.
 * @return 0, or MS_EINVAL (bad size or a half out of range), MS_ENOSPC (w->err)
 */
int hdlc_addr_put(ms_wr_t *w, const hdlc_addr_t *a);

/**
 * Take an address field: bytes up to and including the first with bit 1 set, at most
 * 4. Sizes 1, 2 and 4 are split into upper and lower halves; a 3-byte field is
 * returned with size 3, upper = the whole value and lower = 0 (invalid in 62056-46;
 * the caller decides).
 * @return 0, or MS_ETRUNC (input ends first), MS_EFRAME (no end within 4 bytes)
 */
int hdlc_addr_get(ms_rd_t *r, hdlc_addr_t *a);

/** True for an address 62056-46 allows on the wire: size 1, 2 or 4, halves in range. */
bool hdlc_addr_valid(const hdlc_addr_t *a);

/** True if every field of a and b is equal. */
bool hdlc_addr_equal(const hdlc_addr_t *a, const hdlc_addr_t *b);

/* ---- control field ---- */

/**
 * Control field of a frame type (6.4.3): I = N(R)<<5 | P<<4 | N(S)<<1; RR, RNR =
 * N(R)<<5 | P/F<<4 | 0001 / 0101; U frames = their code | P/F<<4. ns and nr are taken
 * modulo 8.
 * @return the control byte, or -1 for HDLC_NONE and HDLC_UNKNOWN
 */
int hdlc_control(hdlc_type_t type, unsigned ns, unsigned nr, bool pf);

/** Frame type of a control byte, and its N(S), N(R) and P/F (NULL to skip). */
hdlc_type_t hdlc_control_parse(uint8_t control, uint8_t *ns, uint8_t *nr, bool *pf);

/** Short name of a frame type: "I", "RR", "SNRM", ..., "unknown". Never NULL. */
const char *hdlc_type_name(hdlc_type_t type);

/* ---- encoder ---- */

/**
 * Encode one whole frame with both flags: format (S from f->segmented), addresses,
 * control, HCS when info_len > 0, information field, FCS. HCS and FCS are CRC-16/X.25
 * (ms_check.h) sent least significant byte first (6.4.1, ISO/IEC 13239).
 *
 * @param[in]  f    the frame; f->info may be NULL when info_len is 0
 * @param[out] dst  cap bytes, caller-owned; HDLC_FRAME_WIRE_MAX always suffices
 * @return the number of bytes written (>= 9), or MS_EINVAL (type HDLC_NONE, an
 *         invalid address, ns/nr > 7), MS_ETOOBIG (frame length over 2047),
 *         MS_ENOSPC (cap too small)
 */
int hdlc_frame_encode(const hdlc_frame_t *f, uint8_t *dst, size_t cap);

/**
 * Decode one frame from exactly the bytes between the flags (no flags), as some
 * captures store them. Same checks and errors as hdlc_decoder_feed(), except that a
 * length field other than len gives MS_EFRAME. f->info points into in.
 * @return 0, or a negative ms_err as hdlc_decoder_feed()
 */
int hdlc_frame_decode(const uint8_t *in, size_t len, hdlc_frame_t *f);

/* ---- incremental decoder ---- */

/** Decoder state. Treat as opaque; the buffer is the caller's. */
typedef struct hdlc_decoder {
    uint8_t *buf;    /* frame in progress, without the opening flag */
    size_t cap;      /* buffer size */
    size_t len;      /* bytes received of the frame in progress */
    size_t max_info; /* information field limit (0: only the buffer limits) */
    int state;
    uint16_t length; /* frame length field once known */
    size_t hdr_len;  /* format + addresses + control once known */
    size_t replay;   /* bytes at buf[replay_off..] to decode again before new input */
    size_t replay_off;
    uint16_t crc;     /* running CRC over the frame so far */
    uint8_t tail[2];  /* the FCS as received */
    bool hcs_ok;      /* the length field was confirmed by a good HCS */
    bool too_long;    /* information field over max_info or the buffer */
    uint64_t skipped; /* bytes discarded outside frames (diagnostics) */
    uint64_t frames;  /* good frames returned (diagnostics) */
    uint64_t errors;  /* errors returned (diagnostics) */
} hdlc_decoder_t;

/**
 * Initialise a decoder over a caller-owned buffer for one frame in progress.
 * @param[in] buf  cap bytes, retained (not copied) for the decoder's life; a frame
 *                 longer than cap is reported as MS_ETOOBIG. HDLC_FORMAT_LENGTH_MAX
 *                 (2047) bytes take every frame; below 16 bytes (the longest header
 *                 and HCS) hdlc_decoder_feed() fails with MS_EINVAL.
 */
void hdlc_decoder_init(hdlc_decoder_t *d, uint8_t *buf, size_t cap);

/** Set the information field limit: the negotiated maximum information field length
 *  (receive) of the link, 0 for none. A longer frame is still read to its end and
 *  checked, then reported as MS_ETOOBIG with its header (6.4.4.4.3.2; FRMR Y). */
void hdlc_decoder_set_max_info(hdlc_decoder_t *d, size_t max_info);

/** Forget any partial frame and any bytes held for re-decoding, and hunt for a flag
 *  (after the inter-octet time-out). Counters are kept. */
void hdlc_decoder_reset(hdlc_decoder_t *d);

/** True while part of a frame has been received (the inter-octet time-out runs). */
bool hdlc_decoder_busy(const hdlc_decoder_t *d);

/**
 * Feed received bytes; partial state is kept between calls. Frames are found by their
 * opening flag and read for exactly the length of their format field, whatever bytes
 * they hold; then the closing flag must follow (it may also open the next frame).
 * Bytes outside frames are skipped (d->skipped). The HCS is checked as soon as the
 * header is in: a bad HCS makes the length untrustworthy, so the decoder searches the
 * bytes after the opening flag for the next flag (resynchronisation) and decodes them
 * again on the following calls.
 *
 * @param[in]  in    received bytes, not retained
 * @param[in]  len   number of bytes
 * @param[out] used  bytes consumed (<= len); call again with the rest, also after an
 *                   error (the decoder is ready again)
 * @param[out] out   the frame when 1 or MS_ETOOBIG is returned, else type HDLC_NONE
 * @return 1 = a whole, checked frame is in *out; 0 = need more bytes (all consumed);
 *         MS_EBADHCS = header check sequence mismatch;
 *         MS_EBADFCS = frame check sequence mismatch;
 *         MS_ETRUNC = frame too short: the length field is below 7 or does not hold
 *                     the header and FCS;
 *         MS_EFRAME = no closing flag after the frame, a format type other than 3
 *                     after a flag, an address longer than 4 bytes or of 3 bytes, or
 *                     1..2 bytes between header and FCS (too short for an HCS);
 *         MS_ETOOBIG = checked frame whose information field exceeds max_info or the
 *                     buffer: *out holds its header (info NULL, info_len the length);
 *         MS_EINVAL = the buffer is smaller than 16 bytes (all input consumed).
 *         The standard's reaction: every error but MS_ETOOBIG is discarded silently;
 *         MS_ETOOBIG is answered with FRMR (Y) by a connected secondary station.
 */
int hdlc_decoder_feed(hdlc_decoder_t *d, const uint8_t *in, size_t len, size_t *used,
                      hdlc_frame_t *out);

/* ---- LLC header ---- */

/**
 * Append the LLC header E6 E6 00 (command, client to server) or E6 E7 00 (response,
 * server to client).
 * @return 0 or MS_ENOSPC
 */
int hdlc_llc_put(ms_wr_t *w, bool response);

/**
 * Check the LLC header at the start of an information field.
 * @param[out] response  true for E6 E7 00, false for E6 E6 00 (may be NULL)
 * @return HDLC_LLC_LEN (3), or MS_ETRUNC (fewer than 3 bytes), MS_EFRAME (other bytes)
 */
int hdlc_llc_check(const uint8_t *p, size_t n, bool *response);

/* ---- parameter negotiation (SNRM / UA information field) ---- */

/** Parameter indexes; the parameter identifier on the wire is 5 + index. */
enum {
    HDLC_P_MAX_INFO_TX = 0, /* 0x05 maximum information field length, transmit */
    HDLC_P_MAX_INFO_RX = 1, /* 0x06 maximum information field length, receive */
    HDLC_P_WINDOW_TX = 2,   /* 0x07 window size, transmit */
    HDLC_P_WINDOW_RX = 3,   /* 0x08 window size, receive */
    HDLC_P_COUNT = 4,
};

/** The HDLC parameters of one SNRM or UA, in the sender's view (its transmit and
 *  receive). width[i] = 0: parameter absent; 1, 2 or 4: bytes of its value. */
typedef struct hdlc_params {
    uint32_t value[HDLC_P_COUNT];
    uint8_t width[HDLC_P_COUNT];
} hdlc_params_t;

/**
 * Set one parameter with the smallest width that holds it (1, 2 or 4 bytes).
 * @param[in] idx  HDLC_P_*
 */
void hdlc_params_set(hdlc_params_t *p, int idx, uint32_t value);

/** A parameter's value, or def when it is absent. */
uint32_t hdlc_params_get(const hdlc_params_t *p, int idx, uint32_t def);

/**
 * Append the parameter negotiation field: 81 80 group-length {id len value}... for each
 * present parameter in identifier order, values big-endian in their width.
 * Example (Green Book): 81 80 12 05 01 80 06 01 80 07 04 00 00 00 01 08 04 00 00 00 01.
 * @return bytes appended (0 when no parameter is present: the frame then has no
 *         information field), or MS_EINVAL (width not 0, 1, 2 or 4, or a value wider
 *         than its width), MS_ENOSPC
 */
int hdlc_params_put(ms_wr_t *w, const hdlc_params_t *p);

/**
 * Decode a parameter negotiation field. An empty field gives every parameter absent.
 * Groups other than 0x80 and parameters other than 05..08 are skipped.
 * @return 0, or MS_EFRAME (format identifier not 0x81, lengths that do not add up, a
 *         value of other than 1, 2 or 4 bytes, a parameter given twice)
 */
int hdlc_params_decode(const uint8_t *p, size_t n, hdlc_params_t *out);

/* ---- FRMR information field ---- */

/** FRMR information field (ISO/IEC 13239 basic format, 3 bytes). */
typedef struct hdlc_frmr {
    uint8_t control; /* control field of the rejected frame */
    uint8_t vs, vr;  /* V(S) and V(R) of the rejecting station */
    bool cr;         /* the rejected frame was a response */
    uint8_t flags;   /* HDLC_FRMR_W | X | Y | Z */
} hdlc_frmr_t;

/**
 * Encode: byte 1 = rejected control field; byte 2 = 0 | V(S) << 1 | C/R << 4 |
 * V(R) << 5; byte 3 = W X Y Z in bits 0..3 (bits are sent LSB first, so this is the
 * bit order 1..24 of ISO/IEC 13239).
 */
void hdlc_frmr_encode(const hdlc_frmr_t *f, uint8_t out[HDLC_FRMR_LEN]);

/** Decode an FRMR information field. @return 0, or MS_EFRAME (not 3 bytes) */
int hdlc_frmr_decode(const uint8_t *p, size_t n, hdlc_frmr_t *out);

#endif
