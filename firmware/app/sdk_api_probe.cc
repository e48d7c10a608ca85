// The exact signatures of every SDK API that app/main.cc uses, as compile-time
// checks. This file is compiled twice:
//   - against app/host_stub (make -C firmware app-check, host g++), and
//   - against the real coralmicro SDK, as a source of edgeser_app (make firmware).
// Both compile only when the stubs declare what the pinned SDK declares, so a stub
// that drifts from the SDK (as the 4-argument MicroInterpreter once did) fails one
// of the two builds. Function pointers and pointers to members are initialised from
// the named function: that compiles only for an exact match of the parameter and
// return types (no conversions apply). FreeRTOS's calls are macros; their expansion
// is checked by the type of a call. The file emits no code or data.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <type_traits>
#include <utility>
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

namespace edgeser_sdk_probe {

template <typename T, typename U>
constexpr bool kSame = std::is_same_v<T, U>;

// ---- coralmicro
[[maybe_unused]] constexpr bool (*kLfsReadFile)(const char*, std::vector<uint8_t>*) = &coralmicro::LfsReadFile;
[[maybe_unused]] constexpr bool (*kLedSet)(coralmicro::Led, bool) = &coralmicro::LedSet;
[[maybe_unused]] constexpr uint64_t (*kTimerMicros)() = &coralmicro::TimerMicros;
[[maybe_unused]] constexpr uint64_t (*kTimerMillis)() = &coralmicro::TimerMillis;
static_assert(kSame<decltype(coralmicro::Led::kStatus), coralmicro::Led>);
static_assert(kSame<decltype(coralmicro::Led::kUser), coralmicro::Led>);
static_assert(kSame<decltype(coralmicro::Led::kTpu), coralmicro::Led>);
[[maybe_unused]] constexpr coralmicro::EdgeTpuManager* (*kGetSingleton)() = &coralmicro::EdgeTpuManager::GetSingleton;
[[maybe_unused]] constexpr std::shared_ptr<coralmicro::EdgeTpuContext> (coralmicro::EdgeTpuManager::*kOpenDevice)(
    coralmicro::PerformanceMode) = &coralmicro::EdgeTpuManager::OpenDevice;
static_assert(kSame<decltype(std::declval<coralmicro::EdgeTpuManager&>().OpenDevice()),
                    std::shared_ptr<coralmicro::EdgeTpuContext>>,
              "OpenDevice() callable with its default performance mode");
[[maybe_unused]] constexpr TfLiteRegistration* (*kRegisterCustomOp)() = &coralmicro::RegisterCustomOp;
static_assert(kSame<decltype(coralmicro::kCustomOp), const char[18]>);

// audio
static_assert(kSame<std::underlying_type_t<coralmicro::AudioSampleRate>, int32_t>);
static_assert(static_cast<int32_t>(coralmicro::AudioSampleRate::k16000_Hz) == 16000);
static_assert(static_cast<int32_t>(coralmicro::AudioSampleRate::k48000_Hz) == 48000);
static_assert(std::is_constructible_v<coralmicro::AudioDriverConfig, coralmicro::AudioSampleRate, size_t, size_t>);
static_assert(kSame<decltype(coralmicro::AudioDriverConfig::sample_rate), coralmicro::AudioSampleRate>);
static_assert(kSame<decltype(coralmicro::AudioDriverConfig::num_dma_buffers), size_t>);
static_assert(kSame<decltype(coralmicro::AudioDriverConfig::dma_buffer_size_ms), size_t>);
static_assert(std::is_constructible_v<coralmicro::AudioDriver, coralmicro::AudioDriverBuffers<2, 1600>&>);
static_assert(!std::is_convertible_v<coralmicro::AudioDriverBuffers<2, 1600>&, coralmicro::AudioDriver>,
              "AudioDriver's constructor is explicit");
static_assert(std::is_constructible_v<coralmicro::AudioService, coralmicro::AudioDriver*,
                                      const coralmicro::AudioDriverConfig&, int, int>);
static_assert(!std::is_copy_constructible_v<coralmicro::AudioService>);
static_assert(kSame<coralmicro::AudioService::Callback, bool (*)(void*, const int32_t*, size_t)>);
[[maybe_unused]] constexpr int (coralmicro::AudioService::*kAddCallback)(void*, coralmicro::AudioService::Callback) =
    &coralmicro::AudioService::AddCallback;

// ---- FreeRTOS (ARM_CM7 port)
static_assert(kSame<TickType_t, uint32_t>);
static_assert(kSame<BaseType_t, long>);
static_assert(kSame<SemaphoreHandle_t, QueueHandle_t>);
static_assert(kSame<QueueHandle_t, struct QueueDefinition*>);
static_assert(kSame<TaskHandle_t, struct tskTaskControlBlock*>);
static_assert(kSame<decltype(xSemaphoreCreateMutex()), SemaphoreHandle_t>);
static_assert(kSame<decltype(xSemaphoreTake(std::declval<SemaphoreHandle_t>(), portMAX_DELAY)), BaseType_t>);
static_assert(kSame<decltype(xSemaphoreGive(std::declval<SemaphoreHandle_t>())), BaseType_t>);
static_assert(kSame<decltype(xTaskNotifyGive(std::declval<TaskHandle_t>())), BaseType_t>);
static_assert(kSame<decltype(ulTaskNotifyTake(pdTRUE, pdMS_TO_TICKS(100))), uint32_t>);
[[maybe_unused]] constexpr void (*kTaskDelay)(TickType_t) = &vTaskDelay;
[[maybe_unused]] constexpr void (*kTaskSuspend)(TaskHandle_t) = &vTaskSuspend;
[[maybe_unused]] constexpr TaskHandle_t (*kCurrentTask)() = &xTaskGetCurrentTaskHandle;

// ---- TFLite-Micro (24c0850)
static_assert(std::is_constructible_v<tflite::MicroInterpreter, const tflite::Model*, const tflite::MicroOpResolver&,
                                      uint8_t*, size_t, tflite::ErrorReporter*>);
static_assert(!std::is_constructible_v<tflite::MicroInterpreter, const tflite::Model*,
                                       const tflite::MicroOpResolver&, uint8_t*, size_t>,
              "the pinned TFLite-Micro has no 4-argument MicroInterpreter constructor");
static_assert(std::is_base_of_v<tflite::ErrorReporter, tflite::MicroErrorReporter>);
static_assert(std::is_default_constructible_v<tflite::MicroErrorReporter>);
[[maybe_unused]] constexpr TfLiteStatus (tflite::MicroInterpreter::*kAllocate)() =
    &tflite::MicroInterpreter::AllocateTensors;
[[maybe_unused]] constexpr TfLiteStatus (tflite::MicroInterpreter::*kInvoke)() = &tflite::MicroInterpreter::Invoke;
[[maybe_unused]] constexpr TfLiteTensor* (tflite::MicroInterpreter::*kInput)(size_t) = &tflite::MicroInterpreter::input;
[[maybe_unused]] constexpr TfLiteTensor* (tflite::MicroInterpreter::*kOutput)(size_t) =
    &tflite::MicroInterpreter::output;
[[maybe_unused]] constexpr size_t (tflite::MicroInterpreter::*kArenaUsed)() const =
    &tflite::MicroInterpreter::arena_used_bytes;
static_assert(kSame<decltype(tflite::GetModel(std::declval<const void*>())), const tflite::Model*>);
static_assert(kSame<decltype(std::declval<const tflite::Model&>().version()), uint32_t>);
static_assert(TFLITE_SCHEMA_VERSION == 3);
static_assert(kSame<decltype(TfLiteTensor::type), TfLiteType>);
static_assert(kSame<decltype(TfLiteTensor::bytes), size_t>);
static_assert(kSame<decltype(TfLiteTensor::params), TfLiteQuantizationParams>);
static_assert(kSame<decltype(TfLiteQuantizationParams::scale), float>);
static_assert(kSame<decltype(TfLiteQuantizationParams::zero_point), int32_t>);
static_assert(kSame<decltype(TfLitePtrUnion::int8), int8_t*>);
static_assert(kTfLiteInt8 == 9 && kTfLiteOk == 0);

using Resolver = tflite::MicroMutableOpResolver<16>;
static_assert(std::is_base_of_v<tflite::MicroOpResolver, Resolver>);
using AddRegistered = TfLiteStatus (Resolver::*)(const TfLiteRegistration&);
using AddPlain = TfLiteStatus (Resolver::*)();
[[maybe_unused]] constexpr TfLiteStatus (Resolver::*kAddCustom)(const char*, TfLiteRegistration*) = &Resolver::AddCustom;
[[maybe_unused]] constexpr AddRegistered kAddFullyConnected = &Resolver::AddFullyConnected;
[[maybe_unused]] constexpr AddRegistered kAddConv2D = &Resolver::AddConv2D;
[[maybe_unused]] constexpr AddRegistered kAddDepthwiseConv2D = &Resolver::AddDepthwiseConv2D;
[[maybe_unused]] constexpr AddRegistered kAddSoftmax = &Resolver::AddSoftmax;
[[maybe_unused]] constexpr AddRegistered kAddAdd = &Resolver::AddAdd;
[[maybe_unused]] constexpr AddPlain kAddAveragePool2D = &Resolver::AddAveragePool2D;
[[maybe_unused]] constexpr AddPlain kAddMaxPool2D = &Resolver::AddMaxPool2D;
[[maybe_unused]] constexpr AddPlain kAddMean = &Resolver::AddMean;
[[maybe_unused]] constexpr AddPlain kAddReshape = &Resolver::AddReshape;
[[maybe_unused]] constexpr AddPlain kAddLogistic = &Resolver::AddLogistic;
[[maybe_unused]] constexpr AddPlain kAddMul = &Resolver::AddMul;
[[maybe_unused]] constexpr AddPlain kAddConcatenation = &Resolver::AddConcatenation;
[[maybe_unused]] constexpr AddPlain kAddQuantize = &Resolver::AddQuantize;
[[maybe_unused]] constexpr AddPlain kAddDequantize = &Resolver::AddDequantize;
[[maybe_unused]] constexpr AddPlain kAddPad = &Resolver::AddPad;

// ---- MicroFrontend C library
[[maybe_unused]] constexpr void (*kFillDefaults)(FrontendConfig*) = &FrontendFillConfigWithDefaults;
[[maybe_unused]] constexpr int (*kPopulate)(const FrontendConfig*, FrontendState*, int) = &FrontendPopulateState;
[[maybe_unused]] constexpr FrontendOutput (*kProcess)(FrontendState*, const int16_t*, size_t, size_t*) =
    &FrontendProcessSamples;
static_assert(kSame<decltype(FrontendOutput::values), const uint16_t*>);
static_assert(kSame<decltype(FrontendOutput::size), size_t>);
static_assert(kSame<decltype(WindowConfig::size_ms), size_t>);
static_assert(kSame<decltype(WindowConfig::step_size_ms), size_t>);
static_assert(kSame<decltype(FilterbankConfig::num_channels), int>);
static_assert(kSame<decltype(FilterbankConfig::lower_band_limit), float>);
static_assert(kSame<decltype(FilterbankConfig::upper_band_limit), float>);
static_assert(kSame<decltype(NoiseReductionConfig::smoothing_bits), int>);
static_assert(kSame<decltype(NoiseReductionConfig::even_smoothing), float>);
static_assert(kSame<decltype(NoiseReductionConfig::odd_smoothing), float>);
static_assert(kSame<decltype(NoiseReductionConfig::min_signal_remaining), float>);
static_assert(kSame<decltype(PcanGainControlConfig::enable_pcan), int>);
static_assert(kSame<decltype(PcanGainControlConfig::strength), float>);
static_assert(kSame<decltype(PcanGainControlConfig::offset), float>);
static_assert(kSame<decltype(PcanGainControlConfig::gain_bits), int>);
static_assert(kSame<decltype(LogScaleConfig::enable_log), int>);
static_assert(kSame<decltype(LogScaleConfig::scale_shift), int>);
static_assert(kSame<decltype(FrontendConfig::window), WindowConfig>);
static_assert(kSame<decltype(FrontendConfig::log_scale), LogScaleConfig>);

}  // namespace edgeser_sdk_probe
