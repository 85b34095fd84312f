/*
** test_dlms_vectors.c — every vector of the two shared JSONL files, each with a stated
** purpose: decoded and re-encoded byte for byte, or refused with the error the standard
** implies, or named as a parameter of another test or as another module's business.
** SPDX-License-Identifier: MIT
**
** Sources (read at run time from $MS_SHARED_DATA/dlms; see ../shared/data/README.md):
** - pwitab_2021/hex_vectors.jsonl: 228 vectors from pwitab/dlms-cosem tests (MIT).
** - epri_dlms_cosem_vectors.jsonl: 46 vectors from epri-dev/DLMS-COSEM tests (BSD-3).
** Only byte strings and the file/line they came from are used; no code is taken.
**
** Many pwitab vectors come from tests named "wrong_tag_raises" or
*"..._raises_valueerror":
** that library refused them for its own reasons (an unimplemented CHOICE, a type it
** expected). The expectations below follow the Green Book instead: e.g. C7 02 is a valid
** ACTION-Response-With-Pblock, C4 02 with last-block = 0 and a Data-Access-Result is a
** valid GET-Response-With-Datablock. Each error expectation was worked out by hand from
** the ASN.1 and is explained in its row.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "axdr.h"
#include "dlms_acse.h"
#include "dlms_apdu.h"
#include "dlms_security.h"
#include "dlms_test_util.h"
#include "dlms_wrapper.h"
#include "ms_err.h"

typedef enum kind {
    K_PARAM,           /* a key, system title, challenge... used by another test */
    K_SKIP,            /* another module's format (HDLC) or no DLMS encoding at all */
    K_AXDR,            /* one tagged Data */
    K_APDU,            /* an unciphered xDLMS APDU */
    K_LLC,             /* LLC header E6 E6 00 / E6 E7 00, then an xDLMS or ACSE APDU */
    K_ACSE,            /* AARQ / AARE / RLRQ / RLRE */
    K_FRAG_AARQ,       /* one AARQ field: decoded inside 60 LL */
    K_FRAG_AARE,       /* one AARE field: decoded inside 61 LL */
    K_FRAG_RLRE,       /* one RLRE field: decoded inside 63 LL */
    K_CIPHERED,        /* glo-/general-glo-ciphering framing */
    K_WRAPPER,         /* IEC 62056-47 datagram carrying a ciphered APDU */
    K_WRAPPER_HDR,     /* the wrapper header alone */
    K_DATETIME,        /* 12 octets of date-time */
    K_ACCESS_SEL,      /* access-selection with its presence octet */
    K_SELECTOR_DATA,   /* access-selector and access-parameters */
    K_GET_DATA_RESULT, /* Get-Data-Result; decoded inside C4 01 00 as the source did */
    K_BLOCK_RAW,       /* raw-data of a block: equals a decoded datablock's raw-data */
    K_OBIS,            /* six octets of logical name */
    K_OPT_DATA,        /* presence octet and Data */
    K_LONG64,          /* long64 contents without the tag */
    K_LONG64U          /* long64-unsigned contents without the tag */
} kind_t;

typedef struct row {
    const char *file;
    int line;
    kind_t kind;
    int expect; /* 0 = decodes and re-encodes byte for byte; else the ms_err */
    const char *why;
} row_t;

