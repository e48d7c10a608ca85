// Host stub (syntax check only): the TFLite-Micro API app/main.cc uses.
#pragma once
#include "stub_common.h"
#include "third_party/tflite-micro/tensorflow/lite/micro/micro_error_reporter.h"
typedef enum { kTfLiteOk = 0, kTfLiteError = 1 } TfLiteStatus;
typedef enum { kTfLiteNoType = 0, kTfLiteFloat32 = 1, kTfLiteInt8 = 9 } TfLiteType;
typedef struct { float scale; int32_t zero_point; } TfLiteQuantizationParams;
typedef union { int8_t* int8; uint8_t* uint8; float* f; } TfLitePtrUnion;
typedef struct {
  TfLiteType type;
  TfLitePtrUnion data;
  size_t bytes;
  TfLiteQuantizationParams params;
} TfLiteTensor;
// c/common.h (abridged: the fields the app never touches are left out)
typedef struct TfLiteRegistration {
  int32_t builtin_code;
  const char* custom_name;
  int version;
} TfLiteRegistration;
#define TFLITE_SCHEMA_VERSION (3)
namespace tflite {
class MicroResourceVariables;
class MicroProfiler;
struct Model {
  uint32_t version() const;
};
const Model* GetModel(const void* buf);
class MicroOpResolver {
 public:
  virtual ~MicroOpResolver() = default;
};
class MicroInterpreter {
 public:
  // The SDK's pinned TFLite-Micro (24c0850, 2022-07): the ErrorReporter has no default.
  MicroInterpreter(const Model* model, const MicroOpResolver& op_resolver, uint8_t* tensor_arena,
                   size_t tensor_arena_size, ErrorReporter* error_reporter,
                   MicroResourceVariables* resource_variables = nullptr, MicroProfiler* profiler = nullptr);
  TfLiteStatus AllocateTensors();
  TfLiteStatus Invoke();
  TfLiteTensor* input(size_t index);
  TfLiteTensor* output(size_t index);
  size_t arena_used_bytes() const;
};
}  // namespace tflite
