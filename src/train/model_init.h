// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// model_init.h: a fresh BasicVSR to train from scratch, initialised as PyTorch/BasicSR initialise it:
// every conv U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases (PyTorch's default), except the
// residual blocks' convs: Kaiming normal (std sqrt(2/fan_in)) scaled by 0.1 with zero bias
// (BasicSR's default_init_weights(scale=0.1), which keeps a deep residual trunk near identity at start).
#pragma once
#include <stdint.h>

#include "core/error.h"
#include "model/basicvsr.h"

// dir: SV_DIR_BI (BasicVSR) or SV_DIR_UNI (the forward branch alone; fusion C -> C), kept in the metadata.
int sv_model_init_random(sv_model *m, int num_feat, int num_block, float act_slope, sv_direction dir, uint64_t seed,
                         sv_err *e);
