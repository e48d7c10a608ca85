// Unit tests of the portable firmware core (host build).
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "edgeser/crc32.h"
#include "edgeser/feature_window.h"
#include "edgeser/pooling.h"
#include "edgeser/postprocess.h"
#include "edgeser/quant.h"
#include "edgeser/ring_buffer.h"
#include "edgeser/schedule.h"
#include "edgeser/serial_format.h"
#include "mini_test.h"

using namespace edgeser;

// ---------------------------------------------------------------- ring buffer
TEST(ring_fifo_read) {
  RingBuffer<8> rb;
  const int16_t in[5] = {1, 2, 3, 4, 5};
  rb.Write(in, 5);
  CHECK_EQ(rb.size(), 5u);
  CHECK_EQ(rb.unread(), 5u);
  int16_t out[8] = {0};
  CHECK_EQ(rb.Read(out, 3), 3u);
  CHECK_EQ(out[0], 1);
  CHECK_EQ(out[2], 3);
  CHECK_EQ(rb.unread(), 2u);
  CHECK_EQ(rb.Read(out, 8), 2u);
  CHECK_EQ(out[0], 4);
  CHECK_EQ(out[1], 5);
  CHECK_EQ(rb.Read(out, 8), 0u);
  CHECK_EQ(rb.dropped(), 0u);
}

TEST(ring_overwrites_oldest) {
  RingBuffer<4> rb;
  int16_t in[10];
  for (int i = 0; i < 10; ++i) in[i] = static_cast<int16_t>(100 + i);
  rb.Write(in, 6);  // 100..105, keeps 102..105
  CHECK_EQ(rb.size(), 4u);
  CHECK_EQ(rb.unread(), 4u);
  CHECK_EQ(rb.dropped(), 2u);
  int16_t out[4];
  CHECK_EQ(rb.Read(out, 4), 4u);
  CHECK_EQ(out[0], 102);
  CHECK_EQ(out[3], 105);
  rb.Write(in + 6, 3);  // 106..108
  CHECK_EQ(rb.unread(), 3u);
  CHECK_EQ(rb.Read(out, 1), 1u);
  CHECK_EQ(out[0], 106);
  rb.Write(in, 4);  // 100..103 overwrite: unread was 2 (107,108) -> 6 > 4
  CHECK_EQ(rb.dropped(), 4u);
  CHECK_EQ(rb.Read(out, 4), 4u);
  CHECK_EQ(out[0], 100);
  CHECK_EQ(out[3], 103);
  CHECK_EQ(rb.total_written(), 13u);
}

TEST(ring_read_latest_window) {
  RingBuffer<5> rb;
  int16_t out[5];
  CHECK(!rb.ReadLatest(out, 1));
  for (int16_t v = 1; v <= 7; ++v) rb.Write(&v, 1);  // holds 3..7
  CHECK(rb.ReadLatest(out, 3));
  CHECK_EQ(out[0], 5);
  CHECK_EQ(out[1], 6);
  CHECK_EQ(out[2], 7);
  CHECK(rb.ReadLatest(out, 5));
  CHECK_EQ(out[0], 3);
  CHECK_EQ(out[4], 7);
  CHECK(!rb.ReadLatest(out, 6));
  CHECK_EQ(rb.unread(), 5u);  // window reads consume nothing
}

TEST(ring_int32_high_words) {
  RingBuffer<4> rb;
  const int32_t pdm[3] = {0x7fff0000, static_cast<int32_t>(0x80001234u), 0x00010000};
  rb.WriteInt32High(pdm, 3);
  int16_t out[3];
  CHECK_EQ(rb.Read(out, 3), 3u);
  CHECK_EQ(out[0], 32767);
  CHECK_EQ(out[1], -32768);
  CHECK_EQ(out[2], 1);
}

