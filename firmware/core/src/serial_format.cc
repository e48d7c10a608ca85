#include "edgeser/serial_format.h"

#include <cmath>

namespace edgeser {
namespace {

// Minimal bounded string builder: no printf, no heap.
class Writer {
 public:
  Writer(char* buf, size_t cap) : buf_(buf), cap_(cap), len_(0), ok_(cap > 0) {
    if (ok_) buf_[0] = '\0';
  }
  void Char(char c) {
    if (!ok_) return;
    if (len_ + 1 >= cap_) {
      ok_ = false;
      return;
    }
    buf_[len_++] = c;
    buf_[len_] = '\0';
  }
  void Str(const char* s) {
    while (*s) Char(*s++);
  }
  void U64(uint64_t v) {
    char tmp[24];
    int i = 0;
    do {
      tmp[i++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v);
    while (i) Char(tmp[--i]);
  }
  void Fixed(float v, int decimals) {
    char tmp[48];
    const size_t n = FormatFixed(tmp, sizeof(tmp), v, decimals);
    if (n == 0) ok_ = false;
    else Str(tmp);
  }
  void Escaped(const char* s) {
    char tmp[4];
    for (; *s; ++s) {
      const unsigned char c = static_cast<unsigned char>(*s);
      if (c == '"' || c == '\\') {
        Char('\\');
        Char(static_cast<char>(c));
      } else if (c < 0x20) {
        static const char kHex[] = "0123456789abcdef";
        Str("\\u00");
        tmp[0] = kHex[c >> 4];
        tmp[1] = kHex[c & 15];
        tmp[2] = '\0';
        Str(tmp);
      } else {
        Char(static_cast<char>(c));
      }
    }
  }
  size_t Finish() const { return ok_ ? len_ : 0; }

 private:
  char* buf_;
  size_t cap_;
  size_t len_;
  bool ok_;
};

}  // namespace

size_t FormatFixed(char* buf, size_t cap, float v, int decimals) {
  if (decimals < 0) decimals = 0;
  if (decimals > 9) decimals = 9;
  double x = static_cast<double>(v);
  if (std::isnan(x)) x = 0.0;
  const double kLimit = 1e12;  // keeps the integer part in uint64 range
  if (x > kLimit) x = kLimit;
  if (x < -kLimit) x = -kLimit;
  uint64_t scale = 1;
  for (int i = 0; i < decimals; ++i) scale *= 10;
  const bool negative = x < 0.0;
  const uint64_t scaled = static_cast<uint64_t>(std::floor((negative ? -x : x) * static_cast<double>(scale) + 0.5));
  Writer w(buf, cap);
  if (negative && scaled != 0) w.Char('-');
  w.U64(scaled / scale);
  if (decimals > 0) {
    w.Char('.');
    uint64_t frac = scaled % scale;
    char digits[10];
    for (int i = decimals - 1; i >= 0; --i) {
      digits[i] = static_cast<char>('0' + frac % 10);
      frac /= 10;
    }
    for (int i = 0; i < decimals; ++i) w.Char(digits[i]);
  }
  return w.Finish();
}

size_t JsonEscape(char* buf, size_t cap, const char* s) {
  Writer w(buf, cap);
  w.Escaped(s);
  return w.Finish();
}

size_t FormatDecisionJson(char* buf, size_t cap, uint64_t t_ms, const char* emotion, float confidence,
                          const float* probs, size_t n) {
  Writer w(buf, cap);
  w.Str("{\"t_ms\":");
  w.U64(t_ms);
  w.Str(",\"emotion\":\"");
  w.Escaped(emotion);
  w.Str("\",\"confidence\":");
  w.Fixed(confidence, kProbDecimals);
  w.Str(",\"probs\":[");
  for (size_t i = 0; i < n; ++i) {
    if (i) w.Char(',');
    w.Fixed(probs[i], kProbDecimals);
  }
  w.Str("]}");
  return w.Finish();
}

size_t FormatBenchBegin(char* buf, size_t cap, uint32_t cpu_mhz, const char* arena, uint32_t arena_bytes,
                        uint32_t decisions) {
  Writer w(buf, cap);
  w.Str("BENCH begin version=1 board=coral-dev-board-micro cpu_mhz=");
  w.U64(cpu_mhz);
  w.Str(" arena=");
  w.Str(arena);
  w.Str(" arena_bytes=");
  w.U64(arena_bytes);
  w.Str(" decisions=");
  w.U64(decisions);
  return w.Finish();
}

size_t FormatBenchStage(char* buf, size_t cap, const StageStats& s) {
  Writer w(buf, cap);
  w.Str("BENCH stage=");
  w.Str(s.name);
  w.Str(" n=");
  w.U64(s.n);
  w.Str(" us=");
  w.U64(s.mean_us());
  w.Str(" min_us=");
  w.U64(s.min_us);
  w.Str(" max_us=");
  w.U64(s.max_us);
  w.Str(" total_us=");
  w.U64(s.total_us);
  return w.Finish();
}

size_t FormatBenchEnd(char* buf, size_t cap, uint32_t stages, uint32_t decisions) {
  Writer w(buf, cap);
  w.Str("BENCH end stages=");
  w.U64(stages);
  w.Str(" decisions=");
  w.U64(decisions);
  return w.Finish();
}

}  // namespace edgeser
