// edgeser_core_parity: the board's decision pipeline (edgeser/stream.h, the
// same StreamPipeline app/main.cc runs) behind a stdin/stdout protocol, with
// the interpreters replaced by the caller. tests/test_firmware_parity.py feeds
// it the int8 feature frames of real clips, answers each model request with
// the int8 output TFLite-Micro gives on exactly the bytes printed, and checks
// that the Python pipeline (edgeser.evaluation.int8.BoardChain) computes the
// same model inputs and decisions.
//
// Built against a generated model_io.h (sizes are compile-time, as on the
// board):  make -C firmware parity GENERATED=<dir with model_io.h>
// Smoothing follows app_config.h (EDGESER_DEFINES / -D to change).
//
// Protocol: one command per line; every number is a decimal integer unless
// noted. After each command the tool prints its lines and then "done F" (F =
// the frame clock), or "error <reason>".
//
//   frame q[C]     push one feature frame. Then, as the board would:
//     keyword due  -> prints  "keyword_in F q[Tk*C]"
//                     reads   "keyword_out e[KW_DIM]"
//     decision due -> prints  "acoustic_in F q[T*C]"
//                     reads   "acoustic_out e[AC_DIM]"
//                     prints  "fusion_acoustic F q[AC_DIM]"
//                             "fusion_keyword F q[KW_DIM]"
//                     reads   "fusion_out logits[N]"
//                     prints  "decision F index confidence p[N] s[N]"
//                             (p = softmax, s = smoothed; floats as %.9g)
//   reset          forget the audio (window, pool, smoother); the speaker statistics stay
//   speaker        a new speaker: the running speaker statistics restart from the prior
//   info           prints "info C Tk T K KW_DIM AC_DIM N KW_HOP DECISION_HOP SMOOTHING_MODE SPEAKER_NORM"
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "model_io.h"
#include "edgeser/app_config.h"
#include "edgeser/model_io_stream.h"
#include "edgeser/stream.h"

using namespace edgeser;

namespace {

using namespace edgeser::model_io;  // sizes and the schedule of model_io.h

constexpr size_t kC = EDGESER_ACOUSTIC_INPUT_CHANNELS;
constexpr size_t kN = kFusionOutputs;
static_assert(EDGESER_KEYWORD_INPUT_CHANNELS == EDGESER_ACOUSTIC_INPUT_CHANNELS, "one channel count");

using Pipeline = StreamPipeline<kAcFrames, kC, kKwFrames, kKwWindows, kKwDim, kAcDim, kN,
                                EDGESER_SMOOTHING_HISTORY>;

template <typename T>
void PrintInts(const char* tag, uint64_t f, const T* v, size_t n) {
  std::printf("%s %llu", tag, static_cast<unsigned long long>(f));
  for (size_t i = 0; i < n; ++i) std::printf(" %d", static_cast<int>(v[i]));
  std::printf("\n");
}

// Reads one line "<tag> v[n]" from stdin into out (int8). On a mismatch prints
// "error expected <tag> with n int8 values" and returns false.
bool ReadReply(const char* tag, size_t n, int8_t* out) {
  std::fflush(stdout);
  std::string line;
  size_t i = 0;
  bool ok = static_cast<bool>(std::getline(std::cin, line));
  if (ok) {
    std::istringstream in(line);
    std::string got;
    in >> got;
    ok = got == tag;
    long v;
    while (ok && in >> v) {
      ok = i < n && v >= -128 && v <= 127;
      if (ok) out[i++] = static_cast<int8_t>(v);
    }
  }
  if (ok && i == n) return true;
  std::printf("error expected %s with %zu int8 values\n", tag, n);
  return false;
}

}  // namespace

int main() {
  static Pipeline pipeline(EDGESER_SMOOTHING_MODE == 1 ? SmoothingMode::kMean : SmoothingMode::kEma,
                           EDGESER_SMOOTHING_ALPHA);
  ConfigureFromModelIo(pipeline);

  static int8_t kw_in[Pipeline::kKeywordInputSize], ac_in[Pipeline::kAcousticInputSize];
  int8_t frame[kC], kw_out[kKwDim], ac_out[kAcDim], fusion_ac[kAcDim], fusion_kw[kKwDim], logits[kN];
  float probs[kN], smoothed[kN];

  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    std::string cmd;
    if (!(in >> cmd)) continue;
    if (cmd == "info") {
      std::printf("info %zu %d %d %d %d %d %zu %d %d %d %d\n", kC, kKwFrames, kAcFrames, kKwWindows, kKwDim, kAcDim,
                  kN, EDGESER_KEYWORD_HOP_FRAMES, EDGESER_DECISION_HOP_FRAMES, EDGESER_SMOOTHING_MODE,
                  pipeline.speaker_norm() ? 1 : 0);
    } else if (cmd == "reset") {
      pipeline.Reset();
      std::printf("done 0\n");
    } else if (cmd == "speaker") {
      pipeline.NewSpeaker();
      std::printf("done 0\n");
    } else if (cmd == "frame") {
      long v;
      size_t n = 0;
      bool ok = true;
      while (in >> v) {
        if (n == kC || v < -128 || v > 127) ok = false;
        else frame[n] = static_cast<int8_t>(v);
        ++n;
      }
      if (!ok || n != kC) {
        std::printf("error frame needs %zu int8 values\n", kC);
        std::fflush(stdout);
        continue;
      }
      const uint64_t f = pipeline.PushFrame(frame);
      if (pipeline.KeywordDue()) {
        pipeline.KeywordInput(kw_in);
        PrintInts("keyword_in", f, kw_in, sizeof(kw_in));
        if (!ReadReply("keyword_out", kKwDim, kw_out)) return 1;
        pipeline.PushKeywordEmbedding(kw_out);
      }
      if (pipeline.DecisionDue()) {
        pipeline.AcousticInput(ac_in);
        PrintInts("acoustic_in", f, ac_in, sizeof(ac_in));
        if (!ReadReply("acoustic_out", kAcDim, ac_out)) return 1;
        pipeline.FusionInputs(ac_out, fusion_ac, fusion_kw);
        PrintInts("fusion_acoustic", f, fusion_ac, kAcDim);
        PrintInts("fusion_keyword", f, fusion_kw, kKwDim);
        if (!ReadReply("fusion_out", kN, logits)) return 1;
        const Decision d = pipeline.Decide(logits, probs, smoothed);
        std::printf("decision %llu %zu %.9g", static_cast<unsigned long long>(f), d.index,
                    static_cast<double>(d.confidence));
        for (size_t i = 0; i < kN; ++i) std::printf(" %.9g", static_cast<double>(probs[i]));
        for (size_t i = 0; i < kN; ++i) std::printf(" %.9g", static_cast<double>(smoothed[i]));
        std::printf("\n");
      }
      std::printf("done %llu\n", static_cast<unsigned long long>(f));
    } else {
      std::printf("error unknown command %s\n", cmd.c_str());
    }
    std::fflush(stdout);
  }
  return 0;
}