TEST(ring_wraps_many_times) {
  RingBuffer<7> rb;
  int16_t next_in = 0, next_out = 0;
  uint64_t read_total = 0;
  for (int round = 0; round < 100; ++round) {
    const int n = 1 + round % 5;
    for (int i = 0; i < n; ++i, ++next_in) rb.Write(&next_in, 1);
    int16_t buf[7];
    const size_t got = rb.Read(buf, 3);
    read_total += got;
    for (size_t i = 0; i < got; ++i) {
      CHECK(buf[i] >= next_out);  // in order; a jump means dropped samples
      next_out = static_cast<int16_t>(buf[i] + 1);
    }
  }
  CHECK(rb.total_written() == static_cast<uint64_t>(next_in));
  CHECK(rb.total_written() == read_total + rb.dropped() + rb.unread());
}

// ------------------------------------------------------------- feature window
TEST(feature_window_sliding_order) {
  FeatureWindow<3, 2> w;
  int8_t dst[6];
  CHECK(!w.CopyLatest(dst, 1));
  for (int8_t f = 0; f < 5; ++f) {
    const int8_t row[2] = {f, static_cast<int8_t>(-f)};
    w.Push(row);
  }
  CHECK(w.full());
  CHECK_EQ(w.total_pushed(), 5u);
  CHECK(w.CopyLatest(dst, 3));
  const int8_t want[6] = {2, -2, 3, -3, 4, -4};
  CHECK(std::memcmp(dst, want, 6) == 0);
  CHECK(w.CopyLatest(dst, 2));
  CHECK_EQ(dst[0], 3);
  CHECK_EQ(dst[3], -4);
  CHECK_EQ(w.Row(0)[0], 2);
}

TEST(feature_window_mapped_copy) {
  FeatureWindow<2, 3> w;
  const int8_t a[3] = {-128, 0, 127};
  w.Push(a);
  int8_t lut[256];
  for (int q = -128; q <= 127; ++q) lut[q + 128] = static_cast<int8_t>(q / 2);
  int8_t dst[3];
  CHECK(w.CopyLatestMapped(dst, 1, lut));
  CHECK_EQ(dst[0], -64);
  CHECK_EQ(dst[1], 0);
  CHECK_EQ(dst[2], 63);
}

// ---------------------------------------------------------------- int8 mapping
TEST(int8_mapping_micro_speech) {
  const Int8Mapping m{256, 666, -128};
  CHECK_EQ(MapFrontendValue(0, m), -128);
  CHECK_EQ(MapFrontendValue(666, m), 127);
  CHECK_EQ(MapFrontendValue(65535, m), 127);
  // raw 333: (333*256 + 333) / 666 = 128 (85581 / 666 = 128.49) -> 0
  CHECK_EQ(MapFrontendValue(333, m), 0);
  for (uint32_t raw = 0; raw <= 65535; raw += 7) {
    const int64_t want64 = (static_cast<int64_t>(raw) * 256 + 333) / 666 - 128;
    const int want = want64 < -128 ? -128 : (want64 > 127 ? 127 : static_cast<int>(want64));
    CHECK_EQ(MapFrontendValue(static_cast<uint16_t>(raw), m), want);
  }
  uint16_t frame[3] = {0, 333, 1000};
  int8_t out[3];
  MapFrontendFrame(frame, 3, m, out);
  CHECK_EQ(out[0], -128);
  CHECK_EQ(out[1], 0);
  CHECK_EQ(out[2], 127);
}

// ------------------------------------------------------------- requantisation
TEST(quantize_multiplier_values) {
  QuantizedMultiplier q = QuantizeMultiplier(0.5);
  CHECK_EQ(q.multiplier, 1 << 30);
  CHECK_EQ(q.shift, 0);
  q = QuantizeMultiplier(1.0);
  CHECK_EQ(q.multiplier, 1 << 30);
  CHECK_EQ(q.shift, 1);
  q = QuantizeMultiplier(0.0);
  CHECK_EQ(q.multiplier, 0);
  CHECK_EQ(MultiplyByQuantizedMultiplier(100, QuantizeMultiplier(0.5)), 50);
  CHECK_EQ(MultiplyByQuantizedMultiplier(101, QuantizeMultiplier(0.5)), 51);   // 50.5 -> 51
  CHECK_EQ(MultiplyByQuantizedMultiplier(-101, QuantizeMultiplier(0.5)), -50); // ties toward +inf
  CHECK_EQ(MultiplyByQuantizedMultiplier(-102, QuantizeMultiplier(0.25)), -25); // -25.5 -> -25
  CHECK_EQ(MultiplyByQuantizedMultiplier(-103, QuantizeMultiplier(0.25)), -26); // -25.75 -> -26
  CHECK_EQ(MultiplyByQuantizedMultiplier(7, QuantizeMultiplier(3.0)), 21);
  CHECK_EQ(MultiplyByQuantizedMultiplier(101, QuantizeMultiplier(0.25)), 25);   // single rounding
  q = QuantizeMultiplier(1e-12);  // below 2^-31 * 2^-31: flushes to zero
  CHECK_EQ(q.multiplier, 0);
  CHECK_EQ(MultiplyByQuantizedMultiplier(1000, q), 0);
}

