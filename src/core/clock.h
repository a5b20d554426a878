// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// clock.h: a monotonic clock for timings (progress rates, training logs, per-stage profiles).
#pragma once

double sv_now(void);  // seconds since an arbitrary start, monotonic
