/*
** iec21_msg.h — IEC 62056-21 (formerly IEC 61107) message codec: the messages of
** protocol modes A to E, their incremental decoder, encoders and the baud-rate table.
** SPDX-License-Identifier: MIT
**
** Source: IEC 62056-21:2002 clause 6.3 (message definitions) and 6.4 (protocol modes);
** the facts used are summarised, with their sources, in ../shared/PROTOCOL-NOTES.md.
** Bytes are 7-bit ISO/IEC 646 characters: a caller on a 7E1 line strips or checks the
** parity bit before feeding the decoder (protocols/phy does it).
*/
#ifndef IEC21_MSG_H
#define IEC21_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ms_buf.h"

/* Control characters (clause 6.3, ISO/IEC 646). */
#define IEC21_SOH 0x01
#define IEC21_STX 0x02
#define IEC21_ETX 0x03
#define IEC21_EOT 0x04
#define IEC21_ACK 0x06
#define IEC21_NAK 0x15
#define IEC21_LF  0x0A
#define IEC21_CR  0x0D

#define IEC21_ADDRESS_MAX    32 /* device address in the request message */
#define IEC21_IDENT_MAX      16 /* identification after XXXZ[\W] */
#define IEC21_ERROR_TEXT_MAX 32 /* error message text */

/** Message kinds (clause 6.3). */
typedef enum iec21_msg_type {
    IEC21_MSG_NONE = 0,
    IEC21_MSG_REQUEST,       /* "/?" address "!" CR LF — request (sign-on) */
    IEC21_MSG_IDENT,         /* "/" XXX Z ["\" W] ident CR LF — identification */
    IEC21_MSG_OPTION_SELECT, /* ACK V Z Y CR LF — acknowledgement / option select */
    IEC21_MSG_DATA,    /* STX data ETX|EOT BCC — data message, readout, error msg */
    IEC21_MSG_COMMAND, /* SOH C D [STX data] ETX|EOT BCC — programming command */
    IEC21_MSG_ACK,     /* ACK alone — acknowledgement */
    IEC21_MSG_NAK,     /* NAK alone — repeat request */
} iec21_msg_type_t;

/**
 * One decoded message. Strings are NUL-terminated copies; `data` points into the
 * decoder's buffer and is valid until the next iec21_decoder_feed() or reset.
 */
typedef struct iec21_msg {
    iec21_msg_type_t type;
    /* REQUEST */
    char address[IEC21_ADDRESS_MAX + 1]; /* "" when none */
    /* IDENT */
    char mfr[4]; /* manufacturer's identification XXX (3 letters) */
    char baud_z; /* baud rate identification Z */
    char enh_w;  /* enhanced identification W after "\", 0 when absent */
    char ident[IEC21_IDENT_MAX + 1];
    /* OPTION_SELECT */
    char opt_v; /* protocol control V: '0' normal, '1' secondary, '2' HDLC (mode E) */
    char opt_z; /* baud rate Z */
    char opt_y; /* mode control Y: '0' readout, '1' programming, '2' binary (HDLC) ... */
    /* COMMAND */
    char cmd;      /* command message identifier C: 'P', 'W', 'R', 'E', 'B' */
    char cmd_type; /* command type identifier D: '0'..'9' */
    bool has_data; /* COMMAND: an STX data part is present (B0 has none) */
    /* DATA and COMMAND */
    const uint8_t *data; /* bytes between STX and ETX/EOT (exclusive) */
    size_t data_len;
    bool partial;  /* block ended with EOT (partial block, clause 6.3.x R3/R4/W3/W4) */
    bool unframed; /* DATA without STX, ETX and BCC: a mode D push as real meters send
                      it (IEC21_DEC_UNFRAMED); data runs up to the end line "!" CR LF
                      inclusive, bcc is 0 */
    uint8_t bcc;   /* the received BCC (it matched, except with MS_EBADBCC) */
} iec21_msg_t;

/* Decoder flags (iec21_decoder_set_flags). */
#define IEC21_DEC_OPTION_SELECT                             \
    0x01u /* an ACK starts an option select, not a bare ACK \
           */
