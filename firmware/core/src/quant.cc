#include "edgeser/quant.h"

#include <cmath>
#include <limits>

namespace edgeser {

void MapFrontendFrame(const uint16_t* raw, size_t n, const Int8Mapping& m, int8_t* out) {
  for (size_t i = 0; i < n; ++i) out[i] = MapFrontendValue(raw[i], m);
}

QuantizedMultiplier QuantizeMultiplier(double real_multiplier) {
  QuantizedMultiplier r{0, 0};
  if (!(real_multiplier > 0.0)) return r;  // zero, negative or NaN: maps to 0
  int shift = 0;
  const double q = std::frexp(real_multiplier, &shift);  // q in [0.5, 1)
  int64_t q_fixed = static_cast<int64_t>(std::round(q * static_cast<double>(1ll << 31)));
  if (q_fixed == (1ll << 31)) {
    q_fixed /= 2;
    ++shift;
  }
  if (shift < -31) {
    shift = 0;
    q_fixed = 0;
  }
  if (shift > 30) {  // multiplier >= 2^30: saturate (never happens for sane scales)
    shift = 30;
    q_fixed = (1ll << 31) - 1;
  }
  r.multiplier = static_cast<int32_t>(q_fixed);
  r.shift = shift;
  return r;
}

int32_t MultiplyByQuantizedMultiplier(int32_t x, const QuantizedMultiplier& qm) {
  if (qm.multiplier == 0) return 0;
  const int total_shift = 31 - qm.shift;  // shift in [-31, 30] -> 1..62
  const int64_t round = static_cast<int64_t>(1) << (total_shift - 1);
  int64_t result = (static_cast<int64_t>(x) * qm.multiplier + round) >> total_shift;
  if (result > std::numeric_limits<int32_t>::max()) result = std::numeric_limits<int32_t>::max();
  if (result < std::numeric_limits<int32_t>::min()) result = std::numeric_limits<int32_t>::min();
  return static_cast<int32_t>(result);
}

Requantizer Requantizer::Make(float in_scale, int32_t in_zero_point, float out_scale,
                              int32_t out_zero_point, int32_t extra_divisor) {
  Requantizer r;
  r.in_zero_point = in_zero_point;
  r.out_zero_point = out_zero_point;
  r.identity = (extra_divisor == 1 && in_scale == out_scale && in_zero_point == out_zero_point);
  const double divisor = static_cast<double>(out_scale) * static_cast<double>(extra_divisor < 1 ? 1 : extra_divisor);
  r.qm = QuantizeMultiplier(divisor > 0.0 ? static_cast<double>(in_scale) / divisor : 0.0);
  return r;
}

void BuildRequantLut(const Requantizer& r, int8_t* lut) {
  for (int q = -128; q <= 127; ++q) lut[q + 128] = r.Apply(q);
}

void RequantizeVector(const int8_t* in, size_t n, const Requantizer& r, int8_t* out) {
  for (size_t i = 0; i < n; ++i) out[i] = r.Apply(in[i]);
}

}  // namespace edgeser