TEST(requantizer_identity_and_lut) {
  Requantizer id = Requantizer::Make(0.5f, 3, 0.5f, 3);
  CHECK(id.identity);
  int8_t lut[256];
  BuildRequantLut(id, lut);
  for (int q = -128; q <= 127; ++q) CHECK_EQ(lut[q + 128], q);
  Requantizer r = Requantizer::Make(1.0f, 0, 0.5f, -1);  // x2, zp -1
  CHECK(!r.identity);
  CHECK_EQ(r.Apply(10), 19);
  CHECK_EQ(r.Apply(100), 127);    // saturates
  CHECK_EQ(r.Apply(-100), -128);
  BuildRequantLut(r, lut);
  CHECK_EQ(lut[10 + 128], 19);
  int8_t in[3] = {0, 1, -1}, out[3];
  RequantizeVector(in, 3, r, out);
  CHECK_EQ(out[0], -1);
  CHECK_EQ(out[1], 1);
  CHECK_EQ(out[2], -3);
}

TEST(requantizer_matches_float_reference) {
  const float scales[][2] = {{0.0235f, 0.0190f}, {1.0f, 0.5f}, {0.1f, 0.37f}, {0.003f, 0.05f}};
  const int zps[][2] = {{-128, -120}, {0, -1}, {5, -7}, {-3, 10}};
  for (int k = 0; k < 4; ++k) {
    Requantizer r = Requantizer::Make(scales[k][0], zps[k][0], scales[k][1], zps[k][1]);
    for (int q = -128; q <= 127; ++q) {
      const double real = (q - zps[k][0]) * static_cast<double>(scales[k][0]) / scales[k][1];
      double want = std::round(real) + zps[k][1];
      want = want < -128 ? -128 : (want > 127 ? 127 : want);
      // Fixed-point rounding may differ from float rounding only at exact ties.
      CHECK(std::fabs(r.Apply(q) - want) <= 1.0);
    }
  }
}

// --------------------------------------------------------------------- pooling
TEST(pooling_mean_requantised) {
  EmbeddingPool<4, 2> pool;
  Requantizer r = EmbeddingPool<4, 2>::MakeRequantizer(0.5f, 0, 0.5f, 0);
  int8_t out[2];
  CHECK(!pool.Pool(r, out));
  const int8_t e[4][2] = {{10, -10}, {20, -20}, {30, -30}, {41, -41}};
  for (auto& row : e) pool.Push(row);
  CHECK(pool.ready());
  CHECK(pool.Pool(r, out));
  CHECK_EQ(out[0], 25);   // 101 / 4 = 25.25
  CHECK_EQ(out[1], -25);
  const int8_t e5[2] = {-50, 50};
  pool.Push(e5);  // drops {10,-10}: (20+30+41-50)/4 = 10.25
  CHECK(pool.Pool(r, out));
  CHECK_EQ(out[0], 10);
  CHECK_EQ(out[1], -10);
  // zero points and a scale change: emb (s=0.1, z=-128) -> out (s=0.2, z=5)
  EmbeddingPool<2, 1> p2;
  Requantizer r2 = EmbeddingPool<2, 1>::MakeRequantizer(0.1f, -128, 0.2f, 5);
  const int8_t a[1] = {-118}, b[1] = {-108};  // real 1.0, 2.0 -> mean 1.5 -> q 7.5 + 5
  p2.Push(a);
  p2.Push(b);
  CHECK(p2.Pool(r2, out));
  CHECK_EQ(out[0], 13);  // 7.5 -> 8 (ties toward +inf), + 5
}

