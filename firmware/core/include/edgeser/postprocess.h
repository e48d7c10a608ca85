// edgeser firmware core: fusion-head post-processing and temporal smoothing.
//
// Postprocess: logits (int8, scale s, zero point z) -> float s * (q - z) ->
// softmax in float (max-subtracted, expf) -> argmax (first index on ties) ->
// confidence = the winning probability.
//
// Smoothing (TemporalSmoother), selected by EDGESER_SMOOTHING_MODE:
//   kEma  (default): s_0 = p_0;  s_t = alpha * p_t + (1 - alpha) * s_{t-1}
//   kMean          : s_t = mean of the last N probability vectors (fewer at start)
// The reported emotion is argmax(s_t) and the confidence is max(s_t); the JSON
// line's "probs" are s_t. All arithmetic is float32.
#ifndef EDGESER_CORE_POSTPROCESS_H_
#define EDGESER_CORE_POSTPROCESS_H_

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace edgeser {

void Dequantize(const int8_t* q, size_t n, float scale, int32_t zero_point, float* out);
void Softmax(const float* logits, size_t n, float* probs);
size_t Argmax(const float* v, size_t n);

struct Decision {
  size_t index;
  float confidence;
};

// Dequantise + softmax + argmax; probs receives n probabilities.
Decision Postprocess(const int8_t* logits_q, size_t n, float scale, int32_t zero_point, float* probs);

enum class SmoothingMode : int { kEma = 0, kMean = 1 };

template <size_t kClasses, size_t kHistory>
class TemporalSmoother {
  static_assert(kClasses > 0 && kHistory > 0, "smoother must be non-empty");

 public:
  // history: window of the mean mode, 1..kHistory (kHistory is the capacity).
  TemporalSmoother(SmoothingMode mode, float alpha, size_t history = kHistory)
      : mode_(mode), alpha_(alpha), history_len_(history < 1 ? 1 : (history > kHistory ? kHistory : history)) {
    Reset();
  }

  void Reset() {
    count_ = 0;
    next_ = 0;
    std::memset(state_, 0, sizeof(state_));
    std::memset(history_, 0, sizeof(history_));
  }

  size_t count() const { return count_; }

  // Feeds one probability vector; writes the smoothed vector to out.
  Decision Update(const float* probs, float* out) {
    if (mode_ == SmoothingMode::kEma) {
      if (count_ == 0) {
        for (size_t c = 0; c < kClasses; ++c) state_[c] = probs[c];
      } else {
        const float keep = 1.0f - alpha_;
        for (size_t c = 0; c < kClasses; ++c) state_[c] = alpha_ * probs[c] + keep * state_[c];
      }
      if (count_ < history_len_) ++count_;
    } else {
      std::memcpy(history_[next_], probs, sizeof(float) * kClasses);
      next_ = (next_ + 1 == history_len_) ? 0 : next_ + 1;
      if (count_ < history_len_) ++count_;
      for (size_t c = 0; c < kClasses; ++c) {
        float sum = 0.0f;
        // Sum in insertion order (oldest first) so the result is reproducible.
        const size_t oldest = (next_ + history_len_ - count_) % history_len_;
        for (size_t i = 0; i < count_; ++i) sum += history_[(oldest + i) % history_len_][c];
        state_[c] = sum / static_cast<float>(count_);
      }
    }
    std::memcpy(out, state_, sizeof(float) * kClasses);
    Decision d;
    d.index = Argmax(state_, kClasses);
    d.confidence = state_[d.index];
    return d;
  }

 private:
  SmoothingMode mode_;
  float alpha_;
  size_t history_len_;
  size_t count_;
  size_t next_;
  float state_[kClasses];
  float history_[kHistory][kClasses];
};

}  // namespace edgeser

#endif  // EDGESER_CORE_POSTPROCESS_H_
