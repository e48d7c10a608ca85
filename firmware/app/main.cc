// edgeser board app for the Coral Dev Board Micro (coralmicro SDK, FreeRTOS,
// Cortex-M7 + Edge TPU): PDM microphone -> ring buffer -> MicroFrontend ->
// int8 feature window -> keyword model (every keyword hop, embeddings pooled)
// + acoustic model -> fusion head -> softmax -> temporal smoothing -> one JSON
// line per decision on the USB serial console and the emotion on the LEDs.
// Benchmark builds (EDGESER_BENCHMARK_DECISIONS > 0) end with a BENCH block.
// Everything that is not a driver call lives in firmware/core (host-tested).
// Protocol and build steps: firmware/README.md.

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>
#include <vector>

#include "libs/audio/audio_service.h"
#include "libs/base/filesystem.h"
#include "libs/base/led.h"
#include "libs/base/timer.h"
#include "libs/tensorflow/utils.h"
#include "libs/tpu/edgetpu_manager.h"
#include "libs/tpu/edgetpu_op.h"
#include "third_party/freertos_kernel/include/FreeRTOS.h"
#include "third_party/freertos_kernel/include/semphr.h"
#include "third_party/freertos_kernel/include/task.h"
#include "third_party/tflite-micro/tensorflow/lite/experimental/microfrontend/lib/frontend.h"
#include "third_party/tflite-micro/tensorflow/lite/experimental/microfrontend/lib/frontend_util.h"
#include "third_party/tflite-micro/tensorflow/lite/micro/micro_error_reporter.h"
#include "third_party/tflite-micro/tensorflow/lite/micro/micro_interpreter.h"
#include "third_party/tflite-micro/tensorflow/lite/micro/micro_mutable_op_resolver.h"

// Generated headers (EDGESER_GENERATED_DIR) + the compile-time checks on them.
#include "edgeser/config_check.h"

#if !EDGESER_MODELS_FROM_LFS
#include "edgeser/model_arrays.h"
#endif

// Portable core.
#include "edgeser/crc32.h"
#include "edgeser/feature_window.h"
#include "edgeser/frontend_setup.h"
#include "edgeser/pooling.h"
#include "edgeser/postprocess.h"
#include "edgeser/quant.h"
#include "edgeser/ring_buffer.h"
#include "edgeser/schedule.h"
#include "edgeser/serial_format.h"
#include "edgeser/stream.h"

#ifndef EDGESER_FIRMWARE_VERSION
#define EDGESER_FIRMWARE_VERSION "0.1.0"
#endif

