// edgeser firmware core: the serial line protocol (see firmware/README.md,
// "Serial protocol"). Every formatter writes one line WITHOUT the line end
// into buf (NUL-terminated) and returns its length, or 0 if it did not fit.
// The board terminates lines with "\r\n".
//
// Decision line (one per decision, JSON, keys in this order):
//   {"t_ms":123456,"emotion":"happy","confidence":0.8123,"probs":[0.0500,0.8123,0.1000,0.0377]}
// Benchmark block (benchmark builds only):
//   BENCH begin version=1 board=coral-dev-board-micro cpu_mhz=800 arena=ocram arena_bytes=524288 decisions=20
//   BENCH stage=frontend n=745 us=312 min_us=290 max_us=402 total_us=232440
//   ...one line per stage...
//   BENCH end stages=7 decisions=20
#ifndef EDGESER_CORE_SERIAL_FORMAT_H_
#define EDGESER_CORE_SERIAL_FORMAT_H_

#include <cstddef>
#include <cstdint>

namespace edgeser {

// Decimal fixed-point text of v with `decimals` digits after the point
// (round half away from zero); "nan"/"inf" are written as 0 / clamped, so the
// output is always valid JSON. Returns the length, 0 if it did not fit.
size_t FormatFixed(char* buf, size_t cap, float v, int decimals);

// JSON string body with ", \, and control characters escaped.
size_t JsonEscape(char* buf, size_t cap, const char* s);

constexpr int kProbDecimals = 4;

size_t FormatDecisionJson(char* buf, size_t cap, uint64_t t_ms, const char* emotion, float confidence,
                          const float* probs, size_t n);

// Per-stage timing accumulator (microseconds).
struct StageStats {
  const char* name;  // [a-z0-9_]+
  uint32_t n;
  uint64_t total_us;
  uint32_t min_us;
  uint32_t max_us;

  void Reset() {
    n = 0;
    total_us = 0;
    min_us = 0;
    max_us = 0;
  }
  void Add(uint32_t us) {
    if (n == 0 || us < min_us) min_us = us;
    if (n == 0 || us > max_us) max_us = us;
    ++n;
    total_us += us;
  }
  // Mean per call, rounded half up; 0 when n == 0.
  uint32_t mean_us() const { return n ? static_cast<uint32_t>((total_us + n / 2) / n) : 0; }
};

size_t FormatBenchBegin(char* buf, size_t cap, uint32_t cpu_mhz, const char* arena, uint32_t arena_bytes,
                        uint32_t decisions);
size_t FormatBenchStage(char* buf, size_t cap, const StageStats& s);
size_t FormatBenchEnd(char* buf, size_t cap, uint32_t stages, uint32_t decisions);

}  // namespace edgeser

#endif  // EDGESER_CORE_SERIAL_FORMAT_H_
