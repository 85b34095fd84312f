/*
** ms_err.h — the one error table of metersim (codes, names, messages).
** SPDX-License-Identifier: MIT
**
** Convention (after libuv, docs/src/errors.rst): success is >= 0 (often a count),
** failure is a negative ms_err. A negative answer from a peer (IEC 62056-21 NAK, a DLMS
** data-access-result, a C12.18 <nok>) is data, not an error: codecs decode it and
** return success. errno is converted to ms_err only at the OS boundary (phy, sim I/O).
*/
#ifndef MS_ERR_H
#define MS_ERR_H

/* X(name, code, message) */
#define MS_ERR_MAP(X)                                         \
    X(OK, 0, "success")                                       \
    X(EINVAL, -1, "invalid argument")                         \
    X(ENOMEM, -2, "out of memory")                            \
    X(ENOSPC, -3, "output buffer too small")                  \
    X(ETRUNC, -4, "input ends before the item is complete")   \
    X(EFRAME, -5, "malformed frame or message")               \
    X(EBADBCC, -6, "block check character (BCC) mismatch")    \
    X(EBADFCS, -7, "frame check sequence (CRC) mismatch")     \
    X(ETOOBIG, -8, "message longer than the allowed maximum") \
    X(ERANGE, -9, "value out of range")                       \
    X(ENOTSUP, -10, "operation not supported")                \
    X(ETIMEDOUT, -11, "timed out")                            \
    X(EIO, -12, "input/output error")                         \
    X(ENOENT, -13, "no such file, object or meter")           \
    X(EPARSE, -14, "syntax error")                            \
    X(ESTATE, -15, "not allowed in the current state")        \
    X(EACCES, -16, "access denied")                           \
    X(EAGAIN, -17, "resource temporarily unavailable")        \
    X(EADDRINUSE, -18, "address already in use")              \
    X(ECLOSED, -19, "connection closed by the peer")          \
    X(EPARITY, -20, "parity error")                           \
    X(EEXIST, -21, "already exists")                          \
    X(EBUSY, -22, "busy")                                     \
    X(EPROTO, -23, "protocol violation by the peer")          \
    X(ESYS, -24, "operating system error")                    \
    X(EBADHCS, -25, "header check sequence (HCS) mismatch")   \
    X(EREPLAY, -26, "replayed or stale invocation counter")

typedef enum ms_err {
#define MS__ERR_ENUM(name, code, msg) MS_##name = (code),
    MS_ERR_MAP(MS__ERR_ENUM)
#undef MS__ERR_ENUM
} ms_err;

/**
 * Message of an error code, e.g. "parity error".
 * @param[in] err  an ms_err value (or any int)
 * @return a static string; "unknown error" for codes not in the table. Never NULL.
 */
const char *ms_strerror(int err);

/**
 * Name of an error code, e.g. "MS_EPARITY".
 * @return a static string; "MS_E?" for codes not in the table. Never NULL.
 */
const char *ms_err_name(int err);

/**
 * Convert a POSIX errno value to the nearest ms_err (ENOENT -> MS_ENOENT, EAGAIN ->
 * MS_EAGAIN, ...). For use at the OS boundary only.
 * @return a negative ms_err; MS_ESYS for errno values without a closer match.
 */
int ms_err_from_errno(int errnum);

#endif
