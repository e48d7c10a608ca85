// Host stub (syntax check only): the TFLite-Micro API app/main.cc uses.
#pragma once
#include "stub_common.h"
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
typedef struct TfLiteRegistration TfLiteRegistration;
#define TFLITE_SCHEMA_VERSION (3)
namespace tflite {
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
  MicroInterpreter(const Model* model, const MicroOpResolver& op_resolver, uint8_t* tensor_arena,
                   size_t tensor_arena_size);
  TfLiteStatus AllocateTensors();
  TfLiteStatus Invoke();
  TfLiteTensor* input(size_t index);
  TfLiteTensor* output(size_t index);
  size_t arena_used_bytes() const;
};
}  // namespace tflite
