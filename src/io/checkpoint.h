// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// checkpoint.h: opens any supported checkpoint by sniffing its first bytes:
//   "PK\x03\x04" (or an empty ZIP's "PK\x05\x06") -> PyTorch zip checkpoint (pth.h)
//   a raw pickle stream or a tar archive            -> legacy PyTorch checkpoint: refused, with the
//                                                     command that converts it (pth.h)
//   8-byte length followed by '{'                   -> safetensors (safetensors.h)
//   anything else                                   -> "not a PyTorch checkpoint or safetensors file"
#pragma once
#include "core/error.h"
#include "core/tensor_set.h"

// out must be empty (zero-initialised); on failure it is left empty.
int sv_checkpoint_read(const char *path, sv_tensor_set *out, sv_err *e);