// -------------------------------------------------------------- postprocessing
TEST(softmax_and_argmax) {
  const float logits[4] = {1.0f, 3.0f, 0.5f, 3.0f};
  float p[4];
  Softmax(logits, 4, p);
  float sum = 0;
  for (float v : p) sum += v;
  CHECK_NEAR(sum, 1.0, 1e-6);
  CHECK_EQ(Argmax(p, 4), 1u);  // first of the tie
  CHECK_NEAR(p[1], p[3], 1e-7);
  const float big[2] = {1000.0f, 999.0f};  // no overflow thanks to max-subtraction
  Softmax(big, 2, p);
  CHECK_NEAR(p[0], 1.0 / (1.0 + std::exp(-1.0)), 1e-6);
}

TEST(postprocess_dequantises) {
  const int8_t q[3] = {12, 22, 2};  // scale 0.1, zp 12 -> 0, 1, -1
  float probs[3];
  Decision d = Postprocess(q, 3, 0.1f, 12, probs);
  CHECK_EQ(d.index, 1u);
  const double e0 = 1.0, e1 = std::exp(1.0), e2 = std::exp(-1.0);
  CHECK_NEAR(probs[1], e1 / (e0 + e1 + e2), 1e-6);
  CHECK_NEAR(d.confidence, probs[1], 0);
}

TEST(smoothing_ema) {
  TemporalSmoother<2, 4> s(SmoothingMode::kEma, 0.25f);
  float out[2];
  const float p0[2] = {1.0f, 0.0f}, p1[2] = {0.0f, 1.0f};
  Decision d = s.Update(p0, out);
  CHECK_EQ(d.index, 0u);
  CHECK_NEAR(out[0], 1.0, 0);
  d = s.Update(p1, out);  // 0.25*0 + 0.75*1
  CHECK_NEAR(out[0], 0.75, 1e-7);
  CHECK_NEAR(out[1], 0.25, 1e-7);
  CHECK_EQ(d.index, 0u);
  s.Update(p1, out);
  s.Update(p1, out);  // 0.75^3 = 0.421875
  CHECK_NEAR(out[0], 0.421875, 1e-6);
  d = s.Update(p1, out);
  CHECK_EQ(d.index, 1u);
  CHECK_NEAR(d.confidence, out[1], 0);
}

TEST(smoothing_mean_last_n) {
  TemporalSmoother<2, 3> s(SmoothingMode::kMean, 0.0f);
  float out[2];
  const float a[2] = {0.9f, 0.1f}, b[2] = {0.3f, 0.7f};
  s.Update(a, out);
  CHECK_NEAR(out[0], 0.9, 1e-6);
  s.Update(b, out);
  CHECK_NEAR(out[0], 0.6, 1e-6);
  s.Update(b, out);
  CHECK_NEAR(out[0], 0.5, 1e-6);
  Decision d = s.Update(b, out);  // a leaves the window
  CHECK_NEAR(out[0], 0.3, 1e-6);
  CHECK_EQ(d.index, 1u);
}

// -------------------------------------------------------------------- schedule
TEST(schedule_alignment) {
  constexpr Schedule s{49, 25, 5, 149, 25};
  static_assert(s.Aligned(), "paper-like schedule is aligned");
  CHECK(!s.KeywordDue(48));
  CHECK(s.KeywordDue(49));
  CHECK(!s.KeywordDue(50));
  CHECK(s.KeywordDue(74));
  CHECK(!s.DecisionDue(148));
  CHECK(s.DecisionDue(149));
  CHECK(s.DecisionDue(174));
  // at every decision the last kw_windows keyword runs tile the acoustic window
  int kw_ends[64];
  int n = 0;
  for (uint64_t f = 1; f <= 400; ++f) {
    if (s.KeywordDue(f)) kw_ends[n++] = static_cast<int>(f);
    if (s.DecisionDue(f)) {
      CHECK(n >= 5);
      CHECK_EQ(kw_ends[n - 1], static_cast<int>(f));
      CHECK_EQ(kw_ends[n - 5] - 49, static_cast<int>(f) - 149);
    }
  }
  constexpr Schedule bad{49, 25, 5, 150, 25};
  static_assert(!bad.Aligned(), "misaligned schedule is rejected");
  constexpr Schedule bad_hop{49, 25, 5, 149, 30};
  static_assert(!bad_hop.Aligned(), "decision hop must be a multiple of the keyword hop");
}

