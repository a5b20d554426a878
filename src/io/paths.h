// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// paths.h: the rules that keep an output from destroying an input. Every command that writes checks its
// outputs against its inputs here before it creates anything:
//   - an output is never an input (the same path, or another name of the same file: a link, "./x", "a/../x");
//   - an output folder never is, and never holds, an input (publishing the folder replaces it whole);
//   - an existing output is replaced only when the user says so (-y/--overwrite), and a folder only when
//     slimvsr wrote it (see io/atomic_file.h).
// "-" is no path but standard input or output (sv_path_is_stream): it covers nothing and nothing covers it.
#pragma once
#include "core/error.h"

// 1 when writing `out` (a file, or a folder replaced whole) could overwrite or delete the existing path
// `in`: out and in are the same file or folder (compared by device and inode, after resolving links), or
// in lies inside the folder out. 0 otherwise, when in does not exist, and when either is "-".
int sv_path_covers(const char *out, const char *in);

// Fails when sv_path_covers(out, inputs[i]) for any i, naming both: "OUT: is the input IN (or holds it);
// choose another output". NULL entries are skipped.
int sv_output_check_inputs(const char *out, const char *const *inputs, int n, sv_err *e);

// 1 when path is "-": standard input as an input, standard output as an output.
int sv_path_is_stream(const char *path);
