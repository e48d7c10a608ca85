#include "edgeser/postprocess.h"

#include <cmath>

namespace edgeser {

void Dequantize(const int8_t* q, size_t n, float scale, int32_t zero_point, float* out) {
  for (size_t i = 0; i < n; ++i) out[i] = scale * static_cast<float>(static_cast<int32_t>(q[i]) - zero_point);
}

void Softmax(const float* logits, size_t n, float* probs) {
  if (n == 0) return;
  float max_v = logits[0];
  for (size_t i = 1; i < n; ++i)
    if (logits[i] > max_v) max_v = logits[i];
  float sum = 0.0f;
  for (size_t i = 0; i < n; ++i) {
    probs[i] = std::exp(logits[i] - max_v);
    sum += probs[i];
  }
  const float inv = 1.0f / sum;  // sum >= 1 (the max term is exp(0))
  for (size_t i = 0; i < n; ++i) probs[i] *= inv;
}

size_t Argmax(const float* v, size_t n) {
  size_t best = 0;
  for (size_t i = 1; i < n; ++i)
    if (v[i] > v[best]) best = i;
  return best;
}

Decision Postprocess(const int8_t* logits_q, size_t n, float scale, int32_t zero_point, float* probs) {
  // probs doubles as the logits scratch buffer: no extra storage.
  Dequantize(logits_q, n, scale, zero_point, probs);
  Softmax(probs, n, probs);
  Decision d;
  d.index = Argmax(probs, n);
  d.confidence = probs[d.index];
  return d;
}

}  // namespace edgeser
