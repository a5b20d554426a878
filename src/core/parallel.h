// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// parallel.h: when an elementwise loop is worth OpenMP threads.
//
// Starting a parallel region costs a few microseconds; below about 64k elements of simple work one thread
// finishes first. Every `#pragma omp parallel for if (...)` over elements compares against this one number.
#pragma once

enum { SV_OMP_MIN_WORK = 65536 };