static const row_t pwitab_rows[] = {
    { "examples/dlms_with_hdlc_example.py", 41, K_PARAM, 0, "key of an example program" },
    { "examples/dlms_with_hdlc_example.py", 42, K_PARAM, 0, "key of an example program" },
    { "examples/dlms_with_hdlc_example.py", 43, K_PARAM, 0, "key of an example program" },
    { "examples/dlms_with_hdlc_example.py", 44, K_PARAM, 0, "key of an example program" },
    { "examples/dlms_with_tcp_example.py", 42, K_PARAM, 0, "key of an example program" },
    { "examples/dlms_with_tcp_example.py", 43, K_PARAM, 0, "key of an example program" },
    { "examples/exterimental_meter.py", 43, K_PARAM, 0, "key of an example program" },
    { "examples/exterimental_meter.py", 44, K_PARAM, 0, "key of an example program" },
    { "examples/hdlc_example.py", 58, K_APDU, 0, "" },
    { "tests/conftest.py", 10, K_PARAM, 0, "key or system title fixture" },
    { "tests/conftest.py", 15, K_PARAM, 0, "key or system title fixture" },
    { "tests/conftest.py", 25, K_PARAM, 0, "key or system title fixture" },
    { "tests/conftest.py", 30, K_PARAM, 0, "key or system title fixture" },
    { "tests/conftest.py", 35, K_PARAM, 0, "key or system title fixture" },
    { "tests/conftest.py", 40, K_PARAM, 0, "key or system title fixture" },
    { "tests/conftest.py", 45, K_PARAM, 0, "key or system title fixture" },
    { "tests/conftest.py", 50, K_PARAM, 0, "key or system title fixture" },
    { "tests/conftest.py", 188, K_AXDR, 0, "" },
    { "tests/test_a_xdr.py", 84, K_AXDR, 0, "" },
    { "tests/test_a_xdr.py", 102, K_AXDR, 0, "" },
    { "tests/test_a_xdr.py", 122, K_APDU, 0,
      "raw block data is opaque (one octet differs from test_get.py)" },
    { "tests/test_a_xdr.py", 30, K_GET_DATA_RESULT, 0,
      "Get-Data-Result; the source prepends C4 01 00" },
    { "tests/test_asce/test_aare.py", 15, K_ACSE, 0, "" },
    { "tests/test_asce/test_aare.py", 28, K_ACSE, 0, "" },
    { "tests/test_asce/test_aare.py", 41, K_ACSE, 0, "" },
    { "tests/test_asce/test_aare.py", 59, K_ACSE, 0, "" },
    { "tests/test_asce/test_aare.py", 74, K_ACSE, 0, "" },
    { "tests/test_asce/test_aare.py", 114, K_ACSE, 0, "" },
    { "tests/test_asce/test_aare.py", 159, K_ACSE, 0, "" },
    { "tests/test_asce/test_aare.py", 204, K_ACSE, 0, "" },
    { "tests/test_asce/test_aare.py", 229, K_ACSE, 0, "" },
    { "tests/test_asce/test_aare.py", 239, K_PARAM, 0,
      "StoC challenge (in the AARE above)" },
    { "tests/test_asce/test_aarq.py", 16, K_ACSE, 0, "" },
    { "tests/test_asce/test_aarq.py", 23, K_ACSE, 0, "" },
    { "tests/test_asce/test_aarq.py", 32, K_ACSE, 0, "" },
    { "tests/test_asce/test_aarq.py", 41, K_ACSE, 0, "" },
    { "tests/test_asce/test_aarq.py", 120, K_ACSE, 0, "" },
    { "tests/test_asce/test_aarq.py", 166, K_ACSE, 0, "" },
    { "tests/test_asce/test_aarq.py", 213, K_ACSE, 0, "" },
    { "tests/test_asce/test_aarq.py", 53, K_ACSE, 0, "" },
    { "tests/test_asce/test_aarq.py", 62, K_PARAM, 0, "LLS password \"12345678\"" },
    { "tests/test_asce/test_aarq.py", 67, K_ACSE, 0, "" },
    { "tests/test_asce/test_aarq.py", 79, K_ACSE, 0, "" },
    { "tests/test_asce/test_aarq.py", 60, K_PARAM, 0, "client system title" },
    { "tests/test_asce/test_aarq.py", 172, K_PARAM, 0, "CtoS challenge" },
    { "tests/test_asce/test_aarq.py", 219, K_PARAM, 0, "LLS password \"12345678\"" },
    { "tests/test_asce/test_rlre.py", 16, K_ACSE, 0, "" },
    { "tests/test_asce/test_rlre.py", 23, K_ACSE, 0, "" },
    { "tests/test_asce/test_rlrq.py", 17, K_ACSE, 0, "" },
    { "tests/test_dlms_connection.py", 222, K_PARAM, 0, "meter system title" },
    { "tests/test_dlms_connection.py", 96, K_APDU, 0, "" },
    { "tests/test_dlms_connection.py", 15, K_PARAM, 0, "system title \"12345678\"" },
    { "tests/test_dlms_connection.py", 22, K_PARAM, 0, "system title \"12345678\"" },
    { "tests/test_dlms_connection.py", 28, K_PARAM, 0, "system title \"12345678\"" },
    { "tests/test_dlms_connection.py", 54, K_PARAM, 0, "system title \"12345678\"" },
    { "tests/test_dlms_connection.py", 64, K_PARAM, 0, "system title \"12345678\"" },
    { "tests/test_dlms_connection.py", 74, K_PARAM, 0, "system title \"12345678\"" },
    { "tests/test_dlms_connection.py", 84, K_PARAM, 0, "system title \"12345678\"" },
    { "tests/test_dlms_connection.py", 94, K_PARAM, 0, "system title \"12345678\"" },
    { "tests/test_dlms_connection.py", 106, K_PARAM, 0, "system title \"12345678\"" },
    { "tests/test_dlms_connection.py", 116, K_PARAM, 0, "system title \"12345678\"" },
    { "tests/test_dlms_connection.py", 127, K_PARAM, 0, "system title \"12345678\"" },
    { "tests/test_dlms_connection.py", 138, K_PARAM, 0, "system title \"12345678\"" },
    { "tests/test_dlms_connection.py", 157, K_PARAM, 0, "system title \"12345678\"" },
    { "tests/test_dlms_connection.py", 177, K_PARAM, 0, "system title \"12345678\"" },
    { "tests/test_dlms_connection.py", 198, K_PARAM, 0, "system title \"12345678\"" },
    { "tests/test_general_global_cipher.py", 6, K_CIPHERED, 0, "" },
    { "tests/test_general_global_cipher.py", 8, K_PARAM, 0,
      "system title of the general-glo-ciphering vector" },
    { "tests/test_general_global_cipher.py", 18, K_CIPHERED, 0, "" },
    { "tests/test_general_global_cipher.py", 20, K_PARAM, 0,
      "system title of the general-glo-ciphering vector" },
    { "tests/test_general_global_cipher.py", 40, K_CIPHERED, 0, "" },
    { "tests/test_general_global_cipher.py", 47, K_APDU, 0, "" },
    { "tests/test_general_global_cipher.py", 29, K_PARAM, 0,
      "\"MYDUMMYGLOBALKEY\": EK and AK of the UDP vectors (test_dlms_security)" },
    { "tests/test_hdlc/test_hdlc.py", 37, K_SKIP, 0, "HDLC frame: protocols/hdlc" },
    { "tests/test_hdlc/test_hdlc.py", 129, K_SKIP, 0, "HDLC frame: protocols/hdlc" },
    { "tests/test_hdlc/test_hdlc.py", 199, K_SKIP, 0, "HDLC frame: protocols/hdlc" },
    { "tests/test_hdlc/test_hdlc.py", 216, K_SKIP, 0, "HDLC frame: protocols/hdlc" },
    { "tests/test_hdlc/test_hdlc.py", 89, K_SKIP, 0, "HDLC frame: protocols/hdlc" },
    { "tests/test_hdlc/test_hdlc.py", 106, K_SKIP, 0, "HDLC frame: protocols/hdlc" },
    { "tests/test_hdlc/test_hdlc.py", 138, K_SKIP, 0, "HDLC frame: protocols/hdlc" },
    { "tests/test_hdlc/test_hdlc.py", 141, K_LLC, 0, "" },
    { "tests/test_hdlc/test_hdlc.py", 169, K_SKIP, 0, "HDLC frame: protocols/hdlc" },
    { "tests/test_hdlc/test_hdlc.py", 172, K_LLC, 0, "" },
    { "tests/test_parsers.py", 6, K_AXDR, 0, "" },
    { "tests/test_security.py", 8, K_PARAM, 0, "key / text of a round-trip test" },
    { "tests/test_security.py", 11, K_PARAM, 0, "key / text of a round-trip test" },
    { "tests/test_security.py", 44, K_PARAM, 0,
      "Green Book example key, system title or challenge (test_dlms_security)" },
    { "tests/test_security.py", 45, K_PARAM, 0,
      "Green Book example key, system title or challenge (test_dlms_security)" },
    { "tests/test_security.py", 46, K_PARAM, 0,
      "Green Book example key, system title or challenge (test_dlms_security)" },
    { "tests/test_security.py", 49, K_APDU, 0, "" },
    { "tests/test_security.py", 51, K_PARAM, 0,
      "Green Book ciphertext || tag (test_dlms_security)" },
    { "tests/test_security.py", 70, K_PARAM, 0,
      "Green Book example key, system title or challenge (test_dlms_security)" },
    { "tests/test_security.py", 71, K_PARAM, 0,
      "Green Book example key, system title or challenge (test_dlms_security)" },
    { "tests/test_security.py", 72, K_PARAM, 0,
      "Green Book example key, system title or challenge (test_dlms_security)" },
    { "tests/test_security.py", 75, K_APDU, 0, "" },
    { "tests/test_security.py", 77, K_PARAM, 0,
      "Green Book ciphertext || tag (test_dlms_security)" },
    { "tests/test_security.py", 93, K_PARAM, 0,
      "Green Book example key, system title or challenge (test_dlms_security)" },
    { "tests/test_security.py", 94, K_PARAM, 0,
      "Green Book example key, system title or challenge (test_dlms_security)" },
    { "tests/test_security.py", 99, K_PARAM, 0,
      "Green Book example key, system title or challenge (test_dlms_security)" },
    { "tests/test_security.py", 103, K_PARAM, 0,
      "Green Book example key, system title or challenge (test_dlms_security)" },
    { "tests/test_security.py", 117, K_PARAM, 0,
      "Green Book example key, system title or challenge (test_dlms_security)" },
    { "tests/test_security.py", 118, K_PARAM, 0,
      "Green Book example key, system title or challenge (test_dlms_security)" },
    { "tests/test_security.py", 123, K_PARAM, 0,
      "Green Book example key, system title or challenge (test_dlms_security)" },
    { "tests/test_security.py", 127, K_PARAM, 0,
      "Green Book example key, system title or challenge (test_dlms_security)" },
    { "tests/test_security.py", 20, K_PARAM, 0, "key / text of a round-trip test" },
    { "tests/test_security.py", 33, K_PARAM, 0, "key / text of a round-trip test" },
    { "tests/test_security.py", 113, K_PARAM, 0, "HLS-GMAC tag (test_dlms_security)" },
    { "tests/test_security.py", 131, K_PARAM, 0,
      "GMAC IV = system title || IC (test_dlms_security)" },
    { "tests/test_security.py", 146, K_PARAM, 0,
      "GMAC AAD = SC || AK || StoC (test_dlms_security)" },
    { "tests/test_security.py", 161, K_PARAM, 0, "HLS-GMAC tag (test_dlms_security)" },
    { "tests/test_time.py", 13, K_DATETIME, 0, "" },
    { "tests/test_time.py", 17, K_DATETIME, 0, "" },
    { "tests/test_time.py", 21, K_DATETIME, 0, "" },
    { "tests/test_udp_message.py", 6, K_WRAPPER, 0, "" },
    { "tests/test_udp_message.py", 7, K_WRAPPER, 0, "" },
    { "tests/test_udp_message.py", 8, K_WRAPPER, 0, "" },
    { "tests/test_udp_message.py", 9, K_WRAPPER, 0, "" },
    { "tests/test_udp_message.py", 10, K_WRAPPER, 0, "" },
    { "tests/test_udp_message.py", 11, K_WRAPPER, 0, "" },
    { "tests/test_udp_message.py", 12, K_WRAPPER, 0, "" },
    { "tests/test_udp_message.py", 13, K_WRAPPER, 0, "" },
    { "tests/test_udp_message.py", 14, K_WRAPPER, 0, "" },
    { "tests/test_udp_message.py", 15, K_WRAPPER, 0, "" },
    { "tests/test_udp_message.py", 16, K_WRAPPER, 0, "" },
    { "tests/test_udp_message.py", 17, K_WRAPPER, 0, "" },
    { "tests/test_udp_message.py", 18, K_WRAPPER, 0, "" },
    { "tests/test_udp_message.py", 23, K_WRAPPER_HDR, 0, "" },
    { "tests/test_udp_message.py", 24, K_CIPHERED, 0, "" },
    { "tests/test_udp_message.py", 39, K_WRAPPER_HDR, 0, "" },
    { "tests/test_udp_message.py", 40, K_CIPHERED, 0, "" },
    { "tests/test_xdlms/test_action.py", 9, K_APDU, 0, "" },
    { "tests/test_xdlms/test_action.py", 26, K_APDU, 0, "" },
    { "tests/test_xdlms/test_action.py", 43, K_APDU, MS_EFRAME,
      "C4 01: GET-Response-Normal with integer 0, then octets left over" },
    { "tests/test_xdlms/test_action.py", 49, K_APDU, MS_EFRAME,
      "C3 02: ACTION-Request-Next-Pblock, octets after the block number" },
    { "tests/test_xdlms/test_action.py", 57, K_APDU, 0, "" },
    { "tests/test_xdlms/test_action.py", 62, K_APDU, 0, "" },
    { "tests/test_xdlms/test_action.py", 68, K_APDU, MS_EFRAME,
      "C4 01: GET-Response-Normal with integer 0, then octets left over" },
    { "tests/test_xdlms/test_action.py", 73, K_APDU, MS_EFRAME,
      "C3 02: ACTION-Request-Next-Pblock, octets after the block number" },
    { "tests/test_xdlms/test_action.py", 91, K_APDU, MS_ENOTSUP,
      "C8 is glo-get-request: ciphered, not a plain APDU" },
    { "tests/test_xdlms/test_action.py", 96, K_APDU, 0,
      "C7 02: a valid ACTION-Response-With-Pblock (16 raw octets)" },
    { "tests/test_xdlms/test_action.py", 101, K_APDU, 0, "" },
    { "tests/test_xdlms/test_action.py", 108, K_APDU, 0, "" },
    { "tests/test_xdlms/test_action.py", 122, K_APDU, MS_ENOTSUP,
      "C8 is glo-get-request: ciphered, not a plain APDU" },
    { "tests/test_xdlms/test_action.py", 127, K_APDU, 0,
      "C7 02: a valid ACTION-Response-With-Pblock (16 raw octets)" },
    { "tests/test_xdlms/test_action.py", 171, K_APDU, 0, "" },
    { "tests/test_xdlms/test_action.py", 183, K_APDU, 0, "" },
    { "tests/test_xdlms/test_action.py", 16, K_AXDR, 0, "" },
    { "tests/test_xdlms/test_action.py", 112, K_AXDR, 0, "" },
    { "tests/test_xdlms/test_data_notification.py", 9, K_APDU, 0, "" },
    { "tests/test_xdlms/test_data_notification.py", 15, K_AXDR, 0, "" },
    { "tests/test_xdlms/test_get.py", 21, K_APDU, 0, "" },
    { "tests/test_xdlms/test_get.py", 39, K_APDU, MS_ETRUNC,
      "C1 01: SET-Request-Normal without its value" },
    { "tests/test_xdlms/test_get.py", 45, K_APDU, MS_EFRAME,
      "C0 02: GET-Request-Next, octets after the block number" },
    { "tests/test_xdlms/test_get.py", 87, K_APDU, 0, "" },
    { "tests/test_xdlms/test_get.py", 114, K_APDU, 0, "" },
    { "tests/test_xdlms/test_get.py", 124, K_APDU, MS_ETRUNC,
      "C1 01: the logical name is cut short" },
    { "tests/test_xdlms/test_get.py", 129, K_APDU, MS_EFRAME,
      "C4 02: DataBlock-G result CHOICE 0x91" },
    { "tests/test_xdlms/test_get.py", 162, K_APDU, 0, "" },
    { "tests/test_xdlms/test_get.py", 169, K_APDU, 0, "" },
    { "tests/test_xdlms/test_get.py", 182, K_APDU, MS_EFRAME,
      "C5 02: SET-Response-Datablock, octets after the block number" },
    { "tests/test_xdlms/test_get.py", 187, K_APDU, MS_EFRAME,
      "C4 03: GET-Response-With-List, octets after the list" },
    { "tests/test_xdlms/test_get.py", 193, K_APDU, 0, "" },
    { "tests/test_xdlms/test_get.py", 199, K_APDU, 0, "" },
    { "tests/test_xdlms/test_get.py", 206, K_APDU, 0, "" },
    { "tests/test_xdlms/test_get.py", 218, K_APDU, 0, "" },
    { "tests/test_xdlms/test_get.py", 223, K_APDU, MS_ETRUNC,
      "raw-data length 0x049E points past the end" },
    { "tests/test_xdlms/test_get.py", 231, K_APDU, 0, "" },
    { "tests/test_xdlms/test_get.py", 244, K_APDU, MS_EFRAME,
      "C5 02: SET-Response-Datablock, octets after the block number" },
    { "tests/test_xdlms/test_get.py", 249, K_APDU, MS_EFRAME,
      "C4 03: GET-Response-With-List, octets after the list" },
    { "tests/test_xdlms/test_get.py", 255, K_APDU, 0, "" },
    { "tests/test_xdlms/test_get.py", 261, K_APDU, 0, "" },
    { "tests/test_xdlms/test_get.py", 268, K_APDU, 0, "" },
    { "tests/test_xdlms/test_get.py", 280, K_APDU, 0, "" },
    { "tests/test_xdlms/test_get.py", 285, K_APDU, MS_ETRUNC,
      "raw-data length 0x049E points past the end" },
    { "tests/test_xdlms/test_get.py", 293, K_APDU, 0, "" },
    { "tests/test_xdlms/test_get.py", 305, K_APDU, MS_EFRAME,
      "C5 02: SET-Response-Datablock, octets after the block number" },
    { "tests/test_xdlms/test_get.py", 310, K_APDU, MS_EFRAME,
      "C4 03: GET-Response-With-List, octets after the list" },
    { "tests/test_xdlms/test_get.py", 316, K_APDU, 0, "" },
    { "tests/test_xdlms/test_get.py", 322, K_APDU, 0, "" },
    { "tests/test_xdlms/test_get.py", 329, K_APDU, 0, "" },
    { "tests/test_xdlms/test_get.py", 341, K_APDU, 0, "" },
    { "tests/test_xdlms/test_get.py", 349, K_APDU, 0, "" },
    { "tests/test_xdlms/test_get.py", 362, K_APDU, 0, "" },
    { "tests/test_xdlms/test_get.py", 369, K_APDU, 0, "" },
    { "tests/test_xdlms/test_get.py", 375, K_APDU, 0, "" },
    { "tests/test_xdlms/test_get.py", 381, K_APDU, MS_ENOTSUP,
      "CC is glo-get-response: ciphered, not a plain APDU" },
    { "tests/test_xdlms/test_get.py", 386, K_APDU, MS_EFRAME,
      "C4 03: GET-Response-With-List, octets after the list" },
    { "tests/test_xdlms/test_get.py", 171, K_BLOCK_RAW, 0,
      "raw-data of the GET-Response-With-Datablock of line 169" },
    { "tests/test_xdlms/test_get.py", 208, K_BLOCK_RAW, 0,
      "raw-data of the GET-Response-With-Datablock of line 169" },
    { "tests/test_xdlms/test_get.py", 234, K_BLOCK_RAW, 0,
      "raw-data of the last block (line 231)" },
    { "tests/test_xdlms/test_get.py", 270, K_BLOCK_RAW, 0,
      "raw-data of the GET-Response-With-Datablock of line 169" },
    { "tests/test_xdlms/test_initiate.py", 200, K_APDU, 0, "" },
    { "tests/test_xdlms/test_initiate.py", 8, K_APDU, 0, "" },
    { "tests/test_xdlms/test_initiate.py", 40, K_APDU, 0, "" },
    { "tests/test_xdlms/test_initiate.py", 73, K_APDU, 0, "" },
    { "tests/test_xdlms/test_initiate.py", 107, K_APDU, 0, "" },
    { "tests/test_xdlms/test_initiate.py", 144, K_APDU, 0, "" },
    { "tests/test_xdlms/test_initiate.py", 172, K_APDU, 0, "" },
    { "tests/test_xdlms/test_initiate.py", 208, K_CIPHERED, 0, "" },
    { "tests/test_xdlms/test_initiate.py", 216, K_CIPHERED, 0, "" },
    { "tests/test_xdlms/test_initiate.py", 233, K_PARAM, 0,
      "Green Book key / system title (test_dlms_security)" },
    { "tests/test_xdlms/test_initiate.py", 234, K_PARAM, 0,
      "Green Book key / system title (test_dlms_security)" },
    { "tests/test_xdlms/test_initiate.py", 235, K_PARAM, 0,
      "Green Book key / system title (test_dlms_security)" },
    { "tests/test_xdlms/test_initiate.py", 289, K_PARAM, 0,
      "Green Book key / system title (test_dlms_security)" },
    { "tests/test_xdlms/test_initiate.py", 290, K_PARAM, 0,
      "Green Book key / system title (test_dlms_security)" },
    { "tests/test_xdlms/test_initiate.py", 291, K_PARAM, 0,
      "Green Book key / system title (test_dlms_security)" },
    { "tests/test_xdlms/test_initiate.py", 100, K_PARAM, 0,
      "dedicated key inside the InitiateRequest" },
    { "tests/test_xdlms/test_initiate.py", 134, K_PARAM, 0,
      "dedicated key inside the InitiateRequest" },
    { "tests/test_xdlms/test_initiate.py", 227, K_PARAM, 0,
      "ciphertext || tag of the glo-initiateRequest (test_dlms_security)" },
    { "tests/test_xdlms/test_initiate.py", 245, K_PARAM, 0,
      "ciphertext || tag of the glo-initiateRequest (test_dlms_security)" },
    { "tests/test_xdlms/test_initiate.py", 286, K_PARAM, 0,
      "dedicated key inside the InitiateRequest" },
    { "tests/test_xdlms/test_initiate.py", 310, K_PARAM, 0,
      "ciphertext || tag of the glo-initiateRequest (test_dlms_security)" },
    { "tests/test_xdlms/test_selective_access.py", 29, K_APDU, 0, "" },
    { "tests/test_xdlms/test_selective_access.py", 50, K_APDU, 0, "" },
    { "tests/test_xdlms/test_selective_access.py", 77, K_SELECTOR_DATA, 0, "" },
    { "tests/test_xdlms/test_selective_access.py", 90, K_APDU, 0, "" },
    { "tests/test_xdlms/test_selective_access.py", 94, K_ACCESS_SEL, 0, "" },
    { "tests/test_xdlms/test_selective_access.py", 19, K_AXDR, 0, "" },
    { "tests/test_xdlms/test_set.py", 9, K_APDU, 0, "" },
    { "tests/test_xdlms/test_set.py", 26, K_APDU, MS_EFRAME,
      "C2: EVENT-NOTIFICATION-Request whose value has type tag 0x50" },
    { "tests/test_xdlms/test_set.py", 32, K_APDU, MS_ETRUNC,
      "C1 02: raw-data length 0x18 points past the end" },
    { "tests/test_xdlms/test_set.py", 39, K_APDU, 0, "" },
    { "tests/test_xdlms/test_set.py", 44, K_APDU, MS_EFRAME,
      "C2: EVENT-NOTIFICATION-Request whose value has type tag 0x50" },
    { "tests/test_xdlms/test_set.py", 49, K_APDU, MS_ETRUNC,
      "C1 02: raw-data length 0x18 points past the end" },
    { "tests/test_xdlms/test_set.py", 54, K_APDU, MS_EFRAME,
      "C1 03: empty raw-data, then octets left over" },
    { "tests/test_xdlms/test_set.py", 59, K_APDU, MS_ETRUNC,
      "C1 04: value-list of 8 holds only 7 values" },
    { "tests/test_xdlms/test_set.py", 64, K_APDU, MS_EFRAME,
      "C1 05: empty raw-data, then octets left over" },
    { "tests/test_xdlms/test_set.py", 16, K_AXDR, 0, "" },
};

