// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// error.c: the API's version, status names, per-thread error messages and log callback.
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "api/api_internal.h"
#include "core/warn.h"

static _Thread_local char last_error[SV_ERRLEN];

const char *slimvsr_version(void) { return SLIMVSR_VERSION_STRING; }

const char *slimvsr_last_error(void) { return last_error; }

const char *slimvsr_status_name(int status) {
    switch (status) {
    case SLIMVSR_OK: return "SLIMVSR_OK";
    case SLIMVSR_AGAIN: return "SLIMVSR_AGAIN";
    case SLIMVSR_END: return "SLIMVSR_END";
    case SLIMVSR_ERR_ARGUMENT: return "SLIMVSR_ERR_ARGUMENT";
    case SLIMVSR_ERR_IO: return "SLIMVSR_ERR_IO";
    case SLIMVSR_ERR_FORMAT: return "SLIMVSR_ERR_FORMAT";
    case SLIMVSR_ERR_NO_MEMORY: return "SLIMVSR_ERR_NO_MEMORY";
    case SLIMVSR_ERR_STATE: return "SLIMVSR_ERR_STATE";
    case SLIMVSR_ERR_INTERNAL: return "SLIMVSR_ERR_INTERNAL";
    case SLIMVSR_ERR_RUN: return "SLIMVSR_ERR_RUN";
    default: return "unknown status";
    }
}

int api_fail(int status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return status;
}

int api_fail_err(int status, const sv_err *e) {
    snprintf(last_error, sizeof last_error, "%s", e->msg);
    return strstr(e->msg, "out of memory") ? SLIMVSR_ERR_NO_MEMORY : status;
}

static slimvsr_log_fn log_fn;
static void *log_user;

static void forward_warning(void *ud, const char *msg) {
    if (log_fn) log_fn(log_user, SLIMVSR_LOG_WARN, msg);
}

void slimvsr_set_log_callback(slimvsr_log_fn fn, void *user) {
    log_fn = fn, log_user = user;
    sv_set_warning_handler(fn ? forward_warning : NULL, NULL);
}

void api_log_info(const char *fmt, ...) {
    if (!log_fn) return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    log_fn(log_user, SLIMVSR_LOG_INFO, msg);
}
