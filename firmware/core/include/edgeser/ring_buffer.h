// edgeser firmware core: fixed-capacity int16 audio ring buffer.
//
// Single writer (the audio callback) and single reader (the inference task);
// the class itself holds no lock -- the board app wraps Write/Read in a mutex
// (see app/main.cc). No heap: storage is a template-sized array.
//
// Semantics
//   Write(src, n)       appends n samples; when the buffer is full the OLDEST
//                       samples are overwritten ("overwrite-oldest"). Unread
//                       samples lost this way are counted in dropped().
//   Read(dst, n)        FIFO: copies up to n of the oldest unread samples,
//                       marks them read, returns how many were copied.
//   ReadLatest(dst, n)  copies the most recent n samples in time order without
//                       consuming anything (a "window" read); returns false
//                       when fewer than n samples were ever written.
#ifndef EDGESER_CORE_RING_BUFFER_H_
#define EDGESER_CORE_RING_BUFFER_H_

#include <cstddef>
#include <cstdint>

namespace edgeser {

template <size_t kCapacity>
class RingBuffer {
  static_assert(kCapacity > 0, "capacity must be positive");

 public:
  RingBuffer() { Reset(); }

  void Reset() {
    head_ = 0;
    size_ = 0;
    unread_ = 0;
    total_written_ = 0;
    dropped_ = 0;
  }

  static constexpr size_t capacity() { return kCapacity; }
  // Samples currently held (read or not), at most capacity().
  size_t size() const { return size_; }
  // Samples written but not yet consumed by Read().
  size_t unread() const { return unread_; }
  // Samples written since Reset().
  uint64_t total_written() const { return total_written_; }
  // Unread samples overwritten before Read() could take them.
  uint64_t dropped() const { return dropped_; }

  void Write(const int16_t* src, size_t n) {
    for (size_t i = 0; i < n; ++i) {
      data_[head_] = src[i];
      head_ = (head_ + 1 == kCapacity) ? 0 : head_ + 1;
    }
    total_written_ += n;
    size_ = (size_ + n > kCapacity) ? kCapacity : size_ + n;
    const size_t new_unread = unread_ + n;
    if (new_unread > kCapacity) {
      dropped_ += new_unread - kCapacity;
      unread_ = kCapacity;
    } else {
      unread_ = new_unread;
    }
  }

  // Audio drivers often deliver 32-bit PDM words whose top 16 bits are the
  // sample; this converts with an arithmetic shift while writing.
  void WriteInt32High(const int32_t* src, size_t n) {
    for (size_t i = 0; i < n; ++i) {
      const int16_t s = static_cast<int16_t>(src[i] >> 16);
      Write(&s, 1);
    }
  }

  size_t Read(int16_t* dst, size_t n) {
    if (n > unread_) n = unread_;
    size_t pos = IndexFromNewest(unread_);  // oldest unread sample
    for (size_t i = 0; i < n; ++i) {
      dst[i] = data_[pos];
      pos = (pos + 1 == kCapacity) ? 0 : pos + 1;
    }
    unread_ -= n;
    return n;
  }

  bool ReadLatest(int16_t* dst, size_t n) const {
    if (n > size_) return false;
    size_t pos = IndexFromNewest(n);
    for (size_t i = 0; i < n; ++i) {
      dst[i] = data_[pos];
      pos = (pos + 1 == kCapacity) ? 0 : pos + 1;
    }
    return true;
  }

 private:
  // Index of the sample written `back` samples before head_ (1 = newest).
  size_t IndexFromNewest(size_t back) const {
    // back is in [0, kCapacity]; callers never ask for more than size_.
    return (head_ + kCapacity - back) % kCapacity;
  }

  int16_t data_[kCapacity];
  size_t head_;
  size_t size_;
  size_t unread_;
  uint64_t total_written_;
  uint64_t dropped_;
};

}  // namespace edgeser

#endif  // EDGESER_CORE_RING_BUFFER_H_
