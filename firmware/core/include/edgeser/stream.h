// edgeser firmware core: the per-frame decision pipeline between the frontend
// and the three interpreters -- everything the board computes in integers
// around the models, in one place, so the app (app/main.cc) and the host
// parity tool (core/tools/parity_stdin.cc, tests/test_firmware_parity.py) run
// the same code.
//
// Per frontend frame (int8 features, quantisation EDGESER_FEATURE_*):
//   PushFrame(features)          window push; the frame clock f advances
//   if KeywordDue():             KeywordInput(dst)   -> keyword model input [Tk, C]
//                                (invoke)            PushKeywordEmbedding(output)
//   if DecisionDue():            AcousticInput(dst)  -> acoustic model input [T, C]
//                                (invoke)            FusionInputs(ac_output, fusion_ac, fusion_kw)
//                                (invoke)            Decide(logits, probs, smoothed)
//
// The integer algorithm (the parity contract, firmware/README.md):
//   model input  = lut[feature]       lut = Requantizer(feature -> model input), see quant.h
//   fusion_ac    = Requantizer(acoustic output -> fusion acoustic input).Apply(q)
//   fusion_kw[d] = clamp(MBQM(sum_{k<K} (q_k,d - z_kw_out), QM(s_kw_out / (K * s_fusion_kw))) + z_fusion_kw)
//   decision     = Postprocess (float32 softmax of the dequantised logits) + TemporalSmoother
// With EnableSpeakerNorm (recipe fusion.input_norm: speaker) the two fusion inputs instead
// come from SpeakerNorm (speaker_norm.h) on (q_ac - z_ac_out) and sum_k (q_k,d - z_kw_out):
// running statistics since NewSpeaker(), which Reset() keeps.
#ifndef EDGESER_CORE_STREAM_H_
#define EDGESER_CORE_STREAM_H_

#include <cstddef>
#include <cstdint>

#include "edgeser/feature_window.h"
#include "edgeser/pooling.h"
#include "edgeser/postprocess.h"
#include "edgeser/quant.h"
#include "edgeser/schedule.h"
#include "edgeser/speaker_norm.h"

namespace edgeser {

// real = (q - zero_point) * scale
struct TensorQuantization {
  float scale;
  int32_t zero_point;
};

// The quantisation of every int8 tensor the core touches (model_io.h).
struct StreamQuantization {
  TensorQuantization feature;          // EDGESER_FEATURE_*
  TensorQuantization keyword_input;    // EDGESER_KEYWORD_INPUT_*
  TensorQuantization keyword_output;   // EDGESER_KEYWORD_OUTPUT_*
  TensorQuantization acoustic_input;   // EDGESER_ACOUSTIC_INPUT_*
  TensorQuantization acoustic_output;  // EDGESER_ACOUSTIC_OUTPUT_*
  TensorQuantization fusion_acoustic;  // EDGESER_FUSION_ACOUSTIC_*
  TensorQuantization fusion_keyword;   // EDGESER_FUSION_KEYWORD_*
  TensorQuantization fusion_output;    // EDGESER_FUSION_OUTPUT_*
};

template <size_t kAcFrames, size_t kChannels, size_t kKwFrames, size_t kKwWindows, size_t kKwDim, size_t kAcDim,
          size_t kClasses, size_t kHistory>
class StreamPipeline {
  static_assert(kKwFrames > 0 && kKwFrames <= kAcFrames, "need 0 < keyword frames <= acoustic frames");

 public:
  static constexpr size_t kKeywordInputSize = kKwFrames * kChannels;
  static constexpr size_t kAcousticInputSize = kAcFrames * kChannels;

  StreamPipeline(SmoothingMode mode, float alpha, size_t history = kHistory) : smoother_(mode, alpha, history) {
    for (int q = -128; q <= 127; ++q) kw_lut_[q + 128] = ac_lut_[q + 128] = static_cast<int8_t>(q);
  }

  // Once at start-up (the app, after checking the tensors against model_io.h).
  void Configure(const StreamQuantization& q, const Schedule& schedule) {
    q_ = q;
    schedule_ = schedule;
    const Requantizer kw_in = Requantizer::Make(q.feature.scale, q.feature.zero_point, q.keyword_input.scale,
                                                q.keyword_input.zero_point);
    const Requantizer ac_in = Requantizer::Make(q.feature.scale, q.feature.zero_point, q.acoustic_input.scale,
                                                q.acoustic_input.zero_point);
    kw_identity_ = kw_in.identity;
    ac_identity_ = ac_in.identity;
    BuildRequantLut(kw_in, kw_lut_);
    BuildRequantLut(ac_in, ac_lut_);
    ac_to_fusion_ = Requantizer::Make(q.acoustic_output.scale, q.acoustic_output.zero_point, q.fusion_acoustic.scale,
                                      q.fusion_acoustic.zero_point);
    pool_to_fusion_ = EmbeddingPool<kKwWindows, kKwDim>::MakeRequantizer(
        q.keyword_output.scale, q.keyword_output.zero_point, q.fusion_keyword.scale, q.fusion_keyword.zero_point);
    Reset();
  }

