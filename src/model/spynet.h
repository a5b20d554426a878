// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// spynet.h: the SPyNet pieces shared by inference (spynet.c, through the runner) and training
// (train/spynet_train.c): the image pyramid and the coarse-to-fine flow upsampling with its backward.
#pragma once
#include "model/basicvsr.h"

// SPyNet's working size for h x w frames (each rounded up to SV_SPY_ALIGN: sv_spy_aligned) and its pyramid:
// level l is lh[l] x lw[l] = the working size halved SV_SPY_LEVELS-1-l times (level 0 = coarsest).
void sv_spynet_sizes(int h, int w, int *sh, int *sw, int *lh, int *lw);

// img [3,h,w] CHW in [0,1] -> pyr[SV_SPY_LEVELS-1] = normalise(resize(img, sh x sw)), then pyr[l] =
// avgpool2(pyr[l+1]); level l has size lh[l] x lw[l] (level 0 = coarsest). Plain CHW throughout.
void sv_spynet_pyramid(const sv_model *m, const float *img, int h, int w, int sh, int sw, const int *lh,
                       const int *lw, float *const *pyr);

// out = 2 * bilinear_x2(in, align_corners=True), replicate-padded by one row/column where the pooled level
// is one larger than twice the coarser one. in [2,ih,iw] -> out [2,oh,ow], plain CHW.
void sv_spynet_upsample_flow(float *out, const float *in, int ih, int iw, int oh, int ow);
// Its backward: din [2,ih,iw] += upsample^T(dout [2,oh,ow]).
void sv_spynet_upsample_flow_backward(float *din, const float *dout, int ih, int iw, int oh, int ow);
