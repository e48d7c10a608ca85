// The StreamPipeline's schedule and tensor quantisation as the generated model_io.h gives
// them. The board (through config_check.h, which adds the checks) and the host parity tool
// (core/tools/parity_stdin.cc) both configure their pipeline from here.
#ifndef EDGESER_CORE_MODEL_IO_STREAM_H_
#define EDGESER_CORE_MODEL_IO_STREAM_H_

#include <cstdint>

#include "model_io.h"
#include "edgeser/schedule.h"
#include "edgeser/stream.h"

namespace edgeser {
namespace model_io {

constexpr int kKwFrames = EDGESER_KEYWORD_INPUT_FRAMES;  // frames of one keyword window
constexpr int kKwDim = EDGESER_KEYWORD_OUTPUT_SIZE;  // keyword embedding values
constexpr int kKwWindows = EDGESER_KEYWORD_NUM_WINDOWS;  // keyword windows pooled per decision
constexpr int kAcFrames = EDGESER_ACOUSTIC_INPUT_FRAMES;  // frames of the acoustic window
constexpr int kAcDim = EDGESER_ACOUSTIC_OUTPUT_SIZE;  // acoustic embedding values
constexpr int kFusionInputs = EDGESER_FUSION_NUM_INPUTS;  // 2: separate inputs, 1: concatenated
constexpr int kFusionOutputs = EDGESER_FUSION_OUTPUT_SIZE;  // emotion logits

}  // namespace model_io

constexpr Schedule ModelIoSchedule() {
  return {static_cast<uint32_t>(EDGESER_KEYWORD_INPUT_FRAMES), static_cast<uint32_t>(EDGESER_KEYWORD_HOP_FRAMES),
          static_cast<uint32_t>(EDGESER_KEYWORD_NUM_WINDOWS), static_cast<uint32_t>(EDGESER_ACOUSTIC_INPUT_FRAMES),
          static_cast<uint32_t>(EDGESER_DECISION_HOP_FRAMES)};
}

inline StreamQuantization ModelIoQuantization() {
  return {
      {EDGESER_FEATURE_SCALE, EDGESER_FEATURE_ZERO_POINT},
      {EDGESER_KEYWORD_INPUT_SCALE, EDGESER_KEYWORD_INPUT_ZERO_POINT},
      {EDGESER_KEYWORD_OUTPUT_SCALE, EDGESER_KEYWORD_OUTPUT_ZERO_POINT},
      {EDGESER_ACOUSTIC_INPUT_SCALE, EDGESER_ACOUSTIC_INPUT_ZERO_POINT},
      {EDGESER_ACOUSTIC_OUTPUT_SCALE, EDGESER_ACOUSTIC_OUTPUT_ZERO_POINT},
      {EDGESER_FUSION_ACOUSTIC_SCALE, EDGESER_FUSION_ACOUSTIC_ZERO_POINT},
      {EDGESER_FUSION_KEYWORD_SCALE, EDGESER_FUSION_KEYWORD_ZERO_POINT},
      {EDGESER_FUSION_OUTPUT_SCALE, EDGESER_FUSION_OUTPUT_ZERO_POINT},
  };
}

namespace model_io {
constexpr Schedule kSchedule = ModelIoSchedule();
static_assert(kSchedule.Aligned(),
              "keyword windows must tile the acoustic window: (ACOUSTIC_INPUT_FRAMES - KEYWORD_INPUT_FRAMES) % "
              "KEYWORD_HOP_FRAMES == 0, KEYWORD_NUM_WINDOWS == that quotient + 1, "
              "DECISION_HOP_FRAMES % KEYWORD_HOP_FRAMES == 0");
}  // namespace model_io

}  // namespace edgeser

#endif  // EDGESER_CORE_MODEL_IO_STREAM_H_
