// edgeser firmware core: integer feature mapping and int8 requantisation.
//
// 1. Frontend -> int8 (the contract shared with edgeser.frontend.FrontendConfig):
//      int8 = clamp((raw * num + den / 2) / den + offset, -128, 127)
//    raw is the MicroFrontend's uint16 output, num/den/offset come from
//    frontend_config.h (EDGESER_FRONTEND_INT8_SCALE_NUM/_DEN/_INT8_OFFSET).
//    All terms are non-negative before the offset, so C's truncating division
//    equals Python's floor division. 64-bit intermediate: no overflow.
//
// 2. Requantisation (int8 with scale s_in, zero point z_in -> int8 with s_out,
//    z_out): integer-only, TFLite's fixed-point multiplier with single rounding
//    (TFLite's TFLITE_SINGLE_ROUNDING variant):
//      m, shift = QuantizeMultiplier(s_in / s_out)    (once, at start-up;
//                 frexp, m = round(mantissa * 2^31) in [2^30, 2^31))
//      y = (x * m + 2^(30 - shift)) >> (31 - shift)   (int64, arithmetic shift:
//                 round half toward +infinity, one rounding only)
//      q_out = clamp(y(q_in - z_in) + z_out, -128, 127)
//    The Python reference in tests/test_firmware_core.py reimplements it.
#ifndef EDGESER_CORE_QUANT_H_
#define EDGESER_CORE_QUANT_H_

#include <cstddef>
#include <cstdint>

namespace edgeser {

struct Int8Mapping {
  int32_t num;     // EDGESER_FRONTEND_INT8_SCALE_NUM (> 0)
  int32_t den;     // EDGESER_FRONTEND_INT8_SCALE_DEN (> 0)
  int32_t offset;  // EDGESER_FRONTEND_INT8_OFFSET (-128..127)
};

inline int8_t ClampInt8(int64_t v) {
  return static_cast<int8_t>(v < -128 ? -128 : (v > 127 ? 127 : v));
}

inline int8_t MapFrontendValue(uint16_t raw, const Int8Mapping& m) {
  const int64_t scaled = (static_cast<int64_t>(raw) * m.num + m.den / 2) / m.den;
  return ClampInt8(scaled + m.offset);
}

// Maps one frontend frame (n channels) to int8.
void MapFrontendFrame(const uint16_t* raw, size_t n, const Int8Mapping& m, int8_t* out);

// Fixed-point multiplier: real ~= m * 2^(shift - 31), m in [2^30, 2^31).
struct QuantizedMultiplier {
  int32_t multiplier;
  int shift;
};

QuantizedMultiplier QuantizeMultiplier(double real_multiplier);
// round(x * real_multiplier), ties toward +infinity, saturated to int32.
int32_t MultiplyByQuantizedMultiplier(int32_t x, const QuantizedMultiplier& qm);

// Parameters of one int8 requantisation step.
struct Requantizer {
  int32_t in_zero_point;
  int32_t out_zero_point;
  QuantizedMultiplier qm;
  bool identity;  // same scale and zero point: a plain copy

  // Built from (s_in, z_in) -> (s_out, z_out). `extra_divisor` folds a
  // division into the multiplier (window pooling divides a sum by N).
  static Requantizer Make(float in_scale, int32_t in_zero_point, float out_scale,
                          int32_t out_zero_point, int32_t extra_divisor = 1);

  int8_t Apply(int32_t q_in) const {
    if (identity) return ClampInt8(q_in);
    return ClampInt8(static_cast<int64_t>(MultiplyByQuantizedMultiplier(q_in - in_zero_point, qm)) +
                     out_zero_point);
  }
  // For an already zero-point-centred int32 value (e.g. a pooled sum).
  int8_t ApplyCentered(int32_t centered) const {
    return ClampInt8(static_cast<int64_t>(MultiplyByQuantizedMultiplier(centered, qm)) + out_zero_point);
  }
};

// Fills lut[256] so that lut[q + 128] = r.Apply(q) for every int8 q; the hot
// path then requantises a feature with one table lookup.
void BuildRequantLut(const Requantizer& r, int8_t* lut);

// Requantises n int8 values.
void RequantizeVector(const int8_t* in, size_t n, const Requantizer& r, int8_t* out);

}  // namespace edgeser

#endif  // EDGESER_CORE_QUANT_H_