namespace coralmicro {
namespace {

using namespace edgeser;
using namespace edgeser::config;

// ------------------------------------------------------------------ storage
// The tensor arena: placement chosen by memory_plan.h. The SDK's Cortex-M7 linker
// script (MIMXRT1176xxxxx_cm7_ram.ld) has a .sdram_bss section but no .ocram_bss
// (only the CM4 script has one), so OCRAM needs a linker script of your own that
// adds it: build with EDGESER_LINKER_HAS_OCRAM_BSS=1 to say so.
#if EDGESER_ARENA_IN_OCRAM
#if !EDGESER_LINKER_HAS_OCRAM_BSS
#error "memory_plan.h puts the arena in OCRAM, but the SDK's M7 linker script has no .ocram_bss section: regenerate memory_plan.h (EDGESER_ARENA_IN_OCRAM 0) or link with your own script and EDGESER_LINKER_HAS_OCRAM_BSS=1"
#endif
STATIC_TENSOR_ARENA_IN_OCRAM(g_arena, EDGESER_ARENA_BYTES);
#else
STATIC_TENSOR_ARENA_IN_SDRAM(g_arena, EDGESER_ARENA_BYTES);
#endif

// RT1176 memory map: on-chip RAM (FlexRAM OCRAM + OCRAM1/2 + ECC) and SEMC SDRAM.
constexpr uintptr_t kOcramBegin = 0x20200000u, kOcramEnd = 0x20360000u;
constexpr uintptr_t kSdramBegin = 0x80000000u, kSdramEnd = 0x84000000u;

// Audio: PDM microphone via AudioService, 32-bit words -> int16 ring buffer.
constexpr int kSamplesPerMs = kSampleRate / 1000;
constexpr int kNumDmaBuffers = 2;
constexpr int kDmaBufferSizeMs = 50;
constexpr int kDmaBufferSize = kNumDmaBuffers * kSamplesPerMs * kDmaBufferSizeMs;
constexpr int kAudioServicePriority = 4;
constexpr int kDropFirstSamplesMs = 150;
AudioDriverBuffers<kNumDmaBuffers, kDmaBufferSize> g_audio_buffers;
AudioDriver g_audio_driver(g_audio_buffers);

RingBuffer<kAudioRingSamples> g_ring;
SemaphoreHandle_t g_ring_mutex = nullptr;
TaskHandle_t g_main_task = nullptr;

// Feature window, schedule, input requantisation tables, keyword pool, fusion
// input requantisation, softmax and smoothing: the portable core's
// StreamPipeline (edgeser/stream.h), the code tests/test_firmware_parity.py
// checks against the Python pipeline.
using Pipeline = StreamPipeline<kAcFrames, kNumChannels, kKwFrames, kKwWindows, kKwDim, kAcDim, kNumEmotions,
                                EDGESER_SMOOTHING_HISTORY>;
Pipeline g_pipeline(EDGESER_SMOOTHING_MODE == 1 ? SmoothingMode::kMean : SmoothingMode::kEma,
                    EDGESER_SMOOTHING_ALPHA);

// Benchmark stages, in print order (names: firmware/README.md).
enum Stage { kFrontend, kKeyword, kAcoustic, kFusion, kPostprocess, kReport, kDecision, kNumStages };
StageStats g_stats[kNumStages] = {
    {"frontend", 0, 0, 0, 0}, {"keyword", 0, 0, 0, 0}, {"acoustic", 0, 0, 0, 0}, {"fusion", 0, 0, 0, 0},
    {"postprocess", 0, 0, 0, 0}, {"report", 0, 0, 0, 0}, {"decision", 0, 0, 0, 0}};

char g_line[512];

// ------------------------------------------------------------------ helpers
[[noreturn]] void Fatal(const char* what) {
  // Repeat the message so a serial monitor attached late still sees it.
  while (true) {
    printf("ERROR %s\r\n", what);
    LedSet(Led::kStatus, true);
    vTaskDelay(pdMS_TO_TICKS(5000));
  }
}

uint32_t ElapsedUs(uint64_t start) { return static_cast<uint32_t>(TimerMicros() - start); }

struct Model {
  const char* name;
  const uint8_t* data;
  size_t len;
  uint8_t* arena;
  size_t arena_bytes;
  tflite::MicroInterpreter* interpreter;
};

Model g_keyword{"keyword", nullptr, 0, g_arena, kArenaKeyword, nullptr};
Model g_acoustic{"acoustic", nullptr, 0, g_arena + kArenaKeyword, kArenaAcoustic, nullptr};
Model g_fusion{"fusion", nullptr, 0, g_arena + kArenaKeyword + kArenaAcoustic, kArenaFusion, nullptr};
alignas(tflite::MicroInterpreter) uint8_t g_interp_storage[3][sizeof(tflite::MicroInterpreter)];

#if EDGESER_MODELS_FROM_LFS
std::vector<uint8_t> g_model_files[3];  // filled once at start-up
void LoadFromLfs(Model* m, int slot) {
  char path[64];
  snprintf(path, sizeof(path), "/models/edgeser_%s.tflite", m->name);
  if (!LfsReadFile(path, &g_model_files[slot])) {
    snprintf(g_line, sizeof(g_line), "model %s: cannot read %s (flash with EDGESER_MODELS=lfs)", m->name, path);
    Fatal(g_line);
  }
  m->data = g_model_files[slot].data();
  m->len = g_model_files[slot].size();
}
#else
void LoadLinked(Model* m, const unsigned char* data, unsigned int len, unsigned int crc) {
  m->data = data;
  m->len = len;
  const uint32_t got = Crc32(data, len);
  if (got != crc) {
    snprintf(g_line, sizeof(g_line), "model %s: crc32 0x%08lx != 0x%08lx in model_%s.cc (corrupt image?)", m->name,
             static_cast<unsigned long>(got), static_cast<unsigned long>(crc), m->name);
    Fatal(g_line);
  }
}
#endif

void CheckTensor(const Model& m, const char* role, const TfLiteTensor* t, size_t bytes, float scale,
                 int32_t zero_point) {
  if (t == nullptr || t->type != kTfLiteInt8 || t->bytes != bytes) {
    snprintf(g_line, sizeof(g_line), "model %s: %s tensor is not int8[%u] as model_io.h says (got %u bytes)",
             m.name, role, static_cast<unsigned>(bytes), t ? static_cast<unsigned>(t->bytes) : 0u);
    Fatal(g_line);
  }
  const float s = t->params.scale;
  const float rel = s > scale ? (s - scale) / s : (scale - s) / scale;
  if (t->params.zero_point != zero_point || rel > 1e-5f) {
    snprintf(g_line, sizeof(g_line), "model %s: %s quantisation (%g, %ld) != model_io.h (%g, %ld); stale headers?",
             m.name, role, static_cast<double>(s), static_cast<long>(t->params.zero_point),
             static_cast<double>(scale), static_cast<long>(zero_point));
    Fatal(g_line);
  }
}

void SetUpModel(Model* m, int slot, const tflite::MicroOpResolver& resolver) {
  if (m->len < 8 || std::memcmp(m->data + 4, "TFL3", 4) != 0) {
    snprintf(g_line, sizeof(g_line),
             "model %s: not a .tflite flatbuffer (the generated_example placeholder? export the real model)",
             m->name);
    Fatal(g_line);
  }
  const tflite::Model* model = tflite::GetModel(m->data);
  if (model->version() != TFLITE_SCHEMA_VERSION) {
    snprintf(g_line, sizeof(g_line), "model %s: schema version %lu != %d", m->name,
             static_cast<unsigned long>(model->version()), TFLITE_SCHEMA_VERSION);
    Fatal(g_line);
  }
  // The SDK's pinned TFLite-Micro (2022-07) takes the ErrorReporter as the 5th argument, with no default.
  static tflite::MicroErrorReporter error_reporter;
  m->interpreter = new (g_interp_storage[slot])
      tflite::MicroInterpreter(model, resolver, m->arena, m->arena_bytes, &error_reporter);
  if (m->interpreter->AllocateTensors() != kTfLiteOk) {
    snprintf(g_line, sizeof(g_line),
             "model %s: AllocateTensors failed in its %u-byte arena slice (memory_plan.h too small: rerun the "
             "memory report)",
             m->name, static_cast<unsigned>(m->arena_bytes));
    Fatal(g_line);
  }
  const size_t used = m->interpreter->arena_used_bytes();
  printf("INFO arena model=%s planned_bytes=%u used_bytes=%u\r\n", m->name, static_cast<unsigned>(m->arena_bytes),
         static_cast<unsigned>(used));
  if (used > m->arena_bytes) Fatal("arena overrun reported by TFLite Micro");
}

void CheckArenaPlacement() {
  const uintptr_t a = reinterpret_cast<uintptr_t>(g_arena);
  const bool in_ocram = a >= kOcramBegin && a + kArenaBytes <= kOcramEnd;
  const bool in_sdram = a >= kSdramBegin && a + kArenaBytes <= kSdramEnd;
  if ((kArenaInOcram && !in_ocram) || (!kArenaInOcram && !in_sdram)) {
    snprintf(g_line, sizeof(g_line), "tensor arena at 0x%08lx (+%u) is not in %s as memory_plan.h asks",
             static_cast<unsigned long>(a), static_cast<unsigned>(kArenaBytes), kArenaPlacement);
    Fatal(g_line);
  }
}

void ShowOnLeds(size_t index, float confidence) {
  const bool confident = confidence >= EDGESER_LED_MIN_CONFIDENCE;
  const int code = confident ? LedCode(static_cast<int>(index)) : 0;
  LedSet(Led::kUser, (code & 1) != 0);
  LedSet(Led::kStatus, (code & 2) != 0);
  LedSet(Led::kTpu, confident);
}

void PrintBenchBlock(uint32_t decisions) {
  if (FormatBenchBegin(g_line, sizeof(g_line), 800, kArenaPlacement, static_cast<uint32_t>(kArenaBytes),
                       decisions))
    printf("%s\r\n", g_line);
  for (int s = 0; s < kNumStages; ++s)
    if (FormatBenchStage(g_line, sizeof(g_line), g_stats[s])) printf("%s\r\n", g_line);
  if (FormatBenchEnd(g_line, sizeof(g_line), kNumStages, decisions)) printf("%s\r\n", g_line);
}

// ------------------------------------------------------------------ pipeline
void RunKeyword() {
  const uint64_t t0 = TimerMicros();
  g_pipeline.KeywordInput(g_keyword.interpreter->input(0)->data.int8);
  if (g_keyword.interpreter->Invoke() != kTfLiteOk) Fatal("keyword Invoke failed");
  g_pipeline.PushKeywordEmbedding(g_keyword.interpreter->output(0)->data.int8);
  g_stats[kKeyword].Add(ElapsedUs(t0));
}

void RunDecision(uint64_t t_frame_start) {
  // Acoustic model on the whole window.
  uint64_t t0 = TimerMicros();
  g_pipeline.AcousticInput(g_acoustic.interpreter->input(0)->data.int8);
  if (g_acoustic.interpreter->Invoke() != kTfLiteOk) Fatal("acoustic Invoke failed");
  g_stats[kAcoustic].Add(ElapsedUs(t0));

  // Fusion head: [acoustic embedding | pooled keyword embedding].
  t0 = TimerMicros();
  int8_t* fusion_ac = g_fusion.interpreter->input(0)->data.int8;
  int8_t* fusion_kw = (kFusionInputs == 2) ? g_fusion.interpreter->input(1)->data.int8 : fusion_ac + kAcDim;
  g_pipeline.FusionInputs(g_acoustic.interpreter->output(0)->data.int8, fusion_ac, fusion_kw);
  if (g_fusion.interpreter->Invoke() != kTfLiteOk) Fatal("fusion Invoke failed");
  g_stats[kFusion].Add(ElapsedUs(t0));

  // Softmax + smoothing.
  t0 = TimerMicros();
  float probs[kNumEmotions], smoothed[kNumEmotions];
  const Decision d = g_pipeline.Decide(g_fusion.interpreter->output(0)->data.int8, probs, smoothed);
  g_stats[kPostprocess].Add(ElapsedUs(t0));

  // Report: serial JSON line + LEDs.
  t0 = TimerMicros();
  if (FormatDecisionJson(g_line, sizeof(g_line), TimerMillis(), kLabels[d.index], d.confidence, smoothed,
                         kNumEmotions))
    printf("%s\r\n", g_line);
  ShowOnLeds(d.index, d.confidence);
  g_stats[kReport].Add(ElapsedUs(t0));
  g_stats[kDecision].Add(ElapsedUs(t_frame_start));
}

bool AudioCallback(void* /*ctx*/, const int32_t* samples, size_t num_samples) {
  xSemaphoreTake(g_ring_mutex, portMAX_DELAY);
  g_ring.WriteInt32High(samples, num_samples);
  xSemaphoreGive(g_ring_mutex);
  if (g_main_task) xTaskNotifyGive(g_main_task);
  return true;
}

[[noreturn]] void Main() {
  g_main_task = xTaskGetCurrentTaskHandle();
  printf("INFO edgeser firmware version=%s labels=", EDGESER_FIRMWARE_VERSION);
  for (int i = 0; i < kNumEmotions; ++i) printf(i ? ",%s" : "%s", kLabels[i]);
  printf(" arena=%s arena_bytes=%u smoothing=%s\r\n", kArenaPlacement, static_cast<unsigned>(kArenaBytes),
         EDGESER_SMOOTHING_MODE == 1 ? "mean" : "ema");
#ifdef EDGESER_FRONTEND_SHA256
  printf("INFO frontend_config sha256=%s\r\n", EDGESER_FRONTEND_SHA256);
#endif
  CheckArenaPlacement();

  // Models.
#if EDGESER_MODELS_FROM_LFS
  LoadFromLfs(&g_keyword, 0);
  LoadFromLfs(&g_acoustic, 1);
  LoadFromLfs(&g_fusion, 2);
#else
  LoadLinked(&g_keyword, edgeser_keyword_model, edgeser_keyword_model_len, edgeser_keyword_model_crc32);
  LoadLinked(&g_acoustic, edgeser_acoustic_model, edgeser_acoustic_model_len, edgeser_acoustic_model_crc32);
  LoadLinked(&g_fusion, edgeser_fusion_model, edgeser_fusion_model_len, edgeser_fusion_model_crc32);
#endif
  auto edgetpu_context = EdgeTpuManager::GetSingleton()->OpenDevice();
  if (!edgetpu_context) Fatal("cannot open the Edge TPU");

  // Edge TPU custom op + the builtins the compiler may leave on the CPU.
  static tflite::MicroMutableOpResolver<16> resolver;
  resolver.AddCustom(kCustomOp, RegisterCustomOp());
  resolver.AddFullyConnected();
  resolver.AddConv2D();
  resolver.AddDepthwiseConv2D();
  resolver.AddAveragePool2D();
  resolver.AddMaxPool2D();
  resolver.AddMean();
  resolver.AddReshape();
  resolver.AddSoftmax();
  resolver.AddLogistic();
  resolver.AddAdd();
  resolver.AddMul();
  resolver.AddConcatenation();
  resolver.AddQuantize();
  resolver.AddDequantize();
  resolver.AddPad();
  SetUpModel(&g_keyword, 0, resolver);
  SetUpModel(&g_acoustic, 1, resolver);
  SetUpModel(&g_fusion, 2, resolver);

  CheckTensor(g_keyword, "input", g_keyword.interpreter->input(0), kKwFrames * kNumChannels,
              EDGESER_KEYWORD_INPUT_SCALE, EDGESER_KEYWORD_INPUT_ZERO_POINT);
  CheckTensor(g_keyword, "output", g_keyword.interpreter->output(0), kKwDim, EDGESER_KEYWORD_OUTPUT_SCALE,
              EDGESER_KEYWORD_OUTPUT_ZERO_POINT);
  CheckTensor(g_acoustic, "input", g_acoustic.interpreter->input(0), kAcFrames * kNumChannels,
              EDGESER_ACOUSTIC_INPUT_SCALE, EDGESER_ACOUSTIC_INPUT_ZERO_POINT);
  CheckTensor(g_acoustic, "output", g_acoustic.interpreter->output(0), kAcDim, EDGESER_ACOUSTIC_OUTPUT_SCALE,
              EDGESER_ACOUSTIC_OUTPUT_ZERO_POINT);
  if (kFusionInputs == 2) {
    CheckTensor(g_fusion, "input 0", g_fusion.interpreter->input(0), kAcDim, EDGESER_FUSION_ACOUSTIC_SCALE,
                EDGESER_FUSION_ACOUSTIC_ZERO_POINT);
    CheckTensor(g_fusion, "input 1", g_fusion.interpreter->input(1), kKwDim, EDGESER_FUSION_KEYWORD_SCALE,
                EDGESER_FUSION_KEYWORD_ZERO_POINT);
  } else {
    CheckTensor(g_fusion, "input", g_fusion.interpreter->input(0), kAcDim + kKwDim, EDGESER_FUSION_ACOUSTIC_SCALE,
                EDGESER_FUSION_ACOUSTIC_ZERO_POINT);
  }
  CheckTensor(g_fusion, "output", g_fusion.interpreter->output(0), kNumEmotions, EDGESER_FUSION_OUTPUT_SCALE,
              EDGESER_FUSION_OUTPUT_ZERO_POINT);

  // Requantisation tables and multipliers (computed once); the speaker prior when the
  // fusion head is speaker-normalised (its statistics run from power-up: one session).
  ConfigureFromModelIo(g_pipeline);

  // MicroFrontend: the C library's settings exactly as the Python frontend
  // uses them (config_check.h: EDGESER_FRONTEND_C_* or the same derivation).
  FrontendConfig fc;
  FrontendFillConfigWithDefaults(&fc);
  FillFrontendConfig(kFrontendC, &fc);
  static FrontendState frontend;
  if (!FrontendPopulateState(&fc, &frontend, kSampleRate)) Fatal("FrontendPopulateState failed");
  const Int8Mapping mapping{EDGESER_FRONTEND_INT8_SCALE_NUM, EDGESER_FRONTEND_INT8_SCALE_DEN,
                            EDGESER_FRONTEND_INT8_OFFSET};

  // Microphone.
  g_ring_mutex = xSemaphoreCreateMutex();
  if (!g_ring_mutex) Fatal("cannot create the audio mutex");
  AudioDriverConfig audio_config{kSampleRate == 48000 ? AudioSampleRate::k48000_Hz : AudioSampleRate::k16000_Hz,
                                 kNumDmaBuffers, kDmaBufferSizeMs};
  static AudioService audio_service(&g_audio_driver, audio_config, kAudioServicePriority, kDropFirstSamplesMs);
  audio_service.AddCallback(nullptr, &AudioCallback);
  printf("INFO ready frames=%d keyword_frames=%d keyword_hop=%d decision_hop=%d stride_ms=%d\r\n", kAcFrames,
         kKwFrames, EDGESER_KEYWORD_HOP_FRAMES, EDGESER_DECISION_HOP_FRAMES, EDGESER_FRONTEND_STRIDE_MS);

  int16_t chunk[kStrideSamples];
  int8_t features[kNumChannels];
  uint32_t decisions = 0;
  uint64_t last_dropped = 0;
  while (true) {
    size_t got = 0;
    xSemaphoreTake(g_ring_mutex, portMAX_DELAY);
    if (g_ring.unread() >= static_cast<size_t>(kStrideSamples)) got = g_ring.Read(chunk, kStrideSamples);
    const uint64_t dropped = g_ring.dropped();
    xSemaphoreGive(g_ring_mutex);
    if (dropped != last_dropped) {
      printf("INFO audio_overrun dropped_samples=%lu\r\n", static_cast<unsigned long>(dropped - last_dropped));
      last_dropped = dropped;
    }
    if (got == 0) {
      ulTaskNotifyTake(pdTRUE, pdMS_TO_TICKS(100));
      continue;
    }

    // Frontend: feed the stride; a full window yields one frame.
    const int16_t* p = chunk;
    size_t left = got;
    while (left > 0) {
      const uint64_t t_frame = TimerMicros();
      size_t read = 0;
      const FrontendOutput out = FrontendProcessSamples(&frontend, p, left, &read);
      p += read;
      left -= read;
      if (out.values == nullptr || out.size != static_cast<size_t>(kNumChannels)) continue;
      MapFrontendFrame(out.values, out.size, mapping, features);
      g_pipeline.PushFrame(features);
      g_stats[kFrontend].Add(ElapsedUs(t_frame));

      if (g_pipeline.KeywordDue()) RunKeyword();
      if (g_pipeline.DecisionDue()) {
        RunDecision(t_frame);
        ++decisions;
        if (EDGESER_BENCHMARK_DECISIONS > 0 && decisions == static_cast<uint32_t>(EDGESER_BENCHMARK_DECISIONS)) {
          PrintBenchBlock(decisions);
          while (true) vTaskSuspend(nullptr);
        }
      }
    }
  }
}

}  // namespace
}  // namespace coralmicro

extern "C" void app_main(void* param) {
  (void)param;
  coralmicro::Main();
}
