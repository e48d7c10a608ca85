// Host stub (syntax check only): coralmicro libs/tpu/edgetpu_op.h.
#pragma once
#include "third_party/tflite-micro/tensorflow/lite/micro/micro_interpreter.h"
namespace coralmicro {
inline constexpr char kCustomOp[] = "edgetpu-custom-op";
TfLiteRegistration* RegisterCustomOp();
}
