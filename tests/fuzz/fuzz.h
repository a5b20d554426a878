// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// fuzz.h: what the fuzz targets share. Each fuzz_*.c defines LLVMFuzzerTestOneInput; it is built two ways:
//   make FUZZ=1 fuzz   -> build-fuzz/fuzz/fuzz_X: libFuzzer + ASan + UBSan (clang), run by tests/fuzz/run.sh
//   make tests         -> build/tests/fuzz/fuzz_X: the same function under driver.c's main, which feeds it
//                         every file of the given folders (the seed corpus and the crash regressions), so
//                         the normal and sanitizer test runs replay every input a fuzzer ever crashed on.
// Most readers take a path (that is what users give them), so the input is written to a file first.
#pragma once
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

// Writes data to a per-process scratch file with the given extension (".pth", ".mp4", ...) and returns
// its path (the same path on every call with the same extension; removed at exit).
const char *fuzz_file(const uint8_t *data, size_t size, const char *ext);

// With FUZZ_VERBOSE=1 in the environment, prints why an input was rejected (to see what seeds reach).
#include "core/error.h"
void fuzz_note(const char *target, int rc, const sv_err *e);