#define IEC21_DEC_UNFRAMED                                   \
    0x02u /* a printable character other than "/" outside a  \
             message starts a data block without STX that    \
             ends with the end line "!" CR LF (or "!" LF LF) \
             and has no BCC: the mode D push of real meters  \
             (PROTOCOL-NOTES: "mode D ... no STX/BCC") */

/** Incremental decoder state. Treat as opaque; the buffer is the caller's. */
typedef struct iec21_decoder {
    uint8_t *buf;
    size_t cap;
    size_t len;
    int state;
    unsigned flags;
    unsigned aux; /* kind of the block in progress (private) */
    uint8_t bcc;
    size_t skipped; /* bytes discarded outside any message since init (diagnostics) */
} iec21_decoder_t;

/**
 * Initialise a decoder over a caller-owned buffer that holds one message in progress.
 * @param[in] buf  cap bytes; a readout of N bytes needs cap >= N. Retained (not
 *                 copied) for the decoder's life.
 */
void iec21_decoder_init(iec21_decoder_t *d, uint8_t *buf, size_t cap);

/** Forget any partial message (e.g. after the inter-character time-out ta). */
void iec21_decoder_reset(iec21_decoder_t *d);

/** Set IEC21_DEC_* flags. The meter side sets IEC21_DEC_OPTION_SELECT after sending
 *  its identification in mode C/E, and clears it afterwards. */
void iec21_decoder_set_flags(iec21_decoder_t *d, unsigned flags);

/** True while a message is partly received (used for the ta time-out). */
bool iec21_decoder_busy(const iec21_decoder_t *d);

/**
 * Feed received bytes. Bytes before the start of a message (garbage, NULs of a battery
 * wake-up, stray CR LF) are skipped and counted in d->skipped.
 *
 * @param[in]  in    received bytes (7-bit), not retained
 * @param[in]  len   number of bytes
 * @param[out] used  bytes consumed (<= len); call again with the rest
 * @param[out] out   the message when 1 is returned
 * @return 1 = a complete message is in *out; 0 = need more bytes (all consumed);
 *         MS_EBADBCC = a block arrived whole with a wrong BCC (the answer is NAK);
 *         *out then holds the block as received, bcc = the received BCC (after
 *         any other error *out is cleared: type IEC21_MSG_NONE);
 *         MS_EFRAME = a malformed message (e.g. bad character in an identification,
 *         option select without CR LF); MS_ETOOBIG = longer than the buffer or the
 *         field limits above. After an error the decoder is reset and ready. When a
 *         "/", SOH or STX interrupts a line message (or SOH/STX a block), the partial
 *         message is reported as MS_EFRAME and that character is not consumed, so the
 *         next call starts the new message with it.
 *         Line ends: a request and an option select need CR LF; an identification
 *         line ends with CR LF or a bare LF (some meters send LF LF: the second LF is
 *         skipped as a stray line end).
 */
int iec21_decoder_feed(iec21_decoder_t *d, const uint8_t *in, size_t len, size_t *used,
                       iec21_msg_t *out);

/* Encoders. Each appends one whole message to w and returns 0, or MS_ENOSPC (w->err),
 * or MS_EINVAL for a field that the standard does not allow (noted per function). */

/** "/?" address "!" CR LF. address: "" or <= 32 of 0-9 A-Z a-z space (clause 6.3.1). */
int iec21_encode_request(ms_wr_t *w, const char *address);

/** "/" mfr Z ["\" W] ident CR LF (clause 6.3.2). mfr: 3 letters; enh_w: 0 for none;
 *  ident: <= 16 printable characters other than "/" and "!". */
int iec21_encode_ident(ms_wr_t *w, const char *mfr, char baud_z, char enh_w,
                       const char *ident);

/** ACK V Z Y CR LF (clause 6.3.3). V, Z, Y: printable characters. */
int iec21_encode_option_select(ms_wr_t *w, char v, char z, char y);

/** STX data ETX|EOT BCC: a data message or one block of it (clause 6.3.4, 6.3.6).
 *  partial = true ends the block with EOT. MS_EINVAL: data holds SOH, STX, ETX or
 *  EOT (they would break the framing). */
int iec21_encode_data(ms_wr_t *w, const void *data, size_t len, bool partial);

