// edgeser firmware core: running per-speaker standardisation of the fusion head's inputs
// (recipe fusion.input_norm: speaker; Python: edgeser.models.speaker_norm.BoardSpeakerNorm,
// which computes the same integer sums and float64 operations in the same order).
//
// A new voice shifts and scales the acoustic and keyword embeddings as a whole; the head
// was trained on each training speaker's embeddings standardised with that speaker's own
// statistics. On the board the statistics are running ones: since NewSpeaker() (start-up,
// or the app's choice), every decision's embeddings join per-dimension sums, blended with
// the training set's mean and variance (the prior, worth `weight` decisions).
//
// Inputs are integer centred codes c[d]: the acoustic output minus its zero point (one step
// = s_ac) and the keyword outputs summed over the K pooled windows minus K zero points (one
// step = s_kw / K). Per dimension, prior m = mean / unit, v = var / unit^2, n decisions seen,
// S1 = sum c, S2 = sum c^2 (int64):
//   mean = (w*m + S1) / (w + n);  var = max((w*(v + m*m) + S2) / (w + n) - mean*mean, 0)
//   z = (c - mean) / (sqrt(var) + eps / unit)
//   q = clamp(sign(z / s_out) * min(floor(|z / s_out| + 0.5), 1000) + z_out, -128, 127)
// then c joins S1, S2. Build with -ffp-contract=off (Makefile, CMakeLists.txt): a fused
// multiply-add would round differently from the Python reference.
#ifndef EDGESER_CORE_SPEAKER_NORM_H_
#define EDGESER_CORE_SPEAKER_NORM_H_

#include <cmath>
#include <cstddef>
#include <cstdint>

namespace edgeser {

// The training set's statistics of the fusion input [acoustic | keyword], real units.
struct SpeakerPrior {
  const double* mean;  // [kAcDim + kKwDim]
  const double* var;   // [kAcDim + kKwDim]
  double weight;       // decisions the prior counts for
  double epsilon;      // added to every std (real units)
};

template <size_t kAcDim, size_t kKwDim>
class SpeakerNorm {
 public:
  static constexpr size_t kDim = kAcDim + kKwDim;

  // ac_unit = s_ac_out, kw_unit = s_kw_out / K; out_* = the fusion inputs' quantisation.
  void Configure(const SpeakerPrior& prior, double ac_unit, double kw_unit, double out_ac_scale,
                 int32_t out_ac_zero_point, double out_kw_scale, int32_t out_kw_zero_point) {
    w_ = prior.weight;
    for (size_t d = 0; d < kDim; ++d) {
      const bool ac = d < kAcDim;
      const double unit = ac ? ac_unit : kw_unit;
      const double m = prior.mean[d] / unit;
      const double v = prior.var[d] / (unit * unit);
      a_[d] = w_ * m;
      b_[d] = w_ * (v + m * m);
      eps_[d] = prior.epsilon / unit;
      out_scale_[d] = ac ? out_ac_scale : out_kw_scale;
      out_zero_point_[d] = ac ? out_ac_zero_point : out_kw_zero_point;
    }
    Reset();
  }

  // A new speaker: the statistics restart from the prior.
  void Reset() {
    for (size_t d = 0; d < kDim; ++d) s1_[d] = s2_[d] = 0;
    n_ = 0;
  }
  uint32_t count() const { return n_; }

  // centred[kDim] -> out_ac[kAcDim], out_kw[kKwDim] (int8 fusion inputs); then centred joins the sums.
  void Apply(const int32_t* centred, int8_t* out_ac, int8_t* out_kw) {
    const double w = w_ + static_cast<double>(n_);
    for (size_t d = 0; d < kDim; ++d) {
      const double mean = (a_[d] + static_cast<double>(s1_[d])) / w;
      double var = (b_[d] + static_cast<double>(s2_[d])) / w - mean * mean;
      if (var < 0.0) var = 0.0;
      const double v = ((static_cast<double>(centred[d]) - mean) / (std::sqrt(var) + eps_[d])) / out_scale_[d];
      double r = std::floor(std::fabs(v) + 0.5);
      if (r > 1000.0) r = 1000.0;  // bounded before the integer conversion
      int32_t q = static_cast<int32_t>(r);
      if (v < 0.0) q = -q;
      q += out_zero_point_[d];
      const int8_t out = static_cast<int8_t>(q < -128 ? -128 : (q > 127 ? 127 : q));
      if (d < kAcDim) out_ac[d] = out;
      else out_kw[d - kAcDim] = out;
    }
    for (size_t d = 0; d < kDim; ++d) {
      s1_[d] += centred[d];
      s2_[d] += static_cast<int64_t>(centred[d]) * centred[d];
    }
    ++n_;
  }

 private:
  double w_ = 0.0;
  double a_[kDim] = {};        // w * m
  double b_[kDim] = {};        // w * (v + m^2)
  double eps_[kDim] = {};      // epsilon in steps
  double out_scale_[kDim] = {};
  int32_t out_zero_point_[kDim] = {};
  int64_t s1_[kDim] = {};
  int64_t s2_[kDim] = {};
  uint32_t n_ = 0;
};

}  // namespace edgeser

#endif  // EDGESER_CORE_SPEAKER_NORM_H_
