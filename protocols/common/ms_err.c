/*
** ms_err.c — messages and names of the error table.
** SPDX-License-Identifier: MIT
*/
#include "ms_err.h"

#include <errno.h>

const char *ms_strerror(int err)
{
    switch (err) {
#define MS__ERR_MSG(name, code, msg) \
    case code:                       \
        return msg;
        MS_ERR_MAP(MS__ERR_MSG)
#undef MS__ERR_MSG
    }
    return "unknown error";
}

const char *ms_err_name(int err)
{
    switch (err) {
#define MS__ERR_NAME(name, code, msg) \
    case code:                        \
        return "MS_" #name;
        MS_ERR_MAP(MS__ERR_NAME)
#undef MS__ERR_NAME
    }
    return "MS_E?";
}

int ms_err_from_errno(int errnum)
{
    switch (errnum) {
    case 0:
        return MS_OK;
    case EINVAL:
        return MS_EINVAL;
    case ENOMEM:
        return MS_ENOMEM;
    case ENOSPC:
        return MS_ENOSPC;
    case ERANGE:
        return MS_ERANGE;
    case ENOTSUP:
        return MS_ENOTSUP;
    case ETIMEDOUT:
        return MS_ETIMEDOUT;
    case EIO:
        return MS_EIO;
    case ENOENT:
        return MS_ENOENT;
    case EACCES:
    case EPERM:
        return MS_EACCES;
    case EAGAIN:
        return MS_EAGAIN;
    case EADDRINUSE:
        return MS_EADDRINUSE;
    case EPIPE:
    case ECONNRESET:
    case ECONNREFUSED:
        return MS_ECLOSED;
    case EADDRNOTAVAIL:
        return MS_EINVAL;
    case EEXIST:
        return MS_EEXIST;
    case EBUSY:
        return MS_EBUSY;
    default:
        return MS_ESYS;
    }
}