/** STX "(" text ")" ETX BCC: error message; text <= 32 characters, none of ( ) * / !
 *  (clause 6.3.x, error message). */
int iec21_encode_error(ms_wr_t *w, const char *text);

/** SOH C D [STX data] ETX|EOT BCC: command message (clause 6.3.7). data == NULL sends
 *  no STX part (break B0). C in P W R E B, D in 0..9; data without SOH STX ETX EOT. */
int iec21_encode_command(ms_wr_t *w, char cmd, char cmd_type, const void *data,
                         size_t len, bool partial);

/** A single ACK / NAK character. */
int iec21_encode_ack(ms_wr_t *w);
int iec21_encode_nak(ms_wr_t *w);

/**
 * Baud rate named by the baud character Z in a protocol mode (clause 6.4):
 * mode 'B': 'A'..'F' = 600, 1200, 2400, 4800, 9600, 19200;
 * modes 'C' and 'E': '0'..'6' = 300, 600, 1200, 2400, 4800, 9600, 19200;
 * mode 'D': '3' = 2400.
 * @return the rate in baud, or 0 when Z names none in that mode.
 */
unsigned iec21_baud_of_z(char mode, char z);

/** Inverse of iec21_baud_of_z; 0 when the rate has no character in that mode. */
char iec21_z_of_baud(char mode, unsigned baud);

/**
 * Protocol mode a reader infers from an identification (clause 6.4): Z in 'A'..'F' ->
 * 'B'; Z in '0'..'6' -> 'C', or 'E' when the enhanced identification W is '2' (clause
 * 6.3.2 item 24: "2" = binary mode HDLC available; 0, 1, 3-9 reserved — DLMS UA list
 * of standard items, "Enhanced identification character"); anything else -> 'A'.
 * (Mode D is recognised by the absence of a request.)
 */
char iec21_mode_of_ident(const iec21_msg_t *ident);

/** One data set of a data block: address "(" value ["*" unit] ")" (clause 6.3.x,
 *  data set). Pointers into the block; not NUL-terminated. */
typedef struct iec21_dataset {
    const char *address;
    size_t address_len; /* 0 for a continuation value "(...)" of the previous address */
    const char *value;
    size_t value_len;
    const char *unit;
    size_t unit_len; /* 0 when no "*unit" */
} iec21_dataset_t;

/**
 * Iterate over the data sets of a data block (readout or data message body). Line ends
 * (CR LF, and the LF LF some meters send) are skipped; the end line "!" stops the
 * iteration (r->pos stays at the "!"). The address may hold any printable character
 * but ( ) / ! (e.g. "6.26*01", "1-0:1.8.0*255"); the value any but ( ) * / !; the unit
 * starts at the first "*" and runs to ")" (a "*" inside it is kept: real readouts hold
 * values such as "9.4(088*C&082*C)").
 * @param[in,out] r   reader over the block; advanced past the data set
 * @param[out]    ds  the next data set
 * @return 1 = a data set; 0 = end of block; MS_EPARSE = malformed data set (r->pos at
 *         the offending byte)
 */
int iec21_dataset_next(ms_rd_t *r, iec21_dataset_t *ds);

/** Append address "(" value ["*" unit] ")" — address and unit may be NULL or "".
 *  MS_EINVAL: a character the iterator above would not accept. */
int iec21_encode_dataset(ms_wr_t *w, const char *address, const char *value,
                         const char *unit);

/** Library-internal: true when p[0..n) holds a framing character (SOH, STX, ETX, EOT),
 *  which no data set or operand may contain. */
bool iec21__has_framing(const uint8_t *p, size_t n);

/** Library-internal: the text inside the parentheses of an operand or error message
 *  "(...)" held in p[0..*n): *p and *n are narrowed to it; unchanged when p[0..*n) is
 *  not enclosed in parentheses. */
void iec21__unparen(const uint8_t **p, size_t *n);

/** Library-internal: true when s[0..n) may stand inside "(...)" as the operand of a
 *  P0, P1 or P2 message: printable characters other than "(" and ")". */
bool iec21__operand_ok(const char *s, size_t n);

#endif