  // After Configure: standardise the fusion inputs per speaker, starting from `prior`.
  void EnableSpeakerNorm(const SpeakerPrior& prior) {
    speaker_.Configure(prior, static_cast<double>(q_.acoustic_output.scale),
                       static_cast<double>(q_.keyword_output.scale) / static_cast<double>(kKwWindows),
                       static_cast<double>(q_.fusion_acoustic.scale), q_.fusion_acoustic.zero_point,
                       static_cast<double>(q_.fusion_keyword.scale), q_.fusion_keyword.zero_point);
    speaker_norm_ = true;
  }
  bool speaker_norm() const { return speaker_norm_; }
  // Another voice from here on: the running speaker statistics restart from the prior.
  void NewSpeaker() { speaker_.Reset(); }
  uint32_t speaker_decisions() const { return speaker_.count(); }

  // Forgets the audio (window, pool, smoother); keeps the configuration and the speaker statistics.
  void Reset() {
    window_.Reset();
    pool_.Reset();
    smoother_.Reset();
  }

  // One frontend frame of kChannels int8 features. Returns the frame clock f.
  uint64_t PushFrame(const int8_t* features) {
    window_.Push(features);
    return window_.total_pushed();
  }
  uint64_t frames() const { return window_.total_pushed(); }

  bool KeywordDue() const { return schedule_.KeywordDue(window_.total_pushed()); }
  // After this frame's keyword embedding was pushed (the pool must be full).
  bool DecisionDue() const { return schedule_.DecisionDue(window_.total_pushed()) && pool_.ready(); }

  // The keyword model's input: the latest kKwFrames frames, [Tk, C] row-major.
  void KeywordInput(int8_t* dst) const {
    if (kw_identity_) window_.CopyLatest(dst, kKwFrames);
    else window_.CopyLatestMapped(dst, kKwFrames, kw_lut_);
  }
  void PushKeywordEmbedding(const int8_t* embedding) { pool_.Push(embedding); }

  // The acoustic model's input: the latest kAcFrames frames, [T, C] row-major.
  void AcousticInput(int8_t* dst) const {
    if (ac_identity_) window_.CopyLatest(dst, kAcFrames);
    else window_.CopyLatestMapped(dst, kAcFrames, ac_lut_);
  }

  // The fusion head's inputs from the acoustic model's output and the pool (with speaker
  // normalisation, this decision then joins the speaker statistics).
  bool FusionInputs(const int8_t* acoustic_embedding, int8_t* fusion_acoustic, int8_t* fusion_keyword) {
    if (!speaker_norm_) {
      RequantizeVector(acoustic_embedding, kAcDim, ac_to_fusion_, fusion_acoustic);
      return pool_.Pool(pool_to_fusion_, fusion_keyword);
    }
    if (!pool_.Sums(q_.keyword_output.zero_point, centred_ + kAcDim)) return false;
    for (size_t d = 0; d < kAcDim; ++d) {
      centred_[d] = static_cast<int32_t>(acoustic_embedding[d]) - q_.acoustic_output.zero_point;
    }
    speaker_.Apply(centred_, fusion_acoustic, fusion_keyword);
    return true;
  }

  // Fusion logits -> probs (softmax) -> smoothed (the JSON line's probs).
  Decision Decide(const int8_t* logits, float* probs, float* smoothed) {
    Postprocess(logits, kClasses, q_.fusion_output.scale, q_.fusion_output.zero_point, probs);
    return smoother_.Update(probs, smoothed);
  }

 private:
  StreamQuantization q_{};
  Schedule schedule_{kKwFrames, 1, kKwWindows, kAcFrames, 1};
  FeatureWindow<kAcFrames, kChannels> window_;
  EmbeddingPool<kKwWindows, kKwDim> pool_;
  TemporalSmoother<kClasses, kHistory> smoother_;
  int8_t kw_lut_[256];
  int8_t ac_lut_[256];
  bool kw_identity_ = true;
  bool ac_identity_ = true;
  Requantizer ac_to_fusion_{};
  Requantizer pool_to_fusion_{};
  SpeakerNorm<kAcDim, kKwDim> speaker_;
  bool speaker_norm_ = false;
  int32_t centred_[kAcDim + kKwDim] = {};
};

}  // namespace edgeser

#endif  // EDGESER_CORE_STREAM_H_
