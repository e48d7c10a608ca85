// The StreamPipeline's schedule and tensor quantisation as the generated model_io.h gives
// them. The board (through config_check.h, which adds the checks) and the host parity tool
// (core/tools/parity_stdin.cc) both configure their pipeline from here (ConfigureFromModelIo),
// including the speaker prior when model_io.h sets EDGESER_SPEAKER_NORM 1.
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

#ifndef EDGESER_SPEAKER_NORM
#define EDGESER_SPEAKER_NORM 0  // model_io.h of a head on raw embeddings
#endif
constexpr bool kSpeakerNorm = EDGESER_SPEAKER_NORM != 0;  // fusion inputs standardised per speaker
#if EDGESER_SPEAKER_NORM
constexpr double kSpeakerPriorMean[] = EDGESER_SPEAKER_PRIOR_MEAN;  // real units, [acoustic | keyword]
constexpr double kSpeakerPriorVar[] = EDGESER_SPEAKER_PRIOR_VAR;
static_assert(sizeof(kSpeakerPriorMean) == sizeof(double) * (kAcDim + kKwDim) &&
                  sizeof(kSpeakerPriorVar) == sizeof(kSpeakerPriorMean),
              "the speaker prior needs ACOUSTIC_OUTPUT_SIZE + KEYWORD_OUTPUT_SIZE means and variances");
#endif
}  // namespace model_io

// Quantisation, schedule and (EDGESER_SPEAKER_NORM) the speaker prior of model_io.h.
template <class Pipeline>
void ConfigureFromModelIo(Pipeline& pipeline) {
  pipeline.Configure(ModelIoQuantization(), model_io::kSchedule);
#if EDGESER_SPEAKER_NORM
  pipeline.EnableSpeakerNorm({model_io::kSpeakerPriorMean, model_io::kSpeakerPriorVar, EDGESER_SPEAKER_PRIOR_WEIGHT,
                              EDGESER_SPEAKER_PRIOR_EPSILON});
#endif
}

}  // namespace edgeser

#endif  // EDGESER_CORE_MODEL_IO_STREAM_H_
