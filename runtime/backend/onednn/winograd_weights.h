// Constant Conv weights into oneDNN's Winograd weights layouts, written by
// the constant reorder (ReorderConstantInto, reorder.h) instead of oneDNN's
// reorder. oneDNN 2.6's wino_reorder first transforms every (input,
// output) channel pair into a scratch tensor [alpha][alpha][IC][OC] -- a
// store per 64-byte row to a different page --
// and then copies that into the blocked layout: ResNet-50's two 512x512x3x3
// weights took 82 ms each at batch 1 (F(2,3) layout) and 187 ms each at
// batch 8 (F(4,3) layout, 2.3x the bytes), most of the plan's compile time.
// Here each 16-output-channel block is transformed in registers and stored
// straight into its place in the final layout.
//
// For weights w[oc][ic][3][3] and oneDNN's transform matrix G (alpha x 3,
// alpha = 4 for F(2,3), 6 for F(4,3)), element (u, v) of the transformed
// kernel is sum_k G[u][k] * (sum_l w[oc][ic][k][l] * G[v][l]), summed in
// that order (as oneDNN does, so the results are bit for bit its own).
// Channels padded up to the layout's blocks are zero.
#pragma once

#include "oneapi/dnnl/dnnl.hpp"

namespace bnfold::onednn {

// Whether TransformWinogradWeights writes `dst` from `src`: f32 3x3 weights
// [OC, IC, 3, 3] in plain oihw, to a float Winograd layout this file knows
// (F(2,3) aaOio or aaOBiOo, F(4,3) OBaaIBOIio).
bool CanTransformWinogradWeights(const dnnl::memory::desc& src, const dnnl::memory::desc& dst);

// Writes `dst.get_size()` bytes at `out` from plain oihw `weights`.
// Precondition: CanTransformWinogradWeights(src, dst). Uses the OpenMP
// threads the caller allows (omp_get_max_threads()).
void TransformWinogradWeights(const float* weights, const dnnl::memory::desc& src,
                              const dnnl::memory::desc& dst, void* out);

}  // namespace bnfold::onednn
