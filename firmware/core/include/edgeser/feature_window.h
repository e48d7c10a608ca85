// edgeser firmware core: sliding [T, C] int8 feature matrix.
//
// The frontend produces one C-channel int8 row per stride; Push() appends it
// and, once T rows are held, drops the oldest. Rows are kept in a circular
// array (no shifting, no heap); the Copy* functions write rows in time order
// (oldest first), which is the [T, C] row-major layout the models take.
#ifndef EDGESER_CORE_FEATURE_WINDOW_H_
#define EDGESER_CORE_FEATURE_WINDOW_H_

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace edgeser {

template <size_t kFrames, size_t kChannels>
class FeatureWindow {
  static_assert(kFrames > 0 && kChannels > 0, "window must be non-empty");

 public:
  FeatureWindow() { Reset(); }

  void Reset() {
    next_ = 0;
    count_ = 0;
    total_pushed_ = 0;
    std::memset(rows_, 0, sizeof(rows_));
  }

  static constexpr size_t frames() { return kFrames; }
  static constexpr size_t channels() { return kChannels; }
  // Rows currently held, at most frames().
  size_t count() const { return count_; }
  bool full() const { return count_ == kFrames; }
  // Rows pushed since Reset() (the frame clock).
  uint64_t total_pushed() const { return total_pushed_; }

  void Push(const int8_t* row) {
    std::memcpy(rows_[next_], row, kChannels);
    next_ = (next_ + 1 == kFrames) ? 0 : next_ + 1;
    if (count_ < kFrames) ++count_;
    ++total_pushed_;
  }

  // All kFrames rows in storage order (not time order): [kFrames][kChannels].
  const int8_t* storage() const { return &rows_[0][0]; }

  // Row `i` in time order among the rows held (0 = oldest held).
  const int8_t* Row(size_t i) const {
    const size_t oldest = (next_ + kFrames - count_) % kFrames;
    return rows_[(oldest + i) % kFrames];
  }

  // Copies the most recent `num_frames` rows, oldest first, into
  // dst[num_frames * kChannels]. Returns false if fewer rows are held.
  bool CopyLatest(int8_t* dst, size_t num_frames) const {
    if (num_frames > count_) return false;
    for (size_t i = 0; i < num_frames; ++i) {
      std::memcpy(dst + i * kChannels, Row(count_ - num_frames + i), kChannels);
    }
    return true;
  }

  // As CopyLatest, but passes every value through a 256-entry int8 table
  // (lut[v + 128]): the requantisation to a model's input scale/zero point.
  bool CopyLatestMapped(int8_t* dst, size_t num_frames, const int8_t* lut) const {
    if (num_frames > count_) return false;
    for (size_t i = 0; i < num_frames; ++i) {
      const int8_t* row = Row(count_ - num_frames + i);
      int8_t* out = dst + i * kChannels;
      for (size_t c = 0; c < kChannels; ++c) out[c] = lut[static_cast<int>(row[c]) + 128];
    }
    return true;
  }

 private:
  int8_t rows_[kFrames][kChannels];
  size_t next_;
  size_t count_;
  uint64_t total_pushed_;
};

}  // namespace edgeser

#endif  // EDGESER_CORE_FEATURE_WINDOW_H_