static const row_t epri_rows[] = {
    { "test/UnitTest-APDU-AARE.cpp", 84, K_ACSE, 0, "" },
    { "test/UnitTest-APDU-AARE.cpp", 102, K_FRAG_AARE, 0, "" },
    { "test/UnitTest-APDU-AARE.cpp", 108, K_FRAG_AARE, 0, "" },
    { "test/UnitTest-APDU-AARE.cpp", 114, K_FRAG_AARE, 0, "" },
    { "test/UnitTest-APDU-AARE.cpp", 118, K_APDU, 0, "" },
    { "test/UnitTest-APDU-AARE.cpp", 138, K_APDU, 0, "" },
    { "test/UnitTest-APDU-AARQ.cpp", 85, K_ACSE, 0, "" },
    { "test/UnitTest-APDU-AARQ.cpp", 105, K_FRAG_AARQ, 0, "" },
    { "test/UnitTest-APDU-AARQ.cpp", 112, K_FRAG_AARQ, 0, "" },
    { "test/UnitTest-APDU-AARQ.cpp", 116, K_FRAG_AARQ, 0, "" },
    { "test/UnitTest-APDU-AARQ.cpp", 122, K_FRAG_AARQ, 0, "" },
    { "test/UnitTest-APDU-AARQ.cpp", 125, K_APDU, 0, "" },
    { "test/UnitTest-APDU-AARQ.cpp", 142, K_APDU, 0, "" },
    { "test/UnitTest-APDU-ACTION-Request.cpp", 100, K_APDU, 0, "" },
    { "test/UnitTest-APDU-ACTION-Request.cpp", 118, K_APDU, 0, "" },
    { "test/UnitTest-APDU-ACTION-Request.cpp", 132, K_OBIS, 0,
      "a bare logical name (instance-id)" },
    { "test/UnitTest-APDU-ACTION-Request.cpp", 135, K_OPT_DATA, 0,
      "method-invocation-parameters: presence octet and Data" },
    { "test/UnitTest-APDU-ACTION-Request.cpp", 141, K_APDU, 0, "" },
    { "test/UnitTest-APDU-ACTION-Request.cpp", 151, K_OBIS, 0,
      "a bare logical name (instance-id)" },
    { "test/UnitTest-APDU-ACTION-Response.cpp", 95, K_APDU, 0, "" },
    { "test/UnitTest-APDU-GET-Request.cpp", 85, K_APDU, 0, "" },
    { "test/UnitTest-APDU-GET-Request.cpp", 99, K_OBIS, 0,
      "a bare logical name (instance-id)" },
    { "test/UnitTest-APDU-GET-Request.cpp", 105, K_APDU, 0, "" },
    { "test/UnitTest-APDU-GET-Response.cpp", 85, K_APDU, 0, "" },
    { "test/UnitTest-APDU-GET-Response.cpp", 99, K_AXDR, 0, "" },
    { "test/UnitTest-APDU-RLRE.cpp", 85, K_ACSE, 0, "" },
    { "test/UnitTest-APDU-RLRE.cpp", 100, K_FRAG_RLRE, 0, "" },
    { "test/UnitTest-APDU-RLRE.cpp", 103, K_APDU, 0, "" },
    { "test/UnitTest-APDU-RLRE.cpp", 115, K_APDU, 0, "" },
    { "test/UnitTest-DLMSVector.cpp", 126, K_SKIP, 0,
      "bytes of EPRI's byte-vector container test, no DLMS encoding" },
    { "test/UnitTest-DLMSVector.cpp", 129, K_SKIP, 0,
      "bytes of EPRI's byte-vector container test, no DLMS encoding" },
    { "test/UnitTest-DLMSVector.cpp", 192, K_SKIP, 0,
      "bytes of EPRI's byte-vector container test, no DLMS encoding" },
    { "test/UnitTest-DLMSVector.cpp", 251, K_SKIP, 0,
      "bytes of EPRI's byte-vector container test, no DLMS encoding" },
    { "test/UnitTest-HDLC-Address.cpp", 99, K_SKIP, 0, "HDLC address: protocols/hdlc" },
    { "test/UnitTest-HDLC-Client.cpp", 90, K_LLC, MS_ENOTSUP,
      "EPRI HDLC test payload after the LLC header: 0x1D is no xDLMS tag" },
    { "test/UnitTest-HDLC-Packet.cpp", 93, K_LLC, MS_ENOTSUP,
      "EPRI HDLC test payload after the LLC header: 0x1D is no xDLMS tag" },
    { "test/UnitTest-HDLC-Packet.cpp", 94, K_SKIP, 0, "HDLC frame: protocols/hdlc" },
    { "test/UnitTest-HDLC-Packet.cpp", 95, K_SKIP, 0, "HDLC frame: protocols/hdlc" },
    { "test/UnitTest-HDLC-Packet.cpp", 208, K_SKIP, 0,
      "HDLC identify response: protocols/hdlc" },
    { "test/UnitTest-HDLC-Packet.cpp", 277, K_SKIP, 0, "HDLC frame: protocols/hdlc" },
    { "test/UnitTest-Interfaces-COSEMData.cpp", 224, K_AXDR, 0, "" },
    { "test/UnitTest-Interfaces-COSEMData.cpp", 235, K_AXDR, 0, "" },
    { "test/UnitTest-Interfaces-COSEMData.cpp", 247, K_AXDR, 0, "" },
    { "test/UnitTest-Interfaces-COSEMData.cpp", 259, K_AXDR, 0, "" },
    { "test/UnitTest-Interfaces-COSEMData.cpp", 314, K_LONG64, 0,
      "long64 contents; the tag (COSEMDataType::LONG64) was a symbol in the source" },
    { "test/UnitTest-Interfaces-COSEMData.cpp", 325, K_LONG64U, 0,
      "long64-unsigned contents; the tag was a symbol in the source" },
};

