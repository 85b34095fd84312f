#!/bin/sh
# make_server_corpus.sh — (re)generate the seed corpus of fuzz_dlms_server.
# SPDX-License-Identifier: MIT
#
# Record format (see fuzz_dlms_server.c): one configuration octet, then records
# op(1) sap(1) length(2) bytes. op 5 = the harness's client builds the AARQ, 6 = HLS pass
# 3, 7 = link reset, 1..4 = the harness ciphers the bytes (glo, ded, general-glo,
# general-ded), op | 0x08 = small answer buffer. sap: 0 = 16 (lowest), 1 = 17 (LLS),
# 2 = 18 (HLS), 3 = 32 (LLS, encrypted), 4 = 48 (HLS, encrypted), 5 = 99 (unknown).
# Every APDU is written out in hex by hand from the Green Book ASN.1; nothing is copied
# from elsewhere. Needs xxd.
set -eu
cd "$(dirname "$0")"
D=corpus_dlms_server
mkdir -p "$D"

# rec OP SAP HEX: one record, length computed
rec() {
    h=$(printf '%s' "$3" | tr -d ' \n')
    printf '%02x%02x%04x%s' "$1" "$2" $((${#h} / 2)) "$h"
}
# seed NAME CONF RECORDS...
seed() {
    n=$1
    shift
    printf '%s' "$*" | tr -d ' \n' | xxd -r -p > "$D/$n"
}

GET_NAME="c001c100010000600100ff0200"
GET_PROF="c001c100070100630100ff0200"
GET_LIST="c003c102 000100006001 00ff0200 000301000108 00ff0200"
SET_NAME="c101c100010000600100ff0200 09 03 616263"
ACT_RESET="c301c1 00030100010800ff01 01 0f00"
RLRQ="6203800100"
SET_FIRST="c102c1 000100006001 00ff0200 00 00000001 03 090361"
SET_NEXT="c103c1 01 00000002 02 6263"

seed public_get 00 "$(rec 5 0 '')" "$(rec 0 0 "$GET_NAME")" "$(rec 0 0 "$GET_PROF")" \
    "$(rec 0 0 c002c100000001)" "$(rec 0 0 c002c100000002)" "$(rec 0 0 c002c100000009)" \
    "$(rec 0 0 "$GET_LIST")" "$(rec 0 0 "$SET_NAME")" "$(rec 0 0 "$RLRQ")" \
    "$(rec 0 0 "$GET_NAME")"
seed lls_services 00 "$(rec 5 1 '')" "$(rec 0 1 "$SET_NAME")" "$(rec 0 1 "$GET_LIST")" \
    "$(rec 0 1 "$ACT_RESET")" "$(rec 0 1 "$SET_FIRST")" "$(rec 0 1 "$SET_NEXT")" \
    "$(rec 0 1 'c304c1 000100800000 00ff01 00 00000001 02 0903')" \
    "$(rec 0 1 'c306c1 01 00000002 03 616263')" "$(rec 0 1 c302c100000001)" \
    "$(rec 0 1 "$RLRQ")"
seed hls 00 "$(rec 5 2 '')" "$(rec 0 2 "$GET_NAME")" "$(rec 6 2 '')" \
    "$(rec 0 2 "$GET_NAME")" "$(rec 0 2 "$RLRQ")"
seed hls_wrong 00 "$(rec 5 2 '')" \
    "$(rec 0 2 'c301c1000f0000280000ff010109111000000001 000000000000000000000000')" \
    "$(rec 0 2 "$GET_NAME")"
seed enc_lls 00 "$(rec 5 3 '')" "$(rec 1 3 "$GET_NAME")" "$(rec 2 3 "$GET_NAME")" \
    "$(rec 3 3 "$SET_NAME")" "$(rec 4 3 "$ACT_RESET")" "$(rec 0 3 "$GET_NAME")" \
    "$(rec 1 3 "$GET_PROF")" "$(rec 1 3 c002c100000001)" "$(rec 1 3 "$GET_LIST")" \
    "$(rec 0 3 "$RLRQ")"
seed enc_hls 00 "$(rec 5 4 '')" "$(rec 6 4 '')" "$(rec 1 4 "$GET_NAME")" \
    "$(rec 2 4 "$GET_PROF")" "$(rec 2 4 c002c100000001)" "$(rec 7 0 '')" \
    "$(rec 1 4 "$GET_NAME")"
seed no_assoc 00 "$(rec 0 0 "$GET_NAME")" "$(rec 1 3 "$GET_NAME")" \
    "$(rec 0 0 6005a1030601)" "$(rec 5 5 '')" "$(rec 0 0 ff00)" "$(rec 0 0 "$RLRQ")"
seed small_out 00 "$(rec 5 0 '')" "$(rec 0x18 0 "$GET_NAME")" "$(rec 0x08 0 "$GET_PROF")" \
    "$(rec 0x28 0 "$GET_PROF")" "$(rec 0x08 0 ff00)"
seed small_limits 0b "$(rec 5 1 '')" "$(rec 0 1 "$GET_PROF")" "$(rec 0 1 "$SET_NAME")" \
    "$(rec 0 1 "$SET_FIRST")" "$(rec 0 1 "$SET_NEXT")"
# found by fuzzing: a ciphered answer room too small for even the first block
seed tiny_cipher 00 "$(rec 5 4 '')" "$(rec 6 4 '')" "$(rec 0x2a 4 "$GET_NAME")" \
    "$(rec 0x1a 3 "$GET_PROF")"
seed no_ic 10 "$(rec 5 3 '')" "$(rec 5 0 '')" "$(rec 0 0 "$GET_NAME")" "$(rec 5 2 '')"
