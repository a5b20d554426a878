// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// pth.h: reads PyTorch checkpoints in the zip format (torch >= 1.6, the default of torch.save).
//
// Archive layout: `<prefix>/data.pkl` (the pickled object, see pickle.h), `<prefix>/data/<key>` (the raw
// little-endian bytes of each storage), `<prefix>/version`, and in newer torch `<prefix>/byteorder`.
// The prefix is any single folder name (torch uses the file's stem, or "archive").
//
// Accepted layouts of the pickled object (first match wins):
//   {'params': state_dict, ...}        BasicSR; `params` is preferred over `params_ema` because BasicSR's own
//   {'params_ema': state_dict, ...}    test scripts load `params` by default; `params_ema` is used only
//                                      when `params` is absent.
//   {'state_dict': state_dict, ...}    MMagic / mmediting (keys `generator.*`; `meta` etc. are ignored)
//   state_dict                         a bare state_dict
// Key handling: when any key starts with `generator.`, only those keys are kept (MMagic also stores
// e.g. `step_counter` or `data_preprocessor.*`) and the prefix is removed; a `module.` prefix
// (DataParallel) is removed; MMagic's BasicVSR names are translated to BasicSR's (sv_pth_canonical_name).
// Entries that are not float tensors (ints, strings, integer tensors...) are skipped. float16, bfloat16
// and float64 tensors are converted to float32; views honour storage offset, size and stride.
// The float32 bytes all loaded tensors take together may not exceed 4x the file size + 256 MiB (many
// stride-0 views of a tiny storage are refused).
// The architecture is not checked here (the model builder does that).
//
// Legacy checkpoints (torch < 1.6 or _use_new_zipfile_serialization=False: a bare pickle stream, or the
// even older tar format) are refused with a message saying how to convert them.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/tensor_set.h"

// out must be empty (zero-initialised); on failure it is left empty.
int sv_pth_read(const char *path, sv_tensor_set *out, sv_err *e);

// True when the first n bytes of a file look like a legacy (non-zip) torch checkpoint: a raw pickle
// stream (0x80, protocol <= 5) or a tar archive ("ustar" at byte 257; needs n >= 262).
int sv_pth_is_legacy(const uint8_t *head, size_t n);

// Translates a key (prefixes already removed) to its BasicSR name; names that need no translation are
// copied. MMagic -> BasicSR:
//   {backward,forward}_resblocks.X                       -> {backward,forward}_trunk.X
//   upsample{1,2}.upsample_conv.X                        -> upconv{1,2}.X
//   spynet.basic_module.L.basic_module.J.conv.X          -> spynet.basic_module.L.basic_module.(2J).X
// Returns a malloc'd string, or NULL when out of memory.
char *sv_pth_canonical_name(const char *name);
