// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// api_internal.h: what the files of src/api (the public C API of include/slimvsr.h) share: the handles'
// contents and the one way a call fails (a status code plus this thread's message).
#pragma once
#include "core/error.h"
#include "model/basicvsr.h"
#include "slimvsr.h"

struct slimvsr_model {
    sv_model m;
};

// Sets this thread's message (slimvsr_last_error) and returns status (< 0).
int api_fail(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
// The same with a library error's message; status SLIMVSR_ERR_NO_MEMORY when the message says so.
int api_fail_err(int status, const sv_err *e);
// Passes an INFO line to the log callback (slimvsr_set_log_callback), if one is set.
void api_log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
