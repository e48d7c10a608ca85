// edgeser firmware: compile-time checks of the generated headers.
// Include after frontend_config.h, model_io.h, labels.h and memory_plan.h are
// on the include path. A failing static_assert names the broken rule, so a bad
// export fails the build instead of misbehaving on the board.
// `make -C firmware check-generated GENERATED=<dir>` runs these on the host.
#ifndef EDGESER_CORE_CONFIG_CHECK_H_
#define EDGESER_CORE_CONFIG_CHECK_H_

#include <cstddef>
#include <cstdint>

#include "frontend_config.h"
#include "labels.h"
#include "memory_plan.h"
#include "model_io.h"
#include "edgeser/app_config.h"
#include "edgeser/frontend_setup.h"
#include "edgeser/model_io_stream.h"
#include "edgeser/schedule.h"

namespace edgeser {
namespace config {

// --- frontend_config.h ------------------------------------------------------
constexpr int kSampleRate = EDGESER_FRONTEND_SAMPLE_RATE;
constexpr int kNumChannels = EDGESER_FRONTEND_NUM_CHANNELS;
constexpr int kWindowSamples = EDGESER_FRONTEND_WINDOW_SAMPLES;
constexpr int kStrideSamples = EDGESER_FRONTEND_STRIDE_SAMPLES;
constexpr int kFftSize = EDGESER_FRONTEND_FFT_SIZE;
static_assert(kSampleRate > 0, "EDGESER_FRONTEND_SAMPLE_RATE must be positive");
static_assert(kNumChannels > 0, "EDGESER_FRONTEND_NUM_CHANNELS must be positive");
static_assert(kWindowSamples == EDGESER_FRONTEND_WINDOW_MS * EDGESER_FRONTEND_SAMPLE_RATE / 1000,
              "EDGESER_FRONTEND_WINDOW_SAMPLES != WINDOW_MS * SAMPLE_RATE / 1000");
static_assert(kStrideSamples == EDGESER_FRONTEND_STRIDE_MS * EDGESER_FRONTEND_SAMPLE_RATE / 1000,
              "EDGESER_FRONTEND_STRIDE_SAMPLES != STRIDE_MS * SAMPLE_RATE / 1000");
static_assert(kStrideSamples >= 1 && kStrideSamples <= kWindowSamples, "stride must be in 1..window samples");
static_assert((kFftSize & (kFftSize - 1)) == 0 && kFftSize >= kWindowSamples && kFftSize / 2 < kWindowSamples,
              "EDGESER_FRONTEND_FFT_SIZE must be the smallest power of two >= WINDOW_SAMPLES");
static_assert(EDGESER_FRONTEND_INT8_SCALE_NUM > 0 && EDGESER_FRONTEND_INT8_SCALE_DEN > 0,
              "int8 mapping: INT8_SCALE_NUM and INT8_SCALE_DEN must be positive");
static_assert(EDGESER_FRONTEND_INT8_OFFSET >= -128 && EDGESER_FRONTEND_INT8_OFFSET <= 127,
              "int8 mapping: INT8_OFFSET must be in -128..127");
static_assert(EDGESER_FRONTEND_NOISE_REDUCTION == 0 || EDGESER_FRONTEND_NOISE_REDUCTION == 1, "NOISE_REDUCTION is 0/1");
static_assert(EDGESER_FRONTEND_PCAN == 0 || EDGESER_FRONTEND_PCAN == 1, "PCAN is 0/1");
static_assert(EDGESER_FRONTEND_LOG_SCALE == 0 || EDGESER_FRONTEND_LOG_SCALE == 1, "LOG_SCALE is 0/1");
static_assert(EDGESER_FRONTEND_SMOOTHING_BITS >= 0 && EDGESER_FRONTEND_SMOOTHING_BITS <= 16, "SMOOTHING_BITS 0..16");
static_assert(EDGESER_FRONTEND_GAIN_BITS >= 1 && EDGESER_FRONTEND_GAIN_BITS <= 31, "GAIN_BITS 1..31");
static_assert(EDGESER_FRONTEND_LOG_SHIFT >= 0 && EDGESER_FRONTEND_LOG_SHIFT <= 15, "LOG_SHIFT 0..15");
// Floats are checked at compile time as constant expressions too.
static_assert(EDGESER_FRONTEND_LOWER_BAND_HZ > 0 && EDGESER_FRONTEND_LOWER_BAND_HZ < EDGESER_FRONTEND_UPPER_BAND_HZ,
              "0 < LOWER_BAND_HZ < UPPER_BAND_HZ");
static_assert(EDGESER_FRONTEND_UPPER_BAND_HZ <= EDGESER_FRONTEND_SAMPLE_RATE / 2.0, "UPPER_BAND_HZ above Nyquist");

// The C library's FrontendConfig, exactly as edgeser.frontend.microfrontend.
// op_attributes() derives it: noise_reduction == 0 -> smoothing_bits 0 and all
// three coefficients 0 (the stage then passes the signal through). The
// exporter writes these as EDGESER_FRONTEND_C_*; older headers without them
// get the same derivation here.
// (FrontendCSettings: edgeser/frontend_setup.h)
#ifdef EDGESER_FRONTEND_C_SMOOTHING_BITS
constexpr FrontendCSettings kFrontendC = {
    EDGESER_FRONTEND_C_WINDOW_SIZE, EDGESER_FRONTEND_C_WINDOW_STEP, EDGESER_FRONTEND_C_NUM_CHANNELS,
    static_cast<float>(EDGESER_FRONTEND_C_UPPER_BAND_LIMIT), static_cast<float>(EDGESER_FRONTEND_C_LOWER_BAND_LIMIT),
    EDGESER_FRONTEND_C_SMOOTHING_BITS, static_cast<float>(EDGESER_FRONTEND_C_EVEN_SMOOTHING),
    static_cast<float>(EDGESER_FRONTEND_C_ODD_SMOOTHING), static_cast<float>(EDGESER_FRONTEND_C_MIN_SIGNAL_REMAINING),
    EDGESER_FRONTEND_C_ENABLE_PCAN, static_cast<float>(EDGESER_FRONTEND_C_PCAN_STRENGTH),
    static_cast<float>(EDGESER_FRONTEND_C_PCAN_OFFSET), EDGESER_FRONTEND_C_GAIN_BITS, EDGESER_FRONTEND_C_ENABLE_LOG,
    EDGESER_FRONTEND_C_SCALE_SHIFT};
static_assert(EDGESER_FRONTEND_C_SAMPLE_RATE == EDGESER_FRONTEND_SAMPLE_RATE, "C_SAMPLE_RATE != SAMPLE_RATE");
#else
constexpr bool kNr = EDGESER_FRONTEND_NOISE_REDUCTION != 0;
constexpr FrontendCSettings kFrontendC = {
    EDGESER_FRONTEND_WINDOW_MS, EDGESER_FRONTEND_STRIDE_MS, EDGESER_FRONTEND_NUM_CHANNELS,
    static_cast<float>(EDGESER_FRONTEND_UPPER_BAND_HZ), static_cast<float>(EDGESER_FRONTEND_LOWER_BAND_HZ),
    kNr ? EDGESER_FRONTEND_SMOOTHING_BITS : 0, kNr ? static_cast<float>(EDGESER_FRONTEND_EVEN_SMOOTHING) : 0.0f,
    kNr ? static_cast<float>(EDGESER_FRONTEND_ODD_SMOOTHING) : 0.0f,
    kNr ? static_cast<float>(EDGESER_FRONTEND_MIN_SIGNAL_REMAINING) : 0.0f, EDGESER_FRONTEND_PCAN,
    static_cast<float>(EDGESER_FRONTEND_PCAN_STRENGTH), static_cast<float>(EDGESER_FRONTEND_PCAN_OFFSET),
    EDGESER_FRONTEND_GAIN_BITS, EDGESER_FRONTEND_LOG_SCALE, EDGESER_FRONTEND_LOG_SHIFT};
#endif
static_assert(kFrontendC.window_size_ms == EDGESER_FRONTEND_WINDOW_MS &&
                  kFrontendC.window_step_ms == EDGESER_FRONTEND_STRIDE_MS &&
                  kFrontendC.num_channels == EDGESER_FRONTEND_NUM_CHANNELS,
              "EDGESER_FRONTEND_C_* window/stride/channels disagree with the config fields");
static_assert(EDGESER_FRONTEND_NOISE_REDUCTION != 0 ||
                  (kFrontendC.smoothing_bits == 0 && kFrontendC.even_smoothing == 0.0f &&
                   kFrontendC.odd_smoothing == 0.0f),
              "noise reduction off must reach the C library as zero smoothing");
static_assert(kFrontendC.enable_pcan == EDGESER_FRONTEND_PCAN && kFrontendC.enable_log == EDGESER_FRONTEND_LOG_SCALE,
              "EDGESER_FRONTEND_C_ENABLE_PCAN/_ENABLE_LOG disagree with PCAN/LOG_SCALE");

// The board's PDM microphone path (AudioService) runs at 16 or 48 kHz.
static_assert(kSampleRate == 16000 || kSampleRate == 48000, "the board records at 16000 or 48000 Hz");

// --- labels.h -----------------------------------------------------------------
constexpr int kNumEmotions = EDGESER_NUM_EMOTIONS;
constexpr const char* kLabels[] = EDGESER_EMOTION_LABELS;
static_assert(sizeof(kLabels) / sizeof(kLabels[0]) == static_cast<size_t>(kNumEmotions),
              "EDGESER_EMOTION_LABELS must list EDGESER_NUM_EMOTIONS labels");
static_assert(kNumEmotions >= 2, "need at least two emotions");
#ifdef EDGESER_EMOTION_LED_CODES
constexpr int kLedCodes[] = EDGESER_EMOTION_LED_CODES;
static_assert(sizeof(kLedCodes) / sizeof(kLedCodes[0]) == static_cast<size_t>(kNumEmotions),
              "EDGESER_EMOTION_LED_CODES needs one code per emotion");
#endif
constexpr int LedCode(int index) {
#ifdef EDGESER_EMOTION_LED_CODES
  return kLedCodes[index] & 3;
#else
  return index % 4;
#endif
}

// --- model_io.h -----------------------------------------------------------------
using namespace model_io;  // kKwFrames, kKwDim, kKwWindows, kAcFrames, kAcDim, kFusionInputs, kSchedule
static_assert(EDGESER_KEYWORD_INPUT_CHANNELS == kNumChannels, "keyword model channels != frontend channels");
static_assert(EDGESER_ACOUSTIC_INPUT_CHANNELS == kNumChannels, "acoustic model channels != frontend channels");
static_assert(kKwFrames > 0 && kAcFrames >= kKwFrames, "need 0 < KEYWORD_INPUT_FRAMES <= ACOUSTIC_INPUT_FRAMES");
static_assert(kFusionInputs == 1 || kFusionInputs == 2, "EDGESER_FUSION_NUM_INPUTS must be 1 or 2");
static_assert(EDGESER_FUSION_ACOUSTIC_SIZE == kAcDim, "FUSION_ACOUSTIC_SIZE != ACOUSTIC_OUTPUT_SIZE");
static_assert(EDGESER_FUSION_KEYWORD_SIZE == kKwDim, "FUSION_KEYWORD_SIZE != KEYWORD_OUTPUT_SIZE");
static_assert(kFusionInputs == 2 || (EDGESER_FUSION_ACOUSTIC_SCALE == EDGESER_FUSION_KEYWORD_SCALE &&
                                     EDGESER_FUSION_ACOUSTIC_ZERO_POINT == EDGESER_FUSION_KEYWORD_ZERO_POINT),
              "a single concatenated fusion input has one scale and zero point");
static_assert(EDGESER_FUSION_OUTPUT_SIZE == kNumEmotions, "FUSION_OUTPUT_SIZE != EDGESER_NUM_EMOTIONS");
static_assert(EDGESER_FEATURE_SCALE > 0 && EDGESER_KEYWORD_INPUT_SCALE > 0 && EDGESER_ACOUSTIC_INPUT_SCALE > 0 &&
                  EDGESER_KEYWORD_OUTPUT_SCALE > 0 && EDGESER_ACOUSTIC_OUTPUT_SCALE > 0 &&
                  EDGESER_FUSION_ACOUSTIC_SCALE > 0 && EDGESER_FUSION_KEYWORD_SCALE > 0 &&
                  EDGESER_FUSION_OUTPUT_SCALE > 0,
              "all scales must be positive");

// --- memory_plan.h ----------------------------------------------------------------
constexpr size_t kArenaKeyword = EDGESER_ARENA_KEYWORD_BYTES;
constexpr size_t kArenaAcoustic = EDGESER_ARENA_ACOUSTIC_BYTES;
constexpr size_t kArenaFusion = EDGESER_ARENA_FUSION_BYTES;
constexpr size_t kArenaBytes = EDGESER_ARENA_BYTES;
constexpr bool kArenaInOcram = EDGESER_ARENA_IN_OCRAM != 0;
static_assert(kArenaKeyword % 16 == 0 && kArenaAcoustic % 16 == 0 && kArenaFusion % 16 == 0,
              "arena slices must be multiples of 16 bytes");
static_assert(kArenaKeyword > 0 && kArenaAcoustic > 0 && kArenaFusion > 0, "arena slices must be non-empty");
static_assert(kArenaBytes == kArenaKeyword + kArenaAcoustic + kArenaFusion,
              "EDGESER_ARENA_BYTES != sum of the per-model slices");
static_assert(!kArenaInOcram || kArenaBytes <= EDGESER_OCRAM_ARENA_LIMIT_BYTES,
              "the arena does not fit in OCRAM: regenerate memory_plan.h with EDGESER_ARENA_IN_OCRAM 0");
static_assert(EDGESER_ARENA_IN_OCRAM == 0 || EDGESER_ARENA_IN_OCRAM == 1, "EDGESER_ARENA_IN_OCRAM is 0/1");
constexpr const char* kArenaPlacement = kArenaInOcram ? "ocram" : "sdram";

// --- app_config.h -----------------------------------------------------------------
static_assert(EDGESER_SMOOTHING_MODE == 0 || EDGESER_SMOOTHING_MODE == 1, "EDGESER_SMOOTHING_MODE is 0 (EMA) or 1 (mean)");
static_assert(EDGESER_SMOOTHING_ALPHA > 0 && EDGESER_SMOOTHING_ALPHA <= 1, "EDGESER_SMOOTHING_ALPHA in (0, 1]");
static_assert(EDGESER_SMOOTHING_HISTORY >= 1, "EDGESER_SMOOTHING_HISTORY >= 1");
constexpr size_t kAudioRingSamples = static_cast<size_t>(EDGESER_AUDIO_RING_MS) * kSampleRate / 1000;
static_assert(kAudioRingSamples >= static_cast<size_t>(2 * kWindowSamples), "audio ring shorter than two windows");

}  // namespace config
}  // namespace edgeser

#endif  // EDGESER_CORE_CONFIG_CHECK_H_