#define ARENA_SIZE (256 * 1024)
static uint64_t arena_mem[ARENA_SIZE / 8];
static uint8_t enc[8192];

/* raw-data of every decoded GET-Response-With-Datablock, for K_BLOCK_RAW. */
#define MAX_RAWS 64
static struct {
    const char *file;
    uint8_t data[2048];
    size_t len;
} raws[MAX_RAWS];
static size_t n_raws;

typedef struct stats {
    unsigned total, roundtrip, refused, params, skipped;
} stats_t;

static dlms_arena_t fresh_arena(void)
{
    dlms_arena_t a;
    dlms_arena_init(&a, arena_mem, sizeof arena_mem);
    return a;
}

/* Compare a re-encoding with the input; prints both on a mismatch. */
static int same(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    if (alen == blen && memcmp(a, b, alen) == 0)
        return 1;
    t_dump("input", a, alen);
    t_dump("re-encoded", b, blen);
    return 0;
}

static int check_apdu(const row_t *r, const uint8_t *b, size_t n)
{
    dlms_arena_t a = fresh_arena();
    dlms_apdu_t apdu;
    int rc = dlms_apdu_decode(b, n, &a, &apdu);
    if (rc < 0)
        return rc;
    ms_wr_t w;
    ms_wr_init(&w, enc, sizeof enc);
    assert_int_equal(dlms_apdu_encode(&w, &apdu), 0);
    assert_true(same(b, n, w.buf, w.len));
    if (apdu.tag == DLMS_TAG_GET_RESPONSE &&
        apdu.type == DLMS_GET_RESPONSE_WITH_DATABLOCK && apdu.u.get_resp.block.is_raw) {
        assert_true(n_raws < MAX_RAWS);
        assert_true(apdu.u.get_resp.block.raw.len <= sizeof raws[0].data);
        raws[n_raws].file = r->file;
        raws[n_raws].len = apdu.u.get_resp.block.raw.len;
        memcpy(raws[n_raws].data, apdu.u.get_resp.block.raw.p, raws[n_raws].len);
        n_raws++;
    }
    return 0;
}

