// edgeser firmware core: mean pooling of keyword embeddings over sliding windows.
//
// The keyword model runs once per keyword hop on the latest keyword window and
// its int8 embedding is pushed here; the pool keeps the last kWindows of them.
// Pooled value per dimension d (all integer):
//   sum_d   = sum over the kWindows held of (q_w,d - z_emb)          (int32)
//   pooled_d = clamp(MultiplyByQuantizedMultiplier(sum_d, QM(s_emb / (kWindows * s_out))) + z_out)
// i.e. the mean in real units, requantised to the fusion input's (s_out, z_out),
// rounded once (no intermediate integer division).
#ifndef EDGESER_CORE_POOLING_H_
#define EDGESER_CORE_POOLING_H_

#include <cstddef>
#include <cstdint>

#include "edgeser/feature_window.h"
#include "edgeser/quant.h"

namespace edgeser {

// Mean over k embeddings of d int8 values (emb is [k][d], any window order),
// in int32, requantised once with r (built with extra_divisor == k).
inline void PoolMean(const int8_t* emb, size_t k, size_t d, const Requantizer& r, int8_t* out) {
  for (size_t j = 0; j < d; ++j) {
    int32_t sum = 0;
    for (size_t w = 0; w < k; ++w) sum += static_cast<int32_t>(emb[w * d + j]) - r.in_zero_point;
    out[j] = r.ApplyCentered(sum);
  }
}

template <size_t kWindows, size_t kDim>
class EmbeddingPool {
  static_assert(kWindows > 0 && kDim > 0, "pool must be non-empty");

 public:
  void Reset() { window_.Reset(); }

  static constexpr size_t windows() { return kWindows; }
  static constexpr size_t dim() { return kDim; }
  size_t count() const { return window_.count(); }
  bool ready() const { return window_.full(); }

  // Keeps the embedding (kDim int8 values); the oldest of kWindows drops out.
  void Push(const int8_t* embedding) { window_.Push(embedding); }

  // Requantizer for Pool(): s_emb/z_emb of the keyword output, s_out/z_out of
  // the fusion input it feeds.
  static Requantizer MakeRequantizer(float emb_scale, int32_t emb_zero_point, float out_scale,
                                     int32_t out_zero_point) {
    Requantizer r = Requantizer::Make(emb_scale, emb_zero_point, out_scale, out_zero_point,
                                      static_cast<int32_t>(kWindows));
    r.identity = false;  // pooling always goes through the multiplier
    return r;
  }

  // Per dimension, the sum over the kWindows held of (q - zero_point), into out[kDim] (int32).
  // Returns false until kWindows were pushed.
  bool Sums(int32_t zero_point, int32_t* out) const {
    if (!ready()) return false;
    const int8_t* e = window_.storage();
    for (size_t j = 0; j < kDim; ++j) {
      int32_t sum = 0;
      for (size_t w = 0; w < kWindows; ++w) sum += static_cast<int32_t>(e[w * kDim + j]) - zero_point;
      out[j] = sum;
    }
    return true;
  }

  // Writes kDim pooled int8 values. Returns false until kWindows were pushed.
  bool Pool(const Requantizer& r, int8_t* out) const {
    if (!ready()) return false;
    PoolMean(window_.storage(), kWindows, kDim, r, out);
    return true;
  }

 private:
  FeatureWindow<kWindows, kDim> window_;  // the last kWindows embeddings, one per row
};

}  // namespace edgeser

#endif  // EDGESER_CORE_POOLING_H_