// ---------------------------------------------------------------------- crc32
TEST(crc32_matches_zlib) {
  const char* s = "123456789";
  CHECK_EQ(Crc32(reinterpret_cast<const uint8_t*>(s), 9), 0xCBF43926u);
  CHECK_EQ(Crc32(nullptr, 0), 0u);
  // incremental == one shot
  const uint32_t part = Crc32(reinterpret_cast<const uint8_t*>(s), 4);
  CHECK_EQ(Crc32(reinterpret_cast<const uint8_t*>(s) + 4, 5, part), 0xCBF43926u);
}

// ------------------------------------------------------------- serial format
TEST(format_fixed) {
  char b[32];
  CHECK(FormatFixed(b, sizeof(b), 0.81234f, 4) > 0);
  CHECK_STREQ(b, "0.8123");
  FormatFixed(b, sizeof(b), 0.99996f, 4);
  CHECK_STREQ(b, "1.0000");
  FormatFixed(b, sizeof(b), 0.00004f, 4);
  CHECK_STREQ(b, "0.0000");
  FormatFixed(b, sizeof(b), -1.5f, 2);
  CHECK_STREQ(b, "-1.50");
  FormatFixed(b, sizeof(b), -0.00001f, 4);
  CHECK_STREQ(b, "0.0000");  // no "-0.0000"
  FormatFixed(b, sizeof(b), NAN, 4);
  CHECK_STREQ(b, "0.0000");
  FormatFixed(b, sizeof(b), 12.0f, 0);
  CHECK_STREQ(b, "12");
  CHECK_EQ(FormatFixed(b, 4, 0.5f, 4), 0u);  // does not fit
}

TEST(format_decision_json) {
  char b[256];
  const float probs[4] = {0.05f, 0.81f, 0.1f, 0.04f};
  const size_t n = FormatDecisionJson(b, sizeof(b), 123456, "happy", 0.81f, probs, 4);
  CHECK(n > 0);
  CHECK_EQ(n, std::strlen(b));
  CHECK_STREQ(b, "{\"t_ms\":123456,\"emotion\":\"happy\",\"confidence\":0.8100,"
                 "\"probs\":[0.0500,0.8100,0.1000,0.0400]}");
  FormatDecisionJson(b, sizeof(b), 0, "a\"b\\c\n", 1.0f, probs, 1);
  CHECK_STREQ(b, "{\"t_ms\":0,\"emotion\":\"a\\\"b\\\\c\\u000a\",\"confidence\":1.0000,\"probs\":[0.0500]}");
  CHECK_EQ(FormatDecisionJson(b, 20, 1, "x", 0.5f, probs, 4), 0u);
}

TEST(format_bench_lines) {
  StageStats s{"frontend", 0, 0, 0, 0};
  s.Add(300);
  s.Add(301);
  s.Add(402);
  char b[160];
  CHECK(FormatBenchStage(b, sizeof(b), s) > 0);
  CHECK_STREQ(b, "BENCH stage=frontend n=3 us=334 min_us=300 max_us=402 total_us=1003");
  FormatBenchBegin(b, sizeof(b), 800, "ocram", 376832, 20);
  CHECK_STREQ(b, "BENCH begin version=1 board=coral-dev-board-micro cpu_mhz=800 arena=ocram arena_bytes=376832 decisions=20");
  FormatBenchEnd(b, sizeof(b), 7, 20);
  CHECK_STREQ(b, "BENCH end stages=7 decisions=20");
  StageStats empty{"acoustic", 0, 0, 0, 0};
  FormatBenchStage(b, sizeof(b), empty);
  CHECK_STREQ(b, "BENCH stage=acoustic n=0 us=0 min_us=0 max_us=0 total_us=0");
}