static int check_acse(const uint8_t *b, size_t n)
{
    acse_apdu_t ac;
    int rc = acse_decode(b, n, &ac);
    if (rc < 0)
        return rc;
    ms_wr_t w;
    ms_wr_init(&w, enc, sizeof enc);
    assert_int_equal(acse_encode(&w, &ac), 0);
    assert_true(same(b, n, w.buf, w.len));
    return 0;
}

static int check_frag(uint8_t type, const uint8_t *b, size_t n)
{
    uint8_t wrapped[256];
    assert_true(n < 128);
    wrapped[0] = type;
    wrapped[1] = (uint8_t)n;
    memcpy(wrapped + 2, b, n);
    return check_acse(wrapped, n + 2);
}

static int check_axdr(const uint8_t *b, size_t n)
{
    dlms_arena_t a = fresh_arena();
    dlms_data_t d;
    int rc = axdr_decode(b, n, &a, &d);
    if (rc < 0)
        return rc;
    ms_wr_t w;
    ms_wr_init(&w, enc, sizeof enc);
    assert_int_equal(axdr_encode_data(&w, &d), 0);
    assert_true(same(b, n, w.buf, w.len));
    return 0;
}

static int check_ciphered(const uint8_t *b, size_t n)
{
    dlms_ciphered_t c;
    int rc = dlms_ciphered_decode(b, n, &c);
    if (rc < 0)
        return rc;
    ms_wr_t w;
    ms_wr_init(&w, enc, sizeof enc);
    assert_int_equal(dlms_ciphered_encode(&w, &c), 0);
    assert_true(same(b, n, w.buf, w.len));
    return 0;
}

