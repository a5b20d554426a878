// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// vec_lanes_end.h: closes an instantiation opened by vec_lanes.h (so that the next one defines its words
// afresh). No include guard.
#undef VW
#undef SUFFIX
#undef vf
#undef vi
#undef SPLAT
#undef FMA
#undef PERMUTE
