// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// warn.h: the library's warnings (something worked, but not as asked: an encoder stood in for a missing
// one, a fast convolution fell back to the reference) go to one handler that the program installs; the
// library never prints them itself. With no handler installed a warning is dropped.
//
// The handler is process-wide: install it once, before any work starts (the CLI's main does). It may be
// called from any thread that does library work.
#pragma once

// fn receives ud and the formatted one-line message (no trailing newline); NULL drops warnings.
void sv_set_warning_handler(void (*fn)(void *ud, const char *msg), void *ud);
// Formats a warning (one line that names the file or layer concerned) and passes it to the handler.
void sv_warnf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