static int check_access_sel(const uint8_t *b, size_t n)
{
    dlms_arena_t a = fresh_arena();
    dlms_access_sel_t s;
    ms_rd_t r;
    ms_rd_init(&r, b, n);
    int rc = dlms_access_sel_read(&r, &a, &s);
    if (rc < 0)
        return rc;
    assert_true(s.present);
    assert_int_equal(ms_rd_left(&r), 0);
    ms_wr_t w;
    ms_wr_init(&w, enc, sizeof enc);
    assert_int_equal(dlms_access_sel_write(&w, &s), 0);
    assert_true(same(b, n, w.buf, w.len));
    return 0;
}

static int run_row(const row_t *r, const uint8_t *b, size_t n, stats_t *st)
{
    uint8_t tmp[4096];
    switch (r->kind) {
    case K_PARAM:
        st->params++;
        return 0;
    case K_SKIP:
        st->skipped++;
        return 0;
    case K_AXDR:
        return check_axdr(b, n);
    case K_APDU:
        return check_apdu(r, b, n);
    case K_LLC:
        /* IEC 62056-46 LLC: destination LSAP E6, source LSAP E6 (command) or E7
         * (response), LLC quality 00. */
        assert_true(n > 3 && b[0] == 0xE6 && (b[1] == 0xE6 || b[1] == 0xE7) && b[2] == 0);
        if (b[3] >= DLMS_TAG_AARQ && b[3] <= DLMS_TAG_RLRE)
            return check_acse(b + 3, n - 3);
        return check_apdu(r, b + 3, n - 3);
    case K_ACSE:
        return check_acse(b, n);
    case K_FRAG_AARQ:
        return check_frag(DLMS_TAG_AARQ, b, n);
    case K_FRAG_AARE:
        return check_frag(DLMS_TAG_AARE, b, n);
    case K_FRAG_RLRE:
        return check_frag(DLMS_TAG_RLRE, b, n);
    case K_CIPHERED:
        return check_ciphered(b, n);
    case K_WRAPPER: {
        wrap_frame_t f;
        int rc = wrap_decode(b, n, &f);
        if (rc < 0)
            return rc;
        assert_int_equal(f.version, 1);
        assert_int_equal(f.length, n - WRAP_HEADER_LEN);
        ms_wr_t w;
        ms_wr_init(&w, enc, sizeof enc);
        assert_int_equal(wrap_encode(&w, f.src_wport, f.dst_wport, f.apdu, f.length), 0);
        assert_true(same(b, n, w.buf, w.len));
        return check_ciphered(f.apdu, f.length);
    }
    case K_WRAPPER_HDR: {
        wrap_decoder_t d;
        wrap_frame_t f;
        size_t used;
        wrap_decoder_init(&d, tmp, sizeof tmp);
        assert_int_equal(n, WRAP_HEADER_LEN);
        int rc = wrap_decoder_feed(&d, b, n, &used, &f);
        assert_int_equal(used, n);
        assert_true(wrap_decoder_busy(&d)); /* waits for the announced APDU */
        return rc;
    }
    case K_DATETIME: {
        dlms_datetime_t dt;
        uint8_t back[12];
        int64_t t;
        assert_int_equal(n, 12);
        dlms_datetime_unpack(b, &dt);
        dlms_datetime_pack(&dt, back);
        assert_memory_equal(b, back, 12);
        int rc = dlms_datetime_to_utc(b, &t, NULL);
        assert_true(rc == 0 || rc == 1);
        return 0;
    }
    case K_ACCESS_SEL:
        return check_access_sel(b, n);
    case K_SELECTOR_DATA:
        assert_true(n + 1 <= sizeof tmp);
        tmp[0] = 1; /* presence octet of access-selection */
        memcpy(tmp + 1, b, n);
        return check_access_sel(tmp, n + 1);
    case K_GET_DATA_RESULT:
        assert_true(n + 3 <= sizeof tmp);
        tmp[0] = DLMS_TAG_GET_RESPONSE;
        tmp[1] = DLMS_GET_RESPONSE_NORMAL;
        tmp[2] = 0x00;
        memcpy(tmp + 3, b, n);
        return check_apdu(r, tmp, n + 3);
    case K_BLOCK_RAW:
        for (size_t i = 0; i < n_raws; i++)
            if (strcmp(raws[i].file, r->file) == 0 && raws[i].len == n &&
                memcmp(raws[i].data, b, n) == 0)
                return 0;
        fail_msg("%s:%d: no decoded datablock has this raw-data", r->file, r->line);
        return MS_EINVAL;
    case K_OBIS:
        assert_int_equal(n, 6);
        return 0;
    case K_OPT_DATA: {
        assert_true(n > 1 && b[0] == 1);
        return check_axdr(b + 1, n - 1);
    }
    case K_LONG64:
    case K_LONG64U: {
        dlms_arena_t a = fresh_arena();
        dlms_data_t d;
        assert_int_equal(n, 8);
        tmp[0] = r->kind == K_LONG64 ? DLMS_LONG64 : DLMS_LONG64_UNSIGNED;
        memcpy(tmp + 1, b, 8);
        int rc = axdr_decode(tmp, 9, &a, &d);
        if (rc < 0)
            return rc;
        /* The values the EPRI test appends (UnitTest-Interfaces-COSEMData.cpp). */
        if (r->kind == K_LONG64)
            assert_true(d.v.i == -38373878373383LL);
        else
            assert_true(d.v.u == 0x494849474342ULL);
        return check_axdr(tmp, 9);
    }
    }
    return MS_EINVAL;
}

