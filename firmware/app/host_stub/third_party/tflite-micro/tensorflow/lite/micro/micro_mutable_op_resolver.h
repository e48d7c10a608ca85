// Host stub (syntax check only): tflite::MicroMutableOpResolver.
#pragma once
#include "micro_interpreter.h"
namespace tflite {
template <unsigned int tOpCount>
class MicroMutableOpResolver : public MicroOpResolver {
 public:
  TfLiteStatus AddCustom(const char* name, TfLiteRegistration* registration);
  TfLiteStatus AddFullyConnected();
  TfLiteStatus AddConv2D();
  TfLiteStatus AddDepthwiseConv2D();
  TfLiteStatus AddAveragePool2D();
  TfLiteStatus AddMaxPool2D();
  TfLiteStatus AddMean();
  TfLiteStatus AddReshape();
  TfLiteStatus AddSoftmax();
  TfLiteStatus AddLogistic();
  TfLiteStatus AddAdd();
  TfLiteStatus AddMul();
  TfLiteStatus AddConcatenation();
  TfLiteStatus AddQuantize();
  TfLiteStatus AddDequantize();
  TfLiteStatus AddPad();
};
}  // namespace tflite