/* Run every line of a JSONL file through its row; every line must have exactly one row
 * and every row exactly one line, so a changed data file fails here. Rows of kind
 * K_BLOCK_RAW run after the others (they need the decoded blocks). */
static void run_file(const char *rel, const char *file_key, const row_t *rows,
                     size_t nrows, stats_t *st)
{
    size_t len;
    char *text = t_read_file(t_dlms_path(rel), &len);
    unsigned *used = calloc(nrows, sizeof *used);
    uint8_t *bytes = malloc(1 << 16);
    assert_non_null(used);
    assert_non_null(bytes);
    for (int pass = 0; pass < 2; pass++) {
        char *save = NULL;
        char *copy = strdup(text);
        for (char *line = strtok_r(copy, "\n", &save); line;
             line = strtok_r(NULL, "\n", &save)) {
            json_error_t jerr;
            json_t *o = json_loads(line, 0, &jerr);
            if (!o)
                fail_msg("%s: bad JSON line: %s", rel, jerr.text);
            const char *file = json_string_value(json_object_get(o, file_key));
            int ln = (int)json_integer_value(json_object_get(o, "line"));
            const char *hex = json_string_value(json_object_get(o, "hex"));
            assert_non_null(file);
            assert_non_null(hex);
            size_t i;
            for (i = 0; i < nrows; i++)
                if (rows[i].line == ln && strcmp(rows[i].file, file) == 0)
                    break;
            if (i == nrows)
                fail_msg("%s: no row for %s:%d", rel, file, ln);
            const row_t *r = &rows[i];
            if ((pass == 0) == (r->kind == K_BLOCK_RAW)) {
                json_decref(o);
                continue;
            }
            used[i]++;
            size_t n = t_hex(hex, bytes, 1 << 16);
            st->total++;
            int rc = run_row(r, bytes, n, st);
            if (rc != r->expect)
                fail_msg("%s:%d (%s): got %s, expected %s", file, ln, r->why,
                         ms_err_name(rc), ms_err_name(r->expect));
            if (r->kind != K_PARAM && r->kind != K_SKIP) {
                if (rc == 0)
                    st->roundtrip++;
                else
                    st->refused++;
            }
            json_decref(o);
        }
        free(copy);
    }
    for (size_t i = 0; i < nrows; i++)
        if (used[i] != 1)
            fail_msg("%s: row %s:%d matched %u lines", rel, rows[i].file, rows[i].line,
                     used[i]);
    free(used);
    free(bytes);
    free(text);
}

static void test_pwitab(void **state)
{
    stats_t st = { 0 };
    n_raws = 0;
    run_file("pwitab_2021/hex_vectors.jsonl", "file", pwitab_rows,
             sizeof pwitab_rows / sizeof *pwitab_rows, &st);
    printf(
        "pwitab_2021/hex_vectors.jsonl: %u vectors: %u decoded and re-encoded byte for "
        "byte, %u refused as expected, %u parameters of other tests, %u skipped\n",
        st.total, st.roundtrip, st.refused, st.params, st.skipped);
    assert_int_equal(st.total, 228);
}

static void test_epri(void **state)
{
    stats_t st = { 0 };
    n_raws = 0;
    run_file("epri_dlms_cosem_vectors.jsonl", "path", epri_rows,
             sizeof epri_rows / sizeof *epri_rows, &st);
    printf(
        "epri_dlms_cosem_vectors.jsonl: %u vectors: %u decoded and re-encoded byte for "
        "byte, %u refused as expected, %u skipped\n",
        st.total, st.roundtrip, st.refused, st.skipped);
    assert_int_equal(st.total, 46);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pwitab),
        cmocka_unit_test(test_epri),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
